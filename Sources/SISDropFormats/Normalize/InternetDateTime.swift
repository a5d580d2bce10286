import Foundation

/// RFC 3339 date-times (`2026-11-01T08:00:00-06:00`, `2026-11-01T14:00:00Z`) read and written by
/// hand for the common, exact shape. `ISO8601DateFormatter` on Linux goes through ICU and cost
/// ~0.5 ms per approval time (two formatters per call): 5 of the 10 s that normalize took for
/// 10,000 submissions. Anything outside the exact shape — fractional seconds, lower-case letters,
/// odd offsets, years outside 1900–2199 — returns nil, and the caller takes Foundation's path, so
/// the results are Foundation's (FieldRulesTests compares the two over many instants and zones).
package enum InternetDateTime {
  /// Seconds since 1970 for `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM`.
  package static func parse(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { b -> Int64? in
      guard b.count == 20 || b.count == 25 else { return nil }
      func number(_ from: Int, _ count: Int) -> Int? {
        var value = 0
        for i in from..<(from + count) {
          let byte = b[i]
          guard byte >= 0x30 && byte <= 0x39 else { return nil }
          value = value * 10 + Int(byte - 0x30)
        }
        return value
      }
      guard b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A,
        let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
        let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
        (1900...2199).contains(year), (1...12).contains(month), day >= 1,
        day <= daysIn(month, year),
        hour < 24, minute < 60, second < 60
      else { return nil }
      var offset = 0
      if b.count == 20 {
        guard b[19] == 0x5A else { return nil }  // Z
      } else {
        guard b[19] == 0x2B || b[19] == 0x2D, b[22] == 0x3A, let oh = number(20, 2),
          let om = number(23, 2), oh < 24, om < 60
        else { return nil }
        offset = (oh * 3600 + om * 60) * (b[19] == 0x2D ? -1 : 1)
      }
      let days = daysFromCivil(year, month, day)
      return Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }
  }

  /// `YYYY-MM-DDTHH:MM:SS±HH:MM` in `zone` (`Z` when the offset is zero), or nil outside the
  /// shapes written here (an offset with seconds, a year outside 1900–2199).
  static func format(_ seconds: Int64, zone: TimeZone) -> String? {
    let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    guard offset % 60 == 0 else { return nil }
    let local = seconds + Int64(offset)
    let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    let time = Int(local - Int64(days) * 86_400)
    let (year, month, day) = civilFromDays(days)
    guard (1900...2199).contains(year) else { return nil }
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    var out =
      "\(year)-\(two(month))-\(two(day))T\(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60))"
    if offset == 0 {
      out += "Z"
    } else {
      let magnitude = abs(offset)
      out += "\(offset < 0 ? "-" : "+")\(two(magnitude / 3600)):\(two(magnitude / 60 % 60))"
    }
    return out
  }

  /// Whether the text may carry a zone (`Z`, `+hh:mm`, or `-hh:mm` after the date): only then can
  /// Foundation's RFC 3339 reader take it; a time without a zone is read in the district's zone.
  static func mayHaveZone(_ text: String) -> Bool {
    var index = 0
    for byte in text.utf8 {
      if byte == 0x5A || byte == 0x7A || byte == 0x2B || (byte == 0x2D && index >= 10) {
        return true
      }
      index += 1
    }
    return false
  }

  /// The instant of a wall-clock time in `zone` (seconds since 1970 as if the wall clock were UTC),
  /// when the zone keeps one offset from two days before to two days after: then the wall time
  /// exists exactly once. Near a daylight-saving change (a skipped or repeated hour) this returns
  /// nil and the caller asks Foundation's calendar, which decides those.
  static func instant(localSeconds: Int64, zone: TimeZone) -> Int64? {
    func offset(_ seconds: Int64) -> Int {
      zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
    let before = offset(localSeconds - 2 * 86_400)
    let after = offset(localSeconds + 2 * 86_400)
    guard before == after, offset(localSeconds) == before else { return nil }
    return localSeconds - Int64(before)
  }

  static func daysIn(_ month: Int, _ year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
  static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  /// The date of a day count since 1970-01-01 (`civil_from_days`).
  static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }
}
