import ArgumentParser
import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropStore

#if canImport(Glibc)
import Glibc
#endif

package struct RunCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run the pipeline for cron: continue the open batch, or open one from the inbox.",
    discussion: """
      Safe to call from cron every few minutes: takes the working directory's lock, follows the \
      integration status and the run window (schedule: in the pipeline), claims only completely \
      uploaded feeds, and writes timestamped log lines to stderr when it is not on a terminal.
      A new SIS export without an enrollment export is claimed alone: that batch refreshes the \
      snapshot and confirms earlier deliveries, delivers nothing and is closed by the run.

      Exits 0 doing nothing when no batch is open and nothing new is in the inbox, outside the \
      window, or while waiting to retry; 75 when another sisdrop holds the working directory or a \
      feed file is still arriving (cron retries); 65/66/73/78 when the run failed (notified): 65 \
      also when a feed file in the inbox is a symbolic or hard link, a FIFO or a device (refused \
      by name, never opened), 78 when a delivery file cannot carry the records it creates.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file (pipelines/*.yaml).") var pipeline: String
  @Option(help: "Seconds to wait for another sisdrop process to finish before exiting 75.")
  var wait: Double = 0
  @Flag(
    help:
      "Run now, even outside the run window or before the retry time (an operator's manual run).")
  var ignoreWindow = false
  @Flag(
    help:
      "Print what a run would claim, select, match, hold and deliver, and which SIS fields each update would overwrite; change nothing."
  )
  var dryRun = false
  package init() {}

  struct Output: Encodable {
    var batch: String?
    var integration: IntegrationView
    var waiting: String?
    var summary: PipelineRunner.Summary?

    enum CodingKeys: String, CodingKey { case batch, integration, waiting, summary }

    /// `batch` and `waiting` are written as null when absent, so that a script can test them.
    func encode(to encoder: Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(batch, forKey: .batch)
      try container.encode(integration, forKey: .integration)
      try container.encode(waiting, forKey: .waiting)
      try container.encodeIfPresent(summary, forKey: .summary)
    }
  }

  package func run() throws {
    if dryRun { return try printDryRun() }
    // Off a terminal (cron's log file), the run's last line says how it ended and how long it took.
    let started = Date()
    func finished(_ code: Int32) {
      guard isatty(STDERR_FILENO) == 0 else { return }
      logger()(
        "run finished: exit \(code) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
      )
    }
    do {
      try runNight()
    } catch let error as ExitCode {
      finished(error.rawValue)
      throw error
    } catch {
      finished(error.exitStatus.rawValue)
      throw error
    }
    finished(0)
  }

  private func runNight() throws {
    let config: PipelineConfig
    do {
      config = try PipelineConfig.load(path: pipeline)
    } catch {
      // Not silent: recorded in the status and notified (NightlyRun), when the working directory
      // exists; a pipeline that cannot be read cannot say where it is, so --workdir or the rule's rest.
      guard FileSystem.exists(workDir.path + "/state.sqlite") else {
        return try guarded { throw error }
      }
      return try withLockedWorkDir(workDir.path, wait: wait) { workdir in
        _ = try NightlyRun.run(
          workdir: workdir, pipelinePath: pipeline, force: ignoreWindow,
          log: logger(quiet: workDir.json))
      }
    }
    try withLockedWorkDir(workDir.path(for: config), create: true, wait: wait) { workdir in
      let outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, force: ignoreWindow,
        log: logger(quiet: workDir.json))
      if workDir.json {
        let machine = IntegrationMachine(schedule: config.operations.schedule)
        try printJSON(
          Output(
            batch: outcome.summary?.batch,
            integration: IntegrationView(outcome.status, machine: machine, now: Date()),
            waiting: outcome.waiting, summary: outcome.summary))
      } else if let summary = outcome.summary {
        printSummary(summary)
      } else if isatty(STDOUT_FILENO) == 1 {
        print("nothing to do: \(outcome.waiting ?? "nothing new")")
      } else {
        // Under cron every 10 minutes: a timestamped log line, not a bare one in the log file.
        logger()("nothing to do: \(outcome.waiting ?? "nothing new")")
      }
    }
  }
}

/// The integration status as `sisdrop status` shows it.
struct IntegrationView: Encodable {
  var state: String
  var since: String
  var reason: String
  var lastRunAt: String?
  var lastRunResult: String?
  var lastBatch: String?
  var nextRunAt: String?
  var retryAt: String?
  var failuresInARow: Int
  var window: String
  var runningSince: String?
  var warning: String?
  var waitingFor: String?
  var waitingSince: String?
  var notificationProblem: String?
  var notificationProblemSince: String?
  var answerFilesRefused: String?
  var answerFilesRefusedAt: String?

  init(_ status: IntegrationStatus, machine: IntegrationMachine?, now: Date) {
    state = status.state.rawValue
    since = status.since.ISO8601Format()
    reason = status.reason
    lastRunAt = status.lastRunAt?.ISO8601Format()
    lastRunResult = status.lastRunResult
    lastBatch = status.lastBatch
    nextRunAt = machine?.nextRun(status, now: now)?.ISO8601Format()
    retryAt = status.retryAt?.ISO8601Format()
    failuresInARow = status.failures
    window =
      machine.map { $0.schedule.window?.description ?? "any time (no schedule section)" }
      ?? "unknown (pass --pipeline)"
    runningSince = status.runningSince?.ISO8601Format()
    warning = status.warning
    waitingFor = status.waitingFor
    waitingSince = status.waitingSince?.ISO8601Format()
    notificationProblem = status.notificationProblem
    notificationProblemSince = status.notificationProblemSince?.ISO8601Format()
    answerFilesRefused = status.answerFilesRefused
    answerFilesRefusedAt = status.answerFilesRefusedAt?.ISO8601Format()
  }

  enum CodingKeys: String, CodingKey {
    case state, since, reason, lastRunAt, lastRunResult, lastBatch, nextRunAt, retryAt,
      failuresInARow, window, runningSince
    case warning, waitingFor, waitingSince, notificationProblem, notificationProblemSince
    case answerFilesRefused, answerFilesRefusedAt
  }

  /// Every key, null when it has no value (docs/status.schema.json): a script tests values, not presence.
  func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(state, forKey: .state)
    try c.encode(since, forKey: .since)
    try c.encode(reason, forKey: .reason)
    try c.encode(lastRunAt, forKey: .lastRunAt)
    try c.encode(lastRunResult, forKey: .lastRunResult)
    try c.encode(lastBatch, forKey: .lastBatch)
    try c.encode(nextRunAt, forKey: .nextRunAt)
    try c.encode(retryAt, forKey: .retryAt)
    try c.encode(failuresInARow, forKey: .failuresInARow)
    try c.encode(window, forKey: .window)
    try c.encode(runningSince, forKey: .runningSince)
    try c.encode(warning, forKey: .warning)
    try c.encode(waitingFor, forKey: .waitingFor)
    try c.encode(waitingSince, forKey: .waitingSince)
    try c.encode(notificationProblem, forKey: .notificationProblem)
    try c.encode(notificationProblemSince, forKey: .notificationProblemSince)
    try c.encode(answerFilesRefused, forKey: .answerFilesRefused)
    try c.encode(answerFilesRefusedAt, forKey: .answerFilesRefusedAt)
  }
}

/// A stage of a batch as `status` reports it.
enum StageState: String, Encodable {
  case done
  case notRun = "not_run"
  case stale, failed
}

package struct StatusCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show the integration status and the batches with their stages.",
    discussion: """
      The integration status (Disabled, Pending Initialization, Initializing, Reinitializing, \
      Synchronizing, Reinitialization Scheduled, Initialization Scheduled), since when and why, the \
      last and next run; then the newest batches and their stages (done, not_run, stale or failed), \
      and the input each could not use ("input not used": SIS rows left out, values missing for \
      matching, rejected submissions, duplicate rows; counts only).
      Times are UTC with the district's local time beside them (the pipeline's time zone).
      The next run needs the pipeline's schedule: --pipeline, else the newest batch's pipeline.
      The Raptor tardy feed's last run (`sisdrop tardies`: when, outcome, counts, exit status) and \
      its last check of the inbox.
      --json follows docs/status.schema.json (schema_version 1): every key present, null when empty.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file, for the run window (default: the newest batch's).")
  var pipeline: String?
  @Option(help: "How many status changes to show.") var history = 5
  @Option(help: "How many batches to show, newest last (0: all).") var limit = 10
  @Flag(help: "Only the open batch.") var open = false
  @Flag(help: "Only batches with a stage that failed, is stale or has not run, and cancelled ones.")
  var failed = false
  package init() {}

  package func validate() throws {
    if open && failed { throw ValidationError("'--open' and '--failed' cannot be combined") }
    if limit < 0 { throw ValidationError("'--limit' is 0 (all) or more") }
  }

  struct StageStatus: Encodable {
    var state: StageState
    var detail: String?

    enum CodingKeys: String, CodingKey { case state, detail }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(state, forKey: .state)
      try c.encode(detail, forKey: .detail)
    }
  }

  struct BatchStatus: Encodable {
    var batch: String
    var state: String
    var selection: String
    var openedAt: String
    var closedAt: String?
    var stages: [String: StageStatus]
    /// Input read but not used, by stage count (SIS rows left out, values missing, rejected
    /// submissions, duplicate rows): never only in a stage file.
    var rejected: [String: Int]

    enum CodingKeys: String, CodingKey {
      case batch, state, selection, openedAt, closedAt, stages, rejected
    }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(batch, forKey: .batch)
      try c.encode(state, forKey: .state)
      try c.encode(selection, forKey: .selection)
      try c.encode(openedAt, forKey: .openedAt)
      try c.encode(closedAt, forKey: .closedAt)
      try c.encode(stages, forKey: .stages)
      try c.encode(rejected, forKey: .rejected)
    }
  }

  struct Change: Encodable {
    var at: String
    var from: String?
    var to: String
    var reason: String

    enum CodingKeys: String, CodingKey { case at, from, to, reason }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(at, forKey: .at)
      try c.encode(from, forKey: .from)
      try c.encode(to, forKey: .to)
      try c.encode(reason, forKey: .reason)
    }
  }

  struct Output: Encodable {
    var schemaVersion = 1
    var timeZone: String
    var integration: IntegrationView?
    var changes: [Change]
    var batches: [BatchStatus]
    var batchesTotal: Int
    var filter: String
    var waiting: Waiting
    var confirmation: ConfirmationView
    var tardyFeed: TardyFeedView?

    enum CodingKeys: String, CodingKey {
      case schemaVersion, timeZone, integration, changes, batches, batchesTotal, filter, waiting,
        confirmation, tardyFeed
    }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(schemaVersion, forKey: .schemaVersion)
      try c.encode(timeZone, forKey: .timeZone)
      try c.encode(integration, forKey: .integration)
      try c.encode(changes, forKey: .changes)
      try c.encode(batches, forKey: .batches)
      try c.encode(batchesTotal, forKey: .batchesTotal)
      try c.encode(filter, forKey: .filter)
      try c.encode(waiting, forKey: .waiting)
      try c.encode(confirmation, forKey: .confirmation)
      try c.encode(tardyFeed, forKey: .tardyFeed)
    }
  }

  /// The Raptor tardy feed's last run and last check (`sisdrop tardies`, on its own schedule).
  struct TardyFeedView: Encodable {
    struct Run: Encodable {
      var at: String
      var outcome: String
      var exitStatus: Int
      var run: String?
      var folder: String?
      var delivered: Int
      var duplicates: Int
      var errors: Int
      var anotherCode: Int
      var error: String?
    }
    var lastRun: Run?
    var lastCheckedAt: String?
    /// The inbox's tardies.csv still arriving at every run since `waitingSince` (left there).
    var waitingFor: String?
    var waitingSince: String?

    init(_ status: TardyFeedStatus) {
      lastCheckedAt = status.lastCheckedAt?.ISO8601Format()
      waitingFor = status.waitingFor
      waitingSince = status.waitingSince?.ISO8601Format()
      lastRun = status.lastRun.map {
        Run(
          at: $0.at.ISO8601Format(), outcome: $0.outcome, exitStatus: $0.exitStatus, run: $0.run,
          folder: $0.folder, delivered: $0.delivered, duplicates: $0.duplicates, errors: $0.errors,
          anotherCode: $0.anotherCode, error: $0.error)
      }
    }
  }

  /// Delivered records and whether the SIS shows them; the unconfirmed ones listed.
  struct ConfirmationView: Encodable {
    var counts: Confirmation.Counts
    var items: [Confirmation.Item]

    enum CodingKeys: String, CodingKey {
      case delivered, confirmed, unconfirmed, unconfirmedSubmissions, redeliveryRequested, items
    }
    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(counts.delivered, forKey: .delivered)
      try c.encode(counts.confirmed, forKey: .confirmed)
      try c.encode(counts.unconfirmed, forKey: .unconfirmed)
      try c.encode(counts.unconfirmedSubmissions, forKey: .unconfirmedSubmissions)
      try c.encode(counts.redeliveryRequested, forKey: .redeliveryRequested)
      try c.encode(
        items.map { UnconfirmedRecordJSON($0, withCommands: false) }, forKey: .items)
    }

    init(_ state: StateStore) throws {
      counts = try Confirmation.counts(state)
      items = try Confirmation.unconfirmed(state)
    }
  }

  /// What waits for a person across batches (the review queue), counted.
  struct Waiting: Encodable {
    var submissions: Int
    var potentialMatches: Int
    var updatesToReview: Int
    var inError: Int
    var oldestNights: Int

    init(_ queue: ReviewQueue) {
      submissions = queue.submissions
      potentialMatches = queue.count(.potentialMatch)
      updatesToReview = queue.count(.heldUpdate)
      inError = queue.count(.error)
      oldestNights = queue.items.map(\.ageNights).max() ?? 0
    }
  }

  /// A stage's state and why, from what the batch folder and the stage runs say.
  static func stageStatus(_ stage: Stage, workdir: WorkDir, batch: String) -> StageStatus {
    if let problem = StageRunner.problem(with: stage, workdir: workdir, batch: batch) {
      if problem == "has not run" { return StageStatus(state: .notRun, detail: problem) }
      return StageStatus(state: problem.hasPrefix("is stale") ? .stale : .failed, detail: problem)
    }
    if let failure = StageRunner.failedAfterItsFolder(stage, workdir: workdir, batch: batch) {
      return StageStatus(state: .failed, detail: failure)
    }
    if stage == .parse,
      (try? StageReport.load(workdir.stageFolder(batch, .parse)))?.counts["enrollment_export"] == 0
    {
      return StageStatus(
        state: .done,
        detail:
          "done: no enrollment export, the batch claimed the SIS export alone (snapshot and confirmation)"
      )
    }
    if stage == .deliver,
      (try? StageReport.load(workdir.stageFolder(batch, .deliver)))?.counts[
        DeliverStage.publishedFilesCount] == 0
    {
      return StageStatus(
        state: .done, detail: "done: nothing to deliver, nothing written to the outbox")
    }
    return StageStatus(state: .done, detail: nil)
  }

  package func run() throws {
    try guarded {
      // Looking must not create: a mistyped --workdir is an error, not a new empty working directory.
      let workdir = try readOnlyWorkDir(workDir.path)
      let batches = try workdir.state.allBatches()
      var statuses = batches.map { Self.batchStatus($0, workdir: workdir) }
      if open { statuses = statuses.filter { $0.state == "open" } }
      if failed {
        statuses = statuses.filter {
          $0.state == "cancelled" || $0.stages.values.contains { $0.state != .done }
        }
      }
      let total = statuses.count
      if limit > 0 { statuses = Array(statuses.suffix(limit)) }
      let path = pipeline ?? batches.last?.pipelinePath
      let config = path.flatMap { try? PipelineConfig.load(path: $0) }
      let stored = try workdir.state.integrationStatus()
      let zone = districtZone(config, stored)
      let machine = config.map { IntegrationMachine(schedule: $0.operations.schedule) }
      let integration = stored.map { IntegrationView($0, machine: machine, now: Date()) }
      let changes = Array(try workdir.state.integrationEvents().suffix(max(0, history)))
        .map { Change(at: $0.at, from: $0.from, to: $0.to, reason: $0.reason) }
      let waiting = Waiting(try ReviewQueue.load(workdir: workdir))
      let confirmation = try ConfirmationView(workdir.state)
      let tardyFeed = try workdir.state.tardyFeedStatus()
      if workDir.json {
        try printJSON(
          Output(
            timeZone: zone.identifier, integration: integration, changes: changes,
            batches: statuses,
            batchesTotal: total, filter: open ? "open" : failed ? "failed" : "all",
            waiting: waiting,
            confirmation: confirmation, tardyFeed: tardyFeed.map(TardyFeedView.init)))
        return
      }
      let time = LocalTime(zone: zone)
      Self.printIntegration(integration, changes: changes, time)
      Self.printWaiting(waiting)
      Self.printConfirmation(confirmation)
      if let tardyFeed { Self.printTardyFeed(tardyFeed, time) }
      let filter = open ? " open" : failed ? " failed, stale or cancelled" : ""
      if statuses.isEmpty { print(batches.isEmpty ? "no batches yet" : "no\(filter) batches") }
      if total > statuses.count {
        print("the last \(statuses.count) of \(total)\(filter) batches (--limit 0 shows all):")
      }
      for status in statuses { Self.printBatch(status, time) }
    }
  }

  /// The counts of input a batch did not use, by `stage.key`, shown when not zero.
  static let notUsedCounts: [(Stage, String)] = [
    (Stage.parse, "rejected_submissions"), (.parse, "submissions_missing_from_export"),
    (.parse, "duplicate_rows"),
    (.normalize, "sis_rejected_rows"),
    (.normalize, "sis_missing_values"), (.normalize, "rejected_submissions"),
    (.parse, "document_errors"),
    (.parse, "documents_without_submission"), (.parse, "documents_refused"),
    (.normalize, "sis_delta_unknown_keys"),
    // An earlier form of the same child: its update, or its new student, not written.
    (.deliver, "updates_superseded"), (.deliver, "new_students_superseded"),
    (.deliver, "contact_updates_superseded"),
  ]

  /// A batch's stages and the input it did not use.
  static func batchStatus(_ batch: BatchRecord, workdir: WorkDir) -> BatchStatus {
    var stages: [String: StageStatus] = [:]
    for stage in Stage.allCases {
      stages[stage.rawValue] = stageStatus(stage, workdir: workdir, batch: batch.id)
    }
    var rejected: [String: Int] = [:]
    for (stage, key) in notUsedCounts {
      if let value = (try? StageReport.load(workdir.stageFolder(batch.id, stage)))?.counts[key],
        value > 0
      {
        rejected["\(stage.rawValue).\(key)"] = value
      }
    }
    return BatchStatus(
      batch: batch.id, state: batch.state.rawValue, selection: batch.selection.description,
      openedAt: batch.openedAt, closedAt: batch.closedAt, stages: stages, rejected: rejected)
  }

  /// An ISO 8601 UTC time with the district's local time beside it.
  struct LocalTime {
    var zone: TimeZone

    func callAsFunction(_ text: String?) -> String {
      guard let text else { return "?" }
      let fractional = ISO8601DateFormatter()
      fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
      guard let date = ISO8601DateFormatter().date(from: text) ?? fractional.date(from: text)
      else { return text }
      let local = DateFormatter()
      local.locale = Locale(identifier: "en_US_POSIX")
      local.timeZone = zone
      local.dateFormat = "yyyy-MM-dd HH:mm zzz"
      return "\(text) (\(local.string(from: date)))"
    }
  }

  static func printIntegration(
    _ integration: IntegrationView?, changes: [Change], _ time: LocalTime
  ) {
    guard let view = integration else {
      // `sisdrop demo` and the stage commands run batches without the nightly state.
      print(
        "integration: no nightly run yet (`sisdrop run --pipeline FILE` sets it up; `sisdrop demo` and the stage commands do not)"
      )
      return
    }
    print("integration: \(view.state) since \(time(view.since))")
    print("  why: \(view.reason)")
    if let warning = view.warning { print("  WARNING: \(warning)") }
    if let problem = view.notificationProblem {
      print(
        "  WARNING: notifications cannot be sent (since \(time(view.notificationProblemSince))): \(problem)"
      )
    }
    if let refused = view.answerFilesRefused {
      print("  WARNING: answer file refused (\(time(view.answerFilesRefusedAt))): \(refused)")
    }
    if let waiting = view.waitingFor {
      print("  waiting since \(time(view.waitingSince)): \(waiting)")
    }
    print(
      "  last run: \(view.lastRunAt.map { "\(time($0)) \(IntegrationStatus.lastRunText(result: view.lastRunResult, batch: view.lastBatch))" } ?? "none yet")"
    )
    print(
      "  next run: \(view.nextRunAt.map { time($0) } ?? "not scheduled")\(view.retryAt.map { " (retry not before \(time($0)))" } ?? "")"
    )
    print("  window: \(view.window)")
    if let running = view.runningSince {
      print(
        "  a run started at \(time(running)) and has not finished (running, or killed: the next run resumes)"
      )
    }
    if !changes.isEmpty {
      print("  recent changes:")
      for change in changes {
        print(
          "    \(time(change.at)) \(change.from ?? "(none)") → \(change.to): \(change.reason)")
      }
    }
  }

  static func printTardyFeed(_ status: TardyFeedStatus, _ time: LocalTime) {
    if let run = status.lastRun {
      let when = time(run.at.ISO8601Format())
      if run.outcome == "failed" {
        print(
          "tardy feed: last run at \(when) FAILED (exit \(run.exitStatus)): \(run.error ?? "?")")
      } else {
        print(
          "tardy feed: last run \(run.run ?? "?") at \(when): \(TardyFeedStatus.counts(run)) (exit 0)"
        )
        if run.errors > 0 { print("  in error: \(run.folder ?? "?")/errors.csv") }
        if run.anotherCode > 0 {
          print(
            "  for a day already sent with another code (change it in the SIS by hand): \(run.folder ?? "?")/\(TardyFeed.anotherCodeFileName)"
          )
        }
      }
    }
    if let checked = status.lastCheckedAt {
      print("  tardy feed last checked the inbox: \(time(checked.ISO8601Format()))")
    }
    if let waiting = status.waitingFor, let since = status.waitingSince {
      print(
        "  tardy feed waiting since \(time(since.ISO8601Format())): \(waiting)"
          + (status.waitingNotified == true ? " (notified)" : ""))
    }
  }

  static func printWaiting(_ waiting: Waiting) {
    guard waiting.submissions > 0 else { return }
    print(
      "waiting for a person: \(waiting.submissions) submission(s) — \(waiting.potentialMatches) with a potential match, "
        + "\(waiting.updatesToReview) with an update to review, \(waiting.inError) in error; the oldest \(waiting.oldestNights) night(s) (`sisdrop review`)"
    )
  }

  static func printConfirmation(_ confirmation: ConfirmationView) {
    let confirmed = confirmation.counts
    guard confirmed.delivered + confirmed.confirmed + confirmed.unconfirmed > 0 else { return }
    print(
      "SIS confirmation: \(confirmed.confirmed) delivered record(s) confirmed, \(confirmed.delivered) awaiting an SIS export, "
        + "\(confirmed.unconfirmed) unconfirmed"
        + (confirmed.redeliveryRequested > 0
          ? "; \(confirmed.redeliveryRequested) submission(s) to send again at the next run"
          : ""))
    for item in confirmation.items {
      print(
        "  UNCONFIRMED \(item.submissionID) \(item.label), sent by \(item.delivery)\(item.deliveries > 1 ? " (sent \(item.deliveries) times)" : ""): "
          + (item.missing ?? "not seen in the SIS")
          + (item.importMessage.map { $0.isEmpty ? "" : " — the SIS import says: \($0)" } ?? "")
      )
    }
    for id in Array(Set(confirmation.items.map(\.submissionID))).sorted() {
      print(
        "    \(id): `sisdrop redeliver \(id)` sends it again, `sisdrop confirm \(id) --reason TEXT` closes it by hand"
      )
    }
  }

  static func printBatch(_ status: BatchStatus, _ time: LocalTime) {
    print(
      "batch \(status.batch): \(status.state) (selection \(status.selection); opened \(time(status.openedAt))\(status.closedAt.map { "; closed \(time($0))" } ?? ""))"
    )
    for stage in Stage.allCases {
      let shown = status.stages[stage.rawValue]
      let detail = shown?.detail.map {
        shown?.state == .failed && !$0.hasPrefix("failed") ? "failed: " + $0 : $0
      }
      print("  \(stage.rawValue): \(detail ?? shown?.state.rawValue ?? "")")
    }
    if !status.rejected.isEmpty {
      print(
        "  input not used: "
          + status.rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
            separator: ", "))
    }
  }
}
