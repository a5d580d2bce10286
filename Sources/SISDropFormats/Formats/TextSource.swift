import Foundation
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// The character encodings sisdrop reads. A BOM always wins; without one the configured encoding
/// applies, and Windows-1252 is only ever used when the pipeline config names it (never a guess).
package enum TextEncoding: String, Sendable, Codable, CaseIterable {
  case utf8 = "utf-8"
  case windows1252 = "windows-1252"
}

/// Reads a text file in 1 MiB chunks and hands them out as UTF-8, whatever the file's encoding.
///
/// UTF-8 with or without BOM passes through (the BOM is dropped); UTF-16 with a BOM and
/// Windows-1252 are transcoded chunk by chunk, so memory does not grow with the file.
final class TextSource {
  let path: String
  private let fd: Int32
  private var raw: [UInt8]
  private var pending: [UInt8] = []  // bytes of a split UTF-16 code unit or surrogate pair
  private var started = false
  private(set) var encodingInUse: String = "utf-8"
  private var mode: Mode = .utf8
  private var atEnd = false
  /// Bytes of the file read so far (for progress).
  private(set) var bytesRead: Int64 = 0

  private enum Mode { case utf8, utf16LE, utf16BE, windows1252 }

  /// `inboxFile`: a file from the inbox, opened only if it is a regular file with one name (`InboxFile`).
  init(path: String, encoding: TextEncoding, chunkSize: Int = 1 << 20, inboxFile: Bool = false)
    throws
  {
    self.path = path
    fd = inboxFile ? try InboxFile.open(path) : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      if code == ENOENT { throw SISDropError.missingInput(path) }
      throw FileError.posix(code, "open", path)
    }
    raw = [UInt8](repeating: 0, count: chunkSize)
    mode = encoding == .windows1252 ? .windows1252 : .utf8
    encodingInUse = encoding.rawValue
  }

  deinit { close(fd) }

  private func readRaw() throws -> ArraySlice<UInt8> {
    while true {
      let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError.posix(errno, "read", path)
      }
      bytesRead += Int64(n)
      return raw[0..<n]
    }
  }

  /// The next chunk of UTF-8 bytes, or nil at the end of the file.
  func next() throws -> [UInt8]? {
    if atEnd { return nil }
    var chunk = try readRaw()
    if !started {
      started = true
      // Look for a BOM; read on if the first read returned fewer than 3 bytes.
      while chunk.count < 3 {
        let more = try readRaw()
        if more.isEmpty { break }
        chunk = ArraySlice(Array(chunk) + Array(more))
      }
      let head = Array(chunk.prefix(3))
      if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        throw SISDropError.dataError(
          "the file is gzip-compressed", at: SourceLocation(path: path, line: 1),
          hint: "upload the uncompressed file")
      }
      if head.count >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF {
        mode = .utf8
        encodingInUse = "utf-8 (BOM)"
        chunk = chunk.dropFirst(3)
      } else if head.count >= 2 && head[0] == 0xFF && head[1] == 0xFE {
        mode = .utf16LE
        encodingInUse = "utf-16le (BOM)"
        chunk = chunk.dropFirst(2)
      } else if head.count >= 2 && head[0] == 0xFE && head[1] == 0xFF {
        mode = .utf16BE
        encodingInUse = "utf-16be (BOM)"
        chunk = chunk.dropFirst(2)
      }
    }
    if chunk.isEmpty {
      atEnd = true
      if !pending.isEmpty {
        throw SISDropError.dataError(
          "the file ends in the middle of a UTF-16 character", at: SourceLocation(path: path),
          hint: "the upload may be truncated: upload the file again")
      }
      return nil
    }
    try refuseMostlyNUL(chunk)
    switch mode {
    case .utf8: return Array(chunk)
    case .windows1252:
      return try Windows1252.toUTF8(chunk, path: path, offset: bytesRead - Int64(chunk.count))
    case .utf16LE, .utf16BE:
      pending.append(contentsOf: chunk)
      return try transcodeUTF16(bigEndian: mode == .utf16BE)
    }
  }

  /// A stretch of the file that is mostly NUL bytes is what an aborted or preallocated transfer
  /// leaves, not an export: the file is refused whole (no text encoding sisdrop reads has more
  /// than half its bytes NUL; UTF-16 of ASCII has half).
  private func refuseMostlyNUL(_ chunk: ArraySlice<UInt8>) throws {
    guard chunk.count >= 64 else { return }
    // 64 bytes spread over the chunk first: a text chunk is passed without counting all of it.
    let step = chunk.count / 64
    var sampled = 0
    for k in 0..<64 where chunk[chunk.startIndex + k * step] == 0 { sampled += 1 }
    guard sampled >= 32 else { return }
    var zeros = 0
    for byte in chunk where byte == 0 { zeros += 1 }
    guard zeros * 10 > chunk.count * 9 else { return }
    throw SISDropError.dataError(
      "the file is mostly NUL bytes from byte \(bytesRead - Int64(chunk.count)) on (\(zeros) of \(chunk.count)): a broken upload, not an export",
      at: SourceLocation(path: path),
      hint: "an aborted or preallocated transfer leaves zero-filled files: upload the file again")
  }

  private func transcodeUTF16(bigEndian: Bool) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(pending.count)
    var i = 0
    let n = pending.count
    func unit(_ at: Int) -> UInt16 {
      bigEndian
        ? UInt16(pending[at]) << 8 | UInt16(pending[at + 1])
        : UInt16(pending[at + 1]) << 8 | UInt16(pending[at])
    }
    while i + 1 < n {
      let u = unit(i)
      var scalar: UInt32
      if u >= 0xD800 && u <= 0xDBFF {
        guard i + 3 < n else { break }  // the pair's second half is in the next chunk
        let low = unit(i + 2)
        guard low >= 0xDC00 && low <= 0xDFFF else {
          throw SISDropError.dataError(
            "invalid UTF-16: unpaired surrogate at byte \(bytesRead - Int64(n - i))",
            at: SourceLocation(path: path),
            hint: "export the file again as UTF-8")
        }
        scalar = 0x10000 + ((UInt32(u) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        i += 4
      } else if u >= 0xDC00 && u <= 0xDFFF {
        throw SISDropError.dataError(
          "invalid UTF-16: unpaired surrogate at byte \(bytesRead - Int64(n - i))",
          at: SourceLocation(path: path),
          hint: "export the file again as UTF-8")
      } else {
        scalar = UInt32(u)
        i += 2
      }
      UTF8.encode(Unicode.Scalar(scalar)!) { out.append($0) }
    }
    pending.removeFirst(i)
    return out
  }
}

