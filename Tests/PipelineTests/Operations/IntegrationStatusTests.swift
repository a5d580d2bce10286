import Foundation
import SISDrop
import SISDropConfig
import SISDropStore
import Testing
import _SISDropTestSupport

/// A fixed instant, written in UTC.
func utc(_ text: String) -> Date {
  let formatter = ISO8601DateFormatter()
  formatter.formatOptions = [.withInternetDateTime]
  return formatter.date(from: text)!
}

let chicago = TimeZone(identifier: "America/Chicago")!

@Suite struct RunWindowTests {
  let window = RunWindow(hour: 16, minute: 0, length: 8 * 3600, timeZone: chicago)

  @Test(arguments: [
    // The day before and the day of the spring-forward change (March 8, 2026): 16:00 CST, then 16:00 CDT.
    ("2026-03-07T12:00:00Z", "2026-03-07T22:00:00Z"),
    ("2026-03-08T12:00:00Z", "2026-03-08T21:00:00Z"),
    // The day before and the day of the fall-back change (November 1, 2026).
    ("2026-10-31T12:00:00Z", "2026-10-31T21:00:00Z"),
    ("2026-11-01T12:00:00Z", "2026-11-01T22:00:00Z"),
  ])
  func theOpeningFollowsDaylightSavingTime(day: String, opening: String) {
    #expect(window.opening(onDayOf: utc(day)) == utc(opening))
  }

  @Test func openAndNextOpeningAcrossMidnightAndTheChange() {
    // 21:30Z on March 7 is 15:30 CST: closed; the window opens at 22:00Z.
    #expect(!window.isOpen(at: utc("2026-03-07T21:30:00Z")))
    #expect(window.nextOpening(after: utc("2026-03-07T21:30:00Z")) == utc("2026-03-07T22:00:00Z"))
    // 05:59Z on March 8 is 23:59 CST on March 7: still in the 8-hour window opened the day before.
    #expect(
      window.interval(containing: utc("2026-03-08T05:59:00Z"))?.start == utc("2026-03-07T22:00:00Z")
    )
    #expect(!window.isOpen(at: utc("2026-03-08T06:00:00Z")))
    // The next opening after that is 16:00 CDT on March 8: 21:00Z, an hour earlier in UTC.
    #expect(window.nextOpening(after: utc("2026-03-08T06:00:00Z")) == utc("2026-03-08T21:00:00Z"))
  }

  @Test func aStartInTheGapOrTheRepeatedHour() {
    // 02:30 does not exist on March 8 (02:00 → 03:00): the first instant after the gap, 03:00 CDT.
    let gap = RunWindow(hour: 2, minute: 30, length: 3600, timeZone: chicago)
    #expect(gap.opening(onDayOf: utc("2026-03-08T12:00:00Z")) == utc("2026-03-08T08:00:00Z"))
    // 01:30 happens twice on November 1: the first, 01:30 CDT = 06:30Z.
    let repeated = RunWindow(hour: 1, minute: 30, length: 3600, timeZone: chicago)
    #expect(repeated.opening(onDayOf: utc("2026-11-01T12:00:00Z")) == utc("2026-11-01T06:30:00Z"))
  }
}

@Suite struct IntegrationMachineTests {
  var schedule: ScheduleConfig {
    var schedule = ScheduleConfig()
    schedule.scheduled = true
    schedule.window = RunWindow(hour: 16, minute: 0, length: 8 * 3600, timeZone: chicago)
    schedule.retry = RetryPolicy(first: 300, maximum: 3600)
    return schedule
  }

  @Test func everyTransitionWithAFakeClock() {
    let machine = IntegrationMachine(schedule: schedule)
    // Friday March 6, 09:00 CST: enabled, waiting for the window.
    var status = machine.initial(enabled: true, now: utc("2026-03-06T15:00:00Z"))
    #expect(status.state == .pendingInitialization)
    #expect(
      machine.decide(status, now: utc("2026-03-06T15:00:00Z"))
        == .wait(
          until: utc("2026-03-06T22:00:00Z"),
          reason:
            "outside the run window (16:00 America/Chicago for 8h); it opens at 2026-03-06T22:00:00Z"
        ))

