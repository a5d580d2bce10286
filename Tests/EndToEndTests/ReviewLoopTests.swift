import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropStore

/// The seed's review loop over three nights of the shipped demo pipeline: night 1 holds the potential
/// matches, the identity-field updates and the errors; between nights a person answers, by command
/// (with no batch open when `auto_close` is true) and by answer files dropped into the inbox; night 2
/// delivers exactly the answered submissions; night 3 delivers nothing more, and what is left in the
/// queue is what nobody answered. The same with `auto_close: false`.
@Suite(.serialized) struct ReviewLoopTests {
  /// Every submission delivered so far, in any batch or re-delivery.
  static func deliveredSoFar(_ workdir: WorkDir) throws -> Set<String> {
    var ids = Set<String>()
    for path in filesBelow(workdir.batchesFolder)
    where path.hasSuffix("delivered.csv") && !path.contains(".attempt-") {
      ids.formUnion(try csvRows(workdir.batchesFolder + "/" + path).dropFirst().map { $0[0] })
    }
    return ids
  }

  /// What the latest deliver says still waits: held submissions and submissions in error.
  static func waiting(_ workdir: WorkDir) throws -> (held: Set<String>, errors: Set<String>) {
    let batch = try #require(try workdir.state.allBatches().last)
    let deliver = workdir.stageFolder(batch.id, .deliver)
    return (
      Set(try csvRows(deliver + "/held.csv").dropFirst().map { $0[0] }),
      Set(try csvRows(deliver + "/errors.csv").dropFirst().map { $0[0] })
    )
  }

