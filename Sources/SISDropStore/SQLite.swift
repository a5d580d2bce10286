import CSQLite
import Foundation
import SISDropCore

/// A SQLite result code, with named constants so that `catch` can match on them (as GRDB's `ResultCode`).
package struct SQLiteError: ExitStatusError, CustomStringConvertible, Sendable {
  package var code: Int32
  package var message: String
  package var sql: String?
  package var path: String

  /// The primary result code (the low byte of an extended code).
  package var primaryCode: Int32 { code & 0xff }
  package var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
  package var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
  /// Busy or locked: run again later (75); anything else: the state cannot be written (73).
  package var exitStatus: ExitStatus { isBusy ? .temporaryFailure : .cannotCreate }

  package var description: String {
    var text = "\(path): SQLite error \(code): \(message)"
    if let sql { text += " - while executing `\(sql)`" }
    return text
  }
}

/// A SQLite connection. The corresponding C functions are `sqlite3_open_v2` and `sqlite3_close_v2`.
///
/// Not Sendable: one connection per thread of work, as the stages run.
package final class Database {
  let handle: OpaquePointer
  package let path: String

  /// Opens (or creates, mode 0600 by the process umask of the caller) a database file.
  package init(path: String, readOnly: Bool = false) throws {
    self.path = path
    var db: OpaquePointer?
    let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
    let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
      sqlite3_close_v2(db)  // close even when the open failed (GRDB `openConnection`)
      throw SQLiteError(code: rc, message: message, sql: nil, path: path)
    }
    handle = db
    sqlite3_extended_result_codes(db, 1)
    sqlite3_busy_timeout(db, 10_000)
    if !readOnly { chmod(path, 0o600) }
  }

  deinit { sqlite3_close_v2(handle) }

  func error(_ code: Int32, sql: String?) -> SQLiteError {
    SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql, path: path)
  }

  /// Runs one or more statements without arguments. The corresponding C function is `sqlite3_exec`.
  package func execute(_ sql: String) throws {
    let rc = sqlite3_exec(handle, sql, nil, nil, nil)
    guard rc == SQLITE_OK else { throw error(rc, sql: sql) }
  }

  /// Runs one statement with arguments.
  package func execute(_ sql: String, _ arguments: [SQLValue]) throws {
    let statement = try prepare(sql)
    try statement.bind(arguments)
    try statement.run()
  }

  package func prepare(_ sql: String) throws -> Statement {
    try Statement(database: self, sql: sql)
  }

  /// Rows of a query, each as an array of values (for small results).
  package func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
    let statement = try prepare(sql)
    try statement.bind(arguments)
    var rows: [[SQLValue]] = []
    try statement.forEachRow { row in rows.append((0..<row.columnCount).map { row.value($0) }) }
    return rows
  }

  package func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue {
    try rows(sql, arguments).first?.first ?? .null
  }

  package enum TransactionEnd { case commit, rollback }

  /// Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken at the start, so a
  /// transaction that reads then writes cannot fail half-way with SQLITE_BUSY (docs/PLATFORM-NOTES.md, "SQLite").
  ///
  /// Inside a transaction already (one answer file recorded whole, each answer its own step), `body`
  /// runs in a savepoint: its writes are undone alone if it throws, and committed with the outer
  /// transaction. The corresponding C function is `sqlite3_get_autocommit`.
  @discardableResult
  package func inTransaction<T>(_ body: () throws -> T) throws -> T {
    if sqlite3_get_autocommit(handle) == 0 {
      try execute("SAVEPOINT nested")
      do {
        let result = try body()
        try execute("RELEASE nested")
        return result
      } catch {
        try? execute("ROLLBACK TO nested")
        try? execute("RELEASE nested")
        throw error
      }
    }
    try execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      CrashPoints.hit("commit")
      try execute("COMMIT")
      return result
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// Copies the whole database into a new file at `path` with SQLite's online backup API (a
  /// consistent copy while other connections read and write), made 0600, as one file (rollback
  /// journal mode), fsynced, then renamed into place. The corresponding C functions are
  /// `sqlite3_backup_init`, `sqlite3_backup_step` and `sqlite3_backup_finish`.
  package func backup(to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    unlink(temporary)
    do {
      try {
        let target = try Database(path: temporary)
        guard let backup = sqlite3_backup_init(target.handle, "main", handle, "main") else {
          throw target.error(sqlite3_errcode(target.handle), sql: nil)
        }
        let rc = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else { throw target.error(rc, sql: nil) }
        try target.execute("PRAGMA journal_mode=DELETE")
      }()
      let fd = open(temporary, O_RDONLY | O_CLOEXEC)
      if fd >= 0 {
        fsync(fd)
        close(fd)
      }
      try FileSystem.rename(temporary, to: path)
      try FileSystem.syncDirectory(
        (path as NSString).deletingLastPathComponent.isEmpty
          ? "." : (path as NSString).deletingLastPathComponent)
    } catch {
      unlink(temporary)
      throw error
    }
  }

  package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
  package var changes: Int { Int(sqlite3_changes(handle)) }
}

