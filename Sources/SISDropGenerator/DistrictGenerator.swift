import Foundation
import SISDropCore
import SISDropFormats

/// What `sisdrop-gen` makes: a synthetic district with a truth file.
package struct GeneratorOptions: Sendable {
  package var students: Int
  package var submissions: Int
  package var seed: UInt64
  /// The output folder: `sis/`, `enrollment/` and `truth/` are written under it.
  package var output: String
  /// Share of submissions that are returning SIS students (the rest are new children).
  package var returningShare = 0.75

  package init(students: Int, submissions: Int, seed: UInt64, output: String) {
    self.students = students
    self.submissions = submissions
    self.seed = seed
    self.output = output
  }
}

package struct GeneratorSummary: Sendable, Codable {
  package var students = 0
  package var contacts = 0
  package var households = 0
  package var submissions = 0
  package var submissionStudents = 0
  package var returning = 0
  package var new = 0
  /// Submission students per case (`returning-nickname`, `new-twin-of-sis`, ...).
  package var cases: [String: Int] = [:]
}

/// The labelled data generator: a district's SIS export, approved submissions in the default
/// layouts (SISDropCore/Records/Layouts.swift), and the truth (submission student → SIS number or NEW; contact → Contact_ID or NEW).
///
/// Deterministic for a seed. The SIS export is written household by household as it is drawn, and
/// only the students picked for submissions are kept (selection sampling, Knuth's Algorithm S), so
/// memory does not grow with the district: 5,000,000 students need about as much as 1,000.
package enum DistrictGenerator {
  package static func generate(_ options: GeneratorOptions) throws -> GeneratorSummary {
    guard (1_000...5_000_000).contains(options.students) else {
      throw SISDropError(.usage, "--students must be between 1,000 and 5,000,000")
    }
    guard (1...options.students).contains(options.submissions) else {
      throw SISDropError(.usage, "--submissions must be between 1 and the number of students")
    }
    var run = Run(options: options)
    try run.generate()
    return run.summary
  }
}

struct GenDate: Hashable {
  var year: Int, month: Int, day: Int
  var mdy: String { String(format: "%02d/%02d/%04d", month, day, year) }
  var iso: String { String(format: "%04d-%02d-%02d", year, month, day) }
  static func daysIn(_ month: Int, _ year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }
  var isValid: Bool { (1...12).contains(month) && day >= 1 && day <= GenDate.daysIn(month, year) }
}

struct Guardian {
  var contactID: String
  var first: String, last: String, relationship: String
  var phone: String, email: String
}

struct Household {
  var tradition: Int
  var surname: String
  var street: String, zip: String, phone: String
  var guardians: [Guardian]
}

struct Kid {
  var number: String
  var stateID: String
  var first: String, middle: String, last: String
  var dob: GenDate
  var gender: String
  var grade: Int
  var email: String
  var household: Household
}

/// One student of a submission as the enrollment system sends it, with the truth.
struct SubmissionStudent {
  var fields: [String: String]
  var truth: String
  var kind: String
}

struct SubmissionContact {
  var fields: [String: String]
  var truth: String
  /// Key of the same person within the batch (siblings' forms naming the same mother).
  var personKey: String
}

struct GeneratedSubmission {
  var form: String
  var students: [SubmissionStudent]
  var contacts: [SubmissionContact]
  var documents: [[String]]
}

private struct Run {
  let options: GeneratorOptions
  var rng: SplitMix64
  var summary = GeneratorSummary()
  var nextContact = 1
  /// Aunts the SIS lists (under a child with their surname): an aunt whose nephew's surname got a
  /// suffix is in no SIS row, and a form naming her names a new contact.
  var auntsInSIS = Set<String>()
  var nextHousehold = 0
  var picked: [Kid] = []  // returning
  var anchors: [Kid] = []  // SIS students whose families the hard negatives come from
  var returningNeeded: Int
  var anchorsNeeded: Int
  let freshNeeded: Int
  /// Numbers for children outside the SIS, far above the SIS range, so their state ids are new.
  var outsideNumber = 50_000_000

  init(options: GeneratorOptions) {
    self.options = options
    rng = SplitMix64(state: options.seed &* 0x2545_F491_4F6C_DD1D &+ 1)
    returningNeeded = min(
      options.students, Int((Double(options.submissions) * options.returningShare).rounded()))
    let newCount = options.submissions - returningNeeded
    freshNeeded = Int((Double(newCount) * 0.55).rounded())
    anchorsNeeded = min(options.students - returningNeeded, newCount - freshNeeded)
  }

  static let traditionWeights: [Int] = NamePools.traditions.map(\.share)

  mutating func tradition() -> Int {
    var r = rng.int(Run.traditionWeights.reduce(0, +))
    for (index, weight) in Run.traditionWeights.enumerated() {
      if r < weight { return index }
      r -= weight
    }
    return 0
  }

