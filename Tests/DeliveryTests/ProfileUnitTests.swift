import Foundation
import Testing
import _SISDropDeliveryTestSupport
import _SISDropTestSupport

@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropFormats

/// Each profile writes the small records of `DeliveryExamples`: every byte can be checked by eye.
@Suite struct ProfileUnitTests {
  static let newStudent = DeliveryExamples.newStudent
  static let update = DeliveryExamples.update
  static let context = DeliveryExamples.context

  func columns(_ names: [String]) -> [DeliveryColumn] {
    names.map { DeliveryColumn(name: $0, field: $0) }
  }

  @Test
  func configurableCSVWritesDelimiterDateFormatIdentifiersAsTextAndUpdatesWithChangedFieldsOnly()
    throws
  {
    try withTemporaryFolder { folder in
      var config = CSVProfileConfig()
      config.writer = CSVWriterOptions(
        delimiter: UInt8(ascii: "\t"), lineEnding: .lf, encoding: .utf8BOM)
      config.dateFormat = .iso
      config.files = [
        "students_new": columns([
          "Student_Ref", "State_StudentNumber", "Last_Name", "DOB", "Grade_Level", "SchoolID",
          "Zip",
        ]),
        "students_update": columns(["Student_Number", "Grade_Level", "Street", "Last_Name"]),
      ]
      let files = try CSVProfile(config: config).write(
        [Self.newStudent, Self.update], kinds: [.studentsNew, .studentsUpdate],
        context: Self.context, folder: folder)
      #expect(files.map(\.name) == ["B1_students_new.csv", "B1_students_update.csv"])
      let new = try FileSystem.readFile(folder + "/B1_students_new.csv")
      #expect(Array(new.prefix(3)) == [0xEF, 0xBB, 0xBF])
      #expect(
        String(decoding: new.dropFirst(3), as: UTF8.self)
          == "Student_Ref\tState_StudentNumber\tLast_Name\tDOB\tGrade_Level\tSchoolID\tZip\nS-1/1\t0042\tO'Neil, Jr\t2015-07-04\t0\t0101\t01108\n"
      )
      // The unchanged Last_Name stays blank: an update never rewrites what did not change.
      #expect(
        String(
          decoding: try FileSystem.readFile(folder + "/B1_students_update.csv").dropFirst(3),
          as: UTF8.self)
          == "Student_Number\tGrade_Level\tStreet\tLast_Name\n000123\t4\t1 <Main> & Co\t\n")
    }
  }

  @Test func mmddyyyyQuotingAndCRLF() throws {
    try withTemporaryFolder { folder in
      var config = CSVProfileConfig()
      config.files = ["students_new": columns(["Last_Name", "DOB", "SchoolID"])]
      config.writer.quoteAll = true
      _ = try CSVProfile(config: config).write(
        [Self.newStudent], kinds: [.studentsNew], context: Self.context, folder: folder)
      #expect(
        try readText(folder + "/B1_students_new.csv")
          == "\"Last_Name\",\"DOB\",\"SchoolID\"\r\n\"O'Neil, Jr\",\"07/04/2015\",\"0101\"\r\n")
    }
  }

  @Test func windows1252RefusesAValueItCannotHoldAsARecordProblemNeverAQuestionMark() throws {
    var config = CSVProfileConfig()
    config.writer.encoding = .windows1252
    let profile = CSVProfile(config: config)
    #expect(profile.problem(with: Self.newStudent) == nil)  // ë is in Windows-1252
    var han = Self.newStudent
    han.fields["First_Name"] = "李"
    let problem = try #require(profile.problem(with: han))
    #expect(
      problem.field == "First_Name" && problem.value == "李"
        && problem.reason.contains("windows-1252"))
    // A name is not for `sisdrop correct` (it refuses names): the enrollment system, or the encoding.
    #expect(
      problem.action.contains("enrollment system") && !problem.action.contains("sisdrop correct")
        && problem.action.contains("utf-8"))
    // An update is checked on what it writes: an unchanged name it leaves blank never blocks it.
    var update = Self.update
    update.fields["First_Name"] = "Nguyễn"
    #expect(profile.problem(with: update) == nil)
    update.fields["Street"] = "12 Đường Lê"
    let street = try #require(profile.problem(with: update))
    #expect(
      street.field == "Street" && street.action.contains("`sisdrop correct S-2 Street NEW_VALUE`"))
    // The XML profile likewise checks only the fields an update element carries.
    var xmlUpdate = Self.update
    xmlUpdate.fields["First_Name"] = "Ann\u{1}"
    #expect(XMLProfile(config: CSVProfileConfig()).problem(with: xmlUpdate) == nil)
    xmlUpdate.fields["Street"] = "1 Main\u{1}"
    #expect(XMLProfile(config: CSVProfileConfig()).problem(with: xmlUpdate)?.field == "Street")
    try withTemporaryFolder { folder in
      config.files = ["students_new": columns(["First_Name", "Last_Name"])]
      _ = try CSVProfile(config: config).write(
        [Self.newStudent], kinds: [.studentsNew], context: Self.context, folder: folder)
      #expect(
        try FileSystem.readFile(folder + "/B1_students_new.csv") == Array(
          "First_Name,Last_Name\r\nZo".utf8) + [0xEB] + Array(",\"O'Neil, Jr\"\r\n".utf8))
    }
  }

  @Test func xmlProfileWritesOneElementPerRecordEscapedAndUpdatesWithKeyAndChangedFieldsOnly()
    throws
  {
    try withTemporaryFolder { folder in
      var config = CSVProfileConfig()
      config.files = [
        "students_update": columns([
          "Student_Number", "Submission_ID", "First_Name", "Grade_Level", "Street",
        ]),
        "students_new": columns(["Student_Ref", "DOB", "SchoolID"]),
      ]
      let written = try XMLProfile(config: config).write(
        [Self.newStudent, Self.update], kinds: [.studentsNew, .studentsUpdate],
        context: Self.context, folder: folder)
      #expect(
        written == [
          WrittenFile(name: "B1_students_new.xml", rows: 1),
          WrittenFile(name: "B1_students_update.xml", rows: 1),
        ])
      #expect(
        try readText(folder + "/B1_students_update.xml") == """
          <?xml version="1.0" encoding="UTF-8"?>
          <students_update batch="B1">
            <student>
              <Student_Number>000123</Student_Number>
              <Submission_ID>S-2</Submission_ID>
              <Grade_Level>4</Grade_Level>
              <Street>1 &lt;Main&gt; &amp; Co</Street>
            </student>
          </students_update>

          """)
      #expect(try readText(folder + "/B1_students_new.xml").contains("<DOB>2015-07-04</DOB>"))
      var control = Self.newStudent
      control.fields["SchoolID"] = "01\u{01}01"
      #expect(XMLProfile(config: config).problem(with: control)?.field == "SchoolID")
    }
  }
}
