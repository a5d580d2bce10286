import Foundation
import SISDropCore

/// A person's answer to a potential match (the seed's Match / No Match), kept in state.sqlite.
package struct Resolution: Sendable, Codable, Hashable {
  package enum Action: String, Sendable, Codable {
    case match
    case noMatch = "no-match"
  }
  package var submissionID: String
  package var studentSeq: Int
  package var action: Action
  /// The SIS Student_Number chosen (Match only).
  package var sisID: String?
  package var resolvedBy: String
  package var resolvedAt: String
  /// `command` or the inbox file it came from.
  package var source: String
  /// The submission version answered (the ledger's content hash) and the student's identity within it
  /// (`Resolution.studentKey`): an answer applies to that version and child only, never to a changed one.
  package var version: String? = nil
  package var studentKey: String? = nil
  /// The earlier answer this one replaced, said back to the person (not stored).
  package var replaces: String? = nil
  /// `contact` for a potential contact match: `studentSeq` is then the contact's `Contact_Seq` and
  /// `sisID` the SIS `Contact_ID` chosen. nil for a student.
  package var schema: String? = nil

  package var isContact: Bool { schema == "contact" }

  package init(
    submissionID: String, studentSeq: Int, action: Action, sisID: String?, resolvedBy: String,
    resolvedAt: String,
    source: String, version: String? = nil, studentKey: String? = nil
  ) {
    self.submissionID = submissionID
    self.studentSeq = studentSeq
    self.action = action
    self.sisID = sisID
    self.resolvedBy = resolvedBy
    self.resolvedAt = resolvedAt
    self.source = source
    self.version = version
    self.studentKey = studentKey
  }

  /// The student's identity within a submission: SHA-256 over the fields that say which child it is,
  /// so that siblings re-ordered in a new version never swap answers.
  package static func studentKey(_ student: SubmissionPart) -> String {
    let identity = [
      FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
      FieldName.birthDate, FieldName.gender,
    ].map { student.fields[$0] ?? "" }
    return SHA256.hex(identity.joined(separator: "\u{1F}"))
  }

  package var summary: String {
    "\(sisID.map { "Match to \($0)" } ?? "No Match") by \(resolvedBy) at \(resolvedAt) (\(source))"
  }

  /// The table of contact answers (Match to an SIS contact, or No Match), bound to the submission version.
  static let contactSchema = """
    CREATE TABLE IF NOT EXISTS contact_resolutions(
      submission_id TEXT NOT NULL,
      contact_seq INTEGER NOT NULL,
      action TEXT NOT NULL CHECK (action IN ('match', 'no-match')),
      contact_id TEXT,
      version TEXT,
      resolved_by TEXT NOT NULL,
      resolved_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, contact_seq));
    """
}

/// "Keep the SIS value" for one field of a submission (the seed's green arrow).
package struct FieldOverride: Sendable, Codable, Hashable {
  package var submissionID: String
  package var field: String
  package var resolvedBy: String
  package var resolvedAt: String
  package var source: String
}

