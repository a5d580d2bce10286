import Foundation
import Testing

@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropMatching

@Suite struct ModelTests {
  func vector(_ levels: [Int]) -> ComparisonVector {
    ComparisonVector(levels: levels.map(Int8.init))
  }

  @Test func emLearnsMFromTheDataAndLambdaFromTheMix() {
    // 100 pairs that agree on everything (matches) and 900 that agree on nothing but gender.
    let agree = vector([-1, 4, 4, 4, 1, 2, 1, -1, 2])
    let disagree = vector([-1, 0, 0, 0, 1, 0, 0, -1, 0])
    let patterns = [agree.patternKey: (agree, 100), disagree.patternKey: (disagree, 900)]
    var model = FellegiSunterModel(u: MatchField.allCases.map(\.priorU))
    model.estimateM(patterns, excluding: [])
    model.estimateLambda(patterns)
    // λ from the deterministic rule: 100 sure pairs of 1,000, scaled for the rule's recall (0.8).
    #expect(abs(model.lambda - 0.125) < 1e-9)
    // m(exact birth date) moves from the prior towards 1: 100 matches all agree, prior worth 100 pairs.
    #expect(model.m[MatchField.birthDate.rawValue][4] > 0.95)
    #expect(model.weight(.birthDate, 4) > 10)
    #expect(model.weight(.birthDate, 0) < -4)
  }

  @Test func aSessionLeavesItsBlockingFieldsAlone() {
    let pair = vector([-1, 4, 4, 4, 1, 2, 1, -1, 2])
    var model = FellegiSunterModel(u: MatchField.allCases.map(\.priorU))
    let before = model.m[MatchField.birthDate.rawValue]
    model.estimateM([pair.patternKey: (pair, 50)], excluding: [.birthDate])
    #expect(model.m[MatchField.birthDate.rawValue] == before)
    #expect(model.m[MatchField.firstName.rawValue] != MatchField.firstName.priorM)
  }

  @Test func uFromASampleOfDifferentPeople() throws {
    let sample = (0..<40).map { i -> PersonRecord in
      var p = PersonRecord(id: String(i))
      p.first = ["ann", "bo", "cy", "di"][i % 4]
      p.last = "lee\(i)"
      p.dob = String(format: "2015-%02d-%02d", 1 + i % 12, 1 + i % 28)
      p.gender = i % 2 == 0 ? "F" : "M"
      return p
    }
    let u = try FellegiSunterModel.estimateU(sample: sample, population: 40)
    // A quarter of the pairs share a first name: u(exact) rises from the prior 0.005 towards 0.25.
    #expect(u[MatchField.firstName.rawValue][4] > 0.02)
    #expect(abs(u[MatchField.stateID.rawValue][1] - 1.0 / 40) < 1e-9)
  }

  func records(_ edit: (inout PersonRecord) -> Void) -> (PersonRecord, PersonRecord) {
    var sis = PersonRecord(id: "100")
    sis.first = "ava"
    sis.last = "kim"
    sis.dob = "2016-05-01"
    sis.gender = "F"
    sis.street = "12 oak"
    sis.zip = "62701"
    sis.phone = "2175550101"
    sis.guardians = [.init(first: "grace", last: "kim", phone: "2175550199")]
    var submission = sis
    submission.id = "S-1/1"
    edit(&submission)
    return (submission, sis)
  }

