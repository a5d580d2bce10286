import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// The checks every record passes before delivery: required fields, formats, code lists (grade
/// levels and school numbers the SIS export has) and lengths. A record that fails goes to
/// errors.csv with what to do; the rest of the batch goes on.
package struct DeliveryValidator {
  /// School numbers in the SIS snapshot.
  var schools: Set<String>
  /// Grade levels the SIS students carry (the SIS export's code list).
  var gradeLevels: Set<String>
  /// The grades each school teaches, where schools.csv says (Low_Grade/High_Grade).
  var schoolGrades: [String: ClosedRange<Int>] = [:]

  static let required: [DeliveryKind: [String]] = [
    .studentsNew: [
      FieldName.firstName, FieldName.lastName, FieldName.birthDate, FieldName.gender,
      FieldName.gradeLevel, FieldName.schoolID,
    ],
    .studentsUpdate: [FieldName.studentNumber],
    .contactsNew: [FieldName.firstName, FieldName.lastName, FieldName.relationship],
    .contactsUpdate: [FieldName.contactID],
    .documents: [FieldName.docType, FieldName.fileName],
  ]

  /// Longest values the SIS import takes (PowerSchool's common field sizes; one table here).
  static let maxLength: [String: Int] = [
    FieldName.firstName: 50, FieldName.middleName: 50, FieldName.lastName: 50, FieldName.street: 60,
    FieldName.city: 50, FieldName.email: 100,
    FieldName.relationship: 30,
    FieldName.stateStudentNumber: 32, FieldName.fileName: 255, FieldName.docType: 50,
  ]

  /// Free-text fields (names, address, relationship, document) that a delivery file carries as
  /// they are: a value a spreadsheet would run (`=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`) is
  /// refused here rather than altered, since the SIS must get the data it was sent.
  static let formulaChecked: Set<String> = [
    FieldName.firstName, FieldName.middleName, FieldName.lastName, FieldName.street, FieldName.city,
    FieldName.relationship, FieldName.docType,
    FieldName.fileName,
  ]

  /// The first character of `value` that no one sees: a control character (ESC would drive the
  /// terminal of whoever prints it), a bidirectional override (U+202E reverses what follows), a
  /// zero-width space or a byte-order mark. It would reach the SIS as it is, and a clerk asked to
  /// compare the form's value with the SIS's could not see it (probe27: `Hamza` + ESC was accepted
  /// as the same name and delivered). The zero-width non-joiner and joiner (U+200C, U+200D) are
  /// spelling in Persian and Indic names, and emoji sequences: they pass.
  static func invisible(_ value: String) -> Unicode.Scalar? {
    value.unicodeScalars.first { scalar in
      let category = scalar.properties.generalCategory
      return
        (category == .control || category == .format || category == .lineSeparator
        || category == .paragraphSeparator) && scalar != "\u{200C}" && scalar != "\u{200D}"
    }
  }

  init(
    schools: Set<String>, gradeLevels: Set<String>, schoolGrades: [String: ClosedRange<Int>] = [:]
  ) {
    self.schools = schools
    self.gradeLevels = gradeLevels
    self.schoolGrades = schoolGrades
  }

  /// PowerSchool's standard grade levels (-2 pre-K 3 … 12): valid even when no SIS student has one yet.
  static let standardGradeLevels = Set((-2...12).map(String.init))

  /// Reads the code lists from the batch's SIS snapshot. The SIS export has no grade-level list of
  /// its own, so the grades its students carry are joined with the standard levels: a school's first
  /// pre-K class is not refused, and an empty snapshot never turns the check off.
  package init(snapshot: Snapshot) throws {
    schools = Set(try snapshot.schools().map(\.number))
    schoolGrades = try snapshot.schoolGrades()
    gradeLevels = DeliveryValidator.standardGradeLevels.union(
      try snapshot.database.rows(
        "SELECT DISTINCT grade_level FROM students WHERE grade_level != ''"
      ).compactMap { $0[0].string })
  }

  package func problems(_ record: DeliveryRecord) -> [DeliveryProblem] {
    var problems: [DeliveryProblem] = []
    let correctable = Corrections.correctable[record.kind.schema] ?? []
    func add(_ field: String, _ reason: String) {
      let value = record[field]
      let action =
        correctable.contains(field)
        ? DeliveryProblem.correction(record, field: field)
        : "correct it in the enrollment system; the corrected submission comes again with the next export"
      problems.append(DeliveryProblem(field: field, value: value, reason: reason, action: action))
    }
    // An update is checked on its key and the fields it changes; a new record on everything.
    let checked = record.kind.isUpdate ? Set(record.changed) : Set(record.fields.keys)
    for field in DeliveryValidator.required[record.kind] ?? [] where record[field].isEmpty {
      add(field, "required field is empty")
    }
    for field in checked.sorted() {
      let value = record[field]
      if value.isEmpty { continue }
      if DeliveryValidator.formulaChecked.contains(field) && CSVWriter.looksLikeFormula(value) {
        add(
          field,
          "looks like a spreadsheet formula (it starts with =, +, -, @, a tab or a carriage return)"
        )
      }
      if let scalar = DeliveryValidator.invisible(value) {
        add(
          field,
          "holds a character no one sees (\(String(format: "U+%04X", scalar.value)), a control or formatting character) that would reach the SIS as it is"
        )
      }
      if let limit = DeliveryValidator.maxLength[field], value.count > limit {
        add(field, "\(value.count) characters; the SIS takes at most \(limit)")
      }
      switch field {
      case FieldName.birthDate where CalendarDate(iso: value) == nil: add(field, "not a date")
      case FieldName.gender where !["M", "F", "X"].contains(value):
        add(field, "gender must be M, F or X")
      case FieldName.gradeLevel where !gradeLevels.isEmpty && !gradeLevels.contains(value):
        add(
          field,
          "grade level \(value) is not in the SIS export's grade levels (\(gradeLevels.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.joined(separator: ", ")))"
        )
      case FieldName.schoolID where !schools.contains(value):
        add(field, "school \(value) is not in the SIS export's schools")
      case FieldName.zip where FieldRules.zip(value) != value:
        add(field, "not a ZIP code (NNNNN or NNNNN-NNNN)")
      case FieldName.homePhone, FieldName.phone:
        if FieldRules.phone(value) != value { add(field, "not a phone number (NNN-NNN-NNNN)") }
      case FieldName.email where FieldRules.email(value) != value:
        add(field, "not an e-mail address")
      case FieldName.state where FieldRules.state(value) != value:
        add(field, "not a two-letter state code")
      default: break
      }
    }
    // A grade the student's school does not teach (a kindergartner sent to the high school).
    if record.kind == .studentsNew || record.kind == .studentsUpdate,
      checked.contains(FieldName.gradeLevel) || checked.contains(FieldName.schoolID),
      gradeLevels.contains(record[FieldName.gradeLevel]),
      let range = schoolGrades[record[FieldName.schoolID]],
      let grade = Int(record[FieldName.gradeLevel]),
      !range.contains(grade)
    {
      add(
        FieldName.gradeLevel,
        "grade \(record["Grade_Level"]) is not taught at school \(record["SchoolID"]) (grades \(range.lowerBound) to \(range.upperBound) in the SIS schools export's Low_Grade/High_Grade)"
      )
    }
    return problems
  }
}
