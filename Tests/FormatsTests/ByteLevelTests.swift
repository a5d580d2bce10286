import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDropFormats

/// The byte-level paths of the snapshot load must agree exactly with the String paths they replace.
@Suite struct ByteLevelTests {
  @Test func utf8CheckAgreesWithStringValidation() {
    var generator = SystemRandomNumberGenerator()
    // Bytes around the boundaries of UTF-8: ASCII, continuation bytes, every kind of lead byte.
    let interesting: [UInt8] = [
      0x41, 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
      0xEC, 0xED, 0xEE,
      0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
    ]
    for _ in 0..<20_000 {
      let count = Int.random(in: 0...6, using: &generator)
      let bytes = (0..<count).map { _ in interesting.randomElement(using: &generator)! }
      let expected = bytes.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) != nil }
      #expect(bytes.withUnsafeBufferPointer { UTF8Check.isValid($0) } == expected, "\(bytes)")
      #expect(
        bytes.withUnsafeBufferPointer { UTF8Check.isASCII($0) } == bytes.allSatisfy { $0 < 0x80 })
    }
  }

  /// A character split by a delimiter makes two invalid fields even though the record's bytes
  /// together are valid UTF-8: the field is named, as when each field was checked on its own.
  @Test func characterSplitAcrossFieldsIsInvalid() throws {
    try withTemporaryFolder { folder in
      let path = try writeBytes(
        folder + "/split.csv", Array("a,b\nx".utf8) + [0xC3, 0x2C, 0xA9] + Array("y\nok,é\n".utf8))
      let reader = try CSVReader(path: path)
      _ = try reader.next()
      let split = try #require(try reader.next())
      #expect(split.problem?.reason.hasPrefix("invalid UTF-8 in field 1") == true)
      #expect(split.problem?.location.line == 2 && split.problem?.location.column == 1)
      let fine = try #require(try reader.next())
      #expect(fine.problem == nil && fine.fields == ["ok", "é"])
    }
  }

  /// Plain records are read in place and the others by the general path: a file mixing them gives
  /// every record's fields, line and problem as the general path alone would.
  @Test func plainAndGeneralRecordsMix() throws {
    try withTemporaryFolder { folder in
      let text =
        "a,b,c\r\n" + "plain,record,here\n" + "\"quoted, with comma\",x,y\n" + "\n"
        + "José,Müller,ok\r\n"
        + "lone\rcr,x,y\n" + "\"multi\nline\",2,3\n" + "after,multi,line\n" + "stray\"quote,x,y\n"
        + "last,no,break"
      let path = try writeBytes(
        folder + "/mix.csv",
        Array(text.utf8) + [0x0A] + Array("nul".utf8) + [0x00] + Array(",x,y\nbad".utf8)
          + [0xFF] + Array(",x,y\nend,of,file".utf8))
      let reader = try CSVReader(path: path)
      var rows: [String] = []
      while let row = try reader.next() {
        rows.append(
          "\(row.line): \(row.fields.joined(separator: "|"))"
            + (row.problem.map {
              " ! \($0.location.line ?? 0):\($0.location.column ?? 0) \($0.reason.prefix(20))"
            } ?? ""))
      }
      #expect(
        rows == [
          "1: a|b|c", "2: plain|record|here", "3: quoted, with comma|x|y", "4: ",
          "5: José|Müller|ok", "6: lone", "7: cr|x|y",
          "8: multi\nline|2|3", "10: after|multi|line",
          "11: stray\"quote|x|y ! 11:6 stray quote inside a", "12: last|no|break",
          "13: nul\u{0}|x|y ! 13:4 NUL byte in field",
          "14: bad\u{FFFD}|x|y ! 14:1 invalid UTF-8 in fie", "15: end|of|file",
        ])
    }
  }

  /// `FieldBytes.appendText` leaves Latin letters U+00C0–U+027F as they are: NFC must agree.
  @Test func latinLettersAreTheirOwnNFC() {
    for value in 0xC0...0x27F {
      let scalar = Unicode.Scalar(UInt32(value))!
      for text in ["a\(scalar)b", "\(scalar)", "A \(scalar)\(scalar)", "\(scalar)e", "o\(scalar)"] {
        #expect(FieldRules.unicodeTextForTesting(text) == text, "U+\(String(value, radix: 16))")
        var out = GrowableBuffer<UInt8>()
        var copy = text
        let path = copy.withUTF8 { FieldBytes.appendText($0, to: &out) }
        #expect(path == .latin && out.array == Array(text.utf8))
        out.deallocate()
      }
    }
  }

  @Test func byteRulesAgreeWithStringRules() {
    let values = SnapshotValues.all
    var normalizer = FieldNormalizer(datePatterns: [.monthDayYear, .iso])
    for kind in [FieldKind.text, .name, .date, .gender, .gradeLevel, .phone, .email, .state] {
      for value in values {
        for _ in 0..<2 {  // the second time from memory
          var out = GrowableBuffer<UInt8>()
          out.append(0x7C)  // something before: the rules work at the end of the buffer
          var copy = value
          let isValid = copy.withUTF8 { normalizer.append(kind, $0, to: &out) }
          let expected = FieldNormalizer.reference(
            kind, value, datePatterns: [.monthDayYear, .iso])
          #expect(
            String(decoding: out.array.dropFirst(), as: UTF8.self) == expected.value
              && isValid == expected.isValid, "\(kind) \(value.debugDescription)")
          out.deallocate()
        }
      }
    }
    for value in values {
      var out = GrowableBuffer<UInt8>()
      var copy = value
      copy.withUTF8 { normalizer.appendNameKey($0, to: &out) }
      #expect(
        String(decoding: out.array, as: UTF8.self) == FieldRules.nameKey(value),
        "\(value.debugDescription)")
      out.deallocate()
    }
  }
}

