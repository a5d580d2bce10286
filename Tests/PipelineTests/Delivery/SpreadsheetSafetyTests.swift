import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropFormats

/// Spreadsheet formulas in names and addresses (OWASP's CSV injection): files people open show them
/// as text (a leading `'`); delivery files never carry them (the record is an error, kept pending).
@Suite struct SpreadsheetSafetyTests {
  @Test func theWriterForPeopleQuotesFormulasAndLeavesNumbersAlone() throws {
    let safe = CSVWriterOptions.forPeople
    func cell(_ value: String, _ options: CSVWriterOptions = .forPeople) -> String {
      String(decoding: CSVWriter.encode([value], options: options)!, as: UTF8.self)
    }
    #expect(
      cell("=HYPERLINK(\"http://x\",\"y\")") == "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\n")
    #expect(cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0\n")
    #expect(cell("@SUM(1+1)") == "'@SUM(1+1)\n")
    #expect(cell("-2+3") == "'-2+3\n")
    #expect(cell("-") == "'-\n")
    #expect(cell("\tx") == "'\tx\n")
    #expect(cell("\r=1") == "\"'\r=1\"\n")
    // Negative numbers (the pre-K grade level, a score) stay numbers: nothing in them can run.
    #expect(cell("-1") == "-1\n" && cell("-3.25") == "-3.25\n")
    #expect(cell("-1.") == "'-1.\n" && cell("-.5") == "'-.5\n")
    // Idempotent: a cell already shown as text keeps one quote; ordinary text is untouched.
    #expect(cell("'=1") == "'=1\n" && cell("O'Brien") == "O'Brien\n" && cell("0101") == "0101\n")
    // Delivery files carry the data as it is (their validation refuses formulas instead).
    #expect(cell("=1", CSVWriterOptions()) == "=1\n")
    #expect(safe.spreadsheetSafe && !CSVWriterOptions().spreadsheetSafe)
  }

  /// A real run of the demo pipeline with formulas planted in submissions and in the SIS export.
  @Test func formulasAreTextInEveryFileForPeopleAndNeverDelivered() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      var submissions = try readText(inbox + "/submissions.csv")
      // A new student's name, a returning student's new street, an impossible birth date.
      submissions = submissions.replacingOccurrences(
        of: "S-2026-0032,2026-27 New Student Enrollment,2026-11-16 12:43,,Amara,",
        with:
          "S-2026-0032,2026-27 New Student Enrollment,2026-11-16 12:43,,\"=HYPERLINK(\"\"http://x.example\"\",\"\"Amara\"\")\","
      )
      submissions = submissions.replacingOccurrences(
        of: "4553 Stevenson Dr,Leland Grove", with: "+cmd|' /C calc'!A0,Leland Grove")
      submissions = submissions.replacingOccurrences(of: ",02/30/2016,Male,", with: ",=1+1,Male,")
      try FileManager.default.removeItem(atPath: inbox + "/submissions.csv")
      try writeFile(inbox + "/submissions.csv", submissions)
      // The SIS's own city for a returning child (a diff) and an SIS row's bad birth date (sis_rejects).
      var students = try readText(inbox + "/students.csv")
      students = students.replacingOccurrences(
        of: "108321,0463912758,Daniela,,Rivera,07/15/2020,F,1,0101,0,709 Spring St,Springfield,",
        with: "108321,0463912758,Daniela,,Rivera,07/15/2020,F,1,0101,0,709 Spring St,@SUM(1+1),")
      students = students.replacingOccurrences(
        of: "100057,2764495065,Abdi,,Mohamed,11/19/2019,",
        with: "100057,2764495065,Abdi,,Mohamed,-2+3,")
      try FileManager.default.removeItem(atPath: inbox + "/students.csv")
      try writeFile(inbox + "/students.csv", students)

      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let batch = workdir.batchFolder(summary.batch)

      // Every CSV people open: no cell a spreadsheet would run; the planted ones are there as text.
      var texts: [String] = []
      var checked: [String] = []
      for stage in Stage.allCases {
        let folder = workdir.stageFolder(summary.batch, stage)
        for name in try FileSystem.listDirectory(folder) where name.hasSuffix(".csv") {
          // Delivery files and the tables sisdrop reads back as written are checked below / not for people.
          if name.hasPrefix(summary.batch + "_")
            || ["delivered.csv", "vanished.csv"].contains(name)
          {
            continue
          }
          checked.append(name)
          for row in try csvRows(folder + "/" + name) {
            for cell in row {
              #expect(!CSVWriter.looksLikeFormula(cell), "\(stage.rawValue)/\(name): \(cell)")
              texts.append(cell)
            }
          }
        }
      }
      for name in [
        "rejects.csv", "sis_rejects.csv", "diffs.csv", "review.csv", "resolutions.csv",
        "errors.csv", "held.csv",
      ] {
        #expect(checked.contains(name), "\(name) was not written: \(checked)")
      }
      // (The SIS row's `-2+3` birth date is checked by the scan above wherever sis_rejects.csv reports it.)
      for planted in ["'=HYPERLINK(", "'+cmd|", "'=1+1", "'@SUM(1+1)"] {
        #expect(
          texts.contains { $0.hasPrefix(planted) }, "\(planted) is not in any file for people")
      }

      // The delivery refuses them by field, naming the reason; those records stay pending.
      let errors = try csvRows(workdir.stageFolder(summary.batch, .deliver) + "/errors.csv")
      let header = errors[0]
      let id = try #require(header.firstIndex(of: "Submission_ID"))
      let field = try #require(header.firstIndex(of: "Field"))
      let reason = try #require(header.firstIndex(of: "Reason"))
      for (submission, name) in [("S-2026-0032", "First_Name"), ("S-2026-0011", "Street")] {
        #expect(
          errors.contains {
            $0[id] == submission && $0[field] == name
              && $0[reason].contains("looks like a spreadsheet formula")
          },
          "\(submission) \(name): \(errors)")
        let entry = try #require(try workdir.state.ledgerEntry(submission))
        #expect(entry.status == .pending, "\(submission) is \(entry.status)")
      }
      let delivered = Set(
        try csvRows(workdir.stageFolder(summary.batch, .deliver) + "/delivered.csv").dropFirst().map
        { $0[0] })
      #expect(!delivered.contains("S-2026-0032") && !delivered.contains("S-2026-0011"))
      // Nothing formula-like reaches the SIS.
      for name in try FileSystem.listDirectory(workdir.outbox(config)) where name.hasSuffix(".csv")
      {
        let text = try readText(workdir.outbox(config) + "/" + name)
        #expect(
          !text.contains("HYPERLINK") && !text.contains("calc'") && !text.contains("SUM(1+1)"),
          "\(name)")
      }
      _ = batch
    }
  }

  /// The tardy feed's errors.csv is a file for people too.
  @Test func tardyErrorsShowFormulasAsText() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root + "/w")
      let input = try writeFile(
        root + "/tardies.csv",
        "Building,Student_Number,Occurred_At,Reason\n"
          + "\"=HYPERLINK(\"\"http://x.example\"\",\"\"go\"\")\",101354,2026-11-16T08:14:18-06:00,Late Bus\n"
          + "Lincoln Elementary,101354,2026-11-16T08:20:00-06:00,@SUM(1+1)\n")
      let result = try TardyFeed.run(workdir: workdir, config: config, input: input)
      #expect(result.errors == 2)
      let rows = try csvRows(result.folder + "/errors.csv")
      #expect(rows.joined().allSatisfy { !CSVWriter.looksLikeFormula($0) }, "\(rows)")
      #expect(
        rows.joined().contains { $0.hasPrefix("'=HYPERLINK(") }
          && rows.joined().contains { $0.hasPrefix("'@SUM(1+1)") }, "\(rows)")
    }
  }
}
