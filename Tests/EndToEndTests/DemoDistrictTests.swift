import Foundation
import SISDrop
import SISDropCore
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// One row of EXPECTED.md's table.
struct ExpectedRow {
  var submission: String
  var student: Int
  var match: String
  var sisIDs: [String]
  var delivery: String
}

func expectedRows() throws -> [ExpectedRow] {
  let text = try readText(Checkout.demoDistrict + "/EXPECTED.md")
  return text.split(separator: "\n").filter { $0.hasPrefix("| S-") }.map { line in
    let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    return ExpectedRow(
      submission: cells[1], student: Int(cells[2])!, match: cells[4],
      sisIDs: cells[5].split(separator: " ").map(String.init), delivery: cells[6])
  }
}

struct Decision: Decodable {
  struct Student: Decodable {
    struct Inner: Decodable {
      var outcome: String
      var sisID: String?
      var candidates: [Candidate]
    }
    struct Candidate: Decodable { var sisID: String }
    var seq: Int
    var decision: Inner
  }
  var submissionID: String
  var students: [Student]
}

func decisions(_ folder: String) throws -> [Decision] {
  try readText(folder + "/decisions.jsonl").split(separator: "\n").map {
    try JSONDecoder().decode(Decision.self, from: Data($0.utf8))
  }
}

/// A pipeline like demo.yaml but with absolute fixture paths and the batch left open.
func openPipeline(_ folder: String, xml: Bool = false) throws -> String {
  try writeFile(
    folder + "/pipeline.yaml",
    try demoPipelineText(xml: xml, [("auto_close: true", "auto_close: false")]))
}

@Suite struct DemoDistrictTests {
  @Test(arguments: [false, true])
  func outcomesAgreeWithExpected(xml: Bool) throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w", xml: xml)
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(summary.closed)
      let batch = summary.batch
      let decided = Dictionary(
        uniqueKeysWithValues: try decisions(workdir.stageFolder(batch, .match)).map {
          ($0.submissionID, $0)
        })
      let rejected = Set(
        try csvRows(workdir.stageFolder(batch, .normalize) + "/rejects.csv").dropFirst().map {
          $0[0]
        })
      let deliverFolder = workdir.stageFolder(batch, .deliver)
      let delivered = Set(try csvRows(deliverFolder + "/delivered.csv").dropFirst().map { $0[0] })
      let held = Set(try csvRows(deliverFolder + "/held.csv").dropFirst().map { $0[0] })
      let errors = Set(try csvRows(deliverFolder + "/errors.csv").dropFirst().map { $0[0] })
      let expected = try expectedRows()
      #expect(expected.count == 67)
      for row in expected {
        let label = "\(row.submission)/\(row.student)"
        if row.match == "rejected" {
          #expect(rejected.contains(row.submission), "\(label) should be rejected")
          #expect(decided[row.submission] == nil, "\(label) must not reach matching")
        } else {
          let student = try #require(
            decided[row.submission]?.students.first { $0.seq == row.student },
            "\(label) has no decision")
          #expect(student.decision.outcome == row.match, "\(label)")
          if row.match == "matched" {
            #expect(student.decision.sisID.map { [$0] } == row.sisIDs, "\(label)")
          }
          // A potential match: the child's SIS record must be among the candidates a person sees.
          if row.match == "potential" {
            #expect(
              Set(student.decision.candidates.map(\.sisID)).isSuperset(of: row.sisIDs), "\(label)")
          }
        }
        switch row.delivery {
        case "delivered":
          #expect(delivered.contains(row.submission) && !held.contains(row.submission), "\(label)")
        case "held":
          #expect(held.contains(row.submission) && !delivered.contains(row.submission), "\(label)")
        default:
          #expect(
            errors.contains(row.submission) && !delivered.contains(row.submission), "\(label)")
        }
      }
      // Held and failed records went back to pending; the delivered ones are delivered.
      let pending = Set(try workdir.state.ledger(statuses: [.pending]).map(\.submissionID))
      #expect(pending == held.union(errors))
      #expect(
        Set(try workdir.state.ledger(statuses: [.delivered]).map(\.submissionID)) == delivered)
    }
  }

  @Test func theMovedChildsUpdateCarriesOnlyTheChangedFields() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let rows = try csvRows(
        workdir.outbox(try workdir.config(for: try workdir.batch(summary.batch)))
          + "/\(summary.batch)_students_update.csv")
      let header = rows[0]
      let moved = try #require(
        rows.first { $0[header.firstIndex(of: "Submission_ID")!] == "S-2026-0011" })
      let filled = Set(header.indices.filter { !moved[$0].isEmpty }.map { header[$0] })
      // The fields that differ, read straight from the fixture files (not from sisdrop's diffs).
      let sis = try #require(
        try csvRows(Checkout.demoDistrict + "/sis/students.csv").first { $0[0] == "102123" })
      let enrollment = try #require(
        try csvRows(Checkout.demoDistrict + "/enrollment-csv/submissions.csv").first {
          $0[0] == "S-2026-0011"
        })
      var changed: Set<String> = ["Student_Number", "Submission_ID"]
      for (field, sisColumn, enrollmentColumn) in [
        ("Street", 10, 11), ("City", 11, 12), ("Zip", 13, 14), ("Home_Phone", 14, 15),
      ]
      where sis[sisColumn] != enrollment[enrollmentColumn] {
        changed.insert(field)
      }
      #expect(changed.isSuperset(of: ["Street", "City", "Home_Phone"]))
      #expect(filled == changed)
      #expect(moved[0] == "102123")
    }
  }

  @Test func aSecondNightDeliversNothingTwice() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      // The enrollment system exports the same approved submissions again the next night.
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(second.batch != first.batch)
      let expected = try DemoExpectation.load()
      #expect(expected.submissions("delivered") > 0 && expected.submissions("held") > 0)
      #expect(second.counts["normalize.already_delivered"] == expected.submissions("delivered"))
      #expect(second.counts["deliver.delivered_submissions"] == 0)
      #expect(second.counts["deliver.held_submissions"] == expected.submissions("held"))
      // Nothing to deliver: nothing of the second batch in the outbox (no header-only file, no ready file).
      let written = try FileManager.default.contentsOfDirectory(atPath: second.outbox).filter {
        $0.hasPrefix(second.batch)
      }
      #expect(written.isEmpty, "\(written)")
      #expect(second.counts["deliver.published_files"] == 0)
    }
  }
}

