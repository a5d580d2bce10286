import Foundation
import Testing
import _SISDropDeliveryTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropMatching
@testable import SISDropStore

/// After a batch is published, nothing upstream may leave it stuck: match reruns (a `sisdrop
/// resolve`), corrections, reruns of deliver, `--only`, close — and cancel stays refused.
@Suite struct PublicationTests {
  /// The outbox's files, by name, with their bytes.
  func outboxContent(_ outbox: String) throws -> [String: String] {
    var content: [String: String] = [:]
    for name in files(below: outbox) where !name.hasPrefix(".") {
      content[name] = try readText(outbox + "/" + name)
    }
    return content
  }

  @Test func aMatchRerunAfterPublicationNeverDeadlocksTheBatch() throws {
    try withTemporaryFolder { root in
      // 72 characters: the SIS takes 60
      let long = "1200 " + String(repeating: "Long", count: 16) + " St"
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0032", column: "Street", value: long)
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0033", column: "Street", value: long)
      }
      let outbox = workdir.outbox(try workdir.config(for: batch))
      let deliver = workdir.stageFolder(batch.id, .deliver)
      let published = try outboxContent(outbox)
      let publishedDelivered = try readText(deliver + "/delivered.csv")
      #expect(FileSystem.exists(workdir.batchFolder(batch.id) + "/published/publication.json"))
      // A crash between publishing and recording: the record is rebuilt from the attempt the outbox holds.
      try FileSystem.removeTree(workdir.batchFolder(batch.id) + "/published")

      // Match reruns (what `sisdrop resolve` does): deliver is now stale.
      #expect(try runTool("sisdrop-match", ["--workdir", root, "--batch", batch.id]).status == 0)
      #expect(
        StageRunner.problem(with: .deliver, workdir: workdir, batch: batch.id)?.hasPrefix(
          "is stale") == true)
      // --only accepts it: what was published is unchanged in the outbox.
      #expect(
        try runTool(
          "sisdrop", ["correct", "S-2026-0032", "Street", "12 Short St", "--workdir", root]
        ).status == 0)
      let only = try runTool("sisdrop-deliver", ["--only", "S-2026-0032", "--workdir", root])
      #expect(only.status == 0, "\(only.stderr)")
      #expect(
        try csvRows(outbox + "/\(batch.id)-r1_students_new.csv").dropFirst().map { $0[0] } == [
          "S-2026-0032"
        ])

      // Match again, another correction, then a plain deliver rerun: the published files are
      // reproduced byte for byte and the newly deliverable submission goes out as r2.
      #expect(try runTool("sisdrop-match", ["--workdir", root, "--batch", batch.id]).status == 0)
      #expect(
        try runTool(
          "sisdrop", ["correct", "S-2026-0033", "Street", "14 Short St", "--workdir", root]
        ).status == 0)
      let rerun = try runTool("sisdrop-deliver", ["--workdir", root])
      #expect(rerun.status == 0, "\(rerun.stderr)")
      let after = try outboxContent(outbox)
      for (name, text) in published {
        #expect(after[name] == text, "\(name) changed in the outbox")
      }
      #expect(try readText(deliver + "/delivered.csv") == publishedDelivered)
      #expect(try readText(deliver + "/\(batch.id).ready") == published["\(batch.id).ready"])
      let r2 = try csvRows(outbox + "/\(batch.id)-r2_students_new.csv").dropFirst()
      #expect(r2.map { $0[0] } == ["S-2026-0033"] && r2.first?.contains("14 Short St") == true)
      // errors.csv says what is still open now: neither corrected submission.
      #expect(
        !(try csvRows(deliver + "/errors.csv").contains {
          $0[0] == "S-2026-0032" || $0[0] == "S-2026-0033"
        }))
      // Again: nothing new, no r3, the outbox unchanged.
      let quiet = try runTool("sisdrop-deliver", ["--workdir", root])
      #expect(quiet.status == 0, "\(quiet.stderr)")
      #expect(!FileSystem.exists(workdir.batchFolder(batch.id) + "/redeliveries/r3"))
      #expect(try outboxContent(outbox) == after)

      // Match once more: cancel stays refused, close accepts the stale deliver.
      #expect(try runTool("sisdrop-match", ["--workdir", root, "--batch", batch.id]).status == 0)
      let cancel = try runTool("sisdrop", ["cancel", "--workdir", root])
      #expect(cancel.status == 64, "\(cancel.stderr)")
      let close = try runTool("sisdrop-close", ["--workdir", root])
      #expect(close.status == 0, "\(close.stderr)")
      #expect(try workdir.state.ledgerEntry("S-2026-0032")?.status == .delivered)
      #expect(try workdir.state.ledgerEntry("S-2026-0033")?.status == .delivered)
      #expect(try workdir.state.ledgerEntry("S-2026-0001")?.status == .delivered)
    }
  }

  @Test func aPotentialMatchResolvedAfterPublicationGoesOutAsTheNextReDelivery() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root)
      let outbox = workdir.outbox(try workdir.config(for: batch))
      let published = try outboxContent(outbox)
      #expect(
        try csvRows(workdir.stageFolder(batch.id, .deliver) + "/held.csv").contains {
          $0[0] == "S-2026-0028"
        })
      // What `sisdrop resolve S-2026-0028 --no-match` leaves behind: match ran again, the student is new.
      try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch.id, log: { _ in })
      let path = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
      var decisions = try JSONLines.read(SubmissionDecision.self, from: path)
      let index = try #require(decisions.firstIndex { $0.submissionID == "S-2026-0028" })
      decisions[index].students[0].decision.outcome = .new
      decisions[index].students[0].decision.sisID = nil
      chmod(path, 0o640)
      try FileSystem.removeTree(path)
      try JSONLines.write(decisions, to: path)
      // `sisdrop run` reruns the stale deliver stage (and closes: the demo pipeline has auto_close).
      let rerun = try runTool(
        "sisdrop", ["run", "--pipeline", Checkout.pipeline("demo"), "--workdir", root])
      #expect(rerun.status == 0, "\(rerun.stderr)")
      #expect(try workdir.state.ledgerEntry("S-2026-0028")?.status == .delivered)
      let r1 = try csvRows(outbox + "/\(batch.id)-r1_students_new.csv").dropFirst()
      #expect(r1.map { $0[0] } == ["S-2026-0028"])
      let after = try outboxContent(outbox)
      for (name, text) in published {
        #expect(after[name] == text, "\(name) changed in the outbox")
      }
      #expect(
        !(try csvRows(workdir.stageFolder(batch.id, .deliver) + "/held.csv").contains {
          $0[0] == "S-2026-0028"
        }))
    }
  }

  @Test func aPublishedOneRosterBundleIsReproducedWhole() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root, pipeline: "demo-oneroster-delivery")
      let outbox = workdir.outbox(try workdir.config(for: batch))
      let deliver = workdir.stageFolder(batch.id, .deliver)
      let published = try outboxContent(outbox)
      let before = files(below: deliver).filter { $0 != "stage.json" }
      #expect(
        before.contains("\(batch.id)_oneroster_new/users.csv")
          && before.contains("\(batch.id)_documents.csv"))
      try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch.id, log: { _ in })
      try PipelineRunner.runStage(.deliver, workdir: workdir, batchID: batch.id, log: { _ in })
      #expect(files(below: deliver).filter { $0 != "stage.json" } == before)
      for name in before where name.contains("oneroster") {
        #expect(try readText(deliver + "/" + name) == published[name], "\(name) reproduced")
      }
      #expect(try outboxContent(outbox) == published)
      #expect(try BatchLifecycle.close(workdir: workdir, batch: batch).manifest.delivered.count > 0)
    }
  }

  @Test func aReDeliveryThatFailedToPublishIsPublishedBeforeAnythingElse() throws {
    try withTemporaryFolder { root in
      let long = "1200 " + String(repeating: "Long", count: 16) + " St"
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0032", column: "Street", value: long)
      }
      let outbox = workdir.outbox(try workdir.config(for: batch))
      #expect(
        try runTool(
          "sisdrop", ["correct", "S-2026-0032", "Street", "12 Short St", "--workdir", root]
        ).status == 0)
      // The outbox is gone while r1 is written: r1 exists, unpublished.
      try FileSystem.rename(outbox, to: outbox + ".away")
      let failed = try runTool("sisdrop-deliver", ["--only", "S-2026-0032", "--workdir", root])
      #expect(failed.status != 0)
      try FileSystem.rename(outbox + ".away", to: outbox)
      #expect(FileSystem.isDirectory(workdir.batchFolder(batch.id) + "/redeliveries/r1"))
      #expect(!FileSystem.exists(outbox + "/\(batch.id)-r1.ready"))
      // Close publishes it, then verifies and counts it.
      let close = try runTool("sisdrop-close", ["--workdir", root])
      #expect(close.status == 0, "\(close.stderr)")
      #expect(FileSystem.exists(outbox + "/\(batch.id)-r1.ready"))
      #expect(
        try csvRows(outbox + "/\(batch.id)-r1_students_new.csv").dropFirst().map { $0[0] } == [
          "S-2026-0032"
        ])
      #expect(try workdir.state.ledgerEntry("S-2026-0032")?.status == .delivered)

      // Grade levels: the SIS's (no demo student is in -2, pre-K 3) joined with the standard ones.
      let validator = try DeliveryValidator(
        snapshot: Snapshot(
          path: SnapshotReference.load(workdir, batch: batch.id).absolutePath(workdir)))
      var student = DeliveryExamples.newStudent
      student.fields["SchoolID"] = "0101"
      student.fields["Grade_Level"] = "-2"
      #expect(validator.problems(student).isEmpty)
      student.fields["Grade_Level"] = "13"
      #expect(validator.problems(student).map(\.field) == ["Grade_Level"])
    }
  }
}
