import ArgumentParser
import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// `sisdrop`: the operator's command.
package struct SISDropCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "sisdrop",
    abstract:
      "File-based delivery of approved enrollment submissions into a Student Information System.",
    discussion: """
      Exit codes (sysexits.h): 0 done, 64 usage, 65 bad input data, 66 missing input, \
      73 cannot create output, 75 temporary (busy, or retry later), 78 configuration error.
      """,
    version: SISDropVersion.current,
    subcommands: [
      DemoCommand.self, RunCommand.self, OpenCommand.self, StatusCommand.self, PendingCommand.self,
      CancelCommand.self,
      ResolveCommand.self, KeepSISCommand.self, AcceptCommand.self,
      WithdrawCommand.self, AnswersCommand.self, ReviewCommand.self, ShowCommand.self,
      ParseCommand.self, NormalizeCommand.self, MatchCommand.self, DeliverCommand.self,
      CloseCommand.self,
      CorrectCommand.self, ReportCommand.self, TardiesCommand.self, CheckCommand.self,
      BackupCommand.self, VerifyCommand.self, RebuildStateCommand.self, RedeliverCommand.self,
      ConfirmCommand.self,
    ])
  package init() {}
}

func printSummary(_ summary: PipelineRunner.Summary) {
  let c = summary.counts
  print("batch \(summary.batch)\(summary.closed ? " (closed)" : " (open)")")
  if !summary.enrollmentExport {
    print(
      "  the SIS export alone (no enrollment export): snapshot refreshed, \(summary.confirmed) delivered records confirmed, "
        + "\(summary.newlyUnconfirmed) now unconfirmed; nothing delivered")
    print("  report: \((summary.deliverFolder as NSString).deletingLastPathComponent)/report.html")
    return
  }
  printCounts(c)
  // The export re-sends every approved submission: an unreadable copy of one delivered before is
  // not a record in error (nothing waits for it), and is said apart.
  let resent = Set(summary.errors.filter(DeliverStage.isResentUnreadable).map { $0[0] }).sorted()
  if !resent.isEmpty {
    print(
      "  already delivered, re-sent in this export in a row that could not be read: \(resent.count) (\(resent.prefix(20).joined(separator: ", "))\(resent.count > 20 ? ", ..." : ""); the delivered record stands; errors.csv)"
    )
  }
  // A night that delivers nothing publishes nothing: naming the outbox sent people looking for files.
  if c["deliver." + DeliverStage.publishedFilesCount] == 0 {
    print(
      "  delivery files: none (nothing to deliver, nothing written to the outbox; the batch's record in \(summary.deliverFolder))"
    )
  } else {
    print("  delivery files: \(summary.outbox) (copies in \(summary.deliverFolder))")
  }
  printReviewQueue(summary)
  if summary.errors.contains(where: { !DeliverStage.isResentUnreadable($0) }) {
    print(
      "  records in error (\(DeliverStage.inErrorWait(summary.errors)); `sisdrop review` lists each field and what to do): \(summary.deliverFolder)/errors.csv"
    )
  }
  if summary.confirmed + summary.newlyUnconfirmed > 0 {
    print(
      "  SIS confirmation: \(summary.confirmed) delivered records confirmed by this batch's SIS export, \(summary.newlyUnconfirmed) now unconfirmed"
    )
  }
  print("  report: \((summary.deliverFolder as NSString).deletingLastPathComponent)/report.html")
}

