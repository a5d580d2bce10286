import Foundation
import Testing
import _SISDropDeliveryTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropFormats

/// OneRoster 1.1 CSV, checked against the spec's own column lists (IMS OneRoster v1.1 CSV
/// binding, section 2: each file's columns in this order; required columns marked), not against
/// the writer's table.
@Suite struct OneRosterSpecTests {
  static let spec: [String: (columns: [String], required: Set<String>)] = [
    "orgs.csv": (
      ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
      ["sourcedId", "name", "type"]
    ),
    "users.csv": (
      [
        "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
        "username", "userIds", "givenName",
        "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
        "grades", "password",
      ],
      ["sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"]
    ),
    "demographics.csv": (
      [
        "sourcedId", "status", "dateLastModified", "birthDate", "sex",
        "americanIndianOrAlaskaNative", "asian",
        "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
        "demographicRaceTwoOrMoreRaces",
        "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation",
        "cityOfBirth", "publicSchoolResidenceStatus",
      ],
      ["sourcedId"]
    ),
    "enrollments.csv": (
      [
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
        "userSourcedId", "role", "primary",
        "beginDate", "endDate",
      ],
      ["sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"]
    ),
  ]
  /// The files an enrollment leans on: its class, the class's course and term.
  static let classSpec: [String: (columns: [String], required: Set<String>)] = [
    "academicSessions.csv": (
      [
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
        "parentSourcedId", "schoolYear",
      ],
      ["sourcedId", "title", "type", "startDate", "endDate", "schoolYear"]
    ),
    "courses.csv": (
      [
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
        "grades", "orgSourcedId", "subjects",
        "subjectCodes",
      ],
      ["sourcedId", "title", "orgSourcedId"]
    ),
    "classes.csv": (
      [
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
        "classCode", "classType", "location",
        "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
      ],
      ["sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"]
    ),
  ]
  static let manifestFiles: Set<String> = [
    "file.academicSessions", "file.categories", "file.classes", "file.classResources",
    "file.courses", "file.courseResources",
    "file.demographics", "file.enrollments", "file.lineItems", "file.orgs", "file.resources",
    "file.results", "file.users",
  ]
  static let roles: Set<String> = [
    "administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher",
  ]

