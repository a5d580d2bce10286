import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropDelivery

@Suite struct ValidationTests {
  let validator = DeliveryValidator(schools: ["0101", "0202"], gradeLevels: ["0", "1", "2"])

  @Test func requiredFormatsCodeListsAndLengths() {
    var record = ProfileUnitTests.newStudent
    #expect(validator.problems(record).isEmpty)
    record.fields["Grade_Level"] = "7"
    record.fields["SchoolID"] = "0303"
    record.fields["Street"] = String(repeating: "x", count: 61)
    record.fields["Email"] = "not-an-address"
    record.fields["Gender"] = ""
    let problems = validator.problems(record)
    #expect(problems.map(\.field) == ["Gender", "Email", "Grade_Level", "SchoolID", "Street"])
    #expect(problems.first { $0.field == "Grade_Level" }?.reason.contains("0, 1, 2") == true)
    // What to do names the exact command for a correctable field, the enrollment system otherwise.
    #expect(
      problems.first { $0.field == "SchoolID" }?.action.contains(
        "`sisdrop correct S-1 SchoolID NEW_VALUE`") == true)
    #expect(problems.first { $0.field == "Gender" }?.action.contains("enrollment system") == true)
  }

  @Test func anUpdateIsCheckedOnItsKeyAndChangedFieldsOnly() {
    var update = ProfileUnitTests.update
    update.fields["SchoolID"] = "9999"  // unchanged: not this delivery's business
    #expect(validator.problems(update).map(\.field) == ["Grade_Level"])  // 4 is not in the SIS list
  }

  @Test func correctionValuesAreCheckedAndIdentityFieldsRefused() throws {
    let grade = try Corrections.make(
      submissionID: "S-1", schema: "student", seq: 1, field: "Grade_Level", value: "Kindergarten",
      source: "t")
    #expect(grade.value == "0")
    #expect(throws: SISDropError.self) {
      try Corrections.make(
        submissionID: "S-1", schema: "student", seq: 1, field: "Zip", value: "1", source: "t")
    }
    let identity = try #require(throws: SISDropError.self) {
      try Corrections.make(
        submissionID: "S-1", schema: "student", seq: 1, field: "DOB", value: "2015-01-01",
        source: "t")
    }
    #expect(identity.status == .usage)
  }

  @Test func aCorrectionAppliesOnlyToTheVersionItWasMadeFor() throws {
    var submission = Submission(
      id: "S-1", form: "F", approvedAt: "", source: SourceLocation(path: "x"))
    submission.students = [
      SubmissionPart(seq: 1, fields: ["Zip": "62704"], source: SourceLocation(path: "x"))
    ]
    submission.contentHash = "v2"
    var correction = try Corrections.make(
      submissionID: "S-1", schema: "student", seq: 1, field: "Zip", value: "62707", source: "t")
    correction.version = "v1"
    #expect(
      Corrections.apply([correction], to: submission).students[0]["Zip"] == "62704",
      "a newer version keeps its own value")
    correction.version = "v2"
    #expect(Corrections.apply([correction], to: submission).students[0]["Zip"] == "62707")
  }

  @Test func aCorrectionsFileIsReadWholeOrRefusedNamingTheLine() throws {
    try withTemporaryFolder { folder in
      let good = try writeFile(
        folder + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-1,student,1,Zip,62704\nS-1,contact,2,Phone,(217) 555-0100\n"
      )
      let corrections = try Corrections.read(path: good)
      #expect(
        corrections.map { "\($0.schema) \($0.seq) \($0.field)=\($0.value)" } == [
          "student 1 Zip=62704", "contact 2 Phone=217-555-0100",
        ])
      let bad = try writeFile(
        folder + "/bad.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-1,student,1,Zip,62704\nS-1,student,1,Zip,6270\n")
      let error = try #require(throws: SISDropError.self) { try Corrections.read(path: bad) }
      #expect(error.status == .dataError && error.location?.line == 3)
    }
  }
}

/// The seed's "rectify incorrect values and click Deliver Record again", end to end.
@Suite struct CorrectionEndToEndTests {
  @Test func aCorrectedRecordIsReDeliveredUnderItsOwnNameAndTheRestReturnToPending() throws {
    try withTemporaryFolder { root in
      // 72 characters: the SIS takes 60
      let long = "1200 " + String(repeating: "Long", count: 16) + " St"
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0032", column: "Street", value: long)
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0033", column: "Street", value: long)
      }
      let config = try workdir.config(for: batch)
      let outbox = workdir.outbox(config)
      let deliver = workdir.stageFolder(batch.id, .deliver)
      let errors = try csvRows(deliver + "/errors.csv").filter { $0[0] == "S-2026-0032" }
      #expect(
        errors.count == 1 && errors.first?[3] == "Street" && errors.first?[4] == long
          && errors.first?[7] == "deliver")
      #expect(errors.first?[6].contains("sisdrop-deliver --only S-2026-0032") == true)
      #expect(!(try csvRows(deliver + "/delivered.csv").contains { $0[0] == "S-2026-0032" }))
      let original = try readText(outbox + "/\(batch.id)_students_new.csv")
      #expect(!original.contains("S-2026-0032"))