/// The batch's counts: submissions, students, deliveries, forms of one child, input not used, documents.
func printCounts(_ c: [String: Int]) {
  print(
    "  submissions: \(c["parse.submissions_in_export"] ?? 0) in export, \(c["parse.selected"] ?? 0) selected"
  )
  print(
    "  students: \(c["match.students_matched"] ?? 0) matched, \(c["match.students_potential"] ?? 0) potential, \(c["match.students_new"] ?? 0) new"
  )
  print(
    "  delivered: \(c["deliver.delivered_submissions"] ?? 0) submissions; held for review: \(c["deliver.held_submissions"] ?? 0); in error: \(c["deliver.error_submissions"] ?? 0); already delivered: \(c["normalize.already_delivered"] ?? 0)"
  )
  if let submissions = c["redeliver.submissions"], let deliveries = c["redeliver.deliveries"] {
    print(
      "  re-delivered since the batch was published: \(submissions) submissions in \(deliveries) re-deliver\(deliveries == 1 ? "y" : "ies") (<batch>-rK files in the outbox)"
    )
  }
  let sameChild = [
    ("student updates replaced by a later form", "deliver.updates_superseded"),
    ("contact updates replaced by a later form", "deliver.contact_updates_superseded"),
    ("new students a later form creates", "deliver.new_students_superseded"),
    (
      "new students waiting for one delivered before to reach the SIS",
      "match.students_awaiting_new_child"
    ),
  ]
  .compactMap { label, key in (c[key] ?? 0) > 0 ? "\(label) \(c[key]!)" : nil }
  if !sameChild.isEmpty {
    print("  forms of one child: \(sameChild.joined(separator: "; ")) (not written twice)")
  }
  let rejected = [
    ("SIS rows left out (malformed)", "normalize.sis_rejected_rows"),
    ("SIS values missing for matching", "normalize.sis_missing_values"),
    ("submissions rejected", "parse.rejected_submissions"),
    (
      "of them only in contact or document rows (submissions.csv cut off?)",
      "parse.submissions_missing_from_export"
    ),
    ("duplicate rows read once", "parse.duplicate_rows"),
    ("document problems", "parse.document_errors"),
  ]
  .compactMap { label, key in (c[key] ?? 0) > 0 ? "\(label) \(c[key]!)" : nil }
  if !rejected.isEmpty {
    print(
      "  rejected: \(rejected.joined(separator: "; ")) (sis_rejects.csv, rejects.csv, duplicates.csv)"
    )
  }
  if let documents = Notification.documentsLine(c) {
    print("  " + documents.prefix(1).lowercased() + documents.dropFirst())
  }
}

/// The potential matches and the held updates (twenty of each), with the commands that answer them.
func printReviewQueue(_ summary: PipelineRunner.Summary) {
  if !summary.review.isEmpty {
    print("  potential matches (Match one candidate, or No Match):")
    for item in summary.review.prefix(20) {
      let candidates = item[2].split(separator: " ").map(String.init)
      print(
        "    \(item[0]) student \(item[1]): candidates \(item[2]) — `sisdrop resolve \(item[0]) --match \(candidates.first ?? "SIS_ID")` or `sisdrop resolve \(item[0]) --no-match`"
      )
    }
    if summary.review.count > 20 { print("    ... and \(summary.review.count - 20) more") }
  }
  if !summary.heldUpdates.isEmpty {
    print(
      "  updates held for review (the form changes a name, birth date, gender or state id the SIS has):"
    )
    let grouped = Dictionary(grouping: summary.heldUpdates, by: { "\($0[0]) \($0[1]) \($0[2])" })
    for key in grouped.keys.sorted().prefix(20) {
      let rows = grouped[key]!
      let which = rows[0][1] == "contact" ? " --contact \(rows[0][2])" : ""
      // One answer per field: a command for each, so that answering all of them releases the record.
      let answers = rows.map {
        "`sisdrop accept \($0[0]) \($0[4])\(which)` or `sisdrop keep-sis \($0[0]) \($0[4])\(which)`"
      }
      print(
        "    \(key) (SIS \(rows[0][3])): \(rows.map { $0[4] }.joined(separator: ", ")) — \(answers[0])"
      )
      for answer in answers.dropFirst() { print("      and " + answer) }
    }
  }
  if !summary.review.isEmpty || !summary.heldUpdates.isEmpty {
    print(
      "  answers are taken at any time, batch open or not; the next `sisdrop run` delivers what was answered (`sisdrop review` lists the queue, `sisdrop show ID` one submission)"
    )
  }
}

