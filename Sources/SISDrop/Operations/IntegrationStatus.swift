import Foundation
import SISDropConfig

/// The seed's integration status values (Raptor's "Real Time SIS Integration Status").
package enum IntegrationState: String, Sendable, Codable, CaseIterable {
  case disabled = "Disabled"
  /// Enabled, waiting for the window to open.
  case pendingInitialization = "Pending Initialization"
  /// The first full run (SIS snapshot load and delivery) is under way.
  case initializing = "Initializing"
  /// An initialization attempt failed and the window is still open: retrying with backoff.
  case reinitializing = "Reinitializing"
  /// Steady state: nightly runs succeed.
  case synchronizing = "Synchronizing"
  /// A run failed while synchronizing: reinitialize at the next attempt.
  case reinitializationScheduled = "Reinitialization Scheduled"
  /// Every attempt in a window failed: try again when the next window opens.
  case initializationScheduled = "Initialization Scheduled"
}

/// The integration's status as persisted in `state.sqlite`: the state, since when, why, and the run record.
package struct IntegrationStatus: Sendable, Codable, Equatable {
  package var state: IntegrationState
  package var since: Date
  package var reason: String
  package var lastRunAt: Date?
  /// `succeeded`, `failed` or `interrupted`.
  package var lastRunResult: String?
  /// The batch of the last run that succeeded (a failed run leaves it as it was).
  package var lastBatch: String?
  /// After a failure: not before this time.
  package var retryAt: Date?
  /// Failures in a row since the last success.
  package var failures: Int
  /// While a run is under way (a killed run leaves it set; the next run sees it).
  package var runningSince: Date?
  /// A standing problem the last run found that does not stop it but people must see (the
  /// open-writer check being blind), or nil.
  package var warning: String?
  /// The state a run moved away from when it started (Pending Initialization → Initializing):
  /// restored when the run turns out to wait (75) or to have been killed before doing anything.
  package var beforeRun: Saved?
  /// A run found an inbox file still arriving (exit 75): what, and since when (the first such run).
  package var waitingFor: String?
  package var waitingSince: Date?
  /// Whether people were told that the window closed while it was still arriving.
  package var waitingNotified: Bool?
  /// The review queue people were last told about (a digest of its items), and when they were last reminded.
  package var queueDigest: String?
  package var queueNotifiedAt: Date?
  /// Why notifications cannot be sent (sendmail missing or failing), or nil; since when.
  package var notificationProblem: String?
  package var notificationProblemSince: Date?
  /// Who was notified by the last run whose pipeline file could be read: a run that cannot read
  /// it still tells them why.
  package var lastGoodNotifications: NotificationAddresses?
  /// The answer files the last run that found any refused whole (`AnswerFeed.Result.refusal`), and
  /// when; nil once a run takes answer files without refusing one. A clerk who dropped an answer
  /// file learns here, and by notification, that none of its answers were taken.
  package var answerFilesRefused: String?
  package var answerFilesRefusedAt: Date?

  /// The notification settings of a pipeline that could be read.
  package struct NotificationAddresses: Sendable, Codable, Equatable {
    package var district: String
    package var to: [String]
    package var from: String
    package var sendmail: [String]?
    package var folder: String
    package var timeZone: String
  }

  package struct Saved: Sendable, Codable, Equatable {
    package var state: IntegrationState
    package var since: Date
    package var reason: String
  }

  package init(state: IntegrationState, since: Date, reason: String) {
    self.state = state
    self.since = since
    self.reason = reason
    failures = 0
  }
}

/// What the run command should do now.
package enum RunDecision: Sendable, Equatable {
  case run
  /// Not now: until when (nil: not until the configuration changes), and why.
  case wait(until: Date?, reason: String)
}

