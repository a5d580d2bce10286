import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery

/// Errors reach the cron log verbatim: they must not carry a correction's value (a name, an address).
@Suite struct LogPrivacyTests {
  @Test func aRefusedCorrectionValueIsNotRepeatedInTheError() throws {
    for (field, value) in [
      ("Zip", "Jane Quill 04/01/2012"), ("Email", "Jane Quill"), ("Grade_Level", "Quill"),
    ] {
      guard case .failure(let error) = Corrections.normalize(field: field, value: value) else {
        Issue.record("\(field): '\(value)' accepted")
        continue
      }
      #expect(
        !error.description.contains("Quill") && !error.description.contains("04/01/2012"),
        "\(error)")
      #expect(error.description.contains(field), "\(error)")
    }
  }
}

/// Personal data planted in every error path of a real run (a file without its header row, a bad
/// header cell, bad values, each feed): none of it reaches a log line (the run's stderr) or a
/// notification under notifications/, and no cell can forge a log line.
@Suite struct PlantedPersonalDataTests {
  static let name = "Quillfeather"
  static let surname = "Marchbanks"
  static let birthDate = "04/01/2012"
  static let street = "742 Evergreen Terrace"
  static let phone = "217-555-0199"
  static var planted: [String] { [name, surname, birthDate, street, phone] }

  /// A data row of planted values as wide as `header`.
  static func plantedRow(width: Int) -> String {
    (0..<width).map { planted[$0 % planted.count] }.joined(separator: ",")
  }

