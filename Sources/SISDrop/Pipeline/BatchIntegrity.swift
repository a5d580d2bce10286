import Foundation
import SISDropCore

/// sisdrop's own files as inputs: a batch's claimed files are checked against the SHA-256 recorded
/// when they were claimed before a stage reads them and at close, and a sealed batch's files
/// against its manifest (`sisdrop verify`).
package enum BatchIntegrity {
  /// One file that is not what was recorded.
  package struct Mismatch: Sendable, Codable, Hashable, CustomStringConvertible {
    package var batch: String
    package var path: String
    package var recorded: String
    /// The file's SHA-256 now, or nil when it is gone.
    package var found: String?

    package var description: String {
      "\(path): recorded SHA-256 \(recorded), \(found.map { "now \($0)" } ?? "the file is missing")"
    }
  }

  /// The SHA-256 of each claimed file (`input/...`) as recorded when it was claimed
  /// (`inbox_files` in state.sqlite, else the manifest).
  static func claimedHashes(_ workdir: WorkDir, batch: String) throws -> [String: String] {
    var recorded: [String: String] = [:]
    for row in try workdir.state.database.rows(
      "SELECT name, sha256 FROM inbox_files WHERE batch_id = ?", [.text(batch)])
    {
      if let name = row[0].string, let sha = row[1].string { recorded["input/" + name] = sha }
    }
    if recorded.isEmpty,
      let manifest = try? BatchLifecycle.readManifest(folder: workdir.batchFolder(batch))
    {
      for input in manifest.inputs { recorded[input.path] = input.sha256 }
    }
    return recorded
  }

  /// Checks the batch's claimed inputs against the hashes recorded when they were claimed
  /// (`inbox_files` in state.sqlite, else the manifest).
  ///
  /// - Returns: the claimed files as checked, by path (`input/...`): the stage that reads them
  ///   records these in its stage.json rather than hashing them again.
  /// - Throws: `SISDropError` 65 naming the file and both hashes when one changed, is missing, or
  ///   a file was added to `input/` after the claim.
  @discardableResult
  package static func checkClaimed(_ workdir: WorkDir, batch: String) throws -> [String: FileRecord]
  {
    let folder = workdir.batchFolder(batch)
    let recorded = try claimedHashes(workdir, batch: batch)
    var checked: [String: FileRecord] = [:]
    let mismatches = try compare(recorded, batch: batch, base: folder, checked: &checked)
    let present = Set(
      ((try? DocumentFiles.files(below: folder + "/input")) ?? []).map { "input/" + $0 })
    if let added = present.subtracting(recorded.keys).sorted().first {
      throw SISDropError.dataError(
        "\(added) was added to batch \(batch) after its files were claimed",
        at: SourceLocation(path: folder + "/" + added),
        hint:
          "a batch reads only what it claimed: remove the file (a new export goes into the inbox for the next batch)"
      )
    }
    if let mismatch = mismatches.first {
      throw SISDropError.dataError(
        "claimed input \(mismatch.path) of batch \(batch) changed after it was claimed: recorded SHA-256 \(mismatch.recorded), now \(mismatch.found ?? "missing")",
        at: SourceLocation(path: folder + "/" + mismatch.path),
        hint:
          "a claimed file is never modified: put back the file as claimed (a copy is in the archive once a batch closes, or with the sender), or `sisdrop cancel` the batch and let the next export come"
      )
    }
    return checked
  }

  /// Checks a sealed batch's files against its manifest: the claimed inputs, every stage output,
  /// and the published files kept in `published/` and `redeliveries/`.
  package static func verify(_ workdir: WorkDir, batch: String) throws -> (
    checked: Int, mismatches: [Mismatch]
  ) {
    let folder = workdir.batchFolder(batch)
    let manifest: BatchManifest
    do { manifest = try BatchLifecycle.readManifest(folder: folder) } catch {
      throw SISDropError.dataError(
        "batch \(batch) has no readable manifest.json: \(error)",
        at: SourceLocation(path: folder + "/manifest.json"),
        hint: "restore the batch folder from a backup")
    }
    guard manifest.state != .open else {
      throw SISDropError(
        .usage, "batch \(batch) is open: its manifest is sealed by close",
        at: SourceLocation(path: folder),
        hint: "verify a closed batch; an open batch's inputs are checked before every stage")
    }
    var recorded: [String: String] = [:]
    for file in manifest.inputs + manifest.outputs { recorded[file.path] = file.sha256 }
    // Published files are named relative to their delivery folder: the kept copy is the one to check.
    let kept =
      [folder + "/published"] + ((try? Redelivery.all(workdir, batch: batch).map(\.folder)) ?? [])
    for file in manifest.published {
      if let copy = kept.first(where: { FileSystem.exists($0 + "/" + file.path) }) {
        recorded[relativePath(copy + "/" + file.path, to: folder)] = file.sha256
      }
    }
    return (recorded.count, try compare(recorded, batch: batch, base: folder))
  }

  static func compare(_ recorded: [String: String], batch: String, base: String) throws
    -> [Mismatch]
  {
    var checked: [String: FileRecord] = [:]
    return try compare(recorded, batch: batch, base: base, checked: &checked)
  }

  /// `checked`: every file found as recorded, with its size.
  static func compare(
    _ recorded: [String: String], batch: String, base: String,
    checked: inout [String: FileRecord]
  ) throws -> [Mismatch] {
    var mismatches: [Mismatch] = []
    for (path, sha) in recorded.sorted(by: { $0.key < $1.key }) {
      let full = base + "/" + path
      guard FileSystem.exists(full) else {
        mismatches.append(Mismatch(batch: batch, path: path, recorded: sha, found: nil))
        continue
      }
      let (found, size) = try SHA256.file(at: full)
      if found != sha {
        mismatches.append(Mismatch(batch: batch, path: path, recorded: sha, found: found))
      } else {
        checked[path] = FileRecord(path: path, sha256: found, size: size)
      }
    }
    return mismatches
  }
}
