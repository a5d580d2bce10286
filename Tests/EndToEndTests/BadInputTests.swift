import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, part 1: bad SIS data never crashes and never vanishes. Every test runs the built
/// `sisdrop run` on a copy of the demo district (a crash shows as a signal, not as an exit code).
@Suite struct BadInputTests {
  /// The demo district in `root/w`, and the demo pipeline (auto_close: true) with `edits`, written beside it.
  static func demo(_ root: String, _ edits: [(String, String)] = []) throws -> (
    workdir: WorkDir, pipeline: String
  ) {
    let (workdir, _, _) = try demoWorkdir(root + "/w")
    let pipeline = try writeFile(root + "/pipeline.yaml", try demoPipelineText(edits))
    return (workdir, pipeline)
  }

  /// Replaces line `number` (1-based) of an inbox file.
  static func editLine(_ path: String, _ number: Int, _ change: (String) -> String) throws {
    var lines = try readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
      String.init)
    lines[number - 1] = change(lines[number - 1])
    try FileManager.default.removeItem(atPath: path)
    try writeFile(path, lines.joined(separator: "\n"))
  }

  /// Replaces an inbox file's whole text (a new file, as an upload makes).
  static func rewrite(_ path: String, _ change: (String) -> String) throws {
    let text = try readText(path)
    try FileManager.default.removeItem(atPath: path)
    try writeFile(path, change(text))
  }

  /// Night 1 of the demo (S-2026-0038 delivered), then the export again with S-2026-0038's row
  /// changed by `change`, run as the next night.
  static func nightAfterChanging0038(_ root: String, _ change: @escaping (String) -> String) throws
    -> (workdir: WorkDir, first: String, second: String, night: ProcessResult, waiting: Int)
  {
    let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
    let first = try #require(
      try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
    #expect(
      try csvRows(workdir.stageFolder(first.batch, .deliver) + "/delivered.csv").contains {
        $0[0] == "S-2026-0038"
      })
    try ReviewLoopTests.uploadExport(workdir, config)
    let submissions = workdir.inbox(config) + "/submissions.csv"
    let line =
      try #require(
        try readText(submissions).split(separator: "\n", omittingEmptySubsequences: false)
          .firstIndex { $0.hasPrefix("S-2026-0038,") }) + 1
    try editLine(submissions, line, change)
    let night = try run(workdir, pipeline)
    #expect(night.status == 0, "\(night.stderr)")
    let waiting = (try DemoExpectation.load()).delivery.filter { $0.value == "error" }.count
    return (workdir, first.batch, try lastBatch(workdir), night, waiting)
  }

  static func run(_ workdir: WorkDir, _ pipeline: String) throws -> ProcessResult {
    try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
  }

  /// The newest batch (the demo pipeline closes its batch: no open one to ask for).
  static func lastBatch(_ workdir: WorkDir) throws -> String {
    try #require(try workdir.state.allBatches().last).id
  }

  static func outboxFiles(_ workdir: WorkDir) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/outbox").filter {
      !$0.hasPrefix(".")
    }
  }

  /// The line of SIS student 108321 (Daniela Rivera, S-2026-0001's returning child) in students.csv.
  static let riveraLine = 266

  /// Night 2 of the shipped demo pipeline: the export comes again, and the re-sent row of
  /// S-2026-0038, delivered on night 1, has a stray quote. The child was delivered; only tonight's
  /// copy is unreadable. The night's "in error" counts what waits for a fix (as `sisdrop review`
  /// does), the re-sent copy is counted and said apart, and its What_To_Do says the delivered record
  /// stands instead of "it stays pending".
  @Test func aMalformedResentRowOfADeliveredSubmissionIsNotCountedInError() throws {
    try withTemporaryFolder { root in
      let (workdir, first, second, night, waiting) = try Self.nightAfterChanging0038(root) {
        $0.replacingOccurrences(of: "Clear Lake", with: "\"Clear\" Lake")
      }
      #expect(night.stdout.contains("in error: \(waiting);"), "\(night.stdout)")
      #expect(
        night.stdout.contains(
          "  already delivered, re-sent in this export in a row that could not be read: 1 (S-2026-0038; the delivered record stands; errors.csv)"
        ), "\(night.stdout)")
      let counts = try StageReport.load(workdir.stageFolder(second, .deliver)).counts
      #expect(counts["error_submissions"] == waiting && counts["already_delivered_unreadable"] == 1)
      let row = try #require(
        try csvRows(workdir.stageFolder(second, .deliver) + "/errors.csv").first {
          $0[0] == "S-2026-0038"
        })
      #expect(
        row[6].hasPrefix("already delivered in batch \(first); this export's copy")
          && !row[6].contains("stays pending"), "\(row)")
      let review = try runTool("sisdrop", ["review", "--workdir", workdir.root])
      #expect(review.stdout.contains(", \(waiting) in error\n"), "\(review.stdout)")
    }
  }

  /// A family changes a delivered child's form and the new version is refused (a birth date that
  /// is not a date): the night counts it in error, so `sisdrop review` lists it too, with what to do
  /// (the enrollment system, the SIS keeping the delivered record), and offers no answer sisdrop
  /// would refuse (the answer file gets no row for it: one would refuse the whole file).
  @Test func aRefusedChangeToADeliveredSubmissionIsInReview() throws {
    try withTemporaryFolder { root in
      let (workdir, first, second, night, waiting) = try Self.nightAfterChanging0038(root) {
        $0.replacingOccurrences(of: ",08/08/2022,", with: ",13/45/2022,")
      }
      #expect(night.stdout.contains("in error: \(waiting + 1);"), "\(night.stdout)")
      let row = try #require(
        try csvRows(workdir.stageFolder(second, .deliver) + "/errors.csv").first {
          $0[0] == "S-2026-0038"
        })
      #expect(
        row[6].hasPrefix(
          "delivered before in batch \(first); this new version of the form was refused")
          && !row[6].contains("stays pending"), "\(row)")
      let review = try runTool("sisdrop", ["review", "--workdir", workdir.root])
      #expect(review.status == 0, "\(review.stderr)")
      #expect(review.stdout.contains(", \(waiting + 1) in error\n"), "\(review.stdout)")
      #expect(
        review.stdout.contains("  S-2026-0038 student 1 [since tonight, batch \(second)]: DOB:"),
        "\(review.stdout)")
      let file = try runTool(
        "sisdrop", ["review", "--workdir", workdir.root, "--csv", root + "/answers.csv"])
      #expect(file.status == 0, "\(file.stderr)")
      #expect(try !readText(root + "/answers.csv").contains("S-2026-0038"))
      let show = try runTool("sisdrop", ["show", "S-2026-0038", "--workdir", workdir.root])
      #expect(show.stdout.contains("in error (batch \(second), student 1): DOB:"), "\(show.stdout)")
    }
  }

  // MARK: Values

  @Test(
    arguments: ["fellegi-sunter", "placeholder"],
    ["02/30/2017", "13/01/2017", "00/00/0000", "06-19-2017"])
  func anImpossibleBirthDateIsMissingForMatching(matcher: String, dob: String) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(
        root, [("method: fellegi-sunter", "method: \(matcher)")])
      let students = workdir.root + "/inbox/students.csv"
      try Self.editLine(students, Self.riveraLine) {
        $0.replacingOccurrences(of: "07/15/2020", with: dob)
      }
      #expect(try readText(students).contains(dob))
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      let batch = try Self.lastBatch(workdir)
      let normalize = workdir.stageFolder(batch, .normalize)
      // The row stays in the snapshot, its birth date missing.
      let rows = try Database(path: normalize + "/snapshot.sqlite", readOnly: true)
        .rows("SELECT dob, last_name FROM students WHERE student_number = '108321'")
      #expect(rows.count == 1 && rows[0][0].string == "" && rows[0][1].string == "Rivera")
      // sis_rejects.csv names file, line and field, and not the value.
      let rejects = try csvRows(normalize + "/sis_rejects.csv").dropFirst()
      let named = rejects.filter {
        $0[3] == "DOB" && $0[7] == "input/students.csv" && $0[8] == String(Self.riveraLine)
      }
      #expect(
        named.count == 1 && named.first?[4] == ""
          && named.first?[5].contains("missing for matching") == true)
      // Counted where people look: the log, the batch report.
      #expect(result.stderr.contains("1 values missing for matching"))
      #expect(
        try readText(workdir.batchFolder(batch) + "/report.html").contains(
          "SIS values missing for matching"))
      #expect(!result.stderr.contains(dob))
    }
  }

  // MARK: Structure

  /// Broken structure in the SIS export: refused whole with 65, naming file, line and cause; nothing delivered.
  @Test(arguments: [
    ("stray quote", 20, "students.csv:20:", "stray quote"),
    ("windows-1252", 20, "students.csv:20:", "Windows-1252"),
    ("NUL", 20, "students.csv:20:", "NUL byte"),
    ("ragged", 20, "students.csv:20", "ragged row: 17 fields"),
  ])
  func aBrokenSISExportIsRefusedWhole(fault: String, line: Int, location: String, cause: String)
    throws
  {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let students = workdir.root + "/inbox/students.csv"
      var lines = try readText(students).split(separator: "\n", omittingEmptySubsequences: false)
        .map { Array($0.utf8) }
      switch fault {
      case "stray quote": lines[line - 1].insert(UInt8(ascii: "\""), at: 10)
      case "windows-1252": lines[line - 1].insert(0xE9, at: 10)  // é as Windows-1252 writes it
      case "NUL": lines[line - 1].insert(0, at: 10)
      default: lines[line - 1] += Array(",extra".utf8)
      }
      try FileManager.default.removeItem(atPath: students)
      _ = try writeBytes(students, Array(lines.joined(separator: [0x0A])))
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(result.stderr.contains(location) && result.stderr.contains(cause), "\(result.stderr)")
      if fault == "windows-1252" { #expect(result.stderr.contains("encoding: windows-1252")) }
      #expect(try Self.outboxFiles(workdir).isEmpty, "nothing is delivered from a refused export")
      let batch = try Self.lastBatch(workdir)
      #expect(!FileManager.default.fileExists(atPath: workdir.stageFolder(batch, .match)))
      // The refusal reaches status, the report and the notification, not only the log.
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        status.stdout.contains("(failed)") && status.stdout.contains("students.csv:20"),
        "\(status.stdout)")
      let report = try readText(workdir.batchFolder(batch) + "/report.html")
      #expect(report.contains("Input refused") && report.contains("students.csv:20"))
      let mail = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      ).filter { $0.contains("run-failed") }
      #expect(
        try mail.contains {
          try readText(workdir.root + "/notifications/" + $0).contains("students.csv:20")
        })
    }
  }

  /// A stray quote that a later quoted field closes swallows the rows between: reported where it opened.
  @Test func aStrayQuoteIsReportedWhereItOpened() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let students = workdir.root + "/inbox/students.csv"
      // opens a quote in Last_Name that never closes on its line
      try Self.editLine(students, 5) { line in
        var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "\"" + fields[4]
        return fields.joined(separator: ",")
      }
      try Self.editLine(students, 12) { line in  // a quoted street seven lines later closes it
        var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[10] = "\"" + fields[10] + "\""
        return fields.joined(separator: ",")
      }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(result.stderr.contains("students.csv:5:"), "\(result.stderr)")
      #expect(result.stderr.contains("stray quote swallows the rows after it"), "\(result.stderr)")
      #expect(try Self.outboxFiles(workdir).isEmpty)
    }
  }

  @Test func aTruncatedLastLineIsRefused() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      // cut inside the last row
      try Self.rewrite(workdir.root + "/inbox/students.csv") { String($0.dropLast(30)) }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(
        result.stderr.contains("students.csv:311") && result.stderr.contains("truncated upload"),
        "\(result.stderr)")
    }
  }

  /// An enrollment file cut inside its last row is an upload cut off: the export is refused whole
  /// (65, the file and line named), nothing delivered; before, the rows above the cut were delivered
  /// and every contact row of the lost submissions was "in error", to fix in the enrollment system.
  @Test(arguments: ["submissions.csv", "submission_contacts.csv"])
  func anEnrollmentFileCutInsideARowIsRefusedWhole(file: String) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      var kept = 0
      try Self.rewrite(workdir.root + "/inbox/" + file) { text in
        let lines = text.split(separator: "\n")
        kept = lines.count / 2
        // The first `kept` lines whole, then half of the next: the upload stopped there.
        return lines[..<kept].joined(separator: "\n") + "\n"
          + lines[kept].prefix(lines[kept].count / 2)
      }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(result.stderr.contains("\(file):\(kept + 1)"), "\(result.stderr)")
      #expect(result.stderr.contains("the upload was cut off"), "\(result.stderr)")
      #expect(try Self.outboxFiles(workdir).isEmpty)
    }
  }

  /// A file of the enrollment export without its final line break is refused whole: the cut may
  /// have fallen inside the last field, which no check of the row can see (probe26: an e-mail cut to
  /// `…@students.demo-district` replaced the SIS's in students_update). Before, the row was taken.
  @Test(arguments: ["submissions.csv", "submission_contacts.csv", "submission_documents.csv"])
  func anEnrollmentFileWithoutItsFinalLineBreakIsRefusedWhole(file: String) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      var lines = 0
      try Self.rewrite(workdir.root + "/inbox/" + file) { text in
        #expect(text.hasSuffix("\n"))
        lines = text.split(separator: "\n").count
        // The upload stopped at the last row's line break, or anywhere inside its last field: the
        // row has all its fields either way.
        return String(text.dropLast(text.hasSuffix("\r\n") ? 2 : 1))
      }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(result.stderr.contains("\(file):\(lines)"), "\(result.stderr)")
      #expect(
        result.stderr.contains("without a line break")
          && result.stderr.contains("the upload was cut off"), "\(result.stderr)")
      #expect(try Self.outboxFiles(workdir).isEmpty)
    }
  }

  /// submissions.csv cut exactly at a row's end leaves no malformed row; the contacts of the lost
  /// submissions show it. The submissions before the cut go on; the lost ones stay pending, counted
  /// apart, and their rows say nothing is wrong in the enrollment system (before: "fix the record in
  /// the enrollment system", for every one). Not refused whole: files exported at different moments
  /// look the same, and the next complete export brings them.
  @Test func submissionsCutAtARowEndKeepsTheLostOnesPendingAndSaysSo() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      var lost = Set<String>()
      try Self.rewrite(workdir.root + "/inbox/submissions.csv") { text in
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines.dropFirst(4) where !line.isEmpty {
          lost.insert(String(line.prefix { $0 != "," }))
        }
        return lines.prefix(4).joined(separator: "\n") + "\n"  // the header and three whole rows
      }
      let contacts = try csvRows(workdir.root + "/inbox/submission_contacts.csv")
      let named = Set(contacts.dropFirst().map { $0[0] }).intersection(lost)
      #expect(named.count > 10)
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      let batch = try Self.lastBatch(workdir)
      let rejects = try csvRows(workdir.stageFolder(batch, .parse) + "/rejects.csv")
      let header = rejects[0]
      let id = header.firstIndex(of: "Submission_ID")!
      let action = header.firstIndex(of: "What_To_Do")!
      let missingRows = rejects.dropFirst().filter { named.contains($0[id]) }
      #expect(Set(missingRows.map { $0[id] }) == named)
      #expect(
        missingRows.allSatisfy {
          $0[action].hasPrefix("nothing to fix in the record: submissions.csv was cut off")
        })
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        status.stdout.contains("parse.submissions_missing_from_export \(named.count)"),
        "\(status.stdout)")
      let mail = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      )
      .map { try readText(workdir.root + "/notifications/" + $0) }.joined()
      #expect(
        mail.contains(
          "submissions only contact or document rows name (submissions.csv cut off?): \(named.count)"
        ),
        "\(mail)")
      // Counts and places only, never a value of the file (a submission id).
      #expect(!result.stderr.contains("S-2026-00"), "\(result.stderr)")
    }
  }

  /// A cut between the two rows of a sibling form: the submission of the last row waits with the
  /// lost ones instead of delivering one child of two (probe27); a file cut inside its header row is
  /// refused whole instead of read as a file without rows (probe27: every guardian lost, exit 0).
  @Test func aCutBetweenSiblingsHoldsTheFormAndACutHeaderIsRefused() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      var sibling = ""
      try Self.rewrite(workdir.root + "/inbox/submissions.csv") { text in
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let ids = lines.map { String($0.prefix { $0 != "," }) }
        let first = (1..<(ids.count - 1)).first { ids[$0] == ids[$0 + 1] && !ids[$0].isEmpty }!
        sibling = ids[first]
        return lines.prefix(first + 1).joined(separator: "\n") + "\n"  // its first child only
      }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      let batch = try Self.lastBatch(workdir)
      let delivered = try csvRows(workdir.stageFolder(batch, .deliver) + "/delivered.csv")
      #expect(!delivered.contains { $0.first == sibling }, "one child of two delivered")
      let rejects = try csvRows(workdir.stageFolder(batch, .parse) + "/rejects.csv")
      #expect(
        rejects.contains {
          $0.first == sibling
            && $0.contains {
              $0.hasPrefix("the last submission of a submissions.csv that looks cut off")
            }
        }, "\(rejects)")
    }
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      try Self.rewrite(workdir.root + "/inbox/submission_contacts.csv") { String($0.prefix(60)) }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(
        result.stderr.contains("submission_contacts.csv:1:")
          && result.stderr.contains("the file ends inside its header row"), "\(result.stderr)")
      #expect(try Self.outboxFiles(workdir).isEmpty)
    }
  }

  /// A malformed row of submissions.csv rejects its submission, and contact rows naming it are
  /// rejected with it, one by one: the export is not refused whole for one bad record.
  @Test func aMalformedSubmissionRowRejectsItsSubmissionAlone() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      try Self.editLine(workdir.root + "/inbox/submissions.csv", 3) { $0 + ",extra" }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(!result.stderr.contains("cut off"), "\(result.stderr)")
      #expect(try !Self.outboxFiles(workdir).isEmpty)
    }
  }

  /// `sis_export.max_rejected_rows` tolerates a bad row; the child who might be in it goes to a person, never to NEW.
  @Test(arguments: ["fellegi-sunter", "placeholder"])
  func aToleratedBadRowSendsItsChildToReview(matcher: String) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(
        root,
        [
          ("method: fellegi-sunter", "method: \(matcher)"),
          ("sis_export:\n", "sis_export:\n  max_rejected_rows: 1\n"),
        ])
      try Self.editLine(workdir.root + "/inbox/students.csv", Self.riveraLine) { $0 + ",extra" }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stderr.contains("1 malformed rows left out of the snapshot"))
      let batch = try Self.lastBatch(workdir)
      let decisions = try readText(workdir.stageFolder(batch, .match) + "/decisions.jsonl").split(
        separator: "\n")
      let rivera = try #require(decisions.first { $0.contains("\"S-2026-0001\"") })
      #expect(rivera.contains("\"outcome\":\"potential\""), "\(rivera)")
      #expect(rivera.contains("students.csv:\(Self.riveraLine)"))
      let delivered = try csvRows(workdir.stageFolder(batch, .deliver) + "/delivered.csv").map {
        $0[0]
      }
      #expect(!delivered.contains("S-2026-0001"))
      // status and the notification count it.
      let status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(status.stdout.contains("normalize.sis_rejected_rows 1"), "\(status.stdout)")
      let mail = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/notifications"
      )
      .map { try readText(workdir.root + "/notifications/" + $0) }.joined()
      #expect(mail.contains("SIS export rows left out as malformed: 1"))
    }
  }

  /// A tolerated stray quote that swallowed rows: the children of the swallowed rows go to review too.
  @Test func aChildInASwallowedRowGoesToReview() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(
        root, [("sis_export:\n", "sis_export:\n  max_rejected_rows: 1\n")])
      let students = workdir.root + "/inbox/students.csv"
      try Self.editLine(students, Self.riveraLine - 4) { line in
        var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "\"" + fields[4]
        return fields.joined(separator: ",")
      }
      try Self.editLine(students, Self.riveraLine + 2) { line in
        var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[10] = "\"" + fields[10] + "\""
        return fields.joined(separator: ",")
      }
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      let batch = try Self.lastBatch(workdir)
      let snapshot = try Database(
        path: workdir.stageFolder(batch, .normalize) + "/snapshot.sqlite", readOnly: true)
      #expect(
        try snapshot.rows("SELECT 1 FROM students WHERE student_number = '108321'").isEmpty,
        "swallowed, not in the snapshot")
      let decisions = try readText(workdir.stageFolder(batch, .match) + "/decisions.jsonl").split(
        separator: "\n")
      let rivera = try #require(decisions.first { $0.contains("\"S-2026-0001\"") })
      #expect(
        rivera.contains("\"outcome\":\"potential\"")
          && rivera.contains("students.csv:\(Self.riveraLine)"), "\(rivera)")
    }
  }

  // MARK: Roster

  @Test func aCutOffRosterIsRefused() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      var result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      // The next night: a valid export of 2 students.
      try Demo.stage(
        fixtures: Checkout.demoDistrict, workdir: workdir,
        config: try PipelineConfig.load(path: pipeline), xml: false)
      let students = workdir.root + "/inbox/students.csv"
      let lines = try readText(students).split(separator: "\n").prefix(3)
      try FileManager.default.removeItem(atPath: students)
      try writeFile(students, lines.joined(separator: "\n") + "\n")
      result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(
        result.stderr.contains("2 students") && result.stderr.contains("310"), "\(result.stderr)")
    }
  }

  @Test(arguments: [true, false])
  func anEmptyOrHeaderOnlyRosterIsRefused(headerOnly: Bool) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let students = workdir.root + "/inbox/students.csv"
      let header = try readText(students).split(separator: "\n")[0]
      try FileManager.default.removeItem(atPath: students)
      try writeFile(students, headerOnly ? header + "\n" : "")
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(
        result.stderr.contains(
          headerOnly ? "the students export has no records" : "students.csv:1: the file is empty"),
        "\(result.stderr)")
    }
  }

  // MARK: Length caps and memory

  /// Runs `sisdrop run` under /usr/bin/time: status and the child's peak RSS in KiB.
  static func runMeasured(_ workdir: WorkDir, _ pipeline: String) throws -> (
    result: (status: Int32, stderr: String), maxRSS: Int
  ) {
    let time = "/usr/bin/time"
    guard FileManager.default.isExecutableFile(atPath: time) else {
      let result = try run(workdir, pipeline)
      var usage = rusage()
      // the largest child so far: an upper bound for this one
      getrusage(RUSAGE_CHILDREN.rawValue, &usage)
      return ((result.status, result.stderr), usage.ru_maxrss)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: time)
    process.arguments = [
      "-f", "maxrss=%M", buildFolder().appendingPathComponent("sisdrop").path, "run", "--pipeline",
      pipeline,
      "--workdir", workdir.root,
    ]
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stderr = String(decoding: data, as: UTF8.self)
    let rss =
      stderr.split(separator: "\n").last { $0.hasPrefix("maxrss=") }.flatMap {
        Int($0.dropFirst(7))
      } ?? Int.max
    return ((process.terminationStatus, stderr), rss)
  }

  /// A 2 GiB zero-filled submissions.csv (what an aborted transfer leaves; sparse: no disk) is refused as a broken upload.
  @Test func aZeroFilledUploadIsRefusedInFlatMemory() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let path = workdir.root + "/inbox/submissions.csv"
      try FileManager.default.removeItem(atPath: path)
      let fd = open(path, O_CREAT | O_WRONLY, 0o600)
      #expect(fd >= 0 && ftruncate(fd, 2 << 30) == 0)
      close(fd)
      let (result, rss) = try Self.runMeasured(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      #expect(
        result.stderr.contains("submissions.csv") && result.stderr.contains("mostly NUL bytes"),
        "\(result.stderr)")
      #expect(rss < 100 * 1024, "peak RSS \(rss) KiB")
    }
  }

  /// A 256 MB line in the SIS export: the record is over limits.record_bytes, the export refused, memory flat.
  @Test func aHugeLineIsRefusedInFlatMemory() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let path = workdir.root + "/inbox/students.csv"
      let handle = try #require(FileHandle(forWritingAtPath: path))
      try handle.seekToEnd()
      let block = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
      for _ in 0..<256 { try handle.write(contentsOf: block) }
      try handle.write(contentsOf: Data("\n".utf8))
      try handle.close()
      let (result, rss) = try Self.runMeasured(workdir, pipeline)
      #expect(result.status == 65, "\(result.stderr)")
      // Line 312 (the export ended in a line break); the field cap is met first.
      #expect(
        result.stderr.contains("students.csv:312:") && result.stderr.contains("limits.field_bytes"),
        "\(result.stderr)")
      #expect(rss < 100 * 1024, "peak RSS \(rss) KiB")
    }
  }

  /// A 256 MB line in the enrollment export is a rejected row, never a pending submission.
  @Test func aHugeSubmissionLineIsRejectedNotPending() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let path = workdir.root + "/inbox/submissions.csv"
      let handle = try #require(FileHandle(forWritingAtPath: path))
      try handle.seekToEnd()
      let block = Data(repeating: UInt8(ascii: "S"), count: 1 << 20)
      for _ in 0..<256 { try handle.write(contentsOf: block) }
      try handle.write(contentsOf: Data(",x\n".utf8))
      try handle.close()
      let (result, rss) = try Self.runMeasured(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(rss < 100 * 1024, "peak RSS \(rss) KiB")
      let batch = try Self.lastBatch(workdir)
      let rejects = try csvRows(workdir.stageFolder(batch, .parse) + "/rejects.csv").dropFirst()
      #expect(
        rejects.contains { $0[5].contains("limits.field_bytes") && $0[8] == "69" && $0[0].isEmpty },
        "\(rejects.map { $0.map { $0.prefix(80) } })")
      #expect(try workdir.state.ledger().allSatisfy { $0.submissionID.utf8.count < 100 })
    }
  }

  // MARK: Duplicate rows

  @Test func anExactDuplicateSubmissionRowIsReadOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(root)
      let path = workdir.root + "/inbox/submissions.csv"
      var text = try readText(path)
      let row = text.split(separator: "\n")[1]  // S-2026-0001, one child
      text += row + "\n"
      try FileManager.default.removeItem(atPath: path)
      try writeFile(path, text)
      // Its guardian's row twice too (before, "Contact_Seq 1 appears twice" rejected the submission).
      let contacts = workdir.root + "/inbox/submission_contacts.csv"
      var contactText = try readText(contacts)
      contactText += contactText.split(separator: "\n")[1] + "\n"
      try FileManager.default.removeItem(atPath: contacts)
      try writeFile(contacts, contactText)
      let result = try Self.run(workdir, pipeline)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stderr.contains("2 exact duplicate rows read once"))
      let batch = try Self.lastBatch(workdir)
      let duplicates = try csvRows(workdir.stageFolder(batch, .parse) + "/duplicates.csv")
      #expect(
        duplicates.count == 3 && duplicates[1][0] == "S-2026-0001"
          && duplicates[1][1] == "input/submissions.csv" && duplicates[1][3] == "2")
      #expect(duplicates[2][1] == "input/submission_contacts.csv" && duplicates[2][3] == "2")
      #expect(
        try readText(workdir.batchFolder(batch) + "/report.html").contains(
          "duplicate rows in the export, read once"))
      let submissions = try readText(workdir.stageFolder(batch, .parse) + "/submissions.jsonl")
        .split(separator: "\n")
      let first = try #require(submissions.first { $0.contains("\"S-2026-0001\"") })
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
      #expect((object["students"] as? [Any])?.count == 1, "one student, not two")
      #expect(
        try csvRows(workdir.stageFolder(batch, .deliver) + "/delivered.csv").contains {
          $0[0] == "S-2026-0001"
        })
    }
  }

  // MARK: Config

  @Test func theNewKeysAreReadAndChecked() throws {
    var text = try readText(Checkout.pipeline("nightly"))
    for name in ["Plugin.xml", "building_map.csv", "tardy_codes.csv"] {
      text = text.replacingOccurrences(
        of: "/etc/sisdrop/\(name)", with: Checkout.demoDistrict + "/config/\(name)")
    }
    let nightly = try PipelineConfig.parse(
      bytes: Array(text.utf8), path: "/etc/sisdrop/nightly.yaml")
    #expect(nightly.sisExport.maxRejectedRows == 0 && nightly.sisExport.minRatio == 0.9)
    #expect(
      nightly.sisExport.limits.fieldBytes == 65536
        && nightly.submissions.limits.recordBytes == 1_048_576)
    let demo = try demoPipelineText([
      ("sis_export:\n", "sis_export:\n  max_rejected_rows: 3\n  min_ratio: 0.5\n"),
      ("batch:\n", "limits:\n  field_bytes: 1024\nbatch:\n"),
    ])
    let config = try PipelineConfig.parse(bytes: Array(demo.utf8), path: "/p.yaml")
    #expect(config.sisExport.maxRejectedRows == 3 && config.sisExport.minRatio == 0.5)
    #expect(
      config.sisExport.dialect.limits.fieldBytes == 1024
        && config.submissions.dialect.limits.fieldBytes == 1024)
    for (edit, key) in [
      (("sis_export:\n", "sis_export:\n  min_ratio: 2\n"), "sis_export.min_ratio"),
      (
        ("submissions:\n", "submissions:\n  max_rejected_rows: 1\n"),
        "submissions.max_rejected_rows"
      ),
      (("batch:\n", "limits:\n  record_bytes: -1\nbatch:\n"), "limits.record_bytes"),
    ] {
      #expect(throws: SISDropError.self) {
        try PipelineConfig.parse(bytes: Array(try demoPipelineText([edit]).utf8), path: "/p.yaml")
      }
      do {
        _ = try PipelineConfig.parse(
          bytes: Array(try demoPipelineText([edit]).utf8), path: "/p.yaml")
      } catch let error as SISDropError {
        #expect(error.status == .configuration && "\(error)".contains(key), "\(error)")
      }
    }
  }

  // MARK: Fuzz

  /// Values that have trapped or could trap a reader, a rule or a matcher; well-formed CSV once quoted.
  static let garbage = [
    "", " ", "0", "-1", "00/00/0000", "02/30/2017", "13/01/2017", "06-19-2017", "9999-12-31",
    "0001-01-01", "1/1/1", "2017-02-30",
    String(repeating: "A", count: 300), String(repeating: "Ж", count: 5000), "📚👨‍👩‍👧", "\t", "a,b",
    "\"quoted\"", "line\nbreak",
    "=HYPERLINK(\"x\")", "NaN", "1e309", "2175550000000000000", "()-.+/", "x@", "@", "K", "PK3",
    "13", "O'Brien-Smith Jr.",
    "\u{0301}", "\u{FEFF}x", "NULL", "555", "x1", "12/31/1899", "--", "\r", " 0101 ", "ß", "İ",
  ]

  static func quoted(_ value: String) -> String {
    value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
      ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
  }

  /// Every SIS and enrollment file of the demo with seeded garbage: well-formed values in every
  /// column (`bytes` false: the run must finish, 0), or raw random bytes (`bytes` true: 0, 65 or
  /// 75). Never a signal.
  @Test(
    arguments: ["fellegi-sunter", "placeholder"],
    [(1, false), (2, false), (3, false), (4, true), (5, true), (6, true)])
  func garbageNeverCrashes(matcher: String, seed: (Int, Bool)) throws {
    try withTemporaryFolder { root in
      let (workdir, pipeline) = try Self.demo(
        root, [("method: fellegi-sunter", "method: \(matcher)")])
      var state = UInt64(seed.0) &* 0x9E37_79B9_7F4A_7C15
      func next(_ bound: Int) -> Int {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
      }
      for name in [
        "students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv", "submissions.csv",
        "submission_contacts.csv",
        "submission_documents.csv",
      ] {
        let path = workdir.root + "/inbox/" + name
        guard FileManager.default.fileExists(atPath: path) else { continue }
        var rows = try csvRows(path)
        // Every column of the file gets garbage somewhere; then some more at random.
        let width = rows[0].count
        // A school number building_map.csv names is configuration (78 when the SIS drops it), not fuzzed here.
        for column in 0..<width where rows.count > 1 && !(name == "schools.csv" && column == 0) {
          let row = 1 + next(rows.count - 1)
          rows[row][column] = Self.garbage[next(Self.garbage.count)]
        }
        for _ in 0..<(rows.count / 10) {
          let column = next(width)
          if name == "schools.csv" && column == 0 { continue }
          rows[1 + next(rows.count - 1)][column] = Self.garbage[next(Self.garbage.count)]
        }
        var bytes = Array(
          (rows.map { $0.map(Self.quoted).joined(separator: ",") }.joined(separator: "\n") + "\n")
            .utf8)
        if seed.1 {
          for _ in 0..<3 {  // raw bytes anywhere after the header
            let at =
              rows[0].joined(separator: ",").utf8.count + 1
              + next(max(1, bytes.count - rows[0].joined(separator: ",").utf8.count - 1))
            bytes.insert(
              contentsOf: (0..<(1 + next(6))).map { _ in UInt8(next(256)) },
              at: min(at, bytes.count))
          }
        }
        try FileManager.default.removeItem(atPath: path)
        _ = try writeBytes(path, bytes)
      }
      let result = try Self.run(workdir, pipeline)
      if seed.1 {
        #expect([0, 65, 75].contains(result.status), "exit \(result.status): \(result.stderr)")
      } else {
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
      }
    }
  }
}
