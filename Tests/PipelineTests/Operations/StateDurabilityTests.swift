import Foundation
import SISDrop
import SISDropCore
import SISDropStore
import Testing
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The demo district's enrollment export for night `night` (1 = the fixture as it is): each later
/// night adds one new child, and night 2 also changes a delivered child's phone (an update).
func stageNight(_ night: Int, inbox: String) throws {
  try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
  try FileManager.default.createDirectory(
    atPath: (inbox as NSString).deletingLastPathComponent + "/outbox",
    withIntermediateDirectories: true)
  for folder in ["/sis", "/enrollment-csv"] {
    for name in try FileManager.default.contentsOfDirectory(atPath: Checkout.demoDistrict + folder)
    {
      let target = inbox + "/" + name
      if FileManager.default.fileExists(atPath: target) {
        try FileManager.default.removeItem(atPath: target)
      }
      try FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + folder + "/" + name, toPath: target)
    }
  }
  guard night > 1 else { return }
  var text = try readText(inbox + "/submissions.csv")
  text = text.replacingOccurrences(of: "62704,217-555-0157,", with: "62704,217-555-0199,")
  for added in 2...night {
    let lastName = ["Nightlake", "Dawnbrook", "Fenwick"][added - 2]
    text +=
      "S-2026-90\(added)1,2026-27 New Student Enrollment,2026-11-2\(added) 09:00,,Quorra,,\(lastName),0\(added)/1\(added)/2020,F,K,Lincoln Elem,10\(added) Chatham Rd,Springfield,IL,62704,217-555-010\(added),\n"
  }
  try FileManager.default.removeItem(atPath: inbox + "/submissions.csv")
  try writeFile(inbox + "/submissions.csv", text)
}

/// What a working directory's state says was delivered, for comparing two of them.
func deliveredState(_ root: String) throws -> (ledger: [[String]], ids: [[String]]) {
  let database = try Database(path: root.hasSuffix(".sqlite") ? root : root + "/state.sqlite")
  let ledger = try database.rows(
    "SELECT submission_id, status, coalesce(delivered_hash, ''), coalesce(delivered_batch, '') FROM ledger WHERE status = 'delivered' ORDER BY submission_id"
  ).map { $0.map { $0.string ?? "" } }
  let ids = try database.rows(
    "SELECT sourced_id, kind, ref, state_id, batch FROM delivered_ids ORDER BY sourced_id"
  ).map { $0.map { $0.string ?? "" } }
  return (ledger, ids)
}

func run(_ arguments: [String]) throws -> ProcessResult { try runTool("sisdrop", arguments) }

