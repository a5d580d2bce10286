import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore
import Testing
import _SISDropTestSupport

@Suite struct StateStoreTests {
  func batch(_ id: String) -> BatchRecord {
    BatchRecord(
      id: id, state: .open, selection: .all, pipelinePath: "/p.yaml",
      openedAt: "2026-11-23T00:00:00Z")
  }

  @Test func aSecondOpenBatchIsImpossibleAtTheDatabaseLevel() throws {
    try withTemporaryFolder { folder in
      let store = try StateStore(path: folder + "/state.sqlite")
      try store.insertBatch(batch("20261123-01"))
      #expect { try store.insertBatch(batch("20261123-02")) } throws: {
        ($0 as? SISDropError)?.status == .temporaryFailure
      }
      // Even a raw insert that bypasses the check fails on the partial unique index.
      #expect {
        try store.database.execute(
          "INSERT INTO batches(id, state, selection, pipeline, opened_at) VALUES ('x', 'open', '{}', 'p', 't')"
        )
      } throws: { ($0 as? SQLiteError)?.isConstraint == true }
      try store.setBatchState("20261123-01", .closed, at: "t")
      try store.insertBatch(batch("20261123-02"))
      #expect(try store.nextBatchID(day: "20261123") == "20261123-03")
    }
  }

  @Test func ledgerKeepsDeliveredSubmissionsDeliveredAndReturnsTheRestToPending() throws {
    try withTemporaryFolder { folder in
      let store = try StateStore(path: folder + "/state.sqlite")
      try store.insertBatch(batch("b1"))
      try store.recordSeen(
        [("S-1", "F", "t", true), ("S-2", "F", "t", true), ("S-3", "G", "t", false)], batch: "b1",
        at: "t")
      // Recording again (a stage rerun) writes the same.
      try store.recordSeen(
        [("S-1", "F", "t", true), ("S-2", "F", "t", true), ("S-3", "G", "t", false)], batch: "b1",
        at: "t")
      #expect(try store.ledger(statuses: [.batched]).map(\.submissionID) == ["S-1", "S-2"])
      #expect(try store.ledger(statuses: [.pending]).map(\.submissionID) == ["S-3"])
      try store.closeBatch("b1", state: .closed, delivered: [("S-1", "h1")], vanished: [], at: "t2")
      #expect(try store.ledgerEntry("S-1")?.status == .delivered)
      #expect(try store.ledgerEntry("S-1")?.deliveredHash == "h1")
      #expect(try store.ledger(statuses: [.pending]).map(\.submissionID) == ["S-2", "S-3"])
      // The next export lists S-1 again: it stays delivered; S-3 vanished before delivery is reported.
      try store.insertBatch(batch("b2"))
      try store.recordSeen(
        [("S-1", "F", "t", true), ("S-2", "F", "t", true)], batch: "b2", at: "t3")
      #expect(try store.ledgerEntry("S-1")?.status == .delivered)
      try store.closeBatch("b2", state: .closed, delivered: [], vanished: ["S-3"], at: "t4")
      #expect(try store.ledgerEntry("S-3")?.status == .vanished)
      #expect(try store.ledgerEntry("S-2")?.status == .pending)
    }
  }

  /// A transaction inside a transaction is a savepoint: a step that throws undoes its own writes
  /// only; the outer one that throws undoes every step, the ones that succeeded included.
  @Test func aTransactionInsideATransactionIsAStepOfIt() throws {
    struct Stop: Error {}
    try withTemporaryFolder { folder in
      let database = try Database(path: folder + "/x.sqlite")
      try database.execute("CREATE TABLE t(x INTEGER)")
      func values() throws -> [Int64] {
        try database.rows("SELECT x FROM t ORDER BY x").compactMap { $0[0].int }
      }
      try database.inTransaction {
        try database.inTransaction {
          try database.execute("INSERT INTO t VALUES (?)", [.integer(1)])
        }
        var thrown: (any Error)?
        do {
          try database.inTransaction {
            try database.execute("INSERT INTO t VALUES (?)", [.integer(2)])
            #expect(try values() == [1, 2])
            throw Stop()
          }
        } catch { thrown = error }
        #expect(thrown is Stop)
        try database.execute("INSERT INTO t VALUES (?)", [.integer(3)])
      }
      #expect(try values() == [1, 3])
      // Closure literals stay out of `#expect(throws:)`'s body (CONTRIBUTING.md, "Tests").
      let insertThenStop: () throws -> Void = {
        try database.inTransaction {
          try database.execute("INSERT INTO t VALUES (?)", [.integer(4)])
        }
        throw Stop()
      }
      #expect(throws: Stop.self) { try database.inTransaction(insertThenStop) }
      #expect(try values() == [1, 3])
      // Nothing is left open: a new transaction starts.
      try database.inTransaction { try database.execute("INSERT INTO t VALUES (?)", [.integer(5)]) }
      #expect(try values() == [1, 3, 5])
    }
  }

  /// Migration 8: a database of version 7 keeps the tardies it recorded by student, instant and
  /// reason (the feed still reads them, so that no day they sent goes again) and gets the table of
  /// days sent.
  @Test func aVersion7DatabaseKeepsItsTardiesAndGetsTheDaysSent() throws {
    try withTemporaryFolder { folder in
      let path = folder + "/state.sqlite"
      let old = try Database(path: path)
      for migration in StateSchema.migrations where migration.version <= 7 {
        try old.execute(migration.sql)
      }
      try old.execute("PRAGMA user_version = 7")
      try old.execute(
        "INSERT INTO delivered_tardies(tardy_key, run_id) VALUES ('1|2026-11-16T14:14:18Z|late bus', 'T1')"
      )
      let store = try StateStore(path: path)
      #expect(try StateSchema.version(store.database) == StateSchema.current)
      #expect(
        try store.database.rows("SELECT tardy_key, run_id FROM delivered_tardies").map {
          $0.map { $0.string ?? "-" }
        } == [["1|2026-11-16T14:14:18Z|late bus", "T1"]])
      #expect(try store.database.scalar("SELECT count(*) FROM delivered_tardy_days").int == 0)
    }
  }

  /// Migration 7: a database of version 6 keeps its delivered records and gets the indexes the SIS
  /// import's results file is looked up through (a row's key is a ref, an SIS id or a learned id).
  @Test func aVersion6DatabaseGetsTheDeliveredRecordsIndexesAndKeepsItsRows() throws {
    try withTemporaryFolder { folder in
      let path = folder + "/state.sqlite"
      let old = try Database(path: path)
      for migration in StateSchema.migrations where migration.version <= 6 {
        try old.execute(migration.sql)
      }
      try old.execute("PRAGMA user_version = 6")
      try old.execute(
        """
        INSERT INTO delivered_records(submission_id, kind, seq, student_seq, batch_id, delivery, ref, sis_id,
          student_number, fields, status, learned_id, delivered_at)
        VALUES ('S-1', 'student_new', 1, 1, 'b1', 'b1', 'S-1/1', '', '', '{}', 'delivered', '20001', 't'),
               ('S-2', 'contact_update', 1, 1, 'b1', 'b1', 'C-7', 'C-7', '10002', '{}', 'unconfirmed', NULL, 't')
        """)
      let store = try StateStore(path: path)
      #expect(try StateSchema.version(store.database) == StateSchema.current)
      #expect(
        try store.database.rows(
          "SELECT submission_id, ref, sis_id, learned_id FROM delivered_records ORDER BY submission_id"
        ).map { $0.map { $0.string ?? "-" } } == [
          ["S-1", "S-1/1", "", "20001"], ["S-2", "C-7", "C-7", "-"],
        ])
      // The results file's lookup (Confirmation.takeResults): each key searched in an index, no
      // scan of every record delivered.
      let plan = try store.database.rows(
        """
        EXPLAIN QUERY PLAN SELECT submission_id FROM delivered_records
        WHERE kind IN ('student_new', 'student_update') AND (ref = ? OR sis_id = ? OR learned_id = ?) AND status != 'confirmed'
        """, [.text("k"), .text("k"), .text("k")]
      ).compactMap { $0[3].string }
      #expect(plan.contains { $0.contains("USING INDEX delivered_records_ref (ref=?)") })
      #expect(plan.contains { $0.contains("USING INDEX delivered_records_sis_id (sis_id=?)") })
      #expect(
        plan.contains { $0.contains("USING INDEX delivered_records_learned_id (learned_id=?)") })
      #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
    }
  }

  @Test func sqliteErrorsCarryCodeMessageAndSQL() throws {
    try withTemporaryFolder { folder in
      let database = try Database(path: folder + "/x.sqlite")
      #expect { try database.execute("SELECT * FROM nowhere") } throws: { error in
        "\(error)".contains(
          "SQLite error 1: no such table: nowhere - while executing `SELECT * FROM nowhere`")
      }
    }
  }
}

