import ArgumentParser
import Foundation
import SISDrop

/// `sisdrop review`: what waits for a person, grouped, with its age and the commands that answer it.
public struct ReviewCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "review", abstract: "List what waits for a person: potential matches, held updates, records in error.",
    discussion: """
      Across batches: every pending submission the last run held back, with its age in nights. Potential
      matches list their candidates (a candidate a guard keeps from matching shows the guard, not a score);
      held updates list the fields whose form value differs from the SIS; errors list field and problem.
      Each item prints the commands that answer it; `sisdrop show SUBMISSION` gives the detail.
      Exit codes: 0, 66 not a working directory, 75 busy.
      """)
  @OptionGroup var workDir: WorkDirOptions
  public init() {}

  public func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let queue = try ReviewQueue.load(workdir: workdir)
      if workDir.json { return try printJSON(queue) }
      guard !queue.items.isEmpty else { return print("nothing waits for a person") }
      print("\(queue.submissions) submission\(queue.submissions == 1 ? "" : "s") wait for a person: "
        + "\(queue.count(.potentialMatch)) with a potential match, \(queue.count(.heldUpdate)) with an update to review, "
        + "\(queue.count(.error)) in error")
      let titles: [ReviewQueue.Kind: String] = [
        .potentialMatch: "Potential matches (Match one candidate, or No Match)",
        .heldUpdate: "Updates to review (the form's value differs from the SIS: accept it, or keep the SIS value)",
        .error: "Records in error (correct the field, or fix it in the enrollment system)",
      ]
      for kind in ReviewQueue.Kind.allCases {
        let items = queue.items.filter { $0.kind == kind }
        guard !items.isEmpty else { continue }
        print("\n\(titles[kind]!):")
        for item in items {
          let age = item.ageNights == 0 ? "since tonight" : "\(item.ageNights) night\(item.ageNights == 1 ? "" : "s")"
          var line = "  \(item.submissionID) \(item.schema) \(item.seq) [\(age), batch \(item.batch)]"
          switch kind {
          case .potentialMatch:
            line += ": candidates " + item.candidates.map { c in
              c.sisID + (c.score.map { String(format: " (%.3f)", $0) } ?? " (held by a guard: \(c.guards.joined(separator: "; ")))")
            }.joined(separator: ", ")
          case .heldUpdate:
            line += ": SIS \(item.sisID ?? "?"), fields \(item.fields.joined(separator: " "))"
          case .error:
            line += ": " + item.problems.map { ($0.field.isEmpty ? "" : "\($0.field): ") + $0.reason }.joined(separator: "; ")
          }
          print(line)
          for command in item.commands { print("      \(command)") }
          if kind == .error, let todo = item.problems.first?.whatToDo, !todo.isEmpty { print("      \(todo)") }
        }
      }
    }
  }
}
