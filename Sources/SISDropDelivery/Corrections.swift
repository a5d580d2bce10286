import Foundation
import SISDropCore
import SISDropFormats
import SISDropStore

/// A value a person corrected for one field of one submission record (the seed's "rectify
/// incorrect values and click Deliver Record again"), kept in `state.sqlite`.
package struct Correction: Sendable, Codable, Hashable {
  package var submissionID: String
  /// `student` or `contact`.
  package var schema: String
  package var seq: Int
  package var field: String
  /// The normalized value.
  package var value: String
  /// `command` or the corrections file it came from.
  package var source: String
  package var createdAt: String
  /// The content hash of the submission version it corrects: a newer version from the enrollment
  /// system never gets an old correction laid over it.
  package var version: String = ""
}

extension StateStore {
  /// Records corrections (a later one for the same field replaces the earlier one), each with a line
  /// in the submission's answer history (`sisdrop show`), in the same transaction, whichever way it
  /// came (`sisdrop correct`, its `--file`, corrections.csv in the inbox): the field, when, who and
  /// where from; never the value (it may be a name or an address, and the history is read back by
  /// scripts: the value is in `sisdrop answers`).
  package func saveCorrections(_ corrections: [Correction], by: String) throws {
    try database.inTransaction {
      let statement = try database.prepare(
        "INSERT OR REPLACE INTO corrections(submission_id, schema, seq, field, value, source, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
      )
      for c in corrections {
        let earlier =
          (try database.scalar(
            "SELECT count(*) FROM corrections WHERE submission_id = ? AND schema = ? AND seq = ? AND field = ?",
            [.text(c.submissionID), .text(c.schema), .integer(Int64(c.seq)), .text(c.field)]
          ).int ?? 0) > 0
        try statement.bind([
          .text(c.submissionID), .text(c.schema), .integer(Int64(c.seq)), .text(c.field),
          .text(c.value), .text(c.source), .text(c.createdAt), .text(c.version),
        ])
        try statement.run()
        try logAnswer(
          c.submissionID, earlier ? "replaced" : "recorded",
          "correction \(c.schema) \(c.seq) \(c.field) (\(c.source))", by: by, at: c.createdAt)
      }
    }
  }

  /// Every correction, in a stable order.
  package func corrections() throws -> [Correction] {
    try database.rows(
      "SELECT submission_id, schema, seq, field, value, source, created_at, version FROM corrections ORDER BY submission_id, schema, seq, field"
    ).map { row in
      Correction(
        submissionID: row[0].string ?? "", schema: row[1].string ?? "", seq: Int(row[2].int ?? 0),
        field: row[3].string ?? "",
        value: row[4].string ?? "", source: row[5].string ?? "", createdAt: row[6].string ?? "",
        version: row[7].string ?? "")
    }
  }
}