@Suite struct SnapshotTests {
  @Test func loadsTheDemoExportWithLeadingZerosAndKeys() throws {
    try withTemporaryFolder { folder in
      var files: [String: String] = [:]
      for name in ["students", "contacts", "schools", "attendance_codes"] {
        files[name] = Checkout.demoDistrict + "/sis/\(name).csv"
      }
      let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
      let (summary, rejects) = try SnapshotBuilder(feed: FeedConfig(), plugin: plugin).build(
        files: files, output: folder + "/s.sqlite")
      #expect(summary.students == 310 && summary.contacts == 472 && summary.schools == 3)
      #expect(rejects.isEmpty)
      let snapshot = try Snapshot(path: folder + "/s.sqlite")
      #expect(try snapshot.schools().map(\.number) == ["0101", "0202", "0303"])
      let zoe = try #require(try snapshot.student(number: "101998"))
      #expect(zoe.lastKey == "obrien" && zoe.fields["DOB"]?.count == 10)
    }
  }

  @Test func fieldsThePluginDoesNotGrantAreNotRead() throws {
    try withTemporaryFolder { folder in
      let plugin = try readText(Checkout.demoDistrict + "/config/Plugin.xml")
        .replacingOccurrences(
          of: "<field table=\"Students\" field=\"Email\" access=\"FullAccess\"/>", with: "")
      let path = try writeFile(folder + "/Plugin.xml", plugin)
      let files = [
        "students": Checkout.demoDistrict + "/sis/students.csv",
        "schools": Checkout.demoDistrict + "/sis/schools.csv",
      ]
      let (summary, _) = try SnapshotBuilder(
        feed: FeedConfig(), plugin: try PluginManifest.load(path: path)
      )
      .build(files: files, output: folder + "/s.sqlite")
      #expect(summary.withheldFields == ["Students.Email"])
      let emails = try Database(path: folder + "/s.sqlite").scalar(
        "SELECT count(email) FROM students")
      #expect(emails.int == 0)
    }
  }

