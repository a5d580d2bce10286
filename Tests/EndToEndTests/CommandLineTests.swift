import Foundation
import SISDrop
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The built executables, run as an operator or cron would: exit codes and messages.
@Suite(.serialized) struct CommandLineTests {
  @Test func secondOpenWhileABatchIsOpenExits75() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      _ = try demoWorkdir(root + "/w")
      let first = try runTool(
        "sisdrop", ["open", "--pipeline", pipeline, "--workdir", root + "/w"])
      #expect(first.status == 0, "\(first.stderr)")
      let second = try runTool(
        "sisdrop", ["open", "--pipeline", pipeline, "--workdir", root + "/w"])
      #expect(second.status == 75)
      #expect(second.stderr.contains("is still open"))
    }
  }

  @Test func aSecondWriterExits75NamingTheHolder() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      _ = try BatchLifecycle.open(workdir: workdir, pipelinePath: pipeline, selection: .all)
      let lock = try workdir.lock(command: "sisdrop run --pipeline nightly.yaml")
      let result = try runTool("sisdrop-parse", ["--workdir", root + "/w"])
      #expect(result.status == 75)
      #expect(result.stderr.contains("pid \(getpid()) command sisdrop run --pipeline nightly.yaml"))
      withExtendedLifetime(lock) {}
    }
  }

  @Test func stageExecutablesRunTheBatchAndCloseSealsIt() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      _ = try demoWorkdir(root + "/w")
      #expect(
        try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", root + "/w"]).status
          == 0)
      // Out of order: match before normalize is refused with 66 and says what to run.
      let early = try runTool("sisdrop-match", ["--workdir", root + "/w"])
      #expect(early.status == 66)
      #expect(early.stderr.contains("sisdrop-normalize"))
      for tool in [
        "sisdrop-parse", "sisdrop-normalize", "sisdrop-match", "sisdrop-deliver", "sisdrop-close",
      ] {
        let result = try runTool(tool, ["--workdir", root + "/w"])
        #expect(result.status == 0, "\(tool): \(result.stderr)")
      }
      let status = try runTool("sisdrop", ["status", "--json", "--workdir", root + "/w"])
      #expect(status.stdout.contains("\"state\" : \"closed\""))
      let manifest = try #require(
        try FileManager.default.contentsOfDirectory(atPath: root + "/w/batches").first)
      let attributes = try FileManager.default.attributesOfItem(
        atPath: root + "/w/batches/\(manifest)/manifest.json")
      #expect((attributes[.posixPermissions] as? Int) == 0o440)
    }
  }

  @Test func aStageKilledMidWriteLeavesNoPartialOutputAndARerunFinishes() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      // The reference: an uninterrupted run.
      _ = try demoWorkdir(root + "/ref")
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", root + "/ref"]).status
          == 0)
      let batch = try #require(
        try FileManager.default.contentsOfDirectory(atPath: root + "/ref/batches").first)
      let reference = try folderContents(
        root + "/ref/batches/\(batch)",
        excluding: [
          "stage.json", "manifest.json", "pipeline.yaml", "report.html", "publication.json",
        ])

      _ = try demoWorkdir(root + "/w")
      // Kill the pipeline at increasing delays, each time resuming with another run.
      var killed = 0
      for delay in stride(from: 20_000, through: 400_000, by: 20_000) {
        let process = Process()
        process.executableURL = buildFolder().appendingPathComponent("sisdrop")
        process.arguments = ["run", "--pipeline", pipeline, "--workdir", root + "/w"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        usleep(useconds_t(delay))
        if process.isRunning {
          kill(process.processIdentifier, SIGKILL)
          killed += 1
        }
        process.waitUntilExit()
        // Whatever is published is whole: every stage folder has its stage.json and the files it lists.
        for folder
          in (try? FileManager.default.contentsOfDirectory(atPath: root + "/w/batches/\(batch)"))
          ?? []
        where folder.hasPrefix("40-deliver") || folder.hasPrefix("30-") || folder.hasPrefix("20-")
          || folder.hasPrefix("10-")
        {
          let stageJSON = root + "/w/batches/\(batch)/\(folder)/stage.json"
          #expect(
            FileManager.default.fileExists(atPath: stageJSON),
            "\(folder) published without stage.json")
        }
        let outbox =
          (try? FileManager.default.contentsOfDirectory(atPath: root + "/w/outbox")) ?? []
        for name in outbox where !name.hasPrefix(".") {
          let published = try Data(contentsOf: URL(fileURLWithPath: root + "/w/outbox/" + name))
          #expect(
            reference["40-deliver/" + name] == published, "partial or wrong \(name) in the outbox")
        }
      }
      #expect(killed > 0)
      // A final run finishes the job; the result equals the uninterrupted run, byte for byte.
      let final = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", root + "/w"])
      #expect(final.status == 0, "\(final.stderr)")
      let result = try folderContents(
        root + "/w/batches/\(batch)",
        excluding: [
          "stage.json", "manifest.json", "pipeline.yaml", "report.html", "publication.json",
        ])
      let current = result.filter { !$0.key.contains(".attempt-") }
      let expected = reference.filter { !$0.key.contains(".attempt-") }
      #expect(current.keys.sorted() == expected.keys.sorted())
      for (name, data) in expected
      where name != "20-normalize/snapshot.json" && name != "20-normalize/snapshot.sqlite" {
        #expect(current[name] == data, "\(name) differs from the uninterrupted run")
      }
      let integrity = try Database(path: root + "/w/state.sqlite").scalar("PRAGMA integrity_check")
      #expect(integrity.string == "ok")
    }
  }

  @Test func badInputsGiveTheirExitCodes() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      func workdir(_ name: String, edit: (String) throws -> Void) throws -> String {
        let (w, _, _) = try demoWorkdir(root + "/" + name)
        try edit(w.root + "/inbox")
        return w.root
      }
      // A wrong header in the enrollment export: 65, naming the file and line.
      let header = try workdir("header") { inbox in
        let text = try readText(inbox + "/submissions.csv").replacingOccurrences(
          of: "Submission_ID,", with: "Sub_ID,")
        try? FileManager.default.removeItem(atPath: inbox + "/submissions.csv")
        try writeFile(inbox + "/submissions.csv", text)
      }
      var result = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", header])
      #expect(result.status == 65)
      #expect(result.stderr.contains("submissions.csv:1: missing required column Submission_ID"))

      // A header-only SIS students export: never read as "every student withdrew".
      let empty = try workdir("empty") { inbox in
        let first = try readText(inbox + "/students.csv").split(separator: "\n")[0]
        try FileManager.default.removeItem(atPath: inbox + "/students.csv")
        try writeFile(inbox + "/students.csv", first + "\n")
      }
      result = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", empty])
      #expect(result.status == 65)
      #expect(result.stderr.contains("the students export has no records"))

      // No SIS export and no earlier snapshot: 66.
      let missing = try workdir("missing") { inbox in
        for name in ["students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv"] {
          try FileManager.default.removeItem(atPath: inbox + "/" + name)
        }
      }
      result = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", missing])
      #expect(result.status == 66)

      // An XML export with a DOCTYPE: refused, 65.
      let xmlPipeline = try openPipeline(root + "/xml", xml: true)
      let (xmlWork, _, _) = try demoWorkdir(root + "/xmlwork", xml: true)
      let xml = try readText(xmlWork.root + "/inbox/submissions.xml")
      try FileManager.default.removeItem(atPath: xmlWork.root + "/inbox/submissions.xml")
      try writeFile(
        xmlWork.root + "/inbox/submissions.xml",
        xml.replacingOccurrences(
          of: "<submissions>", with: "<!DOCTYPE submissions [<!ENTITY x \"y\">]>\n<submissions>"))
      result = try runTool(
        "sisdrop", ["run", "--pipeline", xmlPipeline, "--workdir", xmlWork.root])
      #expect(result.status == 65)
      #expect(result.stderr.contains("DOCTYPE"))

      // An unknown key in the pipeline: 78 with the key and its line.
      let bad = try writeFile(
        root + "/bad.yaml", "version: 1\ndistrict:\n  name: X\n  timezone: America/Chicago\n")
      result = try runTool("sisdrop", ["run", "--pipeline", bad, "--workdir", root + "/bad"])
      #expect(result.status == 78)
      #expect(result.stderr.contains("bad.yaml:4: district.timezone: unknown key 'timezone'"))

      // A Plugin.xml that does not grant a delivered field: 78 naming column, table and field.
      let plugin = try readText(Checkout.demoDistrict + "/config/Plugin.xml")
        .replacingOccurrences(
          of: "table=\"Students\" field=\"Street\" access=\"FullAccess\"",
          with: "table=\"Students\" field=\"Street\" access=\"ViewOnly\"")
      try writeFile(root + "/policy/Plugin.xml", plugin)
      let policy = try writeFile(
        root + "/policy/pipeline.yaml",
        try readText(pipeline).replacingOccurrences(
          of: Checkout.root + "/Fixtures/demo-district/config/Plugin.xml",
          with: root + "/policy/Plugin.xml"))
      _ = try demoWorkdir(root + "/policywork")
      result = try runTool(
        "sisdrop", ["run", "--pipeline", policy, "--workdir", root + "/policywork"])
      #expect(result.status == 78)
      #expect(result.stderr.contains("Students.Street"))
      // Nothing was published.
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: root + "/policywork/outbox").filter {
          !$0.hasPrefix(".")
        }.isEmpty)
    }
  }

  @Test func aMalformedRecordIsRejectedAndTheRestGoOn() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let path = workdir.root + "/inbox/submissions.csv"
      var lines = try readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
      lines[1] = lines[1] + ",extra"  // a ragged row: S-2026-0001
      try FileManager.default.removeItem(atPath: path)
      try writeFile(path, lines.joined(separator: "\n"))
      let result = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(result.status == 0, "\(result.stderr)")
      let batch = try workdir.batch(nil).id
      let rejects = try csvRows(workdir.stageFolder(batch, .parse) + "/rejects.csv")
      #expect(rejects.count == 2)
      #expect(
        rejects[1][0] == "S-2026-0001" && rejects[1][5].contains("ragged row")
          && rejects[1][8] == "2")
      let errors = try csvRows(workdir.stageFolder(batch, .deliver) + "/errors.csv").dropFirst().map
      { $0[0] }
      #expect(errors.contains("S-2026-0001"))
      let delivered = try csvRows(workdir.stageFolder(batch, .deliver) + "/delivered.csv").count - 1
      let expected = try DemoExpectation.load()
      #expect(expected.delivery["S-2026-0001"] == "delivered")
      #expect(
        delivered == expected.submissions("delivered") - 1,
        "every delivered submission but the ragged one")
    }
  }

  /// Every command's `--help` reads cleanly in a terminal of 80 columns (and so does the man page,
  /// generated from the same text): a discussion line ends where the next word would not fit (the
  /// parser wraps at 79), or at the end of a sentence, never in the middle of a sentence because the
  /// source broke it there.
  @Test func everyHelpDiscussionReadsCleanlyAt80Columns() throws {
    let commands = [
      "demo", "run", "open", "status", "pending", "cancel", "resolve", "keep-sis", "accept",
      "withdraw", "answers", "review", "show", "parse", "normalize", "match", "deliver", "close",
      "correct", "report", "check", "backup", "verify", "rebuild-state", "redeliver", "confirm",
      "tardies",
    ]
    for command in commands {
      let help = try runTool("sisdrop", [command, "--help"], environment: ["COLUMNS": "80"])
      #expect(help.status == 0, "\(command): \(help.stderr)")
      let text = help.stdout.components(separatedBy: "\nUSAGE:")[0]
      let lines = text.components(separatedBy: "\n")
      // Indented lines are laid out by hand (the answer files' columns): left as they are.
      for (line, next) in zip(lines, lines.dropFirst())
      where !line.isEmpty && !next.isEmpty && !line.hasPrefix(" ") && !next.hasPrefix(" ") {
        let word = next.prefix { $0 != " " }
        #expect(
          line.count + 1 + word.count > 79 || line.hasSuffix(".") || line.hasSuffix(":"),
          "sisdrop \(command) --help breaks a sentence early:\n\(line)\n\(next)")
      }
    }
  }
}
