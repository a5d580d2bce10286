import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropMatching
@testable import SISDropStore

/// The match stage reads the snapshot in parts (rowid ranges on every core) and in batches (one
/// query for many students): each must give exactly what the plain one-by-one reading gives.
@Suite struct SnapshotScanTests {
  func demoSnapshot(_ folder: String) throws -> Snapshot {
    var files: [String: String] = [:]
    for name in ["students", "contacts", "schools", "attendance_codes"] {
      files[name] = Checkout.demoDistrict + "/sis/\(name).csv"
    }
    let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
    _ = try SnapshotBuilder(feed: FeedConfig(), plugin: plugin).build(
      files: files, output: folder + "/s.sqlite")
    return try Snapshot(path: folder + "/s.sqlite")
  }

  func ids(_ snapshot: Snapshot, _ range: ClosedRange<Int64>) throws -> [String] {
    var ids: [String] = []
    try Snapshot.forEachMatchRecord(path: snapshot.path, rowids: range) { ids.append($0.id) }
    return ids
  }

  @Test func rowRangesCoverEveryStudentOnceInTableOrder() throws {
    try withTemporaryFolder { folder in
      let snapshot = try demoSnapshot(folder)
      let whole = try snapshot.rowRanges(table: "students", parts: 1)
      #expect(whole.count == 1 && whole[0].count == 310 && whole[0].offset == 0)
      let all = try ids(snapshot, whole[0].rowids)
      #expect(all.count == 310 && Set(all).count == 310)
      for parts in [2, 3, 7] {
        let ranges = try snapshot.rowRanges(table: "students", parts: parts)
        #expect(ranges.count == parts)
        var joined: [String] = []
        for range in ranges {
          #expect(range.offset == joined.count, "parts \(parts)")
          let part = try ids(snapshot, range.rowids)
          #expect(part.count == range.count)
          joined += part
        }
        #expect(joined == all, "parts \(parts)")
      }
    }
  }

  /// The sample chosen before the scan is the one Algorithm R keeps while streaming.
  @Test func reservoirRowsAreThoseOfStreamingAlgorithmR() {
    for (rows, size) in [(0, 400), (5, 400), (400, 400), (401, 400), (10_000, 400), (1_000, 7)] {
      var rng = SplitMix64(state: 0x5EED)
      var streamed: [Int] = []
      for row in 0..<rows {
        if streamed.count < size {
          streamed.append(row)
        } else {
          let j = rng.int(row + 1)
          if j < size { streamed[j] = row }
        }
      }
      let chosen = FellegiSunterMatcher.reservoir(rows: rows, size: size)
      #expect(chosen == streamed, "rows \(rows) size \(size)")
      #expect(chosen.count == min(rows, size) && Set(chosen).count == chosen.count)
    }
    // Not simply the first rows: a large table's sample reaches its end.
    #expect(FellegiSunterMatcher.reservoir(rows: 10_000, size: 400).contains { $0 > 5_000 })
  }

