import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// The parse stage: reads the enrollment export (CSV trio or nested XML) from the batch's
/// input folder into submissions, rejects malformed records, applies the batch's selection, and
/// records every submission it saw in the pending ledger.
///
/// Writes `submissions.jsonl` (selected, by id), `rejects.csv`, `unselected.csv` and
/// `vanished.csv` (pending submissions no longer in the export: reported, never dropped).
package enum ParseStage {
  static let rejectAction =
    "fix the record in the enrollment system; it stays pending and comes again in the next export"
  /// A contact or document row naming a submission submissions.csv lacks: the export's files
  /// disagree, and nothing in the enrollment system is wrong. submissions.csv cut at a row's end
  /// shows no malformed row; the files exported at different moments look the same. Either way the
  /// next whole export brings the submission, so it is rejected (pending), not refused whole.
  static let partWithoutSubmissionAction =
    "nothing to fix in the record: submissions.csv was cut off or exported before this submission; "
    + "it stays pending and the next complete export brings it (if submissions.csv was cut off, have "
    + "the sender upload the complete file)"

  /// A row of submission_contacts.csv or submission_documents.csv whose submission is not in
  /// submissions.csv (and was not rejected there).
  struct PartWithoutSubmission {
    let id: String
    let schema: String
    let location: SourceLocation
  }

  package static func run(_ context: StageContext) throws {
    try run(context, chunkSize: MatchStage.chunkSize)
  }

  /// `chunkSize`: submissions unpacked and written per chunk (the tests show any size writes the same bytes).
  static func run(_ context: StageContext, chunkSize: Int) throws {
    let feed = context.config.submissions
    // A batch that claimed the SIS export alone: no enrollment export, so nothing seen, nothing
    // vanished (an export that did not come says nothing about the submissions in it).
    if !feed.files.values.contains(where: { FileSystem.exists(context.inputFolder + "/" + $0) }) {
      try writeWithoutExport(context)
      return
    }
    var submissions: [String: HeldSubmission] = [:]
    let rejects = Rejects(batchFolder: context.batchFolder)
    var duplicates = DuplicateRows()
    var partsWithoutSubmission: [PartWithoutSubmission] = []
    if feed.format == .xml {
      try readXML(
        context, feed: feed, into: &submissions,
        reject: { rejects.add($0, schema: $1, $2, at: $3) })
    } else {
      let read = try readCSV(
        context, feed: feed, into: &submissions,
        reject: { rejects.add($0, schema: $1, $2, at: $3) },
        isRejected: { rejects.ids.contains($0) }, duplicates: &duplicates)
      partsWithoutSubmission = read.orphans
      // submissions.csv looks cut at a row's end: the submission of its last row may have more
      // children after the cut (probe27: one of a sibling pair delivered, the other lost that
      // night), so it waits with the lost ones.
      if partsWithoutSubmission.contains(where: { !$0.id.isEmpty }), let last = read.lastSubmission,
        let held = submissions[last], !rejects.ids.contains(last)
      {
        rejects.add(
          last, schema: "submission",
          "the last submission of a \(Layouts.submissions.fileName) that looks cut off (contact or document rows name submissions it lacks): its other children may be after the cut",
          action: partWithoutSubmissionAction, at: held.source)
      }
      for part in partsWithoutSubmission {
        rejects.add(
          part.id, schema: part.schema,
          "no submission \(part.id.isEmpty ? "(empty id)" : part.id) in \(Layouts.submissions.fileName)",
          action: part.id.isEmpty ? rejectAction : partWithoutSubmissionAction, at: part.location)
      }
    }
    let documents = try checkDocuments(context, submissions: submissions, rejects: rejects)
    let selection = select(context, submissions: submissions, rejects: rejects)
    let present = Set(submissions.keys).union(rejects.ids)
    let vanished = try context.workdir.state.ledger(statuses: [.pending])
      .filter { !present.contains($0.submissionID) && $0.lastSeenBatch != context.batch.id }
      .map { [$0.submissionID, $0.form, $0.lastSeenBatch ?? ""] }

    try writeSubmissions(
      selection.selected, context, chunkSize: chunkSize, relative: rejects.relative)
    try context.writeRejects(rejects.rows)
    try context.writeCSV(
      "unselected.csv", header: [FieldName.submissionID, FieldName.form], rows: selection.unselected
    )
    // Read back by close (the ids it reports as vanished): written as the ids are.
    try context.writeCSV(
      "vanished.csv", header: [FieldName.submissionID, FieldName.form, "Last_Seen_Batch"],
      rows: vanished,
      forPeople: false)
    try context.writeCSV(
      "duplicates.csv", header: [FieldName.submissionID, "File", "Line", "Same_As_Line"],
      rows: duplicates.rows.map {
        [$0.id, relativePath($0.path, to: context.batchFolder), String($0.line), String($0.sameAs)]
      })
    try context.workdir.state.recordSeen(selection.seen, batch: context.batch.id, at: Clock.now())

    count(
      context, present: present.count, selected: selection.selected,
      unselected: selection.unselected.count, rejected: rejects.ids.count,
      vanished: vanished.count, duplicates: duplicates, documents: documents,
      partsWithoutSubmission: partsWithoutSubmission)
  }

  /// The stage's rejects, their sources relative to the batch folder, and the submissions they
  /// reject whole: a submission with any rejected part waits, delivering half a family is worse.
  final class Rejects {
    let batchFolder: String
    private(set) var rows: [Reject] = []
    private(set) var ids = Set<String>()

    init(batchFolder: String) { self.batchFolder = batchFolder }

    func add(
      _ id: String, schema: String, seq: Int? = nil, field: String = "", value: String = "",
      _ reason: String, action: String = rejectAction, at location: SourceLocation
    ) {
      rows.append(
        Reject(
          submissionID: id, schema: schema, seq: seq, field: field, value: value, reason: reason,
          action: action, source: relative(location)))
      if !id.isEmpty { ids.insert(id) }
    }

    /// A reject that names no part of the export (an id `--only` selected that it lacks).
    func add(_ reject: Reject) { rows.append(reject) }

    func relative(_ location: SourceLocation) -> SourceLocation {
      var location = location
      location.path = relativePath(location.path, to: batchFolder)
      return location
    }
  }

  /// The uploaded documents: every file a selected submission names is there with its SHA-256,
  /// and nothing else is; a problem is an error for that submission alone.
  static func checkDocuments(
    _ context: StageContext, submissions: [String: HeldSubmission], rejects: Rejects
  ) throws -> DocumentFiles.CheckResult {
    let refusedPath = context.batchFolder + "/" + DocumentFiles.refusedFileName
    let refusedDocuments =
      FileSystem.exists(refusedPath) ? try BatchLifecycle.readTable(refusedPath) : []
    let documents = try DocumentFiles.check(
      submissions.values.filter {
        context.batch.selection.includes(id: $0.id, form: $0.form) && !rejects.ids.contains($0.id)
      }.sorted { $0.id < $1.id }
        .map { $0.unpacked(documentsOnly: true) },
      known: Set(submissions.keys).union(rejects.ids), input: context.inputFolder,
      folder: context.config.submissions.documentsFolder, refused: refusedDocuments)
    for problem in documents.problems {
      rejects.add(
        problem.submissionID, schema: "document", seq: problem.seq, field: problem.field,
        value: problem.value, problem.reason, at: problem.location)
    }
    return documents
  }

  /// The batch's selection applied: the selected submissions no reject touches, the unselected
  /// ones, and every id seen for the ledger. An id `--only` names that the export lacks is a reject.
  static func select(
    _ context: StageContext, submissions: [String: HeldSubmission], rejects: Rejects
  ) -> (
    seen: [(id: String, form: String, approvedAt: String, selected: Bool)],
    selected: [HeldSubmission], unselected: [[String]]
  ) {
    var seen: [(id: String, form: String, approvedAt: String, selected: Bool)] = []
    var selected: [HeldSubmission] = []
    var unselected: [[String]] = []
    for submission in submissions.values.sorted(by: { $0.id < $1.id }) {
      let isSelected = context.batch.selection.includes(id: submission.id, form: submission.form)
      seen.append((submission.id, submission.form, submission.approvedAt, isSelected))
      if !isSelected {
        unselected.append([submission.id, submission.form])
        continue
      }
      if rejects.ids.contains(submission.id) { continue }
      selected.append(submission)
    }
    // Ids only known from rejected rows are still seen: they stay pending, not lost.
    for id in rejects.ids.sorted() where submissions[id] == nil {
      seen.append((id, "", "", context.batch.selection.includes(id: id, form: "")))
    }
    if let only = context.batch.selection.only {
      for id in only where submissions[id] == nil && !rejects.ids.contains(id) {
        context.notes.append("selected submission \(id) is not in this export")
        rejects.add(
          Reject(
            submissionID: id, schema: "submission", seq: nil, field: FieldName.submissionID,
            value: id,
            reason: "selected with --only but not in this export",
            action: "check the id with `sisdrop pending`; it may have been delivered or withdrawn",
            source: SourceLocation(path: "input")))
      }
    }
    return (seen, selected, unselected)
  }

  /// The stage's counts, notes and log line: counts and ids only (a document's name comes from
  /// the sender).
  static func count(
    _ context: StageContext, present: Int, selected: [HeldSubmission], unselected: Int,
    rejected: Int, vanished: Int, duplicates: DuplicateRows, documents: DocumentFiles.CheckResult,
    partsWithoutSubmission: [PartWithoutSubmission] = []
  ) {
    let missing = Set(partsWithoutSubmission.lazy.filter { !$0.id.isEmpty }.map(\.id)).count
    context.counts = [
      "submissions_in_export": present, "selected": selected.count,
      "unselected": unselected,
      "rejected_submissions": rejected,
      "students": selected.reduce(0) { $0 + $1.students.count },
      "vanished": vanished, "duplicate_rows": duplicates.rows.count,
      "documents_verified": documents.verified, "document_errors": documents.problems.count,
      "document_errors_submissions": Set(documents.problems.map(\.submissionID)).count,
      "documents_without_submission": documents.withoutSubmission,
      "documents_refused": documents.refused,
      "submissions_missing_from_export": missing,
    ]
    if missing > 0 {
      context.notes.append(
        "\(missing) submissions named by contact or document rows are not in submissions.csv: was it cut off at a row's end? They stay pending (rejects.csv); the next complete export brings them"
      )
    }
    if !documents.problems.isEmpty {
      context.notes.append(
        "\(documents.problems.count) document problems (missing, extra, SHA-256 differs, refused name) in \(Set(documents.problems.map(\.submissionID)).count) submissions: rejects.csv"
      )
    }
    if documents.withoutSubmission > 0 {
      context.notes.append(
        "\(documents.withoutSubmission) uploaded documents in folders of no submission of this export: claimed and archived, not delivered"
      )
    }
    if documents.refused > 0 {
      context.notes.append(
        "\(documents.refused) entries of the documents folder were not uploaded files (links, pipes, stray files): left in the inbox"
      )
    }
    if !duplicates.rows.isEmpty {
      context.notes.append(
        "\(duplicates.rows.count) exact duplicate rows read once (10-parse/duplicates.csv)")
    }
    context.log(
      "parse: \(selected.count) submissions selected, \(rejected) rejected, \(unselected) not selected"
        + (duplicates.rows.isEmpty
          ? "" : ", \(duplicates.rows.count) exact duplicate rows read once")
        + ", \(documents.verified) documents verified"
        + (documents.problems.isEmpty
          ? ""
          : ", \(documents.problems.count) document problems in \(Set(documents.problems.map(\.submissionID)).count) submissions")
    )
  }

  /// A batch that claimed the SIS export alone: every file of the folder, empty, and why.
  static func writeWithoutExport(_ context: StageContext) throws {
    try JSONLines.write([Submission](), to: context.outputPath("submissions.jsonl"))
    try context.writeRejects([])
    try context.writeCSV(
      "unselected.csv", header: [FieldName.submissionID, FieldName.form], rows: [])
    try context.writeCSV(
      "vanished.csv", header: [FieldName.submissionID, FieldName.form, "Last_Seen_Batch"], rows: [],
      forPeople: false)
    try context.writeCSV(
      "duplicates.csv", header: [FieldName.submissionID, "File", "Line", "Same_As_Line"], rows: []
    )
    context.counts = [
      "enrollment_export": 0, "submissions_in_export": 0, "selected": 0, "vanished": 0,
    ]
    context.notes.append(
      "no enrollment export in this batch: it claimed the SIS export alone (the snapshot and confirmation; nothing to deliver)"
    )
    context.log(
      "parse: no enrollment export in this batch (the SIS export alone): nothing to parse")
  }

  /// `submissions.jsonl`: the selected submissions, unpacked and written a chunk at a time (the
  /// stage never holds the batch's records unpacked), sources relative to the batch folder.
  static func writeSubmissions(
    _ selected: [HeldSubmission], _ context: StageContext, chunkSize: Int,
    relative: (SourceLocation) -> SourceLocation
  ) throws {
    let output = try StageJSONAppender(
      Submission.self, path: context.outputPath("submissions.jsonl"))
    for start in stride(from: 0, to: selected.count, by: chunkSize) {
      try output.append(
        selected[start..<min(start + chunkSize, selected.count)].map { held in
          var submission = held.unpacked()
          // Stage files name input files relative to the batch: the same bytes wherever the workdir is.
          submission.source = relative(submission.source)
          for i in submission.students.indices {
            submission.students[i].source = relative(submission.students[i].source)
          }
          for i in submission.contacts.indices {
            submission.contacts[i].source = relative(submission.contacts[i].source)
          }
          for i in submission.documents.indices {
            submission.documents[i].source = relative(submission.documents[i].source)
          }
          return submission
        })
    }
    try output.close()
  }

  private static func inputPath(_ context: StageContext, _ layout: Layout, required: Bool) throws
    -> String?
  {
    let name = context.config.submissions.files[layout.name] ?? layout.fileName
    let path = context.inputFolder + "/" + name
    guard FileSystem.exists(path) else {
      if required {
        throw SISDropError.missingInput(
          path,
          hint: "the batch has no \(name): open a batch with the enrollment export in the inbox")
      }
      return nil
    }
    return path
  }

  private static func readCSV(
    _ context: StageContext, feed: FeedConfig, into submissions: inout [String: HeldSubmission],
    reject: (String, String, String, SourceLocation) -> Void, isRejected: (String) -> Bool,
    duplicates: inout DuplicateRows
  ) throws -> (orphans: [PartWithoutSubmission], lastSubmission: String?) {
    let layout = Layouts.submissions
    guard let path = try inputPath(context, layout, required: true) else { return ([], nil) }
    let reader = try CSVTableReader(
      path: path, layout: layout, dialect: feed.dialect,
      aliases: feed.headerAliases[layout.name] ?? [:])
    reader.requireFinalLineBreak = true
    try refuseCutHeader(reader, path: path)
    for column in reader.unknownColumns {
      context.notes.append("\(layout.fileName): unknown column \(LogText.quoted(column)) ignored")
    }
    let id = layout.index(of: FieldName.submissionID)!
    let form = layout.index(of: FieldName.form)!
    let approved = layout.index(of: FieldName.approvedAt)!
    var lastSubmission: String?
    while let record = try reader.next() {
      let submissionID = FieldRules.text(record[id])
      if let problem = record.problem {
        if reader.recordIsCutOff {
          throw cutOff(problem, malformation: reader.recordMalformation)
        }
        reject(submissionID, "student", problem.reason, problem.location)
        continue
      }
      guard !submissionID.isEmpty else {
        reject("", "submission", "row has no Submission_ID", record.location)
        continue
      }
      lastSubmission = submissionID
      if duplicates.isRepeat(record, id: submissionID) { continue }
      var fields: [String: String] = [:]
      for field in Layouts.submissionStudentFields {
        fields[field] = record[layout.index(of: field)!]
      }
      if let existing = submissions[submissionID] {
        if existing.form != record[form] || existing.approvedAt != record[approved] {
          reject(
            submissionID, "submission", "rows of one submission disagree on Form or Approved_At",
            record.location)
        }
        submissions[submissionID]!.students.append(
          PackedPart(seq: existing.students.count + 1, fields: fields, source: record.location))
      } else {
        var submission = HeldSubmission(
          id: submissionID, form: record[form], approvedAt: record[approved],
          source: record.location)
        submission.students.append(PackedPart(seq: 1, fields: fields, source: record.location))
        submissions[submissionID] = submission
      }
    }
    var orphans: [PartWithoutSubmission] = []
    try readParts(
      context, feed: feed, layout: Layouts.submissionContacts,
      fields: Layouts.submissionContactFields,
      seqField: FieldName.contactSeq, into: &submissions, reject: reject, isRejected: isRejected,
      duplicates: &duplicates, orphans: &orphans
    ) {
      $0.contacts.append($1)
    } exists: { submission, seq in
      submission.contacts.contains { $0.seq == seq }
    }
    try readParts(
      context, feed: feed, layout: Layouts.submissionDocuments,
      fields: [FieldName.docType, FieldName.fileName, FieldName.sha256],
      seqField: nil, into: &submissions, reject: reject, isRejected: isRejected,
      duplicates: &duplicates, orphans: &orphans
    ) {
      $0.documents.append($1)
    } exists: { _, _ in
      false
    }
    return (orphans, lastSubmission)
  }

  /// A malformed last row that the file ends inside is an upload cut off, not a bad record: the
  /// export is refused whole, as the SIS export is. Taking the rows before the cut would deliver part
  /// of the night's submissions and report every contact and document row of the lost ones as an
  /// error to fix in the enrollment system, which has nothing to fix.
  ///
  /// A last row that is whole but lacks its line break is refused too: the cut may have fallen inside
  /// its last field (an e-mail `…@students.demo-district` for `…demo-district.example`), which no
  /// check of the row can tell from a whole value. An export ends with a line break, as the SIS
  /// export must.
  private static func cutOff(_ problem: RecordProblem, malformation: String?) -> SISDropError {
    SISDropError.dataError(
      (malformation.map { "the file ends inside this row (\($0))" }
        ?? "the file ends after this row without a line break (an export ends with one), so its last field may be cut")
        + ": the upload was cut off, so the enrollment export was refused whole and nothing of it was taken",
      at: problem.location, hint: cutOffHint)
  }

  private static let cutOffHint =
    "have the sender upload the whole enrollment export again, every file of it"

  /// A file that ends inside its header row is an upload cut off after a few bytes: read on, it is a
  /// file without rows (probe27: a submission_contacts.csv cut inside its header delivered 48
  /// submissions without one guardian, exit 0).
  private static func refuseCutHeader(_ reader: CSVTableReader, path: String) throws {
    guard !reader.headerEndedByLineBreak else { return }
    throw SISDropError.dataError(
      "the file ends inside its header row, without a line break: the upload was cut off, so the "
        + "enrollment export was refused whole and nothing of it was taken",
      at: SourceLocation(path: path, line: 1), hint: cutOffHint)
  }

  private static func readParts(
    _ context: StageContext, feed: FeedConfig, layout: Layout, fields: [String], seqField: String?,
    into submissions: inout [String: HeldSubmission],
    reject: (String, String, String, SourceLocation) -> Void,
    isRejected: (String) -> Bool, duplicates: inout DuplicateRows,
    orphans: inout [PartWithoutSubmission],
    append: (inout HeldSubmission, PackedPart) -> Void, exists: (HeldSubmission, Int) -> Bool
  ) throws {
    guard let path = try inputPath(context, layout, required: false) else { return }
    let schema = layout.name == "submission_contacts" ? "contact" : "document"
    let reader = try CSVTableReader(
      path: path, layout: layout, dialect: feed.dialect,
      aliases: feed.headerAliases[layout.name] ?? [:])
    reader.requireFinalLineBreak = true
    try refuseCutHeader(reader, path: path)
    for column in reader.unknownColumns {
      context.notes.append("\(layout.fileName): unknown column \(LogText.quoted(column)) ignored")
    }
    let id = layout.index(of: FieldName.submissionID)!
    while let record = try reader.next() {
      let submissionID = FieldRules.text(record[id])
      if let problem = record.problem {
        if reader.recordIsCutOff {
          throw cutOff(problem, malformation: reader.recordMalformation)
        }
        reject(submissionID, schema, problem.reason, problem.location)
        continue
      }
      if !submissionID.isEmpty && duplicates.isRepeat(record, id: submissionID) { continue }
      guard let submission = submissions[submissionID] else {
        if isRejected(submissionID) { continue }  // part of a submission already rejected whole
        orphans.append(
          PartWithoutSubmission(id: submissionID, schema: schema, location: record.location))
        continue
      }
      var seq = (schema == "document" ? submission.documents.count : submission.contacts.count) + 1
      if let seqField {
        let text = FieldRules.text(record[layout.index(of: seqField)!])
        guard let value = Int(text), value > 0 else {
          reject(
            submissionID, schema, "\(seqField) must be a positive whole number, found '\(text)'",
            record.location)
          continue
        }
        guard !exists(submission, value) else {
          reject(submissionID, schema, "\(seqField) \(value) appears twice", record.location)
          continue
        }
        seq = value
      }
      var values: [String: String] = [:]
      for field in fields { values[field] = record[layout.index(of: field)!] }
      append(
        &submissions[submissionID]!, PackedPart(seq: seq, fields: values, source: record.location))
    }
  }

  private static func readXML(
    _ context: StageContext, feed: FeedConfig, into submissions: inout [String: HeldSubmission],
    reject: (String, String, String, SourceLocation) -> Void
  ) throws {
    let name = feed.files["submissions"] ?? "submissions.xml"
    let path = context.inputFolder + "/" + name
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    let reader = try XMLStreamReader(path: path)
    var read = XMLSubmissions(context: context, path: path, name: name, aliases: feed.headerAliases)
    try reader.forEachElement(named: ["submission"]) { read.add($0) }
    // Only now, after a clean end of the document, are the records used (a truncated file yields none).
    guard reader.rootName == "submissions" else {
      throw SISDropError.dataError(
        "the root element must be <submissions>, found <\(reader.rootName ?? "")>",
        at: SourceLocation(path: path, line: 1))
    }
    submissions = read.collected
    for problem in read.problems { reject(problem.0, problem.1, problem.2, problem.3) }
  }

  /// The enrollment export's `<submission>` elements as held submissions, with the problems found;
  /// an element the layouts do not know is noted once and ignored.
  private struct XMLSubmissions {
    let context: StageContext
    let path: String
    let name: String
    let studentMapper: HeaderMapper
    let contactMapper: HeaderMapper
    var collected: [String: HeldSubmission] = [:]
    var problems: [(String, String, String, SourceLocation)] = []
    var unknown = Set<String>()

    init(context: StageContext, path: String, name: String, aliases: [String: [String: String]]) {
      self.context = context
      self.path = path
      self.name = name
      studentMapper = HeaderMapper(
        layout: Layouts.submissions, aliases: aliases["submissions"] ?? [:])
      contactMapper = HeaderMapper(
        layout: Layouts.submissionContacts, aliases: aliases["submission_contacts"] ?? [:])
    }

    mutating func add(_ element: XMLElementNode) {
      let location = SourceLocation(path: path, line: element.line, element: "submission")
      let id = FieldRules.text(element.attribute("id") ?? "")
      guard !id.isEmpty else {
        problems.append(("", "submission", "<submission> has no id attribute", location))
        return
      }
      if collected[id] != nil {
        problems.append((id, "submission", "submission \(id) appears twice", location))
        return
      }
      var submission = HeldSubmission(
        id: id, form: element.attribute("form") ?? "",
        approvedAt: element.attribute("approved") ?? "",
        source: location)
      for child in element.children {
        let childLocation = SourceLocation(path: path, line: child.line, element: child.name)
        switch child.name {
        case "student":
          let fields = fields(
            of: child, in: "student", mapper: studentMapper, layout: Layouts.submissions,
            allowed: Layouts.submissionStudentFields)
          submission.students.append(
            PackedPart(seq: submission.students.count + 1, fields: fields, source: childLocation))
        case "contact":
          addContact(child, to: &submission, at: childLocation)
        case "document":
          let fields = [
            FieldName.docType: child.attribute("type") ?? "",
            FieldName.fileName: child.attribute("file") ?? "",
            FieldName.sha256: child.attribute("sha256") ?? "",
          ]
          submission.documents.append(
            PackedPart(seq: submission.documents.count + 1, fields: fields, source: childLocation))
        default:
          note(child.name, "\(name): unknown element <\(child.name)> in <submission> ignored")
        }
      }
      if submission.students.isEmpty {
        problems.append((id, "submission", "<submission> has no <student>", location))
      }
      collected[id] = submission
    }

    /// A `<contact>`, numbered by its `seq` attribute (else in order): a seq that is not a
    /// positive whole number or appears twice is a problem of the submission.
    mutating func addContact(
      _ child: XMLElementNode, to submission: inout HeldSubmission, at location: SourceLocation
    ) {
      let seqText = child.attribute("seq") ?? String(submission.contacts.count + 1)
      guard let seq = Int(seqText), seq > 0,
        !submission.contacts.contains(where: { $0.seq == seq })
      else {
        problems.append(
          (
            submission.id, "contact",
            "contact seq '\(seqText)' is not a positive whole number or appears twice", location
          ))
        return
      }
      let fields = fields(
        of: child, in: "contact", mapper: contactMapper, layout: Layouts.submissionContacts,
        allowed: Layouts.submissionContactFields)
      submission.contacts.append(PackedPart(seq: seq, fields: fields, source: location))
    }

    /// A student's or contact's child elements by the layout's field names (through the
    /// pipeline's aliases).
    mutating func fields(
      of child: XMLElementNode, in parent: String, mapper: HeaderMapper, layout: Layout,
      allowed: [String]
    ) -> [String: String] {
      var fields: [String: String] = [:]
      for field in child.children {
        guard let index = mapper.fieldIndex(field.name), allowed.contains(layout.fields[index])
        else {
          note(
            "\(parent)/\(field.name)",
            "\(name): unknown element <\(field.name)> in <\(parent)> ignored")
          continue
        }
        fields[layout.fields[index]] = field.text
      }
      return fields
    }

    /// Notes an unknown element once per kind.
    mutating func note(_ key: String, _ message: String) {
      if unknown.insert(key).inserted { context.notes.append(message) }
    }
  }
}