  mutating func surname(_ t: Int) -> String {
    let pool = NamePools.traditions[t]
    var name = rng.zipf(pool.surnames)
    if pool.compoundSurnames && rng.chance(0.35) {
      var second = rng.zipf(pool.surnames)
      while second == name { second = rng.zipf(pool.surnames) }
      name += rng.chance(0.25) ? "-" + second : " " + second
    }
    return name
  }

  mutating func given(_ t: Int, _ gender: String) -> String {
    let pool = NamePools.traditions[t]
    return gender == "F"
      ? rng.zipf(pool.girls)
      : gender == "M" ? rng.zipf(pool.boys) : rng.zipf(rng.chance(0.5) ? pool.girls : pool.boys)
  }

  mutating func phone() -> String {
    String(
      format: "%@-%03d-%04d", rng.pick(["217", "312", "618", "309", "815", "630"]),
      rng.int(200...989), rng.int(10_000))
  }

  mutating func address() -> (String, String) {
    ("\(rng.int(100...9899)) \(rng.pick(NamePools.streets))", rng.pick(NamePools.zips))
  }

  /// Accents dropped as people type them: marks removed, Đ as D, Ø as O, Ł as L.
  static func ascii(_ s: String) -> String {
    let plain = s.replacingOccurrences(of: "Đ", with: "D").replacingOccurrences(of: "đ", with: "d")
      .replacingOccurrences(of: "Ø", with: "O").replacingOccurrences(of: "ø", with: "o")
      .replacingOccurrences(of: "Ł", with: "L").replacingOccurrences(of: "ł", with: "l")
    return plain.decomposedStringWithCanonicalMapping.unicodeScalars.filter { $0.isASCII }.map(
      String.init
    ).joined()
  }

  mutating func guardian(_ first: String, _ last: String, _ relationship: String) -> Guardian {
    defer { nextContact += 1 }
    let email =
      rng.chance(0.6)
      // One person's address: two people never share one (the number is the contact's own).
      ? "\(Run.ascii(first).lowercased().filter(\.isLetter)).\(Run.ascii(last).lowercased().filter(\.isLetter))\(nextContact)@example.com"
      : ""
    return Guardian(
      contactID: String(format: "C%08d", nextContact), first: first, last: last,
      relationship: relationship,
      phone: phone(), email: email)
  }

  mutating func household(tradition t: Int? = nil) -> Household {
    nextHousehold += 1
    let t = t ?? tradition()
    let family = transliterableSurname(t) ?? surname(t)
    let (street, zip) = address()
    var guardians: [Guardian] = []
    let pool = NamePools.traditions[t]
    let mother = rng.chance(0.5) ? rng.zipf(pool.girls) : rng.pick(NamePools.guardianGirls)
    let father = rng.chance(0.5) ? rng.zipf(pool.boys) : rng.pick(NamePools.guardianBoys)
    let roll = rng.int(100)
    if roll < 60 {
      guardians = [guardian(mother, family, "Mother"), guardian(father, family, "Father")]
    } else if roll < 82 {
      guardians = [guardian(mother, family, "Mother")]
    } else if roll < 92 {
      // Blended: the second adult has another surname.
      guardians = [
        guardian(mother, family, "Mother"),
        guardian(rng.pick(NamePools.guardianBoys), surname(tradition()), "Stepfather"),
      ]
    } else if roll < 97 {
      guardians = [guardian(father, family, "Father")]
    } else {
      guardians = [guardian(rng.pick(NamePools.guardianGirls), family, "Grandmother")]
    }
    return Household(
      tradition: t, surname: family, street: street, zip: zip, phone: phone(), guardians: guardians)
  }

  /// Age on 1 September of the SIS year (2025) → grade: 4 → PK (-1), 5 → K (0), ... 17 → 12.
  mutating func birthDate(age: Int, schoolYear: Int = 2025) -> GenDate {
    // Born between 2 September (schoolYear - age - 1) and 1 September (schoolYear - age).
    let offset = rng.int(365)
    var year = schoolYear - age - 1
    var month = 9
    var day = 2
    for _ in 0..<offset {
      day += 1
      if day > GenDate.daysIn(month, year) {
        day = 1
        month += 1
        if month > 12 {
          month = 1
          year += 1
        }
      }
    }
    return GenDate(year: year, month: month, day: day)
  }

  static func gradeText(_ grade: Int) -> String { String(grade) }
  static func school(_ grade: Int) -> String { grade <= 5 ? "0101" : grade <= 8 ? "0202" : "0303" }

