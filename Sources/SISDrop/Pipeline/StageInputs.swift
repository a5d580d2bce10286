import Foundation
import SISDropConfig
import SISDropCore

/// One kind of thing a stage reads. `Stage.reads` declares each stage's; `StageRunner` records
/// every file of them in `stage.json` (`inputs`: path, SHA-256, size), so that a stage folder
/// says what it is a function of.
package enum StageInput: Sendable, Hashable {
  /// The batch's copy of the pipeline file (`pipeline.yaml`): every stage reads it.
  case pipeline
  /// Plugin.xml, as the pipeline names it (the field policy).
  case plugin
  /// building_map.csv, as the pipeline names it.
  case buildingMap
  /// The claimed enrollment export and its uploaded documents: every claimed file in `input/`
  /// but the SIS export.
  case claimedEnrollment
  /// The claimed SIS export, full or delta (`input/`).
  case claimedSISExport
  /// The uploaded documents the delivery copies (`input/<documents folder>/`).
  case claimedDocuments
  /// A file `open` wrote beside `input/`, when there is one (`refused_documents.csv`).
  case batchFile(String)
  /// Every file an earlier stage wrote (its stage.json aside).
  case outputs(of: Stage)
  /// One file an earlier stage wrote.
  case file(String, of: Stage)
  /// The SIS snapshot. For match and deliver: the one `20-normalize/snapshot.json` names. For
  /// normalize: the snapshot a delta was applied to, or the earlier one a batch without an SIS
  /// export refers to (a snapshot normalize builds is an output, not an input).
  case snapshot
}

extension Stage {
  /// What the stage reads, besides answers and the ledger in `state.sqlite` (rows, not files).
  /// ARCHITECTURE.md's table of the stages says the same.
  package var reads: [StageInput] {
    switch self {
    case .parse:
      return [.pipeline, .claimedEnrollment, .batchFile(DocumentFiles.refusedFileName)]
    case .normalize:
      return [.pipeline, .outputs(of: .parse), .claimedSISExport, .snapshot, .plugin, .buildingMap]
    case .match:
      return [.pipeline, .outputs(of: .normalize), .snapshot]
    case .deliver:
      return [
        .pipeline, .outputs(of: .match), .file("submissions.jsonl", of: .normalize),
        .file("rejects.csv", of: .normalize), .file("snapshot.json", of: .normalize),
        .file("rejects.csv", of: .parse), .snapshot, .plugin, .claimedDocuments,
      ]
    }
  }
}

/// Turns a stage's declared inputs into the file records of its stage.json. Hashes are computed
/// once: a claimed file's is the one `BatchIntegrity.checkClaimed` computed just before the stage
/// ran (and found equal to the claim's); a file already recorded (by path) is not hashed again.
/// Where a hash is not computed by this run, the record says where it comes from (`sha256_from`).
struct StageInputRecorder {
  let workdir: WorkDir
  let batch: String
  let config: PipelineConfig
  /// The claimed files (`input/...`) with the hashes checked before this run, or nil when the
  /// stage does not check them (match, deliver).
  let checked: [String: FileRecord]?
  /// The folder the stage is writing (normalize's snapshot.json is read from there).
  let output: String

  var batchFolder: String { workdir.batchFolder(batch) }

  /// The records, in the declaration's order, each path once.
  func records(for stage: Stage) throws -> [InputRecord] {
    var records: [InputRecord] = []
    var seen = Set<String>()
    for input in stage.reads {
      for record in try resolve(input, stage: stage) where seen.insert(record.path).inserted {
        records.append(record)
      }
    }
    return records
  }

