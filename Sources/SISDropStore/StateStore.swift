import Foundation
import SISDropCore

/// A batch's lifecycle state (the seed's Create / Close / Cancel Delivery Batch).
package enum BatchState: String, Sendable, Codable { case open, closed, cancelled }

/// A ledger entry's state: what happened to an approved submission.
package enum LedgerStatus: String, Sendable, Codable, CaseIterable {
  /// Approved, seen in an export, not yet delivered.
  case pending
  /// Selected into the open batch.
  case batched
  case delivered
  /// Was pending, then no longer in the enrollment export before it was delivered: reported.
  case vanished
}

package struct BatchRecord: Sendable, Codable, Hashable {
  package var id: String
  package var state: BatchState
  package var selection: Selection
  package var pipelinePath: String
  package var openedAt: String
  package var closedAt: String?

  package init(
    id: String, state: BatchState, selection: Selection, pipelinePath: String, openedAt: String,
    closedAt: String? = nil
  ) {
    self.id = id
    self.state = state
    self.selection = selection
    self.pipelinePath = pipelinePath
    self.openedAt = openedAt
    self.closedAt = closedAt
  }
}

/// What `open` selected: all pending, some submission ids, or one form (the seed's Selected Only / All Found).
package struct Selection: Sendable, Codable, Hashable, CustomStringConvertible {
  package var only: [String]?
  package var form: String?

  package init(only: [String]? = nil, form: String? = nil) {
    self.only = only
    self.form = form
  }

  package static let all = Selection()

  package func includes(id: String, form: String) -> Bool {
    if let only, !only.contains(id) { return false }
    if let selected = self.form, selected != form { return false }
    return true
  }

  package var description: String {
    if let only { return "only \(only.joined(separator: ","))" }
    if let form { return "form \(form)" }
    return "all"
  }
}

/// A row of the pending ledger (`sisdrop pending`).
package struct LedgerEntry: Sendable, Codable, Hashable {
  package var submissionID: String
  package var form: String
  package var approvedAt: String
  package var status: LedgerStatus
  package var batchID: String?
  package var contentHash: String?
  package var deliveredHash: String?
  package var deliveredBatch: String?
  package var lastSeenBatch: String?
}

package struct StageRunRecord: Sendable, Codable, Hashable {
  package var batchID: String
  package var stage: String
  package var attempt: Int
  package var status: String
  package var startedAt: String
  package var finishedAt: String?
  package var exitCode: Int?
  package var message: String?
}

