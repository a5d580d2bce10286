import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// Counts and notes from building a snapshot, for stage.json and the batch report.
package struct SnapshotSummary: Sendable, Codable, Hashable {
  package var students = 0
  package var contacts = 0
  package var schools = 0
  package var attendanceCodes = 0
  /// Fields present in the export that the Plugin.xml does not grant: not read into the snapshot.
  package var withheldFields: [String] = []
  /// Columns neither known nor mapped, per file: reported once, never guessed.
  package var unknownColumns: [String] = []
  /// Rows left out because they are malformed (stray quote, ragged, invalid encoding, over a
  /// length cap): at most `sis_export.max_rejected_rows`, or the export is refused.
  package var rejectedRows = 0
  /// Values missing for matching because they are not what their field holds (a birth date that
  /// is not a date, a phone that is not a phone, an over-long name): the row stays.
  package var missingValues = 0

  package init() {}

  enum CodingKeys: String, CodingKey {
    case students, contacts, schools, attendanceCodes, withheldFields, unknownColumns, rejectedRows,
      missingValues
  }

  package init(from decoder: Decoder) throws {
    // Snapshot references written before the reject counts existed read as zero.
    let c = try decoder.container(keyedBy: CodingKeys.self)
    students = try c.decode(Int.self, forKey: .students)
    contacts = try c.decode(Int.self, forKey: .contacts)
    schools = try c.decode(Int.self, forKey: .schools)
    attendanceCodes = try c.decode(Int.self, forKey: .attendanceCodes)
    withheldFields = try c.decode([String].self, forKey: .withheldFields)
    unknownColumns = try c.decode([String].self, forKey: .unknownColumns)
    rejectedRows = try c.decodeIfPresent(Int.self, forKey: .rejectedRows) ?? 0
    missingValues = try c.decodeIfPresent(Int.self, forKey: .missingValues) ?? 0
  }
}

