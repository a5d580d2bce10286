import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// A file with its hash and size, as stage.json and manifest.json list it.
package struct FileRecord: Sendable, Codable, Hashable {
  package var path: String
  package var sha256: String
  package var size: Int64

  package init(path: String, sha256: String, size: Int64) {
    self.path = path
    self.sha256 = sha256
    self.size = size
  }

  static func of(_ path: String, relativeTo base: String, inboxFile: Bool = false) throws
    -> FileRecord
  {
    let (hash, size) = try SHA256.file(at: path, inboxFile: inboxFile)
    return FileRecord(path: relativePath(path, to: base), sha256: hash, size: size)
  }
}

/// A file a stage read, as its stage.json lists it (`inputs`): a `FileRecord`, and where the hash
/// comes from when the stage did not compute it.
package struct InputRecord: Sendable, Codable, Hashable {
  package var path: String
  package var sha256: String
  package var size: Int64
  /// The record whose hash this is, when the run did not hash the file itself: `claim`, `snapshot
  /// register`, `20-normalize/snapshot.json`; nil when it did (docs/stage.schema.json).
  package var sha256From: String?

  package init(_ file: FileRecord, sha256From: String? = nil) {
    path = file.path
    sha256 = file.sha256
    size = file.size
    self.sha256From = sha256From
  }
}

/// `stage.json`: what a stage read and wrote, with hashes, counts, timings, attempt and exit status.
package struct StageReport: Sendable, Codable {
  package var stage: Stage
  package var batch: String
  package var attempt: Int
  package var startedAt: String
  package var finishedAt: String
  package var seconds: Double
  package var exitStatus: Int32
  package var toolVersion: String
  package var configSha256: String
  package var inputs: [InputRecord]
  package var outputs: [FileRecord]
  /// The digest of the previous stage's outputs this run read: the staleness check compares it.
  package var upstreamDigest: String?
  /// The attempt of the previous stage this run read: any rerun upstream makes this run stale.
  package var upstreamAttempt: Int?
  package var outputsDigest: String
  package var counts: [String: Int]
  package var notes: [String]

  package static func load(_ folder: String) throws -> StageReport {
    let path = folder + "/stage.json"
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    do {
      return try RecordJSON.decode(StageReport.self, from: try FileSystem.readFile(path))
    } catch let error as DecodingError {
      throw SISDropError.dataError(
        "unreadable stage.json: \(error)", at: SourceLocation(path: path),
        hint: "rerun the stage")
    }
  }
}

/// What a stage function gets: its batch, config, input folders, and a private output folder.
package final class StageContext {
  package let workdir: WorkDir
  package let batch: BatchRecord
  package let config: PipelineConfig
  package let stage: Stage
  /// The temporary output folder; published by one rename when the stage succeeds.
  package let output: String
  package var counts: [String: Int] = [:]
  package var notes: [String] = []
  /// Work to do once the output folder is published (registering a snapshot, publishing to the outbox).
  var afterPublish: [(String) throws -> Void] = []
  /// The stage writes the batch report when it changes what the page shows; false when the caller
  /// writes it once at its end (`PipelineRunner.run`: a night rendered it three times).
  var writesReport = true
  /// Progress and log lines: record ids and counts only, never names or birth dates.
  package let log: (String) -> Void

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

  package var batchFolder: String { workdir.batchFolder(batch.id) }
  package var inputFolder: String { batchFolder + "/input" }
  package func folder(of stage: Stage) -> String { workdir.stageFolder(batch.id, stage) }
  package func outputPath(_ name: String) -> String { output + "/" + name }

  /// Writes a rejects file into the stage's folder (`RejectsFile`).
  func writeRejects(_ rejects: [Reject], name: String = RejectsFile.name) throws {
    try RejectsFile.write(rejects, to: outputPath(name))
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
package enum StageRunner {
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
  package static func problem(with stage: Stage, workdir: WorkDir, batch: String) -> String? {
    let folder = workdir.stageFolder(batch, stage)
    guard FileSystem.isDirectory(folder) else {
      // A stage that failed before publishing its folder (a claimed file it refuses whole) has
      // run: `sisdrop status` shows it failed, and why, not "has not run".
      if let runs = try? workdir.state.stageRuns(batch: batch).filter({ $0.stage == stage.rawValue }
      ),
        let last = runs.last, last.status == "failed"
      {
        return
          "failed on its last attempt (\(last.attempt), exit \(last.exitCode ?? 1)): \(Notification.mask(last.message ?? ""))"
      }
      return "has not run"
    }
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
  package static func failedAfterItsFolder(_ stage: Stage, workdir: WorkDir, batch: String)
    -> String?
  {
    guard let report = try? StageReport.load(workdir.stageFolder(batch, stage)),
      let last = try? workdir.state.stageRuns(batch: batch).filter({ $0.stage == stage.rawValue })
        .last,
      last.status == "failed", last.attempt == report.attempt
    else { return nil }
    // Published since (by close, `--only` or a rerun): done after all.
    if stage == .deliver,
      let record = try? Publication.read(folder: Publication.folder(workdir, batch: batch)),
      record.attempt >= report.attempt
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
  package static func run(
    _ stage: Stage, workdir: WorkDir, batch: BatchRecord,
    log: @escaping (String) -> Void = { _ in },
    _ body: (StageContext) throws -> Void
  ) throws -> StageReport {
    MallocSettings.beforeStage()
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
    // The stages that read the claimed files read them only as claimed (65 naming both hashes
    // otherwise); the hashes checked are the ones their stage.json records.
    var checked: [String: FileRecord]?
    if stage == .parse || stage == .normalize {
      checked = try BatchIntegrity.checkClaimed(workdir, batch: batch.id)
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
      try body(context)
      // What the stage declares it reads (`Stage.reads`), recorded once the body has run: normalize
      // says in its output which snapshot it read.
      let inputs = try StageInputRecorder(
        workdir: workdir, batch: batch.id, config: config, checked: checked, output: temporary
      ).records(for: stage)
      let outputs = try outputs(of: temporary, base: temporary)
      let report = StageReport(
        stage: stage, batch: batch.id, attempt: attempt, startedAt: startedAt,
        finishedAt: Clock.now(),
        seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000, exitStatus: 0,
        toolVersion: SISDropVersion.current, configSha256: config.sha256, inputs: inputs,
        outputs: outputs,
        upstreamDigest: upstreamDigest, upstreamAttempt: upstreamAttempt,
        outputsDigest: digest(outputs), counts: context.counts, notes: context.notes)
      try FileSystem.writeNew(temporary + "/stage.json", try RecordJSON.bytes(report))
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
      // A claimed file refused whole: the advice says to cancel the batch first (ClaimedCopy).
      let error = ClaimedCopy.refusal(error, workdir: workdir.root, batch: batch.id)
      try? FileSystem.removeTree(temporary)
      try? workdir.state.finishStageRun(
        batch: batch.id, stage: stage.rawValue, attempt: attempt, succeeded: false,
        exitCode: error.exitStatus.rawValue,
        message: "\(error)", finishedAt: Clock.now())
      throw error
    }
  }
}
