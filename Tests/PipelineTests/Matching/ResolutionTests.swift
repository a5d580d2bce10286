import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropMatching
import Testing
import _SISDropTestSupport

/// Resolve and keep-sis on the demo district: a batch opened and matched, nothing delivered yet
/// (an answer for a delivered submission is refused: the SIS has it).
@Suite struct ResolutionTests {
  func openDemo(_ root: String) throws -> (WorkDir, String) {
    let pipeline = try writeFile(
      root + "/pipeline.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
    let workdir = try WorkDir(root: root + "/w")
    try Demo.stage(
      fixtures: Checkout.demoDistrict, workdir: workdir,
      config: try PipelineConfig.load(path: pipeline), xml: false)
    let batch = try BatchLifecycle.open(workdir: workdir, pipelinePath: pipeline, selection: .all)
      .batch
    for stage in [Stage.parse, .normalize, .match] {
      _ = try PipelineRunner.runStage(stage, workdir: workdir, batchID: batch, log: { _ in })
    }
    return (workdir, batch)
  }

  func decision(_ workdir: WorkDir, _ batch: String, _ id: String) throws -> SubmissionDecision {
    let path = workdir.stageFolder(batch, .match) + "/decisions.jsonl"
    return try #require(
      try readText(path).split(separator: "\n").map {
        try JSONDecoder().decode(SubmissionDecision.self, from: Data($0.utf8))
      }.first { $0.submissionID == id })
  }

  @Test func aResolutionIsRecordedWithWhoAndWhenAndAppliedByTheMatchStage() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      // S-2026-0028: names and birth date are SIS 107328's, but the state id differs: held for a person.
      #expect(
        try decision(workdir, batch, "S-2026-0028").students[0].decision.outcome == .potential)
      try Resolver.resolve(
        workdir: workdir, submission: "S-2026-0028", student: nil, sisID: "107328", by: "registrar",
        at: "2026-11-23T15:00:00Z")
      // A person may also say No Match, here to a matched child (S-2026-0011): it becomes new.
      try Resolver.resolve(
        workdir: workdir, submission: "S-2026-0011", student: 1, sisID: nil, by: "registrar",
        at: "2026-11-23T15:01:00Z")
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      let resolved = try decision(workdir, batch, "S-2026-0028").students[0].decision
      #expect(resolved.outcome == .matched && resolved.sisID == "107328")
      #expect(
        resolved.reasons.last == "resolved by registrar at 2026-11-23T15:00:00Z: Match to 107328")
      #expect(try decision(workdir, batch, "S-2026-0011").students[0].decision.outcome == .new)
      let rows = try csvRows(workdir.stageFolder(batch, .match) + "/resolutions.csv")
      #expect(
        rows.dropFirst().map { $0.prefix(6).joined(separator: ",") } == [
          "S-2026-0011,1,resolution,No Match,registrar,2026-11-23T15:01:00Z",
          "S-2026-0028,1,resolution,107328,registrar,2026-11-23T15:00:00Z",
        ])
      #expect(try workdir.state.resolutions().count == 2)
    }
  }

  @Test func refusalsSayWhy() throws {
    try withTemporaryFolder { root in
      let (workdir, _) = try openDemo(root)
      #expect {
        try Resolver.resolve(
          workdir: workdir, submission: "S-2026-0028", student: nil, sisID: "100057", by: "x")
      } throws: {
        ($0 as? SISDropError)?.message
          == "SIS student 100057 is not a candidate for S-2026-0028 student 1"
      }
      #expect {
        try Resolver.resolve(
          workdir: workdir, submission: "S-1999-0001", student: nil, sisID: nil, by: "x")
      } throws: {
        ($0 as? SISDropError)?.message == "submission S-1999-0001 is not in the pending ledger"
          && ($0 as? SISDropError)?.status == .noInput
      }
      #expect {
        try Resolver.keepSIS(
          workdir: workdir, submission: "S-2026-0011", field: "Shoe_Size", by: "x")
      } throws: { ($0 as? SISDropError)?.status == .dataError }
      // An answer with nothing to apply to is refused, not recorded to do nothing: S-2026-0011's
      // birth date is the SIS's (its update carries the move), and S-2026-0050 is a new child.
      #expect {
        try Resolver.fieldAnswer(
          workdir: workdir, submission: "S-2026-0011", schema: "student", seq: nil, field: "DOB",
          choice: .accept, by: "x")
      } throws: {
        let error = $0 as? SISDropError
        return error?.status == .dataError
          && error?.message
            == "DOB of student 1 of S-2026-0011 is the same on the form and in the SIS: its update carries no DOB, so there is nothing to answer"
          && error?.hint?.contains("Home_Phone") == true
      }
      #expect {
        try Resolver.fieldAnswer(
          workdir: workdir, submission: "S-2026-0050", schema: "student", seq: nil,
          field: "First_Name", choice: .keepSIS, by: "x")
      } throws: {
        ($0 as? SISDropError)?.message
          == "student 1 of S-2026-0050 is new: the SIS gets its fields as the form has them, there is no update to answer for"
      }
      // A field its update carries is answered as before.
      _ = try Resolver.fieldAnswer(
        workdir: workdir, submission: "S-2026-0011", schema: "student", seq: nil,
        field: "Home_Phone", choice: .keepSIS, by: "x")
      #expect(try workdir.state.resolutions().isEmpty)
    }
  }

  @Test func keepSISLeavesTheFieldOutOfTheUpdate() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      // S-2026-0011 moved: the update carries the new address and Home_Phone.
      #expect(
        try decision(workdir, batch, "S-2026-0011").students[0].differences.contains {
          $0.field == "Home_Phone"
        })
      try Resolver.keepSIS(
        workdir: workdir, submission: "S-2026-0011", field: "Home_Phone", by: "registrar",
        at: "2026-11-23T15:02:00Z")
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      let student = try decision(workdir, batch, "S-2026-0011").students[0]
      #expect(!student.differences.contains { $0.field == "Home_Phone" })
      #expect(student.keptSIS == ["Home_Phone"])
      // The inbox route: overrides.csv is taken by the next run; a bad row refuses the whole file with its line.
      let inbox = workdir.inbox(
        try workdir.config(for: try #require(try workdir.state.batch(batch))))
      _ = try writeFile(
        inbox + "/overrides.csv",
        "Submission_ID,Field,Resolved_By\nS-2026-0011,Street,office\nS-2026-0011,Nope,office\n")
      var (taken, _) = try takeAnswers(workdir, batch)
      #expect(
        taken.refused["overrides.csv"]?.contains {
          $0.contains("overrides.csv:3:") && $0.contains("'Nope' is not a student field")
        } == true)
      _ = try writeFile(
        inbox + "/overrides.csv", "Submission_ID,Field,Resolved_By\nS-2026-0011,Street,office\n")
      (taken, _) = try takeAnswers(workdir, batch)
      #expect(taken.recorded["overrides.csv"] == 1)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(
        try decision(workdir, batch, "S-2026-0011").students[0].keptSIS == ["Home_Phone", "Street"])
    }
  }
}
