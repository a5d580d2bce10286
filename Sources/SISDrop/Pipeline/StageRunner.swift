import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// A file with its hash and size, as stage.json and manifest.json list it.
public struct FileRecord: Sendable, Codable, Hashable {
  public var path: String
  public var sha256: String
  public var size: Int64

  static func of(_ path: String, relativeTo base: String, inboxFile: Bool = false) throws
    -> FileRecord
  {
    let (hash, size) = try SHA256.file(at: path, inboxFile: inboxFile)
    return FileRecord(path: relativePath(path, to: base), sha256: hash, size: size)
  }
}

/// `stage.json`: what a stage read and wrote, with hashes, counts, timings, attempt and exit status.
public struct StageReport: Sendable, Codable {
  public var stage: Stage
  public var batch: String
  public var attempt: Int
  public var startedAt: String
  public var finishedAt: String
  public var seconds: Double
  public var exitStatus: Int32
  public var toolVersion: String
  public var configSha256: String
  public var inputs: [FileRecord]
  public var outputs: [FileRecord]
  /// The digest of the previous stage's outputs this run read: the staleness check compares it.
  public var upstreamDigest: String?
  /// The attempt of the previous stage this run read: any rerun upstream makes this run stale.
  public var upstreamAttempt: Int?
  public var outputsDigest: String
  public var counts: [String: Int]
  public var notes: [String]

  public static func load(_ folder: String) throws -> StageReport {
    let path = folder + "/stage.json"
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
      return try decoder.decode(StageReport.self, from: Data(try FileSystem.readFile(path)))
    } catch let error as DecodingError {
      throw SISDropError.dataError(
        "unreadable stage.json: \(error)", at: SourceLocation(path: path),
        hint: "rerun the stage")
    }
  }
}

/// What a stage function gets: its batch, config, input folders, and a private output folder.
public final class StageContext {
  public let workdir: WorkDir
  public let batch: BatchRecord
  public let config: PipelineConfig
  public let stage: Stage
  /// The temporary output folder; published by one rename when the stage succeeds.
  public let output: String
  public var counts: [String: Int] = [:]
  public var notes: [String] = []
  var inputs: [FileRecord] = []
  /// Work to do once the output folder is published (registering a snapshot, publishing to the outbox).
  var afterPublish: [(String) throws -> Void] = []
  /// Progress and log lines: record ids and counts only, never names or birth dates.
  public let log: (String) -> Void

  init(
    workdir: WorkDir, batch: BatchRecord, config: PipelineConfig, stage: Stage, output: String,
    log: @escaping (String) -> Void
  ) {
    self.workdir = workdir
    self.batch = batch
    self.config = config
    self.stage = stage
    self.output = output
    self.log = log
  }

  public var batchFolder: String { workdir.batchFolder(batch.id) }
  public var inputFolder: String { batchFolder + "/input" }
  public func folder(of stage: Stage) -> String { workdir.stageFolder(batch.id, stage) }
  public func outputPath(_ name: String) -> String { output + "/" + name }

  /// Records a file this stage read, for stage.json.
  public func recordInput(_ path: String) throws {
    inputs.append(try FileRecord.of(path, relativeTo: batchFolder))
  }

  /// Writes a rejects file (always, even when empty, so every stage folder has the same shape);
  /// spreadsheet-safe, as every file people open.
  func writeRejects(_ rejects: [Reject], name: String = "rejects.csv") throws {
    let writer = try CSVWriter(path: outputPath(name), options: .forPeople)
    try writer.write(Reject.header)
    for reject in rejects.sorted(by: {
      ($0.submissionID, $0.seq ?? 0, $0.source.line ?? 0, $0.field) < (
        $1.submissionID, $1.seq ?? 0, $1.source.line ?? 0, $1.field
      )
    }) {
      try writer.write(reject.row)
    }
    try writer.close()
  }