  @Test func batchLookupsGiveWhatOneByOneLookupsGive() throws {
    try withTemporaryFolder { folder in
      let snapshot = try demoSnapshot(folder)
      var numbers: [String] = []
      try Snapshot.forEachMatchRecord(path: snapshot.path, rowids: Int64.min...Int64.max) {
        numbers.append($0.id)
      }
      // two that are not in the SIS
      let asked = Array(numbers.prefix(40)) + ["999999999", "it's \"quoted\""]
      let students = try snapshot.students(numbers: asked)
      let contacts = try snapshot.contacts(ofStudents: asked)
      #expect(students.count == 40)
      var withContacts = 0
      for number in asked {
        #expect(students[number] == (try snapshot.student(number: number)))
        let one = try snapshot.contacts(ofStudent: number)
        #expect((contacts[number] ?? []) == one, "\(number)")
        if !one.isEmpty { withContacts += 1 }
      }
      #expect(withContacts > 20)
      #expect(
        try snapshot.students(numbers: []).isEmpty && snapshot.contacts(ofStudents: []).isEmpty)

      // Guardian-found students come with their guardians, folded as the scan folds them.
      let records = try snapshot.matchRecords(numbers: asked)
      #expect(records.map(\.id) == asked.prefix(40).sorted())
      for record in records {
        let expected = try snapshot.contacts(ofStudent: record.id).map {
          Comparators.foldLetters($0.firstKey) + " " + Comparators.foldLetters($0.lastKey)
        }
        #expect(
          record.guardians.map { $0.first + " " + $0.last }.sorted() == expected.sorted(),
          "\(record.id)")
      }
    }
  }

  /// The contacts scan (in parts, on column bytes) finds each wanted student's guardians in table
  /// order and every student with a guardian of an asked name.
  @Test func guardianScanFindsWantedGuardiansAndNamedStudents() throws {
    try withTemporaryFolder { folder in
      let snapshot = try demoSnapshot(folder)
      var numbers: [String] = []
      try Snapshot.forEachMatchRecord(path: snapshot.path, rowids: Int64.min...Int64.max) {
        numbers.append($0.id)
      }
      let wanted = Set(numbers.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
      let slots = Dictionary(
        uniqueKeysWithValues: wanted.sorted().enumerated().map { ($1, Int32($0)) })
      // Ask for the name of the first guardian of a few students.
      var asked: [UInt64: [Int32]] = [:]
      var expectedHits: [UInt64: Set<String>] = [:]
      for number in numbers.prefix(12) {
        guard let contact = try snapshot.contacts(ofStudent: number).first else { continue }
        let key = BlockKey(7).mix(Comparators.foldLetters(contact.firstKey)).mix(
          Comparators.foldLetters(contact.lastKey)
        ).value
        asked[key] = [0]
      }
      for number in numbers {
        for contact in try snapshot.contacts(ofStudent: number) {
          let key = BlockKey(7).mix(Comparators.foldLetters(contact.firstKey)).mix(
            Comparators.foldLetters(contact.lastKey)
          ).value
          if asked[key] != nil { expectedHits[key, default: []].insert(number) }
        }
      }
      let scan = try snapshot.guardians(of: slots, names: asked)
      let found = Dictionary(grouping: scan.guardians.flatMap(\.entries), by: \.slot)
      #expect(found.count > 50)
      for (number, slot) in slots {
        let expected = try snapshot.contacts(ofStudent: number).map {
          Comparators.foldLetters($0.firstKey) + " " + Comparators.foldLetters($0.lastKey)
        }
        #expect(
          (found[slot] ?? []).map { $0.guardian.first + " " + $0.guardian.last }.sorted()
            == expected.sorted(), "\(number)")
      }
      #expect(!expectedHits.isEmpty)
      #expect(scan.nameHits.mapValues(Set.init) == expectedHits)
      // Kept: the first of each name's students, in table order; a name's list is cut, not dropped.
      let cut = try snapshot.guardians(of: slots, names: asked, hitsKept: 1)
      #expect(cut.nameHits.keys == scan.nameHits.keys)
      #expect(cut.nameHits.allSatisfy { $0.value == [scan.nameHits[$0.key]![0]] })
    }
  }

  /// The placeholder-only indexes are built for the placeholder alone; its look-ups answer the same without them.
  @Test func placeholderIndexesOnlyForThePlaceholder() throws {
    try withTemporaryFolder { folder in
      var files: [String: String] = [:]
      for name in ["students", "contacts", "schools", "attendance_codes"] {
        files[name] = Checkout.demoDistrict + "/sis/\(name).csv"
      }
      var lean = SnapshotBuilder(feed: FeedConfig(), plugin: nil)
      lean.placeholderIndexes = false
      _ = try lean.build(files: files, output: folder + "/lean.sqlite")
      _ = try SnapshotBuilder(feed: FeedConfig(), plugin: nil).build(
        files: files, output: folder + "/full.sqlite")
      func indexes(_ path: String) throws -> Set<String> {
        Set(
          try Database(path: path, readOnly: true).rows(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
          ).compactMap { $0[0].string })
      }
      let placeholderOnly: Set<String> = [
        "students_state_id", "students_name_dob", "students_last_gender",
      ]
      #expect(
        try indexes(folder + "/full.sqlite").subtracting(indexes(folder + "/lean.sqlite"))
          == placeholderOnly)
      #expect(
        try indexes(folder + "/lean.sqlite").isSuperset(of: [
          "students_number", "contacts_student", "contacts_id",
        ]))
      let full = try Snapshot(path: folder + "/full.sqlite")
      let leanSnapshot = try Snapshot(path: folder + "/lean.sqlite")
      var records: [PersonRecord] = []
      try Snapshot.forEachMatchRecord(path: full.path, rowids: Int64.min...Int64.max) {
        records.append($0)
      }
      for record in records.prefix(60) {
        let sis = try #require(try full.student(number: record.id))
        #expect(
          try leanSnapshot.student(stateID: sis.stateID) == full.student(stateID: sis.stateID))
        #expect(
          try leanSnapshot.students(
            firstKey: sis.firstKey, lastKey: sis.lastKey, dob: sis.fields["DOB"] ?? "")
            == full.students(
              firstKey: sis.firstKey, lastKey: sis.lastKey, dob: sis.fields["DOB"] ?? ""))
        #expect(
          try leanSnapshot.students(lastKey: sis.lastKey, gender: sis.fields["Gender"] ?? "")
            == full.students(lastKey: sis.lastKey, gender: sis.fields["Gender"] ?? ""))
      }
    }
  }
}
