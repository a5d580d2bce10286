import Foundation

/// The normalisation of each kind of field, defined once (ARCHITECTURE.md, "The rules the code keeps"), used for submissions and
/// for the SIS snapshot alike so that both sides of a comparison are cleaned the same way.
package enum FieldRules {
  /// NFC, trimmed, runs of white space folded to one space.
  ///
  /// Plain ASCII is already NFC: it takes a byte-level path and, when already clean, comes back
  /// as the same string. Foundation's NFC on every field was a third of the snapshot load time
  /// (measured with `perf` on `scripts/bench/pipeline.sh`).
  package static func text(_ value: String) -> String {
    if let ascii = asciiText(value) { return ascii }
    return unicodeText(value)
  }

  @inline(__always) static func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)  // space, tab, LF, VT, FF, CR
  }

  /// The ASCII path of `text`, or nil when the value holds any non-ASCII byte.
  static func asciiText(_ value: String) -> String? {
    var value = value
    return value.withUTF8 { bytes -> String? in
      var clean = true
      var previousSpace = true  // a leading space is not clean
      for byte in bytes {
        if byte >= 0x80 { return nil }
        let space = isASCIISpace(byte)
        if space && (previousSpace || byte != 0x20) { clean = false }
        previousSpace = space
      }
      if bytes.isEmpty { return "" }
      if clean && !previousSpace { return String(decoding: bytes, as: UTF8.self) }
      var out: [UInt8] = []
      out.reserveCapacity(bytes.count)
      var pendingSpace = false
      for byte in bytes {
        if isASCIISpace(byte) {
          pendingSpace = !out.isEmpty
        } else {
          if pendingSpace { out.append(0x20) }
          pendingSpace = false
          out.append(byte)
        }
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  static func unicodeText(_ value: String) -> String {
    let nfc = value.precomposedStringWithCanonicalMapping
    var out = ""
    out.reserveCapacity(nfc.utf8.count)
    var pendingSpace = false
    for scalar in nfc.unicodeScalars {
      if scalar.properties.isWhitespace || scalar == "\u{00A0}" {
        pendingSpace = !out.isEmpty
      } else {
        if pendingSpace { out.append(" ") }
        pendingSpace = false
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// A person's name for delivery: `text`, and a name typed all in capitals or all in lower case
  /// is given capitals per part (`GARCÍA-LÓPEZ` → `García-López`, `o'brien` → `O'Brien`).
  /// Mixed case is kept as typed: people spell their own names (`McDonald`, `de la Cruz`).
  package static func name(_ value: String) -> String {
    let cleaned = text(value)
    if let ascii = asciiName(cleaned) { return ascii }
    let letters = cleaned.filter(\.isLetter)
    guard !letters.isEmpty, letters == letters.uppercased() || letters == letters.lowercased()
    else { return cleaned }
    var out = ""
    var startOfPart = true
    for character in cleaned {
      if character.isLetter {
        out += startOfPart ? character.uppercased() : character.lowercased()
        startOfPart = false
      } else {
        out.append(character)
        startOfPart = character == " " || character == "-" || character == "'" || character == "’"
      }
    }
    return out
  }

  /// The ASCII path of `name` on cleaned text, or nil for non-ASCII text.
  static func asciiName(_ cleaned: String) -> String? {
    var cleaned = cleaned
    return cleaned.withUTF8 { bytes -> String? in
      var upper = false
      var lower = false
      for byte in bytes {
        if byte >= 0x80 { return nil }
        if byte >= 0x41 && byte <= 0x5A {
          upper = true
        } else if byte >= 0x61 && byte <= 0x7A {
          lower = true
        }
      }
      // mixed case (or no letters): as typed
      if upper == lower { return String(decoding: bytes, as: UTF8.self) }
      var out = [UInt8](bytes)
      var startOfPart = true
      for i in out.indices {
        let byte = out[i]
        let isUpper = byte >= 0x41 && byte <= 0x5A
        let isLower = byte >= 0x61 && byte <= 0x7A
        if isUpper || isLower {
          out[i] = startOfPart ? (isLower ? byte - 0x20 : byte) : (isUpper ? byte + 0x20 : byte)
          startOfPart = false
        } else {
          startOfPart = byte == 0x20 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "'")
        }
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  /// The comparison key of a name: lower case, diacritics removed, apostrophes and periods
  /// dropped, hyphens and spaces folded to one space (`O'Brien` → `obrien`, `García-López` → `garcia lopez`).
  package static func nameKey(_ value: String) -> String {
    if let key = asciiNameKey(value) { return key }
    if let key = latinNameKey(value) { return key }
    return unicodeNameKey(value)
  }

  /// The key of each Latin letter U+00C0–U+024F (`é`, `ñ`, `ø`, `ł`) as the general path keys it
  /// alone, nil for one that is not a letter starting a combining sequence. Decomposing, lowering
  /// the case and dropping marks all work letter by letter on such letters, so a name of ASCII and
  /// these is keyed letter by letter (`latinNameKey`).
  private static let latinKeys: [String?] = (0xC0...0x24F).map { code -> String? in
    guard let scalar = Unicode.Scalar(code),
      scalar.properties.canonicalCombiningClass == .notReordered
    else { return nil }
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .otherLetter:
      return unicodeNameKey(String(scalar))
    default: return nil
    }
  }

  /// `nameKey` of text in ASCII and the Latin letters of `latinKeys`, nil for any other text. Why:
  /// Foundation's decomposition and lower-casing made a name with one accent cost as much as twenty
  /// without (names are keyed for every submission and SIS record the matcher compares,
  /// `scripts/bench/match.sh`); `FieldRulesTests` checks it against the general path letter by letter.
  static func latinNameKey(_ value: String) -> String? {
    var out = ""
    var pendingSpace = false
    for scalar in value.unicodeScalars {
      let code = Int(scalar.value)
      if code < 0x80 {
        let byte = UInt8(code)
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "."), UInt8(ascii: "`"): continue
        case UInt8(ascii: "-"), UInt8(ascii: ","):
          pendingSpace = !out.isEmpty
          continue
        default:
          if isASCIISpace(byte) {
            pendingSpace = !out.isEmpty
            continue
          }
        }
        if pendingSpace { out.append(" ") }
        pendingSpace = false
        out.unicodeScalars.append(Unicode.Scalar(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte))
      } else if code >= 0xC0 && code <= 0x24F, let key = latinKeys[code - 0xC0] {
        if key.isEmpty { continue }
        if pendingSpace { out.append(" ") }
        pendingSpace = false
        out += key
      } else {
        return nil
      }
    }
    return out
  }

  /// The general (slow) paths, exposed so tests can check the ASCII paths agree with them.
  package static func unicodeTextForTesting(_ value: String) -> String { unicodeText(value) }
  package static func unicodeNameKeyForTesting(_ value: String) -> String { unicodeNameKey(value) }
  package static func latinNameKeyForTesting(_ value: String) -> String? { latinNameKey(value) }

  static func unicodeNameKey(_ value: String) -> String {
    var out = ""
    var pendingSpace = false
    for scalar in value.decomposedStringWithCanonicalMapping.lowercased().unicodeScalars {
      switch scalar.properties.generalCategory {
      case .nonspacingMark, .spacingMark, .enclosingMark: continue
      default: break
      }
      if scalar == "'" || scalar == "’" || scalar == "." || scalar == "`" { continue }
      if scalar == "-" || scalar == "‐" || scalar.properties.isWhitespace || scalar == "," {
        pendingSpace = !out.isEmpty
        continue
      }
      if pendingSpace { out.append(" ") }
      pendingSpace = false
      out.unicodeScalars.append(scalar)
    }
    return out
  }

  /// The ASCII path of `nameKey`, or nil for non-ASCII input.
  static func asciiNameKey(_ value: String) -> String? {
    var value = value
    return value.withUTF8 { bytes -> String? in
      var out: [UInt8] = []
      out.reserveCapacity(bytes.count)
      var pendingSpace = false
      for byte in bytes {
        if byte >= 0x80 { return nil }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "."), UInt8(ascii: "`"): continue
        case UInt8(ascii: "-"), UInt8(ascii: ","): pendingSpace = !out.isEmpty
        default:
          if isASCIISpace(byte) {
            pendingSpace = !out.isEmpty
            continue
          }
          if pendingSpace { out.append(0x20) }
          pendingSpace = false
          out.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  /// `M`, `F` or `X` (PowerSchool's gender codes).
  package static func gender(_ value: String) -> String? {
    switch text(value).lowercased() {
    case "m", "male", "boy", "man": return "M"
    case "f", "female", "girl", "woman": return "F"
    case "x", "nonbinary", "non-binary", "non binary", "u", "unspecified": return "X"
    default: return nil
    }
  }

  /// PowerSchool's grade levels: -2 (PK3), -1 (PK), 0 (K), 1 ... 12.
  package static func gradeLevel(_ value: String) -> String? {
    // Fast path: one or two digits, as SIS exports write grades.
    let digits = value.utf8
    if (1...2).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
      let number = Int(value)
    {
      return number == 0 ? "0" : (1...12).contains(number) ? String(number) : nil
    }
    var v = text(value).lowercased().replacingOccurrences(of: "grade", with: "")
      .replacingOccurrences(of: ".", with: "").trimmingCharacters(in: .whitespaces)
    switch v {
    case "pk3", "pre-k3", "prek3", "pk 3", "-2": return "-2"
    case "pk", "pk4", "pre-k", "prek", "pre-kindergarten", "prekindergarten", "pre k", "-1":
      return "-1"
    case "k", "kg", "kindergarten", "kinder", "0", "00": return "0"
    default: break
    }
    for suffix in ["st", "nd", "rd", "th"] where v.hasSuffix(suffix) { v = String(v.dropLast(2)) }
    guard let number = Int(v.trimmingCharacters(in: .whitespaces)), (1...12).contains(number) else {
      return nil
    }
    return String(number)
  }

  /// A North American phone number as `NNN-NNN-NNNN` (an extension after `x` is kept).
  package static func phone(_ value: String) -> String? {
    // Fast path: `NNN-NNN-NNNN` as exports usually write it.
    let utf8 = value.utf8
    if utf8.count == 12 {
      let bytes = Array(utf8)
      if bytes[3] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
        && bytes.enumerated().allSatisfy({
          $0.offset == 3 || $0.offset == 7 || ($0.element >= 0x30 && $0.element <= 0x39)
        })
      {
        return value
      }
    }
    let cleaned = text(value).lowercased()
    var main = cleaned
    var ext = ""
    if let range = cleaned.range(of: "x") ?? cleaned.range(of: "ext") {
      main = String(cleaned[..<range.lowerBound])
      ext = cleaned[range.upperBound...].filter(\.isNumber)
    }
    var digits = main.filter { $0.isASCII && $0.isNumber }
    if digits.count == 11 && digits.hasPrefix("1") { digits.removeFirst() }
    guard digits.count == 10, main.allSatisfy({ $0.isNumber || " ()-.+/".contains($0) }) else {
      return nil
    }
    let d = Array(digits)
    var result = "\(String(d[0..<3]))-\(String(d[3..<6]))-\(String(d[6..<10]))"
    if !ext.isEmpty { result += " x\(ext)" }
    return result
  }

  /// A lower-case e-mail address with one `@` and a dot in its domain.
  package static func email(_ value: String) -> String? {
    if let ascii = asciiText(value) {
      // Byte-level check for the usual ASCII address.
      var bytes = Array(ascii.utf8)
      var at = -1
      for i in bytes.indices {
        if bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] += 0x20 }
        if bytes[i] == UInt8(ascii: "@") {
          if at >= 0 { return nil }
          at = i
        }
        if bytes[i] == 0x20 { return nil }
      }
      guard at > 0 else { return nil }
      let domain = bytes[(at + 1)...]
      guard domain.contains(UInt8(ascii: ".")), domain.first != UInt8(ascii: "."),
        domain.last != UInt8(ascii: ".")
      else { return nil }
      return String(decoding: bytes, as: UTF8.self)
    }
    let v = text(value).lowercased()
    let parts = v.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
      !parts[1].hasSuffix("."),
      !v.contains(" ")
    else { return nil }
    return v
  }

  /// A US ZIP code: `NNNNN` or `NNNNN-NNNN`, kept as text (leading zeros survive).
  package static func zip(_ value: String) -> String? {
    let v = text(value)
    let digits = v.filter(\.isNumber)
    if v.count == 5 && digits.count == 5 { return v }
    if digits.count == 9 && (v.count == 9 || v.count == 10) {
      let d = Array(digits)
      return "\(String(d[0..<5]))-\(String(d[5..<9]))"
    }
    return nil
  }

  /// A two-letter state code in capitals.
  package static func state(_ value: String) -> String? {
    let v = text(value).uppercased()
    return v.count == 2 && v.allSatisfy({ $0.isASCII && $0.isLetter }) ? v : nil
  }

  /// The first date pattern that fits; `fits` without a date means the day does not exist.
  package static func date(_ value: String, patterns: [DatePattern]) -> (
    fits: Bool, date: CalendarDate?
  ) {
    let v = text(value)
    for pattern in patterns {
      let result = pattern.match(v)
      if result.fits { return result }
    }
    return (false, nil)
  }

  /// Building names compare without case and with white space folded.
  package static func buildingKey(_ value: String) -> String { text(value).lowercased() }

  /// An approval time as ISO 8601 with the offset; a time without a zone takes the district's zone
  /// (`TimestampReader`; a caller reading many keeps one reader).
  package static func timestamp(_ value: String, zone: TimeZone, datePatterns: [DatePattern])
    -> String?
  {
    TimestampReader(zone: zone).read(value, datePatterns: datePatterns)
  }

  /// Whether the text may carry a zone (`Z`, `+hh:mm`, or `-hh:mm` after the date): only then is it
  /// read as an RFC 3339 instant; a time without a zone is read in the district's zone.
  package static func mayHaveZone(_ text: String) -> Bool {
    var index = 0
    for byte in text.utf8 {
      if byte == 0x5A || byte == 0x7A || byte == 0x2B || (byte == 0x2D && index >= 10) {
        return true
      }
      index += 1
    }
    return false
  }

  /// A wall-clock time without a zone: "2026-11-20 14:05", "11/20/2026 2:05 PM", "2026-11-20T14:05:00".
  package static func localTime(_ v: String, datePatterns: [DatePattern]) -> (
    day: CalendarDate, hour: Int, minute: Int, second: Int
  )? {
    let parts = v.replacingOccurrences(of: "T", with: " ").split(separator: " ", maxSplits: 1).map(
      String.init)
    guard let day = parts.first.flatMap({ date($0, patterns: datePatterns + [.iso]).date }) else {
      return nil
    }
    var hour = 0
    var minute = 0
    var second = 0
    if parts.count == 2 {
      var time = parts[1].lowercased().trimmingCharacters(in: .whitespaces)
      var pm = false
      var am = false
      if time.hasSuffix("pm") {
        pm = true
        time = String(time.dropLast(2))
      } else if time.hasSuffix("am") {
        am = true
        time = String(time.dropLast(2))
      }
      let fields = time.trimmingCharacters(in: .whitespaces).split(separator: ":").map { Int($0) }
      guard (2...3).contains(fields.count), fields.allSatisfy({ $0 != nil }) else { return nil }
      hour = fields[0]!
      minute = fields[1]!
      second = fields.count == 3 ? fields[2]! : 0
      if pm && hour < 12 { hour += 12 }
      if am && hour == 12 { hour = 0 }
      guard (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second) else {
        return nil
      }
    }
    return (day, hour, minute, second)
  }
}

/// Reads approval times (an RFC 3339 instant, `2026-11-01T14:00:00Z` or `…-06:00`, or a wall-clock
/// time in the district's zone, `2026-11-20 14:05` or `11/20/2026 2:05 PM`) and writes them as RFC
/// 3339 in that zone, with Foundation's `Date.ISO8601FormatStyle` and Gregorian calendar (which
/// decides skipped and repeated daylight-saving hours), built once per reader.
///
/// No hand-written reader: one was kept for speed while Foundation's `ISO8601DateFormatter` was
/// built per call (~300 µs); against this reader it measured 1.0× (`scripts/bench/timestamps.sh`,
/// which keeps it as the reference), not the 2× that would justify it.
package struct TimestampReader: Sendable {
  let input = Date.ISO8601FormatStyle(timeZoneSeparator: .colon)
  let output: Date.ISO8601FormatStyle
  let calendar: Calendar

  package init(zone: TimeZone) {
    output = Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    self.calendar = calendar
  }

  /// The time as `YYYY-MM-DDTHH:MM:SS±HH:MM` in the reader's zone (`Z` at offset zero), or nil when
  /// it is not a date and time.
  package func read(_ value: String, datePatterns: [DatePattern]) -> String? {
    let v = FieldRules.text(value)
    if v.isEmpty { return nil }
    if FieldRules.mayHaveZone(v), let instant = Self.instantText(v),
      let date = try? input.parse(instant)
    {
      return output.format(date)
    }
    guard let (day, hour, minute, second) = FieldRules.localTime(v, datePatterns: datePatterns),
      let date = calendar.date(
        from: DateComponents(
          year: day.year, month: day.month, day: day.day, hour: hour, minute: minute,
          second: second))
    else { return nil }
    return output.format(date)
  }

  /// The text as the RFC 3339 reader should see it, or nil when it is not taken as an instant: the
  /// reader sisdrop used before (`ISO8601DateFormatter`) refused fractions of a second and clock
  /// fields out of range (hour 25, second 60), which the style rolls over, and skipped white space
  /// before the zone, which the style refuses; so those are decided here, as before.
  static func instantText(_ v: String) -> String? {
    var bytes = Array(v.utf8)
    if bytes.contains(0x2E) { return nil }
    if let space = bytes.indices.first(where: {
      $0 > 10 && (bytes[$0] == 0x20 || bytes[$0] == 0x09)
    }),
      bytes[space - 1] >= 0x30 && bytes[space - 1] <= 0x39
    {
      var end = space
      while end < bytes.count && (bytes[end] == 0x20 || bytes[end] == 0x09) { end += 1 }
      if end < bytes.count, [0x5A, 0x7A, 0x2B, 0x2D].contains(bytes[end]) {
        bytes.removeSubrange(space..<end)
      }
    }
    if let t = bytes.firstIndex(where: { $0 == 0x54 || $0 == 0x74 }) {
      var fields: [Int] = []
      var current = 0
      var digits = 0
      for byte in bytes[(t + 1)...] {
        if byte >= 0x30 && byte <= 0x39 {
          current = current * 10 + Int(byte - 0x30)
          digits += 1
          continue
        }
        if digits > 0 { fields.append(current) }
        current = 0
        digits = 0
        if byte != 0x3A || fields.count == 3 { break }
      }
      if digits > 0 && fields.count < 3 { fields.append(current) }
      for (field, limit) in zip(fields, [25, 60, 60]) where field >= limit { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The instant of an approval time as `read` wrote it (RFC 3339 with its offset), to order the
  /// forms of one child; nil when the text is not one.
  package static func instant(_ written: String) -> Date? {
    try? Date.ISO8601FormatStyle(timeZoneSeparator: .colon).parse(written)
  }
}
