import Foundation
import SISDropCore

/// One record of a flat file, its values in the layout's field order ("" where absent).
package struct TableRecord: Sendable {
  package var values: [String]
  package var location: SourceLocation
  /// Set when the record is malformed and must go to the rejects file.
  package var problem: RecordProblem?

  package subscript(_ index: Int) -> String { values[index] }
}

/// A source of flat records (one CSV file or one XML file of record elements) in a layout.
package protocol RecordSource: AnyObject {
  var path: String { get }
  /// Columns present in the file that are neither in the layout nor mapped: reported once, never guessed.
  var unknownColumns: [String] { get }
  /// The next record, or nil at the end.
  func next() throws -> TableRecord?
}

/// Header matching ignores case, surrounding spaces and a BOM (the layouts: SISDropCore/Records/Layouts.swift).
package func headerKey(_ name: String) -> String {
  name.replacingOccurrences(of: "\u{FEFF}", with: "").trimmingCharacters(in: .whitespaces)
    .lowercased()
}

/// Maps a file's column or element names onto a layout's fields, with the config's aliases.
package struct HeaderMapper {
  let layout: Layout
  let keys: [String: Int]

  package init(layout: Layout, aliases: [String: String]) {
    self.layout = layout
    var keys: [String: Int] = [:]
    for (index, field) in layout.fields.enumerated() { keys[headerKey(field)] = index }
    for (alias, field) in aliases {
      if let index = layout.index(of: field) { keys[headerKey(alias)] = index }
    }
    self.keys = keys
  }

  package func fieldIndex(_ header: String) -> Int? { keys[headerKey(header)] }
}

