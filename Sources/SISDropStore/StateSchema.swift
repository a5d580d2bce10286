import Foundation
import SISDropCore

/// The one owner of `state.sqlite`'s tables: every table and index is created or changed here, by a
/// numbered migration, and `PRAGMA user_version` records the last one that ran.
///
/// To add a table or a column, append a migration with the next version; never edit one that has
/// shipped. A database from a newer sisdrop (a version above the last migration) is refused with 78:
/// this release would not know what the newer tables mean.
package enum StateSchema {
  package struct Migration: Sendable {
    package var version: Int
    package var summary: String
    package var sql: String
  }

  /// Version 0 is the release before versioning (0.1.0): tables made one by one with
  /// `CREATE TABLE IF NOT EXISTS`, some only when first used. Migration 1 makes that baseline
  /// whole, so it runs alike on a new database and on one 0.1.0 wrote.
  package static let migrations: [Migration] = [
    Migration(version: 1, summary: "the 0.1.0 tables, all of them", sql: baseline),
    Migration(
      version: 2,
      summary:
        "answers bound to the submission: field answers (keep-sis, accept) and their history",
      sql: StateStore.answerSchema),
    Migration(
      version: 3,
      summary: "answers to potential contact matches (Match to an SIS contact, or No Match)",
      sql: Resolution.contactSchema),
    Migration(
      version: 4, summary: "documents sent to the SIS, one row per SHA-256: never sent twice",
      sql: """
        CREATE TABLE delivered_documents(
          sha256 TEXT PRIMARY KEY,
          delivery TEXT NOT NULL,
          submission_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          path TEXT NOT NULL,
          delivered_at TEXT NOT NULL);
        """),
    Migration(
      version: 5,
      summary:
        "confirmation from the SIS: each delivered record, the exports checked, re-deliveries asked for",
      sql: confirmationSchema),
    Migration(
      version: 6,
      summary:
        "delivered_ids found by ref and by state id through an index (a scan per record looked up grew with every delivery)",
      sql: """
        CREATE INDEX delivered_ids_ref ON delivered_ids(kind, ref);
        CREATE INDEX delivered_ids_state_id ON delivered_ids(kind, state_id);
        """),
    Migration(
      version: 7,
      summary:
        "delivered_records found by ref, SIS id and learned id through an index (the SIS import's results file scanned every record ever delivered per row)",
      sql: """
        CREATE INDEX delivered_records_ref ON delivered_records(ref);
        CREATE INDEX delivered_records_sis_id ON delivered_records(sis_id);
        CREATE INDEX delivered_records_learned_id ON delivered_records(learned_id);
        """),
    Migration(
      version: 8,
      summary:
        "tardies sent, one row per student, school and day (the SIS keeps one attendance record per student per school per day); delivered_tardies keeps the keys older runs recorded",
      sql: """
        CREATE TABLE delivered_tardy_days(
          student_number TEXT NOT NULL,
          school TEXT NOT NULL,
          day TEXT NOT NULL,
          att_code TEXT NOT NULL,
          run_id TEXT NOT NULL,
          PRIMARY KEY (student_number, school, day));
        """),
    Migration(
      version: 9,
      summary:
        "the tardy feed's own status: its last run (when, outcome, counts, exit status) and its last check, for `sisdrop status` and its notifications",
      sql: """
        CREATE TABLE tardy_feed_status(
          id INTEGER PRIMARY KEY CHECK (id = 1),
          status TEXT NOT NULL,
          updated_at TEXT NOT NULL);
        """),
  ]

  package static var current: Int { migrations.last!.version }

  /// Migration 5: confirmation from the SIS (`Confirmation`): each delivered record, the exports
  /// checked, the re-deliveries asked for.
  static let confirmationSchema = """
    CREATE TABLE delivered_records(
      submission_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('student_new', 'student_update', 'contact_new', 'contact_update')),
      seq INTEGER NOT NULL,
      student_seq INTEGER NOT NULL,
      batch_id TEXT NOT NULL,
      delivery TEXT NOT NULL,
      ref TEXT NOT NULL,
      sis_id TEXT NOT NULL,
      student_number TEXT NOT NULL,
      fields TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('delivered', 'confirmed', 'unconfirmed')),
      exports_seen INTEGER NOT NULL DEFAULT 0,
      learned_id TEXT,
      missing TEXT,
      import_status TEXT,
      import_message TEXT,
      deliveries INTEGER NOT NULL DEFAULT 1,
      delivered_at TEXT NOT NULL,
      confirmed_at TEXT,
      confirmed_by TEXT,
      PRIMARY KEY (submission_id, kind, seq, student_seq));
    CREATE INDEX delivered_records_status ON delivered_records(status);
    CREATE TABLE confirm_deliveries(delivery TEXT PRIMARY KEY, recorded_at TEXT NOT NULL);
    CREATE TABLE confirm_exports(
      snapshot_batch TEXT PRIMARY KEY,
      checked_at TEXT NOT NULL,
      confirmed INTEGER NOT NULL,
      unconfirmed INTEGER NOT NULL,
      awaited INTEGER NOT NULL);
    CREATE TABLE redeliver_requests(
      submission_id TEXT PRIMARY KEY,
      requested_by TEXT NOT NULL,
      requested_at TEXT NOT NULL);
    """

  /// The schema version a database records (0 for a new one and for one 0.1.0 wrote).
  package static func version(_ database: Database) throws -> Int {
    Int(try database.scalar("PRAGMA user_version").int ?? 0)
  }

  /// Refuses a database a newer sisdrop wrote.
  ///
  /// - Throws: `SISDropError` 78 naming both versions.
  static func refuseNewer(_ database: Database) throws -> Int {
    let found = try version(database)
    guard found <= current else {
      throw SISDropError.configuration(
        "state.sqlite has schema version \(found); this sisdrop (\(SISDropVersion.current)) knows versions up to \(current)",
        at: SourceLocation(path: database.path),
        hint:
          "run the newer sisdrop that wrote it, or restore a backup this version made (`sisdrop backup FILE`)"
      )
    }
    return found
  }

  /// Brings a database to the current version: the missing migrations and the new `user_version`
  /// in one transaction. The caller holds the working directory's lock.
  static func migrate(_ database: Database) throws {
    let found = try refuseNewer(database)
    guard found < current else { return }
    try database.inTransaction {
      for migration in migrations where migration.version > found {
        try database.execute(migration.sql)
      }
      try database.execute("PRAGMA user_version = \(current)")
    }
  }

  /// Whether the file holds no sisdrop state: missing, zero bytes, or a database without tables.
  package static func isEmpty(_ path: String) throws -> Bool { try recordedBatches(path) == nil }

  /// How many batches the database records, or nil when it holds no sisdrop state at all.
  package static func recordedBatches(_ path: String) throws -> Int? {
    guard FileSystem.exists(path), (FileSystem.fileSize(path) ?? 0) > 0 else { return nil }
    let database = try Database(path: path)
    guard
      try database.scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'batches'"
      ).int != 0
    else { return nil }
    return Int(try database.scalar("SELECT count(*) FROM batches").int ?? 0)
  }

  static let baseline = """
    CREATE TABLE IF NOT EXISTS batches(
      id TEXT PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'cancelled')),
      selection TEXT NOT NULL,
      pipeline TEXT NOT NULL,
      opened_at TEXT NOT NULL,
      closed_at TEXT);
    CREATE UNIQUE INDEX IF NOT EXISTS one_open_batch ON batches(state) WHERE state = 'open';
    CREATE TABLE IF NOT EXISTS stage_runs(
      batch_id TEXT NOT NULL REFERENCES batches(id),
      stage TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
      started_at TEXT NOT NULL,
      finished_at TEXT,
      exit_code INTEGER,
      message TEXT,
      PRIMARY KEY (batch_id, stage, attempt));
    CREATE TABLE IF NOT EXISTS ledger(
      submission_id TEXT PRIMARY KEY,
      form TEXT NOT NULL,
      approved_at TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'batched', 'delivered', 'vanished')),
      batch_id TEXT,
      content_hash TEXT,
      delivered_hash TEXT,
      delivered_batch TEXT,
      first_seen_batch TEXT,
      last_seen_batch TEXT,
      updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS inbox_files(
      sha256 TEXT NOT NULL,
      name TEXT NOT NULL,
      size INTEGER NOT NULL,
      batch_id TEXT NOT NULL,
      claimed_at TEXT NOT NULL,
      PRIMARY KEY (batch_id, name));
    CREATE TABLE IF NOT EXISTS snapshots(
      batch_id TEXT NOT NULL,
      path TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      students INTEGER NOT NULL,
      contacts INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (batch_id));
    CREATE TABLE IF NOT EXISTS integration_status(
      id INTEGER PRIMARY KEY CHECK (id = 1),
      status TEXT NOT NULL,
      updated_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS integration_events(
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      from_state TEXT,
      to_state TEXT NOT NULL,
      reason TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS notifications(
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      created_at TEXT NOT NULL,
      message TEXT NOT NULL,
      sent_at TEXT,
      error TEXT);
    CREATE TABLE IF NOT EXISTS resolutions(
      submission_id TEXT NOT NULL,
      student_seq INTEGER NOT NULL,
      action TEXT NOT NULL CHECK (action IN ('match', 'no-match')),
      sis_id TEXT,
      resolved_by TEXT NOT NULL,
      resolved_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, student_seq));
    CREATE TABLE IF NOT EXISTS resolution_versions(
      submission_id TEXT NOT NULL,
      student_seq INTEGER NOT NULL,
      version TEXT NOT NULL,
      student_key TEXT NOT NULL,
      PRIMARY KEY (submission_id, student_seq));
    CREATE TABLE IF NOT EXISTS overrides(
      submission_id TEXT NOT NULL,
      field TEXT NOT NULL,
      resolved_by TEXT NOT NULL,
      resolved_at TEXT NOT NULL,
      source TEXT NOT NULL,
      PRIMARY KEY (submission_id, field));
    CREATE TABLE IF NOT EXISTS corrections(
      submission_id TEXT NOT NULL,
      schema TEXT NOT NULL CHECK (schema IN ('student', 'contact')),
      seq INTEGER NOT NULL,
      field TEXT NOT NULL,
      value TEXT NOT NULL,
      source TEXT NOT NULL,
      created_at TEXT NOT NULL,
      version TEXT NOT NULL,
      PRIMARY KEY (submission_id, schema, seq, field));
    CREATE TABLE IF NOT EXISTS delivered_ids(
      sourced_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('student', 'contact')),
      ref TEXT NOT NULL,
      state_id TEXT NOT NULL,
      sis_id TEXT NOT NULL,
      batch TEXT NOT NULL,
      delivered_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS delivered_tardies(
      tardy_key TEXT PRIMARY KEY,
      run_id TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tardy_runs(run_id TEXT PRIMARY KEY, recorded_at TEXT NOT NULL);
    """
}
