import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Deterministic kill points for the crash tests: every durable write step (a file's bytes, a
/// rename, a folder fsync, a copy, an SQLite commit) is numbered in the order a run reaches it.
///
/// With `SISDROP_CRASH_AT=N` in the environment the process kills itself with SIGKILL (no
/// cleanup, no flush) on reaching point N; with `SISDROP_CRASH_TRACE=FILE` it appends each point's
/// number and kind to FILE, so a test can count a run's points and choose where to kill. Without
/// either variable a point costs one check of two constants.
package enum CrashPoints {
  private static let target: Int? = ProcessInfo.processInfo.environment["SISDROP_CRASH_AT"].flatMap
  { Int($0) }
  private static let trace: String? = ProcessInfo.processInfo.environment["SISDROP_CRASH_TRACE"]
  private static let counter = Counter()

  package static func hit(_ kind: StaticString) {
    guard target != nil || trace != nil else { return }
    let number = counter.next()
    if let trace {
      let fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
      if fd >= 0 {
        let line = Array("\(number) \(kind)\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
      }
    }
    if number == target { kill(getpid(), SIGKILL) }
  }

  private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
      lock.lock()
      defer { lock.unlock() }
      value += 1
      return value
    }
  }
}
