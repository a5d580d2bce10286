import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// Runs that keep exiting 75 (a file still arriving): the status says what and since when, a
/// started run that ends up waiting leaves no stale "Initializing", and when the window closes
/// people are told once, naming the file.
@Suite(.serialized) struct StillArrivingTests {
  @Test func aRunThatWaitsOrDiesEarlyPutsTheStateBack() {
    var schedule = ScheduleConfig()
    schedule.window = RunWindow(
      hour: 16, minute: 0, length: 8 * 3600, timeZone: TimeZone(identifier: "America/Chicago")!)
    let machine = IntegrationMachine(schedule: schedule)
    let t0 = utc("2026-03-06T22:05:00Z")
    let pending = machine.initial(enabled: true, now: t0)
    let started = machine.apply(.runStarted, to: pending, now: t0.addingTimeInterval(60))
    #expect(started.state == .initializing)
    // The claim found a file changed since the listing: 75 after the run started.
    let waiting = machine.apply(
      .runWaiting(reason: "students.csv is still arriving: it changed after the inbox was read"),
      to: started,
      now: t0.addingTimeInterval(70))
    #expect(
      waiting.state == .pendingInitialization && waiting.since == pending.since
        && waiting.reason == pending.reason)
    #expect(waiting.runningSince == nil && waiting.beforeRun == nil)
    #expect(
      waiting.waitingFor?.contains("students.csv") == true
        && waiting.waitingSince == t0.addingTimeInterval(70))
    // A second 75 keeps the first time; success clears it.
    let again = machine.apply(
      .runWaiting(reason: "students.csv is still arriving"), to: waiting,
      now: t0.addingTimeInterval(700))
    #expect(again.waitingSince == t0.addingTimeInterval(70))
    #expect(
      machine.apply(.runSucceeded(batch: "b"), to: again, now: t0.addingTimeInterval(800))
        .waitingFor == nil)
    // A run killed right after it started, found by the next one to have done nothing: back too.
    let abandoned = machine.apply(.runAbandoned, to: started, now: t0.addingTimeInterval(600))
    #expect(abandoned.state == .pendingInitialization && abandoned.runningSince == nil)
  }

  @Test func theWindowClosingWhileAFileIsStillArrivingIsNotifiedOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      // A quiet period of an hour: the demo's freshly copied files are "still arriving" all night.
      let pipeline = try demoPipeline(
        root,
        extra: """
          schedule:
            window: {start: "16:00", length: 8h, time_zone: America/Chicago}
          notifications:
            to: [sis-admin@district.example]
          """ + "\n", quiet: 3600)
      let inWindow = utc("2026-03-06T22:05:00Z")  // 16:05 CST
      for minutes in [0, 10, 20] {
        // Closure literals stay out of `#expect(throws:)`'s body (CONTRIBUTING.md, "Tests").
        let at: () -> Date = { inWindow.addingTimeInterval(Double(minutes * 60)) }
        let quiet: (String) -> Void = { _ in }
        #expect(throws: SISDropError.self) {
          try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, now: at, log: quiet)
        }
      }
      var status = try #require(try workdir.state.integrationStatus())
      #expect(status.state == .pendingInitialization && status.runningSince == nil)
      #expect(
        status.waitingFor?.contains("is still arriving: changed") == true,
        "\(status.waitingFor ?? "nil")")
      #expect(status.waitingSince == inWindow)
      let status1 = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      // UTC, with the district's local time beside it.
      #expect(
        status1.stdout.contains("  waiting since 2026-03-06T22:05:00Z (2026-03-06 16:05 CST): "),
        "\(status1.stdout)")
      func stillArrivingNotices() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/notifications").filter
        { $0.contains("still-arriving") }
      }
      #expect(try stillArrivingNotices().isEmpty)
      // The window closed (00:00 CST = 06:00Z): the next cron run notifies, once, naming the file.
      let closed = utc("2026-03-07T06:10:00Z")
      var lines: [String] = []
      _ = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { closed }, log: { lines.append($0) })
      _ = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { closed.addingTimeInterval(600) },
        log: { _ in })
      let notices = try stillArrivingNotices()
      #expect(notices.count == 1)
      let text = try readText(workdir.root + "/notifications/" + notices[0])
      #expect(
        text.contains("Subject: [sisdrop] Demo District: window closed, inbox still arriving"))
      #expect(text.contains("is still arriving: changed"))
      #expect(text.contains(".csv"))
      #expect(lines.contains { $0.contains("the run window closed while") })
      status = try #require(try workdir.state.integrationStatus())
      #expect(status.waitingNotified == true)
    }
  }
}
