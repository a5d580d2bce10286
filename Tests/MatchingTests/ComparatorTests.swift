import Foundation
import SISDropCore
import Testing

@testable import SISDropFormats
@testable import SISDropMatching

@Suite struct ComparatorTests {
  @Test func jaroWinklerMatchesTheTextbookValues() {
    // Winkler's examples: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813.
    #expect(abs(Comparators.jaroWinkler("martha", "marhta") - 0.961) < 0.001)
    #expect(abs(Comparators.jaroWinkler("dwayne", "duane") - 0.840) < 0.001)
    #expect(abs(Comparators.jaroWinkler("dixon", "dicksonx") - 0.813) < 0.001)
    #expect(Comparators.jaroWinkler("ann", "ann") == 1)
    #expect(Comparators.jaroWinkler("abc", "xyz") == 0)
  }

  @Test(arguments: [
    ("robert", "R163"), ("rupert", "R163"), ("tymczak", "T522"), ("pfister", "P236"),
    ("ashcraft", "A261"), ("lee", "L000"),
  ])
  func soundex(_ name: String, _ code: String) {
    #expect(Comparators.soundex(name) == code)
  }

  @Test func nicknamesAreDirectPairsOnly() {
    #expect(Comparators.isNickname("william", "bill"))
    #expect(Comparators.isNickname("bill", "william"))
    #expect(Comparators.isNickname("alejandro", "alex"))
    // William and Wilma share the nickname Bill in the table: that does not make them one name.
    #expect(!Comparators.isNickname("william", "wilma"))
    #expect(!Comparators.isNickname("ann", "ann"))
  }