/// Loads a full SIS export into a new snapshot database.
///
/// Streams every file (memory does not grow with the export), normalizes each field with the
/// field rules on bytes (`FieldNormalizer`, same results as `FieldRules` on strings), leaves out
/// fields the Plugin.xml does not grant, and creates the indexes after the bulk load (2–3× faster
/// than before, docs/PLATFORM-NOTES.md, "SQLite"). The file is a derived one, built in the stage's temporary
/// folder: `journal_mode=OFF` and `synchronous=OFF` are safe for it (never for state.sqlite), and
/// the caller publishes it only after `build` returns, so a truncated export never becomes a snapshot.
package struct SnapshotBuilder {
  package var feed: FeedConfig
  package var plugin: PluginManifest?
  /// The indexes only the placeholder matcher's look-ups use (state id, names + birth date, surname
  /// + gender). The fellegi-sunter matcher streams the SIS instead, and these three indexes were
  /// about a quarter of a million-student load: normalize builds them only for `placeholder`.
  package var placeholderIndexes = true
  /// The students count of the last accepted export (the `snapshots` register), for the roster
  /// check: fewer than `feed.minRatio` of it is a cut-off export.
  package var lastAccepted: (batch: String, students: Int)?
  /// A delta's rows, loaded on their own to be applied to a snapshot (`applyDelta`): no file is
  /// required, none may be empty, and the roster check applies to the result instead.
  var partial = false
  package var datePatterns: [DatePattern] { feed.dateFormats }

  package init(feed: FeedConfig, plugin: PluginManifest?) {
    self.feed = feed
    self.plugin = plugin
  }

  static let tables = [
    "students": "Students", "contacts": "Contacts", "schools": "Schools",
    "attendance_codes": "Attendance_Code",
  ]

  static let schema = """
    CREATE TABLE students(\(Snapshot.studentColumns.map { "\($0) TEXT" }.joined(separator: ", ")), first_key TEXT, last_key TEXT, source_line INTEGER);
    CREATE TABLE contacts(\(Snapshot.contactColumns.map { "\($0) TEXT" }.joined(separator: ", ")), first_key TEXT, last_key TEXT);
    CREATE TABLE schools(school_number TEXT, name TEXT, low_grade TEXT, high_grade TEXT, source_line INTEGER);
    CREATE TABLE attendance_codes(att_code TEXT, description TEXT, schoolid TEXT, presence_status_cd TEXT);
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE rejected_rows(file TEXT, line INTEGER, state_studentnumber TEXT, last_key TEXT, dob TEXT);
    """

  static let placeholderIndexSQL = """
    CREATE INDEX students_state_id ON students(state_studentnumber);
    CREATE INDEX students_name_dob ON students(last_key, dob, first_key);
    CREATE INDEX students_last_gender ON students(last_key, gender);
    """

  static let indexes = """
    CREATE UNIQUE INDEX students_number ON students(student_number);
    CREATE INDEX contacts_student ON contacts(student_number);
    -- deliver looks up every updated contact's SIS students by Contact_ID: without this index each
    -- lookup scanned all contacts (112 s of deliver for 10,000 submissions against 100k students).
    CREATE INDEX contacts_id ON contacts(contact_id);
    CREATE UNIQUE INDEX schools_number ON schools(school_number);
    """

  /// Which layout fields the plugin lets sisdrop read; the key field must be readable.
  func readableFields(_ layout: Layout, key: String, summary: inout SnapshotSummary) throws
    -> [Bool]
  {
    guard let plugin, let table = SnapshotBuilder.tables[layout.name] else {
      return layout.fields.map { _ in true }
    }
    let readable = layout.fields.map { plugin.canRead(table: table, field: $0) }
    if let index = layout.index(of: key), !readable[index] {
      throw SISDropError.configuration(
        "Plugin.xml does not grant \(table).\(key), the key of the \(layout.name) export",
        at: SourceLocation(path: "Plugin.xml"),
        hint:
          "add <field table=\"\(table)\" field=\"\(key)\" access=\"ViewOnly\"/> to its access_request"
      )
    }
    for (index, field) in layout.fields.enumerated() where !readable[index] {
      summary.withheldFields.append("\(table).\(field)")
    }
    return readable
  }

  /// Streams one export file, CSV or XML, to `visitor`, each record's values as bytes. Generic, so
  /// that the per-record work is compiled for each reader (no existential per record).
  func forEachRecord<V: RecordVisitor>(
    _ layout: Layout, path: String, unknown: inout [String], _ visitor: inout V
  ) throws {
    let aliases = feed.headerAliases[layout.name] ?? [:]
    if feed.format == .xml {
      let reader = XMLTableReader(path: path, layout: layout, aliases: aliases)
      reader.limits = feed.limits
      try reader.forEachRawRecord { record in try visitor.visit(record) }
      unknown += reader.unknownColumns.map {
        "\((path as NSString).lastPathComponent): \(LogText.quoted($0))"
      }
    } else {
      let reader = try CSVTableReader(
        path: path, layout: layout, dialect: feed.dialect, aliases: aliases)
      reader.requireFinalLineBreak = true
      unknown += reader.unknownColumns.map {
        "\((path as NSString).lastPathComponent): \(LogText.quoted($0))"
      }
      while try reader.readRecord() { try visitor.visit(reader) }
    }
  }

  /// Reads and normalizes every record of the export exactly as `build` does, without SQLite:
  /// the "parse + normalize" phase of the benchmark (`scripts/bench/phases`). Returns the
  /// number of records normalized (malformed ones are skipped).
  package func normalizeOnly(files: [String: String]) throws -> Int {
    var total = 0
    var summary = SnapshotSummary()
    for layout in Layouts.sisExport {
      guard let path = files[layout.name] else { continue }
      let readable = try readableFields(layout, key: layout.fields[0], summary: &summary)
      var visitor = NormalizeOnly(
        rows: RowNormalizer(
          layout: layout, readable: readable,
          withKeys: layout.name == "students" || layout.name == "contacts",
          datePatterns: datePatterns))
      defer { visitor.rows.deallocate() }
      try forEachRecord(layout, path: path, unknown: &summary.unknownColumns, &visitor)
      total += visitor.count
    }
    return total
  }

  /// Builds the snapshot at `output` (a new file) from the export files by layout name.
  ///
  /// - Returns: the summary and the rejected rows.
  /// - Throws: `SISDropError` (65) for an empty export or a bad file, (78) for a plugin without the keys.
  package func build(files: [String: String], output: String) throws -> (SnapshotSummary, [Reject])
  {
    var summary = SnapshotSummary()
    var rejects: [Reject] = []
    let database = try Database(path: output)
    try database.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=8192;")
    try database.execute(SnapshotBuilder.schema)
    let rejectedInsert = try database.prepare(
      "INSERT INTO rejected_rows(file, line, state_studentnumber, last_key, dob) VALUES (?, ?, ?, ?, ?)"
    )
    var structural = 0  // malformed rows so far, over every file

    try database.inTransaction {
      for var layout in Layouts.sisExport {
        // A delta's XML row marked deleted carries its key and the marker alone (the CSV row has
        // the header's columns, empty): in a delta only the keys are required elements.
        if partial && feed.format == .xml {
          layout.required = layout.required.filter {
            $0 == FieldName.studentNumber || $0 == FieldName.contactID
          }
        }
        guard let path = files[layout.name] else {
          if !partial && (layout.name == "students" || layout.name == "schools") {
            throw SISDropError.missingInput(
              feed.files[layout.name] ?? layout.fileName,
              hint: "the SIS export must include \(layout.name); upload it to the inbox")
          }
          continue
        }
        let table = layout.name
        var load = try tableLoad(
          layout, database: database, summary: &summary, structural: structural,
          rejectedInsert: rejectedInsert)
        defer { load.rows.deallocate() }
        try forEachRecord(layout, path: path, unknown: &summary.unknownColumns, &load)
        rejects += load.rejects
        summary.rejectedRows += load.structural - structural
        summary.missingValues += load.missingValues
        structural = load.structural
        var count = load.count
        if load.withLine {
          let duplicates = try removeDuplicateKeys(table, path: path, database: database)
          rejects += duplicates
          count -= duplicates.count
        }
        try checkCount(table, count, path: path)
        switch table {
        case "students": summary.students = count
        case "contacts": summary.contacts = count
        case "schools": summary.schools = count
        default: summary.attendanceCodes = count
        }
      }
      try database.execute(SnapshotBuilder.indexes)
      if placeholderIndexes { try database.execute(SnapshotBuilder.placeholderIndexSQL) }
    }
    try database.execute("PRAGMA optimize")
    return (summary, rejects)
  }

  /// Each table's key column.
  static let keys = [
    "students": FieldName.studentNumber, "contacts": FieldName.contactID,
    "schools": FieldName.schoolNumber,
    "attendance_codes": FieldName.attCode,
  ]

  /// The load of one export file into its table: its insert statement and row normalizer.
  private func tableLoad(
    _ layout: Layout, database: Database, summary: inout SnapshotSummary, structural: Int,
    rejectedInsert: Statement
  ) throws -> TableLoad {
    let table = layout.name
    let readable = try readableFields(
      layout, key: SnapshotBuilder.keys[table]!, summary: &summary)
    let columns = layout.fields.map { $0.lowercased() }
    let withKeys = table == "students" || table == "contacts"
    // Keyed tables keep each row's line so that duplicate keys are reported after the load,
    // by SQL, instead of holding every key in memory (flat memory at millions of rows).
    let unique = table == "students" || table == "schools"
    let allColumns =
      columns + (withKeys ? ["first_key", "last_key"] : []) + (unique ? ["source_line"] : [])
    return TableLoad(
      insert: try database.prepare(
        "INSERT INTO \(table)(\(allColumns.joined(separator: ", "))) VALUES (\(allColumns.map { _ in "?" }.joined(separator: ", ")))"
      ),
      withLine: unique,
      rows: RowNormalizer(
        layout: layout, readable: readable, withKeys: withKeys, datePatterns: datePatterns),
      table: table, fields: layout.fields,
      dateReason:
        "not a date in \(datePatterns.map(\.description).joined(separator: " or ")): missing for matching",
      tolerance: feed.maxRejectedRows, structural: structural,
      rejectedInsert: table == "students" ? rejectedInsert : nil,
      identity: table == "students"
        ? RejectedIdentity(layout: layout, datePatterns: datePatterns) : nil)
  }

  /// Deletes every row of a keyed table but the first of its key, and reports each one deleted.
  private func removeDuplicateKeys(_ table: String, path: String, database: Database) throws
    -> [Reject]
  {
    let key = SnapshotBuilder.keys[table]!.lowercased()
    let duplicates = try database.rows(
      "SELECT \(key), source_line FROM \(table) WHERE rowid NOT IN (SELECT min(rowid) FROM \(table) GROUP BY \(key)) ORDER BY rowid"
    )
    if !duplicates.isEmpty {
      try database.execute(
        "DELETE FROM \(table) WHERE rowid NOT IN (SELECT min(rowid) FROM \(table) GROUP BY \(key))"
      )
    }
    return duplicates.map { row in
      Reject(
        submissionID: "", schema: table, seq: nil, field: SnapshotBuilder.keys[table]!,
        value: row[0].string ?? "",
        reason: "duplicate key in the SIS export",
        action: "fix the SIS export; the first row was kept",
        source: SourceLocation(path: path, line: row[1].int.map { Int($0) }))
    }
  }

  /// A full export's students and schools are never empty, and its students never fewer than
  /// `sis_export.min_ratio` of the last accepted export's (a cut-off export).
  private func checkCount(_ table: String, _ count: Int, path: String) throws {
    if count == 0 && !partial && (table == "students" || table == "schools") {
      throw SISDropError.dataError(
        "the \(table) export has no records", at: SourceLocation(path: path),
        hint:
          "an empty export is never read as “every student withdrew”: upload the full export")
    }
    if table == "students", !partial, let last = lastAccepted,
      Double(count) < feed.minRatio * Double(last.students)
    {
      throw SISDropError.dataError(
        "the students export has \(count) students, fewer than \(Int((feed.minRatio * 100).rounded()))% of the \(last.students) "
          + "of the last accepted export (batch \(last.batch)): a cut-off export",
        at: SourceLocation(path: path),
        hint:
          "upload the complete export; if the district really lost students, lower sis_export.min_ratio in the pipeline"
      )
    }
  }
}