  mutating func kid(
    number: Int, in household: Household, last: String, age: Int, twinOf: Kid? = nil,
    usedFirst: Set<String>
  ) -> Kid {
    let gender = rng.chance(0.005) ? "X" : rng.chance(0.5) ? "F" : "M"
    var first = given(household.tradition, gender)
    var tries = 0
    while usedFirst.contains(first) && tries < 20 {
      first = given(household.tradition, gender)
      tries += 1
    }
    var lastName = last
    if gender == "M" && rng.chance(0.015) { lastName += rng.chance(0.6) ? " Jr" : " III" }
    let middle = rng.chance(0.4) ? given(household.tradition, gender) : ""
    let dob = twinOf?.dob ?? birthDate(age: age)
    let grade = twinOf?.grade ?? (age - 5)
    // A bijection of the number (7919 is prime to 9e9): no two children share a state id.
    let stateID =
      rng.chance(0.97) ? String(1_000_000_000 + (UInt64(number) &* 7919) % 9_000_000_000) : ""
    let email =
      grade >= 6 && rng.chance(0.5)
      ? "\(Run.ascii(first).lowercased().filter(\.isLetter)).\(Run.ascii(lastName).lowercased().filter(\.isLetter))\(number % 1000)@students.example.org"
      : ""
    return Kid(
      number: String(number), stateID: stateID, first: first, middle: middle, last: lastName,
      dob: dob, gender: gender,
      grade: grade, email: email, household: household)
  }

  // MARK: - The SIS export

  mutating func generate() throws {
    let sis = options.output + "/sis"
    let enrollment = options.output + "/enrollment"
    let truth = options.output + "/truth"
    for folder in [options.output, sis, enrollment, truth] { try FileSystem.makeDirectory(folder) }
    let students = try CSVWriter(path: sis + "/students.csv")
    let contacts = try CSVWriter(path: sis + "/contacts.csv")
    try students.write(Layouts.studentFields)
    try contacts.write(Layouts.contactFields)
    try Self.writeSchoolsAndCodes(sis: sis)

    var produced = 0
    while produced < options.students {
      var home = household()
      summary.households += 1
      let size = min(options.students - produced, [1, 1, 1, 1, 2, 2, 2, 3, 3, 4][rng.int(10)])
      for child in children(size, of: &home, firstNumber: 100_000 + produced) {
        try writeSISRows(child, of: home, students: students, contacts: contacts)
        sample(child, remaining: options.students - produced)
        produced += 1
      }
    }
    try students.close()
    try contacts.close()
    summary.students = produced
    try writeSubmissions(enrollment: enrollment, truth: truth)
  }

  /// The three schools and their attendance codes.
  static func writeSchoolsAndCodes(sis: String) throws {
    let schools = try CSVWriter(path: sis + "/schools.csv")
    try schools.write([FieldName.schoolNumber, FieldName.name])
    for row in [
      ["0101", "Lincoln Elementary"], ["0202", "Roosevelt Middle School"],
      ["0303", "Jefferson High School"],
    ] {
      try schools.write(row)
    }
    try schools.close()
    let codes = try CSVWriter(path: sis + "/attendance_codes.csv")
    try codes.write([
      FieldName.attCode, FieldName.description, FieldName.schoolID, FieldName.presenceStatus,
    ])
    for school in ["0101", "0202", "0303"] {
      for (code, description, presence) in [
        ("T", "Tardy", "Present"), ("TU", "Tardy Unexcused", "Present"), ("A", "Absent", "Absent"),
      ] {
        try codes.write([code, description, school, presence])
      }
    }
    try codes.close()
  }

  /// A household's children: siblings of a blended family may take the second guardian's
  /// surname, a cousin brings an aunt as guardian, some are twins.
  mutating func children(_ size: Int, of home: inout Household, firstNumber: Int) -> [Kid] {
    var kids: [Kid] = []
    var used = Set<String>()
    let blended = home.guardians.count == 2 && home.guardians[1].last != home.surname
    for index in 0..<size {
      let number = firstNumber + index
      var last = home.surname
      if blended && index > 0 && rng.chance(0.5) { last = home.guardians[1].last }
      if index > 0 && rng.chance(0.03) {
        // A cousin living with the family: another surname, an aunt as guardian.
        last = surname(home.tradition)
        home.guardians.append(guardian(rng.pick(NamePools.guardianGirls), last, "Aunt"))
      }
      let twin =
        index > 0
          && rng.chance(
            size >= 3 && index == 2 && kids.count == 2 && kids[0].dob == kids[1].dob ? 0.3 : 0.035
          ) ? kids.last : nil
      var child = kid(
        number: number, in: home, last: last, age: rng.int(4...17), twinOf: twin, usedFirst: used)
      child.household = home
      used.insert(child.first)
      kids.append(child)
    }
    return kids
  }

