import Foundation
import SISDropCore
import SISDropStore

/// Which snapshot a batch matches against (`20-normalize/snapshot.json`): written by the normalize
/// stage (`write`), read through `read` / `load` by everything else (match, deliver, re-delivery,
/// confirmation, state rebuild, `sisdrop show`).
package struct SnapshotReference: Sendable, Codable, Hashable {
  package static let fileName = "snapshot.json"

  /// The batch whose normalize stage built the snapshot.
  package var builtBy: String
  /// Path relative to the working directory.
  package var path: String
  package var sha256: String
  package var summary: SnapshotSummary
  /// `full` (built from a full export), `delta` (the base snapshot with a delta applied); nil before deltas existed.
  package var mode: String? = nil
  /// For a delta: the snapshot it was applied to (batch and SHA-256): the chain that reproduces it.
  package var baseBatch: String? = nil
  package var baseSha256: String? = nil
  /// The batch whose full export the snapshot's chain starts from.
  package var fullExportBatch: String? = nil

  /// The snapshot file's path.
  package func absolutePath(_ workdir: WorkDir) -> String { workdir.root + "/" + path }

  /// Writes `snapshot.json` into a normalize output folder.
  func write(folder: String) throws {
    try FileSystem.writeNew(folder + "/" + Self.fileName, try RecordJSON.bytes(self))
  }

  /// The reference in a normalize folder, or nil when the folder has none.
  ///
  /// - Throws: `SISDropError` 65 naming the file when it cannot be read as a reference.
  static func read(folder: String) throws -> SnapshotReference? {
    let path = folder + "/" + fileName
    guard FileSystem.exists(path) else { return nil }
    do {
      return try RecordJSON.decode(SnapshotReference.self, from: try FileSystem.readFile(path))
    } catch let error as DecodingError {
      throw SISDropError.dataError(
        "unreadable snapshot reference: \(error)", at: SourceLocation(path: path),
        hint: "rerun the normalize stage")
    }
  }

  /// The snapshot batch `batch` matched against, as its normalize stage recorded it.
  ///
  /// - Throws: `SISDropError` 66 when the batch's normalize folder has no snapshot.json.
  package static func load(_ workdir: WorkDir, batch: String) throws -> SnapshotReference {
    let folder = workdir.stageFolder(batch, .normalize)
    guard let reference = try read(folder: folder) else {
      throw SISDropError.missingInput(folder + "/" + fileName)
    }
    return reference
  }
}
