import ArgumentParser
import Foundation
import SISDrop

private let confirmationDiscussion = """
  Every record a delivery sends (a new or updated student, a new or updated contact) is confirmed by a \
  later SIS export: the new student found by the matcher (its Student_Number learned), the update's values \
  shown, the new contact linked to its student. One not seen within `confirm.within_exports` exports \
  (default 2), or reported not imported by the SIS import's results file (`confirm.results`, dropped in \
  the inbox), is unconfirmed: `sisdrop status` and `sisdrop review` list it with what is missing.
  Exit codes: 0 done, 64 nothing to send or close for that submission, 66 not a working directory, 75 busy.
  """

/// `sisdrop redeliver`: sends a submission's unconfirmed records again.
package struct RedeliverCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "redeliver",
    abstract: "Send a submission's records the SIS has not confirmed again, at the next run.",
    discussion: confirmationDiscussion + """

      The next `sisdrop run` sends them as the next re-delivery (<batch>-rK) of the batch that delivered \
      them, after it has checked that night's SIS export; a new student's contacts name the SIS number \
      learned since. Confirmed records are never sent again.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Option(help: "Who asked (default: $USER).") var by: String?
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let items = try Confirmation.requestRedelivery(
        workdir.state, submission: submission,
        by: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator")
      if workDir.json {
        return try printJSON(
          ["submission_id": .string(submission), "records": .strings(items.map(\.label))]
            as [String: JSONField])
      }
      print(
        "\(submission): \(items.count) record(s) not confirmed (\(items.map(\.label).joined(separator: "; "))) go out again at the next `sisdrop run`"
      )
    }
  }
}

/// `sisdrop confirm`: closes a submission's unconfirmed records by hand.
package struct ConfirmCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "confirm", abstract: "Close a submission's unconfirmed records by hand, with why.",
    discussion: confirmationDiscussion + """

      Use it when the SIS has the records in a way sisdrop cannot see (entered by hand, merged), or \
      they are not wanted any more. The reason and who are kept with each record.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Option(help: "Why it is closed (kept with the records).") var reason: String
  @Option(help: "Who closed it (default: $USER).") var by: String?
  package init() {}

  package func validate() throws {
    if reason.trimmingCharacters(in: .whitespaces).isEmpty {
      throw ValidationError("'--reason' must say why")
    }
  }

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let who = by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
      let count = try Confirmation.confirmByHand(
        workdir, submission: submission, reason: reason, by: who)
      if workDir.json {
        return try printJSON(
          [
            "submission_id": .string(submission), "confirmed": .int(count),
            "reason": .string(reason), "by": .string(who),
          ]
            as [String: JSONField])
      }
      print("\(submission): \(count) record(s) confirmed by hand")
    }
  }
}

/// A value of the small JSON objects these commands print.
enum JSONField: Encodable {
  case string(String)
  case strings([String])
  case int(Int)
  func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .string(let v): try c.encode(v)
    case .strings(let v): try c.encode(v)
    case .int(let v): try c.encode(v)
    }
  }
}
