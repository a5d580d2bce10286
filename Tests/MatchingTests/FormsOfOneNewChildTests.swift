import SISDropConfig
import SISDropCore
import Testing

@testable import SISDropMatching

/// `FormsOfOneNewChild.Filed`: the batch's new children filed by identity keys, and the forms of
/// earlier batches read one at a time (the match stage's `awaitingDeliveredNewChildren`). It must
/// find exactly the pairs `related` finds between the two groups.
@Suite struct FormsOfOneNewChildTests {
  /// Look-alike children from small pools (names, sounds, birth dates a digit, a swap or a year
  /// apart, shared homes and state ids), so that many share keys and many relate.
  static func people(_ count: Int, seed: UInt64) -> [PersonRecord] {
    var random = SplitMix64(state: seed)
    let firsts = ["ava", "eva", "ana", "noah", "noa", "liam", "mia", "maya", "olivia", "oliver"]
    let lasts = ["kim", "kym", "smith", "smyth", "garcia", "garza", "lee", "li"]
    let dobs = [
      "2016-05-01", "2016-05-07", "2016-01-05", "2017-05-01", "2015-05-01", "2016-05-11",
      "2018-02-03", "2018-03-02", "2019-12-30",
    ]
    return (0..<count).map { index in
      var person = PersonRecord(id: "P-\(index)/1")
      person.first = random.pick(firsts)
      person.last = random.pick(lasts)
      person.dob = random.chance(0.05) ? "05/01/2016" : random.pick(dobs)
      person.gender = random.pick(["F", "M", ""])
      person.stateID = random.chance(0.3) ? random.pick(["1234567890", "1234567899", ""]) : ""
      person.street = random.pick(["12 oak", "14 elm", "3 main"])
      person.zip = random.pick(["62701", "62702"])
      person.phone = random.chance(0.5) ? random.pick(["2175550101", "2175550202"]) : ""
      if random.chance(0.6) {
        person.guardians = [.init(first: "grace", last: person.last, phone: "2175550199")]
      }
      return person
    }
  }

  @Test func theFiledFormsFindThePairsRelatedFindsBetweenTheTwoGroups() {
    let config = MatchingConfig()
    for seed: UInt64 in [1, 2] {
      let people = Self.people(120, seed: seed)
      let forms = 40
      let expected = FormsOfOneNewChild.related(
        people, config: config, pairable: { $0 < forms && $1 >= forms })
      let filed = FormsOfOneNewChild.Filed(Array(people[..<forms]))
      var found: [(i: Int, j: Int, relation: FormsOfOneNewChild.Relation)] = []
      for j in forms..<people.count {
        for pair in filed.related(to: people[j], config: config) {
          found.append((pair.i, j, pair.relation))
        }
      }
      found.sort { ($0.i, $0.j) < ($1.i, $1.j) }
      #expect(expected.contains { $0.relation == .sameChild }, "seed \(seed): no same child")
      #expect(expected.contains { $0.relation != .sameChild }, "seed \(seed): no resemblance")
      #expect(found.count == expected.count, "seed \(seed)")
      #expect(
        zip(found, expected).allSatisfy {
          $0.i == $1.i && $0.j == $1.j && $0.relation == $1.relation
        }, "seed \(seed)")
      // `wanted` leaves out the filed forms it refuses, and only those.
      let even = filed.related(to: people[forms], config: config, wanted: { $0 % 2 == 0 })
      #expect(
        even.map(\.i)
          == filed.related(to: people[forms], config: config).map(\.i).filter { $0 % 2 == 0 })
    }
  }
}
