import Foundation

/// The names sisdrop accepts for a file or folder it creates or claims (configured file names,
/// submission ids used as folder names, uploaded document names), below the configuration that
/// names them and the inbox and documents that use them (`Inbox.isTemporaryName`,
/// `DocumentFiles.nameProblem` ask here).
package enum FileNames {
  /// Names a sender uses while a file is still being uploaded: never claimed.
  package static func isTemporaryUpload(_ name: String) -> Bool {
    name.hasPrefix(".") || name.hasSuffix(".part") || name.hasSuffix(".filepart")
      || name.hasSuffix(".tmp")
      || name.hasSuffix(".partial") || name.hasPrefix("~")
  }

  /// Why `name` cannot be the name of one uploaded file inside a submission's folder, or nil.
  package static func problem(_ name: String) -> String? {
    if name.isEmpty { return "is empty" }
    // C0, DEL, C1, the Unicode line separators and the bidirectional overrides (which make a name
    // read other than it is).
    if name.unicodeScalars.contains(where: {
      $0.properties.generalCategory == .control || (0x2028...0x202E).contains($0.value)
        || (0x2066...0x2069).contains($0.value)
    }) {
      return "contains a control character (a line break, a tab, an escape)"
    }
    if name.hasPrefix("/") { return "is an absolute path, not a file name" }
    let parts =
      name.split(separator: "/", omittingEmptySubsequences: false)
      + name.split(separator: "\\", omittingEmptySubsequences: false)
    if parts.contains(where: { $0 == ".." }) { return "leads out of the submission's folder (../)" }
    if name.contains("/") || name.contains("\\") { return "is a path, not a file name" }
    if name == "." { return "is not a file name" }
    if isTemporaryUpload(name) {
      return "is a hidden or temporary upload name, which sisdrop never claims"
    }
    if name.utf8.count > 255 { return "is longer than 255 bytes" }
    if FieldRules.text(name) != name {
      return
        "has spaces around it or doubled inside, or is not in Unicode NFC: the SIS would get another name"
    }
    return nil
  }

  /// A plain folder or file name (config values, submission ids used as folder names).
  package static func isPlain(_ name: String) -> Bool { problem(name) == nil }
}
