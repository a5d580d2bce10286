import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// A sendmail stand-in: appends each message it reads to a file, with a separator line.
func fakeSendmail(_ root: String) throws -> (command: String, received: String) {
  let received = root + "/sent.mbox"
  let script = try writeFile(
    root + "/sendmail", "#!/bin/sh\n{ cat; echo '--- end of message ---'; } >> \(received)\n")
  chmod(script, 0o755)
  return (script + " -t -i", received)
}

/// Every student name and birth date in the demo district (submissions and SIS), in the forms they appear.
func demoNamesAndBirthDates() throws -> (names: Set<String>, dates: Set<String>) {
  var names = Set<String>()
  var dates = Set<String>()
  for (file, nameColumns, dobColumn) in [
    ("/enrollment-csv/submissions.csv", [4, 5, 6], 7), ("/sis/students.csv", [2, 3, 4], 5),
  ] {
    for row in try csvRows(Checkout.demoDistrict + file).dropFirst() {
      for column in nameColumns {
        let name = row[column].trimmingCharacters(in: .whitespaces)
        if name.count >= 3 { names.insert(name.lowercased()) }
      }
      let dob = row[dobColumn].trimmingCharacters(in: .whitespaces)
      dates.insert(dob)
      // The other written form: MM/DD/YYYY ↔ YYYY-MM-DD.
      let parts = dob.split(whereSeparator: { $0 == "/" || $0 == "-" }).map(String.init)
      if parts.count == 3 {
        dates.insert(
          parts[0].count == 4
            ? "\(parts[1])/\(parts[2])/\(parts[0])" : "\(parts[2])-\(parts[0])-\(parts[1])")
      }
    }
  }
  return (names, dates)
}

