import Foundation
import SISDropCore

/// Fellegi-Sunter weights: per field and agreement level, m = P(level | same child) and
/// u = P(level | different children); the weight of a level is log2(m / u).
///
/// Estimated as Splink does: u from random pairs of SIS students (almost all pairs are different
/// children), m by expectation-maximisation over the blocked candidate pairs with u held fixed.
/// A Dirichlet prior (the judgment in `MatchField.priorM`, worth `priorStrength` pairs) keeps a
/// small batch from learning nonsense; a large one overrides it.
package struct FellegiSunterModel: Sendable, Codable {
  package var m: [[Double]]
  package var u: [[Double]]
  /// Prior probability that a candidate pair is a match (λ).
  package var lambda: Double
  package var emIterations = 0
  package var trainingPairs = 0
  /// Term frequencies of exact names in the SIS (value → share of students), for the rare-name bonus.
  var firstNameFrequency: [String: Double] = [:]
  var lastNameFrequency: [String: Double] = [:]

  static let priorStrength = 100.0
  /// A factor on each field's weight (`matching.weights`), by `MatchField.rawValue`.
  var weightFactors = [Double](repeating: 1, count: MatchField.allCases.count)

  package init(u: [[Double]]) {
    m = MatchField.allCases.map(\.priorM)
    self.u = u
    lambda = 0.1
  }

  /// Pairs the prior u is worth: a large SIS sample (hundreds of thousands of pairs) overrides it,
  /// a handful of SIS students does not.
  static let priorUStrength = 1000.0

  /// u from pairs of records that are almost all different people, blended with the prior u.
  static func estimateU(sample: [PersonRecord], population: Int) throws -> [[Double]] {
    // The pair triangle on every core, row k paired with row n-1-k so that chunks weigh the same;
    // whole-number counts, so the order of the sums does not matter.
    let n = sample.count
    let parts = try Parallel.chunks((n + 1) / 2, minimum: 16) { rows -> [[Int]] in
      var counts = MatchField.allCases.map { [Int](repeating: 0, count: $0.levels.count) }
      for k in rows {
        for i in Set([k, n - 1 - k]) {
          for j in (i + 1)..<n {
            let vector = ComparisonVector.compare(sample[i], sample[j])
            for field in MatchField.allCases where vector[field] >= 0 {
              counts[field.rawValue][vector[field]] += 1
            }
          }
        }
      }
      return counts
    }
    var counts = MatchField.allCases.map { [Double](repeating: 0, count: $0.levels.count) }
    for part in parts {
      for field in part.indices {
        for level in part[field].indices { counts[field][level] += Double(part[field][level]) }
      }
    }
    return MatchField.allCases.map { field in
      let row = counts[field.rawValue]
      let total = row.reduce(0, +)
      let prior = field.priorU
      var u = row.indices.map { (row[$0] + priorUStrength * prior[$0]) / (total + priorUStrength) }
      if field == .stateID {
        // Two children never share a state id: the chance of equal ids by accident is about 1 / population.
        u = [1 - 1 / Double(max(population, 2)), 1 / Double(max(population, 2))]
      }
      return u
    }
  }

  /// EM over pattern counts with u fixed, as one of Splink's training sessions: the fields the
  /// session's pairs were blocked on are left out (every pair agrees on them, so they say nothing
  /// and cannot be learned there). Stops when λ and m change by less than 1e-6.
  mutating func estimateM(
    _ patterns: [Int: (vector: ComparisonVector, count: Int)], excluding excluded: Set<MatchField>,
    maxIterations: Int = 50
  ) {
    let total = Double(patterns.values.reduce(0) { $0 + $1.count })
    trainingPairs += Int(total)
    guard total > 0 else { return }
    let priors = MatchField.allCases.map(\.priorM)
    // λ is held at a deterministic estimate (as Splink estimates it apart from EM): left free, a
    // session whose pairs are mostly different children (common names in a large SIS) can slide to
    // "everything matches" and learn nonsense m.
    let sessionLambda = FellegiSunterModel.deterministicLambda(patterns)
    // Sums in key order: a Dictionary's order changes between runs, and float sums in another order
    // would change the last digits of the weights (the stage outputs must be byte-identical).
    let ordered = patterns.sorted { $0.key < $1.key }.map(\.value)
    for iteration in 1...maxIterations {
      var mass = MatchField.allCases.map { [Double](repeating: 0, count: $0.levels.count) }
      for entry in ordered {
        var bits = log2(sessionLambda / (1 - sessionLambda))
        for field in MatchField.allCases where entry.vector[field] >= 0 && !excluded.contains(field)
        { bits += weight(field, entry.vector[field]) }
        let weighted = FellegiSunterModel.probability(bits: bits) * Double(entry.count)
        for field in MatchField.allCases where entry.vector[field] >= 0 {
          mass[field.rawValue][entry.vector[field]] += weighted
        }
      }
      var change = 0.0
      for field in MatchField.allCases where !excluded.contains(field) {
        let row = mass[field.rawValue]
        let sum = row.reduce(0, +)
        let updated = row.indices.map {
          (row[$0] + FellegiSunterModel.priorStrength * priors[field.rawValue][$0])
            / (sum + FellegiSunterModel.priorStrength)
        }
        for level in updated.indices {
          change = max(change, abs(updated[level] - m[field.rawValue][level]))
        }
        m[field.rawValue] = updated
      }
      emIterations += 1
      if change < 1e-6 || iteration == maxIterations { break }
    }
  }

  /// λ, the share of matches among the candidate pairs, from pairs that a deterministic rule calls
  /// the same child (the same state id, or the same first name, surname and birth date), scaled up
  /// for that rule's recall (0.8, about the share of returning children with their state id or exact
  /// names and birth date). Splink's `estimate_probability_two_random_records_match`, on candidate pairs.
  static func deterministicLambda(_ patterns: [Int: (vector: ComparisonVector, count: Int)])
    -> Double
  {
    var sure = 0
    var total = 0
    for entry in patterns.values {
      total += entry.count
      let v = entry.vector
      if v[.stateID] == 1 || (v[.firstName] == 4 && v[.lastName] == 4 && v[.birthDate] == 4) {
        sure += entry.count
      }
    }
    guard total > 0 else { return 0.1 }
    return min(max(Double(sure) / 0.8 / Double(total), 1e-4), 0.9)
  }

  mutating func estimateLambda(_ patterns: [Int: (vector: ComparisonVector, count: Int)]) {
    lambda = FellegiSunterModel.deterministicLambda(patterns)
  }

  package func weight(_ field: MatchField, _ level: Int) -> Double {
    log2(m[field.rawValue][level] / u[field.rawValue][level])
  }

  /// The weight of an exact name, adjusted for how common the name is (Splink's term-frequency
  /// adjustment): a shared rare name is stronger evidence than a shared common one.
  func exactNameWeight(_ field: MatchField, value: String) -> Double {
    let frequencies = field == .firstName ? firstNameFrequency : lastNameFrequency
    guard let frequency = frequencies[value] else { return weight(field, 4) }
    let floor = u[field.rawValue][4] * 0.05
    return log2(m[field.rawValue][4] / max(frequency, floor))
  }

  /// Total match weight in bits, prior included; per field in `parts`.
  func score(_ vector: ComparisonVector, first: String? = nil, last: String? = nil) -> (
    total: Double, parts: [Double?]
  ) {
    var total = log2(lambda / (1 - lambda))
    var parts = [Double?](repeating: nil, count: MatchField.allCases.count)
    for field in MatchField.allCases where vector[field] >= 0 {
      var w = weight(field, vector[field])
      if vector[field] == 4, !vector.namesSwapped {
        if field == .firstName, let first { w = exactNameWeight(field, value: first) }
        if field == .lastName, let last { w = exactNameWeight(field, value: last) }
      }
      w *= weightFactors[field.rawValue]
      parts[field.rawValue] = w
      total += w
    }
    return (total, parts)
  }

  /// `score`'s total for many pairs: each field's weight of each level worked out once (the model
  /// is fixed while the batch is decided), and a student's exact names once for all its pairs
  /// (`exact`). The same operations in the same order as `score`, so the same bits; without its
  /// per-field array and a `log2` per field and pair, which deciding paid for every candidate pair
  /// (`scripts/bench/match.sh`).
  struct Totals: Sendable {
    let prior: Double
    /// Field `f`, level `l` at `f * Totals.stride + l`: the weight times the field's factor.
    let weights: [Double]
    static let stride = 8
    let factors: [Double]
    let model: FellegiSunterModel

    init(_ model: FellegiSunterModel) {
      prior = log2(model.lambda / (1 - model.lambda))
      var weights = [Double](repeating: 0, count: MatchField.allCases.count * Totals.stride)
      for field in MatchField.allCases {
        for level in field.levels.indices {
          weights[field.rawValue * Totals.stride + level] =
            model.weight(field, level) * model.weightFactors[field.rawValue]
        }
      }
      self.weights = weights
      factors = model.weightFactors
      self.model = model
    }

    /// A student's exact given name and surname weights (level 4, not swapped), times their factors.
    func exact(first: String, last: String) -> (first: Double, last: Double) {
      (
        model.exactNameWeight(.firstName, value: first) * factors[MatchField.firstName.rawValue],
        model.exactNameWeight(.lastName, value: last) * factors[MatchField.lastName.rawValue]
      )
    }

    func total(_ vector: ComparisonVector, exact: (first: Double, last: Double)) -> Double {
      var total = prior
      for field in MatchField.allCases {
        let level = vector[field]
        guard level >= 0 else { continue }
        if level == 4, !vector.namesSwapped, field == .firstName {
          total += exact.first
        } else if level == 4, !vector.namesSwapped, field == .lastName {
          total += exact.last
        } else {
          total += weights[field.rawValue * Totals.stride + level]
        }
      }
      return total
    }
  }

  func probability(_ vector: ComparisonVector) -> Double {
    Self.probability(bits: score(vector).total)
  }

  static func probability(bits: Double) -> Double { 1 / (1 + pow(2, -bits)) }
}
