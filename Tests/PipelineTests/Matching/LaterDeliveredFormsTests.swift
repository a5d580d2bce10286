import Foundation
import SISDropFormats
import Testing

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropMatching

/// `LaterDeliveredForms.later(than:)` looks the unconfirmed new students up by birth date
/// (`BirthDateKeys`) instead of comparing a matched form with every one of them: it must find exactly
/// what comparing every one finds.
@Suite struct LaterDeliveredFormsTests {
  /// The definition: every unconfirmed form approved after `submission` compared with its student.
  static func comparingEveryForm(
    _ forms: LaterDeliveredForms, than submission: Submission, student: SubmissionPart,
    sisID: String
  ) -> String? {
    guard let approved = TimestampReader.instant(submission.approvedAt) else { return nil }
    var later = (forms.delivered[sisID] ?? []).filter {
      $0.submission != submission.id && $0.approved > approved
    }
    let person = PersonRecord(student: student, of: submission)
    later += forms.unconfirmed.filter {
      $0.form.submission != submission.id && $0.form.approved > approved
        && FellegiSunterMatcher.formsDisagree(ComparisonVector.compare(person, $0.person)) == nil
    }.map(\.form)
    return later.max { ($0.approved, $0.submission) < ($1.approved, $1.submission) }?.submission
  }

  static let source = SourceLocation(path: "")

  static func form(
    _ id: String, approved: String, first: String, last: String = "Okafor", dob: String,
    gender: String = "F", street: String = "12 Elm St", phone: String = "217-555-9639"
  ) -> Submission {
    var submission = Submission(id: id, form: "enroll", approvedAt: approved, source: source)
    var fields = [
      FieldName.firstName: first, FieldName.lastName: last, FieldName.birthDate: dob,
      FieldName.gender: gender, FieldName.zip: "62701",
    ]
    if !street.isEmpty { fields[FieldName.street] = street }
    if !phone.isEmpty { fields[FieldName.homePhone] = phone }
    submission.students = [SubmissionPart(seq: 1, fields: fields, source: source)]
    return submission
  }

  static func unconfirmed(_ forms: [Submission]) -> [(LaterDeliveredForms.Delivered, PersonRecord)]
  {
    forms.map {
      (
        LaterDeliveredForms.Delivered(
          submission: $0.id, approved: TimestampReader.instant($0.approvedAt)!),
        PersonRecord(student: $0.students[0], of: $0)
      )
    }
  }

  @Test func aLaterFormOfTheSameChildIsFoundAndNoOtherForm() throws {
    // Amara, approved 16 November; the SIS student she matched is 9001.
    let query = Self.form(
      "S-Q", approved: "2026-11-16T12:43:00-06:00", first: "Amara", dob: "2019-03-14")
    let others = [
      // The same child approved later, her birth date one digit off, the home phone the same: found.
      Self.form("S-U1", approved: "2026-11-20T09:00:00-06:00", first: "Amara", dob: "2019-03-15"),
      // Her brother, same birth date and home, approved later still: another child, not found.
      Self.form(
        "S-U2", approved: "2026-11-21T09:00:00-06:00", first: "Kofi", dob: "2019-03-14",
        gender: "M"),
      // The same child approved earlier: not found.
      Self.form("S-U3", approved: "2026-11-10T09:00:00-06:00", first: "Amara", dob: "2019-03-14"),
      // Another birth date altogether, approved latest: not found.
      Self.form("S-U4", approved: "2026-11-25T09:00:00-06:00", first: "Amara", dob: "2016-08-02"),
      // Day and month swapped but no home in common (other address and phone): not found.
      Self.form(
        "S-U5", approved: "2026-11-26T09:00:00-06:00", first: "Amara", dob: "2019-14-03",
        street: "90 Oak Ave", phone: "217-555-0000"),
    ]
    let forms = LaterDeliveredForms(unconfirmed: Self.unconfirmed(others))
    let student = query.students[0]
    #expect(forms.later(than: query, student: student, sisID: "9001") == "S-U1")
    #expect(
      Self.comparingEveryForm(forms, than: query, student: student, sisID: "9001") == "S-U1")

