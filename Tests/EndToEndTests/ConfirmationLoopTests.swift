import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropMatching

/// The loop with the SIS closed, over four nights of the shipped demo pipeline and the SIS stand-in:
/// night 1 delivers; the SIS imports all but two rows and drops its results file; night 2's SIS
/// export confirms the rest and shows the two as unconfirmed with the results file's failures;
/// `sisdrop redeliver` sends them on night 3; night 4's export confirms them.
@Suite(.serialized) struct ConfirmationLoopTests {
  static func night(_ workdir: WorkDir, _ pipeline: String) throws -> [String] {
    var lines: [String] = []
    let lock = NSLock()
    _ = try PipelineRunner.run(
      workdir: workdir, pipelinePath: pipeline,
      log: { line in lock.withLock { lines.append(line) } })
    return lines
  }

  static func statusJSON(_ workdir: WorkDir) throws -> [String: Any] {
    let result = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    return try #require(json["confirmation"] as? [String: Any])
  }

  @Test func fourNightsThroughTheSIS() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let outbox = workdir.outbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")

      // Night 1: the demo delivers; every record it sent awaits the SIS.
      _ = try Self.night(workdir, pipeline)
      var counts = try Confirmation.counts(workdir.state)
      let sent = counts.delivered
      #expect(sent > 0 && counts.confirmed == 0 && counts.unconfirmed == 0)

      // The SIS imports the night's files, all but two rows: an update it rejects, a new contact it skips.
      let updates = try SISStandInTests.delivered(outbox, "_students_update.csv")
      let newContacts = try SISStandInTests.delivered(outbox, "_contacts_new.csv")
      let rejected = try #require(updates.first)
      let skipped = try #require(newContacts.first { $0["Student_Number"]!.isEmpty })
      let results = try sis.importOutbox(
        outbox, fail: ["students:" + rejected["Student_Number"]!],
        skip: ["contacts:" + skipped["Contact_Ref"]!], results: inbox + "/import_results.csv")
      #expect(results.filter { $0.status != "ok" }.count == 2)
      try sis.exportDelta(to: inbox)  // night 2's SIS export is a delta: what the import changed
      try ReviewLoopTests.uploadExport(workdir, config)

