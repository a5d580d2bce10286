import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropMatching

/// Whatever delivered.csv says was delivered is in the files, in every profile: each document,
/// and each changed field of each update, with the value the enrollment sent. Checked against
/// each format's own shape (OneRoster columns from the 1.1 spec plus `metadata.*` extensions),
/// not against the writer's tables.
@Suite struct DeliveredContentTests {
  /// Layout field → OneRoster users.csv column (1.1 spec names; extensions as `metadata.*`) and how its value is written.
  static let oneRosterUserColumn: [String: (column: String, value: @Sendable (String) -> String)] =
    [
      "First_Name": ("givenName", { $0 }), "Last_Name": ("familyName", { $0 }),
      "Middle_Name": ("middleName", { $0 }),
      "Email": ("email", { $0 }), "Home_Phone": ("phone", { $0 }), "Phone": ("phone", { $0 }),
      "Grade_Level": (
        "grades",
        { Int($0).map { $0 >= 1 && $0 < 10 ? "0\($0)" : $0 == 0 ? "KG" : String($0) } ?? $0 }
      ),
      "SchoolID": ("orgSourcedIds", { "org-" + $0 }), "Street": ("metadata.street", { $0 }),
      "City": ("metadata.city", { $0 }),
      "State": ("metadata.state", { $0 }), "Zip": ("metadata.zip", { $0 }),
      "State_StudentNumber": ("metadata.stateStudentNumber", { $0 }),
      "Relationship": ("metadata.relationship", { $0 }),
    ]

  /// One XML file's record elements, as raw text chunks.
  func xmlRecords(_ path: String, element: String) throws -> [String] {
    try readText(path).components(separatedBy: "<\(element)>").dropFirst().map {
      $0.components(separatedBy: "</\(element)>")[0]
    }
  }

  func rowsByHeader(_ path: String) throws -> [[String: String]] {
    let rows = try csvRows(path)
    return rows.dropFirst().map { Dictionary(zip(rows[0], $0), uniquingKeysWith: { a, _ in a }) }
  }

  @Test(arguments: [
    ("demo", "csv"), ("demo-oneroster-delivery", "oneroster"), ("demo-xml-delivery", "xml"),
  ])
  func everyDeliveredDocumentAndChangedFieldIsInTheFiles(pipeline: String, profile: String) throws {
    try withTemporaryFolder { root in
      let (workdir, summary, config) = try runDemo(root, pipeline: pipeline)
      let batch = summary.batch
      let outbox = workdir.outbox(config)
      let deliver = workdir.stageFolder(batch, .deliver)
      let delivered = Set(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] })
      let submissions = Dictionary(
        uniqueKeysWithValues: try JSONLines.read(
          Submission.self, from: workdir.stageFolder(batch, .normalize) + "/submissions.jsonl"
        ).map { ($0.id, $0) })
      let decisions = try JSONLines.read(
        SubmissionDecision.self, from: workdir.stageFolder(batch, .match) + "/decisions.jsonl"
      )
      .filter { delivered.contains($0.submissionID) }
      let csv = CSVProfile(config: config.csvProfile)
      var documents = 0
      var changes = 0

      // Documents: the CSV layout's documents file in csv and OneRoster (1.1 has no documents file), XML elements otherwise.
      for id in delivered.sorted() {
        for document in submissions[id]?.documents ?? [] {
          documents += 1
          let name = document["File_Name"]
          if profile == "xml" {
            let found = try xmlRecords(outbox + "/\(batch)_documents.xml", element: "document")
              .contains {
                $0.contains("<Submission_ID>\(id)</Submission_ID>")
                  && $0.contains("<File_Name>\(BatchReport.escape(name))</File_Name>")
              }
            #expect(found, "\(profile): document \(name) of \(id)")
          } else {
            let found = try rowsByHeader(outbox + "/\(batch)_documents.csv").contains {
              $0["Submission_ID"] == id && $0["File_Name"] == name
            }
            #expect(found, "\(profile): document \(name) of \(id)")
          }
        }
      }

      // Changed fields of updated students and contacts.
      let users =
        profile == "oneroster"
        ? Dictionary(
          try rowsByHeader(outbox + "/\(batch)_oneroster_update/users.csv").map {
            ($0["sourcedId"] ?? "", $0)
          }, uniquingKeysWith: { a, _ in a })
        : [:]
      let demographics =
        profile == "oneroster"
        ? Dictionary(
          try rowsByHeader(outbox + "/\(batch)_oneroster_update/demographics.csv").map {
            ($0["sourcedId"] ?? "", $0)
          }, uniquingKeysWith: { a, _ in a })
        : [:]
      func check(
        kind: DeliveryKind, key: String, keyValue: String, sourcedID: String, field: String,
        value: String
      ) throws {
        changes += 1
        switch profile {
        case "csv":
          let found = try rowsByHeader(outbox + "/\(batch)_\(kind.rawValue).csv").contains {
            $0[key] == keyValue && $0[field] == csv.value(field, value)
          }
          #expect(found, "csv: \(kind.rawValue) \(keyValue) \(field)=\(value)")
        case "xml":
          let found = try xmlRecords(
            outbox + "/\(batch)_\(kind.rawValue).xml", element: kind.element
          ).contains {
            $0.contains("<\(key)>\(keyValue)</\(key)>")
              && $0.contains("<\(field)>\(BatchReport.escape(value))</\(field)>")
          }
          #expect(found, "xml: \(kind.rawValue) \(keyValue) \(field)=\(value)")
        default:
          if field == "DOB" || field == "Gender" {
            let column = field == "DOB" ? "birthDate" : "sex"
            let expected =
              field == "DOB" ? value : (value == "M" ? "male" : value == "F" ? "female" : "")
            #expect(
              demographics[sourcedID]?[column] == expected, "oneroster: \(sourcedID) \(column)")
          } else {
            let mapping = try #require(
              Self.oneRosterUserColumn[field], "no OneRoster column for \(field)")
            #expect(
              users[sourcedID]?[mapping.column] == mapping.value(value),
              "oneroster: \(sourcedID) \(mapping.column) for \(field)=\(value)")
          }
        }
      }
      for decision in decisions {
        for student in decision.students where student.decision.outcome == .matched {
          let number = student.decision.sisID ?? ""
          for difference in student.differences where !difference.enrollment.isEmpty {
            try check(
              kind: .studentsUpdate, key: "Student_Number", keyValue: number,
              sourcedID: "stu-" + number,
              field: difference.field, value: difference.enrollment)
          }
        }
        for contact in decision.contacts where contact.outcome == .matched {
          let id = contact.contactID ?? ""
          for difference in contact.differences where !difference.enrollment.isEmpty {
            try check(
              kind: .contactsUpdate, key: "Contact_ID", keyValue: id, sourcedID: "con-" + id,
              field: difference.field, value: difference.enrollment)
          }
        }
      }
      // The demo has both, or this test checks nothing.
      #expect(documents > 20 && changes > 10, "\(documents) documents, \(changes) changed fields")
    }
  }
}
