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
/// ```
public struct MatchingConfig: Sendable, Hashable, Codable {
  public var method = "fellegi-sunter"  // the trusted matcher; placeholder stays selectable
  public var autoMatch = 0.999
  public var review = 0.05
  public var ambiguityMargin = 6.0
  public var maxCandidates = 1000

  public init() {}

  static let keys = ["method", "auto_match", "review", "ambiguity_margin", "max_candidates"]

  static func parse(_ node: ConfigNode) throws -> MatchingConfig {
    var config = MatchingConfig()
    let keys = try node.mapping(allowed: MatchingConfig.keys)
    if let method = keys["method"] {
      let name = try method.string()
      guard MatcherRegistry.names.contains(name) else {
        throw method.error("unknown matcher '\(name)'", hint: "one of: \(MatcherRegistry.names.joined(separator: ", "))")
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
      throw node.error("matching.review (\(config.review)) must be below matching.auto_match (\(config.autoMatch))")
    }
    if let value = keys["ambiguity_margin"] {
      guard let bits = Double(try value.string()), bits >= 0, bits <= 64 else { throw value.error("expected a number of bits, 0 to 64") }
      config.ambiguityMargin = bits
    }
    if let value = keys["max_candidates"] { config.maxCandidates = try value.int(in: 1...100_000) }
    return config
  }
}
