import Foundation

// The stage records the match stage reads and writes (`Submission`, `SubmissionDecision`) have a
// hand-written JSON codec. Why: at 10,000 submissions against 100,000 SIS students, Foundation's
// JSONDecoder (submissions.jsonl, 11.9 MB) and JSONEncoder (decisions.jsonl, 13.6 MB) took 1.5 s of
// the match stage's 4.6 s even on 2 cores. Measured on those files, one thread each, best of 3
// and of 5, release (`scripts/bench/stage-json.sh`, 2 cores shared with other work, 2026-11-23):
//   read submissions.jsonl  JSONDecoder 0.76-0.95 s (12-16 MB/s)  hand 0.11-0.13 s (94-107 MB/s)   6.9-7.5x
//   read decisions.jsonl    JSONDecoder 0.61-0.64 s (21-22 MB/s)  hand 0.08 s (162-178 MB/s)       7.6-8.0x
//   write decisions.jsonl   JSONEncoder 0.69-0.70 s (19-20 MB/s)  hand 0.06 s (220-222 MB/s)       11.3x
//   write submissions.jsonl JSONEncoder 0.64-0.69 s (17-18 MB/s)  hand 0.11 s (109 MB/s)           5.9-6.4x
//
// The writer's bytes are JSONEncoder's with `[.sortedKeys, .withoutEscapingSlashes]` (JSONLines):
// keys in UTF-8 byte order, nil optionals left out, Double as its `description` without a trailing
// ".0", strings with `"` `\` and C0 controls escaped (`\u001f` in lowercase hex), everything else raw.
// Tests/PipelineTests/Records compare both coders byte for byte on real stage files.

/// A stage record with a hand-written JSON codec: `JSONLines` and `ParallelJSONLines` use it
/// instead of Foundation's coders for types that conform.
package protocol StageRecord: Sendable {
  init(stageJSON reader: inout StageJSONReader) throws
  func writeStageJSON(into writer: inout StageJSONWriter) throws
}

// MARK: - Writer

/// Appends JSON to a byte buffer. Callers write an object's keys in sorted order themselves.
package struct StageJSONWriter {
  package var bytes: [UInt8] = []

  package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

  package mutating func beginObject() { bytes.append(UInt8(ascii: "{")) }
  package mutating func endObject() { bytes.append(UInt8(ascii: "}")) }

  /// `"name":`, after a comma unless it is the object's first key.
  package mutating func key(_ name: StaticString) {
    if bytes.last != UInt8(ascii: "{") { bytes.append(UInt8(ascii: ",")) }
    bytes.append(UInt8(ascii: "\""))
    bytes.append(
      contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    bytes.append(UInt8(ascii: "\""))
    bytes.append(UInt8(ascii: ":"))
  }

  package mutating func string(_ value: String) {
    bytes.append(UInt8(ascii: "\""))
    var value = value
    value.withUTF8 { utf8 in
      var start = 0
      for index in 0..<utf8.count {
        let byte = utf8[index]
        guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
          continue
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
        escape(byte)
        start = index + 1
      }
      bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
    }
    bytes.append(UInt8(ascii: "\""))
  }

  private mutating func escape(_ byte: UInt8) {
    bytes.append(UInt8(ascii: "\\"))
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
    case 0x08: bytes.append(UInt8(ascii: "b"))
    case 0x09: bytes.append(UInt8(ascii: "t"))
    case 0x0A: bytes.append(UInt8(ascii: "n"))
    case 0x0C: bytes.append(UInt8(ascii: "f"))
    case 0x0D: bytes.append(UInt8(ascii: "r"))
    default:
      let hex: [UInt8] = Array("0123456789abcdef".utf8)
      bytes.append(contentsOf: [
        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
        hex[Int(byte & 0xF)],
      ])
    }
  }

  package mutating func int(_ value: Int) {
    if value >= 0 && value < 10 {
      bytes.append(UInt8(ascii: "0") + UInt8(value))
    } else {
      bytes.append(contentsOf: String(value).utf8)
    }
  }

  /// As JSONEncoder: Swift's shortest round-trip `description`, "1.0" written as "1"; no NaN or infinity.
  package mutating func double(_ value: Double) throws {
    guard value.isFinite else {
      throw EncodingError.invalidValue(
        value,
        EncodingError.Context(
          codingPath: [], debugDescription: "a stage record cannot hold \(value)"))
    }
    bytes.append(contentsOf: value.description.utf8)
    let count = bytes.count
    if count >= 2 && bytes[count - 2] == UInt8(ascii: ".") && bytes[count - 1] == UInt8(ascii: "0")
    {
      bytes.removeLast(2)
    }
  }

  package mutating func array<S: Sequence>(
    _ items: S, _ element: (inout StageJSONWriter, S.Element) throws -> Void
  ) rethrows {
    bytes.append(UInt8(ascii: "["))
    var first = true
    for item in items {
      if !first { bytes.append(UInt8(ascii: ",")) }
      first = false
      try element(&self, item)
    }
    bytes.append(UInt8(ascii: "]"))
  }

  package mutating func strings(_ items: [String]) { array(items) { $0.string($1) } }

  /// A string-to-string map with its keys in UTF-8 byte order, as JSONEncoder sorts them.
  package mutating func stringMap(_ map: [String: String]) {
    beginObject()
    var first = true
    for (key, value) in map.sorted(by: { utf8Precedes($0.key, $1.key) }) {
      if !first { bytes.append(UInt8(ascii: ",")) }
      first = false
      string(key)
      bytes.append(UInt8(ascii: ":"))
      string(value)
    }
    endObject()
  }
}

