import Foundation

/// The daily run window (the seed's "4:00 PM CST"): a local start time in an IANA zone and a length.
///
/// The start is a wall-clock time, so it moves in UTC across daylight-saving changes (16:00 in
/// Chicago is 22:00 UTC in winter, 21:00 UTC in summer). The length is elapsed time. A start that
/// does not exist on a spring-forward day (02:30) falls at the first instant after the gap
/// (03:00); one that occurs twice on a fall-back day takes the first occurrence.
package struct RunWindow: Sendable, Equatable, CustomStringConvertible {
  package var hour: Int
  package var minute: Int
  package var length: TimeInterval
  package var timeZone: TimeZone

  package init(hour: Int, minute: Int, length: TimeInterval, timeZone: TimeZone) {
    self.hour = hour
    self.minute = minute
    self.length = length
    self.timeZone = timeZone
  }

  private var calendar: Calendar {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    return calendar
  }

  /// The window's opening on the local calendar day that contains `date`.
  package func opening(onDayOf date: Date) -> Date {
    let calendar = calendar
    let day = calendar.startOfDay(for: date)
    let components = DateComponents(hour: hour, minute: minute)
    // Searching forward from the day's start with `.nextTime` gives the first instant at or after
    // the wall-clock time: the DST gap and repeat rules in the type's comment.
    let start = day.addingTimeInterval(-1)
    return calendar.nextDate(
      after: start, matching: components, matchingPolicy: .nextTime, repeatedTimePolicy: .first,
      direction: .forward) ?? day
  }

  /// The window open at `date`, if any.
  package func interval(containing date: Date) -> DateInterval? {
    let calendar = calendar
    for offset in [0, -1] {
      guard let day = calendar.date(byAdding: .day, value: offset, to: date) else { continue }
      let start = opening(onDayOf: day)
      if start <= date && date < start.addingTimeInterval(length) {
        return DateInterval(start: start, duration: length)
      }
    }
    return nil
  }

  package func isOpen(at date: Date) -> Bool { interval(containing: date) != nil }

  /// The next opening strictly after `date`.
  package func nextOpening(after date: Date) -> Date {
    let calendar = calendar
    for offset in 0...2 {
      guard let day = calendar.date(byAdding: .day, value: offset, to: date) else { continue }
      let start = opening(onDayOf: day)
      if start > date { return start }
    }
    return date.addingTimeInterval(86_400)
  }

  package var description: String {
    let hours = Int(length) / 3600
    let minutes = (Int(length) % 3600) / 60
    let duration = minutes == 0 ? "\(hours)h" : hours == 0 ? "\(minutes)m" : "\(hours)h\(minutes)m"
    return String(format: "%02d:%02d", hour, minute) + " \(timeZone.identifier) for \(duration)"
  }
}
