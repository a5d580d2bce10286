import Foundation
import SISDropCore
import SISDropStore

/// `sisdrop rebuild-state`: a new state.sqlite from what the batch folders keep, for a working
/// directory whose database is lost and has no backup.
///
/// Each batch, in id order, is replayed the way it ran: its row and claimed files from
/// manifest.json; the submissions its parse stage saw and normalize hashed; for a closed batch,
/// what its delivery and re-deliveries delivered (delivered.csv, with the content hashes) and
/// what vanished; the snapshot normalize built; the stable ids its published deliveries list
/// (stable_ids.csv) and the records they ask the SIS to confirm (to_confirm.csv); what the SIS
/// export it claimed confirmed (confirmation.csv); its stage runs from each stage.json; then the
/// hand confirmations (confirmed_by_hand.csv) and the tardies every published tardy run delivered. What only people gave (resolutions,
/// kept SIS values, corrections) and the integration status are not in the batch folders: they
/// are reported as not rebuilt.
package enum StateRebuild {
  package struct Result: Sendable, Codable {
    package var batches: Int
    package var delivered: Int
    package var pending: Int
    package var stableIDs: Int
    package var snapshots: Int
    package var publications: Int
    /// Tardies the published tardy runs delivered (tardies/<run>/delivered.csv).
    package var tardies: Int
    /// Batches published before stable_ids.csv was kept (0.1.0): their new records' ids are not rebuilt.
    package var withoutStableIDs: [String]
    package var notRebuilt: [String]
    /// Delivered records by confirmation status, as the batches' files prove it (`to_confirm.csv`,
    /// `confirmation.csv`, `confirmed_by_hand.csv`): delivered (awaiting an SIS export), confirmed, unconfirmed.
    package var confirmation = Confirmation.Counts()
  }

  /// Rebuilds `root`/state.sqlite. The caller holds the working directory's lock.
  ///
  /// - Throws: `SISDropError` 64 when state.sqlite records a batch (it is never overwritten);
  ///   66 when there is no batch to rebuild from; 65 when a batch's manifest is unreadable.
  package static func run(root: String) throws -> Result {
    let path = root + "/state.sqlite"
    guard (try StateSchema.recordedBatches(path) ?? 0) == 0 else {
      throw SISDropError(
        .usage, "state.sqlite records batches: rebuild-state never overwrites a state database",
        at: SourceLocation(path: path),
        hint:
          "if it is damaged, move it (and state.sqlite-wal, state.sqlite-shm) aside first, then run rebuild-state again"
      )
    }
    let ids = ((try? FileSystem.listDirectory(root + "/batches")) ?? []).filter {
      !$0.hasPrefix(".") && FileSystem.exists(root + "/batches/\($0)/manifest.json")
    }.sorted()
    guard !ids.isEmpty else {
      throw SISDropError(
        .noInput, "no batch with a manifest.json under batches/: nothing to rebuild from",
        at: SourceLocation(path: root + "/batches"),
        hint: "restore state.sqlite from a backup instead")
    }
    let temporary = path + ".rebuild-\(getpid())"
    for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
    var result = Result(
      batches: 0, delivered: 0, pending: 0, stableIDs: 0, snapshots: 0, publications: 0, tardies: 0,
      withoutStableIDs: [],
      notRebuilt: [
        "resolutions (sisdrop resolve)", "kept SIS values (sisdrop keep-sis)",
        "corrections (sisdrop correct)",
        "the integration status and its history",
        "the tardy feed's last run and last check (sisdrop status; tardies/<run>/ keeps what each run sent)",
        "notifications not yet sent",
        "re-deliveries asked for and not yet sent (sisdrop redeliver)",
        "SIS import results no SIS export has been checked after (archive/import-results keeps them: drop one into the inbox again)",
      ])
    do {
      try {
        let state = try StateStore(path: temporary)
        let workdir = WorkDir(root: root, state: state)
        for id in ids { try replay(id, workdir: workdir, result: &result) }
        // Hand confirmations last: a confirmed record is never checked again.
        for id in ids {
          _ = try Confirmation.restoreByHand(batchFolder: workdir.batchFolder(id), state: state)
        }
        result.confirmation = try Confirmation.counts(state)
        result.tardies = try replayTardies(workdir)
        result.delivered = try state.ledger(statuses: [.delivered]).count
        result.pending = try state.ledger(statuses: [.pending, .batched]).count
        result.stableIDs = Int(
          try state.database.scalar("SELECT count(*) FROM delivered_ids").int ?? 0)
        result.snapshots = Int(try state.database.scalar("SELECT count(*) FROM snapshots").int ?? 0)
        try state.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try state.database.execute("PRAGMA journal_mode=DELETE")
      }()
      let fd = open(temporary, O_RDONLY | O_CLOEXEC)
      if fd >= 0 {
        fsync(fd)
        close(fd)
      }
      // A write-ahead log left by the lost database must never be replayed into the rebuilt one.
      for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
      unlink(path)
      try FileSystem.rename(temporary, to: path)
      try FileSystem.syncDirectory(root)
    } catch {
      for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
      throw error
    }
    return result
  }

  /// The tardies each published tardy run delivered, so that none is sent twice. Only recorded:
  /// a run is never published again from here (the SIS may have taken its file from the outbox).
  static func replayTardies(_ workdir: WorkDir) throws -> Int {
    let base = workdir.root + "/tardies"
    var count = 0
    for run in ((try? FileSystem.listDirectory(base)) ?? []).sorted() where !run.hasPrefix(".") {
      let folder = base + "/" + run
      guard FileSystem.exists(folder + "/delivered.csv"),
        FileSystem.exists(folder + "/" + Publisher.readyName(run))
      else { continue }
      let keys = try TardyFeed.sentDays(folder, run: run)
      try workdir.state.recordDeliveredTardies(keys, run: run)
      count += keys.count
    }
    return count
  }

  static func replay(_ id: String, workdir: WorkDir, result: inout Result) throws {
    let folder = workdir.batchFolder(id)
    let manifest: BatchManifest
    do { manifest = try BatchLifecycle.readManifest(folder: folder) } catch {
      throw SISDropError.dataError(
        "batch \(id)'s manifest.json cannot be read: \(error)",
        at: SourceLocation(path: folder + "/manifest.json"),
        hint: "restore the batch folder from a backup, or move it aside to rebuild without it")
    }
    let state = workdir.state
    let database = state.database
    try database.inTransaction {
      try state.insertBatch(
        BatchRecord(
          id: id, state: .open, selection: manifest.selection, pipelinePath: manifest.pipeline.path,
          openedAt: manifest.openedAt))
      try state.recordClaimed(
        manifest.inputs.map { (DocumentFiles.inboxName(ofInput: $0.path), $0.sha256, $0.size) },
        batch: id,
        at: manifest.openedAt)
    }
    try replayStageRuns(id, folder: folder, workdir: workdir)
    try replayLedger(id, workdir: workdir, at: manifest.openedAt)
    // The snapshot normalize built.
    let normalize = workdir.stageFolder(id, .normalize)
    if let reference = try? SnapshotReference.read(folder: normalize), reference.builtBy == id {
      try state.registerSnapshot(
        batch: id, path: reference.path, sha256: reference.sha256,
        students: reference.summary.students,
        contacts: reference.summary.contacts, at: manifest.openedAt)
    }
    try replayPublications(id, workdir: workdir, result: &result)
    // What the SIS export this batch claimed confirmed of the deliveries before it.
    _ = try Confirmation.restore(
      batchFolder: folder, batch: id, checkedAt: manifest.closedAt ?? manifest.openedAt,
      state: state)
    try replayEnd(id, manifest: manifest, workdir: workdir)
    result.batches += 1
  }

  /// Stage runs, from every stage.json kept (the published attempt and the earlier ones).
  static func replayStageRuns(_ id: String, folder: String, workdir: WorkDir) throws {
    for name in try FileSystem.listDirectory(folder)
    where Stage.allCases.contains(where: {
      name == $0.folder || name.hasPrefix($0.folder + ".attempt-")
    }) {
      guard let report = try? StageReport.load(folder + "/" + name) else { continue }
      try workdir.state.database.execute(
        "INSERT OR IGNORE INTO stage_runs(batch_id, stage, attempt, status, started_at, finished_at, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
          .text(id), .text(report.stage.rawValue), .integer(Int64(report.attempt)),
          .text(report.exitStatus == 0 ? "succeeded" : "failed"),
          .text(report.startedAt), .text(report.finishedAt), .integer(Int64(report.exitStatus)),
        ])
    }
  }

  /// The ledger, as parse and normalize recorded it: the submissions seen, their content hashes.
  static func replayLedger(_ id: String, workdir: WorkDir, at openedAt: String) throws {
    let parse = workdir.stageFolder(id, .parse)
    if FileSystem.exists(parse + "/submissions.jsonl") {
      var seen: [(id: String, form: String, approvedAt: String, selected: Bool)] = []
      for submission in try JSONLines.read(Submission.self, from: parse + "/submissions.jsonl") {
        seen.append((submission.id, submission.form, submission.approvedAt, true))
      }
      for row in (try? BatchLifecycle.readTable(parse + "/unselected.csv")) ?? []
      where row.count >= 2 {
        seen.append((row[0], row[1], "", false))
      }
      try workdir.state.recordSeen(seen, batch: id, at: openedAt)
    }
    let normalize = workdir.stageFolder(id, .normalize)
    var hashes: [(id: String, hash: String)] = []
    if FileSystem.exists(normalize + "/submissions.jsonl") {
      for submission in try JSONLines.read(Submission.self, from: normalize + "/submissions.jsonl")
      {
        if let hash = submission.contentHash { hashes.append((submission.id, hash)) }
      }
    }
    for row in (try? BatchLifecycle.readTable(normalize + "/already_delivered.csv")) ?? []
    where row.count >= 2 { hashes.append((row[0], row[1])) }
    try workdir.state.setContentHashes(hashes)
  }

  /// What was published, and the ids it gave new records.
  static func replayPublications(_ id: String, workdir: WorkDir, result: inout Result) throws {
    let state = workdir.state
    let published = Publication.folder(workdir, batch: id)
    let deliveries =
      (FileSystem.exists(published + "/" + Publication.recordName) ? [published] : [])
      + (try Redelivery.all(workdir, batch: id)).map(\.folder)
    if FileSystem.exists(published + "/" + Publication.recordName) { result.publications += 1 }
    for delivery in deliveries {
      if FileSystem.exists(delivery + "/" + StableIDs.fileName) {
        try StableIDs.record(folder: delivery, batch: id, state: state)
      } else if !result.withoutStableIDs.contains(id) {
        result.withoutStableIDs.append(id)
      }
    }
  }

  /// A closed batch's delivered submissions (manifest.delivered names them; delivered.csv, kept
  /// with the publication, carries their hashes), or a cancelled one.
  static func replayEnd(_ id: String, manifest: BatchManifest, workdir: WorkDir) throws {
    let published = Publication.folder(workdir, batch: id)
    switch manifest.state {
    case .closed:
      // manifest.delivered names them; delivered.csv (kept with the publication) carries their hashes.
      var delivered: [(id: String, hash: String)] = []
      let sealed = Set(manifest.delivered)
      let tables =
        [
          FileSystem.exists(published + "/delivered.csv")
            ? published : workdir.stageFolder(id, .deliver)
        ]
        + (try Redelivery.all(workdir, batch: id)).map(\.folder)
      for table in tables {
        for row in (try? BatchLifecycle.readTable(table + "/delivered.csv")) ?? []
        where row.count >= 2 && sealed.contains(row[0]) {
          delivered.append((row[0], row[1]))
        }
      }
      try workdir.state.closeBatch(
        id, state: .closed, delivered: delivered, vanished: manifest.vanished,
        at: manifest.closedAt ?? manifest.openedAt)
    case .cancelled:
      try workdir.state.closeBatch(
        id, state: .cancelled, delivered: [], vanished: [],
        at: manifest.closedAt ?? manifest.openedAt)
    case .open:
      break
    }
  }
}
