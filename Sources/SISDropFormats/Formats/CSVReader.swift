import Foundation
import SISDropCore

/// What is wrong with one CSV record, and where: the record is rejected, the file goes on.
package struct RecordProblem: Sendable, Hashable, Codable, CustomStringConvertible {
  package var location: SourceLocation
  package var reason: String

  package init(location: SourceLocation, reason: String) {
    self.location = location
    self.reason = reason
  }

  package var description: String { "\(location): \(reason)" }
}

/// One record of a CSV file: its fields, the physical line it starts on, and its problem if any.
package struct CSVRow: Sendable {
  package var fields: [String]
  /// The 1-based physical line the record starts on (a quoted field may span lines).
  package var line: Int
  /// Set when the record is malformed: it must be rejected, not used.
  package var problem: RecordProblem?
}

/// The length caps of a feed (`limits:` in the pipeline): a field or record over them is a
/// malformed record, and the reader's memory stays bounded by them whatever the file holds.
package struct ReadLimits: Sendable, Hashable {
  /// Bytes of one field (`limits.field_bytes`, default 64 KiB).
  package var fieldBytes = 64 << 10
  /// Bytes of one record, delimiters included (`limits.record_bytes`, default 1 MiB).
  package var recordBytes = 1 << 20
  /// Lines a quoted field may span before it is taken for a stray quote that swallows the rows
  /// after it (an address runs over two or three).
  package var quotedLines = 10

  package init() {}
}

/// Dialect of a CSV file: the delimiter and the encoding to assume without a BOM.
package struct CSVDialect: Sendable, Hashable {
  package var delimiter: UInt8
  package var encoding: TextEncoding
  package var limits: ReadLimits
  /// What a record with invalid UTF-8 says to do: a feed with an `encoding` setting names it; a
  /// file read as UTF-8 whatever the pipeline says (the tardy feed's, an answer file) does not.
  package var notUTF8Advice: String

  /// The advice of a feed whose `encoding` the pipeline sets (the SIS and enrollment exports).
  package static let configurableEncodingAdvice =
    "is this file Windows-1252? set `encoding: windows-1252` for this feed in the pipeline"

  package init(
    delimiter: UInt8 = UInt8(ascii: ","), encoding: TextEncoding = .utf8,
    limits: ReadLimits = ReadLimits(),
    notUTF8Advice: String =
      "is this file Windows-1252? it is read as UTF-8 only: save it as UTF-8 (e.g. iconv -f windows-1252 -t utf-8)"
  ) {
    self.delimiter = delimiter
    self.encoding = encoding
    self.limits = limits
    self.notUTF8Advice = notUTF8Advice
  }
}

