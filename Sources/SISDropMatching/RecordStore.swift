import SISDropCore

/// Match records kept as bytes (`PackedTexts`): each record's fields one after the other, each with
/// its length in front, in one buffer for all of them, and their guardians the same way in another
/// (they are found after the records); a record is made a `PersonRecord` again when it is read
/// (`subscript`). Why: the SIS students blocking reaches are held from the scan to the last
/// decision, and at 20,000 submissions that is most of a 100,000-student SIS. As `PersonRecord`s
/// (ten strings, a guardians array, a street key and an e-mail on the heap) they were ~45 MB, a
/// third of the match stage's peak (`scripts/bench/review.sh`).
struct RecordStore: Sendable {
  private var fields = PackedTexts()
  /// Each record's guardians' first name, surname and phone; empty until `setGuardians`.
  private var guardians = PackedTexts()

  var count: Int { fields.count }

  /// The fields of `record` (its guardians wait for `setGuardians`).
  mutating func append(_ record: PersonRecord) {
    for text in [
      record.id, record.stateID, record.first, record.last, record.dob, record.gender,
      record.street, record.zip, record.phone, record.email, record.city, record.state,
    ] {
      fields.put(text)
    }
    fields.end()
  }

  /// Another store's records after this one's, in their order (without guardians).
  mutating func append(contentsOf other: RecordStore) { fields.append(contentsOf: other.fields) }

  mutating func reserve(records: Int, bytes: Int) { fields.reserve(entries: records, bytes: bytes) }

  /// The size of the fields' buffer (for reserving when stores are joined).
  var byteCount: Int { fields.byteCount }

  /// The fields' buffers copied to their exact size (appending may leave twice the room used).
  mutating func shrink() { fields.shrink() }

  /// Every record's guardians, by its id.
  mutating func setGuardians(_ of: (String) -> [PersonRecord.Guardian]) {
    var result = PackedTexts()
    for i in 0..<count {
      for guardian in of(id(i)) {
        result.put(guardian.first)
        result.put(guardian.last)
        result.put(guardian.phone)
      }
      result.end()
    }
    result.shrink()
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
