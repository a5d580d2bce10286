import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropMatching
@testable import SISDropStore

/// Issue 12, item 2: a form's guardians against the SIS contacts of the households it reaches —
/// transliterated names, a remarried mother, and a new sibling's parents who are SIS contacts already.
@Suite struct ContactMatchingTests {
  /// An SIS contact as the snapshot holds it (name keys as the snapshot builder makes them).
  func sisContact(
    _ id: String, _ first: String, _ last: String, phone: String = "217-555-0101",
    email: String = "", student: String = "100"
  )
    -> SnapshotContact
  {
    SnapshotContact(
      id: id, studentNumber: student, firstKey: FieldRules.nameKey(first),
      lastKey: FieldRules.nameKey(last),
      fields: [
        "Contact_ID": id, "Student_Number": student, "First_Name": first, "Last_Name": last,
        "Relationship": "Mother",
        "Phone": phone, "Email": email,
      ])
  }

  /// A form with one student and the given guardians.
  func form(_ guardians: [[String: String]]) -> Submission {
    var submission = Submission(
      id: "S-1", form: "New Student Enrollment", approvedAt: "2026-11-01T08:00:00Z",
      source: SourceLocation(path: "test"))
    submission.students = [
      SubmissionPart(
        seq: 1, fields: ["First_Name": "Mia", "Last_Name": "Kim"],
        source: SourceLocation(path: "test"))
    ]
    submission.contacts = guardians.enumerated().map {
      SubmissionPart(seq: $0.offset + 1, fields: $0.element, source: SourceLocation(path: "test"))
    }
    return submission
  }

  func decide(
    _ submission: Submission, _ reached: [ContactMatcher.Reached], resolutions: [Resolution] = []
  ) throws -> [ContactDecision] {
    let policy = UpdateRules(config: try PipelineConfig.load(path: Checkout.pipeline("demo")))
    return ContactMatcher.match(
      submission, names: ContactMatcher.nameKeys(submission), reached: reached, answers: [],
      policy: policy,
      resolutions: resolutions
    ).contacts
  }

  /// The matched student's own contact.
  func own(_ contact: SnapshotContact) -> ContactMatcher.Reached {
    ContactMatcher.Reached(
      contact: contact, students: [contact.studentNumber], ofMatchedStudent: true, link: nil)
  }

