import Foundation
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// How a CSV file is written: delimiter, line ending, encoding, BOM.
package struct CSVWriterOptions: Sendable, Hashable {
  package enum LineEnding: String, Sendable, Hashable { case lf, crlf }
  package enum OutputEncoding: String, Sendable, Hashable {
    case utf8 = "utf-8"
    case utf8BOM = "utf-8-bom"
    case windows1252 = "windows-1252"
  }

  package var delimiter: UInt8 = UInt8(ascii: ",")
  package var lineEnding: LineEnding = .lf
  package var encoding: OutputEncoding = .utf8
  /// Quote every field, not only those that need it.
  package var quoteAll = false
  /// A file people open in a spreadsheet (errors.csv, review.csv, ...): a cell that a spreadsheet
  /// would run as a formula gets a leading `'` (`CSVWriter.spreadsheetSafe`). Never for delivery
  /// files, which carry data to the SIS as it is (their validation refuses such values instead).
  package var spreadsheetSafe = false

  package init(
    delimiter: UInt8 = UInt8(ascii: ","), lineEnding: LineEnding = .lf,
    encoding: OutputEncoding = .utf8, quoteAll: Bool = false, spreadsheetSafe: Bool = false
  ) {
    self.delimiter = delimiter
    self.lineEnding = lineEnding
    self.encoding = encoding
    self.quoteAll = quoteAll
    self.spreadsheetSafe = spreadsheetSafe
  }

  /// The options of every file written for people to open: sisdrop's own CSV, spreadsheet-safe.
  package static let forPeople = CSVWriterOptions(spreadsheetSafe: true)
}

/// An RFC 4180 writer: quotes a field only when it holds the delimiter, a quote or a line break
/// (or always, when asked), so identifiers such as `0101` stay text and files are deterministic.
package final class CSVWriter {
  private let file: FileWriter
  private let options: CSVWriterOptions
  package private(set) var rows = 0
  package var path: String { file.path }

  package init(path: String, options: CSVWriterOptions = CSVWriterOptions()) throws {
    file = try FileWriter(path: path)
    self.options = options
    if options.encoding == .utf8BOM { try file.write([0xEF, 0xBB, 0xBF]) }
  }

  /// Whether a spreadsheet would take a cell for a formula (OWASP's CSV injection rule): it
  /// starts with `=`, `+`, `-`, `@`, a tab or a carriage return. A plain negative number (`-1`,
  /// the pre-K grade level; `-3.25`, a score) is not: a spreadsheet reads it as that number and
  /// nothing else, so it stays a number.
  package static func looksLikeFormula(_ value: String) -> Bool {
    guard let first = value.utf8.first,
      [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]
        .contains(first)
    else { return false }
    return !isNegativeNumber(value)
  }

  /// `-` then digits, with at most one decimal point between digits.
  static func isNegativeNumber(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "-") else { return false }
    var digits = 0
    var point = false
    for (i, byte) in bytes.enumerated().dropFirst() {
      if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
        digits += 1
      } else if byte == UInt8(ascii: "."), !point, digits > 0, i < bytes.count - 1 {
        point = true
      } else {
        return false
      }
    }
    return digits > 0
  }

  /// The cell as a spreadsheet shows it as text: a formula-looking value with a leading `'`.
  /// Idempotent (a value that starts with `'` is left alone), so a file copied into another keeps one quote.
  package static func spreadsheetSafe(_ value: String) -> String {
    looksLikeFormula(value) ? "'" + value : value
  }

  /// Encodes one row as bytes; nil when a value cannot be written in the chosen encoding.
  package static func encode(_ fields: [String], options: CSVWriterOptions) -> [UInt8]? {
    var out: [UInt8] = []
    for (index, value) in fields.enumerated() {
      let field = options.spreadsheetSafe ? spreadsheetSafe(value) : value
      if index > 0 { out.append(options.delimiter) }
      let utf8 = Array(field.utf8)
      let needsQuotes =
        options.quoteAll
        || utf8.contains {
          $0 == options.delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D
        }
      var bytes: [UInt8]
      if options.encoding == .windows1252 {
        guard let encoded = Windows1252.fromString(field) else { return nil }
        bytes = encoded
      } else {
        bytes = utf8
      }
      if needsQuotes {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
          if byte == UInt8(ascii: "\"") { out.append(byte) }
          out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
      } else {
        out.append(contentsOf: bytes)
      }
    }
    if options.lineEnding == .crlf { out.append(0x0D) }
    out.append(0x0A)
    return out
  }

  /// Writes one row.
  ///
  /// - Throws: `SISDropError` (65) when a value cannot be written in the file's encoding.
  package func write(_ fields: [String]) throws {
    guard let bytes = CSVWriter.encode(fields, options: options) else {
      throw SISDropError.dataError(
        "a value cannot be written in \(options.encoding.rawValue)",
        at: SourceLocation(path: file.path, line: rows + 1))
    }
    try file.write(bytes)
    rows += 1
  }

  package func close() throws { try file.close() }
}

@available(*, unavailable) extension CSVWriter: Sendable {}