  /// A stage's table for people (review.csv, diffs.csv, resolutions.csv, ...): spreadsheet-safe;
  /// `forPeople: false` for one that sisdrop reads back as it wrote it.
  func writeCSV(_ name: String, header: [String], rows: [[String]], forPeople: Bool = true) throws {
    let writer = try CSVWriter(
      path: outputPath(name), options: forPeople ? .forPeople : CSVWriterOptions())
    try writer.write(header)
    for row in rows { try writer.write(row) }
    try writer.close()
  }
}

@available(*, unavailable) extension StageContext: Sendable {}

/// Runs one stage the way ARCHITECTURE.md's "The stages" says: into a temporary folder beside the output, then
/// one rename; an earlier attempt is kept as `NN-stage.attempt-K/`; the run is recorded in the
/// state database; stage.json carries hashes, counts and timings.
public enum StageRunner {
  /// Digest of a stage folder's outputs: its file names and hashes, stage.json excluded.
  static func digest(_ files: [FileRecord]) -> String {
    SHA256.hex(files.map { "\($0.path) \($0.sha256)\n" }.joined())
  }

  static func outputs(of folder: String, base: String) throws -> [FileRecord] {
    var records: [FileRecord] = []
    func walk(_ path: String) throws {
      for name in try FileSystem.listDirectory(path) {
        let child = path + "/" + name
        if FileSystem.isDirectory(child) {
          try walk(child)
        } else if name != "stage.json" {
          records.append(try FileRecord.of(child, relativeTo: base))
        }
      }
    }
    try walk(folder)
    return records
  }

  /// Why a stage's published output cannot be used, or nil when it is current.
  public static func problem(with stage: Stage, workdir: WorkDir, batch: String) -> String? {
    let folder = workdir.stageFolder(batch, stage)
    guard FileSystem.isDirectory(folder) else { return "has not run" }
    guard let report = try? StageReport.load(folder) else { return "has no readable stage.json" }
    guard report.exitStatus == 0 else { return "failed" }
    if let previous = stage.previous {
      guard let upstream = try? StageReport.load(workdir.stageFolder(batch, previous)) else {
        return "is stale: \(previous.rawValue) is missing"
      }
      if upstream.outputsDigest != report.upstreamDigest
        || upstream.attempt != report.upstreamAttempt
      {
        return "is stale: \(previous.rawValue) ran again since"
      }
    }
    if let runs = try? workdir.state.stageRuns(batch: batch).filter({ $0.stage == stage.rawValue }),
      let last = runs.last,
      last.status == "failed", last.attempt > report.attempt
    {
      return "failed on its last attempt (\(last.attempt)): \(last.message ?? "")"
    }
    return nil
  }

  /// Why a stage whose folder is current is still not done: what follows the folder's publication
  /// (registering the snapshot, publishing to the outbox) failed on that same attempt. Nil otherwise.
  /// `sisdrop status` shows it, so that a failed publish never reads as "done".
  public static func failedAfterItsFolder(_ stage: Stage, workdir: WorkDir, batch: String)
    -> String?
  {
    guard let report = try? StageReport.load(workdir.stageFolder(batch, stage)),
      let last = try? workdir.state.stageRuns(batch: batch).filter({ $0.stage == stage.rawValue })
        .last,
      last.status == "failed", last.attempt == report.attempt
    else { return nil }
    // Published since (by close, `--only` or a rerun): done after all.
    let record = Publication.folder(workdir, batch: batch) + "/publication.json"
    if stage == .deliver, let data = try? FileSystem.readFile(record),
      let json = try? JSONSerialization.jsonObject(with: Data(data)),
      let attempt = (json as? [String: Any])?["attempt"] as? Int, attempt >= report.attempt
    {
      return nil
    }
    let step = stage == .deliver ? "publishing to the outbox" : "the step after its output"
    return
      "its folder is written but \(step) failed (attempt \(last.attempt), exit \(last.exitCode ?? 1))"
  }

