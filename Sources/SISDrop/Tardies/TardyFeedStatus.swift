import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore

/// The tardy feed's own status (the seed: "notifications if the integration's status changes"):
/// its last run — when, the outcome, the counts and the exit status — and when it last looked for
/// a file. `sisdrop tardies` runs on its own schedule, so this is apart from the nightly run's
/// integration status; `sisdrop status` shows both.
package struct TardyFeedStatus: Sendable, Codable, Equatable {
  /// One run that read a file or failed ("nothing to do" on a schedule is not a run).
  package struct Run: Sendable, Codable, Equatable {
    package var at: Date
    /// `succeeded` or `failed`.
    package var outcome: String
    package var exitStatus: Int
    /// The run's id (`T<day>-NN`), nil when it failed before it had one.
    package var run: String?
    package var folder: String?
    package var delivered: Int
    package var duplicates: Int
    package var errors: Int
    package var anotherCode: Int
    /// Why it failed, its quoted values masked; nil when it succeeded.
    package var error: String?
  }

  package var lastRun: Run?
  /// The last time the feed looked at the inbox, "nothing to do" included (the schedule is alive).
  package var lastCheckedAt: Date?
  /// The inbox's tardies.csv that every run since `waitingSince` found still arriving (open for
  /// writing, or changed within the quiet period) and left there; nil once a run takes it or finds none.
  package var waitingFor: String?
  package var waitingSince: Date?
  /// Whether people were told that this wait has lasted too long (once a wait).
  package var waitingNotified: Bool?

  package init(
    lastRun: Run? = nil, lastCheckedAt: Date? = nil, waitingFor: String? = nil,
    waitingSince: Date? = nil, waitingNotified: Bool? = nil
  ) {
    self.lastRun = lastRun
    self.lastCheckedAt = lastCheckedAt
    self.waitingFor = waitingFor
    self.waitingSince = waitingSince
    self.waitingNotified = waitingNotified
  }

  /// How long the inbox's tardies.csv may stay "still arriving" before people are told: an hour
  /// past the quiet period. The nightly run tells of a file still arriving when its run window
  /// closes; the tardy feed runs all day without a window, and Raptor's uploads take seconds, so
  /// an hour of the timer's runs (six) finding it open or changing is an upload that stalled or a
  /// process that keeps the file open, and the day's tardies are not being delivered.
  package static func arrivingTooLong(_ config: PipelineConfig) -> TimeInterval {
    config.operations.pickup.quietSeconds + 3600
  }

  /// The run's counts in words (counts only).
  package static func counts(_ run: Run) -> String {
    "\(run.delivered) delivered, \(run.errors) in error, \(run.duplicates) already sent, \(run.anotherCode) for a day already sent with another code"
  }
}

extension StateStore {
  /// The tardy feed's status, or nil before its first run (and in a database an older sisdrop
  /// wrote, which a reader such as `sisdrop status` does not migrate).
  package func tardyFeedStatus() throws -> TardyFeedStatus? {
    guard
      try database.scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tardy_feed_status'"
      ).int != 0
    else { return nil }
    guard
      let text = try database.scalar("SELECT status FROM tardy_feed_status WHERE id = 1").string
    else { return nil }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(TardyFeedStatus.self, from: Data(text.utf8))
  }

  /// Saves the feed's status and queues its notifications in one transaction.
  func saveTardyFeedStatus(
    _ status: TardyFeedStatus, notifications: [PendingNotification], now: Date
  ) throws {
    let text = String(decoding: try StateStore.jsonEncoder().encode(status), as: UTF8.self)
    try database.inTransaction {
      try database.execute(
        "INSERT INTO tardy_feed_status(id, status, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        [.text(text), .text(now.ISO8601Format())])
      for notification in notifications {
        try database.execute(
          "INSERT OR IGNORE INTO notifications(id, kind, created_at, message) VALUES (?, ?, ?, ?)",
          [
            .text(notification.id), .text(notification.kind), .text(now.ISO8601Format()),
            .text(notification.message),
          ])
      }
    }
  }
}

