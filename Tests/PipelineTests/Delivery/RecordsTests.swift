import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropMatching

/// How decided submissions become delivery records: by seq, siblings sharing guardians.
@Suite struct DeliveryRecordsTests {
  static let source = SourceLocation(path: "submissions.csv")

  /// An older child the SIS has (seq 1) and a new younger sibling (seq 2), with one parent the SIS knows.
  static func family() -> Submission {
    var submission = Submission(id: "S-9", form: "F", approvedAt: "", source: source)
    submission.students = [
      SubmissionPart(seq: 1, fields: ["First_Name": "Ann", "SchoolID": "0101"], source: source),
      SubmissionPart(
        seq: 2,
        fields: [
          "First_Name": "Ben", "Last_Name": "Lee", "DOB": "2021-03-04", "Gender": "M",
          "Grade_Level": "-1",
          "SchoolID": "0202",
        ], source: source),
    ]
    submission.contacts = [
      SubmissionPart(
        seq: 1, fields: ["First_Name": "Pat", "Last_Name": "Lee", "Relationship": "Mother"],
        source: source)
    ]
    return submission
  }

  static func student(_ seq: Int, _ outcome: MatchOutcome, _ sisID: String?) -> StudentDecision {
    StudentDecision(
      seq: seq,
      decision: MatchDecision(
        outcome: outcome, sisID: sisID, score: 1, reasons: [], candidates: [], method: "t"),
      differences: [])
  }

  static let parent = ContactDecision(
    seq: 1, outcome: .matched, contactID: "C77", reason: "t", differences: [])

