import Foundation

/// Resolutions and overrides: validated against the open batch's match decisions, then recorded
/// in state.sqlite with who and when. The match stage applies them on its next run.
public enum Resolver {
  /// Records Match (`sisID`) or No Match (`sisID == nil`) for one student of a submission in the open batch.
  ///
  /// - Throws: `SISDropError` (65) when the submission is not in the open batch, has no such student,
  ///   or the SIS id is not among that student's candidates; (66) when there is no open batch or no match stage yet.
  @discardableResult
  public static func resolve(workdir: WorkDir, submission: String, student seq: Int?, sisID: String?, by actor: String,
                             source: String = "command", at time: String? = nil) throws -> Resolution {
    let decision = try decisionOf(workdir: workdir, submission: submission)
    let students = decision.students
    let chosen: StudentDecision
    if let seq {
      guard let found = students.first(where: { $0.seq == seq }) else {
        throw SISDropError(.dataError, "submission \(submission) has no student \(seq) (it has \(students.count))",
                           hint: "name the student with --student 1 … \(students.count)")
      }
      chosen = found
    } else {
      let open = students.filter { $0.decision.outcome == .potential }
      guard students.count == 1 || open.count == 1 else {
        throw SISDropError(.usage, "submission \(submission) has \(students.count) students", hint: "name one with --student N")
      }
      chosen = students.count == 1 ? students[0] : open[0]
    }
    if let sisID {
      let candidates = chosen.decision.candidates.map(\.sisID)
      guard candidates.contains(sisID) else {
        throw SISDropError(
          .dataError, "SIS student \(sisID) is not a candidate for \(submission) student \(chosen.seq)",
          hint: candidates.isEmpty ? "the matcher found no candidates: resolve it with --no-match"
            : "choose one of: \(candidates.joined(separator: ", ")), or --no-match")
      }
    }
    let resolution = Resolution(
      submissionID: submission, studentSeq: chosen.seq, action: sisID == nil ? .noMatch : .match, sisID: sisID,
      resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source)
    try workdir.state.record(resolution)
    return resolution
  }

  /// Records "keep the SIS value" for one student field of a submission in the open batch.
  @discardableResult
  public static func keepSIS(workdir: WorkDir, submission: String, field: String, by actor: String, source: String = "command",
                             at time: String? = nil) throws -> FieldOverride {
    _ = try decisionOf(workdir: workdir, submission: submission)
    guard MatchStage.comparedStudentFields.contains(field) else {
      throw SISDropError(.dataError, "'\(field)' is not a student field that an update can carry",
                         hint: "one of: \(MatchStage.comparedStudentFields.joined(separator: ", "))")
    }
    let override = FieldOverride(submissionID: submission, field: field, resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source)
    try workdir.state.record(override)
    return override
  }

  /// Imports `resolutions.csv` (Submission_ID, Student_Seq, SIS_ID or empty for No Match, Resolved_By) and
  /// `overrides.csv` (Submission_ID, Field, Resolved_By) from a folder (the inbox). Each bad row is
  /// reported with its line and reason; the good ones are recorded.
  public static func importFiles(workdir: WorkDir, folder: String) throws -> (recorded: Int, problems: [String]) {
    var recorded = 0
    var problems: [String] = []
    for (name, columns) in [("resolutions.csv", ["Submission_ID", "Student_Seq", "SIS_ID", "Resolved_By"]),
                            ("overrides.csv", ["Submission_ID", "Field", "Resolved_By"])] {
      let path = folder + "/" + name
      guard FileSystem.exists(path) else { continue }
      // The inbox's pickup rules: a half-uploaded `S123,1,` would read as a No Match decision.
      if let batch = try workdir.state.openBatch(),
        let why = Inbox(path: folder, config: try workdir.config(for: batch)).whyNotReady(name) {
        problems.append("\(path): not read yet, \(why) (a later run reads it)")
        continue
      }
      let reader = try CSVReader(path: path)
      guard let header = try reader.next()?.fields.map({ FieldRules.text($0).replacingOccurrences(of: "\u{FEFF}", with: "") }) else { continue }
      let index = columns.map { column in header.firstIndex { $0.caseInsensitiveCompare(column) == .orderedSame } }
      if index[0] == nil || index[1] == nil {
        problems.append("\(path):1: the header needs \(columns.prefix(2).joined(separator: " and ")) (optional: \(columns.dropFirst(2).joined(separator: ", ")))")
        continue
      }
      var line = 1
      while let record = try reader.next() {
        line += 1
        func value(_ i: Int) -> String { index[i].map { $0 < record.fields.count ? FieldRules.text(record.fields[$0]) : "" } ?? "" }
        let actor = value(columns.count - 1).isEmpty ? "inbox" : value(columns.count - 1)
        do {
          if name == "resolutions.csv" {
            guard let seq = Int(value(1)), seq > 0 else { throw SISDropError(.dataError, "Student_Seq must be a positive whole number") }
            try resolve(workdir: workdir, submission: value(0), student: seq, sisID: value(2).isEmpty ? nil : value(2), by: actor,
                        source: "inbox:\(name)")
          } else {
            try keepSIS(workdir: workdir, submission: value(0), field: value(1), by: actor, source: "inbox:\(name)")
          }
          recorded += 1
        } catch let error as SISDropError {
          problems.append("\(path):\(line): \(error.description)")
        }
      }
    }
    return (recorded, problems)
  }

  /// The open batch's decision for a submission.
  static func decisionOf(workdir: WorkDir, submission: String) throws -> SubmissionDecision {
    guard let batch = try workdir.state.openBatch() else {
      throw SISDropError(.noInput, "there is no open batch", hint: "resolutions apply to the open batch: run `sisdrop open` and the stages first")
    }
    let path = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
    guard FileSystem.exists(path) else {
      throw SISDropError(.noInput, "batch \(batch.id) has not been matched yet", at: SourceLocation(path: path), hint: "run `sisdrop match` first")
    }
    guard let decision = try JSONLines.read(SubmissionDecision.self, from: path).first(where: { $0.submissionID == submission }) else {
      throw SISDropError(.dataError, "submission \(submission) is not in the open batch \(batch.id)",
                         hint: "`sisdrop pending` lists submissions; a submission not in this batch is resolved when it is batched")
    }
    return decision
  }
}
