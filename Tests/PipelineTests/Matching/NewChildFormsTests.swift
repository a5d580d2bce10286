import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropStore
import Testing
import _SISDropTestSupport

/// Several forms of one child the SIS does not know, in one batch (issue 12): one new student.
/// The demo's S-2026-0032 (Amara Okafor, a new kindergartner, two guardians, three documents) and
/// a copy of its form under S-2026-0099.
extension ResolutionTests {
  func newStudentRows(_ workdir: WorkDir, _ batch: String) throws -> [[String]] {
    let rows = try csvRows(
      workdir.stageFolder(batch, .deliver) + "/\(batch)_students_new.csv")
    let ref = try #require(rows.first?.firstIndex(of: "Student_Ref"))
    return rows.dropFirst().filter {
      $0[ref].hasPrefix("S-2026-0032/") || $0[ref].hasPrefix("S-2026-0099/")
    }
  }

  @Test func anEarlierFormOfANewChildCreatesNoSecondStudent() throws {
    try withTemporaryFolder { root in
      // The copy was approved before S-2026-0032 (2026-11-16) and carries its guardians, no documents.
      let (workdir, batch) = try twoFormsOfOneChild(
        root, source: "S-2026-0032", edit: ["Approved_At": "2026-11-10 08:00"])
      let earlier = try decision(workdir, batch, "S-2026-0099").students[0]
      let later = try decision(workdir, batch, "S-2026-0032").students[0]
      #expect(earlier.decision.outcome == .new && earlier.sameChildAs == "S-2026-0032/1")
      #expect(later.decision.outcome == .new && later.sameChildAs == nil)
      #expect(
        earlier.decision.reasons.last
          == "the same child the SIS does not know as S-2026-0032/1, a later form of this batch that creates the new student: "
          + "this form creates no second student (its guardians and documents are all on that form)"
      )
      // One new student, from the latest form; both forms delivered; the guardians created once.
      let rows = try newStudentRows(workdir, batch)
      #expect(rows.count == 1 && rows[0].contains("S-2026-0032/1"), "\(rows)")
      let deliver = workdir.stageFolder(batch, .deliver)
      let delivered = Set(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] })
      #expect(delivered.isSuperset(of: ["S-2026-0032", "S-2026-0099"]))
      let contacts = try csvRows(deliver + "/\(batch)_contacts_new.csv")
      let refColumn = try #require(contacts.first?.firstIndex(of: "Student_Ref"))
      #expect(contacts.dropFirst().filter { $0[refColumn] == "S-2026-0099/1" }.isEmpty)
      #expect(contacts.dropFirst().filter { $0[refColumn] == "S-2026-0032/1" }.count == 2)
      let stage = try StageReport.load(deliver)
      #expect(stage.counts["new_students_superseded"] == 1)
      #expect(
        stage.notes.contains(
          "new student 1 of S-2026-0099 not created: S-2026-0032/1, a later form of this batch for the same child, creates it"
        ))
      #expect(
        try StageReport.load(workdir.stageFolder(batch, .match)).counts["students_same_new_child"]
          == 1)
    }
  }

  @Test func anEarlierFormThatCarriesMoreWaitsForAPersonAndTheLaterCreatesTheChild() throws {
    try withTemporaryFolder { root in
      // The copy is approved later (2026-11-19) without the documents: S-2026-0032 names three
      // documents the later form does not, so it is not dropped: it waits.
      let (workdir, batch) = try twoFormsOfOneChild(
        root, source: "S-2026-0032", edit: ["Home_Phone": "217-555-0199"])
      let earlier = try decision(workdir, batch, "S-2026-0032").students[0]
      #expect(earlier.decision.outcome == .potential && earlier.sameChildAs == nil)
      #expect(
        earlier.decision.reasons.last?.hasPrefix(
          "the same child the SIS does not know as S-2026-0099/1, a later form of this batch that creates the new student; "
            + "this form names a guardian or a document that one does not") == true,
        "\(earlier.decision.reasons)")
      let rows = try newStudentRows(workdir, batch)
      #expect(
        rows.count == 1 && rows[0].contains("S-2026-0099/1") && rows[0].contains("217-555-0199"))
      let held = try csvRows(workdir.stageFolder(batch, .deliver) + "/held.csv")
      #expect(held.contains { $0[0] == "S-2026-0032" })
    }
  }

  @Test func formsOfANewChildThatOnlyResembleOrAConfiguredReviewGoToAPerson() throws {
    // A one-digit birth date (02/18 for 02/13), another street and home phone and no guardians: the
    // forms resemble each other but do not agree. Both go to a person, each naming the other.
    try withTemporaryFolder { root in
      let (workdir, batch) = try twoFormsOfOneChild(
        root, source: "S-2026-0032", files: ["submissions.csv"],
        edit: ["DOB": "02/18/2021", "Street": "88 Elm St", "Home_Phone": "217-555-0101"])
      for (id, other) in [("S-2026-0032", "S-2026-0099/1"), ("S-2026-0099", "S-2026-0032/1")] {
        let student = try decision(workdir, batch, id).students[0].decision
        #expect(student.outcome == .potential, "\(id)")
        #expect(
          student.reasons.last?.hasPrefix(
            "a child the SIS does not know, named also on \(other) of this batch (S-2026-0032/1 and S-2026-0099/1 do not agree: "
          ) == true, "\(id): \(student.reasons)")
      }
      #expect(try newStudentRows(workdir, batch).isEmpty)
    }
    // `forms_of_one_child: review`: forms that agree go to a person too.
    try withTemporaryFolder { root in
      let (workdir, batch) = try twoFormsOfOneChild(
        root, source: "S-2026-0032", matching: "  forms_of_one_child: review\n",
        edit: ["Approved_At": "2026-11-10 08:00"])
      for id in ["S-2026-0032", "S-2026-0099"] {
        let student = try decision(workdir, batch, id).students[0].decision
        #expect(
          student.outcome == .potential
            && student.reasons.last?.contains("(matching.forms_of_one_child is review)") == true,
          "\(id)")
      }
      #expect(try newStudentRows(workdir, batch).isEmpty)
    }
  }
}
