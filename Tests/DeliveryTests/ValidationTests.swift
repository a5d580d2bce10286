import Foundation
import Testing
import _SISDropDeliveryTestSupport
import _SISDropTestSupport

@testable import SISDropCore
@testable import SISDropDelivery

/// The validator's checks before a record is written, and `sisdrop correct`'s values.
@Suite struct ValidationTests {
  let validator = DeliveryValidator(schools: ["0101", "0202"], gradeLevels: ["0", "1", "2"])

  @Test func requiredFormatsCodeListsAndLengths() {
    var record = DeliveryExamples.newStudent
    #expect(validator.problems(record).isEmpty)
    record.fields["Grade_Level"] = "7"
    record.fields["SchoolID"] = "0303"
    record.fields["Street"] = String(repeating: "x", count: 61)
    record.fields["Email"] = "not-an-address"
    record.fields["Gender"] = ""
    let problems = validator.problems(record)
    #expect(problems.map(\.field) == ["Gender", "Email", "Grade_Level", "SchoolID", "Street"])
    #expect(problems.first { $0.field == "Grade_Level" }?.reason.contains("0, 1, 2") == true)
    // What to do names the exact command for a correctable field, the enrollment system otherwise.
    #expect(
      problems.first { $0.field == "SchoolID" }?.action.contains(
        "`sisdrop correct S-1 SchoolID NEW_VALUE`") == true)
    #expect(problems.first { $0.field == "Gender" }?.action.contains("enrollment system") == true)
  }

  /// A character no one sees is refused with its code (never the value); the joiners that spell
  /// Persian and Indic names pass.
  @Test func aCharacterNoOneSeesIsRefused() {
    var record = DeliveryExamples.newStudent
    record.fields["First_Name"] = "Hamza\u{1B}"
    record.fields["Street"] = "12 Oak St\u{202E}"
    record.fields["Last_Name"] = "\u{200B}Jackson"
    let problems = validator.problems(record)
    #expect(problems.map(\.field) == ["First_Name", "Last_Name", "Street"])
    #expect(problems.first?.reason.hasPrefix("holds a character no one sees (U+001B,") == true)
    #expect(problems.last?.reason.hasPrefix("holds a character no one sees (U+202E,") == true)
    record.fields["First_Name"] = "Ali\u{200C}reza"
    record.fields["Street"] = "12 Oak St"
    record.fields["Last_Name"] = "Jackson"
    #expect(validator.problems(record).isEmpty)
  }

  @Test func anUpdateIsCheckedOnItsKeyAndChangedFieldsOnly() {
    var update = DeliveryExamples.update
    update.fields["SchoolID"] = "9999"  // unchanged: not this delivery's business
    #expect(validator.problems(update).map(\.field) == ["Grade_Level"])  // 4 is not in the SIS list
  }

  @Test func correctionValuesAreCheckedAndIdentityFieldsRefused() throws {
    let grade = try Corrections.make(
      submissionID: "S-1", schema: "student", seq: 1, field: "Grade_Level", value: "Kindergarten",
      source: "t")
    #expect(grade.value == "0")
    #expect(throws: SISDropError.self) {
      try Corrections.make(
        submissionID: "S-1", schema: "student", seq: 1, field: "Zip", value: "1", source: "t")
    }
    let identity = try #require(throws: SISDropError.self) {
      try Corrections.make(
        submissionID: "S-1", schema: "student", seq: 1, field: "DOB", value: "2015-01-01",
        source: "t")
    }
    #expect(identity.status == .usage)
  }

  @Test func aCorrectionAppliesOnlyToTheVersionItWasMadeFor() throws {
    var submission = Submission(
      id: "S-1", form: "F", approvedAt: "", source: SourceLocation(path: "x"))
    submission.students = [
      SubmissionPart(seq: 1, fields: ["Zip": "62704"], source: SourceLocation(path: "x"))
    ]
    submission.contentHash = "v2"
    var correction = try Corrections.make(
      submissionID: "S-1", schema: "student", seq: 1, field: "Zip", value: "62707", source: "t")
    correction.version = "v1"
    #expect(
      Corrections.apply([correction], to: submission).students[0]["Zip"] == "62704",
      "a newer version keeps its own value")
    correction.version = "v2"
    #expect(Corrections.apply([correction], to: submission).students[0]["Zip"] == "62707")
  }

  @Test func aCorrectionsFileIsReadWholeOrRefusedNamingTheLine() throws {
    try withTemporaryFolder { folder in
      let good = try writeFile(
        folder + "/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-1,student,1,Zip,62704\nS-1,contact,2,Phone,(217) 555-0100\n"
      )
      let corrections = try Corrections.read(path: good)
      #expect(
        corrections.map { "\($0.schema) \($0.seq) \($0.field)=\($0.value)" } == [
          "student 1 Zip=62704", "contact 2 Phone=217-555-0100",
        ])
      let bad = try writeFile(
        folder + "/bad.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-1,student,1,Zip,62704\nS-1,student,1,Zip,6270\n")
      let error = try #require(throws: SISDropError.self) { try Corrections.read(path: bad) }
      #expect(error.status == .dataError && error.location?.line == 3)
    }
  }
}
