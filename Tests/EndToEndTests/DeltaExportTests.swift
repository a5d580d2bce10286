import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropStore

/// SIS exports as deltas (the shipped demo pipeline reads students and contacts as deltas too): a
/// delta updates the snapshot by key, deletes by its marker column, reports keys it does not know,
/// is reproducible from the snapshot it was applied to, and a full export is required every
/// `full_every_days`.
@Suite(.serialized) struct DeltaExportTests {
  static func rows(_ snapshot: String, _ sql: String) throws -> [[String]] {
    try Database(path: snapshot, readOnly: true).rows(sql).map { $0.map { $0.string ?? "" } }
  }

  @Test func aDeltaUpdatesAndDeletesByKey() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      let night1 = try #require(try workdir.state.allBatches().last)
      let students = try csvRows(Checkout.demoDistrict + "/sis/students.csv")
      // In the SIS, between nights: a student leaves (deleted with its contact links), another moves school.
      let gone = students[5][0]
      let moved = students[6][0]
      let goneContacts = try Self.rows(
        workdir.root + "/" + (try #require(try workdir.state.latestSnapshot())).path,
        "SELECT contact_id FROM contacts WHERE student_number = '\(gone)'"
      ).count
      #expect(goneContacts > 0)
      try sis.deleteStudent(gone)
      try sis.setStudent(moved, "Street", "1 New Way")
      try sis.exportDelta(to: inbox)
      // A delete of a key the snapshot never had is reported, not ignored.
      var delta = try readText(inbox + "/students_delta.csv")
      delta +=
        "999999" + String(repeating: ",", count: SISStandIn.studentColumns.count - 1) + ",Y\n"
      try Data(delta.utf8).write(to: URL(fileURLWithPath: inbox + "/students_delta.csv"))
      #expect(!FileSystem.exists(inbox + "/students.csv"), "a delta night: no full export")
      try ReviewLoopTests.uploadExport(workdir, config)
      var lines: [String] = []
      _ = try PipelineRunner.run(
        workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) })
      let night2 = try #require(try workdir.state.allBatches().last)
      #expect(night2.id != night1.id)

      let normalize = workdir.stageFolder(night2.id, .normalize)
      let reference = try SnapshotReference.load(workdir, batch: night2.id)
      #expect(
        reference.mode == "delta" && reference.baseBatch == night1.id
          && reference.builtBy == night2.id)
      #expect(reference.fullExportBatch == night1.id)
      // stage.json names what the delta was applied to: the delta file and night 1's snapshot.
      let read = Dictionary(
        uniqueKeysWithValues: try StageReport.load(normalize).inputs.map { ($0.path, $0) })
      #expect(read["input/students_delta.csv"] != nil)
      #expect(read["../\(night1.id)/20-normalize/snapshot.sqlite"]?.sha256 == reference.baseSha256)
      let snapshot = normalize + "/snapshot.sqlite"
      #expect(
        try Self.rows(snapshot, "SELECT count(*) FROM students")[0][0] == String(students.count - 2)
      )
      #expect(
        try Self.rows(snapshot, "SELECT 1 FROM students WHERE student_number = '\(gone)'").isEmpty)
      #expect(
        try Self.rows(snapshot, "SELECT 1 FROM contacts WHERE student_number = '\(gone)'").isEmpty)
      #expect(
        try Self.rows(snapshot, "SELECT street FROM students WHERE student_number = '\(moved)'")
          == [["1 New Way"]])
      #expect(
        try Self.rows(snapshot, "SELECT count(*) FROM schools")[0][0] != "0",
        "what a delta does not carry is kept")
      // Reported: in sis_rejects.csv with its line, counted in stage.json and the log.
      let rejects = try csvRows(normalize + "/sis_rejects.csv")
      #expect(
        rejects.contains {
          $0.contains("999999")
            && $0.contains { $0.contains("deletes a key the snapshot does not have") }
        }, "\(rejects)")
      #expect(try StageReport.load(normalize).counts["sis_delta_unknown_keys"] == 1)
      #expect(try StageReport.load(normalize).counts["sis_delta_deleted"] == 1 + goneContacts)
      #expect(
        lines.contains { $0.contains("1 rows delete or update a key the snapshot does not have") },
        "\(lines)")
      // The manifest names the snapshot by digest, and the chain reproduces it.
      let manifest = try JSONSerialization.jsonObject(
        with: Data(
          contentsOf: URL(fileURLWithPath: workdir.batchFolder(night2.id) + "/manifest.json")))
      let recorded = try #require((manifest as? [String: Any])?["snapshot"] as? [String: Any])
      #expect(
        recorded["sha256"] as? String == reference.sha256
          && recorded["base_batch"] as? String == night1.id)
      #expect(try SHA256.file(at: snapshot).sha256 == reference.sha256)
      let again = root + "/again.sqlite"
      try FileSystem.copyFile(
        workdir.stageFolder(night1.id, .normalize) + "/snapshot.sqlite", to: again)
      let input = workdir.batchFolder(night2.id) + "/input"
      _ = try SnapshotBuilder(
        feed: config.sisExport, plugin: try PluginManifest.load(path: config.pluginPath!)
      )
      .applyDelta(
        files: [
          "students": input + "/students_delta.csv", "contacts": input + "/contacts_delta.csv",
        ], output: again)
      let everything = "SELECT * FROM students ORDER BY student_number"
      #expect(try Self.rows(again, everything) == (try Self.rows(snapshot, everything)))
      let links = "SELECT * FROM contacts ORDER BY contact_id, student_number"
      #expect(try Self.rows(again, links) == (try Self.rows(snapshot, links)))
    }
  }

  /// The same with the SIS export in XML: the marker is a child element of the record
  /// (`<Deleted>Y</Deleted>`), a deleted row carries its key alone, and unknown keys are reported.
  @Test func anXMLDeltaDeletesByItsMarkerElement() throws {
    try withTemporaryFolder { root in
      let pipeline = try writeFile(
        root + "/demo-sis-xml.yaml",
        try demoPipelineText([("sis_export:\n  format: csv", "sis_export:\n  format: xml")]))
      let config = try PipelineConfig.load(path: pipeline)
      #expect(
        config.sisExport.format == .xml
          && config.sisExport.deltaFileNames["students"] == "students_delta.xml")
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      for name in ["students", "contacts", "schools", "attendance_codes"] {
        try FileManager.default.removeItem(atPath: inbox + "/\(name).csv")
      }
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      try sis.exportFull(to: inbox, xml: true)
      let night1 = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let students = try csvRows(Checkout.demoDistrict + "/sis/students.csv").dropFirst()
      let full = workdir.stageFolder(night1.batch, .normalize) + "/snapshot.sqlite"
      #expect(try Self.rows(full, "SELECT count(*) FROM students")[0][0] == String(students.count))

      let gone = Array(students)[5][0]
      let moved = Array(students)[6][0]
      let goneContacts = try Self.rows(
        full, "SELECT contact_id FROM contacts WHERE student_number = '\(gone)'")
      #expect(!goneContacts.isEmpty)
      try sis.deleteStudent(gone)
      try sis.setStudent(moved, "Street", "1 New Way")
      try sis.exportDelta(to: inbox, xml: true)
      var delta = try readText(inbox + "/students_delta.xml")
      #expect(
        delta.contains("<Student_Number>\(gone)</Student_Number><Deleted>Y</Deleted>"),
        "a deleted row: its key and the marker")
      // A delete and an update of keys the snapshot never had: reported, not ignored.
      delta = delta.replacingOccurrences(
        of: "</students>",
        with: """
            <student><Student_Number>999999</Student_Number><Deleted>Y</Deleted></student>
            <student><Student_Number>999998</Student_Number><First_Name>Ann</First_Name><Last_Name>Example</Last_Name><DOB>01/02/2016</DOB><Deleted>U</Deleted></student>
          </students>
          """)
      try writeFile(inbox + "/students_delta.xml.tmp", delta)
      _ = rename(inbox + "/students_delta.xml.tmp", inbox + "/students_delta.xml")
      var contactsDelta = try readText(inbox + "/contacts_delta.xml")
      contactsDelta = contactsDelta.replacingOccurrences(
        of: "</contacts>",
        with:
          "  <contact><Contact_ID>C99999</Contact_ID><Student_Number>\(moved)</Student_Number><Deleted>YES</Deleted></contact>\n</contacts>"
      )
      try writeFile(inbox + "/contacts_delta.xml.tmp", contactsDelta)
      _ = rename(inbox + "/contacts_delta.xml.tmp", inbox + "/contacts_delta.xml")
      try ReviewLoopTests.uploadExport(workdir, config)
      var lines: [String] = []
      let night2 = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) }))

      let normalize = workdir.stageFolder(night2.batch, .normalize)
      let reference = try SnapshotReference.load(workdir, batch: night2.batch)
      #expect(reference.mode == "delta" && reference.baseBatch == night1.batch)
      let snapshot = normalize + "/snapshot.sqlite"
      // students - gone + the unknown update (added as it is)
      #expect(
        try Self.rows(snapshot, "SELECT count(*) FROM students")[0][0]
          == String(students.count - 1 + 1))
      #expect(
        try Self.rows(snapshot, "SELECT 1 FROM students WHERE student_number = '\(gone)'").isEmpty)
      #expect(
        try Self.rows(snapshot, "SELECT 1 FROM contacts WHERE student_number = '\(gone)'").isEmpty)
      #expect(
        try Self.rows(snapshot, "SELECT street FROM students WHERE student_number = '\(moved)'")
          == [["1 New Way"]])
      #expect(
        try Self.rows(snapshot, "SELECT 1 FROM students WHERE student_number = '999999'").isEmpty,
        "a delete is never an insert")
      let rejects = try csvRows(normalize + "/sis_rejects.csv")
      #expect(
        rejects.contains {
          $0.contains("999999")
            && $0.contains { $0.contains("deletes a key the snapshot does not have") }
        }, "\(rejects)")
      #expect(
        rejects.contains {
          $0.contains("999998")
            && $0.contains { $0.contains("updates a key the snapshot does not have") }
        }, "\(rejects)")
      #expect(
        rejects.contains {
          $0.contains("C99999")
            && $0.contains { $0.contains("deletes a key the snapshot does not have") }
        }, "\(rejects)")
      let counts = try StageReport.load(normalize).counts
      #expect(counts["sis_delta_unknown_keys"] == 3, "\(counts)")
      #expect(counts["sis_delta_deleted"] == 1 + goneContacts.count, "\(counts)")
      #expect(
        lines.contains { $0.contains("3 rows delete or update a key the snapshot does not have") },
        "\(lines)")
      #expect(
        !lines.contains { $0.contains("unknown column") && $0.contains("Deleted") },
        "the marker is no unknown column: \(lines)")
      // The chain reproduces it from the claimed XML deltas.
      let again = root + "/again.sqlite"
      try FileSystem.copyFile(full, to: again)
      let input = workdir.batchFolder(night2.batch) + "/input"
      _ = try SnapshotBuilder(
        feed: config.sisExport, plugin: try PluginManifest.load(path: config.pluginPath!)
      )
      .applyDelta(
        files: [
          "students": input + "/students_delta.xml", "contacts": input + "/contacts_delta.xml",
        ], output: again)
      let everything = "SELECT * FROM students ORDER BY student_number"
      #expect(try Self.rows(again, everything) == (try Self.rows(snapshot, everything)))
    }
  }

  @Test func aStaleFullExportStopsTheRunBeforeMatching() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      let night1 = try #require(try workdir.state.allBatches().last)
      // The full export was claimed nine days ago; only deltas since.
      let nineDaysAgo = Date().addingTimeInterval(-9 * 86_400).ISO8601Format()
      try workdir.state.database.execute(
        "UPDATE batches SET opened_at = ? WHERE id = ?", [.text(nineDaysAgo), .text(night1.id)])
      try sis.setStudent(
        try csvRows(Checkout.demoDistrict + "/sis/students.csv")[3][0], "Zip", "62799")
      try sis.exportDelta(to: workdir.inbox(config))
      try ReviewLoopTests.uploadExport(workdir, config)
      let result = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(result.status == 66, "\(result.stderr)")
      #expect(
        result.stderr.contains(
          "the last full SIS export was claimed on \(nineDaysAgo.prefix(10)) (batch \(night1.id)), 9 days ago"
        ),
        "\(result.stderr)")
      let night2 = try #require(try workdir.state.allBatches().last)
      #expect(night2.id != night1.id)
      #expect(!FileSystem.exists(workdir.stageFolder(night2.id, .match)), "stopped before matching")
    }
  }
  /// probe27's finding 1: a night's SIS delta claimed with an enrollment export that was refused
  /// (a cut file), then cancelled as the advice says. `cancel` never puts a delta back, so the
  /// snapshot lacked its changes and the next night matched against it: a child the SIS created
  /// that day was delivered as a second student. Now matching stops (66) until a full export comes,
  /// and a full export lets the night go on.
  @Test func aDeltaCancelledBeforeItWasAppliedStopsMatchingUntilAFullExport() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      let inbox = workdir.inbox(config)
      func run() throws -> ProcessResult {
        try runTool(
          "sisdrop",
          ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      }
      // Night 2: the SIS's delta and an enrollment export whose contacts file was cut.
      try sis.setStudent(
        try csvRows(Checkout.demoDistrict + "/sis/students.csv")[3][0], "Zip", "62799")
      try sis.exportDelta(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)
      let contacts = inbox + "/submission_contacts.csv"
      let text = try readText(contacts)
      try FileManager.default.removeItem(atPath: contacts)
      try writeFile(contacts, String(text.dropLast()))
      #expect(try run().status == 65)
      let refused = try #require(try workdir.state.openBatch()).id
      let cancel = try runTool("sisdrop", ["cancel", "--workdir", workdir.root])
      #expect(cancel.status == 0, "\(cancel.stderr)")
      // Night 3: the next delta and the whole enrollment export. The snapshot lacks night 2's delta.
      try sis.exportDelta(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)
      let stopped = try run()
      #expect(stopped.status == 66, "\(stopped.stderr)")
      #expect(
        stopped.stderr.contains("batch \(refused) was cancelled before its SIS delta")
          && stopped.stderr.contains("matching stops until a full export comes"),
        "\(stopped.stderr)")
      let night3 = try #require(try workdir.state.allBatches().last)
      #expect(!FileSystem.exists(workdir.stageFolder(night3.id, .match)), "stopped before matching")
      // The advice, followed: cancel, a full export with the enrollment export; matching goes on.
      #expect(
        stopped.stderr.contains(
          "cancel this batch first (`sisdrop cancel --workdir \(workdir.root)`), then upload a full SIS export"
        ), "\(stopped.stderr)")
      #expect(try runTool("sisdrop", ["cancel", "--workdir", workdir.root]).status == 0)
      try sis.exportFull(to: inbox)
      try ReviewLoopTests.uploadExport(workdir, config)
      let full = try run()
      #expect(full.status == 0, "\(full.stderr)")
      #expect(try workdir.state.openBatch() == nil)
      let night4 = try #require(try workdir.state.allBatches().last)
      #expect(FileSystem.exists(workdir.stageFolder(night4.id, .match)))
    }
  }
}