  @Test func transliteratedSpellingsGiveOneKey() {
    for (a, b) in [
      ("Schröder", "Schroeder"), ("Müller", "Mueller"), ("Weiß", "Weiss"),
      ("Jørgensen", "Jorgensen"), ("Bäcker", "Baecker"),
    ] {
      #expect(
        ContactMatcher.transliterated(FieldRules.nameKey(a))
          == ContactMatcher.transliterated(FieldRules.nameKey(b)), "\(a)/\(b)")
    }
    // Other names stay apart.
    #expect(
      ContactMatcher.transliterated(FieldRules.nameKey("Schroder"))
        != ContactMatcher.transliterated(FieldRules.nameKey("Schrader")))
  }

  @Test func theTransliteratedGuardianIsTheSISContact() throws {
    // The SIS has Greta Schröder; the form writes Greta Schroeder, with a new phone.
    let sis = sisContact("C1", "Greta", "Schröder")
    let decisions = try decide(
      form([
        [
          "First_Name": "Greta", "Last_Name": "Schroeder", "Relationship": "Mother",
          "Phone": "217-555-0999",
        ]
      ]),
      [own(sis)])
    #expect(decisions.map(\.outcome) == [.matched])
    #expect(decisions[0].contactID == "C1")
    #expect(decisions[0].reason.hasPrefix("same name written another way"))
    // The spelling and the phone are differences the update carries (or holds), not a new person.
    #expect(decisions[0].differences.map(\.field).contains("Phone"))
    // Jørgensen written Jorgensen, with a nickname: the same person too.
    let jorgensen = sisContact("C2", "William", "Jørgensen")
    let nickname = try decide(
      form([["First_Name": "Bill", "Last_Name": "Jorgensen", "Relationship": "Father"]]),
      [own(jorgensen)])
    #expect(nickname.map(\.contactID) == ["C2"])
  }

  @Test func theRemarriedGuardianGoesToAPersonNeverToANewContact() throws {
    // Anna Kowalski in the SIS; the form names Anna Nowak with the same phone and e-mail.
    let sis = sisContact(
      "C7", "Anna", "Kowalski", phone: "217-555-1302", email: "anna.k@example.com")
    let remarried = form([
      [
        "First_Name": "Anna", "Last_Name": "Nowak", "Relationship": "Mother",
        "Phone": "217-555-1302",
        "Email": "anna.k@example.com",
      ]
    ])
    let decisions = try decide(remarried, [own(sis)])
    #expect(decisions.map(\.outcome) == [.potential])
    #expect(decisions[0].candidates == ["C7"])
    #expect(decisions[0].contactID == nil)
    #expect(
      decisions[0].reason.hasPrefix(
        "the given name and the phone and e-mail agree with SIS contact C7 but the surname differs")
    )
    // The submission waits for a person.
    let decision = SubmissionDecision(submissionID: "S-1", students: [], contacts: decisions)
    #expect(decision.needsReview)
    // The same phone alone goes to a person too; neither phone nor e-mail, or another given name: a new contact.
    let phoneOnly = try decide(
      form([
        [
          "First_Name": "Anna", "Last_Name": "Nowak", "Relationship": "Mother",
          "Phone": "217-555-1302",
        ]
      ]), [own(sis)])
    #expect(
      phoneOnly.map(\.outcome) == [.potential]
        && phoneOnly[0].reason.hasPrefix("the given name and the phone agree with SIS contact C7"))
    let neither = form([
      [
        "First_Name": "Anna", "Last_Name": "Nowak", "Relationship": "Mother",
        "Phone": "217-555-0000",
      ]
    ])
    #expect(try decide(neither, [own(sis)]).map(\.outcome) == [.new])
    let another = form([
      [
        "First_Name": "Beata", "Last_Name": "Nowak", "Relationship": "Mother",
        "Phone": "217-555-1302",
        "Email": "anna.k@example.com",
      ]
    ])
    #expect(try decide(another, [own(sis)]).map(\.outcome) == [.new])
    // A person's Match to the candidate makes it the SIS contact; No Match a new one.
    var match = Resolution(
      submissionID: "S-1", studentSeq: 1, action: .match, sisID: "C7", resolvedBy: "registrar",
      resolvedAt: "2026-11-02",
      source: "command")
    match.schema = "contact"
    let answered = try decide(remarried, [own(sis)], resolutions: [match])
    #expect(answered.map(\.outcome) == [.matched] && answered[0].contactID == "C7")
    #expect(answered[0].differences.map(\.field) == ["Last_Name"])
    var noMatch = match
    noMatch.action = .noMatch
    noMatch.sisID = nil
    #expect(try decide(remarried, [own(sis)], resolutions: [noMatch]).map(\.outcome) == [.new])
  }

  @Test func aRemarriedGuardianUnderANicknameGoesToAPerson() throws {
    // Isabella Peña, mother, in the SIS; the form names Izzy Rojas García, mother, with her phone
    // and e-mail (Izzy is not in the nickname table, and the surname changed): a person decides.
    let sis = sisContact(
      "C8", "Isabella", "Peña", phone: "309-555-0150", email: "isabella.p@example.com")
    #expect(!ContactMatcher.givenNameAgrees("izzy", "isabella"))
    let izzy: [String: String] = [
      "First_Name": "Izzy", "Last_Name": "Rojas García", "Relationship": "Mother",
      "Phone": "309-555-0150", "Email": "isabella.p@example.com",
    ]
    let decisions = try decide(form([izzy]), [own(sis)])
    #expect(decisions.map(\.outcome) == [.potential] && decisions[0].candidates == ["C8"])
    #expect(decisions[0].reason.contains("with the same phone and e-mail (a nickname?)"))
    // The phone alone, or another relationship: nothing says the same person; a new contact.
    var phoneOnly = izzy
    phoneOnly["Email"] = "izzy.r@example.com"
    #expect(try decide(form([phoneOnly]), [own(sis)]).map(\.outcome) == [.new])
    var aunt = izzy
    aunt["Relationship"] = "Aunt"
    #expect(try decide(form([aunt]), [own(sis)]).map(\.outcome) == [.new])
  }

  @Test func aNicknameTheTableDoesNotKnowNeedsTheSamePhoneAndRole() throws {
    // The table's nickname, and a transliteration's digraph never read into one (Joey stays Joey).
    #expect(
      ContactMatcher.givenNameAgrees("mikey", "michael")
        && ContactMatcher.givenNameAgrees("joey", "joseph"))
    // Mohamed Nur, father, in the SIS; the form names Mo Nur, father, with the same phone (Mo is not in the table).
    #expect(!ContactMatcher.givenNameAgrees("mo", "mohamed"))
    var father = sisContact("C5", "Mohamed", "Nur", phone: "618-720-8133")
    father.fields["Relationship"] = "Father"
    let mo = form([
      ["First_Name": "Mo", "Last_Name": "Nur", "Relationship": "Father", "Phone": "618-720-8133"]
    ])
    let decisions = try decide(mo, [own(father)])
    #expect(decisions.map(\.contactID) == ["C5"])
    #expect(
      decisions[0].reason.hasPrefix(
        "the surname, relationship and phone agree with SIS contact C5 of the matched student"))
    // Mario, father, and the SIS's Maria, mother, share the home phone: a person decides, never automatic.
    let maria = sisContact("C6", "Maria", "López", phone: "312-398-5796")
    let mario = form([
      [
        "First_Name": "Mario", "Last_Name": "López", "Relationship": "Father",
        "Phone": "312-398-5796",
      ]
    ])
    let other = try decide(mario, [own(maria)])
    #expect(other.map(\.outcome) == [.potential] && other[0].candidates == ["C6"])
    // Without the phone or e-mail: the matched student's own father of that surname and initial
    // goes to a person (issue 12: an existing guardian never created as new); the same name in
    // another household the form reaches, or another initial and relationship: a new contact.
    let noPhone = form([["First_Name": "Mo", "Last_Name": "Nur", "Relationship": "Father"]])
    let asked = try decide(noPhone, [own(father)])
    #expect(asked.map(\.outcome) == [.potential] && asked[0].candidates == ["C5"])
    #expect(
      asked[0].reason
        == "the given name begins as SIS contact C5's and the relationship agrees, with the surname of the matched student's own contact (a nickname?): a person must choose Match or No Match"
    )
    let neighbour = ContactMatcher.Reached(
      contact: father, students: ["100"], ofMatchedStudent: false,
      link: "whose home shares the address with this form")
    #expect(try decide(noPhone, [neighbour]).map(\.outcome) == [.new])
    let jose = form([
      [
        "First_Name": "José", "Last_Name": "López", "Relationship": "Father",
        "Phone": "312-398-5796",
      ]
    ])
    #expect(try decide(jose, [own(maria)]).map(\.outcome) == [.new])
    // William Wells, the matched child's father in the SIS; the form names Liam Wells, father, with a
    // new phone (the table does not know Liam, and it begins otherwise): a person decides, never a
    // new contact. Only the matched child's own contact: another home's William, or another
    // relationship (a stepmother), is a new contact.
    var william = sisContact("C7", "William", "Wells", phone: "312-403-7396")
    william.fields["Relationship"] = "Father"
    #expect(!ContactMatcher.givenNameAgrees("liam", "william"))
    let liam = form([
      [
        "First_Name": "Liam", "Last_Name": "Wells", "Relationship": "Father",
        "Phone": "630-691-4166",
      ]
    ])
    let liams = try decide(liam, [own(william)])
    #expect(liams.map(\.outcome) == [.potential] && liams[0].candidates == ["C7"])
    #expect(
      liams[0].reason
        == "the surname and relationship agree with the matched student's own SIS contact C7 under another given name "
        + "(a nickname that begins otherwise, or another person in that role?): a person must choose Match or No Match"
    )
    let sibling = ContactMatcher.Reached(
      contact: william, students: ["100"], ofMatchedStudent: false,
      link: "whose home shares the address with this form")
    #expect(try decide(liam, [sibling]).map(\.outcome) == [.new])
    let stepmother = form([
      [
        "First_Name": "Grace", "Last_Name": "Wells", "Relationship": "Mother",
        "Phone": "630-691-4166",
      ]
    ])
    #expect(try decide(stepmother, [own(william)]).map(\.outcome) == [.new])
  }

  @Test func aNewSiblingsGuardiansAreTheSiblingsSISContacts() throws {
    // No matched student: the form shares the address of SIS student 200, whose parents are C3 and C4.
    let mother = sisContact("C3", "Mee", "Xiong", phone: "217-555-5581", student: "200")
    let father = sisContact("C4", "Chong", "Vang", phone: "217-555-1412", student: "200")
    let reached = [mother, father].map {
      ContactMatcher.Reached(
        contact: $0, students: ["200"], ofMatchedStudent: false,
        link: "whose home shares the address with this form")
    }
    let decisions = try decide(
      form([
        [
          "First_Name": "Chong", "Last_Name": "Vang", "Relationship": "Father",
          "Phone": "217-555-1412",
        ],
        [
          "First_Name": "Mee", "Last_Name": "Xiong", "Relationship": "Mother",
          "Phone": "217-555-5581",
        ],
        ["First_Name": "Pa", "Last_Name": "Vang", "Relationship": "Aunt"],
      ]), reached)
    #expect(decisions.map(\.outcome) == [.matched, .matched, .new])
    #expect(decisions.map(\.contactID) == ["C4", "C3", nil])
    #expect(
      decisions[0].reason
        == "same name as SIS contact C4 of SIS student 200, whose home shares the address with this form; the same phone"
    )
    #expect(decisions[0].sisStudents == ["200"])
    #expect(
      decisions[2].reason
        == "no SIS contact of the 1 SIS student the form reaches (by address, phone, e-mail or as a candidate), has this name"
    )
    // A namesake in another flat of the building (reached by the address alone; another phone and unit): a person decides.
    var neighbour = sisContact("C8", "Mee", "Xiong", phone: "217-555-7000", student: "300")
    neighbour.fields["Street"] = "2547 Feldkamp Ave, Apt 2D"
    neighbour.fields["Zip"] = "62711"
    let building = ContactMatcher.Reached(
      contact: neighbour, students: ["300"], ofMatchedStudent: false,
      link: "whose home shares the address with this form")
    let namesake = try decide(
      form([
        [
          "First_Name": "Mee", "Last_Name": "Xiong", "Relationship": "Mother",
          "Phone": "217-555-5581",
          "Street": "2547 Feldkamp Ave, Apt 1C", "Zip": "62711",
        ]
      ]), [building])
    #expect(namesake.map(\.outcome) == [.potential] && namesake[0].candidates == ["C8"])
    #expect(
      namesake[0].reason.hasSuffix(
        "but neither the phone, the e-mail nor the street address agrees: a person must choose Match or No Match"
      ))
    // A name only written alike (one part of a compound surname) at the same street line, without the phone or e-mail: a person decides.
    var aunt = sisContact("C9", "Nicole", "de la Cruz", phone: "618-896-6889", student: "400")
    aunt.fields["Street"] = "3974 Cedar Ln"
    aunt.fields["Zip"] = "62704"
    let home = ContactMatcher.Reached(
      contact: aunt, students: ["400"], ofMatchedStudent: false,
      link: "whose home shares the address with this form")
    let alike = try decide(
      form([
        [
          "First_Name": "Nicole", "Last_Name": "Cruz Gómez", "Relationship": "Aunt",
          "Phone": "309-325-2574",
          "Street": "3974 Cedar Ln", "Zip": "62704",
        ]
      ]), [home])
    #expect(alike.map(\.outcome) == [.potential] && alike[0].candidates == ["C9"])
  }

  /// A cousin moving in with an SIS family names an aunt who is not in the SIS; the family's
  /// grandmother has the same name (generator, 20,000 × 20,000, seed 7: linked before, writing the
  /// aunt's phone and e-mail over the grandmother's). The same name and street line under another
  /// relationship, without the phone or e-mail: a person decides.
  @Test func theSameNameAtTheSameAddressUnderAnotherRelationshipGoesToAPerson() throws {
    var grandmother = sisContact("C10", "Linh", "Vang", phone: "312-829-9710", student: "500")
    grandmother.fields["Relationship"] = "Grandmother"
    grandmother.fields["Street"] = "4821 Oak St"
    grandmother.fields["Zip"] = "61820"
    let home = ContactMatcher.Reached(
      contact: grandmother, students: ["500"], ofMatchedStudent: false,
      link: "whose home shares the address with this form")
    var aunt = [
      "First_Name": "Linh", "Last_Name": "Vang", "Relationship": "Aunt",
      "Phone": "309-202-0786", "Email": "linh.vang@example.com",
      "Street": "4821 Oak St", "Zip": "61820",
    ]
    let decisions = try decide(form([aunt]), [home])
    #expect(decisions.map(\.outcome) == [.potential] && decisions[0].candidates == ["C10"])
    #expect(decisions[0].contactID == nil && decisions[0].differences.isEmpty)
    #expect(
      decisions[0].reason
        == "same name as SIS contact C10 of SIS student 500, whose home shares the address with this form, and the same street address, "
        + "but another relationship and neither the phone nor the e-mail agrees (two people of one name in one home?): "
        + "a person must choose Match or No Match")
    // The same relationship (a sibling's grandmother with a new phone): the SIS contact, as before.
    aunt["Relationship"] = "Grandmother"
    let same = try decide(form([aunt]), [home])
    #expect(same.map(\.outcome) == [.matched] && same[0].contactID == "C10")
    // Another relationship but the same phone: the SIS contact (the phone is hers).
    aunt["Relationship"] = "Aunt"
    aunt["Phone"] = "312-829-9710"
    let phone = try decide(form([aunt]), [home])
    #expect(phone.map(\.outcome) == [.matched] && phone[0].contactID == "C10")
  }

  /// The demo district, run with the shipped pipeline: the new siblings and twins of SIS children
  /// (S-2026-0049 … S-2026-0054) name their SIS family's guardians, exactly as the SIS has them.
  @Test func theDemosNewSiblingsLinkToTheirFamiliesContacts() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let decisions = try JSONLines.read(
        SubmissionDecision.self,
        from: workdir.stageFolder(summary.batch, .match) + "/decisions.jsonl")
      let byID = Dictionary(uniqueKeysWithValues: decisions.map { ($0.submissionID, $0) })
      let expected: [String: [String]] = [
        "S-2026-0049": ["C00025", "C00026"], "S-2026-0050": ["C00027", "C00028"],
        "S-2026-0051": ["C00029"],
        "S-2026-0052": ["C00030", "C00031"], "S-2026-0053": ["C00011", "C00012"],
        "S-2026-0054": ["C00013", "C00014"],
      ]
      for (id, contacts) in expected {
        let decision = try #require(byID[id])
        #expect(decision.students.map(\.decision.outcome) == [.new], "\(id) stays a new student")
        #expect(decision.contacts.map(\.contactID) == contacts, "\(id)")
        #expect(
          decision.contacts.allSatisfy { $0.reason.contains("whose home shares the address") },
          "\(id)")
      }
      // Another family's namesake shares nothing with the SIS family: its guardians are new.
      #expect(byID["S-2026-0055"]?.contacts.allSatisfy { $0.outcome == .new } == true)
      // No guardian of the demo goes to a person.
      #expect(decisions.allSatisfy { $0.contacts.allSatisfy { $0.outcome != .potential } })
    }
  }
}
