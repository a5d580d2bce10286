import Foundation
import SISDropCore
import SISDropFormats
import SISDropStore

/// The first matcher (issue "The whole pipeline"): deliberately simple, conservative rules.
///
/// 1. The same state id → `matched`; a different state id on an otherwise matching record
///    keeps that candidate `potential` (conflicting strong identifiers never auto-match).
/// 2. Exactly one SIS student with the same first-name key, last-name key and birth date → `matched`.
/// 3. Same last name and birth date, or same first initial, last name and gender → `potential`.
/// 4. Otherwise `new`.
final class PlaceholderMatcher: StudentMatcher {
  private let snapshot: Snapshot

  init(snapshot: Snapshot) throws { self.snapshot = snapshot }

  /// Nothing is learned from the batch: its chunks are passed by, none held.
  func prepare(chunks: (_ each: ([Submission]) throws -> Void) throws -> Void) throws
    -> MatcherReport?
  {
    try chunks { _ in }
    return nil
  }

  func match(_ student: SubmissionPart, in submission: Submission) throws -> MatchDecision {
    let stateID = student[FieldName.stateStudentNumber]
    let first = FieldRules.nameKey(student[FieldName.firstName])
    let last = FieldRules.nameKey(student[FieldName.lastName])
    let dob = student[FieldName.birthDate]
    let gender = student[FieldName.gender]

    if !stateID.isEmpty, let sis = try snapshot.student(stateID: stateID) {
      return MatchDecision(
        outcome: .matched, sisID: sis.id, score: 1, reasons: ["same state id \(stateID)"],
        candidates: [MatchCandidate(sisID: sis.id, score: 1, reasons: ["same state id"])],
        method: "placeholder:state-id")
    }

    var candidates: [String: (score: Double, reasons: [String])] = [:]
    func conflict(_ sis: SnapshotStudent) -> Bool {
      !stateID.isEmpty && !sis.stateID.isEmpty && sis.stateID != stateID
    }

    // Without a birth date on the form, names alone never match (an SIS birth date that is not a
    // date is missing in the snapshot: "" must not equal "").
    let exact = dob.isEmpty ? [] : try snapshot.students(firstKey: first, lastKey: last, dob: dob)
    let clean = exact.filter { !conflict($0) }
    if clean.count == 1 && exact.count == 1 {
      let sis = clean[0]
      return MatchDecision(
        outcome: .matched, sisID: sis.id, score: 0.9,
        reasons: ["same first name, last name and birth date"],
        candidates: [
          MatchCandidate(
            sisID: sis.id, score: 0.9, reasons: ["same first name, last name and birth date"])
        ],
        method: "placeholder:name-dob")
    }
    for sis in exact {
      var reasons = ["same first name, last name and birth date"]
      if conflict(sis) {
        reasons.append("but a different state id (\(sis.stateID)): never auto-matched")
      }
      if exact.count > 1 { reasons.append("\(exact.count) SIS students share name and birth date") }
      candidates[sis.id] = (0.9, reasons)
    }
    for sis in dob.isEmpty ? [] : try snapshot.students(lastKey: last, dob: dob)
    where candidates[sis.id] == nil {
      candidates[sis.id] = (
        0.6,
        ["same last name and birth date, first name differs"]
          + (conflict(sis) ? ["different state id"] : [])
      )
    }
    if let initial = first.first {
      for sis in try snapshot.students(lastKey: last, gender: gender)
      where candidates[sis.id] == nil && sis.firstKey.first == initial {
        candidates[sis.id] = (
          0.4,
          ["same first initial, last name and gender"]
            + (conflict(sis) ? ["different state id"] : [])
        )
      }
    }
    if candidates.isEmpty {
      return MatchDecision(
        outcome: .new, sisID: nil, score: 0, reasons: ["no SIS student shares the matching keys"],
        candidates: [],
        method: "placeholder")
    }
    let sorted = candidates.map {
      MatchCandidate(sisID: $0.key, score: $0.value.score, reasons: $0.value.reasons)
    }
    .sorted { ($0.score, $1.sisID) > ($1.score, $0.sisID) }
    return MatchDecision(
      outcome: .potential, sisID: nil, score: sorted[0].score,
      reasons: [
        "\(sorted.count) possible SIS record\(sorted.count == 1 ? "" : "s"): a person must choose Match or No Match"
      ],
      candidates: sorted, method: "placeholder")
  }
}
