import Foundation

/// A calendar date without a time: what a birth date is.
package struct CalendarDate: Sendable, Hashable, Comparable, Codable {
  package var year: Int
  package var month: Int
  package var day: Int

  package static func < (a: CalendarDate, b: CalendarDate) -> Bool {
    (a.year, a.month, a.day) < (b.year, b.month, b.day)
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Nil for a day that does not exist (02/30, month 13).
  package init?(year: Int, month: Int, day: Int) {
    guard (1...12).contains(month), year >= 1000, year <= 9999, day >= 1,
      day <= CalendarDate.daysIn(month: month, year: year)
    else {
      return nil
    }
    self.year = year
    self.month = month
    self.day = day
  }

  /// ISO 8601: `YYYY-MM-DD`, the form every stage file uses.
  package var iso: String {
    // By hand: String(format:) showed up in the snapshot load's profile (scripts/bench/pipeline.sh).
    func pad(_ value: Int, _ width: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
  }

  package init?(iso: String) {
    guard let date = DatePattern.iso.parse(iso) else { return nil }
    self = date
  }
}

/// A date layout such as `MM/DD/YYYY` (PowerSchool's default) or `YYYY-MM-DD`.
///
/// Tokens: `YYYY`, `MM`/`M`, `DD`/`D`; anything else is a literal separator. `MM` and `DD`
/// also accept one digit on input, as exports drop leading zeros.
package struct DatePattern: Sendable, Hashable, CustomStringConvertible {
  enum Token: Hashable, Sendable {
    case year
    case month(pad: Bool)
    case day(pad: Bool)
    case literal(Character)
  }
  let tokens: [Token]
  package let description: String
  /// The tokens with each literal as its ASCII byte (nil for a non-ASCII literal), for `match(bytes:)`.
  private let byteTokens: [ByteToken]
  private enum ByteToken: Hashable, Sendable {
    case year, month, day
    case literal(UInt8?)
  }

  package static let monthDayYear = DatePattern("MM/DD/YYYY")!
  package static let iso = DatePattern("YYYY-MM-DD")!

  package init?(_ text: String) {
    var tokens: [Token] = []
    var rest = Substring(text)
    while !rest.isEmpty {
      if rest.hasPrefix("YYYY") {
        tokens.append(.year)
        rest = rest.dropFirst(4)
      } else if rest.hasPrefix("MM") {
        tokens.append(.month(pad: true))
        rest = rest.dropFirst(2)
      } else if rest.hasPrefix("DD") {
        tokens.append(.day(pad: true))
        rest = rest.dropFirst(2)
      } else if rest.hasPrefix("M") {
        tokens.append(.month(pad: false))
        rest = rest.dropFirst()
      } else if rest.hasPrefix("D") {
        tokens.append(.day(pad: false))
        rest = rest.dropFirst()
      } else if let c = rest.first, !c.isLetter && !c.isNumber {
        tokens.append(.literal(c))
        rest = rest.dropFirst()
      } else {
        return nil
      }
    }
    let fields = tokens.filter { if case .literal = $0 { return false } else { return true } }
    guard fields.count == 3, tokens.contains(.year) else { return nil }
    self.tokens = tokens
    description = text
    byteTokens = tokens.map { token -> ByteToken in
      switch token {
      case .year: return .year
      case .month: return .month
      case .day: return .day
      case .literal(let c): return .literal(c.asciiValue)
      }
    }
  }

  /// Parses a date; nil when the text does not fit the pattern. `valid` is false for a date that
  /// fits but does not exist (02/30/2016).
  package func match(_ text: String) -> (fits: Bool, date: CalendarDate?) {
    var cleaned = FieldRules.text(text)
    return cleaned.withUTF8 { match(bytes: $0) }
  }

  /// `match` on bytes of text already cleaned by `FieldRules.text`: dates are ASCII, and this
  /// runs for every birth date of the SIS export.
  package func match(bytes: UnsafeBufferPointer<UInt8>) -> (fits: Bool, date: CalendarDate?) {
    var position = 0
    var year = 0
    var month = 0
    var day = 0
    func number(maxDigits: Int) -> (value: Int, digits: Int)? {
      var value = 0
      var digits = 0
      while position < bytes.count, digits < maxDigits, bytes[position] >= 0x30,
        bytes[position] <= 0x39
      {
        value = value * 10 + Int(bytes[position] - 0x30)
        position += 1
        digits += 1
      }
      return digits == 0 ? nil : (value, digits)
    }
    for token in byteTokens {
      switch token {
      case .year:
        guard let found = number(maxDigits: 4), found.digits == 4 else { return (false, nil) }
        year = found.value
      case .month:
        guard let found = number(maxDigits: 2) else { return (false, nil) }
        month = found.value
      case .day:
        guard let found = number(maxDigits: 2) else { return (false, nil) }
        day = found.value
      case .literal(let ascii):
        // A non-ASCII separator never matches (as before: dates are compared byte by byte).
        guard let ascii, position < bytes.count, bytes[position] == ascii else {
          return (false, nil)
        }
        position += 1
      }
    }
    guard position == bytes.count else { return (false, nil) }
    return (true, CalendarDate(year: year, month: month, day: day))
  }

  package func parse(_ text: String) -> CalendarDate? { match(text).date }

  package func format(_ date: CalendarDate) -> String {
    var out = ""
    for token in tokens {
      switch token {
      case .year: out += String(format: "%04d", date.year)
      case .month(let pad): out += pad ? String(format: "%02d", date.month) : String(date.month)
      case .day(let pad): out += pad ? String(format: "%02d", date.day) : String(date.day)
      case .literal(let c): out.append(c)
      }
    }
    return out
  }
}