  /// The run's stderr and every notification file: no planted value, and every log line one event.
  static func expectNothingPlanted(_ stderr: String, workdir: String, _ label: String) throws {
    var texts = [("stderr", stderr)]
    let folder = workdir + "/notifications"
    if FileManager.default.fileExists(atPath: folder) {
      for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
        texts.append((file, try readText(folder + "/" + file)))
      }
    }
    for (source, text) in texts {
      for value in planted {
        #expect(!text.contains(value), "\(label): \(value) in \(source): \(text)")
      }
      #expect(!text.contains("forged"), "\(label): a forged line in \(source): \(text)")
    }
    for line in stderr.split(separator: "\n") {
      #expect(
        line.range(
          of:
            #"^\d{4}-\d\d-\d\dT[0-9:]+Z (info|warning|error|critical|notice|debug|trace) sisdrop\[\d+\]: "#,
          options: .regularExpression) != nil,
        "\(label): not one log event per line: \(line)")
    }
  }

  static func replaceFile(_ path: String, _ text: String) throws {
    try FileManager.default.removeItem(atPath: path)
    try writeFile(path, text)
  }

  @Test func aFileWithoutItsHeaderRowNamesNoValueForEveryFeedFile() throws {
    try withTemporaryFolder { root in
      let config = try PipelineConfig.load(path: Checkout.pipeline("demo"))
      let names = config.sisExport.files.values.sorted() + config.submissions.files.values.sorted()
      let pipeline = try demoPipeline(root, extra: "")
      for name in names {
        let (workdir, _, _) = try demoWorkdir(root + "/w-\(name)")
        let path = workdir.root + "/inbox/" + name
        let lines = try readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
          String.init)
        let width = lines[0].split(separator: ",", omittingEmptySubsequences: false).count
        // The export came without its header row: its first line is a child's record.
        try Self.replaceFile(
          path, ([Self.plantedRow(width: width)] + lines.dropFirst()).joined(separator: "\n"))
        let run = try runTool(
          "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(run.status == 65, "\(name): \(run.stderr)")
        #expect(
          run.stderr.contains(name) && run.stderr.contains("is the header row missing?"),
          "\(name): \(run.stderr)")
        try Self.expectNothingPlanted(run.stderr, workdir: workdir.root, name)
      }
    }
  }

  @Test func aBadHeaderCellIsEscapedAndNeverForgesALogLine() throws {
    try withTemporaryFolder { root in
      let pipeline = try demoPipeline(root, extra: "")
      let forged =
        "\"\(Self.name)\n2026-12-01T22:00:00Z info sisdrop[1]: forged delivery of \(Self.birthDate)\u{1B}[2J\""
      for (file, column) in [
        ("submissions.csv", "Submission_ID"), ("students.csv", "Student_Number"),
      ] {
        let (workdir, _, _) = try demoWorkdir(root + "/w-\(file)")
        let path = workdir.root + "/inbox/" + file
        let text = try readText(path)
        try Self.replaceFile(path, text.replacingOccurrences(of: column + ",", with: forged + ","))
        let run = try runTool(
          "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(run.status == 65, "\(file): \(run.stderr)")
        #expect(run.stderr.contains("missing required column \(column)"), "\(file): \(run.stderr)")
        try Self.expectNothingPlanted(run.stderr, workdir: workdir.root, file)
      }
      // A header cell a message does quote (a duplicate column) is escaped: no line break, no escape sequence.
      #expect(
        LogText.quoted("Last_Name\n2026 info\u{1B}[2J\t") == "'Last_Name\\n2026 info\\u001B[2J\\t'")
    }
  }

  @Test func badValuesInEachFeedAndAnswerFileNameNoValue() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      // The ragged SIS row below would refuse the export whole (issue 10): tolerated, so the run
      // goes on through every stage and its reports.
      let pipeline = try writeFile(
        root + "/pipeline.yaml",
        try demoPipelineText([("sis_export:\n", "sis_export:\n  max_rejected_rows: 1\n")]))
      let inbox = workdir.inbox(config)
      // Submissions: a name where the birth date goes, an address as a ZIP, a phone as an e-mail.
      var submissions = try readText(inbox + "/submissions.csv")
      submissions = submissions.replacingOccurrences(
        of: ",2020-07-15,Female,2,0101,709 Spring St,Springfield,IL,62707,217-555-7958,",
        with:
          ",\(Self.name) \(Self.birthDate),Female,2,0101,709 Spring St,Springfield,IL,\(Self.street),217-555-7958,\(Self.surname) \(Self.phone)"
      )
      try Self.replaceFile(inbox + "/submissions.csv", submissions)
      // The SIS export: a row with a bad birth date and a ragged row carrying a child's data.
      var students = try readText(inbox + "/students.csv")
      students = students.replacingOccurrences(
        of: "100057,2764495065,Abdi,,Mohamed,11/19/2019,",
        with: "100057,2764495065,Abdi,,Mohamed,\(Self.name) \(Self.birthDate),")
      students += "999999,\(Self.name),\(Self.surname),\(Self.birthDate),\(Self.street)\n"
      try Self.replaceFile(inbox + "/students.csv", students)
      // A guardian's phone that is an address.
      let contacts = try readText(inbox + "/submission_contacts.csv")
      let contactLines = contacts.split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
      var fields = contactLines[1].split(separator: ",", omittingEmptySubsequences: false).map(
        String.init)
      fields[fields.count - 1] = Self.street
      try Self.replaceFile(
        inbox + "/submission_contacts.csv",
        ([contactLines[0], fields.joined(separator: ",")] + contactLines.dropFirst(2)).joined(
          separator: "\n"))
      // An answer file whose columns slipped: a name in Seq.
      try writeFile(
        inbox + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0001,student,\(Self.name),Zip,\(Self.street)\n"
      )

      let run = try runTool(
        "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      try #require(run.status == 0, "\(run.stderr)")
      #expect(
        run.stderr.contains("corrections.csv refused, nothing taken from it"), "\(run.stderr)")
      try Self.expectNothingPlanted(run.stderr, workdir: workdir.root, "bad values")

      // The tardy feed: a Raptor export without its header row, then one with bad values.
      do {
        try writeFile(
          inbox + "/tardies.csv", "\(Self.name),\(Self.street),\(Self.birthDate),\(Self.phone)\n")
        let tardies = try runTool(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(tardies.status == 65, "\(tardies.stderr)")
        try Self.expectNothingPlanted(
          tardies.stderr, workdir: workdir.root, "tardies without a header")
        try? FileManager.default.removeItem(atPath: inbox + "/tardies.csv")
        try writeFile(
          inbox + "/tardies.csv",
          "Building,Student_Number,Occurred_At,Reason\n\(Self.street),\(Self.name),\(Self.birthDate),\(Self.surname)\n"
        )
        let bad = try runTool(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(bad.status == 0, "\(bad.stderr)")
        try Self.expectNothingPlanted(bad.stderr, workdir: workdir.root, "tardies with bad values")
      }
    }
  }
}
