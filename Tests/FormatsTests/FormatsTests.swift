import Foundation
import SISDropCore
import SISDropFormats
import Testing
import _SISDropTestSupport

@Suite struct CSVReaderTests {
  func rows(_ text: String, dialect: CSVDialect = CSVDialect()) throws -> [CSVRow] {
    try rows(bytes: Array(text.utf8), dialect: dialect)
  }

  func rows(bytes: [UInt8], dialect: CSVDialect = CSVDialect()) throws -> [CSVRow] {
    try withTemporaryFolder { folder in
      let reader = try CSVReader(path: try writeBytes(folder + "/f.csv", bytes), dialect: dialect)
      var result: [CSVRow] = []
      while let row = try reader.next() { result.append(row) }
      return result
    }
  }

  @Test func quotedFieldsWithDelimitersQuotesAndLineBreaks() throws {
    let result = try rows("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n0101,,last\n")
    #expect(
      result.map(\.fields) == [
        ["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["0101", "", "last"],
      ])
    #expect(result.map(\.line) == [1, 2, 4])
    #expect(result.allSatisfy { $0.problem == nil })
  }

  @Test func lastLineWithoutLineBreakAndTrailingEmptyField() throws {
    #expect(try rows("a,b\n1,").map(\.fields) == [["a", "b"], ["1", ""]])
    #expect(try rows("a,b\n1,2").map(\.fields) == [["a", "b"], ["1", "2"]])
  }

  @Test func tabDelimiter() throws {
    #expect(
      try rows("a\tb\n1,5\t2\n", dialect: CSVDialect(delimiter: 9)).map(\.fields) == [
        ["a", "b"], ["1,5", "2"],
      ])
  }

  @Test func utf8BOMIsDropped() throws {
    #expect(
      try rows(bytes: [0xEF, 0xBB, 0xBF] + Array("Name\nJosé\n".utf8)).map(\.fields) == [
        ["Name"], ["José"],
      ])
  }

  @Test func utf16WithBOMIsTranscoded() throws {
    var le: [UInt8] = [0xFF, 0xFE]
    for unit in "Name\nZoë 😀\n".utf16 { le += [UInt8(unit & 0xff), UInt8(unit >> 8)] }
    #expect(try rows(bytes: le).map(\.fields) == [["Name"], ["Zoë 😀"]])
    var be: [UInt8] = [0xFE, 0xFF]
    for unit in "Name\nZoë\n".utf16 { be += [UInt8(unit >> 8), UInt8(unit & 0xff)] }
    #expect(try rows(bytes: be).map(\.fields) == [["Name"], ["Zoë"]])
  }

  @Test func windows1252OnlyWhenConfigured() throws {
    let bytes: [UInt8] = Array("Name\nJos".utf8) + [0xE9, 0x0A]
    let configured = try rows(bytes: bytes, dialect: CSVDialect(encoding: .windows1252))
    #expect(configured[1].fields == ["José"])
    // Without the config the byte is invalid UTF-8: an error with line and column, never a guess.
    let plain = try rows(bytes: bytes)
    let problem = try #require(plain[1].problem)
    #expect(problem.location.line == 2 && problem.location.column == 1)
    #expect(problem.reason.contains("invalid UTF-8"))
  }

  @Test func unbalancedQuoteIsAFileErrorWithLineAndColumn() throws {
    do {
      _ = try rows("a,b\n1,\"open\n2,3\n")
      Issue.record("expected an error")
    } catch let error as SISDropError {
      #expect(error.status == .dataError)
      #expect(error.location?.line == 2 && error.location?.column == 3)
      #expect(error.message.contains("unbalanced quote"))
    }
  }

  @Test func nulByteAndStrayQuoteMarkTheRecordAndReadingGoesOn() throws {
    let result = try rows(bytes: Array("a,b\n1,x".utf8) + [0] + Array("y\n2,ab\"c\n3,ok\n".utf8))
    #expect(result.count == 4)
    #expect(result[1].problem?.reason == "NUL byte in field")
    #expect(result[2].problem?.reason.contains("stray quote") == true)
    #expect(result[3].fields == ["3", "ok"] && result[3].problem == nil)
  }

  @Test func gzipIsRefused() throws {
    #expect(throws: SISDropError.self) { try rows(bytes: [0x1f, 0x8b, 8, 0, 0, 0]) }
  }

  @Test func writerQuotesOnlyWhenNeededAndReadsBack() throws {
    try withTemporaryFolder { folder in
      let writer = try CSVWriter(
        path: folder + "/out.csv", options: CSVWriterOptions(lineEnding: .crlf))
      let rows = [["0101", "a,b", "say \"x\"", "two\nlines", " lead"]]
      for row in rows { try writer.write(row) }
      try writer.close()
      #expect(
        try readText(folder + "/out.csv")
          == "0101,\"a,b\",\"say \"\"x\"\"\",\"two\nlines\", lead\r\n")
      #expect(try csvRows(folder + "/out.csv") == rows)
    }
  }

  @Test func windows1252WriterRefusesWhatItCannotEncode() {
    let options = CSVWriterOptions(encoding: .windows1252)
    #expect(CSVWriter.encode(["José"], options: options) == [0x4A, 0x6F, 0x73, 0xE9, 0x0A])
    #expect(CSVWriter.encode(["Nguyễn"], options: options) == nil)
  }
}

