import Foundation

/// The three outcomes of matching one submission student against the SIS (the seed's orbs).
public enum MatchOutcome: String, Sendable, Codable, CaseIterable {
  /// Safe to update that SIS record.
  case matched
  /// A person must choose: Match to one candidate, or No Match (the yellow orb).
  case potential
  /// A new SIS record will be created.
  case new
}

/// One SIS record considered for a submission student, with why.
public struct MatchCandidate: Sendable, Codable, Hashable {
  public var sisID: String
  public var score: Double
  public var reasons: [String]
}

/// A matcher's decision for one student: outcome, the SIS id when matched, candidates and reasons.
public struct MatchDecision: Sendable, Codable, Hashable {
  public var outcome: MatchOutcome
  public var sisID: String?
  public var score: Double
  public var reasons: [String]
  public var candidates: [MatchCandidate]
  /// The rule or method that decided, for the explanation.
  public var method: String
}

/// Matches submission students against the SIS snapshot. The match stage knows only this
/// interface, so a better matcher replaces the placeholder without touching the stage.
public protocol StudentMatcher {
  /// Decides one student of a submission; `student` holds normalized fields.
  func match(_ student: SubmissionPart, in submission: Submission) throws -> MatchDecision
}

/// The matchers a pipeline may name in `matching.method`.
public enum MatcherRegistry {
  public static let names = ["placeholder"]

  static func make(_ name: String, snapshot: Snapshot) throws -> StudentMatcher {
    switch name {
    case "placeholder": return try PlaceholderMatcher(snapshot: snapshot)
    default: throw SISDropError.configuration("unknown matcher '\(name)'", at: nil)
    }
  }
}
