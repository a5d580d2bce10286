import Foundation
import SISDropCore
import SISDropFormats
import SISDropMatching
import SISDropStore

/// `report.html`: one self-contained page per batch for the people who decide (no network, no
/// external assets, inline CSS; opens from the file system).
///
/// An index, counts per outcome, then full detail only for what needs a person: the potential
/// matches with the submission and each candidate side by side (differing fields in yellow, a
/// guarded candidate's guard instead of its score), the updates held by the `updates:` policy
/// (form and SIS side by side), the errors with what to do, each with the exact commands that
/// answer it. Then contacts (matched, new, same as), rejected SIS rows, and one compact row per
/// submission (outcome, SIS id, contacts, delivered, the rule that made a student NEW): the page
/// grows with the queue, not with the batch. Every value is HTML-escaped: names can hold `<`, `&`
/// and quotes.
///
/// The match stage's decisions are read as JSON, not through `MatchDecision`, so explanation
/// fields a matcher adds are shown without a change here.
package enum BatchReport {
  package static let fileName = "report.html"

  /// The student fields shown side by side.
  static let studentFields = [
    FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
    FieldName.birthDate, FieldName.gender, FieldName.gradeLevel,
    FieldName.schoolID, FieldName.street, FieldName.city,
    FieldName.state, FieldName.zip, FieldName.homePhone, FieldName.email,
  ]
  /// Decision keys drawn by the page itself; any other key is shown as part of the explanation.
  static let drawnKeys: Set<String> = [
    "outcome", "sisID", "score", "reasons", "candidates", "method",
  ]

  /// Writes the batch's report.html (replacing an earlier one atomically) and returns its path.
  /// The page goes to the file as it is rendered: held whole, it was 6.3 MB at 20,000 submissions,
  /// and rendering it set `sisdrop run`'s peak memory (`scripts/bench/review.sh`).
  @discardableResult
  package static func write(workdir: WorkDir, batch: BatchRecord) throws -> String {
    let path = workdir.batchFolder(batch.id) + "/" + fileName
    try FileSystem.writeAtomically(path) { writer in
      var page = Page(writer: writer)
      try render(workdir: workdir, batch: batch, into: &page)
      try page.finish()
    }
    return path
  }

  /// Writes the report again after a step changed the batch (a run, a delivery, a re-delivery,
  /// close): the one policy for a report that cannot be written there. It is logged, and the step
  /// stands: the report is a view of the batch folder, and `sisdrop report` writes it again.
  @discardableResult
  static func refresh(workdir: WorkDir, batch: BatchRecord, log: (String) -> Void) -> String? {
    do { return try write(workdir: workdir, batch: batch) } catch {
      log("report.html not written: \(error)")
      return nil
    }
  }

  // MARK: Reading the batch

  /// Files the page could not read, with why: shown at the top, never taken for "nothing".
  final class Unreadable {
    var problems: [(path: String, reason: String)] = []
    func contains(_ path: String) -> Bool { problems.contains { $0.path == path } }
  }

  /// A stage file's JSON lines; a missing file is fine only while its stage folder does not exist (not run yet).
  static func jsonLines(_ path: String, _ unreadable: Unreadable) -> [[String: Any]] {
    lineSlices(path, unreadable).compactMap { parse($0, path, unreadable) }
  }

  /// A stage file's lines as byte slices of one buffer, numbered: the records are parsed one at a
  /// time where they are used. Foundation's JSON objects take ~20× the bytes of their line, so a
  /// batch of 20,000 held as objects took ~1 GB (`scripts/bench/review.sh`).
  static func lineSlices(_ path: String, _ unreadable: Unreadable) -> [(
    number: Int, bytes: ArraySlice<UInt8>
  )] {
    guard FileSystem.exists(path) else {
      if FileSystem.isDirectory((path as NSString).deletingLastPathComponent) {
        unreadable.problems.append((path, "missing"))
      }
      return []
    }
    do {
      return try FileSystem.readFile(path).split(separator: 0x0A, omittingEmptySubsequences: false)
        .enumerated()
        .filter { !$0.element.isEmpty }.map { ($0.offset + 1, $0.element) }
    } catch {
      unreadable.problems.append((path, "\(error)"))
      return []
    }
  }

  /// A stage file's lines read one at a time, never held whole (nil when missing or unreadable, as for `lineSlices`).
  static func lineReader(_ path: String, _ unreadable: Unreadable) -> FileLines? {
    guard FileSystem.exists(path) else {
      if FileSystem.isDirectory((path as NSString).deletingLastPathComponent) {
        unreadable.problems.append((path, "missing"))
      }
      return nil
    }
    do { return try FileLines(path: path) } catch {
      unreadable.problems.append((path, "\(error)"))
      return nil
    }
  }

  /// The reader's next line; a read error ends the file (and is reported).
  static func nextLine(_ reader: FileLines?, _ unreadable: Unreadable) -> (
    number: Int, bytes: ArraySlice<UInt8>
  )? {
    guard let reader else { return nil }
    do { return try reader.next() } catch {
      unreadable.problems.append((reader.path, "\(error)"))
      return nil
    }
  }

  static func parse(
    _ line: (number: Int, bytes: ArraySlice<UInt8>), _ path: String, _ unreadable: Unreadable
  ) -> [String: Any]? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any]
    else {
      unreadable.problems.append((path, "line \(line.number) is not a JSON object"))
      return nil
    }
    return object
  }

  static func table(_ path: String, _ unreadable: Unreadable) -> [[String]] {
    guard FileSystem.exists(path) else {
      if FileSystem.isDirectory((path as NSString).deletingLastPathComponent) {
        unreadable.problems.append((path, "missing"))
      }
      return []
    }
    do { return try BatchLifecycle.readTable(path) } catch {
      unreadable.problems.append((path, "\(error)"))
      return []
    }
  }

  /// A rejects file's rows (`RejectsFile`), or none when it is missing or unreadable (reported).
  static func rejects(_ path: String, _ unreadable: Unreadable) -> [[String]] {
    guard FileSystem.exists(path) else { return table(path, unreadable) }
    do { return try RejectsFile.read(path).map(\.row) } catch {
      unreadable.problems.append((path, "\(error)"))
      return []
    }
  }

  /// The page: the batch's files read once (`BatchFiles`), the cards and rows drawn from the
  /// decisions (`Cards`), then the sections in the order of the index. What could not be read is
  /// listed at the top, in the order it was met.
  static func render(workdir: WorkDir, batch: BatchRecord) throws -> String {
    var page = Page()
    try render(workdir: workdir, batch: batch, into: &page)
    return page.text
  }

  /// `render`, line by line into `page`.
  static func render(workdir: WorkDir, batch: BatchRecord, into page: inout Page) throws {
    let unreadable = Unreadable()
    let config = try? workdir.config(for: batch)
    let counts = stageCounts(workdir: workdir, batch: batch, unreadable)
    let files = BatchFiles(workdir: workdir, batch: batch, unreadable: unreadable)
    let cards = drawCards(files, unreadable)

    writeHead(&page, batch: batch, district: config?.districtName ?? "")
    writeRefusedInputs(&page, workdir: workdir, batch: batch)
    writeUnreadable(&page, unreadable, batchFolder: workdir.batchFolder(batch.id))
    writeIndex(&page, cards, sisRejects: files.sisRejects.count)
    writeCounts(&page, counts, delivered: files.delivered.count, sisRejects: files.sisRejects.count)
    try writeConfirmation(&page, workdir.state)
    let decisionsUnreadable = unreadable.contains(files.decisionsPath)
    writeReviewQueue(&page, cards.review, decisionsUnreadable: decisionsUnreadable)
    writeHeldUpdates(&page, cards.held, decisionsUnreadable: decisionsUnreadable)
    writeErrors(
      &page, cards, anyError: !files.errors.isEmpty,
      errorsUnreadable: unreadable.contains(files.deliverFolder + "/errors.csv"))
    writeContacts(&page, cards)
    writeSISRejects(
      &page, files.sisRejects, unreadable: unreadable.contains(files.sisRejectsPath))
    writeSubmissions(&page, cards, heldRows: files.heldRows)
    page.line(
      "<footer>Written by sisdrop \(escape(SISDropVersion.current)) from \(escape(workdir.batchFolder(batch.id))). Student names and birth dates are FERPA-protected: do not forward this page.</footer>"
    )
    page.line("</body></html>")
  }

  /// Each stage's counts from its stage.json, as `stage.key`.
  static func stageCounts(workdir: WorkDir, batch: BatchRecord, _ unreadable: Unreadable)
    -> [String: Int]
  {
    var counts: [String: Int] = [:]
    for stage in Stage.allCases where FileSystem.isDirectory(workdir.stageFolder(batch.id, stage)) {
      do {
        for (key, value) in try StageReport.load(workdir.stageFolder(batch.id, stage)).counts {
          counts["\(stage.rawValue).\(key)"] = value
        }
      } catch {
        unreadable.problems.append(
          (workdir.stageFolder(batch.id, stage) + "/stage.json", "\(error)"))
      }
    }
    return counts
  }

  /// The normalized submissions, read in step with the decisions: match writes its decisions in
  /// the order of the submissions, so the two files are read a line at a time, never held whole (a
  /// submission out of step is looked up in all of them, read once).
  final class SubmissionsInStep {
    let path: String
    let lines: FileLines?
    let unreadable: Unreadable
    var all: [String: [String: Any]]? = nil

    init(path: String, unreadable: Unreadable) {
      self.path = path
      self.unreadable = unreadable
      lines = BatchReport.lineReader(path, unreadable)
    }

    func submission(_ id: String) -> [String: Any]? {
      while let line = BatchReport.nextLine(lines, unreadable) {
        guard let object = BatchReport.parse(line, path, unreadable) else { continue }
        if object["id"] as? String == id { return object }
        break
      }
      if all == nil {
        var all: [String: [String: Any]] = [:]
        let again = try? FileLines(path: path)
        while let line = try? again?.next() {
          if let object = try? JSONSerialization.jsonObject(with: Data(line.bytes))
            as? [String: Any], let key = object["id"] as? String
          {
            all[key] = object
          }
        }
        self.all = all
      }
      return all?[id]
    }
  }

  /// The batch's files the page reads besides stage.json, opened or read in this order.
  struct BatchFiles {
    var submissions: SubmissionsInStep
    var decisionsPath: String
    var decisions: FileLines?
    var snapshot: Snapshot?
    var deliverFolder: String
    /// errors.csv's rows, less those of submissions a re-delivery has delivered since.
    var errors: [[String]]
    /// Submissions delivered by the deliver stage or a re-delivery.
    var delivered: Set<String>
    var heldRows: [[String]]
    var sisRejectsPath: String
    var sisRejects: [[String]]

    init(workdir: WorkDir, batch: BatchRecord, unreadable: Unreadable) {
      submissions = SubmissionsInStep(
        path: workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl",
        unreadable: unreadable)
      decisionsPath = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
      decisions = BatchReport.lineReader(decisionsPath, unreadable)
      snapshot = (try? SnapshotReference.load(workdir, batch: batch.id).absolutePath(workdir))
        .flatMap {
          try? Snapshot(path: $0)
        }
      deliverFolder = workdir.stageFolder(batch.id, .deliver)
      errors = BatchReport.table(deliverFolder + "/errors.csv", unreadable)
      delivered = Set(BatchReport.table(deliverFolder + "/delivered.csv", unreadable).map { $0[0] })
      for redelivery in (try? Redelivery.all(workdir, batch: batch.id)) ?? [] {
        delivered.formUnion(
          BatchReport.table(redelivery.folder + "/delivered.csv", unreadable).map { $0[0] })
      }
      // An error fixed by a re-delivery is no longer open.
      errors.removeAll { [delivered] in delivered.contains($0[0]) }
      heldRows = BatchReport.table(deliverFolder + "/held.csv", unreadable)
      sisRejectsPath = workdir.stageFolder(batch.id, .normalize) + "/" + RejectsFile.sisName
      sisRejects = BatchReport.rejects(sisRejectsPath, unreadable)
    }
  }

  // MARK: Drawing the decisions

  /// Full detail only for what needs a person (potential matches, held updates, errors); one
  /// compact row per submission for the rest, so the page grows with the queue, not the batch.
  struct Cards {
    var review: [String] = []
    var held: [String] = []
    var contactCounts: [String: Int] = [:]
    var sameAs: [String] = []
    var compact: [String] = []
    var decided = Set<String>()
    var errorsByID: [String: [[String]]]
    /// Submissions in error, in the order of errors.csv.
    var errorIDs: [String] = []
    var errorCards: [String: String] = [:]

    init(errors: [[String]]) {
      errorsByID = Dictionary(grouping: errors, by: { $0[0] })
      // A set beside the list: searching the list for every row grew with the square of the errors.
      var listed = Set<String>()
      for row in errors where listed.insert(row[0]).inserted { errorIDs.append(row[0]) }
    }
  }

  /// One submission's parts of the page while its students and contacts are drawn.
  struct SubmissionParts {
    var outcomes: [String] = []
    var sisIDs: [String] = []
    var notes: [String] = []
    var contactNotes: [String] = []
    var heldParts: [String] = []
    var undeliveredDifferences: [String] = []
    /// The card the submission's id links to (the first that needs a person).
    var link: String? = nil
  }

  /// Every decision's cards and compact row, then the submissions in error that match never decided.
  static func drawCards(_ files: BatchFiles, _ unreadable: Unreadable) -> Cards {
    var cards = Cards(errors: files.errors)
    while let line = nextLine(files.decisions, unreadable) {
      guard let decision = parse(line, files.decisionsPath, unreadable) else { continue }
      drawSubmission(decision, files, &cards)
    }
    for id in cards.errorIDs where !cards.decided.contains(id) {
      cards.errorCards[id] = errorCard(id: id, rows: cards.errorsByID[id] ?? [], extra: "")
      cards.compact.append(
        compactRow(
          id: id, outcome: ["rejected"], sis: [], contacts: [],
          state: files.delivered.contains(id) ? "delivered" : "in error",
          notes: [], link: "error-\(id)"))
    }
    return cards
  }

  /// One decision: its students and contacts, its held-updates and error cards, its compact row.
  static func drawSubmission(_ decision: [String: Any], _ files: BatchFiles, _ cards: inout Cards) {
    let id = decision["submissionID"] as? String ?? ""
    cards.decided.insert(id)
    let submission = files.submissions.submission(id)
    var parts = SubmissionParts()
    drawStudents(decision, submission, id: id, files, &cards, &parts)
    drawContacts(decision, id: id, &cards, &parts)
    if !parts.heldParts.isEmpty {
      cards.held.append(
        "<section class=\"card held\" id=\"held-\(escape(id))\"><h3><span class=\"orb yellow\"></span>\(escape(id))</h3>"
          + parts.heldParts.joined() + "</section>")
      parts.link = parts.link ?? "held-\(id)"
    }
    if let rows = cards.errorsByID[id] {
      cards.errorCards[id] = errorCard(
        id: id, rows: rows, extra: parts.undeliveredDifferences.joined())
      parts.link = parts.link ?? "error-\(id)"
    }
    let state =
      files.delivered.contains(id)
      ? "delivered"
      : !parts.heldParts.isEmpty || parts.outcomes.contains(where: { $0.hasSuffix("potential") })
        ? "held"
        : cards.errorsByID[id] != nil ? "in error" : "not delivered"
    cards.compact.append(
      compactRow(
        id: id, outcome: parts.outcomes, sis: parts.sisIDs, contacts: parts.contactNotes,
        state: state, notes: parts.notes, link: parts.link))
  }

  /// A decision's students: outcome and SIS id each, a review card for a potential match, the rule
  /// of a NEW student, held updates, and the differences of a matched student not yet delivered.
  static func drawStudents(
    _ decision: [String: Any], _ submission: [String: Any]?, id: String, _ files: BatchFiles,
    _ cards: inout Cards, _ parts: inout SubmissionParts
  ) {
    let rules = newRules(
      decisions: [decision], submissions: submission.map { [id: $0] } ?? [:],
      snapshot: files.snapshot)
    let students = (submission?["students"] as? [[String: Any]]) ?? []
    let studentDecisions = (decision["students"] as? [[String: Any]]) ?? []
    let siblings = studentDecisions.count > 1 || students.count > 1
    for student in studentDecisions {
      let seq = student["seq"] as? Int ?? 1
      let detail = student["decision"] as? [String: Any] ?? [:]
      let outcome = detail["outcome"] as? String ?? ""
      let fields =
        students.first { ($0["seq"] as? Int) == seq }?["fields"] as? [String: String] ?? [:]
      let prefix = siblings ? "\(seq): " : ""
      parts.outcomes.append(prefix + outcome)
      parts.sisIDs.append(prefix + (detail["sisID"] as? String ?? "—"))
      let kept = student["keptSIS"] as? [String] ?? []
      if !kept.isEmpty {
        parts.notes.append(prefix + "SIS value kept: " + kept.joined(separator: ", "))
      }
      switch outcome {
      case "potential":
        cards.review.append(
          reviewCard(
            id: id, seq: seq, fields: fields, decision: detail, snapshot: files.snapshot,
            siblings: siblings))
        parts.link = parts.link ?? "review-\(id)-\(seq)"
      case "new":
        parts.notes.append(
          prefix + (rules["\(id)/\(seq)"] ?? describe(detail["reasons"] as Any)))
      default: break
      }
      let held = student["heldDifferences"] as? [[String: Any]] ?? []
      if !held.isEmpty {
        parts.heldParts.append(
          heldPart(
            id: id, schema: "student", seq: seq, sisID: detail["sisID"] as? String ?? "",
            held: held, kept: kept,
            which: siblings ? " --student \(seq)" : ""))
      }
      let differences = student["differences"] as? [[String: Any]] ?? []
      if outcome == "matched" && !differences.isEmpty && !files.delivered.contains(id) {
        parts.undeliveredDifferences.append(
          differencesPart(
            id: id, seq: seq, sisID: detail["sisID"] as? String ?? "", differences: differences))
      }
    }
  }

  /// A decision's contacts: matched, potential, new or the same as another form's, counted; the
  /// SIS values kept and the updates held.
  static func drawContacts(
    _ decision: [String: Any], id: String, _ cards: inout Cards, _ parts: inout SubmissionParts
  ) {
    for contact in (decision["contacts"] as? [[String: Any]]) ?? [] {
      let seq = contact["seq"] as? Int ?? 0
      let outcome = contact["outcome"] as? String ?? ""
      if let same = contact["sameAs"] as? String {
        cards.contactCounts["same-as", default: 0] += 1
        parts.contactNotes.append("\(seq)=\(same)")
        cards.sameAs.append(
          "<tr><td data-label=\"Submission\">\(escape(id))</td><td data-label=\"Contact\">\(seq)</td><td data-label=\"Same as\">\(escape(same))</td>"
            + "<td data-label=\"Why\">\(escape(contact["reason"] as? String ?? ""))</td></tr>")
      } else if outcome == "matched" {
        cards.contactCounts["matched", default: 0] += 1
        parts.contactNotes.append("\(seq)→\(contact["contactID"] as? String ?? "")")
      } else if outcome == "potential" {
        // Perhaps an SIS contact under another name: a person answers `sisdrop resolve ID --contact N`.
        cards.contactCounts["potential", default: 0] += 1
        parts.contactNotes.append(
          "\(seq)? " + ((contact["candidates"] as? [String]) ?? []).joined(separator: " "))
      } else {
        cards.contactCounts["new", default: 0] += 1
        parts.contactNotes.append("\(seq) new")
      }
      let contactKept = contact["keptSIS"] as? [String] ?? []
      if !contactKept.isEmpty {
        parts.notes.append("contact \(seq): SIS value kept: " + contactKept.joined(separator: ", "))
      }
      let held = contact["heldDifferences"] as? [[String: Any]] ?? []
      if !held.isEmpty {
        parts.heldParts.append(
          heldPart(
            id: id, schema: "contact", seq: seq, sisID: contact["contactID"] as? String ?? "",
            held: held,
            kept: contactKept, which: " --contact \(seq)"))
      }
    }
  }

  // MARK: The page's sections

  static func writeHead(_ page: inout Page, batch: BatchRecord, district: String) {
    page.line("<!DOCTYPE html>")
    page.line(
      "<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )
    page.line("<title>sisdrop batch \(escape(batch.id))</title>")
    page.line("<style>\(css)</style></head><body>")
    page.line(
      "<h1>Batch \(escape(batch.id)) <small>\(escape(district))</small></h1>")
    page.line(
      "<p class=\"meta\">state: <b>\(escape(batch.state.rawValue))</b> · opened \(escape(batch.openedAt))"
        + (batch.closedAt.map { " · closed \(escape($0))" } ?? "")
        + " · selection \(escape(batch.selection.description))</p>")
  }

  /// A stage that refused its input (a broken SIS export, a cut-off roster, a NUL upload): what and
  /// where, never only in the log. Quoted values are masked, as in the notification.
  static func writeRefusedInputs(_ page: inout Page, workdir: WorkDir, batch: BatchRecord) {
    let runs = (try? workdir.state.stageRuns(batch: batch.id)) ?? []
    let refused = Stage.allCases.compactMap { stage in runs.last { $0.stage == stage.rawValue } }
      .filter { $0.status == "failed" }
    guard !refused.isEmpty else { return }
    page.line(
      "<div class=\"unreadable\"><b>Input refused: this batch stopped before delivery.</b><ul>")
    for run in refused {
      page.line(
        "<li>\(escape(run.stage)) (attempt \(run.attempt), exit \(run.exitCode ?? 0)): \(escape(Notification.mask(run.message ?? "")))</li>"
      )
    }
    page.line("</ul></div>")
  }

  static func writeUnreadable(_ page: inout Page, _ unreadable: Unreadable, batchFolder: String) {
    guard !unreadable.problems.isEmpty else { return }
    page.line(
      "<div class=\"unreadable\"><b>Could not read \(unreadable.problems.count) file(s): what this page shows is incomplete.</b><ul>"
    )
    for problem in unreadable.problems {
      page.line(
        "<li><code>\(escape(relativePath(problem.path, to: batchFolder)))</code>: \(escape(problem.reason))</li>"
      )
    }
    page.line("</ul></div>")
  }

  static func writeIndex(_ page: inout Page, _ cards: Cards, sisRejects: Int) {
    let contactTotal = cards.contactCounts.values.reduce(0, +)
    page.line(
      "<nav class=\"index\"><a href=\"#counts\">Counts</a> <a href=\"#review\">Potential matches (\(cards.review.count))</a>"
        + " <a href=\"#held\">Held updates (\(cards.held.count))</a> <a href=\"#errors\">Errors (\(cards.errorCards.count))</a>"
        + " <a href=\"#contacts\">Contacts (\(contactTotal))</a> <a href=\"#sis-rejects\">SIS export problems (\(sisRejects))</a>"
        + " <a href=\"#submissions\">All submissions (\(cards.compact.count))</a></nav>")
  }

  /// The counts shown, labelled, in the order of the table (a count a stage did not write is left out).
  static let countRows: [(label: String, key: String)] = [
    ("submissions in the export", "parse.submissions_in_export"), ("selected", "parse.selected"),
    ("rejected by parse", "parse.rejected_submissions"),
    (
      "of them only in contact or document rows (submissions.csv cut off?)",
      "parse.submissions_missing_from_export"
    ),
    ("rejected by normalize", "normalize.rejected_submissions"),
    ("duplicate rows in the export, read once", "parse.duplicate_rows"),
    ("SIS export rows left out (malformed)", "normalize.sis_rejected_rows"),
    ("SIS values missing for matching", "normalize.sis_missing_values"),
    ("SIS delta rows added or replaced", "normalize.sis_delta_rows"),
    ("SIS delta rows deleted", "normalize.sis_delta_deleted"),
    ("SIS delta rows naming an unknown key", "normalize.sis_delta_unknown_keys"),
    ("already delivered", "normalize.already_delivered"),
    ("students matched", "match.students_matched"),
    ("students potential (review)", "match.students_potential"),
    ("students new", "match.students_new"), ("contacts matched", "match.contacts_matched"),
    ("contacts new", "match.contacts_new"),
    ("submissions delivered", "deliver.delivered_submissions"),
    ("submissions held for review", "deliver.held_submissions"),
    ("submissions in error", "deliver.error_submissions"),
    (
      "already delivered, re-sent in a row that could not be read (not in error)",
      "deliver.already_delivered_unreadable"
    ),
    ("student updates replaced by a later form of the same child", "deliver.updates_superseded"),
    (
      "contact updates replaced by a later form naming the same contact",
      "deliver.contact_updates_superseded"
    ),
    (
      "new students on an earlier form of a child a later form creates (not created twice)",
      "deliver.new_students_superseded"
    ),
    (
      "new students waiting: a new student delivered before, not yet in the SIS export",
      "match.students_awaiting_new_child"
    ),
    ("uploaded documents verified", "parse.documents_verified"),
    ("uploaded document problems (rejects.csv)", "parse.document_errors"),
    ("uploaded documents of no submission in the export", "parse.documents_without_submission"),
    ("documents folder entries refused (not files)", "parse.documents_refused"),
    ("document files delivered", "deliver.document_files"),
    ("documents already delivered, not sent again", "deliver.documents_already_delivered"),
  ]

  /// Counts per outcome.
  static func writeCounts(
    _ page: inout Page, _ counts: [String: Int], delivered: Int, sisRejects: Int
  ) {
    page.line("<h2 id=\"counts\">Counts</h2><table class=\"counts\"><tbody>")
    for (label, key) in countRows where counts[key] != nil {
      page.line("<tr><th>\(escape(label))</th><td class=\"n\">\(counts[key] ?? 0)</td></tr>")
    }
    page.line(
      "<tr><th>delivered after correction</th><td class=\"n\">\(max(0, delivered - (counts["deliver.delivered_submissions"] ?? delivered)))</td></tr>"
    )
    page.line(
      "<tr><th>SIS export problems (sis_rejects.csv)</th><td class=\"n\">\(sisRejects)</td></tr>"
    )
    page.line("</tbody></table>")
  }

  /// Confirmation from the SIS: what later exports showed of the deliveries, across batches.
  static func writeConfirmation(_ page: inout Page, _ state: StateStore) throws {
    let confirmation = try Confirmation.counts(state)
    let unconfirmed = try Confirmation.unconfirmed(state)
    page.line(
      "<h2 id=\"confirmation\">SIS confirmation: \(confirmation.unconfirmed) delivered record(s) unconfirmed</h2>"
    )
    page.line(
      "<p class=\"hint\">Across every batch: \(confirmation.confirmed) delivered record(s) confirmed by a later SIS export, \(confirmation.delivered) awaiting one, \(confirmation.unconfirmed) unconfirmed (reported not imported by the SIS import, or not in the SIS exports since). <code>sisdrop redeliver SUBMISSION</code> sends one again at the next run; <code>sisdrop confirm SUBMISSION --reason TEXT</code> closes it by hand.</p>"
    )
    guard !unconfirmed.isEmpty else { return }
    page.line(
      "<table class=\"stack\"><thead><tr><th>Submission</th><th>Record</th><th>Sent by</th><th>Missing</th><th>SIS import</th></tr></thead><tbody>"
    )
    for item in unconfirmed {
      let said = [item.importStatus, item.importMessage].compactMap { $0 }.filter { !$0.isEmpty }
        .joined(separator: ": ")
      page.line(
        "<tr><td data-label=\"Submission\">\(escape(item.submissionID))</td><td data-label=\"Record\">\(escape(item.label))</td>"
          + "<td data-label=\"Sent by\">\(escape(item.delivery))</td><td data-label=\"Missing\">\(escape(item.missing ?? ""))</td>"
          + "<td data-label=\"SIS import\">\(escape(said))</td></tr>")
    }
    page.line("</tbody></table>")
  }

  /// The review queue: potential matches, submission and candidates side by side.
  static func writeReviewQueue(_ page: inout Page, _ review: [String], decisionsUnreadable: Bool) {
    page.line(
      "<h2 id=\"review\"><span class=\"orb yellow\"></span>Review queue: \(review.count) potential match\(review.count == 1 ? "" : "es")</h2>"
    )
    if review.isEmpty {
      page.line(
        decisionsUnreadable
          ? "<p>Unknown: decisions.jsonl could not be read (see above).</p>"
          : "<p>Nothing to review.</p>")
    }
    page.line(
      "<p class=\"hint\">A submission with any unresolved potential match is held back and stays pending. Fields that differ from the submission are <mark>yellow</mark>. A candidate a guard keeps from an automatic match shows the guard, not a score.</p>"
    )
    for card in review { page.line(card) }
  }

  /// Updates the `updates:` policy holds for a person.
  static func writeHeldUpdates(_ page: inout Page, _ held: [String], decisionsUnreadable: Bool) {
    page.line(
      "<h2 id=\"held\"><span class=\"orb yellow\"></span>Updates held for review: \(held.count) submission(s)</h2>"
    )
    if held.isEmpty {
      page.line(
        decisionsUnreadable
          ? "<p>Unknown: decisions.jsonl could not be read (see above).</p>"
          : "<p>No update is held.</p>")
    } else {
      page.line(
        "<p class=\"hint\">The form's value differs from the SIS's in a field the pipeline's <code>updates:</code> section sends to review. For each field: accept the form's value, or keep the SIS value; the next <code>sisdrop run</code> delivers it.</p>"
      )
    }
    for card in held { page.line(card) }
  }

  /// Errors with what to do.
  static func writeErrors(
    _ page: inout Page, _ cards: Cards, anyError: Bool, errorsUnreadable: Bool
  ) {
    page.line("<h2 id=\"errors\">Errors: \(cards.errorCards.count) submission(s)</h2>")
    if !anyError {
      page.line(
        errorsUnreadable
          ? "<p>Unknown: errors.csv could not be read (see above).</p>"
          : "<p>No records in error.</p>")
    } else {
      // A refused new version of a delivered submission does not stay pending: said apart.
      let wait = DeliverStage.inErrorWait(cards.errorsByID.values.flatMap { $0 })
      page.line(
        wait == "they stay pending"
          ? "<p class=\"hint\">These records stay pending; nothing was dropped. Close returns them to pending if they are still in error.</p>"
          : "<p class=\"hint\">These records \(wait.dropFirst("they ".count)); nothing was dropped. Close returns the others to pending if they are still in error.</p>"
      )
    }
    for id in cards.errorIDs { if let card = cards.errorCards[id] { page.line(card) } }
  }

  /// Contacts: matched to an SIS contact, new, or the same person as a new contact of another form.
  static func writeContacts(_ page: inout Page, _ cards: Cards) {
    let counts = cards.contactCounts
    page.line(
      "<h2 id=\"contacts\">Contacts: \(counts["matched"] ?? 0) matched, \(counts["potential"] ?? 0) potential, \(counts["new"] ?? 0) new, \(counts["same-as"] ?? 0) same as another new contact</h2>"
    )
    page.line(
      "<p class=\"hint\">Each submission's contacts are in the table of all submissions: <em>seq→SIS Contact_ID</em>, <em>seq? candidate Contact_IDs</em> (a person answers <code>sisdrop resolve ID --contact seq</code>), <em>seq new</em>, or <em>seq=submission/seq</em> (one new contact named by two forms of this batch).</p>"
    )
    guard !cards.sameAs.isEmpty else { return }
    page.line(
      "<table class=\"stack\"><thead><tr><th>Submission</th><th>Contact</th><th>Same as</th><th>Why</th></tr></thead><tbody>"
    )
    for row in cards.sameAs { page.line(row) }
    page.line("</tbody></table>")
  }

  /// SIS rows the snapshot could not take.
  static func writeSISRejects(_ page: inout Page, _ sisRejects: [[String]], unreadable: Bool) {
    page.line("<h2 id=\"sis-rejects\">SIS export problems: \(sisRejects.count)</h2>")
    guard !sisRejects.isEmpty else {
      page.line(
        unreadable
          ? "<p>Unknown: sis_rejects.csv could not be read (see above).</p>"
          : "<p>None: every row of the SIS export was read as it is.</p>")
      return
    }
    page.line(
      "<p class=\"hint\">Problems in the rows of the SIS export (<code>20-normalize/sis_rejects.csv</code>): a row left out of the snapshot cannot be matched, a value kept as exported is compared as it is. Fix them in the SIS; the next export brings them in.</p>"
    )
    let labels = Reject.header
    page.line(
      "<table class=\"stack\"><thead><tr>" + labels.map { "<th>\(escape($0))</th>" }.joined()
        + "</tr></thead><tbody>")
    for row in sisRejects.prefix(sisRejectRowsShown) {
      page.line(
        "<tr>"
          + row.enumerated().map {
            "<td data-label=\"\(escape($0.offset < labels.count ? labels[$0.offset] : ""))\">\(escape($0.element))</td>"
          }.joined() + "</tr>")
    }
    page.line("</tbody></table>")
    if sisRejects.count > sisRejectRowsShown {
      page.line(
        "<p>… and \(sisRejects.count - sisRejectRowsShown) more in <code>20-normalize/sis_rejects.csv</code>.</p>"
      )
    }
  }

  /// One row per submission.
  static func writeSubmissions(_ page: inout Page, _ cards: Cards, heldRows: [[String]]) {
    page.line("<h2 id=\"submissions\">All submissions: \(cards.compact.count)</h2>")
    page.line(
      "<p class=\"hint\">Outcome and SIS id per student (<em>seq: …</em> when a form has siblings); the id links to the card of one that needs a person.</p>"
    )
    page.line(
      "<table class=\"compact\"><thead><tr><th>Submission</th><th>Outcome</th><th>SIS id</th><th>Contacts</th><th>Delivered</th><th>Why</th></tr></thead><tbody>"
    )
    for row in cards.compact { page.line(row) }
    page.line("</tbody></table>")
    if !heldRows.isEmpty && cards.held.isEmpty && cards.review.isEmpty {
      // held.csv names held submissions the decisions do not (an unreadable or older decisions file): never shown as nothing.
      page.line(
        "<p>held.csv holds \(Set(heldRows.map { $0[0] }).count) submission(s): see <code>40-deliver/held.csv</code>.</p>"
      )
    }
  }

  /// Rows of sis_rejects.csv drawn on the page (all are counted; the file has the rest).
  static let sisRejectRowsShown = 200

  /// The rule that decided each NEW student (`submission/seq`): the matcher's reason, with the clause
  /// of "another child" that held for the closest SIS student, recomputed from the same records.
  static func newRules(
    decisions: [[String: Any]], submissions: [String: [String: Any]], snapshot: Snapshot?
  ) -> [String: String] {
    let prefix = "the closest SIS student "
    let suffix = " is " + FellegiSunterMatcher.otherChild
    var closest: [String: String] = [:]
    var rules: [String: String] = [:]
    for decision in decisions {
      let id = decision["submissionID"] as? String ?? ""
      for student in (decision["students"] as? [[String: Any]]) ?? [] {
        let detail = student["decision"] as? [String: Any] ?? [:]
        guard detail["outcome"] as? String == "new", let reasons = detail["reasons"] as? [String],
          let first = reasons.first
        else { continue }
        let key = "\(id)/\(student["seq"] as? Int ?? 1)"
        rules[key] = reasons.joined(separator: "; ")
        if first.hasPrefix(prefix) && first.hasSuffix(suffix) {
          closest[key] = String(first.dropFirst(prefix.count).dropLast(suffix.count))
        }
      }
    }
    guard let snapshot, !closest.isEmpty,
      let records = try? snapshot.matchRecords(numbers: Array(Set(closest.values)).sorted())
    else { return rules }
    let sis = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    for (key, sisID) in closest {
      guard let record = sis[sisID], let slash = key.lastIndex(of: "/"),
        let seq = Int(key[key.index(after: slash)...]),
        let submission = submissions[String(key[..<slash])]
      else { continue }
      let fields =
        ((submission["students"] as? [[String: Any]]) ?? []).first { ($0["seq"] as? Int) == seq }?[
          "fields"] as? [String: String] ?? [:]
      let guardians = ((submission["contacts"] as? [[String: Any]]) ?? []).map {
        contact -> PersonRecord.Guardian in
        let f = contact["fields"] as? [String: String] ?? [:]
        return PersonRecord.Guardian(
          first: Comparators.foldLetters(FieldRules.nameKey(f[FieldName.firstName] ?? "")),
          last: Comparators.foldLetters(FieldRules.nameKey(f[FieldName.lastName] ?? "")),
          phone: PersonRecord.digits(f[FieldName.phone] ?? ""))
      }
      let person = PersonRecord(id: key, fields: fields, guardians: guardians)
      if let rule = FellegiSunterMatcher.otherChildRule(ComparisonVector.compare(person, record)) {
        rules[key] = "the closest SIS student \(sisID) is another child: \(rule)"
      }
    }
    return rules
  }

  // MARK: Cards

  static func explanation(_ decision: [String: Any]) -> String {
    var html = "<div class=\"why\">"
    if let method = decision["method"] as? String, !method.isEmpty {
      html += "<span class=\"method\">\(escape(method))</span> "
    }
    // A score only where it decided: not for NEW (the closest's score says nothing about the new
    // record) and not when a guard keeps the best candidate from an automatic match.
    let outcome = decision["outcome"] as? String ?? ""
    let best = (decision["candidates"] as? [[String: Any]])?.first
    let guarded = !((best?["guards"] as? [Any]) ?? []).isEmpty
    if guarded {
      html += "<span class=\"guard\">guarded</span>"
    } else if outcome != "new", let score = decision["score"] as? Double {
      html += "<span class=\"score\">score \(escape(String(format: "%.2f", score)))</span>"
    }
    let reasons = decision["reasons"] as? [Any] ?? []
    if !reasons.isEmpty {
      html += "<ul>" + reasons.map { "<li>\(escape(describe($0)))</li>" }.joined() + "</ul>"
    }
    for key in decision.keys.sorted() where !drawnKeys.contains(key) {
      html +=
        "<div class=\"extra\"><b>\(escape(key))</b>: \(escape(describe(decision[key] as Any)))</div>"
    }
    return html + "</div>"
  }

  static func reviewCard(
    id: String, seq: Int, fields: [String: String], decision: [String: Any], snapshot: Snapshot?,
    siblings: Bool
  ) -> String {
    let candidates = decision["candidates"] as? [[String: Any]] ?? []
    var html = "<section class=\"card potential\" id=\"review-\(escape(id))-\(seq)\">"
    html +=
      "<h3><span class=\"orb yellow\"></span>\(escape(id)) · student \(seq)</h3>"
      + explanation(decision)
    html += "<table class=\"side\"><thead><tr><th>field</th><th>submission</th>"
    var sis: [[String: String]] = []
    for candidate in candidates {
      let sisID = candidate["sisID"] as? String ?? ""
      sis.append((try? snapshot?.student(number: sisID))??.fields ?? [:])
      let guards = candidate["guards"] as? [Any] ?? []
      html +=
        "<th>candidate \(escape(sisID))"
        + (guards.isEmpty
          ? ((candidate["score"] as? Double).map {
            " <small>score \(String(format: "%.2f", $0))</small>"
          } ?? "") : " <small class=\"guard\">guarded</small>")
        + "</th>"
    }
    html += "</tr></thead><tbody>"
    for field in studentFields {
      let mine = fields[field] ?? ""
      html += "<tr><th>\(escape(field))</th><td>\(escape(mine))</td>"
      for values in sis {
        let theirs = values[field] ?? ""
        html +=
          theirs != mine
          ? "<td class=\"diff\">\(escape(theirs))</td>" : "<td>\(escape(theirs))</td>"
      }
      html += "</tr>"
    }
    html += "<tr><th>why</th><td></td>"
    for candidate in candidates {
      html += "<td>"
      let guards = candidate["guards"] as? [Any] ?? []
      if !guards.isEmpty {
        html +=
          "<div class=\"guard\">never automatic: "
          + guards.map { escape(describe($0)) }.joined(separator: "; ") + "</div>"
      }
      html += ((candidate["reasons"] as? [Any]) ?? []).map { escape(describe($0)) }.joined(
        separator: "<br>")
      // `comparisons` repeats the reasons (field: level (weight)) when there are reasons: not drawn twice.
      let reasons = (candidate["reasons"] as? [Any]) ?? []
      for key in candidate.keys.sorted()
      where !["sisID", "score", "reasons", "guards"].contains(key)
        && !(key == "comparisons" && !reasons.isEmpty)
      {
        html += "<br><b>\(escape(key))</b>: \(escape(describe(candidate[key] as Any)))"
      }
      html += "</td>"
    }
    html += "</tr></tbody></table><div class=\"commands\"><b>Resolve with one of:</b><pre>"
    for candidate in candidates {
      html +=
        escape(
          resolveCommand(id: id, seq: seq, match: candidate["sisID"] as? String, siblings: siblings)
        ) + "\n"
    }
    html +=
      escape(resolveCommand(id: id, seq: seq, match: nil, siblings: siblings))
      + "</pre></div></section>"
    return html
  }

  /// The match branch's `sisdrop resolve SUBMISSION --match SIS_ID | --no-match [--student N]`;
  /// `--student` whenever the submission has siblings, so the command never depends on which is still open.
  static func resolveCommand(id: String, seq: Int, match: String?, siblings: Bool = true) -> String
  {
    var command = "sisdrop resolve \(shellQuote(id))"
    command += match.map { " --match \(shellQuote($0))" } ?? " --no-match"
    if siblings { command += " --student \(seq)" }
    return command
  }

  /// One student's or contact's updates held by the `updates:` policy: form and SIS side by side,
  /// and the two answers per field.
  static func heldPart(
    id: String, schema: String, seq: Int, sisID: String, held: [[String: Any]], kept: [String],
    which: String
  ) -> String {
    var html =
      "<h4>\(schema) \(seq) → SIS \(schema == "contact" ? "contact " : "")\(escape(sisID))</h4>"
    html +=
      "<table class=\"side\"><thead><tr><th>field</th><th>form</th><th>SIS</th></tr></thead><tbody>"
    for difference in held {
      html +=
        "<tr><th>\(escape(difference["field"] as? String ?? ""))</th><td class=\"diff\">\(escape(difference["enrollment"] as? String ?? ""))</td><td>\(escape(difference["sis"] as? String ?? ""))</td></tr>"
    }
    html += "</tbody></table>"
    if !kept.isEmpty { html += "<p>SIS value kept: \(escape(kept.joined(separator: ", ")))</p>" }
    html += "<div class=\"commands\"><b>For each field, the form's value or the SIS's:</b><pre>"
    for difference in held {
      let field = shellQuote(difference["field"] as? String ?? "")
      html +=
        escape("sisdrop accept \(shellQuote(id)) \(field)\(which)") + "\n"
        + escape("sisdrop keep-sis \(shellQuote(id)) \(field)\(which)") + "\n"
    }
    return html + "</pre></div>"
  }

  /// A matched student's update that did not go out (the submission is in error): its differences,
  /// each of which can still keep the SIS value (the seed's green arrow).
  static func differencesPart(id: String, seq: Int, sisID: String, differences: [[String: Any]])
    -> String
  {
    var html =
      "<h4><span class=\"orb green\"></span>student \(seq) → SIS \(escape(sisID)): update not delivered</h4>"
    html +=
      "<table class=\"side\"><thead><tr><th>field</th><th>submission</th><th>SIS</th></tr></thead><tbody>"
    for difference in differences {
      html +=
        "<tr><th>\(escape(difference["field"] as? String ?? ""))</th><td class=\"diff\">\(escape(difference["enrollment"] as? String ?? ""))</td><td>\(escape(difference["sis"] as? String ?? ""))</td></tr>"
    }
    html +=
      "</tbody></table><div class=\"commands\"><b>Keep the SIS value of a field with:</b><pre>"
    for difference in differences {
      html +=
        escape(
          "sisdrop keep-sis \(shellQuote(id)) \(shellQuote(difference["field"] as? String ?? ""))")
        + "\n"
    }
    return html + "</pre></div>"
  }

  /// errors.csv rows of one submission: Submission_ID, Schema, Seq, Field, Value, Reason, What_To_Do, Stage, File, Line.
  static func errorCard(id: String, rows: [[String]], extra: String) -> String {
    var html =
      "<section class=\"card error\" id=\"error-\(escape(id))\"><h3><span class=\"orb red\"></span>\(escape(id))</h3>"
    html +=
      "<table class=\"stack errors\"><thead><tr><th>Schema</th><th>Seq</th><th>Field</th><th>Value</th><th>Problem</th><th>What to do</th><th>Found by</th></tr></thead><tbody>"
    for row in rows where row.count >= 8 {
      let command = row[6].contains("`") ? commands(in: row[6]) : escape(row[6])
      html +=
        "<tr><td data-label=\"Schema\">\(escape(row[1]))</td><td data-label=\"Seq\">\(escape(row[2]))</td><td data-label=\"Field\">\(escape(row[3]))</td>"
        + "<td class=\"value\" data-label=\"Value\">\(escape(row[4]))</td><td data-label=\"Problem\">\(escape(row[5]))</td><td class=\"todo\" data-label=\"What to do\">\(command)</td>"
        + "<td data-label=\"Found by\">\(escape(row[7]))\(row.count > 9 && !row[9].isEmpty ? " (\(escape(row[8])):\(escape(row[9])))" : "")</td></tr>"
    }
    return html + "</tbody></table>" + extra + "</section>"
  }

  static func compactRow(
    id: String, outcome: [String], sis: [String], contacts: [String], state: String,
    notes: [String], link: String?
  ) -> String {
    let name = link.map { "<a href=\"#\(escape($0))\">\(escape(id))</a>" } ?? escape(id)
    // Lean markup (HTML's optional end tags left out): this table is the part that grows with the batch.
    return (state == "delivered" ? "<tr>" : "<tr class=\"open\">")
      + "<td>\(name)<td>\(outcome.map(escape).joined(separator: "<br>"))<td>\(sis.map(escape).joined(separator: "<br>"))"
      + "<td>\(escape(contacts.joined(separator: " ")))<td>\(state)"
      + (notes.isEmpty ? "" : "<td>" + escape(notes.joined(separator: "; ")))
  }

  // MARK: Text

  /// Commands quoted in backticks become copyable `<code>` (the rest escaped).
  static func commands(in text: String) -> String {
    text.split(separator: "`", omittingEmptySubsequences: false).enumerated().map { index, part in
      index % 2 == 1 ? "<code>\(escape(String(part)))</code>" : escape(String(part))
    }.joined()
  }

  static func describe(_ value: Any) -> String {
    switch value {
    case let text as String: return text
    case let number as NSNumber: return number.stringValue
    case let list as [Any]: return list.map(describe).joined(separator: "; ")
    case let map as [String: Any]:
      return map.keys.sorted().map { "\($0): \(describe(map[$0] as Any))" }.joined(separator: ", ")
    default: return ""
    }
  }

  /// HTML-escapes text for element content and attribute values.
  package static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(character)
      }
    }
    return out
  }

  /// The page's lines: kept in `text`, or with a `writer`, handed to it 64 KiB at a time.
  struct Page {
    var text = ""
    var writer: FileWriter? = nil
    /// The first error writing to `writer` (the lines after it are dropped): `close` throws it.
    private var failure: Error? = nil

    init(writer: FileWriter? = nil) { self.writer = writer }

    mutating func line(_ s: String) {
      text += s + "\n"
      if writer != nil && text.utf8.count >= 1 << 16 { flush() }
    }

    private mutating func flush() {
      guard let writer else { return }
      if failure == nil {
        do { try writer.write(text) } catch { failure = error }
      }
      text.removeAll(keepingCapacity: true)
    }

    /// The rest of the page handed to the writer; the first error writing, if any.
    mutating func finish() throws {
      flush()
      if let failure { throw failure }
    }
  }

  /// Fits 420 px and 1400 px: tables take the page's width and wrap anywhere (ids, e-mails and
  /// commands included) rather than run off the screen; on a narrow screen the error and SIS-reject
  /// tables stack one labelled field per line.
  static let css = """
    .unreadable{border:2px solid #c62828;background:#fdecea;padding:.4em 1em;border-radius:6px}
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;padding:0 2em;color:#222;max-width:1200px}
    h1 small{font-weight:normal;color:#666}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h4{margin:.6em 0 .2em}
    h1,h2,h3,h4,p,li,td,th,pre,code{overflow-wrap:anywhere}
    nav.index{display:flex;flex-wrap:wrap;gap:.3em 1em;padding:.4em 0;border-bottom:1px solid #ddd}
    .meta,.hint{color:#555}table{border-collapse:collapse;margin:.5em 0;max-width:100%}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
    thead th{background:#f2f2f2}.counts td.n{text-align:right;min-width:4em}
    table.side,table.compact,table.stack{width:100%}table.side{table-layout:fixed}table.side th:first-child{width:10em}table.compact tr.open td:first-child{box-shadow:inset 4px 0 #f5c400}
    .orb{display:inline-block;width:.9em;height:.9em;border-radius:50%;margin-right:.4em;vertical-align:-0.1em;border:1px solid #0003}
    .orb.yellow{background:#f5c400}.orb.green{background:#2e9e44}.orb.gray{background:#9a9a9a}.orb.red{background:#c62828}
    td.diff,mark{background:#fff176}.card{border:1px solid #ddd;border-radius:6px;padding:.4em 1em;margin:.8em 0}
    .card.potential,.card.held{border-left:6px solid #f5c400}.card.error{border-left:6px solid #c62828}
    .why ul{margin:.2em 0}.method,.score,.guard{font-size:12px;background:#eee;border-radius:3px;padding:0 4px}
    .guard{background:#ffe0b2}div.guard{font-size:13px;margin-bottom:.3em}
    pre,code{background:#272822;color:#f8f8f2;padding:2px 4px;border-radius:3px}pre{padding:.5em;white-space:pre-wrap}
    td.value{font-family:monospace}footer{margin-top:2em;color:#777;font-size:12px}
    @media (max-width:700px){
    body{padding:0 .5em;margin:.5em auto;font-size:13px}th,td{padding:2px 4px}.card{padding:.3em .5em}table.side th:first-child{width:24%}
    table.stack thead{display:none}table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:auto}
    table.stack tr{border:1px solid #ccc;margin-bottom:.4em}table.stack td{border:none;border-bottom:1px solid #eee}
    table.stack td::before{content:attr(data-label) ": ";font-weight:bold}
    table.compact,table.compact thead,table.compact tbody{display:block}table.compact tr{display:grid;grid-template-columns:7.5em 5.5em 5.5em 1fr 5.5em;border-bottom:1px solid #ccc}
    table.compact td,table.compact th{display:block;border:none;overflow-wrap:normal}table.compact :is(td,th):nth-child(6){grid-column:1/-1;padding-left:1.5em;overflow-wrap:anywhere}
    table.compact th:nth-child(6){display:none}
    }
    """
}