@Suite struct TableReaderTests {
  @Test func headersMatchIgnoringCaseSpacesAndBOMWithAliases() throws {
    try withTemporaryFolder { folder in
      let path = try writeFile(
        folder + "/schools.csv", "\u{FEFF} school_number ,SchoolName,Extra\n0101,Lincoln,x\n")
      let reader = try CSVTableReader(
        path: path, layout: Layouts.schools, dialect: CSVDialect(), aliases: ["schoolname": "Name"])
      let record = try #require(try reader.next())
      // Low_Grade, High_Grade: optional, absent
      #expect(record.values == ["0101", "Lincoln", "", ""])
      #expect(reader.unknownColumns == ["Extra"])
    }
  }

  @Test func missingAndDuplicateHeadersAreErrors() throws {
    try withTemporaryFolder { folder in
      let missing = try writeFile(folder + "/a.csv", "School_Number\n0101\n")
      #expect {
        try CSVTableReader(path: missing, layout: Layouts.schools, dialect: CSVDialect())
      } throws: { error in
        (error as? SISDropError)?.message.contains("missing required column Name") == true
      }
      let duplicate = try writeFile(folder + "/b.csv", "School_Number,Name,school_number\n")
      #expect {
        try CSVTableReader(path: duplicate, layout: Layouts.schools, dialect: CSVDialect())
      } throws: { error in
        let e = error as? SISDropError
        return e?.message.contains("duplicate column") == true && e?.location?.column == 3
      }
      let empty = try writeFile(folder + "/c.csv", "")
      #expect(throws: SISDropError.self) {
        try CSVTableReader(path: empty, layout: Layouts.schools, dialect: CSVDialect())
      }
    }
  }

  @Test func raggedRowIsRejectedWithItsLine() throws {
    try withTemporaryFolder { folder in
      let path = try writeFile(
        folder + "/s.csv", "School_Number,Name\n0101,Lincoln\n0202\n0303,Jefferson\n")
      let reader = try CSVTableReader(path: path, layout: Layouts.schools, dialect: CSVDialect())
      var records: [TableRecord] = []
      while let record = try reader.next() { records.append(record) }
      #expect(records.count == 3)
      #expect(records[1].problem?.reason == "ragged row: 1 fields, the header has 2")
      #expect(records[1].problem?.location.line == 3)
      #expect(records[2].values == ["0303", "Jefferson", "", ""])
    }
  }
}

@Suite struct XMLReaderTests {
  func collect(_ xml: String) throws -> [XMLElementNode] {
    try withTemporaryFolder { folder in
      let reader = try XMLStreamReader(path: try writeFile(folder + "/f.xml", xml))
      var records: [XMLElementNode] = []
      try reader.forEachElement(named: ["school"]) { records.append($0) }
      return records
    }
  }

