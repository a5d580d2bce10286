import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one way sisdrop opens a file that came from the inbox (feed files, trigger manifests,
/// answer files, tardies.csv): only a regular file with a single name is read.
///
/// A sender with SFTP access can leave a symbolic link (to /etc/shadow), a hard link (the same
/// inode as a file outside the inbox), a FIFO (an `open` that never returns, holding the work-dir
/// lock) or a device. Each is refused by name without being opened: `lstat` first; then
/// `O_NOFOLLOW | O_NONBLOCK`, so that an entry swapped in after the `lstat` can neither be followed
/// nor block; then `fstat` of what was opened, which must still be the regular file seen.
package enum InboxFile {
  /// What an entry is when sisdrop must not read it; nil for a regular file with one link.
  package static func refusal(_ info: stat) -> String? {
    switch info.st_mode & S_IFMT {
    case S_IFREG:
      return info.st_nlink > 1
        ? "a hard link (the file has \(info.st_nlink) names, so it is also outside the inbox)" : nil
    case S_IFLNK: return "a symbolic link"
    case S_IFIFO: return "a named pipe (FIFO)"
    case S_IFCHR, S_IFBLK: return "a device"
    case S_IFSOCK: return "a socket"
    case S_IFDIR: return "a folder"
    default: return "not a regular file"
    }
  }

  /// The error for a refused entry: 65, naming it and what it is.
  package static func refused(_ path: String, _ what: String, hint: String = "nothing was read")
    -> SISDropError
  {
    SISDropError(
      .dataError,
      "\((path as NSString).lastPathComponent) is \(what), not an uploaded file: sisdrop reads only regular files from the inbox and never follows links",
      at: SourceLocation(path: path),
      hint:
        "\(hint); remove it and have the sender upload the file itself (sshd: ForceCommand internal-sftp -P symlink,hardlink)"
    )
  }

  /// Refuses (65) an entry that is not a regular file with one name, without opening it. A missing
  /// entry passes: the caller reports it in its own words.
  package static func check(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if let what = refusal(info) { throw refused(path, what) }
  }

  /// Opens an inbox file for reading (blocking reads, close-on-exec); the caller closes it.
  ///
  /// - Throws: `SISDropError` 65 for anything but a regular file with one name (also one swapped
  ///   in between the checks), 66 when it is not there.
  package static func open(_ path: String) throws -> Int32 {
    var before = stat()
    guard lstat(path, &before) == 0 else {
      if errno == ENOENT { throw SISDropError.missingInput(path) }
      throw FileError.posix(errno, "lstat", path)
    }
    if let what = refusal(before) { throw refused(path, what) }
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
    guard fd >= 0 else {
      let code = errno
      if code == ELOOP { throw refused(path, "a symbolic link") }
      if code == ENOENT { throw SISDropError.missingInput(path) }
      throw FileError.posix(code, "open", path)
    }
    var after = stat()
    guard fstat(fd, &after) == 0 else {
      let code = errno
      close(fd)
      throw FileError.posix(code, "fstat", path)
    }
    if let what = refusal(after) {
      close(fd)
      throw refused(path, what)
    }
    guard after.st_dev == before.st_dev, after.st_ino == before.st_ino else {
      close(fd)
      throw SISDropError(
        .temporaryFailure,
        "\((path as NSString).lastPathComponent) was replaced while it was being opened",
        at: SourceLocation(path: path), hint: "nothing was read; run again later")
    }
    // Reads of a regular file never block anyway; clear the flag so that they are plain reads.
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return fd
  }
}