  /// The enrollment system's nightly export: every approved submission, delivered or not, uploaded again.
  static func uploadExport(_ workdir: WorkDir, _ config: PipelineConfig) throws {
    let inbox = workdir.inbox(config)
    for name in try FileManager.default.contentsOfDirectory(
      atPath: Checkout.demoDistrict + "/enrollment-csv")
    {
      try? FileManager.default.removeItem(atPath: inbox + "/" + name)
      try FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + "/enrollment-csv/" + name, toPath: inbox + "/" + name)
    }
  }

  @Test(arguments: [true, false])
  func threeNightsOfTheReviewLoop(autoClose: Bool) throws {
    try withTemporaryFolder { root in
      let pipeline =
        autoClose
        ? Checkout.pipeline("demo")
        : try writeFile(
          root + "/demo.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let expected = try DemoExpectation.load()
      @discardableResult func night() throws -> PipelineRunner.Summary {
        let summary = try #require(
          try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
        #expect(summary.closed == autoClose)
        return summary
      }

      // Night 1: the potential matches, the identity-field updates and the errors wait for a person.
      try night()
      let heldByDesign = Set(expected.delivery.filter { $0.value == "held" }.map(\.key))
      let errorsByDesign = Set(expected.delivery.filter { $0.value == "error" }.map(\.key))
      var queue = try Self.waiting(workdir)
      #expect(queue.held == heldByDesign)
      #expect(queue.errors == errorsByDesign)
      let night1 = try Self.deliveredSoFar(workdir)
      #expect(night1 == Set(expected.delivery.filter { $0.value == "delivered" }.map(\.key)))
      #expect(try workdir.state.openBatch() == nil || !autoClose)

      // Between nights, by command: no batch is open with auto_close true, and the answers are taken.
      let w = ["--workdir", workdir.root]
      var result = try runTool(
        "sisdrop", ["resolve", "S-2026-0028", "--match", "107328", "--by", "registrar"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(
        result.stdout.contains(autoClose ? "it applies at the next `sisdrop run`" : "match rerun"),
        "\(result.stdout)")
      result = try runTool(
        "sisdrop", ["accept", "S-2026-0024", "First_Name", "--by", "registrar"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      result = try runTool(
        "sisdrop", ["keep-sis", "S-2026-0025", "First_Name", "--by", "registrar"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      // A candidate that is not one is refused, and so is an answer for a delivered submission.
      result = try runTool("sisdrop", ["resolve", "S-2026-0029", "--match", "100001"] + w)
      #expect(
        result.status == 65 && result.stderr.contains("is not a candidate"), "\(result.stderr)")
      // A matched child's SIS student (also its first candidate) is offered once.
      result = try runTool("sisdrop", ["resolve", "S-2026-0021", "--match", "100001"] + w)
      #expect(
        result.status == 65 && result.stderr.contains("choose one of: 101998, or --no-match"),
        "\(result.stderr)")
      result = try runTool("sisdrop", ["keep-sis", "S-2026-0001", "Grade_Level"] + w)
      #expect(
        result.status == 65 && result.stderr.contains("already delivered"), "\(result.stderr)")
      // By answer files in the inbox, taken at the start of the next run.
      let inbox = workdir.inbox(config)
      try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID,Resolved_By\nS-2026-0029,1,NO-MATCH,office\n")
      // S-2026-0020: the form's given name, the SIS's surname (the green arrow on one of two fields).
      try writeFile(
        inbox + "/accepts.csv",
        "Submission_ID,Field,Resolved_By\nS-2026-0020,First_Name,office\n")
      try writeFile(
        inbox + "/overrides.csv",
        "Submission_ID,Field\nS-2026-0020,Last_Name\nS-2026-0021,First_Name\nS-2026-0021,Last_Name\n"
      )
      let answered: Set<String> = [
        "S-2026-0020", "S-2026-0021", "S-2026-0024", "S-2026-0025", "S-2026-0028", "S-2026-0029",
      ]

      // Night 2: the export comes again; exactly the answered submissions are delivered.
      try Self.uploadExport(workdir, config)
      let second = try night()
      let night2 = try Self.deliveredSoFar(workdir)
      #expect(night2.subtracting(night1) == answered)
      // The summary counts what went out: in the open batch, a re-delivery of its own.
      #expect(
        autoClose
          ? second.counts["deliver.delivered_submissions"] == answered.count
            && second.counts["redeliver.submissions"] == nil
          : second.counts["redeliver.submissions"] == answered.count
            && second.counts["redeliver.deliveries"] == 1, "\(second.counts)")
      for name in ["resolutions.csv", "accepts.csv", "overrides.csv"] {
        #expect(!FileSystem.exists(inbox + "/" + name), "\(name) taken")
      }
      queue = try Self.waiting(workdir)
      #expect(queue.held == heldByDesign.subtracting(answered))
      #expect(queue.errors == errorsByDesign)
      // What went out: the accepted nickname, the kept one left out, the matched child as an update.
      let updates = try Self.rows(workdir, config, suffix: "students_update.csv")
      let bill = try #require(updates.first { $0["Student_Number"] == "104633" })
      #expect(bill["First_Name"] == "Bill")
      #expect(
        updates.first { $0["Student_Number"] == "103829" }.map { $0["First_Name"] ?? "" } ?? ""
          == "",
        "keep-sis: Katherine stays in the SIS")
      #expect(!updates.contains { $0["First_Name"] == "Katie" })
      // keep-sis in the delivery: the accepted field is written, the kept one left blank (the SIS's stays).
      let sara = try #require(updates.first { $0["Student_Number"] == "104805" })
      #expect(sara["First_Name"] == "Jose" && sara["Last_Name"] == "", "\(sara)")
      #expect(
        try Self.rows(workdir, config, suffix: "students_new.csv").contains {
          $0["Submission_ID"] == "S-2026-0029"
        })

      // Night 3: the same export again; nothing more is delivered, the queue holds what nobody answered.
      try Self.uploadExport(workdir, config)
      try night()
      #expect(try Self.deliveredSoFar(workdir) == night2)
      queue = try Self.waiting(workdir)
      #expect(queue.held == ["S-2026-0022", "S-2026-0026"])
      #expect(queue.errors == errorsByDesign)
    }
  }

  /// Rows of every delivery file in the outbox whose name ends in `suffix`, by header.
  static func rows(_ workdir: WorkDir, _ config: PipelineConfig, suffix: String) throws -> [[String:
    String]]
  {
    var result: [[String: String]] = []
    let outbox = workdir.outbox(config)
    for name in filesBelow(outbox) where name.hasSuffix(suffix) && !name.hasPrefix(".") {
      let table = try csvRows(outbox + "/" + name)
      guard let header = table.first else { continue }
      for row in table.dropFirst() {
        result.append(Dictionary(uniqueKeysWithValues: zip(header, row)))
      }
    }
    return result
  }

  /// The seed's "rectify incorrect values and deliver again": a school that is no SIS school and a
  /// contact without a relationship are corrected (by command, by file) and go out the next night.
  @Test func aCorrectedSchoolAndRelationshipGoOut() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let errors = try csvRows(workdir.stageFolder(first.batch, .deliver) + "/errors.csv")
      let school = try #require(errors.first { $0[0] == "S-2026-0061" })
      #expect(school[3] == "SchoolID", "named as `sisdrop correct` takes it")
      #expect(school[6].contains("`sisdrop correct S-2026-0061 SchoolID NEW_VALUE`"), "\(school)")
      let relationship = try #require(errors.first { $0[0] == "S-2026-0063" })
      #expect(relationship[1] == "contact" && relationship[3] == "Relationship")
      #expect(relationship[6].contains("--schema contact --seq 2"), "\(relationship)")
      // An identity field is not corrected here: the message says where it is.
      var result = try runTool(
        "sisdrop", ["correct", "S-2026-0030", "DOB", "02/28/2016", "--workdir", workdir.root])
      #expect(
        result.status == 64 && result.stderr.contains("enrollment system"), "\(result.stderr)")
      result = try runTool(
        "sisdrop", ["correct", "S-2026-0061", "SchoolID", "0101", "--workdir", workdir.root])
      #expect(result.status == 0, "\(result.stderr)")
      try writeFile(
        workdir.inbox(config) + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0063,contact,2,Relationship,Mother\n")
      try ReviewLoopTests.uploadExport(workdir, config)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let delivered = try csvRows(workdir.stageFolder(second.batch, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      #expect(Set(delivered) == ["S-2026-0061", "S-2026-0063"])
      let rows =
        try ReviewLoopTests.rows(workdir, config, suffix: "students_new.csv")
        + ReviewLoopTests.rows(workdir, config, suffix: "students_update.csv")
      #expect(
        rows.contains { $0["Submission_ID"] == "S-2026-0061" && $0["SchoolID"] == "0101" },
        "the corrected school went out")
      let contacts =
        try ReviewLoopTests.rows(workdir, config, suffix: "contacts_new.csv")
        + ReviewLoopTests.rows(workdir, config, suffix: "contacts_update.csv")
      #expect(
        contacts.contains { $0["Submission_ID"] == "S-2026-0063" && $0["Relationship"] == "Mother" }
      )
      #expect(
        try ReviewLoopTests.waiting(workdir).errors
          == Set((try DemoExpectation.load()).delivery.filter { $0.value == "error" }.map(\.key))
          .subtracting(["S-2026-0061", "S-2026-0063"]))
    }
  }

  /// A corrected value the delivery still refuses (a street over the SIS's 60 characters) comes
  /// back in errors.csv with what to do. With the shipped `auto_close: true` the batch is closed by
  /// then, so `sisdrop-deliver --only` cannot take it (66, no batch is open): the advice says the
  /// next `sisdrop run` delivers it, and following it does. A school the SIS does not have (0101
  /// with its leading zero dropped by a spreadsheet) is refused when it is given, naming the SIS's
  /// schools, not a night later by the delivery.
  @Test func aRefusedCorrectionSaysWhatDeliversItOnceTheBatchIsClosed() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let w = ["--workdir", workdir.root]
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      var result = try runTool("sisdrop", ["correct", "S-2026-0061", "SchoolID", "101"] + w)
      #expect(
        result.status == 65
          && result.stderr.contains("not a School_Number of the SIS export")
          && result.stderr.contains("0101 (Lincoln Elementary)"), "\(result.stderr)")
      #expect(try workdir.state.corrections().isEmpty)
      // The same in an answer file: refused whole, with its line.
      try writeFile(
        workdir.inbox(config) + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0061,student,1,SchoolID,101\n")
      result = try runTool("sisdrop", ["correct", "S-2026-0061", "SchoolID", "0101"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      let long = "1200 " + String(repeating: "Long", count: 16) + " St"
      result = try runTool("sisdrop", ["correct", "S-2026-0061", "Street", long] + w)
      #expect(result.status == 0, "\(result.stderr)")
      try ReviewLoopTests.uploadExport(workdir, config)
      var lines: [String] = []
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) }))
      #expect(
        lines.contains { $0.contains("corrections.csv:2: the SchoolID value given is not") },
        "\(lines)")
      #expect(second.closed)
      let errors = try csvRows(workdir.stageFolder(second.batch, .deliver) + "/errors.csv")
      let street = try #require(errors.first { $0[0] == "S-2026-0061" })
      #expect(street[3] == "Street" && street[7] == "deliver", "\(street)")
      #expect(
        street[6].contains(
          "`sisdrop correct S-2026-0061 Street NEW_VALUE`; the next `sisdrop run` delivers it"),
        "\(street)")
      var review = try runTool("sisdrop", ["review"] + w)
      #expect(
        review.stdout.contains("the next `sisdrop run` delivers it (while its batch is still open"),
        "\(review.stdout)")
      // The correction was applied and refused: review says so, not that a run will still apply it,
      // and never prints the value (the reason and `sisdrop show` say what is wrong with it).
      let said = try #require(
        review.stdout.split(separator: "\n").first { $0.contains("correct Street") })
      #expect(
        said.contains("tried: correct Street")
          && said.contains("batch \(second.batch) applied it and the delivery refused it")
          && !said.contains("applies it") && !said.contains("LongLong"), "\(review.stdout)")
      // `sisdrop show` says the same, beside the problem.
      let show = try runTool("sisdrop", ["show", "S-2026-0061"] + w)
      #expect(
        show.stdout.contains(
          "in error (batch \(second.batch), student 1): Street: 72 characters; the SIS takes at most 60"
        )
          && show.stdout.contains(
            "  tried: correct Street; the run of batch \(second.batch) applied it")
          && show.stdout.contains("(the reason above; the form below shows the value)")
          && !show.stdout.contains("applies it"), "\(show.stdout)")
      // `sisdrop-deliver --only` alone is no way out here: the batch is closed.
      result = try runTool("sisdrop-deliver", ["--only", "S-2026-0061"] + w)
      #expect(result.status == 66, "\(result.stderr)")
      // Followed as printed: a street the SIS takes, then the next run.
      result = try runTool("sisdrop", ["correct", "S-2026-0061", "Street", "12 Short St"] + w)
      #expect(result.status == 0, "\(result.stderr)")
      // A new value, not tried yet: the next run applies it.
      review = try runTool("sisdrop", ["review"] + w)
      #expect(
        review.stdout.contains(
          "answered: correct Street; the next `sisdrop run` that brings this submission applies it")
          && !review.stdout.contains("tried: correct Street"), "\(review.stdout)")
      try ReviewLoopTests.uploadExport(workdir, config)
      let third = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let delivered = try csvRows(workdir.stageFolder(third.batch, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      #expect(delivered == ["S-2026-0061"], "\(delivered)")
    }
  }

  /// With `auto_close: false` the batch that rejected a School before matching is still open when the
  /// clerk corrects it: `correct` says what delivers it (close, then the next run; not
  /// `sisdrop-deliver --only`, which takes matched records only), and following it delivers it.
  @Test func aCorrectionInTheOpenBatchSaysWhatDeliversItAndThatDoes() throws {
    try withTemporaryFolder { root in
      let pipeline = try writeFile(
        root + "/demo.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(!first.closed)
      let w = ["--workdir", workdir.root]
      let correct = try runTool("sisdrop", ["correct", "S-2026-0061", "SchoolID", "0101"] + w)
      #expect(correct.status == 0, "\(correct.stderr)")
      #expect(
        correct.stdout.contains(
          "S-2026-0061: the open batch \(first.batch) rejected this version before matching")
          && correct.stdout.contains("`sisdrop close`")
          && !correct.stdout.contains("sisdrop-deliver"), "\(correct.stdout)")
      // Followed as printed: close, then the next run that brings the submission.
      let close = try runTool("sisdrop", ["close"] + w)
      #expect(close.status == 0, "\(close.stderr)")
      try Self.uploadExport(workdir, config)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(second.batch != first.batch)
      let delivered = try csvRows(workdir.stageFolder(second.batch, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      #expect(delivered == ["S-2026-0061"])
    }
  }

  /// The pipeline's `updates:` decides per field: a name set to `deliver` goes out without a person
  /// (S-2026-0024's "Bill"), a field set to `keep-sis` is never written (the moved family's new
  /// Home_Phone, S-2026-0011), and the default `review` still holds the other names (Last_Name).
  @Test func theUpdatesPolicyDecidesPerField() throws {
    try withTemporaryFolder { root in
      let text = try demoPipelineText([
        ("\ndelivery:\n", "\nupdates:\n  First_Name: deliver\n  Home_Phone: keep-sis\ndelivery:\n")
      ])
      #expect(text.contains("\n  Home_Phone: keep-sis\n"))
      let pipeline = try writeFile(root + "/demo.yaml", text)
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let updates = try Self.rows(workdir, config, suffix: "students_update.csv")
      #expect(updates.first { $0["Student_Number"] == "104633" }?["First_Name"] == "Bill")
      let moved = try #require(updates.first { $0["Student_Number"] == "102123" })
      #expect(moved["Street"] == "4553 Stevenson Dr" && moved["Home_Phone"] == "", "\(moved)")
      let held = try csvRows(workdir.stageFolder(summary.batch, .deliver) + "/held.csv")
        .dropFirst()
      #expect(
        Set(held.map { $0[0] }) == [
          "S-2026-0020", "S-2026-0021", "S-2026-0022", "S-2026-0028", "S-2026-0029",
        ],
        "\(held)")
      #expect(held.filter { $0[0] == "S-2026-0020" }.map { $0[5] } == ["Last_Name"], "\(held)")
    }
  }

  /// Issue 11's returning child: the SIS shows SIS 102123 (S-2026-0011's child) transferred out
  /// (`Enroll_Status` 2). An approved form enrolls the child, so with `Enroll_Status` among the
  /// update's columns the update makes it active (`0`), beside the address the family changed.
  @Test func aReturningChildTheSISShowsTransferredOutIsDeliveredActive() throws {
    try withTemporaryFolder { root in
      let columns =
        "[Student_Number, Submission_ID, State_StudentNumber, First_Name, Middle_Name, Last_Name, DOB, "
        + "Gender, Grade_Level, SchoolID, Enroll_Status, Street, City, State, Zip, Home_Phone, Email]"
      let text = try demoPipelineText([
        (
          "    date_format: MM/DD/YYYY\n",
          "    date_format: MM/DD/YYYY\n    files:\n      students_update: \(columns)\n"
        )
      ])
      #expect(text.contains("students_update: ["))
      let pipeline = try writeFile(root + "/demo.yaml", text)
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let students = workdir.inbox(config) + "/students.csv"
      let before = try readText(students)
      // Student_Number ... SchoolID 0303, then Enroll_Status (sis/students.csv's header).
      let active = "102123,7356165949,Ismail,,Mohamed,02/29/2012,M,9,0303,0,"
      let header = try csvRows(students)[0]
      #expect(before.contains(active) && header[9] == "Enroll_Status")
      try FileManager.default.removeItem(atPath: students)
      try writeFile(
        students,
        before.replacingOccurrences(
          of: active, with: "102123,7356165949,Ismail,,Mohamed,02/29/2012,M,9,0303,2,"))
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let updates = try Self.rows(workdir, config, suffix: "students_update.csv")
      let returning = try #require(updates.first { $0["Student_Number"] == "102123" })
      #expect(
        returning["Enroll_Status"] == "0" && returning["Street"] == "4553 Stevenson Dr",
        "\(returning)")
      // The others stay as the SIS has them: no status written where none differs.
      #expect(updates.filter { $0["Enroll_Status"] != "" }.count == 1, "\(updates)")
    }
  }

  /// The queue in the terminal, and its ready-to-fill answer file dropped back into the inbox as it is.
  @Test func theReviewQueueAndItsAnswerFile() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      let w = ["--workdir", workdir.root]
      let text = try runTool("sisdrop", ["review"] + w)
      #expect(text.status == 0, "\(text.stderr)")
      #expect(text.stdout.contains("S-2026-0028 student 1 [since tonight"), "\(text.stdout)")
      #expect(text.stdout.contains("sisdrop resolve S-2026-0028 --match 107328"))
      #expect(text.stdout.contains("sisdrop accept S-2026-0024 First_Name"))
      let json = try #require(
        try JSONSerialization.jsonObject(
          with: Data(try runTool("sisdrop", ["review", "--json"] + w).stdout.utf8))
          as? [String: Any])
      let items = try #require(json["items"] as? [[String: Any]])
      func submissions(_ kind: String) -> Set<String> {
        Set(
          items.filter { $0["kind"] as? String == kind }.compactMap {
            $0["submission_id"] as? String
          })
      }
      let expected = try DemoExpectation.load()
      #expect(json["schema_version"] as? Int == 1)
      #expect(submissions("potential-match") == ["S-2026-0028", "S-2026-0029"])
      #expect(
        submissions("error") == Set(expected.delivery.filter { $0.value == "error" }.map(\.key)))
      #expect(submissions("held-update").count == expected.submissions("held") - 2)
      // The status tells the same counts, for the IT person who reads it.
      let waiting = expected.delivery.values.filter { $0 != "delivered" }.count
      let status = try runTool("sisdrop", ["status"] + w)
      #expect(
        status.stdout.contains(
          "waiting for a person: \(waiting) submission(s) — 2 with a potential match, "
            + "\(expected.submissions("held") - 2) with an update to review, \(expected.submissions("error")) in error"
        ), "\(status.stdout)")
      let pending = try runTool("sisdrop", ["pending"] + w)
      let line = pending.stdout.split(separator: "\n").first {
        $0.hasPrefix("S-2026-0028\tpending")
      }
      #expect(line?.hasSuffix("held: potential match\t0 nights") == true, "\(pending.stdout)")
      // Approval times one way, in the district's zone, whatever the export wrote: S-2026-0020's
      // is `2026-11-19T08:09:00-06:00`, S-2026-0021's a wall-clock `2026-11-16 11:17`.
      let approved = pending.stdout.split(separator: "\n").map { $0.split(separator: "\t")[3] }
      #expect(approved.count == waiting)
      #expect(
        approved.allSatisfy { $0.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d/) != nil },
        "\(pending.stdout)")
      #expect(
        pending.stdout.contains(
          "S-2026-0020\tpending\t2026-27 Returning Student Registration\t2026-11-19 08:09\t"))

      let file = root + "/to-fill.csv"
      #expect(try runTool("sisdrop", ["review", "--csv", file] + w).status == 0)
      var rows = try csvRows(file)
      #expect(rows[0] == ReviewQueue.answerFileHeader)
      #expect(rows.dropFirst().allSatisfy { $0[6].isEmpty }, "the Answer column is blank")
      #expect(rows.contains { $0[0] == "S-2026-0028" && $0[1] == "match" && $0[5] == "107328" })
      #expect(rows.contains { $0[0] == "S-2026-0028" && $0[5] == "NO-MATCH" })
      #expect(rows.contains { $0[0] == "S-2026-0061" && $0[1] == "correct" && $0[4] == "SchoolID" })
      for index in rows.indices {
        let row = rows[index]
        if row[0] == "S-2026-0028" && row[5] == "107328" { rows[index][6] = "x" }
        if row[0] == "S-2026-0022" && row[4] == "Last_Name" && row[5] == "keep-sis" {
          rows[index][6] = "x"
        }
        if row[0] == "S-2026-0061" && row[4] == "SchoolID" { rows[index][6] = "0101" }
      }
      try writeFile(
        workdir.inbox(config) + "/answers.csv",
        rows.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n")
      try ReviewLoopTests.uploadExport(workdir, config)
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let delivered = try csvRows(workdir.stageFolder(second.batch, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      #expect(Set(delivered) == ["S-2026-0028", "S-2026-0022", "S-2026-0061"])
      #expect(!FileSystem.exists(workdir.inbox(config) + "/answers.csv"))
    }
  }

  @Test func aStaleOrWithdrawnAnswerIsNotApplied() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      _ = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in })
      // Withdrawn: the accept is taken back before the next night; the update stays held.
      try Resolver.fieldAnswer(
        workdir: workdir, submission: "S-2026-0024", schema: "student", seq: nil,
        field: "First_Name",
        choice: .accept, by: "registrar"
      ).0.record(in: workdir)
      let withdrawn = try runTool(
        "sisdrop", ["withdraw", "S-2026-0024", "First_Name", "--workdir", workdir.root])
      #expect(withdrawn.status == 0, "\(withdrawn.stderr)")
      #expect(try workdir.state.fieldAnswers().isEmpty)
      #expect(
        try workdir.state.answerHistory(submission: "S-2026-0024").map(\.event) == [
          "recorded", "withdrawn",
        ])
      // Stale: answered for night 1's form, which the family changes before the next export (a new
      // home phone), so the answer is for a version that is no longer the one exported.
      let stale = try runTool(
        "sisdrop", ["accept", "S-2026-0025", "First_Name", "--workdir", workdir.root])
      #expect(stale.status == 0, "\(stale.stderr)")
      try ReviewLoopTests.uploadExport(workdir, config)
      let export = workdir.inbox(config) + "/submissions.csv"
      let changed = try readText(export).replacingOccurrences(
        of: "62703,217-555-1872,\r\n", with: "62703,217-555-1873,\r\n"
      ).replacingOccurrences(of: "62703,217-555-1872,\n", with: "62703,217-555-1873,\n")
      #expect(changed != (try readText(export)), "the form of S-2026-0025 changed")
      try FileManager.default.removeItem(atPath: export)
      try writeFile(export, changed)
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let delivered = try csvRows(workdir.stageFolder(summary.batch, .deliver) + "/delivered.csv")
        .dropFirst().map { $0[0] }
      #expect(!delivered.contains("S-2026-0024") && !delivered.contains("S-2026-0025"))
      let report = try StageReport.load(workdir.stageFolder(summary.batch, .match))
      #expect(
        report.notes.contains {
          $0.contains("S-2026-0025: accept student 1 First_Name was given for an earlier version")
        })
      #expect(
        try ReviewLoopTests.waiting(workdir).held.isSuperset(of: ["S-2026-0024", "S-2026-0025"]))
    }
  }
}

extension FieldAnswer {
  func record(in workdir: WorkDir) throws { try workdir.state.record(self) }
}

/// Files below a folder, as paths relative to it, sorted.
func filesBelow(_ folder: String) -> [String] {
  (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).filter {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDirectory)
      && !isDirectory.boolValue
  }.sorted()
}