  /// A child's SIS student row and its guardians' contact rows (an aunt only for her own surname).
  mutating func writeSISRows(
    _ child: Kid, of home: Household, students: CSVWriter, contacts: CSVWriter
  ) throws {
    try students.write([
      child.number, child.stateID, child.first, child.middle, child.last, child.dob.mdy,
      child.gender, Run.gradeText(child.grade),
      Run.school(child.grade), "0", home.street, "Springfield", "IL", home.zip, home.phone,
      child.email,
    ])
    for g in home.guardians where g.relationship != "Aunt" || g.last == child.last {
      if g.relationship == "Aunt" { auntsInSIS.insert(g.contactID) }
      try contacts.write([
        g.contactID, child.number, g.first, g.last, g.relationship, g.phone, g.email,
        home.street, "Springfield", "IL", home.zip,
      ])
      summary.contacts += 1
    }
  }

  /// Selection sampling: every student has the same chance to be picked as a returning child (or
  /// an anchor), without holding the district.
  mutating func sample(_ child: Kid, remaining: Int) {
    if returningNeeded > 0 && rng.int(remaining) < returningNeeded {
      picked.append(child)
      returningNeeded -= 1
    } else if anchorsNeeded > 0 && rng.int(remaining) < anchorsNeeded {
      anchors.append(child)
      anchorsNeeded -= 1
    }
  }

  // MARK: - Submissions

  static let nicknames: [String: [String]] = [
    "William": ["Bill", "Will", "Billy", "Liam"], "Robert": ["Bob", "Bobby", "Rob"],
    "Alejandro": ["Alex"],
    "Alexander": ["Alex", "Xander"], "Katherine": ["Katie", "Kate", "Kathy"],
    "Elizabeth": ["Liz", "Beth", "Lizzie", "Eliza"],
    "Margaret": ["Maggie", "Meg", "Peggy"], "Michael": ["Mike", "Mikey"], "Christopher": ["Chris"],
    "Nicholas": ["Nick"],
    "Benjamin": ["Ben", "Benny"], "Samuel": ["Sam", "Sammy"], "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Joseph": ["Joe", "Joey"], "Jacob": ["Jake"], "Anthony": ["Tony"], "Jonathan": ["Jon"],
    "Nathan": ["Nate"],
    "Isabella": ["Bella", "Izzy"], "Abigail": ["Abby"], "Alexandra": ["Alex", "Sasha"],
    "Victoria": ["Tori", "Vicky"],
    "Jennifer": ["Jenny", "Jen"], "Jessica": ["Jess"], "Samantha": ["Sam"], "Madeline": ["Maddie"],
    "Natalie": ["Nat"],
    "Francisco": ["Paco", "Pancho"], "José": ["Pepe"], "Guadalupe": ["Lupe"], "Jesús": ["Chuy"],
    "Eduardo": ["Lalo"],
    "Theodore": ["Teddy", "Theo"], "Richard": ["Rick", "Ricky"], "Edward": ["Ed", "Eddie", "Ted"],
    "Timothy": ["Tim"],
    "Patrick": ["Pat"], "Steven": ["Steve"], "Gregory": ["Greg"], "Andrew": ["Andy", "Drew"],
    "Zachary": ["Zach"],
    "Charlotte": ["Charlie"], "Eleanor": ["Ellie", "Nora"], "Josephine": ["Josie"],
    "Caroline": ["Carrie"],
    "Deborah": ["Debbie"], "Christina": ["Tina"], "Jacqueline": ["Jackie"], "Rebecca": ["Becky"],
    "Susan": ["Sue"],
    "Patricia": ["Patty", "Trish"], "Mohamed": ["Mo"], "Muhammad": ["Mo"], "Abdirahman": ["Abdi"],
    "Gabriel": ["Gabe"], "Ezekiel": ["Zeke"], "Jeremiah": ["Jerry"], "Dominic": ["Dom"],
    "Vincent": ["Vince"],
  ]
  static let accented: [String: String] = [
    "Jose": "José", "Maria": "María", "Sofia": "Sofía", "Lucia": "Lucía", "Ines": "Inés",
    "Angel": "Ángel",
    "Zoe": "Zoë", "Chloe": "Chloé", "Renee": "Renée", "Julian": "Julián", "Sebastian": "Sebastián",
    "Adrian": "Adrián",
  ]

  mutating func typo(_ s: String) -> String {
    var chars = Array(s)
    guard chars.count >= 4 else { return s }
    let i = rng.int(1...(chars.count - 2))
    switch rng.int(4) {
    case 0: chars.swapAt(i, i + 1)
    case 1: chars.remove(at: i)
    case 2: chars.insert(chars[i], at: i)
    default: chars[i] = Character(String(UnicodeScalar(UInt8(97 + rng.int(26)))))
    }
    return String(chars)
  }

  mutating func studentFields(_ kid: Kid, grade: Int, home: Household, stateID: String) -> [String:
    String]
  {
    [
      FieldName.stateStudentNumber: stateID, FieldName.firstName: kid.first,
      FieldName.middleName: kid.middle,
      FieldName.lastName: kid.last,
      FieldName.birthDate: rng.chance(0.2) ? kid.dob.iso : kid.dob.mdy,
      FieldName.gender: kid.gender,
      FieldName.gradeLevel: Run.gradeText(grade),
      FieldName.school: Run.school(max(grade, 0)), FieldName.street: home.street,
      FieldName.city: "Springfield",
      FieldName.state: "IL", FieldName.zip: home.zip,
      FieldName.homePhone: home.phone, FieldName.email: kid.email,
    ]
  }