      let refused = try runTool(
        "sisdrop", ["correct", "S-2026-0032", "DOB", "01/02/2020", "--workdir", root])
      #expect(refused.status == 64, "\(refused.stderr)")
      // Rejected for its birth date (the enrollment system fixes that): nothing here to correct.
      let rejected = try runTool(
        "sisdrop", ["correct", "S-2026-0030", "Grade_Level", "3", "--workdir", root])
      #expect(
        rejected.status == 64 && rejected.stderr.contains("rejected before matching"),
        "\(rejected.stderr)")
      // A seq the submission does not have is refused, never recorded to be ignored.
      let noSuchSeq = try runTool(
        "sisdrop",
        ["correct", "S-2026-0032", "Street", "12 Short St", "--seq", "5", "--workdir", root])
      #expect(
        noSuchSeq.status == 64 && noSuchSeq.stderr.contains("has no student 5"),
        "\(noSuchSeq.stderr)")
      #expect(try workdir.state.corrections().isEmpty)
      let corrected = try runTool(
        "sisdrop", ["correct", "S-2026-0032", "Street", "12 Short St", "--workdir", root])
      #expect(corrected.status == 0, "\(corrected.stderr)")
      // --only A,A sends A once.
      let again = try runTool(
        "sisdrop-deliver", ["--only", "S-2026-0032,S-2026-0032", "--workdir", root])
      #expect(again.status == 0, "\(again.stderr)")
      #expect(
        try csvRows(workdir.batchFolder(batch.id) + "/redeliveries/r1/delivered.csv").map { $0[0] }
          == ["Submission_ID", "S-2026-0032"])

      // A delivery of its own: new names, the first delivery untouched.
      let redelivered = try csvRows(outbox + "/\(batch.id)-r1_students_new.csv")
      #expect(
        redelivered.count == 2 && redelivered[1][0] == "S-2026-0032"
          && redelivered[1].contains("12 Short St"))
      #expect(FileSystem.exists(outbox + "/\(batch.id)-r1.ready"))
      #expect(try readText(outbox + "/\(batch.id)_students_new.csv") == original)
      let twice = try runTool("sisdrop-deliver", ["--only", "S-2026-0032", "--workdir", root])
      #expect(twice.status == 64 && twice.stderr.contains("already delivered"))
      // Delivered in the open batch: a correction would be recorded and never sent, so it is refused.
      let late = try runTool(
        "sisdrop", ["correct", "S-2026-0032", "City", "Springfield", "--workdir", root])
      #expect(
        late.status == 64 && late.stderr.contains("already delivered in batch"), "\(late.stderr)")
      let stillBad = try runTool("sisdrop-deliver", ["--only", "S-2026-0033", "--workdir", root])
      #expect(stillBad.status == 65 && stillBad.stderr.contains("Street"), "\(stillBad.stderr)")

      let close = try runTool("sisdrop-close", ["--workdir", root, "--json"])
      #expect(close.status == 0, "\(close.stderr)")
      #expect(try workdir.state.ledgerEntry("S-2026-0032")?.status == .delivered)
      #expect(try workdir.state.ledgerEntry("S-2026-0033")?.status == .pending)
      #expect(close.stdout.contains("\"S-2026-0032\""))
      let report = try readText(workdir.batchFolder(batch.id) + "/report.html")
      #expect(
        report.contains("sisdrop correct S-2026-0033 Street NEW_VALUE")
          && !report.contains("sisdrop correct S-2026-0032"))
    }
  }
}

@Suite struct InboxCorrectionsTests {
  @Test func aCorrectionsFileInTheInboxIsRecordedAndArchivedABadOneNeverStopsTheNight() throws {
    try withTemporaryFolder { root in
      // S-2026-0032 in error (a 72-character street): not delivered, so it can be corrected.
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(
          inbox + "/submissions.csv", id: "S-2026-0032", column: "Street",
          value: "1200 " + String(repeating: "Long", count: 16) + " St")
      }
      let config = try workdir.config(for: batch)
      let inbox = workdir.inbox(config) + "/corrections.csv"
      try writeFile(
        inbox, "Submission_ID,Schema,Seq,Field,Value\nS-2026-0032,student,1,Street,12 Short St\n")
      let taken = try AnswerFeed.take(workdir: workdir, config: config) { _ in }
      #expect(taken.recorded == ["corrections.csv": 1])
      #expect(
        !FileSystem.exists(inbox) && files(below: workdir.archive(config) + "/answers").count == 1)
      let stored = try #require(try workdir.state.corrections().first)
      let version = try workdir.state.ledgerEntry("S-2026-0032")?.contentHash
      #expect(stored.value == "12 Short St" && stored.version == version)

      try writeFile(inbox, "Submission_ID,Schema,Seq,Field,Value\nS-2026-0032,student,1,Zip,6\n")
      // sisdrop-deliver takes the file the same way: a bad one is refused whole and set aside, the delivery goes on.
      let deliver = try runTool("sisdrop-deliver", ["--workdir", root])
      #expect(
        deliver.status == 0
          && deliver.stderr.contains("corrections.csv refused, nothing taken from it"),
        "\(deliver.stderr)")
      #expect(
        deliver.stderr.contains("corrections.csv:2: the Zip value given is not a ZIP code"),
        "\(deliver.stderr)")
      #expect(!FileSystem.exists(inbox))
      #expect(
        files(below: workdir.archive(config) + "/answers/refused").count == 1,
        "kept for a person to fix and send again")
      #expect(try workdir.state.corrections().count == 1)
      try writeFile(inbox, "Submission_ID,Schema,Seq,Field,Value\nS-2026-0032,student,1,Zip\n")
      let summary = try PipelineRunner.run(
        workdir: workdir, pipelinePath: Checkout.pipeline("demo"), log: { _ in })
      #expect(summary?.closed == true, "the night went on")
      #expect(
        files(below: workdir.archive(config) + "/answers/refused").count == 2,
        "a short row refuses the file")

    }
  }
}
