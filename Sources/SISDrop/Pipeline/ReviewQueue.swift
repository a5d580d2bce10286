import Foundation
import SISDropCore
import SISDropDelivery
import SISDropMatching
import SISDropStore

/// What waits for a person, across batches: every pending submission's potential matches, updates
/// held by the `updates:` policy and records in error, from the batch that last held it back, each
/// with its age in nights and the commands that answer it (`sisdrop review`, the notifications).
package struct ReviewQueue: Sendable, Codable {
  package enum Kind: String, Sendable, Codable, CaseIterable {
    case potentialMatch = "potential-match"
    case heldUpdate = "held-update"
    case error

    /// The group's title, for people.
    package var title: String {
      switch self {
      case .potentialMatch: return "Potential matches (Match one candidate, or No Match)"
      case .heldUpdate:
        return
          "Updates to review (the form's value differs from the SIS: accept it, or keep the SIS value)"
      case .error: return "Records in error (correct the field, or fix it in the enrollment system)"
      }
    }
  }

  /// The items by kind, in the order people answer them; empty groups left out.
  package var groups: [(kind: Kind, items: [Item])] {
    Kind.allCases.map { kind in (kind, items.filter { $0.kind == kind }) }.filter {
      !$0.items.isEmpty
    }
  }

  package struct Candidate: Sendable, Codable, Hashable {
    package var sisID: String
    /// nil when a guard keeps the candidate from being matched whatever its score (the guard says why).
    package var score: Double?
    package var guards: [String]
  }

  package struct Problem: Sendable, Codable, Hashable {
    package var field: String
    package var reason: String
    package var whatToDo: String
    /// The stage that refused it (errors.csv's Stage) and the value refused: kept only to tell a
    /// correction the delivery tried and refused from one no run has applied yet (`sisdrop review`),
    /// never encoded (an input value stays out of `--json` and the notifications).
    package var stage = ""
    package var value = ""

    enum CodingKeys: String, CodingKey { case field, reason, whatToDo }

    package init(
      field: String, reason: String, whatToDo: String, stage: String = "", value: String = ""
    ) {
      self.field = field
      self.reason = reason
      self.whatToDo = whatToDo
      self.stage = stage
      self.value = value
    }
  }

  package struct Item: Sendable, Codable, Hashable {
    package var kind: Kind
    package var submissionID: String
    package var form: String
    package var schema: String
    package var seq: Int
    /// The batch that last held it back.
    package var batch: String
    /// When the submission was first seen, and how many nights it has waited since.
    package var waitingSince: String
    package var ageNights: Int
    package var candidates: [Candidate]
    package var sisID: String?
    package var fields: [String]
    package var problems: [Problem]
    package var reasons: [String]
    package var commands: [String]

    static let newVersionPrefix = "a new version of the form, delivered before in batch "

    /// What a held new version of a delivered submission is (its first reason), else nil.
    package var newVersionNote: String? {
      reasons.first { $0.hasPrefix(Self.newVersionPrefix) }
    }

    /// A refused new version of a delivered submission (errors.csv's What_To_Do says so): not
    /// pending, and answered only in the enrollment system.
    package var isRefusedChange: Bool {
      kind == .error && !problems.isEmpty
        && problems.allSatisfy { $0.whatToDo.hasPrefix(DeliverStage.refusedChangePrefix) }
    }
  }

  package var schemaVersion = 1
  package var items: [Item]

  package func count(_ kind: Kind) -> Int {
    Set(items.filter { $0.kind == kind }.map(\.submissionID)).count
  }
  package var submissions: Int { Set(items.map(\.submissionID)).count }

  /// The ready-to-fill answer file (`sisdrop review --csv`): one row per choice, the Answer column
  /// blank. A person marks the chosen row with `x` (or writes the corrected value) and drops the file
  /// into the inbox as `answers.csv`, as it is.
  package static let answerFileHeader = [
    FieldName.submissionID, "Kind", "Schema", "Seq", "Field", "Choice", "Answer", "Answered_By",
  ]

  package var answerFileRows: [[String]] {
    var rows: [[String]] = []
    for item in items {
      let seq = String(item.seq)
      switch item.kind {
      case .potentialMatch:
        for candidate in item.candidates {
          rows.append([item.submissionID, "match", item.schema, seq, "", candidate.sisID, "", ""])
        }
        rows.append([
          item.submissionID, "match", item.schema, seq, "", Resolver.noMatchToken, "", "",
        ])
      case .heldUpdate:
        for field in item.fields {
          rows.append([item.submissionID, "update", item.schema, seq, field, "accept", "", ""])
          rows.append([item.submissionID, "update", item.schema, seq, field, "keep-sis", "", ""])
        }
      case .error:
        // A refused change to a delivered submission: only the enrollment system answers it.
        guard !item.isRefusedChange else { continue }
        for field in item.fields where (Corrections.correctable[item.schema] ?? []).contains(field)
        {
          rows.append([item.submissionID, "correct", item.schema, seq, field, "", "", ""])
        }
      }
    }
    return rows
  }

  /// Reads the queue from the ledger and each batch's match and deliver outputs.
  package static func load(workdir: WorkDir, now: Date = Date()) throws -> ReviewQueue {
    let state = workdir.state
    // A delivered submission waits for a person only when a later export brought a new version
    // (the family changed the form) that was refused, or held for a person (a potential match, an
    // update to review): one seen since its delivery. The others are left out here, so that the
    // batches they were delivered in are not read again.
    let rows = try state.database.rows(
      "SELECT submission_id, form, status, batch_id, last_seen_batch, first_seen_batch, delivered_batch FROM ledger WHERE status IN ('pending', 'batched') OR (status = 'delivered' AND last_seen_batch IS NOT delivered_batch) ORDER BY submission_id"
    )
    var batches: [String: BatchRecord] = [:]
    for batch in try state.allBatches() { batches[batch.id] = batch }
    var outputs = BatchOutputs(workdir: workdir)
    var items: [Item] = []
    for row in rows {
      let id = row[0].string ?? ""
      let delivered = row[2].string == LedgerStatus.delivered.rawValue
      // A refused new version waits from the night the export that brought it was refused.
      guard let batch = delivered ? row[4].string : row[3].string ?? row[4].string else { continue }
      try outputs.load(batch)
      if outputs.delivered[batch]?.contains(id) == true { continue }
      let since =
        (delivered ? nil : row[5].string).flatMap { batches[$0]?.openedAt }
        ?? batches[batch]?.openedAt ?? ""
      let age = Clock.parse(since).map { max(0, Int(now.timeIntervalSince($0) / 86_400)) } ?? 0
      let waiting = Waiting(
        submissionID: id, form: row[1].string ?? "", batch: batch, since: since, age: age)
      let errors = outputs.errors[batch]?[id] ?? []
      guard !delivered else {
        // A refused new version: no answer commands, only the enrollment system fixes the form.
        items += errorItems(errors.filter(DeliverStage.isRefusedChange), waiting)
        // A held new version is answered as any submission (the answer binds to that version,
        // `Resolver.target`), and says what it is: the SIS keeps the delivered record meanwhile.
        if let decision = outputs.decisions[batch]?[id] {
          let note =
            Item.newVersionPrefix
            + "\(row[6].string ?? "?"): the SIS keeps the delivered record until this version is answered and delivered"
          items += (studentItems(decision, waiting) + contactItems(decision, waiting)).map {
            var item = $0
            item.reasons.insert(note, at: 0)
            return item
          }
        }
        continue
      }
      if let decision = outputs.decisions[batch]?[id] {
        items += studentItems(decision, waiting) + contactItems(decision, waiting)
      }
      items += errorItems(errors, waiting)
    }
    return ReviewQueue(items: items)
  }

  /// What each batch's outputs hold for the queue, read once per batch: the decisions that need a
  /// person, errors.csv's rows by submission, and the submissions delivered (re-deliveries included).
  struct BatchOutputs {
    var workdir: WorkDir
    var decisions: [String: [String: SubmissionDecision]] = [:]
    var errors: [String: [String: [[String]]]] = [:]
    var delivered: [String: Set<String>] = [:]

    mutating func load(_ batch: String) throws {
      guard decisions[batch] == nil else { return }
      var byID: [String: SubmissionDecision] = [:]
      let path = workdir.stageFolder(batch, .match) + "/decisions.jsonl"
      // Read a chunk at a time, keeping only what waits for a person: the queue grows with itself, not the batch.
      if FileSystem.exists(path) {
        try StageJSONChunks(SubmissionDecision.self, path: path).forEach(MatchStage.chunkSize) {
          chunk in
          for d in chunk where d.needsReview { byID[d.submissionID] = d }
        }
      }
      decisions[batch] = byID
      let deliver = workdir.stageFolder(batch, .deliver)
      errors[batch] = Dictionary(
        grouping: (try? BatchLifecycle.readTable(deliver + "/errors.csv")) ?? [], by: { $0[0] })
      var sent = Set(
        ((try? BatchLifecycle.readTable(deliver + "/delivered.csv")) ?? []).map { $0[0] })
      for redelivery in (try? Redelivery.all(workdir, batch: batch)) ?? [] {
        sent.formUnion(
          ((try? BatchLifecycle.readTable(redelivery.folder + "/delivered.csv")) ?? []).map {
            $0[0]
          })
      }
      delivered[batch] = sent
    }
  }

  /// A waiting submission: what each of its items shares.
  struct Waiting {
    var submissionID: String
    var form: String
    var batch: String
    var since: String
    var age: Int

    var quoted: String { shellQuote(submissionID) }

    func item(_ kind: Kind, _ schema: String, _ seq: Int) -> Item {
      Item(
        kind: kind, submissionID: submissionID, form: form, schema: schema, seq: seq,
        batch: batch, waitingSince: since,
        ageNights: age, candidates: [], sisID: nil, fields: [], problems: [], reasons: [],
        commands: [])
    }
  }

  /// A decision's students: a potential match (its candidates and the commands that answer it),
  /// updates held by the `updates:` policy.
  static func studentItems(_ decision: SubmissionDecision, _ waiting: Waiting) -> [Item] {
    let id = waiting.submissionID
    let quoted = waiting.quoted
    let siblings = decision.students.count > 1
    var items: [Item] = []
    for student in decision.students {
      if student.decision.outcome == .potential {
        var entry = waiting.item(.potentialMatch, "student", student.seq)
        entry.candidates = student.decision.candidates.map { candidate in
          let guards = candidate.guards ?? []
          return Candidate(
            sisID: candidate.sisID, score: guards.isEmpty ? candidate.score : nil,
            guards: guards)
        }
        entry.reasons = student.decision.reasons
        entry.commands =
          entry.candidates.map {
            BatchReport.resolveCommand(
              id: id, seq: student.seq, match: $0.sisID, siblings: siblings)
          }
          + [
            BatchReport.resolveCommand(id: id, seq: student.seq, match: nil, siblings: siblings)
          ]
        items.append(entry)
      }
      if let held = student.heldDifferences, !held.isEmpty {
        var entry = waiting.item(.heldUpdate, "student", student.seq)
        entry.sisID = student.decision.sisID
        entry.fields = held.map(\.field)
        let which = siblings ? " --student \(student.seq)" : ""
        entry.commands = held.flatMap {
          [
            "sisdrop accept \(quoted) \($0.field)\(which)",
            "sisdrop keep-sis \(quoted) \($0.field)\(which)",
          ]
        }
        items.append(entry)
      }
    }
    return items
  }

  /// A decision's contacts: a guardian who may be an SIS contact under another surname (Match to
  /// it, or No Match), updates held by the `updates:` policy.
  static func contactItems(_ decision: SubmissionDecision, _ waiting: Waiting) -> [Item] {
    let quoted = waiting.quoted
    var items: [Item] = []
    for contact in decision.contacts {
      if contact.outcome == .potential {
        var entry = waiting.item(.potentialMatch, "contact", contact.seq)
        entry.candidates = (contact.candidates ?? []).map {
          Candidate(sisID: $0, score: nil, guards: [contact.reason])
        }
        entry.reasons = [contact.reason]
        entry.commands =
          entry.candidates.map {
            "sisdrop resolve \(quoted) --match \(shellQuote($0.sisID)) --contact \(contact.seq)"
          }
          + ["sisdrop resolve \(quoted) --no-match --contact \(contact.seq)"]
        items.append(entry)
      }
      guard let held = contact.heldDifferences, !held.isEmpty else { continue }
      var entry = waiting.item(.heldUpdate, "contact", contact.seq)
      entry.sisID = contact.contactID
      entry.fields = held.map(\.field)
      entry.commands = held.flatMap {
        [
          "sisdrop accept \(quoted) \($0.field) --contact \(contact.seq)",
          "sisdrop keep-sis \(quoted) \($0.field) --contact \(contact.seq)",
        ]
      }
      items.append(entry)
    }
    return items
  }

  /// errors.csv's rows of a submission (Submission_ID, Schema, Seq, Field, Value, Reason,
  /// What_To_Do, Stage, File, Line): one item per student or contact in error.
  static func errorItems(_ rows: [[String]], _ waiting: Waiting) -> [Item] {
    let grouped = Dictionary(grouping: rows, by: { "\($0[1])\u{1F}\($0[2])" })
    return grouped.keys.sorted().map { key in
      let rows = grouped[key]!
      var entry = waiting.item(
        .error, rows[0][1].isEmpty ? "submission" : rows[0][1], Int(rows[0][2]) ?? 0)
      entry.problems = rows.map {
        Problem(field: $0[3], reason: $0[5], whatToDo: $0[6], stage: $0[7], value: $0[4])
      }
      entry.fields = rows.map { $0[3] }.filter { !$0.isEmpty }
      return entry
    }
  }
}
