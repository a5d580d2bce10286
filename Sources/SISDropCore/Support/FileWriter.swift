import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A buffered file writer: creates a new private file, writes through a 1 MiB buffer, fsyncs on close.
package final class FileWriter {
  package let path: String
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var closed = false
  private(set) var bytesWritten: Int64 = 0

  package init(path: String, mode: mode_t = FileSystem.fileMode) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileError.posix(errno, "create", path) }
    buffer.reserveCapacity(1 << 20)
  }

  deinit { if !closed { Glibc.close(fd) } }

  package func write(_ bytes: some Sequence<UInt8>) throws {
    buffer.append(contentsOf: bytes)
    if buffer.count >= 1 << 20 { try flush() }
  }

  package func write(_ string: String) throws {
    var string = string
    string.withUTF8 { buffer.append(contentsOf: $0) }
    if buffer.count >= 1 << 20 { try flush() }
  }

  private func flush() throws {
    try FileSystem.writeAll(fd, buffer, path: path)
    bytesWritten += Int64(buffer.count)
    buffer.removeAll(keepingCapacity: true)
  }

  /// Flushes, fsyncs and closes the file. `sync: false` for a scratch file that is removed
  /// before its stage ends (a crash leaves it only in the stage's temporary folder).
  package func close(sync: Bool = true) throws {
    guard !closed else { return }
    try flush()
    if sync, fsync(fd) != 0 { throw FileError.posix(errno, "fsync", path) }
    closed = true
    Glibc.close(fd)
  }
}

@available(*, unavailable) extension FileWriter: Sendable {}