/// Corrections: which fields a person may correct, how a corrected value is checked, and how
/// corrections are applied to a submission before delivery.
package enum Corrections {
  /// Fields that may be corrected. Names, birth date, gender and state id decided the match:
  /// correcting them after matching could send one child's data into another's record, so they
  /// are corrected in the enrollment system and matched again with the next export.
  package static let correctable: [String: Set<String>] = [
    "student": [
      FieldName.middleName, FieldName.gradeLevel, FieldName.schoolID, FieldName.enrollStatus,
      FieldName.street, FieldName.city, FieldName.state, FieldName.zip,
      FieldName.homePhone, FieldName.email,
    ],
    "contact": [
      FieldName.relationship, FieldName.phone, FieldName.email, FieldName.street, FieldName.city,
      FieldName.state, FieldName.zip,
    ],
  ]
  package static let fileHeader = [FieldName.submissionID, "Schema", "Seq", "Field", "Value"]
  package static let inboxFileName = "corrections.csv"

  /// The value as sisdrop stores it, or why it is not acceptable.
  package static func normalize(field: String, value: String) -> Result<String, SISDropError> {
    func bad(_ what: String) -> Result<String, SISDropError> {
      // The value itself is not quoted: it may be a name or an address, and errors reach the cron log.
      .failure(
        SISDropError(
          .dataError, "the \(field) value given is not \(what)", hint: "give \(field) as \(what)"))
    }
    switch field {
    case FieldName.gradeLevel:
      return FieldRules.gradeLevel(value).map { .success($0) } ?? bad("a grade level (PK, K, 1-12)")
    case FieldName.zip:
      return FieldRules.zip(value).map { .success($0) } ?? bad("a ZIP code (NNNNN or NNNNN-NNNN)")
    case FieldName.homePhone, FieldName.phone:
      return FieldRules.phone(value).map { .success($0) } ?? bad("a phone number (NNN-NNN-NNNN)")
    case FieldName.email:
      return FieldRules.email(value).map { .success($0) } ?? bad("an e-mail address")
    case FieldName.state:
      return FieldRules.state(value).map { .success($0) } ?? bad("a two-letter state code")
    case FieldName.middleName: return .success(FieldRules.name(value))
    default:
      let text = FieldRules.text(value)
      return text.isEmpty && field == FieldName.schoolID
        ? bad("an SIS school number") : .success(text)
    }
  }

  /// Checks and builds one correction.
  ///
  /// - Throws: `SISDropError` 64 for a field that may not be corrected, 65 for a bad value.
  package static func make(
    submissionID: String, schema: String, seq: Int, field: String, value: String, source: String,
    at location: SourceLocation? = nil
  ) throws -> Correction {
    guard let fields = correctable[schema] else {
      throw SISDropError(
        .usage, "schema '\(schema)' cannot be corrected", at: location,
        hint: "use student or contact")
    }
    guard fields.contains(field) else {
      throw SISDropError(
        .usage, "\(schema) field '\(field)' cannot be corrected here", at: location,
        hint:
          "correctable \(schema) fields: \(fields.sorted().joined(separator: ", ")); names, birth date, gender and state id decided the match: correct them in the enrollment system"
      )
    }
    guard seq >= 1 else { throw SISDropError(.usage, "seq must be 1 or more", at: location) }
    switch normalize(field: field, value: value) {
    case .success(let normalized):
      return Correction(
        submissionID: submissionID, schema: schema, seq: seq, field: field, value: normalized,
        source: source,
        createdAt: Clock.now())
    case .failure(var error):
      error.location = location
      throw error
    }
  }

  /// Why an uploaded answer file whose last row has no line break is refused whole: the upload may
  /// have stopped inside the row's last value (a corrected Street `12 Oa` for `12 Oak St` would
  /// reach the SIS), and nothing in the row tells a whole value from a cut one. A file saved by a
  /// spreadsheet or written by `sisdrop review --csv` ends with a line break.
  package static let cutOffWords =
    "the file ends without a line break after this row: the upload may have been cut inside its "
    + "last value, so none of the file was taken"
  package static let cutOffHint =
    "if the file is whole, end its last line with a line break (Enter) and upload it again"

  /// Reads a `corrections.csv` (Submission_ID, Schema, Seq, Field, Value): all of it or nothing.
  /// An uploaded one (`inboxFile`) must end with a line break (`cutOffWords`); one given to
  /// `sisdrop correct --file` is the clerk's own, saved whole.
  ///
  /// - Throws: `SISDropError` 65 naming the file and line of the first bad row.
  package static func read(path: String, inboxFile: Bool = false) throws -> [Correction] {
    let reader = try CSVReader(path: path, inboxFile: inboxFile)
    guard let header = try reader.next() else { return [] }
    let names = header.fields.map { headerKey($0) }
    let index = fileHeader.map { names.firstIndex(of: $0.lowercased()) }
    guard index.allSatisfy({ $0 != nil }) else {
      throw SISDropError(
        .dataError, "a corrections file needs the columns \(fileHeader.joined(separator: ", "))",
        at: SourceLocation(path: path, line: 1))
    }
    var result: [Correction] = []
    var line = 1
    while let row = try reader.next() {
      line += 1
      if inboxFile && !reader.lastRecordEndedByLineBreak {
        throw SISDropError(
          .dataError, cutOffWords, at: SourceLocation(path: path, line: row.line),
          hint: cutOffHint)
      }
      let value = { (i: Int) in row.fields.indices.contains(index[i]!) ? row.fields[index[i]!] : ""
      }
      let location = SourceLocation(path: path, line: line)
      guard let seq = Int(value(2).isEmpty ? "1" : value(2)) else {
        throw SISDropError(
          .dataError, "Seq is not a number", at: location,
          hint: "write the student's or contact's number on the form (1, 2, ...)")
      }
      do {
        result.append(
          try make(
            submissionID: value(0), schema: value(1).isEmpty ? "student" : value(1).lowercased(),
            seq: seq,
            field: value(3), value: value(4), source: (path as NSString).lastPathComponent,
            at: location))
      } catch let error as SISDropError {
        throw SISDropError(.dataError, error.message, at: location, hint: error.hint)
      }
    }
    return result
  }

  /// The submission with its corrections applied (only those made for this version of it).
  package static func apply(_ corrections: [Correction], to submission: Submission) -> Submission {
    var result = submission
    for c in corrections
    where c.submissionID == submission.id && c.version == (submission.contentHash ?? "") {
      if c.schema == "student", let i = result.students.firstIndex(where: { $0.seq == c.seq }) {
        result.students[i].fields[c.field] = c.value
      } else if c.schema == "contact",
        let i = result.contacts.firstIndex(where: { $0.seq == c.seq })
      {
        result.contacts[i].fields[c.field] = c.value
      }
    }
    return result
  }

  /// The exact command that corrects a field.
  package static func command(_ submissionID: String, schema: String, seq: Int, field: String)
    -> String
  {
    var command = "sisdrop correct \(shellQuote(submissionID)) \(field) NEW_VALUE"
    if schema != "student" { command += " --schema \(schema)" }
    if seq != 1 { command += " --seq \(seq)" }
    return command
  }
}
