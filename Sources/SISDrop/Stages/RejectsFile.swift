import Foundation
import SISDropCore
import SISDropFormats

/// A stage's rejected records (`rejects.csv` of parse and normalize, `sis_rejects.csv` of
/// normalize), columns `Reject.header`: written by those stages (`write`), read back as `Reject`s
/// by the deliver stage (`read`), which lists them in errors.csv. Nothing else slices their rows.
enum RejectsFile {
  static let name = "rejects.csv"
  static let sisName = "sis_rejects.csv"

  /// Writes the rejects (always, even when there are none, so that every stage folder has the
  /// same shape), sorted by submission, seq, line and field; spreadsheet-safe, as every file
  /// people open.
  static func write(_ rejects: [Reject], to path: String) throws {
    let writer = try CSVWriter(path: path, options: .forPeople)
    try writer.write(Reject.header)
    for reject in rejects.sorted(by: {
      ($0.submissionID, $0.seq ?? 0, $0.source.line ?? 0, $0.field) < (
        $1.submissionID, $1.seq ?? 0, $1.source.line ?? 0, $1.field
      )
    }) {
      try writer.write(reject.row)
    }
    try writer.close()
  }

  /// The rejects a stage wrote, by the header's names, values as written.
  ///
  /// - Throws: `SISDropError` 65 naming the file when a column is missing or a row is short:
  ///   the stage folder was edited or damaged.
  static func read(_ path: String) throws -> [Reject] {
    let reader = try CSVReader(path: path)
    guard let header = try reader.next()?.fields else { throw SISDropError.missingInput(path) }
    var column: [String: Int] = [:]
    for (index, name) in header.enumerated() { column[name] = index }
    let indexes = Reject.header.compactMap { column[$0] }
    guard indexes.count == Reject.header.count else {
      throw SISDropError.dataError(
        "not a rejects file: the header is not \(Reject.header.joined(separator: ","))",
        at: SourceLocation(path: path, line: 1), hint: "rerun the stage that wrote it")
    }
    var rejects: [Reject] = []
    var line = 1
    while let row = try reader.next() {
      line += 1
      let fields = row.fields
      guard fields.count > indexes.max()! else {
        throw SISDropError.dataError(
          "a row with \(fields.count) fields, \(Reject.header.count) expected",
          at: SourceLocation(path: path, line: line), hint: "rerun the stage that wrote it")
      }
      let value = indexes.map { fields[$0] }
      rejects.append(
        Reject(
          submissionID: value[0], schema: value[1], seq: Int(value[2]), field: value[3],
          value: value[4], reason: value[5], action: value[6],
          source: SourceLocation(path: value[7], line: Int(value[8]))))
    }
    return rejects
  }
}
