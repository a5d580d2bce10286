import Foundation

/// Runs the stages in order for cron: continues the open batch, or opens a new one from the inbox.
public enum PipelineRunner {
  /// The stage functions, by stage: the one place that ties a stage name to its work.
  public static func body(of stage: Stage) -> (StageContext) throws -> Void {
    switch stage {
    case .parse: return ParseStage.run
    case .normalize: return NormalizeStage.run
    case .match: return MatchStage.run
    case .deliver: return DeliverStage.run
    }
  }

  /// Runs one stage of a batch by hand (`sisdrop-parse --batch ID`, ...).
  @discardableResult
  public static func runStage(_ stage: Stage, workdir: WorkDir, batchID: String?, log: @escaping (String) -> Void) throws -> StageReport {
    let batch = try workdir.batch(batchID)
    return try StageRunner.run(stage, workdir: workdir, batch: batch, log: log, body(of: stage))
  }

  /// What a run did, for the operator and for `--json`.
  public struct Summary: Sendable, Codable {
    public var batch: String
    public var opened: Bool
    public var stagesRun: [String]
    public var closed: Bool
    public var counts: [String: Int]
    public var outbox: String
    public var deliverFolder: String
    /// Students awaiting a person's decision: submission, seq, candidates.
    public var review: [[String]]
    public var errors: [[String]]
  }

  /// Runs the pipeline: returns nil when there is nothing to do (no open batch, nothing new in the inbox).
  public static func run(workdir: WorkDir, pipelinePath: String?, log: @escaping (String) -> Void) throws -> Summary? {
    var opened = false
    var batch: BatchRecord
    if let open = try workdir.state.openBatch() {
      batch = open
      log("continuing open batch \(open.id)")
    } else {
      guard let pipelinePath else {
        throw SISDropError(.usage, "no batch is open and no pipeline was named", hint: "pass --pipeline FILE")
      }
      let config = try PipelineConfig.load(path: pipelinePath)
      let inbox = Inbox(path: workdir.inbox(config), config: config)
      guard try inbox.list().claimable.contains(inbox.submissionsFileName) else {
        log("nothing new in the inbox (\(inbox.path))")
        return nil
      }
      let result = try BatchLifecycle.open(workdir: workdir, pipelinePath: pipelinePath, selection: .all)
      log("opened batch \(result.batch): claimed \(result.claimed.count) files")
      batch = try workdir.batch(result.batch)
      opened = true
    }
    // corrections.csv in the inbox: recorded before deliver applies corrections. A bad file stays
    // in the inbox, named in the log; it never stops the night's delivery.
    do {
      try Corrections.importInbox(workdir: workdir, config: try workdir.config(for: batch))
    } catch let error as SISDropError where [.dataError, .usage, .noInput].contains(error.status) {
      log("\(Corrections.inboxFileName) not taken, left in the inbox: \(error)")
    }
    var ran: [String] = []
    for stage in Stage.allCases where StageRunner.problem(with: stage, workdir: workdir, batch: batch.id) != nil {
      try StageRunner.run(stage, workdir: workdir, batch: batch, log: log, body(of: stage))
      ran.append(stage.rawValue)
    }
    let config = try workdir.config(for: batch)
    // A publication a crash interrupted after deliver's folder was in place is finished now.
    try Publication.finish(workdir, batch: batch.id, outbox: workdir.outbox(config))
    // The report, also when a run resumes a batch whose deliver stage finished earlier.
    do { try BatchReport.write(workdir: workdir, batch: batch) } catch { log("report.html not written: \(error)") }
    var summary = try summarize(workdir: workdir, batch: batch, opened: opened, ran: ran)
    if config.autoClose {
      _ = try BatchLifecycle.close(workdir: workdir, batch: batch)
      summary.closed = true
      log("closed batch \(batch.id)")
    }
    return summary
  }

  public static func summarize(workdir: WorkDir, batch: BatchRecord, opened: Bool, ran: [String]) throws -> Summary {
    let config = try workdir.config(for: batch)
    var counts: [String: Int] = [:]
    for stage in Stage.allCases {
      if let report = try? StageReport.load(workdir.stageFolder(batch.id, stage)) {
        for (key, value) in report.counts { counts["\(stage.rawValue).\(key)"] = value }
      }
    }
    let deliver = workdir.stageFolder(batch.id, .deliver)
    let review = (try? BatchLifecycle.readTable(workdir.stageFolder(batch.id, .match) + "/review.csv")) ?? []
    let errors = (try? BatchLifecycle.readTable(deliver + "/errors.csv")) ?? []
    return Summary(batch: batch.id, opened: opened, stagesRun: ran, closed: false, counts: counts, outbox: workdir.outbox(config),
                   deliverFolder: deliver, review: review.map { [$0[0], $0[1], $0[3]] }, errors: errors)
  }
}

/// The built-in demo: the demo district's files dropped into a fresh inbox, the whole pipeline run.
public enum Demo {
  /// Copies the demo district's SIS export and enrollment export (CSV, or XML) into the inbox.
  public static func stage(fixtures: String, workdir: WorkDir, config: PipelineConfig, xml: Bool) throws {
    let inbox = workdir.inbox(config)
    try FileSystem.makeDirectory(inbox)
    try FileSystem.makeDirectory(workdir.outbox(config))
    let enrollment = fixtures + (xml ? "/enrollment-xml" : "/enrollment-csv")
    for folder in [fixtures + "/sis", enrollment] {
      guard FileSystem.isDirectory(folder) else {
        throw SISDropError.missingInput(folder, hint: "run the demo from a sisdrop checkout, or pass --fixtures")
      }
      for name in try FileSystem.listDirectory(folder) where !FileSystem.exists(inbox + "/" + name) {
        try FileSystem.copyFile(folder + "/" + name, to: inbox + "/" + name)
      }
    }
  }
}
