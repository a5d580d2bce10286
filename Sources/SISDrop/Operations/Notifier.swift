import Foundation
import SISDropConfig
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// Queues notifications in `state.sqlite`, writes each to `notifications/<id>.eml` and pipes it to
/// the configured sendmail command.
///
/// Queued first, in the transaction that records the change, then written and sent, then marked
/// sent: a crash at any point loses none; at worst one is sent twice.
package struct Notifier {
  package let workdir: WorkDir
  package let config: PipelineConfig
  package var log: (String) -> Void

  package init(workdir: WorkDir, config: PipelineConfig, log: @escaping (String) -> Void) {
    self.workdir = workdir
    self.config = config
    self.log = log
  }

  package var folder: String {
    config.resolve(config.operations.notifications.folder, workdir: workdir.root)
  }

  /// Renders a notification into a queue entry with a unique id and Message-ID.
  package func prepare(_ notification: Notification, now: Date) -> PendingNotification {
    let stamp = now.ISO8601Format().filter { $0.isNumber || $0 == "T" || $0 == "Z" }
    let random = UUID().uuidString.prefix(8).lowercased()
    let id = "\(stamp)-\(notification.kind.rawValue)-\(random)"
    var host = [CChar](repeating: 0, count: 256)
    let hostname =
      gethostname(&host, host.count) == 0
      ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      : "localhost"
    let settings = config.operations.notifications
    let message = notification.render(
      from: settings.from, to: settings.to.isEmpty ? ["root@localhost"] : settings.to, date: now,
      timeZone: config.timeZone,
      messageID: "\(id).sisdrop@\(hostname.isEmpty ? "localhost" : hostname)")
    return PendingNotification(id: id, kind: notification.kind.rawValue, message: message)
  }

  /// What became of the queued notifications.
  package enum Outcome: Sendable, Equatable {
    case nothingQueued
    case delivered
    /// Why (at least) one could not be sent: it stays queued for the next run.
    case failed(String)
  }

  /// Writes and sends every queued notification; a sendmail failure is logged and retried next run.
  @discardableResult
  package func deliverQueued(now: Date = Date()) -> Outcome {
    var outcome = Outcome.nothingQueued
    do {
      let queued = try workdir.state.unsentNotifications()
      guard !queued.isEmpty else { return outcome }
      outcome = .delivered
      try FileSystem.makeDirectory(folder)
      for item in queued {
        let path = folder + "/\(item.id).eml"
        try FileSystem.writeAtomically(path, Array(item.message.utf8), mode: 0o640)
        guard let command = config.operations.notifications.sendmail else {
          try workdir.state.markNotification(item.id, sentAt: now, error: nil)
          log("notification \(item.kind) written to \(path)")
          continue
        }
        if let problem = Notifier.pipe(item.message, to: command) {
          try workdir.state.markNotification(item.id, sentAt: nil, error: problem)
          outcome = .failed(problem)
          log(
            "warning: notification \(item.kind) written to \(path) but not sent: sendmail failed (\(problem)); will retry at the next run"
          )
        } else {
          try workdir.state.markNotification(item.id, sentAt: now, error: nil)
          log(
            "notification \(item.kind) sent to \(config.operations.notifications.to.joined(separator: ", ")) (\(path))"
          )
        }
      }
    } catch {
      // A notification problem must not turn a delivered batch into a failed run.
      log("warning: notifications not delivered: \(error)")
      return .failed("\(error)")
    }
    return outcome
  }

  /// Pipes a message to a command; nil on success, else what went wrong.
  static func pipe(_ message: String, to command: [String], timeout: TimeInterval = 60) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return "cannot start \(command[0]): \(error.localizedDescription)"
    }
    // Only the command holds the read end; once it exits, a blocked write ends (EPIPE).
    try? input.fileHandleForReading.close()
    // A command that exits without reading must not kill sisdrop with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    // Written from another thread: a command that neither reads nor exits would block a write of
    // more than the pipe's 64 KiB forever, with the working directory's lock held; the timeout
    // below must still run.
    let handle = input.fileHandleForWriting
    let data = Data(message.utf8)
    let outcome = WriteOutcome()
    let finished = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      outcome.written = (try? handle.write(contentsOf: data)) != nil
      try? handle.close()
      finished.signal()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
      process.terminate()
      let grace = Date().addingTimeInterval(5)
      while process.isRunning && Date() < grace { usleep(20_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      _ = finished.wait(timeout: .now() + 10)
      return "\(command[0]) did not finish within \(Int(timeout))s"
    }
    _ = finished.wait(timeout: .now() + 10)
    let written = outcome.written
    process.waitUntilExit()
    if process.terminationStatus != 0 {
      return "\(command[0]) exited with status \(process.terminationStatus)"
    }
    return written ? nil : "\(command[0]) did not read the message"
  }
}

/// Whether the writer thread wrote the whole message (read after it signalled).
private final class WriteOutcome: @unchecked Sendable {
  var written = false
}
