import SISDropConfig

/// Children the SIS does not know, named on several forms: two forms of one batch for one new
/// child, or a form for a child a delivery has created and no SIS export has shown yet, must not
/// make two SIS students. Forms are compared with each other as a form is compared with an SIS
/// record (`FellegiSunterMatcher.formsDisagree`, `resemblance`), pairs found by the identity
/// blocking passes (state id, birth date and name sounds, name sounds and year or birthday, name
/// sounds and ZIP; not the household passes, which pair siblings).
package enum FormsOfOneNewChild {
  /// How two forms' children relate.
  package enum Relation: Sendable, Equatable {
    /// They agree as forms of one child must: the same child.
    case sameChild
    /// They do not agree, but closely resemble each other (`resemblance`), or carry the same names
    /// and birth date at two homes with `namesakes: review`: a person decides.
    case resembles(String)
  }

  package static func relation(
    _ a: PersonRecord, _ b: PersonRecord, config: MatchingConfig
  ) -> Relation? {
    let vector = ComparisonVector.compare(a, b)
    guard let why = FellegiSunterMatcher.formsDisagree(vector) else { return .sameChild }
    if FellegiSunterMatcher.resemblance(vector) != nil {
      return .resembles(why)
    }
    if config.namesakes == .review && vector[.firstName] >= 2 && vector[.lastName] >= 2
      && vector[.birthDate] == 4 && vector[.gender] != 0 && vector[.stateID] != 0
    {
      return .resembles(why)
    }
    return nil
  }

  /// The pairs (i < j) of `people` whose identity blocking keys meet, each with its relation;
  /// pairs that are neither the same child nor resemble each other are left out. `pairable` says
  /// which pairs to compare at all (for example: forms of two different submissions).
  package static func related(
    _ people: [PersonRecord], config: MatchingConfig,
    pairable: (Int, Int) -> Bool = { _, _ in true }
  ) -> [(i: Int, j: Int, relation: Relation)] {
    var buckets: [UInt64: [Int]] = [:]
    for (index, person) in people.enumerated() {
      for key in identityKeys(person) { buckets[key, default: []].append(index) }
    }
    var seen = Set<Int>()
    var result: [(i: Int, j: Int, relation: Relation)] = []
    for members in buckets.values where members.count > 1 {
      for a in members.indices {
        for b in members.indices where b > a {
          let (i, j) = (min(members[a], members[b]), max(members[a], members[b]))
          guard i != j, pairable(i, j), seen.insert(i * people.count + j).inserted else {
            continue
          }
          if let relation = relation(people[i], people[j], config: config) {
            result.append((i, j, relation))
          }
        }
      }
    }
    return result.sorted { ($0.i, $0.j) < ($1.i, $1.j) }
  }

  /// A form's identity blocking keys: every blocking key but the household passes' (phone,
  /// address, e-mail), which pair every sibling with every other.
  static func identityKeys(_ person: PersonRecord) -> Set<UInt64> {
    var keys = Set<UInt64>()
    FellegiSunterMatcher.forEachBlockingKey(person, query: true) { pass, key in
      if pass != 4 && pass != 5 { keys.insert(key) }
    }
    return keys
  }

  /// Forms filed by their identity blocking keys, for the pairs `related` would find between them
  /// and forms read one at a time afterwards (the forms of earlier batches, read a chunk at a time
  /// and not held): only the pairs of a filed form and a form read are compared, never two forms
  /// read, so the work grows with the forms read, not with their square.
  package struct Filed {
    let people: [PersonRecord]
    let buckets: [UInt64: [Int]]

    package init(_ people: [PersonRecord]) {
      self.people = people
      var buckets: [UInt64: [Int]] = [:]
      for (index, person) in people.enumerated() {
        for key in identityKeys(person) { buckets[key, default: []].append(index) }
      }
      self.buckets = buckets
    }

    /// The filed forms (their places, in order) whose identity keys meet `other`'s, each with its
    /// relation (filed form first, as `related` compares a pair `i < j`); those neither the same
    /// child nor resembling it are left out. `wanted` says which filed forms to compare at all.
    package func related(
      to other: PersonRecord, config: MatchingConfig, wanted: (Int) -> Bool = { _ in true }
    ) -> [(i: Int, relation: Relation)] {
      var places = Set<Int>()
      for key in identityKeys(other) {
        for index in buckets[key] ?? [] where wanted(index) { places.insert(index) }
      }
      return places.sorted().compactMap { index in
        FormsOfOneNewChild.relation(people[index], other, config: config).map { (index, $0) }
      }
    }
  }

  /// Forms linked by `related` pairs, as groups of indices (each sorted, groups in order of their
  /// first member): one child, or children a person must tell apart.
  package static func groups(
    count: Int, pairs: [(i: Int, j: Int, relation: Relation)]
  ) -> [[Int]] {
    var parent = Array(0..<count)
    func root(_ x: Int) -> Int {
      var x = x
      while parent[x] != x {
        parent[x] = parent[parent[x]]
        x = parent[x]
      }
      return x
    }
    for pair in pairs { parent[root(pair.i)] = root(pair.j) }
    var members: [Int: [Int]] = [:]
    for index in 0..<count { members[root(index), default: []].append(index) }
    return members.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
  }
}