    // Disabled and enabled again.
    status = machine.apply(
      .configured(enabled: false), to: status, now: utc("2026-03-06T16:00:00Z"))
    #expect(status.state == .disabled)
    #expect(
      machine.decide(status, now: utc("2026-03-06T23:00:00Z"))
        == .wait(until: nil, reason: "the integration is disabled (schedule.enabled: false)"))
    #expect(machine.nextRun(status, now: utc("2026-03-06T23:00:00Z")) == nil)
    status = machine.apply(.configured(enabled: true), to: status, now: utc("2026-03-06T17:00:00Z"))
    #expect(status.state == .pendingInitialization)
    #expect(status.since == utc("2026-03-06T17:00:00Z"))

    // The window opens: Initializing; the attempt fails: Reinitializing with a 5-minute backoff.
    #expect(machine.decide(status, now: utc("2026-03-06T22:05:00Z")) == .run)
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-06T22:05:00Z"))
    #expect(status.state == .initializing)
    status = machine.apply(
      .runFailed(reason: "no SIS export"), to: status, now: utc("2026-03-06T22:06:00Z"))
    #expect(status.state == .reinitializing)
    #expect(status.retryAt == utc("2026-03-06T22:11:00Z"))
    #expect(
      machine.decide(status, now: utc("2026-03-06T22:08:00Z"))
        == .wait(
          until: utc("2026-03-06T22:11:00Z"),
          reason: "retrying after 1 failed attempt(s) at 2026-03-06T22:11:00Z"))
    // The second attempt fails too: the backoff doubles; the state and its "since" stay.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-06T22:11:00Z"))
    #expect(status.state == .reinitializing)
    status = machine.apply(
      .runFailed(reason: "no SIS export"), to: status, now: utc("2026-03-06T22:12:00Z"))
    #expect(status.retryAt == utc("2026-03-06T22:22:00Z"))
    #expect(status.since == utc("2026-03-06T22:06:00Z"))
    #expect(status.failures == 2)

    // A tick inside the window changes nothing; once the window closed (06:00Z), Initialization Scheduled.
    #expect(machine.apply(.tick, to: status, now: utc("2026-03-07T05:59:00Z")) == status)
    status = machine.apply(.tick, to: status, now: utc("2026-03-07T06:30:00Z"))
    #expect(status.state == .initializationScheduled)
    #expect(
      machine.decide(status, now: utc("2026-03-07T10:00:00Z"))
        == .wait(
          until: utc("2026-03-07T22:00:00Z"),
          reason:
            "outside the run window (16:00 America/Chicago for 8h); it opens at 2026-03-07T22:00:00Z"
        ))

    // The next window: Initializing, then a success: Synchronizing, failures reset.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-07T22:01:00Z"))
    #expect(status.state == .initializing)
    status = machine.apply(
      .runSucceeded(batch: "20260307-01"), to: status, now: utc("2026-03-07T22:03:00Z"))
    #expect(status.state == .synchronizing)
    #expect(status.failures == 0 && status.retryAt == nil && status.lastBatch == "20260307-01")
    #expect(status.lastRunAt == utc("2026-03-07T22:03:00Z") && status.lastRunResult == "succeeded")

    // Sunday March 8 (daylight-saving time begins): the window opens at 21:00Z, an hour earlier in UTC.
    #expect(
      machine.nextRun(status, now: utc("2026-03-08T12:00:00Z")) == utc("2026-03-08T21:00:00Z"))
    #expect(machine.decide(status, now: utc("2026-03-08T21:00:00Z")) == .run)
    // A failure while synchronizing: Reinitialization Scheduled, retried after the backoff.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-08T21:00:00Z"))
    status = machine.apply(
      .runFailed(reason: "students.csv:1: missing required column"), to: status,
      now: utc("2026-03-08T21:01:00Z"))
    #expect(status.state == .reinitializationScheduled)
    #expect(status.retryAt == utc("2026-03-08T21:06:00Z"))
    // The retry: Reinitializing; it succeeds: Synchronizing.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-08T21:06:00Z"))
    #expect(status.state == .reinitializing)
    status = machine.apply(
      .runSucceeded(batch: "20260308-01"), to: status, now: utc("2026-03-08T21:07:00Z"))
    #expect(status.state == .synchronizing)

    // Another failure late in the window; the window closes before a retry: still Reinitialization Scheduled.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-09T04:50:00Z"))
    status = machine.apply(.runFailed(reason: "x"), to: status, now: utc("2026-03-09T04:58:00Z"))
    status = machine.apply(.tick, to: status, now: utc("2026-03-09T06:00:00Z"))
    #expect(status.state == .reinitializationScheduled)
    // Next window: every reinitialization attempt fails until the window closes: Initialization Scheduled.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-09T21:00:00Z"))
    #expect(status.state == .reinitializing)
    status = machine.apply(.runFailed(reason: "x"), to: status, now: utc("2026-03-09T21:01:00Z"))
    #expect(status.state == .reinitializing)
    status = machine.apply(.tick, to: status, now: utc("2026-03-10T05:00:00Z"))
    #expect(status.state == .initializationScheduled)

    // A run that fails after its window closed goes straight to Initialization Scheduled.
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-10T21:00:00Z"))
    #expect(status.state == .initializing)
    status = machine.apply(.runFailed(reason: "x"), to: status, now: utc("2026-03-11T05:10:00Z"))
    #expect(status.state == .initializationScheduled)
    #expect(status.retryAt == nil)
  }

  @Test func aKilledRunIsNeitherASuccessNorAFailure() {
    let machine = IntegrationMachine(schedule: schedule)
    var status = machine.initial(enabled: true, now: utc("2026-03-06T15:00:00Z"))
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-06T22:00:00Z"))
    #expect(status.runningSince == utc("2026-03-06T22:00:00Z"))
    // The next run finds nothing the killed one left to finish.
    status = machine.apply(.runAbandoned, to: status, now: utc("2026-03-06T22:10:00Z"))
    // It did nothing: the state it changed is put back (no "Initializing" left standing).
    #expect(
      status.state == .pendingInitialization && status.runningSince == nil
        && status.lastRunResult == "interrupted")
    #expect(status.failures == 0 && status.retryAt == nil)
    #expect(machine.decide(status, now: utc("2026-03-06T22:10:00Z")) == .run)
  }

  @Test func aNonASCIIDistrictNameIsEncodedInTheSubject() {
    let text = Notification(
      kind: .review, subject: "[sisdrop] Distrito Escolar de Peñasco", body: ["x"]
    )
    .render(
      from: "a@b.org", to: ["c@d.org"], date: utc("2026-03-06T22:00:00Z"), timeZone: chicago,
      messageID: "1@h")
    #expect(
      text.contains("Subject: =?UTF-8?B?W3Npc2Ryb3BdIERpc3RyaXRvIEVzY29sYXIgZGUgUGXDsWFzY28=?=\r\n")
    )
    #expect(text.hasSuffix("\r\n\r\nx\r\n"))
  }

  @Test func theBackoffDoublesUpToItsMaximum() {
    let retry = RetryPolicy(first: 300, maximum: 3600)
    #expect((1...6).map { retry.delay(afterFailures: $0) } == [300, 600, 1200, 2400, 3600, 3600])
  }

  @Test func withoutAScheduleEveryTimeIsInTheWindow() {
    let machine = IntegrationMachine(schedule: ScheduleConfig())
    var status = machine.initial(enabled: true, now: utc("2026-03-06T03:00:00Z"))
    #expect(machine.decide(status, now: utc("2026-03-06T03:00:00Z")) == .run)
    status = machine.apply(.runStarted, to: status, now: utc("2026-03-06T03:00:00Z"))
    status = machine.apply(.runFailed(reason: "x"), to: status, now: utc("2026-03-06T03:01:00Z"))
    #expect(status.state == .reinitializing)
    #expect(
      machine.apply(.tick, to: status, now: utc("2026-03-09T03:00:00Z")).state == .reinitializing)
  }

  @Test func theStatusAndItsHistoryPersist() throws {
    try withTemporaryFolder { root in
      let store = try StateStore(path: root + "/state.sqlite")
      #expect(try store.integrationStatus() == nil)
      let machine = IntegrationMachine(schedule: schedule)
      let first = machine.initial(enabled: true, now: utc("2026-03-06T15:00:00Z"))
      try store.saveIntegrationStatus(
        first, previous: nil, notifications: [], now: utc("2026-03-06T15:00:00Z"))
      let second = machine.apply(.runStarted, to: first, now: utc("2026-03-06T22:00:00Z"))
      try store.saveIntegrationStatus(
        second, previous: first,
        notifications: [PendingNotification(id: "n1", kind: "status-change", message: "m")],
        now: utc("2026-03-06T22:00:00Z"))
      // Reopened from the file: the same status, two changes, one queued notification.
      let reopened = try StateStore(path: root + "/state.sqlite")
      #expect(try reopened.integrationStatus() == second)
      #expect(
        try reopened.integrationEvents().map(\.to) == ["Pending Initialization", "Initializing"])
      #expect(try reopened.unsentNotifications().map(\.id) == ["n1"])
      try reopened.markNotification("n1", sentAt: utc("2026-03-06T22:00:01Z"), error: nil)
      #expect(try reopened.unsentNotifications().isEmpty)
    }
  }
}
