import Foundation
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// Which processes hold inbox files open for writing, found through Linux's `/proc`.
///
/// Why: OpenSSH's `internal-sftp` writes an upload in place under its final name, and a stalled
/// upload keeps size and times still while the server process still holds the file open
/// (docs/PLATFORM-NOTES.md, "Files and SFTP"); a quiet period alone would claim it. inotify cannot help (an aborted
/// upload also fires `IN_CLOSE_WRITE`) and `fcntl` locks are not taken by sftp-server. So every
/// process's `/proc/PID/fd/N` is matched to the inbox files by device and inode (paths would not
/// match: a chrooted sftp-server sees its own root), and `/proc/PID/fdinfo/N`'s `flags` tell
/// whether that descriptor was opened for writing.
///
/// Only processes this user may inspect are seen: run sisdrop as root or as the SFTP account's
/// user, or configure a trigger file per feed. Elsewhere than Linux the scan finds nothing and
/// the quiet period alone applies.
package enum OpenWriters {
  package struct Writer: Sendable, Equatable {
    package var pid: Int32
    package var command: String
  }

  private struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64
  }

  /// The writers of `names` in `folder`, by name.
  package static func scan(folder: String, names: [String]) -> [String: Writer] {
    var targets: [FileID: String] = [:]
    for name in names {
      var info = stat()
      if lstat(folder + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
        targets[FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))] = name
      }
    }
    guard !targets.isEmpty, let processes = try? FileSystem.listDirectory("/proc") else {
      return [:]
    }
    // names may be paths below `folder`
    let wanted = Set(targets.values.map { ($0 as NSString).lastPathComponent })
    var found: [String: Writer] = [:]
    for pid in processes where pid.allSatisfy(\.isNumber) {
      guard let descriptors = try? FileSystem.listDirectory("/proc/\(pid)/fd") else { continue }
      for fd in descriptors {
        // readlink first (it never touches the target's file system): only a link whose last
        // component is one of `names` is stat'ed, so a hung NFS/FUSE mount elsewhere cannot block
        // the scan, and the work stays small on a busy host. (A chrooted sftp-server's link still
        // ends with the file's name.)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(pid)/fd/\(fd)", &buffer, buffer.count - 1)
        guard length > 0 else { continue }
        let target = String(
          decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard target.hasPrefix("/"), wanted.contains((target as NSString).lastPathComponent) else {
          continue
        }
        var info = stat()
        guard stat("/proc/\(pid)/fd/\(fd)", &info) == 0,
          let name = targets[FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))],
          isOpenForWriting(pid: pid, fd: fd)
        else { continue }
        let command =
          (try? String(decoding: FileSystem.readFile("/proc/\(pid)/comm"), as: UTF8.self))?
          .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        found[name] = Writer(pid: Int32(pid) ?? 0, command: command)
      }
    }
    return found
  }

  /// Processes whose open files this user cannot see (`/proc/PID/fd` refused: another user's
  /// process, without CAP_SYS_PTRACE): the writer check is blind to them.
  package static func unseenProcesses() -> [(pid: Int32, command: String)] {
    guard let processes = try? FileSystem.listDirectory("/proc") else { return [] }
    var unseen: [(pid: Int32, command: String)] = []
    for pid in processes where pid.allSatisfy(\.isNumber) {
      let folder = opendir("/proc/\(pid)/fd")
      if let folder {
        closedir(folder)
        continue
      }
      guard errno == EACCES || errno == EPERM else { continue }  // ENOENT: it has just exited
      let command =
        (try? String(decoding: FileSystem.readFile("/proc/\(pid)/comm"), as: UTF8.self))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
      unseen.append((Int32(pid) ?? 0, command))
    }
    return unseen
  }

  /// A warning when the writer check is blind to some processes, or nil when it sees them all.
  /// Said loudly (log, `sisdrop status`) rather than passing silently: a stalled upload by a process
  /// sisdrop cannot see would be claimed after the quiet period alone.
  package static func blindness() -> String? {
    let unseen = unseenProcesses()
    guard !unseen.isEmpty else { return nil }
    let examples = unseen.prefix(3).map { "\($0.pid) (\($0.command))" }.joined(separator: ", ")
    return
      "the open-writer check cannot see the open files of \(unseen.count) processes (\(examples)\(unseen.count > 3 ? ", ..." : "")): "
      + "an upload they are writing would be claimed after the quiet period alone; run sisdrop as root, or as a member of the "
      + "SFTP account's group with CAP_SYS_PTRACE, or configure a trigger file per feed (pickup.triggers)"
  }

  /// Reads the octal `flags:` line of `/proc/PID/fdinfo/FD`: write-only or read-write access.
  static func isOpenForWriting(pid: String, fd: String) -> Bool {
    guard let bytes = try? FileSystem.readFile("/proc/\(pid)/fdinfo/\(fd)") else { return false }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n")
    where line.hasPrefix("flags:") {
      let value = line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces)
      guard let flags = Int32(value, radix: 8) else { return false }
      let access = flags & O_ACCMODE
      return access == O_WRONLY || access == O_RDWR
    }
    return false
  }
}
