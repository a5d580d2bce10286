import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop

#if canImport(Glibc)
import Glibc
#endif

/// What a terminal shows after some output: carriage returns, line feeds, "erase to the end of the
/// line" (ESC [ K) and printable text, with lines wrapping at the terminal's width, as a terminal
/// renders them. Any other control character or escape sequence is kept in `unexpected`: garbage.
struct RenderedScreen {
  private(set) var rows: [[Character]] = [[]]
  private(set) var unexpected: [String] = []

  init(_ output: [UInt8], columns: Int) {
    var row = 0
    var column = 0
    var scalars = String(decoding: output, as: UTF8.self).unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
      switch scalar {
      case "\r": column = 0
      case "\n":
        row += 1
        if row == rows.count { rows.append([]) }
      case "\u{1B}":
        var sequence = ""
        guard scalars.next() == "[" else {
          unexpected.append("ESC without [")
          continue
        }
        while let next = scalars.next() {
          sequence.unicodeScalars.append(next)
          if (0x40...0x7E).contains(next.value) { break }
        }
        if sequence == "K" || sequence == "0K" {
          if column < rows[row].count { rows[row].removeSubrange(column...) }
        } else {
          unexpected.append("ESC [\(sequence)")
        }
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          unexpected.append(String(format: "control character 0x%02X", scalar.value))
          continue
        }
        if column == columns {  // the terminal wraps
          row += 1
          column = 0
          if row == rows.count { rows.append([]) }
        }
        while rows[row].count < column { rows[row].append(" ") }
        if column < rows[row].count {
          rows[row][column] = Character(scalar)
        } else {
          rows[row].append(Character(scalar))
        }
        column += 1
      }
    }
  }

  var lines: [String] { rows.map { String($0) } }
}

/// Runs a built executable with stdin, stdout and stderr on a pseudo-terminal of `columns` columns;
/// returns its exit status and every byte the terminal received.
func runOnPseudoTerminal(_ tool: String, _ arguments: [String], columns: UInt16) throws -> (
  status: Int32, output: [UInt8]
) {
  var controller: Int32 = -1
  var terminal: Int32 = -1
  var size = winsize(ws_row: 50, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
  guard openpty(&controller, &terminal, nil, nil, &size) == 0 else {
    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
  }
  // Not inherited by processes other tests start meanwhile: the terminal must close when this child exits.
  _ = fcntl(controller, F_SETFD, FD_CLOEXEC)
  _ = fcntl(terminal, F_SETFD, FD_CLOEXEC)
  defer { close(controller) }
  let process = Process()
  process.executableURL = buildFolder().appendingPathComponent(tool)
  process.arguments = arguments
  let handle = FileHandle(fileDescriptor: terminal, closeOnDealloc: false)
  process.standardInput = handle
  process.standardOutput = handle
  process.standardError = handle
  do { try process.run() } catch {
    close(terminal)
    throw error
  }
  close(terminal)
  var output: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 4096)
  while true {
    let count = read(controller, &buffer, buffer.count)
    if count > 0 {
      output += buffer[0..<count]
    } else if count < 0 && errno == EINTR {
      continue
    } else {
      break  // EIO: every copy of the terminal side is closed, the child has exited
    }
  }
  process.waitUntilExit()
  return (process.terminationStatus, output)
}

/// `sisdrop run` on a terminal: one progress line per stage, redrawn in place, that ends at 100%
/// with its records and a rate above zero; log lines above it, never mixed into it; no other
/// control characters. Checked on the screen a terminal renders from the bytes it received.
@Suite struct ProgressTerminalTests {
  @Test func aRunOnATerminalEndsEachStageAt100PercentOnOneLine() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      let columns = 120
      let result = try runOnPseudoTerminal(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root],
        columns: UInt16(columns))
      let screen = RenderedScreen(result.output, columns: columns)
      let shown = screen.lines.joined(separator: "\n")
      #expect(result.status == 0, "\(shown)")
      #expect(screen.unexpected.isEmpty, "\(screen.unexpected)\n\(shown)")
      // The progress was drawn in place (erase, redraw), not printed line after line.
      #expect(String(decoding: result.output, as: UTF8.self).contains("\r\u{1B}[K"))

      let progress = screen.lines.filter { $0.contains(" records") && $0.contains("·") }
      #expect(
        progress.map { String($0.prefix { $0 != ":" }) } == [
          "parse", "normalize", "match", "deliver",
        ], "\(shown)")
      for line in progress {
        let match = line.wholeMatch(
          of:
            /(parse|normalize|match|deliver): ([\d,]+) records · 100% · ([\d,]+) records\/s · \d+\.\d s/
        )
        #expect(match != nil, "not a finished progress line: \(line)\n\(shown)")
        if let match {
          #expect(Int(match.2.replacingOccurrences(of: ",", with: "")) ?? 0 > 0, "\(line)")
          #expect(Int(match.3.replacingOccurrences(of: ",", with: "")) ?? 0 > 0, "\(line)")
        }
      }
      // Match and deliver count the submissions normalize passed on.
      let batch = try #require(try workdir.state.allBatches().last?.id)
      let passedOn = try readText(workdir.stageFolder(batch, .normalize) + "/submissions.jsonl")
        .split(separator: "\n").count
      #expect(passedOn > 0)
      #expect(
        progress.filter {
          $0.hasPrefix("match: \(passedOn) records") || $0.hasPrefix("deliver: \(passedOn) records")
        }.count == 2,
        "\(passedOn): \(progress)")
      // The log lines and the run's summary are whole lines of their own.
      #expect(screen.lines.contains { $0.hasPrefix("opened batch ") }, "\(shown)")
      #expect(
        screen.lines.contains { $0.hasPrefix("deliver: ") && $0.contains("submissions delivered") },
        "\(shown)")
      #expect(
        screen.lines.contains { $0.hasPrefix("batch ") && $0.hasSuffix("(closed)") }, "\(shown)")
      // On a terminal, no log-file line: the run's end is the summary, not "run finished".
      #expect(!shown.contains("run finished"))
    }
  }

  @Test func theRendererSeesWhatATerminalShows() {
    let screen = RenderedScreen(
      Array(
        "a: 1 records\r\u{1B}[Ka: 22 records · 50%\r\u{1B}[Klog line\r\na: 22 records · 50%\r\u{1B}[Ka: 30 · 100%\r\nend\u{7}"
          .utf8), columns: 80)
    #expect(screen.lines == ["log line", "a: 30 · 100%", "end"])
    #expect(screen.unexpected == ["control character 0x07"])
    #expect(RenderedScreen(Array("abcdef\r\u{1B}[K".utf8), columns: 4).lines == ["abcd", ""])
  }
}