extension TardyFeed {
  /// Records how a `sisdrop tardies` run ended, in `state.sqlite` (for `sisdrop status`), and tells
  /// people through the pipeline's notifications when it failed or rejected rows: the same
  /// notifier as the nightly run's (queued in the same transaction, written, piped to sendmail).
  /// A failure the last run already had (the schedule retries every few minutes) is not told again.
  /// Called with the working directory's lock held; never throws over the run's own outcome.
  ///
  /// - Parameters:
  ///   - outcome: the run's result, or the error it failed with; nil for "nothing to do".
  ///   - inboxChecked: whether the run looked at the inbox (not with --file, nor when the pipeline
  ///     file could not be used): "last checked the inbox" says only what happened.
  package static func record(
    _ outcome: Swift.Result<Result, any Error>?, workdir: WorkDir, config: PipelineConfig,
    inboxChecked: Bool = true, now: Date = Date(), log: @escaping (String) -> Void
  ) {
    do {
      var status = try workdir.state.tardyFeedStatus() ?? TardyFeedStatus()
      let previous = status.lastRun
      if inboxChecked { status.lastCheckedAt = now }
      var notices: [Notification] = []
      // A wait ends when a run that looked at the inbox found no file still arriving there.
      let arriving = outcome.flatMap { result -> String? in
        guard case .failure(let error) = result else { return nil }
        return stillArriving(error)
      }
      if inboxChecked && arriving == nil {
        status.waitingFor = nil
        status.waitingSince = nil
        status.waitingNotified = nil
      }
      switch outcome {
      case nil:
        break
      case .success(let result):
        let run = TardyFeedStatus.Run(
          at: now, outcome: "succeeded", exitStatus: 0, run: result.run, folder: result.folder,
          delivered: result.delivered, duplicates: result.duplicates, errors: result.errors,
          anotherCode: result.anotherCode, error: nil)
        status.lastRun = run
        // Told of a failure, people are told when it is over (the seed's status change).
        if let previous, previous.outcome == "failed" {
          notices.append(
            .tardiesRecovered(
              district: config.districtName, run: run, failed: previous, workdir: workdir.root))
        }
        if result.errors + result.anotherCode > 0 {
          notices.append(
            .tardiesRejected(district: config.districtName, run: run, workdir: workdir.root))
        }
      case .failure(let error) where error.exitStatus == .temporaryFailure:
        // Busy, or the file still arriving: the schedule retries; not a failure of the feed. A
        // file that stays "still arriving" (an upload stalled, a process keeping it open) holds
        // back the day's tardies: in `sisdrop status` from the first run that saw it, and told
        // once when it has lasted too long.
        guard let arriving else { break }
        let since = status.waitingSince ?? now
        status.waitingFor = Notification.mask(arriving)
        status.waitingSince = since
        let limit = TardyFeedStatus.arrivingTooLong(config)
        if status.waitingNotified != true && now.timeIntervalSince(since) >= limit {
          status.waitingNotified = true
          notices.append(
            .tardiesStillArriving(
              district: config.districtName, waiting: arriving, since: since, limit: limit,
              workdir: workdir.root))
          log(
            "warning: tardies: \(inboxFileName) still arriving since \(since.ISO8601Format()), over \(Int(limit / 60)) minutes; notified"
          )
        }
      case .failure(let error):
        let run = TardyFeedStatus.Run(
          at: now, outcome: "failed", exitStatus: Int(error.exitStatus.rawValue), run: nil,
          folder: nil, delivered: 0, duplicates: 0, errors: 0, anotherCode: 0,
          error: Notification.mask("\(error)"))
        status.lastRun = run
        let again =
          previous?.outcome == "failed" && previous?.exitStatus == run.exitStatus
          && previous?.error == run.error
        if again {
          log("tardies: the same failure as the last run (already recorded and notified)")
        } else {
          notices.append(
            .tardiesFailed(district: config.districtName, run: run, workdir: workdir.root))
        }
      }
      let notifier = Notifier(workdir: workdir, config: config, log: log)
      // At most one message per run, as the nightly run's.
      if notices.count > 1 { notices = [.combined(notices, district: config.districtName)] }
      try workdir.state.saveTardyFeedStatus(
        status, notifications: notices.map { notifier.prepare($0, now: now) }, now: now)
      guard !notices.isEmpty else { return }
      NightlyRun.recordNotificationOutcome(
        notifier.deliverQueued(now: now), sendmailProblem: nil, workdir: workdir, now: now,
        log: log)
    } catch {
      // The run's own outcome (its files, its exit status) stands; the log says what was not kept.
      log("warning: tardies: the feed's status was not recorded: \(Notification.mask("\(error)"))")
    }
  }
}

