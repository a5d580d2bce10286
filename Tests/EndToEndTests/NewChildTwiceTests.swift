import Foundation
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
      let enrollment = Checkout.demoDistrict + "/enrollment-csv"
      func again(_ file: String, _ edit: (String) -> String = { $0 }) throws -> String {
        let text = try readText(enrollment + "/" + file)
        let extra = text.split(separator: "\n").filter { $0.hasPrefix("S-2026-0032,") }
          .map { edit("S-2026-0901" + $0.dropFirst("S-2026-0032".count)) }
        return text + extra.joined(separator: "\n") + "\n"
      }
      func upload() throws {
        try ReviewLoopTests.uploadExport(workdir, config)
        for (name, text) in [
          (
            "submissions.csv",
            try again("submissions.csv") {
              $0.replacingOccurrences(of: "2026-11-16 12:43", with: "2026-11-20 09:00")
                .replacingOccurrences(of: "217-555-9639", with: "217-555-4242")
            }
          ),
          ("submission_contacts.csv", try again("submission_contacts.csv")),
        ] {
          try? FileManager.default.removeItem(atPath: inbox + "/" + name)
          try writeFile(inbox + "/" + name, text)
        }
      }
      try upload()
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
      try upload()
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
}
