import Foundation
import SISDropFormats

/// String and date comparators for matching people. Names are compared on `FieldRules.nameKey`
/// (lower case, diacritics folded, apostrophes dropped, hyphens as spaces), so García-López and
/// Garcia Lopez compare equal before any similarity is needed.
package enum Comparators {
  /// Jaro-Winkler similarity in 0...1 (Winkler's prefix bonus, scale 0.1, up to 4 characters).
  package static func jaroWinkler(_ a: String, _ b: String) -> Double {
    // On UTF-8 bytes: name keys are folded to ASCII letters almost always, and bytes are 5x cheaper.
    var a = a
    var b = b
    return a.withUTF8 { s in b.withUTF8 { t in jaroWinkler(s, t) } }
  }

  /// Jaro-Winkler on bytes, with the matched flags on the stack: the matcher calls this a few hundred
  /// thousand times per batch, and four heap arrays per call were most of its cost.
  static func jaroWinkler(_ s: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>)
    -> Double
  {
    if s.isEmpty || t.isEmpty { return s.isEmpty && t.isEmpty ? 1 : 0 }
    if s.count == t.count && memcmp(s.baseAddress!, t.baseAddress!, s.count) == 0 { return 1 }
    let window = max(0, max(s.count, t.count) / 2 - 1)
    return withUnsafeTemporaryAllocation(of: Bool.self, capacity: s.count + t.count) { flags in
      flags.initialize(repeating: false)
      let sMatched = UnsafeMutableBufferPointer(rebasing: flags[0..<s.count])
      let tMatched = UnsafeMutableBufferPointer(rebasing: flags[s.count...])
      var matches = 0
      for i in 0..<s.count {
        let lo = max(0, i - window)
        let hi = min(t.count - 1, i + window)
        if lo > hi { continue }
        for j in lo...hi where !tMatched[j] && s[i] == t[j] {
          sMatched[i] = true
          tMatched[j] = true
          matches += 1
          break
        }
      }
      if matches == 0 { return 0 }
      var transpositions = 0
      var k = 0
      for i in 0..<s.count where sMatched[i] {
        while !tMatched[k] { k += 1 }
        if s[i] != t[k] { transpositions += 1 }
        k += 1
      }
      let m = Double(matches)
      let jaro =
        (m / Double(s.count) + m / Double(t.count) + (m - Double(transpositions / 2)) / m) / 3
      var prefix = 0
      while prefix < min(4, s.count, t.count) && s[prefix] == t[prefix] { prefix += 1 }
      return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }
  }

  /// `jaroWinkler(a, b)` read as a name's agreement: 2 at 0.92 or more, 1 at 0.80 or more, else 0.
  /// Most names compared are plainly different: an upper bound of the similarity from the letters
  /// the two have in common (`jaroWinklerBound`) below 0.80 decides level 0 without the matching
  /// itself (the u sample's 79,800 pairs of random students and most candidate pairs compare names
  /// that share few letters; `scripts/bench/match.sh` at 100,000 × 10,000).
  static func jaroWinklerLevel(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { s in b.withUTF8 { t in jaroWinklerLevel(s, t) } }
  }

  /// `jaroWinklerLevel` on bytes.
  static func jaroWinklerLevel(_ s: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>)
    -> Int
  {
    // The bound holds in exact arithmetic; the margin covers its rounding and the similarity's.
    if jaroWinklerBound(s, t) < 0.80 - 1e-9 { return 0 }
    let jw = jaroWinkler(s, t)
    return jw >= 0.92 ? 2 : jw >= 0.80 ? 1 : 0
  }

  /// An upper bound of `jaroWinkler(s, t)`: the matching characters are at most the bytes the two
  /// have in common (counted by their low six bits, which only lets more through: merged counts
  /// never share fewer), with no transpositions and the same common prefix. The similarity grows
  /// with the matches and falls with transpositions, so it is never above this.
  static func jaroWinklerBound(_ s: UnsafeBufferPointer<UInt8>, _ t: UnsafeBufferPointer<UInt8>)
    -> Double
  {
    if s.isEmpty || t.isEmpty { return s.isEmpty && t.isEmpty ? 1 : 0 }
    if s.count > 255 { return 1 }  // a byte counts each bin below
    var counts: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
      0, 0, 0, 0, 0, 0, 0, 0
    )
    let matches = withUnsafeMutableBytes(of: &counts) { raw -> Int in
      for byte in s { raw[Int(byte & 63)] &+= 1 }
      var matches = 0
      for byte in t where raw[Int(byte & 63)] > 0 {
        raw[Int(byte & 63)] -= 1
        matches += 1
      }
      return matches
    }
    if matches == 0 { return 0 }
    let m = Double(matches)
    let jaro = (m / Double(s.count) + m / Double(t.count) + 1) / 3
    var prefix = 0
    while prefix < min(4, s.count, t.count) && s[prefix] == t[prefix] { prefix += 1 }
    return jaro + Double(prefix) * 0.1 * (1 - jaro)
  }

  /// American Soundex of a name key's first word-ish token (letters only), `""` for no letters.
  package static func soundex(_ key: String) -> String {
    let code = soundexCode(key)
    guard code != 0 else { return "" }
    return String(
      decoding: (0..<4).map { UInt8(truncatingIfNeeded: code >> (24 - 8 * $0)) }, as: UTF8.self)
  }

  /// Soundex packed in 4 bytes (0 for no letters): blocking keys without building strings.
  package static func soundexCode<S: StringProtocol>(_ key: S) -> UInt32 {
    var out: UInt32 = 0
    var count = 0
    var last: UInt8 = 0
    for byte in key.utf8 {
      guard byte >= 0x61 && byte <= 0x7A else { continue }
      let code = soundexCodes[Int(byte - 0x61)]
      if count == 0 {
        out = UInt32(byte - 0x20)
        count = 1
        last = code
        continue
      }
      if code != 0 && code != last {
        out = out << 8 | UInt32(0x30 + code)
        count += 1
      }
      if byte != UInt8(ascii: "h") && byte != UInt8(ascii: "w") { last = code }
      if count == 4 { break }
    }
    if count == 0 { return 0 }
    while count < 4 {
      out = out << 8 | 0x30
      count += 1
    }
    return out
  }

  // a b c d e f g h i j k l m n o p q r s t u v w x y z
  private static let soundexCodes: [UInt8] = [
    0, 1, 2, 3, 0, 1, 2, 0, 0, 2, 2, 4, 5, 5, 0, 1, 2, 6, 2, 3, 0, 1, 0, 2, 0, 2,
  ]

  /// Letters that Unicode does not decompose into a base letter and a mark (Đặng keeps its đ in a
  /// name key), folded as people type them on a US keyboard: đ → d, ł → l, ø → o, æ → ae, ß → ss.
  package static func foldLetters(_ key: String) -> String {
    if key.utf8.allSatisfy({ $0 < 0x80 }) { return key }
    var out = ""
    for scalar in key.unicodeScalars {
      switch scalar {
      case "đ", "ð": out += "d"
      case "ł": out += "l"
      case "ø": out += "o"
      case "æ": out += "ae"
      case "œ": out += "oe"
      case "ß": out += "ss"
      case "þ": out += "th"
      case "ı": out += "i"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// True when the text has a space: on its contiguous bytes (`utf8.contains` walks the view one
  /// element at a time, and the matcher asks this of every name it compares).
  @inline(__always)
  static func hasSpace<S: StringProtocol>(_ text: S) -> Bool {
    text.utf8.withContiguousStorageIfAvailable { bytes in
      bytes.count > 0 && memchr(bytes.baseAddress!, 0x20, bytes.count) != nil
    } ?? text.utf8.contains(0x20)
  }

  /// Generational suffixes dropped from surnames before comparing (`Smith Jr` is `Smith`).
  static let suffixes: Set<String> = ["jr", "sr", "ii", "iii", "iv", "v"]

  /// A name key's tokens without generational suffixes.
  package static func nameTokens(_ key: Substring) -> [Substring] {
    if !hasSpace(key) { return [key] }  // one word: nothing to split or drop
    // Split on the space byte: splitting on Characters runs grapheme breaking over every name, and
    // name keys carry no combining marks (diacritics are folded) for a space to attach to.
    // One pass into one array (split, map and filter made three per call; the matcher splits every
    // compound name it compares, a tenth of its comparing time, `scripts/bench/match.sh`).
    var tokens: [Substring] = []
    var suffixes = 0
    let utf8 = key.utf8
    var start: Substring.Index? = nil
    var i = utf8.startIndex
    func take(_ end: Substring.Index) {
      guard let first = start else { return }
      let token = Substring(utf8[first..<end])
      if isSuffix(token) { suffixes += 1 }
      tokens.append(token)
      start = nil
    }
    while i != utf8.endIndex {
      if utf8[i] == 0x20 { take(i) } else if start == nil { start = i }
      utf8.formIndex(after: &i)
    }
    take(utf8.endIndex)
    return suffixes == 0 || suffixes == tokens.count ? tokens : tokens.filter { !isSuffix($0) }
  }

  /// `suffixes.contains(String(token))` without making the String (two-part surnames are common,
  /// and the matcher splits each one it compares). ASCII text equals only itself, so the length
  /// decides which suffixes can match.
  @inline(__always)
  static func isSuffix(_ token: Substring) -> Bool {
    switch token.utf8.count {
    case 1: return token == "v"
    case 2: return token == "jr" || token == "sr" || token == "ii" || token == "iv"
    case 3: return token == "iii"
    default: return false
    }
  }

  /// The tokens joined by single spaces: the key itself when nothing was dropped or collapsed
  /// (as many tokens as spaces + 1), so the common case makes no new String.
  static func joinedTokens(_ key: String, _ tokens: [Substring]) -> String {
    var spaces = 0
    for byte in key.utf8 where byte == 0x20 { spaces += 1 }
    return tokens.count == spaces + 1 ? key : tokens.joined(separator: " ")
  }

  // MARK: - Nicknames

  /// Name ↔ nickname, both directions, from the shipped table (`NicknameTable.swift`).
  static let nicknames: [String: Set<String>] = {
    var map: [String: Set<String>] = [:]
    for pair in nicknamePairsSource.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      let parts = pair.split(separator: ":")
      guard parts.count == 2 else { continue }
      map[String(parts[0]), default: []].insert(String(parts[1]))
      map[String(parts[1]), default: []].insert(String(parts[0]))
    }
    return map
  }()

  /// True when one name is a listed nickname of the other (direct pairs only; a similarity, not an identity).
  package static func isNickname(_ a: String, _ b: String) -> Bool {
    if a == b { return false }
    // Most pairs asked for are not in the table: the filter says so from the bytes, without
    // hashing either String into the dictionary (`nicknamePairs`).
    if let filter = nicknamePairs, let bit = NicknamePairs.bit(a, b), !filter.contains(bit) {
      return false
    }
    return nicknames[a]?.contains(b) ?? false
  }

  /// Every (name, nickname) pair of `nicknames` as a bit set by a hash of the two names' bytes: a
  /// pair whose bit is clear is not in the table. Exact for ASCII names only, where equal Strings
  /// are equal bytes (the table is ASCII; with any entry that is not, there is no filter). Why: the
  /// dictionary and set look-ups hashed both names with SipHash for every pair of given names
  /// compared, almost never found (a third of comparing given names, `scripts/bench/match.sh` at
  /// 50,000 × 50,000).
  static let nicknamePairs: NicknamePairs? = {
    var filter = NicknamePairs()
    for (name, others) in nicknames {
      for other in others {
        guard let bit = NicknamePairs.bit(name, other) else { return nil }
        filter.insert(bit)
      }
    }
    return filter
  }()

  /// A bit set of 2^17 bits, by a 64-bit FNV-1a hash of a pair of ASCII names.
  struct NicknamePairs: Sendable {
    private var words = [UInt64](repeating: 0, count: 1 << 11)

    /// The pair's bit, nil when a name is not ASCII (its bytes do not decide equality).
    static func bit(_ a: String, _ b: String) -> Int? {
      var hash: UInt64 = 0xCBF2_9CE4_8422_2325
      guard mix(a, into: &hash) else { return nil }
      hash = (hash ^ 0x3A) &* 0x100_0000_01B3
      guard mix(b, into: &hash) else { return nil }
      return Int(truncatingIfNeeded: (hash ^ hash >> 32) & 0x1_FFFF)
    }

    /// FNV-1a over the text's bytes, on its contiguous storage (the UTF-8 view walked byte by byte
    /// cost more than the look-ups saved); false for text that is not ASCII.
    @inline(__always)
    private static func mix(_ text: String, into hash: inout UInt64) -> Bool {
      let ascii = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
        for byte in bytes {
          if byte >= 0x80 { return false }
          hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return true
      }
      if let ascii { return ascii }
      for byte in text.utf8 {
        if byte >= 0x80 { return false }
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
      }
      return true
    }

    func contains(_ bit: Int) -> Bool { words[bit >> 6] & (1 << UInt64(bit & 63)) != 0 }

    mutating func insert(_ bit: Int) { words[bit >> 6] |= 1 << UInt64(bit & 63) }
  }

  // MARK: - Agreement levels

  /// Given-name agreement: 4 exact, 3 nickname, 2 Jaro-Winkler ≥ 0.92, 1 ≥ 0.80, 0 otherwise.
  package static func givenNameLevel(_ a: String, _ b: String) -> Int {
    if a.isEmpty || b.isEmpty { return -1 }
    if a == b { return 4 }
    if !hasSpace(a) && !hasSpace(b) {
      // One word each (most names): no tokens to compare.
      if isNickname(a, b) { return 3 }
      return jaroWinklerLevel(a, b)
    }
    let ta = nameTokens(Substring(a))
    let tb = nameTokens(Substring(b))
    // `Mary Kate` and `Mary`, `Jean Luc` and `Jean-Luc`: the first given name is what people use.
    if let fa = ta.first, let fb = tb.first, fa == fb { return 4 }
    if isNickname(String(ta.first ?? ""), String(tb.first ?? "")) || isNickname(a, b) { return 3 }
    return jaroWinklerLevel(a, b)
  }

  /// Surname agreement: 4 exact, 3 a shared part of a compound or hyphenated name, 2 JW ≥ 0.92, 1 ≥ 0.80, 0 otherwise.
  package static func surnameLevel(_ a: String, _ b: String) -> Int {
    if a.isEmpty || b.isEmpty { return -1 }
    if a == b { return 4 }
    if !hasSpace(a) && !hasSpace(b) { return jaroWinklerLevel(a, b) }
    if let level = asciiSurnameLevel(a, b) { return level }
    let ta = nameTokens(Substring(a))
    let tb = nameTokens(Substring(b))
    if ta == tb { return 4 }
    if ta.count > 1 || tb.count > 1 {
      // A shared part (a handful of tokens: no Set needed).
      if ta.contains(where: { tb.contains($0) }) { return 3 }
      // The same letters run together (`De la Cruz`, `Delacruz`): equal bytes are equal text; only
      // non-ASCII text can be equal with other bytes (canonical equivalence).
      if ta.lazy.flatMap(\.utf8).elementsEqual(tb.lazy.flatMap(\.utf8)) { return 4 }
      if !(a.utf8.allSatisfy { $0 < 0x80 } && b.utf8.allSatisfy { $0 < 0x80 })
        && ta.joined() == tb.joined()
      {
        return 4
      }
    }
    return jaroWinklerLevel(joinedTokens(a, ta), joinedTokens(b, tb))
  }

  /// `surnameLevel` of two ASCII keys (after its first steps) on their bytes, the tokens as places
  /// in them (`ASCIITokens`): the same steps in the same order as the String form below, without its
  /// arrays of tokens and joined Strings; nil for other keys (not ASCII, more than eight tokens),
  /// which that form compares. Why: compound surnames are common (two of five surnames compared in
  /// `scripts/bench/match.sh`'s districts), and their arrays were most of comparing surnames.
  static func asciiSurnameLevel(_ a: String, _ b: String) -> Int? {
    var a = a
    var b = b
    return a.withUTF8 { s in
      b.withUTF8 { t -> Int? in
        guard let x = ASCIITokens(s), let y = ASCIITokens(t) else { return nil }
        if x.same(as: y) { return 4 }
        if x.count > 1 || y.count > 1 {
          if x.sharesAToken(with: y) { return 3 }
          if x.sameLetters(as: y) { return 4 }
          // ASCII: the joined keys are equal text only where their bytes are equal (just above).
        }
        return x.withJoined { p in y.withJoined { q in jaroWinklerLevel(p, q) } }
      }
    }
  }

  /// `nameTokens` of an ASCII key, as byte ranges of it: split on spaces, generational suffixes
  /// dropped unless every token is one; at most eight tokens.
  struct ASCIITokens {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Token i's start and end at 32 * i (16 bits each).
    private var ranges: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private(set) var count = 0

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
      guard bytes.count < 1 << 16 else { return nil }
      self.bytes = bytes
      var tokens = 0
      var suffixes = 0
      var start = -1
      for i in 0...bytes.count {
        let byte: UInt8 = i < bytes.count ? bytes[i] : 0x20
        if byte >= 0x80 { return nil }
        if byte != 0x20 {
          if start < 0 { start = i }
          continue
        }
        guard start >= 0 else { continue }
        guard tokens < 8 else { return nil }
        setRange(tokens, start..<i)
        if ASCIITokens.isSuffix(bytes, start..<i) { suffixes += 1 }
        tokens += 1
        start = -1
      }
      count = tokens
      if suffixes > 0 && suffixes < tokens {
        // Drop the suffixes, keeping the order of the others.
        var kept = 0
        for k in 0..<tokens where !ASCIITokens.isSuffix(bytes, self[k]) {
          setRange(kept, self[k])
          kept += 1
        }
        count = kept
      }
    }

    /// `Comparators.isSuffix` on bytes.
    private static func isSuffix(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
      func at(_ k: Int) -> UInt8 { bytes[range.lowerBound + k] }
      let (i, j, r, s, v) = (
        UInt8(ascii: "i"), UInt8(ascii: "j"), UInt8(ascii: "r"), UInt8(ascii: "s"),
        UInt8(ascii: "v")
      )
      switch range.count {
      case 1: return at(0) == v
      case 2:
        return (at(0) == j && at(1) == r) || (at(0) == s && at(1) == r)
          || (at(0) == i && at(1) == i) || (at(0) == i && at(1) == v)
      case 3: return at(0) == i && at(1) == i && at(2) == i
      default: return false
      }
    }

    private mutating func setRange(_ k: Int, _ range: Range<Int>) {
      withUnsafeMutableBytes(of: &ranges) {
        $0.storeBytes(of: UInt16(range.lowerBound), toByteOffset: 4 * k, as: UInt16.self)
        $0.storeBytes(of: UInt16(range.upperBound), toByteOffset: 4 * k + 2, as: UInt16.self)
      }
    }

    subscript(_ k: Int) -> Range<Int> {
      withUnsafeBytes(of: ranges) {
        Int(
          $0.load(fromByteOffset: 4 * k, as: UInt16.self))..<Int(
            $0.load(fromByteOffset: 4 * k + 2, as: UInt16.self))
      }
    }

    private func token(_ k: Int) -> UnsafeBufferPointer<UInt8> {
      UnsafeBufferPointer(rebasing: bytes[self[k]])
    }

    private static func equal(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>)
      -> Bool
    {
      p.count == q.count && (p.isEmpty || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0)
    }

    /// The same tokens in the same order (`ta == tb`).
    func same(as other: ASCIITokens) -> Bool {
      guard count == other.count else { return false }
      for k in 0..<count where !ASCIITokens.equal(token(k), other.token(k)) { return false }
      return true
    }

    /// A token of one is a token of the other.
    func sharesAToken(with other: ASCIITokens) -> Bool {
      for k in 0..<count {
        for l in 0..<other.count where ASCIITokens.equal(token(k), other.token(l)) { return true }
      }
      return false
    }

    /// The tokens' bytes one after the other are the same.
    func sameLetters(as other: ASCIITokens) -> Bool {
      var (k, i) = (0, 0)
      var (l, j) = (0, 0)
      while true {
        while k < count && i == self[k].count { (k, i) = (k + 1, 0) }
        while l < other.count && j == other[l].count { (l, j) = (l + 1, 0) }
        if k == count || l == other.count { return k == count && l == other.count }
        if bytes[self[k].lowerBound + i] != other.bytes[other[l].lowerBound + j] { return false }
        i += 1
        j += 1
      }
    }

    /// `joinedTokens`: the key itself when every token is kept with one space between, else the
    /// tokens joined by single spaces (in a buffer on the stack).
    func withJoined<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
      var spaces = 0
      for byte in bytes where byte == 0x20 { spaces += 1 }
      if count == spaces + 1 { return body(bytes) }
      return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count + 1) { out in
        var length = 0
        for k in 0..<count {
          if k > 0 {
            out[length] = 0x20
            length += 1
          }
          for byte in token(k) {
            out[length] = byte
            length += 1
          }
        }
        return body(UnsafeBufferPointer(rebasing: out[0..<length]))
      }
    }
  }

  /// Birth-date agreement on ISO dates: 4 exact, 3 day and month swapped, 2 one digit off,
  /// 1 year off by one (same month and day), 0 otherwise.
  package static func birthDateLevel(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { x in b.withUTF8 { y in birthDateLevel(x, y) } }
  }

  private static func birthDateLevel(
    _ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>
  ) -> Int {
    guard x.count == 10, y.count == 10 else { return -1 }
    var differing = 0
    for i in 0..<10 where x[i] != y[i] { differing += 1 }
    if differing == 0 { return 4 }
    // YYYY-MM-DD: month at 5..<7, day at 8..<10.
    if x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3]
      && x[5] == y[8] && x[6] == y[9] && x[8] == y[5] && x[9] == y[6]
    {
      return 3
    }
    if differing == 1 { return 2 }
    func year(_ d: UnsafeBufferPointer<UInt8>) -> Int? {
      var value = 0
      for i in 0..<4 {
        guard d[i] >= 0x30 && d[i] <= 0x39 else { return nil }
        value = value * 10 + Int(d[i] - 0x30)
      }
      return value
    }
    var sameMonthDay = true
    for i in 4..<10 where x[i] != y[i] { sameMonthDay = false }
    if sameMonthDay, let ya = year(x), let yb = year(y), abs(ya - yb) == 1 { return 1 }
    return 0
  }

  /// Two street keys (`streetKey`) and ZIP codes that name the same home but for one typing error:
  /// the same street and ZIP with a house number one digit off (changed, dropped, added or two
  /// swapped) or missing on one side; the same house number (or none on one side) and ZIP with a
  /// street word at JW ≥ 0.90 or run together with the next; or the same street key with the ZIP one
  /// digit off. A neighbour's house number is also one
  /// digit off: this level is never household evidence on its own (see the matcher's rules).
  package static func sameAddressButForATypo(
    street a: String, _ b: String, zip za: String, _ zb: String
  ) -> Bool {
    guard !a.isEmpty && !b.isEmpty else { return false }
    let sameZip = za == zb || za.isEmpty || zb.isEmpty
    if a == b { return !sameZip && za.count == zb.count && oneEditApart(za, zb) }
    guard sameZip else { return false }
    // All numbers: on the bytes for ASCII (a Character's Unicode properties for each letter were
    // most of comparing two addresses, `scripts/bench/match.sh`), where only 0-9 are numbers.
    func isNumber(_ text: Substring) -> Bool {
      text.utf8.allSatisfy { $0 < 0x80 }
        ? text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } : text.allSatisfy(\.isNumber)
    }
    func split(_ key: String) -> (number: Substring, word: Substring) {
      if let parts = splitASCII(key) {
        if let rest = parts.rest, isNumber(parts.first) { return (parts.first, rest) }
        return isNumber(parts.first) ? (parts.first, "") : ("", parts.first)
      }
      let parts = key.split(separator: " ", maxSplits: 1)
      if parts.count == 2, isNumber(parts[0]) { return (parts[0], parts[1]) }
      return (isNumber(parts[0]) ? parts[0] : "", isNumber(parts[0]) ? "" : parts[0])
    }
    let x = split(a)
    let y = split(b)
    guard !x.word.isEmpty && !y.word.isEmpty else { return false }
    if x.word == y.word {
      return x.number.isEmpty || y.number.isEmpty
        || oneEditApart(String(x.number), String(y.number))
    }
    // The street word mistyped, or run together with the next word (`yandastreet` for `yanda street`),
    // at the same house number (or none on one side).
    guard x.number == y.number || x.number.isEmpty || y.number.isEmpty,
      !(x.number.isEmpty && y.number.isEmpty)
    else { return false }
    let (short, long) = x.word.count <= y.word.count ? (x.word, y.word) : (y.word, x.word)
    return jaroWinkler(String(x.word), String(y.word)) >= 0.90
      || (short.count >= 4 && long.hasPrefix(short))
  }

  /// `key.split(separator: " ", maxSplits: 1)` on the bytes of ASCII text that does not start with a
  /// space (there a Character is a byte, and the first part is never empty): the text before the
  /// first space, and what follows that space unless it is empty; nil for any other text. Why: the
  /// array of `split` was most of comparing two street keys, done for nearly every candidate pair
  /// (`scripts/bench/match.sh` at 100,000 × 10,000).
  static func splitASCII(_ key: String) -> (first: Substring, rest: Substring?)? {
    let utf8 = key.utf8
    guard let head = utf8.first, head != 0x20 else { return nil }
    var space: String.Index? = nil
    for i in utf8.indices {
      let byte = utf8[i]
      if byte >= 0x80 { return nil }
      if byte == 0x20 && space == nil { space = i }
    }
    guard let space else { return (key[...], nil) }
    let next = utf8.index(after: space)
    return (key[..<space], next == utf8.endIndex ? nil : key[next...])
  }

  /// The parts of an address that `addressPartsDiffering` compares one by one.
  package enum AddressPart: Int, CaseIterable, Sendable {
    case houseNumber, street, city, zip, state

    /// The part as a decision names it.
    package var words: String { ["house number", "street", "city", "ZIP", "state"][rawValue] }
  }

  /// The parts of two addresses that do not agree, or that one side lacks: the house number and
  /// the ZIP exactly; the street word up to a typo (as `sameAddressButForATypo` reads one: JW ≥ 0.90,
  /// or run together with the next word) and the city up to one letter (on name keys). A digit off
  /// is a part that differs: a one-digit house number is one edit from any other, and a district's
  /// ZIPs are often one digit apart (62701, 62702, ...), so a numeric "typo" beside another part
  /// that differs would be a neighbour's home. The state counts only where both have one: a
  /// district's homes are in one state, and forms leave it out. Why part by part: records are
  /// mistyped field by field, so a street line replaced outright can come with the house number,
  /// city and ZIP all agreeing (FEBRL3, `scripts/bench/febrl.sh`).
  package static func addressPartsDiffering(_ a: PersonRecord, _ b: PersonRecord) -> [AddressPart] {
    let x = addressParts(a)
    let y = addressParts(b)
    return AddressPart.allCases.filter { part in
      partDiffers(part, x[part.rawValue], y[part.rawValue])
    }
  }

  /// `addressPartsDiffering(a, b).count <= 1`, part by part, the cheap parts first, and done at the
  /// second part that differs: the city's and state's name keys are made only when the house
  /// number, ZIP and street leave it open. Why: every candidate pair whose names agree without its
  /// street line and ZIP agreeing asks this (`ComparisonVector.compare`), and making all five
  /// parts of both sides was most of it (`scripts/bench/match.sh` at 50,000 × 50,000).
  static func atMostOneAddressPartDiffers(_ a: PersonRecord, _ b: PersonRecord) -> Bool {
    var differing = 0
    func count(_ part: AddressPart, _ p: String, _ q: String) -> Bool {
      if partDiffers(part, p, q) { differing += 1 }
      return differing <= 1
    }
    let x = streetParts(a.street)
    let y = streetParts(b.street)
    return count(.houseNumber, x.number, y.number) && count(.zip, a.zip, b.zip)
      && count(.street, x.word, y.word)
      && count(
        .city, foldLetters(FieldRules.nameKey(a.city)), foldLetters(FieldRules.nameKey(b.city)))
      && count(
        .state, foldLetters(FieldRules.nameKey(a.state)), foldLetters(FieldRules.nameKey(b.state)))
  }

  /// Whether one part of two addresses (`addressParts`) differs, as `addressPartsDiffering` reads it.
  private static func partDiffers(_ part: AddressPart, _ p: String, _ q: String) -> Bool {
    if part == .state { return !p.isEmpty && !q.isEmpty && p != q }
    guard !p.isEmpty && !q.isEmpty else { return true }
    if p == q { return false }
    switch part {
    case .street:
      let (short, long) = p.count <= q.count ? (p, q) : (q, p)
      return !(jaroWinkler(p, q) >= 0.90 || (short.count >= 4 && long.hasPrefix(short)))
    case .city: return !oneEditApart(p, q)
    default: return true
    }
  }

  /// An address's parts as `addressPartsDiffering` compares them, by `AddressPart.rawValue` (""
  /// for a part it does not have): the street key's house number and word, the city's and state's
  /// name keys, the ZIP.
  package static func addressParts(_ p: PersonRecord) -> [String] {
    let street = streetParts(p.street)
    return [
      street.number, street.word, foldLetters(FieldRules.nameKey(p.city)), p.zip,
      foldLetters(FieldRules.nameKey(p.state)),
    ]
  }

  /// A street key's house number and street word, as `addressParts` has them.
  private static func streetParts(_ street: String) -> (number: String, word: String) {
    let parts: (first: Substring, rest: Substring?) =
      splitASCII(street)
      ?? {
        let parts = street.split(separator: " ", maxSplits: 1)
        return (parts.first ?? "", parts.count == 2 ? parts[1] : nil)
      }()
    let first = parts.first
    let isNumber = !first.isEmpty && first.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    return (isNumber ? String(first) : "", isNumber ? String(parts.rest ?? "") : String(first))
  }

  /// Two names that share a beginning of five letters or more and differ only in endings of at most
  /// two letters each: the pairs given to boy/girl twins (alexander/alexandra, gabriel/gabriela).
  static func pairedNames(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var common = 0
    while common < min(x.count, y.count) && x[common] == y[common] { common += 1 }
    return common >= 5 && x.count - common <= 2 && y.count - common <= 2
  }

  /// One character changed, dropped or added, or two neighbours swapped (Damerau, distance 1).
  static func oneEditApart(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    if x == y { return false }
    if x.count == y.count {
      let differing = x.indices.filter { x[$0] != y[$0] }
      if differing.count == 1 { return true }
      return differing.count == 2 && differing[1] == differing[0] + 1
        && x[differing[0]] == y[differing[1]] && x[differing[1]] == y[differing[0]]
    }
    guard abs(x.count - y.count) == 1 else { return false }
    let (long, short) = x.count > y.count ? (x, y) : (y, x)
    var i = 0
    while i < short.count && long[i] == short[i] { i += 1 }
    return long[(i + 1)...].elementsEqual(short[i...])
  }

  /// A street key: house number and the first word of the street name, lower case (`1284 monroe`).
  package static func streetKey(_ street: String) -> String {
    // ASCII fast path (the SIS export's usual street): lower case, the first two words.
    // Written straight into the String: the matcher makes one per SIS student.
    var ascii = true
    let key = String(unsafeUninitializedCapacity: street.utf8.count) { words in
      var length = 0
      var count = 0
      var inWord = false
      var firstIsNumber = true
      for byte in street.utf8 {
        if byte >= 0x80 {
          ascii = false
          break
        }
        // dropped, as `nameKey` drops them
        if byte == 0x2E || byte == 0x27 || byte == 0x60 { continue }
        if byte == 0x20 || byte == 0x2C || byte == 0x2D || byte == 0x09 {
          if inWord {
            inWord = false
            count += 1
            if count == 2 || (count == 1 && !firstIsNumber) { break }
          }
          continue
        }
        if !inWord {
          if count == 1 {
            words[length] = 0x20
            length += 1
          }
          inWord = true
        }
        if count == 0 && !(byte >= 0x30 && byte <= 0x39) { firstIsNumber = false }
        words[length] = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        length += 1
      }
      return ascii ? length : 0
    }
    if ascii { return key }
    let tokens = FieldRules.nameKey(street).split(separator: " ")
    guard let first = tokens.first else { return "" }
    if first.allSatisfy(\.isNumber), tokens.count > 1 { return "\(first) \(tokens[1])" }
    return String(first)
  }
}