  func contactFields(_ g: Guardian, _ home: Household) -> [String: String] {
    [
      FieldName.firstName: g.first, FieldName.lastName: g.last,
      FieldName.relationship: g.relationship, FieldName.phone: g.phone,
      FieldName.email: g.email,
      FieldName.street: home.street, FieldName.city: "Springfield", FieldName.state: "IL",
      FieldName.zip: home.zip,
    ]
  }

  /// A returning SIS student re-submitted with the errors people make, each drawn on its own.
  mutating func returning(_ kid: Kid) -> GeneratedSubmission {
    var home = kid.household
    var kinds: [String] = []
    var k = kid
    misspellNames(&k, tradition: home.tradition, &kinds)
    misreadBirthDate(&k, &kinds)
    if rng.chance(0.3) { k.middle = "" }
    if rng.chance(0.12) {
      (home.street, home.zip) = address()
      home.phone = phone()
      kinds.append("moved")
    } else if rng.chance(0.1) {
      home.phone = phone()
      kinds.append("new-phone")
    }
    if rng.chance(0.05) {
      k.first = k.first.uppercased()
      k.last = k.last.uppercased()
    }
    let stateID = rng.chance(0.35) ? "" : kid.stateID
    if stateID.isEmpty { kinds.append("no-state-id") }
    var fields = studentFields(k, grade: min(kid.grade + 1, 12), home: home, stateID: stateID)
    if rng.chance(0.1) { fields[FieldName.email] = "" }
    var contacts = returningContacts(kid, home: home)
    returningGuardianShapes(&contacts, kinds: &kinds)
    if rng.chance(0.03) {
      let step = guardian(rng.pick(NamePools.guardianBoys), surname(tradition()), "Stepfather")
      contacts.append(
        SubmissionContact(
          fields: contactFields(step, home), truth: "NEW", personKey: step.contactID))
    }
    formShapes(&fields, &contacts, &kinds)
    let kind = "returning" + (kinds.isEmpty ? "-clean" : "-" + kinds.joined(separator: "+"))
    return GeneratedSubmission(
      form: "2026-27 Returning Student Registration",
      students: [SubmissionStudent(fields: fields, truth: kid.number, kind: kind)],
      contacts: contacts, documents: [])
  }

  /// A returning child's names as people write them: a nickname, a typo, diacritics dropped or
  /// added, a compound surname changed or one hyphenated, first and last swapped (more often for
  /// East Asian names, written family name first).
  mutating func misspellNames(_ kid: inout Kid, tradition: Int, _ kinds: inout [String]) {
    let eastAsian = ["vietnamese", "chinese", "hmong"].contains(
      NamePools.traditions[tradition].name)
    if rng.chance(0.08), let options = Run.nicknames[kid.first] {
      kid.first = rng.pick(options)
      kinds.append("nickname")
    }
    if rng.chance(0.06) {
      kid.first = typo(kid.first)
      kinds.append("first-typo")
    }
    if rng.chance(0.06) {
      kid.last = typo(kid.last)
      kinds.append("last-typo")
    }
    let folded = Run.ascii(kid.first + kid.last)
    if folded != kid.first + kid.last && rng.chance(0.5) {
      kid.first = Run.ascii(kid.first)
      kid.last = Run.ascii(kid.last)
      kinds.append("diacritics-dropped")
    } else if let accented = Run.accented[kid.first], rng.chance(0.4) {
      kid.first = accented
      kinds.append("diacritics-added")
    }
    if kid.last.contains("-") || kid.last.contains(" ") {
      if rng.chance(0.3) {
        let parts = kid.last.split(whereSeparator: { $0 == "-" || $0 == " " }).map(String.init)
        kid.last =
          rng.chance(0.6) ? parts[0] : parts.joined(separator: kid.last.contains("-") ? " " : "-")
        kinds.append("compound-surname-changed")
      }
    } else if rng.chance(0.02) {
      kid.last += "-" + surname(tradition).split(separator: " ")[0]
      kinds.append("surname-hyphenated")
    }
    if rng.chance(eastAsian ? 0.10 : 0.02) {
      swap(&kid.first, &kid.last)
      kinds.append("names-swapped")
    }
  }