/// A streaming RFC 4180 reader.
///
/// Written by hand for speed: Swift's CSV packages reach 6–8 MB/s on these machines while a
/// byte-level parser over 1 MiB chunks reaches well over 100 MB/s with flat memory
/// (docs/PLATFORM-NOTES.md, "CSV"; `scripts/bench/pipeline.sh` measures it against Python's csv module).
///
/// Quoted fields may hold delimiters, doubled quotes and line breaks; lines end in LF or CRLF.
/// A record-level fault (a NUL byte, a stray quote, invalid UTF-8) marks that record with a
/// `RecordProblem` and reading goes on at the next record; a quote still open at the end of the
/// file is a file-level error, since no later record can be trusted. A field or record over the
/// dialect's `limits` is a record-level fault too, and its bytes are dropped as they are read
/// (memory stays flat whatever the line length); a quoted field that runs over more lines than
/// `limits.quotedLines` is reported where it opened (a stray quote swallows the rows after it).
package final class CSVReader {
  package let path: String
  private let source: TextSource
  private let delimiter: UInt8
  private let limits: ReadLimits
  private let notUTF8Advice: String

  /// The current chunk of the file, in memory of our own so that the hot loop runs on a plain
  /// pointer (no closure capturing the record's state, which costs an exclusivity check per access).
  /// The reader's state is `@exclusivity(unchecked)`: one reader, one thread, no overlapping
  /// access, and the runtime's check on each property access was ~7 % of parse + normalize (perf).
  @exclusivity(unchecked) private var chunk = GrowableBuffer<UInt8>(capacity: 1 << 20)
  @exclusivity(unchecked) private var position = 0
  @exclusivity(unchecked) private var finished = false

  // The record being built: all field bytes back to back, and where each field ends.
  @exclusivity(unchecked) private var bytes = GrowableBuffer<UInt8>(capacity: 4096)
  @exclusivity(unchecked) private var fieldEnds = GrowableBuffer<Int>(capacity: 64)
  /// Where each field of the current record starts and ends, from `recordBase`: in `bytes` for a
  /// record read by the general path, in the chunk itself for a plain one (`readPlainRecord`).
  @exclusivity(unchecked) private var fieldStarts = GrowableBuffer<Int>(capacity: 64)
  @exclusivity(unchecked) private var recordBase: UnsafePointer<UInt8>
  @exclusivity(unchecked) private var fieldLines = GrowableBuffer<Int>(capacity: 64)
  @exclusivity(unchecked) private var fieldColumns = GrowableBuffer<Int>(capacity: 64)

  @exclusivity(unchecked) private var line = 1
  /// Whether the current record ended in a line break (false: the file ends inside it).
  @exclusivity(unchecked) package private(set) var lastRecordEndedByLineBreak = false
  @exclusivity(unchecked) private var column = 1  // in characters, of the next byte

  /// - Parameter inboxFile: the file is in the inbox: read only if it is a regular file with one
  ///   name (`InboxFile.open`); a link, FIFO or device is refused (65) without being opened.
  package init(path: String, dialect: CSVDialect = CSVDialect(), inboxFile: Bool = false) throws {
    self.path = path
    self.delimiter = dialect.delimiter
    self.limits = dialect.limits
    self.notUTF8Advice = dialect.notUTF8Advice
    self.source = try TextSource(path: path, encoding: dialect.encoding, inboxFile: inboxFile)
    recordBase = UnsafePointer(bytes.base)
  }

  deinit {
    chunk.deallocate()
    bytes.deallocate()
    fieldEnds.deallocate()
    fieldStarts.deallocate()
    fieldLines.deallocate()
    fieldColumns.deallocate()
  }

  /// The encoding found (BOM) or assumed for this file.
  package var encoding: String { source.encodingInUse }
  package var bytesRead: Int64 { source.bytesRead }

  private func refill() throws -> Bool {
    while let next = try source.next() {
      if next.isEmpty { continue }
      chunk.removeAll()
      next.withUnsafeBufferPointer { chunk.append(contentsOf: $0) }
      position = 0
      return true
    }
    finished = true
    return false
  }

  private enum State { case fieldStart, unquoted, quoted, quoteInQuoted, afterCR }

  /// Reads the next record, or returns nil at the end of the file.
  ///
  /// - Throws: `SISDropError` (65) for a quote left open at the end of the file.
  package func next() throws -> CSVRow? {
    guard try readRecord() else { return nil }
    var fields: [String] = []
    fields.reserveCapacity(fieldEnds.count)
    for index in 0..<fieldEnds.count {
      // Validated by `readRecord`; an invalid field (the record is then rejected) is repaired.
      fields.append(withField(index) { String(decoding: $0, as: UTF8.self) })
    }
    return CSVRow(fields: fields, line: recordLine, problem: recordProblem)
  }

  // MARK: The current record, byte level

  /// The 1-based physical line the current record starts on.
  @exclusivity(unchecked) package private(set) var recordLine = 0
  /// The current record's problem, if any: it must be rejected, not used.
  @exclusivity(unchecked) package private(set) var recordProblem: RecordProblem?
  /// Where the current record's first quoted field that holds a line break opened, and the lines
  /// the record spans (nil for a record on one line): a problem found later in such a record is
  /// reported there, since a stray quote is the likely cause.
  @exclusivity(unchecked) package private(set) var recordQuoteSpan:
    (line: Int, column: Int, lines: Int)?
  /// Bit k (k < 64) set: field k of the current record is clean ASCII text — the record is plain
  /// (read in place) and the field is all ASCII with no control byte, no leading or trailing space
  /// and no two spaces in a row, so `FieldRules.text` leaves it as it is and the snapshot load
  /// skips that rule. A clear bit says nothing either way.
  @exclusivity(unchecked) package private(set) var cleanASCIIFields: UInt64 = 0
  /// The dialect's delimiter.
  package var delimiterByte: UInt8 { delimiter }
  /// Number of fields in the current record.
  package var fieldCount: Int { fieldEnds.count }

  /// Calls `body` with the bytes of field `index` of the current record (valid inside `body` only).
  @inline(__always)
  package func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows
    -> R
  {
    try body(
      UnsafeBufferPointer(
        start: recordBase + fieldStarts[index], count: fieldEnds[index] - fieldStarts[index]))
  }

  /// Calls `body` with the current record's base address and where each field starts and ends
  /// from it (valid inside `body` only).
  @inline(__always)
  package func withRecord<R>(
    _ body: (UnsafePointer<UInt8>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) throws -> R
  ) rethrows -> R {
    try body(
      recordBase, UnsafeBufferPointer(fieldStarts.elements()),
      UnsafeBufferPointer(fieldEnds.elements()))
  }

  /// The end of the run of ordinary bytes from `start`: in an unquoted field, bytes that are not
  /// the delimiter, CR, LF, a quote or NUL; in a quoted one, not a quote, LF or NUL. Eight bytes
  /// at a time while no byte is below 0x23 (CR, LF, quote and NUL all are) or the delimiter;
  /// `high` gets the OR of the run's bytes (for `characters`); `spaced` is set by a byte that
  /// `FieldRules.text` might change in an unquoted field of a plain record (see `readPlainRecord`).
  @inline(__always)
  static func run(
    _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, delimiter: UInt8, quoted: Bool,
    high: inout UInt8, spaced: inout Bool
  ) -> Int {
    var j = start
    let end = buffer.count
    let raw = UnsafeRawPointer(buffer.baseAddress!)
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let delimiters = ones &* UInt64(delimiter)
    var highWord: UInt64 = 0
    scan: while true {
      while j + 8 <= end {
        let word = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
        let below = (word &- 0x2323_2323_2323_2323) & ~word & highs  // some byte < 0x23
        let x = word ^ delimiters
        let delimiter = quoted ? 0 : (x &- ones) & ~x & highs  // some byte == delimiter
        if below | delimiter != 0 { break }
        highWord |= word
        j += 8
      }
      // One word's worth of bytes one by one (a space also stops the word test), then words again.
      let stop = Swift.min(end, j + 8)
      while j < stop {
        let b = buffer[j]
        if quoted {
          if b == 0x22 || b == 0x0A || b == 0 { break scan }
        } else if b < 0x23 || b == delimiter {
          if b == delimiter || b == 0x0A || b == 0x0D || b == 0x22 || b == 0 { break scan }
          // A byte the text rule might change: a control byte, or a space that is first or last
          // in its field or next to another (`spaced`: the plain record is not clean ASCII text).
          if b < 0x20 || j == 0 || j + 1 >= end {
            spaced = true
          } else if b == 0x20 {
            let before = buffer[j - 1]
            let after = buffer[j + 1]
            if before <= 0x20 || after <= 0x20 || before == delimiter || after == delimiter {
              spaced = true
            }
          }
        }
        high |= b
        j += 1
      }
      if j >= end { break }
    }
    if highWord & highs != 0 { high |= 0x80 }
    return j
  }

  /// The characters in `buffer[start..<end]` (UTF-8 continuation bytes do not count); `high` is
  /// the OR of those bytes, so an ASCII run is counted without a second look.
  @inline(__always)
  static func characters(
    _ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ high: UInt8
  ) -> Int {
    var count = end - start
    if high >= 0x80 {
      for k in start..<end where buffer[k] & 0xC0 == 0x80 { count -= 1 }
    }
    return count
  }

  /// Reads the next record into the reader's buffer, without making a String per field: the
  /// snapshot load normalizes and stores straight from these bytes. Returns false at the end.
  ///
  /// - Throws: `SISDropError` (65) for a quote left open at the end of the file.
  package func readRecord() throws -> Bool {
    if position >= chunk.count && !finished { _ = try refill() }
    if readPlainRecord() { return true }
    // The general path: quotes, line breaks in fields, the caps, and every fault located.
    let startLine = line
    guard let scan = try scanRecord() else { return false }
    if scan.spanQuoteLine > 0 {
      recordQuoteSpan = (scan.spanQuoteLine, scan.spanQuoteColumn, line - startLine)
    }
    var problem = scan.flagged.map {
      RecordProblem(
        location: SourceLocation(path: path, line: scan.flaggedLine, column: scan.flaggedColumn),
        reason: $0)
    }
    if position >= chunk.count && finished && !lastRecordEndedByLineBreak {
      try endAtEndOfFile(scan)
    }
    emptyCappedFields(scan)
    if problem == nil { problem = invalidUTF8() }
    publishRecord(line: startLine, problem: problem)
    return true
  }

  /// What `scanRecord` leaves for the steps after it: the state it stopped in, and what it found.
  private struct RecordScan {
    var state: State
    /// Where the last quoted field opened.
    var quoteLine: Int
    var quoteColumn: Int
    /// The first quoted field that held a line break (0: none).
    var spanQuoteLine: Int
    var spanQuoteColumn: Int
    /// The record's first fault, at `flaggedLine`:`flaggedColumn`.
    var flagged: String?
    var flaggedLine: Int
    var flaggedColumn: Int
    /// What the caps cut: these fields, or the whole record.
    var cappedFields: [Int]
    var cappedRecord: Bool
  }

  /// Reads one record's bytes into the buffers, through the state machine; nil at the end of the
  /// input. Kept whole: the hot state lives in this function's locals (class properties in a loop
  /// cost exclusivity checks) and one loop with one switch over the states reads every byte
  /// (`scripts/bench/pipeline.sh`).
  private func scanRecord() throws -> RecordScan? {
    cleanASCIIFields = 0
    recordQuoteSpan = nil
    let startLine = line
    var state = State.fieldStart
    var quoteLine = 0
    var quoteColumn = 0
    var sawAnything = false
    let delimiter = self.delimiter
    lastRecordEndedByLineBreak = false
    // The hot state lives in locals (class properties in a loop cost exclusivity checks); the
    // buffers are copied out and back, which costs nothing (see GrowableBuffer).
    var bytes = self.bytes
    var fieldEnds = self.fieldEnds
    var fieldLines = self.fieldLines
    var fieldColumns = self.fieldColumns
    var line = self.line
    var column = self.column
    bytes.removeAll()
    fieldEnds.removeAll()
    fieldLines.removeAll()
    fieldColumns.removeAll()
    defer {
      self.bytes = bytes
      self.fieldEnds = fieldEnds
      self.fieldLines = fieldLines
      self.fieldColumns = fieldColumns
      self.line = line
      self.column = column
    }

    var spaced = false  // only plain records use it
    var flagged: String?  // the first fault of the record, at `flaggedLine`:`flaggedColumn`
    var flaggedLine = 0
    var flaggedColumn = 0
    // The caps: checked once per step of the loop below (a step appends at most one chunk).
    let fieldCap = limits.fieldBytes
    let recordCap = limits.recordBytes
    var spanQuoteLine = 0
    var spanQuoteColumn = 0  // the first quoted field that held a line break
    var cappedFields: [Int] = []
    var cappedRecord = false  // what the caps cut: emptied at the end of the record

    scan: while true {
      if position >= chunk.count {
        if finished { break scan }
        if try !refill() { break scan }
      }
      // Tight loop over the current chunk; `exitRecord` ends the record at a line break. Runs of
      // ordinary bytes are found first and copied at once.
      var exitRecord = false
      do {
        let buffer = UnsafeBufferPointer(chunk.elements())
        var i = position
        let end = buffer.count
        sawAnything = true
        while i < end {
          if bytes.count + fieldEnds.count > fieldCap {
            // Over a cap: the record is rejected, and its bytes so far are dropped (flat memory).
            let fieldStart = fieldEnds.count > 0 ? fieldEnds[fieldEnds.count - 1] : 0
            let overRecord = bytes.count + fieldEnds.count > recordCap
            if overRecord || bytes.count - fieldStart > fieldCap {
              if flagged == nil {
                flagged =
                  overRecord
                  ? "record longer than \(recordCap) bytes (limits.record_bytes)"
                  : "field \(fieldEnds.count + 1) longer than \(fieldCap) bytes (limits.field_bytes)"
                flaggedLine = startLine
                flaggedColumn =
                  overRecord
                  ? 1 : (fieldColumns.count > fieldEnds.count ? fieldColumns[fieldEnds.count] : 1)
              }
              if overRecord {
                cappedRecord = true
                bytes.removeAll()
                fieldEnds.removeAll()
                fieldLines.removeAll()
                fieldColumns.removeAll()
                if state != .fieldStart {
                  fieldLines.append(line)
                  fieldColumns.append(column)
                }
              } else {
                if cappedFields.last != fieldEnds.count { cappedFields.append(fieldEnds.count) }
                bytes.removeAll(from: fieldStart)
              }
            }
          }
          let byte = buffer[i]
          switch state {
          case .fieldStart:
            fieldLines.append(line)
            fieldColumns.append(column)
            if byte == UInt8(ascii: "\"") {
              i += 1
              state = .quoted
              quoteLine = line
              quoteColumn = column
              column += 1
              continue
            }
            state = .unquoted
            fallthrough
          case .unquoted:
            // A run of bytes that are neither the delimiter, a line break, a quote nor NUL.
            var high: UInt8 = 0
            let j = CSVReader.run(
              buffer, from: i, delimiter: delimiter, quoted: false, high: &high, spaced: &spaced)
            if j > i {
              bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i..<j]))
              column += CSVReader.characters(buffer, i, j, high)
              i = j
              continue
            }
            i += 1
            if byte == delimiter {
              fieldEnds.append(bytes.count)
              state = .fieldStart
              column += 1
            } else if byte == 0x0A {
              fieldEnds.append(bytes.count)
              line += 1
              column = 1
              exitRecord = true
            } else if byte == 0x0D {
              fieldEnds.append(bytes.count)
              state = .afterCR
            } else {
              if flagged == nil {
                flagged = byte == 0 ? "NUL byte in field" : "stray quote inside an unquoted field"
                flaggedLine = line
                flaggedColumn = column
              }
              bytes.append(byte)
              column += 1
            }
          case .quoted:
            // A run of bytes that are neither a quote, a line feed nor NUL.
            var high: UInt8 = 0
            let j = CSVReader.run(
              buffer, from: i, delimiter: delimiter, quoted: true, high: &high, spaced: &spaced)
            if j > i {
              bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i..<j]))
              column += CSVReader.characters(buffer, i, j, high)
              i = j
              continue
            }
            i += 1
            if byte == UInt8(ascii: "\"") {
              state = .quoteInQuoted
              column += 1
            } else {
              if byte == 0 && flagged == nil {
                flagged = "NUL byte in field"
                flaggedLine = line
                flaggedColumn = column
              }
              bytes.append(byte)
              if byte == 0x0A {
                if spanQuoteLine == 0 {
                  spanQuoteLine = quoteLine
                  spanQuoteColumn = quoteColumn
                }
                line += 1
                column = 1
                if line - quoteLine > limits.quotedLines && flagged == nil {
                  flagged =
                    "a quoted field opened here runs over more than \(limits.quotedLines) lines: a stray quote swallows the rows after it"
                  flaggedLine = quoteLine
                  flaggedColumn = quoteColumn
                }
              } else {
                column += 1
              }
            }
          case .quoteInQuoted:
            i += 1
            if byte == UInt8(ascii: "\"") {
              bytes.append(byte)
              state = .quoted
              column += 1
            } else if byte == delimiter {
              fieldEnds.append(bytes.count)
              state = .fieldStart
              column += 1
            } else if byte == 0x0A {
              fieldEnds.append(bytes.count)
              line += 1
              column = 1
              exitRecord = true
            } else if byte == 0x0D {
              fieldEnds.append(bytes.count)
              state = .afterCR
            } else {
              if flagged == nil {
                flagged = "unexpected character after a closing quote"
                flaggedLine = line
                flaggedColumn = column
              }
              bytes.append(byte)
              state = .unquoted
              column += 1
            }
          case .afterCR:
            i += 1
            line += 1
            column = 1
            exitRecord = true
            // a lone CR ends the line; the byte belongs to the next record
            if byte != 0x0A { i -= 1 }
          }
          if exitRecord { break }
        }
        position = i
      }
      if exitRecord {
        lastRecordEndedByLineBreak = true
        break scan
      }
    }

    if !sawAnything { return nil }
    return RecordScan(
      state: state, quoteLine: quoteLine, quoteColumn: quoteColumn,
      spanQuoteLine: spanQuoteLine, spanQuoteColumn: spanQuoteColumn, flagged: flagged,
      flaggedLine: flaggedLine, flaggedColumn: flaggedColumn, cappedFields: cappedFields,
      cappedRecord: cappedRecord)
  }

  /// The file ended inside the record (no final line break): its last field ends here.
  ///
  /// - Throws: `SISDropError` (65) for a quoted field left open.
  private func endAtEndOfFile(_ scan: RecordScan) throws {
    switch scan.state {
    case .quoted:
      throw SISDropError.dataError(
        "unbalanced quote: the quoted field opened here is never closed",
        at: SourceLocation(path: path, line: scan.quoteLine, column: scan.quoteColumn),
        hint:
          "fix the quoting in the file (a quote inside a field is written as two quotes) and upload it again"
      )
    case .fieldStart:  // right after a delimiter: an empty last field
      fieldLines.append(line)
      fieldColumns.append(column)
      fieldEnds.append(bytes.count)
    case .unquoted, .quoteInQuoted:
      fieldEnds.append(bytes.count)
    case .afterCR:  // the file ends in a lone CR: a line break all the same
      line += 1
      column = 1
      lastRecordEndedByLineBreak = true
    }
  }

  /// A field the caps cut is empty, not its last bytes (and after the record cap, every field:
  /// what is left are the tail's fields, at the wrong places): the record is rejected anyway.
  private func emptyCappedFields(_ scan: RecordScan) {
    if scan.cappedRecord {
      bytes.removeAll()
      for k in 0..<fieldEnds.count { fieldEnds[k] = 0 }
    } else if !scan.cappedFields.isEmpty {
      var write = 0
      var start = 0
      for k in 0..<fieldEnds.count {
        let end = fieldEnds[k]
        if !scan.cappedFields.contains(k) {
          if write != start { memmove(bytes.base + write, bytes.base + start, end - start) }
          write += end - start
        }
        start = end
        fieldEnds[k] = write
      }
      bytes.removeAll(from: write)
    }
  }

  /// The record's first field with invalid UTF-8, as a problem; nil when the record is valid.
  /// Checked on bytes, and only in records that hold a byte above ASCII: the whole record at
  /// once, and each field only when the record is not valid or a field starts inside a character
  /// (the fields are valid exactly when both hold).
  private func invalidUTF8() -> RecordProblem? {
    let bytes = self.bytes
    let fieldEnds = self.fieldEnds
    guard !UTF8Check.isASCII(UnsafeBufferPointer(bytes.elements())),
      !(UTF8Check.isValid(UnsafeBufferPointer(bytes.elements()))
        && (0..<Swift.max(0, fieldEnds.count - 1)).allSatisfy {
          fieldEnds[$0] >= bytes.count || bytes[fieldEnds[$0]] & 0xC0 != 0x80
        })
    else { return nil }
    var start = 0
    for index in 0..<fieldEnds.count {
      let end = fieldEnds[index]
      if !UTF8Check.isValid(bytes.elements(start, end)) {
        return RecordProblem(
          location: SourceLocation(
            path: path, line: fieldLines[index], column: fieldColumns[index]),
          reason:
            "invalid UTF-8 in field \(index + 1) at byte \(UTF8Check.firstInvalid(bytes.elements(start, end)) + 1) of the field: "
            + notUTF8Advice
        )
      }
      start = end
    }
    return nil
  }

  /// Makes the scanned record the current one: its line, problem, and where each field starts.
  private func publishRecord(line: Int, problem: RecordProblem?) {
    recordLine = line
    recordProblem = problem
    recordBase = UnsafePointer(bytes.base)
    var starts = fieldStarts
    starts.removeAll()
    for index in 0..<fieldEnds.count { starts.append(index == 0 ? 0 : fieldEnds[index - 1]) }
    fieldStarts = starts
  }

  /// The usual record, read in place: it lies in the current chunk, ends in LF or CRLF, and holds
  /// no quote, NUL or lone CR, and valid UTF-8. Its fields are ranges of the chunk (no copy, no
  /// column counting). Anything else returns false having changed nothing that `readRecord`'s
  /// general path reads, which then reads the record with its exact problem reporting.
  private func readPlainRecord() -> Bool {
    let count = chunk.count
    guard position < count, column == 1 else { return false }
    let buffer = UnsafeBufferPointer(chunk.elements())
    let start = position
    var starts = fieldStarts
    var ends = fieldEnds  // plain copies, written back below whatever happens
    defer {
      fieldStarts = starts
      fieldEnds = ends
    }
    starts.removeAll()
    ends.removeAll()
    var i = start
    var fieldStart = start
    var high: UInt8 = 0
    var clean: UInt64 = 0
    var recordEnd = 0
    let fieldCap = limits.fieldBytes
    while true {
      // One call per field (a run stops only at the delimiter, a line break, a quote or NUL).
      var fieldHigh: UInt8 = 0
      var spaced = false
      i = CSVReader.run(
        buffer, from: i, delimiter: delimiter, quoted: false, high: &fieldHigh, spaced: &spaced)
      high |= fieldHigh
      if i - fieldStart > fieldCap { return false }  // the general path reports it
      if fieldHigh < 0x80 && !spaced && starts.count < 64 { clean |= 1 << UInt64(starts.count) }
      if i >= count { return false }  // the record goes on in the next chunk
      let byte = buffer[i]
      if byte == delimiter {
        starts.append(fieldStart - start)
        ends.append(i - start)
        i += 1
        fieldStart = i
        continue
      }
      if byte == 0x0A {
        recordEnd = i + 1
      } else if byte == 0x0D && i + 1 < count && buffer[i + 1] == 0x0A {
        recordEnd = i + 2
      } else {
        return false  // a quote, NUL or lone CR
      }
      starts.append(fieldStart - start)
      ends.append(i - start)
      break
    }
    if recordEnd - start > limits.recordBytes { return false }  // the general path reports it
    if high >= 0x80 && !UTF8Check.isValid(UnsafeBufferPointer(rebasing: buffer[start..<recordEnd]))
    {
      return false
    }
    recordBase = UnsafePointer(buffer.baseAddress! + start)
    position = recordEnd
    recordLine = line
    line += 1
    recordProblem = nil
    recordQuoteSpan = nil
    cleanASCIIFields = clean
    lastRecordEndedByLineBreak = true
    return true
  }
}