/// `state.sqlite`: batches, stage runs, the pending ledger and the snapshot register.
///
/// WAL with `synchronous=FULL` (batch state must survive power loss); every write runs in a
/// `BEGIN IMMEDIATE` transaction; a partial unique index makes a second open batch impossible.
package final class StateStore {
  package let database: Database

  /// Opens the state database. A writer (the caller holds the working directory's lock) creates
  /// it and migrates it to the current schema (`StateSchema`); a reader (`readOnly`) runs no
  /// statement that writes, and refuses only a database a newer sisdrop wrote.
  package init(path: String, readOnly: Bool = false) throws {
    let created = !FileSystem.exists(path)
    database = try Database(path: path)
    if readOnly {
      _ = try StateSchema.refuseNewer(database)
      return
    }
    try database.execute("PRAGMA journal_mode=WAL")
    try database.execute("PRAGMA synchronous=FULL")
    try database.execute("PRAGMA foreign_keys=ON")
    try StateSchema.migrate(database)
    if created { chmod(path, 0o600) }
  }

  // MARK: Batches

  package func openBatch() throws -> BatchRecord? {
    try batches(where: "state = 'open'").first
  }

  package func batch(_ id: String) throws -> BatchRecord? {
    try batches(where: "id = ?", [.text(id)]).first
  }

  package func allBatches() throws -> [BatchRecord] { try batches(where: "1 = 1") }

  private func batches(where clause: String, _ arguments: [SQLValue] = []) throws -> [BatchRecord] {
    let statement = try database.prepare(
      "SELECT id, state, selection, pipeline, opened_at, closed_at FROM batches WHERE \(clause) ORDER BY id"
    )
    try statement.bind(arguments)
    var result: [BatchRecord] = []
    try statement.forEachRow { row in
      let selection =
        (try? JSONDecoder().decode(Selection.self, from: Data(row.string(2).utf8))) ?? .all
      result.append(
        BatchRecord(
          id: row.string(0), state: BatchState(rawValue: row.string(1)) ?? .open,
          selection: selection,
          pipelinePath: row.string(3), openedAt: row.string(4), closedAt: row.text(5)))
    }
    return result
  }

  /// The next batch id for a day: `YYYYMMDD-NN`.
  package func nextBatchID(day: String) throws -> String {
    let count =
      try database.scalar("SELECT count(*) FROM batches WHERE id LIKE ?", [.text("\(day)-%")]).int
      ?? 0
    return String(format: "%@-%02d", day, Int(count) + 1)
  }

  /// Records a new open batch.
  ///
  /// - Throws: `SISDropError` (75) when a batch is already open: the seed's one batch at a time.
  package func insertBatch(_ batch: BatchRecord) throws {
    let selection = String(decoding: try JSONEncoder().encode(batch.selection), as: UTF8.self)
    do {
      try database.execute(
        "INSERT INTO batches(id, state, selection, pipeline, opened_at) VALUES (?, 'open', ?, ?, ?)",
        [.text(batch.id), .text(selection), .text(batch.pipelinePath), .text(batch.openedAt)])
    } catch let error as SQLiteError where error.isConstraint {
      let open = try openBatch()?.id ?? "?"
      throw SISDropError(
        .temporaryFailure, "batch \(open) is still open: one delivery batch at a time",
        hint: "finish it with `sisdrop close`, or `sisdrop cancel` it, then open a new one")
    }
  }

  package func setBatchState(_ id: String, _ state: BatchState, at time: String) throws {
    try database.execute(
      "UPDATE batches SET state = ?, closed_at = ? WHERE id = ?",
      [.text(state.rawValue), .text(time), .text(id)])
  }

  // MARK: Stage runs

  package func beginStageRun(batch: String, stage: String, startedAt: String) throws -> Int {
    try database.inTransaction {
      // A run still marked running belonged to a process that died: we hold the workdir lock.
      try database.execute(
        "UPDATE stage_runs SET status = 'failed', message = 'interrupted', exit_code = 1 WHERE batch_id = ? AND stage = ? AND status = 'running'",
        [.text(batch), .text(stage)])
      let attempt = Int(
        try database.scalar(
          "SELECT coalesce(max(attempt), 0) + 1 FROM stage_runs WHERE batch_id = ? AND stage = ?",
          [.text(batch), .text(stage)]
        ).int ?? 1)
      try database.execute(
        "INSERT INTO stage_runs(batch_id, stage, attempt, status, started_at) VALUES (?, ?, ?, 'running', ?)",
        [.text(batch), .text(stage), .integer(Int64(attempt)), .text(startedAt)])
      return attempt
    }
  }

  package func finishStageRun(
    batch: String, stage: String, attempt: Int, succeeded: Bool, exitCode: Int32,
    message: String?, finishedAt: String
  ) throws {
    try database.inTransaction {
      try database.execute(
        "UPDATE stage_runs SET status = ?, exit_code = ?, message = ?, finished_at = ? WHERE batch_id = ? AND stage = ? AND attempt = ?",
        [
          .text(succeeded ? "succeeded" : "failed"), .integer(Int64(exitCode)), SQLValue(message),
          .text(finishedAt),
          .text(batch), .text(stage), .integer(Int64(attempt)),
        ])
    }
  }

  package func stageRuns(batch: String) throws -> [StageRunRecord] {
    let statement = try database.prepare(
      "SELECT batch_id, stage, attempt, status, started_at, finished_at, exit_code, message FROM stage_runs WHERE batch_id = ? ORDER BY stage, attempt"
    )
    try statement.bind([.text(batch)])
    var runs: [StageRunRecord] = []
    try statement.forEachRow { row in
      runs.append(
        StageRunRecord(
          batchID: row.string(0), stage: row.string(1), attempt: Int(row.int(2)),
          status: row.string(3),
          startedAt: row.string(4), finishedAt: row.text(5),
          exitCode: row.text(6) == nil ? nil : Int(row.int(6)),
          message: row.text(7)))
    }
    return runs
  }

  // MARK: Ledger

  package func ledger(statuses: [LedgerStatus] = LedgerStatus.allCases) throws -> [LedgerEntry] {
    let list = statuses.map { "'\($0.rawValue)'" }.joined(separator: ",")
    return try ledger(where: "status IN (\(list))")
  }

  /// One submission's entry, by its key (answers and corrections look one up per row).
  package func ledgerEntry(_ id: String) throws -> LedgerEntry? {
    try ledger(where: "submission_id = ?", [.text(id)]).first
  }

  private func ledger(where clause: String, _ arguments: [SQLValue] = []) throws -> [LedgerEntry] {
    let statement = try database.prepare(
      "SELECT submission_id, form, approved_at, status, batch_id, content_hash, delivered_hash, delivered_batch, last_seen_batch FROM ledger WHERE \(clause) ORDER BY submission_id"
    )
    if !arguments.isEmpty { try statement.bind(arguments) }
    var entries: [LedgerEntry] = []
    try statement.forEachRow { row in
      entries.append(
        LedgerEntry(
          submissionID: row.string(0), form: row.string(1), approvedAt: row.string(2),
          status: LedgerStatus(rawValue: row.string(3)) ?? .pending, batchID: row.text(4),
          contentHash: row.text(5),
          deliveredHash: row.text(6), deliveredBatch: row.text(7), lastSeenBatch: row.text(8)))
    }
    return entries
  }

  /// Records submissions seen in a batch's export (idempotent: a rerun writes the same).
  ///
  /// Selected ones become `batched` in this batch; others stay or become `pending`. A delivered
  /// submission stays delivered (the normalize stage compares its content hash).
  package func recordSeen(
    _ seen: [(id: String, form: String, approvedAt: String, selected: Bool)], batch: String,
    at time: String
  ) throws {
    try database.inTransaction {
      let statement = try database.prepare(
        """
        INSERT INTO ledger(submission_id, form, approved_at, status, batch_id, first_seen_batch, last_seen_batch, updated_at)
        VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN 'batched' ELSE 'pending' END, CASE WHEN ?4 THEN ?5 END, ?5, ?5, ?6)
        ON CONFLICT(submission_id) DO UPDATE SET
          form = excluded.form, approved_at = excluded.approved_at, last_seen_batch = ?5, updated_at = ?6,
          status = CASE WHEN status = 'delivered' THEN 'delivered' WHEN ?4 THEN 'batched' ELSE 'pending' END,
          batch_id = CASE WHEN status = 'delivered' THEN batch_id WHEN ?4 THEN ?5 ELSE NULL END
        """)
      for entry in seen {
        try statement.bind([
          .text(entry.id), .text(entry.form), .text(entry.approvedAt),
          .integer(entry.selected ? 1 : 0), .text(batch), .text(time),
        ])
        try statement.run()
      }
    }
  }

  package func setContentHashes(_ hashes: [(id: String, hash: String)]) throws {
    try database.inTransaction {
      let statement = try database.prepare(
        "UPDATE ledger SET content_hash = ? WHERE submission_id = ?")
      for entry in hashes {
        try statement.bind([.text(entry.hash), .text(entry.id)])
        try statement.run()
      }
    }
  }

  /// Closes a batch in one transaction: delivered submissions are marked delivered, vanished ones
  /// vanished, the rest of the batch returns to pending.
  package func closeBatch(
    _ id: String, state: BatchState, delivered: [(id: String, hash: String)], vanished: [String],
    at time: String
  ) throws {
    try database.inTransaction {
      let mark = try database.prepare(
        "UPDATE ledger SET status = 'delivered', delivered_hash = ?, delivered_batch = ?, batch_id = NULL, updated_at = ? WHERE submission_id = ?"
      )
      for entry in delivered {
        try mark.bind([.text(entry.hash), .text(id), .text(time), .text(entry.id)])
        try mark.run()
      }
      let gone = try database.prepare(
        "UPDATE ledger SET status = 'vanished', updated_at = ? WHERE submission_id = ? AND status = 'pending'"
      )
      for entry in vanished {
        try gone.bind([.text(time), .text(entry)])
        try gone.run()
      }
      try database.execute(
        "UPDATE ledger SET status = 'pending', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'batched'",
        [.text(time), .text(id)])
      try setBatchState(id, state, at: time)
    }
  }

  // MARK: Inbox files and snapshots

  /// Records the files a batch claimed. Called inside the transaction that inserts the batch.
  package func recordClaimed(
    _ files: [(name: String, sha256: String, size: Int64)], batch: String, at time: String
  ) throws {
    for file in files {
      try database.execute(
        "INSERT OR REPLACE INTO inbox_files(sha256, name, size, batch_id, claimed_at) VALUES (?, ?, ?, ?, ?)",
        [.text(file.sha256), .text(file.name), .integer(file.size), .text(batch), .text(time)])
    }
  }

  package func registerSnapshot(
    batch: String, path: String, sha256: String, students: Int, contacts: Int, at time: String
  ) throws {
    try database.inTransaction {
      try database.execute(
        "INSERT OR REPLACE INTO snapshots(batch_id, path, sha256, students, contacts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
          .text(batch), .text(path), .text(sha256), .integer(Int64(students)),
          .integer(Int64(contacts)), .text(time),
        ])
    }
  }

  /// Whether `batch` registered a snapshot (its SIS export or delta was taken into one).
  package func hasSnapshot(batch: String) throws -> Bool {
    (try database.scalar("SELECT count(*) FROM snapshots WHERE batch_id = ?", [.text(batch)]).int
      ?? 0) > 0
  }

  /// The newest snapshot registered by any batch other than `excluding`.
  package func latestSnapshot(excluding batch: String? = nil) throws -> (
    batch: String, path: String, sha256: String
  )? {
    let rows = try database.rows(
      "SELECT batch_id, path, sha256 FROM snapshots WHERE batch_id != ? ORDER BY created_at DESC, batch_id DESC LIMIT 1",
      [.text(batch ?? "")])
    guard let row = rows.first, let id = row[0].string, let path = row[1].string,
      let hash = row[2].string
    else { return nil }
    return (id, path, hash)
  }
}

@available(*, unavailable) extension StateStore: Sendable {}