      // Night 2 (the cron command): the export confirms the rest; the two are unconfirmed at once, with the SIS's word.
      let run2 = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run2.status == 0, "\(run2.stderr)")
      let log2 = run2.stderr.split(separator: "\n").map {
        String($0.split(separator: ": ", maxSplits: 1).last ?? "")
      }
      #expect(
        log2.contains {
          $0.hasPrefix(
            "import_results.csv: \(results.count) SIS import results read, 2 not imported")
        }, "\(log2)")
      #expect(log2.contains { $0.hasPrefix("confirmation: the SIS export of batch") }, "\(log2)")
      counts = try Confirmation.counts(workdir.state)
      let notConfirmed = try Confirmation.items(workdir.state, where: "status != 'confirmed'")
      #expect(counts.unconfirmed == 2, "\(notConfirmed)")
      #expect(counts.confirmed == sent - 2 && counts.delivered == 0)
      let unconfirmed = try Confirmation.unconfirmed(workdir.state)
      let failedUpdate = try #require(unconfirmed.first { $0.kind == .studentUpdate })
      #expect(
        failedUpdate.submissionID == rejected["Submission_ID"]
          && failedUpdate.importStatus == "failed")
      #expect(failedUpdate.missing?.contains("import_results.csv line") == true)
      let skippedContact = try #require(unconfirmed.first { $0.kind == .contactNew })
      #expect(
        skippedContact.submissionID == skipped["Submission_ID"]
          && skippedContact.importStatus == "skipped")
      // The run's notification says so: ids and what is missing, never the SIS import's message.
      let messages = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      )
      .map { try readText(workdir.root + "/notifications/" + $0) }
      let notice = try #require(
        messages.first {
          $0.contains("2 delivered record(s) for Demo District are not confirmed by the SIS")
        })
      #expect(
        notice.contains(rejected["Submission_ID"]!) && notice.contains(skipped["Submission_ID"]!))
      #expect(
        !notice.contains("as the test asked"), "the SIS import's message stays out of the mail")
      // So does the batch report.
      let night2Batch = try #require(try workdir.state.allBatches().last)
      let report = try readText(workdir.batchFolder(night2Batch.id) + "/report.html")
      #expect(report.contains("SIS confirmation: 2 delivered record(s) unconfirmed"))
      // Every new student's SIS number is learned: the one the SIS gave it.
      for item in try Confirmation.items(workdir.state, where: "kind = 'student_new'") {
        #expect(item.status == .confirmed && item.learnedID == sis.refs[item.ref], "\(item)")
      }
      // status, text and --json, and review say so.
      let json = try Self.statusJSON(workdir)
      #expect(
        json["unconfirmed"] as? Int == 2 && json["confirmed"] as? Int == sent - 2
          && json["delivered"] as? Int == 0)
      let items = try #require(json["items"] as? [[String: Any]])
      #expect(
        Set(items.compactMap { $0["submission_id"] as? String }) == [
          rejected["Submission_ID"]!, skipped["Submission_ID"]!,
        ])
      #expect(
        items.contains {
          $0["import_status"] as? String == "failed"
            && ($0["import_message"] as? String)?.isEmpty == false
        })
      let text = try runTool("sisdrop", ["status", "--workdir", workdir.root]).stdout
      #expect(
        text.contains(
          "SIS confirmation: \(sent - 2) delivered record(s) confirmed, 0 awaiting an SIS export, 2 unconfirmed"
        ), "\(text)")
      #expect(
        text.contains(
          "UNCONFIRMED \(rejected["Submission_ID"]!) student 1 (update of \(rejected["Student_Number"]!))"
        ), "\(text)")
      let review = try runTool("sisdrop", ["review", "--workdir", workdir.root]).stdout
      #expect(review.contains("sisdrop redeliver \(skipped["Submission_ID"]!)"), "\(review)")
      // review --json carries them too, with what is missing and the commands, as the text does.
      let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
      let reviewJSON = try runTool("sisdrop", ["review", "--json", "--workdir", workdir.root])
      #expect(reviewJSON.status == 0, "\(reviewJSON.stderr)")
      let reviewed = try JSONSerialization.jsonObject(with: Data(reviewJSON.stdout.utf8))
      #expect(schema.errors(reviewed, against: "review").isEmpty, "\(reviewJSON.stdout)")
      let listed = try #require((reviewed as? [String: Any])?["unconfirmed"] as? [[String: Any]])
      #expect(
        listed.count == 2
          && Set(listed.compactMap { $0["submission_id"] as? String }) == [
            rejected["Submission_ID"]!, skipped["Submission_ID"]!,
          ])
      let listedUpdate = try #require(
        listed.first { $0["submission_id"] as? String == rejected["Submission_ID"]! })
      #expect(
        listedUpdate["record"] as? String == "student 1 (update of \(rejected["Student_Number"]!))")
      #expect(
        (listedUpdate["missing"] as? String)?.contains("import_results.csv line") == true
          && listedUpdate["import_status"] as? String == "failed")
      #expect(
        listedUpdate["commands"] as? [String] == [
          "sisdrop redeliver \(rejected["Submission_ID"]!)",
          "sisdrop confirm \(rejected["Submission_ID"]!) --reason TEXT",
        ])

      // Between nights: both are asked to go out again.
      for id in [rejected["Submission_ID"]!, skipped["Submission_ID"]!] {
        let result = try runTool("sisdrop", ["redeliver", id, "--workdir", workdir.root, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
          schema.errors(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)),
            against: "redelivery_request"
          ).isEmpty, "\(result.stdout)")
      }
      let confirmedOne = try #require(
        try Confirmation.items(workdir.state, where: "status = 'confirmed'").first?.submissionID)
      if ![rejected["Submission_ID"]!, skipped["Submission_ID"]!].contains(confirmedOne) {
        #expect(
          try runTool("sisdrop", ["redeliver", confirmedOne, "--workdir", workdir.root]).status
            == 64, "nothing unconfirmed to send")
      }

      // Night 3: the re-delivery goes out, with only the two records; the new contact names its student's SIS number.
      try ReviewLoopTests.uploadExport(workdir, config)
      let log3 = try Self.night(workdir, pipeline)
      #expect(
        log3.contains { $0.contains("unconfirmed records of 2 submissions sent again") }, "\(log3)")
      let again = try FileManager.default.contentsOfDirectory(atPath: outbox).filter {
        $0.hasSuffix(".ready") && $0.contains("-r")
      }
      #expect(again.count == 1)
      let prefix = String(try #require(again.first).dropLast(".ready".count))
      let resentUpdates = try csvRows(outbox + "/\(prefix)_students_update.csv").dropFirst()
      #expect(resentUpdates.map { $0[0] } == [rejected["Student_Number"]!])
      let resentContacts = try SISStandInTests.delivered(outbox, prefix + "_contacts_new.csv")
      #expect(resentContacts.count == 1)
      let learned = try #require(
        try Confirmation.studentNumber(
          workdir.state, submission: skipped["Submission_ID"]!, studentSeq: 1))
      #expect(resentContacts.first?["Student_Number"] == learned)
      #expect(try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root]).status == 0)
      counts = try Confirmation.counts(workdir.state)
      #expect(counts.delivered == 2 && counts.unconfirmed == 0)

      // The SIS imports the re-delivery; night 4's export confirms everything.
      let second = try sis.importOutbox(outbox)
      #expect(second.count == 2 && second.allSatisfy { $0.status == "ok" }, "\(second)")
      try sis.exportDelta(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)
      _ = try Self.night(workdir, pipeline)
      counts = try Confirmation.counts(workdir.state)
      #expect(counts.confirmed == sent && counts.unconfirmed == 0 && counts.delivered == 0)
      let final = try Self.statusJSON(workdir)
      #expect(final["confirmed"] as? Int == sent && (final["items"] as? [Any])?.isEmpty == true)
    }
  }
}