/// Exact duplicate rows of the enrollment export's CSV files (the same values, the same
/// Submission_ID, in the same file): an export that repeats a row must not create a child, a
/// contact or a document twice. The repeat is read once and listed in `10-parse/duplicates.csv`.
/// A row that differs in any value is not a duplicate: it is read as it always was (a second
/// student of the submission, or a contact seq that appears twice).
struct DuplicateRows {
  /// SHA-256 of (submission id, file, values), its first 128 bits → first line. A digest, not the
  /// row: the rows of the whole export were kept twice over (as keys here) at 20,000 submissions.
  private var seen: [Digest: Int] = [:]
  private(set) var rows: [(id: String, path: String, line: Int, sameAs: Int)] = []

  private struct Digest: Hashable {
    var high: UInt64
    var low: UInt64
  }

  mutating func isRepeat(_ record: TableRecord, id: String) -> Bool {
    let hasher = SHA256Hasher()
    for part in [id, record.location.path] + record.values {
      // Each part's length first: no two different rows hash the same bytes.
      hasher.update(String(part.utf8.count) + ":")
      hasher.update(part)
    }
    let hex = hasher.finalizeHex()
    let key = Digest(
      high: UInt64(hex.prefix(16), radix: 16)!,
      low: UInt64(hex.dropFirst(16).prefix(16), radix: 16)!)
    if let first = seen[key] {
      rows.append((id, record.location.path, record.location.line ?? 0, first))
      return true
    }
    seen[key] = record.location.line ?? 0
    return false
  }
}

