import Foundation
import SISDropConfig
import SISDropCore

/// One cron run (`sisdrop run`): the integration status decides whether to run, the pipeline runs,
/// the status follows what really happened, and people hear about changes, failures and review queues.
///
/// Called with the working directory's lock held.
package enum NightlyRun {
  package struct Outcome: Sendable {
    package var status: IntegrationStatus
    /// Nil when nothing ran (nothing new, outside the window, waiting to retry, disabled).
    package var summary: PipelineRunner.Summary?
    /// Why nothing ran, when nothing did.
    package var waiting: String?
  }

  /// - Parameters:
  ///   - force: run even outside the window or before the retry time (an operator's manual run).
  ///   - now: the clock (tests pass a fixed one).
  /// - Throws: the run's error, after the status and notifications have recorded it; 75 (still
  ///   arriving, busy) changes nothing.
  package static func run(
    workdir: WorkDir, pipelinePath: String, force: Bool = false,
    now: @escaping () -> Date = Date.init,
    log: @escaping (String) -> Void
  ) throws -> Outcome {
    let config: PipelineConfig
    do {
      config = try PipelineConfig.load(path: pipelinePath)
    } catch {
      try recordUnreadablePipeline(
        error, workdir: workdir, pipelinePath: pipelinePath, now: now(), log: log)
      throw error
    }
    let night = try Night(workdir: workdir, config: config, now: now, log: log)
    // The same checks as `sisdrop check`; a run with problems fails below, before it claims anything.
    let check = PipelineCheck.environment(config, workdir: workdir.root)
    for warning in check.warnings { log("warning: \(warning)") }
    try night.recordNotificationAddresses()
    try night.recordWriterBlindness()
    try night.notifyWindowClosedWhileArriving()
    if let running = night.status.runningSince {
      log(
        "the run that started at \(running.ISO8601Format()) was interrupted; this run finishes its work"
      )
    }
    defer { night.sendNotifications(sendmailProblem: check.sendmailProblem) }

    if case .wait(_, let reason) = night.machine.decide(night.status, now: now()),
      !(force && night.status.state != .disabled)
    {
      log("not running: \(reason)")
      return Outcome(status: night.status, summary: nil, waiting: reason)
    }
    do {
      try check.requireRunnable()
      return try night.runPipeline(pipelinePath: pipelinePath)
    } catch {
      try night.recordFailure(error)
      throw error
    }
  }

  /// One run's integration status as it advances, and the notices it queues: combined into one
  /// message at the end (at most one message per run).
  final class Night {
    let workdir: WorkDir
    let config: PipelineConfig
    let machine: IntegrationMachine
    let notifier: Notifier
    let district: String
    let now: () -> Date
    let log: (String) -> Void
    var status: IntegrationStatus
    /// Every notice this run queues.
    var queuedThisRun: [(id: String, notice: Notification)] = []

    init(
      workdir: WorkDir, config: PipelineConfig, now: @escaping () -> Date,
      log: @escaping (String) -> Void
    ) throws {
      self.workdir = workdir
      self.config = config
      self.machine = IntegrationMachine(schedule: config.operations.schedule)
      self.notifier = Notifier(workdir: workdir, config: config, log: log)
      self.district = config.districtName
      self.now = now
      self.log = log
      // Replaced at once by the stored status, configured and ticked.
      status = IntegrationStatus(state: .disabled, since: .distantPast, reason: "not read yet")
      let stored = try workdir.state.integrationStatus()
      status = try advance(
        stored, [.configured(enabled: config.operations.schedule.enabled), .tick])
    }

    func prepared(_ notices: [Notification], _ time: Date) -> [PendingNotification] {
      notices.map { notice in
        let pending = notifier.prepare(notice, now: time)
        queuedThisRun.append((pending.id, notice))
        return pending
      }
    }

    /// Applies events and saves the status, queueing a status-change notification when the state changed.
    func advance(
      _ status: IntegrationStatus?, _ events: [IntegrationMachine.Event], extra: [Notification] = []
    ) throws -> IntegrationStatus {
      let time = now()
      var next = status ?? machine.initial(enabled: config.operations.schedule.enabled, now: time)
      for event in events { next = machine.apply(event, to: next, now: time) }
      var notes = extra
      if next.state != status?.state {
        log(
          "integration status: \(status?.state.rawValue ?? "(none)") → \(next.state.rawValue): \(next.reason)"
        )
        notes.insert(
          .statusChange(
            district: district, from: status, to: next, next: machine.nextRun(next, now: time),
            workdir: workdir.root), at: 0)
      }
      if next != status || !notes.isEmpty {
        try workdir.state.saveIntegrationStatus(
          next, previous: status, notifications: prepared(notes, time), now: time)
      }
      return next
    }

    /// Saves a change of the status that queues no notification.
    func save(_ change: (inout IntegrationStatus) -> Void) throws {
      var next = status
      change(&next)
      try workdir.state.saveIntegrationStatus(next, previous: status, notifications: [], now: now())
      status = next
    }

    /// Who to tell when a later run cannot read the pipeline file.
    func recordNotificationAddresses() throws {
      let addresses = IntegrationStatus.NotificationAddresses(config)
      if status.lastGoodNotifications != addresses {
        try save { $0.lastGoodNotifications = addresses }
      }
    }

    /// The writer check must not pass silently when it cannot see other users' processes.
    func recordWriterBlindness() throws {
      let blind = config.operations.pickup.checkWriters ? OpenWriters.blindness() : nil
      if let blind { log("warning: \(blind)") }
      if status.warning != blind { try save { $0.warning = blind } }
    }

    /// The window closed while a file was still arriving: tell people once, naming the file.
    func notifyWindowClosedWhileArriving() throws {
      guard let waiting = status.waitingFor, status.waitingNotified != true,
        let since = status.waitingSince,
        let window = config.operations.schedule.window,
        let opened = window.interval(containing: since), now() >= opened.end
      else { return }
      var next = status
      next.waitingNotified = true
      let notice = Notification.stillArriving(
        district: district, waiting: waiting, since: since, windowClosed: opened.end,
        workdir: workdir.root)
      try workdir.state.saveIntegrationStatus(
        next, previous: status, notifications: prepared([notice], now()), now: now())
      status = next
      log("warning: the run window closed while \(Notification.mask(waiting)); notified")
    }

    /// The notices of this run combined into one, then everything queued sent.
    func sendNotifications(sendmailProblem: SISDropError?) {
      if queuedThisRun.count > 1 {
        let one = notifier.prepare(
          Notification.combined(queuedThisRun.map(\.notice), district: district), now: now())
        do {
          try workdir.state.replaceUnsentNotifications(
            queuedThisRun.map(\.id), with: one, now: now())
        } catch {
          log("notifications not combined: \(error)")
        }
      }
      let outcome = notifier.deliverQueued(now: now())
      NightlyRun.recordNotificationOutcome(
        outcome, sendmailProblem: sendmailProblem, workdir: workdir, now: now(), log: log)
    }

    /// The review queue, told to people when it changed, and as a reminder when an item has waited
    /// `notifications.remind_after_days` since they were last told.
    func queueNotice(_ status: IntegrationStatus) throws -> (Notification?, IntegrationStatus) {
      let queue = try ReviewQueue.load(workdir: workdir, now: now())
      let digest = SHA256.hex(
        Array(
          queue.items.map {
            "\($0.submissionID)|\($0.kind.rawValue)|\($0.schema)|\($0.seq)|\($0.fields.joined(separator: ","))"
          }
          .sorted().joined(separator: "\n").utf8))
      var next = status
      let remindAfter = config.operations.notifications.remindAfterDays
      let changed = digest != (status.queueDigest ?? SHA256.hex(Array("".utf8)))
      let overdue = queue.items.contains { $0.ageNights >= remindAfter }
      let lastTold = status.queueNotifiedAt ?? .distantPast
      let remind =
        !changed && overdue && now().timeIntervalSince(lastTold) >= Double(remindAfter) * 86_400
      next.queueDigest = digest
      guard !queue.items.isEmpty, changed || remind else { return (nil, next) }
      next.queueNotifiedAt = now()
      return (
        .queue(
          district: district, queue: queue, reminder: remind, remindAfter: remindAfter,
          workdir: workdir.root), next
      )
    }

    /// Runs the pipeline and records what happened: the batch it finished, or nothing new.
    func runPipeline(pipelinePath: String) throws -> Outcome {
      let summary = try PipelineRunner.run(
        workdir: workdir, pipelinePath: pipelinePath, log: log,
        answersTaken: { try self.recordAnswerFiles($0) },
        willStart: { self.status = try self.advance(self.status, [.runStarted]) })
      guard let summary = try summary ?? interruptedRunsBatch() else {
        // Nothing new tonight, but the queue may have changed (answers) or waited long enough for a reminder.
        let (notice, told) = try queueNotice(status)
        if told != status { status = told }
        status = try advance(status, [.nothingNew], extra: notice.map { [$0] } ?? [])
        return Outcome(status: status, summary: nil, waiting: "nothing new in the inbox")
      }
      let (notice, told) = try queueNotice(status)
      status = told
      let extra = (notice.map { [$0] } ?? []) + (try batchNotices(summary))
      status = try advance(
        status, [.runSucceeded(batch: summary.batch, outcome: NightlyRun.outcome(summary))],
        extra: extra)
      return Outcome(status: status, summary: summary, waiting: nil)
    }

    /// Answer files refused whole are told at once (status and a notification), whatever the run
    /// does next: nothing new, a batch, or a failure. Taken without a refusal, the warning goes.
    func recordAnswerFiles(_ taken: AnswerFeed.Result) throws {
      guard !taken.recorded.isEmpty || !taken.refused.isEmpty else { return }
      guard let refusal = taken.refusal else {
        if status.answerFilesRefused != nil {
          try save {
            $0.answerFilesRefused = nil
            $0.answerFilesRefusedAt = nil
          }
        }
        return
      }
      try save {
        $0.answerFilesRefused = refusal
        $0.answerFilesRefusedAt = now()
      }
      status = try advance(
        status, [],
        extra: [
          Notification.answerFilesRefused(
            district: district, refusal: refusal, workdir: workdir.root)
        ])
    }

    /// A killed run may have closed its batch before it could record that: a closed batch the
    /// status does not know yet is that run's, and its success (and review queue) is recorded now.
    func interruptedRunsBatch() throws -> PipelineRunner.Summary? {
      guard status.runningSince != nil else { return nil }
      if let last = try workdir.state.allBatches().last, last.state == .closed,
        last.id != status.lastBatch
      {
        log("the interrupted run had closed batch \(last.id): recording it")
        var finished = try PipelineRunner.summarize(
          workdir: workdir, batch: last, opened: false, ran: [])
        finished.closed = true
        return finished
      }
      status = try advance(status, [.runAbandoned])
      return nil
    }

    /// What a finished batch tells people besides its review queue.
    func batchNotices(_ summary: PipelineRunner.Summary) throws -> [Notification] {
      var extra: [Notification] = []
      // Input the run could not use is told too, even with nobody to review (counts only).
      if let rejected = Notification.rejectedInput(summary.counts) {
        extra.append(
          Notification(
            kind: .review, subject: "[sisdrop] \(district): batch \(summary.batch), input not used",
            body: [
              rejected, "",
              "Details: the batch report (\(workdir.batchFolder(summary.batch))/report.html).",
            ]))
      }
      // Delivered records the SIS does not show: told the night they become unconfirmed.
      if summary.newlyUnconfirmed > 0 {
        extra.append(
          Notification.unconfirmed(
            district: district, items: try Confirmation.unconfirmed(workdir.state),
            workdir: workdir.root,
            confirmed: summary.confirmed, sisExportAlone: !summary.enrollmentExport))
      }
      return extra
    }

    /// A failed run, recorded in the status and notified; still arriving or busy is not a failure
    /// (cron retries): recorded (what, since when) and the state a started run changed is put back.
    func recordFailure(_ error: Error) throws {
      if error.exitStatus == .temporaryFailure {
        status = try advance(status, [.runWaiting(reason: Notification.mask("\(error)"))])
        return
      }
      let batch = try? workdir.state.openBatch()?.id
      let reason = Notification.mask("\(error)")
      // The same failure as the last run's (a refused claimed file is read again at every retry):
      // recorded and counted, but mailed once, as the tardy feed and an unreadable pipeline are;
      // the status keeps saying it, with the failures in a row. Another failure is mailed.
      let told = status.beforeRun?.reason ?? status.reason
      if status.lastRunResult == "failed", told.contains(reason) {
        log("the same failure as the last run (already notified): \(status.failures + 1) in a row")
        status = try advance(status, [.runFailed(reason: reason)])
        return
      }
      let failed = machine.apply(.runFailed(reason: reason), to: status, now: now())
      let notice = Notification.runFailed(
        district: district, error: error, batch: batch, status: failed,
        next: machine.nextRun(failed, now: now()), workdir: workdir.root)
      status = try advance(status, [.runFailed(reason: reason)], extra: [notice])
    }
  }

  /// What a finished batch did, as the status's why-line says it: a night that delivered nothing
  /// is not called "delivered" (its batch line says "nothing to deliver, nothing written to the
  /// outbox"). Counts only.
  package static func outcome(_ summary: PipelineRunner.Summary) -> String {
    let c = summary.counts
    guard summary.enrollmentExport else {
      return
        "batch \(summary.batch) claimed the SIS export alone (no enrollment export): \(summary.confirmed) delivered record(s) confirmed, nothing to deliver"
    }
    let delivered = c["deliver.delivered_submissions"] ?? 0
    let waiting =
      "\(c["deliver.held_submissions"] ?? 0) held for review, \(c["deliver.error_submissions"] ?? 0) in error"
    if c["deliver." + DeliverStage.publishedFilesCount] == 0 {
      return
        "batch \(summary.batch) delivered nothing: nothing to deliver, nothing written to the outbox (\(waiting))"
    }
    return "batch \(summary.batch) delivered \(delivered) submission(s) (\(waiting))"
  }

  /// A config for telling people that the pipeline file cannot be used: the district and the
  /// notification settings of the last run that could read it (defaults without one).
  package static func lastGoodNotifications(pipelinePath: String, stored: IntegrationStatus?)
    -> PipelineConfig
  {
    var config = PipelineConfig(path: pipelinePath, sha256: "")
    if let last = stored?.lastGoodNotifications {
      config.districtName = last.district
      config.operations.notifications.to = last.to
      config.operations.notifications.from = last.from
      config.operations.notifications.sendmail = last.sendmail
      config.operations.notifications.folder = last.folder
      if let zone = TimeZone(identifier: last.timeZone) { config.timeZone = zone }
    }
    return config
  }

  /// The pipeline file cannot be read (missing, not YAML, a bad key): the run fails like any other,
  /// recorded in the status and notified to the addresses of the last run that could read it.
  /// The same failure again (cron every few minutes) is not notified again.
  static func recordUnreadablePipeline(
    _ error: Error, workdir: WorkDir, pipelinePath: String, now: Date,
    log: @escaping (String) -> Void
  ) throws {
    let stored = try workdir.state.integrationStatus()
    let reason = "the pipeline file cannot be used: " + Notification.mask("\(error)")
    let machine = IntegrationMachine(schedule: ScheduleConfig())
    let base = stored ?? machine.initial(enabled: true, now: now)
    if stored?.lastRunResult == "failed", stored?.reason.hasSuffix(reason) == true {
      log("the pipeline file still cannot be used (already recorded and notified)")
      return
    }
    let failed = machine.apply(.runFailed(reason: reason), to: base, now: now)
    log(
      "integration status: \(stored?.state.rawValue ?? "(none)") → \(failed.state.rawValue): \(failed.reason)"
    )
    let config = lastGoodNotifications(pipelinePath: pipelinePath, stored: stored)
    let notifier = Notifier(workdir: workdir, config: config, log: log)
    var notes = [
      Notification.runFailed(
        district: config.districtName, error: error, batch: try? workdir.state.openBatch()?.id,
        status: failed, next: nil, workdir: workdir.root)
    ]
    if failed.state != stored?.state {
      notes.insert(
        .statusChange(
          district: config.districtName, from: stored, to: failed, next: nil, workdir: workdir.root),
        at: 0)
    }
    try workdir.state.saveIntegrationStatus(
      failed, previous: stored, notifications: notes.map { notifier.prepare($0, now: now) },
      now: now)
    recordNotificationOutcome(
      notifier.deliverQueued(now: now), sendmailProblem: nil, workdir: workdir, now: now, log: log)
  }

  /// Notifications that cannot be sent are a standing problem of the status (shown by `sisdrop
  /// status`), from the first failure until one goes through.
  static func recordNotificationOutcome(
    _ outcome: Notifier.Outcome, sendmailProblem: SISDropError?, workdir: WorkDir, now: Date,
    log: (String) -> Void
  ) {
    guard let status = try? workdir.state.integrationStatus() else { return }
    let problem: String?
    switch outcome {
    case .failed(let why): problem = Notification.mask(why)
    case .delivered: problem = nil
    // Nothing to send: only a sendmail that is not there (or not runnable) is a problem.
    case .nothingQueued: problem = sendmailProblem.map { Notification.mask($0.message) }
    }
    guard problem != status.notificationProblem else { return }
    var next = status
    next.notificationProblem = problem
    next.notificationProblemSince = problem == nil ? nil : (status.notificationProblemSince ?? now)
    if let problem {
      log("warning: notifications cannot be sent: \(problem)")
    } else {
      log("notifications are sent again")
    }
    try? workdir.state.saveIntegrationStatus(next, previous: status, notifications: [], now: now)
  }
}

extension IntegrationStatus.NotificationAddresses {
  init(_ config: PipelineConfig) {
    let settings = config.operations.notifications
    self.init(
      district: config.districtName, to: settings.to, from: settings.from,
      sendmail: settings.sendmail,
      folder: settings.folder, timeZone: config.timeZone.identifier)
  }
}
