import ArgumentParser
import Foundation
import SISDrop
import SISDropCore
import SISDropMatching
import SISDropStore

/// `sisdrop show`: one submission, the way the seed's screen shows it.
package struct ShowCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "show",
    abstract:
      "Show one submission: its students, decisions, candidates side by side, contacts and history.",
    discussion: """
      For the batch that last matched it: each student's decision with the rule that fired, each candidate's \
      SIS values beside the form's (a differing field is marked *), updates held for review, the contacts, \
      and the history of answers and deliveries; first, what the last run refused (errors, with the answers \
      on record for them, as `sisdrop review` says them). Student data is printed: run it on a terminal, not \
      into a log.
      Exit codes: 0, 65 the submission has no decision yet, 66 unknown submission, 75 busy.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  package init() {}

  package func run() throws {
    // Only looks: no lock, so a clerk can read the queue while the nightly run works.
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      guard let entry = try workdir.state.ledgerEntry(submission) else {
        throw SISDropError(
          .noInput, "submission \(submission) is not in the ledger",
          hint: "`sisdrop pending` lists the submissions")
      }
      let history = try workdir.state.answerHistory(submission: submission)
      // Delivered or not: the decision the last batch that matched it took.
      let target = try Resolver.decided(workdir: workdir, submission: submission)
      if workDir.json {
        struct Detail: Codable {
          var schemaVersion = 1
          var ledger: LedgerEntry
          var batch: String?
          var submission: Submission?
          var decision: SubmissionDecision?
          var history: [AnswerEvent]
        }
        return try printJSON(
          Detail(
            ledger: entry, batch: target?.batch, submission: target?.submission,
            decision: target?.decision,
            history: history))
      }
      print(
        "\(submission) · \(entry.form) · approved \(entry.approvedAt) · \(entry.status.rawValue)"
          + (entry.deliveredBatch.map { " (delivered in \($0))" } ?? ""))
      // What the last run refused, with the answers on record for it, as `sisdrop review` says them
      // (a correction the delivery tried and refused is said as such, not as waiting to be applied).
      let errors = try ReviewQueue.load(workdir: workdir).items.filter {
        $0.submissionID == submission && $0.kind == .error
      }
      if !errors.isEmpty {
        let answers = try RecordedAnswers(workdir)
        for item in errors {
          print(
            "in error (batch \(item.batch), \(item.schema) \(item.seq)): "
              + item.problems.map { ($0.field.isEmpty ? "" : "\($0.field): ") + $0.reason }.joined(
                separator: "; "))
          for said in answers.said(for: item, inShow: true) { print("  " + said) }
          if let todo = item.problems.first?.whatToDo, !todo.isEmpty { print("  \(todo)") }
        }
      }
      guard let target else {
        print(
          "no match decision on record (never batched, or in error before matching: see `sisdrop review`)"
        )
        printHistory(history)
        return
      }
      print("last decided in batch \(target.batch)\(target.inOpenBatch ? " (open)" : "")")
      let snapshot = (try? snapshotPath(workdir, target.batch)).flatMap { try? Snapshot(path: $0) }
      for student in target.decision.students {
        printStudent(
          student, form: target.submission?.students.first { $0.seq == student.seq }?.fields ?? [:],
          snapshot: snapshot, siblings: target.decision.students.count > 1)
      }
      printContacts(target.decision.contacts)
      printHistory(history)
    }
  }

  /// The student fields shown side by side: those an update carries.
  static let shownFields = Layouts.comparedStudentFields

  /// A student's decision and the rule that fired, the form beside its SIS student and candidates
  /// (at most four), what an update holds back, delivers or keeps.
  private func printStudent(
    _ student: StudentDecision, form: [String: String], snapshot: Snapshot?, siblings: Bool
  ) {
    let d = student.decision
    print(
      "\nstudent \(student.seq): \(d.outcome.rawValue)\(d.sisID.map { " → SIS \($0)" } ?? "")")
    for reason in d.reasons { print("  · \(reason)") }
    var columns: [(String, [String: String])] = [("form", form)]
    let ids = (d.sisID.map { [$0] } ?? []) + d.candidates.map(\.sisID).filter { $0 != d.sisID }
    let sis = (try? snapshot?.students(numbers: ids)) ?? [:]
    for id in ids.prefix(4) {
      let candidate = d.candidates.first { $0.sisID == id }
      let label =
        "SIS \(id)"
        + (candidate.map { c in
          (c.guards ?? []).isEmpty ? String(format: " %.3f", c.score) : " guarded"
        } ?? "")
      columns.append((label, sis[id]?.fields ?? [:]))
      if let guards = candidate?.guards, !guards.isEmpty {
        print("  guard on \(id): \(guards.joined(separator: "; "))")
      }
    }
    printSideBySide(columns, form: form)
    if let held = student.heldDifferences, !held.isEmpty {
      // One answer per field, each a command that works as printed.
      let which = siblings ? " --student \(student.seq)" : ""
      print("  update held for review, answer each field:")
      for field in held.map(\.field) {
        print(
          "    \(field): `sisdrop accept \(submission) \(field)\(which)` (the form's value) or `sisdrop keep-sis \(submission) \(field)\(which)` (the SIS value)"
        )
      }
    }
    if !student.differences.isEmpty {
      print("  update delivers: \(student.differences.map(\.field).joined(separator: ", "))")
    }
    if let kept = student.keptSIS, !kept.isEmpty {
      print("  SIS value kept: \(kept.joined(separator: ", "))")
    }
  }

  /// One line per field some column fills; an SIS value that differs from the form's is marked *.
  /// Each column is as wide as its longest value: a value is never cut.
  private func printSideBySide(_ columns: [(String, [String: String])], form: [String: String]) {
    let width = max(
      12,
      columns.map { column in
        max(column.0.count, Self.shownFields.map { (column.1[$0] ?? "").count + 1 }.max() ?? 0)
      }.max() ?? 12)
    print(
      "  " + "field".padding(toLength: 20, withPad: " ", startingAt: 0)
        + columns.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) }
        .joined())
    for field in Self.shownFields where columns.contains(where: { !($0.1[field] ?? "").isEmpty }) {
      let mine = form[field] ?? ""
      var line = "  " + field.padding(toLength: 20, withPad: " ", startingAt: 0)
      for (index, column) in columns.enumerated() {
        let value = column.1[field] ?? ""
        let mark = index > 0 && !mine.isEmpty && !value.isEmpty && value != mine ? "*" : ""
        line += (value + mark).padding(toLength: width + 2, withPad: " ", startingAt: 0)
      }
      print(line)
    }
  }

  /// Each contact's decision, with the commands that answer a potential match.
  private func printContacts(_ contacts: [ContactDecision]) {
    if !contacts.isEmpty { print("\ncontacts:") }
    for contact in contacts {
      var line =
        "  contact \(contact.seq): \(contact.outcome.rawValue)\(contact.contactID.map { " → SIS contact \($0)" } ?? "") — \(contact.reason)"
      if let held = contact.heldDifferences, !held.isEmpty {
        line += "; held for review: \(held.map(\.field).joined(separator: ", "))"
      }
      print(line)
      if contact.outcome == .potential {
        for candidate in contact.candidates ?? [] {
          print(
            "      `sisdrop resolve \(submission) --match \(candidate) --contact \(contact.seq)`")
        }
        print("      `sisdrop resolve \(submission) --no-match --contact \(contact.seq)`")
      }
    }
  }

  private func printHistory(_ history: [AnswerEvent]) {
    guard !history.isEmpty else { return }
    print("\nhistory:")
    for event in history { print("  \(event.at) \(event.event) by \(event.by): \(event.what)") }
  }

  private func snapshotPath(_ workdir: WorkDir, _ batch: String) throws -> String {
    try SnapshotReference.load(workdir, batch: batch).absolutePath(workdir)
  }
}

/// `show` prints the form's and the SIS's values: a control character in one (ESC) would be run by
/// the clerk's terminal, and a formatting character (U+202E) would reorder or hide what they read
/// (probe27). Each is shown as `\u001B`, line by line; the output's own line breaks stay.
private func print(_ text: String) {
  Swift.print(
    text.split(separator: "\n", omittingEmptySubsequences: false).map {
      LogText.escaped(String($0))
    }.joined(separator: "\n"))
}
