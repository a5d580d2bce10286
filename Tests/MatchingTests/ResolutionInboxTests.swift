import Foundation
import SISDrop
import Testing
import _SISDropTestSupport
import SISDropCore
import SISDropConfig
import SISDropStore

/// The review's resolution findings (H1, H2, H3) and the claims guard, on the demo district.
extension ResolutionTests {
  func inbox(_ workdir: WorkDir, _ batch: String) throws -> String {
    workdir.inbox(try workdir.config(for: try #require(try workdir.state.batch(batch))))
  }

  /// What `sisdrop run` does first: takes the answer files from the inbox.
  func takeAnswers(_ workdir: WorkDir, _ batch: String) throws -> (AnswerFeed.Result, [String]) {
    var lines: [String] = []
    let result = try AnswerFeed.take(workdir: workdir, config: try workdir.config(for: try #require(try workdir.state.batch(batch)))) {
      lines.append($0)
    }
    return (result, lines)
  }

  @Test func anInboxResolutionsFileIsReadOnceAndALaterAnswerWins() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      let inbox = try inbox(workdir, batch)
      _ = try writeFile(inbox + "/resolutions.csv",
                        "Submission_ID,Student_Seq,SIS_ID,Resolved_By\nS-2026-0028,1,107328,office\nS-2026-0011,1,no-match,office\n")
      let (taken, _) = try takeAnswers(workdir, batch)
      #expect(taken.recorded["resolutions.csv"] == 2 && taken.touchesOpenBatch)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.sisID == "107328")
      #expect(try decision(workdir, batch, "S-2026-0011").students[0].decision.outcome == .new)
      // Moved out of the inbox into the archive: read once.
      #expect(!FileSystem.exists(inbox + "/resolutions.csv"))
      let archive = workdir.archive(try workdir.config(for: try #require(try workdir.state.batch(batch)))) + "/answers"
      #expect(try FileManager.default.contentsOfDirectory(atPath: archive).contains { $0.hasSuffix("-resolutions.csv") })
      // The registrar changes their mind: the command's answer replaces the file's and says so,
      // and the next match run does not read the old file again.
      let later = try Resolver.resolve(workdir: workdir, submission: "S-2026-0028", student: 1, sisID: nil, by: "registrar")
      #expect(later.replaces?.hasPrefix("Match to 107328 by office") == true)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.outcome == .new)
      // The history says who answered what, in order.
      #expect(try workdir.state.answerHistory(submission: "S-2026-0028").map(\.event) == ["recorded", "replaced"])
    }
  }

  @Test func aResolutionsFileWithoutAnSISIDColumnOrWithABlankIsRefusedWhole() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      let inbox = try inbox(workdir, batch)
      let refused = workdir.archive(try workdir.config(for: try #require(try workdir.state.batch(batch)))) + "/answers/refused"
      // A misspelt header: never read as "No Match" for every row.
      _ = try writeFile(inbox + "/resolutions.csv", "Submission_ID,Student_Seq,SIS ID\nS-2026-0028,1,107328\n")
      var (taken, lines) = try takeAnswers(workdir, batch)
      #expect(taken.refused["resolutions.csv"]?.first?.contains("resolutions.csv:1: missing SIS_ID; 1 unknown column (column 3)") == true,
              "\(taken.refused)")
      #expect(lines.contains { $0.contains("resolutions.csv refused, nothing taken from it") })
      #expect(try workdir.state.resolutions().isEmpty)
      #expect(!FileSystem.exists(inbox + "/resolutions.csv"))
      #expect(try FileManager.default.contentsOfDirectory(atPath: refused).count == 1)
      // A blank SIS_ID, a short row or an unknown submission refuses the whole file: the good row is not taken either.
      _ = try writeFile(inbox + "/resolutions.csv",
                        "Submission_ID,Student_Seq,SIS_ID\nS-2026-0011,1,\nS-2026-0028,1,107328\nS-2026-0028\nS-NOPE,1,NO-MATCH\n")
      (taken, lines) = try takeAnswers(workdir, batch)
      let problems = try #require(taken.refused["resolutions.csv"])
      #expect(problems.contains { $0.hasPrefix("resolutions.csv:2:") && $0.contains("SIS_ID is blank") }, "\(problems)")
      #expect(problems.contains { $0.hasPrefix("resolutions.csv:4:") && $0.contains("a short row") }, "\(problems)")
      #expect(problems.contains { $0.hasPrefix("resolutions.csv:5:") && $0.contains("not in the pending ledger") }, "\(problems)")
      #expect(problems.count == 3)
      #expect(try workdir.state.resolutions().isEmpty)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0011").students[0].decision.outcome == .matched)
    }
  }

  @Test func anAnswerForAnEarlierVersionGoesBackToReview() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      // Answers given for other versions of the forms (another content hash).
      for (id, sisID) in [("S-2026-0028", "107328"), ("S-2026-0011", nil)] as [(String, String?)] {
        try workdir.state.record(Resolution(
          submissionID: id, studentSeq: 1, action: sisID == nil ? .noMatch : .match, sisID: sisID, resolvedBy: "registrar",
          resolvedAt: "2026-11-20T10:00:00Z", source: "command", version: "an-earlier-version", studentKey: "someone"))
      }
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      for id in ["S-2026-0028", "S-2026-0011"] {
        let decision = try decision(workdir, batch, id).students[0].decision
        #expect(decision.outcome == .potential, "\(id)")
        #expect(decision.reasons.last?.contains("an earlier version of this submission") == true, "\(id)")
        #expect(decision.reasons.last?.hasSuffix("resolve again") == true, "\(id)")
      }
      // Answered again for this version: it applies.
      try Resolver.resolve(workdir: workdir, submission: "S-2026-0028", student: 1, sisID: "107328", by: "registrar")
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.sisID == "107328")
    }
  }

  @Test func oneSISStudentClaimedTwiceInABatchGoesToReview() throws {
    try withTemporaryFolder { root in
      let pipeline = try writeFile(root + "/pipeline.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      let workdir = try WorkDir(root: root + "/w")
      let config = try PipelineConfig.load(path: pipeline)
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      // The same returning child's form twice, under another submission id (a parent submitted twice).
      for name in ["submissions.csv", "submission_contacts.csv"] {
        let file = workdir.inbox(config) + "/" + name
        let rows = try readText(file).split(separator: "\n").map(String.init)
        let copies = rows.filter { $0.hasPrefix("S-2026-0011,") }.map { $0.replacingOccurrences(of: "S-2026-0011,", with: "S-2026-0099,") }
        try #require(!copies.isEmpty)
        _ = try writeFile(file, (rows + copies).joined(separator: "\n") + "\n")
      }
      let summary = try #require(try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      for id in ["S-2026-0011", "S-2026-0099"] {
        let decision = try decision(workdir, summary.batch, id).students[0].decision
        #expect(decision.outcome == .potential, "\(id)")
        #expect(decision.reasons.last?.hasSuffix("is claimed by more than one submission student in this batch") == true, "\(id)")
      }
    }
  }
}
