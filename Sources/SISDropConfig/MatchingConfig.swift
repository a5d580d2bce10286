import Foundation

/// The pipeline's `matching:` section: which matcher, and the thresholds of the probabilistic one.
///
/// ```yaml
/// matching:
///   method: fellegi-sunter     # the default; or placeholder (the first, rule-based one)
///   auto_match: 0.999          # match probability at or above which a candidate is matched
///   review: 0.05               # at or above which it goes to a person (below: new)
///   ambiguity_margin: 6        # bits the best candidate must lead the next reviewable one by
///   max_candidates: 1000       # per submission student, after blocking
///   auto_without_household: true   # names + birth date + an address up to a typo may match alone
///   auto_address: all_but_one_part   # all_but_one_part | up_to_a_typo: how much of the address that needs
///   twins: review_without_household  # new | review | review_without_household: an SIS child's twin (same birth date and home, another given name)
///   forms_of_one_child: match  # match | review: several forms of a batch for one SIS child that agree with each other
///   namesakes: review          # review | new: an SIS child's names and birth date on a form naming another home
///   weights:                   # a field's weight in bits is multiplied by this (0 to 4; 1 when absent)
///     gender: 1
/// ```
package struct MatchingConfig: Sendable, Hashable, Codable {
  /// The matchers `method` may name (`MatcherRegistry` makes them).
  package static let methods = ["placeholder", "fellegi-sunter"]
  /// The fields the matcher compares, as `weights` names them (`MatchField`, in its order).
  package static let fieldNames = [
    "state_id", "first_name", "last_name", "birth_date", "gender", "address", "phone", "email",
    "guardians",
  ]

  package var method = "fellegi-sunter"  // the trusted matcher; placeholder stays selectable
  package var autoMatch = 0.999
  package var review = 0.05
  package var ambiguityMargin = 6.0
  package var maxCandidates = 1000
  /// A candidate whose names and birth date agree (gender too where both have one) with an address
  /// that agrees up to a typo may be matched automatically when no phone, e-mail or guardian links
  /// the homes (forms without them, or with new ones), provided no other candidate competes and the
  /// SIS has no child with the candidate's birth date and home. Off: such a child goes to a person.
  package var autoWithoutHousehold = true
  /// The address `autoWithoutHousehold` needs: `all_but_one_part` (the default) reads "an address
  /// that agrees up to typos" part by part — house number, street, city and ZIP (and the state
  /// where both have one) agree (house number and ZIP exactly, street and city up to a typo), all
  /// but one of them at most: a street line replaced while house number, city and ZIP agree, or a
  /// ZIP replaced while house number, street and city agree; and where the street line and ZIP do
  /// not agree up to one typo together, the form names no other home phone, e-mail or guardian.
  /// Records are mistyped field by field: on FEBRL3 every child held for "another street with
  /// nothing else to compare" was the candidate (`scripts/bench/febrl.sh`). Two parts or more that
  /// differ (a move) stay with a person. `up_to_a_typo`: the street line and ZIP together agree up
  /// to one typo (the rule before).
  package var autoAddress = AutoAddressPolicy.allButOnePart
  /// What a child with an SIS child's birth date, surname or home and a plainly different given name
  /// is: `new` (another child, the twin), `review` (a person decides; the SIS record may be this child
  /// under another given name), or `review_without_household` (the default): a person decides when
  /// the genders do not tell them apart and the form names no guardian, home phone or e-mail, and the
  /// SIS does not have the candidate's twin; otherwise new.
  package var twins = TwinPolicy.reviewWithoutHousehold
  /// Several forms of one batch auto-matched to the same SIS student: `match` (the default) matches
  /// them all when they agree with each other on the child (the same child submitted again; the
  /// latest form's update is delivered), `review` sends them all to a person, as forms that do not
  /// agree always are.
  package var formsOfOneChild = FormsOfOneChildPolicy.match
  /// A child with an SIS child's names and birth date whose form names another home on every count
  /// compared (another address, another home phone, guardians on both sides and none in common):
  /// `review` (the default: a person decides; a child placed in another family, e.g. a foster
  /// placement, would otherwise become a second SIS student) or `new` (another family's child, as a
  /// one-digit birth date with another home is).
  package var namesakes = NamesakePolicy.review
  /// Per field (`MatchField.name`), a factor on its weight in bits: 1 unless configured.
  package var weights: [String: Double] = [:]

  package enum TwinPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case new, review
    case reviewWithoutHousehold = "review_without_household"
  }

  package enum AutoAddressPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case allButOnePart = "all_but_one_part"
    case upToATypo = "up_to_a_typo"
  }

  package enum FormsOfOneChildPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case match, review
  }

  package enum NamesakePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case new, review
  }

  package init() {}

  static let keys = [
    "method", "auto_match", "review", "ambiguity_margin", "max_candidates",
    "auto_without_household", "auto_address", "twins", "forms_of_one_child", "namesakes", "weights",
  ]

  /// The factor on each field's weight, by `MatchField.rawValue`.
  package var weightFactors: [Double] { MatchingConfig.fieldNames.map { weights[$0] ?? 1 } }

  static func parse(_ node: ConfigNode) throws -> MatchingConfig {
    var config = MatchingConfig()
    let keys = try node.mapping(allowed: MatchingConfig.keys)
    if let method = keys["method"] {
      let name = try method.string()
      guard MatchingConfig.methods.contains(name) else {
        throw method.error(
          "unknown matcher '\(name)'",
          hint: "one of: \(MatchingConfig.methods.joined(separator: ", "))")
      }
      config.method = name
    }
    func probability(_ node: ConfigNode) throws -> Double {
      guard let value = Double(try node.string()), value > 0, value < 1 else {
        throw node.error("expected a probability between 0 and 1 (exclusive), e.g. 0.999")
      }
      return value
    }
    if let value = keys["auto_match"] { config.autoMatch = try probability(value) }
    if let value = keys["review"] { config.review = try probability(value) }
    if config.review >= config.autoMatch, let node = keys["review"] ?? keys["auto_match"] {
      throw node.error(
        "matching.review (\(config.review)) must be below matching.auto_match (\(config.autoMatch))"
      )
    }
    if let value = keys["ambiguity_margin"] {
      guard let bits = Double(try value.string()), bits >= 0, bits <= 64 else {
        throw value.error("expected a number of bits, 0 to 64")
      }
      config.ambiguityMargin = bits
    }
    if let value = keys["max_candidates"] { config.maxCandidates = try value.int(in: 1...100_000) }
    if let value = keys["auto_without_household"] { config.autoWithoutHousehold = try value.bool() }
    if let value = keys["auto_address"] {
      config.autoAddress = try value.choice(AutoAddressPolicy.self)
    }
    if let value = keys["twins"] { config.twins = try value.choice(TwinPolicy.self) }
    if let value = keys["namesakes"] { config.namesakes = try value.choice(NamesakePolicy.self) }
    if let value = keys["forms_of_one_child"] {
      config.formsOfOneChild = try value.choice(FormsOfOneChildPolicy.self)
    }
    if let value = keys["weights"] {
      for (field, factor) in try value.mapping(allowed: MatchingConfig.fieldNames) {
        guard let number = Double(try factor.string()), number >= 0, number <= 4 else {
          throw factor.error(
            "expected a factor from 0 to 4 (1 keeps the estimated weight, 0 ignores the field)")
        }
        config.weights[field] = number
      }
    }
    return config
  }
}
