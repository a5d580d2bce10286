import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Progress of a long stage: records read, rate and time left.
///
/// On a terminal, one line redrawn in place on stderr twice a second (from the second second on,
/// so short stages stay quiet); elsewhere (cron, a log file), one log line every 30 seconds and no
/// control characters. Records and the input bytes behind them are counted by the table readers; the
/// share done is those bytes over the stage's input size, so "time left" is an estimate (stages that
/// read no tables, or XML, show records and rate only).
public final class StageProgress: @unchecked Sendable {
  /// Records and input bytes read by the table readers in this process (relaxed: progress figures, not accounts).
  static let recordsRead = Atomic<Int>(0)
  static let bytesConsumed = Atomic<Int>(0)

  /// Called by the table readers for every record, with the input bytes consumed since the last call.
  @inline(__always) static func recordRead(bytes: Int64) {
    recordsRead.add(1, ordering: .relaxed)
    if bytes > 0 { bytesConsumed.add(Int(bytes), ordering: .relaxed) }
  }

  /// A moment's figures, and how they read.
  public struct Reading: Sendable, Equatable {
    public var stage: String
    public var records: Int
    public var bytesRead: Int64
    public var inputBytes: Int64
    public var elapsed: TimeInterval

    public init(stage: String, records: Int, bytesRead: Int64, inputBytes: Int64, elapsed: TimeInterval) {
      self.stage = stage
      self.records = records
      self.bytesRead = bytesRead
      self.inputBytes = inputBytes
      self.elapsed = elapsed
    }

    /// `normalize: 120,000 records · 43% · 35,000 records/s · about 9 s left`
    public var text: String {
      var parts = ["\(stage): \(Self.grouped(records)) records"]
      let share = inputBytes > 0 ? min(0.99, Double(bytesRead) / Double(inputBytes)) : 0
      if share > 0 { parts.append("\(Int(share * 100))%") }
      if elapsed > 0 { parts.append("\(Self.grouped(Int(Double(records) / elapsed))) records/s") }
      if share > 0.01 && elapsed > 0 {
        let left = elapsed * (1 - share) / share
        parts.append(left < 90 ? "about \(Int(left.rounded())) s left" : "about \(Int((left / 60).rounded())) min left")
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
  private var drawn = false
  private var thread: Thread?

  /// Starts reporting a stage whose input folders hold `inputBytes`.
  public init(stage: String, inputBytes: Int64, terminal: Bool = isatty(STDERR_FILENO) == 1, log: @escaping (String) -> Void) {
    self.stage = stage
    self.inputBytes = inputBytes
    self.terminal = terminal
    self.log = log
    startRecords = StageProgress.recordsRead.load(ordering: .relaxed)
    startBytes = Int64(StageProgress.bytesConsumed.load(ordering: .relaxed))
    let thread = Thread { [weak self] in self?.loop() }
    self.thread = thread
    thread.start()
  }

  public var reading: Reading {
    Reading(stage: stage, records: StageProgress.recordsRead.load(ordering: .relaxed) - startRecords,
            bytesRead: Int64(StageProgress.bytesConsumed.load(ordering: .relaxed)) - startBytes, inputBytes: inputBytes, elapsed: Date().timeIntervalSince(started))
  }

  private func loop() {
    var lastLog = Date()
    while true {
      usleep(500_000)
      lock.lock()
      defer { lock.unlock() }
      guard running else { return }
      let now = Date()
      guard now.timeIntervalSince(started) >= 2 else { continue }
      if terminal {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(reading.text)".utf8))
        drawn = true
      } else if now.timeIntervalSince(lastLog) >= 30 {
        log(reading.text)
        lastLog = now
      }
    }
  }

  /// Stops reporting and clears the terminal line.
  public func stop() {
    lock.lock()
    running = false
    if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    lock.unlock()
  }

  deinit { stop() }

  /// The size of every file below the folders a stage reads.
  public static func inputSize(_ folders: [String]) -> Int64 {
    var total: Int64 = 0
    for folder in folders {
      for name in (try? FileSystem.listDirectory(folder)) ?? [] {
        let path = folder + "/" + name
        if FileSystem.isDirectory(path) { total += inputSize([path]) } else { total += FileSystem.fileSize(path) ?? 0 }
      }
    }
    return total
  }
}