  /// A returning child's birth date misread: day and month swapped, one digit off, a year off.
  mutating func misreadBirthDate(_ kid: inout Kid, _ kinds: inout [String]) {
    if rng.chance(0.03) && kid.dob.day <= 12 && kid.dob.day != kid.dob.month {
      kid.dob = GenDate(year: kid.dob.year, month: kid.dob.day, day: kid.dob.month)
      kinds.append("dob-day-month-swapped")
    } else if rng.chance(0.03) {
      var candidate = kid.dob
      for _ in 0..<10 {
        candidate = kid.dob
        switch rng.int(3) {
        case 0: candidate.day = (candidate.day / 10) * 10 + rng.int(10)
        case 1: candidate.month = rng.int(1...9)
        default: candidate.year = (candidate.year / 10) * 10 + rng.int(10)
        }
        if candidate.isValid && zip(candidate.iso, kid.dob.iso).filter({ $0 != $1 }).count == 1 {
          break
        }
      }
      if candidate.isValid && zip(candidate.iso, kid.dob.iso).filter({ $0 != $1 }).count == 1 {
        kid.dob = candidate
        kinds.append("dob-one-digit")
      }
    } else if rng.chance(0.01) {
      kid.dob.year += rng.chance(0.5) ? 1 : -1
      if !kid.dob.isValid { kid.dob.day = 28 }
      kinds.append("dob-year-off")
    }
  }

  /// The SIS guardians of a returning child (an aunt only for her own surname) as the form names
  /// them: sometimes a new phone, sometimes a nickname.
  mutating func returningContacts(_ kid: Kid, home: Household) -> [SubmissionContact] {
    var contacts: [SubmissionContact] = []
    for g in kid.household.guardians where g.relationship != "Aunt" || g.last == kid.last {
      var c = contactFields(g, home)
      if rng.chance(0.1) { c[FieldName.phone] = phone() }
      if rng.chance(0.05), let nick = Run.nicknames[g.first] {
        c[FieldName.firstName] = rng.pick(nick)
      }
      contacts.append(SubmissionContact(fields: c, truth: g.contactID, personKey: g.contactID))
    }
    return contacts
  }

  // MARK: - Shapes of forms from outside this generator's first model (issue 12)

  /// Forms as other enrollment systems send them, drawn on their own for a returning child: no
  /// guardians, phone or e-mail at all (5%; the child is matched on names, birth date and address),
  /// and an address with a typo (4%: a house number digit, a letter of the street name, a ZIP digit).
  mutating func formShapes(
    _ fields: inout [String: String], _ contacts: inout [SubmissionContact], _ kinds: inout [String]
  ) {
    if rng.chance(0.05) {
      contacts = []
      fields[FieldName.homePhone] = ""
      fields[FieldName.email] = ""
      kinds.append("no-household")
    }
    if rng.chance(0.04), let street = fields[FieldName.street],
      let space = street.firstIndex(of: " ")
    {
      let number = String(street[..<space])
      let rest = String(street[street.index(after: space)...])
      switch rng.int(3) {
      case 0 where number.count >= 2:
        var digits = Array(number)
        digits.swapAt(0, 1)
        if digits != Array(number) {
          fields[FieldName.street] = String(digits) + " " + rest
        } else {
          fields[FieldName.street] = String(number.dropLast()) + " " + rest
        }
      case 1 where rest.count >= 5: fields[FieldName.street] = number + " " + typo(rest)
      default:
        var zip = Array(fields[FieldName.zip] ?? "")
        if zip.count == 5 {
          zip[4] = zip[4] == "9" ? "8" : Character(String(Int(String(zip[4]))! + 1))
        }
        fields[FieldName.zip] = String(zip)
      }
      kinds.append("address-typo")
    }
  }

  /// A new sibling's form carrying the older SIS sibling's state id (8% of new siblings): the SIS
  /// has that id, so the child is a potential match for a person, never NEW and never matched.
  mutating func copiedStateID(
    _ fields: inout [String: String], _ kind: inout String, from sibling: Kid
  ) {
    guard !sibling.stateID.isEmpty, rng.chance(0.08) else { return }
    fields[FieldName.stateStudentNumber] = sibling.stateID
    kind += "+older-siblings-state-id"
  }

  /// A new child from a family the SIS does not know.
  mutating func fresh(siblings: Int) -> [GeneratedSubmission] {
    let home = household()
    var used = Set<String>()
    var kids: [SubmissionStudent] = []
    for _ in 0..<siblings {
      outsideNumber += 1
      let child = kid(
        number: outsideNumber, in: home, last: home.surname, age: rng.int(4...16), usedFirst: used)
      used.insert(child.first)
      // A move-in from another district may bring a state id the SIS has never seen.
      let fields = studentFields(
        child, grade: child.grade + 1, home: home, stateID: rng.chance(0.3) ? child.stateID : "")
      kids.append(SubmissionStudent(fields: fields, truth: "NEW", kind: "new-family"))
    }
    let contacts = home.guardians.map {
      SubmissionContact(fields: contactFields($0, home), truth: "NEW", personKey: $0.contactID)
    }
    if siblings == 2 && rng.chance(0.5) {
      // The same family on two forms: the guardians must be created once.
      return kids.map { student in
        var s = student
        s.kind = "new-family-sibling-separate-form"
        return GeneratedSubmission(
          form: "2026-27 New Student Enrollment", students: [s], contacts: contacts, documents: [])
      }
    }
    return [
      GeneratedSubmission(
        form: "2026-27 New Student Enrollment", students: kids, contacts: contacts, documents: [])
    ]
  }

