import Foundation
import SISDropCore

/// Publishes a batch's delivery files into the outbox so that a reader never sees half a file.
///
/// Each file is copied into a staging folder inside the outbox (same filesystem), fsynced, and
/// renamed into place; the outbox folder is fsynced; the batch trigger `<batch>.ready` (each
/// file's SHA-256, size and rows) comes last. Publishing the same content again is a no-op;
/// different content under a published name is refused. A delivery with no data row in any file (a
/// night that delivers nothing, a tardy export already sent) publishes nothing: no file, no ready file.
package enum Publisher {
  package static func readyName(_ batch: String) -> String { "\(batch).ready" }
  static let stagingName = ".sisdrop-staging"

  /// Whether the delivery a ready file lists carries a record: header-only files are never published.
  package static func delivers(_ readyPath: String) throws -> Bool {
    try entries(readyPath).contains { $0.rows > 0 }
  }

  /// The entries of a ready file: name, SHA-256, size, rows.
  static func entries(_ readyPath: String) throws -> [(
    name: String, sha256: String, size: Int64, rows: Int
  )] {
    try BatchLifecycle.readTable(readyPath).map {
      ($0[0], $0[1], Int64($0[2]) ?? -1, Int($0[3]) ?? -1)
    }
  }

  /// Publishes the files a deliver folder lists in its ready file.
  ///
  /// - Throws: `SISDropError` 73 when the outbox already holds different content under a name.
  package static func publish(batch: String, deliverFolder: String, outbox: String) throws
    -> [FileRecord]
  {
    guard FileSystem.isDirectory(outbox) else {
      throw SISDropError(
        .cannotCreate, "the outbox folder does not exist", at: SourceLocation(path: outbox),
        hint: "create it, or set paths.outbox in the pipeline config")
    }
    let ready = readyName(batch)
    guard try delivers(deliverFolder + "/" + ready) else { return [] }
    let staging = outbox + "/" + stagingName
    try FileSystem.makeDirectory(staging)
    var published: [FileRecord] = []
    let names = try entries(deliverFolder + "/" + ready).map(\.name) + [ready]
    // A bundle folder (OneRoster) is published whole: staged, fsynced, renamed in one step.
    var folders: [String] = []
    for name in names where name.contains("/") {
      let folder = String(name.split(separator: "/")[0])
      if !folders.contains(folder) { folders.append(folder) }
    }
    for folder in folders {
      let members = names.filter { $0.hasPrefix(folder + "/") }
      let target = outbox + "/" + folder
      if FileSystem.isDirectory(target) {
        for name in members {
          let record = try FileRecord.of(deliverFolder + "/" + name, relativeTo: deliverFolder)
          guard FileSystem.exists(outbox + "/" + name),
            try SHA256.file(at: outbox + "/" + name).sha256 == record.sha256
          else {
            throw SISDropError(
              .cannotCreate, "the outbox already holds a different \(folder) for batch \(batch)",
              at: SourceLocation(path: target),
              hint:
                "a published delivery is never overwritten: if the SIS has not imported it, remove it from the outbox and deliver again"
            )
          }
          published.append(record)
        }
        continue
      }
      let temporary = staging + "/" + folder
      try FileSystem.removeTree(temporary)
      try FileSystem.makeDirectory(temporary)
      for name in members {
        // A documents folder nests a folder per submission.
        try FileSystem.makeDirectory((staging + "/" + name as NSString).deletingLastPathComponent)
        try FileSystem.copyFile(deliverFolder + "/" + name, to: staging + "/" + name)
        published.append(try FileRecord.of(deliverFolder + "/" + name, relativeTo: deliverFolder))
      }
      try FileSystem.syncTree(temporary)
      try FileSystem.rename(temporary, to: target)
      try FileSystem.syncDirectory(outbox)
    }
    for name in names where !name.contains("/") {
      let source = deliverFolder + "/" + name
      let target = outbox + "/" + name
      let record = try FileRecord.of(source, relativeTo: deliverFolder)
      if FileSystem.exists(target) {
        let existing = try SHA256.file(at: target)
        guard existing.sha256 == record.sha256 else {
          throw SISDropError(
            .cannotCreate, "the outbox already holds a different \(name) for batch \(batch)",
            at: SourceLocation(path: target),
            hint:
              "a published delivery is never overwritten: if the SIS has not imported it, remove it from the outbox and deliver again"
          )
        }
        published.append(record)
        continue
      }
      let temporary = staging + "/" + name
      try FileSystem.removeTree(temporary)
      try FileSystem.copyFile(source, to: temporary)
      try FileSystem.rename(temporary, to: target)
      try FileSystem.syncDirectory(outbox)
      published.append(record)
    }
    return published
  }

  /// Checks that the outbox holds what the deliver folder lists, byte for byte.
  package static func verify(batch: String, deliverFolder: String, outbox: String) throws
    -> [FileRecord]
  {
    let ready = readyName(batch)
    guard try delivers(deliverFolder + "/" + ready) else { return [] }  // nothing was published
    var records: [FileRecord] = []
    for name in try entries(deliverFolder + "/" + ready).map(\.name) + [ready] {
      let target = outbox + "/" + name
      guard FileSystem.exists(target) else {
        throw SISDropError(
          .dataError, "\(name) is not in the outbox", at: SourceLocation(path: outbox),
          hint:
            "publish it again with `sisdrop-deliver --batch \(batch.split(separator: "-r").first.map(String.init) ?? batch)` (after publication a rerun reproduces the published files and republishes them)"
        )
      }
      let expected = try FileRecord.of(deliverFolder + "/" + name, relativeTo: deliverFolder)
      let found = try SHA256.file(at: target)
      guard found.sha256 == expected.sha256 else {
        throw SISDropError(
          .dataError, "\(name) in the outbox differs from the batch's delivery",
          at: SourceLocation(path: target),
          hint: "the outbox file was changed after publishing: restore it from \(deliverFolder)")
      }
      records.append(expected)
    }
    return records
  }
}
