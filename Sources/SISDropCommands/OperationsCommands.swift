import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#endif
import SISDrop

public struct RunCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run the pipeline for cron: continue the open batch, or open one from the inbox.",
    discussion: """
      Safe to call from cron every few minutes: takes the working directory's lock, follows the
      integration status and the run window (schedule: in the pipeline), claims only completely
      uploaded feeds, and writes timestamped log lines to stderr when it is not on a terminal.

      Exits 0 doing nothing when no batch is open and nothing new is in the inbox, outside the
      window, or while waiting to retry; 75 when another sisdrop holds the working directory or a
      feed file is still arriving (cron retries); 65/66/73/78 when the run failed (notified): 65
      also when a feed file in the inbox is a symbolic or hard link, a FIFO or a device (refused
      by name, never opened), 78 when a delivery file cannot carry the records it creates.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file (pipelines/*.yaml).") var pipeline: String
  @Option(help: "Seconds to wait for another sisdrop process to finish before exiting 75.") var wait: Double = 0
  @Flag(help: "Run now, even outside the run window or before the retry time (an operator's manual run).")
  var ignoreWindow = false
  public init() {}

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

  public func run() throws {
    let config = try guarded { try PipelineConfig.load(path: pipeline) }
    try withLockedWorkDir(workDir.path(for: config), create: true, wait: wait) { workdir in
      let outcome = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, force: ignoreWindow, log: logger(quiet: workDir.json))
      if workDir.json {
        let machine = IntegrationMachine(schedule: config.operations.schedule)
        try printJSON(Output(batch: outcome.summary?.batch, integration: IntegrationView(outcome.status, machine: machine, now: Date()),
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
    window = machine.map { $0.schedule.window?.description ?? "any time (no schedule section)" } ?? "unknown (pass --pipeline)"
    runningSince = status.runningSince?.ISO8601Format()
    warning = status.warning
    waitingFor = status.waitingFor
    waitingSince = status.waitingSince?.ISO8601Format()
  }
}

public struct StatusCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Show the integration status and the batches with their stages.",
    discussion: """
      The integration status (Disabled, Pending Initialization, Initializing, Reinitializing,
      Synchronizing, Reinitialization Scheduled, Initialization Scheduled), since when and why, the
      last and next run; then every batch and its stages (done, stale or failed), and the input
      it could not use ("input not used": SIS rows left out, values missing for matching,
      rejected submissions, duplicate rows; counts only).
      The next run needs the pipeline's schedule: --pipeline, else the newest batch's pipeline.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file, for the run window (default: the newest batch's).") var pipeline: String?
  @Option(help: "How many status changes to show.") var history = 5
  public init() {}

  struct BatchStatus: Encodable {
    var batch: String
    var state: String
    var selection: String
    var openedAt: String
    var closedAt: String?
    var stages: [String: String]
    /// Input read but not used, by stage count (SIS rows left out, values missing, rejected
    /// submissions, duplicate rows): never only in a stage file.
    var rejected: [String: Int]
  }

  struct Output: Encodable {
    var integration: IntegrationView?
    var changes: [IntegrationEventRecord]
    var batches: [BatchStatus]
  }

  public func run() throws {
    try guarded {
      // Looking must not create: a mistyped --workdir is an error, not a new empty working directory.
      let workdir = try readOnlyWorkDir(workDir.path)
      let batches = try workdir.state.allBatches()
      let statuses = batches.map { batch in
        var stages: [String: String] = [:]
        for stage in Stage.allCases {
          stages[stage.rawValue] = StageRunner.problem(with: stage, workdir: workdir, batch: batch.id).map { $0 } ?? "done"
        }
        var rejected: [String: Int] = [:]
        for (stage, key) in [(Stage.parse, "rejected_submissions"), (.parse, "duplicate_rows"), (.normalize, "sis_rejected_rows"),
                             (.normalize, "sis_missing_values"), (.normalize, "rejected_submissions")] {
          if let value = (try? StageReport.load(workdir.stageFolder(batch.id, stage)))?.counts[key], value > 0 {
            rejected["\(stage.rawValue).\(key)"] = value
          }
        }
        return BatchStatus(batch: batch.id, state: batch.state.rawValue, selection: batch.selection.description,
                           openedAt: batch.openedAt, closedAt: batch.closedAt, stages: stages, rejected: rejected)
      }
      let path = pipeline ?? batches.last?.pipelinePath
      let config = path.flatMap { try? PipelineConfig.load(path: $0) }
      let machine = config.map { IntegrationMachine(schedule: $0.operations.schedule) }
      let integration = try workdir.state.integrationStatus().map { IntegrationView($0, machine: machine, now: Date()) }
      let changes = Array(try workdir.state.integrationEvents().suffix(max(0, history)))
      if workDir.json {
        try printJSON(Output(integration: integration, changes: changes, batches: statuses))
        return
      }
      if let view = integration {
        print("integration: \(view.state) since \(view.since)")
        print("  why: \(view.reason)")
        if let warning = view.warning { print("  WARNING: \(warning)") }
        if let waiting = view.waitingFor { print("  waiting since \(view.waitingSince ?? "?"): \(waiting)") }
        print("  last run: \(view.lastRunAt.map { "\($0) (\(view.lastRunResult ?? "?")\(view.lastBatch.map { ", batch \($0)" } ?? ""))" } ?? "none yet")")
        print("  next run: \(view.nextRunAt ?? "not scheduled")\(view.retryAt.map { " (retry not before \($0))" } ?? "")")
        print("  window: \(view.window)")
        if let running = view.runningSince { print("  a run started at \(running) and has not finished (running, or killed: the next run resumes)") }
        if !changes.isEmpty {
          print("  recent changes:")
          for change in changes { print("    \(change.at) \(change.from ?? "(none)") → \(change.to): \(change.reason)") }
        }
      } else {
        print("integration: no run yet (`sisdrop run --pipeline FILE` sets it up)")
      }
      if statuses.isEmpty { print("no batches yet") }
      for status in statuses {
        print("batch \(status.batch): \(status.state) (selection \(status.selection); opened \(status.openedAt)\(status.closedAt.map { "; closed \($0)" } ?? ""))")
        for stage in Stage.allCases { print("  \(stage.rawValue): \(status.stages[stage.rawValue] ?? "")") }
        if !status.rejected.isEmpty {
          print("  input not used: " + status.rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
      }
    }
  }
}
