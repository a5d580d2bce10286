import Foundation
import SISDropCore

/// The pipeline's `updates:` section: what happens when a matched student's or contact's form value
/// differs from the SIS value (the seed's yellow field), per field.
///
/// ```yaml
/// updates:
///   First_Name: review      # hold the submission until a person accepts the form's value or keeps the SIS value
///   Home_Phone: deliver     # write it
///   Email: keep-sis         # never write it
/// ```
///
/// Defaults: names, birth date, gender and state id are `review` (a typo, a nickname, a swapped
/// day and month tolerated by the matcher must not overwrite the SIS's identity data unseen);
/// address, phone, e-mail, grade, school, relationship and `Enroll_Status` are `deliver`.
package struct UpdatePolicy: Sendable, Hashable {
  package enum Action: String, Sendable, Hashable, CaseIterable {
    case deliver, review
    case keepSIS = "keep-sis"
  }

  package static let identityFields: Set<String> = [
    FieldName.firstName, FieldName.middleName, FieldName.lastName, FieldName.birthDate,
    FieldName.gender, FieldName.stateStudentNumber,
  ]

  /// Choices the pipeline made, by field name (the same for students and contacts).
  package var fields: [String: Action] = [:]

  package init() {}

  package func action(for field: String) -> Action {
    fields[field] ?? (UpdatePolicy.identityFields.contains(field) ? .review : .deliver)
  }

  static func parse(_ node: ConfigNode) throws -> UpdatePolicy {
    var policy = UpdatePolicy()
    let known = Set(Layouts.comparedStudentFields + Layouts.comparedContactFields)
    for (field, value) in try node.freeMapping() {
      guard known.contains(field) else {
        throw value.error(
          "'\(field)' is not a field an update carries",
          hint: "one of: \(known.sorted().joined(separator: ", "))")
      }
      let text = try value.string()
      guard let action = Action(rawValue: text) else {
        throw value.error(
          "'\(text)' is not an update policy", hint: "one of: deliver, review, keep-sis")
      }
      policy.fields[field] = action
    }
    return policy
  }
}
