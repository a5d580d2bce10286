import Foundation
import SISDropCore
import SISDropFormats
import SISDropStore

/// A submission's contacts (guardians) against the SIS contacts of every household the form
/// reaches, and new contacts against each other within the batch (siblings' forms must not create
/// the same guardian twice).
///
/// The households: the matched students' own, and every SIS student whose home shares the form's
/// address (street and ZIP), home phone or e-mail, or who has a contact with a guardian's phone or
/// e-mail — a new child's SIS siblings, twins and cousins. Within them a guardian is the SIS contact
/// whose name agrees (folded, transliterated, or a nickname); a given name, phone and e-mail that all
/// agree under another surname (a remarriage) go to a person, never to a new contact.
package enum ContactMatcher {
  /// Fields compared for the differences of a matched contact (the delivery's contact columns).
  package static let comparedFields = Layouts.comparedContactFields

  /// A contact's name keys (first, last), once per contact: matching and the batch's same-as both need them.
  package typealias NameKeys = (first: String, last: String)

  package static func nameKeys(_ submission: Submission) -> [NameKeys] {
    submission.contacts.map {
      (
        first: FieldRules.nameKey($0[FieldName.firstName]),
        last: FieldRules.nameKey($0[FieldName.lastName])
      )
    }
  }

  /// A key shared by more SIS students than this (a shelter's address, an office phone) says nothing
  /// about one family.
  static let householdLimit = 8

  // MARK: - Names

  /// A name key as people transliterate it: letters without a base letter folded (`ø` → `o`,
  /// `ß` → `ss`), and the German digraphs written for umlauts read as the plain vowel, so that
  /// `Schröder` (key `schroder`) and `Schroeder`, `Müller` and `Mueller` give the same key.
  package static func transliterated(_ key: String) -> String {
    let folded = Comparators.foldLetters(key)
    if folded.utf8.allSatisfy({ $0 < 0x80 }) {
      // ASCII (almost every key): the same three replacements on the bytes. Foundation's
      // replacingOccurrences was most of comparing a batch's guardians with the SIS contacts they
      // reach (`scripts/bench/match.sh` at 50,000 × 50,000); and its `contains("e")`, a substring
      // search, cost some 5,000 instructions a key (callgrind, 10,000 × 10,000): on the bytes too.
      guard folded.utf8.contains(UInt8(ascii: "e")) else { return folded }
      var bytes = Array(folded.utf8)
      for vowel in [UInt8(ascii: "a"), UInt8(ascii: "o"), UInt8(ascii: "u")] {
        bytes = dropE(after: vowel, in: bytes)
      }
      return String(decoding: bytes, as: UTF8.self)
    }
    guard folded.contains("e") else { return folded }
    return folded.replacingOccurrences(of: "ae", with: "a").replacingOccurrences(
      of: "oe", with: "o"
    )
    .replacingOccurrences(of: "ue", with: "u")
  }

  /// `vowel` + `e` written as `vowel`, left to right without overlaps, as `replacingOccurrences` does.
  private static func dropE(after vowel: UInt8, in bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      out.append(bytes[i])
      i += bytes[i] == vowel && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "e") ? 2 : 1
    }
    return out
  }

  /// How a form's guardian's name agrees with an SIS contact's (keys as `nameKeys` makes them):
  /// 3 the same keys; 2 the same person written another way (transliterated, a nickname, one part of
  /// a compound surname); 1 the given name agrees but the surname does not; 0 the given names differ.
  static func nameAgreement(_ name: NameKeys, _ sis: SnapshotContact) -> Int {
    if name.first.isEmpty || name.last.isEmpty { return 0 }
    if name.first == sis.firstKey && name.last == sis.lastKey { return 3 }
    return givenNameAgrees(name.first, sis.firstKey)
      ? (surnameAgrees(name.last, sis.lastKey) ? 2 : 1) : 0
  }

  /// The same given name: transliterated, or a nickname of it (the table knows the folded spellings:
  /// the digraphs of `transliterated` are not read into them, `joey` stays `joey`).
  static func givenNameAgrees(_ a: String, _ b: String) -> Bool {
    if a.isEmpty || b.isEmpty { return false }
    return a == b || transliterated(a) == transliterated(b)
      || Comparators.givenNameLevel(Comparators.foldLetters(a), Comparators.foldLetters(b)) >= 3
  }

  /// The same surname: transliterated, or one part of a compound surname.
  static func surnameAgrees(_ a: String, _ b: String) -> Bool {
    if a.isEmpty || b.isEmpty { return false }
    return a == b || transliterated(a) == transliterated(b)
      || Comparators.surnameLevel(Comparators.foldLetters(a), Comparators.foldLetters(b)) >= 3
  }

  /// The given names begin with the same letter (Mikey for Michael, Mo for Mohamed: nicknames the
  /// table does not know).
  static func sameInitial(_ name: NameKeys, _ sis: SnapshotContact) -> Bool {
    let first = Comparators.foldLetters(name.first)
    let sisFirst = Comparators.foldLetters(sis.firstKey)
    return first.first != nil && first.first == sisFirst.first
  }

  // MARK: - Households

  /// An SIS contact the form's guardians are compared with: which SIS students it belongs to among
  /// those reached, whether one is a matched student, and how the form reaches its home.
  package struct Reached: Sendable {
    var contact: SnapshotContact
    /// SIS students reached that this contact is already linked to.
    var students: [String]
    var ofMatchedStudent: Bool
    /// How the form reaches the household, in words ("whose home shares the address with this form";
    /// nil for the matched student's own contacts).
    var link: String?
  }

  /// What a batch's forms reach in the SIS: per submission, the SIS students whose homes they share
  /// and how. Their contacts are fetched a chunk of submissions at a time (`contacts`), so that the
  /// batch's are never held at once.
  package struct Households: Sendable {
    var links: [[(student: String, link: String)]]

    /// The contacts of the SIS students submissions `range` reach: their matched students (`matched`,
    /// by submission of the batch) and the homes they share.
    package func contacts(
      _ range: Range<Int>, matched: [[String]], snapshot: Snapshot
    ) throws -> [String: [SnapshotContact]] {
      var all = Set<String>()
      for index in range {
        all.formUnion(matched[index])
        if index < links.count { all.formUnion(links[index].map(\.student)) }
      }
      return try snapshot.contacts(ofStudents: all.sorted())
    }

    /// The contacts one submission is compared with: its matched students' first, then the homes it
    /// shares. `contacts`: from `contacts(_:matched:snapshot:)` for a range that holds `index`.
    package func reached(
      _ index: Int, matched: [String], contacts: [String: [SnapshotContact]]
    ) -> [Reached] {
      var result: [Reached] = []
      var at: [String: Int] = [:]
      func add(_ student: String, matched: Bool, link: String?) {
        for contact in contacts[student] ?? [] {
          if let i = at[contact.id] {
            if !result[i].students.contains(student) { result[i].students.append(student) }
            continue
          }
          at[contact.id] = result.count
          result.append(
            Reached(contact: contact, students: [student], ofMatchedStudent: matched, link: link))
        }
      }
      for student in matched { add(student, matched: true, link: nil) }
      if index < links.count {
        for (student, link) in links[index] where !matched.contains(student) {
          add(student, matched: false, link: link)
        }
      }
      return result
    }
  }

  /// What `households` needs of one submission: its keys (its students' address, home phone,
  /// e-mail; its guardians' phone, e-mail), once each, in the order `links` reads them (the address
  /// first: its words name the strongest link); and whether it names guardians at all (a form
  /// without any reaches no household). How a key links, in words, follows from its kind (`how`).
  /// Held for the whole batch from deciding to the households: a list, not a dictionary of words
  /// (`scripts/bench/review.sh`).
  package struct HouseholdKeys: Sendable {
    var keys: [String] = []
    var hasContacts = false
  }

  package static func householdKeys(_ submission: Submission) -> HouseholdKeys {
    var keys = Set<String>()
    if !submission.contacts.isEmpty {
      for student in submission.students {
        let street = Comparators.streetKey(student[FieldName.street])
        let zip = String(student[FieldName.zip].prefix(5))
        if !street.isEmpty && !zip.isEmpty { keys.insert("a|\(zip)|\(street)") }
        let phone = PersonRecord.digits(student[FieldName.homePhone])
        let email = student[FieldName.email].lowercased()
        if phone.count >= 7 { keys.insert("p|\(phone)") }
        if !email.isEmpty { keys.insert("e|\(email)") }
      }
      for contact in submission.contacts {
        let phone = PersonRecord.digits(contact[FieldName.phone])
        let email = contact[FieldName.email].lowercased()
        if phone.count >= 7 { keys.insert("p|\(phone)") }
        if !email.isEmpty { keys.insert("e|\(email)") }
      }
    }
    return HouseholdKeys(
      keys: keys.sorted { ($0.first == "a" ? 0 : 1, $0) < ($1.first == "a" ? 0 : 1, $1) },
      hasContacts: !submission.contacts.isEmpty)
  }

  /// How a household key links a form to an SIS home, in words (by its kind: `a|`, `p|`, `e|`).
  static func how(_ key: String) -> String {
    switch key.first {
    case "a": return "whose home shares the address with this form"
    case "p": return "whose home shares a phone with this form"
    default: return "whose home shares an e-mail with this form"
    }
  }

  /// The households a batch's forms reach (see the type's summary), in two scans of the snapshot
  /// (students, contacts).
  /// `candidates`: per submission, the SIS students a person is asked to choose from (a potential
  /// match): their homes are reached too, as the student's blocking reached them. From each
  /// submission's `householdKeys`, so that the batch need not be held meanwhile.
  package static func households(
    _ submissions: [HouseholdKeys], candidates: [[String]] = [],
    snapshot: Snapshot
  ) throws -> Households {
    // Every key of the batch, numbered as first met: the scans and their hits speak of numbers.
    var numbers: [String: Int32] = [:]
    for submission in submissions {
      for key in submission.keys where numbers[key] == nil { numbers[key] = Int32(numbers.count) }
    }
    let hits =
      numbers.isEmpty ? [] : try sisStudents(sharing: WantedKeys(numbers), in: snapshot)
    return Households(
      links: submissions.indices.map {
        links(
          submissions[$0], candidates: $0 < candidates.count ? candidates[$0] : [],
          hits: { key in numbers[key].map { hits[Int($0)] } ?? [] })
      })
  }

  /// The household keys a batch's forms carry, and what a row's key must hash to for it to be one.
  /// Every SIS student and contact is looked at, and few share a key with the batch: a row's key is
  /// hashed from its parts first and made a String only when the hash is wanted (building three
  /// Strings per student and two per contact was most of this search, `scripts/bench/match.sh` at
  /// 50,000 × 50,000). A key with a non-ASCII byte is always checked as a String (canonically equal
  /// Strings may differ in bytes), and so is every key when a key of the batch has one.
  struct WantedKeys: Sendable {
    /// The keys, by their number.
    let numbers: [String: Int32]
    let hashes: Set<UInt64>
    let everyKey: Bool

    init(_ numbers: [String: Int32]) {
      let hashed = numbers.keys.map { KeyHash($0) }
      self.numbers = numbers
      hashes = Set(hashed.map(\.value))
      everyKey = hashed.contains { !$0.ascii }
    }

    func wants(_ hash: KeyHash) -> Bool { everyKey || !hash.ascii || hashes.contains(hash.value) }
  }

  /// Per household key of the batch (by its number), the SIS students whose home (address, home
  /// phone, e-mail) or whose contact (phone, e-mail) has it, each once: one scan of each table, a
  /// part per core. A key's list stops one past `householdLimit` (such a key links no one, `links`):
  /// a shelter's address does not fill the memory.
  static func sisStudents(sharing wanted: WantedKeys, in snapshot: Snapshot) throws
    -> [[String]]
  {
    let path = snapshot.path
    let students = try snapshot.rowRanges(table: "students", parts: Parallel.width, counted: false)
    let studentParts = try Parallel.map(students.count, minimum: 1) {
      try scanStudents(path, rowids: students[$0].rowids, wanted: wanted)
    }
    let contacts = try snapshot.rowRanges(table: "contacts", parts: Parallel.width, counted: false)
    let contactParts = try Parallel.map(contacts.count, minimum: 1) {
      try scanContacts(path, rowids: contacts[$0].rowids, wanted: wanted)
    }
    var hits = [[String]](repeating: [], count: wanted.numbers.count)
    for part in studentParts + contactParts {
      for (key, student) in part
      where hits[Int(key)].count <= householdLimit && !hits[Int(key)].contains(student) {
        hits[Int(key)].append(student)
      }
    }
    return hits
  }

  /// The SIS students of rows `rowids` whose address, home phone or e-mail is a wanted key.
  static func scanStudents(_ path: String, rowids: ClosedRange<Int64>, wanted: WantedKeys)
    throws -> [(key: Int32, student: String)]
  {
    var found: [(key: Int32, student: String)] = []
    let database = try Database(path: path, readOnly: true)
    // The values as `Snapshot.matchRecord` reads them for the matcher.
    let statement = try database.prepare(
      "SELECT student_number, street, zip, home_phone, email FROM students WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
    )
    try statement.bind([.integer(rowids.lowerBound), .integer(rowids.upperBound)])
    try statement.forEachRow { row in
      let street = Comparators.streetKey(row.string(1))
      let zip = String(row.string(2).prefix(5))
      let phone = PersonRecord.digits(row.string(3))
      let email = row.string(4)
      var candidates: [String] = []
      if wanted.wants(KeyHash("a|", zip, "|", street)) { candidates.append("a|\(zip)|\(street)") }
      if wanted.wants(KeyHash("p|", phone)) { candidates.append("p|\(phone)") }
      if wanted.wants(KeyHash("e|", email)) { candidates.append("e|\(email)") }
      for key in candidates {
        if let number = wanted.numbers[key] { found.append((number, row.string(0))) }
      }
    }
    return found
  }

  /// The SIS students of contact rows `rowids` whose contact's phone or e-mail is a wanted key.
  static func scanContacts(_ path: String, rowids: ClosedRange<Int64>, wanted: WantedKeys)
    throws -> [(key: Int32, student: String)]
  {
    var found: [(key: Int32, student: String)] = []
    let database = try Database(path: path, readOnly: true)
    let statement = try database.prepare(
      "SELECT student_number, phone, email FROM contacts WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
    )
    try statement.bind([.integer(rowids.lowerBound), .integer(rowids.upperBound)])
    try statement.forEachRow { row in
      let phone = PersonRecord.digits(row.string(1))
      var candidates: [String] = []
      if wanted.wants(KeyHash("p|", phone)) { candidates.append("p|\(phone)") }
      if wanted.wants(KeyHash(lowercasing: "e|", row.bytes(2))) {
        candidates.append("e|\(row.string(2).lowercased())")
      }
      for key in candidates {
        if let number = wanted.numbers[key] { found.append((number, row.string(0))) }
      }
    }
    return found
  }

  /// The SIS students one form reaches and how, in student order: its candidates (when it names
  /// guardians), then the homes sharing a key, the address first (the words say the strongest link
  /// found); a key more than `householdLimit` students share says nothing of one family.
  /// `hits`: a key's SIS students (`sisStudents`).
  static func links(
    _ submission: HouseholdKeys, candidates: [String], hits: (String) -> [String]
  ) -> [(student: String, link: String)] {
    var linked: [String: String] = [:]
    if submission.hasContacts {
      for student in candidates {
        linked[student] = "a candidate for the form's student (a potential match)"
      }
    }
    for key in submission.keys {
      let students = hits(key)
      guard students.count <= householdLimit else { continue }
      for student in students where linked[student] == nil { linked[student] = how(key) }
    }
    return linked.sorted { $0.key < $1.key }.map { (student: $0.key, link: $0.value) }
  }

  // MARK: - One submission

  /// One submission's contacts decided against the SIS contacts it reaches (`reached`), with their
  /// rows for diffs.csv and held_updates.csv. `resolutions` are a person's answers for this
  /// submission's contacts (Match to a Contact_ID, or No Match), already checked against its version.
  /// Each guardian goes through the steps in order, the first that decides wins: a person's answer,
  /// the name, the family's phone or e-mail under another given name, a changed surname, a nickname
  /// alone; else a new contact.
  package static func match(
    _ submission: Submission, names: [NameKeys], reached: [Reached], answers: [FieldAnswer],
    policy: UpdateRules,
    resolutions: [Resolution] = [], matchedStudents: Int = 0
  ) -> (contacts: [ContactDecision], diffs: [[String]], held: [[String]]) {
    var linker = Linker(submission: submission, answers: answers, policy: policy)
    var decisions: [ContactDecision] = []
    for (c, contact) in submission.contacts.enumerated() {
      let form = FormContact(
        contact, name: names[c], open: reached.filter { !linker.taken.contains($0.contact.id) })
      let resolution = resolutions.first { $0.studentSeq == contact.seq }
      let verdict =
        answered(form, resolution) ?? byName(form) ?? byFamily(form)
        ?? byChangedSurname(form, resolution) ?? byNicknameOnly(form)
        ?? .decided(newContact(form, reached: reached, matchedStudents: matchedStudents))
      switch verdict {
      case .link(let sis, let reason, let reviewed):
        decisions.append(linker.link(contact, sis, reason: reason, reviewed: reviewed))
      case .decided(let decision):
        decisions.append(decision)
      }
    }
    return (decisions, linker.diffs, linker.held)
  }

  /// What a step decided for one guardian: linked to an SIS contact (its differences are written by
  /// `Linker`), or a decision as it stands (a person decides, a new contact, No Match).
  enum Verdict {
    /// `reviewed`: a person matched this contact and so saw its fields; nothing is held again.
    case link(Reached, reason: String, reviewed: Bool)
    case decided(ContactDecision)

    /// A potential contact match: a person chooses among `candidates`.
    static func toPerson(_ form: FormContact, _ reason: String, candidates: [String]) -> Verdict {
      var decision = ContactDecision(
        seq: form.contact.seq, outcome: .potential, contactID: nil, reason: reason,
        differences: [])
      decision.candidates = candidates
      return .decided(decision)
    }
  }

  /// One guardian of the form, with the SIS contacts it may still be (`open`: not taken by an
  /// earlier guardian of the form) and what its steps compare.
  struct FormContact {
    var contact: SubmissionPart
    var name: NameKeys
    var open: [Reached]
    /// `nameAgreement` with each of `open`, in its order: made once, read by every step (a guardian
    /// no step links went through all four, each comparing the names again).
    var agreement: [Int]
    var phone: String
    var email: String
    /// The whole street line (an apartment's unit too) and the ZIP: homes in one building share the rest.
    var street: String
    var zip: String
    var relationship: String

    init(_ contact: SubmissionPart, name: NameKeys, open: [Reached]) {
      self.contact = contact
      self.name = name
      self.open = open
      agreement = open.map { ContactMatcher.nameAgreement(name, $0.contact) }
      phone = PersonRecord.digits(contact[FieldName.phone])
      email = contact[FieldName.email].lowercased()
      street = FieldRules.nameKey(contact[FieldName.street])
      zip = String(contact[FieldName.zip].prefix(5))
      relationship = contact[FieldName.relationship].lowercased()
    }

    func samePhone(_ r: Reached) -> Bool {
      phone.count >= 7 && PersonRecord.digits(r.contact.fields[FieldName.phone] ?? "") == phone
    }

    func sameEmail(_ r: Reached) -> Bool {
      !email.isEmpty && (r.contact.fields[FieldName.email] ?? "").lowercased() == email
    }

    func sameStreet(_ r: Reached) -> Bool {
      !street.isEmpty && !zip.isEmpty
        && FieldRules.nameKey(r.contact.fields[FieldName.street] ?? "") == street
        && String((r.contact.fields[FieldName.zip] ?? "").prefix(5)) == zip
    }

    func sameRole(_ r: Reached) -> Bool {
      !relationship.isEmpty
        && (r.contact.fields[FieldName.relationship] ?? "").lowercased() == relationship
    }

    /// Both name a relationship to the child, and another.
    func otherRole(_ r: Reached) -> Bool {
      let sis = (r.contact.fields[FieldName.relationship] ?? "").lowercased()
      return !relationship.isEmpty && !sis.isEmpty && sis != relationship
    }

    /// The open contacts that `include` keeps, each given with its `nameAgreement`.
    func keeping(_ include: (Reached, Int) -> Bool) -> [Reached] {
      Swift.zip(open, agreement).compactMap { include($0, $1) ? $0 : nil }
    }

    /// "phone and e-mail", "phone" or "e-mail": what `list` shares with this guardian.
    func sharedLink(_ list: [Reached]) -> String {
      let phone = list.contains(where: samePhone)
      let email = list.contains(where: sameEmail)
      return phone && email ? "phone and e-mail" : phone ? "phone" : "e-mail"
    }
  }

  /// A matched guardian's differences with its SIS contact, sorted by the update policy into rows
  /// for diffs.csv and held_updates.csv; and the SIS contacts already taken by the form.
  struct Linker {
    let submission: Submission
    let answers: [FieldAnswer]
    let policy: UpdateRules
    var diffs: [[String]] = []
    var held: [[String]] = []
    var taken = Set<String>()

    mutating func link(
      _ contact: SubmissionPart, _ sis: Reached, reason: String, reviewed: Bool
    ) -> ContactDecision {
      taken.insert(sis.contact.id)
      let differences = FieldDifference.between(
        contact.fields, sis.contact.fields, fields: comparedFields)
      for difference in differences {
        diffs.append([
          submission.id, "contact", String(contact.seq), sis.contact.id, difference.field,
          difference.enrollment, difference.sis,
        ])
      }
      let sorted = policy.sort(
        differences, schema: "contact", seq: contact.seq, answers: answers, kept: [],
        reviewed: reviewed)
      for difference in sorted.held {
        held.append([
          submission.id, "contact", String(contact.seq), sis.contact.id, difference.field,
          difference.enrollment, difference.sis,
        ])
      }
      var decision = ContactDecision(
        seq: contact.seq, outcome: .matched, contactID: sis.contact.id, reason: reason,
        differences: sorted.deliver)
      decision.heldDifferences = sorted.held.isEmpty ? nil : sorted.held
      decision.keptSIS = sorted.kept.isEmpty ? nil : sorted.kept.sorted()
      decision.sisStudents = sis.students
      return decision
    }
  }

  /// A person's answer for this contact decides, when it names a contact this form still reaches.
  static func answered(_ form: FormContact, _ resolution: Resolution?) -> Verdict? {
    guard let resolution else { return nil }
    let who = "resolved by \(resolution.resolvedBy) at \(resolution.resolvedAt)"
    if resolution.action == .noMatch {
      return .decided(
        ContactDecision(
          seq: form.contact.seq, outcome: .new, contactID: nil, reason: "\(who): No Match",
          differences: []))
    }
    if let id = resolution.sisID, let sis = form.open.first(where: { $0.contact.id == id }) {
      return .link(sis, reason: "\(who): Match to SIS contact \(id)", reviewed: true)
    }
    return nil
  }

  /// The name agrees: the closest spelling first, the matched student's own contacts before a
  /// sibling's, a shared phone, e-mail or street line before none; then in `reached` order. Another
  /// family's home reached by its address alone holds a namesake as easily as the same person:
  /// without the contact's own phone, e-mail or street line (and for a name only written alike, its
  /// phone or e-mail), a person decides; and so with the street line alone where the relationships
  /// differ (a cousin's aunt named as the SIS family's grandmother: linking her would write the
  /// aunt's phone over the grandmother's).
  static func byName(_ form: FormContact) -> Verdict? {
    let named = form.open.enumerated().compactMap {
      i, r -> (rank: [Int], reached: Reached, level: Int)? in
      let level = form.agreement[i]
      guard level >= 2 else { return nil }
      return (
        [
          -level, r.ofMatchedStudent ? 0 : 1,
          form.samePhone(r) || form.sameEmail(r) || form.sameStreet(r) ? 0 : 1, i,
        ], r, level
      )
    }.min { $0.rank.lexicographicallyPrecedes($1.rank) }
    guard let best = named else { return nil }
    let r = best.reached
    let spelled =
      best.level == 3
      ? "same name"
      : "same name written another way (transliterated, a nickname or one part of a compound surname)"
    let streetOnly = !r.ofMatchedStudent && !form.samePhone(r) && !form.sameEmail(r)
    if streetOnly && best.level == 3 && form.sameStreet(r) && form.otherRole(r) {
      return .toPerson(
        form,
        "same name as SIS contact \(r.contact.id) of SIS student \(r.students[0]), \(r.link ?? ""), and the same street address, "
          + "but another relationship and neither the phone nor the e-mail agrees (two people of one name in one home?): "
          + "a person must choose Match or No Match",
        candidates: [r.contact.id])
    }
    if streetOnly && !(best.level == 3 && form.sameStreet(r)) {
      return .toPerson(
        form,
        "\(spelled) as SIS contact \(r.contact.id) of SIS student \(r.students[0]), \(r.link ?? ""), but neither the phone, "
          + "the e-mail nor the street address agrees: a person must choose Match or No Match",
        candidates: [r.contact.id])
    }
    if r.ofMatchedStudent {
      return .link(
        r, reason: "\(spelled) as an SIS contact of the matched student", reviewed: false)
    }
    let also = [form.samePhone(r) ? "phone" : nil, form.sameEmail(r) ? "e-mail" : nil]
      .compactMap { $0 }
    return .link(
      r,
      reason:
        "\(spelled) as SIS contact \(r.contact.id) of SIS student \(r.students[0]), \(r.link ?? "")"
        + (also.isEmpty ? "" : "; the same \(also.joined(separator: " and "))"),
      reviewed: false)
  }

  /// The same surname and the same phone or e-mail under another given name: with the same initial
  /// and relationship, a nickname the table does not know (Mikey for Michael); with the same initial
  /// or the same relationship, a person decides (a spouse shares the phone; Liam is William to
  /// some); else another person of the family (nil: the next step).
  static func byFamily(_ form: FormContact) -> Verdict? {
    let family = form.keeping { r, agreement in
      agreement == 0 && surnameAgrees(form.name.last, r.contact.lastKey)
        && (form.samePhone(r) || form.sameEmail(r))
    }
    let nicknamed = family.filter { sameInitial(form.name, $0.contact) && form.sameRole($0) }
    let initialed = family.filter { sameInitial(form.name, $0.contact) || form.sameRole($0) }
    if nicknamed.count == 1, let r = nicknamed.first {
      let also = [form.samePhone(r) ? "phone" : nil, form.sameEmail(r) ? "e-mail" : nil]
        .compactMap { $0 }.joined(separator: " and ")
      return .link(
        r,
        reason: "the surname, relationship and \(also) agree with SIS contact \(r.contact.id)"
          + (r.ofMatchedStudent
            ? " of the matched student" : " of SIS student \(r.students[0])")
          + " and the given name begins the same (a nickname?)",
        reviewed: false)
    }
    guard !initialed.isEmpty else { return nil }
    return .toPerson(
      form,
      "the surname and phone or e-mail agree with SIS contact\(initialed.count > 1 ? "s" : "") "
        + initialed.map(\.contact.id).joined(separator: ", ") + " but the given name differs"
        + " (the same initial or relationship: a nickname?): a person must choose Match or No Match",
      candidates: initialed.map(\.contact.id))
  }

  /// Another surname with the same given name and phone or e-mail: a changed surname (a remarriage)
  /// or another person sharing them; a person decides, never a new contact.
  static func byChangedSurname(_ form: FormContact, _ resolution: Resolution?) -> Verdict? {
    let renamed = form.keeping { r, agreement in
      agreement == 1 && (form.samePhone(r) || form.sameEmail(r))
    }
    guard !renamed.isEmpty else { return nil }
    var reason =
      "the given name and the \(form.sharedLink(renamed)) agree with SIS contact\(renamed.count > 1 ? "s" : "") "
      + renamed.map(\.contact.id).joined(separator: ", ")
      + " but the surname differs (a changed surname?): "
      + "a person must choose Match or No Match"
    if let resolution, let id = resolution.sisID {
      reason +=
        "; resolved by \(resolution.resolvedBy) at \(resolution.resolvedAt): Match to \(id) no longer applies (not a candidate now): resolve again"
    }
    return .toPerson(form, reason, candidates: renamed.map(\.contact.id))
  }

  /// The same person under a nickname the table does not know, where nothing else says another
  /// person: the same relationship, and either the same initial with the same phone and e-mail
  /// under another surname too (a remarried Isabella writing Izzy), or the surname of the matched
  /// student's own contact, whatever the initial (Mo for Mohamed, the child's father, with a new
  /// phone; Liam for William, a nickname that does not begin the same, was created as new at
  /// 50,000 × 50,000 of `scripts/bench/match.sh`). A person decides; never automatic, never a new
  /// contact.
  static func byNicknameOnly(_ form: FormContact) -> Verdict? {
    let nicknameOnly = form.keeping { r, agreement in
      agreement == 0 && form.sameRole(r)
        && ((sameInitial(form.name, r.contact) && form.samePhone(r) && form.sameEmail(r))
          || (r.ofMatchedStudent && surnameAgrees(form.name.last, r.contact.lastKey)))
    }
    guard !nicknameOnly.isEmpty else { return nil }
    let candidates = nicknameOnly.map(\.contact.id)
    let plural = candidates.count > 1 ? "s" : ""
    guard nicknameOnly.allSatisfy({ sameInitial(form.name, $0.contact) }) else {
      return .toPerson(
        form,
        "the surname and relationship agree with the matched student's own SIS contact\(plural) "
          + candidates.joined(separator: ", ")
          + " under another given name (a nickname that begins otherwise, or another person in that role?): "
          + "a person must choose Match or No Match",
        candidates: candidates)
    }
    return .toPerson(
      form,
      "the given name begins as SIS contact\(plural) "
        + candidates.joined(separator: ", ")
        + "'s and the relationship agrees, with "
        + (nicknameOnly.contains { form.samePhone($0) && form.sameEmail($0) }
          ? "the same phone and e-mail" : "the surname of the matched student's own contact")
        + " (a nickname?): a person must choose Match or No Match",
      candidates: candidates)
  }

  /// No step decided: a new contact, with what the form reached in words.
  static func newContact(_ form: FormContact, reached: [Reached], matchedStudents: Int)
    -> ContactDecision
  {
    let reason: String
    if reached.isEmpty {
      reason = "the student has no SIS contacts"
    } else if !reached.contains(where: { !$0.ofMatchedStudent }) {
      reason = "no SIS contact of the student has this name"
    } else {
      let homes = Set(reached.flatMap(\.students)).count
      reason =
        (matchedStudents > 0
          ? "no SIS contact of the student, nor of the " : "no SIS contact of the ")
        + "\(homes) SIS student\(homes == 1 ? "" : "s") the form reaches (by address, phone, e-mail or as a candidate), has this name"
    }
    return ContactDecision(
      seq: form.contact.seq, outcome: .new, contactID: nil, reason: reason, differences: [])
  }

  /// New contacts named again within the batch (siblings' forms): the first one stands for all.
  /// Fed the submissions in batch order, one at a time.
  package struct NewContactsInBatch {

    package init() {}
    private var firstNamed: [String: String] = [:]

    package mutating func link(
      _ decision: inout SubmissionDecision, of submission: Submission, names: [NameKeys]
    ) {
      for c in decision.contacts.indices where decision.contacts[c].outcome == .new {
        // Decisions are made in the submission's contact order, one per contact.
        let contact = submission.contacts[c]
        let name = names[c].first + "|" + names[c].last
        // A name alone is not a person: the same phone, e-mail or street too.
        let keys = [
          contact[FieldName.phone], contact[FieldName.email].lowercased(),
          contact[FieldName.street].isEmpty
            ? "" : contact[FieldName.street] + "|" + contact[FieldName.zip],
        ]
        .filter { !$0.isEmpty }.map { name + "|" + $0 }
        let ref = "\(submission.id)/\(contact.seq)"
        var first: String? = nil
        for key in keys where first == nil { first = firstNamed[key] }
        if let first {
          decision.contacts[c].sameAs = first
          decision.contacts[c].reason += "; the same person as new contact \(first) of this batch"
        } else {
          for key in keys { firstNamed[key] = ref }
        }
      }
    }
  }
}

/// FNV-1a over the UTF-8 bytes of a household key (`a|zip|street`), fed in parts so that a row's
/// key is hashed without being built; `ascii` is false when any byte is not ASCII.
struct KeyHash {
  var value: UInt64 = 0xcbf2_9ce4_8422_2325
  var ascii = true

  init(_ a: String, _ b: String = "", _ c: String = "", _ d: String = "") {
    add(a)
    add(b)
    add(c)
    add(d)
  }

  /// `prefix` then `bytes` lower-cased as `String.lowercased()` does for ASCII (a non-ASCII byte
  /// clears `ascii`: such a key is checked as a String).
  init(lowercasing prefix: String, _ bytes: UnsafeBufferPointer<UInt8>) {
    add(prefix)
    for byte in bytes { add(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte) }
  }

  private mutating func add(_ text: String) { for byte in text.utf8 { add(byte) } }

  private mutating func add(_ byte: UInt8) {
    if byte >= 0x80 { ascii = false }
    value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
  }
}
