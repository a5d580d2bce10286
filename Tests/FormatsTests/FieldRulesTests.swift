import Foundation
import SISDropFormats
import Testing

@Suite struct FieldRulesTests {
  @Test(arguments: [
    ("  MARÍA  JOSÉ ", "María José"), ("MARÍA josé", "MARÍA josé"), ("o'brien", "O'Brien"),
    ("GARCÍA-LÓPEZ", "García-López"), ("McDonald", "McDonald"),
    ("de la Cruz", "de la Cruz"),
  ])
  func names(input: String, expected: String) { #expect(FieldRules.name(input) == expected) }

  @Test func nameKeysFoldCaseDiacriticsApostrophesAndHyphens() {
    #expect(FieldRules.nameKey("Zoë O’Brien") == "zoe obrien")
    #expect(FieldRules.nameKey("García-López") == FieldRules.nameKey("garcia  lopez"))
    // NFD and NFC agree
    #expect(FieldRules.nameKey("Jos\u{0065}\u{0301}") == FieldRules.nameKey("José"))
  }

  @Test func asciiAndUnicodePathsAgree() {
    for value in [
      "  Ann   Lee ", "Ann\tLee", "Ann Lee", "", "   ", "O'Brien-Smith, Jr.", "ZOË  o’brien",
    ] {
      #expect(FieldRules.text(value) == FieldRules.unicodeTextForTesting(value), "\(value)")
      #expect(FieldRules.nameKey(value) == FieldRules.unicodeNameKeyForTesting(value), "\(value)")
    }
    #expect(FieldRules.text(" Ann \n Lee ") == "Ann Lee")
    #expect(
      FieldRules.phone("217-555-0134") == "217-555-0134" && FieldRules.phone("217-555-01a4") == nil)
    #expect(
      FieldRules.name("SMITH-JONES") == "Smith-Jones" && FieldRules.name("mcdonald") == "Mcdonald")
    #expect(
      FieldRules.email("A@B.CO") == "a@b.co" && FieldRules.email("a@b@c.d") == nil
        && FieldRules.email("a@.b") == nil)
    #expect(
      FieldRules.gradeLevel("00") == "0" && FieldRules.gradeLevel("7") == "7"
        && FieldRules.gradeLevel("13") == nil)
    #expect(CalendarDate(year: 2015, month: 7, day: 4)?.iso == "2015-07-04")
  }

  /// The Latin path of `nameKey` (ASCII and U+00C0–U+024F) against the general one: every letter
  /// alone, between ASCII, after a separator, in capitals; and real names.
  @Test func latinAndUnicodePathsAgree() {
    var checked = 0
    for code in 0xC0...0x24F {
      guard let scalar = Unicode.Scalar(code) else { continue }
      let letter = String(scalar)
      for value in [
        letter, "a\(letter)b", "O'\(letter)-\(letter) , \(letter)",
        "  \(letter)\(letter.uppercased())\(letter.lowercased()) ",
      ] {
        guard let latin = FieldRules.latinNameKeyForTesting(value) else { continue }
        #expect(
          latin == FieldRules.unicodeNameKeyForTesting(value),
          "U+\(String(code, radix: 16)) in \"\(value)\"")
        checked += 1
      }
    }
    #expect(checked > 1000)
    for value in [
      "Hernández Gómez", "Schröder", "Jørgensen", "Łukasz Wałęsa", "ÆSIR-ØSTERGÅRD", "Đặng",
      "Straße", "Zoë O’Brien", "José\u{0301}",
    ] {
      #expect(FieldRules.nameKey(value) == FieldRules.unicodeNameKeyForTesting(value), "\(value)")
    }
    #expect(FieldRules.latinNameKeyForTesting("Hernández Gómez") == "hernandez gomez")
    // ’ is not Latin-1: the general path
    #expect(FieldRules.latinNameKeyForTesting("Zoë O’Brien") == nil)
  }

  @Test func dates() {
    let patterns = [DatePattern.monthDayYear, .iso]
    #expect(FieldRules.date("02/29/2012", patterns: patterns).date?.iso == "2012-02-29")
    #expect(FieldRules.date("2/3/2015", patterns: patterns).date?.iso == "2015-02-03")
    #expect(FieldRules.date("2015-07-04", patterns: patterns).date?.iso == "2015-07-04")
    let impossible = FieldRules.date("02/30/2016", patterns: patterns)
    #expect(impossible.fits && impossible.date == nil)
    #expect(!FieldRules.date("30.02.2016", patterns: patterns).fits)
    #expect(DatePattern("DD.MM.YYYY")?.parse("04.07.2015")?.iso == "2015-07-04")
    #expect(
      DatePattern.monthDayYear.format(CalendarDate(year: 2015, month: 7, day: 4)!) == "07/04/2015")
  }

  @Test func codes() {
    #expect(
      FieldRules.gender("female") == "F" && FieldRules.gender(" M ") == "M"
        && FieldRules.gender("?") == nil)
    #expect(
      ["PK", "K", "KG", "Kindergarten", "03", "10th", "1st", "12"].map { FieldRules.gradeLevel($0) }
        == ["-1", "0", "0", "0", "3", "10", "1", "12"])
    #expect(FieldRules.gradeLevel("13") == nil)
    #expect(
      FieldRules.phone("(217) 555-0134") == "217-555-0134"
        && FieldRules.phone("1 217 555 0134") == "217-555-0134")
    #expect(FieldRules.phone("555-0134") == nil)
    #expect(
      FieldRules.zip("01108") == "01108" && FieldRules.zip("627041234") == "62704-1234"
        && FieldRules.zip("1108") == nil)
    #expect(
      FieldRules.email(" Ann@Example.ORG ") == "ann@example.org" && FieldRules.email("ann@") == nil)
  }

  @Test func approvalTimesTakeTheDistrictZoneWithDaylightSavingTime() throws {
    let chicago = try #require(TimeZone(identifier: "America/Chicago"))
    #expect(
      FieldRules.timestamp("2026-11-20 14:05", zone: chicago, datePatterns: [.monthDayYear])
        == "2026-11-20T14:05:00-06:00")
    #expect(
      FieldRules.timestamp("07/01/2026 4:00 PM", zone: chicago, datePatterns: [.monthDayYear])
        == "2026-07-01T16:00:00-05:00")
    #expect(
      FieldRules.timestamp("2026-11-20T20:05:00Z", zone: chicago, datePatterns: [])
        == "2026-11-20T14:05:00-06:00")
    #expect(FieldRules.timestamp("yesterday", zone: chicago, datePatterns: [.monthDayYear]) == nil)
  }
}
