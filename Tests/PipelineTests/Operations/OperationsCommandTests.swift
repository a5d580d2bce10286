import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropFormats
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@Suite(.serialized) struct OperationsCommandTests {
  /// `sisdrop run` as cron calls it (stderr to a file, not a terminal), then `sisdrop status`.
  @Test func cronRunsLogLinesExitCodesAndStatus() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let first = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(first.status == 0, "\(first.stderr)")
      // Log lines fit for a log file: UTC timestamp, level, program and pid, message; no progress bars.
      let lines = first.stderr.split(separator: "\n")
      #expect(!lines.isEmpty)
      for line in lines {
        #expect(
          line.range(
            of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|warning|error) sisdrop\[\d+\]: "#,
            options: .regularExpression) != nil, "\(line)")
        #expect(!line.contains("\r"))
      }
      #expect(first.stderr.contains("integration status: Initializing → Synchronizing"))
      #expect(
        lines.last?.range(of: #": run finished: exit 0 in \d+\.\d s$"#, options: .regularExpression)
          != nil, "\(lines.last ?? "")")
      // Nothing new: 0, and it says so.
      let second = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(second.status == 0)
      // Not on a terminal (cron): a timestamped log line, nothing bare on stdout.
      #expect(second.stdout == "")
      #expect(
        second.stderr.range(
          of: #"Z info sisdrop\[\d+\]: nothing to do: nothing new in the inbox\n"#,
          options: .regularExpression) != nil,
        "\(second.stderr)")
      let quiet = try runTool(
        "sisdrop", ["run", "--json", "--pipeline", pipeline, "--workdir", workdir.root])
      let answer = try #require(
        try JSONSerialization.jsonObject(with: Data(quiet.stdout.utf8)) as? [String: Any])
      #expect(
        answer["batch"] is NSNull && answer["waiting"] as? String == "nothing new in the inbox")
      #expect((answer["integration"] as? [String: Any])?["state"] as? String == "Synchronizing")
      // A file still arriving: 75 naming it; nothing claimed.
      let slow = try demoPipeline(root + "/slow", extra: "", quiet: 3600)
      try FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + "/enrollment-csv/submissions.csv",
        toPath: workdir.root + "/inbox/submissions.csv")
      let arriving = try runTool("sisdrop", ["run", "--pipeline", slow, "--workdir", workdir.root])
      #expect(arriving.status == 75)
      // How long ago it changed depends on how fast the machine is; that it waits for the quiet period does not.
      #expect(
        arriving.stderr.contains("submissions.csv is still arriving: changed "),
        "\(arriving.stderr)")
      #expect(
        arriving.stderr.contains("a file is claimed once unchanged for 3600s"), "\(arriving.stderr)"
      )
      // The error is a log line too, fit for the log file.
      #expect(
        arriving.stderr.range(
          of: #"Z error sisdrop\[\d+\]: .*submissions.csv is still arriving"#,
          options: .regularExpression) != nil)
      #expect(FileManager.default.fileExists(atPath: workdir.root + "/inbox/submissions.csv"))

      let status = try runTool(
        "sisdrop", ["status", "--workdir", workdir.root, "--pipeline", pipeline])
      #expect(status.status == 0)
      #expect(status.stdout.contains("integration: Synchronizing since "))
      #expect(
        status.stdout.contains("  last run: ") && status.stdout.contains("(succeeded, batch "))
      #expect(status.stdout.contains("  window: any time (no schedule section)"))
      let json = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let integration = try #require(object["integration"] as? [String: Any])
      #expect(integration["state"] as? String == "Synchronizing")
      #expect(
        integration["last_batch"] as? String != nil && integration["next_run_at"] as? String != nil)
      #expect((object["changes"] as? [Any])?.count == 3)
      #expect((object["batches"] as? [Any])?.count == 1)
    }
  }

  /// Night 2 of the shipped demo pipeline brings an SIS students export with no rows: the run fails
  /// (65) and `sisdrop status` says why. The masking hides input values only: sisdrop's own advice
  /// ("never read as “every student withdrew”") reads whole on the status "why" line.
  @Test func theStatusWhyLineKeepsSisdropsOwnAdvice() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let arguments = ["run", "--pipeline", pipeline, "--workdir", workdir.root]
      let first = try runTool("sisdrop", arguments)
      #expect(first.status == 0, "\(first.stderr)")
      for name in ["students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv"] {
        try FileManager.default.copyItem(
          atPath: Checkout.demoDistrict + "/sis/" + name,
          toPath: workdir.inbox(config) + "/" + name)
      }
      let students = workdir.inbox(config) + "/students.csv"
      let header = try #require(try readText(students).split(separator: "\n").first)
      try FileManager.default.removeItem(atPath: students)
      try writeFile(students, header + "\n")
      let night = try runTool("sisdrop", arguments)
      #expect(night.status == 65, "\(night.stderr)")
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      let why = try #require(
        status.stdout.split(separator: "\n").first { $0.hasPrefix("  why: ") })
      #expect(
        why.contains("the students export has no records")
          && why.contains("never read as “every student withdrew”: upload the full export")
          && !why.contains("…"), "\(status.stdout)")
    }
  }

  /// A stage that refuses a claimed file whole fails before its folder is published: `sisdrop
  /// status` says it failed, with the exit status and why (its quoted cell masked), not "has not run".
  @Test func aStageThatFailedBeforeItsFolderShowsAsFailedInStatus() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let arguments = ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root]
      // Night 1 succeeds; night 2's export has a column twice.
      let first = try runTool("sisdrop", arguments)
      #expect(first.status == 0, "\(first.stderr)")
      let night1 = try #require(try workdir.state.allBatches().last?.id)
      // The enrollment system's export again, whole (documents included).
      for name in try FileManager.default.contentsOfDirectory(
        atPath: Checkout.demoDistrict + "/enrollment-csv")
      {
        try FileManager.default.copyItem(
          atPath: Checkout.demoDistrict + "/enrollment-csv/" + name,
          toPath: workdir.inbox(config) + "/" + name)
      }
      let path = workdir.inbox(config) + "/submissions.csv"
      let text = try readText(path)
      let header = try #require(text.split(separator: "\n").first)
      try writeFile(
        path, text.replacingOccurrences(of: String(header), with: header + ",First_Name"))
      let run = try runTool("sisdrop", arguments)
      #expect(run.status == 65, "\(run.stderr)")
      #expect(run.stderr.contains("duplicate column"), "\(run.stderr)")
      let night2 = try #require(try workdir.state.openBatch()?.id)
      #expect(night2 != night1)
      let status = try runTool("sisdrop", ["status", "--failed", "--workdir", workdir.root])
      #expect(status.status == 0)
      // The failed run is not said to be night 1's batch: that is the last run that succeeded.
      #expect(
        status.stdout.contains("(failed; the last run that succeeded: batch \(night1))")
          && !status.stdout.contains("(failed, batch"), "\(status.stdout)")
      let mails = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications")
      let failedMail = try #require(mails.sorted().last { $0.contains("run-failed") })
      let mail = try readText(workdir.root + "/notifications/" + failedMail)
      #expect(
        mail.contains("(failed; the last run that succeeded: batch \(night1))")
          && mail.contains("Batch: \(night2)"), "\(mail)")
      // Retrying reads the same claimed copy: the message says the way out, and it works.
      #expect(
        mail.contains("\r\n  sisdrop cancel --workdir \(workdir.root)\r\n")
          && mail.replacingOccurrences(of: "\r\n", with: " ").contains(
            "then: remove one of the two columns"),
        "\(mail)")
      #expect(
        status.stdout.contains("  parse: failed on its last attempt (1, exit 65): "),
        "\(status.stdout)")
      #expect(!status.stdout.contains("parse: has not run"), "\(status.stdout)")
      let json = try runTool("sisdrop", ["status", "--json", "--open", "--workdir", workdir.root])
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let batch = try #require((object["batches"] as? [[String: Any]])?.first)
      let parse = try #require((batch["stages"] as? [String: Any])?["parse"] as? [String: Any])
      #expect(parse["state"] as? String == "failed")
      let detail = try #require(parse["detail"] as? String)
      #expect(
        detail.contains("duplicate column '…'") && !detail.contains("'First_Name'"), "\(detail)")
      // The stages after it have not run.
      #expect(
        ((batch["stages"] as? [String: Any])?["normalize"] as? [String: Any])?["state"] as? String
          == "not_run")
      // Following the message: the batch is cancelled, its claimed files archived.
      let cancel = try runTool("sisdrop", ["cancel", "--workdir", workdir.root])
      #expect(cancel.status == 0, "\(cancel.stderr)")
      #expect(try workdir.state.openBatch() == nil)
      #expect(FileSystem.exists(workdir.archive(config) + "/\(night2)/submissions.csv"))
    }
  }
}