/// UTF-8 byte order: JSONEncoder's `.sortedKeys` order (not `String.<`, which compares canonically).
func utf8Precedes(_ a: String, _ b: String) -> Bool {
  var a = a
  var b = b
  return a.withUTF8 { x in
    b.withUTF8 { y in
      let common = min(x.count, y.count)
      if common > 0 {
        let order = memcmp(x.baseAddress!, y.baseAddress!, common)
        if order != 0 { return order < 0 }
      }
      return x.count < y.count
    }
  }
}

// MARK: - Reader

/// What is wrong with a stage record's line, and where: byte offset in the line and the key path.
package struct StageJSONError: Error, CustomStringConvertible {
  var message: String
  var offset: Int
  /// Innermost last while the error is thrown; read outermost first.
  var path: [String] = []

  package var description: String {
    let at = "at byte \(offset + 1) of the line"
    guard !path.isEmpty else { return "\(message) \(at)" }
    var keyPath = path.reversed().joined()
    if keyPath.hasPrefix(".") { keyPath.removeFirst() }
    return "\(message) \(at) (in \(keyPath))"
  }
}

/// A pull reader over one line of JSON (RFC 8259). What JSONDecoder refuses it refuses too, saying
/// what and where: malformed JSON, a missing required key, a value of the wrong type.
package struct StageJSONReader {
  private let bytes: UnsafeBufferPointer<UInt8>
  package private(set) var position = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  /// Reads one whole record from the line: nothing but whitespace may follow it.
  static func read<R: StageRecord>(_ type: R.Type, from line: UnsafeBufferPointer<UInt8>) throws
    -> R
  {
    var reader = StageJSONReader(line)
    reader.skipWhitespace()
    let record = try R(stageJSON: &reader)
    reader.skipWhitespace()
    guard reader.position == line.count else {
      throw reader.error("unexpected text after the record")
    }
    return record
  }

  package func error(_ message: String, at offset: Int? = nil) -> StageJSONError {
    StageJSONError(message: message, offset: offset ?? position)
  }

  private mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  private func found() -> String {
    guard position < bytes.count else { return "the end of the line" }
    let byte = bytes[position]
    return byte >= 0x20 && byte < 0x7F
      ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
  }

  /// `what` is only built on the error path (an interpolated message per key costs as much as the key).
  private mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws {
    guard position < bytes.count, bytes[position] == byte else {
      throw error("expected \(what()), found \(found())")
    }
    position += 1
  }

  /// Reads an object, calling `member` for each key with the reader at its value.
  package mutating func object(_ member: (inout StageJSONReader, String) throws -> Void) throws {
    try members(key: { try $0.string() }, member)
  }

  /// The one loop over an object's members: `readKey` reads each key (at its opening quote) as
  /// the caller needs it (a String, or which of a few names it is: `stringMap(keeping:)`), and
  /// `member` its value. Errors name the key as written.
  @inline(__always)
  private mutating func members<Key>(
    key readKey: (inout StageJSONReader) throws -> Key,
    _ member: (inout StageJSONReader, Key) throws -> Void
  ) throws {
    try expect(UInt8(ascii: "{"), "'{' (an object)")
    skipWhitespace()
    if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
      position += 1
      return
    }
    while true {
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
        throw error("expected a key, found \(found())")
      }
      let keyStart = position
      let key = try readKey(&self)
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
        throw error("expected ':' after key \"\(keyText(at: keyStart))\", found \(found())")
      }
      position += 1
      skipWhitespace()
      do {
        try member(&self, key)
      } catch var error as StageJSONError {
        error.path.append(".\(keyText(at: keyStart))")
        throw error
      }
      skipWhitespace()
      guard position < bytes.count else {
        throw error("an object is cut off by the end of the line")
      }
      switch bytes[position] {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        return
      default:
        throw error(
          "expected ',' or '}' after the value of \"\(keyText(at: keyStart))\", found \(found())")
      }
    }
  }

  package mutating func array<E>(_ element: (inout StageJSONReader) throws -> E) throws -> [E] {
    try expect(UInt8(ascii: "["), "'[' (an array)")
    var result: [E] = []
    skipWhitespace()
    if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
      position += 1
      return result
    }
    result.reserveCapacity(4)
    while true {
      skipWhitespace()
      do {
        result.append(try element(&self))
      } catch var error as StageJSONError {
        error.path.append("[\(result.count)]")
        throw error
      }
      skipWhitespace()
      guard position < bytes.count else {
        throw error("an array is cut off by the end of the line")
      }
      switch bytes[position] {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        return result
      default: throw error("expected ',' or ']' in an array, found \(found())")
      }
    }
  }

  package mutating func strings() throws -> [String] { try array { try $0.string() } }

  /// An object of strings; a key given twice is refused (our writers never write one).
  mutating func stringMap() throws -> [String: String] {
    var map: [String: String] = [:]
    // Room for 12 fields in 16 buckets: a contact's fit (16 would take 32 buckets, twice the memory
    // for each of the batch's contacts the match stage holds, `scripts/bench/match.sh`); a student's
    // 13 or more grow once.
    map.reserveCapacity(12)
    try object { reader, key in
      let start = reader.position
      if map.updateValue(try reader.string(), forKey: key) != nil {
        throw reader.error("key \"\(key)\" given twice", at: start)
      }
    }
    return map
  }

  /// Field names a reader keeps of an object of strings (`stringMap(keeping:)`), with their bytes.
  package struct KeptNames: Sendable {
    package let names: [String]
    let utf8: [[UInt8]]

    package init(_ names: [String]) {
      self.names = names
      utf8 = names.map { Array($0.utf8) }
    }
  }

  /// `stringMap()` with only the keys `kept` names: the others' values are skipped (as `skip`
  /// does), and a key is compared with the names on its bytes, so that neither a key nor a value
  /// left out is ever made a String. A key given twice among those kept is refused, as there.
  /// Why: the match stage reads the batch once for the matcher, which reads a few of each
  /// student's and contact's fields (`MatchStage.matchedStudentFields`), and making every field a
  /// String in a dictionary was most of that read (ChunkedStageFilesTests compares the two).
  package mutating func stringMap(keeping kept: KeptNames) throws -> [String: String] {
    var map = [String: String](minimumCapacity: kept.names.count)
    try members(
      key: { try $0.keptKey(kept) },
      { reader, which in
        guard let which else { return try reader.skipValue() }
        let start = reader.position
        if map.updateValue(try reader.string(), forKey: kept.names[which]) != nil {
          throw reader.error("key \"\(kept.names[which])\" given twice", at: start)
        }
      })
    return map
  }

  private func keyText(at start: Int) -> String {
    var reader = self
    reader.position = start
    return (try? reader.string()) ?? ""
  }

  /// Reads a key (at its opening quote): which of `kept`'s names it is, nil for none. A key
  /// without escapes is compared on its bytes; one with escapes is read as a String first.
  private mutating func keptKey(_ kept: KeptNames) throws -> Int? {
    let start = position + 1
    var end = start
    while end < bytes.count {
      let byte = bytes[end]
      if byte == UInt8(ascii: "\"") { break }
      if byte == UInt8(ascii: "\\") || byte < 0x20 {
        end = -1
        break
      }
      end += 1
    }
    guard end >= 0, end < bytes.count else {
      let key = try string()
      return kept.names.firstIndex(of: key)
    }
    position = end + 1
    let count = end - start
    guard count > 0 else { return nil }
    let first = bytes[start]
    return kept.utf8.withUnsafeBufferPointer { names in
      for index in names.indices where names[index].count == count && names[index][0] == first {
        let same = names[index].withUnsafeBufferPointer {
          memcmp($0.baseAddress!, bytes.baseAddress! + start, count) == 0
        }
        if same { return index }
      }
      return nil
    }
  }

  /// Skips a value by its structure alone: a string to its closing quote (past escaped ones), an
  /// object or array to its closing bracket, anything else to the next ',', '}' or ']'. Unlike
  /// `skip`, it does not check that the value is well-formed JSON, nor make its strings: for a
  /// reader of a line that is read whole again, and checked there (`stringMap(keeping:)`, the
  /// match stage's first read of the batch).
  package mutating func skipValue() throws {
    var depth = 0
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        while position < bytes.count && bytes[position] != UInt8(ascii: "\"") {
          position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard position < bytes.count else {
          throw error("a string is cut off by the end of the line")
        }
        position += 1
        if depth == 0 { return }
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        position += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if depth == 0 { return }
        depth -= 1
        position += 1
        if depth == 0 { return }
      case UInt8(ascii: ","):
        if depth == 0 { return }
        position += 1
      default: position += 1
      }
    }
    guard depth == 0 else { throw error("a value is cut off by the end of the line") }
  }

  /// `null` (consumed, true) or anything else (left for the value's reader, false).
  package mutating func null() throws -> Bool {
    guard position < bytes.count, bytes[position] == UInt8(ascii: "n") else { return false }
    guard position + 4 <= bytes.count, bytes[position + 1] == UInt8(ascii: "u"),
      bytes[position + 2] == UInt8(ascii: "l"), bytes[position + 3] == UInt8(ascii: "l")
    else {
      throw error("expected null, found \(found())")
    }
    position += 4
    return true
  }

  /// Kept whole: one scan of the string's bytes, the fast path and the escapes in one loop
  /// (`scripts/bench/stage-json.sh`).
  package mutating func string() throws -> String {
    try expect(UInt8(ascii: "\""), "a string")
    let start = position
    // Fast path: no escapes.
    var high: UInt8 = 0
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let text = try utf8String(
          UnsafeBufferPointer(rebasing: bytes[start..<position]), ascii: high < 0x80, at: start)
        position += 1
        return text
      }
      high |= byte
      if byte == UInt8(ascii: "\\") { break }
      if byte < 0x20 {
        throw error(
          "a control character (0x\(String(byte, radix: 16))) inside a string must be escaped")
      }
      position += 1
    }
    guard position < bytes.count else { throw error("a string is cut off by the end of the line") }
    // Slow path: unescape into a byte buffer.
    var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return try utf8.withUnsafeBufferPointer { try utf8String($0, ascii: false, at: start) }
      case UInt8(ascii: "\\"):
        let escapeStart = position
        position += 1
        guard position < bytes.count else {
          throw error("a string is cut off by the end of the line")
        }
        let code = bytes[position]
        position += 1
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(code)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4(escapeStart)
          if scalar >= 0xD800 && scalar < 0xDC00 {
            // A high surrogate must be followed by an escaped low one: together one scalar.
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
              bytes[position + 1] == UInt8(ascii: "u")
            else {
              throw error(
                "a \\u escape of a high surrogate without its low surrogate", at: escapeStart)
            }
            position += 2
            let low = try hex4(escapeStart)
            guard low >= 0xDC00 && low < 0xE000 else {
              throw error(
                "a \\u escape of a high surrogate without its low surrogate", at: escapeStart)
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if scalar >= 0xDC00 && scalar < 0xE000 {
            throw error(
              "a \\u escape of a low surrogate without its high surrogate", at: escapeStart)
          }
          utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
          throw error(
            "an unknown escape '\\\(Character(Unicode.Scalar(code)))' in a string", at: escapeStart)
        }
      default:
        if byte < 0x20 {
          throw error(
            "a control character (0x\(String(byte, radix: 16))) inside a string must be escaped")
        }
        utf8.append(byte)
        position += 1
      }
    }
    throw error("a string is cut off by the end of the line")
  }

  /// `String(validating:as:)` is generic and unspecialized (metadata lookups on every call): decode
  /// instead, and for non-ASCII text check that nothing was repaired, as JSONDecoder refuses invalid UTF-8.
  private func utf8String(_ utf8: UnsafeBufferPointer<UInt8>, ascii: Bool, at start: Int) throws
    -> String
  {
    let text = String(decoding: utf8, as: UTF8.self)
    if !ascii && !text.utf8.elementsEqual(utf8) {
      throw error("a string is not valid UTF-8", at: start)
    }
    return text
  }

  private mutating func hex4(_ escapeStart: Int) throws -> UInt32 {
    guard position + 4 <= bytes.count else {
      throw error("a \\u escape needs four hex digits", at: escapeStart)
    }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw error("a \\u escape needs four hex digits", at: escapeStart)
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  /// The bytes of a JSON number (RFC 8259 grammar), and whether it has a fraction or exponent.
  private mutating func number() throws -> (UnsafeBufferPointer<UInt8>, isInteger: Bool) {
    let start = position
    func digits() -> Int {
      let from = position
      while position < bytes.count, bytes[position] >= UInt8(ascii: "0"),
        bytes[position] <= UInt8(ascii: "9")
      { position += 1 }
      return position - from
    }
    if position < bytes.count && bytes[position] == UInt8(ascii: "-") { position += 1 }
    let intStart = position
    let intDigits = digits()
    guard intDigits > 0 else {
      position = start
      throw error("expected a number, found \(found())")
    }
    if intDigits > 1 && bytes[intStart] == UInt8(ascii: "0") {
      throw error("a number with a leading zero", at: start)
    }
    var isInteger = true
    if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
      position += 1
      isInteger = false
      guard digits() > 0 else { throw error("expected digits after '.' in a number") }
    }
    if position < bytes.count
      && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E"))
    {
      position += 1
      isInteger = false
      if position < bytes.count
        && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
      {
        position += 1
      }
      guard digits() > 0 else { throw error("expected digits in a number's exponent") }
    }
    return (UnsafeBufferPointer(rebasing: bytes[start..<position]), isInteger)
  }

  package mutating func int() throws -> Int {
    let start = position
    let (text, isInteger) = try number()
    guard isInteger else { throw error("expected a whole number", at: start) }
    var value = 0
    let negative = text[0] == UInt8(ascii: "-")
    for byte in text.dropFirst(negative ? 1 : 0) {
      let (times10, o1) = value.multipliedReportingOverflow(by: 10)
      let (next, o2) =
        negative
        ? times10.subtractingReportingOverflow(Int(byte - 48))
        : times10.addingReportingOverflow(Int(byte - 48))
      guard !o1 && !o2 else { throw error("a whole number out of range", at: start) }
      value = next
    }
    return value
  }

  package mutating func double() throws -> Double {
    let start = position
    let (text, isInteger) = try number()
    let negative = text[0] == UInt8(ascii: "-")
    if isInteger && text.count - (negative ? 1 : 0) <= 15 {
      // Up to 15 digits (plus sign): exact as an Int, and exactly representable.
      var value = 0
      for byte in text.dropFirst(negative ? 1 : 0) { value = value * 10 + Int(byte - 48) }
      return negative ? (value == 0 ? -0.0 : -Double(value)) : Double(value)
    }
    guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
      throw error("a number out of range", at: start)
    }
    return value
  }

  /// The value of a required key, or the error JSONDecoder would give: the key is missing.
  package func required<V>(_ value: V?, _ key: String, in type: String, at start: Int) throws -> V {
    guard let value else { throw error("missing key \"\(key)\" in \(type)", at: start) }
    return value
  }

  /// Skips the value of a key the record does not have, as JSONDecoder does: stage folders outlive
  /// the binary (corrections and redelivery read past batches), so a field a later version dropped
  /// must not make them unreadable. The value must still be well-formed JSON.
  package mutating func skip(_ key: String) throws {
    guard position < bytes.count else { throw error("expected a value, found \(found())") }
    switch bytes[position] {
    case UInt8(ascii: "\""): _ = try string()
    case UInt8(ascii: "{"): try object { reader, key in try reader.skip(key) }
    case UInt8(ascii: "["): _ = try array { try $0.skip(key) }
    case UInt8(ascii: "t"): try literal("true")
    case UInt8(ascii: "f"): try literal("false")
    case UInt8(ascii: "n"): try literal("null")
    default: _ = try number()
    }
  }

  private mutating func literal(_ word: StaticString) throws {
    let text = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
    guard position + text.count <= bytes.count,
      UnsafeBufferPointer(rebasing: bytes[position..<position + text.count]).elementsEqual(text)
    else {
      throw error("expected \(word), found \(found())")
    }
    position += text.count
  }
}

