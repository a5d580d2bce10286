import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// The probabilistic matcher (`matching.method: fellegi-sunter`): blocking, comparators,
/// Fellegi-Sunter weights estimated from the batch and the SIS, three outcomes, and guards.
///
/// `prepare` does the work for the whole batch at once: the submission students are indexed by
/// their blocking keys, and the SIS snapshot is streamed past that index once (the SIS is large,
/// the batch small), keeping only the SIS students that hit a key plus a fixed random sample for u.
package final class FellegiSunterMatcher: StudentMatcher {
  private let snapshot: Snapshot
  private let config: MatchingConfig
  /// Decided and not yet asked for: one chunk of the batch (see `match`).
  private var decisions: [String: MatchDecision] = [:]
  /// What deciding a student of the prepared batch needs, kept from `prepare`.
  private var prepared: Prepared? = nil
  /// Where the chunk after the last one decided starts: asked for in batch order, the next chunk's
  /// first student is found there (`Prepared.place`).
  private var nextChunk = 0
  private(set) var model = FellegiSunterModel(u: MatchField.allCases.map(\.priorM))
  /// Students decided at once when one is asked for (settable for the tests, not by the user).
  let decideChunk: Int
  /// Off while `outcomesOnly`: decisions without the candidates' explanations (explaining was half
  /// of deciding a student, `scripts/bench/match.sh`). Decisions kept from the other mode are
  /// never handed over.
  private var explains = true

  package func outcomesOnly(_ on: Bool) {
    guard explains == on else { return }
    explains = !on
    decisions = [:]
  }

  init(snapshot: Snapshot, config: MatchingConfig, decideChunk: Int = 1000) {
    self.snapshot = snapshot
    self.config = config
    self.decideChunk = max(1, decideChunk)
  }

  static let method = "fellegi-sunter"
  static let sampleSize = 400

  /// A student of the prepared batch is decided with its chunk of the batch (on every core), and
  /// each decision is handed over once and forgotten: asked for in batch order, as the match stage
  /// asks, the matcher holds one chunk's decisions, not the batch's (`scripts/bench/review.sh`).
  /// A student asked for again is decided again with its chunk (the match stage asks for the
  /// batch twice: deciding again costs a fifth of writing the decisions down and reading them
  /// back, `MatchStage.run`); the decisions are the same either way.
  package func match(_ student: SubmissionPart, in submission: Submission) throws -> MatchDecision {
    let ref = Submission.studentRef(submission.id, student.seq)
    if let decision = decisions.removeValue(forKey: ref) { return decision }
    if let prepared, let index = prepared.place(of: ref, guess: nextChunk) {
      let start = index / decideChunk * decideChunk
      let end = min(start + decideChunk, prepared.people.count)
      let decided = try prepared.decide(start..<end, explains: explains)
      nextChunk = end
      decisions = [:]
      for (offset, decision) in decided.enumerated() {
        decisions[prepared.people.id(start + offset)] = decision
      }
      return decisions.removeValue(forKey: ref)!
    }
    // Not prepared (a caller that skipped `prepare`): decide this one student alone, and keep
    // the prepared batch for its students.
    let batch = (prepared, decisions)
    _ = try prepare([onlyStudent(student, of: submission)])
    let decision = try prepared!.decide(0..<1)[0]
    (prepared, decisions) = batch
    return decision
  }

  private func onlyStudent(_ student: SubmissionPart, of submission: Submission) -> Submission {
    var single = submission
    single.students = [student]
    return single
  }

  // MARK: - Blocking

  /// Blocking keys of a person, by pass, hashed (FNV-1a) so that no key string is built: a hash
  /// collision only adds a candidate pair, which the comparison then scores. The SIS side indexes
  /// each key once; the submission side also asks for the variants that its own errors need
  /// (neighbouring years, swapped day and month, given name and surname the other way round).
  static func blockingKeys(_ p: PersonRecord, query: Bool) -> [(pass: Int, key: UInt64)] {
    var keys: [(pass: Int, key: UInt64)] = []
    forEachBlockingKey(p, query: query) { keys.append(($0, $1)) }
    return keys
  }

  /// The same keys handed to `body` one by one: the SIS scan calls this a million times, and the
  /// arrays of the convenient form were a third of its time (the snapshot scan of
  /// `scripts/bench/match.sh` at 100,000 × 10,000). Kept whole: the passes in their
  /// order (a key's pass is its number), inlined into the scan.
  @inline(__always)
  static func forEachBlockingKey(_ p: PersonRecord, query: Bool, _ body: (Int, UInt64) -> Void) {
    if !p.stateID.isEmpty { body(0, BlockKey(0).mix(p.stateID).value) }
    let firstTokens = Comparators.nameTokens(Substring(p.first))
    let lastTokens = Comparators.nameTokens(Substring(p.last))
    let firstSound = firstTokens.first.map { Comparators.soundexCode($0) } ?? 0
    // Surnames have one or two parts: a fixed pair of slots instead of arrays.
    var lastSounds: (UInt32, UInt32) = (0, 0)
    for token in lastTokens {
      let code = Comparators.soundexCode(token)
      if code == 0 || code == lastSounds.0 || code == lastSounds.1 { continue }
      if lastSounds.0 == 0 { lastSounds.0 = code } else if lastSounds.1 == 0 { lastSounds.1 = code }
    }
    var dob: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )
    var length = 0
    for byte in p.dob.utf8 {
      length += 1
      if length > 10 { break }
      withUnsafeMutableBytes(of: &dob) { $0[length - 1] = byte }
    }
    // Only a birth date in ISO form makes keys (the year is read as digits below).
    let isISO =
      length == 10 && dob.4 == 0x2D && dob.7 == 0x2D
      && [dob.0, dob.1, dob.2, dob.3, dob.5, dob.6, dob.8, dob.9].allSatisfy {
        $0 >= 0x30 && $0 <= 0x39
      }
    if isISO {
      let dobKey = withUnsafeBytes(of: dob) { BlockKey(1).mix(ArraySlice($0)) }
      var seen: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
      func once(_ code: UInt32) -> Bool {
        if code == 0 || code == seen.0 || code == seen.1 || code == seen.2 || code == seen.3 {
          return false
        }
        if seen.0 == 0 {
          seen.0 = code
        } else if seen.1 == 0 {
          seen.1 = code
        } else if seen.2 == 0 {
          seen.2 = code
        } else {
          seen.3 = code
        }
        return true
      }
      for token in lastTokens {
        let code = Comparators.soundexCode(token)
        if once(code) { body(1, dobKey.mix(code).value) }
      }
      for token in firstTokens {
        let code = Comparators.soundexCode(token)
        if once(code) { body(1, dobKey.mix(code).value) }
      }
      let year =
        UInt32(dob.0 - 48) * 1000 + UInt32(dob.1 - 48) * 100 + UInt32(dob.2 - 48) * 10
        + UInt32(dob.3 - 48)
      let monthDay = UInt32(dob.5) << 24 | UInt32(dob.6) << 16 | UInt32(dob.8) << 8 | UInt32(dob.9)
      let dayMonth = UInt32(dob.8) << 24 | UInt32(dob.9) << 16 | UInt32(dob.5) << 8 | UInt32(dob.6)
      func names(_ f: UInt32, _ l: UInt32) {
        guard f != 0 && l != 0 else { return }
        // The same year only: a year off by one keeps month and day (the birthday pass finds it), and
        // asking for three years tripled the pairs of common names in a large SIS.
        body(2, BlockKey(2).mix(f).mix(l).mix(year).value)
        let birthday = BlockKey(3).mix(f).mix(l)
        body(3, birthday.mix(monthDay).value)
        if query && dayMonth != monthDay { body(3, birthday.mix(dayMonth).value) }
      }
      names(firstSound, lastSounds.0)
      names(firstSound, lastSounds.1)
      if query, let lastFirst = lastTokens.first.map({ Comparators.soundexCode($0) }) {
        // Given name and surname swapped: ask with them the other way round too.
        for token in firstTokens { names(lastFirst, Comparators.soundexCode(token)) }
      }
    }
    // Both name sounds and the ZIP: a birth date written wrongly at the same home (`resemblance`).
    if !p.zip.isEmpty && firstSound != 0 && lastSounds.0 != 0 {
      body(7, BlockKey(9).mix(firstSound).mix(lastSounds.0).mix(p.zip).value)
    }
    if !p.phone.isEmpty { body(4, BlockKey(4).mix(p.phone).value) }
    if !p.street.isEmpty { body(4, BlockKey(5).mix(p.zip).mix(p.street).value) }
    // The house number with the street word, and with the ZIP: a home whose ZIP, or street line, was
    // mistyped or replaced (each key reached a tenth of FEBRL3's misses that shared no key with
    // their record; `scripts/bench/febrl.sh`). Few SIS students share either: one home's children.
    var street = p.street
    street.withUTF8 { bytes in
      let end = bytes.firstIndex(of: 0x20) ?? bytes.endIndex
      guard end > 0, bytes[..<end].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return }
      if end < bytes.endIndex { body(4, BlockKey(10).mix(bytes).value) }
      if !p.zip.isEmpty {
        body(4, BlockKey(11).mix(UnsafeBufferPointer(rebasing: bytes[..<end])).mix(p.zip).value)
      }
    }
    if !p.email.isEmpty { body(5, BlockKey(6).mix(p.email).value) }
  }

  static func guardianKey(_ g: PersonRecord.Guardian) -> UInt64 {
    BlockKey(7).mix(g.first).mix(g.last).value
  }

  /// The batch's people by blocking key: one dictionary entry per key, the people asking for it
  /// chained through `entries`, the latest first (the order of the hits does not matter: the pairs
  /// are sorted and merged). Why: an array per key was an allocation for each of a student's ten-odd
  /// keys, and freeing them, at 50,000 × 50,000 (`scripts/bench/match.sh`).
  struct KeyIndex: Sendable {
    private var latest: [UInt64: Int32] = [:]
    private var entries: [(person: Int32, next: Int32)] = []

    mutating func add(_ key: UInt64, _ person: Int32) {
      let next = latest.updateValue(Int32(entries.count), forKey: key) ?? -1
      entries.append((person, next))
    }

    /// Where the chain of `key` starts, nil when no one asks for it.
    func first(_ key: UInt64) -> Int32? { latest[key] }

    func forEach(from first: Int32, _ body: (Int32) -> Void) {
      var entry = first
      while entry >= 0 {
        body(entries[Int(entry)].person)
        entry = entries[Int(entry)].next
      }
    }
  }

  /// What one part of the SIS scan found.
  struct ScanPart: Sendable {
    /// SIS students that share a blocking key with the batch, in table order.
    var records = RecordStore()
    var hits: [(record: Int32, person: Int32, pass: UInt8)] = []
    var sampled: [Int: PersonRecord] = [:]
    var firstCounts: [String: Int] = [:], lastCounts: [String: Int] = [:]
  }

  /// The rows (0-based, in table order) that Algorithm R keeps out of `rows`, with the matcher's fixed seed.
  static func reservoir(rows: Int, size: Int) -> [Int] {
    var rng = SplitMix64(state: 0x5EED)
    var kept: [Int] = []
    kept.reserveCapacity(min(rows, size))
    for row in 0..<rows {
      if kept.count < size {
        kept.append(row)
      } else {
        let j = rng.int(row + 1)
        if j < size { kept[j] = row }
      }
    }
    return kept
  }

  static let passNames = [
    "state-id", "birth-date+name-sound", "name-sound+birth-year", "name-sound+birthday",
    "household", "email", "guardian-name",
    "name-sound+zip",
  ]
  /// A guardian name shared by more SIS students than this is too common to block on.
  static let guardianBlockLimit = 8

  // MARK: - The batch

  /// Wall-clock seconds of `prepare`'s steps, for `MatcherReport.seconds` (stage.json's notes).
  struct Laps {
    let clock = ContinuousClock()
    var seconds: [String: Double] = [:]

    var now: ContinuousClock.Instant { clock.now }

    mutating func lap(_ name: String, since start: ContinuousClock.Instant) {
      let elapsed = clock.now - start
      seconds[name] =
        Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
    }
  }

  /// The batch's students as compared and blocked, then one scan of the SIS (`scan`), the guardians
  /// and the guardian-name pass (`addGuardians`), every pair compared once (`comparePairs`) and the
  /// model estimated from the pairs' patterns; deciding is left to `match`, a chunk at a time.
  /// What a step no longer needs is let go as it goes: prepare's peak is the match stage's.
  package func prepare(_ submissions: [Submission]) throws -> MatcherReport? {
    try prepare(chunks: { each in try each(submissions) })
  }

  /// `prepare`, the batch's students made records and keys a chunk at a time (`batch`): the
  /// submissions need not be held whole meanwhile.
  package func prepare(chunks: (_ each: ([Submission]) throws -> Void) throws -> Void) throws
    -> MatcherReport?
  {
    var laps = Laps()
    var report = MatcherReport(method: FellegiSunterMatcher.method)
    let prepared = laps.now
    var (people, refs, index) = try FellegiSunterMatcher.batch(chunks: chunks)
    laps.lap("batch", since: prepared)
    var scanned = try scan(people: people, index: &index, laps: &laps)
    report.sisStudents = scanned.seen
    try addGuardians(&scanned, people: people, laps: &laps)
    let start = laps.now
    let compared = try FellegiSunterMatcher.comparePairs(
      &scanned.found, &scanned.guardianFound, people: people, sis: scanned.sis, report: &report)
    laps.lap("compare", since: start)
    try estimate(compared.patterns, scanned: scanned, laps: &laps)
    for i in people.indices {
      let count = Int(compared.starts[i + 1] - compared.starts[i])
      if count == 0 { report.studentsWithoutCandidates += 1 }
      if count > config.maxCandidates { report.studentsOverCandidateCap += 1 }
    }
    self.decisions = [:]
    self.nextChunk = 0
    var seen = Set<String>(minimumCapacity: refs.count)
    var repeated: [String: Int] = [:]
    for (i, ref) in refs.enumerated() where !seen.insert(ref).inserted { repeated[ref] = i }
    seen = []
    self.prepared = Prepared(
      people: RecordStore(withGuardians: people), repeated: repeated,
      candidates: scanned.sis, pairs: compared.pairs, starts: compared.starts, model: model,
      config: config,
      thresholds: MatchThresholds(
        autoMatch: config.autoMatch, review: config.review, ambiguityMargin: config.ambiguityMargin)
    )
    (people, refs) = ([], [])
    report.seconds = laps.seconds
    report.model = FellegiSunterModelSummary(
      lambda: model.lambda, emIterations: model.emIterations, trainingPairs: model.trainingPairs,
      levels: MatchField.allCases.flatMap { field in
        field.levels.indices.map { level in
          FellegiSunterModelSummary.Level(
            field: field.name, level: field.levels[level], m: model.m[field.rawValue][level],
            u: model.u[field.rawValue][level],
            weight: model.weight(field, level))
        }
      })
    return report
  }

  /// The batch's students (their refs beside them) and their blocking keys, a chunk of
  /// submissions at a time: records and keys are made per submission on every core (name keys fold
  /// Unicode: not cheap), then indexed in submission order.
  static func batch(chunks: (_ each: ([Submission]) throws -> Void) throws -> Void) throws -> (
    people: [PersonRecord], refs: [String], index: KeyIndex
  ) {
    var people: [PersonRecord] = []
    var refs: [String] = []
    var index = KeyIndex()
    try chunks { submissions in
      var built = try Parallel.map(submissions.count, minimum: 64) {
        i -> [(person: PersonRecord, keys: [UInt64])] in
        let submission = submissions[i]
        let guardians = submission.contacts.map {
          PersonRecord.Guardian(
            first: Comparators.foldLetters(FieldRules.nameKey($0[FieldName.firstName])),
            last: Comparators.foldLetters(FieldRules.nameKey($0[FieldName.lastName])),
            phone: PersonRecord.digits($0[FieldName.phone]))
        }
        return submission.students.map { student in
          let person = PersonRecord(
            id: Submission.studentRef(submission.id, student.seq), fields: student.fields,
            guardians: guardians)
          return (person, FellegiSunterMatcher.blockingKeys(person, query: true).map(\.key))
        }
      }
      for list in built.indices {
        for (person, keys) in built[list] {
          for key in keys { index.add(key, Int32(people.count)) }
          refs.append(person.id)
          people.append(person)
        }
        built[list] = []
      }
    }
    return (people, refs, index)
  }

  /// What the SIS scan found: the SIS students blocking reached (`slots`: by id), the candidate
  /// pairs as found (a pair found by several passes appears once per pass), the sample for u, the
  /// batch's names' frequencies, and the number of SIS students.
  struct Scanned {
    var sis = RecordStore()
    var slots: [String: Int32] = [:]
    var found: [(person: Int32, slot: Int32, passes: UInt8)] = []
    /// The pairs the guardian-name pass found (`addGuardians`), as `found`.
    var guardianFound: [(person: Int32, slot: Int32, passes: UInt8)] = []
    var sample: [PersonRecord] = []
    var firstCounts: [String: Int] = [:], lastCounts: [String: Int] = [:]
    var seen = 0
  }

  /// One pass over the SIS: candidates, a random sample for u, name frequencies. The students
  /// table is cut into rowid ranges scanned on every core (each with its own read-only
  /// connection) and the parts are joined in table order, so the result is the sequential scan's.
  /// The key index is let go once the parts are scanned, before they are joined.
  private func scan(people: [PersonRecord], index: inout KeyIndex, laps: inout Laps) throws
    -> Scanned
  {
    let start = laps.now
    var scanned = Scanned()
    let ranges = try snapshot.rowRanges(table: "students", parts: Parallel.width)
    scanned.seen = ranges.reduce(0) { $0 + $1.count }
    laps.lap("scan-ranges", since: start)
    // Reservoir sampling (Algorithm R), deterministic: which rows it keeps depends only on their
    // number, so the rows are chosen before the scan and picked up by whichever part reads them.
    let sampleRows = FellegiSunterMatcher.reservoir(
      rows: scanned.seen, size: FellegiSunterMatcher.sampleSize)
    let sampleSet = Set(sampleRows)
    // Term frequencies are only ever asked for the batch's own names.
    let batchFirst = Set(people.map(\.first))
    let batchLast = Set(people.map(\.last))
    let path = snapshot.path
    let keyIndex = index
    index = KeyIndex()
    var parts = try Parallel.map(ranges.count, minimum: 1) { part -> ScanPart in
      let range = ranges[part]
      var result = ScanPart()
      var row = range.offset
      try Snapshot.forEachMatchRecord(path: path, rowids: range.rowids) { record in
        if batchFirst.contains(record.first) { result.firstCounts[record.first, default: 0] += 1 }
        if batchLast.contains(record.last) { result.lastCounts[record.last, default: 0] += 1 }
        var slot: Int32 = -1
        FellegiSunterMatcher.forEachBlockingKey(record, query: false) { pass, key in
          guard let first = keyIndex.first(key) else { return }
          if slot < 0 {
            slot = Int32(result.records.count)
            result.records.append(record)
          }
          keyIndex.forEach(from: first) { hit in result.hits.append((slot, hit, UInt8(pass))) }
        }
        if sampleSet.contains(row) { result.sampled[row] = record }
        row += 1
      }
      return result
    }
    var sampled: [Int: PersonRecord] = [:]
    scanned.found.reserveCapacity(parts.reduce(0) { $0 + $1.hits.count })
    // Each part is let go once joined: the parts and the joined lists are not held twice.
    for p in parts.indices {
      let part = parts[p]
      parts[p] = ScanPart()
      let base = scanned.sis.count
      scanned.sis.append(contentsOf: part.records)
      for slot in base..<scanned.sis.count { scanned.slots[scanned.sis.id(slot)] = Int32(slot) }
      for hit in part.hits {
        scanned.found.append((hit.person, Int32(base) + hit.record, 1 << hit.pass))
      }
      sampled.merge(part.sampled) { first, _ in first }
      scanned.firstCounts.merge(part.firstCounts, uniquingKeysWith: +)
      scanned.lastCounts.merge(part.lastCounts, uniquingKeysWith: +)
    }
    scanned.sample = sampleRows.compactMap { sampled[$0] }
    laps.lap("scan", since: start)
    return scanned
  }

  /// Guardians of the candidates and the sample; and the guardian-name pass, which finds a child
  /// whose own name, birth date and address all changed, through the parents' names.
  private func addGuardians(_ scanned: inout Scanned, people: [PersonRecord], laps: inout Laps)
    throws
  {
    let start = laps.now
    var guardianIndex: [UInt64: [Int32]] = [:]
    for (i, person) in people.enumerated() {
      for g in person.guardians where !g.first.isEmpty && !g.last.isEmpty {
        guardianIndex[FellegiSunterMatcher.guardianKey(g), default: []].append(Int32(i))
      }
    }
    var scan = try snapshot.guardians(
      of: scanned.slots, names: guardianIndex,
      hitsKept: FellegiSunterMatcher.guardianBlockLimit + 1)
    laps.lap("guardian-scan", since: start)
    var guardianHits: [(person: Int32, student: String)] = []
    for (key, students) in scan.nameHits
    where students.count <= FellegiSunterMatcher.guardianBlockLimit {
      for person in guardianIndex[key] ?? [] {
        for student in students { guardianHits.append((person, student)) }
      }
    }
    guardianIndex = [:]
    var guardians = scan.guardians
    scan = ([], [:])
    let missing = Set(guardianHits.map(\.student)).subtracting(scanned.slots.keys)
    // The added records' guardians in a list of their own: appended to the scan's, its list
    // would be copied whole.
    var added = GuardianList()
    for record in try snapshot.matchRecords(numbers: missing.sorted()) {
      let slot = Int32(scanned.sis.count)
      scanned.slots[record.id] = slot
      scanned.sis.append(record)
      for guardian in record.guardians { added.append(slot, guardian) }
    }
    // The pairs the guardian pass adds in a list of their own (`comparePairs` merges the two):
    // appended to the scan's, its list grew by a copy of itself, and at 20,000 submissions that
    // copy was the match stage's peak (`scripts/bench/review.sh`).
    scanned.guardianFound.reserveCapacity(guardianHits.count)
    for (person, student) in guardianHits {
      guard let slot = scanned.slots[student] else { continue }
      scanned.guardianFound.append((person, slot, 1 << 6))
    }
    laps.lap("guardian-pass", since: start)
    (guardianHits, scanned.slots) = ([], [:])
    scanned.sis.setGuardians(guardians + [added])
    (guardians, added) = ([], GuardianList())
    // The sample's own (a few hundred students, most not among the candidates).
    let sampled = Dictionary(
      try snapshot.matchRecords(numbers: scanned.sample.map(\.id)).map { ($0.id, $0.guardians) }
    ) { first, _ in first }
    for i in scanned.sample.indices {
      scanned.sample[i].guardians = sampled[scanned.sample[i].id] ?? []
    }
    laps.lap("guardians", since: start)
  }

  /// Comparison patterns and how many pairs of each, in the sessions EM learns from.
  struct Patterns {
    /// Pairs blocked on birth date (session "dob"), on names ("names"), on any identity key.
    var dob: [Int: (vector: ComparisonVector, count: Int)] = [:]
    var names: [Int: (vector: ComparisonVector, count: Int)] = [:]
    var all: [Int: (vector: ComparisonVector, count: Int)] = [:]

    /// EM learns only from pairs found by identity keys (state id, names, birth dates). The
    /// household passes bring siblings, who agree on address, phone and guardians all at once: fed
    /// to EM, they would be learned as "the same child" (these fields are far from independent).
    mutating func add(_ packed: UInt32, passes: UInt8) {
      guard passes & 0b1111 != 0 else { return }
      let vector = ComparisonVector(packed: packed)
      let key = vector.patternKey
      all[key] = (vector, (all[key]?.count ?? 0) + 1)
      if passes & 0b0010 != 0 { dob[key] = (vector, (dob[key]?.count ?? 0) + 1) }
      if passes & 0b1100 != 0 { names[key] = (vector, (names[key]?.count ?? 0) + 1) }
    }
  }

  /// Every candidate pair once, with the bits of every pass that found it, compared (on every
  /// core), in (student, slot) order: the work (and every sum over it) comes in the same order on
  /// every run (`found` and `more`, two lists of pairs as found, each sorted and the two merged, are
  /// let go). Returns each student's pairs as deciding keeps them and the patterns EM learns from.
  static func comparePairs(
    _ found: inout [(person: Int32, slot: Int32, passes: UInt8)],
    _ more: inout [(person: Int32, slot: Int32, passes: UInt8)], people: [PersonRecord],
    sis: RecordStore, report: inout MatcherReport
  ) throws -> (pairs: [Pair], starts: [Int32], patterns: Patterns) {
    found.sort { ($0.person, $0.slot) < ($1.person, $1.slot) }
    more.sort { ($0.person, $0.slot) < ($1.person, $1.slot) }
    var work: [(person: Int32, slot: Int32, passes: UInt8)] = []
    work.reserveCapacity(found.count + more.count)
    var (a, b) = (0, 0)
    while a < found.count || b < more.count {
      let pair: (person: Int32, slot: Int32, passes: UInt8)
      if b == more.count
        || (a < found.count && (found[a].person, found[a].slot) <= (more[b].person, more[b].slot))
      {
        pair = found[a]
        a += 1
      } else {
        pair = more[b]
        b += 1
      }
      if let last = work.last, last.person == pair.person, last.slot == pair.slot {
        work[work.count - 1].passes |= pair.passes
      } else {
        work.append(pair)
      }
    }
    (found, more) = ([], [])
    let packed = try FellegiSunterMatcher.compare(work, people: people, sis: sis)
    var pairs: [Pair] = []
    pairs.reserveCapacity(work.count)
    var starts = [Int32](repeating: 0, count: people.count + 1)
    var patterns = Patterns()
    for (i, entry) in work.enumerated() {
      for pass in FellegiSunterMatcher.passNames.indices where entry.passes & (1 << pass) != 0 {
        report.blockingPairs[FellegiSunterMatcher.passNames[pass], default: 0] += 1
      }
      pairs.append(
        Pair(person: entry.person, slot: entry.slot, vector: packed[i], passes: entry.passes))
      starts[Int(entry.person) + 1] += 1
      report.distinctPairs += 1
      patterns.add(packed[i], passes: entry.passes)
    }
    for i in people.indices { starts[i + 1] += starts[i] }
    return (pairs, starts, patterns)
  }

  /// u from the SIS sample, m by EM (Splink's order: the birth date from name-blocked pairs, then
  /// the names from birth-date-blocked pairs; then λ over all identity-blocked pairs), the batch's
  /// names' frequencies and the configured weight factors.
  private func estimate(_ patterns: Patterns, scanned: Scanned, laps: inout Laps) throws {
    let start = laps.now
    model = FellegiSunterModel(
      u: try FellegiSunterModel.estimateU(sample: scanned.sample, population: scanned.seen))
    model.estimateM(patterns.names, excluding: [.firstName, .lastName])
    model.estimateM(patterns.dob, excluding: [.birthDate])
    model.estimateLambda(patterns.all)
    let total = Double(max(scanned.seen, 1))
    model.firstNameFrequency = scanned.firstCounts.mapValues { Double($0) / total }
    model.lastNameFrequency = scanned.lastCounts.mapValues { Double($0) / total }
    model.weightFactors = config.weightFactors
    laps.lap("estimate", since: start)
  }

  // MARK: - Guards and explanations

  /// The reason NEW decisions gave before they named the rule that fired (decisions written by an
  /// older sisdrop carry it; the batch report recomputes the rule for those).
  package static let otherChild =
    "another child: the birth dates differ without the same names and home; or a twin with another given name; or the state ids differ and nothing links the families"

  /// Why a pair may be the same child though the names, the birth date or the home disagree: the
  /// state id is the SIS student's; given name and surname swapped; both names agreeing with a
  /// birth date one edit off; or the given name and birth date with another surname (a changed
  /// surname, wherever the child lives now: a family that renames a child often moves as well); but
  /// not when the state ids or the genders differ or the home contradicts (`homeContradicts`). Such a pair is never another child (never NEW without a
  /// person) and never automatic on this alone (the identity guard needs names and birth date).
  /// nil when none holds.
  static func resemblance(_ vector: ComparisonVector) -> String? {
    if vector[.stateID] == 1 { return "the state id is this SIS student's" }
    // A gender that disagrees as well makes two differences; state ids that differ say another child;
    // and so does a home that contradicts (another address, another home phone and no guardian in
    // common, all compared): common names one digit apart in birth date are common in a large SIS.
    guard vector[.gender] != 0, vector[.stateID] != 0, !homeContradicts(vector) else { return nil }
    let dob = vector[.birthDate]
    if vector.namesSwapped && dob >= 1 {
      return "given name and surname swapped, "
        + (dob == 4
          ? "the same birth date"
          : "the birth dates one edit apart (\(MatchField.birthDate.levels[dob]))")
    }
    if vector[.firstName] >= 2 && vector[.lastName] >= 2 && (1...3).contains(dob) {
      return
        "the names agree and the birth dates are one edit apart (\(MatchField.birthDate.levels[dob]))"
    }
    if vector[.firstName] >= 3 && dob == 4 && vector[.lastName] <= 1 {
      return
        "the given name and birth date agree and the surname is another (a changed surname?), with \(homeEvidence(vector))"
    }
    // Two children of one home never share both names: a birth date written wrongly, or a record to check.
    // The home as the automatic rule reads it too: all its parts but one agreeing up to a typo.
    if vector[.firstName] >= 2 && vector[.lastName] >= 2 && dob == 0
      && (vector[.address] >= 2 || vector.addressButOnePart) && !vector.namesSwapped
    {
      let home =
        vector[.address] == 3
        ? "the same address"
        : vector[.address] == 2
          ? "the same address but for a typo" : "an address that agrees on all its parts but one"
      return "both names agree at \(home), but the birth dates differ"
    }
    return nil
  }

  /// Both forms name a home and it is another: another address (not a typo of it), another home
  /// phone, and guardians on both sides with none in common.
  static func homeContradicts(_ vector: ComparisonVector) -> Bool {
    vector[.address] >= 0 && vector[.address] <= 1 && vector[.phone] == 0 && vector[.guardians] == 0
  }

  /// Neither the birth date nor both names agree: however much of the household agrees (siblings
  /// share address, phone and guardians, which are far from independent evidence), this is another
  /// child of the family, not a candidate for review. The clauses are in `otherChildRule`.
  static func isOtherChild(_ vector: ComparisonVector, config: MatchingConfig = MatchingConfig())
    -> Bool
  {
    otherChildRule(vector, config: config) != nil
  }

  /// The rule that makes the SIS student of a pair another child, in words true of the pair (nil when
  /// none holds): a NEW decision names it.
  /// - A birth date that disagrees outright (not swapped, not one digit, not a year) or is missing,
  ///   unless both names agree and the home does.
  /// - A plainly different given name without the same birth date (a sibling born a year or a few
  ///   days apart differs from the child in one digit).
  /// - A birth date only close, without both names agreeing and without the home confirming (common
  ///   names make close birth dates common in a large SIS).
  /// - A twin whose given name is plainly another (JW < 0.80), unless `matching.twins: review`.
  /// - Another family's child: nothing links the homes and a name or the state id disagrees outright.
  /// A `resemblance` exempts the pair from all of these: it goes to a person.
  package static func otherChildRule(
    _ vector: ComparisonVector, config: MatchingConfig = MatchingConfig(), form: PersonRecord? = nil
  ) -> String? {
    if resemblance(vector) != nil { return nil }
    let namesAgree = vector[.firstName] >= 2 && vector[.lastName] >= 2
    let dob = vector[.birthDate]
    if dob <= 0 && !(namesAgree && strongHomeLink(vector)) {
      return (dob < 0 ? "a birth date is missing" : "the birth dates differ")
        + (namesAgree
          ? ", and \(noSpecificLink(vector))"
          : ", and the names do not both agree")
    }
    if vector[.firstName] == 0 && !vector.namesSwapped && dob != 4 {
      return "the given names differ and the birth dates are not the same"
    }
    if (1...3).contains(dob) && !strongHomeLink(vector) {
      let why =
        !namesAgree
        ? "the names do not both agree"
        : vector[.gender] == 0
          ? "the genders differ"
          : vector[.stateID] == 0
            ? "the state ids differ" : "the home is another (\(homeEvidence(vector)))"
      return
        "the birth dates are only close (\(MatchField.birthDate.levels[dob])), \(why), and \(noSpecificLink(vector))"
    }
    if isTwin(vector) && vector[.firstName] == 0
      && !twinForAPerson(vector, config: config, form: form)
    {
      return "a twin with another given name (same birth date and family)"
    }
    // A namesake: the same names and birth date in a home the form names and that is another on every
    // count compared (address, home phone, guardians on both sides with none in common by name or phone).
    if config.namesakes == .new && namesAgree && dob == 4 && !vector.namesSwapped
      && homeContradicts(vector) && vector[.email] != 1
      && vector[.stateID] != 1
    {
      return
        "another family's child: the same names and birth date, but the form names another home (\(homeEvidence(vector)))"
    }
    // Not when the surname and birth date agree at an address that agrees on all its parts but one:
    // a twin at that home, or this child under another given name (the twin rules above decide).
    if noHouseholdLink(vector)
      && (vector[.stateID] == 0 || vector[.lastName] <= 0 || vector[.firstName] <= 0)
      && !(isTwin(vector) && vector.addressButOnePart)
    {
      let which =
        vector[.stateID] == 0
        ? "the state ids differ"
        : vector[.lastName] == 0
          ? "the surnames differ"
          : vector[.lastName] < 0
            ? "a surname is missing"
            : vector[.firstName] == 0 ? "the given names differ" : "a given name is missing"
      return
        "another family's child: \(which) and nothing links the homes (\(homeEvidence(vector)))"
    }
    return nil
  }

  /// A twin with another given name (`isTwin`) that a person decides rather than NEW: `twins: review`;
  /// or `twins: review_without_household` (the default) when the genders do not tell them apart and
  /// the form names nothing of the family but an address (no guardian, home phone or e-mail) — a form
  /// that names the family and another child born the same day is a twin; one that does not cannot
  /// tell a twin from this child under another given name. `decide` keeps it NEW when the SIS has
  /// the candidate's twin.
  static func twinForAPerson(
    _ vector: ComparisonVector, config: MatchingConfig, form: PersonRecord?
  ) -> Bool {
    switch config.twins {
    case .new: return false
    case .review: return true
    case .reviewWithoutHousehold:
      guard let form, vector[.gender] != 0 else { return false }
      return form.phone.isEmpty && form.email.isEmpty && form.guardians.isEmpty
    }
  }

  /// The home links the records specifically: the street address, the home phone, a guardian's own
  /// phone or the child's e-mail (a guardian's name alone is too common to count).
  static func strongHomeLink(_ vector: ComparisonVector) -> Bool {
    vector[.address] == 3 || vector[.phone] == 1 || vector[.guardians] == 2 || vector[.email] == 1
  }

  /// That `strongHomeLink` does not hold, in words true of the pair: an address that agrees only up
  /// to a typo (or on all its parts but one) is not a specific link, but it is not "no address"
  /// either (a guard said so of 40 FEBRL forms whose address agreed but for a typo).
  static func noSpecificLink(_ vector: ComparisonVector, guardians: Bool = false) -> String {
    if vector[.address] == 2 { return "nothing but an address up to a typo links the homes" }
    if vector[.address] <= 1 && vector.addressButOnePart {
      return "nothing but an address that agrees on all its parts but one links the homes"
    }
    return guardians
      ? "no address, phone, e-mail or guardian links the homes"
      : "no address, phone or e-mail links the homes"
  }

  /// Same birth date and family, different given names ("different": not exact, not a nickname,
  /// not within a typo, JW < 0.92; or only close with the genders not agreeing: boy/girl twins get
  /// paired names, Alexander/Alexandra at JW 0.96). A shared state id does not settle it (a copied
  /// id is common on a twin's form); the child's own e-mail does.
  static func isTwin(_ vector: ComparisonVector) -> Bool {
    let sameFamily =
      vector[.lastName] >= 3 || vector[.address] >= 2 || vector[.phone] == 1
      || vector[.guardians] >= 1
    // Names only close count as two names when the genders differ, or cannot tell and the names are
    // a boy/girl pair; with no gender to compare, a typo elsewhere in the name is a typo.
    let differentNames =
      vector[.firstName] <= 1 || vector[.gender] == 0
      || (vector[.firstName] == 2 && vector[.gender] < 0 && vector.pairedGivenNames)
    return vector[.birthDate] == 4 && sameFamily && differentNames && !vector.namesSwapped
      && vector[.email] != 1
  }

  /// What makes a pair `isTwin` two children, in words true of the names: the twin guard said
  /// "different given names" of Noah and Noah when only the genders differed.
  static func twinNames(_ vector: ComparisonVector) -> String {
    if vector[.firstName] <= 1 { return "different given names" }
    if vector[.gender] == 0 {
      return vector[.firstName] == 4
        ? "the same given name and another gender" : "close given names and another gender"
    }
    return "given names that differ only in their last letters, as a twin boy's and girl's often do"
  }

  /// Nothing of the household agrees: no guardian (none on either side counts as none in common),
  /// no address (up to a typo), phone or e-mail, no state id.
  static func noHouseholdLink(_ vector: ComparisonVector) -> Bool {
    vector[.guardians] <= 0 && vector[.address] <= 1 && vector[.phone] != 1
      && vector[.email] != 1 && vector[.stateID] != 1
  }

  /// What the household fields of a pair say, in words true of the data (what agrees, what differs,
  /// what one side does not have): `another address, no home phone to compare, ...`.
  static func homeEvidence(_ vector: ComparisonVector) -> String {
    var words: [String] = []
    switch vector[.address] {
    case 3: words.append("the same address")
    case 2: words.append("the same address but for a typo")
    case _ where vector.addressButOnePart:
      words.append("an address that agrees on all its parts but one")
    case 1: words.append("the same ZIP on another street")
    case 0: words.append("another address")
    default: words.append("no address to compare")
    }
    switch vector[.phone] {
    case 1: words.append("the same home phone")
    case 0: words.append("another home phone")
    default: words.append("no home phone to compare")
    }
    switch vector[.email] {
    case 1: words.append("the same e-mail")
    case 0: words.append("another e-mail")
    default: words.append("no e-mail to compare")
    }
    switch vector[.guardians] {
    case 2: words.append("a guardian's phone in common")
    case 1: words.append("a guardian's name in common")
    case 0: words.append("no guardian in common")
    default: words.append("no guardians to compare")
    }
    return words.joined(separator: ", ")
  }

  /// Names and birth date agree closely enough for an automatic match without the home: both names
  /// (a typo or a nickname at most; given name and surname swapped only with the street line and ZIP
  /// up to a typo), the birth date exactly, the gender not against it,
  /// and an address that agrees up to typos (`matching.auto_without_household`). The lead's reading
  /// of issue 12's "an address that agrees up to typos" is part by part (`matching.auto_address:
  /// all_but_one_part`, the default): house number, street, city and ZIP (and the state where both
  /// have one) agree (numbers exactly, words up to a typo), all but one at most
  /// (`ComparisonVector.addressButOnePart`, `Comparators.addressPartsDiffering`);
  /// a street line replaced with house number, city and ZIP agreeing is a typing error, not a move,
  /// and two parts or more that differ stay with a person. The street line and ZIP up to one typo
  /// together (`up_to_a_typo`, the rule before) still match; the part-by-part reading adds to it only
  /// where the form names no other home (no home phone, e-mail or guardians that differ,
  /// `nothingOfTheHomeDiffers`): on the generator (`scripts/bench/match.sh`) the rule without that
  /// matched two new children to namesakes on their street (another house number, another home
  /// phone, no guardian in common). The decision still needs no competing candidate and no SIS twin
  /// of the candidate (`decide`); the twin, sibling, look-alike and claimed-twice guards still hold.
  static func identityWithoutHousehold(_ vector: ComparisonVector, config: MatchingConfig) -> Bool {
    let address =
      config.autoAddress == .allButOnePart
      ? vector[.address] >= 2 || (vector.addressButOnePart && nothingOfTheHomeDiffers(vector))
      : vector[.address] >= 2
    // Given name and surname swapped count as the names agreeing (`compare` compares them the other
    // way round) with the street line and ZIP up to a typo: two children of one home and birth date
    // are not named each other's names the other way round. Not on the part-by-part reading
    // (`addressButOnePart` is never set for them): a swap and another street are two differences.
    return config.autoWithoutHousehold && vector[.firstName] >= 2 && vector[.lastName] >= 2
      && vector[.birthDate] == 4 && vector[.gender] != 0 && vector[.stateID] != 0 && address
  }

  /// The form names no home phone, e-mail or guardians that differ from the SIS record's (each
  /// missing on a side, or agreeing).
  static func nothingOfTheHomeDiffers(_ vector: ComparisonVector) -> Bool {
    vector[.phone] != 0 && vector[.email] != 0 && vector[.guardians] != 0
  }

  /// How the address of a pair matched without the home agrees, in words true of the data, for
  /// the decision: up to a typo on every part, or on all parts but one (which, what agrees, and
  /// that nothing else of the home differs where the street line and ZIP do not agree up to a typo).
  static func addressAgreement(
    _ person: PersonRecord, _ sis: PersonRecord, _ vector: ComparisonVector
  ) -> String {
    let differing = Comparators.addressPartsDiffering(person, sis)
    // The street line and ZIP up to one typo (`sameAddressButForATypo`), city and state agreeing.
    let typo = vector[.address] >= 2 && !differing.contains(.city) && !differing.contains(.state)
    guard let part = differing.first, differing.count == 1, !typo else {
      return "with an address up to a typo"
    }
    let (form, record) = (Comparators.addressParts(person), Comparators.addressParts(sis))
    let agreeing = Comparators.AddressPart.allCases.filter {
      $0 != part && ($0 != .state || (!form[$0.rawValue].isEmpty && !record[$0.rawValue].isEmpty))
    }.map(\.words)
    let which =
      form[part.rawValue].isEmpty || record[part.rawValue].isEmpty
      ? "no \(part.words) on one side" : "another \(part.words)"
    let list = agreeing.dropLast().joined(separator: ", ") + " and " + agreeing.last!
    return
      "with an address that agrees on all its parts but one: \(which) (\(list) agree)"
      + (vector[.address] >= 2
        ? "" : ", and the form names no other home phone, e-mail or guardian")
  }

  /// What makes two forms of one batch, both matched to one SIS student, possibly two children (nil
  /// when nothing does: the same child submitted again). The forms must agree with each other as
  /// closely as a form must agree with an SIS record to be matched automatically: the given name up
  /// to a typo or a nickname; the surname too, or only similar where the homes link (address, phone,
  /// e-mail, a guardian's phone) or the state ids agree; the birth date exactly, or one edit apart
  /// where they link; given name and surname swapped only with the same birth date. And the genders
  /// and state ids do not differ, and the homes do not contradict.
  package static func formsDisagree(_ vector: ComparisonVector) -> String? {
    var which: [String] = []
    let dob = vector[.birthDate]
    let confirmed = strongHomeLink(vector) || vector[.stateID] == 1
    if vector.namesSwapped && dob != 4 {
      which.append("one form swaps given name and surname and the birth dates differ")
    }
    if vector[.firstName] < 2 {
      which.append(vector[.firstName] < 0 ? "a given name is missing" : "the given names differ")
    }
    if !(vector[.lastName] >= 2 || (vector[.lastName] >= 1 && confirmed)) {
      which.append(vector[.lastName] < 0 ? "a surname is missing" : "the surnames differ")
    }
    if !vector.namesSwapped && dob != 4 && !(dob >= 1 && confirmed) {
      which.append(
        dob < 0
          ? "a birth date is missing"
          : dob == 0
            ? "the birth dates differ"
            : "the birth dates are only close (\(MatchField.birthDate.levels[dob])) and no address, phone or e-mail links the forms"
      )
    }
    if vector[.gender] == 0 { which.append("the genders differ") }
    if vector[.stateID] == 0 { which.append("the state ids differ") }
    if homeContradicts(vector) { which.append("the homes differ (\(homeEvidence(vector)))") }
    return which.isEmpty ? nil : which.joined(separator: "; ")
  }

  /// Guards that no score overrides, for one pair.
  static func guards(
    _ person: PersonRecord, _ sis: PersonRecord, _ vector: ComparisonVector,
    config: MatchingConfig = MatchingConfig()
  ) -> [String] {
    var result: [String] = []
    if vector[.stateID] == 0 {
      result.append("different state ids (\(person.stateID) and \(sis.stateID))")
    }
    if isTwin(vector) {
      result.append(
        vector[.firstName] == 0 && config.twins == .reviewWithoutHousehold
          && twinForAPerson(vector, config: config, form: person)
          ? "same birth date and family but another given name, and the form names no guardian, home phone or e-mail: a twin, or this child under another given name?"
          : "same birth date and family but \(twinNames(vector)) (a twin?)")
    }
    // Boy/girl twins and a gender typo look alike to the scores; a person tells them apart.
    if vector[.gender] == 0 { result.append("the genders differ") }
    // No guard below is lifted by an agreeing state id: it raises the score, but a copied state id
    // (an older sibling's on a kindergartner's form) must not make two different-looking children one.
    if let rule = otherChildRule(vector, config: config, form: person) {
      result.append("another child: " + rule)
    }
    if vector[.firstName] <= 0 && vector[.lastName] <= 0 { result.append("neither name agrees") }
    if vector[.birthDate] == 0 { result.append("the birth dates differ") }
    // Automatic needs the child's identity to agree: both names (a typo or a nickname at most) and the
    // birth date exactly, or close with the home confirming; a state id of its own settles it.
    // The child's own state id confirms as the home does: a surname typo, a birth date one edit off.
    let confirmed = strongHomeLink(vector) || vector[.stateID] == 1
    let surname = vector[.lastName] >= 2 || (vector[.lastName] >= 1 && confirmed)
    let identity =
      vector[.firstName] >= 2 && surname
      && (vector[.birthDate] == 4 || (vector[.birthDate] >= 1 && confirmed))
    if !identity && !(vector.namesSwapped && vector[.birthDate] == 4) {
      var which: [String] = []
      if vector[.firstName] < 2 {
        which.append(vector[.firstName] < 0 ? "a given name is missing" : "the given names differ")
      }
      if !surname {
        which.append(vector[.lastName] < 0 ? "a surname is missing" : "the surnames differ")
      }
      if vector[.birthDate] != 4 {
        which.append(
          vector[.birthDate] < 0
            ? "a birth date is missing"
            : vector[.birthDate] == 0
              ? "the birth dates differ"
              : "the birth dates are only close (\(MatchField.birthDate.levels[vector[.birthDate]])) and no state id, address, phone or e-mail confirms"
        )
      }
      if which.isEmpty { which.append("the names agree only partly") }
      result.append(
        "names and birth date do not agree closely enough for an automatic match (\(which.joined(separator: "; ")))"
      )
    }
    // The home: a state id of the child's own, or an address, phone or e-mail in common, is specific;
    // without it, names and birth date with an address up to a typo may match (`decide` checks that no
    // other candidate and no SIS twin competes); otherwise a person decides.
    if !strongHomeLink(vector) && vector[.stateID] != 1
      && !identityWithoutHousehold(vector, config: config)
    {
      if vector[.guardians] == 1 {
        // A guardian's name is shared far more often than random pairs say: it goes with the surname
        // (Maria Garcia in a Garcia family). In a million-student SIS that alone auto-matched look-alikes.
        result.append("only a guardian's name links the homes (\(homeEvidence(vector)))")
      } else if vector.namesSwapped {
        result.append(
          "given name and surname are swapped and \(noSpecificLink(vector)) (\(homeEvidence(vector)))"
        )
      } else {
        result.append(
          "\(noSpecificLink(vector, guardians: true)) (\(homeEvidence(vector)))")
      }
    }
    return result
  }

  private static func explain(
    person: PersonRecord, sis: PersonRecord, bits: Double, parts: [Double?],
    vector: ComparisonVector, passes: UInt8,
    config: MatchingConfig
  ) -> MatchCandidate {
    var comparisons: [FieldComparison] = []
    var reasons: [String] = []
    for field in MatchField.allCases {
      let level = vector[field]
      let label = level < 0 ? "missing" : field.levels[level]
      comparisons.append(
        FieldComparison(
          field: field.name, level: label,
          weight: parts[field.rawValue].map { ($0 * 100).rounded() / 100 }))
      if level >= 0, let w = parts[field.rawValue] {
        reasons.append("\(field.name): \(label) (\(w >= 0 ? "+" : "")\((w * 10).rounded() / 10))")
      }
    }
    if vector.namesSwapped { reasons.append("given name and surname were swapped") }
    let guards = FellegiSunterMatcher.guards(person, sis, vector, config: config)
    var candidate = MatchCandidate(sisID: sis.id, score: roundedProbability(bits), reasons: reasons)
    candidate.comparisons = comparisons
    candidate.matchWeight = (bits * 100).rounded() / 100
    candidate.blockedBy = FellegiSunterMatcher.passNames.indices.filter { passes & (1 << $0) != 0 }
      .map { FellegiSunterMatcher.passNames[$0] }
    candidate.guards = guards.isEmpty ? nil : guards
    return candidate
  }

  /// `explain` without the reasons, field comparisons and passes (`Prepared.decide`'s `explains`):
  /// what `decide(_:thresholds:)` reads, made as `explain` makes it.
  private static func unexplained(
    person: PersonRecord, sis: PersonRecord, bits: Double, vector: ComparisonVector,
    config: MatchingConfig
  ) -> MatchCandidate {
    let guards = FellegiSunterMatcher.guards(person, sis, vector, config: config)
    var candidate = MatchCandidate(sisID: sis.id, score: roundedProbability(bits), reasons: [])
    candidate.matchWeight = (bits * 100).rounded() / 100
    candidate.guards = guards.isEmpty ? nil : guards
    return candidate
  }

  /// The comparison of every pair of `work`, packed, on every core. The SIS side is read from the
  /// store a range of slots at a time: each SIS student is made a record once, however many of the
  /// batch's students it is paired with, and one range's records are held, not the SIS's.
  static func compare(
    _ work: [(person: Int32, slot: Int32, passes: UInt8)], people: [PersonRecord],
    sis: RecordStore
  ) throws -> [UInt32] {
    let span = 8192
    let ranges = (sis.count + span - 1) / span
    // The pairs of each range of slots, by their place in `work`.
    var byRange = [[Int32]](repeating: [], count: ranges)
    for (i, pair) in work.enumerated() { byRange[Int(pair.slot) / span].append(Int32(i)) }
    var packed = [UInt32](repeating: 0, count: work.count)
    for range in 0..<ranges {
      let first = range * span
      let records = try Parallel.map(min(span, sis.count - first), minimum: 512) {
        sis[first + $0]
      }
      let pairs = byRange[range]
      byRange[range] = []
      let vectors = try Parallel.map(pairs.count) { k in
        let pair = work[Int(pairs[k])]
        return ComparisonVector.compare(
          people[Int(pair.person)], records[Int(pair.slot) - first]
        ).packed
      }
      for (k, i) in pairs.enumerated() { packed[Int(i)] = vectors[k] }
    }
    return packed
  }

  /// A compared pair as the prepared batch keeps it: the student, the SIS slot, the passes that
  /// found it and the comparison packed into 32 bits (`ComparisonVector.packed`). Why: a vector's
  /// levels are an array of their own, and at 20,000 submissions against 100,000 SIS students the
  /// pairs kept that way were a fifth of the match stage's peak (`scripts/bench/review.sh`).
  struct Pair: Sendable {
    var person: Int32
    var slot: Int32
    var vector: UInt32
    var passes: UInt8
  }

  /// The prepared batch: its students, the SIS students blocking found, each student's compared
  /// pairs and the estimated model; what deciding any student of the batch needs.
  struct Prepared {
    /// As bytes: held from `prepare` to the last decision, read a chunk at a time (`decide`).
    var people: RecordStore
    /// Student refs the batch holds more than once, at their last place in `people` (the one
    /// decided for them); normally none. Why not every ref's place: a dictionary of the batch's refs
    /// held to the last decision, where a chunk's first student is looked for once a chunk.
    var repeated: [String: Int]
    var candidates: RecordStore
    /// Every compared pair, in (student, SIS slot) order; a student's are `pairs[starts[i]..<starts[i + 1]]`.
    var pairs: [Pair]
    var starts: [Int32]
    var model: FellegiSunterModel
    var config: MatchingConfig
    var thresholds: MatchThresholds

    /// The place of `ref` in `people` (its last, for a repeated one): `guess` or the first place
    /// when it is there, else found by reading the ids; nil when the batch does not hold it.
    func place(of ref: String, guess: Int) -> Int? {
      if let last = repeated[ref] { return last }
      for i in [guess, 0] where i < people.count && people.id(i) == ref { return i }
      return (0..<people.count).last { people.id($0) == ref }
    }

    /// The decisions of `people[range]`, on every core: scoring and explaining are independent
    /// per student, so any chunk gives the decisions the whole batch at once would. Without
    /// `explains`, the candidates carry what `decide(_:thresholds:)` reads (id, score, match weight,
    /// guards), not their reasons, comparisons and passes: the same outcomes.
    func decide(_ range: Range<Int>, explains: Bool = true) throws -> [MatchDecision] {
      let batchPeople = people
      let candidatesSeen = candidates
      let pairs = self.pairs
      let starts = self.starts
      let model = self.model
      let totals = FellegiSunterModel.Totals(model)
      let config = self.config
      let thresholds = self.thresholds
      let maxCandidates = config.maxCandidates
      let first = range.lowerBound
      return try Parallel.map(range.count, minimum: 64) { offset -> MatchDecision in
        let i = first + offset
        let person = batchPeople[i]
        // Each pair's total only; the weights by field for the few candidates explained.
        let exact = totals.exact(first: person.first, last: person.last)
        var scored = pairs[Int(starts[i])..<Int(starts[i + 1])].map {
          pair -> (slot: Int, bits: Double, vector: ComparisonVector, passes: UInt8) in
          let vector = ComparisonVector(packed: pair.vector)
          return (Int(pair.slot), totals.total(vector, exact: exact), vector, pair.passes)
        }
        // The highest weight first, equal weights by SIS id (read from the store only for a tie).
        scored.sort {
          $0.bits != $1.bits
            ? $0.bits > $1.bits : candidatesSeen.id($0.slot) < candidatesSeen.id($1.slot)
        }
        if scored.count > maxCandidates { scored.removeLast(scored.count - maxCandidates) }
        // The SIS students ranked, made records from the store once and only when a twin is
        // looked for among them.
        var ranked: [PersonRecord]? = nil
        func others() -> [PersonRecord] {
          if let ranked { return ranked }
          let records = scored.map { candidatesSeen[$0.slot] }
          ranked = records
          return records
        }
        // Explained (reasons, per-field weights, guards in words) only when written out: most
        // candidates are looked at and dropped, and their words were most of the decide phase.
        var candidates = scored.prefix(5).map { entry in
          Ranked(
            sisID: candidatesSeen.id(entry.slot),
            score: FellegiSunterMatcher.roundedProbability(entry.bits),
            otherChild: FellegiSunterMatcher.otherChildRule(
              entry.vector, config: config, form: person)
              ?? FellegiSunterMatcher.twinInSIS(
                entry.vector, candidatesSeen[entry.slot], among: others(), config: config),
            resemblance: FellegiSunterMatcher.resemblance(entry.vector),
            withoutHousehold: !FellegiSunterMatcher.strongHomeLink(entry.vector)
              && entry.vector[.stateID] != 1
              && FellegiSunterMatcher.identityWithoutHousehold(entry.vector, config: config)
          ) {
            explains
              ? FellegiSunterMatcher.explain(
                person: person, sis: candidatesSeen[entry.slot], bits: entry.bits,
                parts: model.score(entry.vector, first: person.first, last: person.last).parts,
                vector: entry.vector, passes: entry.passes,
                config: config)
              : FellegiSunterMatcher.unexplained(
                person: person, sis: candidatesSeen[entry.slot], bits: entry.bits,
                vector: entry.vector, config: config)
          }
        }
        if let first = candidates.first, first.withoutHousehold, let top = scored.first {
          // Every SIS student blocking found for this child: a twin of the candidate shares its birth
          // date and surname sound, the keys of the birth-date pass.
          candidates[0].twinInSIS = FellegiSunterMatcher.twin(
            of: candidatesSeen[top.slot], among: others())
          if top.vector.namesSwapped {
            candidates[0].names = "names (given name and surname swapped)"
          }
          if config.autoAddress == .allButOnePart {
            candidates[0].address = FellegiSunterMatcher.addressAgreement(
              person, candidatesSeen[top.slot], top.vector)
          }
        }
        return FellegiSunterMatcher.decide(candidates, thresholds: thresholds)
      }
    }
  }

  /// A candidate as ranked: what deciding needs, and its explanation made on demand.
  struct Ranked {
    var sisID: String
    var score: Double
    /// The rule that makes it another child (never a candidate), nil when none holds.
    var otherChild: String?
    /// Why it may be this child whatever its score (`resemblance`): a person decides, never NEW.
    var resemblance: String? = nil
    /// Matched without the home (`identityWithoutHousehold`): only when nothing competes.
    var withoutHousehold = false
    /// An SIS student with this candidate's birth date and home (a twin?), for `withoutHousehold`.
    var twinInSIS: String? = nil
    /// How the address agrees, for `withoutHousehold` (`addressAgreement`).
    var address = "with an address up to a typo"
    /// How the names agree, for `withoutHousehold`: given name and surname may be swapped.
    var names = "names"
    var explained: () -> MatchCandidate
  }

  /// The match probability as decisions show it (six decimals).
  static func roundedProbability(_ bits: Double) -> Double {
    (FellegiSunterModel.probability(bits: bits) * 1e6).rounded() / 1e6
  }

  /// Another SIS student among `others` born the same day as `sis` in the same home (the same
  /// street address, home phone or surname): the SIS twin a form without a household cannot tell apart.
  static func twin(of sis: PersonRecord, among others: [PersonRecord]) -> String? {
    guard !sis.dob.isEmpty else { return nil }
    for other in others where other.id != sis.id && other.dob == sis.dob {
      let sameHome =
        (!sis.street.isEmpty && sis.street == other.street && sis.zip == other.zip)
        || (!sis.phone.isEmpty && sis.phone == other.phone)
        || (!sis.last.isEmpty && sis.last == other.last)
      if sameHome { return other.id }
    }
    return nil
  }

  /// A twin with another given name that `twinForAPerson` would send to a person is NEW after all
  /// when the SIS has the candidate's twin (the child's sibling born the same day): the family's
  /// twins are both known, and this form is neither.
  static func twinInSIS(
    _ vector: ComparisonVector, _ sis: @autoclosure () -> PersonRecord,
    among others: @autoclosure () -> [PersonRecord],
    config: MatchingConfig
  ) -> String? {
    guard config.twins == .reviewWithoutHousehold, isTwin(vector), vector[.firstName] == 0
    else { return nil }
    let record = sis()
    guard let twin = twin(of: record, among: others()) else { return nil }
    return
      "a twin with another given name (same birth date and family), and SIS \(twin) is the twin of SIS \(record.id)"
  }

  static func decide(_ ranked: [Ranked], thresholds: MatchThresholds) -> MatchDecision {
    let reviewable = ranked.filter {
      $0.otherChild == nil && ($0.score >= thresholds.review || $0.resemblance != nil)
    }
    var decision: MatchDecision
    if let first = reviewable.first {
      let best = first.explained()
      var reasons: [String] = []
      var outcome = MatchOutcome.potential
      var next: MatchCandidate? = nil
      if reviewable.count > 1 { next = reviewable[1].explained() }
      if best.score >= thresholds.autoMatch {
        if let guards = best.guards {
          reasons.append(
            "match probability \(best.score) reaches auto_match \(thresholds.autoMatch), but never automatic: "
              + guards.joined(separator: "; "))
        } else if first.withoutHousehold, let next {
          reasons.append(
            "\(first.names) and birth date agree \(first.address), but nothing else of the home links them, and SIS \(next.sisID) is a candidate too: a person chooses"
          )
        } else if first.withoutHousehold, let twin = first.twinInSIS {
          reasons.append(
            "SIS \(twin) has the birth date and home of SIS \(best.sisID) (a twin?), and nothing of the household tells them apart: a person chooses"
          )
        } else if let next, let bestBits = best.matchWeight, let nextBits = next.matchWeight,
          bestBits - nextBits < thresholds.ambiguityMargin
        {
          reasons.append(
            "SIS \(next.sisID) is almost as likely (\(((bestBits - nextBits) * 10).rounded() / 10) bits behind, margin \(thresholds.ambiguityMargin))"
          )
        } else {
          outcome = .matched
          reasons.append(
            "match probability \(best.score) ≥ auto_match \(thresholds.autoMatch) (weight \(best.matchWeight ?? 0) bits)"
              + (first.withoutHousehold
                ? "; \(first.names) and birth date agree \(first.address), no other candidate and no SIS twin"
                : ""))
        }
      } else if best.score >= thresholds.review {
        reasons.append(
          "match probability \(best.score) is between review \(thresholds.review) and auto_match \(thresholds.autoMatch): a person must choose Match or No Match"
        )
      } else {
        reasons.append(
          "SIS \(best.sisID) may be this child (\(first.resemblance ?? "")): match probability \(best.score) is below review \(thresholds.review), "
            + "but a child who may be in the SIS is never new without a person")
      }
      var candidates = [best]
      if outcome != .matched {
        if let next { candidates.append(next) }
        candidates += reviewable.dropFirst(candidates.count).map { $0.explained() }
      }
      decision = MatchDecision(
        outcome: outcome, sisID: outcome == .matched ? best.sisID : nil, score: best.score,
        reasons: reasons,
        candidates: candidates, method: FellegiSunterMatcher.method)
    } else {
      let closest = ranked.first
      var reason = "no SIS student shares a blocking key"
      if let closest {
        reason =
          closest.otherChild.map {
            "the closest SIS student \(closest.sisID) is another child: \($0)"
          }
          ?? "the closest SIS student \(closest.sisID) has match probability \(closest.score) < review \(thresholds.review)"
      }
      decision = MatchDecision(
        outcome: .new, sisID: nil, score: closest?.score ?? 0, reasons: [reason], candidates: [],
        method: FellegiSunterMatcher.method)
    }
    decision.thresholds = thresholds
    return decision
  }
}