/// What to do with each record of an export file (`SnapshotBuilder.forEachRecord`).
protocol RecordVisitor {
  mutating func visit<R: ExportRecord>(_ record: R) throws
}

/// Normalizes each well-formed record and counts it (the benchmark's parse + normalize phase).
struct NormalizeOnly: RecordVisitor {
  var rows: RowNormalizer
  var count = 0

  mutating func visit<R: ExportRecord>(_ record: R) throws {
    guard record.recordProblem == nil else { return }
    rows.normalize(record) { _ in }
    count += 1
  }
}

/// The load of one table: each record normalized by `RowNormalizer` and bound to the prepared
/// INSERT straight from its buffer (no String per value on the way from the file to SQLite).
/// A malformed record and a DOB that is not a date become rejects.
struct TableLoad: RecordVisitor {
  let insert: Statement
  /// Whether the record's line is stored (keyed tables, for duplicate reports after the load).
  let withLine: Bool
  var rows: RowNormalizer
  let table: String
  let fields: [String]
  let dateReason: String
  /// Malformed rows the export may carry (`sis_export.max_rejected_rows`); `structural` counts
  /// them over every file of the export, this one's included.
  let tolerance: Int
  var structural: Int
  /// Where a malformed students row's identity (as far as it can be read) is kept, for the match
  /// stage to send any child who might be in it to a person.
  let rejectedInsert: Statement?
  let identity: RejectedIdentity?
  var rejects: [Reject] = []
  var count = 0
  var missingValues = 0