/// The integration status state machine: a pure function of the status, an event, the time and the schedule.
///
/// Every transition is here, so that it can be tested with a fake clock; `NightlyRun` feeds it
/// the real events of a run and persists the result.
package struct IntegrationMachine: Sendable {
  package var schedule: ScheduleConfig

  package init(schedule: ScheduleConfig) { self.schedule = schedule }

  /// The events that move the status.
  package enum Event: Sendable, Equatable {
    /// The pipeline's `schedule.enabled` as read at this run.
    case configured(enabled: Bool)
    /// Time has passed (a window may have closed).
    case tick
    case runStarted
    /// `outcome`: what the batch did, for the why-line (`NightlyRun.outcome`), else "batch B delivered".
    case runSucceeded(batch: String?, outcome: String? = nil)
    case runFailed(reason: String)
    /// A killed run is found to have stopped before it claimed or changed anything.
    case runAbandoned
    /// A run exited 75: a file is still arriving (or the working directory is busy).
    case runWaiting(reason: String)
    /// A run found nothing new in the inbox.
    case nothingNew
    /// `sisdrop cancel` closed the open batch: a failure of its claimed copy went with it.
    case batchCancelled(batch: String)
  }

  /// The status before anything happened.
  package func initial(enabled: Bool, now: Date) -> IntegrationStatus {
    enabled
      ? IntegrationStatus(
        state: .pendingInitialization, since: now,
        reason: "enabled; waiting for the window\(windowText)")
      : IntegrationStatus(state: .disabled, since: now, reason: "schedule.enabled is false")
  }

  private var windowText: String { schedule.window.map { " (\($0))" } ?? "" }

  /// Applies one event.
  package func apply(_ event: Event, to status: IntegrationStatus, now: Date) -> IntegrationStatus {
    var change = Transition(status: status, next: status, now: now)
    switch event {
    case .configured(let enabled):
      configure(enabled: enabled, &change)

    case .tick:
      closeFailedWindow(&change)

    case .runStarted:
      startRun(&change)

    case .runAbandoned:
      change.next.runningSince = nil
      change.next.lastRunResult = "interrupted"
      change.restoreBeforeRun()

    case .runWaiting(let reason):
      change.next.runningSince = nil
      change.restoreBeforeRun()
      change.next.waitingFor = reason
      change.next.waitingSince = status.waitingSince ?? now

    case .nothingNew:
      change.clearWaiting()

    case .runSucceeded(let batch, let outcome):
      change.finishRun("succeeded")
      if let batch { change.next.lastBatch = batch }
      change.next.failures = 0
      change.next.retryAt = nil
      if status.state != .disabled {
        change.move(
          .synchronizing, outcome ?? batch.map { "batch \($0) delivered" } ?? "run succeeded")
      }

    case .runFailed(let reason):
      failRun(reason, &change)

    case .batchCancelled(let batch):
      // The why-line said to cancel it (a refused claimed copy): now it says what comes next, and
      // the next run claims the new upload at once instead of after the failures' backoff.
      guard status.state != .disabled else { break }
      change.next.retryAt = nil
      change.move(
        status.state,
        "batch \(batch) was cancelled (its records back to pending): the next run claims what is uploaded to the inbox"
      )
    }
    return change.next
  }

  /// One event's change: the status as it was, and as it becomes.
  struct Transition {
    let status: IntegrationStatus
    var next: IntegrationStatus
    let now: Date

    mutating func move(_ state: IntegrationState, _ reason: String) {
      if next.state != state { next.since = now }
      next.state = state
      next.reason = reason
    }

    /// A run that did nothing leaves the state as it found it (never a stale "Initializing").
    mutating func restoreBeforeRun() {
      if let saved = status.beforeRun {
        next.state = saved.state
        next.since = saved.since
        next.reason = saved.reason
      }
      next.beforeRun = nil
    }

    mutating func clearWaiting() {
      next.waitingFor = nil
      next.waitingSince = nil
      next.waitingNotified = nil
    }

    /// A run that ran to its end, succeeded or failed: no longer running or waiting, and recorded.
    mutating func finishRun(_ result: String) {
      next.runningSince = nil
      next.beforeRun = nil
      clearWaiting()
      next.lastRunAt = now
      next.lastRunResult = result
    }
  }

  /// The pipeline's `schedule.enabled` as read at this run.
  func configure(enabled: Bool, _ change: inout Transition) {
    let state = change.status.state
    if !enabled && state != .disabled {
      change.move(.disabled, "schedule.enabled is false")
      change.next.retryAt = nil
      change.next.failures = 0
    } else if enabled && state == .disabled {
      change.move(.pendingInitialization, "enabled; waiting for the window\(windowText)")
    }
  }

  /// A retrying initialization whose window has closed waits for the next window.
  func closeFailedWindow(_ change: inout Transition) {
    let status = change.status
    guard status.state == .reinitializing, let window = schedule.window,
      let last = status.lastRunAt,
      let attempted = window.interval(containing: last)
        ?? window.interval(containing: status.since), change.now >= attempted.end
    else { return }
    change.move(
      .initializationScheduled,
      "every attempt in the window that opened \(Self.stamp(attempted.start)) failed (\(status.failures) in a row); next try when the window opens"
    )
    change.next.retryAt = nil
  }

  /// A run starts: the state it found is saved (a run that does nothing puts it back).
  func startRun(_ change: inout Transition) {
    let status = change.status
    change.next.runningSince = change.now
    change.next.beforeRun = IntegrationStatus.Saved(
      state: status.state, since: status.since, reason: status.reason)
    switch status.state {
    case .pendingInitialization, .initializationScheduled:
      change.move(.initializing, "first full run under way")
    case .reinitializationScheduled:
      change.move(.reinitializing, "reinitialization attempt \(status.failures + 1) under way")
    case .reinitializing:
      change.next.reason = "reinitialization attempt \(status.failures + 1) under way"
    case .disabled, .initializing, .synchronizing:
      break
    }
  }

  /// A run failed: a retry is scheduled while the window is open, else the next window is waited for.
  func failRun(_ reason: String, _ change: inout Transition) {
    change.finishRun("failed")
    let failures = change.status.failures + 1
    change.next.failures = failures
    let retryAt = change.now.addingTimeInterval(schedule.retry.delay(afterFailures: failures))
    let windowOpen = schedule.window.map { $0.isOpen(at: change.now) } ?? true
    switch change.status.state {
    case .synchronizing:
      change.next.retryAt = retryAt
      change.move(.reinitializationScheduled, "a run failed while synchronizing: \(reason)")
    case .initializing, .reinitializing, .reinitializationScheduled, .pendingInitialization,
      .initializationScheduled:
      if windowOpen {
        change.next.retryAt = retryAt
        change.move(
          .reinitializing,
          "attempt \(failures) failed: \(reason); retrying at \(Self.stamp(retryAt))")
      } else {
        change.next.retryAt = nil
        change.move(
          .initializationScheduled,
          "attempt \(failures) failed after the window closed: \(reason)")
      }
    case .disabled:
      break
    }
  }

  /// Whether a run should start now, and if not, until when and why.
  package func decide(_ status: IntegrationStatus, now: Date) -> RunDecision {
    if status.state == .disabled {
      return .wait(until: nil, reason: "the integration is disabled (schedule.enabled: false)")
    }
    if let window = schedule.window, !window.isOpen(at: now) {
      let opening = window.nextOpening(after: now)
      return .wait(
        until: opening,
        reason: "outside the run window (\(window)); it opens at \(Self.stamp(opening))")
    }
    if let retryAt = status.retryAt, now < retryAt {
      return .wait(
        until: retryAt,
        reason: "retrying after \(status.failures) failed attempt(s) at \(Self.stamp(retryAt))")
    }
    return .run
  }

  /// When the next run is expected: now or the next opening, or the retry time.
  package func nextRun(_ status: IntegrationStatus, now: Date) -> Date? {
    switch decide(status, now: now) {
    case .run: return now
    case .wait(let until, _):
      guard let until, let window = schedule.window, !window.isOpen(at: until) else { return until }
      return window.nextOpening(after: until)
    }
  }

  static func stamp(_ date: Date) -> String { date.ISO8601Format() }
}

extension IntegrationStatus {
  /// The last run's result and batch as `sisdrop status` and the notifications print them. The
  /// batch is the last run's that succeeded: beside a failed run it is named as that, never as the
  /// failed run's own batch.
  package static func lastRunText(result: String?, batch: String?) -> String {
    let result = result ?? "?"
    guard let batch else { return "(\(result))" }
    return result == "succeeded"
      ? "(succeeded, batch \(batch))" : "(\(result); the last run that succeeded: batch \(batch))"
  }
}
