import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// A claimed upload refused whole (probe26's finding 5): what the run, `sisdrop status` and the
/// notification say must be the whole way out, and following it must work. Every night is the built
/// `sisdrop run` with the shipped demo pipeline (auto_close: true) on real folders.
@Suite struct RefusedUploadTests {
  static func run(_ workdir: WorkDir, _ pipeline: String) throws -> ProcessResult {
    try runTool(
      "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
  }

  /// Cuts an inbox file of the enrollment export inside the row after its first half (an upload
  /// that stopped there), and returns the line of the cut.
  @discardableResult
  static func cut(_ path: String) throws -> Int {
    let lines = try readText(path).split(separator: "\n")
    let kept = lines.count / 2
    try FileManager.default.removeItem(atPath: path)
    try writeFile(
      path,
      lines[..<kept].joined(separator: "\n") + "\n" + lines[kept].prefix(lines[kept].count / 2))
    return kept + 1
  }

  /// The `why:` line of `sisdrop status`.
  static func statusWhy(_ workdir: WorkDir) throws -> String {
    let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
    #expect(status.status == 0, "\(status.stderr)")
    return String(
      try #require(status.stdout.split(separator: "\n").first { $0.hasPrefix("  why: ") }))
  }

  /// After a cut-off submissions.csv is refused (65), the log line and the status's why-line say
  /// to cancel the batch first, as the notification does: uploading the complete file alone gave
  /// the same 65 again (the refused copy is the open batch's, and every retry reads it), while the
  /// complete upload waited unread in the inbox. Following the advice delivers the next run.
  @Test func theAdviceAfterARefusedUploadIsTheWholeWayOut() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let night1 = try Self.run(workdir, pipeline)
      #expect(night1.status == 0, "\(night1.stderr)")
      try ReviewLoopTests.uploadExport(workdir, config)
      let line = try Self.cut(workdir.inbox(config) + "/submissions.csv")
      let refused = try Self.run(workdir, pipeline)
      #expect(refused.status == 65, "\(refused.stderr)")
      let batch = try #require(try workdir.state.openBatch()?.id)
      let cancel = "`sisdrop cancel --workdir \(workdir.root)`"
      // Every log line that names the refused file: the error and the status change.
      let logLines = refused.stderr.split(separator: "\n").filter {
        $0.contains("submissions.csv:\(line):")
      }
      #expect(logLines.count >= 2, "\(refused.stderr)")
      let why = try Self.statusWhy(workdir)
      let mails = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications")
      let mail = try readText(
        workdir.root + "/notifications/"
          + (try #require(mails.sorted().last { $0.contains("run-failed") })))
      // The same words in the log, the status and the mail (wrapped there): cancel first, then upload.
      for text in logLines.map(String.init) + [
        why, mail.replacingOccurrences(of: "\r\n", with: " "),
      ] {
        #expect(text.contains(cancel), "\(text)")
        #expect(text.contains("batch \(batch) holds this claimed copy"), "\(text)")
        #expect(
          text.contains("then: have the sender upload the complete file again"), "\(text)")
      }
      #expect(mail.contains("\r\n  sisdrop cancel --workdir \(workdir.root)\r\n"), "\(mail)")
      // Following it: cancel, the complete upload, the next run delivers.
      let cancelled = try runTool("sisdrop", ["cancel", "--workdir", workdir.root])
      #expect(cancelled.status == 0, "\(cancelled.stderr)")
      try ReviewLoopTests.uploadExport(workdir, config)
      let night2 = try Self.run(workdir, pipeline)
      #expect(night2.status == 0, "\(night2.stderr)")
      #expect(try workdir.state.openBatch() == nil)
      let last = try #require(try workdir.state.allBatches().last)
      #expect(last.id != batch && last.state == .closed)
    }
  }
}
