import Foundation

/// The configurable CSV delivery profile: which columns each delivery file has, checked against
/// the Plugin.xml field policy before anything is written.
struct CSVProfile {
  let config: CSVProfileConfig

  /// Columns that are references, not SIS fields: not subject to the field policy.
  static let references: Set<String> = ["Submission_ID", "Student_Ref"]
  /// Key columns: written to identify an SIS record, so they need read access, not write access.
  static let keys: [String: Set<String>] = [
    "students_update": ["Student_Number"], "contacts": ["Contact_ID", "Student_Number"], "documents": ["Student_Number"],
  ]
  static let tables = ["students_new": "Students", "students_update": "Students", "contacts": "Contacts", "documents": "Documents"]

  /// - Throws: `SISDropError` 78 naming the column, table and field a Plugin.xml does not grant.
  func checkPolicy(_ plugin: PluginManifest?, pluginPath: String?) throws {
    guard let plugin else { return }
    for (file, columns) in config.files.sorted(by: { $0.key < $1.key }) {
      let table = CSVProfile.tables[file] ?? "Students"
      if file == "documents" { continue }  // documents are files the SIS attaches, not table fields
      for column in columns where !CSVProfile.references.contains(column.field) {
        let isKey = CSVProfile.keys[file]?.contains(column.field) ?? false
        let granted = isKey ? plugin.canRead(table: table, field: column.field) : plugin.canWrite(table: table, field: column.field)
        if !granted {
          throw SISDropError.configuration(
            "delivery column '\(column.name)' of \(file) writes \(table).\(column.field), which Plugin.xml does not grant \(isKey ? "access to" : "FullAccess")",
            at: SourceLocation(path: pluginPath ?? "Plugin.xml"),
            hint: "grant it in Plugin.xml's access_request, or remove the column from delivery.csv.files.\(file) in the pipeline config")
        }
      }
    }
  }

  /// A delivery value as the profile writes it (dates in the profile's format).
  func value(_ field: String, _ raw: String) -> String {
    if field == "DOB", let date = CalendarDate(iso: raw) { return config.dateFormat.format(date) }
    return raw
  }
}
