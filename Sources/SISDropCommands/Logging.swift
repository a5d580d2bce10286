import Foundation
import Logging
import SISDrop
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// swift-log lines for people and for log files.
///
/// On a terminal: the message alone. Otherwise (cron, a log file): one line per event with a UTC
/// timestamp, the level, the program and its pid, the message and its metadata as key=value,
/// so that `grep` and logrotate work and two overlapping runs can be told apart. Messages name
/// batch and record ids and counts, never names or birth dates.
struct SISDropLogHandler: LogHandler {
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .info
  let terminal: Bool

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    // One event, one line: a control character from anywhere (an input's header cell in an
    // error) is shown escaped, never a line break that would forge the next log line.
    let message = LogText.escaped("\(event.message)")
    var all = metadata
    for (key, value) in event.metadata ?? [:] { all[key] = value }
    let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
    let line: String
    if terminal {
      line =
        "\(event.level >= .warning ? "sisdrop: \(event.level): " : "")\(message)\(LogText.escaped(fields))\n"
    } else {
      line =
        "\(Date().ISO8601Format()) \(event.level) sisdrop[\(getpid())]: \(message)\(LogText.escaped(fields))\n"
    }
    // On a terminal, above the progress line (never into it).
    if terminal {
      TerminalLine.writeAbove(line)
    } else {
      FileHandle.standardError.write(Data(line.utf8))
    }
  }
}

/// A logger writing to stderr in the form that suits where stderr goes.
func makeLogger(quiet: Bool = false) -> Logger {
  let terminal = isatty(STDERR_FILENO) == 1
  var logger = Logger(label: "sisdrop") { _ in SISDropLogHandler(terminal: terminal) }
  logger.logLevel = quiet ? .warning : .info
  return logger
}
