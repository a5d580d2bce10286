import Foundation

/// A submission's contacts (guardians) against SIS contacts, and new contacts against each other
/// within the batch (siblings' forms must not create the same guardian twice).
public enum ContactMatcher {
  /// Fields compared for the differences of a matched contact (the delivery's contact columns).
  public static let comparedFields = ["First_Name", "Last_Name", "Relationship", "Phone", "Email", "Street", "City", "State", "Zip"]

  /// A contact's name keys (first, last), once per contact: matching and the batch's same-as both need them.
  public typealias NameKeys = (first: String, last: String)

  static func nameKeys(_ submission: Submission) -> [NameKeys] {
    submission.contacts.map { (first: FieldRules.nameKey($0["First_Name"]), last: FieldRules.nameKey($0["Last_Name"])) }
  }

  /// One submission's contacts decided against `sisContacts` (the SIS contacts of its matched
  /// students), with their rows for diffs.csv and held_updates.csv.
  static func match(
    _ submission: Submission, names: [NameKeys], sisContacts: [SnapshotContact], answers: [FieldAnswer], policy: UpdateRules
  ) -> (contacts: [ContactDecision], diffs: [[String]], held: [[String]]) {
    var decisions: [ContactDecision] = []
    var diffs: [[String]] = []
    var held: [[String]] = []
    var seenContactIDs = Set<String>()
    for (c, contact) in submission.contacts.enumerated() {
      let (first, last) = names[c]
      // The same name, or a nickname of it (Bill for William) with the same surname.
      let sameName: (SnapshotContact) -> Bool = {
        $0.lastKey == last && ($0.firstKey == first || Comparators.givenNameLevel($0.firstKey, first) >= 3)
      }
      if let sis = sisContacts.first(where: { $0.firstKey == first && $0.lastKey == last && !seenContactIDs.contains($0.id) })
        ?? sisContacts.first(where: { sameName($0) && !seenContactIDs.contains($0.id) })
      {
        seenContactIDs.insert(sis.id)
        let differences = MatchStage.compare(contact.fields, sis.fields, fields: comparedFields)
        for difference in differences {
          diffs.append([submission.id, "contact", String(contact.seq), sis.id, difference.field, difference.enrollment, difference.sis])
        }
        let sorted = policy.sort(differences, schema: "contact", seq: contact.seq, answers: answers, kept: [])
        for difference in sorted.held {
          held.append([submission.id, "contact", String(contact.seq), sis.id, difference.field, difference.enrollment, difference.sis])
        }
        var contactDecision = ContactDecision(
          seq: contact.seq, outcome: .matched, contactID: sis.id, reason: "same name as an SIS contact of the matched student",
          differences: sorted.deliver)
        contactDecision.heldDifferences = sorted.held.isEmpty ? nil : sorted.held
        contactDecision.keptSIS = sorted.kept.isEmpty ? nil : sorted.kept.sorted()
        decisions.append(contactDecision)
      } else {
        decisions.append(
          ContactDecision(seq: contact.seq, outcome: .new, contactID: nil,
                          reason: sisContacts.isEmpty ? "the student has no SIS contacts" : "no SIS contact of the student has this name",
                          differences: []))
      }
    }
    return (decisions, diffs, held)
  }

  /// New contacts named again within the batch (siblings' forms): the first one stands for all.
  /// Fed the submissions in batch order, one at a time.
  struct NewContactsInBatch {
    private var firstNamed: [String: String] = [:]

    mutating func link(_ decision: inout SubmissionDecision, of submission: Submission, names: [NameKeys]) {
      for c in decision.contacts.indices where decision.contacts[c].outcome == .new {
        // Decisions are made in the submission's contact order, one per contact.
        let contact = submission.contacts[c]
        let name = names[c].first + "|" + names[c].last
        // A name alone is not a person: the same phone, e-mail or street too.
        let keys = [contact["Phone"], contact["Email"].lowercased(), contact["Street"].isEmpty ? "" : contact["Street"] + "|" + contact["Zip"]]
          .filter { !$0.isEmpty }.map { name + "|" + $0 }
        let ref = "\(submission.id)/\(contact.seq)"
        var first: String? = nil
        for key in keys where first == nil { first = firstNamed[key] }
        if let first {
          decision.contacts[c].sameAs = first
          decision.contacts[c].reason += "; the same person as new contact \(first) of this batch"
        } else {
          for key in keys { firstNamed[key] = ref }
        }
      }
    }
  }
}