  /// Runs `body` as stage `stage` of the batch and publishes its output.
  ///
  /// - Throws: the body's error (the temporary folder is removed and the run marked failed),
  ///   or `SISDropError` when the batch is not open or the previous stage is missing or stale.
  @discardableResult
  public static func run(
    _ stage: Stage, workdir: WorkDir, batch: BatchRecord,
    log: @escaping (String) -> Void = { _ in },
    _ body: (StageContext) throws -> Void
  ) throws -> StageReport {
    guard batch.state == .open else {
      throw SISDropError(
        .usage, "batch \(batch.id) is \(batch.state.rawValue); its stages cannot run again",
        hint: "open a new batch with `sisdrop open`")
    }
    var upstreamDigest: String?
    var upstreamAttempt: Int?
    if let previous = stage.previous {
      if let problem = problem(with: previous, workdir: workdir, batch: batch.id) {
        throw SISDropError(
          .noInput, "\(previous.rawValue) \(problem)",
          at: SourceLocation(path: workdir.stageFolder(batch.id, previous)),
          hint:
            "run `sisdrop-\(previous.rawValue) --workdir \(workdir.root) --batch \(batch.id)` first"
        )
      }
      let upstream = try StageReport.load(workdir.stageFolder(batch.id, previous))
      upstreamDigest = upstream.outputsDigest
      upstreamAttempt = upstream.attempt
    }
    // The stages that read the claimed files read them only as claimed (65 naming both hashes otherwise).
    if stage == .parse || stage == .normalize {
      try BatchIntegrity.checkClaimed(workdir, batch: batch.id)
    }
    let config = try workdir.config(for: batch)
    let started = Date()
    let startedAt = Clock.now()
    let attempt = try workdir.state.beginStageRun(
      batch: batch.id, stage: stage.rawValue, startedAt: startedAt)
    let batchFolder = workdir.batchFolder(batch.id)
    let temporary = batchFolder + "/.\(stage.folder).tmp-\(getpid())"
    let final = workdir.stageFolder(batch.id, stage)
    do {
      try FileSystem.removeTree(temporary)
      try FileSystem.makeDirectory(temporary)
      let context = StageContext(
        workdir: workdir, batch: batch, config: config, stage: stage, output: temporary, log: log)
      if let previous = stage.previous {
        for file in try outputs(of: workdir.stageFolder(batch.id, previous), base: batchFolder) {
          context.inputs.append(file)
        }
      }
      try body(context)
      let outputs = try outputs(of: temporary, base: temporary)
      let report = StageReport(
        stage: stage, batch: batch.id, attempt: attempt, startedAt: startedAt,
        finishedAt: Clock.now(),
        seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000, exitStatus: 0,
        toolVersion: SISDropVersion.current, configSha256: config.sha256, inputs: context.inputs,
        outputs: outputs,
        upstreamDigest: upstreamDigest, upstreamAttempt: upstreamAttempt,
        outputsDigest: digest(outputs), counts: context.counts, notes: context.notes)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      encoder.keyEncodingStrategy = .convertToSnakeCase
      try FileSystem.writeNew(temporary + "/stage.json", Array(try encoder.encode(report)) + [0x0A])
      try FileSystem.syncTree(temporary)
      // Keep the earlier attempt, then publish the new one with one rename.
      if FileSystem.isDirectory(final) {
        let previousAttempt = (try? StageReport.load(final).attempt) ?? (attempt - 1)
        var kept = batchFolder + "/\(stage.folder).attempt-\(previousAttempt)"
        if FileSystem.exists(kept) { kept += "-\(getpid())" }
        try FileSystem.rename(final, to: kept)
      }
      try FileSystem.rename(temporary, to: final)
      try FileSystem.syncDirectory(batchFolder)
      for step in context.afterPublish { try step(final) }
      try workdir.state.finishStageRun(
        batch: batch.id, stage: stage.rawValue, attempt: attempt, succeeded: true, exitCode: 0,
        message: nil, finishedAt: Clock.now())
      return report
    } catch {
      try? FileSystem.removeTree(temporary)
      try? workdir.state.finishStageRun(
        batch: batch.id, stage: stage.rawValue, attempt: attempt, succeeded: false,
        exitCode: error.exitStatus.rawValue,
        message: "\(error)", finishedAt: Clock.now())
      throw error
    }
  }
}
