import Foundation

/// A person's answer to a potential match (the seed's Match / No Match), kept in state.sqlite.
public struct Resolution: Sendable, Codable, Hashable {
  public enum Action: String, Sendable, Codable { case match, noMatch = "no-match" }
  public var submissionID: String
  public var studentSeq: Int
  public var action: Action
  /// The SIS Student_Number chosen (Match only).
  public var sisID: String?
  public var resolvedBy: String
  public var resolvedAt: String
  /// `command` or the inbox file it came from.
  public var source: String
}

/// "Keep the SIS value" for one field of a submission (the seed's green arrow).
public struct FieldOverride: Sendable, Codable, Hashable {
  public var submissionID: String
  public var field: String
  public var resolvedBy: String
  public var resolvedAt: String
  public var source: String
}

extension StateStore {
  /// The tables, created with the state schema (`CREATE TABLE IF NOT EXISTS`).
  static let resolutionSchema = """
    CREATE TABLE IF NOT EXISTS resolutions(
      submission_id TEXT NOT NULL,
      student_seq INTEGER NOT NULL,
      action TEXT NOT NULL CHECK (action IN ('match', 'no-match')),
      sis_id TEXT,
      resolved_by TEXT NOT NULL,
      resolved_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, student_seq));
    CREATE TABLE IF NOT EXISTS overrides(
      submission_id TEXT NOT NULL,
      field TEXT NOT NULL,
      resolved_by TEXT NOT NULL,
      resolved_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, field));
    """

  /// Records a resolution; a later one for the same student replaces it (the person changed their mind).
  public func record(_ resolution: Resolution) throws {
    // The same answer again (an inbox file read twice) keeps its first who and when.
    if let same = try resolutions().first(where: { $0.submissionID == resolution.submissionID && $0.studentSeq == resolution.studentSeq }),
      same.action == resolution.action, same.sisID == resolution.sisID
    {
      return
    }
    try database.execute(
      "INSERT OR REPLACE INTO resolutions VALUES (?, ?, ?, ?, ?, ?, ?)",
      [.text(resolution.submissionID), .integer(Int64(resolution.studentSeq)), .text(resolution.action.rawValue),
       resolution.sisID.map { .text($0) } ?? .null, .text(resolution.resolvedBy), .text(resolution.resolvedAt), .text(resolution.source)])
  }

  public func record(_ override: FieldOverride) throws {
    if try overrides().contains(where: { $0.submissionID == override.submissionID && $0.field == override.field }) { return }
    try database.execute(
      "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?)",
      [.text(override.submissionID), .text(override.field), .text(override.resolvedBy), .text(override.resolvedAt), .text(override.source)])
  }

  public func resolutions() throws -> [Resolution] {
    return try database.rows(
      "SELECT submission_id, student_seq, action, sis_id, resolved_by, resolved_at, source FROM resolutions ORDER BY submission_id, student_seq"
    ).map { row in
      Resolution(submissionID: row[0].string ?? "", studentSeq: Int(row[1].int ?? 0),
                 action: Resolution.Action(rawValue: row[2].string ?? "") ?? .noMatch, sisID: row[3].string,
                 resolvedBy: row[4].string ?? "", resolvedAt: row[5].string ?? "", source: row[6].string ?? "")
    }
  }

  public func overrides() throws -> [FieldOverride] {
    return try database.rows("SELECT submission_id, field, resolved_by, resolved_at, source FROM overrides ORDER BY submission_id, field").map { row in
      FieldOverride(submissionID: row[0].string ?? "", field: row[1].string ?? "", resolvedBy: row[2].string ?? "",
                    resolvedAt: row[3].string ?? "", source: row[4].string ?? "")
    }
  }
}