@Suite(.serialized) struct NightlyRunTests {
  @Test func aRunDrivesTheStatusAndNotifiesWithIdsOnly() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let (sendmail, received) = try fakeSendmail(root)
      let pipeline = try demoPipeline(
        root,
        extra: """
          notifications:
            to: [sis-admin@district.example, registrar@district.example]
            from: sisdrop@district.example
            sendmail: \(sendmail)
          """ + "\n")
      let now = utc("2026-03-06T22:05:00Z")
      let outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { now }, log: { _ in })
      let summary = try #require(outcome.summary)
      #expect(outcome.status.state == .synchronizing)
      #expect(
        try workdir.state.integrationEvents().map(\.to) == [
          "Pending Initialization", "Initializing", "Synchronizing",
        ])

      // At most one message per run: the status changes and the review queue in one, a file piped to sendmail.
      let files = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      ).sorted()
      #expect(files.count == 1)
      #expect(
        files.filter { $0.contains("-status-change-") }.count == 1,
        "named by its most pressing part")
      let mbox = try readText(received)
      #expect(mbox.components(separatedBy: "--- end of message ---").count - 1 == 1)
      let names = try demoNamesAndBirthDates()
      // The check below can fail: the lists hold the demo's names and birth dates in both forms.
      #expect(
        names.names.contains("rivera") && names.dates.contains("2020-07-15")
          && names.dates.contains("07/15/2020"))
      for file in files {
        let data = try Data(
          contentsOf: URL(fileURLWithPath: workdir.root + "/notifications/" + file))
        let text = String(decoding: data, as: UTF8.self)
        // RFC 5322: CRLF line endings only, the required headers, a blank line before the body.
        #expect(
          !text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "\(file) has a bare LF")
        // Headers unfolded (RFC 5322 §2.2.3: a CRLF before white space is folding).
        let head = text.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(
          of: "\r\n ", with: " "
        ).components(separatedBy: "\r\n")
        for header in [
          "From: sisdrop@district.example",
          "To: sis-admin@district.example, registrar@district.example",
          "Date: Fri, 06 Mar 2026 16:05:00 -0600", "MIME-Version: 1.0",
        ] {
          #expect(head.contains(header), "\(file) lacks \(header)")
        }
        #expect(
          head.contains { $0.hasPrefix("Message-ID: <") && $0.hasSuffix(">") && $0.contains("@") })
        #expect(head.contains { $0.hasPrefix("Subject: [sisdrop] Demo District: ") })
        #expect(text.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        // Ids and counts, never a name or a birth date.
        let words = Set(
          text.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" && $0 != "-" }).map(
            String.init))
        #expect(
          words.intersection(names.names).isEmpty,
          "\(file) names \(words.intersection(names.names))")
        for date in names.dates { #expect(!text.contains(date), "\(file) carries a birth date") }
        #expect(
          mbox.contains(text.replacingOccurrences(of: "\r\n", with: "\n")) || mbox.contains(text))
      }
      let review = try readText(workdir.root + "/notifications/" + files[0])
      let potential = (try DemoExpectation.load()).students["potential"] ?? -1
      #expect(potential > 0 && summary.review.count == potential)
      let waiting = (try DemoExpectation.load()).delivery.values.filter { $0 != "delivered" }.count
      #expect(
        review.contains("\(waiting) submission(s) for Demo District wait for a person."),
        "\(review)")
      #expect(review.contains("== Pending Initialization") || review.contains("Initializing"))
      for item in summary.review {
        #expect(review.contains("\(item[0]) student \(item[1]) [new]: \(item[2])"), "\(item)")
      }
      #expect(review.contains("Records in error"))
      #expect(try workdir.state.unsentNotifications().isEmpty)

      // Nothing new: exit quietly, no status change, no notification.
      let again = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { now.addingTimeInterval(600) },
        log: { _ in })
      #expect(again.summary == nil && again.waiting == "nothing new in the inbox")
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/notifications").count
          == 1)
    }
  }

  @Test func theQueueIsMailedWhenItChangesAndAsAReminderNotOnEveryRun() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "notifications:\n  remind_after_days: 3\n")
      let start = Date()
      var clock = start
      func night(_ hours: Double) throws -> [String] {
        clock = start.addingTimeInterval(hours * 3600)
        let now = clock
        _ = try NightlyRun.run(
          workdir: workdir, pipelinePath: pipeline, now: { now }, log: { _ in })
        return try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/notifications")
          .sorted()
      }
      func export() throws {
        for name in try FileManager.default.contentsOfDirectory(
          atPath: Checkout.demoDistrict + "/enrollment-csv")
        {
          try? FileManager.default.removeItem(atPath: workdir.inbox(config) + "/" + name)
          try FileManager.default.copyItem(
            atPath: Checkout.demoDistrict + "/enrollment-csv/" + name,
            toPath: workdir.inbox(config) + "/" + name)
        }
      }
      #expect(try night(0).count == 1)
      // Ten minutes later, nothing new, the same queue: nothing is sent.
      #expect(try night(0.2).count == 1)
      // The same export the next night, the queue unchanged: nothing is sent again.
      try export()
      #expect(try night(24).count == 1)
      // An answer changes the queue: one message says so.
      try Resolver.resolve(
        workdir: workdir, submission: "S-2026-0028", student: 1, sisID: "107328", by: "registrar")
      try export()
      let afterAnswer = try night(48)
      #expect(afterAnswer.count == 2)
      let changed = try readText(workdir.root + "/notifications/" + afterAnswer.last!)
      #expect(
        !changed.contains("S-2026-0028 student 1"), "answered and delivered: no longer in the queue"
      )
      #expect(changed.contains("S-2026-0029 student 1"))
      // Items that have waited three nights, three nights after people were last told: one reminder,
      // then not again the next night, and again three nights later.
      #expect(try night(24 * 4).count == 2, "told two nights ago")
      let reminded = try night(24 * 5 + 1)
      #expect(reminded.count == 3)
      #expect(
        try readText(workdir.root + "/notifications/" + reminded.last!).contains("A reminder:"))
      #expect(try night(24 * 6).count == 3)
      #expect(try night(24 * 8 + 2).count == 4, "and again after three more nights")
    }
  }

  /// An answer file refused whole is told: a notification (names, counts, where: no value of the
  /// file), `sisdrop status`, and its problems beside the kept file; on a night with nothing else
  /// new too (the clerk drops only answers between nights). A later file taken whole clears it.
  @Test func aRefusedAnswerFileIsToldNotOnlyLogged() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let start = Date()
      func night(_ hours: Double) throws -> [String] {
        let now = start.addingTimeInterval(hours * 3600)
        _ = try NightlyRun.run(
          workdir: workdir, pipelinePath: pipeline, now: { now }, log: { _ in })
        return try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/notifications")
          .sorted()
      }
      #expect(try night(0).count == 1, "night 1: the review queue")
      // Between nights the clerk answers S-2026-0028 and, by a slip, a submission that does not exist.
      _ = try writeFile(
        workdir.inbox(config) + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID\nS-2026-0028,1,107328\nS-2099-0001,1,NO-MATCH\n")
      let sent = try night(1)
      #expect(sent.count == 2, "\(sent)")
      let notice = try readText(workdir.root + "/notifications/" + sent.last!)
      #expect(notice.contains("answer file refused, none of its answers taken"), "\(notice)")
      #expect(notice.contains("resolutions.csv (1 problem; kept in"), "\(notice)")
      #expect(!notice.contains("S-2099-0001"), "no value of the refused file")
      let status = try #require(try workdir.state.integrationStatus())
      let refusal = try #require(status.answerFilesRefused)
      #expect(refusal.hasPrefix("resolutions.csv (1 problem; kept in archive/answers/refused/"))
      #expect(
        refusal.hasSuffix(
          "none of its answers were taken; fix the file and drop it in the inbox again"))
      let refused = workdir.archive(config) + "/answers/refused"
      let kept = try #require(
        try FileManager.default.contentsOfDirectory(atPath: refused).first {
          $0.hasSuffix("-resolutions.csv")
        })
      let problems = try readText(refused + "/" + kept + ".problems.txt")
      #expect(
        problems.hasPrefix("resolutions.csv:3:") && problems.contains("not in the pending ledger"),
        "\(problems)")
      #expect(try workdir.state.resolutions().isEmpty, "nothing taken from it")
      let shown = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        shown.stdout.contains("WARNING: answer file refused (")
          && shown.stdout.contains("resolutions.csv (1 problem;"), "\(shown.stdout)")
      let json = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let integration = try #require(object["integration"] as? [String: Any])
      #expect(integration["answer_files_refused"] as? String == refusal)
      // The fixed file is taken whole: the warning goes. The answer waits for the next export (the
      // queue is the same: nothing to tell).
      _ = try writeFile(
        workdir.inbox(config) + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID\nS-2026-0028,1,107328\n")
      #expect(try night(2).count == 2)
      #expect(try workdir.state.integrationStatus()?.answerFilesRefused == nil)
      #expect(try workdir.state.resolutions().count == 1)
    }
  }

  @Test func aFailedRunIsNotifiedAndRetriedWithBackoff() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(
        root, extra: "schedule:\n  window: any\n  retry: {first: 5m, max: 1h}\n")
      // A submissions export whose header lost its first column, and a bad birth date quoted in the error.
      let path = workdir.root + "/inbox/submissions.csv"
      let text = try readText(path).replacingOccurrences(of: "Submission_ID,", with: "Sub_ID,")
      try FileManager.default.removeItem(atPath: path)
      try writeFile(path, text)
      let now = utc("2026-03-06T22:05:00Z")
      // Closure literals stay out of `#expect(throws:)`'s body (CONTRIBUTING.md, "Tests").
      let quiet: (String) -> Void = { _ in }
      let atNow: () -> Date = { now }
      let twoMinutesLater: () -> Date = { now.addingTimeInterval(120) }
      #expect(throws: SISDropError.self) {
        try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, now: atNow, log: quiet)
      }
      var status = try #require(try workdir.state.integrationStatus())
      #expect(status.state == .reinitializing)
      #expect(status.retryAt == now.addingTimeInterval(300))
      #expect(status.reason.contains("missing required column Submission_ID"))
      let files = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications")
      let failed = try #require(files.first { $0.contains("-run-failed-") })
      let message = try readText(workdir.root + "/notifications/" + failed)
      #expect(message.contains("Subject: [sisdrop] Demo District: run failed (exit 65)"))
      #expect(message.contains("Next attempt: 2026-03-06T22:10:00Z"))

      // Before the retry time: not run. An operator's forced run fails again: backoff doubles.
      let waiting = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { now.addingTimeInterval(60) }, log: { _ in }
      )
      #expect(
        waiting.summary == nil
          && waiting.waiting?.contains("retrying after 1 failed attempt(s)") == true)
      #expect(throws: SISDropError.self) {
        try NightlyRun.run(
          workdir: workdir, pipelinePath: pipeline, force: true, now: twoMinutesLater, log: quiet)
      }
      status = try #require(try workdir.state.integrationStatus())
      #expect(status.failures == 2 && status.retryAt == now.addingTimeInterval(120 + 600))

      // The operator cancels the failed batch and the sender uploads a good export: the next run
      // succeeds and the status is Synchronizing.
      let open = try #require(try workdir.state.openBatch())
      _ = try BatchLifecycle.cancel(workdir: workdir, batch: open)
      let config = try PipelineConfig.load(path: pipeline)
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      let later = now.addingTimeInterval(1800)
      let fixed = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, now: { later }, log: { _ in })
      #expect(fixed.summary != nil)
      #expect(fixed.status.state == .synchronizing && fixed.status.failures == 0)
    }
  }

  @Test func disabledAndOutsideTheWindowNothingRuns() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let off = try demoPipeline(root + "/off", extra: "schedule:\n  enabled: false\n")
      var outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: off, now: { utc("2026-03-06T22:05:00Z") }, log: { _ in })
      #expect(outcome.status.state == .disabled && outcome.summary == nil)
      // Enabled, default window 16:00 America/Chicago: at 09:00 CST nothing runs, the files stay.
      let on = try demoPipeline(root + "/on", extra: "schedule:\n  enabled: true\n")
      outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: on, now: { utc("2026-03-06T15:00:00Z") }, log: { _ in })
      #expect(outcome.status.state == .pendingInitialization && outcome.summary == nil)
      #expect(outcome.waiting?.contains("opens at 2026-03-06T22:00:00Z") == true)
      #expect(FileManager.default.fileExists(atPath: workdir.root + "/inbox/submissions.csv"))
      // At 16:01 CST it runs.
      outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: on, now: { utc("2026-03-06T22:01:00Z") }, log: { _ in })
      #expect(outcome.status.state == .synchronizing && outcome.summary != nil)
      #expect(
        try workdir.state.integrationEvents().map(\.to) == [
          "Disabled", "Pending Initialization", "Initializing", "Synchronizing",
        ])
    }
  }

  @Test func quotedValuesInErrorsAreMasked() {
    #expect(
      Notification.mask("submissions.csv:12: DOB '07/15/2020' is not a date; name \"Rivera\"")
        == "submissions.csv:12: DOB '…' is not a date; name \"…\"")
    #expect(Notification.mask("unterminated 'Rivera") == "unterminated '…")
    // An apostrophe inside a word is sisdrop's own English, not a quote: it neither hides the
    // advice after it nor ends a quoted value early (which printed the rest of the value).
    #expect(
      Notification.mask("the SIS's schools: name 'O'Brien' is not the child's")
        == "the SIS's schools: name '…' is not the child's")
    // sisdrop's own quotations use typographic quotes, which are never masked.
    #expect(
      Notification.mask("never read as “every student withdrew”: upload 'students.csv'")
        == "never read as “every student withdrew”: upload '…'")
  }
}
