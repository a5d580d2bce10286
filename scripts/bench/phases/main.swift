// sisdrop-bench-phases: times the phases of the SIS snapshot load separately, for
// scripts/bench/pipeline.sh (not shipped, not a test). Each target is measured against its own
// reference: CSV parse + normalize (no SQLite) against Python's csv module, XML parse against
// `xmllint --stream`, the whole snapshot load against DuckDB.
//
//   sisdrop-bench-phases CSV_DIR XML_DIR SCRATCH_DIR
//
//   sisdrop-bench-phases --stage-json SUBMISSIONS.jsonl DECISIONS.jsonl SCRATCH_DIR
//
// times the match stage's stage files through Foundation's coders and the hand codec (StageJSONBench.swift).
//
//   sisdrop-bench-phases --delta BEFORE_DIR DELTA_DIR AFTER_DIR SCRATCH_DIR
//
// times a delta applied to a snapshot against a full reload of the same export (DeltaBench.swift).
//
//   sisdrop-bench-phases --timestamps SUBMISSIONS.csv ZONE
//
// times the approval-time reader against the hand-written one it replaced (TimestampBench.swift).
//
// PHASES=csv_parse,xml_parse (environment) runs only those phases, for profiling one with perf.
//
// Prints one JSON object: wall seconds per phase (`*_s`), CPU seconds of this process per phase
// (`*_cpu`: user + system, less disturbed by other work on a shared machine), and the records
// each phase saw.
import Foundation
import SISDrop

let arguments = CommandLine.arguments
if arguments.count == 5 && arguments[1] == "--stage-json" {
  do {
    let report = try runStageJSONBench(
      submissionsPath: arguments[2], decisionsPath: arguments[3], scratch: arguments[4])
    print(
      String(
        decoding: try JSONSerialization.data(
          withJSONObject: report, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
    exit(0)
  } catch {
    FileHandle.standardError.write(Data("sisdrop-bench-phases: \(error)\n".utf8))
    exit(1)
  }
}
if arguments.count == 4 && arguments[1] == "--timestamps" {
  do {
    let report = try runTimestampBench(submissionsPath: arguments[2], zoneName: arguments[3])
    print(
      String(
        decoding: try JSONSerialization.data(
          withJSONObject: report, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
    exit(0)
  } catch {
    FileHandle.standardError.write(Data("sisdrop-bench-phases: \(error)\n".utf8))
    exit(1)
  }
}
if arguments.count == 6 && arguments[1] == "--delta" {
  do {
    let report = try runDeltaBench(
      before: arguments[2], delta: arguments[3], after: arguments[4], scratch: arguments[5])
    print(
      String(
        decoding: try JSONSerialization.data(
          withJSONObject: report, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
    exit(0)
  } catch {
    FileHandle.standardError.write(Data("sisdrop-bench-phases: \(error)\n".utf8))
    exit(1)
  }
}
guard arguments.count == 4 else {
  FileHandle.standardError.write(
    Data(
      "usage: sisdrop-bench-phases CSV_DIR XML_DIR SCRATCH_DIR\n       sisdrop-bench-phases --stage-json SUBMISSIONS.jsonl DECISIONS.jsonl SCRATCH_DIR\n"
        .utf8))
  exit(64)
}
let (csvDir, xmlDir, scratch) = (arguments[1], arguments[2], arguments[3])
let report: [String: Any]
do {
  report = try runPhases(csvDir: csvDir, xmlDir: xmlDir, scratch: scratch)
} catch {
  FileHandle.standardError.write(Data("sisdrop-bench-phases: \(error)\n".utf8))
  exit(1)
}
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
