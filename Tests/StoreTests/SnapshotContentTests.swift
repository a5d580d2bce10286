import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore
import Testing
import _SISDropTestSupport

/// Pins what the snapshot holds, so that work on the load's speed cannot change its content.
@Suite struct SnapshotContentTests {
  /// Every row of every snapshot table in rowid order, one line per row, NULL distinct from "".
  static func dump(_ path: String) throws -> String {
    let database = try Database(path: path, readOnly: true)
    var out = ""
    for table in ["students", "contacts", "schools", "attendance_codes"] {
      out += "# \(table)\n"
      for row in try database.rows("SELECT * FROM \(table) ORDER BY rowid") {
        out += row.map { $0.string ?? "<NULL>" }.joined(separator: "|") + "\n"
      }
    }
    return out
  }

  /// The demo export's snapshot, digested. The digest was taken from the String-based load
  /// (before the byte-level load); a change to any normalized value, key, line or row order fails it.
  @Test func demoSnapshotContentIsUnchanged() throws {
    try withTemporaryFolder { folder in
      var files: [String: String] = [:]
      for name in ["students", "contacts", "schools", "attendance_codes"] {
        files[name] = Checkout.demoDistrict + "/sis/\(name).csv"
      }
      let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
      _ = try SnapshotBuilder(feed: FeedConfig(), plugin: plugin).build(
        files: files, output: folder + "/s.sqlite")
      let dump = try Self.dump(folder + "/s.sqlite")
      #expect(dump.split(separator: "\n").count == 4 + 310 + 472 + 3 + 12)
      // Changed once on purpose: the schools table gained Low_Grade/High_Grade (the demo export has them).
      #expect(
        SHA256.hex(dump) == "94931a0accc3b48395c1faffee909955fda18c84e3bef304cd8ea503f04c30cf")
    }
  }

  // Values chosen to take every path of the field rules: ASCII clean and unclean, Latin letters,
  // letters outside Latin-1, decomposed accents, odd white space, casing rules, bad dates and codes.
  static let names = [
    "José", "  josé  ", "GARCÍA-LÓPEZ", "garcía-lópez", "o'brien", "O'BRIEN", "McDonald",
    "de la Cruz", "Thảo", "TRẦN",
    "e\u{301}mile", "E\u{301}MILE", "ß", "STRASSE", "straße", "İlker", "ÅSA", "Łukasz", "ŁUKASZ",
    "łukasz", "Ann\u{A0}Marie",
    "Mary  Kate", "Mary\tKate", "", "   ", "X Æ A-12", "Zoë", "ÿvonne", "ǅemal", "ΣΊΣΥΦΟΣ",
    "d’arcy", "JEAN-LUC", "anne marie",
    "Smith, Jr.", "King, Sr.", "Van der Berg", "Østergaard", "DVOŘÁK", "ÑUÑEZ", "x", "Q", "123",
    "Ann-", "-ann", "a.b.",
    "\u{2003}Ann\u{2003}", "Ann\u{85}Lee", "ĳsbrand", "ǈ", "\u{0130}STANBUL",
  ]
  static let dates = [
    "01/02/2015", "1/2/2015", "2015-01-02", "02/30/2016", " 01/02/2015 ", "13/01/2015", "abc", "",
    "02/29/2016", "02/29/2015",
    "1/2/15", "01/02/20150", "01-02-2015", "١٢/٠١/٢٠١٥",
  ]
  static let genders = ["m", "Female", " F ", "q", "", "X", "boy", "Non-Binary", "MALE"]
  static let grades = [
    "K", "12", "05", "13", "PK3", "1st", "Grade 3", "", "0", "-1", "kg", "pk", " 7 ", "3rd", "00",
    "Pre-K",
  ]
  static let phones = [
    "217-555-0000", "(217) 555-0000", "1-217-555-0000", "217.555.0000 x12", "555-0000",
    "2175550000", "", "217-555-000O",
    "+1 (217) 555-0000 ext 9", "217-555-00000", " 217-555-0000",
  ]
  static let emails = [
    "A@B.COM", "bad", "a@b", " x@y.org ", "é@x.org", "", "a@@b.org", "a b@c.org", "a@.org",
    "a@b.org.", "Ann.Lee@School.Example",
  ]
  static let states = ["il", "Ill", "IL ", "", "I1", "ÎL"]
  static let texts = [
    "9933 Rue Saint-Honoré", "  Spring   St  ", "Apt 4, Bldg 2", "say \"hi\"", "",
    "Calle de la Peña", "multi\nline", "Thảo St", "ＡＢ",
  ]

  /// What the snapshot must hold for one raw SIS value: the field rules on Swift strings (the
  /// reference definition), as `SnapshotBuilder` documents them.
  static func expected(_ field: String, _ raw: String) -> String {
    let text = FieldRules.text(raw)
    if text.isEmpty { return "" }
    switch field {
    case "First_Name", "Middle_Name", "Last_Name":
      let name = FieldRules.name(text)
      return name.count > FieldNormalizer.longestName ? "" : name
    // Values the matchers read are missing when they are not what the field holds (issue 10).
    case "DOB": return FieldRules.date(text, patterns: [.monthDayYear, .iso]).date?.iso ?? ""
    case "Gender": return FieldRules.gender(text) ?? text
    case "Grade_Level": return FieldRules.gradeLevel(text) ?? text
    case "Home_Phone", "Phone": return FieldRules.phone(text) ?? ""
    case "Email": return FieldRules.email(text) ?? text
    case "State": return FieldRules.state(text) ?? text
    default: return text
    }
  }

  static func studentRows() -> [[String]] {
    (0..<160).map { i in
      [
        "S\(i)", "0\(i)", names[i % names.count], names[(i * 7 + 3) % names.count],
        names[(i * 3 + 1) % names.count],
        dates[i % dates.count], genders[i % genders.count], grades[i % grades.count], "0101", "0",
        texts[i % texts.count], texts[(i + 4) % texts.count], states[i % states.count], "62701",
        phones[i % phones.count],
        emails[i % emails.count],
      ]
    }
  }

  static func csvField(_ value: String) -> String {
    value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
      ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
  }

  static func xmlText(_ value: String) -> String {
    value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: "\n", with: "&#10;").replacingOccurrences(
        of: "\u{85}", with: "&#133;")
  }

  @Test(arguments: [FeedFormat.csv, FeedFormat.xml])
  func everyStoredValueIsTheFieldRuleOfTheRawValue(format: FeedFormat) throws {
    try withTemporaryFolder { folder in
      let fields = Layouts.studentFields
      let rows = Self.studentRows()
      var feed = FeedConfig()
      feed.format = format
      let students: String
      let schools: String
      if format == .csv {
        students = try writeFile(
          folder + "/students.csv",
          ([fields.joined(separator: ",")]
            + rows.map { $0.map(Self.csvField).joined(separator: ",") }).joined(separator: "\n")
            + "\n")
        schools = try writeFile(folder + "/schools.csv", "School_Number,Name\n0101,Lincoln\n")
      } else {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<students>\n"
        for row in rows {
          xml +=
            "<student>" + zip(fields, row).map { "<\($0)>\(Self.xmlText($1))</\($0)>" }.joined()
            + "</student>\n"
        }
        students = try writeFile(folder + "/students.xml", xml + "</students>\n")
        schools = try writeFile(
          folder + "/schools.xml",
          "<schools><school><School_Number>0101</School_Number><Name>Lincoln</Name></school></schools>\n"
        )
      }
      let (summary, _) = try SnapshotBuilder(feed: feed, plugin: nil).build(
        files: ["students": students, "schools": schools], output: folder + "/s.sqlite")
      #expect(summary.students == rows.count)
      try Self.expectStoredByTheRules(rows, fields: fields, in: folder + "/s.sqlite")
    }
  }

  /// Values of ASCII that the text rule leaves as they are skip it (`cleanASCIIFields`): every
  /// column's own rule must still apply, and white space the text rule changes — first, last,
  /// doubled, a tab or a control byte, in any column — must not be vouched for.
  @Test func cleanASCIIRecordsGetTheSameValues() throws {
    try withTemporaryFolder { folder in
      let fields = Layouts.studentFields
      // What the reader vouches for: printable ASCII, nothing to quote, single inner spaces.
      let clean: (String) -> Bool = { value in
        value.utf8.allSatisfy {
          $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "\"")
        }
          && !value.hasPrefix(" ") && !value.hasSuffix(" ") && !value.contains("  ")
      }
      let pools = [
        Self.names, Self.dates, Self.genders, Self.grades, Self.phones, Self.emails, Self.states,
        Self.texts,
      ]
      .map { $0.filter(clean) + ["A", "mIxEd"] }
      let unclean = [" lead", "trail ", "two  spaces", "tab\there", "ctrl\u{1}x", " ", "\u{B}"]
      var rows: [[String]] = []
      var masks: [UInt64] = []
      for i in 0..<240 {
        var row = [
          "S\(i)", "0\(i)", pools[0][i % pools[0].count], pools[0][(i * 7 + 3) % pools[0].count],
          pools[0][(i * 3 + 1) % pools[0].count],
          pools[1][i % pools[1].count], pools[2][i % pools[2].count], pools[3][i % pools[3].count],
          "0101", "0",
          pools[7][i % pools[7].count], pools[7][(i + 4) % pools[7].count],
          pools[6][i % pools[6].count], "62701",
          pools[4][i % pools[4].count], pools[5][i % pools[5].count],
        ]
        if i % 3 == 0 { row[(i / 3) % fields.count] = unclean[(i / 3) % unclean.count] }
        rows.append(row)
        masks.append(row.indices.reduce(UInt64(0)) { clean(row[$1]) ? $0 | 1 << UInt64($1) : $0 })
      }
      #expect(
        masks.filter { $0 == 0xFFFF }.count >= 150 && masks.filter { $0 != 0xFFFF }.count >= 60)
      for row in rows {
        for value in row where clean(value) { #expect(FieldRules.text(value) == value) }
      }
      let students = try writeFile(
        folder + "/students.csv",
        ([fields.joined(separator: ",")] + rows.map { $0.map(Self.csvField).joined(separator: ",") })
          .joined(separator: "\n") + "\n")
      let schools = try writeFile(folder + "/schools.csv", "School_Number,Name\n0101,Lincoln\n")
      let reader = try CSVTableReader(
        path: students, layout: Layouts.students, dialect: CSVDialect())
      var flags: [UInt64] = []
      while try reader.readRecord() { flags.append(reader.cleanASCIIFields) }
      #expect(flags == masks)
      _ = try SnapshotBuilder(feed: FeedConfig(), plugin: nil).build(
        files: ["students": students, "schools": schools], output: folder + "/s.sqlite")
      try Self.expectStoredByTheRules(rows, fields: fields, in: folder + "/s.sqlite")
    }
  }

  /// The snapshot's students, in rowid order, hold what the String rules make of each raw row
  /// (`Layouts.studentFields` order), and the name keys of first and last name.
  static func expectStoredByTheRules(_ rows: [[String]], fields: [String], in path: String) throws {
    let columns = fields.map { $0.lowercased() }.joined(separator: ", ")
    let stored = try Database(path: path, readOnly: true).rows(
      "SELECT \(columns), first_key, last_key FROM students ORDER BY rowid")
    #expect(stored.count == rows.count)
    for (row, values) in zip(rows, stored) {
      for (index, field) in fields.enumerated() {
        #expect(
          values[index].string == expected(field, row[index]),
          "\(field) of \(row[0]): \(row[index].debugDescription)")
      }
      #expect(values[fields.count].string == FieldRules.nameKey(row[2]), "first_key of \(row[0])")
      #expect(
        values[fields.count + 1].string == FieldRules.nameKey(row[4]), "last_key of \(row[0])")
    }
  }
}
