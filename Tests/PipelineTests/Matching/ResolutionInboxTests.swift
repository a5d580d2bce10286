import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropStore
import Testing
import _SISDropTestSupport

@testable import SISDrop

/// The review's resolution findings (H1, H2, H3) and the claims guard, on the demo district.
extension ResolutionTests {
  func inbox(_ workdir: WorkDir, _ batch: String) throws -> String {
    workdir.inbox(try workdir.config(for: try #require(try workdir.state.batch(batch))))
  }

  /// What `sisdrop run` does first: takes the answer files from the inbox.
  func takeAnswers(_ workdir: WorkDir, _ batch: String) throws -> (AnswerFeed.Result, [String]) {
    var lines: [String] = []
    let result = try AnswerFeed.take(
      workdir: workdir,
      config: try workdir.config(for: try #require(try workdir.state.batch(batch)))
    ) {
      lines.append($0)
    }
    return (result, lines)
  }

  @Test func anInboxResolutionsFileIsReadOnceAndALaterAnswerWins() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      let inbox = try inbox(workdir, batch)
      _ = try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID,Resolved_By\nS-2026-0028,1,107328,office\nS-2026-0011,1,no-match,office\n"
      )
      let (taken, _) = try takeAnswers(workdir, batch)
      #expect(taken.recorded["resolutions.csv"] == 2 && taken.touchesOpenBatch)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.sisID == "107328")
      #expect(try decision(workdir, batch, "S-2026-0011").students[0].decision.outcome == .new)
      // Moved out of the inbox into the archive: read once.
      #expect(!FileSystem.exists(inbox + "/resolutions.csv"))
      let archive =
        workdir.archive(try workdir.config(for: try #require(try workdir.state.batch(batch))))
        + "/answers"
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: archive).contains {
          $0.hasSuffix("-resolutions.csv")
        })
      // The registrar changes their mind: the command's answer replaces the file's and says so,
      // and the next match run does not read the old file again.
      let later = try Resolver.resolve(
        workdir: workdir, submission: "S-2026-0028", student: 1, sisID: nil, by: "registrar")
      #expect(later.replaces?.hasPrefix("Match to 107328 by office") == true)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.outcome == .new)
      // The history says who answered what, in order.
      #expect(
        try workdir.state.answerHistory(submission: "S-2026-0028").map(\.event) == [
          "recorded", "replaced",
        ])
    }
  }

  @Test func aResolutionsFileWithoutAnSISIDColumnOrWithABlankIsRefusedWhole() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      let inbox = try inbox(workdir, batch)
      let refused =
        workdir.archive(try workdir.config(for: try #require(try workdir.state.batch(batch))))
        + "/answers/refused"
      // A misspelt header: never read as "No Match" for every row.
      _ = try writeFile(
        inbox + "/resolutions.csv", "Submission_ID,Student_Seq,SIS ID\nS-2026-0028,1,107328\n")
      var (taken, lines) = try takeAnswers(workdir, batch)
      #expect(
        taken.refused["resolutions.csv"]?.first?.contains(
          "resolutions.csv:1: missing SIS_ID; 1 unknown column (column 3)") == true,
        "\(taken.refused)")
      #expect(lines.contains { $0.contains("resolutions.csv refused, nothing taken from it") })
      #expect(try workdir.state.resolutions().isEmpty)
      #expect(!FileSystem.exists(inbox + "/resolutions.csv"))
      // The file, and its problems beside it for the clerk who fixes it.
      let kept = try FileManager.default.contentsOfDirectory(atPath: refused).sorted()
      #expect(kept.count == 2 && kept[0].hasSuffix("-resolutions.csv"), "\(kept)")
      #expect(
        try readText(refused + "/" + kept[0] + ".problems.txt")
          .hasPrefix("resolutions.csv:1: missing SIS_ID; 1 unknown column (column 3)") == true)
      // A blank SIS_ID, a short row or an unknown submission refuses the whole file: the good row is not taken either.
      _ = try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID\nS-2026-0011,1,\nS-2026-0028,1,107328\nS-2026-0028\nS-NOPE,1,NO-MATCH\n"
      )
      (taken, lines) = try takeAnswers(workdir, batch)
      let problems = try #require(taken.refused["resolutions.csv"])
      #expect(
        problems.contains { $0.hasPrefix("resolutions.csv:2:") && $0.contains("SIS_ID is blank") },
        "\(problems)")
      #expect(
        problems.contains { $0.hasPrefix("resolutions.csv:4:") && $0.contains("a short row") },
        "\(problems)")
      #expect(
        problems.contains {
          $0.hasPrefix("resolutions.csv:5:") && $0.contains("not in the pending ledger")
        }, "\(problems)")
      #expect(problems.count == 3)
      #expect(try workdir.state.resolutions().isEmpty)
      // A quote left open names the line where it opened, and the refusal is a warning in the log.
      _ = try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID\r\nS-2026-0028,1,107328\r\nS-2026-0011,1,\"NO-MATCH\r\n")
      (taken, lines) = try takeAnswers(workdir, batch)
      #expect(
        taken.refused["resolutions.csv"] == [
          "resolutions.csv:3: unbalanced quote: the quoted field opened here is never closed"
        ], "\(taken.refused)")
      #expect(
        lines.contains { $0.hasPrefix("warning: resolutions.csv refused, nothing taken from it") },
        "\(lines)")
      #expect(try workdir.state.resolutions().isEmpty)
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0011").students[0].decision.outcome == .matched)
    }
  }

  /// An uploaded answer file whose last row has no line break is refused whole: the upload may have
  /// stopped inside the row's last value (a corrected Street `12 Oa` would reach the SIS). Before,
  /// the row was taken as it came. `sisdrop correct --file` (the clerk's own file, not an upload)
  /// still takes it.
  @Test func anAnswerFileCutInsideItsLastValueIsRefusedWhole() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      let inbox = try inbox(workdir, batch)
      _ = try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID\nS-2026-0011,1,NO-MATCH\nS-2026-0028,1,10732")
      _ = try writeFile(
        inbox + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\r\nS-2026-0001,student,1,Street,12 Oa")
      let (taken, _) = try takeAnswers(workdir, batch)
      // (The cut id is not a candidate either: a resolution names one of the item's candidates.)
      #expect(
        taken.refused["resolutions.csv"]?.last
          == "resolutions.csv:3: \(Corrections.cutOffWords); \(Corrections.cutOffHint)",
        "\(taken.refused)")
      #expect(
        taken.refused["corrections.csv"] == [
          "corrections.csv:2: \(Corrections.cutOffWords); \(Corrections.cutOffHint)"
        ], "\(taken.refused)")
      #expect(taken.total == 0)
      #expect(try workdir.state.resolutions().isEmpty)
      // The same corrections file read as an upload is refused at its last row; given to
      // `sisdrop correct --file`, it is the clerk's own and is taken.
      let file = root + "/corrections.csv"
      _ = try writeFile(
        file, "Submission_ID,Schema,Seq,Field,Value\nS-2026-0001,student,1,Zip,62704")
      #expect(throws: SISDropError.self) {
        try Corrections.read(path: file, inboxFile: true)
      }
      #expect(try Corrections.read(path: file).map(\.value) == ["62704"])
    }
  }

  @Test func anAnswerForAnEarlierVersionGoesBackToReview() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemo(root)
      // Answers given for other versions of the forms (another content hash).
      for (id, sisID) in [("S-2026-0028", "107328"), ("S-2026-0011", nil)] as [(String, String?)] {
        try workdir.state.record(
          Resolution(
            submissionID: id, studentSeq: 1, action: sisID == nil ? .noMatch : .match, sisID: sisID,
            resolvedBy: "registrar",
            resolvedAt: "2026-11-20T10:00:00Z", source: "command", version: "an-earlier-version",
            studentKey: "someone"))
      }
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      for id in ["S-2026-0028", "S-2026-0011"] {
        let decision = try decision(workdir, batch, id).students[0].decision
        #expect(decision.outcome == .potential, "\(id)")
        #expect(
          decision.reasons.last?.contains("an earlier version of this submission") == true, "\(id)")
        #expect(decision.reasons.last?.hasSuffix("resolve again") == true, "\(id)")
      }
      // Answered again for this version: it applies.
      try Resolver.resolve(
        workdir: workdir, submission: "S-2026-0028", student: 1, sisID: "107328", by: "registrar")
      _ = try PipelineRunner.runStage(.match, workdir: workdir, batchID: batch, log: { _ in })
      #expect(try decision(workdir, batch, "S-2026-0028").students[0].decision.sisID == "107328")
    }
  }

  /// The demo's S-2026-0011 (SIS 102123, moved) and copies of its form under S-2026-0099, approved
  /// later, each edited by `edit` (column → value), in a batch run through deliver with `matching` added.
  /// `source`: the submission copied; `files`: the enrollment files its rows are copied in.
  func twoFormsOfOneChild(
    _ root: String, source: String = "S-2026-0011", matching: String = "",
    files: [String] = ["submissions.csv", "submission_contacts.csv"], edit: [String: String],
    firstContactEdit: [String: String] = [:]
  ) throws -> (WorkDir, String) {
    var text = try demoPipelineText([("auto_close: true", "auto_close: false")])
    if !matching.isEmpty {
      text = text.replacingOccurrences(of: "matching:\n", with: "matching:\n" + matching)
    }
    #expect(matching.isEmpty || text.contains(matching))
    let pipeline = try writeFile(root + "/pipeline.yaml", text)
    let workdir = try WorkDir(root: root + "/w")
    let config = try PipelineConfig.load(path: pipeline)
    try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
    for name in files {
      let file = workdir.inbox(config) + "/" + name
      var rows = try csvRows(file)
      var copies = rows.filter { $0[0] == source }.map { row in
        var copy = row
        copy[0] = "S-2026-0099"
        return copy
      }
      try #require(!copies.isEmpty)
      if name == "submissions.csv" {
        let header = rows[0]
        let approvedAt = try #require(header.firstIndex(of: "Approved_At"))
        var columns: [(Int, String)] = []
        for (column, value) in edit {
          columns.append((try #require(header.firstIndex(of: column)), value))
        }
        copies = copies.map { row in
          var copy = row
          copy[approvedAt] = "2026-11-19 08:00"
          for (index, value) in columns { copy[index] = value }
          return copy
        }
      }
      if name == "submission_contacts.csv" {
        let header = rows[0]
        var columns: [(Int, String)] = []
        for (column, value) in firstContactEdit {
          columns.append((try #require(header.firstIndex(of: column)), value))
        }
        copies = copies.map { row in
          var copy = row
          if row[1] == "1" { for (index, value) in columns { copy[index] = value } }
          return copy
        }
      }
      rows += copies
      try? FileManager.default.removeItem(atPath: file)
      _ = try writeFile(
        file,
        rows.map { $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") }.joined(
          separator: "\n") + "\n")
    }
    let batch = try BatchLifecycle.open(workdir: workdir, pipelinePath: pipeline, selection: .all)
      .batch
    for stage in [Stage.parse, .normalize, .match, .deliver] {
      _ = try PipelineRunner.runStage(stage, workdir: workdir, batchID: batch, log: { _ in })
    }
    return (workdir, batch)
  }

  @Test func theSameChildsFormsTwiceInABatchAreMatchedAndTheLaterUpdateWins() throws {
    try withTemporaryFolder { root in
      // The parent sent the form again a day later with another home phone (S-2026-0011 says 217-555-0157).
      let (workdir, batch) = try twoFormsOfOneChild(root, edit: ["Home_Phone": "217-555-0199"])
      for id in ["S-2026-0011", "S-2026-0099"] {
        let decision = try decision(workdir, batch, id).students[0].decision
        #expect(
          decision.outcome == .matched && decision.sisID == "102123", "\(id): \(decision.reasons)")
        #expect(
          decision.reasons.last
            == "SIS student 102123 is matched by 2 forms of this batch that agree with each other on the child "
            + "(the same child submitted again): each is matched, and only the latest form's update is delivered",
          "\(id)")
      }
      // One update row for the child: the later form's, with its phone; the earlier form is delivered
      // (its guardians and documents go out) but its update is not written, and the stage says so.
      let deliver = workdir.stageFolder(batch, .deliver)
      let header = try csvRows(deliver + "/\(batch)_students_update.csv")
      let rows = header.dropFirst().filter {
        $0[header[0].firstIndex(of: "Student_Number")!] == "102123"
      }
      #expect(rows.count == 1)
      #expect(rows.first?[header[0].firstIndex(of: "Home_Phone")!] == "217-555-0199")
      let delivered = Set(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] })
      #expect(delivered.isSuperset(of: ["S-2026-0011", "S-2026-0099"]))
      let stage = try StageReport.load(deliver)
      #expect(stage.counts["updates_superseded"] == 1)
      #expect(
        stage.notes.contains(
          "update of SIS student 102123 from S-2026-0011 student 1 not written: S-2026-0099, a later form of this batch for the same child, is delivered instead"
        ))
    }
  }

  @Test func twoFormsUpdatingOneSISContactDeliverOnlyTheLatestFormsUpdate() throws {
    try withTemporaryFolder { root in
      // Both forms name SIS contacts C00108 (the mother) and C00109 at the family's new address;
      // the later form gives the mother another phone (the SIS and the earlier form: 217-555-5232).
      let (workdir, batch) = try twoFormsOfOneChild(
        root, edit: [:], firstContactEdit: ["Phone": "217-555-7777"])
      let deliver = workdir.stageFolder(batch, .deliver)
      let rows = try csvRows(deliver + "/\(batch)_contacts_update.csv")
      let id = try #require(rows.first?.firstIndex(of: "Contact_ID"))
      let submission = try #require(rows.first?.firstIndex(of: "Submission_ID"))
      let phone = try #require(rows.first?.firstIndex(of: "Phone"))
      let mother = rows.dropFirst().filter { $0[id] == "C00108" }
      // One row for the mother: the later form's, with its phone; the earlier form's is not written
      // (the SIS links C00108 to the child already, so no link row is needed either).
      #expect(mother.count == 1, "\(mother)")
      #expect(mother.first?[submission] == "S-2026-0099" && mother.first?[phone] == "217-555-7777")
      #expect(
        rows.dropFirst().filter { $0[id] == "C00109" }.map { $0[submission] } == ["S-2026-0099"])
      let stage = try StageReport.load(deliver)
      #expect(stage.counts["contact_updates_superseded"] == 2)
      #expect(
        stage.notes.contains(
          "update of SIS contact C00108 from S-2026-0011 contact 1 not written: S-2026-0099, a later form of this batch naming the same contact, is delivered instead"
        ), "\(stage.notes)")
    }
  }

  @Test func formsOfOneChildThatDisagreeOrAConfiguredReviewGoToAPerson() throws {
    // The same forms with `forms_of_one_child: review`: a person decides every repeat.
    try withTemporaryFolder { root in
      let (workdir, batch) = try twoFormsOfOneChild(
        root, matching: "  forms_of_one_child: review\n", edit: [:])
      for id in ["S-2026-0011", "S-2026-0099"] {
        let decision = try decision(workdir, batch, id).students[0].decision
        #expect(
          decision.outcome == .potential && decision.candidates.first?.sisID == "102123", "\(id)")
        #expect(
          decision.reasons.last?.hasSuffix(
            "is claimed by more than one submission student in this batch (matching.forms_of_one_child is review)"
          ) == true, "\(id)")
      }
      // The stage decides a chunk at a time and changes the claimants' decisions as it reads them
      // back: with the two forms in other chunks, and chunks of one, the same files.
      let folder = workdir.stageFolder(batch, .match)
      let whole = try folderContents(folder)
      for size in [1, 7] {
        try StageRunner.run(
          .match, workdir: workdir, batch: try workdir.batch(batch), log: { _ in },
          { try MatchStage.run($0, chunkSize: size) })
        let chunked = try folderContents(folder)
        #expect(chunked.keys.sorted() == whole.keys.sorted())
        for (name, bytes) in whole {
          #expect(chunked[name] == bytes, "\(name) with chunks of \(size)")
        }
      }
    }
  }
}
