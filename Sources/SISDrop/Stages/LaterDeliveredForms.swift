import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropMatching
import SISDropStore

/// The forms whose student values were delivered for an SIS student, for the rule that keeps an
/// older form from writing over a newer one (issue 12): a form matched to an SIS student for whom
/// a form approved after it was delivered already (the later form of a new child that created the
/// student while this one waited, or a later form's update) has every difference held for a person,
/// its contacts' too (`UpdateRules.holdingEveryDifference`). A person's `accept` delivers a field
/// and `keep-sis` keeps the SIS value; nothing is lost: the person sees each held value beside the
/// SIS's in the review queue.
struct LaterDeliveredForms: Sendable {
  struct Delivered: Sendable {
    var submission: String
    var approved: Date
  }
  /// SIS student (its number as delivered, or as the SIS showed a new student) → the forms delivered
  /// for it.
  let delivered: [String: [Delivered]]
  /// New students delivered whose SIS number is not learned yet (the confirmation check runs after
  /// the stages, so the night the SIS export first shows one, its number is not known here): the
  /// form that created it, compared with a matched form as forms of one child are.
  let unconfirmed: [(form: Delivered, person: PersonRecord)]
  /// `unconfirmed` filed under its birth dates' keys (`BirthDateKeys`), sorted: (key, place in
  /// `unconfirmed`). Why: `later(than:)` runs for every matched student, and comparing each with
  /// every unconfirmed form was matched × unconfirmed comparisons: the match stage rerun after
  /// deliver on `scripts/bench/review.sh`'s 20,000 submissions (4,714 new students unconfirmed)
  /// took 83 CPU seconds, 4 with the keys. A form is compared only with the unconfirmed forms
  /// whose birth date shares a key with its own, and no other can agree with it.
  private let filed: [(key: UInt64, form: Int32)]

  /// The forms, with the unconfirmed ones filed by birth date.
  init(delivered: [String: [Delivered]] = [:], unconfirmed: [(Delivered, PersonRecord)] = []) {
    self.delivered = delivered
    self.unconfirmed = unconfirmed.map { (form: $0.0, person: $0.1) }
    var filed: [(key: UInt64, form: Int32)] = []
    for (index, entry) in unconfirmed.enumerated() {
      for key in BirthDateKeys.keys(entry.1.dob) { filed.append((key, Int32(index))) }
    }
    filed.sort { ($0.key, $0.form) < ($1.key, $1.form) }
    self.filed = filed
  }

  /// From `delivered_records` (student rows) and the ledger's approval times, read as normalize reads
  /// them (the pipeline's zone and date formats); the unconfirmed new students from their batches'
  /// normalized submissions (read a chunk at a time: only the students wanted are kept).
  static func load(_ workdir: WorkDir, config: PipelineConfig) throws -> LaterDeliveredForms {
    let state = workdir.state
    guard try Confirmation.hasTables(state) else { return LaterDeliveredForms() }
    var delivered: [String: [Delivered]] = [:]
    let reader = TimestampReader(zone: config.timeZone)
    for row in try state.database.rows(
      """
      SELECT d.submission_id, l.approved_at, d.sis_id, d.learned_id, d.student_number
      FROM delivered_records d JOIN ledger l ON l.submission_id = d.submission_id
      WHERE d.kind IN ('student_new', 'student_update')
      ORDER BY d.submission_id, d.seq
      """)
    {
      guard let submission = row[0].string, let written = row[1].string,
        let text = reader.read(written, datePatterns: config.submissions.dateFormats),
        let approved = TimestampReader.instant(text)
      else { continue }
      let ids = Set([row[2].string, row[3].string, row[4].string].compactMap { $0 })
      for id in ids.sorted() where !id.isEmpty {
        delivered[id, default: []].append(Delivered(submission: submission, approved: approved))
      }
    }
    var unconfirmed: [(Delivered, PersonRecord)] = []
    let open = try Confirmation.items(
      state, where: "kind = 'student_new' AND status != 'confirmed'")
    for (batch, group) in Dictionary(grouping: open, by: \.batch).sorted(by: { $0.key < $1.key }) {
      let path = workdir.stageFolder(batch, .normalize) + "/submissions.jsonl"
      guard FileSystem.exists(path) else { continue }
      let wanted = Dictionary(grouping: group, by: \.submissionID)
      try StageJSONChunks(Submission.self, path: path).forEach(MatchStage.chunkSize) { chunk in
        for submission in chunk {
          guard let items = wanted[submission.id],
            let approved = TimestampReader.instant(submission.approvedAt)
          else { continue }
          for item in items {
            guard let student = submission.students.first(where: { $0.seq == item.seq }) else {
              continue
            }
            unconfirmed.append(
              (
                Delivered(submission: submission.id, approved: approved),
                PersonRecord(student: student, of: submission)
              ))
          }
        }
      }
    }
    return LaterDeliveredForms(delivered: delivered, unconfirmed: unconfirmed)
  }