// MARK: - Files

/// JSON Lines of stage records through the hand codec: what `JSONLines` and `ParallelJSONLines`
/// do for a type that is a `StageRecord`. Same bytes, same errors, as their Foundation path.
package enum StageJSONLines {
  /// One line per record, each ended by "\n".
  package static func encode<R: StageRecord>(_ values: some Collection<R>) throws -> [UInt8] {
    var writer = StageJSONWriter(capacity: values.count * 1536)
    for value in values {
      try value.writeStageJSON(into: &writer)
      writer.bytes.append(0x0A)
    }
    return writer.bytes
  }

  /// The lines of a file without their "\n": line N is `lines[N - 1]`.
  package static func lines(_ bytes: [UInt8]) -> [Range<Int>] {
    var result: [Range<Int>] = []
    result.reserveCapacity(bytes.count / 512 + 1)
    bytes.withUnsafeBufferPointer { buffer in
      var start = 0
      while start < buffer.count {
        let end =
          memchr(buffer.baseAddress! + start, 0x0A, buffer.count - start)
          .map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - buffer.baseAddress! }
          ?? buffer.count
        result.append(start..<end)
        start = end + 1
      }
    }
    return result
  }

  /// Decodes `lines[indices]` of `bytes`; empty lines are skipped (as JSONLines always did).
  package static func decode<R: StageRecord>(
    _ type: R.Type, _ bytes: [UInt8], lines: [Range<Int>], indices: Range<Int>, path: String
  ) throws -> [R] {
    var result: [R] = []
    result.reserveCapacity(indices.count)
    try bytes.withUnsafeBufferPointer { buffer in
      for index in indices where !lines[index].isEmpty {
        do {
          result.append(
            try StageJSONReader.read(
              R.self, from: UnsafeBufferPointer(rebasing: buffer[lines[index]])))
        } catch {
          throw SISDropError.dataError(
            "cannot read a stage record: \(error)", at: SourceLocation(path: path, line: index + 1),
            hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
        }
      }
    }
    ProgressCounters.recordsRead(
      result.count, bytes: indices.reduce(0) { $0 + lines[$1].count + 1 })
    return result
  }

  package static func write<R: StageRecord, T>(_ type: R.Type, _ values: [T], to path: String)
    throws
  {
    precondition(R.self == T.self)
    let bytes = try encode(unsafeBitCast(values, to: [R].self))
    let writer = try FileWriter(path: path)
    try writer.write(bytes)
    try writer.close()
  }

  static func read<R: StageRecord, T>(_ type: R.Type, as: T.Type, from path: String) throws -> [T] {
    precondition(R.self == T.self)
    let bytes = try FileSystem.readFile(path)
    let lines = lines(bytes)
    return unsafeBitCast(
      try decode(R.self, bytes, lines: lines, indices: lines.indices, path: path), to: [T].self)
  }
}

