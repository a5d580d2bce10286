import Foundation
import SISDropCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Progress of a stage: records, share done, rate and time left.
///
/// On a terminal, one line on stderr redrawn in place twice a second (from the first second on),
/// and when the stage has finished, its last reading at 100% with its rate and time, left on its own
/// line; log lines go above the progress line, never into it (TerminalLine). Elsewhere (cron, a log
/// file), one log line every 30 seconds and no control characters. Parse and normalize count the
/// records and input bytes the readers consume (the share is those bytes over the stage's input
/// size: an estimate); match and deliver count the submissions they have worked through.
package final class StageProgress: @unchecked Sendable {
  /// A stage about to work through `submissions`, each in `passes` steps (ProgressCounters).
  static func expect(submissions: Int, passes: Int = 1) {
    ProgressCounters.expect(submissions: submissions, passes: passes)
  }

  /// One step of one submission done (any thread).
  @inline(__always) static func step() { ProgressCounters.step() }

  /// A moment's figures, and how they read.
  package struct Reading: Sendable, Equatable {
    package var stage: String
    package var records: Int
    /// Input bytes read, or steps through the submissions done; `total` of them in all.
    package var done: Int64
    package var total: Int64
    package var elapsed: TimeInterval
    /// The stage has finished: 100%, and the time it took instead of the time left.
    package var finished: Bool

    package init(
      stage: String, records: Int, done: Int64, total: Int64, elapsed: TimeInterval,
      finished: Bool = false
    ) {
      self.stage = stage
      self.records = records
      self.done = done
      self.total = total
      self.elapsed = elapsed
      self.finished = finished
    }

    /// `normalize: 120,000 records · 43% · 35,000 records/s · about 9 s left`, and at the end
    /// `normalize: 280,000 records · 100% · 35,000 records/s · 8.0 s`.
    package var text: String {
      var parts = ["\(stage): \(Self.grouped(records)) records"]
      // Below 100% until the stage has finished: the input size is an estimate of the work.
      let share = finished ? 1 : total > 0 ? min(0.99, Double(done) / Double(total)) : 0
      if share > 0 { parts.append("\(Int(share * 100))%") }
      if elapsed > 0 && records > 0 {
        parts.append("\(Self.grouped(max(1, Int(Double(records) / elapsed)))) records/s")
      }
      if finished {
        parts.append(
          elapsed < 90 ? String(format: "%.1f s", elapsed) : "\(Int((elapsed / 60).rounded())) min")
      } else if share > 0.01 && elapsed > 0 {
        let left = elapsed * (1 - share) / share
        parts.append(
          left < 90
            ? "about \(Int(left.rounded())) s left" : "about \(Int((left / 60).rounded())) min left"
        )
      }
      return parts.joined(separator: " · ")
    }

    static func grouped(_ value: Int) -> String {
      let digits = String(value)
      var result = ""
      for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
      }
      return result
    }
  }

  private let stage: String
  private let inputBytes: Int64
  private let log: (String) -> Void
  private let terminal: Bool
  private let started = Date()
  private let startRecords: Int
  private let startBytes: Int64
  private let lock = NSLock()
  private var running = true
  private var thread: Thread?

  /// Starts reporting a stage whose input folders hold `inputBytes`.
  package init(
    stage: String, inputBytes: Int64, terminal: Bool = isatty(STDERR_FILENO) == 1,
    log: @escaping (String) -> Void
  ) {
    self.stage = stage
    self.inputBytes = inputBytes
    self.terminal = terminal
    self.log = log
    startRecords = ProgressCounters.recordsRead.load(ordering: .relaxed)
    startBytes = Int64(ProgressCounters.bytesConsumed.load(ordering: .relaxed))
    StageProgress.expect(submissions: 0)
    let thread = Thread { [weak self] in self?.loop() }
    self.thread = thread
    thread.start()
  }

  package var reading: Reading { reading(finished: false) }

  func reading(finished: Bool) -> Reading {
    let elapsed = Date().timeIntervalSince(started)
    let steps = ProgressCounters.stepsTotal.load(ordering: .relaxed)
    if steps > 0 {
      let done = ProgressCounters.stepsDone.load(ordering: .relaxed)
      return Reading(
        stage: stage, records: done / ProgressCounters.passes.load(ordering: .relaxed),
        done: Int64(done), total: Int64(steps),
        elapsed: elapsed, finished: finished)
    }
    return Reading(
      stage: stage, records: ProgressCounters.recordsRead.load(ordering: .relaxed) - startRecords,
      done: Int64(ProgressCounters.bytesConsumed.load(ordering: .relaxed)) - startBytes,
      total: inputBytes, elapsed: elapsed,
      finished: finished)
  }

  private func loop() {
    var lastLog = Date()
    while true {
      usleep(500_000)
      lock.lock()
      defer { lock.unlock() }
      guard running else { return }
      let now = Date()
      guard now.timeIntervalSince(started) >= 1 else { continue }
      if terminal {
        TerminalLine.show(reading.text)
      } else if now.timeIntervalSince(lastLog) >= 30 {
        log(reading.text)
        lastLog = now
      }
    }
  }

  /// The stage has finished: on a terminal its last reading (100%, rate, time) stays on its own line.
  package func finish() {
    lock.lock()
    defer { lock.unlock() }
    guard running else { return }
    running = false
    if terminal { TerminalLine.finish(reading(finished: true).text) }
  }

  /// Stops reporting (the stage failed, or has finished) and clears the progress line.
  package func stop() {
    lock.lock()
    defer { lock.unlock() }
    guard running else { return }
    running = false
    if terminal { TerminalLine.clear() }
  }

  deinit { stop() }

  /// The size of every file below the folders a stage reads.
  package static func inputSize(_ folders: [String]) -> Int64 {
    var total: Int64 = 0
    for folder in folders {
      for name in (try? FileSystem.listDirectory(folder)) ?? [] {
        let path = folder + "/" + name
        if FileSystem.isDirectory(path) {
          total += inputSize([path])
        } else {
          total += FileSystem.fileSize(path) ?? 0
        }
      }
    }
    return total
  }
}

/// The bottom line of a terminal that progress redraws in place. A log line is written above it —
/// the progress line is erased, the log line written, the progress line drawn again — so the two
/// never run into each other.
package enum TerminalLine {
  private static let shown = Mutex<String?>(nil)

  /// Draws `text` in place of the progress line.
  static func show(_ text: String) {
    shown.withLock { current in
      current = fitted(text)
      write("\r\u{1B}[K" + current!)
    }
  }

  /// Draws `text` in place of the progress line and leaves it there, on its own line.
  static func finish(_ text: String) {
    shown.withLock { current in
      current = nil
      write("\r\u{1B}[K" + fitted(text) + "\n")
    }
  }

  /// Erases the progress line, if one is drawn.
  static func clear() {
    shown.withLock { current in
      if current != nil { write("\r\u{1B}[K") }
      current = nil
    }
  }

  /// Writes `line` (ending in a line break) to stderr, above the progress line if one is drawn.
  package static func writeAbove(_ line: String) {
    shown.withLock { current in write(current.map { "\r\u{1B}[K" + line + $0 } ?? line) }
  }

  private static func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

  /// Cut to the terminal's width: a line that wrapped could not be redrawn in place.
  private static func fitted(_ text: String) -> String {
    var size = winsize()
    guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1,
      text.count >= Int(size.ws_col)
    else { return text }
    return String(text.prefix(Int(size.ws_col) - 1))
  }
}
