import Foundation
import SISDrop
import SISDropCore
import SISDropMatching

/// Both codecs of the stage records on one thread, for `sisdrop-bench-phases --stage-json` only
/// (the benchmark's own code, not the library's). Foundation here is what JSONLines did before.
enum StageJSONBenchmark {
  enum Codec: String, Sendable { case foundation, hand }

  static func decodeSubmissions(_ bytes: [UInt8], _ codec: Codec) throws -> [Submission] {
    try decode(Submission.self, bytes, codec)
  }

  static func decodeDecisions(_ bytes: [UInt8], _ codec: Codec) throws
    -> [SubmissionDecision]
  {
    try decode(SubmissionDecision.self, bytes, codec)
  }

  static func encode(_ submissions: [Submission], _ codec: Codec) throws -> [UInt8] {
    try encodeAll(submissions, codec)
  }
  static func encode(_ decisions: [SubmissionDecision], _ codec: Codec) throws -> [UInt8] {
    try encodeAll(decisions, codec)
  }

  /// The stage's own file path: `ParallelJSONLines` (chunks on every core) when `parallel`, else `JSONLines`.
  static func readFile<R: Codable & Sendable>(_ type: R.Type, _ path: String, parallel: Bool)
    throws -> [R]
  {
    parallel
      ? try ParallelJSONLines.read(R.self, from: path) : try JSONLines.read(R.self, from: path)
  }

  static func writeFile<R: Codable & Sendable>(_ values: [R], _ path: String, parallel: Bool)
    throws
  {
    parallel ? try ParallelJSONLines.write(values, to: path) : try JSONLines.write(values, to: path)
  }

  private static func decode<R: StageRecord & Decodable>(
    _ type: R.Type, _ bytes: [UInt8], _ codec: Codec
  ) throws -> [R] {
    let lines = StageJSONLines.lines(bytes)
    switch codec {
    case .hand:
      return try StageJSONLines.decode(
        R.self, bytes, lines: lines, indices: lines.indices, path: "-")
    case .foundation:
      let decoder = JSONDecoder()
      return try lines.filter { !$0.isEmpty }.map {
        try decoder.decode(R.self, from: Data(bytes[$0]))
      }
    }
  }

  private static func encodeAll<R: StageRecord & Encodable>(_ values: [R], _ codec: Codec) throws
    -> [UInt8]
  {
    switch codec {
    case .hand:
      return try StageJSONLines.encode(values)
    case .foundation:
      let encoder = JSONLines.encoder()
      var bytes: [UInt8] = []
      for value in values {
        bytes += try encoder.encode(value)
        bytes.append(0x0A)
      }
      return bytes
    }
  }
}