extension Notification {
  /// The inbox's tardies.csv has been "still arriving" at every run for too long: its tardies are
  /// not being delivered. Told once a wait.
  package static func tardiesStillArriving(
    district: String, waiting: String, since: Date, limit: TimeInterval, workdir: String
  ) -> Notification {
    var body = wrap(
      "Every run of the Raptor tardy feed for \(district) since \(since.ISO8601Format()) found the inbox's \(TardyFeed.inboxFileName) still arriving (over \(Int(limit / 60)) minutes): it is left in the inbox, and none of its tardies are delivered to the SIS until it is complete."
    )
    body += [""]
    body += wrap("Waiting for: " + mask(waiting))
    body += [""]
    body += wrap(
      "Check Raptor's upload: an upload that stalled or never finished, or a process that keeps the file open for writing. Once the file is complete (unchanged for pickup.quiet_seconds, open for writing by no process), the next run takes it. This wait is not told again; `sisdrop status` shows it until it ends."
    )
    body += ["Working directory: \(workdir)"]
    return Notification(
      kind: .stillArriving,
      subject: "[sisdrop] \(district): tardies.csv still arriving since \(since.ISO8601Format())",
      body: body)
  }

  /// A `sisdrop tardies` run that failed: its exit status and why (quoted values masked).
  package static func tardiesFailed(
    district: String, run: TardyFeedStatus.Run, workdir: String
  ) -> Notification {
    var body = [
      "The Raptor tardy feed for \(district) failed with exit status \(run.exitStatus): no tardies were sent by this run.",
      "",
    ]
    body += wrap("Error: " + (run.error ?? "?"))
    body += [
      "",
      "Until it is fixed, tardies are not delivered to the SIS. Later runs that fail the same way are not notified again.",
      "Working directory: \(workdir)", "",
      "The log and `sisdrop status --workdir \(workdir)` say more.",
    ]
    return Notification(
      kind: .runFailed,
      subject: "[sisdrop] \(district): tardy feed failed (exit \(run.exitStatus))", body: body)
  }

  /// The first run that succeeds after a failed one: the feed works again.
  package static func tardiesRecovered(
    district: String, run: TardyFeedStatus.Run, failed: TardyFeedStatus.Run, workdir: String
  ) -> Notification {
    Notification(
      kind: .statusChange, subject: "[sisdrop] \(district): tardy feed works again",
      body: [
        "The Raptor tardy feed for \(district) works again: run \(run.run ?? "?") succeeded at \(run.at.ISO8601Format()),",
        "after it failed (exit \(failed.exitStatus)) at \(failed.at.ISO8601Format()).",
        "",
        "This run: \(TardyFeedStatus.counts(run)).",
        "Working directory: \(workdir)",
      ])
  }

  /// A `sisdrop tardies` run that rejected rows or left a day for a person: counts and files only.
  package static func tardiesRejected(
    district: String, run: TardyFeedStatus.Run, workdir: String
  ) -> Notification {
    let folder = run.folder ?? workdir + "/tardies"
    var body = [
      "Tardy run \(run.run ?? "?") for \(district): \(TardyFeedStatus.counts(run)).", "",
    ]
    if run.errors > 0 {
      body += wrap(
        "\(run.errors) in error, not sent: each row with its reason and what to do is in \(folder)/errors.csv. Fix them in Raptor or in the mapping files, then run the feed on the file again."
      )
    }
    if run.anotherCode > 0 {
      if run.errors > 0 { body.append("") }
      body += wrap(
        "\(run.anotherCode) for a day already sent with another code, not sent: the SIS keeps one attendance record per student, school and day. Each is in \(folder)/\(TardyFeed.anotherCodeFileName); change the SIS record by hand where the new code is the right one."
      )
    }
    body += ["", "Working directory: \(workdir)"]
    var what: [String] = []
    if run.errors > 0 { what.append("\(run.errors) in error") }
    if run.anotherCode > 0 {
      what.append("\(run.anotherCode) for a day already sent with another code")
    }
    return Notification(
      kind: .review,
      subject:
        "[sisdrop] \(district): tardy run \(run.run ?? "?"), \(what.joined(separator: ", "))",
      body: body)
  }
}
