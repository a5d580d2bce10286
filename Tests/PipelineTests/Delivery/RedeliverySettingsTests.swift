import Foundation
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop

#if canImport(Glibc)
import Glibc
#endif

/// A re-delivery plans with the pipeline's delivery settings, as the deliver stage does.
@Suite(.serialized) struct RedeliverySettingsTests {
  /// A pipeline whose SIS import cannot create students (`delivery.create.students: false`), with
  /// the batch kept open for review. A potential match answered after publication becomes
  /// deliverable; the deliver rerun is killed after its folder is in place and before its
  /// re-delivery is written (the debt, `redeliver.csv`, is on disk). The answer is then changed to
  /// No Match (a new student) and the batch closed: close pays the debt with the current decision,
  /// and under this pipeline a new student is held, never sent as a re-delivery.
  @Test func anOwedReDeliveryKeepsThePipelinesCreateSetting() throws {
    try withTemporaryFolder { root in
      let pipeline = try middayPipeline(root)
      let text = try readText(pipeline)
      #expect(text.contains("auto_close: true") && text.contains("  profile: csv\n"))
      try FileManager.default.removeItem(atPath: pipeline)
      try writeFile(
        pipeline,
        text.replacingOccurrences(of: "auto_close: true", with: "auto_close: false")
          .replacingOccurrences(
            of: "  profile: csv\n", with: "  profile: csv\n  create: {students: false}\n"))
      let prepared = root + "/prepared"
      _ = try demoWorkdir(prepared)
      let night = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", prepared])
      #expect(night.status == 0, "\(night.stderr)")
      let answer = try runTool(
        "sisdrop", ["resolve", "S-2026-0028", "--match", "107328", "--workdir", prepared])
      #expect(answer.status == 0, "\(answer.stderr)")
      let batch = try #require(try WorkDir(root: prepared).state.openBatch()).id
      // The deliver stage keeps the setting: the new children wait, with that reason.
      let held = try csvRows(
        try WorkDir(root: prepared).stageFolder(batch, .deliver) + "/held.csv")
      #expect(
        held.contains { $0.joined().contains("cannot create students") },
        "\(held.map { $0.prefix(4) })")
      let published = try csvRows(prepared + "/outbox/\(batch)_students_new.csv")
      #expect(published.count == 1, "\(published)")

      func copy(_ name: String) throws -> String {
        try copyWorkdir(prepared, to: root + "/" + name)
      }
      func owes(_ folder: String) throws -> Bool {
        FileManager.default.fileExists(
          atPath: try WorkDir(root: folder).stageFolder(batch, .deliver) + "/redeliver.csv")
      }

      // Uninterrupted, the next run re-delivers the matched submission as r1: the setting at hand
      // would let it through, so this test can see a re-delivery.
      let reference = try copy("reference")
      let trace = root + "/trace"
      let run = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", reference],
        environment: ["SISDROP_CRASH_TRACE": trace])
      #expect(run.status == 0, "\(run.stderr)")
      let r1 = reference + "/outbox/\(batch)-r1_students_update.csv"
      #expect(try csvRows(r1).dropFirst().contains { $0.contains("S-2026-0028") })
      #expect(try owes(reference))
      let total = try readText(trace).split(separator: "\n").count

      // The first write point at which a killed run leaves the debt on disk: the deliver folder's
      // rename is behind it, the re-delivery's writes are ahead of it.
      var low = 1
      var high = total
      while low < high {
        let point = (low + high) / 2
        let folder = try copy("probe-\(point)")
        let killed = try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder],
          environment: ["SISDROP_CRASH_AT": "\(point)"])
        #expect(killed.status == SIGKILL, "point \(point): \(killed.stderr)")
        if try owes(folder) { high = point } else { low = point + 1 }
        try FileManager.default.removeItem(atPath: folder)
      }
      let folder = try copy("killed")
      let killed = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder],
        environment: ["SISDROP_CRASH_AT": "\(low)"])
      #expect(killed.status == SIGKILL, "point \(low): \(killed.stderr)")
      let workdir = try WorkDir(root: folder)
      try #require(try owes(folder), "killed at \(low) of \(total): no debt on disk")
      #expect(try Redelivery.all(workdir, batch: batch).isEmpty, "killed before r1 was written")

      // The answer changes: the child is new, which this district's SIS import cannot create.
      let changed = try runTool(
        "sisdrop", ["resolve", "S-2026-0028", "--no-match", "--workdir", folder])
      #expect(changed.status == 0, "\(changed.stderr)")
      let close = try runTool("sisdrop", ["close", "--workdir", folder])
      #expect(close.status == 0, "\(close.stderr)")

      // Nothing went out for it: no re-delivery, no new student in the outbox, still pending.
      #expect(try Redelivery.all(workdir, batch: batch).isEmpty)
      let outbox = try FileManager.default.contentsOfDirectory(atPath: folder + "/outbox")
      #expect(!outbox.contains { $0.hasPrefix("\(batch)-r") }, "\(outbox.sorted())")
      for name in outbox where name.hasSuffix("_students_new.csv") {
        #expect(
          !(try csvRows(folder + "/outbox/" + name).contains { $0.contains("S-2026-0028") }),
          "\(name)")
      }
      #expect(try workdir.state.ledgerEntry("S-2026-0028")?.status != .delivered)
    }
  }
}
