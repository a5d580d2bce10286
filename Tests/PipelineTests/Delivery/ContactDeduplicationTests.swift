import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop

/// Issue 3: two siblings' submissions naming the same new mother create one contact. The demo's
/// S-2026-0045 and S-2026-0046 are a new family's two children on separate forms, both naming
/// Maryam and Reza Hashemi; S-2026-0047 and -0048 are two new siblings on one form.
@Suite struct ContactDeduplicationTests {
  /// Rows of a CSV file as dictionaries by header.
  func table(_ path: String) throws -> [[String: String]] {
    let rows = try csvRows(path)
    return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
  }

  @Test func csvCreatesEachNewContactOnceAndLinksTheOtherStudents() throws {
    try withTemporaryFolder { root in
      let (_, summary, _) = try runDemo(root + "/w")
      let rows = try table(summary.outbox + "/\(summary.batch)_contacts_new.csv")
      let created = rows.filter { !$0["First_Name", default: ""].isEmpty }
      let links = rows.filter { $0["First_Name", default: ""].isEmpty }
      // One full row per person, the same person never twice (name + phone), every link to a created one.
      #expect(Set(created.map { $0["Contact_Ref", default: ""] }).count == created.count)
      #expect(
        Set(
          created.map {
            [$0["First_Name", default: ""], $0["Last_Name", default: ""], $0["Phone", default: ""]]
          }
        ).count == created.count)
      #expect(
        Set(links.map { $0["Contact_Ref", default: ""] }).isSubset(
          of: Set(created.map { $0["Contact_Ref", default: ""] })))
      #expect(
        links.allSatisfy {
          !$0["Relationship", default: ""].isEmpty && !$0["Student_Ref", default: ""].isEmpty
        })
      // The Hashemis: created by S-2026-0045, linked to Shirin (S-2026-0046/1) by their reference.
      let maryam = rows.filter { $0["Contact_Ref"] == "S-2026-0045/1" }
      #expect(maryam.map { $0["Student_Ref", default: ""] } == ["S-2026-0045/1", "S-2026-0046/1"])
      #expect(maryam.map { $0["First_Name", default: ""] } == ["Maryam", ""])
      #expect(maryam.last?["Relationship"] == "Mother" && maryam.last?["Phone"] == "")
      // Two siblings on one form: the second child's rows are links too.
      let hirut = rows.filter { $0["Contact_Ref"] == "S-2026-0047/1" }
      #expect(hirut.map { $0["Student_Ref", default: ""] } == ["S-2026-0047/1", "S-2026-0047/2"])
      #expect(hirut.map { $0["First_Name", default: ""] } == ["Hirut", ""])
      // The submissions' own files: the demo does name these people twice.
      let named = try csvRows(Checkout.demoDistrict + "/enrollment-csv/submission_contacts.csv")
        .filter { $0.count > 3 && $0[2] == "Maryam" && $0[3] == "Hashemi" }
      #expect(named.map { $0[0] } == ["S-2026-0045", "S-2026-0046"])
    }
  }

  @Test func xmlAndOneRosterCreateTheContactOnceToo() throws {
    try withTemporaryFolder { root in
      let (_, xml, _) = try runDemo(root + "/x", pipeline: "demo-xml-delivery")
      let text = try readText(xml.outbox + "/\(xml.batch)_contacts_new.xml")
      #expect(text.components(separatedBy: "<First_Name>Maryam</First_Name>").count - 1 == 1)
      #expect(
        text.components(separatedBy: "<Contact_Ref>S-2026-0045/1</Contact_Ref>").count - 1 == 2)

      let (_, oneRoster, _) = try runDemo(root + "/o", pipeline: "demo-oneroster-delivery")
      let users = try table(oneRoster.outbox + "/\(oneRoster.batch)_oneroster_new/users.csv")
      let maryam = users.filter { $0["givenName"] == "Maryam" && $0["familyName"] == "Hashemi" }
      #expect(maryam.count == 1)
      #expect(maryam.first?["agentSourcedIds"] == "sub-S-2026-0045-1,sub-S-2026-0046-1")
      let shirin = try #require(users.first { $0["sourcedId"] == "sub-S-2026-0046-1" })
      #expect(shirin["agentSourcedIds"] == "sub-S-2026-0045-c1,sub-S-2026-0045-c2")
    }
  }

  /// When the form that first names the person is not delivered (here an error before delivery),
  /// the next form creates the contact in full: a link to a contact never sent would be lost.
  @Test func theFirstDeliveredFormCreatesTheContactWhenTheFirstNamingIsNotDelivered() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(
          inbox + "/submissions.csv", id: "S-2026-0045", column: "Street",
          value: "1200 " + String(repeating: "Long", count: 16) + " St")
      }
      let folder = workdir.stageFolder(batch.id, .deliver)
      #expect(try csvRows(folder + "/errors.csv").contains { $0[0] == "S-2026-0045" })
      let rows = try table(folder + "/\(batch.id)_contacts_new.csv").filter {
        $0["Contact_Ref", default: ""].hasPrefix("S-2026-0045/")
      }
      #expect(rows.map { $0["Student_Ref", default: ""] } == ["S-2026-0046/1", "S-2026-0046/1"])
      #expect(rows.map { $0["First_Name", default: ""] } == ["Maryam", "Reza"])
    }
  }
}
