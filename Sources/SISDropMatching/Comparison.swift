import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// A person as the matcher compares them: the SIS student or the submission student, reduced to
/// comparison keys (name keys, ISO birth date, phone digits, street key, guardians); the city and
/// state as written (compared part by part only where names and birth date agree, `compare`).
package struct PersonRecord: Sendable, Hashable {
  package struct Guardian: Sendable, Hashable {
    package var first: String, last: String, phone: String

    package init(first: String, last: String, phone: String) {
      self.first = first
      self.last = last
      self.phone = phone
    }
  }
  package var id: String
  package var stateID = ""
  package var first = "", last = "", dob = "", gender = ""
  package var street = "", zip = "", phone = "", email = ""
  package var city = "", state = ""
  package var guardians: [Guardian] = []

  package init(id: String) { self.id = id }

  /// Builds a record from layout fields (`First_Name`, `DOB`, ...), normalized as the snapshot and
  /// the normalize stage store them.
  package init(id: String, fields: [String: String], guardians: [Guardian] = []) {
    self.id = id
    stateID = FieldRules.text(fields[FieldName.stateStudentNumber] ?? "")
    first = Comparators.foldLetters(FieldRules.nameKey(fields[FieldName.firstName] ?? ""))
    last = Comparators.foldLetters(FieldRules.nameKey(fields[FieldName.lastName] ?? ""))
    dob = fields[FieldName.birthDate] ?? ""
    gender = fields[FieldName.gender] ?? ""
    street = Comparators.streetKey(fields[FieldName.street] ?? "")
    zip = String((fields[FieldName.zip] ?? "").prefix(5))
    city = fields[FieldName.city] ?? ""
    state = fields[FieldName.state] ?? ""
    phone = PersonRecord.digits(fields[FieldName.homePhone] ?? "")
    email = (fields[FieldName.email] ?? "").lowercased()
    self.guardians = guardians
  }

  /// A submission student as the matcher compares it: its fields, and its form's contacts as guardians.
  package init(student: SubmissionPart, of submission: Submission) {
    let guardians = submission.contacts.map {
      Guardian(
        first: Comparators.foldLetters(FieldRules.nameKey($0[FieldName.firstName])),
        last: Comparators.foldLetters(FieldRules.nameKey($0[FieldName.lastName])),
        phone: PersonRecord.digits($0[FieldName.phone]))
    }
    self.init(
      id: Submission.studentRef(submission.id, student.seq), fields: student.fields,
      guardians: guardians)
  }

  /// The first ten digits of a phone number (`217-555-0101 x3` → `2175550101`); "" (missing)
  /// for a value with fewer, which is not a phone number.
  package static func digits(_ phone: String) -> String {
    // Written straight into the String (ten digits fit a small string: no heap at all); the matcher
    // makes one per SIS student and guardian.
    String(unsafeUninitializedCapacity: 10) { out in
      var count = 0
      for byte in phone.utf8 where byte >= 0x30 && byte <= 0x39 {
        out[count] = byte
        count += 1
        if count == 10 { break }
      }
      return count == 10 ? count : 0
    }
  }
}

/// The fields the matcher compares, each with its agreement levels (0 = disagree, highest = exact).
package enum MatchField: Int, CaseIterable, Sendable, Codable {
  case stateID, firstName, lastName, birthDate, gender, address, phone, email, guardians

  /// The name `matching.weights` gives it (`MatchingConfig.fieldNames`, in this order).
  package var name: String { MatchingConfig.fieldNames[rawValue] }

  /// Level labels, index = level.
  package var levels: [String] {
    switch self {
    case .stateID: return ["different", "same"]
    case .firstName:
      return ["different", "similar (JW >= 0.80)", "close (JW >= 0.92)", "nickname", "exact"]
    case .lastName:
      return ["different", "similar (JW >= 0.80)", "close (JW >= 0.92)", "shares a part", "exact"]
    case .birthDate:
      return ["different", "year off by one", "one digit off", "day and month swapped", "exact"]
    case .gender: return ["different", "same"]
    case .address:
      return [
        "different", "same ZIP", "the same street address but for a typo", "same street address",
      ]
    case .phone: return ["different", "same"]
    case .email: return ["different", "same"]
    case .guardians:
      return ["none shared", "a guardian's name shared", "a guardian's phone shared"]
    }
  }

  /// Prior u probabilities (agreement by chance), for an SIS too small to sample: a mid-size US
  /// district's figures (a 10,000-student synthetic district's random pairs, rounded).
  var priorU: [Double] {
    switch self {
    case .stateID: return [0.9999, 0.0001]
    case .firstName: return [0.985, 0.008, 0.001, 0.001, 0.005]
    case .lastName: return [0.985, 0.004, 0.001, 0.004, 0.006]
    case .birthDate: return [0.9946, 0.0001, 0.005, 0.0001, 0.0002]
    case .gender: return [0.5, 0.5]
    case .address: return [0.9, 0.0997, 0.0001, 0.0002]
    case .phone: return [0.9998, 0.0002]
    case .email: return [0.9999, 0.0001]
    case .guardians: return [0.999, 0.0008, 0.0002]
    }
  }

  /// Prior m probabilities (agreement among true matches), before EM: judgment, not data.
  var priorM: [Double] {
    switch self {
    case .stateID: return [0.01, 0.99]
    case .firstName: return [0.03, 0.03, 0.06, 0.06, 0.82]
    case .lastName: return [0.03, 0.02, 0.05, 0.05, 0.85]
    case .birthDate: return [0.02, 0.01, 0.03, 0.02, 0.92]
    case .gender: return [0.02, 0.98]
    case .address: return [0.15, 0.05, 0.05, 0.75]
    case .phone: return [0.2, 0.8]
    case .email: return [0.2, 0.8]
    case .guardians: return [0.05, 0.25, 0.70]
    }
  }
}