  /// OneRoster 1.1 dateTime: ISO 8601 in UTC, `YYYY-MM-DDTHH:MM:SS[.fff]Z`, a real instant.
  static func isOneRosterDateTime(_ text: String) -> Bool {
    guard text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z/) != nil else {
      return false
    }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions =
      text.contains(".")
      ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
    return formatter.date(from: text) != nil
  }

  /// Checks one bundle folder; returns its users by sourcedId.
  @discardableResult
  func checkBundle(_ folder: String, delta: Bool) throws -> [String: [String: String]] {
    let manifest = Dictionary(
      uniqueKeysWithValues: try csvRows(folder + "/manifest.csv").dropFirst().map { ($0[0], $0[1]) }
    )
    #expect(try csvRows(folder + "/manifest.csv")[0] == ["propertyName", "value"])
    #expect(manifest["manifest.version"] == "1.0" && manifest["oneroster.version"] == "1.1")
    #expect(!(manifest["source.systemName"] ?? "").isEmpty)
    #expect(Set(manifest.keys.filter { $0.hasPrefix("file.") }) == Self.manifestFiles)
    for (key, value) in manifest where key.hasPrefix("file.") {
      let file = String(key.dropFirst(5)) + ".csv"
      let present = FileManager.default.fileExists(atPath: folder + "/" + file)
      #expect(value == (present ? (delta ? "delta" : "bulk") : "absent"), "\(key) = \(value)")
    }
    var tables: [String: [[String: String]]] = [:]
    for (file, spec) in Self.spec.merging(Self.classSpec, uniquingKeysWith: { a, _ in a }) {
      let rows = try csvRows(folder + "/" + file)
      // The spec's columns in its order; 1.1 allows extension columns after them, named `metadata.*`.
      #expect(Array(rows[0].prefix(spec.columns.count)) == spec.columns, "\(file) header")
      #expect(
        rows[0].dropFirst(spec.columns.count).allSatisfy { $0.hasPrefix("metadata.") },
        "\(file) extensions")
      tables[file] = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
      for row in tables[file]! {
        for column in spec.required {
          #expect(
            !(row[column] ?? "").isEmpty, "\(file): \(column) empty in \(row["sourcedId"] ?? "")")
        }
        if delta {
          #expect(row["status"] == "active" || row["status"] == "tobedeleted")
          #expect(
            Self.isOneRosterDateTime(row["dateLastModified"] ?? ""),
            "dateLastModified \(row["dateLastModified"] ?? "")")
        } else {
          #expect(
            row["status"] == "" && row["dateLastModified"] == "",
            "bulk: status and dateLastModified blank")
        }
      }
    }
    let users = Dictionary(
      uniqueKeysWithValues: tables["users.csv"]!.map { ($0["sourcedId"]!, $0) })
    let orgs = Set(tables["orgs.csv"]!.map { $0["sourcedId"]! })
    #expect(users.count == tables["users.csv"]!.count, "sourcedIds are unique")
    for user in users.values {
      #expect(Self.roles.contains(user["role"]!))
      #expect(user["enabledUser"] == "true")
      for org in user["orgSourcedIds"]!.split(separator: ",") {
        #expect(orgs.contains(String(org)))
      }
      // An agent is in this bundle, or (delta) an SIS record the district already has.
      for agent in user["agentSourcedIds"]!.split(separator: ",") {
        #expect(
          users[String(agent)] != nil
            || (delta && (agent.hasPrefix("stu-") || agent.hasPrefix("con-"))), "agent \(agent)")
      }
    }
    let classes = Dictionary(
      uniqueKeysWithValues: tables["classes.csv"]!.map { ($0["sourcedId"]!, $0) })
    let courses = Set(tables["courses.csv"]!.map { $0["sourcedId"]! })
    let sessions = Set(tables["academicSessions.csv"]!.map { $0["sourcedId"]! })
    for enrollment in tables["enrollments.csv"]! {
      #expect(
        users[enrollment["userSourcedId"]!] != nil && orgs.contains(enrollment["schoolSourcedId"]!))
      let enrolledIn = classes[enrollment["classSourcedId"]!]
      #expect(
        enrolledIn?["schoolSourcedId"] == enrollment["schoolSourcedId"],
        "the class of \(enrollment["sourcedId"]!)")
      #expect(
        courses.contains(enrolledIn?["courseSourcedId"] ?? "")
          && sessions.contains(enrolledIn?["termSourcedIds"] ?? ""))
      #expect(["homeroom", "scheduled"].contains(enrolledIn?["classType"] ?? ""))
    }
    for demographic in tables["demographics.csv"]! {
      #expect(users[demographic["sourcedId"]!] != nil)
      #expect(CalendarDate(iso: demographic["birthDate"]!) != nil || demographic["birthDate"] == "")
      #expect(["male", "female", ""].contains(demographic["sex"]!))
    }
    return users
  }

  @Test func demoDeliveryFollowsTheSpec() throws {
    try withTemporaryFolder { root in
      let (workdir, summary, config) = try runDemo(root, pipeline: "demo-oneroster-delivery")
      let outbox = workdir.outbox(config)
      let new = try checkBundle(outbox + "/\(summary.batch)_oneroster_new", delta: true)
      let update = try checkBundle(outbox + "/\(summary.batch)_oneroster_update", delta: true)
      // New kindergartners keep an id made from their submission; matched children use their SIS number.
      #expect(
        new["sub-S-2026-0032-1"]?["role"] == "student"
          && new["sub-S-2026-0032-1"]?["grades"] == "KG")
      // Published, so recorded: a later batch that finds the child in the SIS keeps this id.
      let recorded = try workdir.state.database.rows(
        "SELECT ref FROM delivered_ids WHERE sourced_id = 'sub-S-2026-0032-1'")
      #expect(recorded.map { $0[0].string } == ["S-2026-0032/1"])
      #expect(update["stu-108321"]?["identifier"] == "108321")
      // S-2026-0001 moves Student 108321 to grade 2 (the SIS has 1): CEDS "02".
      #expect(update["stu-108321"]?["grades"] == "02")
      #expect(
        Self.isOneRosterDateTime(update["stu-108321"]?["dateLastModified"] ?? "")
          && !Self.isOneRosterDateTime("2026-11-23T"))
    }
  }

  @Test func anUpdateRowIsAWholeRecordAndASchoolMoveEndsTheOldEnrollment() throws {
    try withTemporaryFolder { folder in
      let profile = OneRosterProfile(
        config: OneRosterConfig(mode: .delta, systemName: "x"),
        sidecar: CSVProfile(config: CSVProfileConfig()))
      var moved = DeliveryExamples.update
      moved.changed = ["SchoolID"]
      moved.fields["SchoolID"] = "0202"
      moved.fields["Email"] = ""  // the enrollment left it empty: not a change
      moved.current = [
        "SchoolID": "0101", "Email": "ann@example.org", "First_Name": "Ann", "Last_Name": "Lee",
        "Grade_Level": "4",
        "Contact_IDs": "C7 C8",
      ]
      let context = DeliveryContext(
        prefix: "B1", batchTime: "2026-11-23T10:00:00Z", districtName: "D",
        schools: ["0101": "L", "0202": "R"])
      _ = try profile.write(
        [moved], kinds: DeliveryKind.batchKinds, context: context, folder: folder)
      let users = try checkBundle(folder + "/B1_oneroster_update", delta: true)
      let user = try #require(users["stu-000123"])
      #expect(
        user["email"] == "ann@example.org" && user["orgSourcedIds"] == "org-0202"
          && user["agentSourcedIds"] == "con-C7,con-C8")
      #expect(
        try csvRows(folder + "/B1_oneroster_update/enrollments.csv").dropFirst().map {
          "\($0[0]) \($0[1])"
        }
          == ["enr-stu-000123-0101 tobedeleted", "enr-stu-000123-0202 active"])
      // `primary` marks a class's primary teacher in 1.1: blank for students.
      #expect(
        try csvRows(folder + "/B1_oneroster_update/enrollments.csv").dropFirst().allSatisfy {
          $0[7] == ""
        })
    }
  }

  @Test func idsAreStableAcrossBatches() throws {
    try withTemporaryFolder { folder in
      let profile = OneRosterProfile(
        config: OneRosterConfig(mode: .delta, systemName: "x"),
        sidecar: CSVProfile(config: CSVProfileConfig()))
      let contact = DeliveryRecord(
        kind: .contactsNew, submissionID: "S-1", seq: 2,
        fields: [
          "Student_Ref": "S-1/1", "First_Name": "Pat", "Last_Name": "O'Neil",
          "Relationship": "Mother", "Phone": "217-555-0100",
        ])
      let records = [DeliveryExamples.newStudent, contact]
      for prefix in ["B1", "B2"] {
        let context = DeliveryContext(
          prefix: prefix, batchTime: "2026-11-23T10:00:00Z", districtName: "D",
          schools: ["0101": "Lincoln"])
        _ = try profile.write(
          records, kinds: DeliveryKind.batchKinds, context: context, folder: folder)
      }
      let first = try checkBundle(folder + "/B1_oneroster_new", delta: true)
      let second = try checkBundle(folder + "/B2_oneroster_new", delta: true)
      #expect(
        first.keys.sorted() == ["sub-S-1-1", "sub-S-1-c2"]
          && first.keys.sorted() == second.keys.sorted())
      #expect(
        first["sub-S-1-1"]?["agentSourcedIds"] == "sub-S-1-c2"
          && first["sub-S-1-c2"]?["role"] == "parent")
      #expect(
        first["sub-S-1-c2"]?["metadata.relationship"] == "Mother"
          && first["sub-S-1-1"]?["metadata.stateStudentNumber"] == "0042")
      #expect(first["sub-S-1-1"]?["metadata.zip"] == "01108")
    }
  }

  @Test func bulkModeIsRefusedForBatchDeliveryNamingTheKey() throws {
    try withTemporaryFolder { folder in
      let text = try readText(Checkout.pipeline("demo-oneroster-delivery"))
      #expect(text.contains("mode: delta"))
      let pipeline = try writeFile(
        folder + "/bulk.yaml",
        text.replacingOccurrences(of: "mode: delta", with: "mode: bulk")
          .replacingOccurrences(of: "../Fixtures/demo-district", with: Checkout.demoDistrict))
      let error = try #require(throws: SISDropError.self) {
        try PipelineConfig.load(path: pipeline)
      }
      #expect(
        error.status == .configuration && error.message.contains("delivery.oneroster.mode")
          && error.message.contains("whole roster"))
      #expect(error.location?.path == pipeline && (error.location?.line ?? 0) > 0)
    }
  }
}