  /// A form delivered for SIS student `sisID` that was approved after `submission` (its id; nil when
  /// none: the latest such form when several): delivered for that number, or a new student not yet
  /// confirmed whose form agrees with `student`'s as forms of one child must
  /// (`FellegiSunterMatcher.formsDisagree` finds nothing).
  func later(than submission: Submission, student: SubmissionPart, sisID: String) -> String? {
    let forNumber = delivered[sisID] ?? []
    // Only the unconfirmed forms whose birth date shares a key with this one's can agree with it.
    let person = filed.isEmpty ? nil : PersonRecord(student: student, of: submission)
    let near = person.map { unconfirmedNear($0.dob) } ?? []
    guard !forNumber.isEmpty || !near.isEmpty,
      let approved = TimestampReader.instant(submission.approvedAt)
    else { return nil }
    var later = forNumber.filter { $0.submission != submission.id && $0.approved > approved }
    if let person {
      for index in near {
        let (form, other) = unconfirmed[index]
        if form.submission != submission.id && form.approved > approved
          && FellegiSunterMatcher.formsDisagree(ComparisonVector.compare(person, other)) == nil
        {
          later.append(form)
        }
      }
    }
    return later.max { ($0.approved, $0.submission) < ($1.approved, $1.submission) }?.submission
  }

  /// The places in `unconfirmed` of the forms whose birth date shares a key with `dob`
  /// (`BirthDateKeys`), in order, each once: a superset of those at a birth-date level ≥ 1.
  func unconfirmedNear(_ dob: String) -> [Int] {
    var found: [Int] = []
    for key in BirthDateKeys.keys(dob) {
      // The first entry filed under `key` or after it.
      var low = 0
      var high = filed.count
      while low < high {
        let middle = (low + high) / 2
        if filed[middle].key < key { low = middle + 1 } else { high = middle }
      }
      while low < filed.count && filed[low].key == key {
        found.append(Int(filed[low].form))
        low += 1
      }
    }
    found.sort()
    var unique: [Int] = []
    unique.reserveCapacity(found.count)
    for index in found where unique.last != index { unique.append(index) }
    return unique
  }
}

/// Keys of a birth date such that two dates at `Comparators.birthDateLevel` ≥ 1 always share one,
/// so that forms can be looked up by birth date for `FellegiSunterMatcher.formsDisagree`: it finds
/// nothing only at a birth-date level ≥ 1 (4 exact; or, names not swapped, 1...3 with the home or
/// the state id confirming). The levels compare the dates' 10 UTF-8 bytes (`YYYY-MM-DD`):
/// - 4 (equal) and 2 (one byte differs): the dates agree on all bytes but one at a position; the
///   key of "every byte but the one at position p", one per position, is shared.
/// - 3 (day and month swapped): the same year bytes, and bytes 5..<7 and 8..<10 crosswise; the key of
///   the year with the two pairs in sorted order is shared.
/// - 1 (years one apart, same month and day): the same bytes 4..<10 and years y and y + 1; the keys
///   of those bytes with ⌊y/2⌋ and with ⌊(y+1)/2⌋ share ⌊(y+1)/2⌋.
/// A date of another length compares at level -1 with every date: no keys. A key is a 64-bit hash
/// (FNV-1a) of its kind and bytes: two keys that collide only make a form compared that cannot
/// agree, never miss one.
enum BirthDateKeys {
  static func keys(_ dob: String) -> [UInt64] {
    let d = Array(dob.utf8)
    guard d.count == 10 else { return [] }
    var keys: [UInt64] = []
    keys.reserveCapacity(13)
    for skip in 0..<10 {
      var hash = Hash(kind: UInt8(skip))
      for i in 0..<10 where i != skip { hash.add(d[i]) }
      keys.append(hash.value)
    }
    let (month, day) = ((d[5], d[6]), (d[8], d[9]))
    let (low, high) = month <= day ? (month, day) : (day, month)
    var swapped = Hash(kind: 10)
    for byte in d[0..<4] + [low.0, low.1, high.0, high.1] { swapped.add(byte) }
    keys.append(swapped.value)
    if d[0..<4].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
      let year = d[0..<4].reduce(0) { $0 * 10 + Int($1 - 0x30) }
      for half in Set([year / 2, (year + 1) / 2]).sorted() {
        var hash = Hash(kind: 11)
        for byte in d[4..<10] { hash.add(byte) }
        hash.add(UInt8(half >> 8))
        hash.add(UInt8(half & 0xFF))
        keys.append(hash.value)
      }
    }
    return keys
  }

  /// FNV-1a, 64 bits.
  private struct Hash {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    init(kind: UInt8) { add(kind) }
    mutating func add(_ byte: UInt8) {
      value = (value ^ UInt64(byte)) &* 0x100_0000_01B3
    }
  }
}
