import Foundation

/// The `confirm` section: how later SIS exports, and the SIS import's results file, confirm what
/// was delivered.
package struct ConfirmConfig: Sendable {
  /// SIS exports a delivered record may take to show up before it is unconfirmed (`within_exports`).
  package var withinExports = 2
  package var results = ImportResultsLayout()

  static let keys = ["within_exports", "results"]

  mutating func parse(_ node: ConfigNode) throws {
    let keys = try node.mapping(allowed: ConfirmConfig.keys)
    if let value = keys["within_exports"] { withinExports = try value.int(in: 1...365) }
    if let value = keys["results"] { try results.parse(value) }
  }
}

/// The SIS import's results file, when the district drops one into the inbox: one row per imported
/// row, its key, its status and a message (`confirm.results`). Column names are configurable; the
/// table column is optional (without it a key names every delivered record it could be).
package struct ImportResultsLayout: Sendable {
  package var file = "import_results.csv"
  package var key = "Key"
  package var status = "Status"
  package var message = "Message"
  package var table = "Table"
  /// Status values that mean the row was imported (compared without case).
  package var ok = ["ok", "success", "imported", "inserted", "updated", "created"]

  mutating func parse(_ node: ConfigNode) throws {
    let keys = try node.mapping(allowed: ["file", "key", "status", "message", "table", "ok"])
    if let value = keys["file"] {
      file = try value.string()
      guard !file.contains("/"), !file.hasPrefix("."), !file.isEmpty else {
        throw value.error("a file name in the inbox, without a folder")
      }
    }
    if let value = keys["key"] { key = try value.string() }
    if let value = keys["status"] { status = try value.string() }
    if let value = keys["message"] { message = try value.string() }
    if let value = keys["table"] { table = try value.string() }
    if let value = keys["ok"] { ok = try value.stringList() }
  }
}