@Suite struct StageRerunTests {
  @Test func rerunningEachStageGivesByteIdenticalOutputsAndKeepsTheEarlierAttempt() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let batch = try workdir.batch(nil)
      for stage in Stage.allCases {
        let before = try folderContents(workdir.stageFolder(batch.id, stage))
        try PipelineRunner.runStage(stage, workdir: workdir, batchID: batch.id, log: { _ in })
        let after = try folderContents(workdir.stageFolder(batch.id, stage))
        #expect(before.keys.sorted() == after.keys.sorted(), "\(stage)")
        for (name, data) in before {
          #expect(after[name] == data, "\(stage.folder)/\(name) differs on rerun")
        }
        #expect(
          FileManager.default.fileExists(
            atPath: workdir.batchFolder(batch.id) + "/\(stage.folder).attempt-1"))
        // Later stages are stale until they run again; close refuses meanwhile (except a published
        // deliver stale only because match reran: the batch is never stuck after publication).
        if let next = Stage.allCases.first(where: { $0.folder > stage.folder }) {
          #expect(
            StageRunner.problem(with: next, workdir: workdir, batch: batch.id)?.contains("stale")
              == true)
          if next != .deliver {
            #expect(throws: SISDropError.self) {
              try BatchLifecycle.close(workdir: workdir, batch: batch)
            }
          }
          for later in Stage.allCases where later.folder > stage.folder {
            try PipelineRunner.runStage(later, workdir: workdir, batchID: batch.id, log: { _ in })
          }
        }
      }
      let closed = try BatchLifecycle.close(workdir: workdir, batch: batch)
      #expect(
        closed.manifest.delivered.count == (try DemoExpectation.load()).submissions("delivered"))
      #expect(closed.manifest.outputs.contains { $0.path == "40-deliver/delivered.csv" })
    }
  }

  @Test func cancelReturnsRecordsToPending() throws {
    try withTemporaryFolder { root in
      let pipeline = try openPipeline(root)
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let opened = try BatchLifecycle.open(
        workdir: workdir, pipelinePath: pipeline,
        selection: Selection(form: "2026-27 New Student Enrollment"))
      for stage in [Stage.parse, .normalize, .match] {
        try PipelineRunner.runStage(stage, workdir: workdir, batchID: opened.batch, log: { _ in })
      }
      let batched = try workdir.state.ledger(statuses: [.batched])
      #expect(batched.count == 32)
      // the other form, not selected
      #expect(try workdir.state.ledger(statuses: [.pending]).count == 31)
      let result = try BatchLifecycle.cancel(
        workdir: workdir, batch: try workdir.batch(opened.batch))
      #expect(result.manifest.state == .cancelled)
      #expect(result.manifest.returnedToPending.count == 32)
      #expect(try workdir.state.ledger(statuses: [.batched]).isEmpty)
      #expect(try workdir.state.ledger(statuses: [.pending]).count == 63)
      #expect(try workdir.state.batch(opened.batch)?.state == .cancelled)
      #expect(try workdir.state.openBatch() == nil)
    }
  }
}