@Suite struct StageProgressTests {
  @Test func aReadingSaysRecordsShareRateAndTimeLeft() {
    let reading = StageProgress.Reading(
      stage: "normalize", records: 120_000, done: 43_000_000, total: 100_000_000, elapsed: 4)
    #expect(reading.text == "normalize: 120,000 records · 43% · 30,000 records/s · about 5 s left")
    let long = StageProgress.Reading(
      stage: "parse", records: 1_000, done: 1_000_000, total: 100_000_000, elapsed: 60)
    #expect(long.text == "parse: 1,000 records · 1% · 16 records/s")
    let slow = StageProgress.Reading(
      stage: "parse", records: 1_000, done: 10_000_000, total: 100_000_000, elapsed: 60)
    #expect(slow.text == "parse: 1,000 records · 10% · 16 records/s · about 9 min left")
    // Never 100% before the stage has finished (the input size is an estimate); then 100% and the time it took.
    let almost = StageProgress.Reading(
      stage: "match", records: 63, done: 126, total: 126, elapsed: 2)
    #expect(almost.text == "match: 63 records · 99% · 31 records/s · about 0 s left")
    var finished = almost
    finished.finished = true
    #expect(finished.text == "match: 63 records · 100% · 31 records/s · 2.0 s")
    // A fast stage still shows a rate above zero; a stage with no records shows none.
    #expect(
      StageProgress.Reading(
        stage: "deliver", records: 1, done: 0, total: 0, elapsed: 7, finished: true
      ).text == "deliver: 1 records · 100% · 1 records/s · 7.0 s")
    #expect(
      StageProgress.Reading(
        stage: "deliver", records: 0, done: 0, total: 0, elapsed: 0.01, finished: true
      ).text == "deliver: 0 records · 100% · 0.0 s")
  }

  @Test func recordsReadByTheTableReadersAreCounted() throws {
    let progress = StageProgress(stage: "test", inputBytes: 1, terminal: false, log: { _ in })
    defer { progress.stop() }
    let reader = try CSVTableReader(
      path: Checkout.demoDistrict + "/sis/students.csv", layout: Layouts.students,
      dialect: CSVDialect())
    while try reader.next() != nil {}
    #expect(progress.reading.records >= 310)
    #expect(progress.reading.done > 0)
  }
}
