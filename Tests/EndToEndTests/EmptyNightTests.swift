import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop

/// A night that delivers nothing writes nothing into the outbox: no header-only files, no ready
/// file. The batch still says so — its manifest publishes nothing and counts `deliver.published_files`
/// 0, `status` shows "nothing to deliver" — and the next night that has something delivers it as usual.
/// Nights of the shipped demo pipeline (`auto_close: true`), the export uploaded again every night.
@Suite(.serialized) struct EmptyNightTests {
  @Test func nightsThatDeliverNothingWriteNothingIntoTheOutbox() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      #expect(pipeline == Checkout.pipeline("demo"))
      let outbox = workdir.outbox(config)
      func night() throws -> PipelineRunner.Summary {
        let summary = try #require(
          try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
        #expect(summary.closed)
        try ReviewLoopTests.uploadExport(workdir, config)
        return summary
      }
      func outboxFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: outbox).filter { !$0.hasPrefix(".") }
          .sorted()
      }
      func manifest(_ batch: String) throws -> [String: Any] {
        try #require(
          try JSONSerialization.jsonObject(
            with: Data(
              contentsOf: URL(fileURLWithPath: workdir.batchFolder(batch) + "/manifest.json")))
            as? [String: Any])
      }

      // Night 1 delivers: every file and its ready file.
      let first = try night()
      let afterFirst = try outboxFiles()
      #expect(
        afterFirst.contains("\(first.batch).ready")
          && afterFirst.allSatisfy { $0.hasPrefix(first.batch) } && afterFirst.count > 1,
        "\(afterFirst)")
      // Every file the ready file lists, the documents in <batch>_documents/ included.
      #expect(
        (try manifest(first.batch)["counts"] as? [String: Int])?["deliver.published_files"]
          == filesBelow(outbox).filter { !$0.hasPrefix(".") }.count - 1)

      // Nights 2 to 4: the same export, nothing new to deliver (the rest waits for a person).
      var empty: [String] = []
      for _ in 2...4 {
        let summary = try night()
        empty.append(summary.batch)
        #expect(try outboxFiles() == afterFirst, "night \(summary.batch) wrote into the outbox")
        let sealed = try manifest(summary.batch)
        #expect(sealed["state"] as? String == "closed")
        #expect(
          (sealed["published"] as? [Any])?.isEmpty == true, "\(sealed["published"] ?? "missing")")
        #expect((sealed["delivered"] as? [Any])?.isEmpty == true)
        let counts = try #require(sealed["counts"] as? [String: Int])
        #expect(
          counts["deliver.published_files"] == 0 && counts["deliver.delivered_submissions"] == 0,
          "\(counts)")
        // The batch keeps its own record of the (empty) delivery: held and errors are still there for people.
        let deliver = workdir.stageFolder(summary.batch, .deliver)
        #expect(try csvRows(deliver + "/\(summary.batch).ready").count == 1)  // the header: no file
        #expect(try csvRows(deliver + "/held.csv").count > 1)
        #expect(
          !FileManager.default.fileExists(atPath: deliver + "/\(summary.batch)_students_new.csv"))
      }

      // status says what happened, in text and in --json.
      let status = try runTool(
        "sisdrop", ["status", "--json", "--limit", "0", "--workdir", workdir.root])
      #expect(status.status == 0, "\(status.stderr)")
      let json = try #require(
        try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
      let batches = try #require(json["batches"] as? [[String: Any]])
      func deliverStage(_ batch: String) -> [String: Any]? {
        (batches.first { $0["batch"] as? String == batch }?["stages"] as? [String: Any])?["deliver"]
          as? [String: Any]
      }
      #expect(
        deliverStage(first.batch)?["state"] as? String == "done"
          && deliverStage(first.batch)?["detail"] is NSNull)
      for batch in empty {
        #expect(deliverStage(batch)?["state"] as? String == "done")
        #expect(
          deliverStage(batch)?["detail"] as? String
            == "done: nothing to deliver, nothing written to the outbox")
      }
      let text = try runTool("sisdrop", ["status", "--limit", "0", "--workdir", workdir.root])
        .stdout
      #expect(
        text.components(
          separatedBy: "deliver: done: nothing to deliver, nothing written to the outbox"
        ).count - 1 == empty.count, "\(text)")

      // The command's summary of such a night names no delivery files (it printed the outbox).
      let fifth = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(
        fifth.status == 0
          && fifth.stdout.contains(
            "delivery files: none (nothing to deliver, nothing written to the outbox")
          && !fifth.stdout.contains("delivery files: \(outbox)"), "\(fifth.stdout)")
      #expect(try outboxFiles() == afterFirst)
      // The status's why-line says what the night did, as its batch line does: not "delivered".
      let fifthBatch = try #require(try workdir.state.allBatches().last?.id)
      let why = try runTool("sisdrop", ["status", "--workdir", workdir.root]).stdout
        .split(separator: "\n").first { $0.hasPrefix("  why: ") }
      #expect(
        why?.hasPrefix(
          "  why: batch \(fifthBatch) delivered nothing: nothing to deliver, nothing written to the outbox ("
        ) == true && why?.contains("held for review") == true, "\(why ?? "no why line")")
      try ReviewLoopTests.uploadExport(workdir, config)

      // A person answers a potential match: the next night delivers it, files and ready file as usual.
      let held = try csvRows(workdir.stageFolder(empty.last!, .deliver) + "/held.csv").dropFirst()
      let potential = try #require(held.first { $0[3].contains("potential") }, "\(held)")
      let resolved = try runTool(
        "sisdrop",
        [
          "resolve", potential[0], "--student", potential[2], "--no-match", "--workdir",
          workdir.root,
        ])
      #expect(resolved.status == 0, "\(resolved.stderr)")
      let answered = try night()
      let afterAnswer = try outboxFiles()
      #expect(afterAnswer.contains("\(answered.batch).ready"), "\(afterAnswer)")
      #expect(Set(afterAnswer).isSuperset(of: afterFirst))
      #expect(
        try csvRows(workdir.stageFolder(answered.batch, .deliver) + "/delivered.csv").dropFirst()
          .map { $0[0] } == [potential[0]])
    }
  }
}
