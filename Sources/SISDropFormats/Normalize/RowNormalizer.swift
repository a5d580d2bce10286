import SISDropCore

// The snapshot load's row loop, which SISDropStore's SnapshotBuilder runs for every record of
// the SIS export. It lives in this module, beside the readers, `GrowableBuffer` and
// `FieldNormalizer` it calls for every field, because the optimizer compiles a generic call for
// its element type only where it sees the callee's body, and it does not see across modules: a
// `package` declaration's body never leaves its module (`@inlinable` on one changes nothing in
// Swift 6.3, and `-cross-module-optimization` covers only `public` ones). In SISDropStore this
// loop made 1.5 M generic `GrowableBuffer.append` calls at 10,000 students and the benchmark's
// phases 6.6 % more instructions than before the module split (`sisdrop-bench-phases`,
// scripts/bench/pipeline.sh). So a caller in another module gets whole rows, not fields.

/// One record of an export file as the snapshot load reads it: values as UTF-8 bytes.
package protocol ExportRecord {
  var recordLine: Int { get }
  var recordProblem: RecordProblem? { get }
  /// Where the record is, for a report.
  var location: SourceLocation { get }
  func withValues<R>(_ body: (RecordValues) throws -> R) rethrows -> R
  /// Bit k set: the value of layout field k is ASCII that the text rule leaves as it is, so the
  /// rules skip that rule (a clear bit says nothing either way).
  var cleanASCIIFields: UInt64 { get }
  /// `RowNormalizer.normalize` on this record, compiled for this reader here (each conformance
  /// calls `normalizeValues(of: self)`): one dynamic call per record, none per field.
  func normalize(into rows: inout RowNormalizer, notADate: (Int) -> Void)
}

extension CSVTableReader: ExportRecord {
  package var location: SourceLocation { SourceLocation(path: path, line: recordLine) }

  package func normalize(into rows: inout RowNormalizer, notADate: (Int) -> Void) {
    rows.normalizeValues(of: self, notADate: notADate)
  }
}

extension XMLTableRecord: ExportRecord {
  package var cleanASCIIFields: UInt64 { 0 }

  package func normalize(into rows: inout RowNormalizer, notADate: (Int) -> Void) {
    rows.normalizeValues(of: self, notADate: notADate)
  }
}

/// Normalizes each record's values into one byte buffer, in column order: the layout's fields
/// (withheld ones empty, bound as NULL), then the name keys of keyed tables.
package struct RowNormalizer {
  /// Each layout field's rule, resolved once per table: a `FieldKind` raw value, or `withheld`
  /// for a field the plugin does not grant. Memory of our own, like the row: the per-record loop
  /// touches no reference count.
  private let plan: GrowableBuffer<UInt8>
  static let withheld: UInt8 = 0xFF
  package let readable: [Bool]
  /// First_Name and Last_Name, whose comparison keys are stored too.
  let keyFields: (first: Int, last: Int)?
  var normalizer: FieldNormalizer
  private var row = GrowableBuffer<UInt8>(capacity: 4096)
  private var ends = GrowableBuffer<Int>(capacity: 64)

  /// The last row normalized: its bytes, and where each column ends in them (a column starts where
  /// the one before it ends); valid until the next `normalize`. Plain pointers, so that a caller in
  /// another module (the snapshot load's INSERT) reads them without a generic call per column.
  package var columns: (bytes: UnsafePointer<UInt8>, ends: UnsafeBufferPointer<Int>) {
    (UnsafePointer(row.base), UnsafeBufferPointer(ends.elements()))
  }

  /// Frees the row buffers; the normalizer must not be used afterwards.
  package func deallocate() {
    plan.deallocate()
    row.deallocate()
    ends.deallocate()
  }

  package init(layout: Layout, readable: [Bool], withKeys: Bool, datePatterns: [DatePattern]) {
    var plan = GrowableBuffer<UInt8>(capacity: layout.fields.count)
    for (field, name) in layout.fields.enumerated() {
      plan.append(readable[field] ? UInt8(FieldKind(field: name).rawValue) : RowNormalizer.withheld)
    }
    self.plan = plan
    self.readable = readable
    keyFields =
      withKeys
      ? layout.index(of: FieldName.firstName).flatMap { first in
        layout.index(of: FieldName.lastName).map { (first, $0) }
      } : nil
    normalizer = FieldNormalizer(datePatterns: datePatterns)
  }

  /// `notADate` is called with each field whose value is missing for matching (`FieldNormalizer.reference`).
  package mutating func normalize(_ record: some ExportRecord, notADate: (Int) -> Void) {
    record.normalize(into: &self, notADate: notADate)
  }

  /// `normalize` for one kind of record (`ExportRecord.normalize(into:notADate:)`).
  mutating func normalizeValues(of record: some ExportRecord, notADate: (Int) -> Void) {
    // Values the CSV reader vouches for as clean ASCII text (most identifiers, codes, numbers and
    // names) skip the text rule: plain text is a copy, the other rules work on the bytes.
    let clean = record.cleanASCIIFields
    record.withValues { values in normalizeRow(values, clean: clean, notADate: notADate) }
  }

  /// The row of one record's values. Not generic, so that it is compiled once, here, for every
  /// reader and every caller (the generic `normalize` above hands it the values).
  private mutating func normalizeRow(
    _ values: RecordValues, clean: UInt64, notADate: (Int) -> Void
  ) {
    // The buffers in locals (plain copies, written back below): no overlapping access in the loop.
    var row = self.row
    var ends = self.ends
    defer {
      self.row = row
      self.ends = ends
    }
    row.removeAll()
    ends.removeAll()
    let plan = self.plan
    let keyFields = self.keyFields
    var missingKey = (first: false, last: false)
    for field in 0..<plan.count {
      let rule = plan[field]
      if rule != RowNormalizer.withheld {
        let kind = FieldKind(rawValue: Int(rule))!
        let value = values[field]
        let fits =
          field < 64 && clean & (1 << UInt64(field & 63)) != 0
          ? (kind == .text
            ? row.appendValue(value) : normalizer.appendCleanASCII(kind, value, to: &row))
          : normalizer.append(kind, value, to: &row)
        if !fits {
          notADate(field)
          if let keyFields, field == keyFields.first { missingKey.first = true }
          if let keyFields, field == keyFields.last { missingKey.last = true }
        }
      }
      ends.append(row.count)
    }
    if let (first, last) = keyFields {
      // A name missing for matching has no key either.
      if !missingKey.first { appendKey(first, values, clean, plan, &row) }
      ends.append(row.count)
      if !missingKey.last { appendKey(last, values, clean, plan, &row) }
      ends.append(row.count)
    }
  }

  private mutating func appendKey(
    _ field: Int, _ values: RecordValues, _ clean: UInt64, _ plan: GrowableBuffer<UInt8>,
    _ row: inout GrowableBuffer<UInt8>
  ) {
    guard plan[field] != RowNormalizer.withheld else { return }
    if field < 64 && clean & (1 << UInt64(field & 63)) != 0 {
      FieldBytes.appendNameKeyOfASCII(values[field], to: &row)
    } else {
      normalizer.appendNameKey(values[field], to: &row)
    }
  }
}

extension GrowableBuffer<UInt8> {
  /// Appends `value` as it is; true (a plain-text value always fits its column).
  @inline(__always)
  mutating func appendValue(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
    append(contentsOf: value)
    return true
  }
}