  /// A new child that looks like an SIS child: the hard negatives.
  mutating func hardNegative(_ anchor: Kid) -> GeneratedSubmission {
    var home = anchor.household
    var contactsTruth = true  // the guardians are SIS contacts already
    var child: Kid
    var kind: String
    let roll = rng.int(100)
    // Of the new children from SIS families or with SIS look-alikes (45% of new children):
    // 45% siblings, 7% twins, 9% same name and birth date elsewhere, 22% at an SIS address, 17% same name.
    if roll < 45 {
      child = kid(
        number: 0, in: home, last: anchor.last, age: rng.chance(0.6) ? 4 : rng.int(4...16),
        usedFirst: [anchor.first])
      kind = "new-sibling-of-sis"
    } else if roll < 52 {
      child = kid(
        number: 0, in: home, last: anchor.last, age: 0, twinOf: anchor, usedFirst: [anchor.first])
      if rng.chance(0.5) {
        child.gender = anchor.gender
        child.first = given(home.tradition, anchor.gender)
      }
      if child.first == anchor.first {
        child.first = given(home.tradition, child.gender == "F" ? "M" : "F")
      }
      kind = "new-twin-of-sis"
    } else if roll < 61 {
      // Another family's child with the same name and birth date.
      home = household(tradition: home.tradition)
      contactsTruth = false
      child = anchor
      child.middle = rng.chance(0.5) ? "" : given(home.tradition, anchor.gender)
      child.email = ""
      kind = "new-same-name-same-dob"
    } else if roll < 83 {
      // A cousin moving in with the SIS family: another surname, same address and phone.
      let aunt = guardian(rng.pick(NamePools.guardianGirls), surname(home.tradition), "Aunt")
      child = kid(
        number: 0, in: home, last: aunt.last, age: rng.int(4...16), usedFirst: [anchor.first])
      home.guardians = [aunt]
      contactsTruth = false
      kind = "new-child-at-sis-address"
    } else {
      // Another family's child with the same name, born another day.
      home = household(tradition: home.tradition)
      contactsTruth = false
      child = kid(number: 0, in: home, last: anchor.last, age: anchor.grade + 5, usedFirst: [])
      child.first = anchor.first
      child.gender = anchor.gender
      kind = "new-same-name-other-family"
    }
    var fields = studentFields(child, grade: min(child.grade + 1, 12), home: home, stateID: "")
    if kind == "new-sibling-of-sis" { copiedStateID(&fields, &kind, from: anchor) }
    var contacts = home.guardians.map {
      SubmissionContact(
        fields: contactFields($0, home),
        truth: contactsTruth && ($0.relationship != "Aunt" || auntsInSIS.contains($0.contactID))
          ? $0.contactID : "NEW", personKey: $0.contactID)
    }
    var shape = kind
    if shape == "new-child-at-sis-address" { cousinGuardians(&contacts, of: anchor, kind: &shape) }
    return GeneratedSubmission(
      form: "2026-27 New Student Enrollment",
      students: [SubmissionStudent(fields: fields, truth: "NEW", kind: shape)],
      contacts: contacts, documents: [])
  }

  // MARK: - Guardian shapes

  /// Surnames people write two ways: the SIS has one spelling, a form may carry the other.
  static let transliterable = [
    "Schröder", "Müller", "Köhler", "Krüger", "Weiß", "Groß", "Jørgensen", "Schäfer", "Bäcker",
    "Søndergaard",
  ]

  /// A family of the general tradition carries a surname with an umlaut, ß or ø now and then
  /// (nil: the usual draw).
  mutating func transliterableSurname(_ t: Int) -> String? {
    NamePools.traditions[t].name == "general" && rng.chance(0.03)
      ? rng.pick(Run.transliterable) : nil
  }

  /// A name as people type it without the letters: `ö` → `oe`, `ü` → `ue`, `ä` → `ae`, `ß` → `ss`, `ø` → `o`.
  static func transliterated(_ name: String) -> String {
    var out = ""
    for character in name {
      switch character {
      case "ö": out += "oe"
      case "ü": out += "ue"
      case "ä": out += "ae"
      case "Ö": out += "Oe"
      case "Ü": out += "Ue"
      case "Ä": out += "Ae"
      case "ß": out += "ss"
      case "ø": out += "o"
      case "Ø": out += "O"
      default: out.append(character)
      }
    }
    return out
  }

