import Foundation
import SISDropCore

/// Which rule of `FieldRules` a SIS export field takes in the snapshot.
package enum FieldKind: Int, Sendable, Hashable, CaseIterable {
  case text, name, date, gender, gradeLevel, phone, email, state

  /// The rule of each SIS export field (the rest are plain text).
  package init(field: String) {
    switch field {
    case FieldName.firstName, FieldName.middleName, FieldName.lastName: self = .name
    case FieldName.birthDate: self = .date
    case FieldName.gender: self = .gender
    case FieldName.gradeLevel: self = .gradeLevel
    case FieldName.homePhone, FieldName.phone: self = .phone
    case FieldName.email: self = .email
    case FieldName.state: self = .state
    default: self = .text
    }
  }
}

/// The field rules on UTF-8 bytes, for the snapshot load (millions of fields per export).
///
/// Each value gives exactly what `reference` (the rules on Swift strings) gives: the byte paths
/// cover the usual cases — ASCII, Latin letters that are already NFC — and everything else goes
/// through `reference`, remembered per distinct value (names, streets and codes repeat across an
/// export; the memory is bounded). `SnapshotContentTests` checks the two agree value by value.
/// Normalizing on bytes was the largest part of the load's time before (`perf` on
/// `scripts/bench/pipeline.sh`: a String per field, Foundation's NFC and decomposition).
package struct FieldNormalizer {
  package let datePatterns: [DatePattern]
  private var remembered = [ByteMemo](repeating: ByteMemo(), count: FieldKind.allCases.count)
  private var rememberedKeys = ByteMemo()
  /// Distinct values remembered per rule before the memory is cleared (flat memory at any size).
  static let memoryLimit = 50_000

  package init(datePatterns: [DatePattern]) { self.datePatterns = datePatterns }

  /// The longest name the snapshot holds: a longer one is a broken value, missing for matching
  /// (the SIS takes 50; a 20 MB "name" once made match take 40 s).
  package static let longestName = 100

  /// The snapshot's value of one SIS field, on strings: the SIS is the reference, so a value
  /// that does not normalize is kept as it is — except a value the matchers read (a birth date
  /// that is not a date, a phone that is not a phone, a name over `longestName`): that one is
  /// missing (`""`) and `isValid` is false, so the caller reports it.
  package static func reference(_ kind: FieldKind, _ value: String, datePatterns: [DatePattern])
    -> (
      value: String, isValid: Bool
    )
  {
    let text = FieldRules.text(value)
    if text.isEmpty { return ("", true) }
    switch kind {
    case .text: return (text, true)
    case .name:
      let name = FieldRules.name(text)
      return name.count > longestName ? ("", false) : (name, true)
    case .date:
      if let date = FieldRules.date(text, patterns: datePatterns).date { return (date.iso, true) }
      return ("", false)
    case .gender: return (FieldRules.gender(text) ?? text, true)
    case .gradeLevel: return (FieldRules.gradeLevel(text) ?? text, true)
    case .phone: return FieldRules.phone(text).map { ($0, true) } ?? ("", false)
    case .email: return (FieldRules.email(text) ?? text, true)
    case .state: return (FieldRules.state(text) ?? text, true)
    }
  }

  /// Appends the normalized `input` to `out`; returns false for a value that is missing for
  /// matching (`reference`: nothing is appended, and the caller reports it).
  package mutating func append(
    _ kind: FieldKind, _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) -> Bool {
    let start = out.count
    switch FieldBytes.appendText(input, to: &out) {
    case .notFast:
      return appendReference(kind, input, to: &out)
    case .latin:
      // Latin letters outside ASCII: plain text is done; casing and the other rules take the reference.
      if kind == .text { return true }
      out.removeAll(from: start)
      return appendReference(kind, input, to: &out)
    case .ascii:
      if out.count == start || kind == .text { return true }
    }
    return applyASCII(kind, input, from: start, to: &out)
  }

  /// `append` for a value that the text rule leaves as it is, known without looking (a record
  /// that `CSVReader.recordIsCleanASCII` vouches for): copied, then only the field's own rule.
  @inline(__always)
  package mutating func appendCleanASCII(
    _ kind: FieldKind, _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) -> Bool {
    if input.isEmpty { return true }
    let start = out.count
    out.append(contentsOf: input)
    if kind == .text { return true }
    return applyASCII(kind, input, from: start, to: &out)
  }

  /// The rule of `kind` on clean ASCII text (the text rule's result) in `out[start...]`, from the
  /// raw `input`; what the byte paths do not cover goes to the reference.
  private mutating func applyASCII(
    _ kind: FieldKind, _ input: UnsafeBufferPointer<UInt8>, from start: Int,
    to out: inout GrowableBuffer<UInt8>
  ) -> Bool {
    switch kind {
    case .text:
      return true
    case .name:
      if out.count - start > FieldNormalizer.longestName {
        out.removeAll(from: start)
        return false
      }
      FieldBytes.asciiName(out.elements(from: start))
      return true
    case .date:
      let text = UnsafeBufferPointer(out.elements(from: start))
      var found: CalendarDate?
      for pattern in datePatterns {
        let result = pattern.match(bytes: text)
        if result.fits {
          found = result.date
          break
        }
      }
      guard let found else {
        out.removeAll(from: start)
        return false
      }
      out.removeAll(from: start)
      FieldBytes.appendISO(found, to: &out)
      return true
    case .gender:
      if out.count == start + 1 {
        switch out[start] | 0x20 {
        case UInt8(ascii: "m"):
          out[start] = UInt8(ascii: "M")
          return true
        case UInt8(ascii: "f"):
          out[start] = UInt8(ascii: "F")
          return true
        case UInt8(ascii: "x"), UInt8(ascii: "u"):
          out[start] = UInt8(ascii: "X")
          return true
        default: break
        }
      }
    case .gradeLevel:
      let digits = out.elements(from: start)
      if digits.count <= 2 && digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
        let number = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        if number > 12 { return true }  // not a grade: kept as exported
        out.removeAll(from: start)
        if number >= 10 { out.append(0x31) }
        out.append(UInt8(0x30 + number % 10))
        return true
      }
    case .phone:
      if out.count - start == 12
        && FieldBytes.isDashedPhone(UnsafeBufferPointer(out.elements(from: start)))
      {
        return true
      }
    case .email:
      // lower-cased if an address, else kept as exported
      FieldBytes.asciiEmail(out.elements(from: start))
      return true
    case .state:
      if out.count - start == 2 {
        let a = out[start] & ~0x20
        let b = out[start + 1] & ~0x20
        if a >= 0x41 && a <= 0x5A && b >= 0x41 && b <= 0x5A {
          out[start] = a
          out[start + 1] = b
        }
      }
      return true  // ASCII that is not two letters is kept as it is
    }
    out.removeAll(from: start)
    return appendReference(kind, input, to: &out)
  }

  /// Appends the comparison key of a name (`FieldRules.nameKey`) of the raw `input`.
  package mutating func appendNameKey(
    _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) {
    if FieldBytes.appendASCIINameKey(input, to: &out) { return }
    appendReferenceNameKey(input, to: &out)
  }

  private mutating func appendReferenceNameKey(
    _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) {
    let hash = ByteMemo.hash(input)
    if let known = rememberedKeys.find(input, hash: hash) {
      known.value.withUnsafeBufferPointer { out.append(contentsOf: $0) }
      return
    }
    let value = Array(FieldRules.nameKey(String(decoding: input, as: UTF8.self)).utf8)
    if rememberedKeys.count >= FieldNormalizer.memoryLimit { rememberedKeys = ByteMemo() }
    rememberedKeys.insert(input, hash: hash, value: value, flag: true)
    value.withUnsafeBufferPointer { out.append(contentsOf: $0) }
  }

  private mutating func appendReference(
    _ kind: FieldKind, _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) -> Bool {
    let hash = ByteMemo.hash(input)
    if let known = remembered[kind.rawValue].find(input, hash: hash) {
      known.value.withUnsafeBufferPointer { out.append(contentsOf: $0) }
      return known.flag
    }
    let result = FieldNormalizer.reference(
      kind, String(decoding: input, as: UTF8.self), datePatterns: datePatterns)
    let value = Array(result.value.utf8)
    if remembered[kind.rawValue].count >= FieldNormalizer.memoryLimit {
      remembered[kind.rawValue] = ByteMemo()
    }
    remembered[kind.rawValue].insert(input, hash: hash, value: value, flag: result.isValid)
    value.withUnsafeBufferPointer { out.append(contentsOf: $0) }
    return result.isValid
  }
}