/// A submission as parse holds it from reading the export to writing it: each row's fields packed
/// into one buffer (`PackedFields`); the records are unpacked a chunk at a time when they are written.
struct HeldSubmission {
  var id: String
  var form: String
  var approvedAt: String
  var source: SourceLocation
  var students: [PackedPart] = []
  var contacts: [PackedPart] = []
  var documents: [PackedPart] = []

  init(id: String, form: String, approvedAt: String, source: SourceLocation) {
    self.id = id
    self.form = form
    self.approvedAt = approvedAt
    self.source = source
  }

  /// The submission with its fields; `documentsOnly`: without students and contacts (for the documents' check).
  func unpacked(documentsOnly: Bool = false) -> Submission {
    var submission = Submission(id: id, form: form, approvedAt: approvedAt, source: source)
    if !documentsOnly {
      submission.students = students.map(\.part)
      submission.contacts = contacts.map(\.part)
    }
    submission.documents = documents.map(\.part)
    return submission
  }
}

/// One row of a held submission, its fields packed.
struct PackedPart {
  var seq: Int
  var source: SourceLocation
  private var fields: PackedFields

  init(seq: Int, fields: [String: String], source: SourceLocation) {
    self.seq = seq
    self.source = source
    self.fields = PackedFields(fields)
  }

  var part: SubmissionPart { SubmissionPart(seq: seq, fields: fields.dictionary, source: source) }
}
