import Foundation

/// One cron run (`sisdrop run`): the integration status decides whether to run, the pipeline runs,
/// the status follows what really happened, and people hear about changes, failures and review queues.
///
/// Called with the working directory's lock held.
public enum NightlyRun {
  public struct Outcome: Sendable {
    public var status: IntegrationStatus
    /// Nil when nothing ran (nothing new, outside the window, waiting to retry, disabled).
    public var summary: PipelineRunner.Summary?
    /// Why nothing ran, when nothing did.
    public var waiting: String?
  }

  /// - Parameters:
  ///   - force: run even outside the window or before the retry time (an operator's manual run).
  ///   - now: the clock (tests pass a fixed one).
  /// - Throws: the run's error, after the status and notifications have recorded it; 75 (still
  ///   arriving, busy) changes nothing.
  public static func run(workdir: WorkDir, pipelinePath: String, force: Bool = false, now: () -> Date = Date.init,
                         log: @escaping (String) -> Void) throws -> Outcome {
    let config = try PipelineConfig.load(path: pipelinePath)
    let machine = IntegrationMachine(schedule: config.operations.schedule)
    let notifier = Notifier(workdir: workdir, config: config, log: log)
    let district = config.districtName
    // Every notice this run queues: combined into one message at the end (at most one message per run).
    var queuedThisRun: [(id: String, notice: Notification)] = []
    func prepared(_ notices: [Notification], _ time: Date) -> [PendingNotification] {
      notices.map { notice in
        let pending = notifier.prepare(notice, now: time)
        queuedThisRun.append((pending.id, notice))
        return pending
      }
    }

    /// Applies events and saves the status, queueing a status-change notification when the state changed.
    func advance(_ status: IntegrationStatus?, _ events: [IntegrationMachine.Event], extra: [Notification] = []) throws -> IntegrationStatus {
      let time = now()
      var next = status ?? machine.initial(enabled: config.operations.schedule.enabled, now: time)
      for event in events { next = machine.apply(event, to: next, now: time) }
      var notes = extra
      if next.state != status?.state {
        log("integration status: \(status?.state.rawValue ?? "(none)") → \(next.state.rawValue): \(next.reason)")
        notes.insert(
          .statusChange(district: district, from: status, to: next, next: machine.nextRun(next, now: time), workdir: workdir.root), at: 0)
      }
      if next != status || !notes.isEmpty {
        try workdir.state.saveIntegrationStatus(next, previous: status, notifications: prepared(notes, time), now: time)
      }
      return next
    }

    let stored = try workdir.state.integrationStatus()
    var status = try advance(stored, [.configured(enabled: config.operations.schedule.enabled), .tick])
    // The writer check must not pass silently when it cannot see other users' processes.
    let blind = config.operations.pickup.checkWriters ? OpenWriters.blindness() : nil
    if let blind { log("warning: \(blind)") }
    if status.warning != blind {
      var next = status
      next.warning = blind
      try workdir.state.saveIntegrationStatus(next, previous: status, notifications: [], now: now())
      status = next
    }
    // The window closed while a file was still arriving: tell people once, naming the file.
    if let waiting = status.waitingFor, status.waitingNotified != true, let since = status.waitingSince,
      let window = config.operations.schedule.window, let opened = window.interval(containing: since), now() >= opened.end
    {
      var next = status
      next.waitingNotified = true
      let notice = Notification.stillArriving(district: district, waiting: waiting, since: since, windowClosed: opened.end, workdir: workdir.root)
      try workdir.state.saveIntegrationStatus(next, previous: status, notifications: prepared([notice], now()), now: now())
      status = next
      log("warning: the run window closed while \(Notification.mask(waiting)); notified")
    }
    if let running = status.runningSince {
      log("the run that started at \(running.ISO8601Format()) was interrupted; this run finishes its work")
    }
    defer {
      if queuedThisRun.count > 1 {
        let one = notifier.prepare(Notification.combined(queuedThisRun.map(\.notice), district: district), now: now())
        do { try workdir.state.replaceUnsentNotifications(queuedThisRun.map(\.id), with: one, now: now()) } catch {
          log("notifications not combined: \(error)")
        }
      }
      notifier.deliverQueued(now: now())
    }

    /// The review queue, told to people when it changed, and as a reminder when an item has waited
    /// `notifications.remind_after_days` since they were last told.
    func queueNotice(_ status: IntegrationStatus) throws -> (Notification?, IntegrationStatus) {
      let queue = try ReviewQueue.load(workdir: workdir, now: now())
      let digest = SHA256.hex(Array(queue.items.map { "\($0.submissionID)|\($0.kind.rawValue)|\($0.schema)|\($0.seq)|\($0.fields.joined(separator: ","))" }
        .sorted().joined(separator: "\n").utf8))
      var next = status
      let remindAfter = config.operations.notifications.remindAfterDays
      let changed = digest != (status.queueDigest ?? SHA256.hex(Array("".utf8)))
      let overdue = queue.items.contains { $0.ageNights >= remindAfter }
      let lastTold = status.queueNotifiedAt ?? .distantPast
      let remind = !changed && overdue && now().timeIntervalSince(lastTold) >= Double(remindAfter) * 86_400
      next.queueDigest = digest
      guard !queue.items.isEmpty, changed || remind else { return (nil, next) }
      next.queueNotifiedAt = now()
      return (.queue(district: district, queue: queue, reminder: remind, remindAfter: remindAfter, workdir: workdir.root), next)
    }

    if case .wait(_, let reason) = machine.decide(status, now: now()), !(force && status.state != .disabled) {
      log("not running: \(reason)")
      return Outcome(status: status, summary: nil, waiting: reason)
    }
    do {
      let summary = try PipelineRunner.run(workdir: workdir, pipelinePath: pipelinePath, log: log) {
        status = try advance(status, [.runStarted])
      }
      var finished = summary
      if finished == nil, status.runningSince != nil {
        // A killed run may have closed its batch before it could record that: a closed batch the
        // status does not know yet is that run's, and its success (and review queue) is recorded now.
        if let last = try workdir.state.allBatches().last, last.state == .closed, last.id != status.lastBatch {
          log("the interrupted run had closed batch \(last.id): recording it")
          finished = try PipelineRunner.summarize(workdir: workdir, batch: last, opened: false, ran: [])
          finished?.closed = true
        } else {
          status = try advance(status, [.runAbandoned])
        }
      }
      guard let summary = finished else {
        // Nothing new tonight, but the queue may have changed (answers) or waited long enough for a reminder.
        let (notice, told) = try queueNotice(status)
        if told != status { status = told }
        status = try advance(status, [.nothingNew], extra: notice.map { [$0] } ?? [])
        return Outcome(status: status, summary: nil, waiting: "nothing new in the inbox")
      }
      let (notice, told) = try queueNotice(status)
      status = told
      var extra = notice.map { [$0] } ?? []
      // Input the run could not use is told too, even with nobody to review (counts only).
      if let rejected = Notification.rejectedInput(summary.counts) {
        extra.append(Notification(kind: .review, subject: "[sisdrop] \(district): batch \(summary.batch), input not used",
                                  body: [rejected, "", "Details: the batch report (\(workdir.batchFolder(summary.batch))/report.html)."]))
      }
      status = try advance(status, [.runSucceeded(batch: summary.batch)], extra: extra)
      return Outcome(status: status, summary: summary, waiting: nil)
    } catch {
      // Still arriving, or busy: not a failure; cron retries.
      if error.exitStatus == .temporaryFailure {
        // Recorded (what, since when) and the state a started run changed is put back.
        status = try advance(status, [.runWaiting(reason: Notification.mask("\(error)"))])
        throw error
      }
      let batch = try? workdir.state.openBatch()?.id
      let failed = machine.apply(.runFailed(reason: Notification.mask("\(error)")), to: status, now: now())
      let notice = Notification.runFailed(
        district: district, error: error, batch: batch, status: failed, next: machine.nextRun(failed, now: now()), workdir: workdir.root)
      status = try advance(status, [.runFailed(reason: Notification.mask("\(error)"))], extra: [notice])
      throw error
    }
  }
}
