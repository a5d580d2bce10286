import Foundation
import SISDropCore

/// What a batch published to the outbox, recorded once: `batches/<batch>/published/` keeps the
/// ready file, every file it lists and delivered.csv, with `publication.json` (when, which attempt).
///
/// Once a batch is in the outbox, its delivery is fixed: a deliver rerun (after match reran for a
/// `sisdrop resolve`, or anything upstream) copies these files back rather than computing them
/// again, and sends what has become deliverable since as the next re-delivery (`rK`). Close and
/// `--only` accept a deliver stage that is stale only because upstream reran, as long as the
/// outbox still holds these files unchanged: the batch can never be stuck.
package enum Publication {
  package struct Record: Sendable, Codable {
    package var batch: String
    package var publishedAt: String
    /// The deliver attempt whose files were published.
    package var attempt: Int
  }

  static func folder(_ workdir: WorkDir, batch: String) -> String {
    workdir.batchFolder(batch) + "/published"
  }

  /// The record of a publication, in its kept folder (written last, by `record`).
  static let recordName = "publication.json"

  /// The publication record in a kept folder (`published/`, a re-delivery's), or nil when there
  /// is none (not published yet, or a copy a crash left half-kept).
  ///
  /// - Throws: `SISDropError` 65 naming the file when it cannot be read.
  static func read(folder: String) throws -> Record? {
    let path = folder + "/" + recordName
    guard FileSystem.exists(path) else { return nil }
    do {
      return try RecordJSON.decode(Record.self, from: try FileSystem.readFile(path))
    } catch let error as DecodingError {
      throw SISDropError.dataError(
        "unreadable publication record: \(error)", at: SourceLocation(path: path),
        hint: "restore it from a backup; the published files are in \(folder)")
    }
  }

  /// The files a deliver folder published: the ready file, what it lists, delivered.csv.
  static func names(_ deliverFolder: String, batch: String) throws -> [String] {
    let ready = Publisher.readyName(batch)
    // stable_ids.csv: in every delivery since schema version 1 (a 0.1.0 publication has none).
    let ids =
      FileSystem.exists(deliverFolder + "/" + StableIDs.fileName) ? [StableIDs.fileName] : []
    // to_confirm.csv: what the SIS must show, kept so that rebuild-state records it again.
    let expected =
      FileSystem.exists(deliverFolder + "/" + Confirmation.fileName) ? [Confirmation.fileName] : []
    // documents.csv: what the delivery sent of the uploaded documents (for delivered_documents).
    let documents =
      FileSystem.exists(deliverFolder + "/" + DocumentFiles.sentFileName)
      ? [DocumentFiles.sentFileName] : []
    return try Publisher.entries(deliverFolder + "/" + ready).map(\.name) + [
      ready, "delivered.csv",
    ] + ids + documents + expected
  }

  /// The batch's publication, or nil before its first publication. A publication a crash left
  /// unrecorded (the ready file is in the outbox, the record is not) is recorded now from the
  /// deliver attempt whose ready file the outbox holds.
  ///
  /// - Throws: `SISDropError` 73 when the outbox holds a ready file no attempt of the batch wrote.
  package static func load(_ workdir: WorkDir, batch: String, outbox: String) throws -> (
    record: Record, folder: String
  )? {
    let kept = folder(workdir, batch: batch)
    if let record = try read(folder: kept) { return (record, kept) }
    let ready = outbox + "/" + Publisher.readyName(batch)
    guard FileSystem.exists(ready) else { return nil }
    let published = try SHA256.file(at: ready).sha256
    let base = workdir.batchFolder(batch)
    let deliver = workdir.stageFolder(batch, .deliver)
    let attempts = try FileSystem.listDirectory(base).filter {
      $0.hasPrefix(Stage.deliver.folder + ".attempt-")
    }.map { base + "/" + $0 }
    for candidate in [deliver] + attempts {
      let candidateReady = candidate + "/" + Publisher.readyName(batch)
      guard FileSystem.exists(candidateReady),
        try SHA256.file(at: candidateReady).sha256 == published,
        let report = try? StageReport.load(candidate)
      else { continue }
      try StableIDs.record(folder: candidate, batch: batch, state: workdir.state)
      return (
        try record(
          workdir, batch: batch, from: candidate, attempt: report.attempt, at: report.finishedAt),
        kept
      )
    }
    throw SISDropError(
      .cannotCreate,
      "the outbox holds a \(Publisher.readyName(batch)) that no deliver attempt of batch \(batch) wrote",
      at: SourceLocation(path: ready),
      hint:
        "a published delivery is never overwritten: if the SIS has not imported it, remove the batch's files from the outbox and deliver again"
    )
  }

  /// Keeps a copy of what `deliverFolder` published, once (staged, fsynced, one rename).
  @discardableResult
  static func record(
    _ workdir: WorkDir, batch: String, from deliverFolder: String, attempt: Int,
    at time: String = Clock.now()
  ) throws -> Record {
    let kept = folder(workdir, batch: batch)
    let temporary = workdir.batchFolder(batch) + "/.published.tmp-\(getpid())"
    try FileSystem.removeTree(temporary)
    try FileSystem.makeDirectory(temporary)
    do {
      for name in try names(deliverFolder, batch: batch) {
        if name.contains("/") {
          try FileSystem.makeDirectory(
            temporary + "/" + (name as NSString).deletingLastPathComponent)
        }
        try FileSystem.copyFile(deliverFolder + "/" + name, to: temporary + "/" + name)
      }
      let record = Record(batch: batch, publishedAt: time, attempt: attempt)
      try FileSystem.writeNew(temporary + "/" + recordName, try RecordJSON.bytes(record))
      try FileSystem.syncTree(temporary)
      // only a half-kept copy can be here: publication.json is written last
      try FileSystem.removeTree(kept)
      try FileSystem.rename(temporary, to: kept)
      try FileSystem.syncDirectory(workdir.batchFolder(batch))
      return record
    } catch {
      try? FileSystem.removeTree(temporary)
      throw error
    }
  }

  /// Finishes a publication a crash interrupted (the deliver folder is in place, the outbox or the
  /// record is not): publishes the current deliver folder and records it. For `sisdrop run` after
  /// its stages and for close; a no-op once the batch is published and recorded.
  static func finish(_ workdir: WorkDir, batch: String, outbox: String) throws {
    if let publication = try load(workdir, batch: batch, outbox: outbox) {
      // Recorded before publishing, but also here: a publication 0.1.0 made before its ids were kept.
      try StableIDs.record(folder: publication.folder, batch: batch, state: workdir.state)
      return
    }
    let deliver = workdir.stageFolder(batch, .deliver)
    guard let report = try? StageReport.load(deliver), report.exitStatus == 0,
      StageRunner.problem(with: .deliver, workdir: workdir, batch: batch) == nil
    else { return }
    try StableIDs.record(folder: deliver, batch: batch, state: workdir.state)
    _ = try Publisher.publish(batch: batch, deliverFolder: deliver, outbox: outbox)
    try record(workdir, batch: batch, from: deliver, attempt: report.attempt, at: report.finishedAt)
  }

  /// Copies the published files into a new deliver attempt's folder, byte for byte.
  static func reproduce(_ kept: String, batch: String, into output: String) throws {
    for name in try names(kept, batch: batch) {
      if name.contains("/") {
        try FileSystem.makeDirectory(output + "/" + (name as NSString).deletingLastPathComponent)
      }
      try FileSystem.copyFile(kept + "/" + name, to: output + "/" + name)
    }
  }

  /// Whether close and `--only` may use a deliver stage that is stale only because upstream ran
  /// again: the batch is published and the outbox still holds what it published, unchanged.
  static func acceptsStaleDeliver(_ workdir: WorkDir, batch: String, outbox: String) -> Bool {
    let deliver = workdir.stageFolder(batch, .deliver)
    guard let problem = StageRunner.problem(with: .deliver, workdir: workdir, batch: batch),
      problem.hasPrefix("is stale"),
      let report = try? StageReport.load(deliver), report.exitStatus == 0,
      let publication = try? load(workdir, batch: batch, outbox: outbox),
      let kept = try? SHA256.file(at: publication.folder + "/" + Publisher.readyName(batch)).sha256,
      let current = try? SHA256.file(at: deliver + "/" + Publisher.readyName(batch)).sha256,
      kept == current,
      (try? Publisher.verify(batch: batch, deliverFolder: deliver, outbox: outbox)) != nil
    else { return false }
    return true
  }
}