@available(*, unavailable) extension Database: Sendable {}

/// A value bound to or read from SQLite.
package enum SQLValue: Sendable, Hashable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)

  package var string: String? {
    switch self {
    case .text(let s): return s
    case .integer(let i): return String(i)
    case .real(let d): return String(d)
    case .null: return nil
    }
  }

  package var int: Int64? {
    switch self {
    case .integer(let i): return i
    case .text(let s): return Int64(s)
    case .real(let d): return Int64(d)
    case .null: return nil
    }
  }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral
{
  package init(stringLiteral value: String) { self = .text(value) }
  package init(integerLiteral value: Int64) { self = .integer(value) }
  package init(nilLiteral: ()) { self = .null }
  package init(_ value: String?) { self = value.map { .text($0) } ?? .null }
  package init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
}

private let transient = sisdrop_sqlite_transient()
nonisolated(unsafe) private let emptyText: UnsafePointer<CChar> = {
  let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
  pointer.initialize(to: 0)
  return UnsafePointer(pointer)
}()

/// A prepared statement. The corresponding C functions are `sqlite3_prepare_v3` and `sqlite3_finalize`.
package final class Statement {
  private let handle: OpaquePointer
  private let database: Database
  package let sql: String

  init(database: Database, sql: String) throws {
    self.database = database
    self.sql = sql
    var statement: OpaquePointer?
    let rc = sqlite3_prepare_v3(
      database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
    guard rc == SQLITE_OK, let statement else { throw database.error(rc, sql: sql) }
    handle = statement
  }

  deinit { sqlite3_finalize(handle) }

  /// Binds values to the statement's parameters, in order, after resetting it.
  package func bind(_ values: [SQLValue]) throws {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
    for (offset, value) in values.enumerated() {
      let index = Int32(offset + 1)
      let rc: Int32
      switch value {
      case .null: rc = sqlite3_bind_null(handle, index)
      case .integer(let i): rc = sqlite3_bind_int64(handle, index, i)
      case .real(let d): rc = sqlite3_bind_double(handle, index, d)
      case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, transient)
      }
      guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }
  }

  /// Binds a text value (or NULL for nil) at a 1-based index, for hot insert loops.
  package func bindText(_ index: Int32, _ value: String?) {
    if let value {
      var value = value
      value.withUTF8 { buffer in
        _ = buffer.withMemoryRebound(to: CChar.self) {
          sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), transient)
        }
      }
    } else {
      sqlite3_bind_null(handle, index)
    }
  }

  /// Binds UTF-8 bytes as text at a 1-based index without copying them (`SQLITE_STATIC`): the
  /// bytes must stay valid and unchanged until the statement has run. For the snapshot load.
  package func bindText(_ index: Int32, bytes: UnsafeBufferPointer<UInt8>) {
    // An empty value is '' not NULL: SQLite reads a null pointer as NULL.
    let pointer =
      bytes.count == 0
      ? emptyText : UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
    sqlite3_bind_text(handle, index, pointer, Int32(bytes.count), nil)
  }

  package func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }
  package func bindInt(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

  /// Steps a statement that returns no rows, then resets it.
  package func run() throws {
    defer { sqlite3_reset(handle) }
    let rc = sqlite3_step(handle)
    guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw database.error(rc, sql: sql) }
  }

  /// Calls `body` for each row; the row can only be read inside the closure.
  package func forEachRow(_ body: (Row) throws -> Void) throws {
    defer { sqlite3_reset(handle) }
    while true {
      let rc = sqlite3_step(handle)
      if rc == SQLITE_DONE { return }
      guard rc == SQLITE_ROW else { throw database.error(rc, sql: sql) }
      try body(Row(handle: handle))
    }
  }

  /// A row being stepped over: valid only inside `forEachRow`'s closure.
  package struct Row {
    let handle: OpaquePointer

    package var columnCount: Int { Int(sqlite3_column_count(handle)) }

    package func text(_ index: Int) -> String? {
      guard let pointer = sqlite3_column_text(handle, Int32(index)) else { return nil }
      return String(cString: pointer)
    }

    package func string(_ index: Int) -> String { text(index) ?? "" }

    /// The column's UTF-8 bytes without making a String (empty for NULL): valid until the next step.
    package func bytes(_ index: Int) -> UnsafeBufferPointer<UInt8> {
      guard let pointer = sqlite3_column_text(handle, Int32(index)) else {
        return UnsafeBufferPointer(start: nil, count: 0)
      }
      return UnsafeBufferPointer(
        start: pointer, count: Int(sqlite3_column_bytes(handle, Int32(index))))
    }
    package func int(_ index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    package func value(_ index: Int) -> SQLValue {
      switch sqlite3_column_type(handle, Int32(index)) {
      case SQLITE_NULL: return .null
      case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, Int32(index)))
      case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, Int32(index)))
      default: return .text(text(index) ?? "")
      }
    }
  }
}

@available(*, unavailable) extension Statement: Sendable {}
