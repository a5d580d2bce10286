import Foundation
import SISDropFormats

/// How sisdrop runs unattended: the `pickup`, `schedule` and `notifications` sections of a pipeline file.
///
/// ```yaml
/// pickup:
///   quiet_seconds: 120            # a file is claimed only once unchanged this long (default 120)
///   check_writers: true           # and only when no process holds it open for writing (Linux /proc)
///   triggers:                     # optional, per feed: claim the feed only once this file is there
///     submissions: submissions.manifest
/// schedule:
///   enabled: true
///   window: {start: "16:00", length: 8h, time_zone: America/Chicago}
///   retry: {first: 5m, max: 1h}
/// notifications:
///   to: [sis-admin@district.example]
///   from: sisdrop@district.example
///   sendmail: /usr/sbin/sendmail -t -i
/// ```
package struct OperationsConfig: Sendable {
  package var pickup = PickupConfig()
  package var schedule = ScheduleConfig()
  package var notifications = NotificationConfig()

  static let topKeys = ["pickup", "schedule", "notifications"]

  /// Parses the operations sections of a pipeline file's top-level mapping.
  /// A section's error is recorded in `problems` and the next section is read.
  static func parse(_ root: [String: ConfigNode], districtZone: TimeZone, problems: ConfigProblems)
    -> OperationsConfig
  {
    var config = OperationsConfig()
    problems.attempt { try parsePickup(root, into: &config) }
    config.schedule.window = RunWindow(
      hour: 16, minute: 0, length: 8 * 3600, timeZone: districtZone)
    problems.attempt { try parseSchedule(root, districtZone: districtZone, into: &config) }
    problems.attempt { try parseNotifications(root, into: &config) }
    return config
  }

  private static func parsePickup(_ root: [String: ConfigNode], into config: inout OperationsConfig)
    throws
  {
    if let pickup = try root["pickup"]?.mapping(allowed: [
      "quiet_seconds", "check_writers", "triggers",
    ]) {
      if let value = pickup["quiet_seconds"] {
        config.pickup.quietSeconds = TimeInterval(try value.int(in: 0...86_400))
      }
      if let value = pickup["check_writers"] { config.pickup.checkWriters = try value.bool() }
      if let triggers = pickup["triggers"] {
        for (feed, value) in try triggers.freeMapping() {
          guard PickupConfig.feeds.contains(feed) else {
            throw value.error(
              "unknown feed '\(feed)'",
              hint: "one of: \(PickupConfig.feeds.joined(separator: ", "))")
          }
          let name = try value.string()
          guard !name.isEmpty, !name.contains("/"), !FileNames.isTemporaryUpload(name) else {
            throw value.error(
              "'\(name)' cannot be a trigger file name",
              hint: "a plain file name in the inbox, e.g. \(feed).manifest")
          }
          config.pickup.triggers[feed] = name
        }
      }
    }
  }

  private static func parseSchedule(
    _ root: [String: ConfigNode], districtZone: TimeZone, into config: inout OperationsConfig
  ) throws {
    if let schedule = try root["schedule"]?.mapping(allowed: ["enabled", "window", "retry"]) {
      config.schedule.scheduled = true
      if let value = schedule["enabled"] { config.schedule.enabled = try value.bool() }
      if let window = schedule["window"] {
        if case .scalar = window.node, try window.string() == "any" {
          config.schedule.window = nil
        } else {
          let keys = try window.mapping(allowed: ["start", "length", "time_zone"])
          var parsed = RunWindow(hour: 16, minute: 0, length: 8 * 3600, timeZone: districtZone)
          if let start = keys["start"] {
            let text = try start.string()
            let parts = text.split(separator: ":").map { Int($0) }
            guard parts.count == 2, let hour = parts[0], let minute = parts[1],
              (0..<24).contains(hour), (0..<60).contains(minute)
            else {
              throw start.error(
                "'\(text)' is not a time of day",
                hint: "write HH:MM on a 24-hour clock, e.g. \"16:00\" (quoted)")
            }
            parsed.hour = hour
            parsed.minute = minute
          }
          if let length = keys["length"] {
            let seconds = try duration(length)
            guard seconds >= 60, seconds <= 24 * 3600 else {
              throw length.error("a window lasts between 1m and 24h")
            }
            parsed.length = seconds
          }
          if let zone = keys["time_zone"] {
            let id = try zone.string()
            guard let timeZone = TimeZone(identifier: id) else {
              throw zone.error(
                "'\(id)' is not an IANA time zone", hint: "use a name such as America/Chicago")
            }
            parsed.timeZone = timeZone
          }
          config.schedule.window = parsed
        }
      }
      if let retry = try schedule["retry"]?.mapping(allowed: ["first", "max"]) {
        if let value = retry["first"] { config.schedule.retry.first = try duration(value) }
        if let value = retry["max"] { config.schedule.retry.maximum = try duration(value) }
        guard config.schedule.retry.first > 0,
          config.schedule.retry.maximum >= config.schedule.retry.first
        else {
          throw (retry["max"] ?? retry["first"]!).error(
            "retry.first must be above zero and retry.max at least retry.first")
        }
      }
    } else {
      // No schedule section: runs whenever called (development, the demo); the status is still kept.
      config.schedule.window = nil
    }
  }

  private static func parseNotifications(
    _ root: [String: ConfigNode], into config: inout OperationsConfig
  ) throws {
    if let notifications = try root["notifications"]?.mapping(allowed: [
      "to", "from", "sendmail", "folder", "remind_after_days",
    ]) {
      if let to = notifications["to"] {
        let addresses = try to.stringList()
        for address in addresses where !NotificationConfig.isPlainAddress(address) {
          throw to.error(
            "'\(address)' is not a plain e-mail address",
            hint: "write local@domain, one per list item")
        }
        config.notifications.to = addresses
      }
      if let from = notifications["from"] {
        let address = try from.string()
        guard NotificationConfig.isPlainAddress(address) else {
          throw from.error("'\(address)' is not a plain e-mail address")
        }
        config.notifications.from = address
      }
      if let sendmail = notifications["sendmail"] {
        let words: [String]
        if case .sequence = sendmail.node {
          words = try sendmail.stringList()
        } else {
          words = try sendmail.string().split(separator: " ").map(String.init)
        }
        guard let program = words.first, program.hasPrefix("/") else {
          throw sendmail.error(
            "the sendmail command needs an absolute path", hint: "e.g. /usr/sbin/sendmail -t -i")
        }
        config.notifications.sendmail = words
      }
      if let folder = notifications["folder"] { config.notifications.folder = try folder.string() }
      if let days = notifications["remind_after_days"] {
        config.notifications.remindAfterDays = try days.int(in: 1...365)
      }
    }
  }

  /// `90s`, `5m`, `8h`, `1h30m`, or a number of seconds.
  static func duration(_ node: ConfigNode) throws -> TimeInterval {
    let text = try node.string()
    if let seconds = Int(text) { return TimeInterval(seconds) }
    var total = 0
    var number = ""
    for character in text {
      if character.isNumber {
        number.append(character)
      } else if let value = Int(number), let unit = ["s": 1, "m": 60, "h": 3600][String(character)]
      {
        total += value * unit
        number = ""
      } else {
        throw node.error("'\(text)' is not a duration", hint: "write e.g. 90s, 5m, 8h or 1h30m")
      }
    }
    guard number.isEmpty, total > 0 else {
      throw node.error("'\(text)' is not a duration", hint: "write e.g. 90s, 5m, 8h or 1h30m")
    }
    return TimeInterval(total)
  }
}

