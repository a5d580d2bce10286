import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropMatching

/// Issue 12, item 2, on real runs of the shipped demo pipeline (`auto_close: true`): guardians are
/// matched across the households a form reaches. In the demo's export, S-2026-0002's mother Tamika
/// Jackson (SIS contact C00125) is renamed Tamika Brooks with her phone and e-mail kept (a
/// remarriage), and S-2026-0003's father is Khalid Schröder in the SIS (C00044) and Khalid
/// Schroeder on the form. The new siblings and twins of SIS children (S-2026-0049 … -0054) name
/// their families' SIS contacts.
@Suite struct HouseholdContactsTests {
  /// Rows of a CSV file as dictionaries by header.
  static func table(_ path: String) throws -> [[String: String]] {
    let rows = try csvRows(path)
    return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
  }

  /// Sets `column` in the rows of an inbox CSV file whose first columns are `key`.
  static func edit(_ path: String, key: [String], column: String, value: String) throws {
    var rows = try csvRows(path)
    let index = try #require(rows[0].firstIndex(of: column))
    var edited = 0
    for i in rows.indices where Array(rows[i].prefix(key.count)) == key {
      rows[i][index] = value
      edited += 1
    }
    #expect(edited > 0, "\(key) in \(path)")
    let text =
      rows.map { row in
        row.map {
          $0.contains(",") || $0.contains("\"")
            ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0
        }
        .joined(separator: ",")
      }.joined(separator: "\n") + "\n"
    try? FileManager.default.removeItem(atPath: path)
    try writeFile(path, text)
  }

