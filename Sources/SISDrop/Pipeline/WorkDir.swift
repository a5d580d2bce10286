import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore

/// The stages of a batch, in order; each owns one folder of the batch (README, "The working directory").
package enum Stage: String, CaseIterable, Sendable, Codable {
  case parse, normalize, match, deliver

  package var folder: String {
    switch self {
    case .parse: return "10-parse"
    case .normalize: return "20-normalize"
    case .match: return "30-match"
    case .deliver: return "40-deliver"
    }
  }

  package var previous: Stage? {
    let all = Stage.allCases
    let index = all.firstIndex(of: self)!
    return index == 0 ? nil : all[index - 1]
  }
}

/// A working directory: `state.sqlite`, the drop folders and the batches.
///
/// One rule decides what a command may do with the folder it is given (`WorkDir.check`): only the
/// commands that start work (`run`, `open`, `demo`) create a working directory; every other command
/// refuses a folder that is not one (66) and creates nothing. A folder whose `batches/` or
/// `archive/` holds history but whose state database is missing or empty is refused by every
/// command (66): starting from nothing would deliver every submission again.
package final class WorkDir {
  package let root: String
  package let state: StateStore

  /// Opens a working directory, creating it when `create` (tests, and `locked` after its lock).
  /// `readOnly` opens the state database without writing to it (commands that only look).
  package init(root: String, create: Bool = true, readOnly: Bool = false) throws {
    self.root = FileSystem.absolute(root)
    try WorkDir.check(self.root, create: create)
    if create {
      do {
        try FileSystem.makeDirectory(self.root)
        try FileSystem.makeDirectory(self.root + "/batches")
      } catch let error as FileError {
        throw SISDropError(
          .cannotCreate, "cannot create the working directory: \(error)",
          at: SourceLocation(path: root),
          hint: "check the path and its permissions")
      }
    }
    let path = self.root + "/state.sqlite"
    let recorded = try StateSchema.recordedBatches(path)
    // Missing, empty, or a new database in its place (no batch recorded) while batch folders exist.
    if (recorded ?? 0) == 0, WorkDir.holdsHistory(self.root) {
      throw WorkDir.missingState(self.root)
    }
    if recorded == nil {
      // Looking never creates: an empty batches/ without a state database has nothing to show.
      if readOnly {
        throw SISDropError(
          .noInput, "not a sisdrop working directory (no state.sqlite)",
          at: SourceLocation(path: self.root),
          hint:
            "pass --workdir (or set SISDROP_WORKDIR) to the working directory; `sisdrop run --pipeline FILE` creates one"
        )
      }
    }
    state = try StateStore(path: path, readOnly: readOnly)
  }

  /// A working directory over a state database being rebuilt (`StateRebuild`).
  init(root: String, state: StateStore) {
    self.root = root
    self.state = state
  }

  /// Takes the working directory's lock before any SQLite statement (also on a new working
  /// directory, so that concurrent first runs wait for each other instead of racing on the
  /// database's creation), then opens it and finishes or undoes what a killed process left half done.
  ///
  /// - Throws: `SISDropError` 75 naming the holder when the lock is still held after `wait` seconds;
  ///   66 by the rule of `check`.
  package static func locked(root: String, create: Bool, command: String, wait: TimeInterval = 0)
    throws -> (WorkDir, WorkDirLock)
  {
    let absolute = FileSystem.absolute(root)
    try check(absolute, create: create)
    if create {
      do { try FileSystem.makeDirectory(absolute) } catch let error as FileError {
        throw SISDropError(
          .cannotCreate, "cannot create the working directory: \(error)",
          at: SourceLocation(path: root),
          hint: "check the path and its permissions")
      }
    }
    let lock = try WorkDirLock(workdir: absolute, command: command, wait: wait)
    let workdir = try WorkDir(root: absolute, create: create)
    try workdir.recover()
    return (workdir, lock)
  }

  /// The rule: is `root` a working directory this command may use?
  ///
  /// - Throws: `SISDropError` 66 when it is not one and the command may not create one, or when it
  ///   holds history without its state database.
  package static func check(_ root: String, create: Bool) throws {
    let isWorkDir =
      FileSystem.exists(root + "/state.sqlite") || FileSystem.isDirectory(root + "/batches")
    if !isWorkDir && !create {
      throw SISDropError(
        .noInput, "not a sisdrop working directory (no state.sqlite, no batches/)",
        at: SourceLocation(path: root),
        hint:
          "pass --workdir (or set SISDROP_WORKDIR) to the working directory; `sisdrop run --pipeline FILE` creates one"
      )
    }
    if holdsHistory(root), (FileSystem.fileSize(root + "/state.sqlite") ?? 0) == 0 {
      throw missingState(root)
    }
  }

  /// Whether batches/ or archive/ hold any batch.
  static func holdsHistory(_ root: String) -> Bool {
    for folder in ["/batches", "/archive"] {
      if let names = try? FileSystem.listDirectory(root + folder),
        names.contains(where: { !$0.hasPrefix(".") })
      {
        return true
      }
    }
    return false
  }

  static func missingState(_ root: String) -> SISDropError {
    SISDropError(
      .noInput,
      "state.sqlite is missing or empty (it records no batch), but batches/ or archive/ hold earlier batches: starting from nothing would deliver every submission again",
      at: SourceLocation(path: root + "/state.sqlite"),
      hint:
        "restore the latest backup (made with `sisdrop backup FILE`) to \(root)/state.sqlite, or rebuild it from the sealed batches with `sisdrop rebuild-state --workdir \(root)`"
    )
  }

  package var batchesFolder: String { root + "/batches" }
  package func batchFolder(_ id: String) -> String { batchesFolder + "/" + id }
  package func stageFolder(_ id: String, _ stage: Stage) -> String {
    batchFolder(id) + "/" + stage.folder
  }
  package func inbox(_ config: PipelineConfig) -> String {
    config.resolve(config.inbox, workdir: root)
  }
  package func outbox(_ config: PipelineConfig) -> String {
    config.resolve(config.outbox, workdir: root)
  }
  package func archive(_ config: PipelineConfig) -> String {
    config.resolve(config.archive, workdir: root)
  }

  /// Takes the lock of a working directory already open (tests); commands use `locked`, which
  /// takes it before opening the database.
  package func lock(command: String, wait: TimeInterval = 0) throws -> WorkDirLock {
    let lock = try WorkDirLock(workdir: root, command: command, wait: wait)
    try recover()
    return lock
  }

  /// Crash recovery, run under the lock: a half-claimed batch is finished (its database row
  /// exists) or undone (its files go back to the inbox); temporary stage folders are removed.
  func recover() throws {
    for name in try FileSystem.listDirectory(batchesFolder) {
      let path = batchesFolder + "/" + name
      if name.hasPrefix(".") && name.hasSuffix(".claiming") {
        let id = String(name.dropFirst().dropLast(".claiming".count))
        if try state.batch(id) != nil {
          // The batch was recorded: only the last steps of the claim were left. `claim-inbox` is the
          // claim's own note (where to put files back), not part of the batch.
          try? FileSystem.removeTree(path + "/claim-inbox")
          try FileSystem.rename(path, to: batchFolder(id))
        } else {
          // Put the files back where the sender left them, then forget the attempt. `claim-inbox`
          // holds the inbox and the archive folder, a line each. A file whose name the sender has
          // uploaded again since goes to the archive, never away: it may be the only complete copy.
          let lines =
            ((try? String(decoding: FileSystem.readFile(path + "/claim-inbox"), as: UTF8.self))
            ?? "")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
          let inbox = lines.first ?? ""
          let archive = lines.count > 1 ? lines[1] : root + "/archive"
          try ClaimReturn.putBack(input: path + "/input", inbox: inbox, archive: archive)
          try FileSystem.removeTree(path)
        }
        try FileSystem.syncDirectory(batchesFolder)
        continue
      }
      guard FileSystem.isDirectory(path), !name.hasPrefix(".") else { continue }
      for entry in try FileSystem.listDirectory(path)
      where entry.hasPrefix(".") && entry.contains(".tmp") {
        try FileSystem.removeTree(path + "/" + entry)
      }
    }
  }

  /// The pipeline config a batch was opened with: its own copy, paths resolved as in the original.
  package func config(for batch: BatchRecord) throws -> PipelineConfig {
    let copy = batchFolder(batch.id) + "/pipeline.yaml"
    return try PipelineConfig.parse(bytes: try FileSystem.readFile(copy), path: batch.pipelinePath)
  }

  /// The batch a stage command works on: `--batch ID`, or the open batch.
  package func batch(_ id: String?) throws -> BatchRecord {
    if let id {
      guard let batch = try state.batch(id) else {
        throw SISDropError(
          .noInput, "no batch \(id) in this working directory", at: SourceLocation(path: root),
          hint: "list batches with `sisdrop status`")
      }
      return batch
    }
    guard let batch = try state.openBatch() else {
      throw SISDropError(
        .noInput, "no batch is open", at: SourceLocation(path: root),
        hint:
          "open one with `sisdrop open --pipeline FILE` or run the whole pipeline with `sisdrop run`"
      )
    }
    return batch
  }
}

@available(*, unavailable) extension WorkDir: Sendable {}
