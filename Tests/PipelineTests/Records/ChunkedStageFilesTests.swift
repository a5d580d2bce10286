import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropMatching
@testable import SISDropStore

/// Stage files read and written a chunk at a time (the match and deliver stages, the review
/// queue, `show`): the same records and the same bytes as the whole file at once, whatever the
/// chunk size, on the demo district's real stage files.
@Suite struct ChunkedStageFilesTests {
  /// The demo district run through deliver with the batch left open.
  func openDemoBatch(_ root: String) throws -> (WorkDir, BatchRecord, String) {
    let (workdir, _, _) = try demoWorkdir(root + "/w")
    let pipeline = try writeFile(
      root + "/pipeline.yaml",
      try demoPipelineText(xml: false, [("auto_close: true", "auto_close: false")]))
    let summary = try #require(
      try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
    #expect(!summary.closed)
    return (workdir, try workdir.batch(summary.batch), pipeline)
  }

  @Test func aStageFileReadAChunkAtATimeIsTheWholeFile() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, _) = try openDemoBatch(root)
      let submissionsPath = workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl"
      let decisionsPath = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
      let submissions = try JSONLines.read(Submission.self, from: submissionsPath)
      let decisions = try JSONLines.read(SubmissionDecision.self, from: decisionsPath)
      #expect(submissions.count > 40)
      for size in [1, 7, 1000] {
        var read: [Submission] = []
        try StageJSONChunks(Submission.self, path: submissionsPath).forEach(size) { read += $0 }
        #expect(read == submissions, "chunks of \(size)")
        var readDecisions: [SubmissionDecision] = []
        try StageJSONChunks(SubmissionDecision.self, path: decisionsPath).forEach(size) {
          #expect($0.count <= size)
          readDecisions += $0
        }
        #expect(readDecisions == decisions, "chunks of \(size)")
      }
      // Looked up by id from the file's lines.
      let index = try StageFileIndex(
        decisionsPath, id: { (d: SubmissionDecision) in d.submissionID })
      for decision in decisions { #expect(try index.record(decision.submissionID) == decision) }
      #expect(try index.record("S-NOT-THERE") == nil)
      // The index keeps places, not bytes: a line damaged after indexing is named by file and
      // line when it is read, and a record that is not the one indexed is refused.
      let copied = try writeFile(root + "/indexed.jsonl", try readText(decisionsPath))
      let copiedIndex = try StageFileIndex(
        copied, id: { (d: SubmissionDecision) in d.submissionID })
      var copiedLines = try readText(copied).split(separator: "\n").map(String.init)
      copiedLines[1] = String(repeating: "x", count: copiedLines[1].utf8.count)
      // Another id of the same length: the line keeps its place.
      copiedLines[2] = copiedLines[2].replacingOccurrences(
        of: decisions[2].submissionID, with: String(decisions[2].submissionID.reversed()))
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: copied))
      try handle.write(contentsOf: Data((copiedLines.joined(separator: "\n") + "\n").utf8))
      try handle.close()
      #expect(try copiedIndex.record(decisions[0].submissionID) == decisions[0])
      let damagedLine = try #require(throws: SISDropError.self) {
        try copiedIndex.record(decisions[1].submissionID)
      }
      #expect(damagedLine.location == SourceLocation(path: copied, line: 2))
      let changed = try #require(throws: SISDropError.self) {
        try copiedIndex.record(decisions[2].submissionID)
      }
      #expect(changed.message.contains("changed while it was read"), "\(changed)")

      // Written a chunk at a time: the same bytes.
      let rewritten = root + "/decisions.jsonl"
      let appender = try StageJSONAppender(SubmissionDecision.self, path: rewritten)
      for start in stride(from: 0, to: decisions.count, by: 5) {
        try appender.append(decisions[start..<min(start + 5, decisions.count)])
      }
      try appender.close()
      #expect(try FileSystem.readFile(rewritten) == (try FileSystem.readFile(decisionsPath)))

      // Empty lines are skipped, a last line without "\n" is read, and a damaged line is named by file and line.
      let lines = try readText(submissionsPath).split(separator: "\n").map(String.init)
      let edited = try writeFile(
        root + "/edited.jsonl", lines[0] + "\n\n" + lines[1] + "\n" + lines[2])
      var edits: [Submission] = []
      try StageJSONChunks(Submission.self, path: edited).forEach(1) { edits += $0 }
      #expect(edits == Array(submissions[0..<3]))
      let damaged = try writeFile(
        root + "/damaged.jsonl",
        lines[0] + "\n" + lines[1] + "\n" + String(lines[2].dropLast(3)) + "\n" + lines[3] + "\n")
      let ignore: ([Submission]) throws -> Void = { _ in }
      let error = try #require(throws: SISDropError.self) {
        try StageJSONChunks(Submission.self, path: damaged).forEach(2, ignore)
      }
      #expect(error.location == SourceLocation(path: damaged, line: 3))
      #expect(throws: SISDropError.self) {
        try StageJSONChunks(Submission.self, path: root + "/missing.jsonl")
      }
    }
  }

  @Test func theMatchStageWritesTheSameBytesWhateverItsChunkSize() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, _) = try openDemoBatch(root)
      let folder = workdir.stageFolder(batch.id, .match)
      let whole = try folderContents(folder)
      #expect(
        whole["decisions.jsonl"] != nil && whole["diffs.csv"] != nil && whole["review.csv"] != nil)
      // The decisions are made, held and read back a chunk at a time (the matcher's too): a batch one
      // submission longer than the chunk included.
      let submissions = try StageReport.load(folder).counts["submissions"] ?? 0
      #expect(submissions > 40)
      for size in [1, 3, submissions - 1] {
        try StageRunner.run(
          .match, workdir: workdir, batch: batch, log: { _ in },
          { try MatchStage.run($0, chunkSize: size) })
        let chunked = try folderContents(folder)
        #expect(chunked.keys.sorted() == whole.keys.sorted())
        for (name, bytes) in whole {
          #expect(chunked[name] == bytes, "\(name) with chunks of \(size)")
        }
        let counts = try StageReport.load(folder).counts
        #expect(
          counts["submissions"]
            == (try JSONLines.read(SubmissionDecision.self, from: folder + "/decisions.jsonl").count)
        )
      }
    }
  }

  /// The match stage holds the batch as bytes (`MatchBatch`) between reading it and the steps that
  /// need it whole: every submission reads back as `forMatcher` makes it, whatever the chunks it
  /// was kept in; with a field missing, empty or not ASCII, a value longer than a length byte
  /// holds, a sequence number below zero and a submission without a version.
  @Test func theMatchStagesBatchReadsBackAsTheMatcherSeesIt() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, _) = try openDemoBatch(root)
      var submissions = try JSONLines.read(
        Submission.self,
        from: workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl")
      #expect(submissions.count > 40)
      #expect(submissions.contains { !$0.documents.isEmpty && !$0.contacts.isEmpty })
      var unusual = submissions[0]
      unusual.contentHash = nil
      unusual.students[0].seq = -3
      unusual.students[0].fields[FieldName.firstName] = "Zoë"
      unusual.students[0].fields[FieldName.middleName] = ""
      unusual.students[0].fields[FieldName.email] = nil
      unusual.students[0].fields[FieldName.street] = String(repeating: "Núñez Street ", count: 40)
      unusual.contacts = [
        SubmissionPart(
          seq: 200, fields: [FieldName.lastName: "Schröder", "Not_Matched": "x"],
          source: SourceLocation(path: "p", line: 4))
      ]
      submissions.append(unusual)
      let expected = submissions.map(MatchStage.forMatcher)
      #expect(expected.last?.students[0].fields[FieldName.middleName] == "")
      for size in [1, 7, submissions.count] {
        var held = MatchBatch()
        for start in stride(from: 0, to: submissions.count, by: size) {
          held.append(Array(submissions[start..<min(start + size, submissions.count)]))
        }
        #expect(held.count == submissions.count)
        #expect(Array(held) == expected, "kept in chunks of \(size)")
        var chunks: [Submission] = []
        held.forEachChunk(5) { first, chunk in
          #expect(first == chunks.count && chunk.count <= 5)
          chunks += chunk
        }
        #expect(chunks == expected)
      }
    }
  }

  /// The match stage's first read (`SubmissionForMatcher`, which skips the fields the matcher does
  /// not read) gives every submission as `forMatcher` makes it of the whole one: the demo's, and
  /// ones with unusual fields and values, escapes in values and in keys, a document without a
  /// SHA-256, a contact without any kept field. A field given twice is refused by both.
  @Test func theMatchStagesFirstReadIsForMatcherOfTheWholeSubmission() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, _) = try openDemoBatch(root)
      var submissions = try JSONLines.read(
        Submission.self,
        from: workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl")
      #expect(submissions.contains { !$0.documents.isEmpty && !$0.contacts.isEmpty })
      var unusual = submissions[0]
      unusual.contentHash = nil
      unusual.students[0].seq = -3
      unusual.students[0].fields[FieldName.firstName] = "Zoë \"Z\" \\ \n\t\u{1}"
      unusual.students[0].fields[FieldName.middleName] = ""
      unusual.students[0].fields[FieldName.email] = nil
      unusual.students[0].fields["Grade_Level"] = "K \"quoted\" {[,"
      unusual.students[0].fields["SchoolID"] = "ends with \\"
      unusual.students[0].fields[FieldName.street] = String(repeating: "Núñez Street ", count: 40)
      unusual.contacts = [
        SubmissionPart(
          seq: 200, fields: [FieldName.lastName: "Schröder", "Not_Matched": "x"],
          source: SourceLocation(path: "p", line: 4)),
        SubmissionPart(
          seq: 201, fields: ["Relationship": "Aunt"], source: SourceLocation(path: "")),
      ]
      unusual.documents = [
        SubmissionPart(seq: 1, fields: ["File": "a.pdf"], source: SourceLocation(path: "d")),
        SubmissionPart(
          seq: 2, fields: [FieldName.sha256: "ab", "File": "b.pdf"],
          source: SourceLocation(path: "")),
      ]
      submissions.append(unusual)
      func line(_ submission: Submission) -> [UInt8] {
        var writer = StageJSONWriter()
        submission.writeStageJSON(into: &writer)
        return writer.bytes
      }
      func read<R: StageRecord>(_ type: R.Type, _ line: [UInt8]) throws -> R {
        try line.withUnsafeBufferPointer { try StageJSONReader.read(R.self, from: $0) }
      }
      var lines = submissions.map(line)
      // A key with an escape (JSONEncoder never writes one, JSON allows it).
      let escaped = Array(
        String(decoding: lines[0], as: UTF8.self)
          .replacingOccurrences(of: "\"First_Name\"", with: "\"First\\u005fName\"").utf8)
      #expect(escaped != lines[0])
      lines.append(escaped)
      for (index, line) in lines.enumerated() {
        let whole = try read(Submission.self, line)
        #expect(
          try read(SubmissionForMatcher.self, line).submission == MatchStage.forMatcher(whole),
          "line \(index)")
      }
      let twice = Array(
        String(decoding: lines[0], as: UTF8.self)
          .replacingOccurrences(of: "\"First_Name\":", with: "\"First_Name\":\"X\",\"First_Name\":")
          .utf8)
      #expect(throws: StageJSONError.self) { try read(Submission.self, twice) }
      #expect(throws: StageJSONError.self) { try read(SubmissionForMatcher.self, twice) }
    }
  }

  @Test func theParseAndNormalizeStagesWriteTheSameBytesWhateverTheirChunkSize() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, _) = try openDemoBatch(root)
      for (stage, run) in [
        (Stage.parse, ParseStage.run(_:chunkSize:)), (.normalize, NormalizeStage.run(_:chunkSize:)),
      ] {
        let folder = workdir.stageFolder(batch.id, stage)
        let whole = try folderContents(folder)
        #expect(whole["submissions.jsonl"].map { $0.count > 10_000 } == true)
        for size in [1, 3, 1000] {
          try StageRunner.run(
            stage, workdir: workdir, batch: batch, log: { _ in }, { try run($0, size) })
          let chunked = try folderContents(folder)
          #expect(
            chunked.keys.sorted() == whole.keys.sorted(), "\(stage.rawValue) with chunks of \(size)"
          )
          for (name, bytes) in whole {
            #expect(chunked[name] == bytes, "\(stage.rawValue) \(name) with chunks of \(size)")
          }
          let written = try JSONLines.read(Submission.self, from: folder + "/submissions.jsonl")
            .count
          #expect(
            try StageReport.load(folder).counts[stage == .parse ? "selected" : "submissions"]
              == written)
        }
      }
    }
  }

  @Test func theDeliveryPlanIsTheSameWhateverItsChunkSize() throws {
    try withTemporaryFolder { root in
      let (workdir, batch, pipeline) = try openDemoBatch(root)
      let config = try PipelineConfig.load(path: pipeline)
      let snapshot = try Snapshot(
        path: try SnapshotReference.load(workdir, batch: batch.id).absolutePath(workdir))
      let profile = try DeliverStage.checkedProfile(config)
      let submissionsPath = workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl"
      let decisionsPath = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
      let matchFolder = workdir.stageFolder(batch.id, .match)
      let skipped: Set<String> = ["S-2026-0001"]
      let whole = try DeliverStage.makePlan(
        try JSONLines.read(Submission.self, from: submissionsPath).filter {
          !skipped.contains($0.id)
        },
        decisions: try JSONLines.read(SubmissionDecision.self, from: decisionsPath),
        corrections: [],
        validator: try DeliveryValidator(snapshot: snapshot), profile: profile,
        delivery: config.delivery, matchFolder: matchFolder,
        current: { try DeliverStage.currentValues($0, snapshot: snapshot) })
      #expect(!whole.records.isEmpty && !whole.held.isEmpty && !whole.delivered.isEmpty)
      for size in [1, 4, 1000] {
        let chunked = try DeliverStage.makePlan(
          submissionsPath: submissionsPath, decisionsPath: decisionsPath, skipping: skipped,
          corrections: [],
          validator: try DeliveryValidator(snapshot: snapshot), profile: profile,
          delivery: config.delivery, matchFolder: matchFolder,
          current: { try DeliverStage.currentValues($0, snapshot: snapshot) }, chunkSize: size)
        #expect(chunked.records == whole.records, "chunks of \(size)")
        #expect(
          chunked.held == whole.held && chunked.delivered == whole.delivered
            && chunked.errors == whole.errors)
        #expect(chunked.nothingToDeliver == whole.nothingToDeliver)
      }
      #expect(!whole.delivered.contains { $0[0] == "S-2026-0001" })
    }
  }
}