/// Reads a CSV file with a header row into layout-ordered records.
package final class CSVTableReader: RecordSource {
  package var path: String { reader.path }
  package let layout: Layout
  package private(set) var unknownColumns: [String] = []
  private let reader: CSVReader
  private var columnToField: [Int?] = []
  // Per layout field: its column, and where its value starts (-1: none) and ends in the current
  // record. Memory of our own (freed in deinit): the per-record loop touches no reference count
  // and makes no exclusivity check.
  private let fieldToColumn: GrowableBuffer<Int>
  private let starts: GrowableBuffer<Int>
  private let ends: GrowableBuffer<Int>
  private let headerCount: Int
  /// A last record without a line break is a truncated upload (the SIS export: its rows are
  /// refused, not guessed at); other files take it as the last record.
  package var requireFinalLineBreak = false
  /// False when the file ends inside its header row: an upload cut off after a few bytes, whose
  /// header may still name every required column and which then reads as a file without rows.
  package private(set) var headerEndedByLineBreak = true

  /// Opens the file and reads its header.
  ///
  /// - Throws: `SISDropError` (65) for an empty file, a duplicate or a missing required column.
  package init(
    path: String, layout: Layout, dialect: CSVDialect, aliases: [String: String] = [:],
    inboxFile: Bool = false
  ) throws {
    self.layout = layout
    reader = try CSVReader(path: path, dialect: dialect, inboxFile: inboxFile)
    guard let header = try reader.next() else {
      throw SISDropError.dataError(
        "the file is empty: expected a header row with \(layout.required.sorted().joined(separator: ", "))",
        at: SourceLocation(path: path, line: 1), hint: "upload the complete \(layout.name) export")
    }
    if let problem = header.problem {
      throw SISDropError.dataError("bad header row: \(problem.reason)", at: problem.location)
    }
    headerEndedByLineBreak = reader.lastRecordEndedByLineBreak
    let mapper = HeaderMapper(layout: layout, aliases: aliases)
    var seen: [Int: String] = [:]
    for (column, name) in header.fields.enumerated() {
      if let index = mapper.fieldIndex(name) {
        if let earlier = seen[index] {
          throw SISDropError.dataError(
            "duplicate column \(LogText.quoted(name)): \(LogText.quoted(earlier)) already maps to \(layout.fields[index])",
            at: SourceLocation(path: path, line: header.line, column: column + 1),
            hint: layout.aliasable
              ? "remove one of the two columns or fix header_aliases in the pipeline config"
              : "remove one of the two columns")
        }
        seen[index] = name
        columnToField.append(index)
      } else {
        columnToField.append(nil)
        if !name.trimmingCharacters(in: .whitespaces).isEmpty { unknownColumns.append(name) }
      }
    }
    let missing = layout.required.filter { field in !seen.keys.contains(layout.index(of: field)!) }
      .sorted()
    if !missing.isEmpty {
      throw TableHeader.missingColumns(
        missing, layout: layout, recognized: seen.keys.sorted().map { layout.fields[$0] },
        cells: header.fields.count, at: SourceLocation(path: path, line: header.line))
    }
    headerCount = header.fields.count
    var fieldToColumn = GrowableBuffer<Int>(capacity: layout.fields.count)
    var starts = GrowableBuffer<Int>(capacity: layout.fields.count)
    var ends = GrowableBuffer<Int>(capacity: layout.fields.count)
    for _ in layout.fields {
      fieldToColumn.append(-1)
      starts.append(-1)
      ends.append(0)
    }
    for (column, field) in columnToField.enumerated() {
      if let field { fieldToColumn[field] = column }
    }
    self.fieldToColumn = fieldToColumn
    self.starts = starts
    self.ends = ends
  }

  deinit {
    fieldToColumn.deallocate()
    starts.deallocate()
    ends.deallocate()
  }

  package var bytesRead: Int64 { reader.bytesRead }
  /// Bytes already counted for the progress line (ProgressCounters).
  @exclusivity(unchecked) private var reportedBytes: Int64 = 0

  package func next() throws -> TableRecord? {
    guard try readRecord() else { return nil }
    let values = withValues { values in
      (0..<values.count).map { String(decoding: values[$0], as: UTF8.self) }
    }
    return TableRecord(
      values: values, location: SourceLocation(path: path, line: recordLine), problem: recordProblem
    )
  }

  // MARK: Byte level (the snapshot load reads millions of records without a String per field)

  /// The line the current record starts on.
  package var recordLine: Int { reader.recordLine }
  /// The current record's problem (malformed, ragged): it must be rejected, not used.
  @exclusivity(unchecked) package private(set) var recordProblem: RecordProblem?
  /// The current record is malformed and the file ends inside it, without a line break: an upload
  /// cut off (or a quote never closed that swallowed the rest of the file), not one bad record.
  package var recordIsCutOff: Bool { recordProblem != nil && !reader.lastRecordEndedByLineBreak }
  /// What was wrong with the current record before the file's end was taken into account (nil: the
  /// row itself was whole, and only its line break is missing). A cut-off record's reader words its
  /// own message from this, rather than repeating "a truncated upload?".
  @exclusivity(unchecked) package private(set) var recordMalformation: String?
  /// Bit k (k < 64) set: the value of layout field k is ASCII that `FieldRules.text` leaves as it
  /// is (`CSVReader.cleanASCIIFields`, or an absent column); a clear bit says nothing either way.
  @exclusivity(unchecked) package private(set) var cleanASCIIFields: UInt64 = 0

  /// Reads the next record (blank lines are skipped); false at the end of the file.
  package func readRecord() throws -> Bool {
    while try reader.readRecord() {
      let count = reader.fieldCount
      if reader.recordProblem == nil && count == 1 && reader.withField(0, { $0.isEmpty }) {
        continue
      }  // blank line
      recordProblem = reader.recordProblem
      recordMalformation = recordProblem?.reason
      if recordProblem == nil && count != headerCount {
        let ragged = "ragged row: \(count) fields, the header has \(headerCount)"
        recordMalformation = ragged
        recordProblem = RecordProblem(
          location: SourceLocation(path: path, line: reader.recordLine),
          reason: ragged
            + (reader.lastRecordEndedByLineBreak
              ? "" : " (the file ends inside this row: a truncated upload?)"))
      }
      if recordProblem == nil && requireFinalLineBreak && !reader.lastRecordEndedByLineBreak {
        recordProblem = RecordProblem(
          location: SourceLocation(path: path, line: reader.recordLine),
          reason: "the file ends inside this row, without a line break: a truncated upload?")
      }
      if var problem = recordProblem, let span = reader.recordQuoteSpan,
        problem.location.line != span.line
      {
        // A quoted field that held line breaks, in a row that is wrong: most likely a stray quote
        // that swallowed the rows after it. Reported where it opened, not where the damage shows.
        problem.reason =
          "\(problem.reason) (found at line \(problem.location.line ?? span.line)), in a row whose quoted field "
          + "opened here and runs over \(span.lines) lines: a stray quote swallows the rows after it"
        problem.location = SourceLocation(path: path, line: span.line, column: span.column)
        recordProblem = problem
      }
      // Where each layout field is in the record's bytes (-1: no such column in this record).
      let starts = self.starts
      let ends = self.ends
      let fieldToColumn = self.fieldToColumn
      let cleanColumns = reader.cleanASCIIFields
      var clean: UInt64 = 0
      reader.withRecord { _, fieldStarts, fieldEnds in
        for field in 0..<fieldToColumn.count {
          let column = fieldToColumn[field]
          if column < 0 || column >= fieldEnds.count {
            starts[field] = -1
            if field < 64 { clean |= 1 << UInt64(field) }  // an empty value
          } else {
            starts[field] = fieldStarts[column]
            ends[field] = fieldEnds[column]
            if field < 64 && column < 64 && cleanColumns & (1 << UInt64(column)) != 0 {
              clean |= 1 << UInt64(field)
            }
          }
        }
      }
      cleanASCIIFields = clean
      let consumed = reader.bytesRead
      ProgressCounters.recordRead(bytes: consumed - reportedBytes)
      reportedBytes = consumed
      return true
    }
    return false
  }

  /// The rows a quoted field of the current record swallowed (a stray quote: the record holds
  /// line breaks inside quotes): each line after a break inside a field, with its physical line,
  /// cut at the delimiter (quotes not interpreted) and its values by layout field as far as the
  /// line has columns. Empty for a record without such a field. So a child in a swallowed row
  /// can still be looked for.
  package func swallowedRows() -> [(line: Int, values: [String])] {
    guard reader.recordQuoteSpan != nil else { return [] }
    var rows: [(line: Int, values: [String])] = []
    let fieldToColumn = self.fieldToColumn
    let delimiter = reader.delimiterByte
    var line = reader.recordLine
    reader.withRecord { base, starts, ends in
      for column in 0..<ends.count {
        let field = UnsafeBufferPointer(
          start: base + starts[column], count: ends[column] - starts[column])
        let pieces = field.split(separator: 0x0A, omittingEmptySubsequences: false)
        for piece in pieces.dropFirst() {
          line += 1
          let columns = piece.split(separator: delimiter, omittingEmptySubsequences: false)
          let values = (0..<fieldToColumn.count).map { f in
            let c = fieldToColumn[f]
            return c >= 0 && c < columns.count ? String(decoding: columns[c], as: UTF8.self) : ""
          }
          rows.append((line, values))
        }
      }
    }
    return rows
  }

  /// Calls `body` with the current record's values by layout field (valid inside `body` only).
  @inline(__always)
  package func withValues<R>(_ body: (RecordValues) throws -> R) rethrows -> R {
    try reader.withRecord { base, _, _ in
      try body(
        RecordValues(
          base: base, starts: UnsafePointer(starts.base), ends: UnsafePointer(ends.base),
          count: starts.count))
    }
  }

  /// Calls `body` with the bytes of layout field `field` in the current record (empty when the
  /// file has no such column); the bytes are valid inside `body` only.
  package func withValue<R>(_ field: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows
    -> R
  {
    try withValues { try body($0[field]) }
  }
}

/// One record's values as bytes, by layout field: valid only inside the closure that hands it out.
package struct RecordValues {
  let base: UnsafePointer<UInt8>?
  let starts: UnsafePointer<Int>
  let ends: UnsafePointer<Int>
  /// The number of layout fields.
  package let count: Int

  /// The bytes of layout field `field` (empty when the record has no value for it).
  @inline(__always)
  package subscript(field: Int) -> UnsafeBufferPointer<UInt8> {
    let start = starts[field]
    guard start >= 0, let base else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: base + start, count: ends[field] - start)
  }
}