/// Windows-1252 to UTF-8. The five bytes the code page leaves undefined are an error, not a `?`.
package enum Windows1252 {
  static let high: [UInt32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0, 0x017E, 0x0178,
  ]

  static func toUTF8(_ bytes: ArraySlice<UInt8>, path: String, offset: Int64) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + bytes.count / 8)
    var position = offset
    for byte in bytes {
      if byte < 0x80 {
        out.append(byte)
      } else {
        let scalar: UInt32 = byte < 0xA0 ? high[Int(byte - 0x80)] : UInt32(byte)
        if scalar == 0 {
          throw SISDropError.dataError(
            String(
              format: "byte 0x%02X at offset %lld is not a Windows-1252 character", byte, position),
            at: SourceLocation(path: path), hint: "check the file's encoding in the pipeline config"
          )
        }
        UTF8.encode(Unicode.Scalar(scalar)!) { out.append($0) }
      }
      position += 1
    }
    return out
  }

  /// UTF-8 string to Windows-1252 bytes, or nil when a character has no Windows-1252 form.
  package static func fromString(_ string: String) -> [UInt8]? {
    var out: [UInt8] = []
    for scalar in string.unicodeScalars {
      let v = scalar.value
      if v < 0x80 || (v >= 0xA0 && v <= 0xFF) {
        out.append(UInt8(v))
      } else if let index = high.firstIndex(of: v), v != 0 {
        out.append(UInt8(0x80 + index))
      } else {
        return nil
      }
    }
    return out
  }
}
