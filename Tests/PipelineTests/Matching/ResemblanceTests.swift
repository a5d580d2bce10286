import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropMatching
@testable import SISDropStore

/// Issue 12: nothing NEW that may already be in the SIS without a person, and evidence without
/// households. A five-child SIS (Ava and Ella Kim are twins at one address) and forms that carry no
/// guardians, phones or e-mails, each checked by hand.
@Suite struct ResemblanceTests {
  static let sis = """
    Student_Number,State_StudentNumber,First_Name,Middle_Name,Last_Name,DOB,Gender,Grade_Level,SchoolID,Enroll_Status,Street,City,State,Zip,Home_Phone,Email
    100,1000000100,Ava,,Kim,05/01/2016,F,4,0101,0,12 Oak St,Springfield,IL,62701,217-555-0101,
    101,1000000101,Ella,,Kim,05/01/2016,F,4,0101,0,12 Oak St,Springfield,IL,62701,217-555-0101,
    102,1000000102,Noah,,Park,03/14/2015,M,5,0101,0,40 Elm St,Springfield,IL,62702,217-555-0202,
    103,1000000103,Mia,,Lopez,07/22/2014,F,6,0202,0,9 Pine Rd,Springfield,IL,62703,217-555-0303,
    104,1000000104,Liam,,Chen,11/02/2013,M,7,0202,0,5 Birch Ave,Springfield,IL,62704,217-555-0404,

    """

  /// The decisions of the fellegi-sunter matcher for `forms` (id → student fields, normalized as
  /// normalize writes them), against the five-child SIS, with `config`.
  /// `decideChunk`: students the matcher decides at once; `order`: the ids in the order their
  /// decisions are asked for (the forms' order when nil), each as many times as it is named.
  func decide(
    _ forms: [(String, [String: String])], config: MatchingConfig = MatchingConfig(),
    decideChunk: Int = 1000, order: [String]? = nil
  )
    throws -> [String: MatchDecision]
  {
    try withTemporaryFolder { folder in
      let files = [
        "students": try writeFile(folder + "/students.csv", ResemblanceTests.sis),
        "contacts": try writeFile(
          folder + "/contacts.csv",
          Layouts.contactFields.joined(separator: ",") + "\n"
            + "C1,104,Wei,Chen,Father,217-555-0444,,5 Birch Ave,Springfield,IL,62704\n"),
        "schools": try writeFile(
          folder + "/schools.csv", "School_Number,Name\n0101,Lincoln\n0202,Roosevelt\n"),
        "attendance_codes": try writeFile(
          folder + "/attendance_codes.csv",
          "Att_Code,Description,SchoolID,Presence_Status_CD\nT,Tardy,0101,Present\n"),
      ]
      let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
      _ = try SnapshotBuilder(feed: FeedConfig(), plugin: plugin).build(
        files: files, output: folder + "/s.sqlite")
      let matcher = FellegiSunterMatcher(
        snapshot: try Snapshot(path: folder + "/s.sqlite"), config: config,
        decideChunk: decideChunk)
      let submissions = forms.map { id, fields in
        var submission = Submission(
          id: id, form: "test", approvedAt: "2026-11-20T09:00:00-06:00",
          source: SourceLocation(path: "test"))
        submission.students = [
          SubmissionPart(seq: 1, fields: fields, source: SourceLocation(path: "test"))
        ]
        if let guardian = fields["Guardian"] {
          let parts = guardian.split(separator: " ").map(String.init)
          submission.contacts = [
            SubmissionPart(
              seq: 1,
              fields: [
                "First_Name": parts[0], "Last_Name": parts[1], "Relationship": "Mother",
                "Phone": parts[2],
              ],
              source: SourceLocation(path: "test"))
          ]
        }
        // As the match stage hands them over: only the fields matching reads.
        return MatchStage.forMatcher(submission)
      }
      _ = try matcher.prepare(submissions)
      var result: [String: MatchDecision] = [:]
      for id in order ?? submissions.map(\.id) {
        let submission = try #require(submissions.first { $0.id == id })
        let decision = try matcher.match(submission.students[0], in: submission)
        #expect(result[id] == nil || result[id] == decision, "\(id) asked for again")
        result[id] = decision
      }
      return result
    }
  }

  /// A form without guardians, phone or e-mail.
  func form(
    _ first: String, _ last: String, _ dob: String, _ gender: String, street: String, zip: String,
    stateID: String = ""
  ) -> [String: String] {
    [
      "First_Name": first, "Last_Name": last, "DOB": dob, "Gender": gender, "Street": street,
      "City": "Springfield", "State": "IL", "Zip": zip,
      "State_StudentNumber": stateID, "Grade_Level": "5", "SchoolID": "0101",
    ]
  }

