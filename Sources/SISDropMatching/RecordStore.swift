import SISDropCore

/// Match records kept as bytes (`PackedTexts`): each record's fields one after the other, each with
/// its length in front, in blocks of a fixed size (`PackedChunks`: stores are joined without a
/// copy), and their guardians the same way in another buffer (they are found after the records); a
/// record is made a `PersonRecord` again when it is read (`subscript`). Why: the SIS students blocking reaches are held from the scan to the last
/// decision, and at 20,000 submissions that is most of a 100,000-student SIS. As `PersonRecord`s
/// (ten strings, a guardians array, a street key and an e-mail on the heap) they were ~45 MB, a
/// third of the match stage's peak (`scripts/bench/review.sh`).
struct RecordStore: Sendable {
  private var fields = PackedChunks()
  /// Each record's guardians' first name, surname and phone; empty until `setGuardians`.
  private var guardians = PackedTexts()

  var count: Int { fields.count }

  init() {}

  /// `records` with their guardians.
  init(withGuardians records: [PersonRecord]) {
    var guardians: [(slot: Int32, guardian: PersonRecord.Guardian)] = []
    guardians.reserveCapacity(records.reduce(0) { $0 + $1.guardians.count })
    for (i, record) in records.enumerated() {
      append(record)
      for guardian in record.guardians { guardians.append((Int32(i), guardian)) }
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
  /// read back in the order listed (the lists one after the other).
  mutating func setGuardians(_ lists: [[(slot: Int32, guardian: PersonRecord.Guardian)]]) {
    // Counting sort by record: where each record's guardians start in `order`.
    var starts = [Int32](repeating: 0, count: count + 1)
    for list in lists { for entry in list { starts[Int(entry.slot) + 1] += 1 } }
    for i in 0..<count { starts[i + 1] += starts[i] }
    var order = [(list: Int32, entry: Int32)](
      repeating: (0, 0), count: lists.reduce(0) { $0 + $1.count })
    var next = starts
    for (l, list) in lists.enumerated() {
      for (k, entry) in list.enumerated() {
        order[Int(next[Int(entry.slot)])] = (Int32(l), Int32(k))
        next[Int(entry.slot)] += 1
      }
    }
    next = []
    // Reserved for what is put (a length byte per text, more for a text of 128 bytes or more):
    // grown by appending, the buffer would double its room and copy itself.
    var bytes = 0
    for list in lists {
      for (_, guardian) in list {
        for text in [guardian.first, guardian.last, guardian.phone] {
          bytes += text.utf8.count + (text.utf8.count < 128 ? 1 : 3)
        }
      }
    }
    var result = PackedTexts()
    result.reserve(entries: count, bytes: bytes)
    for i in 0..<count {
      for at in order[Int(starts[i])..<Int(starts[i + 1])] {
        let guardian = lists[Int(at.list)][Int(at.entry)].guardian
        result.put(guardian.first)
        result.put(guardian.last)
        result.put(guardian.phone)
      }
      result.end()
    }
    guardians = result
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
    if i < guardians.count {
      var reader = guardians.reader(i)
      while !reader.atEnd {
        record.guardians.append(
          PersonRecord.Guardian(first: reader.next(), last: reader.next(), phone: reader.next()))
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
