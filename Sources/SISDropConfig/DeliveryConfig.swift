import Foundation
import SISDropCore
import SISDropFormats

/// Which delivery profile a pipeline writes (`delivery.profile`).
package enum DeliveryProfileKind: String, Sendable, CaseIterable {
  /// The configurable column layout (`delivery.csv`).
  case csv
  /// OneRoster 1.1 CSV bundles (`delivery.oneroster`).
  case oneroster
  /// One XML element per record, written with libxml2's xmlTextWriter.
  case xml
}

/// OneRoster 1.1 CSV options.
package struct OneRosterConfig: Sendable {
  /// Delta: only changes, `status` and `dateLastModified` filled. Bulk (each file the whole set)
  /// is refused: a batch is a night's changes, and an importer drops what a bulk file leaves out.
  package enum Mode: String, Sendable, CaseIterable { case delta }
  package var mode: Mode = .delta
  /// `source.systemName` in manifest.csv.
  package var systemName = "sisdrop"
}

/// The `delivery` section beyond the CSV layout: which profile, and its options.
package struct DeliveryConfig: Sendable {
  package var profile: DeliveryProfileKind = .csv
  package var oneRoster = OneRosterConfig()
  /// `delivery.create`: whether the SIS import can create students / contacts. When it cannot, a
  /// new one is never written: its submission stays pending, held with that reason.
  package var createStudents = true
  package var createContacts = true
  /// `delivery.documents_folder`: the outbox folder a delivery's document files go in, as
  /// `<folder>/<Submission_ID>/<File_Name>`; `{batch}` is the delivery's id (`<batch>` or
  /// `<batch>-rK`), so that each delivery has a folder of its own, published whole.
  package var documentsFolder = "{batch}_documents"

  static let keys = ["profile", "csv", "oneroster", "create", "documents_folder"]

  /// The documents folder of one delivery (`20261123-01_documents`).
  package func documentsFolder(for delivery: String) -> String {
    documentsFolder.replacingOccurrences(of: "{batch}", with: delivery)
  }

  /// Reads `delivery.profile` and `delivery.oneroster` (the CSV layout is read by PipelineConfig).
  mutating func parse(_ keys: [String: ConfigNode]) throws {
    if let profile = keys["profile"] {
      let name = try profile.string()
      guard let kind = DeliveryProfileKind(rawValue: name) else {
        throw profile.error(
          "unknown delivery profile '\(name)'", hint: "one of: csv, oneroster, xml")
      }
      self.profile = kind
    }
    if let node = try keys["oneroster"]?.mapping(allowed: ["mode", "system_name"]) {
      if let mode = node["mode"] {
        if try mode.string() == "bulk" {
          throw mode.error(
            "delivery.oneroster.mode: bulk is refused for batch delivery: a OneRoster 1.1 bulk file is the whole roster, and an importer deactivates every user, org and enrollment it leaves out, while a batch holds only the night's new and changed records",
            hint: "use mode: delta (the default)")
        }
        oneRoster.mode = try mode.choice(OneRosterConfig.Mode.self)
      }
      if let name = node["system_name"] { oneRoster.systemName = try name.string() }
    }
    if let node = keys["documents_folder"] {
      let name = try node.string()
      guard name.contains("{batch}"),
        FileNames.isPlain(name.replacingOccurrences(of: "{batch}", with: "B"))
      else {
        throw node.error(
          "delivery.documents_folder '\(LogText.escaped(name))' must be one folder name of the outbox that contains {batch}",
          hint:
            "e.g. {batch}_documents (the default): each delivery's documents in a folder of their own"
        )
      }
      documentsFolder = name
    }
    if let node = try keys["create"]?.mapping(allowed: ["students", "contacts"]) {
      if let value = node["students"] { createStudents = try value.bool() }
      if let value = node["contacts"] { createContacts = try value.bool() }
    }
  }

  /// Whether the SIS import may be sent new records of `kind` (updates and documents always).
  package func creates(_ kind: DeliveryKind) -> Bool {
    switch kind {
    case .studentsNew: return createStudents
    case .contactsNew: return createContacts
    default: return true
    }
  }

  /// Every option at its default.
  package init() {}
}
