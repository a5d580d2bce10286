import Foundation
import SISDrop
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// `sisdrop show` through the built binary, on the demo district.
@Suite struct ShowCommandTests {
  @Test func showNamesTheRuleThatMadeAStudentNewAsTheReportDoes() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      // The SIS import does not create students here: the new ones stay pending, so `show` has their decisions.
      let pipeline = try writeFile(
        root + "/pipeline.yaml",
        try demoPipelineText([("  profile: csv\n", "  profile: csv\n  create: {students: false}\n")]
        ))
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let result = try runTool("sisdrop", ["show", "S-2026-0053", "--workdir", workdir.root])
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("student 1: new"), "\(result.stdout)")
      // The twin of an SIS student: the clause that fired, not the matcher's three alternatives.
      let rule = try #require(
        result.stdout.split(separator: "\n").first { $0.contains("is another child:") },
        "\(result.stdout)")
      #expect(
        rule.hasSuffix(
          "is another child: a twin with another given name (same birth date and family)"),
        "\(rule)")
      #expect(!result.stdout.contains("; or "), "\(result.stdout)")
      // One source of truth: the report says the same words.
      let html = try readText(workdir.batchFolder(summary.batch) + "/report.html")
      #expect(html.contains(String(rule.drop { $0 == " " || $0 == "·" })))
    }
  }

  /// probe27: a form's First_Name `Hamza` + ESC was held as differing from the SIS's `Hamza` (the
  /// difference invisible), `show` printed the ESC to the clerk's terminal, and accepted it was
  /// delivered. Now `show` prints it as `\u001B`, and the delivery refuses the value: the record is
  /// in error with the character's code, never written into the SIS's file.
  @Test func anInvisibleCharacterIsShownEscapedAndNeverDelivered() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let submissions = workdir.inbox(config) + "/submissions.csv"
      let text = try readText(submissions)
      let edited = text.replacingOccurrences(
        of: "S-2026-0003,2026-27 Returning Student Registration,2026-11-20 14:24,6360151707,Hamza,",
        with:
          "S-2026-0003,2026-27 Returning Student Registration,2026-11-20 14:24,6360151707,Hamza\u{1B},"
      )
      #expect(edited != text)
      try FileManager.default.removeItem(atPath: submissions)
      try writeFile(submissions, edited)
      let night = try runTool(
        "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(night.status == 0, "\(night.stderr)")
      let show = try runTool("sisdrop", ["show", "S-2026-0003", "--workdir", workdir.root])
      #expect(show.status == 0, "\(show.stderr)")
      #expect(!show.stdout.contains("\u{1B}"), "the terminal is given no control character")
      let outbox = workdir.outbox(config)
      for name in try FileManager.default.contentsOfDirectory(atPath: outbox)
      where name.hasSuffix(".csv") {
        #expect(!(try readText(outbox + "/" + name)).contains("\u{1B}"), "\(name)")
      }
      // The clerk, seeing no difference, accepts the form's value; the next night refuses it.
      let accept = try runTool(
        "sisdrop", ["accept", "S-2026-0003", "First_Name", "--workdir", workdir.root])
      #expect(accept.status == 0, "\(accept.stderr)")
      try ReviewLoopTests.uploadExport(workdir, config)
      try FileManager.default.removeItem(atPath: submissions)
      try writeFile(submissions, edited)
      let night2 = try runTool(
        "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(night2.status == 0, "\(night2.stderr)")
      for name in try FileManager.default.contentsOfDirectory(atPath: outbox)
      where name.hasSuffix(".csv") {
        #expect(!(try readText(outbox + "/" + name)).contains("\u{1B}"), "\(name)")
      }
      let batch = try #require(try workdir.state.allBatches().last).id
      let errors = try readText(workdir.stageFolder(batch, .deliver) + "/errors.csv")
      #expect(errors.contains("holds a character no one sees (U+001B"), "\(errors)")
    }
  }

  /// The clerk's view of one submission on the shipped pipeline: a delivered submission still shows
  /// the decision that delivered it, no value is cut to fit a column, and a held update prints, for
  /// each field, the commands that answer it exactly as they are typed.
  @Test func showGivesEverySubmissionItsDecisionWholeValuesAndCommandsThatWork() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let w = ["--workdir", workdir.root]
      // Delivered tonight (a matched returning student): its decision is on record, and shown.
      let delivered = try runTool("sisdrop", ["show", "S-2026-0001"] + w)
      #expect(delivered.status == 0, "\(delivered.stderr)")
      #expect(delivered.stdout.contains("delivered (delivered in \(summary.batch))"))
      #expect(
        delivered.stdout.contains("last decided in batch \(summary.batch)"), "\(delivered.stdout)")
      #expect(delivered.stdout.contains("student 1: matched → SIS "), "\(delivered.stdout)")
      #expect(!delivered.stdout.contains("no match decision on record"), "\(delivered.stdout)")

      // Held (a nickname over the SIS's Robert) in a submission of two students.
      let held = try runTool("sisdrop", ["show", "S-2026-0026"] + w)
      #expect(held.status == 0, "\(held.stderr)")
      let email = try #require(
        held.stdout.split(separator: "\n").first { $0.hasPrefix("  Email ") }, "\(held.stdout)")
      // The SIS export's e-mail of 101015 (Fixtures/demo-district/sis/students.csv), whole.
      #expect(email.contains("robert.williams15@students.demo-district.example"), "\(email)")
      let street = try #require(
        held.stdout.split(separator: "\n").first { $0.hasPrefix("  Street ") })
      #expect(
        street.components(separatedBy: "2818 Governor St").count - 1 == 2
          && !street.contains("St2818"), "form and SIS side by side, apart: \(street)")
      let commands = held.stdout.components(separatedBy: "`").enumerated().filter {
        $0.offset % 2 == 1 && $0.element.hasPrefix("sisdrop ")
      }.map(\.element)
      #expect(
        commands.contains("sisdrop accept S-2026-0026 First_Name --student 1")
          && commands.contains("sisdrop keep-sis S-2026-0026 First_Name --student 1"),
        "\(held.stdout)")
      #expect(!commands.contains { $0.contains("FIELD") }, "no placeholder: \(commands)")
      for command in commands where command.hasPrefix("sisdrop accept") {
        let answer = try runTool(
          "sisdrop", command.split(separator: " ").dropFirst().map(String.init) + w)
        #expect(answer.status == 0, "\(command): \(answer.stderr)")
      }
    }
  }

  /// A correction is in the submission's history, whichever way it came, with the field, when, who
  /// and where from, never its value (probe26's finding 10: `show` said `history: []` after
  /// `sisdrop correct`, while README says it gives the history of answers). `--json` the same.
  @Test func showsHistoryHasTheCorrections() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let w = ["--workdir", workdir.root]
      let clerk = ["USER": "clerk7"]
      for street in ["12 Short St", "14 Short St"] {
        let corrected = try runTool(
          "sisdrop", ["correct", "S-2026-0061", "Street", street] + w, environment: clerk)
        #expect(corrected.status == 0, "\(corrected.stderr)")
      }
      try writeFile(
        root + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0061,student,1,City,Springfield\n")
      let file = try runTool(
        "sisdrop", ["correct", "--file", root + "/corrections.csv"] + w, environment: clerk)
      #expect(file.status == 0, "\(file.stderr)")
      let show = try runTool("sisdrop", ["show", "S-2026-0061"] + w)
      #expect(show.status == 0, "\(show.stderr)")
      let history = show.stdout.components(separatedBy: "\nhistory:\n").last ?? ""
      let lines = history.split(separator: "\n").map(String.init)
      #expect(
        lines.contains {
          $0.hasSuffix(" recorded by clerk7: correction student 1 Street (command)")
        }
          && lines.contains {
            $0.hasSuffix(" replaced by clerk7: correction student 1 Street (command)")
          }
          && lines.contains { $0.contains(" recorded by clerk7: correction student 1 City (") },
        "\(show.stdout)")
      #expect(!history.contains("Short St") && !history.contains("Springfield"), "\(history)")
      let json = try runTool("sisdrop", ["show", "S-2026-0061", "--json"] + w)
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let events = try #require(object["history"] as? [[String: Any]])
      #expect(
        events.compactMap { $0["what"] as? String }.filter { $0.hasPrefix("correction ") }.count
          == 3, "\(events)")
      #expect(events.allSatisfy { $0["by"] as? String == "clerk7" }, "\(events)")
    }
  }
}
