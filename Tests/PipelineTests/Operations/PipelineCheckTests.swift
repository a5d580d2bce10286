import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore

/// `sisdrop check`: every configuration problem in one go; `run` refuses the same pipeline, and
/// the refusal, like any failure, reaches the status and the people notified.
@Suite(.serialized) struct PipelineCheckTests {
  /// The demo pipeline with three mistakes: an unknown key, a bad value, a missing file.
  func threeMistakes(_ root: String) throws -> String {
    let text = try demoPipelineText([
      (
        "  time_zone: America/Chicago\n", "  time_zone: America/Chicago\n  timezone_fallback: UTC\n"
      ),
      ("auto_close: true", "auto_close: sometimes"),
      ("config/building_map.csv", "config/building_map_2026.csv"),
    ])
    return try writeFile(root + "/broken.yaml", text)
  }

  @Test func aMisspelledTimeZoneIsAProblemNotAZoneThatIsNotSet() throws {
    try withTemporaryFolder { root in
      let pipeline = try writeFile(
        root + "/zone.yaml", try demoPipelineText([("America/Chicago", "America/Chicgo")]))
      let check = try PipelineCheck.run(
        pipelinePath: pipeline, workdir: root + "/w", otherwise: root)
      #expect(
        check.problems.contains {
          $0.message.contains("'America/Chicgo' is not an IANA time zone")
        }, "\(check.problems)")
      #expect(!check.warnings.contains { $0.contains("is not set") }, "\(check.warnings)")
    }
  }

  @Test func threeMistakesAreReportedInOneCheckAndRunRefusesBeforeClaiming() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try threeMistakes(root)
      let lines = try readText(pipeline).split(separator: "\n", omittingEmptySubsequences: false)
      func line(_ text: String) -> Int { (lines.firstIndex { $0.contains(text) } ?? -1) + 1 }
      let check = try runTool(
        "sisdrop", ["check", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(check.status == 78, "\(check.stdout)\(check.stderr)")
      let problems = check.stdout.split(separator: "\n").filter { $0.hasPrefix("problem: ") }
      #expect(problems.count == 3, "\(check.stdout)")
      #expect(check.stdout.contains("\(pipeline):\(line("timezone_fallback")):"), "\(check.stdout)")
      #expect(
        check.stdout.contains("district.timezone_fallback: unknown key 'timezone_fallback'"),
        "\(check.stdout)")
      #expect(
        check.stdout.contains("\(pipeline):\(line("auto_close")):")
          && check.stdout.contains("batch.auto_close: expected true or false, found 'sometimes'"),
        "\(check.stdout)")
      #expect(
        check.stdout.contains("\(pipeline):\(line("building_map")):")
          && check.stdout.contains("mappings.building_map: file not found"),
        "\(check.stdout)")
      #expect(
        check.stdout.contains(
          "3 problems: `sisdrop run` refuses this pipeline until they are fixed"), "\(check.stdout)"
      )

      // --json: the same three, each with file, line and what to do.
      let json = try runTool(
        "sisdrop", ["check", "--json", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(json.status == 78)
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      #expect(object["ok"] as? Bool == false)
      let listed = try #require(object["problems"] as? [[String: Any]])
      #expect(
        listed.compactMap { $0["line"] as? Int }.sorted()
          == [line("timezone_fallback"), line("auto_close"), line("building_map")].sorted())

      // run: the same three in one refusal, before anything is claimed.
      let before = try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/inbox")
        .sorted()
      let run = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 78, "\(run.stderr)")
      #expect(run.stderr.contains("3 problems in the pipeline file"), "\(run.stderr)")
      // Off a terminal the last line says how the run ended.
      let last = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
      #expect(
        last.range(
          of: #"Z info sisdrop\[\d+\]: run finished: exit 78 in \d+\.\d s$"#,
          options: .regularExpression) != nil, "\(last)")
      for text in [
        "unknown key 'timezone_fallback'", "found 'sometimes'",
        "mappings.building_map: file not found",
      ] {
        #expect(run.stderr.contains(text), "\(run.stderr)")
      }
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/inbox").sorted()
          == before)
      #expect(try workdir.state.allBatches().isEmpty)
      // Not silent: the status says the run failed, and why.
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        status.stdout.contains("the pipeline file cannot be used")
          && status.stdout.contains("(failed"), "\(status.stdout)")
    }
  }

  @Test func aGoodPipelinePassesAndCheckCreatesNothing() throws {
    try withTemporaryFolder { root in
      let pipeline = try writeFile(root + "/demo.yaml", try demoPipelineText())
      // The inbox and the outbox are the SFTP drop folders: missing, each is a problem (nothing
      // creates them: their owners and modes are the district's); the working directory is created
      // by the first run, so it only needs a parent this user may write.
      let fresh = root + "/fresh"
      let missing = try runTool("sisdrop", ["check", "--pipeline", pipeline, "--workdir", fresh])
      #expect(missing.status == 78)
      #expect(
        missing.stdout.contains("paths.inbox \(fresh)/inbox does not exist"), "\(missing.stdout)")
      #expect(
        missing.stdout.contains("paths.outbox \(fresh)/outbox does not exist")
          && missing.stdout.contains("the SFTP folder the SIS picks the delivery files up from"),
        "\(missing.stdout)")
      #expect(
        missing.stdout.contains("warning: working directory \(fresh) does not exist yet"),
        "\(missing.stdout)")
      #expect(!FileManager.default.fileExists(atPath: fresh))
      // Each named with the line of its key, as every other problem is.
      let lines = try readText(pipeline).split(separator: "\n", omittingEmptySubsequences: false)
      for key in ["inbox", "outbox"] {
        let line = try #require(lines.firstIndex { $0.hasPrefix("  \(key): ") }) + 1
        #expect(
          missing.stdout.contains("problem: \(pipeline):\(line): paths.\(key) "),
          "\(key): \(missing.stdout)")
      }

      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let good = try runTool(
        "sisdrop", ["check", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
      #expect(good.stdout.contains("ok: no problems"), "\(good.stdout)")
      #expect(try workdir.state.allBatches().isEmpty)
      // A missing pipeline file is missing input.
      #expect(try runTool("sisdrop", ["check", "--pipeline", root + "/nowhere.yaml"]).status == 66)
    }
  }

  /// Plugin.xml against every delivery column, the time zone and sendmail, all listed together.
  @Test func fieldPolicyTimeZoneAndSendmailAreCheckedTogether() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let plugin = try readText(Checkout.demoDistrict + "/config/Plugin.xml")
        .replacingOccurrences(
          of: "<field table=\"Students\" field=\"Zip\" access=\"FullAccess\"/>", with: ""
        )
        .replacingOccurrences(
          of: "<field table=\"Contacts\" field=\"Phone\" access=\"FullAccess\"/>",
          with: "<field table=\"Contacts\" field=\"Phone\" access=\"ViewOnly\"/>")
      try writeFile(root + "/Plugin.xml", plugin)
      let text =
        try demoPipelineText([
          (Checkout.demoDistrict + "/config/Plugin.xml", root + "/Plugin.xml"),
          ("  time_zone: America/Chicago\n", ""),
        ])
        + "notifications:\n  to: [sis-admin@district.example]\n  sendmail: \(root)/no-such-sendmail -t -i\n"
      let pipeline = try writeFile(root + "/p.yaml", text)
      let check = try PipelineCheck.run(
        pipelinePath: pipeline, workdir: workdir.root, otherwise: root)
      let messages = check.problems.map(\.message)
      #expect(
        messages.contains {
          $0.contains("writes Students.Zip, which Plugin.xml does not grant FullAccess")
        }, "\(messages)")
      #expect(
        messages.contains {
          $0.contains("writes Contacts.Phone, which Plugin.xml does not grant FullAccess")
        }, "\(messages)")
      #expect(
        messages.contains {
          $0.contains("notifications.sendmail: \(root)/no-such-sendmail does not exist")
        }, "\(messages)")
      #expect(
        check.warnings.contains { $0.contains("district.time_zone is not set") },
        "\(check.warnings)")
      #expect(check.sendmailProblem != nil)
    }
  }

  /// A pipeline file that cannot be read stops the integration loudly: the status says failed and
  /// why, and the addresses of the last good run hear it, once.
  @Test func anUnreadablePipelineIsRecordedAndNotifiedToTheLastGoodAddresses() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let (sendmail, received) = try fakeSendmail(root)
      let good =
        try demoPipelineText()
        + "notifications:\n  to: [sis-admin@district.example]\n  sendmail: \(sendmail)\n"
      let pipeline = try writeFile(root + "/p.yaml", good)
      let first = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      #expect(first.status.state == .synchronizing)
      let sentBefore = try readText(received).components(separatedBy: "--- end of message ---")
        .count

      try writeFile(
        pipeline, good.replacingOccurrences(of: "auto_close: true", with: "auto_clos: true"))
      // Closure literals stay out of `#expect(throws:)`'s body (CONTRIBUTING.md, "Tests").
      let quiet: (String) -> Void = { _ in }
      #expect(throws: SISDropError.self) {
        _ = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, log: quiet)
      }
      let status = try #require(try workdir.state.integrationStatus())
      #expect(status.state == .reinitializationScheduled, "\(status)")
      #expect(status.lastRunResult == "failed")
      #expect(
        status.reason.contains("the pipeline file cannot be used")
          && status.reason.contains("batch.auto_clos: unknown key"), "\(status.reason)")
      let mbox = try readText(received)
      #expect(
        mbox.components(separatedBy: "--- end of message ---").count == sentBefore + 2, "\(mbox)")
      #expect(
        mbox.contains("To: sis-admin@district.example") && mbox.contains("run failed (exit 78)"),
        "\(mbox)")
      let shown = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(shown.stdout.contains("integration: Reinitialization Scheduled"), "\(shown.stdout)")
      #expect(
        shown.stdout.contains("last run: ") && shown.stdout.contains("(failed"), "\(shown.stdout)")

      // cron again, the file still broken: recorded already, not mailed again.
      #expect(throws: SISDropError.self) {
        _ = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, log: quiet)
      }
      #expect(
        try readText(received).components(separatedBy: "--- end of message ---").count == sentBefore
          + 2)
      // A missing file the same way.
      try FileManager.default.removeItem(atPath: pipeline)
      #expect(throws: SISDropError.self) {
        _ = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, log: quiet)
      }
      #expect(try workdir.state.integrationStatus()?.reason.contains("file not found") == true)
    }
  }

  /// A sendmail that is not there does not stop delivery, but it is not silent either: the run
  /// logs a warning and `sisdrop status` shows it until mail goes out again.
  @Test func notificationsThatCannotBeSentShowInTheStatus() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try writeFile(
        root + "/p.yaml",
        try demoPipelineText()
          + "notifications:\n  to: [a@district.example]\n  sendmail: \(root)/sendmail -t -i\n")
      var lines: [String] = []
      let outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) })
      #expect(outcome.summary != nil)
      #expect(
        lines.contains { $0.hasPrefix("warning: notifications cannot be sent: ") }, "\(lines)")
      var status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        status.stdout.contains("WARNING: notifications cannot be sent (since "), "\(status.stdout)")
      // The messages waited in the queue; once sendmail is there they go, and the warning goes.
      _ = try fakeSendmail(root)
      _ = try NightlyRun.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      #expect(try workdir.state.unsentNotifications().isEmpty)
      status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(!status.stdout.contains("notifications cannot be sent"), "\(status.stdout)")
    }
  }
}