/// A night with only an SIS export (the enrollment system sent nothing): the run claims the SIS
/// export alone into a batch that refreshes the snapshot and confirms, delivers nothing, sees no
/// submission and lets none vanish; such nights count towards `confirm.within_exports`.
@Suite(.serialized) struct SISExportAloneTests {
  @Test func aNightWithOnlyTheSISExportConfirms() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let outbox = workdir.outbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
      func outboxFiles() throws -> [String] { filesBelow(outbox).sorted() }
      func night(_ expected: Int32 = 0) throws -> [String: Any] {
        let result = try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root, "--json"])
        #expect(result.status == expected, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        #expect(schema.errors(json, against: "run").isEmpty, "\(result.stdout)")
        return try #require(json as? [String: Any])
      }

      // Night 1 delivers.
      let first = try night()
      let night1 = try #require(first["batch"] as? String)
      let sent = try Confirmation.counts(workdir.state).delivered
      #expect(sent > 0)
      let delivered = try outboxFiles()
      let pending = try workdir.state.ledger(statuses: [.pending]).map(\.submissionID).sorted()
      #expect(!pending.isEmpty, "the demo leaves submissions waiting for a person")

      // The SIS imports all but one new contact (no results file: only the exports can tell), then exports a delta.
      let newContacts = try SISStandInTests.delivered(outbox, "_contacts_new.csv")
      let skipped = try #require(newContacts.first { $0["Student_Number"]!.isEmpty })
      try sis.importOutbox(outbox, skip: ["contacts:" + skipped["Contact_Ref"]!])
      try sis.exportDelta(to: inbox)
      #expect(!FileSystem.exists(inbox + "/submissions.csv"), "night 2: no enrollment export")

      // Night 2: the SIS export alone.
      let second = try night()
      let night2 = try #require(second["batch"] as? String)
      #expect(night2 != night1)
      let summary = try #require(second["summary"] as? [String: Any])
      #expect(
        summary["enrollment_export"] as? Bool == false && summary["closed"] as? Bool == true,
        "\(summary)")
      #expect(
        summary["confirmed"] as? Int == sent - 1 && summary["newly_unconfirmed"] as? Int == 0,
        "\(summary)")
      var counts = try Confirmation.counts(workdir.state)
      #expect(
        counts.confirmed == sent - 1 && counts.delivered == 1 && counts.unconfirmed == 0,
        "\(counts)")
      let awaited = try #require(
        try Confirmation.items(workdir.state, where: "status = 'delivered'").first)
      #expect(
        awaited.submissionID == skipped["Submission_ID"] && awaited.kind == .contactNew
          && awaited.exportsSeen == 1)
      // Nothing into the outbox; nothing seen, nothing vanished, nothing delivered; the SIS delta claimed and archived.
      #expect(try outboxFiles() == delivered)
      #expect(
        try workdir.state.ledger(statuses: [.pending]).map(\.submissionID).sorted() == pending)
      let manifest = try #require(
        try JSONSerialization.jsonObject(
          with: Data(
            contentsOf: URL(fileURLWithPath: workdir.batchFolder(night2) + "/manifest.json")))
          as? [String: Any])
      #expect(manifest["state"] as? String == "closed")
      #expect(
        (manifest["delivered"] as? [Any])?.isEmpty == true
          && (manifest["vanished"] as? [Any])?.isEmpty == true)
      #expect((manifest["published"] as? [Any])?.isEmpty == true)
      let inputs = try #require(manifest["inputs"] as? [[String: Any]]).compactMap {
        $0["path"] as? String
      }.sorted()
      #expect(inputs == ["input/contacts_delta.csv", "input/students_delta.csv"], "\(inputs)")
      #expect(try SnapshotReference.load(workdir, batch: night2).mode == "delta")
      #expect(
        !FileSystem.exists(inbox + "/students_delta.csv")
          && FileSystem.exists(workdir.archive(config) + "/\(night2)/students_delta.csv"))
      // status says so.
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root]).stdout
      #expect(
        status.contains(
          "SIS confirmation: \(sent - 1) delivered record(s) confirmed, 1 awaiting an SIS export, 0 unconfirmed"
        ), "\(status)")
      #expect(
        status.contains(
          "parse: done: no enrollment export, the batch claimed the SIS export alone"), "\(status)")
      // An empty inbox afterwards: nothing new.
      let idle = try night()
      #expect(idle["batch"] is NSNull && idle["waiting"] as? String == "nothing new in the inbox")

      // Night 3: the SIS exports again (nothing changed), again alone: the second export without the
      // contact since it was delivered makes it unconfirmed (confirm.within_exports: 2), and the run says so.
      try sis.exportDelta(to: inbox)
      let third = try night()
      let night3 = try #require(third["batch"] as? String)
      #expect((third["summary"] as? [String: Any])?["newly_unconfirmed"] as? Int == 1)
      counts = try Confirmation.counts(workdir.state)
      #expect(
        counts.confirmed == sent - 1 && counts.delivered == 0 && counts.unconfirmed == 1,
        "\(counts)")
      let unconfirmed = try #require(try Confirmation.unconfirmed(workdir.state).first)
      #expect(
        unconfirmed.exportsSeen == 2
          && unconfirmed.missing?.contains("2 SIS exports since delivery \(night1)") == true,
        "\(unconfirmed)")
      #expect(try outboxFiles() == delivered)
      let messages = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      )
      .map { try readText(workdir.root + "/notifications/" + $0) }
      let notice = try #require(
        messages.first {
          $0.contains("1 delivered record(s) for Demo District are not confirmed by the SIS")
        }, "\(messages)")
      #expect(
        notice.contains(
          "Tonight's SIS export (it came alone: no enrollment export, nothing delivered) confirmed 0 delivered record(s)."
        ))
      #expect(notice.contains(skipped["Submission_ID"]!))
      let text = try runTool("sisdrop", ["status", "--workdir", workdir.root]).stdout
      #expect(text.contains("UNCONFIRMED \(skipped["Submission_ID"]!) contact"), "\(text)")
      #expect(try workdir.state.allBatches().map(\.id).suffix(3) == [night1, night2, night3])
    }
  }
}

