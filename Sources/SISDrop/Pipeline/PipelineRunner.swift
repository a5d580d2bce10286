import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore

/// Runs the stages in order for cron: continues the open batch, or opens a new one from the inbox.
package enum PipelineRunner {
  /// The stage functions, by stage: the one place that ties a stage name to its work.
  package static func body(of stage: Stage) -> (StageContext) throws -> Void {
    switch stage {
    case .parse: return ParseStage.run
    case .normalize: return NormalizeStage.run
    case .match: return MatchStage.run
    case .deliver: return DeliverStage.run
    }
  }

  /// Runs one stage of a batch by hand (`sisdrop-parse --batch ID`, ...).
  @discardableResult
  package static func runStage(
    _ stage: Stage, workdir: WorkDir, batchID: String?, log: @escaping (String) -> Void
  ) throws -> StageReport {
    let batch = try workdir.batch(batchID)
    return try withProgress(stage, workdir: workdir, batch: batch, log: log)
  }

  /// Runs a stage with its progress shown (records, rate, time left): on a terminal, or as a log line.
  @discardableResult
  /// - Parameter reports: the stage writes the batch report when it changes what the page shows
  ///   (deliver); false when the caller writes it once at its end (`run`).
  static func withProgress(
    _ stage: Stage, workdir: WorkDir, batch: BatchRecord, reports: Bool = true,
    log: @escaping (String) -> Void
  ) throws -> StageReport {
    let inputs =
      stage.previous.map { [workdir.stageFolder(batch.id, $0)] } ?? [
        workdir.batchFolder(batch.id) + "/input"
      ]
    let progress = StageProgress(
      stage: stage.rawValue,
      inputBytes: StageProgress.inputSize(
        stage == .normalize ? inputs + [workdir.batchFolder(batch.id) + "/input"] : inputs),
      log: log)
    defer { progress.stop() }
    let body = body(of: stage)
    let report = try StageRunner.run(stage, workdir: workdir, batch: batch, log: log) { context in
      context.writesReport = reports
      try body(context)
    }
    progress.finish()
    return report
  }

  /// What a run did, for the operator and for `--json`.
  package struct Summary: Sendable, Codable {
    package var batch: String
    package var opened: Bool
    package var stagesRun: [String]
    package var closed: Bool
    package var counts: [String: Int]
    package var outbox: String
    package var deliverFolder: String
    /// Students awaiting a person's decision: submission, seq, candidates.
    package var review: [[String]]
    package var errors: [[String]]
    /// Updates held for a person by the `updates:` policy: submission, schema, seq, SIS id, field.
    package var heldUpdates: [[String]] = []
    /// Delivered records this run found unconfirmed (the SIS import's results file, SIS exports without them).
    package var newlyUnconfirmed = 0
    /// Delivered records the SIS export this batch claimed confirmed.
    package var confirmed = 0
    /// False for a batch that claimed the SIS export alone: it refreshed the snapshot and confirmed, delivering nothing.
    package var enrollmentExport = true
  }

  /// Runs the pipeline: returns nil when there is nothing to do (no open batch, nothing new in the inbox).
  ///
  /// - Parameters:
  ///   - answersTaken: called with what the answer files in the inbox came to (recorded, refused),
  ///     also on a night with nothing else new: a refused file must reach people (`NightlyRun`).
  ///   - willStart: called once there is work, before anything is claimed or run.
  /// - Throws: `SISDropError` 75 while a feed file is still arriving (nothing claimed), or a stage's error.
  package static func run(
    workdir: WorkDir, pipelinePath: String?, log: @escaping (String) -> Void,
    answersTaken: (AnswerFeed.Result) throws -> Void = { _ in },
    willStart: () throws -> Void = {}
  ) throws -> Summary? {
    var opened = false
    var batch: BatchRecord
    let open = try workdir.state.openBatch()
    // Answer files first (resolutions, overrides, accepts, corrections): a feed of their own, taken
    // before any stage so that this run applies them. No stage reads the inbox.
    let answerConfig =
      try open.map { try workdir.config(for: $0) }
      ?? pipelinePath.map { try PipelineConfig.load(path: $0) }
    var answers = AnswerFeed.Result()
    var importFailures = 0
    if let answerConfig, FileSystem.isDirectory(workdir.inbox(answerConfig)) {
      answers = try AnswerFeed.take(workdir: workdir, config: answerConfig, log: log)
      try answersTaken(answers)
      // The SIS import's results file: its failures are unconfirmed at once.
      importFailures =
        try Confirmation.takeResults(workdir: workdir, config: answerConfig, log: log)?.failed ?? 0
    }
    if let open {
      try willStart()
      batch = open
      log("continuing open batch \(open.id)")
    } else {
      guard let pipelinePath else {
        throw SISDropError(
          .usage, "no batch is open and no pipeline was named", hint: "pass --pipeline FILE")
      }
      let config = try PipelineConfig.load(path: pipelinePath)
      let inbox = Inbox(path: workdir.inbox(config), config: config)
      let listing = try inbox.list(state: workdir.state)
      for name in listing.refused {
        let what = Inbox.FileState.of(inbox.path + "/" + name)?.refusal ?? "not a regular file"
        log(
          "warning: \(name) in the inbox is \(what): never followed, never read, never claimed; remove it"
        )
      }
      if !listing.refusedDocuments.isEmpty {
        // A count: the paths are the sender's file names.
        log(
          "warning: \(listing.refusedDocuments.count) entries of the inbox's documents folder are not uploaded files (links, pipes, folders or files outside a submission's folder): never followed, read or claimed; the errors of their submissions name them"
        )
      }
      try listing.requireComplete(inbox: inbox.path)
      if let folder = try inbox.setAside(
        listing.duplicates.map(\.name), archive: workdir.archive(config))
      {
        let batches = Set(listing.duplicates.map(\.batch)).sorted().joined(separator: ", ")
        let files = listing.duplicates.map(\.name).filter { !$0.contains("/") }
        let documents = listing.duplicates.count - files.count
        log(
          "identical re-upload of \(files.joined(separator: ", "))\(documents > 0 ? " and \(documents) documents" : "") (as claimed by \(batches)): set aside in \(folder)"
        )
      }
      // A night the SIS exported and the enrollment system did not: the SIS export is claimed
      // alone (a delta left in the inbox would be overwritten by the next one, and the export is
      // what confirms the earlier deliveries); the batch delivers nothing.
      let sisExportAlone =
        !listing.claimable.contains(inbox.submissionsFileName)
        && listing.claimable.contains(where: inbox.isSISExportFile)
      guard listing.claimable.contains(inbox.submissionsFileName) || sisExportAlone else {
        if answers.total > 0 {
          log(
            "\(answers.total) answers recorded for \(answers.submissions.count) submissions: they apply when the enrollment export next brings them"
          )
        }
        try Confirmation.sendRequested(workdir: workdir, log: log)
        log("nothing new in the inbox (\(inbox.path))")
        return nil
      }
      try willStart()
      let result = try BatchLifecycle.open(
        workdir: workdir, pipelinePath: pipelinePath, selection: .all,
        sisExportAlone: sisExportAlone)
      let documents = result.claimed.filter { $0.path.dropFirst("input/".count).contains("/") }
        .count
      log(
        "opened batch \(result.batch): claimed \(result.claimed.count - documents) files"
          + (documents > 0 ? " and \(documents) uploaded documents" : "")
          + (sisExportAlone
            ? " of the SIS export alone (no enrollment export): it refreshes the snapshot and confirms earlier deliveries, delivers nothing"
            : ""))
      batch = try workdir.batch(result.batch)
      opened = true
    }
    // Answers about the open batch's submissions: its match is redone so that they count tonight.
    if !opened, answers.touchesOpenBatch,
      StageRunner.problem(with: .match, workdir: workdir, batch: batch.id) == nil
    {
      try withProgress(.match, workdir: workdir, batch: batch, log: log)
    }
    var ran: [String] = []
    var summary: Summary
    // The batch report is written once a run, at its end: by close when the batch closes, else
    // here. The stages leave it to the run (`reports: false`): written after deliver, again here and
    // again in close, it was about a quarter of a 20,000-submission night's CPU.
    do {
      for stage in Stage.allCases
      where StageRunner.problem(with: stage, workdir: workdir, batch: batch.id) != nil {
        try withProgress(stage, workdir: workdir, batch: batch, reports: false, log: log)
        ran.append(stage.rawValue)
      }
      // again in close; here for auto_close false
      try completePublication(workdir: workdir, batch: batch)
      let config = try workdir.config(for: batch)
      // A publication a crash interrupted after deliver's folder was in place is finished now.
      try Publication.finish(workdir, batch: batch.id, outbox: workdir.outbox(config))
      // So is a re-delivery the deliver stage owed (written, or never begun) when the run was killed.
      try Redelivery.finishOwed(workdir, batch: batch, log: log)
      // A batch of the SIS export alone has nothing for a person to look at: closed even without auto_close.
      let closes =
        config.autoClose
        || !BatchLifecycle.claimedEnrollmentExport(workdir, batch: batch.id, config: config)
      // The report, also when a run resumes a batch whose deliver stage finished earlier.
      if !closes { BatchReport.refresh(workdir: workdir, batch: batch, log: log) }
      // The SIS export this batch claimed confirms what earlier deliveries sent.
      let checked = try Confirmation.check(workdir: workdir, batch: batch, config: config, log: log)
      summary = try summarize(workdir: workdir, batch: batch, opened: opened, ran: ran)
      summary.newlyUnconfirmed = importFailures + (checked?.newlyUnconfirmed ?? 0)
      summary.confirmed = checked?.confirmed ?? 0
      if closes {
        _ = try BatchLifecycle.close(workdir: workdir, batch: batch, log: log)
        summary.closed = true
        log("closed batch \(batch.id)")
      }
    } catch {
      // Refused input, or a run that failed after a stage wrote what the page shows, is shown in the
      // batch report too, not only in the log and the notification; as the batch stands now.
      BatchReport.refresh(
        workdir: workdir, batch: (try? workdir.batch(batch.id)) ?? batch, log: log)
      throw error
    }
    // Re-deliveries people asked for (`sisdrop redeliver`): after the check, so the next export is asked about them.
    try Confirmation.sendRequested(workdir: workdir, log: log)
    return summary
  }

  /// Redoes the steps that follow a stage folder's rename when a killed run did not reach their end:
  /// the snapshot's registration (normalize) and the delivery's copy into the outbox (deliver).
  ///
  /// The stage run of the published attempt is marked succeeded only after those steps, so a run
  /// row still `running` for a published folder says exactly that they may be unfinished; once
  /// redone it is marked succeeded, and a delivery the SIS may already have taken from the outbox is
  /// never sent again. Found by the SIGKILL tests (PipelineTests/Operations/CrashTests).
  static func completePublication(workdir: WorkDir, batch: BatchRecord) throws {
    let runs = try workdir.state.stageRuns(batch: batch.id)
    for stage in [Stage.normalize, .deliver] {
      let folder = workdir.stageFolder(batch.id, stage)
      guard StageRunner.problem(with: stage, workdir: workdir, batch: batch.id) == nil,
        let report = try? StageReport.load(folder),
        let run = runs.first(where: { $0.stage == stage.rawValue && $0.attempt == report.attempt }),
        run.status != "succeeded"
      else { continue }
      switch stage {
      case .normalize:
        if let reference = try SnapshotReference.read(folder: folder),
          reference.builtBy == batch.id
        {
          try workdir.state.registerSnapshot(
            batch: batch.id, path: reference.path, sha256: reference.sha256,
            students: reference.summary.students,
            contacts: reference.summary.contacts, at: Clock.now())
        }
      case .deliver:
        try StableIDs.record(folder: folder, batch: batch.id, state: workdir.state)
        _ = try Publisher.publish(
          batch: batch.id, deliverFolder: folder,
          outbox: workdir.outbox(try workdir.config(for: batch)))
      case .parse, .match:
        break
      }
      try workdir.state.finishStageRun(
        batch: batch.id, stage: stage.rawValue, attempt: report.attempt, succeeded: true,
        exitCode: 0,
        message: "finished after an interrupted run", finishedAt: Clock.now())
    }
  }

  package static func summarize(workdir: WorkDir, batch: BatchRecord, opened: Bool, ran: [String])
    throws -> Summary
  {
    let config = try workdir.config(for: batch)
    var counts: [String: Int] = [:]
    for stage in Stage.allCases {
      if let report = try? StageReport.load(workdir.stageFolder(batch.id, stage)) {
        for (key, value) in report.counts { counts["\(stage.rawValue).\(key)"] = value }
      }
    }
    let deliver = workdir.stageFolder(batch.id, .deliver)
    // What went out after the batch was published (answers given while it stayed open): the deliver
    // stage's own counts are those of the publication it reproduces.
    let redeliveries = (try? Redelivery.all(workdir, batch: batch.id)) ?? []
    if !redeliveries.isEmpty {
      counts["redeliver.deliveries"] = redeliveries.count
      counts["redeliver.submissions"] = redeliveries.reduce(0) {
        $0 + ((try? BatchLifecycle.readTable($1.folder + "/delivered.csv"))?.count ?? 0)
      }
    }
    let review =
      (try? BatchLifecycle.readTable(workdir.stageFolder(batch.id, .match) + "/review.csv")) ?? []
    let errors = (try? BatchLifecycle.readTable(deliver + "/errors.csv")) ?? []
    let held =
      (try? BatchLifecycle.readTable(workdir.stageFolder(batch.id, .match) + "/held_updates.csv"))
      ?? []
    var summary = Summary(
      batch: batch.id, opened: opened, stagesRun: ran, closed: false, counts: counts,
      outbox: workdir.outbox(config),
      deliverFolder: deliver, review: review.map { [$0[0], $0[1], $0[3]] }, errors: errors)
    summary.heldUpdates = held.map { Array($0.prefix(5)) }
    summary.enrollmentExport = BatchLifecycle.claimedEnrollmentExport(
      workdir, batch: batch.id, config: config)
    return summary
  }
}

/// The built-in demo: the demo district's files dropped into a fresh inbox, the whole pipeline run.
package enum Demo {
  /// Copies the demo district's SIS export and enrollment export (CSV, or XML) into the inbox.
  package static func stage(fixtures: String, workdir: WorkDir, config: PipelineConfig, xml: Bool)
    throws
  {
    let inbox = workdir.inbox(config)
    try FileSystem.makeDirectory(inbox)
    try FileSystem.makeDirectory(workdir.outbox(config))
    let enrollment = fixtures + (xml ? "/enrollment-xml" : "/enrollment-csv")
    for folder in [fixtures + "/sis", enrollment] {
      guard FileSystem.isDirectory(folder) else {
        throw SISDropError.missingInput(
          folder, hint: "run the demo from a sisdrop checkout, or pass --fixtures")
      }
      // The uploaded documents too: documents/<Submission_ID>/<File_Name>.
      for name in try DocumentFiles.files(below: folder)
      where !FileSystem.exists(inbox + "/" + name) {
        if name.contains("/") {
          try FileSystem.makeDirectory(inbox + "/" + (name as NSString).deletingLastPathComponent)
        }
        try FileSystem.copyFile(folder + "/" + name, to: inbox + "/" + name)
      }
    }
  }
}
