import Foundation

/// The version written into every stage.json and manifest.
package enum SISDropVersion {
  package static let current = "0.1.0"
}

/// Timestamps for stage.json and manifests (never in stage outputs).
package enum Clock {
  package static func now() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date())
  }

  /// Reads a timestamp `now()` wrote (with or without fractional seconds).
  package static func parse(_ text: String) -> Date? {
    (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
      ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
  }
}