  func resolve(_ input: StageInput, stage: Stage) throws -> [InputRecord] {
    switch input {
    case .pipeline:
      let path = batchFolder + "/pipeline.yaml"
      // config.sha256 is the hash of the bytes this run parsed.
      return [
        InputRecord(
          FileRecord(
            path: "pipeline.yaml", sha256: config.sha256, size: FileSystem.fileSize(path) ?? 0))
      ]
    case .plugin:
      return try config.pluginPath.map { [try hashed($0)] } ?? []
    case .buildingMap:
      return try config.buildingMapPath.map { [try hashed($0)] } ?? []
    case .claimedEnrollment:
      let export = sisExportNames()
      return try claimed().filter { !export.contains(String($0.path.dropFirst("input/".count))) }
    case .claimedSISExport:
      let export = sisExportNames()
      return try claimed().filter { export.contains(String($0.path.dropFirst("input/".count))) }
    case .claimedDocuments:
      let prefix = "input/" + config.submissions.documentsFolder + "/"
      return try claimed().filter { $0.path.hasPrefix(prefix) }
    case .batchFile(let name):
      let path = batchFolder + "/" + name
      return FileSystem.exists(path) ? [try hashed(path)] : []
    case .outputs(let earlier):
      return try StageRunner.outputs(of: workdir.stageFolder(batch, earlier), base: batchFolder)
        .map { InputRecord($0) }
    case .file(let name, let earlier):
      let path = workdir.stageFolder(batch, earlier) + "/" + name
      return FileSystem.exists(path) ? [try hashed(path)] : []
    case .snapshot:
      return try snapshot(stage: stage)
    }
  }

  /// The SIS export's file names in `input/` (full and delta).
  func sisExportNames() -> Set<String> {
    let feed = config.sisExport
    return Set(Layouts.sisExport.map { feed.files[$0.name] ?? $0.fileName })
      .union(feed.deltaFileNames.values)
  }

  /// The batch's claimed files: checked just before this run, or (match, deliver) as the claim
  /// recorded them.
  func claimed() throws -> [InputRecord] {
    if let checked { return checked.values.sorted { $0.path < $1.path }.map { InputRecord($0) } }
    var records: [InputRecord] = []
    for (path, sha256) in try BatchIntegrity.claimedHashes(workdir, batch: batch).sorted(by: {
      $0.key < $1.key
    }) where FileSystem.exists(batchFolder + "/" + path) {
      let file = FileRecord(
        path: path, sha256: sha256, size: FileSystem.fileSize(batchFolder + "/" + path) ?? 0)
      records.append(InputRecord(file, sha256From: "claim"))
    }
    return records
  }

  func snapshot(stage: Stage) throws -> [InputRecord] {
    let folder = stage == .normalize ? output : workdir.stageFolder(batch, .normalize)
    guard let reference = try SnapshotReference.read(folder: folder) else { return [] }
    let path: String
    let sha256: String
    var from: String?
    if stage == .normalize {
      if reference.mode == "delta", let base = reference.baseBatch,
        let baseSha256 = reference.baseSha256
      {
        // Normalize hashed the base before applying the delta (it must be the registered one).
        path = workdir.stageFolder(base, .normalize) + "/snapshot.sqlite"
        sha256 = baseSha256
      } else if reference.builtBy != batch {
        path = workdir.root + "/" + reference.path
        sha256 = reference.sha256
        from = "snapshot register"
      } else {
        return []  // built by this run: an output
      }
    } else {
      path = workdir.root + "/" + reference.path
      sha256 = reference.sha256
      from = Stage.normalize.folder + "/snapshot.json"
    }
    let file = FileRecord(
      path: inputPath(path), sha256: sha256, size: FileSystem.fileSize(path) ?? 0)
    return [InputRecord(file, sha256From: from)]
  }

  func hashed(_ path: String) throws -> InputRecord {
    let (sha256, size) = try SHA256.file(at: path)
    return InputRecord(FileRecord(path: inputPath(path), sha256: sha256, size: size))
  }

  /// A path as stage.json names it: relative to the batch folder (`../<batch>/...` for another
  /// batch's file), absolute outside the working directory (files the pipeline names).
  func inputPath(_ path: String) -> String {
    let batches = workdir.root + "/batches/"
    if path.hasPrefix(batchFolder + "/") { return relativePath(path, to: batchFolder) }
    if path.hasPrefix(batches) { return "../" + path.dropFirst(batches.count) }
    if path.hasPrefix(workdir.root + "/") { return "../../" + relativePath(path, to: workdir.root) }
    return path
  }
}
