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
    // Bound to the version answered and to this child in it: a changed form goes back to review.
    let normalized = try submissionOf(workdir: workdir, submission: submission)
    let part = normalized?.students.first { $0.seq == chosen.seq }
    var resolution = Resolution(
      submissionID: submission, studentSeq: chosen.seq, action: sisID == nil ? .noMatch : .match, sisID: sisID,
      resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source, version: normalized?.contentHash,
      studentKey: part.map(Resolution.studentKey))
    resolution.replaces = try workdir.state.record(resolution)?.summary
    return resolution
  }

  /// Records "keep the SIS value" for one student field of a submission in the open batch.
  @discardableResult
  public static func keepSIS(workdir: WorkDir, submission: String, field: String, by actor: String, source: String = "command",
                             at time: String? = nil) throws -> FieldOverride {
    _ = try decisionOf(workdir: workdir, submission: submission)
    guard MatchStage.comparedStudentFields.contains(field) else {
      throw SISDropError(.dataError, "\(LogText.quoted(field)) is not a student field that an update can carry",
                         hint: "one of: \(MatchStage.comparedStudentFields.joined(separator: ", "))")
    }
    let override = FieldOverride(submissionID: submission, field: field, resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source)
    try workdir.state.record(override)
    return override
  }

  /// The `SIS_ID` that says No Match in `resolutions.csv`. A blank cell is refused: a missing value
  /// (an Excel gap, a short row) must never read as "create a new student".
  public static let noMatchToken = "NO-MATCH"

  /// Imports `resolutions.csv` (Submission_ID, Student_Seq, SIS_ID — an SIS id for Match or `NO-MATCH` —
  /// and optional Resolved_By) and `overrides.csv` (Submission_ID, Field, optional Resolved_By) from
  /// a folder (the inbox). A header missing a column or carrying an unknown one refuses the whole file
  /// (it stays in the inbox); otherwise each bad row is reported with its line and reason, the good ones
  /// are recorded, and the file is moved to `archive/resolutions/` so that a later `sisdrop resolve`
  /// is never overwritten by reading the same file again.
  public static func importFiles(workdir: WorkDir, folder: String) throws -> (recorded: Int, problems: [String]) {
    var recorded = 0
    var problems: [String] = []
    for (name, required, optional) in [("resolutions.csv", ["Submission_ID", "Student_Seq", "SIS_ID"], ["Resolved_By"]),
                                       ("overrides.csv", ["Submission_ID", "Field"], ["Resolved_By"])] {
      let path = folder + "/" + name
      guard FileSystem.exists(path) else { continue }
      // Only a regular file with one name: a link or a FIFO is named and left unread.
      if let what = Inbox.FileState.of(path)?.refusal {
        problems.append(InboxFile.refused(path, what, hint: "not read").description)
        continue
      }
      // The inbox's pickup rules: a half-uploaded `S123,1,` would read as a decision.
      let batch = try workdir.state.openBatch()
      if let batch, let why = Inbox(path: folder, config: try workdir.config(for: batch)).whyNotReady(name) {
        problems.append("\(path): not read yet, \(why) (a later run reads it)")
        continue
      }
      let reader: CSVReader
      do {
        reader = try CSVReader(path: path, inboxFile: true)
      } catch let error as SISDropError where error.status == .dataError {
        problems.append(error.description)
        continue
      }
      guard let header = try reader.next()?.fields.map({ FieldRules.text($0).replacingOccurrences(of: "\u{FEFF}", with: "") }) else {
        problems.append("\(path):1: the file is empty: write the header \((required + optional).joined(separator: ",")) and one row per answer")
        continue
      }
      let columns = required + optional
      let index = columns.map { column in header.firstIndex { $0.caseInsensitiveCompare(column) == .orderedSame } }
      let missing = required.indices.filter { index[$0] == nil }.map { required[$0] }
      let unknown = header.filter { column in !columns.contains { $0.caseInsensitiveCompare(column) == .orderedSame } }
      if !missing.isEmpty || !unknown.isEmpty {
        var what: [String] = []
        if !missing.isEmpty { what.append("missing \(missing.joined(separator: ", "))") }
        if !unknown.isEmpty { what.append("unknown \(unknown.map { "'\($0)'" }.joined(separator: ", "))") }
        problems.append("\(path):1: file not read (\(what.joined(separator: "; "))): the header must be \(required.joined(separator: ",")) "
          + "(optional: \(optional.joined(separator: ","))); fix it and the next match run reads the whole file")
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
            let sisID = value(2)
            guard !sisID.isEmpty else {
              throw SISDropError(.dataError, "SIS_ID is blank: write the SIS Student_Number for Match, or \(noMatchToken) for No Match")
            }
            let noMatch = sisID.caseInsensitiveCompare(noMatchToken) == .orderedSame
            try resolve(workdir: workdir, submission: value(0), student: seq, sisID: noMatch ? nil : sisID, by: actor,
                        source: "inbox:\(name)")
          } else {
            try keepSIS(workdir: workdir, submission: value(0), field: value(1), by: actor, source: "inbox:\(name)")
          }
          recorded += 1
        } catch let error as SISDropError {
          problems.append("\(path):\(line): \(error.description)")
        }
      }
      // Read once: the answers are in state.sqlite now; the file is kept with the batch's archive.
      if let batch {
        let archive = workdir.archive(try workdir.config(for: batch)) + "/resolutions"
        try FileSystem.makeDirectory(archive)
        let kept = archive + "/\(Clock.now().replacingOccurrences(of: ":", with: ""))-\(batch.id)-\(name)"
        try FileSystem.rename(path, to: kept)
        try FileSystem.syncDirectory(archive)
        try FileSystem.syncDirectory(folder)
        problems = problems.map { $0.hasPrefix(path + ":") ? kept + $0.dropFirst(path.count) : $0 }
      }
    }
    return (recorded, problems)
  }

  /// The open batch's normalized submission (its version and students), if the normalize stage kept it.
  static func submissionOf(workdir: WorkDir, submission: String) throws -> Submission? {
    guard let batch = try workdir.state.openBatch() else { return nil }
    let path = workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl"
    guard FileSystem.exists(path) else { return nil }
    return try JSONLines.read(Submission.self, from: path).first { $0.id == submission }
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