  /// `Snapshot.RowFields` (a template with each field's place) makes every row's dictionary as
  /// inserting each non-NULL column does: every students and contacts row of the demo export, with
  /// the e-mail withheld (a NULL column in every students row).
  @Test func rowFieldsFromTheTemplateAreThePlainOnes() throws {
    try withTemporaryFolder { folder in
      let plugin = try readText(Checkout.demoDistrict + "/config/Plugin.xml")
        .replacingOccurrences(
          of: "<field table=\"Students\" field=\"Email\" access=\"FullAccess\"/>", with: "")
      let path = try writeFile(folder + "/Plugin.xml", plugin)
      var files: [String: String] = [:]
      for name in ["students", "contacts", "schools"] {
        files[name] = Checkout.demoDistrict + "/sis/\(name).csv"
      }
      _ = try SnapshotBuilder(feed: FeedConfig(), plugin: try PluginManifest.load(path: path))
        .build(files: files, output: folder + "/s.sqlite")
      let database = try Database(path: folder + "/s.sqlite", readOnly: true)
      for (table, layout, rows) in [
        ("students", Layouts.studentFields, Snapshot.studentRow),
        ("contacts", Layouts.contactFields, Snapshot.contactRow),
      ] {
        let statement = try database.prepare(
          "SELECT \(layout.map { $0.lowercased() }.joined(separator: ", ")) FROM \(table)")
        var count = 0
        var withNull = 0
        try statement.forEachRow { row in
          let plain = rows.plainFields(row)
          #expect(rows.fields(row) == plain, "\(table) row \(count)")
          if plain.count < layout.count { withNull += 1 }
          count += 1
        }
        #expect(count > 300)
        if table == "students" { #expect(withNull == count) }
      }
    }
  }

  @Test func duplicateSISKeysAreReportedWithTheirLineAndTheFirstRowKept() throws {
    try withTemporaryFolder { folder in
      let students = try writeFile(
        folder + "/students.csv",
        """
        Student_Number,First_Name,Last_Name,DOB
        0100,Ann,Lee,01/02/2015
        0101,Bo,Lee,03/04/2016
        0100,Cy,Lee,05/06/2017

        """)
      let schools = try writeFile(folder + "/schools.csv", "School_Number,Name\n0101,Lincoln\n")
      let (summary, rejects) = try SnapshotBuilder(feed: FeedConfig(), plugin: nil)
        .build(files: ["students": students, "schools": schools], output: folder + "/s.sqlite")
      #expect(summary.students == 2)
      #expect(
        rejects.map { "\($0.value) \($0.source.line ?? 0) \($0.reason)" } == [
          "0100 4 duplicate key in the SIS export"
        ])
      #expect(
        try Snapshot(path: folder + "/s.sqlite").student(number: "0100")?.fields["First_Name"]
          == "Ann")
    }
  }
}
