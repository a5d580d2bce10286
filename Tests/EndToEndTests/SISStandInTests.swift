import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop

/// The SIS stand-in the confirmation tests rely on, checked against a real night of the demo
/// pipeline: every delivered row is imported or named in the results file, new records are numbered
/// once, updates land, contacts are linked, and its exports say what the SIS now holds.
@Suite(.serialized) struct SISStandInTests {
  /// Rows of the outbox's delivery files whose name ends in `suffix`.
  static func delivered(_ outbox: String, _ suffix: String) throws -> [[String: String]] {
    var rows: [[String: String]] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: outbox).sorted()
    where name.hasSuffix(suffix) && !name.hasPrefix(".") {
      let table = try csvRows(outbox + "/" + name)
      rows += table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(table[0], $0)) }
    }
    return rows
  }

  @Test func importsADeliveryAndWritesItsResults() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let outbox = workdir.outbox(config)
      let newStudents = try Self.delivered(outbox, "_students_new.csv")
      let updates = try Self.delivered(outbox, "_students_update.csv")
      let newContacts = try Self.delivered(outbox, "_contacts_new.csv")
      let contactUpdates = try Self.delivered(outbox, "_contacts_update.csv")
      #expect(
        !newStudents.isEmpty && !updates.isEmpty && !newContacts.isEmpty && !contactUpdates.isEmpty)

      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      let before = sis.students.count
      let failed = try #require(updates.last?["Student_Number"])
      let skipped = try #require(newContacts.first?["Contact_Ref"])
      let results = try sis.importOutbox(
        outbox, fail: ["students:" + failed], skip: ["contacts:" + skipped],
        results: root + "/results.csv")

      // Every row has its result; only the two named rows are not ok.
      #expect(
        results.count == newStudents.count + updates.count + newContacts.count
          + contactUpdates.count)
      #expect(results.filter { $0.status != "ok" }.map(\.key) == [failed, skipped])
      #expect(results.first { $0.table == "students" && $0.key == failed }?.status == "failed")
      #expect(results.first { $0.table == "contacts" && $0.key == skipped }?.status == "skipped")
      let file = try csvRows(root + "/results.csv")
      #expect(file[0] == SISStandIn.resultsHeader && file.count == results.count + 1)

      // New students: numbered once each, above every existing number, with the delivered values.
      #expect(sis.students.count == before + newStudents.count)
      var numbers = Set<String>()
      for row in newStudents {
        let number = try #require(sis.refs[row["Student_Ref"]!])
        #expect(numbers.insert(number).inserted)
        let student = try #require(sis.student(number))
        #expect(
          student["Last_Name"] == row["Last_Name"] && student["DOB"] == row["DOB"]
            && student["Enroll_Status"] == "0")
      }
      // Updates set their non-blank fields; the failed one is untouched.
      let update = try #require(
        updates.first { $0["Student_Number"] != failed && !($0["Grade_Level"] ?? "").isEmpty })
      #expect(sis.student(update["Student_Number"]!)?["Grade_Level"] == update["Grade_Level"])
      let failedRow = try #require(updates.last)
      let original = try csvRows(Checkout.demoDistrict + "/sis/students.csv")
      let originalRow = try #require(original.first { $0[0] == failed })
      #expect(
        sis.student(failed)?["Grade_Level"] == originalRow[7]
          || (failedRow["Grade_Level"] ?? "").isEmpty)
      // New contacts are linked to their (new) students; the skipped one is not created.
      for row in newContacts where row["Contact_Ref"] != skipped {
        let id = try #require(sis.refs["contact:" + row["Contact_Ref"]!])
        let number =
          row["Student_Number"]!.isEmpty ? sis.refs[row["Student_Ref"]!] : row["Student_Number"]
        #expect(sis.contacts.contains { $0["Contact_ID"] == id && $0["Student_Number"] == number })
      }
      #expect(sis.refs["contact:" + skipped] == nil)

      // Imported once: the same outbox again imports nothing.
      #expect(try SISStandIn(folder: root + "/sis").importOutbox(outbox).isEmpty)

      // A delta names exactly what changed, a deletion with its marker; a full export is everything.
      let sis2 = try SISStandIn(folder: root + "/sis")
      #expect(sis2.students.count == sis.students.count, "the state outlives the object")
      let gone = try #require(original.dropFirst().first?[0])
      try sis2.deleteStudent(gone)
      try sis2.exportDelta(to: root + "/delta")
      let delta = try csvRows(root + "/delta/students_delta.csv")
      #expect(delta[0].last == SISStandIn.deleteColumn)
      #expect(delta.contains { $0[0] == gone && $0.last == "Y" })
      #expect(Set(numbers).isSubset(of: Set(delta.map { $0[0] })))
      #expect(!delta.contains { $0[0] == failed })
      try sis2.exportFull(to: root + "/full")
      let full = try csvRows(root + "/full/students.csv")
      #expect(full.count == sis2.students.count + 1 && !full.contains { $0[0] == gone })
      try sis2.exportDelta(to: root + "/delta2")
      #expect(
        try csvRows(root + "/delta2/students_delta.csv").count == 1,
        "nothing changed since the full export")
    }
  }
}
