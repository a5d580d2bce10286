import Foundation
import SISDropCore
import SISDropFormats

// `sisdrop-bench-phases --timestamps SUBMISSIONS.csv ZONE`: the approval times of a submissions
// file (its Approved_At column, as the normalize stage reads them) through the stage's reader
// (`TimestampReader`: Date.ISO8601FormatStyle and the Gregorian calendar, built once) and through
// the hand-written reader it replaced (`HandWrittenTimestamp` below, kept here as the reference),
// one thread, in the same run; thread CPU time per value, the ratio, and whether both wrote the
// same text for every value. Each figure is the best of REPEAT (environment, default 5) passes.

func threadCPUSeconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

struct TimestampBenchError: Error, CustomStringConvertible {
  let message: String
  var description: String { message }
}

func runTimestampBench(submissionsPath: String, zoneName: String) throws -> [String: Any] {
  guard let zone = TimeZone(identifier: zoneName) else {
    throw TimestampBenchError(message: "unknown time zone \(zoneName)")
  }
  let repeats = Int(ProcessInfo.processInfo.environment["REPEAT"] ?? "") ?? 5
  let reader = try CSVTableReader(
    path: submissionsPath, layout: Layouts.submissions, dialect: CSVDialect())
  let column = Layouts.submissions.index(of: "Approved_At")!
  var read: [String] = []
  while let record = try reader.next() { read.append(record.values[column]) }
  // Small files (the demo's) are read over and over, so that a pass lasts long enough to time.
  var values: [String] = []
  while values.count < 50_000 && !read.isEmpty { values += read }
  let patterns: [DatePattern] = [.monthDayYear, .iso]

  func best(_ body: () -> [String?]) -> (seconds: Double, out: [String?]) {
    var best = Double.infinity
    var out: [String?] = []
    for _ in 0..<repeats {
      let start = threadCPUSeconds()
      out = body()
      best = min(best, threadCPUSeconds() - start)
    }
    return (best, out)
  }
  let timestampReader = TimestampReader(zone: zone)
  let styles = best { values.map { timestampReader.read($0, datePatterns: patterns) } }
  let hand = best {
    values.map {
      HandWrittenTimestamp.timestamp($0, zone: zone, datePatterns: patterns, slow: timestampReader)
    }
  }
  let perCall = best {
    values.map { FieldRules.timestamp($0, zone: zone, datePatterns: patterns) }
  }
  func micro(_ seconds: Double) -> Double { (seconds / Double(values.count) * 1e7).rounded() / 10 }
  return [
    "file_values": read.count, "values": values.count, "repeat": repeats, "zone": zoneName,
    "read": styles.out.filter { $0 != nil }.count,
    "same_text": styles.out == hand.out && perCall.out == hand.out,
    "format_style_us": micro(styles.seconds),
    "hand_written_us": micro(hand.seconds),
    "format_style_per_call_us": micro(perCall.seconds),
    // Above 2 would justify keeping a hand-written reader (issue 15).
    "hand_written_speedup": (styles.seconds / hand.seconds * 100).rounded() / 100,
  ]
}

/// The hand-written RFC 3339 reader the normalize stage used until issue 15 (InternetDateTime):
/// the exact `YYYY-MM-DDTHH:MM:SS(Z|±HH:MM)` shape and wall-clock times away from a daylight-saving
/// change by hand, everything else through `slow`. The benchmark's reference only.
enum HandWrittenTimestamp {
  static func timestamp(
    _ value: String, zone: TimeZone, datePatterns: [DatePattern], slow: TimestampReader
  ) -> String? {
    let v = FieldRules.text(value)
    if v.isEmpty { return nil }
    if let seconds = parse(v), let written = format(seconds, zone: zone) { return written }
    if FieldRules.mayHaveZone(v) { return slow.read(v, datePatterns: datePatterns) }
    guard let local = FieldRules.localTime(v, datePatterns: datePatterns) else { return nil }
    if (1900...2199).contains(local.day.year) {
      let seconds =
        Int64(daysFromCivil(local.day.year, local.day.month, local.day.day)) * 86_400
        + Int64(local.hour * 3600 + local.minute * 60 + local.second)
      if let instant = instant(localSeconds: seconds, zone: zone),
        let written = format(instant, zone: zone)
      {
        return written
      }
    }
    return slow.read(v, datePatterns: datePatterns)
  }

  static func parse(_ text: String) -> Int64? {
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

  static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

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