    // Without S-U1, nothing; with a form delivered for 9001 approved later, that form.
    let rest = LaterDeliveredForms(unconfirmed: Self.unconfirmed(Array(others.dropFirst())))
    #expect(rest.later(than: query, student: student, sisID: "9001") == nil)
    let delivered = LaterDeliveredForms(
      delivered: [
        "9001": [
          .init(submission: "S-D1", approved: TimestampReader.instant("2026-11-30T08:00:00-06:00")!)
        ]
      ], unconfirmed: Self.unconfirmed(others))
    #expect(delivered.later(than: query, student: student, sisID: "9001") == "S-D1")
    #expect(delivered.later(than: query, student: student, sisID: "9002") == "S-U1")
    // A year apart (same month and day), the home the same: the same child again.
    let yearOff = LaterDeliveredForms(
      unconfirmed: Self.unconfirmed([
        Self.form("S-U6", approved: "2026-11-20T09:00:00-06:00", first: "Amara", dob: "2020-03-14")
      ]))
    #expect(yearOff.later(than: query, student: student, sisID: "9001") == "S-U6")
  }

  /// Dates around a few birth dates: every one-character change, day and month swapped, years one
  /// apart (across a decade and a century), other lengths and no date.
  static func dates() -> [String] {
    var dates: Set<String> = ["", "2019-3-14", "20190314", "2019-03-14T00", "20X9-03-14"]
    for base in ["2019-03-14", "2019-12-31", "1999-01-01", "2020-11-02", "2009-10-10"] {
      let bytes = Array(base.utf8)
      dates.insert(base)
      for position in bytes.indices {
        for replacement in Array("0123456789-/".utf8) {
          var edited = bytes
          edited[position] = replacement
          dates.insert(String(decoding: edited, as: UTF8.self))
        }
      }
      let year = Int(base.prefix(4))!
      for other in [year - 1, year + 1] {
        dates.insert(String(format: "%04d", other) + base.dropFirst(4))
      }
      let (month, day) = (base.dropFirst(5).prefix(2), base.suffix(2))
      dates.insert(base.prefix(5) + day + "-" + month)
      dates.insert(base.prefix(4) + "/" + day + "/" + month)
    }
    return dates.sorted()
  }

  @Test func datesAtABirthDateLevelOfOneOrMoreShareAKey() {
    let dates = Self.dates()
    let keys = dates.map { Set(BirthDateKeys.keys($0)) }
    var levels: [Int: Int] = [:]
    for (i, a) in dates.enumerated() {
      for (j, b) in dates.enumerated() {
        let level = Comparators.birthDateLevel(a, b)
        levels[level, default: 0] += 1
        if level >= 1 {
          let shared = !keys[i].isDisjoint(with: keys[j])
          #expect(shared, "\(a) and \(b) at level \(level)")
        }
      }
    }
    // Every level the keys must cover occurs.
    for level in 1...4 { #expect(levels[level, default: 0] > 0, "level \(level): \(levels)") }
  }

  /// Forms of a few children, each with its birth date, names and home varied, approved at times
  /// that interleave; each asks for a later form against all the others.
  @Test func theLookupFindsWhatComparingEveryFormFinds() throws {
    var random = SplitMix64(state: 20_261_202)
    let dates = Self.dates()
    let children = [
      ("Amara", "Okafor", "2019-03-14", "F"), ("Kofi", "Okafor", "2019-03-14", "M"),
      ("Liam", "Nguyen", "2019-12-31", "M"), ("Sofia", "Garcia", "2020-11-02", "F"),
      ("Mateo", "Garcia", "2009-10-10", "M"), ("Ava", "Smith", "1999-01-01", "F"),
    ]
    let variants = [
      "Amara": ["Amarah", "Amira"], "Kofi": ["Koffi"], "Liam": ["William", "Lian"],
      "Sofia": ["Sophia", "Sofie"], "Mateo": ["Matteo"], "Ava": ["Eva"],
    ]
    var submissions: [Submission] = []
    for index in 0..<240 {
      let (first, last, dob, gender) = children[random.int(children.count)]
      let others = variants[first] ?? []
      let name = random.int(3) == 0 ? others[random.int(others.count)] : first
      let date: String
      switch random.int(4) {
      case 0: date = dob
      case 1:
        // A date near this child's: one of the generated dates sharing the year or month and day.
        let near = dates.filter { Comparators.birthDateLevel($0, dob) >= 1 }
        date = near[random.int(near.count)]
      case 2: date = dates[random.int(dates.count)]
      default: date = dob
      }
      let home = random.int(3)
      submissions.append(
        Self.form(
          "S-\(1000 + index)",
          approved: String(
            format: "2026-11-%02dT%02d:00:00-06:00", 1 + random.int(28), random.int(24)),
          first: name, last: last, dob: date, gender: random.int(10) == 0 ? "" : gender,
          street: home == 0 ? "" : home == 1 ? "12 Elm St" : "\(random.int(90)) Oak Ave",
          phone: home == 2 ? "217-555-\(1000 + random.int(9000))" : "217-555-9639"))
    }
    // Half of them unconfirmed new students; a query may be one of them (it never finds itself).
    let forms = LaterDeliveredForms(
      unconfirmed: Self.unconfirmed(
        submissions.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)))
    var found = 0
    for query in submissions {
      let student = query.students[0]
      let expected = Self.comparingEveryForm(forms, than: query, student: student, sisID: "9001")
      #expect(
        forms.later(than: query, student: student, sisID: "9001") == expected, "\(query.id)")
      if expected != nil { found += 1 }
    }
    // The check compared cases of both kinds.
    #expect(
      found > 20 && found < submissions.count - 20,
      "\(found) of \(submissions.count) found a later form")
  }
}