package struct DemoCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Run the whole pipeline on the built-in demo district (no server needed).",
    discussion: """
      Copies Fixtures/demo-district into WORKDIR/inbox, runs pipelines/demo.yaml as `sisdrop run` \
      does (its notification, with the review queue, written to WORKDIR/notifications/), then the \
      district's Raptor tardies as `sisdrop tardies --file` does (its status and notification), and \
      prints a summary.
      The fixtures come from PREFIX/share/sisdrop when installed (scripts/install.sh), else from the checkout.
      """)
  @Option(help: "Where to run the demo (created; default ./demo-workdir).") var workdir: String =
    "demo-workdir"
  @Option(help: "The enrollment export's format: csv or xml.") var format: String = "csv"
  @Option(
    help:
      "The sisdrop checkout or share folder with Fixtures/ and pipelines/ (default: the installed one, else the checkout this binary was built from)."
  ) var checkout: String?
  @Flag(help: "Print machine-readable JSON on stdout.") var json = false
  package init() {}

  package func validate() throws {
    guard ["csv", "xml"].contains(format) else { throw ValidationError("'--format' is csv or xml") }
  }

  /// Where the demo district and pipelines are: installed beside this binary (`PREFIX/share/sisdrop`,
  /// scripts/install.sh), else the checkout it was built from (found from this source file's path).
  static func fixturesRoot() throws -> String {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let installed =
      executable.deletingLastPathComponent().deletingLastPathComponent().path + "/share/sisdrop"
    let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().path
    for root in [installed, checkout] where FileSystem.exists(root + "/pipelines/demo.yaml") {
      return root
    }
    throw SISDropError(
      .noInput, "file not found", at: SourceLocation(path: installed + "/pipelines/demo.yaml"),
      hint: "install sisdrop with scripts/install.sh, or pass --checkout with a sisdrop checkout")
  }

  package func run() throws {
    let root = try guarded { try checkout ?? Self.fixturesRoot() }
    let pipeline = root + (format == "xml" ? "/pipelines/demo-xml.yaml" : "/pipelines/demo.yaml")
    let config = try guarded { try PipelineConfig.load(path: pipeline) }
    try withLockedWorkDir(workdir, create: true) { workdir in
      try Demo.stage(
        fixtures: root + "/Fixtures/demo-district", workdir: workdir, config: config,
        xml: format == "xml")
      // As `sisdrop run --ignore-window` runs it: the integration status, and the run's notification
      // (the review queue) written to the working directory's notifications/ (no sendmail in the demo).
      let outcome = try NightlyRun.run(
        workdir: workdir, pipelinePath: pipeline, force: true, log: logger(quiet: json))
      guard let summary = outcome.summary else {
        print("nothing to do: \(outcome.waiting ?? "nothing new")")
        return
      }
      // The Raptor tardy feed of the demo district, delivered against the snapshot the batch loaded,
      // as `sisdrop tardies --file` runs it: its status for `sisdrop status`, and its notification
      // (the rows in error) written beside the run's.
      let tardies = root + "/Fixtures/demo-district/raptor/tardies.csv"
      var feed: TardyFeed.Result?
      if FileSystem.exists(tardies) {
        let log = logger(quiet: json)
        let outcome = Result {
          try TardyFeed.run(workdir: workdir, config: config, input: tardies, log: log)
        }
        TardyFeed.record(outcome, workdir: workdir, config: config, inboxChecked: false, log: log)
        feed = try outcome.get()
      }
      if json {
        try printJSON(summary)
      } else {
        printSummary(summary)
        if let feed {
          print(
            "  tardies \(feed.run): \(feed.delivered) delivered, \(feed.errors) in error (\(feed.folder)/errors.csv), \(feed.duplicates) already sent, \(feed.anotherCode) for a day already sent with another code"
              + (feed.anotherCode > 0
                ? " (\(feed.folder)/\(TardyFeed.anotherCodeFileName))" : "")
          )
        }
        print("working directory: \(workdir.root)")
        // The commands above run in that working directory, and the next night is the demo again.
        print(
          "  the commands above run in it: `export SISDROP_WORKDIR=\(shellQuote(workdir.root))` (or add `--workdir \(shellQuote(workdir.root))` to each);"
            + " the same `sisdrop demo` again is the next night (the enrollment system sends its export again, and answers given since apply)"
        )
      }
    }
  }
}

