import Foundation
import SISDropConfig
import SISDropStore

/// A field whose enrollment value differs from the SIS value (the seed's yellow field).
package struct FieldDifference: Sendable, Codable, Hashable {
  package var field: String
  package var enrollment: String
  package var sis: String

  /// Fields where the enrollment has a value that differs from the SIS. An empty enrollment value
  /// never clears an SIS value: it is not a difference.
  package static func between(
    _ enrollment: [String: String], _ sis: [String: String], fields: [String]
  ) -> [FieldDifference] {
    fields.compactMap { field in
      let mine = enrollment[field] ?? ""
      let theirs = sis[field] ?? ""
      return mine.isEmpty || mine == theirs
        ? nil : FieldDifference(field: field, enrollment: mine, sis: theirs)
    }
  }
}

/// The match stage's decision for one student, with its differences when matched.
package struct StudentDecision: Sendable, Codable, Hashable {
  package var seq: Int
  package var decision: MatchDecision
  package var differences: [FieldDifference]
  /// Fields a person chose to keep at the SIS value (`sisdrop keep-sis`), or the `updates:` policy
  /// keeps: left out of `differences`.
  package var keptSIS: [String]? = nil
  /// Differences the `updates:` policy holds for a person (accept the form's value or keep the
  /// SIS value): left out of `differences`; while any is here the submission is held.
  package var heldDifferences: [FieldDifference]? = nil
  /// A child the SIS does not know, on an earlier form of the batch than the one that creates it
  /// (`Student_Ref` of that form's student): the same child, so this form creates no student.
  package var sameChildAs: String? = nil

  package init(seq: Int, decision: MatchDecision, differences: [FieldDifference]) {
    self.seq = seq
    self.decision = decision
    self.differences = differences
  }
}

/// The decision for one contact: an existing SIS contact (`Contact_ID`) or a new one.
package struct ContactDecision: Sendable, Codable, Hashable {
  package var seq: Int
  package var outcome: MatchOutcome
  package var contactID: String?
  package var reason: String
  package var differences: [FieldDifference]
  /// A new contact already named by an earlier submission (or student) of this batch: `S-1/2`
  /// (submission / Contact_Seq). Two siblings' forms naming the same mother create one contact.
  package var sameAs: String? = nil
  /// As for a student: differences held for a person, and fields kept at the SIS value.
  package var heldDifferences: [FieldDifference]? = nil
  package var keptSIS: [String]? = nil
  /// A potential match: the SIS contacts (`Contact_ID`) a person chooses from, or No Match.
  package var candidates: [String]? = nil
  /// A matched contact: the SIS students it is already linked to (a new child, or a matched child
  /// whose guardian the SIS lists only under a sibling, gets a link row; these do not).
  package var sisStudents: [String]? = nil

  package init(
    seq: Int, outcome: MatchOutcome, contactID: String?, reason: String,
    differences: [FieldDifference]
  ) {
    self.seq = seq
    self.outcome = outcome
    self.contactID = contactID
    self.reason = reason
    self.differences = differences
  }
}

/// Everything decided for one submission (`30-match/decisions.jsonl`).
package struct SubmissionDecision: Sendable, Codable, Hashable {
  package var submissionID: String
  package var students: [StudentDecision]
  package var contacts: [ContactDecision]

  package init(submissionID: String, students: [StudentDecision], contacts: [ContactDecision]) {
    self.submissionID = submissionID
    self.students = students
    self.contacts = contacts
  }

  /// A submission with any unresolved potential match, or an update held for a person, is held back from delivery.
  package var needsReview: Bool { hasPotentialMatch || hasHeldUpdate }
  package var hasPotentialMatch: Bool {
    students.contains { $0.decision.outcome == .potential }
      || contacts.contains { $0.outcome == .potential }
  }
  package var hasHeldUpdate: Bool {
    students.contains { !($0.heldDifferences ?? []).isEmpty }
      || contacts.contains { !($0.heldDifferences ?? []).isEmpty }
  }
}

/// The `updates:` policy with the fields the delivery profile writes: a field the profile never
/// writes is not held (nobody needs to look at a change that is not sent). Made from the pipeline
/// by the match stage (`UpdateRules(config:)`), which knows the delivery profile.
package struct UpdateRules: Sendable {
  var policy: UpdatePolicy
  var written: [String: Set<String>]
  /// Every difference the profile writes is held for a person, whatever the policy and even when a
  /// person matched the record: the form is older than one already delivered for the same SIS
  /// student (`holdingEveryDifference`).
  var holdsEveryDifference = false

  package init(policy: UpdatePolicy, written: [String: Set<String>]) {
    self.policy = policy
    self.written = written
  }

  /// Sorts one record's differences: delivered, held for a person, or kept at the SIS value — by a
  /// person's answer for this version first, then by the policy.
  /// `reviewed`: a person matched this record and so looked at its fields; nothing is held again
  /// (keep-sis still keeps a field).
  package func sort(
    _ differences: [FieldDifference], schema: String, seq: Int, answers: [FieldAnswer],
    kept: Set<String>, reviewed: Bool = false
  )
    -> (deliver: [FieldDifference], held: [FieldDifference], kept: [String])
  {
    var result: (deliver: [FieldDifference], held: [FieldDifference], kept: [String]) = ([], [], [])
    for difference in differences {
      let answer = answers.first {
        $0.schema == schema && $0.seq == seq && $0.field == difference.field
      }
      if answer?.choice == .keepSIS || (schema == "student" && kept.contains(difference.field)) {
        result.kept.append(difference.field)
      } else if answer?.choice == .accept {
        result.deliver.append(difference)
      } else {
        switch policy.action(for: difference.field) {
        case .deliver
        where holdsEveryDifference && written[schema]?.contains(difference.field) == true:
          result.held.append(difference)
        case .deliver: result.deliver.append(difference)
        case .keepSIS: result.kept.append(difference.field)
        case .review
        where holdsEveryDifference && written[schema]?.contains(difference.field) == true:
          result.held.append(difference)
        case .review:
          if !reviewed, written[schema]?.contains(difference.field) == true {
            result.held.append(difference)
          } else {
            result.deliver.append(difference)
          }
        }
      }
    }
    return result
  }

  /// These rules for a form older than one already delivered for the same SIS student: its values
  /// must not replace the later form's unseen, so every written difference waits for a person
  /// (`accept` delivers it, `keep-sis` keeps the SIS value).
  package func holdingEveryDifference() -> UpdateRules {
    var rules = self
    rules.holdsEveryDifference = true
    return rules
  }
}