/// FNV-1a, 64 bits: a blocking key built from its parts without a string.
struct BlockKey {
  var value: UInt64 = 0xcbf2_9ce4_8422_2325

  init(_ pass: UInt8) { value = mixed(pass) }

  private func mixed(_ byte: UInt8) -> UInt64 { (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }

  func mix(_ text: String) -> BlockKey {
    var key = self
    for byte in text.utf8 { key.value = key.mixed(byte) }
    key.value = key.mixed(0xFF)  // a separator no UTF-8 text holds
    return key
  }

  func mix(_ bytes: UnsafeBufferPointer<UInt8>) -> BlockKey {
    var key = self
    for byte in bytes { key.value = key.mixed(byte) }
    key.value = key.mixed(0xFF)
    return key
  }

  func mix(_ bytes: ArraySlice<UInt8>) -> BlockKey {
    var key = self
    for byte in bytes { key.value = key.mixed(byte) }
    key.value = key.mixed(0xFF)
    return key
  }

  func mix(_ word: UInt32) -> BlockKey {
    var key = self
    for shift in stride(from: 24, through: 0, by: -8) {
      key.value = key.mixed(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
    }
    return key
  }
}

extension Snapshot {
  /// A table cut into `parts` rowid ranges of about equal size (for scanning the parts at once),
  /// each with the number of rows before it and in it when `counted` (the counts walk the table).
  func rowRanges(table: String, parts: Int, counted: Bool = true) throws -> [(
    rowids: ClosedRange<Int64>, offset: Int, count: Int
  )] {
    let bounds = try database.rows("SELECT min(rowid), max(rowid) FROM \(table)")[0]
    guard let low = bounds[0].int, let high = bounds[1].int else { return [] }
    let span = (high - low + 1 + Int64(parts) - 1) / Int64(max(parts, 1))
    var result: [(rowids: ClosedRange<Int64>, offset: Int, count: Int)] = []
    var offset = 0
    var first = low
    while first <= high {
      let last = min(high, first + span - 1)
      let count =
        !counted
        ? 0
        : Int(
          try database.scalar(
            "SELECT count(*) FROM \(table) WHERE rowid BETWEEN ? AND ?",
            [.integer(first), .integer(last)]
          ).int ?? 0)
      result.append((first...last, offset, count))
      offset += count
      first = last + 1
    }
    return result
  }

  /// The SIS students of a rowid range as match records, in table order, through a connection of
  /// their own (one per scanning thread).
  static func forEachMatchRecord(
    path: String, rowids: ClosedRange<Int64>, _ body: (PersonRecord) throws -> Void
  ) throws {
    let database = try Database(path: path, readOnly: true)
    let statement = try database.prepare(
      "SELECT student_number, state_studentnumber, first_key, last_key, dob, gender, street, zip, home_phone, email, city, state FROM students "
        + "WHERE rowid BETWEEN ? AND ? ORDER BY rowid")
    try statement.bind([.integer(rowids.lowerBound), .integer(rowids.upperBound)])
    try statement.forEachRow { row in try body(Snapshot.matchRecord(row)) }
  }

  /// One pass over the SIS contacts: the guardians of the students `slots` names, each with the
  /// student's slot, in table order (a list per part of the table, in its order); and for each
  /// guardian name key (`first|last`) asked for, the students who have a guardian of that name, the
  /// first `hitsKept` of them in table order (a name that more students share than the matcher
  /// blocks on needs no list). In rowid parts on every core. Why lists, neither joined nor a
  /// dictionary by student: at 20,000 submissions the dictionaries of the parts and their merge
  /// were the match stage's peak (`scripts/bench/review.sh`).
  func guardians(of slots: [String: Int32], names: [UInt64: [Int32]], hitsKept: Int = .max)
    throws -> (guardians: [GuardianList], nameHits: [UInt64: [String]])
  {
    let path = self.path
    let ranges = try rowRanges(table: "contacts", parts: Parallel.width, counted: false)
    // Wanted students by a hash of their number: a row's number becomes a String only on a hit.
    let wanted = Set(slots.keys.map { BlockKey(8).mix($0).value })
    var parts = try Parallel.map(ranges.count, minimum: 1) { part in
      try Snapshot.guardians(
        path: path, rowids: ranges[part].rowids, of: slots, hashed: wanted, names: names,
        hitsKept: hitsKept)
    }
    var hits: [UInt64: [String]] = [:]
    for p in parts.indices {
      hits.merge(parts[p].nameHits) { first, more in
        first + more.prefix(max(0, hitsKept - first.count))
      }
      parts[p].nameHits = [:]
    }
    return (parts.map(\.guardians), hits)
  }

  /// One part of the contacts scan, on the column bytes: most of the ~2 contacts per SIS student
  /// are neither wanted nor a name asked for, and making three Strings per row to find that out
  /// was most of the scan.
  private static func guardians(
    path: String, rowids: ClosedRange<Int64>, of slots: [String: Int32], hashed wanted: Set<UInt64>,
    names: [UInt64: [Int32]], hitsKept: Int
  )
    throws -> (guardians: GuardianList, nameHits: [UInt64: [String]])
  {
    var result = GuardianList()
    var hits: [UInt64: [String]] = [:]
    let database = try Database(path: path, readOnly: true)
    let statement = try database.prepare(
      "SELECT student_number, first_key, last_key, phone FROM contacts WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
    )
    try statement.bind([.integer(rowids.lowerBound), .integer(rowids.upperBound)])
    try statement.forEachRow { row in
      let number = row.bytes(0)
      let maybeWanted = wanted.contains(BlockKey(8).mix(number).value)
      guard maybeWanted || !names.isEmpty else { return }
      let firstBytes = row.bytes(1)
      let lastBytes = row.bytes(2)
      let ascii = !firstBytes.contains { $0 >= 0x80 } && !lastBytes.contains { $0 >= 0x80 }
      // ASCII keys are their own folded form (`foldLetters`); other keys go through it.
      var cache: (first: String, last: String)? = nil
      func folded() -> (first: String, last: String) {
        if let cache { return cache }
        let value = (
          Comparators.foldLetters(String(decoding: firstBytes, as: UTF8.self)),
          Comparators.foldLetters(String(decoding: lastBytes, as: UTF8.self))
        )
        cache = value
        return value
      }
      if !names.isEmpty {
        let key =
          ascii
          ? BlockKey(7).mix(firstBytes).mix(lastBytes).value
          : BlockKey(7).mix(folded().first).mix(folded().last).value
        if names[key] != nil, hits[key, default: []].count < hitsKept {
          hits[key, default: []].append(String(decoding: number, as: UTF8.self))
        }
      }
      if maybeWanted {
        guard let slot = slots[String(decoding: number, as: UTF8.self)] else { return }
        let (first, last) = folded()
        result.append(slot, first: first, last: last, phone: PersonRecord.digits(row.string(3)))
      }
    }
    return (result, hits)
  }

  /// Match records of the given SIS students (by Student_Number), with their guardians: one query
  /// each for the students and their contacts, however many (a per-student query cost 40 µs each).
  package func matchRecords(numbers: [String]) throws -> [PersonRecord] {
    guard !numbers.isEmpty else { return [] }
    let list = try Snapshot.jsonList(numbers)
    var records: [PersonRecord] = []
    let students = try database.prepare(
      "SELECT student_number, state_studentnumber, first_key, last_key, dob, gender, street, zip, home_phone, email, city, state FROM students "
        + "WHERE student_number IN (SELECT value FROM json_each(?)) ORDER BY student_number")
    try students.bind([.text(list)])
    try students.forEachRow { row in records.append(Snapshot.matchRecord(row)) }
    var guardians: [String: [PersonRecord.Guardian]] = [:]
    let contacts = try database.prepare(
      "SELECT student_number, first_key, last_key, phone FROM contacts WHERE student_number IN (SELECT value FROM json_each(?)) ORDER BY rowid"
    )
    try contacts.bind([.text(list)])
    try contacts.forEachRow { row in
      guardians[row.string(0), default: []].append(
        PersonRecord.Guardian(
          first: Comparators.foldLetters(row.string(1)),
          last: Comparators.foldLetters(row.string(2)), phone: PersonRecord.digits(row.string(3))))
    }
    for i in records.indices { records[i].guardians = guardians[records[i].id] ?? [] }
    return records
  }

  /// A value that is not what its field holds reaches the matcher as missing, never as a trap:
  /// the snapshot load already leaves such values out, and this holds for any snapshot (an older
  /// one kept a birth date that is not a date as exported).
  static func matchRecord(_ row: Statement.Row) -> PersonRecord {
    var record = PersonRecord(id: row.string(0))
    record.stateID = row.string(1)
    let longest = 4 * FieldNormalizer.longestName  // bytes
    record.first = row.bytes(2).count > longest ? "" : Comparators.foldLetters(row.string(2))
    record.last = row.bytes(3).count > longest ? "" : Comparators.foldLetters(row.string(3))
    let dob = row.bytes(4)
    record.dob =
      dob.count == 10 && DatePattern.iso.match(bytes: dob).date != nil ? row.string(4) : ""
    record.gender = row.string(5)
    record.street = Comparators.streetKey(row.string(6))
    record.zip = String(row.string(7).prefix(5))
    record.phone = PersonRecord.digits(row.string(8))
    record.email = row.string(9)  // the snapshot holds e-mail normalized (lower case)
    record.city = row.string(10)
    record.state = row.string(11)
    return record
  }
}