/// Reads an XML file of record elements (`<students><student><First_Name>…`) into layout-ordered records.
///
/// Records stream through a callback; a caller keeps what it collected only once `forEachRecord`
/// returns, since a truncated document is detected at its end.
package final class XMLTableReader {
  package let path: String
  package let layout: Layout
  package private(set) var unknownColumns: [String] = []
  private let mapper: HeaderMapper
  /// The length caps: a longer field or record is a malformed record (libxml2 itself refuses a
  /// text node over 10 MB, so memory stays bounded).
  package var limits = ReadLimits()

  package init(path: String, layout: Layout, aliases: [String: String] = [:]) {
    self.path = path
    self.layout = layout
    mapper = HeaderMapper(layout: layout, aliases: aliases)
  }

  /// Streams every record to `body`; returns normally only after a clean end of the document.
  package func forEachRecord(_ body: (TableRecord) throws -> Void) throws {
    try forEachRawRecord { record in
      let values = record.withValues { values in
        (0..<values.count).map { String(decoding: values[$0], as: UTF8.self) }
      }
      try body(
        TableRecord(values: values, location: record.location, problem: record.recordProblem))
    }
  }

  /// Streams every record to `body` with its values as bytes (valid inside `body` only), for the
  /// snapshot load; returns normally only after a clean end of the document.
  package func forEachRawRecord(_ body: (XMLTableRecord) throws -> Void) throws {
    let reader = try XMLStreamReader(path: path)
    var unknown = Set<String>()
    let required = layout.required.sorted().map { (name: $0, index: layout.index(of: $0)!) }
    let record = FlatRecord(fieldCount: layout.fields.count)
    let fieldIndex: (String) -> Int? = { [self] in mapper.fieldIndex($0) }
    let noteUnknown: (String) -> Void = { [self] name in
      if unknown.insert(name).inserted { unknownColumns.append(name) }
    }
    try reader.forEachFlatRecord(
      named: layout.recordElement, into: record, fieldIndex: fieldIndex, unknown: noteUnknown
    ) { record in
      var problem: RecordProblem?
      for field in required
      where !record.hasChild[field.index] && record.withValues({ $0[field.index].isEmpty }) {
        problem = RecordProblem(
          location: SourceLocation(path: path, line: record.line, element: layout.recordElement),
          reason: "missing element <\(field.name)>")
        break
      }
      if problem == nil && record.bytes.count > limits.fieldBytes {
        if record.bytes.count > limits.recordBytes {
          problem = RecordProblem(
            location: SourceLocation(path: path, line: record.line, element: layout.recordElement),
            reason: "record longer than \(limits.recordBytes) bytes (limits.record_bytes)")
        } else if let field = (0..<layout.fields.count).first(where: {
          record.starts[$0] >= 0 && record.ends[$0] - record.starts[$0] > limits.fieldBytes
        }) {
          problem = RecordProblem(
            location: SourceLocation(path: path, line: record.line, element: layout.fields[field]),
            reason:
              "<\(layout.fields[field])> longer than \(limits.fieldBytes) bytes (limits.field_bytes)"
          )
        }
      }
      ProgressCounters.recordRead(bytes: 0)
      try body(
        XMLTableRecord(
          record: record, path: path, element: layout.recordElement, recordProblem: problem))
    }
  }
}

