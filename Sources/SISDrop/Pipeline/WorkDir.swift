import Foundation

/// The version written into every stage.json and manifest.
public enum SISDropVersion {
  public static let current = "0.1.0"
}

/// The stages of a batch, in order; each owns one folder of the batch (DESIGN.md, "Working directory").
public enum Stage: String, CaseIterable, Sendable, Codable {
  case parse, normalize, match, deliver

  public var folder: String {
    switch self {
    case .parse: return "10-parse"
    case .normalize: return "20-normalize"
    case .match: return "30-match"
    case .deliver: return "40-deliver"
    }
  }

  public var previous: Stage? {
    let all = Stage.allCases
    let index = all.firstIndex(of: self)!
    return index == 0 ? nil : all[index - 1]
  }
}

/// A working directory: `state.sqlite`, the drop folders and the batches.
public final class WorkDir {
  public let root: String
  public let state: StateStore

  /// Opens (creating when needed) a working directory.
  public init(root: String) throws {
    self.root = FileSystem.absolute(root)
    do {
      try FileSystem.makeDirectory(self.root)
      try FileSystem.makeDirectory(self.root + "/batches")
    } catch let error as FileError {
      throw SISDropError(.cannotCreate, "cannot create the working directory: \(error)", at: SourceLocation(path: root),
                         hint: "check the path and its permissions")
    }
    state = try StateStore(path: self.root + "/state.sqlite")
  }

  public var batchesFolder: String { root + "/batches" }
  public func batchFolder(_ id: String) -> String { batchesFolder + "/" + id }
  public func stageFolder(_ id: String, _ stage: Stage) -> String { batchFolder(id) + "/" + stage.folder }
  public func inbox(_ config: PipelineConfig) -> String { config.resolve(config.inbox, workdir: root) }
  public func outbox(_ config: PipelineConfig) -> String { config.resolve(config.outbox, workdir: root) }
  public func archive(_ config: PipelineConfig) -> String { config.resolve(config.archive, workdir: root) }

  /// Takes the working directory's lock and finishes or undoes whatever a killed process left half done.
  public func lock(command: String, wait: TimeInterval = 0) throws -> WorkDirLock {
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
          try FileSystem.rename(path, to: batchFolder(id))
        } else {
          // Put the files back where the sender left them, then forget the attempt. `claim-inbox`
          // holds the inbox and the archive folder, a line each. A file whose name the sender has
          // uploaded again since goes to the archive, never away: it may be the only complete copy.
          let lines = ((try? String(decoding: FileSystem.readFile(path + "/claim-inbox"), as: UTF8.self)) ?? "")
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
      for entry in try FileSystem.listDirectory(path) where entry.hasPrefix(".") && entry.contains(".tmp") {
        try FileSystem.removeTree(path + "/" + entry)
      }
    }
  }

  /// The pipeline config a batch was opened with: its own copy, paths resolved as in the original.
  public func config(for batch: BatchRecord) throws -> PipelineConfig {
    let copy = batchFolder(batch.id) + "/pipeline.yaml"
    return try PipelineConfig.parse(bytes: try FileSystem.readFile(copy), path: batch.pipelinePath)
  }

  /// The batch a stage command works on: `--batch ID`, or the open batch.
  public func batch(_ id: String?) throws -> BatchRecord {
    if let id {
      guard let batch = try state.batch(id) else {
        throw SISDropError(.noInput, "no batch \(id) in this working directory", at: SourceLocation(path: root),
                           hint: "list batches with `sisdrop status`")
      }
      return batch
    }
    guard let batch = try state.openBatch() else {
      throw SISDropError(.noInput, "no batch is open", at: SourceLocation(path: root),
                         hint: "open one with `sisdrop open --pipeline FILE` or run the whole pipeline with `sisdrop run`")
    }
    return batch
  }
}

@available(*, unavailable) extension WorkDir: Sendable {}

/// Timestamps for stage.json and manifests (never in stage outputs).
enum Clock {
  static func now() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date())
  }

  /// Reads a timestamp `now()` wrote (with or without fractional seconds).
  static func parse(_ text: String) -> Date? {
    (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
      ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
  }
}
