import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore

/// stage.json lists everything a stage declares it reads (`Stage.reads`), each with the SHA-256
/// of the file as it is, and follows docs/stage.schema.json.
@Suite struct StageInputsTests {
  @Test(arguments: [false, true])
  func everyStageRecordsWhatItReadsWithHashes(xml: Bool) throws {
    let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/stage.schema.json")
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w", xml: xml)
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let batchFolder = workdir.batchFolder(summary.batch)
      var inputs: [Stage: [String: InputRecord]] = [:]
      for stage in Stage.allCases {
        let folder = workdir.stageFolder(summary.batch, stage)
        let text = try readText(folder + "/stage.json")
        let errors = schema.errors(
          try JSONSerialization.jsonObject(with: Data(text.utf8)), against: "stage")
        #expect(errors.isEmpty, "\(stage) stage.json: \(errors)")
        let report = try StageReport.load(folder)
        var byPath: [String: InputRecord] = [:]
        for input in report.inputs {
          #expect(byPath.updateValue(input, forKey: input.path) == nil, "\(input.path) twice")
          // Every hash is the file's, the reused ones included.
          let path = input.path.hasPrefix("/") ? input.path : batchFolder + "/" + input.path
          let (sha256, size) = try SHA256.file(at: path)
          #expect(sha256 == input.sha256 && size == input.size, "\(stage): \(input.path)")
        }
        #expect(byPath["pipeline.yaml"] != nil, "\(stage) reads the pipeline")
        inputs[stage] = byPath
      }
      // parse: the claimed enrollment export and its documents, not the SIS export.
      let claimed = try DocumentFiles.files(below: batchFolder + "/input").map { "input/" + $0 }
      let sisExport = Set(
        ["students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv"].map {
          "input/" + $0
        })
      let parse = try #require(inputs[.parse])
      #expect(claimed.contains { $0.hasPrefix("input/documents/") })
      for path in claimed {
        #expect((parse[path] != nil) == !sisExport.contains(path), "parse and \(path)")
      }
      #expect(parse.values.allSatisfy { $0.sha256From == nil }, "parse hashed what it checked")
      // normalize: the parse folder, the SIS export, Plugin.xml and the building map.
      let normalize = try #require(inputs[.normalize])
      for path in sisExport.union(["10-parse/submissions.jsonl", "10-parse/rejects.csv"]) {
        #expect(normalize[path] != nil, "normalize reads \(path)")
      }
      #expect(normalize.keys.contains { $0.hasSuffix("/Plugin.xml") })
      #expect(normalize.keys.contains { $0.hasSuffix("/building_map.csv") })
      // match: the normalize folder, the snapshot in it.
      let match = try #require(inputs[.match])
      #expect(match["20-normalize/snapshot.sqlite"]?.sha256From == nil)
      #expect(match["20-normalize/submissions.jsonl"] != nil)
      // deliver: match's files, and what it reads of parse and normalize, the snapshot (by the
      // hash snapshot.json records), the uploaded documents (by the claim's hash).
      let deliver = try #require(inputs[.deliver])
      for path in [
        "30-match/decisions.jsonl", "20-normalize/submissions.jsonl", "20-normalize/rejects.csv",
        "10-parse/rejects.csv", "20-normalize/snapshot.json",
      ] {
        #expect(deliver[path] != nil, "deliver reads \(path)")
      }
      #expect(deliver["20-normalize/snapshot.sqlite"]?.sha256From == "20-normalize/snapshot.json")
      let documents = deliver.values.filter { $0.path.hasPrefix("input/documents/") }
      #expect(!documents.isEmpty && documents.allSatisfy { $0.sha256From == "claim" })
    }
  }

  @Test func theSchemaRefusesAnUnknownKeyAndAnUnknownHashSource() throws {
    let schema = try JSONSchemaValidator(path: Checkout.root + "/docs/stage.schema.json")
    let file = "{\"path\": \"input/a.csv\", \"sha256\": \"00\", \"size\": 1}"
    #expect(
      schema.errors(try JSONSerialization.jsonObject(with: Data(file.utf8)), against: "file")
        .isEmpty)
    for bad in [
      file.replacingOccurrences(of: "\"size\": 1", with: "\"size\": 1, \"kind\": \"x\""),
      file.replacingOccurrences(of: "\"size\": 1", with: "\"size\": 1, \"sha256_from\": \"guess\""),
      file.replacingOccurrences(of: ", \"size\": 1", with: ""),
    ] {
      #expect(
        !schema.errors(try JSONSerialization.jsonObject(with: Data(bad.utf8)), against: "file")
          .isEmpty, "\(bad)")
    }
  }
}