// MARK: - Files a chunk at a time

/// Reads a stage file's records a chunk at a time, so that a stage holds one chunk of the batch
/// rather than the whole file and every record in it: at 20,000 submissions the whole-file reads
/// of the match and deliver stages were most of the run's peak memory (`scripts/bench/review.sh`).
/// Same records, same errors (file and line) as `StageJSONLines.read`.
package final class StageJSONChunks<R: StageRecord> {
  let path: String
  private let fd: Int32
  /// Bytes read and not yet consumed; `scanned` of them are known to hold no "\n".
  private var pending: [UInt8] = []
  private var scanned = 0
  private var atEnd = false
  /// Lines consumed so far (empty ones included): the next line's number is `line + 1`.
  private var line = 0
  /// Bytes of the file consumed and dropped from `pending`: `pending[0]` is at this file offset.
  private var dropped = 0

  package init(_ type: R.Type, path: String) throws {
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open", path) }
  }

  deinit { close(fd) }

  /// The next `count` records (fewer at the end of the file; none once it is read). Empty lines
  /// are skipped, as `StageJSONLines.read` skips them. Not `nextPlaced`'s records mapped out of
  /// its tuples: that copied every record twice (once through a key path), 0.13 G of the match
  /// stage's 18.7 G instructions at 100,000 x 10,000 (callgrind), which reads the batch twice.
  package func next(_ count: Int) throws -> [R] { try nextRead(count).records }

  /// The next `count` records, each with where it is in the file (its line number, and its bytes'
  /// offset and length): what `StageFileIndex` keeps instead of the bytes.
  package func nextPlaced(_ count: Int) throws -> [(
    record: R, line: Int, offset: Int, length: Int
  )] {
    let (records, lines, base) = try nextRead(count)
    return zip(records, lines).map { record, line in
      (record, line.number, base + line.range.lowerBound, line.range.count)
    }
  }

  /// The next `count` records, their lines (numbers, and byte ranges from `base`), and the file
  /// offset `base` of those ranges.
  private func nextRead(_ count: Int) throws -> (
    records: [R], lines: [(number: Int, range: Range<Int>)], base: Int
  ) {
    var lines: [(number: Int, range: Range<Int>)] = []
    var consumed = 0
    while lines.count < count {
      if let newline = pending[scanned...].firstIndex(of: 0x0A) {
        line += 1
        if newline > consumed { lines.append((line, consumed..<newline)) }
        consumed = newline + 1
        scanned = consumed
        continue
      }
      scanned = pending.count
      if atEnd {
        // A last line without its "\n".
        if pending.count > consumed {
          line += 1
          lines.append((line, consumed..<pending.count))
          consumed = pending.count
          scanned = consumed
        }
        break
      }
      try fill()
    }
    let records = try decode(lines)
    let base = dropped
    pending.removeFirst(consumed)
    scanned -= consumed
    dropped += consumed
    return (records, lines, base)
  }

  /// Every record, `count` at a time.
  package func forEach(_ count: Int, _ body: ([R]) throws -> Void) throws {
    while true {
      let chunk = try next(count)
      if chunk.isEmpty { return }
      try body(chunk)
    }
  }

  private func fill() throws {
    let block = 1 << 20
    let start = pending.count
    pending.append(contentsOf: repeatElement(0, count: block))
    while true {
      let n = pending.withUnsafeMutableBytes { read(fd, $0.baseAddress! + start, block) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError.posix(errno, "read", path)
      }
      pending.removeLast(block - n)
      if n == 0 { atEnd = true }
      return
    }
  }

  private func decode(_ lines: [(number: Int, range: Range<Int>)]) throws -> [R] {
    var result: [R] = []
    result.reserveCapacity(lines.count)
    try pending.withUnsafeBufferPointer { buffer in
      for line in lines {
        do {
          result.append(
            try StageJSONReader.read(
              R.self, from: UnsafeBufferPointer(rebasing: buffer[line.range])))
        } catch {
          throw SISDropError.dataError(
            "cannot read a stage record: \(error)",
            at: SourceLocation(path: path, line: line.number),
            hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
        }
      }
    }
    return result
  }
}

/// Writes a stage file's records as they are made, a chunk at a time: the same bytes as
/// `StageJSONLines.write` of all of them at once.
package final class StageJSONAppender<R: StageRecord> {
  private let writer: FileWriter

  package init(_ type: R.Type, path: String) throws { writer = try FileWriter(path: path) }

  package func append(_ values: some Collection<R>) throws {
    try writer.write(try StageJSONLines.encode(values))
  }

  /// Flushes, fsyncs (unless `sync` is false: see `FileWriter.close`) and closes the file.
  package func close(sync: Bool = true) throws { try writer.close(sync: sync) }
}

/// A stage file's records by id, read one at a time from the file when asked for (a missing file
/// has none). The first of two records with one id is the one found. Only each record's place in
/// the file is kept: kept as the file's bytes, the open batch's decisions and submissions set the
/// peak of a night taking 4,913 answers to a 20,000-submission batch (128 MB, night 1's ~93 MB).
package final class StageFileIndex<R: StageRecord> {
  private let path: String
  private let fd: Int32
  private var places: [String: (line: Int, offset: Int, length: Int)] = [:]
  private let id: (R) -> String

  package init(_ path: String, id: @escaping (R) -> String) throws {
    self.path = path
    self.id = id
    guard FileSystem.exists(path) else {
      fd = -1
      return
    }
    // The ids, a chunk of records at a time: the records themselves are not kept.
    let chunks = try StageJSONChunks(R.self, path: path)
    while true {
      let chunk = try chunks.nextPlaced(1000)
      if chunk.isEmpty { break }
      for placed in chunk where places[id(placed.record)] == nil {
        places[id(placed.record)] = (placed.line, placed.offset, placed.length)
      }
    }
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open", path) }
  }

  deinit { if fd >= 0 { close(fd) } }

  package func record(_ id: String) throws -> R? {
    guard let place = places[id] else { return nil }
    var bytes = [UInt8](repeating: 0, count: place.length)
    var done = 0
    while done < place.length {
      let n = bytes.withUnsafeMutableBytes {
        pread(fd, $0.baseAddress! + done, place.length - done, off_t(place.offset + done))
      }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        if n < 0 { throw FileError.posix(errno, "read", path) }
        throw SISDropError.dataError(
          "the stage file ended before a record it held",
          at: SourceLocation(path: path, line: place.line),
          hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
      }
      done += n
    }
    let record: R
    do {
      record = try bytes.withUnsafeBufferPointer { try StageJSONReader.read(R.self, from: $0) }
    } catch {
      throw SISDropError.dataError(
        "cannot read a stage record: \(error)", at: SourceLocation(path: path, line: place.line),
        hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
    }
    guard self.id(record) == id else {
      throw SISDropError.dataError(
        "the stage file changed while it was read",
        at: SourceLocation(path: path, line: place.line),
        hint: "the stage folder was edited: rerun the stage that wrote it")
    }
    return record
  }
}

/// A file's lines one at a time through a 1 MiB buffer, numbered from 1 (empty lines are counted
/// and skipped): for readers that parse each line where it is used (the batch report).
package final class FileLines {
  package let path: String
  private let fd: Int32
  private var pending: [UInt8] = []
  private var start = 0
  private var atEnd = false
  private var number = 0

  package init(path: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.posix(errno, "open", path) }
  }

  deinit { close(fd) }

  package func next() throws -> (number: Int, bytes: ArraySlice<UInt8>)? {
    var scanned = start
    while true {
      if let newline = pending[scanned...].firstIndex(of: 0x0A) {
        number += 1
        let line = pending[start..<newline]
        start = newline + 1
        scanned = start
        if line.isEmpty { continue }
        return (number, line)
      }
      if atEnd {
        guard start < pending.count else { return nil }
        number += 1
        let line = pending[start...]
        start = pending.count
        return (number, line)
      }
      pending.removeFirst(start)
      start = 0
      scanned = pending.count
      let block = 1 << 20
      let end = pending.count
      pending.append(contentsOf: repeatElement(0, count: block))
      var n = 0
      repeat {
        n = pending.withUnsafeMutableBytes { read(fd, $0.baseAddress! + end, block) }
      } while n < 0 && errno == EINTR
      guard n >= 0 else { throw FileError.posix(errno, "read", path) }
      pending.removeLast(block - n)
      if n == 0 { atEnd = true }
    }
  }
}
