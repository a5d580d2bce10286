import SISDropCore

/// Match records kept as bytes (`PackedTexts`): each record's fields one after the other, each with
/// its length in front, in blocks of a fixed size (`PackedChunks`: stores are joined without a
/// copy), and their guardians as the scans listed them (`GuardianList`s, kept, not copied: they are
/// found after the records); a record is made a `PersonRecord` again when it is read (`subscript`).
/// Why: the SIS students blocking reaches are held from the scan to the last decision, and at
/// 20,000 submissions that is most of a 100,000-student SIS. As `PersonRecord`s (ten strings, a
/// guardians array, a street key and an e-mail on the heap) they were ~45 MB, a third of the match
/// stage's peak (`scripts/bench/review.sh`).
struct RecordStore: Sendable {
  private var fields = PackedChunks()
  /// Every record's guardians (empty until `setGuardians`): the lists as given, where each list
  /// starts in their numbering (one list after the other), and by record the guardians' numbers,
  /// record `i`'s at `order[starts[i]..<starts[i + 1]]`.
  private var guardianLists: [GuardianList] = []
  private var listStarts: [Int] = []
  private var order: [Int32] = []
  private var starts: [Int32] = []

  var count: Int { fields.count }

  init() {}

  /// `records` with their guardians.
  init(withGuardians records: [PersonRecord]) {
    var guardians = GuardianList()
    for (i, record) in records.enumerated() {
      append(record)
      for guardian in record.guardians { guardians.append(Int32(i), guardian) }
    }
    setGuardians([guardians])
  }

  /// The fields of `record` (its guardians wait for `setGuardians`).
  mutating func append(_ record: PersonRecord) {
    fields.appendEntry { fields in
      for text in [
        record.id, record.stateID, record.first, record.last, record.dob, record.gender,
        record.street, record.zip, record.phone, record.email, record.city, record.state,
      ] {
        fields.put(text)
      }
    }
  }

  /// Another store's records after this one's, in their order (without guardians; its buffers are
  /// kept, not copied).
  mutating func append(contentsOf other: RecordStore) { fields.append(contentsOf: other.fields) }

  /// Every record's guardians: each entry of `lists` names its record; a record's guardians are
  /// read back in the order listed (the lists one after the other). The lists are kept as they are
  /// (their records' slots let go): copied into a buffer by record, they were held twice at the
  /// match stage's peak (`scripts/bench/review.sh`).
  mutating func setGuardians(_ lists: [GuardianList]) {
    // Counting sort by record: where each record's guardians start in `order`.
    var starts = [Int32](repeating: 0, count: count + 1)
    for list in lists { for k in 0..<list.count { starts[Int(list.slot(k)) + 1] += 1 } }
    for i in 0..<count { starts[i + 1] += starts[i] }
    var order = [Int32](repeating: 0, count: lists.reduce(0) { $0 + $1.count })
    var next = starts
    var listStarts: [Int] = []
    var number: Int32 = 0
    for list in lists {
      listStarts.append(Int(number))
      for k in 0..<list.count {
        let slot = Int(list.slot(k))
        order[Int(next[slot])] = number
        next[slot] += 1
        number += 1
      }
    }
    (self.starts, self.order, self.listStarts) = (starts, order, listStarts)
    guardianLists = lists.map { list in
      var texts = list
      texts.dropSlots()
      return texts
    }
  }

  /// `setGuardians` with lists of entries (the tests').
  mutating func setGuardians(_ lists: [[(slot: Int32, guardian: PersonRecord.Guardian)]]) {
    setGuardians(lists.map(GuardianList.init))
  }

  subscript(_ i: Int) -> PersonRecord {
    var reader = fields.reader(i)
    var record = PersonRecord(id: reader.next())
    record.stateID = reader.next()
    record.first = reader.next()
    record.last = reader.next()
    record.dob = reader.next()
    record.gender = reader.next()
    record.street = reader.next()
    record.zip = reader.next()
    record.phone = reader.next()
    record.email = reader.next()
    record.city = reader.next()
    record.state = reader.next()
    if i + 1 < starts.count && starts[i] < starts[i + 1] {
      record.guardians.reserveCapacity(Int(starts[i + 1] - starts[i]))
      for number in order[Int(starts[i])..<Int(starts[i + 1])] {
        // The list that holds guardian `number`: the last that starts at or before it.
        var list = listStarts.count - 1
        while listStarts[list] > Int(number) { list -= 1 }
        record.guardians.append(guardianLists[list][Int(number) - listStarts[list]])
      }
    }
    return record
  }

  /// The id of record `i` alone (what ranking candidates asks for).
  func id(_ i: Int) -> String {
    var reader = fields.reader(i)
    return reader.next()
  }
}

/// Guardians, each with the slot of the record it belongs to, as bytes: a guardian's first name,
/// surname and phone one entry (`PackedChunks`: blocks of a fixed size, never copied to grow).
/// Why: the SIS contacts scan lists the guardians of every SIS student blocking reached (~100,000
/// at 20,000 submissions against 100,000 SIS students); as `(Int32, Guardian)` values, three
/// strings each, in arrays grown by doubling, those lists were the match stage's peak
/// (`scripts/bench/review.sh`).
struct GuardianList: Sendable {
  private var slots: [Int32] = []
  private var texts = PackedChunks()

  init() {}

  init(_ entries: [(slot: Int32, guardian: PersonRecord.Guardian)]) {
    for (slot, guardian) in entries { append(slot, guardian) }
  }

  var count: Int { texts.count }

  mutating func append(_ slot: Int32, _ guardian: PersonRecord.Guardian) {
    append(slot, first: guardian.first, last: guardian.last, phone: guardian.phone)
  }

  mutating func append(_ slot: Int32, first: String, last: String, phone: String) {
    slots.append(slot)
    texts.appendEntry { texts in
      texts.put(first)
      texts.put(last)
      texts.put(phone)
    }
  }

  /// The slot of guardian `k` (until `dropSlots`).
  func slot(_ k: Int) -> Int32 { slots[k] }

  /// Once a store has sorted the guardians by record, their slots are not needed.
  fileprivate mutating func dropSlots() { slots = [] }

  subscript(_ k: Int) -> PersonRecord.Guardian {
    var reader = texts.reader(k)
    return PersonRecord.Guardian(first: reader.next(), last: reader.next(), phone: reader.next())
  }

  /// Every guardian with its slot, in the order listed (the tests').
  var entries: [(slot: Int32, guardian: PersonRecord.Guardian)] {
    (0..<count).map { (slots[$0], self[$0]) }
  }
}