/// The current record of `XMLTableReader.forEachRawRecord`: valid inside its closure only.
package struct XMLTableRecord {
  let record: FlatRecord
  let path: String
  let element: String
  package let recordProblem: RecordProblem?

  package var recordLine: Int { record.line }
  package var location: SourceLocation {
    SourceLocation(path: path, line: record.line, element: element)
  }

  @inline(__always)
  package func withValues<R>(_ body: (RecordValues) throws -> R) rethrows -> R {
    try record.withValues(body)
  }

  package func withValue<R>(_ field: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows
    -> R
  {
    try record.withValues { try body($0[field]) }
  }
}

/// Messages about a header row that never repeat its cells: a file without its header row has a
/// child's name, birth date and address there, and the message goes to the log and the e-mail.
enum TableHeader {
  static func missingColumns(
    _ missing: [String], layout: Layout, recognized: [String], cells: Int,
    at location: SourceLocation
  ) -> SISDropError {
    let what =
      "missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", "))"
    // The tardy feed's files have no header_aliases: their column names are fixed.
    let fixed =
      "its column names are fixed (no header_aliases for \(layout.fileName)): \(layout.fields.joined(separator: ", "))"
    if recognized.isEmpty {
      return SISDropError.dataError(
        "\(what): none of the first row's \(cells) cells is a column name sisdrop knows; is the header row missing?",
        at: location,
        hint: layout.aliasable
          ? "export the \(layout.name) file with its header row (\(layout.required.sorted().joined(separator: ", ")), ...), or map its names with header_aliases in the pipeline config"
          : "give \(layout.fileName) its header row as the first line; \(fixed)"
      )
    }
    return SISDropError.dataError(
      "\(what) (the header has \(cells) columns; recognized: \(recognized.joined(separator: ", ")))",
      at: location,
      hint: layout.aliasable
        ? "export the \(layout.name) file with these columns, or map its names with header_aliases in the pipeline config"
        : "name the header row's columns as sisdrop reads them; \(fixed)"
    )
  }
}
