import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore

/// The three outcomes of matching one submission student against the SIS (the seed's orbs).
package enum MatchOutcome: String, Sendable, Codable, CaseIterable {
  /// Safe to update that SIS record.
  case matched
  /// A person must choose: Match to one candidate, or No Match (the yellow orb).
  case potential
  /// A new SIS record will be created.
  case new
}

/// One SIS record considered for a submission student, with why.
package struct MatchCandidate: Sendable, Codable, Hashable {
  package var sisID: String
  package var score: Double
  package var reasons: [String]
  /// Per-field agreement level and weight (probabilistic matchers; absent for the placeholder).
  package var comparisons: [FieldComparison]? = nil
  /// Total match weight in bits (log2 of the odds), prior included.
  package var matchWeight: Double? = nil
  /// The blocking passes that found this candidate.
  package var blockedBy: [String]? = nil
  /// Guards that keep this candidate from being matched automatically, whatever its score.
  package var guards: [String]? = nil

  package init(sisID: String, score: Double, reasons: [String]) {
    self.sisID = sisID
    self.score = score
    self.reasons = reasons
  }
}

/// How one field of a pair compared: the agreement level and its weight in bits.
package struct FieldComparison: Sendable, Codable, Hashable {
  package var field: String
  package var level: String
  /// log2(m / u); nil when a value is missing on either side (no evidence either way).
  package var weight: Double?
}

/// The thresholds a decision was taken against (match probabilities).
package struct MatchThresholds: Sendable, Codable, Hashable {
  package var autoMatch: Double
  package var review: Double
  package var ambiguityMargin: Double
}

/// A matcher's decision for one student: outcome, the SIS id when matched, candidates and reasons.
package struct MatchDecision: Sendable, Codable, Hashable {
  package var outcome: MatchOutcome
  package var sisID: String?
  package var score: Double
  package var reasons: [String]
  package var candidates: [MatchCandidate]
  /// The rule or method that decided, for the explanation.
  package var method: String
  /// The thresholds of a probabilistic matcher (absent for the placeholder).
  package var thresholds: MatchThresholds? = nil

  package init(
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
package struct MatcherReport: Sendable, Codable {
  package var method: String
  /// Candidate pairs found by each blocking pass (a pair found by two passes counts in both).
  package var blockingPairs: [String: Int] = [:]
  package var distinctPairs = 0
  package var studentsWithoutCandidates = 0
  package var studentsOverCandidateCap = 0
  package var sisStudents = 0
  package var model: FellegiSunterModelSummary?
  package var seconds: [String: Double] = [:]
}

/// The estimated model in readable form: per field and level, m, u and the weight.
package struct FellegiSunterModelSummary: Sendable, Codable {
  package struct Level: Sendable, Codable {
    package var field: String, level: String
    package var m: Double, u: Double, weight: Double
  }
  package var lambda: Double
  package var emIterations: Int
  package var trainingPairs: Int
  package var levels: [Level]
}

/// Matches submission students against the SIS snapshot. The match stage knows only this
/// interface, so a better matcher replaces the placeholder without touching the stage.
package protocol StudentMatcher {
  /// Sees the whole batch before any decision (a probabilistic matcher blocks and learns here).
  func prepare(_ submissions: [Submission]) throws -> MatcherReport?
  /// The same, the batch handed over a chunk at a time: `chunks` calls its argument with each
  /// chunk, in batch order, and is called once. The caller need not hold the batch whole as
  /// `Submission`s meanwhile.
  func prepare(chunks: (_ each: ([Submission]) throws -> Void) throws -> Void) throws
    -> MatcherReport?
  /// Decides one student of a submission; `student` holds normalized fields.
  func match(_ student: SubmissionPart, in submission: Submission) throws -> MatchDecision
  /// While on, `match` may leave out of its decisions what explains them (the candidates' reasons,
  /// field comparisons and passes): the outcome, SIS id, score and the candidates' ids and scores
  /// are the same either way. For a caller that reads only those (`MatchStage` decides the batch
  /// twice: first for the outcomes, then in full beside the submissions).
  func outcomesOnly(_ on: Bool)
}

extension StudentMatcher {
  package func prepare(_ submissions: [Submission]) throws -> MatcherReport? { nil }

  package func outcomesOnly(_ on: Bool) {}

  /// The chunks joined, for a matcher that takes the batch whole.
  package func prepare(chunks: (_ each: ([Submission]) throws -> Void) throws -> Void) throws
    -> MatcherReport?
  {
    var submissions: [Submission] = []
    try chunks { submissions += $0 }
    return try prepare(submissions)
  }
}

/// The matchers a pipeline may name in `matching.method`.
package enum MatcherRegistry {
  package static let names = MatchingConfig.methods

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
