import Foundation
import SISDropStore
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropDelivery

/// 72 characters: the SIS takes 60.
private let streetTooLong = "1200 " + String(repeating: "Long", count: 16) + " St"

/// The demo batch opened with S-2026-0032's and S-2026-0033's streets too long for the SIS: two
/// records in error, for a person to correct.
private func openDemoBatchWithStreetsTooLong(_ root: String) throws -> (WorkDir, BatchRecord) {
  try openDemoBatch(root) { inbox in
    for id in ["S-2026-0032", "S-2026-0033"] {
      try editCSV(inbox + "/submissions.csv", id: id, column: "Street", value: streetTooLong)
    }
  }
}

/// The seed's "rectify incorrect values and click Deliver Record again", end to end.
@Suite struct CorrectionEndToEndTests {
  @Test func aCorrectedRecordIsReDeliveredUnderItsOwnNameAndTheRestReturnToPending() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatchWithStreetsTooLong(root)
      let config = try workdir.config(for: batch)
      let outbox = workdir.outbox(config)
      let deliver = workdir.stageFolder(batch.id, .deliver)
      let errors = try csvRows(deliver + "/errors.csv").filter { $0[0] == "S-2026-0032" }
      #expect(
        errors.count == 1 && errors.first?[3] == "Street" && errors.first?[4] == streetTooLong
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

/// A corrections file of several rows while the batch is open: every row checked against the one
/// reading of the batch's deliveries and decisions (read once for the file, not once per row).
@Suite struct CorrectionsFileTests {
  @Test func everyRowOfAFileIsCheckedAndAnsweredWithItsOwnNextStep() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatchWithStreetsTooLong(root)
      let delivered = try csvRows(workdir.stageFolder(batch.id, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      let sent = try #require(delivered.last)
      let file = root + "/corrections.csv"
      try writeFile(
        file,
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0032,student,1,Street,12 Short St\n"
          + "S-2026-0033,student,1,Street,14 Short St\n")
      let recorded = try runTool("sisdrop", ["correct", "--file", file, "--workdir", root])
      #expect(recorded.status == 0, "\(recorded.stderr)")
      #expect(
        recorded.stdout.contains(
          "S-2026-0032: deliver it again with: sisdrop-deliver --only S-2026-0032")
          && recorded.stdout.contains(
            "S-2026-0033: deliver it again with: sisdrop-deliver --only S-2026-0033"),
        "\(recorded.stdout)")
      #expect(
        try workdir.state.corrections().map(\.submissionID) == ["S-2026-0032", "S-2026-0033"])
      // A row for a submission the open batch delivered, after rows that are fine: the file is
      // refused whole, naming it.
      try writeFile(
        file,
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0033,student,1,City,Springfield\n"
          + "\(sent),student,1,City,Springfield\n")
      let refused = try runTool("sisdrop", ["correct", "--file", file, "--workdir", root])
      #expect(
        refused.status == 64
          && refused.stderr.contains("submission \(sent) is already delivered in batch \(batch.id)"),
        "\(refused.stderr)")
      #expect(try workdir.state.corrections().count == 2)
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
      // Refused files kept, each with its problems beside it (`<file>.problems.txt`).
      func refusedFiles() -> Int {
        let kept = files(below: workdir.archive(config) + "/answers/refused")
        let problems = kept.filter { $0.hasSuffix(".problems.txt") }
        #expect(problems.count * 2 == kept.count, "\(kept)")
        return kept.count - problems.count
      }
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
        refusedFiles() == 1,
        "kept for a person to fix and send again")
      #expect(try workdir.state.corrections().count == 1)
      try writeFile(inbox, "Submission_ID,Schema,Seq,Field,Value\nS-2026-0032,student,1,Zip\n")
      let summary = try PipelineRunner.run(
        workdir: workdir, pipelinePath: Checkout.pipeline("demo"), log: { _ in })
      #expect(summary?.closed == true, "the night went on")
      #expect(
        refusedFiles() == 2,
        "a short row refuses the file")

    }
  }
}
