import Foundation
import Testing

@testable import SISDropMatching

/// The review's guard cases (C1, C2): pairs that once auto-matched one child into another's record.
/// Any guard keeps a pair from automatic (`decide`); `otherChild` keeps it out of review too.
@Suite struct GuardTests {
  /// The SIS child: Ava Kim, her family's address, phones and guardian.
  func sisChild(first: String = "ava", gender: String = "F", stateID: String = "") -> PersonRecord {
    var sis = PersonRecord(id: "100")
    sis.first = first
    sis.last = "kim"
    sis.dob = "2016-05-01"
    sis.gender = gender
    sis.street = "12 oak"
    sis.zip = "62701"
    sis.phone = "2175550101"
    sis.guardians = [.init(first: "grace", last: "kim", phone: "2175550199")]
    sis.stateID = stateID
    return sis
  }

  func form(_ sis: PersonRecord, _ edit: (inout PersonRecord) -> Void) -> PersonRecord {
    var submission = sis
    submission.id = "S-1/1"
    edit(&submission)
    return submission
  }

  @Test func aCopiedStateIDNeverMakesASiblingTheSameChild() {
    // A kindergartner's form carries the older sister's state id: other name, birth date and gender.
    let sis = sisChild(stateID: "1234567890")
    let kindergartner = form(sis) {
      $0.first = "noah"
      $0.dob = "2021-03-14"
      $0.gender = "M"
    }
    let vector = ComparisonVector.compare(kindergartner, sis)
    #expect(vector[.stateID] == 1)
    // The id is an SIS student's: never NEW (delivering it would make a second student with that id),
    // never automatic (names and birth date are another child's): a person decides.
    #expect(!FellegiSunterMatcher.isOtherChild(vector))
    #expect(FellegiSunterMatcher.resemblance(vector) == "the state id is this SIS student's")
    let guards = FellegiSunterMatcher.guards(kindergartner, sis, vector)
    #expect(guards.contains("the birth dates differ"))
    #expect(
      guards.contains(
        "names and birth date do not agree closely enough for an automatic match (the given names differ; the birth dates differ)"
      ))
    // A twin carrying the other twin's copied id: the twin guard still holds.
    let twin = form(sis) { $0.first = "ella" }
    let twinVector = ComparisonVector.compare(twin, sis)
    #expect(FellegiSunterMatcher.isTwin(twinVector))
    #expect(
      FellegiSunterMatcher.guards(twin, sis, twinVector).contains {
        $0.hasPrefix("same birth date and family")
      })
    // The same child with its own state id: no guard, the id only adds weight.
    let same = form(sis) { $0.phone = "2175550111" }
    #expect(FellegiSunterMatcher.guards(same, sis, ComparisonVector.compare(same, sis)).isEmpty)
  }

  @Test func boyGirlTwinsWithPairedNamesAreNeverAutomatic() {
    for (boy, girl) in [
      ("alexander", "alexandra"), ("gabriel", "gabriela"), ("julian", "juliana"),
      ("christian", "christina"),
    ] {
      let sis = sisChild(first: girl)
      let brother = form(sis) {
        $0.first = boy
        $0.gender = "M"
      }
      let vector = ComparisonVector.compare(brother, sis)
      #expect(vector[.firstName] >= 2, "\(boy)/\(girl) compare as close names")
      #expect(FellegiSunterMatcher.isTwin(vector), "\(boy)/\(girl)")
      let guards = FellegiSunterMatcher.guards(brother, sis, vector)
      #expect(guards.contains("the genders differ"), "\(boy)/\(girl)")
      // Potential at most: guarded, but still a candidate a person sees.
      #expect(!FellegiSunterMatcher.isOtherChild(vector), "\(boy)/\(girl)")
    }
    // A girl's and a boy's full name are not nicknames of each other.
    let sis = sisChild(first: "alexandria")
    let brother = form(sis) {
      $0.first = "alexander"
      $0.gender = "M"
    }
    #expect(ComparisonVector.compare(brother, sis)[.firstName] < 3)
    // A typo in the same child's name, genders agreeing, stays automatic.
    let typo = form(sisChild(first: "alexandra")) { $0.first = "alexandar" }
    #expect(
      FellegiSunterMatcher.guards(
        typo, sisChild(first: "alexandra"),
        ComparisonVector.compare(typo, sisChild(first: "alexandra"))
      ).isEmpty)
  }
}