  @Test func twinsNeverAutoMatch() {
    // Same birth date, same family, another given name: the twin guard, and with a plainly other name, another child.
    let (twin, sis) = records { $0.first = "ella" }
    let vector = ComparisonVector.compare(twin, sis)
    #expect(FellegiSunterMatcher.isTwin(vector))
    #expect(FellegiSunterMatcher.isOtherChild(vector))
    // A similar name (a typo or a look-alike twin name) is guarded but stays a candidate for review.
    let (similar, _) = records { $0.first = "avah" }
    #expect(ComparisonVector.compare(similar, sis)[.firstName] >= 1)
    let (close, _) = records { $0.first = "eva" }
    let closeVector = ComparisonVector.compare(close, sis)
    #expect(FellegiSunterMatcher.isTwin(closeVector))
    #expect(
      FellegiSunterMatcher.guards(close, sis, closeVector).contains {
        $0.hasPrefix("same birth date and family")
      })
    // A shared state id does not settle it: parents copy one twin's id onto the other's form.
    let (withID, sisWithID) = records {
      $0.first = "ella"
      $0.stateID = "123"
    }
    var sisID = sisWithID
    sisID.stateID = "123"
    #expect(FellegiSunterMatcher.isTwin(ComparisonVector.compare(withID, sisID)))
    // The twin guard says what differs, in words true of the names.
    func twinGuard(_ edit: (inout PersonRecord) -> Void) -> String? {
      let (form, record) = records(edit)
      return FellegiSunterMatcher.guards(form, record, ComparisonVector.compare(form, record))
        .first { $0.hasPrefix("same birth date and family") }
    }
    #expect(
      twinGuard { $0.first = "ella" }
        == "same birth date and family but different given names (a twin?)")
    #expect(
      twinGuard { $0.gender = "M" }
        == "same birth date and family but the same given name and another gender (a twin?)")
    #expect(
      twinGuard {
        $0.first = "avaa"
        $0.gender = "M"
      } == "same birth date and family but close given names and another gender (a twin?)")
    let (paired, pairedSIS) = records {
      $0.first = "alexandra"
      $0.gender = ""
    }
    var alexander = pairedSIS
    (alexander.first, alexander.gender) = ("alexander", "")
    #expect(
      FellegiSunterMatcher.guards(paired, alexander, ComparisonVector.compare(paired, alexander))
        .contains(
          "same birth date and family but given names that differ only in their last letters, as a twin boy's and girl's often do (a twin?)"
        ))
  }

  @Test func differentStateIDsNeverAutoMatch() {
    var (submission, sis) = records { $0.stateID = "111" }
    sis.stateID = "222"
    let guards = FellegiSunterMatcher.guards(
      submission, sis, ComparisonVector.compare(submission, sis))
    #expect(guards.contains { $0.hasPrefix("different state ids") })
  }

  @Test func aSiblingIsAnotherChildNotACandidate() {
    let (sibling, sis) = records {
      $0.first = "noah"
      $0.dob = "2019-09-12"
      $0.gender = "M"
    }
    #expect(FellegiSunterMatcher.isOtherChild(ComparisonVector.compare(sibling, sis)))
    // The same name and birth date on a form naming another home on every count compared (another
    // street, home phone and guardians): with `matching.namesakes: new`, another family's child.
    let (lookAlike, _) = records {
      $0.street = "9 elm"
      $0.phone = "3125550000"
      $0.guardians = [.init(first: "sam", last: "park", phone: "3125550001")]
    }
    let vector = ComparisonVector.compare(lookAlike, sis)
    var new = MatchingConfig()
    new.namesakes = .new
    #expect(
      FellegiSunterMatcher.otherChildRule(vector, config: new)
        == "another family's child: the same names and birth date, but the form names another home "
        + "(the same ZIP on another street, another home phone, no e-mail to compare, no guardian in common)"
    )
    // `namesakes: review`, the default: not another child outright (a child placed in another
    // family would become a second SIS student), and never automatic.
    let review = MatchingConfig()
    #expect(review.namesakes == .review)
    #expect(!FellegiSunterMatcher.isOtherChild(vector))
    #expect(!FellegiSunterMatcher.isOtherChild(vector, config: review))
    // In words true of the pair: what of the home was compared and how it came out.
    #expect(
      FellegiSunterMatcher.guards(lookAlike, sis, vector, config: review).contains(
        "no address, phone, e-mail or guardian links the homes (the same ZIP on another street, another home phone, no e-mail to compare, no guardian in common)"
      ))
    // Without its guardians the form does not name another home on every count: a person decides.
    var unnamed = lookAlike
    unnamed.guardians = []
    #expect(!FellegiSunterMatcher.isOtherChild(ComparisonVector.compare(unnamed, sis)))
  }

  @Test func matchingConfigIsReadAndChecked() throws {
    let yaml =
      "version: 1\nmatching:\n  method: fellegi-sunter\n  auto_match: 0.9999\n  review: 0.2\n"
    let config = try PipelineConfig.parse(bytes: Array(yaml.utf8), path: "/p.yaml")
    #expect(config.matcher == "fellegi-sunter")
    #expect(config.matching.autoMatch == 0.9999 && config.matching.review == 0.2)
    let bad = "version: 1\nmatching:\n  auto_match: 0.5\n  review: 0.6\n"
    #expect(throws: SISDropError.self) {
      try PipelineConfig.parse(bytes: Array(bad.utf8), path: "/p.yaml")
    }
  }
}
