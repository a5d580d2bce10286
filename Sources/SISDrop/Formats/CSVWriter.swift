import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A buffered file writer: creates a new private file, writes through a 1 MiB buffer, fsyncs on close.
final class FileWriter {
  let path: String
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var closed = false
  private(set) var bytesWritten: Int64 = 0

  init(path: String, mode: mode_t = FileSystem.fileMode) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileError.posix(errno, "create", path) }
    buffer.reserveCapacity(1 << 20)
  }

  deinit { if !closed { Glibc.close(fd) } }

  func write(_ bytes: some Sequence<UInt8>) throws {
    buffer.append(contentsOf: bytes)
    if buffer.count >= 1 << 20 { try flush() }
  }

  func write(_ string: String) throws {
    var string = string
    string.withUTF8 { buffer.append(contentsOf: $0) }
    if buffer.count >= 1 << 20 { try flush() }
  }

  private func flush() throws {
    try FileSystem.writeAll(fd, buffer, path: path)
    bytesWritten += Int64(buffer.count)
    buffer.removeAll(keepingCapacity: true)
  }

  /// Flushes, fsyncs and closes the file.
  func close() throws {
    guard !closed else { return }
    try flush()
    if fsync(fd) != 0 { throw FileError.posix(errno, "fsync", path) }
    closed = true
    Glibc.close(fd)
  }
}

@available(*, unavailable) extension FileWriter: Sendable {}

/// How a CSV file is written: delimiter, line ending, encoding, BOM.
public struct CSVWriterOptions: Sendable, Hashable {
  public enum LineEnding: String, Sendable, Hashable { case lf, crlf }
  public enum OutputEncoding: String, Sendable, Hashable {
    case utf8 = "utf-8"
    case utf8BOM = "utf-8-bom"
    case windows1252 = "windows-1252"
  }

  public var delimiter: UInt8 = UInt8(ascii: ",")
  public var lineEnding: LineEnding = .lf
  public var encoding: OutputEncoding = .utf8
  /// Quote every field, not only those that need it.
  public var quoteAll = false

  public init(delimiter: UInt8 = UInt8(ascii: ","), lineEnding: LineEnding = .lf,
              encoding: OutputEncoding = .utf8, quoteAll: Bool = false) {
    self.delimiter = delimiter
    self.lineEnding = lineEnding
    self.encoding = encoding
    self.quoteAll = quoteAll
  }
}

/// An RFC 4180 writer: quotes a field only when it holds the delimiter, a quote or a line break
/// (or always, when asked), so identifiers such as `0101` stay text and files are deterministic.
public final class CSVWriter {
  private let file: FileWriter
  private let options: CSVWriterOptions
  public private(set) var rows = 0
  public var path: String { file.path }

  public init(path: String, options: CSVWriterOptions = CSVWriterOptions()) throws {
    file = try FileWriter(path: path)
    self.options = options
    if options.encoding == .utf8BOM { try file.write([0xEF, 0xBB, 0xBF]) }
  }

  /// Encodes one row as bytes; nil when a value cannot be written in the chosen encoding.
  public static func encode(_ fields: [String], options: CSVWriterOptions) -> [UInt8]? {
    var out: [UInt8] = []
    for (index, field) in fields.enumerated() {
      if index > 0 { out.append(options.delimiter) }
      let utf8 = Array(field.utf8)
      let needsQuotes = options.quoteAll
        || utf8.contains { $0 == options.delimiter || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
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
  public func write(_ fields: [String]) throws {
    guard let bytes = CSVWriter.encode(fields, options: options) else {
      throw SISDropError.dataError(
        "a value cannot be written in \(options.encoding.rawValue)", at: SourceLocation(path: file.path, line: rows + 1))
    }
    try file.write(bytes)
    rows += 1
  }

  public func close() throws { try file.close() }
}

@available(*, unavailable) extension CSVWriter: Sendable {}