package struct OpenCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "open",
    abstract: "Create a delivery batch: claim the inbox's files and record the selection.",
    discussion: """
      Refuses (75) while another batch is open. Selection: all pending (default), --only IDS, or --form NAME.
      Exits 65 when a feed file in the inbox is a symbolic or hard link, a FIFO or a device (refused by \
      name, never opened), 78 when a delivery file cannot carry the records it creates (delivery.create).
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file.") var pipeline: String
  @Option(help: "Only these submission ids (comma-separated).") var only: String?
  @Option(help: "Only submissions of this form.") var form: String?
  package init() {}

  package func validate() throws {
    if only != nil && form != nil {
      throw ValidationError("'--only' and '--form' cannot be combined")
    }
  }

  package func run() throws {
    let config = try guarded { try PipelineConfig.load(path: pipeline) }
    try withLockedWorkDir(workDir.path(for: config), create: true) { workdir in
      let ids = only?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
        !$0.isEmpty
      }
      let result = try BatchLifecycle.open(
        workdir: workdir, pipelinePath: pipeline, selection: Selection(only: ids, form: form))
      if workDir.json {
        print("{\"batch\": \"\(result.batch)\"}")
      } else {
        // Uploaded documents by count: their names are the sender's.
        let files = result.claimed.map { DocumentFiles.inboxName(ofInput: $0.path) }.filter {
          !$0.contains("/")
        }
        let documents = result.claimed.count - files.count
        print(
          "opened batch \(result.batch): claimed \(files.joined(separator: ", "))"
            + (documents > 0 ? " and \(documents) uploaded documents" : ""))
        if !result.ignored.isEmpty {
          print("left in the inbox (not a feed file): \(result.ignored.joined(separator: ", "))")
        }
      }
    }
  }
}

package struct CancelCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "cancel",
    abstract: "Cancel the open batch: closed as cancelled, its records back to pending.")
  @OptionGroup var workDir: WorkDirOptions
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let result = try BatchLifecycle.cancel(workdir: workdir, batch: try workdir.batch(nil))
      if workDir.json {
        try printJSON(result.manifest)
      } else {
        print(
          "cancelled batch \(result.manifest.batch): \(result.manifest.returnedToPending.count) submissions back to pending"
        )
        // Each claimed file, and what the cancel did with it (archived; the SIS export no
        // snapshot was built from is back in the inbox too).
        print("its claimed files, all kept in \(result.archive):")
        for file in result.files { print("  \(file.file): \(file.why)") }
      }
    }
  }
}

/// The district's zone: the pipeline's, else the one the last nightly run recorded, else the machine's.
func districtZone(_ config: PipelineConfig?, _ stored: IntegrationStatus?) -> TimeZone {
  config?.timeZone ?? stored?.lastGoodNotifications.flatMap { TimeZone(identifier: $0.timeZone) }
    ?? TimeZone.current
}

/// An approval time as the export wrote it (`2026-11-19T08:09:00-06:00`, `11/16/2026 11:17 AM`),
/// shown one way in the district's zone (`2026-11-19 08:09`), read as the normalize stage reads it:
/// the last batch's pipeline gives the zone and date formats. A text it cannot read is shown as it is.
struct ApprovalTimeText {
  let reader: TimestampReader
  let datePatterns: [DatePattern]

  init(workdir: WorkDir) {
    let config = ((try? workdir.state.allBatches()) ?? []).last.flatMap {
      try? PipelineConfig.load(path: $0.pipelinePath)
    }
    reader = TimestampReader(
      zone: districtZone(config, (try? workdir.state.integrationStatus()) ?? nil))
    datePatterns = config?.submissions.dateFormats ?? FeedConfig(files: [:]).dateFormats
  }

  func callAsFunction(_ text: String) -> String {
    guard let written = reader.read(text, datePatterns: datePatterns) else { return text }
    // `YYYY-MM-DDTHH:MM:SS±HH:MM` in the district's zone: the day and the minute.
    return String(written.prefix(10)) + " " + String(written.dropFirst(11).prefix(5))
  }
}

/// A ledger entry with why it is still pending (`why`, when the last batch said).
struct PendingRow: Encodable {
  var entry: LedgerEntry
  var why: String?
  var ageNights: Int?
  enum Key: String, CodingKey { case why, ageNights }
  func encode(to encoder: Encoder) throws {
    try entry.encode(to: encoder)
    var container = encoder.container(keyedBy: Key.self)
    try container.encodeIfPresent(why, forKey: .why)
    try container.encodeIfPresent(ageNights, forKey: .ageNights)
  }
}

package struct PendingCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "pending",
    abstract: "List approved submissions not yet delivered (the seed's Pending Delivery view).")
  @OptionGroup var workDir: WorkDirOptions
  @Flag(help: "Include vanished submissions (pending ones no longer in the export).") var vanished =
    false
  package init() {}

  package func run() throws {
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      let entries = try workdir.state.ledger(
        statuses: vanished ? [.pending, .batched, .vanished] : [.pending, .batched])
      // Why a submission the last batch left pending is still pending (held, in error).
      var reasons: [String: [String: String]] = [:]
      func why(_ entry: LedgerEntry) -> String? {
        guard let batch = entry.batchID ?? entry.lastSeenBatch else { return nil }
        if reasons[batch] == nil {
          reasons[batch] = DeliverStage.pendingReasons(workdir: workdir, batch: batch)
        }
        return reasons[batch]?[entry.submissionID]
      }
      let approvalTime = ApprovalTimeText(workdir: workdir)
      // How many nights each has waited for a person (the review queue's ages).
      var ages: [String: Int] = [:]
      for item in try ReviewQueue.load(workdir: workdir).items {
        ages[item.submissionID] = max(ages[item.submissionID] ?? 0, item.ageNights)
      }
      if workDir.json {
        try printJSON(
          entries.map { PendingRow(entry: $0, why: why($0), ageNights: ages[$0.submissionID]) })
      } else {
        if entries.isEmpty { print("no pending submissions") }
        for entry in entries {
          let why = why(entry)
          print(
            "\(entry.submissionID)\t\(entry.status.rawValue)\(entry.batchID.map { " (\($0))" } ?? "")\t\(entry.form)\t\(approvalTime(entry.approvedAt))"
              + (why.map { "\t" + $0 } ?? "")
              + (ages[entry.submissionID].map { "\t\($0) night\($0 == 1 ? "" : "s")" } ?? ""))
        }
      }
    }
  }
}