/// A child delivered new keeps its sourcedId once the SIS numbers it (StableIDs, state.sqlite).
@Suite struct StableIDTests {
  /// A published delivery's new ids (stable_ids.csv) and documents (documents.csv) are recorded in
  /// one transaction each, with one time: the time is taken once, not once per row.
  @Test func aDeliverysIDsAndDocumentsAreRecordedWholeWithOneTime() throws {
    try withTemporaryFolder { root in
      let (workdir, summary, _) = try runDemo(root)
      let published = Publication.folder(workdir, batch: summary.batch)
      let listed = try csvRows(published + "/" + StableIDs.fileName).dropFirst().map { $0[0] }
      #expect(listed.count > 1)
      let ids = try workdir.state.database.rows(
        "SELECT sourced_id, delivered_at FROM delivered_ids WHERE batch = ? ORDER BY sourced_id",
        [.text(summary.batch)])
      #expect(ids.map { $0[0].string ?? "" } == Set(listed).sorted())
      #expect(Set(ids.map { $0[1].string ?? "" }).count == 1)
      let documents = try workdir.state.database.rows(
        "SELECT count(*), count(DISTINCT delivered_at) FROM delivered_documents WHERE delivery = ?",
        [.text(summary.batch)])
      #expect((documents.first?[0].int ?? 0) > 1 && documents.first?[1].int == 1)
    }
  }

