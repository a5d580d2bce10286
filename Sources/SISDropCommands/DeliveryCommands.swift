import ArgumentParser
import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropStore

/// `sisdrop correct`: records a corrected value for one field of a submission record.
package struct CorrectCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "correct",
    abstract: "Correct one field of a submission record before it is delivered again.",
    discussion: """
      The seed's "rectify incorrect values and click Deliver Record again": the value is checked and \
      kept in state.sqlite; the deliver stage (and `sisdrop-deliver --only ID`) applies it. Names, \
      birth date, gender and state id decided the match and are corrected in the enrollment system.
      --file reads a corrections.csv (Submission_ID, Schema, Seq, Field, Value); the same file put in \
      the inbox is taken by `sisdrop run` and `sisdrop-deliver`.
      Exit codes: 0 recorded, 64 a field that cannot be corrected, 65 a bad value, 66 unknown submission.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String?
  @Argument(help: "The field (e.g. Grade_Level, SchoolID, Zip, Email).") var field: String?
  @Argument(help: "The corrected value.") var value: String?
  @Option(help: "student or contact.") var schema: String = "student"
  @Option(help: "The student's place in the submission, or the contact's Contact_Seq.") var seq:
    Int = 1
  @Option(help: "A corrections.csv to record instead.") var file: String?
  package init() {}

  package func validate() throws {
    if file == nil && (submission == nil || field == nil || value == nil) {
      throw ValidationError("give SUBMISSION FIELD VALUE, or --file corrections.csv")
    }
  }

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      var corrections: [Correction]
      if let file {
        corrections = try Corrections.read(path: FileSystem.absolute(file))
      } else {
        corrections = [
          try Corrections.make(
            submissionID: submission ?? "", schema: schema, seq: seq, field: field ?? "",
            value: value ?? "",
            source: "command")
        ]
      }
      corrections = try Corrections.bind(corrections, workdir: workdir)
      try workdir.state.saveCorrections(
        corrections, by: ProcessInfo.processInfo.environment["USER"] ?? "operator")
      if workDir.json {
        try printJSON(corrections)
      } else {
        for c in corrections {
          print("recorded: \(c.submissionID) \(c.schema) \(c.seq) \(c.field) = \(c.value)")
        }
        let ids = Array(Set(corrections.map(\.submissionID))).sorted()
        // One reading of each batch's decisions for all the ids: a reading per id grew with the
        // file's corrections x the batch.
        let batches = Resolver.Batches()
        let steps = try Dictionary(grouping: ids) { try Self.nextStep(workdir, $0, batches) }
        for (step, group) in steps.sorted(by: { $0.value[0] < $1.value[0] }) {
          print("\(group.joined(separator: ", ")): \(step)")
        }
      }
    }
  }

  /// What delivers a corrected submission in the batch's current state, as a command that works now:
  /// `sisdrop-deliver --only` re-delivers a record the open batch matched; a record the open batch
  /// rejected before matching waits for the next batch; with no batch open, the next run takes it.
  static func nextStep(_ workdir: WorkDir, _ id: String, _ batches: Resolver.Batches) throws
    -> String
  {
    guard let open = try workdir.state.openBatch(), let entry = try workdir.state.ledgerEntry(id),
      entry.batchID == open.id || entry.lastSeenBatch == open.id
    else {
      return "it applies at the next `sisdrop run` that brings this submission, which delivers it"
    }
    if (try? Resolver.target(workdir: workdir, submission: id, batches: batches))?.inOpenBatch
      == true
    {
      return "deliver it again with: sisdrop-deliver --only \(id)"
    }
    return
      "the open batch \(open.id) rejected this version before matching: the correction applies in the next batch (`sisdrop close`, then the next `sisdrop run` that brings this submission delivers it)"
  }
}

/// `sisdrop report`: writes a batch's report.html and prints its path.
package struct ReportCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "report", abstract: "Write the batch report (report.html) and print its path.",
    discussion:
      "One self-contained page: counts, the review queue with candidates side by side, errors and the commands that resolve them."
  )
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch, else the newest).") var batch: String?
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let record: BatchRecord
      if let batch {
        record = try workdir.batch(batch)
      } else if let open = try workdir.state.openBatch() {
        record = open
      } else {
        guard let newest = try workdir.state.allBatches().last else {
          throw SISDropError(
            .noInput, "no batches yet", at: SourceLocation(path: workdir.root),
            hint: "run `sisdrop run` first")
        }
        record = newest
      }
      let path = try BatchReport.write(workdir: workdir, batch: record)
      if workDir.json { try printJSON(["report": path]) } else { print(path) }
    }
  }
}

extension TardiesCommand {
  /// A pipeline file `load` refuses (a mapping file gone, a bad key) stops every run of the feed:
  /// recorded as the feed's failure and notified once, as a malformed mapping file is, so that the
  /// timer's runs do not fail unseen. The working directory is the one the readable part of the
  /// file names (or --workdir, $SISDROP_WORKDIR); people are told through the notification
  /// settings that can be read, else those of the last `sisdrop run` that could read the file.
  /// Without a working directory there is nothing to record in: only the error.
  func recordRefusedPipeline(_ error: any Error) throws {
    let readable = PipelineConfig.readableParts(path: pipeline)
    let root = readable.map { workDir.path(for: $0) } ?? workDir.path
    if FileSystem.exists(root + "/state.sqlite") {
      try locked(root) { workdir in
        let config =
          readable
          ?? NightlyRun.lastGoodNotifications(
            pipelinePath: FileSystem.absolute(pipeline),
            stored: try? workdir.state.integrationStatus())
        TardyFeed.record(
          .failure(error), workdir: workdir, config: config, inboxChecked: false,
          log: logger(quiet: workDir.json))
      }
    }
  }

  /// `withLockedWorkDir` without its mapping of errors to exit codes (done once, in `run`).
  func locked(_ root: String, _ body: (WorkDir) throws -> Void) throws {
    let (workdir, lock) = try WorkDir.locked(
      root: root, create: false, command: commandLine, wait: 0)
    defer { withExtendedLifetime(lock) {} }
    try body(workdir)
  }
}

/// `sisdrop tardies --json` when the command fails: its exit status and why (quoted values masked).
struct TardiesFailure: Encodable {
  var failed = true
  var exitStatus: Int
  var error: String

  init(_ error: any Error) {
    exitStatus = Int(error.exitStatus.rawValue)
    self.error = Notification.mask("\(error)")
  }
}

/// `sisdrop tardies --if-present --json` with no tardies.csv in the inbox.
struct NothingToDo: Encodable {
  var nothingToDo = true
  var reason: String
}

/// `sisdrop tardies`: the Raptor tardy feed into an attendance import file.
package struct TardiesCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "tardies", abstract: "Deliver Raptor tardies as an SIS attendance import file.",
    discussion: """
      Reads tardies.csv from the inbox (or --file), maps buildings with building_map.csv and reasons \
      with tardy_codes.csv (Active only), checks students and schools against the newest SIS snapshot, \
      and publishes tardies/<run>/<run>_attendance.* to the outbox. Unknown buildings, empty or \
      unknown students, a building that is not the student's school in the SIS export, unmapped or \
      inactive reasons, times later than the run by more than 15 minutes, and dates before \
      tardies.not_before in the pipeline (default school_year: before July 1 of the run's school \
      year; or a number of days back; or none) go to errors.csv. The SIS keeps one \
      attendance record per student, school and day: the day's earliest tardy is sent, once. Another \
      tardy of a day already sent (by an earlier run, or earlier in the file) with the same code is \
      listed in duplicates.csv ("already sent"); with another code it is not sent and is listed in \
      another-code.csv, for a person to change the SIS record by hand.
      The inbox's tardies.csv is read only if it is a regular file: a symbolic link, a hard link, a \
      FIFO or a device is refused by name without being opened (65); it is taken once unchanged for \
      pickup.quiet_seconds and no process holds it open for writing (75 until then, nothing claimed; \
      `sisdrop status` shows the wait, and one still arriving an hour past the quiet period is \
      notified once).
      --if-present is for a schedule (cron, the sisdrop-tardies.timer scripts/install.sh --system \
      installs): without a tardies.csv in the inbox it finishes what a killed run left and exits 0 \
      with "nothing to do" (with --json: {"nothing_to_do": true, "reason": ...}), instead of 66. \
      With --json a failure prints {"failed": true, "exit_status": N, "error": ...} as well.
      Each run is recorded for `sisdrop status` (when, outcome, counts, exit status); a run that \
      fails (a pipeline file it cannot use included: a mapping file gone), or rejects rows or \
      leaves a day for a person, is notified through the pipeline's notifications (the same \
      failure again only once).
      Exit codes: 0 done (or nothing to do with --if-present), 65 not a regular file, 66 no tardies \
      file or no snapshot yet, 75 busy or the file still arriving, 78 bad mapping file or field policy. \
      A --file that is not there (66) or not a regular file (65) is refused before the run: the \
      feed's status and notifications stay as they were.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file.") var pipeline: String
  @Option(help: "A tardies.csv to read instead of the inbox's.") var file: String?
  @Flag(help: "Exit 0 with \"nothing to do\" when the inbox has no tardies.csv (for a schedule).")
  var ifPresent = false
  package init() {}

  package func run() throws {
    // With --json, a failure is a JSON object on stdout too (a script reads stdout), besides the
    // exit status and the error on stderr.
    try guarded {
      do {
        try feed()
      } catch {
        if workDir.json { try? printJSON(TardiesFailure(error)) }
        throw error
      }
    }
  }

  /// The command's work; errors reach `run` as they are (named, with what to do).
  func feed() throws {
    let config: PipelineConfig
    do {
      config = try PipelineConfig.load(path: pipeline)
    } catch {
      try recordRefusedPipeline(error)
      throw error
    }
    // A --file that is not there (or not a regular file) is the operator's mistake, not a failure of
    // the feed: refused before the run, the feed's status and notifications untouched.
    if let file { try TardyFeed.checkNamedFile(FileSystem.absolute(file)) }
    try locked(workDir.path(for: config)) { workdir in
      let inboxFile = workdir.inbox(config) + "/" + TardyFeed.inboxFileName
      let log = logger(quiet: workDir.json)
      let result: TardyFeed.Result
      do {
        result = try TardyFeed.run(
          workdir: workdir, config: config, input: file.map { FileSystem.absolute($0) }, log: log)
      } catch let error as SISDropError
        where ifPresent && file == nil && error.status == .noInput
        && !FileSystem.exists(inboxFile)
      {
        // Scheduled every few minutes: no tardies.csv yet is not a failure (a killed run's claim
        // was put back and an unpublished run finished first, inside `TardyFeed.run`).
        TardyFeed.record(nil, workdir: workdir, config: config, log: log)
        if workDir.json {
          try printJSON(NothingToDo(reason: "no tardies.csv in the inbox"))
        } else {
          print("nothing to do: no tardies.csv in the inbox")
        }
        return
      } catch {
        // In `sisdrop status` and told to people, not only in the exit status and the log.
        TardyFeed.record(
          .failure(error), workdir: workdir, config: config, inboxChecked: file == nil, log: log)
        throw error
      }
      TardyFeed.record(
        .success(result), workdir: workdir, config: config, inboxChecked: file == nil, log: log)
      if workDir.json {
        try printJSON(result)
      } else {
        print("tardies \(result.run): \(result.counts)")
        for file in result.files { print("  \(workdir.outbox(config))/\(file)") }
        if result.errors > 0 { print("  errors: \(result.folder)/errors.csv") }
        if result.anotherCode > 0 {
          print(
            "  for a day already sent with another code (not sent; change it in the SIS by hand if it is the right one): \(result.folder)/\(TardyFeed.anotherCodeFileName)"
          )
        }
      }
    }
  }
}
