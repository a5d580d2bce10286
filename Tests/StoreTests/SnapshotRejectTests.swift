import Foundation
import SISDropConfig
import SISDropCore
import SISDropStore
import Testing
import _SISDropTestSupport

/// The snapshot load's refusals on an XML export (the CSV ones run end to end in BadInputTests).
@Suite struct SnapshotRejectTests {
  static func export(_ folder: String, lastName: String) throws -> [String: String] {
    let student = { (number: String, last: String) in
      "<student><Student_Number>\(number)</Student_Number><First_Name>Ann</First_Name><Last_Name>\(last)</Last_Name>"
        + "<DOB>02/30/2017</DOB><SchoolID>0101</SchoolID></student>\n"
    }
    let students = try writeFile(
      folder + "/students.xml",
      "<students>\n" + student("1", "Lee") + student("2", lastName) + "</students>\n")
    let schools = try writeFile(
      folder + "/schools.xml",
      "<schools><school><School_Number>0101</School_Number><Name>Lincoln</Name></school></schools>\n"
    )
    return ["students": students, "schools": schools]
  }

  @Test func anXMLFieldOverTheCapRefusesTheExportOrIsToleratedAndKept() throws {
    try withTemporaryFolder { folder in
      let files = try Self.export(folder, lastName: String(repeating: "x", count: 2000))
      var feed = FeedConfig()
      feed.format = .xml
      feed.limits.fieldBytes = 1024
      #expect {
        _ = try SnapshotBuilder(feed: feed, plugin: nil).build(
          files: files, output: folder + "/a.sqlite")
      } throws: { error in
        let error = error as? SISDropError
        return error?.status == .dataError && "\(error!)".contains("students.xml:3")
          && "\(error!)".contains("limits.field_bytes")
      }
      feed.maxRejectedRows = 1
      let (summary, rejects) = try SnapshotBuilder(feed: feed, plugin: nil).build(
        files: files, output: folder + "/b.sqlite")
      #expect(summary.students == 1 && summary.rejectedRows == 1 && summary.missingValues == 1)
      #expect(
        rejects.contains {
          $0.field == "DOB" && $0.reason.contains("missing for matching") && $0.source.line == 2
        })
      let snapshot = try Snapshot(path: folder + "/b.sqlite")
      #expect(try snapshot.rejectedRows().map(\.line) == [3])
      #expect(try snapshot.student(number: "1")?.fields["DOB"] == "")
    }
  }
}