/// `sisdrop rebuild-state` after confirm nights: each delivered record's confirmation is restored
/// as the batches' files prove it (confirmation.csv of the batch whose SIS export checked it,
/// confirmed_by_hand.csv, the re-delivery's to_confirm.csv), not as "awaiting an SIS export".
@Suite(.serialized) struct RebuildConfirmationTests {
  struct Snapshot: Hashable {
    var key: String, delivery: String, status: String, exportsSeen: Int, learned: String?,
      missing: String?
    var importStatus: String?, importMessage: String?, confirmedBy: String?, deliveries: Int
  }
  static func records(_ workdir: WorkDir) throws -> [Snapshot] {
    try Confirmation.items(workdir.state, where: "1 = 1").map {
      Snapshot(
        key: "\($0.submissionID)|\($0.kind.rawValue)|\($0.seq)|\($0.studentSeq)",
        delivery: $0.delivery, status: $0.status.rawValue,
        exportsSeen: $0.exportsSeen, learned: $0.learnedID, missing: $0.missing,
        importStatus: $0.importStatus,
        importMessage: $0.importMessage, confirmedBy: $0.confirmedBy, deliveries: $0.deliveries)
    }
  }

  @Test func rebuildStateRestoresWhatTheSISConfirmed() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let outbox = workdir.outbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      let w = ["--workdir", workdir.root]
      func night() throws {
        let result = try runTool("sisdrop", ["run", "--pipeline", pipeline] + w)
        #expect(result.status == 0, "\(result.stderr)")
      }