  @Test func aNewChildKeepsItsSourcedIdAfterTheSISNumbersIt() throws {
    try withTemporaryFolder { root in
      let workdir = try WorkDir(root: root)
      let profile = OneRosterProfile(
        config: OneRosterConfig(mode: .delta, systemName: "x"),
        sidecar: CSVProfile(config: CSVProfileConfig()))
      // Batch 1: new child (state id 0042), published.
      try StableIDs.record([DeliveryExamples.newStudent], batch: "B1", state: workdir.state)
      // a rerun records nothing new
      try StableIDs.record([DeliveryExamples.newStudent], batch: "B1", state: workdir.state)
      // Batch 2: another submission for the same child, now SIS student 000777 with that state id; and a guardian of it.
      var update = DeliveryRecord(
        kind: .studentsUpdate, submissionID: "S-5", seq: 1,
        fields: [
          "Student_Ref": "S-5/1", "Student_Number": "000777", "Grade_Level": "1",
          "SchoolID": "0101",
        ],
        changed: ["Grade_Level"])
      update.current = [
        "State_StudentNumber": "0042", "First_Name": "Zoë", "Last_Name": "O'Neil, Jr",
        "SchoolID": "0101",
      ]
      var guardian = DeliveryRecord(
        kind: .contactsUpdate, submissionID: "S-6", seq: 1,
        fields: [
          "Student_Ref": "S-6/1", "Student_Number": "000888", "Contact_ID": "C5",
          "Phone": "217-555-0101",
        ],
        changed: ["Phone"])
      guardian.current = [
        "Student_Numbers": "000777 000888", "First_Name": "Pat", "Last_Name": "Lee",
        "Relationship": "Mother",
      ]
      let ids = try StableIDs.resolve([update, guardian], state: workdir.state)
      #expect(ids == ["stu-000777": "sub-S-1-1"])
      var context = DeliveryExamples.context
      context.sourcedIDs = ids
      _ = try profile.write(
        [update, guardian], kinds: DeliveryKind.batchKinds, context: context, folder: root)
      let rows = try csvRows(root + "/B1_oneroster_update/users.csv")
      let users = Dictionary(
        uniqueKeysWithValues: rows.dropFirst().map {
          ($0[0], Dictionary(uniqueKeysWithValues: zip(rows[0], $0)))
        })
      #expect(users["sub-S-1-1"]?["identifier"] == "000777" && users["stu-000777"] == nil)
      // The guardian's delta row keeps both of its SIS children, the first under its stable id.
      #expect(users["con-C5"]?["agentSourcedIds"] == "sub-S-1-1,stu-000888")
      // Linked now: a later batch finds it directly.
      #expect(try StableIDs.resolve([], state: workdir.state) == ["stu-000777": "sub-S-1-1"])
    }
  }
}
