import Foundation

/// Which delivery profile a pipeline writes (`delivery.profile`).
public enum DeliveryProfileKind: String, Sendable, CaseIterable {
  /// The configurable column layout (`delivery.csv`).
  case csv
  /// OneRoster 1.1 CSV bundles (`delivery.oneroster`).
  case oneroster
  /// One XML element per record, written with libxml2's xmlTextWriter.
  case xml
}

/// OneRoster 1.1 CSV options.
public struct OneRosterConfig: Sendable {
  /// Bulk: every file is the whole set, `status`/`dateLastModified` blank. Delta: only changes, both filled.
  public enum Mode: String, Sendable, CaseIterable { case bulk, delta }
  public var mode: Mode = .delta
  /// `source.systemName` in manifest.csv.
  public var systemName = "sisdrop"
}

/// The `delivery` section beyond the CSV layout: which profile, and its options.
public struct DeliveryConfig: Sendable {
  public var profile: DeliveryProfileKind = .csv
  public var oneRoster = OneRosterConfig()

  static let keys = ["profile", "csv", "oneroster"]

  /// Reads `delivery.profile` and `delivery.oneroster` (the CSV layout is read by PipelineConfig).
  mutating func parse(_ keys: [String: ConfigNode]) throws {
    if let profile = keys["profile"] {
      let name = try profile.string()
      guard let kind = DeliveryProfileKind(rawValue: name) else {
        throw profile.error("unknown delivery profile '\(name)'", hint: "one of: csv, oneroster, xml")
      }
      self.profile = kind
    }
    if let node = try keys["oneroster"]?.mapping(allowed: ["mode", "system_name"]) {
      if let mode = node["mode"] { oneRoster.mode = try mode.choice(OneRosterConfig.Mode.self) }
      if let name = node["system_name"] { oneRoster.systemName = try name.string() }
    }
  }
}