      // Night 1 delivers; the SIS rejects two updates (its results file says so) and skips a new
      // contact (not in the results file: only the exports can tell).
      try night()
      let sent = try Confirmation.counts(workdir.state).delivered
      let updates = try SISStandInTests.delivered(outbox, "_students_update.csv")
      let rejected = Array(
        Dictionary(grouping: updates, by: { $0["Submission_ID"]! }).keys.sorted().prefix(2))
      #expect(rejected.count == 2, "two submissions with an update: \(updates.count) updates")
      let numbers = rejected.map { id in
        updates.first { $0["Submission_ID"] == id }!["Student_Number"]!
      }
      let skipped = try #require(
        try SISStandInTests.delivered(outbox, "_contacts_new.csv").first {
          $0["Student_Number"]!.isEmpty && !rejected.contains($0["Submission_ID"]!)
        })
      let results = inbox + "/import_results.csv"
      try sis.importOutbox(
        outbox, fail: Set(numbers.map { "students:" + $0 }),
        skip: ["contacts:" + skipped["Contact_Ref"]!], results: results)
      let kept = try readText(results).split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.contains(skipped["Contact_Ref"]!) }
      try writeFile(results, kept.joined(separator: "\n"))
      try sis.exportDelta(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)

      // Night 2: the export confirms the rest, the two updates are unconfirmed, the contact awaited.
      try night()
      var counts = try Confirmation.counts(workdir.state)
      #expect(
        counts.confirmed == sent - 3 && counts.unconfirmed == 2 && counts.delivered == 1,
        "\(counts)")
      // A person closes one by hand and asks for the other again.
      #expect(
        try runTool(
          "sisdrop",
          ["confirm", rejected[0], "--reason", "entered by the registrar", "--by", "office"] + w
        ).status == 0)
      #expect(try runTool("sisdrop", ["redeliver", rejected[1]] + w).status == 0)
      // Night 3: the SIS export alone; the contact's second export without it makes it unconfirmed;
      // the update goes out again (a re-delivery of night 1's batch).
      try sis.exportDelta(to: inbox)
      try night()
      counts = try Confirmation.counts(workdir.state)
      #expect(
        counts.confirmed == sent - 2 && counts.unconfirmed == 1 && counts.delivered == 1,
        "\(counts)")
      let before = try Self.records(workdir)
      #expect(
        before.contains {
          $0.deliveries == 2 && $0.delivery.hasSuffix("-r1") && $0.status == "delivered"
        })
      #expect(before.contains { $0.confirmedBy == "by hand (office): entered by the registrar" })
      #expect(
        before.contains { $0.importStatus == "failed" && $0.status == "unconfirmed" } == false,
        "the failed one was sent again")
      let learnedBefore = try workdir.state.database.rows(
        "SELECT kind, ref, sis_id FROM delivered_ids ORDER BY kind, ref"
      ).map { $0.map { $0.string ?? "" } }
      #expect(
        learnedBefore.contains { !$0[2].isEmpty && $0[1].contains("S-2026-") },
        "learned numbers linked to stable ids")
      let batches = try workdir.state.allBatches().map(\.id)
      #expect(
        FileSystem.exists(workdir.batchFolder(batches[1]) + "/confirmation.csv")
          && FileSystem.exists(workdir.batchFolder(batches[0]) + "/confirmed_by_hand.csv"))
      #expect(
        try runTool("sisdrop", ["verify"] + w).status == 0,
        "confirmation.csv is sealed with the batch")

      // The state database is lost; rebuilt from the batch folders.
      for suffix in ["", "-wal", "-shm"] {
        try? FileManager.default.removeItem(atPath: workdir.root + "/state.sqlite" + suffix)
      }
      let rebuilt = try runTool("sisdrop", ["rebuild-state", "--json"] + w)
      #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
      let json = try JSONSerialization.jsonObject(with: Data(rebuilt.stdout.utf8))
      let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
      #expect(schema.errors(json, against: "rebuild").isEmpty, "\(rebuilt.stdout)")
      let restored = try #require((json as? [String: Any])?["confirmation"] as? [String: Any])
      #expect(
        restored["confirmed"] as? Int == sent - 2 && restored["unconfirmed"] as? Int == 1
          && restored["delivered"] as? Int == 1, "\(restored)")
      let state = try WorkDir(root: workdir.root)
      #expect(try Self.records(state) == before)
      #expect(
        try state.state.database.rows(
          "SELECT kind, ref, sis_id FROM delivered_ids ORDER BY kind, ref"
        ).map { $0.map { $0.string ?? "" } } == learnedBefore)
      let text = try runTool("sisdrop", ["status"] + w).stdout
      #expect(
        text.contains(
          "SIS confirmation: \(sent - 2) delivered record(s) confirmed, 1 awaiting an SIS export, 1 unconfirmed"
        ), "\(text)")

      // Night 4 after the rebuild: the SIS imports the re-delivery, its export confirms it.
      try sis.importOutbox(outbox)
      try sis.exportDelta(to: inbox)
      try night()
      counts = try Confirmation.counts(state.state)
      #expect(
        counts.confirmed == sent - 1 && counts.unconfirmed == 1 && counts.delivered == 0,
        "\(counts)")
    }
  }
}

