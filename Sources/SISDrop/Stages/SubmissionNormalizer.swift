import Foundation
import SISDropCore
import SISDropDelivery
import SISDropFormats

/// Normalizes one submission's fields with `FieldRules`; every field that cannot be normalized
/// is a problem naming the record, schema, field and what to do.
struct SubmissionNormalizer {
  let datePatterns: [DatePattern]
  let timeZone: TimeZone
  let schools: Set<String>
  /// Building-name key → SIS school number.
  let buildings: [String: String]
  /// Approval times, read and written in the district's zone (its styles and calendar built once).
  let approvalTimes: TimestampReader

  init(
    datePatterns: [DatePattern], timeZone: TimeZone, schools: Set<String>,
    buildings: [String: String]
  ) {
    self.datePatterns = datePatterns
    self.timeZone = timeZone
    self.schools = schools
    self.buildings = buildings
    approvalTimes = TimestampReader(zone: timeZone)
  }

  static let requiredStudent = [
    FieldName.firstName, FieldName.lastName, FieldName.birthDate, FieldName.gender,
    FieldName.gradeLevel, FieldName.school,
  ]
  static let requiredContact = [FieldName.firstName, FieldName.lastName, FieldName.relationship]
  static let fixAction =
    "correct it in the enrollment system (the record stays pending and comes again)"

  func normalize(_ submission: Submission) -> (Submission, [Reject]) {
    var result = submission
    var problems = Problems(submission: submission)
    result.form = FieldRules.text(submission.form)
    if result.form.isEmpty {
      problems.add("submission", nil, FieldName.form, "", "the submission has no form name")
    }
    if let approved = approvalTimes.read(submission.approvedAt, datePatterns: datePatterns) {
      result.approvedAt = approved
    } else {
      problems.add(
        "submission", nil, FieldName.approvedAt, submission.approvedAt, "not a date and time")
    }
    result.students = submission.students.map { student($0, &problems) }
    result.contacts = submission.contacts.sorted { $0.seq < $1.seq }.map {
      contact($0, &problems)
    }
    result.documents = submission.documents.map { Self.document($0, &problems) }
    result.contentHash = SubmissionNormalizer.contentHash(result)
    return (result, problems.rejects)
  }

  /// A submission's problems, in the order they are found.
  struct Problems {
    let submission: Submission
    var rejects: [Reject] = []

    mutating func add(
      _ schema: String, _ part: SubmissionPart?, _ field: String, _ value: String, _ reason: String
    ) {
      rejects.append(
        Reject(
          submissionID: submission.id, schema: schema, seq: part?.seq, field: field, value: value,
          reason: reason,
          action: SubmissionNormalizer.fixAction, source: part?.source ?? submission.source))
    }
  }

  /// A student's fields: required ones present, names, birth date, gender, grade, school (an SIS
  /// School_Number or a building name) and contact details each by its rule.
  func student(_ student: SubmissionPart, _ problems: inout Problems) -> SubmissionPart {
    var fields: [String: String] = [:]
    for field in SubmissionNormalizer.requiredStudent
    where FieldRules.text(student[field]).isEmpty {
      problems.add("student", student, field, "", "required field is empty")
    }
    for field in Layouts.submissionStudentFields {
      let raw = student[field]
      let text = FieldRules.text(raw)
      if text.isEmpty { continue }
      switch field {
      case FieldName.firstName, FieldName.middleName, FieldName.lastName:
        fields[field] = FieldRules.name(text)
      case FieldName.birthDate:
        let parsed = FieldRules.date(text, patterns: datePatterns)
        if let date = parsed.date {
          fields[field] = date.iso
        } else {
          problems.add(
            "student", student, field, raw,
            parsed.fits
              ? "not a real date"
              : "not a date in \(datePatterns.map(\.description).joined(separator: " or "))")
        }
      case FieldName.gender:
        if let value = FieldRules.gender(text) {
          fields[field] = value
        } else {
          problems.add("student", student, field, raw, "gender must be M, F or X")
        }
      case FieldName.gradeLevel:
        if let value = FieldRules.gradeLevel(text) {
          fields[field] = value
        } else {
          problems.add("student", student, field, raw, "not a grade level (PK, K, 1-12)")
        }
      case FieldName.school:
        if schools.contains(text) {
          fields[FieldName.schoolID] = text
        } else if let number = buildings[FieldRules.buildingKey(text)] {
          fields[FieldName.schoolID] = number
        } else {
          problems.add(
            "student", student, field, raw,
            "unknown school: neither an SIS School_Number nor a name in building_map.csv")
        }
      default:
        switch SubmissionNormalizer.contactDetail(field, text) {
        case .success(let value): fields[field] = value
        case .failure(let reason): problems.add("student", student, field, raw, reason.message)
        }
      }
    }
    return SubmissionPart(seq: student.seq, fields: fields, source: student.source)
  }

