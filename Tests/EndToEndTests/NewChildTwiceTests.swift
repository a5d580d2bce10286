import Foundation
import SISDropConfig
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropMatching

/// A second form of a new child that a delivery created and no SIS export has shown yet (issue
/// 12): it must not create a second student. Shipped demo pipeline, the SIS stand-in.
@Suite(.serialized) struct NewChildTwiceTests {
  @Test func aSecondFormOfANewChildNotYetInTheSISWaitsAndThenUpdatesIt() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      // Night 1 delivers S-2026-0032 (Amara Okafor) as a new student.
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })

      // Night 2: the family sends the form again (another home phone); no SIS export tonight, so
      // the SIS snapshot does not have the child yet.
      try Self.uploadNight(workdir, config)
      var lines: [String] = []
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) }))
      let decisions = try JSONLines.read(
        SubmissionDecision.self,
        from: workdir.stageFolder(second.batch, .match) + "/decisions.jsonl")
      let waiting = try #require(decisions.first { $0.submissionID == "S-2026-0901" })
      #expect(waiting.students.first?.decision.outcome == .potential)
      #expect(
        waiting.students.first?.decision.reasons.last?.hasPrefix(
          "the same child as the new student S-2026-0032/1 delivered by batch ") == true,
        "\(waiting)")
      // No new student tonight at all (no file), and never this child.
      let newStudents =
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_students_new.csv"
      let created = FileSystem.exists(newStudents) ? try csvRows(newStudents) : []
      #expect(!created.contains { $0.contains("S-2026-0901/1") }, "not created a second time")
      #expect(
        try StageReport.load(workdir.stageFolder(second.batch, .match)).counts[
          "students_awaiting_new_child"] == 1)
      #expect(lines.contains { $0.contains("1 waiting for a new child delivered before") })
      #expect(second.review.contains { $0.first == "S-2026-0901" })

      // Night 3: the SIS imported night 1's delivery; its export shows the child with its number.
      try sis.importOutbox(workdir.outbox(config))
      let number = try #require(sis.refs["S-2026-0032/1"])
      try sis.exportDelta(to: inbox)
      try Self.uploadNight(workdir, config)
      let third = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let matched = try #require(
        try JSONLines.read(
          SubmissionDecision.self,
          from: workdir.stageFolder(third.batch, .match) + "/decisions.jsonl"
        ).first { $0.submissionID == "S-2026-0901" })
      #expect(
        matched.students.first?.decision.outcome == .matched
          && matched.students.first?.decision.sisID == number, "\(matched)")
      let updates = try csvRows(
        workdir.stageFolder(third.batch, .deliver) + "/\(third.batch)_students_update.csv")
      #expect(updates.contains { $0[0] == number && $0.contains("217-555-4242") }, "\(updates)")
    }
  }

  /// An earlier form of a new child that carries more (documents the later form lacks) waits while
  /// the later form creates the child; once the SIS shows the child, the earlier form matches it,
  /// and its older values must not replace the later form's: they are held for a person.
  @Test func anEarlierFormMatchedToTheChildALaterFormCreatedWritesNothingOverItUnseen() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let sis = try SISStandIn.copying(Checkout.demoDistrict + "/sis", into: root + "/sis")
      // Night 1: S-2026-0032 (approved 2026-11-16, home phone 217-555-9639, three documents) and
      // S-2026-0901, the same child approved later (2026-11-20) with a new phone and no documents.
      try Self.uploadNight(workdir, config)
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let night1 = try JSONLines.read(
        SubmissionDecision.self,
        from: workdir.stageFolder(first.batch, .match) + "/decisions.jsonl")
      #expect(
        night1.first { $0.submissionID == "S-2026-0032" }?.students.first?.decision.outcome
          == .potential)
      let created = try csvRows(
        workdir.stageFolder(first.batch, .deliver) + "/\(first.batch)_students_new.csv")
      #expect(created.contains { $0.contains("S-2026-0901/1") && $0.contains("217-555-4242") })

      // Night 2: the SIS imported night 1's delivery and shows the child with the later phone; the
      // earlier form comes again and matches it.
      try sis.importOutbox(workdir.outbox(config))
      let number = try #require(sis.refs["S-2026-0901/1"])
      try sis.exportDelta(to: inbox)
      try Self.uploadNight(workdir, config)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let match = workdir.stageFolder(second.batch, .match)
      let earlier = try #require(
        try JSONLines.read(SubmissionDecision.self, from: match + "/decisions.jsonl")
          .first { $0.submissionID == "S-2026-0032" })
      let student = try #require(earlier.students.first)
      #expect(student.decision.outcome == .matched && student.decision.sisID == number)
      #expect(
        student.decision.reasons.last?.hasPrefix(
          "S-2026-0901, a form approved after this one, was delivered for SIS \(number) already"
        ) == true, "\(student.decision.reasons)")
      // The older phone is held for a person, beside the SIS value; no update writes it.
      let held = try csvRows(match + "/held_updates.csv")
      #expect(
        held.contains {
          $0[0] == "S-2026-0032" && $0[1] == "student" && $0[4] == "Home_Phone"
            && $0[5] == "217-555-9639" && $0[6] == "217-555-4242"
        }, "\(held)")
      let updates =
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_students_update.csv"
      let rows = FileSystem.exists(updates) ? try csvRows(updates) : []
      #expect(!rows.contains { $0.contains("217-555-9639") }, "\(rows)")
    }
  }

  /// A night's files in the inbox: the SIS export (`ReviewLoopTests.uploadExport`) and the demo's
  /// enrollment export with a second form of S-2026-0032's child, S-2026-0901: approved later
  /// (2026-11-20 09:00 instead of 2026-11-16 12:43), home phone 217-555-4242 instead of
  /// 217-555-9639, the same guardians, no documents.
  static func uploadNight(_ workdir: WorkDir, _ config: PipelineConfig) throws {
    let inbox = workdir.inbox(config)
    let enrollment = Checkout.demoDistrict + "/enrollment-csv"
    func withCopy(_ file: String, _ edit: (String) -> String = { $0 }) throws -> String {
      let text = try readText(enrollment + "/" + file)
      let extra = text.split(separator: "\n").filter { $0.hasPrefix("S-2026-0032,") }
        .map { edit("S-2026-0901" + $0.dropFirst("S-2026-0032".count)) }
      return text + extra.joined(separator: "\n") + "\n"
    }
    try ReviewLoopTests.uploadExport(workdir, config)
    for (name, text) in [
      (
        "submissions.csv",
        try withCopy("submissions.csv") {
          $0.replacingOccurrences(of: "2026-11-16 12:43", with: "2026-11-20 09:00")
            .replacingOccurrences(of: "217-555-9639", with: "217-555-4242")
        }
      ),
      ("submission_contacts.csv", try withCopy("submission_contacts.csv")),
    ] {
      try? FileManager.default.removeItem(atPath: inbox + "/" + name)
      try writeFile(inbox + "/" + name, text)
    }
  }
}