  /// A returning child's guardians as forms name them: a surname transliterated (`Schröder` →
  /// `Schroeder`), and a mother remarried under a new surname who kept her phone and e-mail. Both
  /// are the SIS contacts still (the truth keeps their Contact_ID).
  mutating func returningGuardianShapes(
    _ contacts: inout [SubmissionContact], kinds: inout [String]
  ) {
    for index in contacts.indices {
      let last = contacts[index].fields[FieldName.lastName] ?? ""
      let spelled = Run.transliterated(last)
      if spelled != last && rng.chance(0.6) {
        contacts[index].fields[FieldName.lastName] = spelled
        kinds.append("guardian-transliterated")
      }
    }
    guard
      let mother = contacts.firstIndex(where: { $0.fields[FieldName.relationship] == "Mother" }),
      !(contacts[mother].fields[FieldName.phone] ?? "").isEmpty,
      !(contacts[mother].fields[FieldName.email] ?? "").isEmpty, rng.chance(0.02)
    else { return }
    var married = surname(tradition())
    while married == contacts[mother].fields[FieldName.lastName] { married = surname(tradition()) }
    contacts[mother].fields[FieldName.lastName] = married
    kinds.append("guardian-remarried")
  }

  /// A cousin moving in with an SIS family: half the time the form names the family's own
  /// guardians (SIS contacts already), else the aunt who brings the child (a new contact).
  mutating func cousinGuardians(
    _ contacts: inout [SubmissionContact], of anchor: Kid, kind: inout String
  ) {
    guard rng.chance(0.5) else { return }
    let home = anchor.household
    contacts = home.guardians.filter { $0.relationship != "Aunt" }.map {
      SubmissionContact(
        fields: contactFields($0, home), truth: $0.contactID, personKey: $0.contactID)
    }
    kind += "-with-sis-guardians"
  }

  mutating func writeSubmissions(enrollment: String, truth: String) throws {
    var all: [GeneratedSubmission] = []
    for kid in picked { all.append(returning(kid)) }
    for anchor in anchors { all.append(hardNegative(anchor)) }
    var fresh = options.submissions - all.count
    while fresh > 0 {
      let siblings = fresh >= 2 && rng.chance(0.1) ? 2 : 1
      let made = self.fresh(siblings: siblings)
      all += made
      fresh -= made.count
    }
    if all.count > options.submissions { all.removeLast(all.count - options.submissions) }
    // Shuffle (Fisher-Yates with our generator): the export is not sorted by kind.
    for i in stride(from: all.count - 1, to: 0, by: -1) { all.swapAt(i, rng.int(i + 1)) }

    let students = try CSVWriter(path: enrollment + "/submissions.csv")
    let contacts = try CSVWriter(path: enrollment + "/submission_contacts.csv")
    let documents = try CSVWriter(path: enrollment + "/submission_documents.csv")
    let truthStudents = try CSVWriter(path: truth + "/students.csv")
    let truthContacts = try CSVWriter(path: truth + "/contacts.csv")
    try students.write(Layouts.submissions.fields)
    try contacts.write(Layouts.submissionContacts.fields)
    try documents.write(Layouts.submissionDocuments.fields)
    try truthStudents.write([FieldName.submissionID, "Student_Seq", "Truth", "Case"])
    try truthContacts.write([FieldName.submissionID, FieldName.contactSeq, "Truth", "Same_As"])
    var firstSeen: [String: String] = [:]
    for (index, submission) in all.enumerated() {
      let id = String(format: "S-%07d", index + 1)
      let approved = String(
        format: "2026-11-%02d %02d:%02d", 1 + index % 28, 8 + index % 9, index % 60)
      for (seq, student) in submission.students.enumerated() {
        try students.write(
          [id, submission.form, approved]
            + Layouts.submissionStudentFields.map { student.fields[$0] ?? "" })
        try truthStudents.write([id, String(seq + 1), student.truth, student.kind])
        summary.cases[
          student.kind.split(separator: "+").first.map(String.init) ?? student.kind, default: 0] +=
          1
        if student.truth == "NEW" { summary.new += 1 } else { summary.returning += 1 }
        summary.submissionStudents += 1
      }
      for (seq, contact) in submission.contacts.enumerated() {
        try contacts.write(
          [id, String(seq + 1)] + Layouts.submissionContactFields.map { contact.fields[$0] ?? "" })
        let ref = "\(id)/\(seq + 1)"
        let sameAs = firstSeen[contact.personKey]
        if sameAs == nil { firstSeen[contact.personKey] = ref }
        try truthContacts.write([id, String(seq + 1), contact.truth, sameAs ?? ""])
      }
      if rng.chance(0.5) {
        var hash = ""
        for _ in 0..<4 { hash += String(format: "%016llx", rng.next()) }
        try documents.write([
          id, "Proof of Residency", rng.pick(["lease.pdf", "utility-bill.pdf", "mortgage.pdf"]),
          hash,
        ])
      }
    }
    for writer in [students, contacts, documents, truthStudents, truthContacts] {
      try writer.close()
    }
    summary.submissions = all.count
  }
}