  mutating func visit<R: ExportRecord>(_ record: R) throws {
    if let problem = record.recordProblem {
      structural += 1
      if structural > tolerance {
        // The file is not what the SIS exported: refused whole, before anything is matched.
        throw SISDropError.dataError(
          tolerance == 0
            ? problem.reason
            : "\(problem.reason); this is malformed row \(structural) of the SIS export, more than sis_export.max_rejected_rows (\(tolerance))",
          at: problem.location,
          hint:
            "the file is not what the SIS exported (nothing was matched or delivered): export it again and upload it"
            + (tolerance == 0
              ? ", or let the pipeline tolerate a few bad rows with sis_export.max_rejected_rows"
              : ""))
      }
      rejects.append(
        Reject(
          submissionID: "", schema: table, seq: nil, field: "", value: "", reason: problem.reason,
          action:
            "fix the row in the SIS export; until then this SIS record is not in the snapshot, and a child who might be in it goes to review",
          source: problem.location))
      if let rejectedInsert, let identity {
        let file = (problem.location.path as NSString).lastPathComponent
        var found = [
          (
            line: problem.location.line ?? record.recordLine,
            identity: record.withValues { identity.read($0) }
          )
        ]
        // The rows a stray quote swallowed are rejected with it: their children are looked for too.
        if let csv = record as? CSVTableReader {
          found += csv.swallowedRows().prefix(10_000).map {
            ($0.line, identity.read(strings: $0.values))
          }
        }
        for (line, id) in found
        where !(id.stateID.isEmpty && (id.lastKey.isEmpty || id.dob.isEmpty))
          || line == found[0].line
        {
          try rejectedInsert.bind([
            .text(file), .integer(Int64(line)), .text(id.stateID), .text(id.lastKey), .text(id.dob),
          ])
          try rejectedInsert.run()
        }
      }
      return
    }
    var notDates: [Int] = []
    rows.normalize(record) { notDates.append($0) }
    for field in notDates {
      let kind = FieldKind(field: fields[field])
      let reason =
        kind == .date
        ? dateReason
        : kind == .phone
          ? "not a phone number: missing for matching"
          : "longer than \(FieldNormalizer.longestName) characters: missing for matching"
      missingValues += 1
      rejects.append(
        Reject(
          submissionID: "", schema: table, seq: nil, field: fields[field], value: "",
          reason: reason,
          action: "the row stays in the snapshot with this value missing; fix it in the SIS",
          source: record.location))
    }
    try insertRow(line: record.recordLine)
    count += 1
  }

