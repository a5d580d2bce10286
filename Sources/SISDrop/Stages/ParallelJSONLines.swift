import Foundation
import SISDropCore

/// JSON Lines on every core: the match stage reads and writes ~1 KB per submission, and at 10,000
/// submissions JSONEncoder/JSONDecoder alone took half the stage's time. Stage records
/// (`Submission`, `SubmissionDecision`) now take the hand codec (StageJSON.swift) instead.
/// Same bytes as `JSONLines` (sorted keys, one record per line, in order).
package enum ParallelJSONLines {
  package static func write<T: Encodable & Sendable>(_ values: [T], to path: String) throws {
    // Stage records on one thread: the hand codec writes decisions at ~220 MB/s, and chunks on the
    // 2 shared cores measured no faster (sisdrop-bench-phases --stage-json).
    if let record = T.self as? StageRecord.Type {
      return try StageJSONLines.write(record, values, to: path)
    }
    let parts = try map(values.count) { range -> [UInt8] in
      let encoder = JSONLines.encoder()
      var bytes: [UInt8] = []
      for index in range {
        bytes += try encoder.encode(values[index])
        bytes.append(0x0A)
      }
      return bytes
    }
    let writer = try FileWriter(path: path)
    for part in parts { try writer.write(part) }
    try writer.close()
  }

  package static func read<T: Decodable & Sendable>(_ type: T.Type, from path: String) throws -> [T]
  {
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    if let record = T.self as? StageRecord.Type { return try read(record, as: T.self, from: path) }
    let bytes = try FileSystem.readFile(path)
    let lines = bytes.split(separator: 0x0A)
    let parts = try map(lines.count) { range -> [T] in
      let decoder = JSONDecoder()
      var result: [T] = []
      for index in range {
        do {
          result.append(try decoder.decode(T.self, from: Data(lines[index])))
        } catch {
          throw SISDropError.dataError(
            "cannot read a stage record: \(error)", at: SourceLocation(path: path, line: index + 1),
            hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
        }
      }
      return result
    }
    return parts.flatMap { $0 }
  }

  /// Stage records are still read in chunks: measured from even to 1.5x faster than one thread on
  /// the 2 shared cores (sisdrop-bench-phases --stage-json), most of the work being allocation.
  private static func read<R: StageRecord, T>(_ type: R.Type, as: T.Type, from path: String) throws
    -> [T]
  {
    precondition(R.self == T.self)
    let bytes = try FileSystem.readFile(path)
    let lines = StageJSONLines.lines(bytes)
    let parts = try map(lines.count) { range in
      try StageJSONLines.decode(R.self, bytes, lines: lines, indices: range, path: path)
    }
    return unsafeBitCast(parts.flatMap { $0 }, to: [T].self)
  }

  /// Contiguous ranges of 0..<count on every core (a few hundred lines at least each); results in range order.
  private static func map<R: Sendable>(
    _ count: Int, _ body: @escaping @Sendable (Range<Int>) throws -> R
  ) throws -> [R] {
    try Parallel.chunks(count, minimum: 128, body)
  }
}
