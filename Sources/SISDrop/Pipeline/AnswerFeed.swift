import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropStore

/// The answer files people drop into the inbox: `resolutions.csv` (Match / No Match),
/// `overrides.csv` (keep the SIS value), `accepts.csv` (the form's value wins) and
/// `corrections.csv` (a corrected value). They are a feed of their own, taken at the start of every
/// `sisdrop run` before any stage (no stage reads the inbox):
///
/// - under the pickup rules (a file still arriving is taken by a later run, and the log says so);
/// - validated strictly: a short or long row, a blank answer, an unknown submission, a field that
///   cannot be answered refuses the whole file with its line and reason — nothing is taken from it,
///   and it is moved to `archive/answers/refused/` so that it is not read again until sent again;
/// - otherwise every answer is recorded in state.sqlite (bound to the submission version) and the
///   file is kept in `archive/answers/`.
package enum AnswerFeed {
  /// One answer file's layout.
  struct Layout {
    var name: String
    var required: [String]
    var optional: [String]
  }

  static let layouts = [
    // A row with Contact_Seq (and Student_Seq blank) answers a potential contact match: SIS_ID is then the Contact_ID.
    Layout(
      name: "resolutions.csv", required: [FieldName.submissionID, "Student_Seq", "SIS_ID"],
      optional: [FieldName.contactSeq, "Resolved_By"]),
    Layout(
      name: "overrides.csv", required: [FieldName.submissionID, "Field"],
      optional: ["Schema", "Seq", "Resolved_By"]),
    Layout(
      name: "accepts.csv", required: [FieldName.submissionID, "Field"],
      optional: ["Schema", "Seq", "Resolved_By"]),
    Layout(
      name: Corrections.inboxFileName, required: Corrections.fileHeader, optional: ["Resolved_By"]),
    // `sisdrop review --csv`'s file, filled in: a row whose Answer is blank is a choice not taken.
    Layout(
      name: "answers.csv", required: ReviewQueue.answerFileHeader.filter { $0 != "Answered_By" },
      optional: ["Answered_By"]),
  ]

  /// The answer files' names: the inbox's feeds leave them to this one.
  package static var fileNames: [String] { layouts.map(\.name) }

  /// What one run took.
  package struct Result: Sendable, Codable {
    /// Answers recorded, by file.
    package var recorded: [String: Int] = [:]
    /// Files refused whole, each with its first problems (file:line: reason).
    package var refused: [String: [String]] = [:]
    /// Where each refused file was moved, relative to the working directory (its problems are in
    /// `<that path>.problems.txt`); a file left in the inbox (a link, a FIFO) has none.
    package var kept: [String: String] = [:]
    /// Files left for a later run (still arriving).
    package var waiting: [String] = []
    /// Submissions answered.
    package var submissions: Set<String> = []
    /// Whether an answer concerns a submission of the open batch (its match is rerun).
    package var touchesOpenBatch = false

    package var total: Int { recorded.values.reduce(0, +) }

    /// The refused files in words for people (status, notification): names, counts and where the
    /// files and their problems are, no value of the files (the problems can quote them). nil when
    /// none was refused.
    package var refusal: String? {
      guard !refused.isEmpty else { return nil }
      return refused.keys.sorted().map { name in
        let count = refused[name]!.count
        let place =
          kept[name].map { "kept in \($0), its problems listed in \($0).problems.txt" }
          ?? "left in the inbox"
        return "\(name) (\(count) problem\(count == 1 ? "" : "s"); \(place))"
      }.joined(separator: "; ")
        + ": none of its answers were taken; fix the file and drop it in the inbox again"
    }
  }

  /// Takes every answer file that is completely uploaded.
  package static func take(workdir: WorkDir, config: PipelineConfig, log: (String) -> Void) throws
    -> Result
  {
    let inbox = Inbox(path: workdir.inbox(config), config: config)
    var result = Result()
    for layout in layouts {
      let path = inbox.path + "/" + layout.name
      guard Inbox.FileState.of(path) != nil else { continue }
      // Only a regular file with one name: a link or a FIFO is named and left unread.
      do { try InboxFile.check(path) } catch let error as SISDropError {
        result.refused[layout.name] = [error.description]
        log("\(layout.name) not read: \(error)")
        continue
      }
      if let why = inbox.whyNotReady(layout.name) {
        result.waiting.append(layout.name)
        log("\(layout.name) not taken yet: \(why)")
        continue
      }
      let stamp = Clock.now().replacingOccurrences(of: ":", with: "")
      let archive = workdir.archive(config) + "/answers"
      do {
        let answers = try read(layout, path: path, workdir: workdir)
        try record(answers, workdir: workdir)
        try FileSystem.makeDirectory(archive)
        try FileSystem.rename(path, to: archive + "/\(stamp)-\(layout.name)")
        try FileSystem.syncDirectory(archive)
        try FileSystem.syncDirectory(inbox.path)
        result.recorded[layout.name] = answers.count
        for answer in answers {
          result.submissions.insert(answer.submissionID)
          if answer.inOpenBatch { result.touchesOpenBatch = true }
        }
        log(
          "\(layout.name): \(answers.count) answers recorded (kept in \(relativePath(archive, to: workdir.root)))"
        )
      } catch let refusal as Refusal {
        let folder = archive + "/refused"
        try FileSystem.makeDirectory(folder)
        let kept = folder + "/\(stamp)-\(layout.name)"
        // The problems beside the file, where the clerk who fixes it finds them (the run's log is
        // the IT person's; the notification and status do not quote the file's values).
        try FileSystem.writeAtomically(
          kept + ".problems.txt",
          Array((refusal.problems.map { $0 + "\n" }.joined()).utf8))
        try FileSystem.rename(path, to: kept)
        try FileSystem.syncDirectory(folder)
        try FileSystem.syncDirectory(inbox.path)
        result.refused[layout.name] = refusal.problems
        result.kept[layout.name] = relativePath(kept, to: workdir.root)
        log(
          "warning: \(layout.name) refused, nothing taken from it (\(refusal.problems.count) problem\(refusal.problems.count == 1 ? "" : "s")); "
            + "moved to \(relativePath(kept, to: workdir.root)), its problems listed in \(relativePath(kept, to: workdir.root)).problems.txt; fix it and drop it in the inbox again"
        )
        for problem in refusal.problems.prefix(20) { log("  \(problem)") }
      }
    }
    return result
  }

  /// A file refused whole.
  struct Refusal: Error { var problems: [String] }

  /// One checked answer of any kind.
  enum Answer {
    case resolution(Resolution, inOpenBatch: Bool)
    case field(FieldAnswer, inOpenBatch: Bool)
    case correction(Correction, inOpenBatch: Bool)

    var submissionID: String {
      switch self {
      case .resolution(let r, _): return r.submissionID
      case .field(let f, _): return f.submissionID
      case .correction(let c, _): return c.submissionID
      }
    }
    var inOpenBatch: Bool {
      switch self {
      case .resolution(_, let open), .field(_, let open), .correction(_, let open): return open
      }
    }
  }

  /// Reads and checks a whole answer file: its header, then every row.
  ///
  /// - Throws: `Refusal` with every problem (file:line: reason), never a value from the file.
  static func read(_ layout: Layout, path: String, workdir: WorkDir) throws -> [Answer] {
    let reader: CSVReader
    do { reader = try CSVReader(path: path, inboxFile: true) } catch {
      throw Refusal(problems: ["\(layout.name): cannot be read: \(error)"])
    }
    // Every row's submission is checked against its batch's decisions: read once per file.
    var file = AnswerFile(
      layout: layout, columns: try columns(layout, reader), workdir: workdir,
      batches: Resolver.Batches(), binder: try Corrections.Binder(workdir: workdir))
    // The last row read that has no line break after it (read before the next call resets it).
    var cutRow: Int?
    while true {
      let row: CSVRow
      do {
        guard let next = try reader.next() else { break }
        row = next
      } catch let error as SISDropError {
        // The line the reader names (where an unclosed quote opened), as every other problem has.
        let line = error.location?.line.map { ":\($0)" } ?? ""
        file.problems.append("\(layout.name)\(line): \(error.message)")
        break
      }
      if !reader.lastRecordEndedByLineBreak { cutRow = row.line }
      try file.take(row)
    }
    if let cutRow {
      file.problems.append(
        "\(layout.name):\(cutRow): \(Corrections.cutOffWords); \(Corrections.cutOffHint)")
    }
    if !file.problems.isEmpty { throw Refusal(problems: file.problems) }
    return file.answers
  }

  /// An answer file's columns: the header's names (as keys) and where each of the layout's is.
  struct Columns {
    var names: [String]
    var index: [String: Int?]
  }

  /// The header, checked against the layout: every required column, no unknown column, none twice.
  static func columns(_ layout: Layout, _ reader: CSVReader) throws -> Columns {
    let name = layout.name
    guard let header = try? reader.next() else {
      throw Refusal(problems: [
        "\(name):1: the file is empty: write the header \((layout.required + layout.optional).joined(separator: ",")) and one row per answer"
      ])
    }
    let names = header.fields.map { headerKey($0) }
    let columns = layout.required + layout.optional
    let index = Dictionary(
      uniqueKeysWithValues: columns.map { column in
        (column, names.firstIndex(of: column.lowercased()))
      })
    let missing = layout.required.filter { index[$0]! == nil }
    let unknown = names.indices.filter { i in !columns.contains { $0.lowercased() == names[i] } }
    if !missing.isEmpty || !unknown.isEmpty || Set(names).count != names.count {
      var what: [String] = []
      if !missing.isEmpty { what.append("missing \(missing.joined(separator: ", "))") }
      if !unknown.isEmpty {
        what.append(
          "\(unknown.count) unknown column\(unknown.count == 1 ? "" : "s") (column \(unknown.map { String($0 + 1) }.joined(separator: ", ")))"
        )
      }
      if Set(names).count != names.count { what.append("a column named twice") }
      throw Refusal(problems: [
        "\(name):1: \(what.joined(separator: "; ")): the header must be \(layout.required.joined(separator: ",")) (optional: \(layout.optional.joined(separator: ",")))"
      ])
    }
    return Columns(names: names, index: index)
  }

  /// One row's values by column name (blank for an optional column the file leaves out).
  struct AnswerRow {
    var fields: [String]
    var columns: Columns

    func value(_ column: String) -> String {
      columns.index[column]!.map { FieldRules.text(fields[$0]) } ?? ""
    }
  }

  /// The answers of one file as its rows are taken, and every problem met (the file is refused
  /// whole when there is one).
  struct AnswerFile {
    var layout: Layout
    var columns: Columns
    var workdir: WorkDir
    var batches: Resolver.Batches
    /// Corrections bound row by row, the batches they correct read once for the file.
    var binder: Corrections.Binder
    var answers: [Answer] = []
    var problems: [String] = []
    var seen = Set<[String]>()

    var name: String { layout.name }

    mutating func take(_ csvRow: CSVRow) throws {
      let at = "\(name):\(csvRow.line)"
      if let problem = csvRow.problem {
        problems.append("\(at): \(problem.reason)")
        return
      }
      // A whole blank line is nothing; a short or long row is a damaged file.
      if csvRow.fields.allSatisfy({ FieldRules.text($0).isEmpty }) { return }
      let count = columns.names.count
      guard csvRow.fields.count == count else {
        problems.append(
          "\(at): \(csvRow.fields.count) fields where the header has \(count): a \(csvRow.fields.count < count ? "short" : "long") row"
        )
        return
      }
      let row = AnswerRow(fields: csvRow.fields, columns: columns)
      if name == "answers.csv" {
        try takeFilledAnswer(row, at: at)
      } else {
        try takeAnswer(row, at: at)
      }
    }

    /// A row of `answers.csv`: a blank Answer is a choice not taken; one choice per question.
    mutating func takeFilledAnswer(_ row: AnswerRow, at: String) throws {
      guard !row.value("Answer").isEmpty else { return }
      do {
        guard
          let answer = try AnswerFeed.filledAnswer(
            row.value, workdir: workdir, source: "inbox:\(name)", batches: batches, binder: binder)
        else { return }
        let key = [
          row.value(FieldName.submissionID), row.value("Kind"), row.value("Schema"),
          row.value("Seq"), row.value("Field"),
        ]
        guard seen.insert(key).inserted else {
          problems.append(
            "\(at): a second choice for the same \(row.value("Kind") == "match" ? "student" : "field"): mark one row only"
          )
          return
        }
        answers.append(answer)
      } catch let error as SISDropError {
        problems.append("\(at): \(error.message)" + (error.hint.map { " — \($0)" } ?? ""))
      }
    }

    /// A row of resolutions.csv, overrides.csv, accepts.csv or corrections.csv: its required
    /// values, then the answer.
    mutating func takeAnswer(_ row: AnswerRow, at: String) throws {
      // resolutions.csv: a student's answer names Student_Seq, a contact's Contact_Seq (one of them).
      let contactAnswer = name == "resolutions.csv" && !row.value(FieldName.contactSeq).isEmpty
      if contactAnswer && !row.value("Student_Seq").isEmpty {
        problems.append(
          "\(at): both Student_Seq and Contact_Seq are filled: a row answers one student or one contact, leave the other blank"
        )
        return
      }
      let required =
        contactAnswer ? [FieldName.submissionID, FieldName.contactSeq, "SIS_ID"] : layout.required
      for column in required where row.value(column).isEmpty {
        problems.append(
          "\(at): \(column) is blank"
            + (column != "SIS_ID"
              ? ""
              : contactAnswer
                ? ": write the SIS Contact_ID for Match, or \(Resolver.noMatchToken) for No Match"
                : ": write the SIS Student_Number for Match, or \(Resolver.noMatchToken) for No Match"
                  + (name == "resolutions.csv"
                    ? " (a contact's answer fills Contact_Seq instead of Student_Seq)" : ""))
        )
      }
      guard required.allSatisfy({ !row.value($0).isEmpty }) else { return }
      guard seen.insert([contactAnswer ? "contact" : "student"] + required.map(row.value)).inserted
      else {
        problems.append("\(at): the same answer as an earlier row")
        return
      }
      do {
        if let answer = try answer(row, contactAnswer: contactAnswer) { answers.append(answer) }
      } catch let error as SISDropError {
        problems.append("\(at): \(error.message)" + (error.hint.map { " — \($0)" } ?? ""))
      }
    }

    /// The answer a checked row gives, bound to its submission (nil: a correction that binds to nothing).
    func answer(_ row: AnswerRow, contactAnswer: Bool) throws -> Answer? {
      let value = row.value
      let actor = value("Resolved_By").isEmpty ? "inbox" : value("Resolved_By")
      let source = "inbox:\(name)"
      switch name {
      case "resolutions.csv":
        let seqColumn = contactAnswer ? FieldName.contactSeq : "Student_Seq"
        guard let seq = Int(value(seqColumn)), seq > 0 else {
          throw SISDropError(.dataError, "\(seqColumn) must be a positive whole number")
        }
        let sisID = value("SIS_ID")
        let noMatch = sisID.caseInsensitiveCompare(Resolver.noMatchToken) == .orderedSame
        let (resolution, target) =
          try contactAnswer
          ? Resolver.contactResolution(
            workdir: workdir, submission: value(FieldName.submissionID), contact: seq,
            contactID: noMatch ? nil : sisID,
            by: actor, source: source, batches: batches)
          : Resolver.resolution(
            workdir: workdir, submission: value(FieldName.submissionID), student: seq,
            sisID: noMatch ? nil : sisID, by: actor, source: source, batches: batches)
        return .resolution(resolution, inOpenBatch: target.inOpenBatch)
      case "overrides.csv", "accepts.csv":
        let schema = value("Schema").isEmpty ? "student" : value("Schema").lowercased()
        var seq: Int? = nil
        if !value("Seq").isEmpty {
          guard let number = Int(value("Seq")), number > 0 else {
            throw SISDropError(.dataError, "Seq must be a positive whole number")
          }
          seq = number
        }
        let (answer, target) = try Resolver.fieldAnswer(
          workdir: workdir, submission: value(FieldName.submissionID), schema: schema, seq: seq,
          field: value("Field"),
          choice: name == "accepts.csv" ? .accept : .keepSIS, by: actor, source: source,
          batches: batches)
        return .field(answer, inOpenBatch: target.inOpenBatch)
      default:
        guard let seq = Int(value("Seq")), seq > 0 else {
          throw SISDropError(.dataError, "Seq must be a positive whole number")
        }
        let made = try Corrections.make(
          submissionID: value(FieldName.submissionID), schema: value("Schema").lowercased(),
          seq: seq,
          field: value("Field"), value: value("Value"), source: name)
        let bound = try binder.bind(made)
        let open = try workdir.state.openBatch()
        let entry = try workdir.state.ledgerEntry(bound.submissionID)
        return .correction(bound, inOpenBatch: open != nil && entry?.batchID == open?.id)
      }
    }
  }

  /// One marked row of `answers.csv`.
  static func filledAnswer(
    _ value: (String) -> String, workdir: WorkDir, source: String, batches: Resolver.Batches,
    binder: Corrections.Binder
  ) throws -> Answer? {
    let actor = value("Answered_By").isEmpty ? "inbox" : value("Answered_By")
    guard let seq = Int(value("Seq")), seq > 0 else {
      throw SISDropError(.dataError, "Seq must be a positive whole number")
    }
    let schema = value("Schema").lowercased()
    let marked = ["x", "yes", "y"].contains(value("Answer").lowercased())
    switch value("Kind") {
    case "match":
      guard marked else { throw SISDropError(.dataError, "mark the chosen row's Answer with x") }
      let choice = value("Choice")
      let noMatch = choice.caseInsensitiveCompare(Resolver.noMatchToken) == .orderedSame
      let (resolution, target) =
        try schema == "contact"
        ? Resolver.contactResolution(
          workdir: workdir, submission: value(FieldName.submissionID), contact: seq,
          contactID: noMatch ? nil : choice,
          by: actor, source: source, batches: batches)
        : Resolver.resolution(
          workdir: workdir, submission: value(FieldName.submissionID), student: seq,
          sisID: noMatch ? nil : choice, by: actor, source: source, batches: batches)
      return .resolution(resolution, inOpenBatch: target.inOpenBatch)
    case "update":
      guard marked else { throw SISDropError(.dataError, "mark the chosen row's Answer with x") }
      guard let choice = FieldAnswer.Choice(rawValue: value("Choice")) else {
        throw SISDropError(.dataError, "Choice must be accept or keep-sis")
      }
      let (answer, target) = try Resolver.fieldAnswer(
        workdir: workdir, submission: value(FieldName.submissionID), schema: schema, seq: seq,
        field: value("Field"), choice: choice, by: actor, source: source, batches: batches)
      return .field(answer, inOpenBatch: target.inOpenBatch)
    case "correct":
      let made = try Corrections.make(
        submissionID: value(FieldName.submissionID), schema: schema, seq: seq,
        field: value("Field"),
        value: value("Answer"), source: "answers.csv")
      let bound = try binder.bind(made)
      let open = try workdir.state.openBatch()
      let entry = try workdir.state.ledgerEntry(bound.submissionID)
      return .correction(bound, inOpenBatch: open != nil && entry?.batchID == open?.id)
    default:
      throw SISDropError(.dataError, "Kind must be match, update or correct")
    }
  }

  /// Records a file's checked answers in state.sqlite, in one transaction: all of them or, if the
  /// run stops half-way, none (the file is still in the inbox and is taken whole by the next run).
  static func record(_ answers: [Answer], workdir: WorkDir) throws {
    try workdir.state.database.inTransaction {
      var corrections: [Correction] = []
      for answer in answers {
        switch answer {
        case .resolution(let resolution, _): try workdir.state.record(resolution)
        case .field(let field, _): try workdir.state.record(field)
        case .correction(let correction, _): corrections.append(correction)
        }
        CrashPoints.hit("answer-recorded")
      }
      if !corrections.isEmpty {
        try workdir.state.saveCorrections(corrections, by: "inbox")
      }
    }
  }
}
