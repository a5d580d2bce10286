import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A failed system call on a file, with the path: maps to sysexits in one place.
package struct FileError: Error, CustomStringConvertible, Sendable {
  package var code: Int32
  package var operation: String
  package var path: String

  package static func posix(_ code: Int32, _ operation: String, _ path: String) -> FileError {
    FileError(code: code, operation: operation, path: path)
  }

  package var description: String {
    "\(path): \(operation) failed: \(String(cString: strerror(code)))"
  }

  /// Missing inputs are 66; anything else that stops us writing is 73.
  package var status: ExitStatus { code == ENOENT ? .noInput : .cannotCreate }
}

/// File operations with the working-directory rules (ARCHITECTURE.md, "The rules the code keeps":
/// atomic, private): private modes, fsync, rename.
///
/// Files holding student data are created 0640 (0600 for the state database), folders 0750.
package enum FileSystem {
  package static let fileMode: mode_t = 0o640
  package static let directoryMode: mode_t = 0o750

  package static func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }

  package static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  /// Creates a folder and its parents with the private folder mode.
  package static func makeDirectory(_ path: String) throws {
    if isDirectory(path) { return }
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty, parent != path, !isDirectory(parent) { try makeDirectory(parent) }
    if mkdir(path, directoryMode) != 0 && errno != EEXIST {
      throw FileError.posix(errno, "mkdir", path)
    }
  }

  /// Writes bytes to a new file (replacing nothing: the file must not exist), fsyncs it.
  package static func writeNew(
    _ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = fileMode
  ) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileError.posix(errno, "create", path) }
    defer { close(fd) }
    try writeAll(fd, bytes, path: path)
    if fsync(fd) != 0 { throw FileError.posix(errno, "fsync", path) }
  }

  static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>, path: String) throws {
    CrashPoints.hit("write")
    let array = Array(bytes)
    try array.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          throw FileError.posix(errno, "write", path)
        }
        offset += n
      }
    }
  }

  /// Replaces a file atomically: a temporary file beside it, fsync, rename, fsync the folder.
  ///
  /// Foundation's `.atomic` write skips the folder fsync (docs/PLATFORM-NOTES.md, "Files and SFTP"), hence this.
  package static func writeAtomically(
    _ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = fileMode
  ) throws {
    try replace(path) { try writeNew($0, bytes, mode: mode) }
  }

  /// `writeAtomically` for content too large to hold whole: `body` writes it through a
  /// `FileWriter`, flushed, fsynced and closed here; the temporary file is removed if `body` throws.
  package static func writeAtomically(
    _ path: String, mode: mode_t = fileMode, _ body: (FileWriter) throws -> Void
  ) throws {
    try replace(path) { temporary in
      let writer = try FileWriter(path: temporary, mode: mode)
      do {
        try body(writer)
        try writer.close()
      } catch {
        _ = unlink(temporary)
        throw error
      }
    }
  }

  /// A temporary file beside `path` written by `write`, then fsync'd into place by a rename.
  private static func replace(_ path: String, _ write: (String) throws -> Void) throws {
    let folder = (path as NSString).deletingLastPathComponent
    let temporary = folder + "/." + (path as NSString).lastPathComponent + ".tmp-\(getpid())"
    _ = unlink(temporary)
    try write(temporary)
    try rename(temporary, to: path)
    try syncDirectory(folder.isEmpty ? "." : folder)
  }

  package static func rename(_ from: String, to: String) throws {
    CrashPoints.hit("rename")
    if Glibc.rename(from, to) != 0 { throw FileError.posix(errno, "rename to \(to)", from) }
  }

  /// fsync on a folder makes a rename inside it durable.
  package static func syncDirectory(_ path: String) throws {
    CrashPoints.hit("fsync folder")
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open folder", path) }
    defer { close(fd) }
    if fsync(fd) != 0 { throw FileError.posix(errno, "fsync folder", path) }
  }

  /// fsyncs every file below a folder and the folders themselves, before the folder is published.
  package static func syncTree(_ path: String) throws {
    for name in try listDirectory(path) {
      let child = path + "/" + name
      if isDirectory(child) {
        try syncTree(child)
      } else {
        let fd = open(child, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.posix(errno, "open", child) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw FileError.posix(errno, "fsync", child) }
      }
    }
    try syncDirectory(path)
  }

  /// Names in a folder, sorted so that everything built from a listing is deterministic.
  package static func listDirectory(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else { throw FileError.posix(errno, "list", path) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafePointer(to: entry.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
  }

  package static func removeTree(_ path: String) throws {
    guard exists(path) else { return }
    if isDirectory(path) {
      var st = stat()
      if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
        if unlink(path) != 0 { throw FileError.posix(errno, "remove", path) }
        return
      }
      for name in try listDirectory(path) { try removeTree(path + "/" + name) }
      if rmdir(path) != 0 { throw FileError.posix(errno, "remove", path) }
    } else if unlink(path) != 0 {
      throw FileError.posix(errno, "remove", path)
    }
  }

  /// Copies a file byte for byte into a new file with the private mode, and fsyncs it.
  /// `inboxFile`: the source is in the inbox, read only if it is a regular file with one name (`InboxFile`).
  package static func copyFile(_ from: String, to: String, inboxFile: Bool = false) throws {
    CrashPoints.hit("copy")
    let input = inboxFile ? try InboxFile.open(from) : open(from, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw FileError.posix(errno, "open", from) }
    defer { close(input) }
    let output = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, fileMode)
    guard output >= 0 else { throw FileError.posix(errno, "create", to) }
    defer { close(output) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = read(input, buffer.baseAddress, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError.posix(errno, "read", from)
      }
      if n == 0 { break }
      var offset = 0
      while offset < n {
        let w = write(output, buffer.baseAddress! + offset, n - offset)
        if w < 0 {
          if errno == EINTR { continue }
          throw FileError.posix(errno, "write", to)
        }
        offset += w
      }
    }
    if fsync(output) != 0 { throw FileError.posix(errno, "fsync", to) }
  }

  package static func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open", path) }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError.posix(errno, "read", path)
      }
      if n == 0 { break }
      result.append(contentsOf: chunk[0..<n])
    }
    return result
  }

  package static func fileSize(_ path: String) -> Int64? {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : nil
  }

  /// Makes a path absolute against a base folder (or the current folder).
  package static func absolute(_ path: String, relativeTo base: String? = nil) -> String {
    if path.hasPrefix("/") { return (path as NSString).standardizingPath }
    let root = base ?? FileManager.default.currentDirectoryPath
    return ((root as NSString).appendingPathComponent(path) as NSString).standardizingPath
  }
}
