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

  /// The sender's complete enrollment export, and the next run: it claims it in a new batch, after
  /// the cancelled `batch`, and closes it. Returns that batch.
  static func completeUploadRuns(
    _ workdir: WorkDir, _ config: PipelineConfig, _ pipeline: String, after batch: String
  ) throws -> BatchRecord {
    try ReviewLoopTests.uploadExport(workdir, config)
    let night = try run(workdir, pipeline)
    #expect(night.status == 0, "\(night.stderr)")
    #expect(try workdir.state.openBatch() == nil)
    let last = try #require(try workdir.state.allBatches().last)
    #expect(last.id != batch && last.state == .closed)
    return last
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
          text.contains("then: have the sender upload the whole enrollment export again"), "\(text)"
        )
      }
      #expect(mail.contains("\r\n  sisdrop cancel --workdir \(workdir.root)\r\n"), "\(mail)")
      // Following it: cancel, the complete upload, the next run delivers.
      let cancelled = try runTool("sisdrop", ["cancel", "--workdir", workdir.root])
      #expect(cancelled.status == 0, "\(cancelled.stderr)")
      // The why-line no longer says to cancel (probe27: a second cancel got "no batch is open"),
      // and the next run is not held back by the failures' retry delay.
      let afterCancel = try Self.statusWhy(workdir)
      #expect(
        afterCancel.contains("batch \(batch) was cancelled")
          && !afterCancel.contains("first cancel"),
        "\(afterCancel)")
      #expect(try workdir.state.integrationStatus()?.retryAt == nil)
      _ = try Self.completeUploadRuns(workdir, config, pipeline, after: batch)
    }
  }

  /// A first night (the SIS export and an enrollment export with a file cut off) refused, then
  /// `sisdrop cancel`, the complete enrollment export uploaded, and the next run delivers: the cancel
  /// puts the SIS export no snapshot was built from back into the inbox and says so, file by file.
  /// Before, it archived the SIS export with the rest, and the next run failed with 66 ("there is no
  /// SIS snapshot yet and this batch has no SIS export"), opening another batch to cancel.
  @Test func aCancelledFirstNightPutsItsSISExportBack() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let sisFiles = config.sisExport.files.values.sorted()
      #expect(!sisFiles.isEmpty && sisFiles.allSatisfy { FileSystem.exists(inbox + "/" + $0) })
      try Self.cut(inbox + "/submission_contacts.csv")
      let refused = try Self.run(workdir, pipeline)
      #expect(refused.status == 65, "\(refused.stderr)")
      let batch = try #require(try workdir.state.openBatch()?.id)
      let cancel = try runTool("sisdrop", ["cancel", "--workdir", workdir.root])
      #expect(cancel.status == 0, "\(cancel.stderr)")
      let lines = cancel.stdout.split(separator: "\n").map(String.init)
      #expect(lines.contains("its claimed files, all kept in \(workdir.archive(config))/\(batch):"))
      for name in sisFiles {
        #expect(
          lines.contains(
            "  \(name): back in the inbox: no SIS snapshot was built from it, so the next run claims it"
          ), "\(cancel.stdout)")
        // The same bytes as claimed; the claimed copy stays in the batch and the archive.
        #expect(
          try readText(inbox + "/" + name) == readText(Checkout.demoDistrict + "/sis/" + name))
        #expect(FileSystem.exists(workdir.archive(config) + "/\(batch)/" + name))
      }
      #expect(
        lines.contains(
          "  submission_contacts.csv: not put back: refused; have the sender upload the enrollment export again, whole"
        ), "\(cancel.stdout)")
      #expect(
        lines.contains {
          $0.hasPrefix("  submissions.csv: not put back: the enrollment export is never put back")
        }, "\(cancel.stdout)")
      #expect(!FileSystem.exists(inbox + "/submissions.csv"))
      // The complete enrollment export: the next run claims it with the SIS export and delivers.
      let last = try Self.completeUploadRuns(workdir, config, pipeline, after: batch)
      let delivered = try csvRows(workdir.stageFolder(last.id, .deliver) + "/delivered.csv")
      #expect(delivered.count > 40, "\(delivered.count)")
      #expect(try FileSystem.listDirectory(inbox).filter { !$0.hasPrefix(".") }.isEmpty)
    }
  }

  /// A refused new version of a delivered submission does not stay pending (the ledger keeps it
  /// delivered; only the enrollment system fixes the form): the run's summary and the review
  /// queue's message say so of it, instead of "they stay pending" / "correct the field" for all.
  @Test func aRefusedChangeToADeliveredChildIsNotSaidToStayPending() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _, night, _) = try BadInputTests.nightAfterChanging0038(root) {
        $0.replacingOccurrences(of: ",08/08/2022,", with: ",13/45/2022,")
      }
      let words = DeliverStage.refusedChangeWords
      #expect(
        night.stdout.contains(
          "records in error (they stay pending, but for 1: \(words); `sisdrop review` lists"),
        "\(night.stdout)")
      let mails = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications")
      let mail = try readText(
        workdir.root + "/notifications/" + (try #require(mails.sorted().last))
      ).split(whereSeparator: \.isWhitespace).joined(separator: " ")
      let line = try #require(
        mail.range(of: "S-2026-0038 student 1 [").map {
          String(mail[$0.lowerBound...].prefix(300))
        },
        "\(mail)")
      #expect(line.contains("]: DOB (\(words))"), "\(line)")
      // The batch report says it too.
      let report = try readText(
        workdir.batchFolder(try #require(try workdir.state.allBatches().last?.id)) + "/report.html")
      #expect(
        report.contains("These records stay pending, but for 1: \(words); nothing was dropped."),
        "\(report.prefix(0))")
    }
  }

  /// A new version of a delivered submission held for a person (the family changed the form: a
  /// returning child's given name now reads as another child, a potential match) is in `sisdrop
  /// review` with what it is and the commands that answer it, and the answer delivers it the next
  /// night. Before, review left it out (only a refused new version was listed) though the run's
  /// summary named it and `sisdrop resolve` took the answer.
  @Test func aHeldNewVersionOfADeliveredSubmissionIsInReview() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let first = try Self.run(workdir, pipeline)
      #expect(first.status == 0, "\(first.stderr)")
      let night1 = try #require(try workdir.state.allBatches().last?.id)
      func upload() throws {
        try ReviewLoopTests.uploadExport(workdir, config)
        try BadInputTests.rewrite(workdir.inbox(config) + "/submissions.csv") {
          $0.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.hasPrefix("S-2026-0001,") else { return String(line) }
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(
              String.init)
            fields[4] = "Bobby"
            return fields.joined(separator: ",")
          }.joined(separator: "\n")
        }
      }
      try upload()
      let second = try Self.run(workdir, pipeline)
      #expect(second.status == 0, "\(second.stderr)")
      #expect(try workdir.state.ledgerEntry("S-2026-0001")?.status == .delivered)
      let review = try runTool("sisdrop", ["review", "--workdir", workdir.root])
      let lines = review.stdout.split(separator: "\n").map(String.init)
      let index = try #require(
        lines.firstIndex { $0.hasPrefix("  S-2026-0001 student 1 [") }, "\(review.stdout)")
      #expect(
        lines[index + 1]
          == "      a new version of the form, delivered before in batch \(night1): the SIS keeps the delivered record until this version is answered and delivered",
        "\(review.stdout)")
      let resolve = try #require(
        lines[index...].first { $0.hasPrefix("      sisdrop resolve S-2026-0001 --match ") })
      let answered = try runTool(
        "sisdrop",
        resolve.trimmingCharacters(in: .whitespaces).split(separator: " ").dropFirst().map(
          String.init) + ["--workdir", workdir.root])
      #expect(answered.status == 0, "\(answered.stderr)")
      try upload()
      let third = try Self.run(workdir, pipeline)
      #expect(third.status == 0, "\(third.stderr)")
      let last = try #require(try workdir.state.allBatches().last?.id)
      #expect(
        try csvRows(workdir.stageFolder(last, .deliver) + "/delivered.csv").contains {
          $0[0] == "S-2026-0001"
        })
    }
  }

  /// Every retry reads the refused claimed copy again and fails the same way: the failure is mailed
  /// once (as the tardy feed's and an unreadable pipeline's are), the status still counting the
  /// failures in a row; before, every retry mailed "run failed" again.
  @Test func theSameRefusalAtEveryRetryIsMailedOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      #expect(try Self.run(workdir, pipeline).status == 0)
      try ReviewLoopTests.uploadExport(workdir, config)
      try Self.cut(workdir.inbox(config) + "/submissions.csv")
      func failedMails() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/notifications")
          .filter { try readText(workdir.root + "/notifications/" + $0).contains("run failed") }
          .count
      }
      for retry in 1...3 {
        let run = try Self.run(workdir, pipeline)
        #expect(run.status == 65, "\(run.stderr)")
        #expect(try failedMails() == 1, "retry \(retry)")
        if retry > 1 {
          #expect(
            run.stderr.contains(
              "the same failure as the last run (already notified): \(retry) in a row"),
            "\(run.stderr)")
        }
      }
      #expect(try workdir.state.integrationStatus()?.failures == 3)
    }
  }
}