/// `sisdrop confirm`: a person closes what the SIS shows in a way sisdrop cannot see.
@Suite(.serialized) struct ConfirmByHandTests {
  @Test func aPersonClosesASubmissionsRecordsWithWhy() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      let records = try Confirmation.items(workdir.state, submission: "S-2026-0032")
      #expect(records.count > 1 && records.allSatisfy { $0.status == .delivered })
      let w = ["--workdir", workdir.root]
      #expect(
        try runTool("sisdrop", ["confirm", "S-2026-0032", "--reason", " "] + w).status == 64,
        "a reason says why")
      let result = try runTool(
        "sisdrop",
        [
          "confirm", "S-2026-0032", "--reason", "entered by the registrar", "--by", "office",
          "--json",
        ] + w)
      #expect(result.status == 0, "\(result.stderr)")
      let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
      #expect(
        schema.errors(
          try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)),
          against: "hand_confirmation"
        ).isEmpty, "\(result.stdout)")
      let closed = try Confirmation.items(workdir.state, submission: "S-2026-0032")
      #expect(
        closed.allSatisfy {
          $0.status == .confirmed && $0.confirmedBy == "by hand (office): entered by the registrar"
        })
      let again = try runTool("sisdrop", ["confirm", "S-2026-0032", "--reason", "twice"] + w)
      #expect(again.status == 64 && again.stderr.contains("confirmed already"), "\(again.stderr)")
      #expect(
        try runTool("sisdrop", ["redeliver", "S-2026-0032"] + w).status == 64,
        "a confirmed record is never sent again")
    }
  }
}