@Suite(.serialized) struct StateDurabilityTests {
  /// The database 0.1.0 wrote (Fixtures/state-v0) is migrated, and the next night uses its ledger.
  @Test func theLastReleasesDatabaseIsMigratedAndTheNextNightDeliversNothingTwice() throws {
    try withTemporaryFolder { root in
      // Copied before it is opened: opening a WAL database writes beside it, and the checkout may be read-only.
      let fixture = root + "/fixture.sqlite"
      try FileManager.default.copyItem(
        atPath: Checkout.root + "/Fixtures/state-v0/state.sqlite", toPath: fixture)
      try FileManager.default.createDirectory(
        atPath: root + "/w", withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: fixture, toPath: root + "/w/state.sqlite")
      let old = try Database(path: fixture)
      #expect(try StateSchema.version(old) == 0)
      let delivered = Int(
        try old.scalar("SELECT count(*) FROM ledger WHERE status = 'delivered'").int ?? 0)
      #expect(delivered > 0)
      try stageNight(1, inbox: root + "/w/inbox")
      // The SIS exports again, with CRLF line ends: the same records, not the very files 0.1.0
      // claimed (those are set aside as re-uploads, and their batch folder is not part of the fixture).
      for name in try FileManager.default.contentsOfDirectory(
        atPath: Checkout.demoDistrict + "/sis")
      {
        let text = try readText(root + "/w/inbox/" + name)
        try FileManager.default.removeItem(atPath: root + "/w/inbox/" + name)
        try writeFile(
          root + "/w/inbox/" + name,
          text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
            of: "\n", with: "\r\n"))
      }
      let result = try run([
        "run", "--pipeline", Checkout.pipeline("demo"), "--workdir", root + "/w",
      ])
      #expect(result.status == 0, "\(result.stderr)")
      let migrated = try Database(path: root + "/w/state.sqlite")
      #expect(try StateSchema.version(migrated) == StateSchema.current)
      let batch = try #require(
        try migrated.scalar(
          "SELECT id FROM batches WHERE id NOT IN ('20261201-01') ORDER BY id DESC LIMIT 1"
        ).string)
      let report =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: root + "/w/batches/\(batch)/manifest.json")))
        as? [String: Any]
      let counts = report?["counts"] as? [String: Int] ?? [:]
      #expect(counts["normalize.already_delivered"] == delivered)
      #expect(counts["deliver.delivered_submissions"] == 0)
      // The tables 0.1.0 made only when first used are there, and kept what 0.1.0 recorded.
      #expect(
        try migrated.scalar("SELECT count(*) FROM delivered_ids").int
          == (try old.scalar("SELECT count(*) FROM delivered_ids").int))
    }
  }

  @Test func aDatabaseFromANewerSisdropIsRefusedWith78NamingBothVersions() throws {
    try withTemporaryFolder { root in
      _ = try WorkDir(root: root + "/w")
      try Database(path: root + "/w/state.sqlite").execute(
        "PRAGMA user_version = \(StateSchema.current + 7)")
      for arguments in [["status"], ["pending"], ["run", "--pipeline", Checkout.pipeline("demo")]] {
        let result = try run(arguments + ["--workdir", root + "/w"])
        #expect(result.status == 78, "\(arguments[0]): \(result.stderr)")
        #expect(
          result.stderr.contains("schema version \(StateSchema.current + 7)")
            && result.stderr.contains("up to \(StateSchema.current)"),
          "\(arguments[0]): \(result.stderr)")
      }
      #expect(
        try StateSchema.version(Database(path: root + "/w/state.sqlite")) == StateSchema.current + 7
      )
    }
  }

  /// Deleted or emptied while batches/ holds history: every command refuses (66) and says how to restore.
  @Test func aLostStateDatabaseIsRefusedByEveryCommand() throws {
    try withTemporaryFolder { root in
      let workdir = root + "/w"
      try stageNight(1, inbox: workdir + "/inbox")
      #expect(
        try run(["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", workdir]).status == 0)
      let commands: [[String]] = [
        ["run", "--pipeline", Checkout.pipeline("demo")],
        ["open", "--pipeline", Checkout.pipeline("demo")], ["pending"], ["status"],
        ["cancel"], ["close"], ["report"], ["resolve", "S-2026-0001", "--no-match"],
        ["backup", root + "/b.sqlite"], ["verify"],
      ]
      for lose in ["deleted", "emptied", "replaced by a new one"] {
        for suffix in ["", "-wal", "-shm"] { unlink(workdir + "/state.sqlite" + suffix) }
        if lose == "emptied" { try writeFile(workdir + "/state.sqlite", "") }
        if lose == "replaced by a new one" { _ = try StateStore(path: workdir + "/state.sqlite") }
        try stageNight(2, inbox: workdir + "/inbox")
        for arguments in commands {
          let result = try run(arguments + ["--workdir", workdir])
          #expect(
            result.status == 66, "\(lose), \(arguments[0]): \(result.status) \(result.stderr)")
          #expect(
            result.stderr.contains("state.sqlite is missing or empty")
              && result.stderr.contains("sisdrop rebuild-state"),
            "\(lose), \(arguments[0]): \(result.stderr)")
        }
        #expect(
          (FileManager.default.fileExists(atPath: workdir + "/state.sqlite")) == (lose != "deleted")
        )
        if lose == "replaced by a new one" {
          #expect(try StateSchema.recordedBatches(workdir + "/state.sqlite") == 0)
        }
        #expect(
          try FileManager.default.contentsOfDirectory(atPath: workdir + "/batches").count == 1,
          "\(lose): a batch was opened")
        #expect(!FileManager.default.fileExists(atPath: root + "/b.sqlite"))
      }
    }
  }

  /// Commands that only look never create a working directory; `run`, `open` and `demo` do.
  @Test func commandsThatOnlyLookRefuseAFolderThatIsNotAWorkDirAndCreateNothing() throws {
    try withTemporaryFolder { root in
      let folder = root + "/not-a-workdir"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      for arguments in [
        ["pending"], ["status"], ["report"], ["verify"], ["backup", root + "/b.sqlite"], ["cancel"],
        ["close"], ["parse"],
        ["deliver"], ["resolve", "S-1", "--no-match"], ["keep-sis", "S-1", "Street"],
        ["rebuild-state"],
      ] {
        let result = try run(arguments + ["--workdir", folder])
        #expect(result.status == 66, "\(arguments[0]): \(result.status) \(result.stderr)")
        #expect(
          result.stderr.contains(folder)
            && result.stderr.contains("not a sisdrop working directory"),
          "\(arguments[0]): \(result.stderr)")
        #expect(
          try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty,
          "\(arguments[0]) created something")
      }
      // The environment's working directory follows the same rule.
      let pending = try runTool("sisdrop", ["pending"], environment: ["SISDROP_WORKDIR": folder])
      #expect(pending.status == 66 && !pending.stdout.contains("no pending submissions"))
      #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
      // `run` creates one.
      try stageNight(1, inbox: root + "/new/inbox")
      #expect(
        try run(["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", root + "/new"]).status
          == 0)
      #expect(FileManager.default.fileExists(atPath: root + "/new/state.sqlite"))
      #expect(try run(["pending", "--workdir", root + "/new"]).status == 0)
    }
  }

  @Test func backupCopiesTheDatabaseWithTheOnlineBackupAPIMode0600() throws {
    try withTemporaryFolder { root in
      try stageNight(1, inbox: root + "/w/inbox")
      #expect(
        try run(["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", root + "/w"]).status
          == 0)
      umask(0o022)
      let result = try run(["backup", "--workdir", root + "/w", root + "/backup.sqlite"])
      #expect(result.status == 0, "\(result.stderr)")
      var info = stat()
      #expect(stat(root + "/backup.sqlite", &info) == 0 && info.st_mode & 0o777 == 0o600)
      #expect(!FileManager.default.fileExists(atPath: root + "/backup.sqlite-wal"))
      let copy = try Database(path: root + "/backup.sqlite")
      #expect(try copy.scalar("PRAGMA integrity_check").string == "ok")
      #expect(try copy.scalar("PRAGMA journal_mode").string == "delete")
      #expect(
        try deliveredState(root + "/backup.sqlite").ledger
          == (try deliveredState(root + "/w").ledger))
      #expect(try deliveredState(root + "/w").ledger.count > 0)
      // Restored into place after the database is lost, the next night runs on it.
      for suffix in ["", "-wal", "-shm"] { unlink(root + "/w/state.sqlite" + suffix) }
      try FileManager.default.copyItem(
        atPath: root + "/backup.sqlite", toPath: root + "/w/state.sqlite")
      try stageNight(2, inbox: root + "/w/inbox")
      #expect(
        try run(["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", root + "/w"]).status
          == 0)
    }
  }

  /// Three nights, state.sqlite deleted, rebuilt from the batch folders: the ledger, the stable ids
  /// and the fourth night are those of a working directory that never lost its state.
  @Test func rebuiltAfterThreeNightsTheFourthNightDeliversNothingTwice() throws {
    try withTemporaryFolder { root in
      let pipeline = Checkout.pipeline("demo")
      let kept = root + "/kept"
      let lost = root + "/lost"
      for night in 1...3 {
        for workdir in [kept, lost] {
          try stageNight(night, inbox: workdir + "/inbox")
          let result = try run(["run", "--pipeline", pipeline, "--workdir", workdir])
          #expect(result.status == 0, "night \(night): \(result.stderr)")
          if night == 1 {
            let tardies = try run([
              "tardies", "--pipeline", pipeline, "--workdir", workdir, "--file",
              Checkout.demoDistrict + "/raptor/tardies.csv",
            ])
            #expect(tardies.status == 0, "\(tardies.stderr)")
          }
        }
      }
      func sentTardies(_ root: String) throws -> [[String]] {
        try Database(path: root + "/state.sqlite").rows(
          "SELECT student_number, school, day, att_code, run_id FROM delivered_tardy_days ORDER BY 1, 2, 3"
        ).map { $0.map { $0.string ?? "" } }
      }
      let tardiesSent = try sentTardies(kept)
      #expect(!tardiesSent.isEmpty)
      let before = try deliveredState(kept)
      #expect(before.ledger.count > 0 && before.ids.count > 0)
      for suffix in ["", "-wal", "-shm"] { unlink(lost + "/state.sqlite" + suffix) }
      try stageNight(4, inbox: lost + "/inbox")
      let refused = try run(["run", "--pipeline", pipeline, "--workdir", lost])
      #expect(refused.status == 66, "\(refused.stderr)")
      let rebuilt = try run(["rebuild-state", "--workdir", lost])
      #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
      #expect(rebuilt.stdout.contains("rebuilt from 3 batches"), "\(rebuilt.stdout)")
      // What it cannot rebuild it says, the tardy feed's status too (its run folders keep what each sent).
      #expect(rebuilt.stdout.contains("the tardy feed's last run"), "\(rebuilt.stdout)")
      let after = try deliveredState(lost)
      #expect(after.ledger == before.ledger)
      #expect(after.ids == before.ids)
      #expect(try sentTardies(lost) == tardiesSent)
      // A second rebuild never overwrites the state it made.
      #expect(try run(["rebuild-state", "--workdir", lost]).status == 64)

      try stageNight(4, inbox: kept + "/inbox")
      var fourth: [String: [String: Data]] = [:]
      for workdir in [kept, lost] {
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: workdir + "/outbox"))
        let result = try run(["run", "--pipeline", pipeline, "--workdir", workdir])
        #expect(result.status == 0, "night 4: \(result.stderr)")
        let files = try visibleFiles(workdir + "/outbox").filter { !before.contains($0.key) }
        fourth[workdir] = files
      }
      #expect(fourth[kept] == fourth[lost])
      // The fourth night delivered the one new child, nothing delivered before.
      let newStudents = try #require(
        fourth[lost]?.first { $0.key.hasSuffix("_students_new.csv") }?.value)
      let rows = String(decoding: newStudents, as: UTF8.self).split(separator: "\r\n")
      #expect(rows.count == 2 && rows[1].contains("Fenwick"))
      #expect(try deliveredState(lost).ledger == (try deliveredState(kept).ledger))
      #expect(try deliveredState(lost).ids == (try deliveredState(kept).ids))
      let delivered = try Database(path: lost + "/state.sqlite").rows(
        "SELECT delivered_batch, count(*) FROM ledger WHERE status = 'delivered' GROUP BY 1")
      #expect(delivered.count == 4, "\(delivered)")
      // The same Raptor export again: every tardy was sent before the state was lost, none goes again.
      let again = try run([
        "tardies", "--pipeline", pipeline, "--workdir", lost, "--json", "--file",
        Checkout.demoDistrict + "/raptor/tardies.csv",
      ])
      #expect(again.status == 0, "\(again.stderr)")
      let summary =
        try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
      #expect(
        summary?["delivered"] as? Int == 0 && summary?["duplicates"] as? Int == tardiesSent.count,
        "\(again.stdout)")
    }
  }

  /// A claimed file altered after `open` is refused before a stage reads it and at close (65,
  /// naming the file and both hashes); `verify` finds a sealed file changed.
  @Test func aClaimedInputAlteredAfterOpenIsRefusedAndVerifyFindsASealedFileChanged() throws {
    try withTemporaryFolder { root in
      let workdir = root + "/w"
      try stageNight(1, inbox: workdir + "/inbox")
      let opened = try run(["open", "--pipeline", Checkout.pipeline("demo"), "--workdir", workdir])
      #expect(opened.status == 0, "\(opened.stderr)")
      let batch = try #require(
        try FileManager.default.contentsOfDirectory(atPath: workdir + "/batches").first {
          !$0.hasPrefix(".")
        })
      let input = workdir + "/batches/\(batch)/input/submissions.csv"
      let original = try Data(contentsOf: URL(fileURLWithPath: input))
      let recorded = try SHA256.file(at: input).sha256
      chmod(input, 0o640)
      try Data(
        String(decoding: original, as: UTF8.self).replacingOccurrences(
          of: "Rivera", with: "Riviera"
        ).utf8
      ).write(to: URL(fileURLWithPath: input))
      let altered = try SHA256.file(at: input).sha256
      let refused = try run(["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", workdir])
      #expect(refused.status == 65, "\(refused.stderr)")
      #expect(
        refused.stderr.contains("input/submissions.csv") && refused.stderr.contains(recorded)
          && refused.stderr.contains(altered), "\(refused.stderr)")
      #expect(!FileManager.default.fileExists(atPath: workdir + "/batches/\(batch)/10-parse"))
      #expect(try visibleFiles(workdir + "/outbox").isEmpty)
      // Put back as claimed: the night goes on. Altered again before close: close refuses.
      try original.write(to: URL(fileURLWithPath: input))
      for tool in ["sisdrop-parse", "sisdrop-normalize", "sisdrop-match", "sisdrop-deliver"] {
        let result = try runTool(tool, ["--workdir", workdir])
        #expect(result.status == 0, "\(tool): \(result.stderr)")
      }
      try writeFile(workdir + "/batches/\(batch)/input/students.csv", "Student_Number\n")
      let close = try runTool("sisdrop-close", ["--workdir", workdir])
      #expect(close.status == 65 && close.stderr.contains("input/students.csv"), "\(close.stderr)")
      let manifest = try readText(workdir + "/batches/\(batch)/manifest.json")
      #expect(manifest.contains("\"state\" : \"open\""))
      try FileManager.default.removeItem(atPath: workdir + "/batches/\(batch)/input/students.csv")
      try FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + "/sis/students.csv",
        toPath: workdir + "/batches/\(batch)/input/students.csv")
      let closed = try runTool("sisdrop-close", ["--workdir", workdir])
      #expect(closed.status == 0, "\(closed.stderr)")

      let verified = try run(["verify", "--workdir", workdir])
      #expect(
        verified.status == 0 && verified.stdout.contains("0 not as sealed"),
        "\(verified.stdout) \(verified.stderr)")
      let decisions = workdir + "/batches/\(batch)/30-match/decisions.jsonl"
      let sealed = try SHA256.file(at: decisions).sha256
      chmod(decisions, 0o640)
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: decisions))
      handle.seekToEndOfFile()
      handle.write(Data("\n".utf8))
      try handle.close()
      let changed = try run(["verify", "--workdir", workdir, "--batch", batch])
      #expect(changed.status == 65, "\(changed.stderr)")
      let now = try SHA256.file(at: decisions).sha256
      #expect(
        changed.stdout.contains("30-match/decisions.jsonl") && changed.stdout.contains(sealed)
          && changed.stdout.contains(now),
        "\(changed.stdout)")
    }
  }

  /// Runs started at the same instant on a working directory that does not exist yet: the lock is
  /// taken before any SQLite statement, so none fails with "database is locked"; without --wait all
  /// but one exit 75 naming the holder, with --wait they wait their turn.
  @Test func concurrentFirstRunsOnABrandNewWorkDirWaitOrExit75NamingTheHolder() throws {
    try withTemporaryFolder { root in
      for wait in [false, true] {
        // The drop folders outside the working directory: it does not exist when the runs start.
        let drops = root + "/drops-\(wait)"
        let pipeline = try writeFile(
          drops + "/pipeline.yaml",
          try demoPipelineText([
            ("inbox: inbox", "inbox: \(drops)/inbox"),
            ("outbox: outbox", "outbox: \(drops)/outbox"),
          ]))
        let workdir = root + "/new-\(wait)"
        try stageNight(1, inbox: drops + "/inbox")
        let runs = 6
        var processes: [(Process, Pipe)] = []
        for _ in 0..<runs {
          let process = Process()
          process.executableURL = buildFolder().appendingPathComponent("sisdrop")
          process.arguments =
            ["run", "--pipeline", pipeline, "--workdir", workdir] + (wait ? ["--wait", "300"] : [])
          let errors = Pipe()
          process.standardOutput = FileHandle.nullDevice
          process.standardError = errors
          processes.append((process, errors))
        }
        for (process, _) in processes { try process.run() }
        var statuses: [Int32] = []
        for (process, errors) in processes {
          let text = String(
            decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
          process.waitUntilExit()
          statuses.append(process.terminationStatus)
          #expect(!text.contains("database is locked"), "\(text)")
          if process.terminationStatus == 75 {
            #expect(!wait, "a run with --wait gave up: \(text)")
            #expect(
              text.contains("busy") && text.contains("pid ")
                && text.contains("command sisdrop run"), "\(text)")
          } else {
            #expect(process.terminationStatus == 0, "wait \(wait): \(text)")
          }
        }
        // With --wait every run finishes (the later ones find nothing new); without, at least the first does.
        #expect(wait ? statuses.allSatisfy { $0 == 0 } : statuses.contains(0), "\(statuses)")
        // Exactly one batch, delivered once.
        let batches = try Database(path: workdir + "/state.sqlite").rows(
          "SELECT id, state FROM batches")
        #expect(batches.count == 1 && batches.first?[1].string == "closed", "\(batches)")
      }
    }
  }
}