  /// Binds the normalized row and runs the INSERT.
  private func insertRow(line: Int) throws {
    let readable = rows.readable
    let (row, ends) = rows.columns
    var start = 0
    for offset in 0..<ends.count {
      let end = ends[offset]
      if offset < readable.count && !readable[offset] {
        insert.bindNull(Int32(offset + 1))
      } else {
        insert.bindText(
          Int32(offset + 1), bytes: UnsafeBufferPointer(start: row + start, count: end - start))
      }
      start = end
    }
    if withLine { insert.bindInt(Int32(ends.count + 1), Int64(line)) }
    try insert.run()
  }
}

/// What can be read of a malformed students row to find the child who might be in it: the state
/// id, the surname's key and the birth date (ISO), each "" when it cannot be read.
struct RejectedIdentity {
  let stateID: Int?, lastName: Int?, dob: Int?
  let datePatterns: [DatePattern]

  init(layout: Layout, datePatterns: [DatePattern]) {
    stateID = layout.index(of: FieldName.stateStudentNumber)
    lastName = layout.index(of: FieldName.lastName)
    dob = layout.index(of: FieldName.birthDate)
    self.datePatterns = datePatterns
  }

  func read(_ values: RecordValues) -> (stateID: String, lastKey: String, dob: String) {
    read { field in
      guard let field, field < values.count else { return "" }
      let bytes = values[field]
      // A value over the name limit is not one a child could be found by (and not worth a String).
      guard bytes.count <= 4 * FieldNormalizer.longestName else { return "" }
      return String(decoding: bytes, as: UTF8.self)
    }
  }