/// `sisdrop status` tells the truth per stage: a deliver whose folder was written but whose
/// publication to the outbox failed is not "done".
@Suite struct StageStatusTruthTests {
  @Test func aDeliverWhosePublishFailedIsNotDone() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try writeFile(
        root + "/p.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      #expect(
        try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root]).status
          == 0)
      for tool in ["sisdrop-parse", "sisdrop-normalize", "sisdrop-match"] {
        #expect(try runTool(tool, ["--workdir", workdir.root]).status == 0)
      }
      // The outbox is not a folder while deliver publishes.
      let outbox = workdir.root + "/outbox"
      try FileManager.default.moveItem(atPath: outbox, toPath: outbox + ".away")
      try writeFile(outbox, "not a folder\n")
      #expect(try runTool("sisdrop-deliver", ["--workdir", workdir.root]).status != 0)
      func deliverState() throws -> String {
        let json = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
        let object = try #require(
          try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let batches = try #require(object["batches"] as? [[String: Any]])
        let deliver = (batches.last?["stages"] as? [String: Any])?["deliver"] as? [String: Any]
        return (deliver?["state"] as? String ?? "")
          + ((deliver?["detail"] as? String).map { ": " + $0 } ?? "")
      }
      let failedState = try deliverState()
      #expect(
        failedState.hasPrefix("failed: its folder is written but publishing to the outbox failed"),
        "\(failedState)")
      let text = try runTool("sisdrop", ["status", "--workdir", workdir.root]).stdout
      #expect(
        text.contains(
          "  deliver: failed: its folder is written but publishing to the outbox failed"), "\(text)"
      )
      // Put right and delivered again: done.
      try FileManager.default.removeItem(atPath: outbox)
      try FileManager.default.moveItem(atPath: outbox + ".away", toPath: outbox)
      let again = try runTool("sisdrop-deliver", ["--workdir", workdir.root])
      #expect(again.status == 0, "\(again.stderr)")
      #expect(try deliverState() == "done")
    }
  }
}