/// UTF-8 checks on bytes, as strict as `String(validating:as:)` (no overlong forms, surrogates
/// or code points above U+10FFFF).
enum UTF8Check {
  static func isASCII(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let count = buffer.count
    guard let base = buffer.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    while i + 8 <= count {
      if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
        return false
      }
      i += 8
    }
    while i < count {
      if buffer[i] >= 0x80 { return false }
      i += 1
    }
    return true
  }

  static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    firstInvalid(bytes) == bytes.count
  }

  /// The offset of the first byte that does not start a valid UTF-8 character (the count when all do).
  static func firstInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var i = 0
    let count = bytes.count
    while i < count {
      let b0 = bytes[i]
      if b0 < 0x80 {
        i += 1
        continue
      }
      func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
        i + k < count && bytes[i + k] >= low && bytes[i + k] <= high
      }
      switch b0 {
      case 0xC2...0xDF:
        guard continuation(1) else { return i }
        i += 2
      case 0xE0:
        guard continuation(1, 0xA0), continuation(2) else { return i }
        i += 3
      case 0xE1...0xEC, 0xEE...0xEF:
        guard continuation(1), continuation(2) else { return i }
        i += 3
      case 0xED:
        guard continuation(1, 0x80, 0x9F), continuation(2) else { return i }
        i += 3
      case 0xF0:
        guard continuation(1, 0x90), continuation(2), continuation(3) else { return i }
        i += 4
      case 0xF1...0xF3:
        guard continuation(1), continuation(2), continuation(3) else { return i }
        i += 4
      case 0xF4:
        guard continuation(1, 0x80, 0x8F), continuation(2), continuation(3) else { return i }
        i += 4
      default:
        return i
      }
    }
    return count
  }
}

@available(*, unavailable) extension CSVReader: Sendable {}