extension StateStore {
  /// Records a resolution; a later one for the same student replaces it (the person changed their mind).
  /// Returns the earlier answer it replaced, if any.
  @discardableResult
  package func record(_ resolution: Resolution) throws -> Resolution? {
    if resolution.isContact { return try recordContact(resolution) }
    let earlier = try resolutions(
      submission: resolution.submissionID, seq: resolution.studentSeq
    ).first
    // The same answer again, for the same version, keeps its first who and when.
    if let same = earlier, same.action == resolution.action, same.sisID == resolution.sisID,
      same.version == resolution.version,
      same.studentKey == resolution.studentKey
    {
      return nil
    }
    try database.inTransaction {
      try database.execute(
        "INSERT OR REPLACE INTO resolutions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
          .text(resolution.submissionID), .integer(Int64(resolution.studentSeq)),
          .text(resolution.action.rawValue),
          resolution.sisID.map { .text($0) } ?? .null, .text(resolution.resolvedBy),
          .text(resolution.resolvedAt), .text(resolution.source),
        ])
      try database.execute(
        "DELETE FROM resolution_versions WHERE submission_id = ? AND student_seq = ?",
        [.text(resolution.submissionID), .integer(Int64(resolution.studentSeq))])
      if let version = resolution.version, let key = resolution.studentKey {
        try database.execute(
          "INSERT INTO resolution_versions VALUES (?, ?, ?, ?)",
          [
            .text(resolution.submissionID), .integer(Int64(resolution.studentSeq)), .text(version),
            .text(key),
          ])
      }
      try logAnswer(
        resolution.submissionID, earlier == nil ? "recorded" : "replaced",
        "student \(resolution.studentSeq): \(resolution.sisID.map { "Match to \($0)" } ?? "No Match") (\(resolution.source))",
        by: resolution.resolvedBy, at: resolution.resolvedAt)
    }
    return earlier
  }

  package func record(_ override: FieldOverride) throws {
    if try !database.rows(
      "SELECT 1 FROM overrides WHERE submission_id = ? AND field = ?",
      [.text(override.submissionID), .text(override.field)]
    ).isEmpty {
      return
    }
    try database.execute(
      "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?)",
      [
        .text(override.submissionID), .text(override.field), .text(override.resolvedBy),
        .text(override.resolvedAt), .text(override.source),
      ])
  }

  /// The WHERE clause (with its trailing space) and arguments that pick one answer by its key, or
  /// none to read them all.
  static func answerKey(
    _ submission: String?, _ seq: Int?, _ submissionColumn: String, _ seqColumn: String
  ) -> (String, [SQLValue]) {
    guard let submission, let seq else { return ("", []) }
    return (
      "WHERE \(submissionColumn) = ? AND \(seqColumn) = ? ",
      [.text(submission), .integer(Int64(seq))]
    )
  }

  /// Every student answer, or one student's (by its primary key: recording an answer reads only
  /// the one it may replace, not the table).
  package func resolutions(submission: String? = nil, seq: Int? = nil) throws -> [Resolution] {
    let (filter, arguments) = Self.answerKey(submission, seq, "r.submission_id", "r.student_seq")
    return try database.rows(
      """
      SELECT r.submission_id, r.student_seq, r.action, r.sis_id, r.resolved_by, r.resolved_at, r.source, v.version, v.student_key
      FROM resolutions r LEFT JOIN resolution_versions v USING (submission_id, student_seq) \(filter)ORDER BY r.submission_id, r.student_seq
      """, arguments
    ).map { row in
      Resolution(
        submissionID: row[0].string ?? "", studentSeq: Int(row[1].int ?? 0),
        action: Resolution.Action(rawValue: row[2].string ?? "") ?? .noMatch, sisID: row[3].string,
        resolvedBy: row[4].string ?? "", resolvedAt: row[5].string ?? "",
        source: row[6].string ?? "",
        version: row[7].string, studentKey: row[8].string)
    }
  }

  private func recordContact(_ resolution: Resolution) throws -> Resolution? {
    let earlier = try contactResolutions(
      submission: resolution.submissionID, seq: resolution.studentSeq
    ).first
    if let same = earlier, same.action == resolution.action, same.sisID == resolution.sisID,
      same.version == resolution.version
    {
      return nil
    }
    try database.inTransaction {
      try database.execute(
        "INSERT OR REPLACE INTO contact_resolutions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
          .text(resolution.submissionID), .integer(Int64(resolution.studentSeq)),
          .text(resolution.action.rawValue),
          resolution.sisID.map { .text($0) } ?? .null,
          resolution.version.map { .text($0) } ?? .null, .text(resolution.resolvedBy),
          .text(resolution.resolvedAt), .text(resolution.source),
        ])
      try logAnswer(
        resolution.submissionID, earlier == nil ? "recorded" : "replaced",
        "contact \(resolution.studentSeq): \(resolution.sisID.map { "Match to \($0)" } ?? "No Match") (\(resolution.source))",
        by: resolution.resolvedBy, at: resolution.resolvedAt)
    }
    return earlier
  }

  /// People's answers to potential contact matches (`schema` contact; `studentSeq` holds the Contact_Seq).
  package func contactResolutions(submission: String? = nil, seq: Int? = nil) throws -> [Resolution]
  {
    let (filter, arguments) = Self.answerKey(submission, seq, "submission_id", "contact_seq")
    return try database.rows(
      "SELECT submission_id, contact_seq, action, contact_id, version, resolved_by, resolved_at, source FROM contact_resolutions \(filter)ORDER BY submission_id, contact_seq",
      arguments
    ).map { row in
      var resolution = Resolution(
        submissionID: row[0].string ?? "", studentSeq: Int(row[1].int ?? 0),
        action: Resolution.Action(rawValue: row[2].string ?? "") ?? .noMatch,
        sisID: row[3].string, resolvedBy: row[5].string ?? "", resolvedAt: row[6].string ?? "",
        source: row[7].string ?? "",
        version: row[4].string)
      resolution.schema = "contact"
      return resolution
    }
  }

  package func overrides() throws -> [FieldOverride] {
    try database.rows(
      "SELECT submission_id, field, resolved_by, resolved_at, source FROM overrides ORDER BY submission_id, field"
    ).map { row in
      FieldOverride(
        submissionID: row[0].string ?? "", field: row[1].string ?? "",
        resolvedBy: row[2].string ?? "",
        resolvedAt: row[3].string ?? "", source: row[4].string ?? "")
    }
  }
}
