import Foundation
import Testing
import _SISDropDeliveryTestSupport
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropDelivery

/// A delivery layout must carry its records: a file that cannot create a student, a contact or an
/// attendance record is refused at `open` (and at `tardies`); a pipeline may say instead that its SIS
/// import cannot create a kind, and those records stay pending with that reason; an update with
/// nothing the layout can write is "nothing to deliver", never an empty row; a grade the school
/// does not teach is that record's error.
@Suite struct LayoutCapacityTests {
  /// The demo pipeline with `files` (YAML under delivery.csv.files) and extra top-level YAML.
  static func pipeline(_ folder: String, files: String, extra: String = "", plugin: String? = nil)
    throws -> String
  {
    var text = try demoPipelineText([
      ("    date_format: MM/DD/YYYY\n", "    date_format: MM/DD/YYYY\n    files:\n" + files)
    ])
    if let plugin {
      text = text.replacingOccurrences(
        of: "plugin: \(Checkout.demoDistrict)/config/Plugin.xml", with: "plugin: \(plugin)")
    }
    return try writeFile(folder + "/pipeline.yaml", text + extra)
  }

  @Test(arguments: [
    (
      "      students_new: []\n",
      "students_new delivery file cannot create a student: it has no First_Name, Last_Name, DOB column"
    ),
    (
      "      contacts_new: []\n",
      "contacts_new delivery file cannot create a contact: it has no First_Name, Last_Name column"
    ),
    (
      "      students_new: [Submission_ID, Student_Ref, Last_Name, Grade_Level]\n",
      "it has no First_Name, DOB column"
    ),
  ])
  func aLayoutThatCannotCreateItsRecordIsRefusedAtOpen(files: String, message: String) throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try Self.pipeline(root, files: files)
      let before = try FileSystem.listDirectory(workdir.inbox(config))
      let open = try runTool(
        "sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(open.status == 78, "\(open.stderr)")
      #expect(open.stderr.contains(message), "\(open.stderr)")
      #expect(open.stderr.contains("delivery.create"), "\(open.stderr)")
      #expect(try workdir.state.allBatches().isEmpty)
      #expect(try FileSystem.listDirectory(workdir.inbox(config)) == before, "nothing claimed")
    }
  }

  @Test func anAttendanceLayoutWithoutStudentDateAndCodeIsRefusedByTardies() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      for (files, missing) in [
        ("      attendance: []\n", "Student_Number, Att_Date, Att_Code"),
        ("      attendance: [Student_Number, SchoolID, Att_Time]\n", "Att_Date, Att_Code"),
      ] {
        let pipeline = try Self.pipeline(root, files: files)
        let run = try runTool(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(run.status == 78, "\(run.stderr)")
        #expect(
          run.stderr.contains(
            "attendance delivery file cannot create an attendance record: it has no \(missing) column"
          ), "\(run.stderr)")
        #expect(
          FileSystem.exists(workdir.inbox(config) + "/tardies.csv"), "tardies.csv was claimed")
      }
    }
  }

  /// Key-only columns under a read-only Plugin.xml, with `delivery.create` saying the SIS import
  /// creates neither students nor contacts: new children stay pending with that reason (held.csv,
  /// `sisdrop pending`), updates the layout cannot carry are "nothing to deliver", no row is empty.
  @Test func keyOnlyColumnsNeverWriteBlankRowsOrMarkNewRecordsDelivered() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let plugin = try writeFile(
        root + "/Plugin.xml",
        try readText(Checkout.demoDistrict + "/config/Plugin.xml")
          .replacingOccurrences(of: "access=\"FullAccess\"", with: "access=\"ViewOnly\""))
      let keys = "[Contact_ID, Student_Number, Student_Ref, Contact_Ref, Submission_ID]"
      let files =
        "      students_new: [Submission_ID, Student_Ref]\n      students_update: [Student_Number, Submission_ID]\n"
        + "      contacts_new: \(keys)\n      contacts_update: \(keys)\n"
      // Without delivery.create: refused at open, nothing claimed.
      let refused = try Self.pipeline(root, files: files, plugin: plugin)
      #expect(
        try runTool("sisdrop", ["open", "--pipeline", refused, "--workdir", workdir.root]).status
          == 78)
      #expect(try workdir.state.allBatches().isEmpty)
      let pipeline = try writeFile(
        root + "/pipeline.yaml",
        try readText(refused)
          .replacingOccurrences(
            of: "delivery:\n  profile: csv\n",
            with: "delivery:\n  profile: csv\n  create: {students: false, contacts: false}\n"))
      let run = try runTool(
        "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 0, "\(run.stderr)")
      let state = try WorkDir(root: workdir.root).state
      let batch = try #require(try state.allBatches().first).id
      let deliver = workdir.stageFolder(batch, .deliver)

      // The new kindergartner: held with the reason, pending, not in any delivery file.
      let held = try csvRows(deliver + "/held.csv")
      #expect(
        held.contains {
          $0[0] == "S-2026-0032"
            && $0[3].contains(
              "the SIS import cannot create students (delivery.create.students: false)")
        },
        "\(held)")
      #expect(try state.ledgerEntry("S-2026-0032")?.status == .pending)
      let pending = try runTool("sisdrop", ["pending", "--workdir", workdir.root])
      #expect(
        pending.stdout.split(separator: "\n").contains {
          $0.hasPrefix("S-2026-0032\t") && $0.contains("cannot create students")
        },
        "\(pending.stdout)")
      let json = try runTool("sisdrop", ["pending", "--json", "--workdir", workdir.root])
      let list = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
      let row = try #require(list.first { $0["submission_id"] as? String == "S-2026-0032" })
      #expect((row["why"] as? String)?.contains("cannot create students") == true, "\(row)")

      // No delivery row is keys alone: updates the layout cannot carry were not written.
      let report = try StageReport.load(deliver)
      #expect((report.counts["nothing_to_deliver"] ?? 0) > 0, "\(report.counts)")
      #expect(
        report.notes.contains {
          $0.hasPrefix("nothing to deliver: S-2026-0001 student 1 changed Grade_Level")
        }, "\(report.notes)")
      for name in try FileSystem.listDirectory(workdir.outbox(config)) where name.hasSuffix(".csv")
      {
        let rows = try csvRows(workdir.outbox(config) + "/" + name).dropFirst()
        #expect(rows.allSatisfy { !$0.allSatisfy(\.isEmpty) }, "\(name) has a blank row")
        if name.contains("students") { #expect(rows.isEmpty, "\(name): \(Array(rows))") }
      }
      // A submission whose update had nothing to deliver is done: never sent again as a blank row.
      #expect(try state.ledgerEntry("S-2026-0001")?.status == .delivered)
    }
  }

  @Test func aGradeTheSchoolDoesNotTeachIsThatRecordsError() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let path = workdir.inbox(config) + "/submissions.csv"
      // The new kindergartner sent to the elementary school as a 9th grader.
      let text = try readText(path).replacingOccurrences(
        of: "02/13/2021,F,K,Lincoln Elem,", with: "02/13/2021,F,9,Lincoln Elem,")
      try FileManager.default.removeItem(atPath: path)
      try writeFile(path, text)
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let errors = try csvRows(workdir.stageFolder(summary.batch, .deliver) + "/errors.csv")
      #expect(
        errors.contains {
          $0[0] == "S-2026-0032" && $0[3] == "Grade_Level"
            && $0[5].contains("grade 9 is not taught at school 0101 (grades -2 to 5")
        },
        "\(errors)")
      #expect(try workdir.state.ledgerEntry("S-2026-0032")?.status == .pending)
      // The unit: a school without the columns is not checked; an update that moves school is.
      let validator = DeliveryValidator(
        schools: ["0101", "0303", "0404"], gradeLevels: DeliveryValidator.standardGradeLevels,
        schoolGrades: ["0101": -2...5, "0303": 9...12])
      var student = DeliveryExamples.newStudent
      student.fields["SchoolID"] = "0404"
      student.fields["Grade_Level"] = "9"
      #expect(validator.problems(student).isEmpty)
      var update = DeliveryRecord(
        kind: .studentsUpdate, submissionID: "S-1", seq: 1,
        fields: ["Student_Number": "1", "SchoolID": "0303", "Grade_Level": "5"],
        changed: ["SchoolID"])
      #expect(validator.problems(update).map(\.field) == ["Grade_Level"])
      update.fields["Grade_Level"] = "10"
      #expect(validator.problems(update).isEmpty)
    }
  }
}
