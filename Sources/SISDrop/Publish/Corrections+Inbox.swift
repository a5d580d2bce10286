import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropStore

/// Corrections taken from the inbox and bound to the submission version they correct: the
/// working directory's side of `Corrections` (the ledger, the inbox's pickup rules, the archive).
extension Corrections {
  /// Takes `corrections.csv` from the inbox into `state.sqlite` and keeps the file in
  /// `archive/corrections/`. Returns how many corrections it held.
  @discardableResult
  package static func importInbox(workdir: WorkDir, config: PipelineConfig) throws -> Int {
    let path = workdir.inbox(config) + "/" + inboxFileName
    guard FileSystem.exists(path) else { return 0 }
    // Only a regular file: a link or a FIFO is refused by name, unread (65, left in the inbox).
    try InboxFile.check(path)
    // The inbox's pickup rules: a half-uploaded file can parse cleanly.
    if let why = Inbox(path: workdir.inbox(config), config: config).whyNotReady(inboxFileName) {
      throw SISDropError(
        .temporaryFailure, "\(inboxFileName) not taken yet: \(why)", at: SourceLocation(path: path),
        hint: "a later run takes it")
    }
    let corrections = try bind(try read(path: path, inboxFile: true), workdir: workdir)
    try workdir.state.saveCorrections(corrections, by: "inbox")
    let archive = workdir.archive(config) + "/corrections"
    try FileSystem.makeDirectory(archive)
    let stamp = Clock.now().replacingOccurrences(of: ":", with: "")
    try FileSystem.rename(path, to: archive + "/\(stamp)-\(inboxFileName)")
    try FileSystem.syncDirectory(archive)
    try FileSystem.syncDirectory(workdir.inbox(config))
    return corrections.count
  }

  /// `importInbox` for `sisdrop run` and `sisdrop-deliver`: a bad file stays in the inbox, named in
  /// the log, and never stops the night's delivery.
  package static func takeInbox(workdir: WorkDir, config: PipelineConfig, log: (String) -> Void)
    throws
  {
    do {
      try importInbox(workdir: workdir, config: config)
    } catch let error as SISDropError
      where [.dataError, .usage, .noInput, .temporaryFailure].contains(error.status)
    {
      log("\(inboxFileName) not taken, left in the inbox: \(error)")
    }
  }

  /// Binds corrections to the submission version they correct (the ledger's content hash).
  ///
  /// - Throws: `SISDropError` 66 for a submission the ledger does not know; 64 for one that was
  ///   rejected before matching (it has no normalized version to correct: the enrollment system fixes it).
  /// - Throws: also 64 for a student or contact seq the submission does not have (it would be recorded and never sent).
  package static func bind(_ corrections: [Correction], workdir: WorkDir) throws -> [Correction] {
    let binder = try Binder(workdir: workdir)
    return try corrections.map { try binder.bind($0) }
  }

  /// Binds corrections one at a time, reading each batch's submissions and the open batch's
  /// deliveries once for all of them: an answer file's `corrections.csv` is bound row by row (each
  /// row's error names its line), and a binding of its own per row read the batch for every row
  /// (0.19 s a row at 20,000 submissions).
  package final class Binder {
    let workdir: WorkDir
    let open: String?
    /// batch → "submission schema" → seqs
    var parts: [String: [String: Set<Int>]] = [:]
    var delivered: [String: Set<String>] = [:]
    /// The newest SIS snapshot's schools (number and name), read at the first SchoolID; nil
    /// before any snapshot.
    var schools: [(number: String, name: String)]??

    package init(workdir: WorkDir) throws {
      self.workdir = workdir
      open = try workdir.state.openBatch()?.id
    }

    func seqs(_ batch: String, _ id: String, _ schema: String) throws -> Set<Int>? {
      if parts[batch] == nil {
        let path = workdir.stageFolder(batch, .normalize) + "/submissions.jsonl"
        var found: [String: Set<Int>] = [:]
        if FileSystem.exists(path) {
          try StageJSONChunks(Submission.self, path: path).forEach(1000) { chunk in
            for submission in chunk {
              found[submission.id + " student"] = Set(submission.students.map(\.seq))
              found[submission.id + " contact"] = Set(submission.contacts.map(\.seq))
            }
          }
        }
        parts[batch] = found
      }
      return parts[batch]?[id + " " + schema]
    }

    /// A corrected school must be one the SIS has: deliver refuses any other (the SIS export's
    /// `School_Number`, as it is written there: a spreadsheet that dropped the leading zero of
    /// 0101 gives 101), and refused now the clerk hears it now, not a night later.
    func checkSchool(_ correction: Correction) throws {
      guard correction.field == FieldName.schoolID else { return }
      if schools == nil {
        schools = .some(
          try workdir.state.latestSnapshot().map {
            try Snapshot(path: FileSystem.absolute($0.path, relativeTo: workdir.root)).schools()
          })
      }
      guard let known = schools ?? nil, !known.isEmpty,
        !known.contains(where: { $0.number == correction.value })
      else { return }
      throw SISDropError(
        .dataError, "the SchoolID value given is not a School_Number of the SIS export",
        hint:
          "give one of the SIS's schools: \(known.map { "\($0.number) (\($0.name))" }.joined(separator: ", "))"
      )
    }

    func isDelivered(_ id: String, in batch: String) throws -> Bool {
      if delivered[batch] == nil {
        delivered[batch] = Set(try Redelivery.delivered(workdir, batch: batch).map(\.id))
      }
      return delivered[batch]?.contains(id) ?? false
    }

    /// One correction bound to the version it corrects (see `Corrections.bind`).
    package func bind(_ correction: Correction) throws -> Correction {
      let state = workdir.state
      guard let entry = try state.ledgerEntry(correction.submissionID) else {
        throw SISDropError(
          .noInput, "submission \(correction.submissionID) is not in the pending ledger",
          hint: "see `sisdrop pending`")
      }
      guard let version = entry.contentHash, entry.status != .delivered else {
        throw SISDropError(
          .usage,
          entry.status == .delivered
            ? "submission \(correction.submissionID) is already delivered"
            : "submission \(correction.submissionID) was rejected before matching: there is no checked version to correct",
          hint:
            "correct it in the enrollment system; the corrected submission comes with the next export"
        )
      }
      // Delivered in the batch still open (its first delivery or a re-delivery): a correction would never be sent.
      if let batch = entry.batchID, open == batch,
        FileSystem.exists(workdir.stageFolder(batch, .deliver) + "/delivered.csv"),
        try isDelivered(correction.submissionID, in: batch)
      {
        throw SISDropError(
          .usage, "submission \(correction.submissionID) is already delivered in batch \(batch)",
          hint:
            "a delivered record is never sent twice: correct it in the SIS, or in the enrollment system for a later export"
        )
      }
      if let batch = entry.batchID,
        let known = try seqs(batch, correction.submissionID, correction.schema),
        !known.contains(correction.seq)
      {
        throw SISDropError(
          .usage,
          "submission \(correction.submissionID) has no \(correction.schema) \(correction.seq)",
          hint: known.isEmpty
            ? "it has no \(correction.schema)s"
            : "its \(correction.schema)s: \(known.sorted().map(String.init).joined(separator: ", ")) (--seq N)"
        )
      }
      try checkSchool(correction)
      var bound = correction
      bound.version = version
      return bound
    }
  }
}
