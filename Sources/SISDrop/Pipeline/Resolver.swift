import Foundation
import SISDropCore
import SISDropMatching
import SISDropStore

/// People's answers: Match / No Match for a potential match, keep the SIS value or accept the form's
/// value for a differing field. Each is checked against the submission's latest match decision (the
/// open batch's, or the batch that last held it back) and recorded in state.sqlite bound to the
/// submission version. Answers belong to the submission, not to a batch: they are taken whether or
/// not a batch is open, and the next run that sees that version applies them.
package enum Resolver {
  /// Where a submission's latest decision lives.
  package struct Target: Sendable {
    package var batch: String
    package var decision: SubmissionDecision
    /// The normalized submission (its version and its students and contacts).
    package var submission: Submission?
    /// Whether the batch is the open one (its match stage is rerun at once).
    package var inOpenBatch: Bool
  }

  /// A batch's decisions and normalized submissions, read once for all the answers of one file.
  /// Kept as the files' lines, indexed by submission id, and decoded when asked for: a batch's
  /// records decoded whole took ~160 MB at 20,000 submissions, for `sisdrop show` of one of them.
  package final class Batches {
    var decisions: [String: StageFileIndex<SubmissionDecision>] = [:]
    var submissions: [String: StageFileIndex<Submission>] = [:]
    package init() {}

    func decision(_ workdir: WorkDir, batch: String, id: String) throws -> SubmissionDecision? {
      if decisions[batch] == nil {
        decisions[batch] = try StageFileIndex(
          workdir.stageFolder(batch, .match) + "/decisions.jsonl", id: \.submissionID)
      }
      return try decisions[batch]?.record(id)
    }

    /// The submissions a batch delivered, with the content hash delivered (its delivery and its
    /// re-deliveries), read once per file rather than once per answer.
    var delivered: [String: Set<[String]>] = [:]

    func delivered(_ workdir: WorkDir, batch: String, id: String, hash: String) throws -> Bool {
      if delivered[batch] == nil {
        delivered[batch] = Set(
          try Redelivery.delivered(workdir, batch: batch).map { [$0.id, $0.hash] })
      }
      return delivered[batch]?.contains([id, hash]) == true
    }

    func submission(_ workdir: WorkDir, batch: String, id: String) throws -> Submission? {
      if submissions[batch] == nil {
        submissions[batch] = try StageFileIndex(
          workdir.stageFolder(batch, .normalize) + "/submissions.jsonl", id: \.id)
      }
      return try submissions[batch]?.record(id)
    }
  }

  /// The submission's latest match decision: in the open batch, else in the batch that last saw it.
  ///
  /// - Throws: `SISDropError` 66 for a submission the ledger does not know; 65 for one already
  ///   delivered, or one that never reached matching (in error before it: the enrollment system fixes it).
  package static func target(
    workdir: WorkDir, submission id: String, batches read: Batches = Batches()
  ) throws -> Target {
    let open = try workdir.state.openBatch()
    guard let entry = try workdir.state.ledgerEntry(id) else {
      throw SISDropError(
        .noInput, "submission \(id) is not in the pending ledger",
        hint: "`sisdrop pending` lists the submissions waiting; check the id")
    }
    if entry.status == .delivered, entry.deliveredHash == entry.contentHash {
      throw SISDropError(
        .dataError, "submission \(id) is already delivered (batch \(entry.deliveredBatch ?? "?"))",
        hint: "answers apply to submissions still pending; a delivered record is changed in the SIS"
      )
    }
    // Delivered in the batch still open (its delivery or a re-delivery): the SIS has it now.
    if let open, entry.batchID == open.id,
      FileSystem.exists(workdir.stageFolder(open.id, .deliver) + "/delivered.csv"),
      let hash = entry.contentHash,
      try read.delivered(workdir, batch: open.id, id: id, hash: hash)
    {
      throw SISDropError(
        .dataError, "submission \(id) is already delivered (batch \(open.id))",
        hint: "answers apply to submissions still pending; a delivered record is changed in the SIS"
      )
    }
    let batches = searched(entry, open: open)
    if let found = try latest(workdir, id, in: batches, open: open, read: read) { return found }
    throw SISDropError(
      .dataError, "submission \(id) has no match decision yet",
      hint: batches.isEmpty
        ? "it has not been in a batch: answers are given once `sisdrop run` has matched it"
        : "it was in error before matching (see errors.csv of batch \(batches[0])): fix it with `sisdrop correct` or in the enrollment system"
    )
  }

  /// The submission's latest match decision whatever its state, delivered included (`sisdrop show`):
  /// in the open batch, else in the batch that last held it, saw it or delivered it; nil when no
  /// batch matched it (never batched, or in error before matching).
  package static func decided(
    workdir: WorkDir, submission id: String, batches read: Batches = Batches()
  ) throws -> Target? {
    guard let entry = try workdir.state.ledgerEntry(id) else { return nil }
    let open = try workdir.state.openBatch()
    var batches = searched(entry, open: open)
    if let delivered = entry.deliveredBatch, !batches.contains(delivered) {
      batches.append(delivered)
    }
    return try latest(workdir, id, in: batches, open: open, read: read)
  }

  /// The batches that may hold a submission's latest decision, newest first.
  static func searched(_ entry: LedgerEntry, open: BatchRecord?) -> [String] {
    var batches: [String] = []
    if let open, entry.batchID == open.id || entry.lastSeenBatch == open.id {
      batches.append(open.id)
    }
    for batch in [entry.batchID, entry.lastSeenBatch].compactMap({ $0 })
    where !batches.contains(batch) { batches.append(batch) }
    return batches
  }

  /// The first of `batches` whose match stage decided the submission.
  static func latest(
    _ workdir: WorkDir, _ id: String, in batches: [String], open: BatchRecord?, read: Batches
  ) throws -> Target? {
    for batch in batches {
      guard let decision = try read.decision(workdir, batch: batch, id: id) else { continue }
      let submission = try read.submission(workdir, batch: batch, id: id)
      return Target(
        batch: batch, decision: decision, submission: submission, inOpenBatch: batch == open?.id)
    }
    return nil
  }

  /// A checked Match (`sisID`) or No Match (`sisID == nil`) for one student of a submission, not yet recorded.
  ///
  /// - Throws: `SISDropError` 65 when the submission has no such student or the SIS id is not among that
  ///   student's candidates; 66 when the submission is unknown.
  package static func resolution(
    workdir: WorkDir, submission: String, student seq: Int?, sisID: String?, by actor: String,
    source: String = "command", at time: String? = nil, batches: Batches = Batches()
  ) throws -> (Resolution, Target) {
    let target = try target(workdir: workdir, submission: submission, batches: batches)
    let students = target.decision.students
    let chosen: StudentDecision
    if let seq {
      guard let found = students.first(where: { $0.seq == seq }) else {
        throw SISDropError(
          .dataError, "submission \(submission) has no student \(seq) (it has \(students.count))",
          hint: "name the student with --student 1 … \(students.count)")
      }
      chosen = found
    } else {
      let open = students.filter { $0.decision.outcome == .potential }
      guard students.count == 1 || open.count == 1 else {
        throw SISDropError(
          .usage, "submission \(submission) has \(students.count) students",
          hint: "name one with --student N")
      }
      chosen = students.count == 1 ? students[0] : open[0]
    }
    if let sisID {
      // The matched SIS student is usually also the first candidate: named once.
      var candidates = chosen.decision.candidates.map(\.sisID)
      if let matched = chosen.decision.sisID, !candidates.contains(matched) {
        candidates.append(matched)
      }
      guard candidates.contains(sisID) else {
        throw SISDropError(
          .dataError,
          "SIS student \(sisID) is not a candidate for \(submission) student \(chosen.seq)",
          hint: candidates.isEmpty
            ? "the matcher found no candidates: resolve it with --no-match"
            : "choose one of: \(candidates.joined(separator: ", ")), or --no-match")
      }
    }
    // Bound to the version answered and to this child in it: a changed form goes back to review.
    let part = target.submission?.students.first { $0.seq == chosen.seq }
    let resolution = Resolution(
      submissionID: submission, studentSeq: chosen.seq, action: sisID == nil ? .noMatch : .match,
      sisID: sisID,
      resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source,
      version: target.submission?.contentHash,
      studentKey: part.map(Resolution.studentKey))
    return (resolution, target)
  }

  /// A checked Match (`contactID`, an SIS `Contact_ID` among the contact's candidates) or No Match
  /// (`contactID == nil`: a new contact) for a potential contact match, not yet recorded. Bound to
  /// the submission version like a student's.
  ///
  /// - Throws: `SISDropError` 65 when the submission has no such contact or the Contact_ID is not a
  ///   candidate; 64 when the contact is not named and the submission has more than one potential contact.
  package static func contactResolution(
    workdir: WorkDir, submission: String, contact seq: Int?, contactID: String?, by actor: String,
    source: String = "command", at time: String? = nil, batches: Batches = Batches()
  ) throws -> (Resolution, Target) {
    let target = try target(workdir: workdir, submission: submission, batches: batches)
    let contacts = target.decision.contacts
    let chosen: ContactDecision
    if let seq {
      guard let found = contacts.first(where: { $0.seq == seq }) else {
        throw SISDropError(
          .dataError, "submission \(submission) has no contact \(seq)",
          hint: contacts.isEmpty
            ? "it has no contacts"
            : "its contacts: \(contacts.map { String($0.seq) }.joined(separator: ", "))")
      }
      chosen = found
    } else {
      let open = contacts.filter { $0.outcome == .potential }
      guard open.count == 1 else {
        throw SISDropError(
          .usage, "submission \(submission) has \(open.count) potential contact matches",
          hint: "name one with --contact N")
      }
      chosen = open[0]
    }
    let candidates = (chosen.candidates ?? []) + [chosen.contactID].compactMap { $0 }
    if let contactID {
      guard candidates.contains(contactID) else {
        throw SISDropError(
          .dataError,
          "SIS contact \(contactID) is not a candidate for \(submission) contact \(chosen.seq)",
          hint: candidates.isEmpty
            ? "the matcher found no candidate contact: resolve it with --no-match"
            : "choose one of: \(candidates.joined(separator: ", ")), or --no-match")
      }
    }
    var resolution = Resolution(
      submissionID: submission, studentSeq: chosen.seq,
      action: contactID == nil ? .noMatch : .match, sisID: contactID,
      resolvedBy: actor, resolvedAt: time ?? Clock.now(), source: source,
      version: target.submission?.contentHash)
    resolution.schema = "contact"
    return (resolution, target)
  }

  /// Records Match or No Match for one student (see `resolution`). Returns it with the earlier answer it replaced.
  @discardableResult
  package static func resolve(
    workdir: WorkDir, submission: String, student seq: Int?, sisID: String?, by actor: String,
    source: String = "command", at time: String? = nil
  ) throws -> Resolution {
    var (resolution, _) = try self.resolution(
      workdir: workdir, submission: submission, student: seq, sisID: sisID, by: actor,
      source: source, at: time)
    resolution.replaces = try workdir.state.record(resolution)?.summary
    return resolution
  }

  /// Fields an answer may name, by schema: those a matched record's update can carry.
  package static func answerableFields(_ schema: String) -> [String] {
    schema == "contact" ? Layouts.comparedContactFields : Layouts.comparedStudentFields
  }

  /// A checked keep-sis or accept answer for one field of one student or contact, not yet recorded.
  package static func fieldAnswer(
    workdir: WorkDir, submission: String, schema: String, seq: Int?, field: String,
    choice: FieldAnswer.Choice,
    by actor: String, source: String = "command", at time: String? = nil,
    batches: Batches = Batches()
  ) throws -> (FieldAnswer, Target) {
    guard schema == "student" || schema == "contact" else {
      throw SISDropError(
        .usage, "schema \(LogText.quoted(schema)) has no fields to answer for",
        hint: "use student or contact")
    }
    let fields = answerableFields(schema)
    guard fields.contains(field) else {
      throw SISDropError(
        .dataError, "\(LogText.quoted(field)) is not a \(schema) field that an update can carry",
        hint: "one of: \(fields.joined(separator: ", "))")
    }
    let target = try target(workdir: workdir, submission: submission, batches: batches)
    let seqs =
      schema == "student"
      ? target.decision.students.map(\.seq) : target.decision.contacts.map(\.seq)
    let chosen: Int
    if let seq {
      guard seqs.contains(seq) else {
        throw SISDropError(
          .dataError, "submission \(submission) has no \(schema) \(seq)",
          hint: seqs.isEmpty
            ? "it has no \(schema)s"
            : "its \(schema)s: \(seqs.map(String.init).joined(separator: ", "))")
      }
      chosen = seq
    } else {
      // The one record of the schema whose update differs in this field, else the only one.
      let differing =
        schema == "student"
        ? target.decision.students.filter { s in
          (s.differences + (s.heldDifferences ?? [])).contains { $0.field == field }
        }.map(\.seq)
        : target.decision.contacts.filter { c in
          (c.differences + (c.heldDifferences ?? [])).contains { $0.field == field }
        }.map(\.seq)
      guard let only = differing.count == 1 ? differing.first : (seqs.count == 1 ? seqs.first : nil)
      else {
        throw SISDropError(
          .usage, "submission \(submission) has \(seqs.count) \(schema)s",
          hint: "name one with --seq N")
      }
      chosen = only
    }
    try requireAnUpdateCarrying(
      field, of: target.decision, submission: submission, schema: schema, seq: chosen)
    let answer = FieldAnswer(
      submissionID: submission, schema: schema, seq: chosen, field: field, choice: choice,
      version: target.submission?.contentHash, answeredBy: actor, answeredAt: time ?? Clock.now(),
      source: source)
    return (answer, target)
  }

  /// A field answer must have something to apply to: a matched record whose update carries the
  /// field (delivered, held for a person, or kept at the SIS value). `accept S-… Zip` for a child
  /// whose form has the SIS's Zip was recorded and did nothing, while the clerk believed the Zip
  /// would be written. A record not matched yet (a potential match: its differences come once a
  /// person's Match is applied) takes any answerable field.
  static func requireAnUpdateCarrying(
    _ field: String, of decision: SubmissionDecision, submission: String, schema: String, seq: Int
  ) throws {
    let record: (outcome: MatchOutcome, fields: [String])?
    if schema == "student" {
      record = decision.students.first { $0.seq == seq }.map {
        (
          $0.decision.outcome,
          ($0.differences + ($0.heldDifferences ?? [])).map(\.field) + ($0.keptSIS ?? [])
        )
      }
    } else {
      record = decision.contacts.first { $0.seq == seq }.map {
        (
          $0.outcome,
          ($0.differences + ($0.heldDifferences ?? [])).map(\.field) + ($0.keptSIS ?? [])
        )
      }
    }
    guard let record, record.outcome != .potential, !record.fields.contains(field) else { return }
    let what = "\(schema) \(seq) of \(submission)"
    throw SISDropError(
      .dataError,
      record.outcome == .new
        ? "\(what) is new: the SIS gets its fields as the form has them, there is no update to answer for"
        : "\(field) of \(what) is the same on the form and in the SIS: its update carries no \(field), so there is nothing to answer",
      hint: record.fields.isEmpty
        ? "nothing of its update differs from the SIS"
        : "the fields its update carries: \(Array(Set(record.fields)).sorted().joined(separator: ", "))"
    )
  }

  /// Records keep-sis for one field (the seed's green arrow). Kept for callers of the old form.
  @discardableResult
  package static func keepSIS(
    workdir: WorkDir, submission: String, field: String, by actor: String,
    source: String = "command",
    at time: String? = nil, schema: String = "student", seq: Int? = nil
  ) throws -> FieldAnswer {
    let (answer, _) = try fieldAnswer(
      workdir: workdir, submission: submission, schema: schema, seq: seq, field: field,
      choice: .keepSIS,
      by: actor, source: source, at: time)
    try workdir.state.record(answer)
    return answer
  }

  /// The `SIS_ID` that says No Match in `resolutions.csv`. A blank cell is refused: a missing value
  /// (an Excel gap, a short row) must never read as "create a new student".
  package static let noMatchToken = "NO-MATCH"
}