/// What the SIS assigned flows back: a new student's number, learned from the export that shows
/// it, is the SIS record a later form for the same child matches (an update, not a second child),
/// its guardians are the SIS contacts the import created, and its sourcedId stays the one it was
/// first delivered under.
@Suite(.serialized) struct LearnedNumberTests {
  @Test func aLaterFormForTheSameChildUpdatesTheNumberTheSISGave() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      try sis.importOutbox(workdir.outbox(config))
      let number = try #require(sis.refs["S-2026-0032/1"])
      try sis.exportDelta(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      #expect(
        try Confirmation.studentNumber(workdir.state, submission: "S-2026-0032", studentSeq: 1)
          == number)
      let contacts = try Confirmation.items(
        workdir.state, where: "submission_id = 'S-2026-0032' AND kind = 'contact_new'")
      #expect(
        contacts.count == 2
          && contacts.allSatisfy { $0.status == .confirmed && $0.learnedID != nil })
      // The sourcedId it was first delivered under now stands for that SIS number.
      let update = DeliveryRecord(
        kind: .studentsUpdate, submissionID: "S-2026-0901", seq: 1,
        fields: ["Student_Number": number])
      #expect(
        try StableIDs.resolve([update], state: workdir.state)["stu-" + number]
          == "sub-S-2026-0032-1")

      // A later form for the same child (a new phone), and its guardians again.
      let enrollment = Checkout.demoDistrict + "/enrollment-csv"
      func again(_ file: String) throws -> String {
        let text = try readText(enrollment + "/" + file)
        let extra = text.split(separator: "\n").filter { $0.hasPrefix("S-2026-0032,") }
          .map { "S-2026-0901" + $0.dropFirst("S-2026-0032".count) }
        return text + extra.joined(separator: "\n") + "\n"
      }
      try ReviewLoopTests.uploadExport(workdir, config)
      let form = try again("submissions.csv").replacingOccurrences(
        of: "S-2026-0901,2026-27 New Student Enrollment",
        with: "S-2026-0901,2026-27 Returning Student Registration")
      let changedPhone =
        form.split(separator: "\n").map { line in
          line.hasPrefix("S-2026-0901,")
            ? line.replacingOccurrences(of: "217-555-9639", with: "217-555-4242") : String(line)
        }.joined(separator: "\n") + "\n"
      for (name, text) in [
        ("submissions.csv", changedPhone),
        ("submission_contacts.csv", try again("submission_contacts.csv")),
      ] {
        try? FileManager.default.removeItem(atPath: inbox + "/" + name)
        try writeFile(inbox + "/" + name, text)
      }
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let decisions = try JSONLines.read(
        SubmissionDecision.self,
        from: workdir.stageFolder(summary.batch, .match) + "/decisions.jsonl")
      let decision = try #require(decisions.first { $0.submissionID == "S-2026-0901" })
      #expect(
        decision.students.first?.decision.outcome == .matched
          && decision.students.first?.decision.sisID == number, "\(decision)")
      #expect(
        Set(decision.contacts.compactMap(\.contactID)) == Set(contacts.compactMap(\.learnedID)),
        "its guardians are the SIS's contacts")
      let updates = try csvRows(
        workdir.stageFolder(summary.batch, .deliver) + "/\(summary.batch)_students_update.csv")
      #expect(updates.contains { $0[0] == number && $0[1] == "S-2026-0901" }, "\(updates)")
      #expect(
        try !csvRows(
          workdir.stageFolder(summary.batch, .deliver) + "/\(summary.batch)_students_new.csv"
        ).contains { $0[0] == "S-2026-0901" },
        "never a second SIS student for the same child")
    }
  }
}