enum SnapshotValues {
  static let all = [
    "José", "  josé  ", "GARCÍA-LÓPEZ", "garcía-lópez", "o'brien", "O'BRIEN", "McDonald", "Thảo",
    "e\u{301}mile", "ß", "İlker",
    "Łukasz", "ŁUKASZ", "Ann\u{A0}Marie", "Mary  Kate", "Mary\tKate", "", "   ", "Zoë", "ÿvonne",
    "ǅemal", "d’arcy", "JEAN-LUC",
    "Smith, Jr.", "x", "Q", "123", "-ann", "a.b.", "\u{2003}Ann", "Ann\u{85}Lee", "01/02/2015",
    "1/2/2015", "2015-01-02",
    "02/30/2016", " 01/02/2015 ", "13/01/2015", "02/29/2016", "1/2/15", "01-02-2015", "m", "M",
    "Female", " F ", "q", "X", "u",
    "boy", "Non-Binary", "K", "12", "05", "13", "PK3", "1st", "Grade 3", "0", "00", "-1", "99",
    "1 2", "217-555-0000",
    "(217) 555-0000", "217.555.0000 x12", "2175550000", "217-555-000O", "A@B.COM", "bad", "a@b",
    " x@y.org ", "é@x.org",
    "a@@b.org", "a b@c.org", "a@.org", "a@b.org.", "@b.org", "a@", "il", "Ill", "IL ", "I1", "ÎL",
    "ß1", "ss", "9933 Rue Saint-Honoré",
    "ＡＢ", "\u{1}", "a\r\nb", "Maryanne Kate\tLee", "Christopher  Smith", "Bartholomew\u{0B}X",
    "ABCDEFGHIJ\u{7F}K",
    "ABCDEFGH ", "ABCDEFGHIJKLMNOP\nQ", "ABCDEFGHIJKLMNOPé", "Zbigniew Brzęczyszczykiewicz",
    "STRZELECKI-ŁUKASIEWICZ",
  ]
}