  func read(strings values: [String]) -> (stateID: String, lastKey: String, dob: String) {
    read { field in
      guard let field, field < values.count,
        values[field].utf8.count <= 4 * FieldNormalizer.longestName
      else { return "" }
      return values[field].replacingOccurrences(of: "\"", with: "")
    }
  }

  private func read(_ raw: (Int?) -> String) -> (stateID: String, lastKey: String, dob: String) {
    func text(_ field: Int?) -> String { FieldRules.text(raw(field)) }
    let lastName = text(self.lastName)
    return (
      text(stateID), lastName.isEmpty ? "" : FieldRules.nameKey(lastName),
      FieldRules.date(text(dob), patterns: datePatterns).date?.iso ?? ""
    )
  }
}

// MARK: Delta exports

/// What applying a delta did.
package struct DeltaSummary: Sendable, Codable, Hashable {
  package var upserted = 0
  package var deleted = 0
  /// Rows marked deleted, or updated, whose key the snapshot does not have: reported, never ignored.
  package var unknownKeys = 0
}

extension SnapshotBuilder {
  /// Applies a delta export (students and contacts, by layout name) to the snapshot at `output` (a
  /// copy of the previous snapshot): each row replaces the row with its key (`Student_Number`;
  /// `Contact_ID` + `Student_Number` for a contact link) or is added; a row whose marker column
  /// (`sis_export.delta.marker_column`) holds a delete value deletes that key (and a deleted
  /// student's contact links). A delete, or a row marked updated, whose key the snapshot does not
  /// have is returned as a reject naming file, line and key.
  ///
  /// - Throws: `SISDropError` 65 for a broken delta file (refused whole, as a full export), or when
  ///   the result has fewer students than `sis_export.min_ratio` of the last accepted export.
  package func applyDelta(files: [String: String], output: String) throws -> (
    SnapshotSummary, DeltaSummary, [Reject]
  ) {
    let loaded = output + ".delta-rows"
    try? FileManager.default.removeItem(atPath: loaded)
    defer { try? FileManager.default.removeItem(atPath: loaded) }
    var rowsBuilder = self
    rowsBuilder.partial = true
    rowsBuilder.placeholderIndexes = false
    var (summary, rejects) = try rowsBuilder.build(files: files, output: loaded)
    summary.unknownColumns.removeAll {
      $0.hasSuffix(": " + LogText.quoted(feed.markerColumn))
        || $0.hasSuffix(": " + feed.markerColumn)
    }
    var delta = DeltaSummary()

    let database = try Database(path: output)
    try database.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
    try database.execute(
      "ATTACH DATABASE '\(loaded.replacingOccurrences(of: "'", with: "''"))' AS delta")
    try markDeltaRows(files, database: database)
    try database.inTransaction {
      // Unknown keys first, against the snapshot as it was.
      let unknown = try unknownKeys(database)
      rejects += unknown.rejects
      delta.unknownKeys = unknown.rejects.count
      try replaceDeltaRows(database)
      let marked = Int(
        try database.scalar("SELECT count(*) FROM marks WHERE action = 'delete'").int ?? 0)
      delta.upserted =
        Int(
          try database.scalar(
            "SELECT (SELECT count(*) FROM delta.students) + (SELECT count(*) FROM delta.contacts)"
          ).int ?? 0) - marked
      delta.deleted = marked - unknown.deletes
    }
    try database.execute("DETACH DATABASE delta")
    var result = summary
    result.students = Int(try database.scalar("SELECT count(*) FROM students").int ?? 0)
    result.contacts = Int(try database.scalar("SELECT count(*) FROM contacts").int ?? 0)
    result.schools = Int(try database.scalar("SELECT count(*) FROM schools").int ?? 0)
    result.attendanceCodes = Int(
      try database.scalar("SELECT count(*) FROM attendance_codes").int ?? 0)
    if let last = lastAccepted, feed.minRatio > 0,
      Double(result.students) < feed.minRatio * Double(last.students)
    {
      throw SISDropError.dataError(
        "the delta leaves \(result.students) students, fewer than \(Int((feed.minRatio * 100).rounded()))% of the \(last.students) "
          + "of the last accepted export (batch \(last.batch))",
        at: SourceLocation(path: files["students"] ?? files.values.sorted().first ?? ""),
        hint:
          "check the delta's deletions; if the district really lost students, send a full export or lower sis_export.min_ratio"
      )
    }
    return (result, delta, rejects)
  }

  /// The temporary table `marks`: each delta row whose marker column says delete or update, with
  /// its keys, file and line.
  private func markDeltaRows(_ files: [String: String], database: Database) throws {
    try database.execute(
      "CREATE TEMP TABLE marks(tbl TEXT, k1 TEXT, k2 TEXT, action TEXT, line INTEGER, file TEXT)")
    let mark = try database.prepare("INSERT INTO marks VALUES (?, ?, ?, ?, ?, ?)")
    let deletes = Set(feed.deleteValues.map { $0.uppercased() })
    let updates = Set(feed.updateValues.map { $0.uppercased() })
    for (table, path) in files.sorted(by: { $0.key < $1.key })
    where table == "students" || table == "contacts" {
      try forEachMarker(table, path: path) { key1, key2, marker, line in
        let value = marker.trimmingCharacters(in: .whitespaces).uppercased()
        let action = deletes.contains(value) ? "delete" : updates.contains(value) ? "update" : nil
        guard let action else { return }
        try mark.bind([
          .text(table), .text(key1), .text(key2), .text(action), .integer(Int64(line)), .text(path),
        ])
        try mark.run()
      }
    }
  }

  /// The marked rows whose key the snapshot does not have, as rejects naming file, line and key,
  /// and how many of them are deletes.
  private func unknownKeys(_ database: Database) throws -> (rejects: [Reject], deletes: Int) {
    let unknown = try database.rows(
      """
      SELECT tbl, k1, k2, action, line, file FROM marks m WHERE
        (tbl = 'students' AND NOT EXISTS (SELECT 1 FROM main.students s WHERE s.student_number = m.k1))
        OR (tbl = 'contacts' AND NOT EXISTS (SELECT 1 FROM main.contacts c WHERE c.contact_id = m.k1 AND c.student_number = m.k2))
      ORDER BY file, line
      """)
    let rejects = unknown.map { row in
      let table = row[0].string ?? ""
      let action = row[3].string ?? ""
      return Reject(
        submissionID: "", schema: table, seq: nil,
        field: table == "students" ? FieldName.studentNumber : FieldName.contactID,
        value: row[1].string ?? "",
        reason:
          "the delta \(action == "delete" ? "deletes" : "updates") a key the snapshot does not have",
        action: action == "delete"
          ? "nothing was deleted; check the SIS export (was it already deleted, or never exported?)"
          : "the row was added as it is; check the SIS export (a full export resets the snapshot)",
        source: SourceLocation(path: row[5].string ?? "", line: row[4].int.map { Int($0) }))
    }
    return (rejects, unknown.filter { $0[3].string == "delete" }.count)
  }

  /// Each delta row replaces the snapshot's row with its key (or is added); a row marked deleted
  /// deletes its key, and a deleted student's contact links go with it.
  private func replaceDeltaRows(_ database: Database) throws {
    let studentColumns =
      Snapshot.studentColumns.joined(separator: ", ") + ", first_key, last_key, source_line"
    let contactColumns = Snapshot.contactColumns.joined(separator: ", ") + ", first_key, last_key"
    try database.execute(
      """
      DELETE FROM main.students WHERE student_number IN (SELECT student_number FROM delta.students);
      DELETE FROM main.contacts WHERE student_number IN (SELECT k1 FROM marks WHERE tbl = 'students' AND action = 'delete');
      DELETE FROM main.contacts WHERE EXISTS (SELECT 1 FROM delta.contacts d WHERE d.contact_id = contacts.contact_id
                                                AND d.student_number = contacts.student_number);
      """)
    try database.execute(
      """
      INSERT INTO main.students(\(studentColumns)) SELECT \(studentColumns) FROM delta.students
        WHERE student_number NOT IN (SELECT k1 FROM marks WHERE tbl = 'students' AND action = 'delete');
      INSERT INTO main.contacts(\(contactColumns)) SELECT \(contactColumns) FROM delta.contacts d
        WHERE NOT EXISTS (SELECT 1 FROM marks m WHERE m.tbl = 'contacts' AND m.action = 'delete' AND m.k1 = d.contact_id AND m.k2 = d.student_number);
      """)
  }

  /// Reads each delta row's key and marker (by header name, aliases included): a CSV column, or in
  /// XML a child element of the record element like any field (`<student>…<Deleted>Y</Deleted></student>`).
  func forEachMarker(
    _ table: String, path: String, _ body: (String, String, String, Int) throws -> Void
  ) throws {
    if feed.format == .xml {
      let keys =
        table == "students"
        ? [FieldName.studentNumber] : [FieldName.contactID, FieldName.studentNumber]
      let element =
        table == "students" ? Layouts.students.recordElement : Layouts.contacts.recordElement
      let layout = Layout(
        name: table, fileName: (path as NSString).lastPathComponent, recordElement: element,
        fields: keys + [feed.markerColumn], required: [])
      // The rows themselves were read (and a broken file refused) by `build`: this pass reads keys and markers only.
      try XMLTableReader(path: path, layout: layout, aliases: feed.headerAliases[table] ?? [:])
        .forEachRecord { record in
          try body(
            record[0], keys.count > 1 ? record[1] : "", record[keys.count],
            record.location.line ?? 0)
        }
      return
    }
    let reader = try CSVReader(path: path, dialect: feed.dialect)
    guard let header = try reader.next() else { return }
    let aliases = feed.headerAliases[table] ?? [:]
    func column(_ field: String) -> Int? {
      header.fields.firstIndex { name in
        let trimmed = name.trimmingCharacters(in: .whitespaces).replacingOccurrences(
          of: "\u{FEFF}", with: "")
        return trimmed.lowercased() == field.lowercased()
          || aliases.first { $0.key.lowercased() == trimmed.lowercased() }?.value == field
      }
    }
    guard let marker = column(feed.markerColumn) else { return }
    let first = column(table == "students" ? FieldName.studentNumber : FieldName.contactID)
    let second = table == "contacts" ? column(FieldName.studentNumber) : nil
    var line = 1
    while let row = try reader.next() {
      line += 1
      let fields = row.fields
      guard marker < fields.count else { continue }
      try body(
        first.map { $0 < fields.count ? fields[$0] : "" } ?? "",
        second.map { $0 < fields.count ? fields[$0] : "" } ?? "", fields[marker], line)
    }
  }
}
