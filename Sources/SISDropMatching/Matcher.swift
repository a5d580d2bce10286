import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore

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
  /// Per-field agreement level and weight (probabilistic matchers; absent for the placeholder).
  public var comparisons: [FieldComparison]? = nil
  /// Total match weight in bits (log2 of the odds), prior included.
  public var matchWeight: Double? = nil
  /// The blocking passes that found this candidate.
  public var blockedBy: [String]? = nil
  /// Guards that keep this candidate from being matched automatically, whatever its score.
  public var guards: [String]? = nil

  public init(sisID: String, score: Double, reasons: [String]) {
    self.sisID = sisID
    self.score = score
    self.reasons = reasons
  }
}

/// How one field of a pair compared: the agreement level and its weight in bits.
public struct FieldComparison: Sendable, Codable, Hashable {
  public var field: String
  public var level: String
  /// log2(m / u); nil when a value is missing on either side (no evidence either way).
  public var weight: Double?
}

/// The thresholds a decision was taken against (match probabilities).
public struct MatchThresholds: Sendable, Codable, Hashable {
  public var autoMatch: Double
  public var review: Double
  public var ambiguityMargin: Double
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
  /// The thresholds of a probabilistic matcher (absent for the placeholder).
  public var thresholds: MatchThresholds? = nil

  public init(
    outcome: MatchOutcome, sisID: String?, score: Double, reasons: [String],
    candidates: [MatchCandidate], method: String
  ) {
    self.outcome = outcome
    self.sisID = sisID
    self.score = score
    self.reasons = reasons
    self.candidates = candidates
    self.method = method
  }
}

/// What a matcher learned about a batch: blocking counts and its model, written to `30-match/matcher.json`.
public struct MatcherReport: Sendable, Codable {
  public var method: String
  /// Candidate pairs found by each blocking pass (a pair found by two passes counts in both).
  public var blockingPairs: [String: Int] = [:]
  public var distinctPairs = 0
  public var studentsWithoutCandidates = 0
  public var studentsOverCandidateCap = 0
  public var sisStudents = 0
  public var model: FellegiSunterModelSummary?
  public var seconds: [String: Double] = [:]
}

/// The estimated model in readable form: per field and level, m, u and the weight.
public struct FellegiSunterModelSummary: Sendable, Codable {
  public struct Level: Sendable, Codable {
    public var field: String, level: String
    public var m: Double, u: Double, weight: Double
  }
  public var lambda: Double
  public var emIterations: Int
  public var trainingPairs: Int
  public var levels: [Level]
}

/// Matches submission students against the SIS snapshot. The match stage knows only this
/// interface, so a better matcher replaces the placeholder without touching the stage.
public protocol StudentMatcher {
  /// Sees the whole batch before any decision (a probabilistic matcher blocks and learns here).
  func prepare(_ submissions: [Submission]) throws -> MatcherReport?
  /// Decides one student of a submission; `student` holds normalized fields.
  func match(_ student: SubmissionPart, in submission: Submission) throws -> MatchDecision
}

extension StudentMatcher {
  public func prepare(_ submissions: [Submission]) throws -> MatcherReport? { nil }
}

/// The matchers a pipeline may name in `matching.method`.
public enum MatcherRegistry {
  public static let names = MatchingConfig.methods

  /// `decideChunk`: students decided at once (the tests show any size decides the same).
  package static func make(
    _ name: String, snapshot: Snapshot, config: MatchingConfig = MatchingConfig(),
    decideChunk: Int = 1000
  ) throws -> StudentMatcher {
    switch name {
    case "placeholder": return try PlaceholderMatcher(snapshot: snapshot)
    case "fellegi-sunter":
      return FellegiSunterMatcher(snapshot: snapshot, config: config, decideChunk: decideChunk)
    default: throw SISDropError.configuration("unknown matcher '\(name)'", at: nil)
    }
  }
}
