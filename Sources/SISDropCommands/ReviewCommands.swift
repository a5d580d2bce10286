import ArgumentParser
import Foundation
import SISDrop
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropStore

/// `sisdrop review`: what waits for a person, grouped, with its age and the commands that answer it.
package struct ReviewCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "review",
    abstract: "List what waits for a person: potential matches, held updates, records in error.",
    discussion: """
      Across batches: every pending submission the last run held back, with its age in nights. Potential \
      matches list their candidates (a candidate a guard keeps from matching shows the guard, not a score); \
      held updates list the fields whose form value differs from the SIS; errors list field and problem \
      (also a refused new version of a submission delivered before: the SIS keeps the delivered record, \
      the form is corrected in the enrollment system).
      Each item prints the commands that answer it; `sisdrop show SUBMISSION` gives the detail. An item \
      answered since the last run stays until the next run applies the answer, and says so (the answer \
      and who gave it, or that it was given for an earlier version of the form and must be given again); \
      a correction the last run applied and the delivery refused says so ("tried: ... refused"), with \
      the reason beside it: nothing is left to apply, correct it again.
      --csv FILE writes a ready-to-fill answer file: one row per choice (each candidate and No Match; \
      accept and keep-sis for each held field; each correctable field), the Answer column blank. Mark \
      the chosen rows with x (write the corrected value for a correction), leave the others blank, and \
      drop the file into the inbox as answers.csv: the next `sisdrop run` takes it like the other \
      answer files (two marks for one choice, or an unknown submission, refuse the whole file).
      Delivered records the SIS has not confirmed are listed after the queue, each with what is \
      missing and the commands that answer it (`unconfirmed` in --json).
      Exit codes: 0, 66 not a working directory, 73 cannot write FILE, 75 busy.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "Write a ready-to-fill answer file (drop it into the inbox as answers.csv).")
  var csv: String?
  package init() {}

  package func run() throws {
    // Only looks: no lock, so a clerk can read the queue while the nightly run works.
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      let queue = try ReviewQueue.load(workdir: workdir)
      if let csv {
        let path = FileSystem.absolute(csv)
        // A file people open in a spreadsheet: formula-like cells are made inert.
        let writer = try CSVWriter(path: path, options: CSVWriterOptions(spreadsheetSafe: true))
        try writer.write(ReviewQueue.answerFileHeader)
        for row in queue.answerFileRows { try writer.write(row) }
        try writer.close()
        print(
          "\(queue.answerFileRows.count) choices for \(Set(queue.answerFileRows.map { $0[0] }).count) submissions written to \(path): mark the chosen rows with x, then drop it into the inbox as answers.csv"
        )
        return
      }
      // Delivered records the SIS has not confirmed: a person sends them again or closes them.
      let unconfirmed = try Confirmation.unconfirmed(workdir.state)
      if workDir.json { return try printJSON(ReviewOutput(queue: queue, unconfirmed: unconfirmed)) }
      defer {
        if !unconfirmed.isEmpty {
          print("\nDelivered, not confirmed by the SIS (\(unconfirmed.count) record(s)):")
          for (id, items) in Dictionary(grouping: unconfirmed, by: \.submissionID).sorted(by: {
            $0.key < $1.key
          }) {
            for item in items {
              print(
                "  \(id) \(item.label) [sent by \(item.delivery)]: \(item.missing ?? "not seen in the SIS")"
                  + (item.importMessage.map { $0.isEmpty ? "" : " — the SIS import says: \($0)" }
                    ?? ""))
            }
            print("      sisdrop redeliver \(id)")
            print("      sisdrop confirm \(id) --reason TEXT")
          }
        }
      }
      guard !queue.items.isEmpty else { return print("nothing waits for a person") }
      let answers = try RecordedAnswers(workdir)
      print(
        "\(queue.submissions) submission\(queue.submissions == 1 ? "" : "s") wait for a person: "
          + "\(queue.count(.potentialMatch)) with a potential match, \(queue.count(.heldUpdate)) with an update to review, "
          + "\(queue.count(.error)) in error")
      for (kind, items) in queue.groups {
        print("\n\(kind.title):")
        for item in items {
          let age =
            item.ageNights == 0
            ? "since tonight" : "\(item.ageNights) night\(item.ageNights == 1 ? "" : "s")"
          var line =
            "  \(item.submissionID) \(item.schema) \(item.seq) [\(age), batch \(item.batch)]"
          switch kind {
          case .potentialMatch:
            line +=
              ": candidates "
              + item.candidates.map { c in
                c.sisID
                  + (c.score.map { String(format: " (%.3f)", $0) }
                    ?? " (held by a guard: \(c.guards.joined(separator: "; ")))")
              }.joined(separator: ", ")
          case .heldUpdate:
            line += ": SIS \(item.sisID ?? "?"), fields \(item.fields.joined(separator: " "))"
          case .error:
            line +=
              ": "
              + item.problems.map { ($0.field.isEmpty ? "" : "\($0.field): ") + $0.reason }.joined(
                separator: "; ")
          }
          print(line)
          if let note = item.newVersionNote { print("      " + note) }
          for answer in answers.said(for: item) { print("      " + answer) }
          for command in item.commands { print("      \(command)") }
          if kind == .error, let todo = item.problems.first?.whatToDo, !todo.isEmpty {
            print("      \(todo)")
          }
        }
      }
    }
  }
}

/// `sisdrop review --json`: the queue, and the delivered records the SIS has not confirmed with
/// what is missing and the commands that answer them (as the text lists them).
struct ReviewOutput: Encodable {
  var queue: ReviewQueue
  var unconfirmed: [Confirmation.Item]

  enum CodingKeys: String, CodingKey { case schemaVersion, items, unconfirmed }
  func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(queue.schemaVersion, forKey: .schemaVersion)
    try c.encode(queue.items, forKey: .items)
    try c.encode(
      unconfirmed.map { UnconfirmedRecordJSON($0, withCommands: true) }, forKey: .unconfirmed)
  }
}

/// The answers on record for the queue's items, said beside them: an item answered between nights
/// stays in the queue until the next run that brings its submission applies the answer, and the
/// clerk sees that it is answered (or that the answer was for an earlier version of the form).
/// A correction the delivery already applied and refused is said as such: it is no longer waiting.
/// Ids, fields and who answered; never a corrected value.
struct RecordedAnswers {
  /// "submission schema seq" → (field or "" for a Match / No Match, what was answered, its version,
  /// and for a correction its value: compared with the value the delivery refused, never printed).
  var byPart: [String: [(field: String, what: String, version: String?, corrected: String?)]] = [:]
  /// Each submission's current version (the ledger's content hash).
  var versions: [String: String] = [:]

  init(_ workdir: WorkDir) throws {
    let state = workdir.state
    for r in try state.resolutions() + state.contactResolutions() {
      byPart[
        "\(r.submissionID) \(r.isContact ? "contact" : "student") \(r.studentSeq)", default: []
      ]
      .append(
        (
          "", "\(r.sisID.map { "Match to \($0)" } ?? "No Match") (by \(r.resolvedBy))", r.version,
          nil
        ))
    }
    for a in try state.fieldAnswers() {
      byPart["\(a.submissionID) \(a.schema) \(a.seq)", default: []].append(
        (a.field, "\(a.choice.rawValue) \(a.field) (by \(a.answeredBy))", a.version, nil))
    }
    for c in try state.corrections() {
      byPart["\(c.submissionID) \(c.schema) \(c.seq)", default: []].append(
        (c.field, "correct \(c.field)", c.version.isEmpty ? nil : c.version, c.value))
    }
    for id in Set(byPart.keys.map { String($0.prefix { $0 != " " }) }) {
      versions[id] = try state.ledgerEntry(id)?.contentHash
    }
  }

  /// What was answered for this item: for a potential match its Match / No Match, for a held update
  /// or an error the answers about its fields.
  /// `inShow`: said by `sisdrop show`, which prints the value itself (review points to it).
  func said(for item: ReviewQueue.Item, inShow: Bool = false) -> [String] {
    let fields = Set(item.fields + item.problems.map(\.field))
    return (byPart["\(item.submissionID) \(item.schema) \(item.seq)"] ?? []).filter {
      item.kind == .potentialMatch ? $0.field.isEmpty : fields.contains($0.field)
    }.map { answer in
      guard answer.version == nil || answer.version == versions[item.submissionID] else {
        return
          "answered for an earlier version of this form, not applied: \(answer.what); answer again"
      }
      // Corrections are applied by the delivery: the value it refused is this correction's when
      // the run that held the item back already applied it (a value given since is still to try).
      if let corrected = answer.corrected,
        item.problems.contains(where: {
          $0.stage == "deliver" && $0.field == answer.field && $0.value == corrected
        })
      {
        return
          "tried: \(answer.what); the run of batch \(item.batch) applied it and the delivery refused it "
          + "(the reason above; "
          + (inShow
            ? "the form below shows the value"
            : "`sisdrop show \(shellQuote(item.submissionID))` shows the value")
          + "): "
          + "nothing is left to apply, correct it again as below"
      }
      return
        "answered: \(answer.what); the next `sisdrop run` that brings this submission applies it"
    }
  }
}