/// Values already normalized, by their raw bytes: looked up without making a key (a hash of the
/// bytes, then a byte comparison); an entry is allocated only when a value is first seen.
struct ByteMemo {
  private var buckets: [Int: [(key: [UInt8], value: [UInt8], flag: Bool)]] = [:]
  private(set) var count = 0

  /// FNV-1a.
  static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return Int(truncatingIfNeeded: hash)
  }

  func find(_ key: UnsafeBufferPointer<UInt8>, hash: Int) -> (value: [UInt8], flag: Bool)? {
    guard let bucket = buckets[hash] else { return nil }
    for entry in bucket where entry.key.elementsEqual(key) { return (entry.value, entry.flag) }
    return nil
  }

  mutating func insert(_ key: UnsafeBufferPointer<UInt8>, hash: Int, value: [UInt8], flag: Bool) {
    buckets[hash, default: []].append((Array(key), value, flag))
    count += 1
  }
}

/// The byte-level pieces of the field rules.
package enum FieldBytes {
  enum TextPath { case ascii, latin, notFast }

  /// `FieldRules.text` on bytes for ASCII and for Latin letters U+00C0–U+027F (two-byte UTF-8
  /// with lead byte C3–C9): those code points are all NFC-stable and none composes with its
  /// neighbour, so NFC leaves such text as it is and only white space needs folding. Anything
  /// else (C2: controls, NBSP; three- and four-byte sequences; combining marks) returns
  /// `.notFast` with nothing appended.
  static func appendText(_ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>)
    -> TextPath
  {
    var latin = false
    var clean = true
    var previousSpace = true  // a leading space is not clean
    // Eight bytes at a time while they are all printable ASCII other than space (no byte above
    // 0x7F, none below 0x21): the usual name, code or number is checked in a word or two.
    var i = 0
    if let base = input.baseAddress {
      let raw = UnsafeRawPointer(base)
      while i + 8 <= input.count {
        let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let below = (word &- 0x2121_2121_2121_2121) & ~word & 0x8080_8080_8080_8080
        if (word | below) & 0x8080_8080_8080_8080 != 0 { break }
        previousSpace = false
        i += 8
      }
    }
    for byte in UnsafeBufferPointer(rebasing: input[i...]) {
      if byte &- 0x21 < 0x5F {  // printable ASCII other than space: the usual byte, one test
        previousSpace = false
        continue
      }
      if byte >= 0x80 {
        if byte <= 0xBF || (byte >= 0xC3 && byte <= 0xC9) {
          latin = true
          previousSpace = false
          continue
        }
        return .notFast
      }
      let space = FieldRules.isASCIISpace(byte)
      if space && (previousSpace || byte != 0x20) { clean = false }
      previousSpace = space
    }
    if input.isEmpty { return .ascii }
    if clean && !previousSpace {
      out.append(contentsOf: input)
    } else {
      var pendingSpace = false
      var wrote = false
      for byte in input {
        if FieldRules.isASCIISpace(byte) {
          pendingSpace = wrote
        } else {
          if pendingSpace { out.append(0x20) }
          pendingSpace = false
          out.append(byte)
          wrote = true
        }
      }
    }
    return latin ? .latin : .ascii
  }

  /// `FieldRules.asciiName` in place on clean ASCII text.
  static func asciiName(_ bytes: UnsafeMutableBufferPointer<UInt8>) {
    var upper = false
    var lower = false
    for byte in bytes {
      if byte >= 0x41 && byte <= 0x5A {
        upper = true
      } else if byte >= 0x61 && byte <= 0x7A {
        lower = true
      }
    }
    if upper == lower { return }  // mixed case (or no letters): as typed
    var startOfPart = true
    for i in bytes.indices {
      let byte = bytes[i]
      let isUpper = byte >= 0x41 && byte <= 0x5A
      let isLower = byte >= 0x61 && byte <= 0x7A
      if isUpper || isLower {
        bytes[i] = startOfPart ? (isLower ? byte - 0x20 : byte) : (isUpper ? byte + 0x20 : byte)
        startOfPart = false
      } else {
        startOfPart = byte == 0x20 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "'")
      }
    }
  }

  /// `FieldRules.asciiNameKey` on bytes; false (nothing appended) for non-ASCII input.
  static func appendASCIINameKey(
    _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) -> Bool {
    for byte in input where byte >= 0x80 { return false }
    appendNameKeyOfASCII(input, to: &out)
    return true
  }

  /// `FieldRules.asciiNameKey` on bytes known to be ASCII.
  @inline(__always)
  package static func appendNameKeyOfASCII(
    _ input: UnsafeBufferPointer<UInt8>, to out: inout GrowableBuffer<UInt8>
  ) {
    let start = out.count
    var pendingSpace = false
    for byte in input {
      switch byte {
      case UInt8(ascii: "'"), UInt8(ascii: "."), UInt8(ascii: "`"): continue
      case UInt8(ascii: "-"), UInt8(ascii: ","): pendingSpace = out.count > start
      default:
        if FieldRules.isASCIISpace(byte) {
          pendingSpace = out.count > start
          continue
        }
        if pendingSpace { out.append(0x20) }
        pendingSpace = false
        out.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
      }
    }
  }

  static func isDashedPhone(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    for (offset, byte) in bytes.enumerated() {
      if offset == 3 || offset == 7 {
        if byte != UInt8(ascii: "-") { return false }
      } else if byte < 0x30 || byte > 0x39 {
        return false
      }
    }
    return true
  }

  /// `FieldRules.email` on clean ASCII text: lower-cased in place when it is an address (true);
  /// left as it was when it is not (false).
  @discardableResult
  static func asciiEmail(_ text: UnsafeMutableBufferPointer<UInt8>) -> Bool {
    var at = -1
    for i in text.indices {
      let byte = text[i]
      if byte == UInt8(ascii: "@") {
        if at >= 0 { return false }
        at = i
      }
      if byte == 0x20 { return false }
    }
    guard at > 0, at + 1 < text.count else { return false }
    let domain = UnsafeMutableBufferPointer(rebasing: text[(at + 1)...])
    guard domain.contains(UInt8(ascii: ".")), domain.first != UInt8(ascii: "."),
      domain.last != UInt8(ascii: ".")
    else { return false }
    for i in text.indices where text[i] >= 0x41 && text[i] <= 0x5A { text[i] += 0x20 }
    return true
  }

  /// `CalendarDate.iso` on bytes.
  static func appendISO(_ date: CalendarDate, to out: inout GrowableBuffer<UInt8>) {
    let y = date.year
    out.append(UInt8(0x30 + y / 1000))
    out.append(UInt8(0x30 + y / 100 % 10))
    out.append(UInt8(0x30 + y / 10 % 10))
    out.append(UInt8(0x30 + y % 10))
    out.append(UInt8(ascii: "-"))
    out.append(UInt8(0x30 + date.month / 10))
    out.append(UInt8(0x30 + date.month % 10))
    out.append(UInt8(ascii: "-"))
    out.append(UInt8(0x30 + date.day / 10))
    out.append(UInt8(0x30 + date.day % 10))
  }
}