  @Test func aNewSiblingIsLinkedToTheGuardianTheSISAlreadyHas() throws {
    // Decisions listed in another order than the students: looked up by seq, never by position.
    let decision = SubmissionDecision(
      submissionID: "S-9",
      students: [Self.student(2, .new, nil), Self.student(1, .matched, "1001")],
      contacts: [Self.parent])
    let records = try DeliverStage.records(of: Self.family(), decision: decision)
    #expect(records.filter { $0.kind == .studentsNew }.map { $0["First_Name"] } == ["Ben"])
    #expect(!records.contains { $0.kind == .studentsUpdate }, "Ann matched with nothing to change")
    let links = records.filter { $0.kind == .contactsUpdate }
    #expect(links.count == 1)
    #expect(
      links.first?["Contact_ID"] == "C77" && links.first?["Student_Ref"] == "S-9/2"
        && links.first?["Student_Number"] == "")
  }

  @Test func aMissingOrDoubledDecisionIsADataErrorNamingDecisionsJSONL() throws {
    let noContact = SubmissionDecision(
      submissionID: "S-9",
      students: [Self.student(1, .matched, "1001"), Self.student(2, .new, nil)],
      contacts: [])
    let missing = try #require(throws: SISDropError.self) {
      try DeliverStage.records(of: Self.family(), decision: noContact, matchFolder: "M")
    }
    #expect(
      missing.status == .dataError && missing.location?.path == "M/decisions.jsonl"
        && missing.message.contains("contact 1"))
    let doubled = SubmissionDecision(
      submissionID: "S-9",
      students: [Self.student(1, .matched, "1001"), Self.student(1, .new, nil)],
      contacts: [Self.parent])
    #expect(throws: SISDropError.self) {
      try DeliverStage.records(of: Self.family(), decision: doubled)
    }
  }

  @Test func twoDecisionsForOneSubmissionStopTheDelivery() throws {
    let decision = SubmissionDecision(
      submissionID: "S-9",
      students: [Self.student(1, .matched, "1001"), Self.student(2, .new, nil)],
      contacts: [Self.parent])
    let error = try #require(throws: SISDropError.self) {
      try DeliverStage.makePlan(
        [Self.family()], decisions: [decision, decision], corrections: [],
        validator: DeliveryValidator(schools: ["0101", "0202"], gradeLevels: []),
        profile: CSVProfile(config: CSVProfileConfig()), matchFolder: "M")
    }
    #expect(error.status == .dataError && error.message.contains("two match decisions"))
  }

  @Test func heldRowsPrintTheResolveCommandsOfTheMatchBranch() throws {
    var potential = Self.student(2, .potential, nil)
    potential.decision.candidates = [MatchCandidate(sisID: "1002", score: 0.8, reasons: [])]
    let decision = SubmissionDecision(
      submissionID: "S-9", students: [Self.student(1, .matched, "1001"), potential],
      contacts: [Self.parent])
    let plan = try DeliverStage.makePlan(
      [Self.family()], decisions: [decision], corrections: [],
      validator: DeliveryValidator(schools: ["0101", "0202"], gradeLevels: []),
      profile: CSVProfile(config: CSVProfileConfig()), matchFolder: "M")
    #expect(plan.held.count == 1 && plan.records.isEmpty)
    #expect(
      plan.held.first?[6].contains("`sisdrop resolve S-9 --match SIS_ID --student 2`") == true)
    #expect(plan.held.first?[6].contains("`sisdrop resolve S-9 --no-match --student 2`") == true)
    #expect(
      BatchReport.resolveCommand(id: "S-1", seq: 1, match: "104633", siblings: false)
        == "sisdrop resolve S-1 --match 104633")
  }

  @Test func aCorrectedFieldIsSentEvenWhenItWasNotADifference() throws {
    var family = Self.family()
    family.contentHash = "v1"
    let decision = SubmissionDecision(
      submissionID: "S-9",
      students: [Self.student(1, .matched, "1001"), Self.student(2, .new, nil)],
      contacts: [Self.parent])
    var street = try Corrections.make(
      submissionID: "S-9", schema: "student", seq: 1, field: "Street", value: "12 Short St",
      source: "t")
    var phone = try Corrections.make(
      submissionID: "S-9", schema: "contact", seq: 1, field: "Phone", value: "217-555-0100",
      source: "t")
    street.version = "v1"
    phone.version = "v1"
    let plan = try DeliverStage.makePlan(
      [family], decisions: [decision], corrections: [street, phone],
      validator: DeliveryValidator(schools: ["0101", "0202"], gradeLevels: []),
      profile: CSVProfile(config: CSVProfileConfig()), matchFolder: "M")
    let update = try #require(plan.records.first { $0.kind == .studentsUpdate })
    #expect(
      update["Student_Number"] == "1001" && update.changed == ["Street"]
        && update["Street"] == "12 Short St")
    // The matched parent had no differences: its correction still goes out, for both children.
    let contacts = plan.records.filter { $0.kind == .contactsUpdate }
    #expect(
      contacts.map(\.changed) == [["Phone"], ["Phone"]]
        && contacts.allSatisfy { $0["Phone"] == "217-555-0100" })
    #expect(plan.delivered.map { $0[0] } == ["S-9"])
  }

  /// The plan reads each submission's corrections among every correction on record (kept for
  /// years, grouped by submission once): its own for its version apply, in the order recorded (a
  /// later one for the same field wins), another submission's or an earlier version's never.
  @Test func eachSubmissionGetsItsOwnCorrectionsAmongEveryCorrectionOnRecord() throws {
    func correction(_ id: String, _ field: String, _ value: String, version: String) throws
      -> Correction
    {
      var made = try Corrections.make(
        submissionID: id, schema: "student", seq: 1, field: field, value: value, source: "t")
      made.version = version
      return made
    }
    var first = Self.family()
    first.contentHash = "v1"
    var second = Self.family()
    second.id = "S-8"
    second.contentHash = "v2"
    func decision(_ id: String) -> SubmissionDecision {
      SubmissionDecision(
        submissionID: id,
        students: [
          Self.student(1, .matched, id == "S-9" ? "1001" : "1002"), Self.student(2, .new, nil),
        ],
        contacts: [Self.parent])
    }
    var corrections = try (1...200).map {
      try correction("X-\($0)", "Street", "\($0) Other St", version: "v1")
    }
    corrections.insert(try correction("S-9", "Street", "1 First St", version: "v1"), at: 50)
    corrections.insert(try correction("S-8", "Street", "9 Stale St", version: "v1"), at: 100)
    corrections.insert(try correction("S-9", "Street", "2 Second St", version: "v1"), at: 150)
    corrections.append(try correction("S-8", "City", "Peoria", version: "v2"))
    let plan = try DeliverStage.makePlan(
      [first, second], decisions: [decision("S-9"), decision("S-8")], corrections: corrections,
      validator: DeliveryValidator(schools: ["0101", "0202"], gradeLevels: []),
      profile: CSVProfile(config: CSVProfileConfig()), matchFolder: "M")
    let updates = plan.records.filter { $0.kind == .studentsUpdate }
    #expect(updates.map { $0["Student_Number"] } == ["1001", "1002"])
    #expect(updates[0].changed == ["Street"] && updates[0]["Street"] == "2 Second St")
    #expect(updates[1].changed == ["City"] && updates[1]["City"] == "Peoria")
    #expect(updates[1]["Street"] == "")
    #expect(plan.delivered.map { $0[0] } == ["S-9", "S-8"])
  }
}