  @Test func readsRecordsWithLines() throws {
    let records = try collect(
      "<?xml version=\"1.0\"?>\n<schools>\n<school><School_Number>0101</School_Number><Name>A &amp; B</Name></school>\n</schools>\n"
    )
    #expect(records.count == 1)
    #expect(records[0].children.map(\.text) == ["0101", "A & B"])
    #expect(records[0].line == 3)
  }

  @Test func doctypeIsRefused() throws {
    let attack =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\n<schools><school><Name>&lol2;</Name></school></schools>\n"
    #expect { try collect(attack) } throws: {
      ($0 as? SISDropError)?.message.contains("DOCTYPE") == true
    }
    let external =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE s [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<schools><school><Name>&x;</Name></school></schools>\n"
    #expect(throws: SISDropError.self) { try collect(external) }
  }

  @Test func truncatedDocumentFailsAfterHandingOutRecords() throws {
    var seen = 0
    try withTemporaryFolder { folder in
      let path = try writeFile(
        folder + "/t.xml",
        "<schools><school><Name>A</Name></school><school><Name>B</Name></school><school><Na")
      let reader = try XMLStreamReader(path: path)
      // Closure literals stay out of `#expect(throws:)`'s body (CONTRIBUTING.md, "Tests").
      let count: (XMLElementNode) throws -> Void = { _ in seen += 1 }
      #expect(throws: SISDropError.self) {
        try reader.forEachElement(named: ["school"], count)
      }
    }
    // The caller saw records, but the call failed: it must not commit them (ParseStage keeps none).
    #expect(seen == 2)
  }

  @Test func gzipIsRefused() throws {
    try withTemporaryFolder { folder in
      let path = try writeBytes(folder + "/g.xml", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
      #expect { try XMLStreamReader(path: path) } throws: {
        ($0 as? SISDropError)?.message.contains("gzip") == true
      }
    }
  }
}

@Suite struct PluginManifestTests {
  let valid = """
    <?xml version="1.0" encoding="UTF-8"?>
    <plugin xmlns="http://plugin.powerschool.pearson.com" name="Test Plugin" version="1.0">
      <publisher name="District"><contact email="it@district.example"/></publisher>
      <access_request>
        <field table="Students" field="Student_Number" access="ViewOnly"/>
        <field table="Students" field="First_Name" access="FullAccess"/>
      </access_request>
    </plugin>
    """

  func load(_ xml: String) throws -> PluginManifest {
    try withTemporaryFolder {
      try PluginManifest.load(path: try writeFile($0 + "/Plugin.xml", xml))
    }
  }

  @Test func demoPluginIsValidAndGrantsFields() throws {
    let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
    #expect(plugin.canRead(table: "Students", field: "Student_Number"))
    #expect(!plugin.canWrite(table: "Students", field: "Student_Number"))
    #expect(plugin.canWrite(table: "students", field: "first_name"))
  }

  @Test func parsesAccessRequest() throws {
    let plugin = try load(valid)
    #expect(plugin.name == "Test Plugin" && plugin.contactEmail == "it@district.example")
    #expect(plugin.fields.map(\.access) == [.viewOnly, .fullAccess])
  }

  @Test(arguments: [
    (
      "xmlns=\"http://plugin.powerschool.pearson.com\"", "xmlns=\"http://example.com\"",
      "namespace", 2
    ),
    (
      "name=\"Test Plugin\"", "name=\"A plugin name that is far longer than forty characters\"",
      "40", 2
    ),
    ("access=\"FullAccess\"", "access=\"ReadWrite\"", "ViewOnly or FullAccess", 6),
    ("<contact email=\"it@district.example\"/>", "<contact email=\"nobody\"/>", "e-mail", 3),
  ])
  func validationErrorsNameElementAndLine(from: String, to: String, expected: String, line: Int)
    throws
  {
    #expect { try load(valid.replacingOccurrences(of: from, with: to)) } throws: { error in
      guard let error = error as? SISDropError else { return false }
      return error.status == .configuration && error.message.contains(expected)
        && error.location?.line == line
    }
  }
}