/// When an inbox file counts as completely uploaded.
package struct PickupConfig: Sendable {
  /// The feeds a trigger can be configured for.
  package static let feeds = ["sis_export", "sis_delta", "submissions"]
  /// A file is claimed only once its status (size, contents, times) has not changed for this long.
  package var quietSeconds: TimeInterval = 120
  /// Whether to refuse files some process holds open for writing (Linux `/proc`).
  package var checkWriters = true
  /// Feed → the trigger (or manifest) file whose arrival says the feed is complete.
  package var triggers: [String: String] = [:]
}

/// When sisdrop runs, and how it retries.
package struct ScheduleConfig: Sendable {
  /// False when the pipeline has no `schedule` section: runs whenever called.
  package var scheduled = false
  package var enabled = true
  /// Nil: runs at any time.
  package var window: RunWindow?
  package var retry = RetryPolicy()

  package init() {}
}

/// Backoff between attempts after a failure: doubling from `first` up to `maximum`.
package struct RetryPolicy: Sendable, Equatable {
  package var first: TimeInterval = 5 * 60
  package var maximum: TimeInterval = 60 * 60

  package init(first: TimeInterval = 5 * 60, maximum: TimeInterval = 60 * 60) {
    self.first = first
    self.maximum = maximum
  }

  /// The wait after the `failures`-th failure in a row (1, 2, ...).
  package func delay(afterFailures failures: Int) -> TimeInterval {
    let doubled = first * pow(2, Double(max(0, min(failures - 1, 30))))
    return min(doubled, maximum)
  }
}

/// Who hears about status changes, failed runs and review queues.
package struct NotificationConfig: Sendable {
  package var to: [String] = []
  package var from = "sisdrop@localhost"
  /// A command that reads an RFC 5322 message on stdin, e.g. `/usr/sbin/sendmail -t -i`.
  package var sendmail: [String]?
  /// Relative to the working directory.
  package var folder = "notifications"
  /// Nights an item may wait for a person before the queue is mailed again as a reminder.
  package var remindAfterDays = 3

  /// `local@domain` without display names, spaces or header-breaking characters.
  static func isPlainAddress(_ text: String) -> Bool {
    let parts = text.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[1].contains(".") || parts[1] == "localhost"
    else { return false }
    return text.allSatisfy { $0.isASCII && !$0.isWhitespace && !"<>,;:\"()[]\\".contains($0) }
  }
}
