import Foundation
import SISDropCore

/// A person's answer about one field of a matched record whose form value differs from the SIS
/// value: keep the SIS value (the seed's green arrow) or accept the form's value (it is written
/// even where the pipeline's `updates:` policy holds that field for review).
///
/// Bound, like every answer, to the submission version it was given for (the ledger's content
/// hash) and to the student or contact seq: a changed form makes it stale, never applied.
package struct FieldAnswer: Sendable, Codable, Hashable {
  package enum Choice: String, Sendable, Codable, CaseIterable {
    case keepSIS = "keep-sis"
    case accept
  }
  package var submissionID: String
  /// `student` or `contact`.
  package var schema: String
  package var seq: Int
  package var field: String
  package var choice: Choice
  /// The content hash answered; nil only for answers recorded before answers were bound to versions.
  package var version: String?
  package var answeredBy: String
  package var answeredAt: String
  /// `command` or the inbox file it came from.
  package var source: String

  package init(
    submissionID: String, schema: String, seq: Int, field: String, choice: Choice, version: String?,
    answeredBy: String,
    answeredAt: String, source: String
  ) {
    self.submissionID = submissionID
    self.schema = schema
    self.seq = seq
    self.field = field
    self.choice = choice
    self.version = version
    self.answeredBy = answeredBy
    self.answeredAt = answeredAt
    self.source = source
  }
}

/// One line of a submission's answer history (recorded, replaced, withdrawn, applied, stale).
package struct AnswerEvent: Sendable, Codable, Hashable {
  package var at: String
  package var submissionID: String
  package var event: String
  package var what: String
  package var by: String
}

extension StateStore {
  /// The tables of field answers and of the answer history, created with the state schema.
  static let answerSchema = """
    CREATE TABLE IF NOT EXISTS field_answers(
      submission_id TEXT NOT NULL,
      schema TEXT NOT NULL CHECK (schema IN ('student', 'contact')),
      seq INTEGER NOT NULL,
      field TEXT NOT NULL,
      choice TEXT NOT NULL CHECK (choice IN ('keep-sis', 'accept')),
      version TEXT,
      answered_by TEXT NOT NULL,
      answered_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, schema, seq, field));
    CREATE TABLE IF NOT EXISTS answer_events(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      submission_id TEXT NOT NULL,
      event TEXT NOT NULL,
      what TEXT NOT NULL,
      answered_by TEXT NOT NULL);
    """

