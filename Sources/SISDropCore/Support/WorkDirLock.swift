import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One writer per working directory: an exclusive `flock` on `<workdir>/.lock`.
///
/// The holder writes its pid and command into the lock file so that a second writer can say who
/// holds it. The kernel drops the lock when the holder dies, even by SIGKILL, so a stale lock
/// cannot block the next night's run. The corresponding C function is `flock`.
package final class WorkDirLock {
  private let fd: Int32
  package let path: String

  /// Takes the lock, waiting up to `wait` seconds for another writer to finish.
  ///
  /// - Throws: `SISDropError` with status 75 (temporary failure) naming the holder when busy.
  package init(workdir: String, command: String, wait: TimeInterval = 0) throws {
    path = workdir + "/.lock"
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FileError.posix(errno, "open lock file", path) }
    let deadline = Date().addingTimeInterval(wait)
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR else {
        let code = errno
        close(fd)
        throw FileError.posix(code, "lock", path)
      }
      if Date() >= deadline {
        let holder =
          (try? String(decoding: FileSystem.readFile(path), as: UTF8.self))?
          .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        close(fd)
        throw SISDropError(
          .temporaryFailure,
          "busy: another sisdrop process is writing to this working directory (\(holder.isEmpty ? "holder unknown" : holder))",
          at: SourceLocation(path: path),
          hint: "wait for it to finish and run again; cron will retry")
      }
      usleep(100_000)
    }
    let note = Array("pid \(getpid()) command \(command)\n".utf8)
    _ = ftruncate(fd, 0)
    _ = note.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
  }

  deinit {
    _ = ftruncate(fd, 0)
    flock(fd, LOCK_UN)
    close(fd)
  }
}

@available(*, unavailable) extension WorkDirLock: Sendable {}