  /// A contact's fields: required ones present, names and contact details each by its rule.
  func contact(_ contact: SubmissionPart, _ problems: inout Problems) -> SubmissionPart {
    var fields: [String: String] = [:]
    for field in SubmissionNormalizer.requiredContact
    where FieldRules.text(contact[field]).isEmpty {
      problems.add("contact", contact, field, "", "required field is empty")
    }
    for field in Layouts.submissionContactFields {
      let raw = contact[field]
      let text = FieldRules.text(raw)
      if text.isEmpty { continue }
      switch field {
      case FieldName.firstName, FieldName.lastName: fields[field] = FieldRules.name(text)
      default:
        switch SubmissionNormalizer.contactDetail(field, text) {
        case .success(let value): fields[field] = value
        case .failure(let reason): problems.add("contact", contact, field, raw, reason.message)
        }
      }
    }
    return SubmissionPart(seq: contact.seq, fields: fields, source: contact.source)
  }

  /// A document's type and file name (required) and its SHA-256 (64 hexadecimal digits, lowercased).
  static func document(_ document: SubmissionPart, _ problems: inout Problems) -> SubmissionPart {
    var fields: [String: String] = [:]
    for field in [FieldName.docType, FieldName.fileName, FieldName.sha256] {
      let text = FieldRules.text(document[field])
      if text.isEmpty {
        if field != FieldName.sha256 {
          problems.add("document", document, field, "", "required field is empty")
        }
        continue
      }
      if field == FieldName.sha256 {
        let lower = text.lowercased()
        guard lower.count == 64, lower.allSatisfy({ $0.isHexDigit }) else {
          problems.add("document", document, field, text, "not a SHA-256 (64 hexadecimal digits)")
          continue
        }
        fields[field] = lower
      } else {
        fields[field] = text
      }
    }
    return SubmissionPart(seq: document.seq, fields: fields, source: document.source)
  }

  struct Reason: Error { var message: String }

  /// The field `sisdrop correct` takes for a problem, when a person may correct it: not the names,
  /// birth date, gender or state id that decide the match (those are fixed in the enrollment system).
  static func correctableField(_ problem: Reject) -> String? {
    guard let seq = problem.seq, seq >= 1 else { return nil }
    let field =
      problem.schema == "student" && problem.field == FieldName.school
      ? FieldName.schoolID : problem.field
    return (Corrections.correctable[problem.schema] ?? []).contains(field) ? field : nil
  }

  /// Whether a correction answers a problem.
  static func fixes(_ correction: Correction, _ problem: Reject) -> Bool {
    correction.schema == problem.schema && correction.seq == problem.seq
      && correction.field == correctableField(problem)
  }

  /// A correctable problem as errors.csv shows it: the field named as `sisdrop correct` takes it,
  /// and the command that corrects it.
  static func correctable(_ problem: Reject) -> Reject {
    var result = problem
    let field = correctableField(problem) ?? problem.field
    result.field = field
    result.action =
      "correct it with `\(Corrections.command(problem.submissionID, schema: problem.schema, seq: problem.seq ?? 1, field: field))`; "
      + "the next `sisdrop run` delivers it (or fix it in the enrollment system)"
    return result
  }

  /// Phone, e-mail, ZIP and state, the same rule for students and contacts; other text as is.
  static func contactDetail(_ field: String, _ text: String) -> Result<String, Reason> {
    let checks: [String: ((String) -> String?, String)] = [
      FieldName.homePhone: (FieldRules.phone, "not a 10-digit phone number"),
      FieldName.phone: (FieldRules.phone, "not a 10-digit phone number"),
      FieldName.email: (FieldRules.email, "not an e-mail address"),
      FieldName.zip: (FieldRules.zip, "not a ZIP code"),
      FieldName.state: (FieldRules.state, "not a two-letter state code"),
    ]
    guard let (rule, reason) = checks[field] else { return .success(text) }
    return rule(text).map { .success($0) } ?? .failure(Reason(message: reason))
  }

  /// The ledger's version key: SHA-256 over the normalized content, not over where it was read
  /// (the same submission on another line of tomorrow's export is the same version).
  static func contentHash(_ submission: Submission) -> String {
    // The bytes JSONEncoder (sorted keys) wrote for {approvedAt, contacts, documents, form, id,
    // students}, each part's fields with its "#seq": the ledger's version key, so they must never
    // change (SubmissionNormalizerTests compares with JSONEncoder). Written by the stage-record
    // writer, 10× faster than JSONEncoder (scripts/bench/stage-json.sh).
    func withSeq(_ part: SubmissionPart) -> [String: String] {
      part.fields.merging(["#seq": String(part.seq)]) { a, _ in a }
    }
    var writer = StageJSONWriter(capacity: 2048)
    writer.beginObject()
    writer.key("approvedAt")
    writer.string(submission.approvedAt)
    writer.key("contacts")
    writer.array(submission.contacts) { $0.stringMap(withSeq($1)) }
    writer.key("documents")
    writer.array(submission.documents) { $0.stringMap(withSeq($1)) }
    writer.key("form")
    writer.string(submission.form)
    writer.key("id")
    writer.string(submission.id)
    writer.key("students")
    writer.array(submission.students) { $0.stringMap(withSeq($1)) }
    writer.endObject()
    return SHA256.hex(writer.bytes)
  }

}
