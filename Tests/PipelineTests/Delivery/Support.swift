import Foundation
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropStore

/// Runs the demo district through a pipeline (by name under pipelines/) in a fresh working directory.
func runDemo(_ root: String, pipeline name: String = "demo") throws -> (
  WorkDir, PipelineRunner.Summary, PipelineConfig
) {
  let pipeline = Checkout.pipeline(name)
  let config = try PipelineConfig.load(path: pipeline)
  let workdir = try WorkDir(root: root)
  try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
  guard
    let summary = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
  else {
    throw SISDropError(.noInput, "the demo ran nothing")
  }
  return (workdir, summary, config)
}

/// Opens a batch of the demo district and runs every stage, leaving the batch open.
func openDemoBatch(
  _ root: String, pipeline name: String = "demo", edit: ((String) throws -> Void)? = nil
) throws -> (WorkDir, BatchRecord) {
  let pipeline = Checkout.pipeline(name)
  let config = try PipelineConfig.load(path: pipeline)
  let workdir = try WorkDir(root: root)
  try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
  try edit?(workdir.inbox(config))
  let opened = try BatchLifecycle.open(workdir: workdir, pipelinePath: pipeline, selection: .all)
  for stage in Stage.allCases {
    try PipelineRunner.runStage(stage, workdir: workdir, batchID: opened.batch, log: { _ in })
  }
  return (workdir, try workdir.batch(opened.batch))
}

/// Replaces one CSV row's field (by submission id and column name) in an inbox file.
func editCSV(_ path: String, id: String, column: String, value: String) throws {
  var rows = try csvRows(path)
  let index = try require2(rows[0].firstIndex(of: column))
  for i in rows.indices where rows[i][0] == id { rows[i][index] = value }
  let text =
    rows.map { row in
      row.map {
        $0.contains(",") || $0.contains("\"")
          ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0
      }
      .joined(separator: ",")
    }.joined(separator: "\n") + "\n"
  try? FileManager.default.removeItem(atPath: path)
  try writeFile(path, text)
}

struct Missing: Error, CustomStringConvertible { var description: String }
func require2<T>(_ value: T?, _ what: String = "value") throws -> T {
  guard let value else { throw Missing(description: "missing \(what)") }
  return value
}

/// Every file below a folder, by relative path.
func files(below path: String) -> [String] {
  (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter {
    var isDirectory: ObjCBool = false
    FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isDirectory)
    return !isDirectory.boolValue
  }.sorted()
}