  /// Records a field answer; a later one for the same field replaces it. Returns what it replaced.
  @discardableResult
  package func record(_ answer: FieldAnswer) throws -> FieldAnswer? {
    let earlier = try fieldAnswers(submission: answer.submissionID).first {
      $0.schema == answer.schema && $0.seq == answer.seq && $0.field == answer.field
    }
    if let earlier, earlier.choice == answer.choice, earlier.version == answer.version {
      return nil
    }
    try database.inTransaction {
      try database.execute(
        "INSERT OR REPLACE INTO field_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
          .text(answer.submissionID), .text(answer.schema), .integer(Int64(answer.seq)),
          .text(answer.field), .text(answer.choice.rawValue),
          answer.version.map { .text($0) } ?? .null, .text(answer.answeredBy),
          .text(answer.answeredAt), .text(answer.source),
        ])
      try logAnswer(
        answer.submissionID, earlier == nil ? "recorded" : "replaced",
        "\(answer.choice.rawValue) \(answer.schema) \(answer.seq) \(answer.field) (\(answer.source))",
        by: answer.answeredBy,
        at: answer.answeredAt)
    }
    return earlier
  }

  /// Every field answer, or one submission's, in a stable order.
  package func fieldAnswers(submission: String? = nil) throws -> [FieldAnswer] {
    var sql =
      "SELECT submission_id, schema, seq, field, choice, version, answered_by, answered_at, source FROM field_answers"
    var arguments: [SQLValue] = []
    if let submission {
      sql += " WHERE submission_id = ?"
      arguments.append(.text(submission))
    }
    return try database.rows(sql + " ORDER BY submission_id, schema, seq, field", arguments).map {
      row in
      FieldAnswer(
        submissionID: row[0].string ?? "", schema: row[1].string ?? "student",
        seq: Int(row[2].int ?? 0), field: row[3].string ?? "",
        choice: FieldAnswer.Choice(rawValue: row[4].string ?? "") ?? .keepSIS,
        version: row[5].string,
        answeredBy: row[6].string ?? "", answeredAt: row[7].string ?? "",
        source: row[8].string ?? "")
    }
  }

  /// Adds a line to the answer history.
  package func logAnswer(
    _ submission: String, _ event: String, _ what: String, by: String, at time: String? = nil
  ) throws {
    try database.execute(
      "INSERT INTO answer_events(at, submission_id, event, what, answered_by) VALUES (?, ?, ?, ?, ?)",
      [.text(time ?? Clock.now()), .text(submission), .text(event), .text(what), .text(by)])
  }

  /// A submission's answer history, oldest first.
  package func answerHistory(submission: String) throws -> [AnswerEvent] {
    try database.rows(
      "SELECT at, submission_id, event, what, answered_by FROM answer_events WHERE submission_id = ? ORDER BY seq",
      [.text(submission)]
    ).map { row in
      AnswerEvent(
        at: row[0].string ?? "", submissionID: row[1].string ?? "", event: row[2].string ?? "",
        what: row[3].string ?? "",
        by: row[4].string ?? "")
    }
  }

  /// Withdraws answers of a submission: a resolution (`student` given, no field), a field answer
  /// (`field` given) or a correction (`correction: true`). Returns how many were withdrawn.
  package func withdrawAnswers(
    submission: String, schema: String, seq: Int?, field: String?, correction: Bool, by: String
  ) throws -> Int {
    var removed = 0
    try database.inTransaction {
      func delete(_ sql: String, _ arguments: [SQLValue]) throws {
        try database.execute(sql, arguments)
        removed += Int(database.changes)
      }
      if correction {
        var sql = "DELETE FROM corrections WHERE submission_id = ? AND schema = ?"
        var arguments: [SQLValue] = [.text(submission), .text(schema)]
        if let seq {
          sql += " AND seq = ?"
          arguments.append(.integer(Int64(seq)))
        }
        if let field {
          sql += " AND field = ?"
          arguments.append(.text(field))
        }
        try delete(sql, arguments)
      } else if let field {
        var sql = "DELETE FROM field_answers WHERE submission_id = ? AND schema = ? AND field = ?"
        var arguments: [SQLValue] = [.text(submission), .text(schema), .text(field)]
        if let seq {
          sql += " AND seq = ?"
          arguments.append(.integer(Int64(seq)))
        }
        try delete(sql, arguments)
        // An answer recorded before answers had a seq (the old overrides table).
        try delete(
          "DELETE FROM overrides WHERE submission_id = ? AND field = ?",
          [.text(submission), .text(field)])
      } else if schema == "contact" {
        var sql = "DELETE FROM contact_resolutions WHERE submission_id = ?"
        var arguments: [SQLValue] = [.text(submission)]
        if let seq {
          sql += " AND contact_seq = ?"
          arguments.append(.integer(Int64(seq)))
        }
        try delete(sql, arguments)
      } else {
        var sql = "DELETE FROM resolutions WHERE submission_id = ?"
        var arguments: [SQLValue] = [.text(submission)]
        if let seq {
          sql += " AND student_seq = ?"
          arguments.append(.integer(Int64(seq)))
        }
        try delete(sql, arguments)
        try database.execute(
          sql.replacingOccurrences(of: "FROM resolutions", with: "FROM resolution_versions"),
          arguments)
      }
      if removed > 0 {
        let what =
          (correction ? "correction" : field == nil ? "resolution" : "field answer")
          + (seq.map { " \(schema) \($0)" } ?? "") + (field.map { " \($0)" } ?? "")
        try logAnswer(submission, "withdrawn", what, by: by)
      }
    }
    return removed
  }
}