  @Test func whatMayBeAnSISChildGoesToAPersonNeverNew() throws {
    let decisions = try decide([
      // A new sibling's form carrying Liam Chen's state id: another name, birth date and gender.
      // (At another address: only the state id links them, and blocking finds the pair by it alone.)
      (
        "STATE-ID",
        form(
          "Zoe", "Chen", "2019-08-30", "F", street: "61 Spruce Ct", zip: "62799",
          stateID: "1000000104")
      ),
      // Swapped, and born the 23rd for the 22nd.
      (
        "SWAPPED-DIGIT",
        form("Lopez", "Mia", "2014-07-23", "F", street: "77 Cedar Ln", zip: "62709")
      ),
      // Mia Lopez with given name and surname swapped, moved away.
      ("SWAPPED", form("Lopez", "Mia", "2014-07-22", "F", street: "77 Cedar Ln", zip: "62709")),
      // Liam Chen born the 7th instead of the 2nd (one digit), moved away.
      ("ONE-DIGIT", form("Liam", "Chen", "2013-11-07", "M", street: "3 Maple Dr", zip: "62705")),
      // Mia with another surname, her birth date, in her ZIP (a changed surname?).
      ("SURNAME", form("Mia", "Garcia", "2014-07-22", "F", street: "88 Walnut St", zip: "62703")),
      // The same, moved to another ZIP as well: a changed surname needs nothing of the home (issue 12:
      // "a surname change with the same birth date and first name" is a potential match, never NEW).
      ("SURNAME-MOVED", form("Mia", "Garcia", "2014-07-22", "F", street: "5 Ash Ct", zip: "62790")),
      // But a Liam born Liam Chen's day with another surname, whose form names another home (another
      // address, home phone and mother than the SIS Liam's, all compared), is another family's child.
      (
        "SURNAME-OTHER-HOME",
        form("Liam", "Wong", "2013-11-02", "M", street: "3 Maple Dr", zip: "62705")
          .merging(["Home_Phone": "312-555-9999", "Guardian": "Ana Ruiz 312-555-7777"]) { $1 }
      ),
      // Another Liam Chen born the 7th, whose form names another home: another address, home phone and
      // mother than the SIS Liam's (all compared): another child, new.
      (
        "OTHER-HOME",
        form("Liam", "Chen", "2013-11-07", "M", street: "3 Maple Dr", zip: "62705")
          .merging(["Home_Phone": "312-555-9999", "Guardian": "Ana Ruiz 312-555-7777"]) { $1 }
      ),
    ])
    let expected = [
      "STATE-ID": "104", "SWAPPED": "103", "SWAPPED-DIGIT": "103", "ONE-DIGIT": "104",
      "SURNAME": "103", "SURNAME-MOVED": "103",
    ]
    let otherFamily = try #require(decisions["SURNAME-OTHER-HOME"])
    #expect(otherFamily.outcome == .new, "\(otherFamily.reasons)")
    #expect(
      decisions["SURNAME-MOVED"]?.candidates.first?.guards?.contains {
        $0.hasPrefix("names and birth date do not agree closely enough")
      } == true)
    let other = try #require(decisions["OTHER-HOME"])
    #expect(other.outcome == .new)
    #expect(
      other.reasons == [
        "the closest SIS student 104 is another child: the birth dates are only close (one digit off), the home is another "
          + "(another address, another home phone, no e-mail to compare, no guardian in common), and no address, phone or e-mail links the homes"
      ])
    for (id, sisID) in expected {
      let decision = try #require(decisions[id])
      #expect(decision.outcome == .potential, "\(id): \(decision.reasons)")
      #expect(
        decision.candidates.map(\.sisID).contains(sisID),
        "\(id): \(decision.candidates.map(\.sisID))")
      #expect(
        decision.candidates.first?.guards?.isEmpty == false, "\(id): never automatic on this alone")
    }
    #expect(decisions["STATE-ID"]?.candidates.first?.blockedBy == ["state-id"])
    #expect(
      decisions["STATE-ID"]?.reasons.first?.hasPrefix(
        "SIS 104 may be this child (the state id is this SIS student's)") == true
        || decisions["STATE-ID"]?.reasons.first?.contains("never automatic") == true,
      "\(decisions["STATE-ID"]?.reasons ?? [])")
    // The reasons say what holds of the data.
    let stateID = try #require(decisions["STATE-ID"]?.candidates.first?.guards)
    #expect(
      stateID.contains(
        "names and birth date do not agree closely enough for an automatic match (the given names differ; the birth dates differ)"
      ))
    let swapped = try #require(decisions["SWAPPED"]?.candidates.first?.guards)
    #expect(
      swapped.contains(
        "given name and surname are swapped and no address, phone or e-mail links the homes "
          + "(another address, no home phone to compare, no e-mail to compare, no guardians to compare)"
      ))
    #expect(
      !(decisions.values.flatMap { $0.candidates.flatMap { $0.guards ?? [] } }.contains {
        $0.contains("guardian's name")
      }),
      "no guardian links anything here: none is named")
  }

  /// The matcher decides a chunk of the batch at a time (the match stage holds one chunk's
  /// decisions, not the batch's): a batch one student longer than the chunk, any chunk size, and
  /// decisions asked for out of order or twice decide as the whole batch at once.
  @Test func theDecisionsAreTheSameWhateverTheChunkTheyAreDecidedIn() throws {
    let forms = [
      ("TYPO", form("Noah", "Park", "2015-03-14", "M", street: "400 Elm St", zip: "62702")),
      ("TWIN", form("Ava", "Kim", "2016-05-01", "F", street: "21 Oak St", zip: "62701")),
      ("MOVED", form("Noah", "Park", "2015-03-14", "M", street: "9 Lake Dr", zip: "62702")),
      ("SWAPPED", form("Lopez", "Mia", "2014-07-22", "F", street: "77 Cedar Ln", zip: "62709")),
      ("NEW", form("Omar", "Haddad", "2017-01-09", "M", street: "1 Main St", zip: "62710")),
    ]
    let whole = try decide(forms)
    #expect(whole.count == 5)
    #expect(Set(whole.values.map(\.outcome)) == [.matched, .potential, .new])
    for size in [forms.count - 1, 2, 1] {
      #expect(try decide(forms, decideChunk: size) == whole, "chunks of \(size)")
    }
    let ids = forms.map(\.0)
    #expect(
      try decide(forms, decideChunk: 2, order: ids.reversed() + ["TWIN", ids[0], ids[0]]) == whole)
  }

  @Test func namesBirthDateAndAnAddressUpToATypoMatchWithoutAHousehold() throws {
    let decisions = try decide([
      // Noah Park at 400 Elm St for 40 Elm St (a typo), no phone, no guardians: automatic.
      ("TYPO", form("Noah", "Park", "2015-03-14", "M", street: "400 Elm St", zip: "62702")),
      // Ava Kim at 21 Oak St for 12 Oak St: the SIS has her twin Ella at the same home and birth date:
      // nothing of a household tells them apart, so a person does.
      ("TWIN", form("Ava", "Kim", "2016-05-01", "F", street: "21 Oak St", zip: "62701")),
      // Noah Park on another street of his ZIP: no typo of his address, so a person decides.
      ("MOVED", form("Noah", "Park", "2015-03-14", "M", street: "9 Lake Dr", zip: "62702")),
      // Mia Lopez (SIS 103, 9 Pine Rd, 62703) as "Lopez Mia" at 99 Pine Rd: given name and surname
      // swapped, her birth date, her address but for a typo: automatic, and the reason says so.
      ("SWAPPED-TYPO", form("Lopez", "Mia", "2014-07-22", "F", street: "99 Pine Rd", zip: "62703")),
      // The same swap on another street of her ZIP: two differences, a person decides.
      ("SWAPPED-MOVED", form("Lopez", "Mia", "2014-07-22", "F", street: "9 Lake Dr", zip: "62703")),
      // Noah Park at 400 Elm St, but a girl: the address agrees up to a typo, and the guard says so.
      ("TYPO-GENDER", form("Noah", "Park", "2015-03-14", "F", street: "400 Elm St", zip: "62702")),
    ])
    let typo = try #require(decisions["TYPO"])
    #expect(typo.outcome == .matched && typo.sisID == "102", "\(typo.reasons)")
    #expect(
      typo.reasons.first?.hasSuffix(
        "names and birth date agree with an address up to a typo, no other candidate and no SIS twin"
      ) == true)
    let twin = try #require(decisions["TWIN"])
    #expect(twin.outcome == .potential && twin.candidates.first?.sisID == "100", "\(twin.reasons)")
    #expect(
      twin.reasons == [
        "SIS 101 has the birth date and home of SIS 100 (a twin?), and nothing of the household tells them apart: a person chooses"
      ])
    let swapped = try #require(decisions["SWAPPED-TYPO"])
    #expect(swapped.outcome == .matched && swapped.sisID == "103", "\(swapped.reasons)")
    #expect(
      swapped.reasons.first?.hasSuffix(
        "names (given name and surname swapped) and birth date agree with an address up to a typo, no other candidate and no SIS twin"
      ) == true, "\(swapped.reasons)")
    let swappedMoved = try #require(decisions["SWAPPED-MOVED"])
    #expect(swappedMoved.outcome == .potential && swappedMoved.candidates.first?.sisID == "103")
    #expect(
      swappedMoved.candidates.first?.guards == [
        "given name and surname are swapped and no address, phone or e-mail links the homes (the same ZIP on another street, no home phone to compare, no e-mail to compare, no guardians to compare)"
      ], "\(swappedMoved.candidates.first?.guards ?? [])")
    let gender = try #require(decisions["TYPO-GENDER"])
    #expect(gender.outcome == .potential && gender.candidates.first?.sisID == "102")
    #expect(
      gender.candidates.first?.guards == [
        "same birth date and family but the same given name and another gender (a twin?)",
        "the genders differ",
        "nothing but an address up to a typo links the homes (the same address but for a typo, no home phone to compare, no e-mail to compare, no guardians to compare)",
      ], "\(gender.candidates.first?.guards ?? [])")
    let moved = try #require(decisions["MOVED"])
    #expect(moved.outcome == .potential && moved.candidates.first?.sisID == "102")
    #expect(
      moved.candidates.first?.guards == [
        "no address, phone, e-mail or guardian links the homes (the same ZIP on another street, no home phone to compare, no e-mail to compare, no guardians to compare)"
      ])
    // Off, the typo goes to a person too.
    var off = MatchingConfig()
    off.autoWithoutHousehold = false
    let held = try #require(
      try decide(
        [("TYPO", form("Noah", "Park", "2015-03-14", "M", street: "400 Elm St", zip: "62702"))],
        config: off)["TYPO"])
    #expect(held.outcome == .potential && held.candidates.first?.sisID == "102")
  }

  @Test func anAddressThatAgreesOnAllItsPartsButOneMatchesWithoutAHousehold() throws {
    let decisions = try decide([
      // Noah Park (SIS 102, 40 Elm St, Springfield IL 62702) at 40 Lake Dr: the street replaced,
      // house number, city, ZIP and state the same. No phone, e-mail or guardian: automatic.
      ("STREET", form("Noah", "Park", "2015-03-14", "M", street: "40 Lake Dr", zip: "62702")),
      // The same street in ZIP 62799 (two digits from 62702): street and ZIP both differ, a move:
      // a person decides.
      (
        "STREET-ZIP",
        form("Noah", "Park", "2015-03-14", "M", street: "40 Lake Dr", zip: "62799")
      ),
      // The STREET form naming another home phone: a namesake on the street of Noah's home number?
      // A part other than a typo of the street line counts only where the form names no other home.
      (
        "STREET-PHONE",
        form("Noah", "Park", "2015-03-14", "M", street: "40 Lake Dr", zip: "62702").merging([
          "Home_Phone": "217-555-9999"
        ]) { $1 }
      ),
      // Ava Kim (SIS 100, 12 Oak St) at 12 Pine St: one part differs, but the SIS has her twin Ella
      // at that home with that birth date; nothing of a household tells them apart: a person does.
      ("TWIN", form("Ava", "Kim", "2016-05-01", "F", street: "12 Pine St", zip: "62701")),
    ])
    let street = try #require(decisions["STREET"])
    #expect(street.outcome == .matched && street.sisID == "102", "\(street.reasons)")
    #expect(
      street.reasons.first?.hasSuffix(
        "names and birth date agree with an address that agrees on all its parts but one: another street (house number, city, ZIP and state agree), and the form names no other home phone, e-mail or guardian, no other candidate and no SIS twin"
      ) == true, "\(street.reasons)")
    let phone = try #require(decisions["STREET-PHONE"])
    #expect(phone.outcome == .potential && phone.candidates.first?.sisID == "102")
    #expect(
      phone.candidates.first?.guards == [
        "nothing but an address that agrees on all its parts but one links the homes (an address that agrees on all its parts but one, another home phone, no e-mail to compare, no guardians to compare)"
      ], "\(phone.candidates.first?.guards ?? [])")
    let moved = try #require(decisions["STREET-ZIP"])
    #expect(moved.outcome == .potential && moved.candidates.first?.sisID == "102")
    #expect(
      moved.candidates.first?.guards == [
        "no address, phone, e-mail or guardian links the homes (another address, no home phone to compare, no e-mail to compare, no guardians to compare)"
      ], "\(moved.candidates.first?.guards ?? [])")
    let twin = try #require(decisions["TWIN"])
    #expect(twin.outcome == .potential && twin.candidates.first?.sisID == "100", "\(twin.reasons)")
    #expect(
      twin.reasons == [
        "SIS 101 has the birth date and home of SIS 100 (a twin?), and nothing of the household tells them apart: a person chooses"
      ])
    // `auto_address: up_to_a_typo`: the street line and ZIP must agree up to one typo together.
    var whole = MatchingConfig()
    whole.autoAddress = .upToATypo
    let held = try #require(
      try decide(
        [("STREET", form("Noah", "Park", "2015-03-14", "M", street: "40 Lake Dr", zip: "62702"))],
        config: whole)["STREET"])
    #expect(held.outcome == .potential && held.candidates.first?.sisID == "102")
  }

  @Test func theHomeReadPartByPartSendsResemblancesToAPersonNotNew() throws {
    let decisions = try decide([
      // Noah Park's names at 40 Lake Dr (his house number, city and ZIP) with a birth date that
      // shares nothing with his: a birth date written wrongly, or a record to check.
      ("BIRTH", form("Noah", "Park", "2011-09-30", "M", street: "40 Lake Dr", zip: "62702")),
      // "Owen Park", Noah's surname and birth date there, on a form naming no family: a twin, or
      // Noah under another given name. No longer "another family's child": the score decides, as
      // for a twin at the same address (here, in a five-child SIS, below review).
      ("OWEN", form("Owen", "Park", "2015-03-14", "M", street: "40 Lake Dr", zip: "62702")),
      // Owen at another house number as well: two parts differ, another family's child.
      ("OWEN-AWAY", form("Owen", "Park", "2015-03-14", "M", street: "9 Lake Dr", zip: "62702")),
    ])
    let birth = try #require(decisions["BIRTH"])
    #expect(
      birth.outcome == .potential && birth.candidates.first?.sisID == "102", "\(birth.reasons)")
    #expect(
      birth.reasons.first?.contains(
        "both names agree at an address that agrees on all its parts but one, but the birth dates differ"
      ) == true, "\(birth.reasons)")
    let owen = try #require(decisions["OWEN"])
    #expect(
      owen.reasons.count == 1
        && owen.reasons[0].hasPrefix("the closest SIS student 102 has match probability"),
      "\(owen.reasons)")
    let away = try #require(decisions["OWEN-AWAY"])
    #expect(away.outcome == .new, "\(away.reasons)")
    #expect(
      away.reasons.first?.hasSuffix(
        "another family's child: the given names differ and nothing links the homes (the same ZIP on another street, no home phone to compare, no e-mail to compare, no guardians to compare)"
      ) == true, "\(away.reasons)")
  }

  @Test func addressPartsAgreeUpToATypoEachAndOneMayDiffer() {
    func differing(_ a: (String, String, String), _ b: (String, String, String)) -> [String] {
      let x = PersonRecord(
        id: "a", fields: ["Street": a.0, "City": a.1, "Zip": a.2, "State": "IL"])
      let y = PersonRecord(id: "b", fields: ["Street": b.0, "City": b.1, "Zip": b.2])
      return Comparators.addressPartsDiffering(x, y).map(\.words)
    }
    let home = ("40 Elm St", "Springfield", "62702")
    #expect(differing(home, home) == [])
    #expect(differing(home, ("40 Lake Dr", "Springfield", "62702")) == ["street"])
    #expect(differing(home, ("40 Elm St", "Springfield", "62799")) == ["ZIP"])
    #expect(differing(home, ("40 Elm Str", "Sprngfield", "62702")) == [], "words up to a typo")
    #expect(
      differing(home, ("400 Elm St", "Springfield", "62703")) == ["house number", "ZIP"],
      "a digit off is a number that differs")
    #expect(differing(home, ("Elm St", "Springfield", "62702")) == ["house number"])
    #expect(differing(home, ("9 Lake Dr", "Springfield", "62702")) == ["house number", "street"])
    #expect(differing(home, ("40 Lake Dr", "Chatham", "62702")) == ["street", "city"])
    #expect(differing(home, ("40 Elm St", "", "62702")) == ["city"], "no city on one side")
  }

  @Test func aNewTwinIsNewAndGoesToAPersonWhenConfigured() throws {
    // Ella's twin brother Leo at the same address: another child, with the rule that fired as the reason.
    let leo = ("LEO", form("Leo", "Kim", "2016-05-01", "M", street: "12 Oak St", zip: "62701"))
    let new = try #require(try decide([leo])["LEO"])
    #expect(new.outcome == .new)
    #expect(
      new.reasons.count == 1
        && new.reasons[0].hasSuffix(
          "is another child: a twin with another given name (same birth date and family)"),
      "\(new.reasons)")
    var review = MatchingConfig()
    review.twins = .review
    let held = try #require(try decide([leo], config: review)["LEO"])
    #expect(held.outcome == .potential)
    #expect(
      held.candidates.allSatisfy {
        $0.guards?.contains("same birth date and family but different given names (a twin?)")
          == true
      })
  }

  @Test func aTwinOnAFormThatNamesNoFamilyGoesToAPersonUnlessTheSISHasTheTwin() throws {
    // Noah Park is his family's only child in the SIS. "Owen Park", born the same day at his address,
    // on a form with no guardian, home phone or e-mail: a twin, or Noah under another given name.
    let owen = form("Owen", "Park", "2015-03-14", "M", street: "40 Elm St", zip: "62702")
    let decisions = try decide([
      ("BARE", owen),
      // The same form naming the family's home phone: the family tells of a second child, a twin.
      ("FAMILY", owen.merging(["Home_Phone": "217-555-0202"]) { $1 }),
      // A girl: the genders tell them apart.
      ("GIRL", form("Olivia", "Park", "2015-03-14", "F", street: "40 Elm St", zip: "62702")),
      // "Zoe Kim", born the day of the SIS twins Ava and Ella at their address: both twins are known.
      ("THIRD", form("Zoe", "Kim", "2016-05-01", "F", street: "12 Oak St", zip: "62701")),
    ])
    let bare = try #require(decisions["BARE"])
    #expect(bare.outcome == .potential && bare.candidates.first?.sisID == "102", "\(bare.reasons)")
    #expect(
      bare.candidates.first?.guards?.contains(
        "same birth date and family but another given name, and the form names no guardian, home phone or e-mail: a twin, or this child under another given name?"
      ) == true,
      "\(bare.candidates.first?.guards ?? [])")
    for id in ["FAMILY", "GIRL"] {
      let decision = try #require(decisions[id])
      #expect(decision.outcome == .new, "\(id): \(decision.reasons)")
      #expect(
        decision.reasons == [
          "the closest SIS student 102 is another child: a twin with another given name (same birth date and family)"
        ], "\(id)")
    }
    let third = try #require(decisions["THIRD"])
    #expect(third.outcome == .new, "\(third.reasons)")
    #expect(
      third.reasons.count == 1
        && third.reasons[0].hasSuffix(
          "is another child: a twin with another given name (same birth date and family), and SIS 101 is the twin of SIS 100"
        )
        || third.reasons[0].hasSuffix("and SIS 100 is the twin of SIS 101"), "\(third.reasons)")
    // `twins: new`: every twin is new, as before.
    var new = MatchingConfig()
    new.twins = .new
    #expect(try decide([("BARE", owen)], config: new)["BARE"]?.outcome == .new)
  }

  @Test func bothNamesAtTheSameHomeWithAnotherBirthDateGoToAPerson() throws {
    let decisions = try decide([
      // Liam Chen (SIS 104, born 2013-11-02 at 5 Birch Ave) with a birth date that shares nothing with
      // his, at 50 Birch Ave (a typo): found by the names and the ZIP alone, and held for a person.
      ("WRONG-DATE", form("Liam", "Chen", "2009-06-15", "M", street: "50 Birch Ave", zip: "62704")),
      // The same names and birth date in another ZIP: another child, new.
      ("ELSEWHERE", form("Liam", "Chen", "2009-06-15", "M", street: "50 Birch Ave", zip: "62799")),
    ])
    let wrong = try #require(decisions["WRONG-DATE"])
    #expect(
      wrong.outcome == .potential && wrong.candidates.first?.sisID == "104", "\(wrong.reasons)")
    #expect(wrong.candidates.first?.blockedBy == ["name-sound+zip"])
    // The rule in words: the resemblance (what keeps it from NEW whatever its score) and the guard.
    #expect(
      FellegiSunterMatcher.resemblance(
        ComparisonVector.compare(
          PersonRecord(
            id: "f",
            fields: form("Liam", "Chen", "2009-06-15", "M", street: "50 Birch Ave", zip: "62704")),
          PersonRecord(
            id: "s",
            fields: form("Liam", "Chen", "2013-11-02", "M", street: "5 Birch Ave", zip: "62704"))))
        == "both names agree at the same address but for a typo, but the birth dates differ")
    #expect(wrong.candidates.first?.guards?.contains("the birth dates differ") == true)
    #expect(try #require(decisions["ELSEWHERE"]).outcome == .new)
  }

  /// Forms each matched to one SIS student by the matcher, as `MatchStage.claimedTwice` sees them.
  @Test func formsThatClaimOneSISStudentAreMatchedOnlyWhenTheyAgree() {
    func form(_ id: String, _ students: [[String: String]], guardian: (String, String, String))
      -> Submission
    {
      var submission = Submission(
        id: id, form: "f", approvedAt: "2026-11-20T09:00:00-06:00",
        source: SourceLocation(path: "t"))
      submission.students = students.enumerated().map {
        SubmissionPart(seq: $0.offset + 1, fields: $0.element, source: SourceLocation(path: "t"))
      }
      submission.contacts = [
        SubmissionPart(
          seq: 1,
          fields: [
            "First_Name": guardian.0, "Last_Name": guardian.1, "Relationship": "Mother",
            "Phone": guardian.2,
          ],
          source: SourceLocation(path: "t"))
      ]
      return submission
    }
    let ismail = [
      "First_Name": "Ismail", "Last_Name": "Mohamed", "DOB": "2012-02-29", "Gender": "M",
      "Street": "4553 Stevenson Dr", "Zip": "62704",
      "Home_Phone": "217-555-0157",
    ]
    let halima = ("Halima", "Warsame", "217-555-5232")
    let forms = [
      form("A", [ismail], guardian: halima),
      // The same child again, a letter of the street off: agrees with A.
      form("B", [ismail.merging(["Street": "4535 Stevenson Dr"]) { $1 }], guardian: halima),
      // Noah on two forms, the second from another home on every count (street, phone, guardians).
      form(
        "C",
        [
          [
            "First_Name": "Noah", "Last_Name": "Park", "DOB": "2015-03-14", "Gender": "M",
            "Street": "40 Elm St", "Zip": "62702",
            "Home_Phone": "217-555-0202",
          ]
        ], guardian: ("Grace", "Park", "217-555-0299")),
      form(
        "D",
        [
          [
            "First_Name": "Noah", "Last_Name": "Park", "DOB": "2015-03-14", "Gender": "M",
            "Street": "9 Lake Dr", "Zip": "62799",
            "Home_Phone": "312-555-0000",
          ]
        ], guardian: ("Ana", "Ruiz", "312-555-0001")),
      // Two students of one form matched to one SIS student.
      form("E", [ismail, ismail], guardian: halima),
    ]
    func matched(_ sisID: String) -> StudentDecision {
      StudentDecision(
        seq: 1,
        decision: MatchDecision(
          outcome: .matched, sisID: sisID, score: 1, reasons: ["matched"],
          candidates: [MatchCandidate(sisID: sisID, score: 1, reasons: [])],
          method: "fellegi-sunter"),
        differences: [])
    }
    var second = matched("300")
    second.seq = 2
    var decisions = [("A", "100"), ("B", "100"), ("C", "200"), ("D", "200")].map {
      SubmissionDecision(submissionID: $0.0, students: [matched($0.1)], contacts: [])
    }
    decisions.append(
      SubmissionDecision(submissionID: "E", students: [matched("300"), second], contacts: []))
    MatchStage.claimedTwice(&decisions, forms, policy: .match)
    let outcomes = decisions.map { $0.students.map(\.decision.outcome) }
    #expect(
      outcomes == [[.matched], [.matched], [.potential], [.potential], [.potential, .potential]])
    #expect(
      decisions[0].students[0].decision.reasons.last?.hasPrefix(
        "SIS student 100 is matched by 2 forms of this batch that agree with each other") == true)
    #expect(
      decisions[2].students[0].decision.reasons.last
        == "SIS student 200 is claimed by more than one submission student in this batch (C and D do not agree: "
        + "the homes differ (another address, another home phone, no e-mail to compare, no guardian in common))"
    )
    #expect(
      decisions[4].students[1].decision.reasons.last
        == "SIS student 300 is claimed by more than one submission student in this batch (two students of one form)"
    )
    #expect(
      decisions[2].students[0].decision.candidates.map(\.sisID) == ["200"],
      "the candidate stays for the person")
  }

  /// A new child with an SIS child's names at its home, beside that SIS child's own form in the
  /// batch (`scripts/bench/match.sh` at 50,000 × 50,000 auto-matched two such): each form alone is
  /// matched to the SIS child, and the two forms agree but for a birth date one digit apart, which
  /// only the home they share with it confirmed. Either is one child with a typo, or two children
  /// of that home: a person decides, the SIS child stays the candidate.
  @Test func formsOfOneSISChildWithBirthDatesOneDigitApartGoToAPerson() throws {
    let kim = ["Home_Phone": "217-555-0101"]
    let park = ["Home_Phone": "217-555-0202"]
    let forms: [(String, [String: String])] = [
      // Ava Kim's own form (SIS 100, Ella's twin) with her state id, born the 4th for the 1st;
      // and a new twin at the Kims' home, written with Ava's names and birth date.
      (
        "AVA",
        form(
          "Ava", "Kim", "2016-05-04", "F", street: "12 Oak St", zip: "62701", stateID: "1000000100"
        )
        .merging(kim) { $1 }
      ),
      (
        "NEW-TWIN",
        form("Ava", "Kim", "2016-05-01", "F", street: "12 Oak St", zip: "62701").merging(kim) { $1 }
      ),
      // Noah Park's own form (SIS 102), and a new brother at his home with his names, born the 17th.
      (
        "NOAH",
        form(
          "Noah", "Park", "2015-03-14", "M", street: "40 Elm St", zip: "62702",
          stateID: "1000000102"
        )
        .merging(park) { $1 }
      ),
      (
        "NEW-SIBLING",
        form("Noah", "Park", "2015-03-17", "M", street: "40 Elm St", zip: "62702").merging(park) {
          $1
        }
      ),
    ]
    let matched = try decide(forms)
    // Alone, each form is matched: the claims below are what the batch adds.
    for (id, sisID) in [
      ("AVA", "100"), ("NEW-TWIN", "100"), ("NOAH", "102"), ("NEW-SIBLING", "102"),
    ] {
      let decision = try #require(matched[id])
      #expect(decision.outcome == .matched && decision.sisID == sisID, "\(id): \(decision.reasons)")
    }
    let submissions = forms.map { id, fields in
      var submission = Submission(
        id: id, form: "test", approvedAt: "2026-11-20T09:00:00-06:00",
        source: SourceLocation(path: "test"))
      submission.students = [
        SubmissionPart(seq: 1, fields: fields, source: SourceLocation(path: "test"))
      ]
      return submission
    }
    var decisions = try forms.map { id, _ in
      SubmissionDecision(
        submissionID: id,
        students: [StudentDecision(seq: 1, decision: try #require(matched[id]), differences: [])],
        contacts: [])
    }
    MatchStage.claimedTwice(&decisions, submissions, policy: .match)
    let claims = [
      ("AVA", "100", "AVA and NEW-TWIN"), ("NEW-TWIN", "100", "AVA and NEW-TWIN"),
      ("NOAH", "102", "NOAH and NEW-SIBLING"), ("NEW-SIBLING", "102", "NOAH and NEW-SIBLING"),
    ]
    for (index, (id, sisID, pair)) in claims.enumerated() {
      let decision = decisions[index].students[0].decision
      #expect(decision.outcome == .potential && decision.sisID == nil, "\(id): \(decision.reasons)")
      #expect(decision.candidates.first?.sisID == sisID, "\(id): the SIS child stays the candidate")
      #expect(
        decision.reasons.last
          == "SIS student \(sisID) is claimed by more than one submission student in this batch "
          + "(\(pair) do not agree: the birth dates are only close (one digit off), and the home "
          + "both share with SIS student \(sisID) cannot tell that child from a sibling or twin)",
        "\(id)")
    }
  }

  @Test func addressesUpToATypo() {
    #expect(Comparators.sameAddressButForATypo(street: "40 elm", "400 elm", zip: "62702", "62702"))
    #expect(Comparators.sameAddressButForATypo(street: "12 oak", "21 oak", zip: "62701", "62701"))
    #expect(Comparators.sameAddressButForATypo(street: "12 oak", "oak", zip: "62701", "62701"))
    #expect(
      Comparators.sameAddressButForATypo(
        street: "168 bursaria", "168 bursarai", zip: "02621", "02621"))
    #expect(
      Comparators.sameAddressButForATypo(
        street: "168 bursaria", "168 bursaria", zip: "02621", "02612"))
    #expect(
      Comparators.sameAddressButForATypo(
        street: "378 yandastreet", "378 yanda", zip: "05022", "05022"))
    #expect(
      Comparators.sameAddressButForATypo(street: "30 reuthe", "reuther", zip: "04700", "04700"))
    #expect(
      !Comparators.sameAddressButForATypo(street: "reuthe", "reuther", zip: "04700", "04700"),
      "no house number on either side")
    #expect(
      !Comparators.sameAddressButForATypo(street: "12 oak", "12 oak", zip: "62701", "62701"),
      "the same address is not a typo of it")
    #expect(!Comparators.sameAddressButForATypo(street: "12 oak", "12 elm", zip: "62701", "62701"))
    #expect(!Comparators.sameAddressButForATypo(street: "12 oak", "45 oak", zip: "62701", "62701"))
    #expect(!Comparators.sameAddressButForATypo(street: "12 oak", "13 oak", zip: "62701", "62799"))
    let a = PersonRecord(id: "a", fields: ["Street": "40 Elm St", "Zip": "62702"])
    let b = PersonRecord(id: "b", fields: ["Street": "400 Elm St", "Zip": "62702"])
    #expect(ComparisonVector.compare(a, b)[.address] == 2)
    #expect(ComparisonVector.compare(a, a)[.address] == 3)
  }

  @Test func theNewKeysAreReadAndChecked() throws {
    try withTemporaryFolder { folder in
      let good =
        "version: 1\nmatching:\n  auto_without_household: false\n  auto_address: up_to_a_typo\n  twins: review\n  weights:\n    gender: 0.5\n    address: 2\n"
      let config = try PipelineConfig.load(path: try writeFile(folder + "/good.yaml", good))
        .matching
      #expect(
        !config.autoWithoutHousehold && config.autoAddress == .upToATypo && config.twins == .review)
      #expect(MatchingConfig().autoAddress == .allButOnePart)
      #expect(
        config.weightFactors[MatchField.gender.rawValue] == 0.5
          && config.weightFactors[MatchField.address.rawValue] == 2)
      #expect(config.weightFactors[MatchField.firstName.rawValue] == 1)
      for (bad, words) in [
        ("twins: maybe", "'maybe' is not one of new, review"),
        ("auto_address: street", "'street' is not one of all_but_one_part, up_to_a_typo"),
        ("weights:\n    shoe_size: 1", "unknown key 'shoe_size'"),
        ("weights:\n    gender: 9", "expected a factor from 0 to 4"),
      ] {
        let path = try writeFile(folder + "/bad.yaml", "version: 1\nmatching:\n  \(bad)\n")
        #expect(throws: SISDropError.self) { _ = try PipelineConfig.load(path: path) }
        do { _ = try PipelineConfig.load(path: path) } catch {
          #expect("\(error)".contains(words), "\(error)")
        }
      }
    }
  }
}
