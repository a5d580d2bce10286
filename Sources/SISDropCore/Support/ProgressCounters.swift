import Synchronization

/// The figures behind a stage's progress line (`StageProgress`), counted where the work happens:
/// the table and stage-file readers count records and bytes, match and deliver count steps.
/// Process-wide and relaxed: progress figures, not accounts.
package enum ProgressCounters {
  /// Records and input bytes read by the table readers in this process (relaxed: progress figures, not accounts).
  package static let recordsRead = Atomic<Int>(0)
  package static let bytesConsumed = Atomic<Int>(0)
  /// Work through submissions (match, deliver): steps done and steps in all, `passes` steps a submission.
  package static let stepsDone = Atomic<Int>(0)
  package static let stepsTotal = Atomic<Int>(0)
  package static let passes = Atomic<Int>(1)

  /// Called by the table readers for every record, with the input bytes consumed since the last call.
  @inline(__always) package static func recordRead(bytes: Int64) {
    recordsRead.add(1, ordering: .relaxed)
    if bytes > 0 { bytesConsumed.add(Int(bytes), ordering: .relaxed) }
  }

  /// Called by the stage file readers for a run of records.
  package static func recordsRead(_ count: Int, bytes: Int) {
    recordsRead.add(count, ordering: .relaxed)
    bytesConsumed.add(bytes, ordering: .relaxed)
  }

  /// A stage about to work through `submissions`, each in `passes` steps: from now on its share
  /// done is the steps done over all of them, and its records the submissions worked through.
  package static func expect(submissions: Int, passes: Int = 1) {
    stepsDone.store(0, ordering: .relaxed)
    self.passes.store(max(1, passes), ordering: .relaxed)
    stepsTotal.store(submissions * max(1, passes), ordering: .relaxed)
  }

  /// One step of one submission done (any thread).
  @inline(__always) package static func step() { stepsDone.add(1, ordering: .relaxed) }
}
