import Foundation
import SISDrop
import SISDropCore

// `sisdrop-bench-phases --stage-json SUBMISSIONS DECISIONS SCRATCH_DIR`: the match stage's two
// stage files through Foundation's JSONDecoder/JSONEncoder and through the hand codec
// (Records/StageJSON.swift), one thread each, in the same run; then the stage's own file paths
// (JSONLines on one thread, ParallelJSONLines in chunks), which now both take the hand codec.
// Last, the SHA-256 of each file as stage.json records it (every stage hashes its declared inputs
// and its outputs once): its cost beside the cost of reading the file.
// Each figure is the best of REPEAT (environment, default 3) runs: the machine is shared.
// ONLY=hand_read (environment) times only that, for profiling it with perf.

func bestOf<T>(_ repeats: Int, _ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
  var best = Double.infinity
  var value: T?
  for _ in 0..<repeats {
    value = nil  // the previous run's records are freed outside the timing
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    value = result
  }
  return (best, value!)
}

func runStageJSONBench(submissionsPath: String, decisionsPath: String, scratch: String) throws
  -> [String: Any]
{
  let repeats = Int(ProcessInfo.processInfo.environment["REPEAT"] ?? "") ?? 3
  var report: [String: Any] = ["repeat": repeats]
  func mbps(_ bytes: Int, _ seconds: Double) -> Double {
    (Double(bytes) / 1e6 / seconds * 10).rounded() / 10
  }
  func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

  func measure<R: Codable & Equatable & Sendable>(
    _ name: String, _ path: String, decode: ([UInt8], StageJSONBenchmark.Codec) throws -> [R],
    encode: ([R], StageJSONBenchmark.Codec) throws -> [UInt8]
  ) throws {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    if let only = ProcessInfo.processInfo.environment["ONLY"] {
      let seconds = try bestOf(repeats) { () -> Int in
        switch only {
        case "hand_read": return try decode(bytes, .hand).count
        case "hand_write": return try encode(decode(bytes, .hand), .hand).count
        default: return 0
        }
      }.seconds
      report[name] = [only + "_s": round3(seconds)]
      return
    }
    let foundationRead = try bestOf(repeats) { try decode(bytes, .foundation) }
    let handRead = try bestOf(repeats) { try decode(bytes, .hand) }
    let foundationWrite = try bestOf(repeats) { try encode(foundationRead.value, .foundation) }
    let handWrite = try bestOf(repeats) { try encode(foundationRead.value, .hand) }
    let out = "\(scratch)/\(name).jsonl"
    let fileWrite1 = try bestOf(repeats) {
      try? FileManager.default.removeItem(atPath: out)
      try StageJSONBenchmark.writeFile(handRead.value, out, parallel: false)
    }
    let fileWriteN = try bestOf(repeats) {
      try? FileManager.default.removeItem(atPath: out)
      try StageJSONBenchmark.writeFile(handRead.value, out, parallel: true)
    }
    let fileRead1 = try bestOf(repeats) {
      try StageJSONBenchmark.readFile(R.self, out, parallel: false)
    }
    let fileReadN = try bestOf(repeats) {
      try StageJSONBenchmark.readFile(R.self, out, parallel: true)
    }
    let hashed = try bestOf(repeats) { try SHA256.file(at: path).sha256 }
    report[name] =
      [
        "records": foundationRead.value.count, "mb": Double(bytes.count) / 1e6,
        // The checks that make the timings comparable: same values read, same bytes written.
        "same_values": handRead.value == foundationRead.value
          && fileRead1.value == foundationRead.value && fileReadN.value == foundationRead.value,
        "same_bytes": handWrite.value == foundationWrite.value && handWrite.value == bytes,
        "read_foundation_s": round3(foundationRead.seconds),
        "read_hand_s": round3(handRead.seconds),
        "read_foundation_mb_s": mbps(bytes.count, foundationRead.seconds),
        "read_hand_mb_s": mbps(bytes.count, handRead.seconds),
        "read_ratio": round3(foundationRead.seconds / handRead.seconds),
        "write_foundation_s": round3(foundationWrite.seconds),
        "write_hand_s": round3(handWrite.seconds),
        "write_foundation_mb_s": mbps(bytes.count, foundationWrite.seconds),
        "write_hand_mb_s": mbps(bytes.count, handWrite.seconds),
        "write_ratio": round3(foundationWrite.seconds / handWrite.seconds),
        "file_read_1_thread_s": round3(fileRead1.seconds),
        "file_read_parallel_s": round3(fileReadN.seconds),
        "file_write_1_thread_s": round3(fileWrite1.seconds),
        "file_write_parallel_s": round3(fileWriteN.seconds),
        "sha256_s": round3(hashed.seconds),
        "sha256_mb_s": mbps(bytes.count, hashed.seconds),
        // What recording the file in stage.json costs, beside reading it once on one thread.
        "sha256_vs_file_read_1_thread": round3(hashed.seconds / fileRead1.seconds),
      ] as [String: Any]
  }
  try measure(
    "submissions", submissionsPath, decode: StageJSONBenchmark.decodeSubmissions,
    encode: StageJSONBenchmark.encode)
  try measure(
    "decisions", decisionsPath, decode: StageJSONBenchmark.decodeDecisions,
    encode: StageJSONBenchmark.encode)
  return report
}
