import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropMatching
@testable import SISDropStore

/// Between the SIS scan and the last decision the matcher keeps the SIS students as bytes
/// (`RecordStore`) and each compared pair's vector in 32 bits (`ComparisonVector.packed`): what is
/// read back must be exactly what was kept, or the decisions would change with the memory layout.
@Suite struct RecordStoreTests {
  /// Every SIS student of the demo, stored with its guardians and read back: the same records.
  @Test func theDemoSISReadsBackAsItWasStored() throws {
    try withTemporaryFolder { folder in
      let snapshot = try SnapshotScanTests().demoSnapshot(folder)
      let numbers = try snapshot.database.rows("SELECT student_number FROM students").map {
        $0[0].string ?? ""
      }
      let records = try snapshot.matchRecords(numbers: numbers)
      #expect(records.count == 310)
      #expect(records.contains { !$0.guardians.isEmpty })
      var store = RecordStore()
      for record in records { store.append(record) }
      #expect(store[0].guardians.isEmpty)  // guardians come with `setGuardians`
      // Listed record by record backwards: each record's own stay in their order.
      store.setGuardians([
        records.indices.reversed().flatMap { i in
          records[i].guardians.map { (Int32(i), $0) }
        }
      ])
      #expect(store.count == records.count)
      for (i, record) in records.enumerated() {
        #expect(store[i] == record)
        #expect(store.id(i) == record.id)
      }
    }
  }

  /// Empty fields, non-ASCII letters and a value longer than one length byte holds (127 bytes), in
  /// stores joined one after the other.
  @Test func unusualValuesAndJoinedStoresReadBackExactly() {
    var long = PersonRecord(id: "S-1")
    long.street = String(repeating: "main street ", count: 40)
    long.email = "é" + String(repeating: "x", count: 20_000)
    long.first = "zoë"
    long.last = "núñez garcía"
    long.guardians = [
      PersonRecord.Guardian(first: "", last: "schröder", phone: ""),
      PersonRecord.Guardian(first: "ana", last: "", phone: "2175550101"),
    ]
    let empty = PersonRecord(id: "")
    var single = PersonRecord(id: "S-3")
    single.dob = "2015-02-03"
    single.guardians = [PersonRecord.Guardian(first: "a", last: "b", phone: "")]
    var first = RecordStore()
    first.append(long)
    var second = RecordStore()
    second.append(empty)
    second.append(single)
    first.append(contentsOf: second)
    let all = [long, empty, single]
    // In two lists, the second one's guardians after the first's.
    first.setGuardians([
      [(0, long.guardians[0]), (2, single.guardians[0])], [(0, long.guardians[1])],
    ])
    #expect(first.count == 3)
    for (i, record) in all.enumerated() { #expect(first[i] == record) }
  }

  /// Every level of every field, and both flags, survive packing.
  @Test func everyComparisonVectorPacksAndUnpacksToItself() {
    var rng = SplitMix64(state: 7)
    for round in 0..<5_000 {
      let levels = MatchField.allCases.map { field in
        Int8(
          round < 6 ? min(round - 1, field.levels.count - 1) : rng.int(field.levels.count + 1) - 1)
      }
      let vector = ComparisonVector(
        levels: levels, namesSwapped: rng.int(2) == 1, pairedGivenNames: rng.int(2) == 1)
      #expect(ComparisonVector(packed: vector.packed) == vector)
    }
  }
}