  /// The shortcuts of the name and street comparisons give what the plain forms give: the level
  /// from the bounded similarity is the level of the similarity itself, the nickname filter
  /// answers as the table does, and the street key's byte split is `split`'s.
  @Test func comparisonShortcutsAgreeWithThePlainForms() {
    let names = [
      "william", "bill", "wilma", "liam", "alexander", "alexandra", "alex", "jonathan", "jonatahn",
      "dwayne", "duane", "martha", "marhta", "dixon", "dicksonx", "ann", "anne", "annie", "noah",
      "mary kate", "mary", "garcia lopez", "garcia", "lopez", "de la cruz", "delacruz", "nguyen",
      "nguyễn", "o", "oo", "abcdefghij", "jihgfedcba", "zoë", "zoe", "smith jr", "smyth", "",
    ]
    // Generated names of common letters (seeded: the same names every run).
    var random = SplitMix64(state: 20_261_203)
    let letters = Array("aeiourstlnmbcdk ".utf8)
    let generated = (0..<400).map { _ in
      String(
        decoding: (0..<(1 + Int(random.next() % 12))).map { _ in
          letters[Int(random.next() % UInt64(letters.count))]
        }, as: UTF8.self)
    }
    for a in names + generated.prefix(200) {
      for b in names + generated.suffix(200) {
        let jw = Comparators.jaroWinkler(a, b)
        #expect(Comparators.jaroWinklerLevel(a, b) == (jw >= 0.92 ? 2 : jw >= 0.80 ? 1 : 0))
        #expect(
          Comparators.isNickname(a, b)
            == (a != b && (Comparators.nicknames[a]?.contains(b) ?? false)))
      }
    }
    #expect(Comparators.nicknamePairs != nil)
    for (name, others) in Comparators.nicknames {
      for other in others where other != name { #expect(Comparators.isNickname(name, other)) }
    }
    for key in ["12 oak", "12", "12 ", "12  oak st", "oak", "a b c", "1284 monroe", "x"] {
      let parts = key.split(separator: " ", maxSplits: 1)
      let fast = Comparators.splitASCII(key)
      #expect(fast?.first == parts.first && fast?.rest == (parts.count == 2 ? parts[1] : nil))
    }
    #expect(Comparators.splitASCII(" oak") == nil && Comparators.splitASCII("été 12") == nil)
    // Every combination of parts agreeing, differing by a typo, differing or missing.
    func record(_ street: String, _ city: String, _ zip: String, _ state: String) -> PersonRecord {
      var record = PersonRecord(id: "x")
      (record.street, record.city, record.zip, record.state) = (street, city, zip, state)
      return record
    }
    let streets = ["12 oak", "12 oka", "21 oak", "12 elm", "oak", "12", "", "12 oakwood"]
    let cities = ["Springfield", "Springfeld", "Chatham", ""]
    let zips = ["62701", "62702", ""]
    let states = ["IL", "il", "MO", ""]
    let form = record("12 oak", "Springfield", "62701", "IL")
    for street in streets {
      for city in cities {
        for zip in zips {
          for state in states {
            let other = record(street, city, zip, state)
            #expect(
              Comparators.atMostOneAddressPartDiffers(form, other)
                == (Comparators.addressPartsDiffering(form, other).count <= 1))
          }
        }
      }
    }
  }

  /// Compound surnames compared on their bytes (`asciiSurnameLevel`) get the level the String
  /// form gives (the steps of `surnameLevel` written out here on `nameTokens`' arrays).
  @Test func surnamesOnBytesAgreeWithTheStringForm() {
    func stringForm(_ a: String, _ b: String) -> Int {
      let ta = Comparators.nameTokens(Substring(a))
      let tb = Comparators.nameTokens(Substring(b))
      if ta == tb { return 4 }
      if ta.count > 1 || tb.count > 1 {
        if ta.contains(where: { tb.contains($0) }) { return 3 }
        if ta.lazy.flatMap(\.utf8).elementsEqual(tb.lazy.flatMap(\.utf8)) { return 4 }
      }
      let jw = Comparators.jaroWinkler(
        Comparators.joinedTokens(a, ta), Comparators.joinedTokens(b, tb))
      return jw >= 0.92 ? 2 : jw >= 0.80 ? 1 : 0
    }
    let keys = [
      "garcia lopez", "garcia", "lopez garcia", "garcia  lopez", "de la cruz", "delacruz",
      "de la crux", "smith jr", "smith", "jr smith", "jr", "jr iii", "smith iii jr", "v",
      "van dyke",
      "vandyke", "nguyen van iii", "nguyen van", " lee", "lee ", " ", "a b c d e f g h",
      "a b c d e f g h i", "perez sanchez", "peres sanches", "sanchez perez", "o brien", "obrien",
    ]
    for a in keys {
      for b in keys where a != b && !a.isEmpty && !b.isEmpty {
        let ascii = Comparators.asciiSurnameLevel(a, b)
        if a.split(separator: " ", omittingEmptySubsequences: true).count <= 8
          && b.split(separator: " ", omittingEmptySubsequences: true).count <= 8
        {
          #expect(ascii == stringForm(a, b), "\(a) / \(b)")
        } else {
          #expect(ascii == nil, "\(a) / \(b)")
        }
        if Comparators.hasSpace(a) || Comparators.hasSpace(b) {
          #expect(Comparators.surnameLevel(a, b) == stringForm(a, b), "\(a) / \(b)")
        }
      }
    }
    #expect(Comparators.asciiSurnameLevel("müller schmidt", "muller") == nil)
  }

  @Test func givenNameLevels() {
    #expect(Comparators.givenNameLevel("william", "william") == 4)
    #expect(Comparators.givenNameLevel("mary kate", "mary") == 4)
    #expect(Comparators.givenNameLevel("bill", "william") == 3)
    #expect(Comparators.givenNameLevel("jonathan", "jonatahn") == 2)
    #expect(Comparators.givenNameLevel("liam", "noah") == 0)
    #expect(Comparators.givenNameLevel("", "noah") == -1)
    // Diacritics fold in the name key before any comparison.
    #expect(Comparators.givenNameLevel(FieldRules.nameKey("José"), FieldRules.nameKey("Jose")) == 4)
  }

  /// The byte-level shortcuts of the surname comparison agree with the plain String forms.
  @Test func tokenShortcutsAgreeWithTheStringForms() {
    for token in [
      "jr", "sr", "ii", "iii", "iv", "v", "vi", "j", "jrr", "ivy", "van", "de", "la", "x", "",
    ] {
      #expect(
        Comparators.isSuffix(Substring(token)) == Comparators.suffixes.contains(token), "\(token)")
    }
    for key in [
      "garcia lopez", "smith jr", "de la cruz", "smith", "jr", "jr iii", "de  la", " lee", "lee ",
      "nguyen van iii",
    ] {
      let tokens = Comparators.nameTokens(Substring(key))
      #expect(Comparators.joinedTokens(key, tokens) == tokens.joined(separator: " "), "\(key)")
    }
    #expect(Comparators.surnameLevel("de la cruz", "delacruz") == 4)
    #expect(Comparators.surnameLevel("de la cruz", "cruz") == 3)
    #expect(Comparators.surnameLevel("smith jr", "smith sr") == 4)
    #expect(
      Comparators.surnameLevel("smith jr", "smyth") == Comparators.surnameLevel("smith", "smyth"))
    #expect(Comparators.surnameLevel("nguyen thi", "tran van") == 0)
  }

  @Test func surnameLevels() {
    #expect(
      Comparators.surnameLevel(FieldRules.nameKey("Smith-Jones"), FieldRules.nameKey("Smith Jones"))
        == 4)
    #expect(
      Comparators.surnameLevel(FieldRules.nameKey("García López"), FieldRules.nameKey("Garcia"))
        == 3)
    #expect(
      Comparators.surnameLevel(FieldRules.nameKey("O’Brien"), FieldRules.nameKey("OBrien")) == 4)
    #expect(
      Comparators.surnameLevel(FieldRules.nameKey("Smith Jr"), FieldRules.nameKey("Smith")) == 4)
    #expect(Comparators.surnameLevel("thompson", "thomson") == 2)
    #expect(Comparators.surnameLevel("smith", "nguyen") == 0)
  }

  @Test func birthDateLevels() {
    #expect(Comparators.birthDateLevel("2015-03-04", "2015-03-04") == 4)
    #expect(Comparators.birthDateLevel("2015-03-04", "2015-04-03") == 3)  // day and month swapped
    #expect(Comparators.birthDateLevel("2015-03-04", "2015-03-07") == 2)  // one digit
    // a year off, three digits differ
    #expect(Comparators.birthDateLevel("2019-03-04", "2020-03-04") == 1)
    #expect(Comparators.birthDateLevel("2015-03-04", "2016-08-21") == 0)
    #expect(Comparators.birthDateLevel("", "2016-08-21") == -1)
  }

  @Test func streetKeysAndPhoneDigits() {
    #expect(Comparators.streetKey("1284 Monroe St") == "1284 monroe")
    #expect(Comparators.streetKey("1284  MONROE ST.") == "1284 monroe")
    #expect(Comparators.streetKey("Rural Route 5") == "rural")
    #expect(Comparators.streetKey("12 O'Neill Ave") == Comparators.streetKey("12 ONeill Ave"))
    // the Unicode path folds the same way
    #expect(Comparators.streetKey("12 Ñandú Way") == "12 nandu")
    #expect(PersonRecord.digits("217-555-0101 x12") == "2175550101")
    #expect(Comparators.foldLetters("đặng") == "đặng".replacingOccurrences(of: "đ", with: "d"))
  }

  @Test func swappedNamesAreComparedTheOtherWayRound() {
    var a = PersonRecord(id: "S-1/1")
    a.first = "nguyen"
    a.last = "linh"
    a.dob = "2015-03-04"
    var b = PersonRecord(id: "100")
    b.first = "linh"
    b.last = "nguyen"
    b.dob = "2015-03-04"
    let vector = ComparisonVector.compare(a, b)
    #expect(vector.namesSwapped)
    #expect(vector[.firstName] == 4 && vector[.lastName] == 4)
  }

  @Test func guardiansCountByPhoneAndName() {
    var a = PersonRecord(id: "S-1/1")
    a.guardians = [.init(first: "maria", last: "garcia", phone: "2175550000")]
    var b = PersonRecord(id: "100")
    b.guardians = [.init(first: "maria", last: "garcia", phone: "2175551111")]
    #expect(ComparisonVector.compare(a, b)[.guardians] == 1)
    b.guardians[0].phone = "2175550000"
    #expect(ComparisonVector.compare(a, b)[.guardians] == 2)
    b.guardians = [.init(first: "ana", last: "garcia", phone: "")]
    #expect(ComparisonVector.compare(a, b)[.guardians] == 0)  // a shared surname alone says nothing
  }
}