  /// The enrollment export with the remarriage and the transliteration; with `sis`, the SIS export's spelling too.
  static func upload(_ inbox: String, sis: Bool) throws {
    for name in try FileManager.default.contentsOfDirectory(
      atPath: Checkout.demoDistrict + "/enrollment-csv")
    {
      try? FileManager.default.removeItem(atPath: inbox + "/" + name)
      try FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + "/enrollment-csv/" + name, toPath: inbox + "/" + name)
    }
    try edit(
      inbox + "/submission_contacts.csv", key: ["S-2026-0002", "1"], column: "Last_Name",
      value: "Brooks")
    try edit(
      inbox + "/submission_contacts.csv", key: ["S-2026-0003", "1"], column: "Last_Name",
      value: "Schroeder")
    if sis {
      try edit(inbox + "/contacts.csv", key: ["C00044"], column: "Last_Name", value: "Schröder")
    }
  }

  @Test func guardiansAcrossHouseholdsOverTwoNights() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      try Self.upload(inbox, sis: true)

      // Night 1.
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let match = workdir.stageFolder(first.batch, .match)
      let decisions = Dictionary(
        uniqueKeysWithValues: try JSONLines.read(
          SubmissionDecision.self, from: match + "/decisions.jsonl"
        )
        .map { ($0.submissionID, $0) })
      // The remarried mother: a potential contact match with her SIS contact, never a new contact.
      let tamika = try #require(decisions["S-2026-0002"]?.contacts.first { $0.seq == 1 })
      #expect(tamika.outcome == .potential && tamika.candidates == ["C00125"])
      #expect(decisions["S-2026-0002"]?.contacts.first { $0.seq == 2 }?.contactID == "C00126")
      // The transliterated father: his SIS contact; the spelling is an update held for a person.
      let khalid = try #require(decisions["S-2026-0003"]?.contacts.first)
      #expect(khalid.outcome == .matched && khalid.contactID == "C00044")
      #expect(khalid.heldDifferences?.map(\.field) == ["Last_Name"])
      // The counts reach the stage's report.
      let stage = try StageReport.load(match)
      #expect(stage.counts["contacts_potential"] == 1)
      let deliver = workdir.stageFolder(first.batch, .deliver)
      let held = Set(try csvRows(deliver + "/held.csv").dropFirst().map { $0[0] })
      #expect(held.isSuperset(of: ["S-2026-0002", "S-2026-0003"]))
      // Nobody in the demo is delivered as a new contact who is an SIS contact: the new siblings' parents are links.
      let created = try Self.table(deliver + "/\(first.batch)_contacts_new.csv")
      #expect(
        !created.contains {
          ["S-2026-0002", "S-2026-0003", "S-2026-0049", "S-2026-0050", "S-2026-0053"].contains(
            $0["Submission_ID"] ?? "")
        })
      let links = try Self.table(deliver + "/\(first.batch)_contacts_update.csv").filter {
        $0["Submission_ID"] == "S-2026-0049"
      }
      #expect(links.map { $0["Contact_ID"] ?? "" } == ["C00025", "C00026"])
      #expect(
        links.allSatisfy {
          $0["Student_Ref"] == "S-2026-0049/1" && $0["Student_Number"] == ""
            && $0["First_Name"] == ""
        })

      // The review queue shows the contact with the commands that answer it.
      let w = ["--workdir", workdir.root]
      var result = try runTool("sisdrop", ["review"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("S-2026-0002 contact 1"), "\(result.stdout)")
      #expect(
        result.stdout.contains("sisdrop resolve S-2026-0002 --match C00125 --contact 1"),
        "\(result.stdout)")
      // A contact that is not a candidate is refused; the candidate is taken.
      result = try runTool(
        "sisdrop", ["resolve", "S-2026-0002", "--contact", "1", "--match", "C00126"] + w)
      #expect(
        result.status == 65 && result.stderr.contains("is not a candidate"), "\(result.stderr)")
      result = try runTool(
        "sisdrop",
        ["resolve", "S-2026-0002", "--contact", "1", "--match", "C00125", "--by", "registrar"] + w)
      #expect(
        result.status == 0 && result.stdout.contains("S-2026-0002 contact 1: Match to C00125"),
        "\(result.stdout)\(result.stderr)")
      result = try runTool("sisdrop", ["answers", "--submission", "S-2026-0002"] + w)
      #expect(
        result.stdout.contains("S-2026-0002 contact 1: Match to C00125 — by registrar"),
        "\(result.stdout)")
      // Taken back and given again.
      result = try runTool("sisdrop", ["withdraw", "S-2026-0002", "--contact", "1"] + w)
      #expect(
        result.status == 0 && result.stdout.contains("1 answer withdrawn"),
        "\(result.stdout)\(result.stderr)")
      #expect(try workdir.state.contactResolutions().isEmpty)
      result = try runTool(
        "sisdrop",
        ["resolve", "S-2026-0002", "--contact", "1", "--match", "C00125", "--by", "registrar"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      result = try runTool(
        "sisdrop",
        ["keep-sis", "S-2026-0003", "Last_Name", "--contact", "1", "--by", "registrar"] + w)
      #expect(result.status == 0, "\(result.stderr)")

      // Night 2: the export comes again; both are delivered, the mother as an update of C00125.
      try Self.upload(inbox, sis: false)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let delivered = Set(
        try csvRows(workdir.stageFolder(second.batch, .deliver) + "/delivered.csv").dropFirst().map
        { $0[0] })
      #expect(delivered.isSuperset(of: ["S-2026-0002", "S-2026-0003"]))
      let updates = try Self.table(
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_contacts_update.csv")
      let renamed = try #require(updates.first { $0["Contact_ID"] == "C00125" })
      #expect(renamed["Last_Name"] == "Brooks")
      #expect(
        !updates.contains { $0["Contact_ID"] == "C00044" && !($0["Last_Name"] ?? "").isEmpty })
      let news = try Self.table(
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_contacts_new.csv")
      #expect(
        !news.contains { ["S-2026-0002", "S-2026-0003"].contains($0["Submission_ID"] ?? "") })
      let applied = try csvRows(workdir.stageFolder(second.batch, .match) + "/resolutions.csv")
      #expect(
        applied.contains {
          $0.count > 3 && $0[0] == "S-2026-0002" && $0[2] == "contact-resolution"
            && $0[3] == "contact 1: Match to C00125"
        })
    }
  }

  @Test func aResolutionsFileInTheInboxAnswersAPotentialContact() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      try Self.upload(inbox, sis: true)
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let tamika = try #require(
        try JSONLines.read(
          SubmissionDecision.self,
          from: workdir.stageFolder(first.batch, .match) + "/decisions.jsonl"
        )
        .first { $0.submissionID == "S-2026-0002" }?.contacts.first { $0.seq == 1 })
      #expect(tamika.outcome == .potential && tamika.candidates == ["C00125"])

      // A row with both seqs, and a Contact_ID that is not a candidate: the file is refused whole.
      let header = "Submission_ID,Student_Seq,SIS_ID,Contact_Seq,Resolved_By\n"
      _ = try writeFile(
        inbox + "/resolutions.csv",
        header + "S-2026-0002,1,C00125,1,registrar\nS-2026-0002,,C00126,1,registrar\n")
      var lines: [String] = []
      var taken = try AnswerFeed.take(workdir: workdir, config: config) { lines.append($0) }
      let problems = try #require(taken.refused["resolutions.csv"])
      #expect(
        problems.contains(
          "resolutions.csv:2: both Student_Seq and Contact_Seq are filled: a row answers one student or one contact, leave the other blank"
        ), "\(problems)")
      #expect(
        problems.contains {
          $0.hasPrefix("resolutions.csv:3: ") && $0.contains("is not a candidate")
        }, "\(problems)")
      #expect(try workdir.state.contactResolutions().isEmpty && workdir.state.resolutions().isEmpty)

      // The contact's answer (Student_Seq blank) beside a student's answer in one file: both recorded.
      _ = try writeFile(
        inbox + "/resolutions.csv",
        header + "S-2026-0002,,C00125,1,registrar\nS-2026-0028,1,107328,,registrar\n")
      lines = []
      taken = try AnswerFeed.take(workdir: workdir, config: config) { lines.append($0) }
      #expect(taken.recorded["resolutions.csv"] == 2, "\(taken.refused)")
      let answer = try #require(try workdir.state.contactResolutions().first)
      #expect(
        answer.submissionID == "S-2026-0002" && answer.studentSeq == 1 && answer.sisID == "C00125"
          && answer.action == .match)
      #expect(answer.resolvedBy == "registrar" && answer.source == "inbox:resolutions.csv")
      #expect(try workdir.state.resolutions().map(\.submissionID) == ["S-2026-0028"])

      // Night 2: the export comes again and the mother goes out as an update of C00125, never as new.
      try Self.upload(inbox, sis: false)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let mother = try #require(
        try JSONLines.read(
          SubmissionDecision.self,
          from: workdir.stageFolder(second.batch, .match) + "/decisions.jsonl"
        )
        .first { $0.submissionID == "S-2026-0002" }?.contacts.first { $0.seq == 1 })
      #expect(mother.outcome == .matched && mother.contactID == "C00125")
      let updates = try Self.table(
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_contacts_update.csv")
      #expect(updates.first { $0["Contact_ID"] == "C00125" }?["Last_Name"] == "Brooks")
      let news = try Self.table(
        workdir.stageFolder(second.batch, .deliver) + "/\(second.batch)_contacts_new.csv")
      #expect(!news.contains { $0["Submission_ID"] == "S-2026-0002" })
    }
  }
}