/// The same UTF-8 bytes (`==` on Strings is canonical equivalence; the comparators read bytes).
/// With `memcmp` on the contiguous bytes: `elementsEqual` walked the views a byte at a time, for
/// each guardian pair compared (`scripts/bench/match.sh` at 100,000 × 10,000).
@inline(__always)
func sameBytes(_ x: String, _ y: String) -> Bool {
  guard x.utf8.count == y.utf8.count else { return false }
  let same = x.utf8.withContiguousStorageIfAvailable { a in
    y.utf8.withContiguousStorageIfAvailable { b in
      a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }
  }
  if let same, let same { return same }
  return x.utf8.elementsEqual(y.utf8)
}

/// The agreement level of every field for one pair (-1 = a value is missing: no evidence).
package struct ComparisonVector: Sendable, Hashable {
  /// The levels, 3 bits each (level + 1: -1...4 → 0...5) in `MatchField` order. Why not an array:
  /// a vector is made for every candidate pair, twice (compared in `prepare`, unpacked to score in
  /// `decide`), and an array of its own per vector was an allocation and its reference counting
  /// each time (`scripts/bench/match.sh` at 50,000 × 50,000).
  private var bits: UInt32 = 0
  /// The submission's given name and surname were compared the other way round.
  package var namesSwapped = false
  /// Given names only close (level 2) that differ in their ending alone, as boy/girl twins' names
  /// do (Alexander/Alexandra, Julian/Juliana): read as two names when the genders cannot tell.
  package var pairedGivenNames = false
  /// The addresses agree on all their parts but one at most (`Comparators.addressPartsDiffering`:
  /// house number and ZIP exactly, street and city up to a typo, the state where both have one).
  /// Compared only where the street line and ZIP do not agree up to a typo (address level 0 or 1)
  /// and both names agree, or one name and the birth date do (not swapped): the pairs whose rules
  /// ask (`FellegiSunterMatcher.identityWithoutHousehold`, `resemblance`, `otherChildRule`, where a
  /// higher address level already counts); false for every other pair, which is most of them (the
  /// compare phase runs for every candidate pair, `scripts/bench/match.sh`).
  package var addressButOnePart = false

  /// Every field missing (-1).
  init() {}

  package init(
    levels: [Int8], namesSwapped: Bool = false, pairedGivenNames: Bool = false,
    addressButOnePart: Bool = false
  ) {
    self.levels = levels
    self.namesSwapped = namesSwapped
    self.pairedGivenNames = pairedGivenNames
    self.addressButOnePart = addressButOnePart
  }

  /// The level of every field, in `MatchField` order.
  package var levels: [Int8] {
    get { MatchField.allCases.map { Int8(self[$0]) } }
    set {
      bits = 0
      for (field, level) in newValue.enumerated() { set(field, Int(level)) }
    }
  }

  package subscript(_ field: MatchField) -> Int { level(field.rawValue) }

  @inline(__always)
  private func level(_ field: Int) -> Int { Int((bits >> (3 * field)) & 0b111) - 1 }

  @inline(__always)
  fileprivate mutating func set(_ field: Int, _ level: Int) {
    bits = bits & ~(0b111 << (3 * field)) | UInt32(level + 1) << (3 * field)
  }

  /// One integer per distinct pattern, for counting patterns in EM.
  var patternKey: Int {
    var key = 0
    for field in MatchField.allCases.indices { key = key * 6 + level(field) + 1 }
    return key
  }

  /// The levels in 3 bits each (level + 1: -1...4 → 0...5), then `namesSwapped`,
  /// `pairedGivenNames` and `addressButOnePart`: what `FellegiSunterMatcher.Pair` keeps of a comparison.
  var packed: UInt32 {
    var packed = bits
    let flags = 3 * MatchField.allCases.count
    if namesSwapped { packed |= 1 << flags }
    if pairedGivenNames { packed |= 1 << (flags + 1) }
    if addressButOnePart { packed |= 1 << (flags + 2) }
    return packed
  }

  init(packed: UInt32) {
    let flags = 3 * MatchField.allCases.count
    bits = packed & (1 << flags - 1)
    namesSwapped = packed & (1 << flags) != 0
    pairedGivenNames = packed & (1 << (flags + 1)) != 0
    addressButOnePart = packed & (1 << (flags + 2)) != 0
  }

  /// Compares a submission student with an SIS student.
  package static func compare(_ a: PersonRecord, _ b: PersonRecord) -> ComparisonVector {
    var vector = ComparisonVector()
    func set(_ field: MatchField, _ level: Int) { vector.set(field.rawValue, level) }
    if !a.stateID.isEmpty && !b.stateID.isEmpty { set(.stateID, a.stateID == b.stateID ? 1 : 0) }
    var first = Comparators.givenNameLevel(a.first, b.first)
    let surnames = Comparators.surnameLevel(a.last, b.last)
    var last = surnames
    var swapped = false
    if first < 4 || last < 4 {
      let sf = Comparators.givenNameLevel(a.last, b.first)
      let sl = Comparators.surnameLevel(a.first, b.last)
      if min(sf, sl) >= 2 && sf + sl > first + last + 1 {
        first = sf
        last = sl
        swapped = true
      }
    }
    set(.firstName, first)
    set(.lastName, last)
    let paired = first == 2 && !swapped && Comparators.pairedNames(a.first, b.first)
    let dob = Comparators.birthDateLevel(a.dob, b.dob)
    set(.birthDate, dob)
    if !a.gender.isEmpty && !b.gender.isEmpty { set(.gender, a.gender == b.gender ? 1 : 0) }
    if !a.street.isEmpty && !b.street.isEmpty {
      let sameZip = a.zip == b.zip || a.zip.isEmpty || b.zip.isEmpty
      set(
        .address,
        a.street == b.street && sameZip
          ? 3
          : Comparators.sameAddressButForATypo(street: a.street, b.street, zip: a.zip, b.zip)
            ? 2 : a.zip == b.zip ? 1 : 0)
    }
    let butOnePart =
      (0...1).contains(vector[.address]) && !swapped
      && ((first >= 2 && last >= 2) || ((first >= 3 || last >= 3) && dob == 4))
      && Comparators.atMostOneAddressPartDiffers(a, b)
    if !a.phone.isEmpty && !b.phone.isEmpty { set(.phone, a.phone == b.phone ? 1 : 0) }
    if !a.email.isEmpty && !b.email.isEmpty { set(.email, a.email == b.email ? 1 : 0) }
    if !a.guardians.isEmpty && !b.guardians.isEmpty {
      var level = 0
      // The guardians' surnames are most often the children's own, and a form's two guardians often
      // share one: a pair of surnames already compared (the children's, the last guardians') is not
      // compared again. Same bytes, same level: `surnameLevel` reads the bytes. It was a quarter of
      // comparing a pair, which prepare does for every candidate pair and for the u sample's
      // 79,800 (`scripts/bench/match.sh`).
      var compared = (a: a.last, b: b.last, level: surnames)
      func surnameLevel(_ x: String, _ y: String) -> Int {
        if sameBytes(x, a.last) && sameBytes(y, b.last) { return surnames }
        if sameBytes(x, compared.a) && sameBytes(y, compared.b) { return compared.level }
        compared = (x, y, Comparators.surnameLevel(x, y))
        return compared.level
      }
      search: for g in a.guardians {
        for h in b.guardians {
          // A guardian's own phone is specific to one family; a guardian's name much less so (Maria
          // Garcia), and a shared guardian surname alone says nothing (it is usually the child's).
          if !g.phone.isEmpty && g.phone == h.phone {
            level = 2
            break search
          }  // the highest level: done
          if level == 0 && surnameLevel(g.last, h.last) >= 2
            && Comparators.givenNameLevel(g.first, h.first) >= 2
          {
            level = 1
          }
        }
      }
      set(.guardians, level)
    }
    vector.namesSwapped = swapped
    vector.pairedGivenNames = paired
    vector.addressButOnePart = butOnePart
    return vector
  }
}
