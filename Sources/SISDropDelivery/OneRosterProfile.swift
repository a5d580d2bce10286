import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats

/// OneRoster 1.1 CSV: a bundle folder per batch for new records (`<batch>_oneroster_new/`) and
/// one for updates (`<batch>_oneroster_update/`), each with `manifest.csv`, `orgs.csv`,
/// `users.csv`, `demographics.csv` and `enrollments.csv`, the spec's columns in the spec's order.
/// An enrollment must name a class: each school gets one homeroom class (with its course and the
/// school year as its term, in `classes.csv`, `courses.csv`, `academicSessions.csv`), so the bundle
/// has no dangling reference.
///
/// `sourcedId`s are derived from what does not change between batches: the SIS number when the
/// SIS has the record, else the enrollment reference (`sub-<submission>-<seq>`), so a record
/// delivered again carries the same id. In delta mode `status` and `dateLastModified` are `active`
/// and the batch's opening time (bulk is refused for batch delivery: a batch is not the whole roster).
/// Fields OneRoster 1.1 has no column for (address, state id, the relationship as given) go in
/// `metadata.*` extension columns at the end of users.csv, as 1.1 allows; documents and attendance
/// (no OneRoster 1.1 file) are written by the CSV profile beside the bundles. Nothing delivered is dropped.
package struct OneRosterProfile: DeliveryProfile {
  let config: OneRosterConfig
  /// The CSV profile, for the files OneRoster 1.1 has no place for: documents and attendance.
  let sidecar: CSVProfile

  /// The OneRoster 1.1 CSV headers, in the spec's order.
  static let headers: [String: [String]] = [
    "manifest.csv": ["propertyName", "value"],
    "orgs.csv": [
      "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
    ],
    "users.csv": [
      "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
      "userIds", "givenName",
      "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
      "grades", "password",
    ] + OneRosterProfile.userExtensions.map(\.column),
    "demographics.csv": [
      "sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative",
      "asian",
      "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
      "demographicRaceTwoOrMoreRaces",
      "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
      "publicSchoolResidenceStatus",
    ],
    "enrollments.csv": [
      "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
      "userSourcedId", "role", "primary",
      "beginDate", "endDate",
    ],
    "academicSessions.csv": [
      "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
      "parentSourcedId", "schoolYear",
    ],
    "courses.csv": [
      "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
      "grades", "orgSourcedId", "subjects",
      "subjectCodes",
    ],
    "classes.csv": [
      "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
      "classType", "location",
      "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
    ],
  ]
  /// Every `file.*` entry of a 1.1 manifest; those not written are `absent`.
  static let manifestFiles = [
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics",
    "enrollments", "lineItems", "orgs", "resources", "results", "users",
  ]
  /// users.csv extension columns (OneRoster 1.1: `metadata.` columns after the spec's): layout field.
  static let userExtensions: [(column: String, field: String)] = [
    ("metadata.stateStudentNumber", FieldName.stateStudentNumber),
    ("metadata.street", FieldName.street),
    ("metadata.city", FieldName.city),
    ("metadata.state", FieldName.state), ("metadata.zip", FieldName.zip),
    ("metadata.relationship", FieldName.relationship),
  ]
  static let written: Set<String> = [
    "academicSessions", "classes", "courses", "demographics", "enrollments", "orgs", "users",
  ]

  /// OneRoster column → layout field, per record kind (what the field policy checks).
  static let studentColumns: [(String, String, String)] = [
    ("users.csv", "orgSourcedIds", FieldName.schoolID),
    ("users.csv", "givenName", FieldName.firstName),
    ("users.csv", "familyName", FieldName.lastName),
    ("users.csv", "middleName", FieldName.middleName),
    ("users.csv", "identifier", FieldName.studentNumber),
    ("users.csv", "email", FieldName.email),
    ("users.csv", "phone", FieldName.homePhone), ("users.csv", "grades", FieldName.gradeLevel),
    ("demographics.csv", "birthDate", FieldName.birthDate),
    ("demographics.csv", "sex", FieldName.gender),
    ("enrollments.csv", "schoolSourcedId", FieldName.schoolID),
    ("users.csv", "metadata.stateStudentNumber", FieldName.stateStudentNumber),
    ("users.csv", "metadata.street", FieldName.street),
    ("users.csv", "metadata.city", FieldName.city),
    ("users.csv", "metadata.state", FieldName.state),
    ("users.csv", "metadata.zip", FieldName.zip),
  ]
  static let contactColumns: [(String, String, String)] = [
    ("users.csv", "givenName", FieldName.firstName),
    ("users.csv", "familyName", FieldName.lastName),
    ("users.csv", "email", FieldName.email),
    ("users.csv", "phone", FieldName.phone), ("users.csv", "role", FieldName.relationship),
    ("users.csv", "identifier", FieldName.contactID),
    ("users.csv", "metadata.relationship", FieldName.relationship),
    ("users.csv", "metadata.street", FieldName.street),
    ("users.csv", "metadata.city", FieldName.city),
    ("users.csv", "metadata.state", FieldName.state), ("users.csv", "metadata.zip", FieldName.zip),
  ]

  package var policyColumns: [PolicyColumn] {
    var columns: [PolicyColumn] = []
    for kind in [DeliveryKind.studentsNew, .studentsUpdate] {
      for (file, column, field) in OneRosterProfile.studentColumns
      where !(kind == .studentsNew && field == FieldName.studentNumber) {
        columns.append(PolicyColumn(file: file, column: column, kind: kind, field: field))
      }
    }
    for kind in [DeliveryKind.contactsNew, .contactsUpdate] {
      for (file, column, field) in OneRosterProfile.contactColumns
      where !(kind == .contactsNew && field == FieldName.contactID) {
        columns.append(PolicyColumn(file: file, column: column, kind: kind, field: field))
      }
    }
    return columns
      + sidecar.policyColumns.filter { $0.kind == .attendance || $0.kind == .documents }
  }

  package func problem(with record: DeliveryRecord) -> DeliveryProblem? {
    record.kind == .attendance || record.kind == .documents ? sidecar.problem(with: record) : nil
  }

  // MARK: Stable ids and codes

  package static func studentID(_ record: DeliveryRecord) -> String {
    let number = record[FieldName.studentNumber]
    return number.isEmpty
      ? "sub-" + record["Student_Ref"].replacingOccurrences(of: "/", with: "-") : "stu-" + number
  }

  package static func contactID(_ record: DeliveryRecord) -> String {
    let id = record[FieldName.contactID]
    let ref = record["Contact_Ref"]
    if !id.isEmpty { return "con-" + id }
    // A new contact named on several forms is one person: the id of the form that creates it.
    return ref.isEmpty
      ? "sub-\(record.submissionID)-c\(record.seq)"
      : "sub-" + ref.replacingOccurrences(of: "/", with: "-c")
  }

  static func orgID(_ school: String) -> String { school.isEmpty ? "" : "org-" + school }

  /// PowerSchool grade level → CEDS grade code (OneRoster's `grades`).
  static func grade(_ level: String) -> String {
    switch level {
    case "": return ""
    case "-2": return "PR"
    case "-1": return "PK"
    case "0": return "KG"
    default: return Int(level).map { $0 < 10 ? "0\($0)" : String($0) } ?? level
    }
  }

  /// OneRoster 1.1 knows `male` and `female` only: `X` is left blank rather than guessed.
  static func sex(_ gender: String) -> String {
    gender == "M" ? "male" : gender == "F" ? "female" : ""
  }

  /// The seed's relationships → OneRoster 1.1 roles.
  static func role(_ relationship: String) -> String {
    switch relationship.lowercased() {
    case "mother", "father", "parent", "stepmother", "stepfather": return "parent"
    case "guardian", "legal guardian": return "guardian"
    default: return "relative"
    }
  }

  /// The school year a time falls in, by its ending year (OneRoster's `schoolYear`): July to June.
  static func schoolYear(_ iso: String) -> Int {
    let parts = iso.prefix(10).split(separator: "-").compactMap { Int($0) }
    guard parts.count == 3 else { return 0 }
    return parts[1] >= 7 ? parts[0] + 1 : parts[0]
  }

  // MARK: Writing

  package func write(
    _ records: [DeliveryRecord], kinds: [DeliveryKind], context: DeliveryContext, folder: String
  ) throws -> [WrittenFile] {
    var written: [WrittenFile] = []
    let kindSet = Set(kinds)
    // A new child's SIS guardian (a matched contact): the child names it as an agent in the new
    // bundle; the contact's own row goes in the update bundle only when it changes something.
    let links = records.filter { $0.kind == .contactsUpdate && $0[FieldName.studentNumber].isEmpty }
    if kindSet.contains(.studentsNew) || kindSet.contains(.contactsNew) {
      written += try bundle(
        records.filter { $0.kind == .studentsNew || $0.kind == .contactsNew }, update: false,
        context: context,
        folder: folder, name: "\(context.prefix)_oneroster_new", links: links)
    }
    if kindSet.contains(.studentsUpdate) || kindSet.contains(.contactsUpdate) {
      written += try bundle(
        records.filter {
          ($0.kind == .studentsUpdate || $0.kind == .contactsUpdate)
            && !($0.changed.isEmpty && $0[FieldName.studentNumber].isEmpty)
        },
        update: true, context: context, folder: folder, name: "\(context.prefix)_oneroster_update")
    }
    // OneRoster 1.1 has no file for documents or attendance: the CSV profile writes them.
    let sidecarKinds = kinds.filter { $0 == .documents || $0 == .attendance }
    if !sidecarKinds.isEmpty {
      written += try sidecar.write(records, kinds: sidecarKinds, context: context, folder: folder)
    }
    return written
  }

  private func bundle(
    _ records: [DeliveryRecord], update: Bool, context: DeliveryContext, folder: String,
    name: String,
    links: [DeliveryRecord] = []
  ) throws -> [WrittenFile] {
    var rows = OneRosterRows(update: update, context: context)
    let students = records.filter { $0.kind == .studentsNew || $0.kind == .studentsUpdate }
    let contacts = OneRosterContacts(records, update: update, links: links, rows: rows)
    for student in students {
      rows.addStudent(student, agents: contacts.agentsOfStudent[student["Student_Ref"]] ?? [])
    }
    var schoolOfRef: [String: String] = [:]
    for student in students { schoolOfRef[student["Student_Ref"]] = student[FieldName.schoolID] }
    for id in contacts.order {
      guard let contact = contacts.records[id] else { continue }
      rows.addContact(
        contact, id: id,
        school: schoolOfRef[contact["Student_Ref"]] ?? contact["Student_SchoolID"],
        students: contacts.studentsOfContact[id] ?? [])
    }
    let homerooms = rows.homerooms()
    let directory = folder + "/" + name
    try FileSystem.makeDirectory(directory)
    var written: [WrittenFile] = []
    for (file, fileRows) in [
      ("manifest.csv", manifest(context)), ("academicSessions.csv", homerooms.sessions),
      ("orgs.csv", rows.orgs()), ("courses.csv", homerooms.courses),
      ("classes.csv", homerooms.classes), ("users.csv", rows.users),
      ("demographics.csv", rows.demographics), ("enrollments.csv", rows.enrollments),
    ] {
      let writer = try CSVWriter(
        path: directory + "/" + file, options: CSVWriterOptions(lineEnding: .crlf))
      try writer.write(OneRosterProfile.headers[file] ?? [])
      for row in fileRows { try writer.write(row) }
      try writer.close()
      written.append(WrittenFile(name: name + "/" + file, rows: fileRows.count))
    }
    return written
  }

  /// manifest.csv: the files a delta bundle carries, and the source system.
  private func manifest(_ context: DeliveryContext) -> [[String]] {
    var manifest: [[String]] = [["manifest.version", "1.0"], ["oneroster.version", "1.1"]]
    for file in OneRosterProfile.manifestFiles {
      manifest.append([
        "file.\(file)", OneRosterProfile.written.contains(file) ? "delta" : "absent",
      ])
    }
    manifest.append(["source.systemName", config.systemName])
    manifest.append(["source.systemCode", context.prefix])
    return manifest
  }
}

/// A bundle's contacts: they come once per student they belong to, and each is one OneRoster
/// user, agent of all of them.
private struct OneRosterContacts {
  /// The contacts' ids in the order they first come.
  var order: [String] = []
  /// Each contact's first record.
  var records: [String: DeliveryRecord] = [:]
  /// A student's contacts in this bundle (by Student_Ref), links to SIS guardians included.
  var agentsOfStudent: [String: [String]] = [:]
  /// A contact's students in this bundle.
  var studentsOfContact: [String: [String]] = [:]

  init(
    _ bundleRecords: [DeliveryRecord], update: Bool, links: [DeliveryRecord], rows: OneRosterRows
  ) {
    for contact in bundleRecords
    where contact.kind == .contactsNew || contact.kind == .contactsUpdate {
      let id = rows.stable(OneRosterProfile.contactID(contact))
      if records[id] == nil {
        order.append(id)
        records[id] = contact
      }
      let studentID = rows.stable(
        OneRosterProfile.studentID(
          DeliveryRecord(
            kind: .studentsNew, submissionID: contact.submissionID, seq: 0,
            fields: [
              FieldName.studentNumber: contact[FieldName.studentNumber],
              "Student_Ref": contact["Student_Ref"],
            ])))
      agentsOfStudent[contact["Student_Ref"], default: []].append(id)
      // A new child lives in the new bundle, which names this contact as its agent.
      if update && contact[FieldName.studentNumber].isEmpty { continue }
      studentsOfContact[id, default: []].append(studentID)
    }
    for link in links {
      agentsOfStudent[link["Student_Ref"], default: []].append(
        rows.stable(OneRosterProfile.contactID(link)))
    }
  }
}

/// The rows of one OneRoster bundle as its records are added: users (students, then contacts),
/// demographics, enrollments, and the schools they name (for orgs and homerooms).
private struct OneRosterRows {
  let update: Bool
  let context: DeliveryContext
  /// Delta only (bulk is refused at config time): every row is `active` (or `tobedeleted`) as of
  /// the batch's opening.
  let status = "active"
  let modified: String
  var users: [[String]] = []
  var demographics: [[String]] = []
  var enrollments: [[String]] = []
  var schools = Set<String>()

  init(update: Bool, context: DeliveryContext) {
    self.update = update
    self.context = context
    modified = context.batchTime
  }

  /// Whether a field changed (every field of a new record counts as changed).
  func keep(_ record: DeliveryRecord, _ field: String) -> Bool {
    !update || record.changed.contains(field)
  }

  /// A OneRoster row is a whole record (a delta row replaces the record it names): an update's
  /// unchanged fields carry the SIS's current values, never blanks that would erase them.
  func value(_ record: DeliveryRecord, _ field: String) -> String {
    keep(record, field) ? record[field] : record.current(field) ?? record[field]
  }

  /// The id a record was first delivered under, when a later batch found it in the SIS.
  func stable(_ id: String) -> String { context.sourcedIDs[id] ?? id }

  /// A student's user row (agents: the SIS contacts the student already has, and `contacts` of
  /// this bundle), its demographics when they change, and its enrollment when its school does.
  mutating func addStudent(_ student: DeliveryRecord, agents contacts: [String]) {
    let id = stable(OneRosterProfile.studentID(student))
    let school = value(student, FieldName.schoolID)
    if !school.isEmpty { schools.insert(school) }
    var agents = (student.current("Contact_IDs") ?? "").split(separator: " ").map {
      stable("con-\($0)")
    }
    for agent in contacts where !agents.contains(agent) {
      agents.append(agent)
    }
    users.append(
      [
        id, status, modified, "true", OneRosterProfile.orgID(school), "student", id,
        student[FieldName.studentNumber].isEmpty ? "" : "{SIS:\(student[FieldName.studentNumber])}",
        value(student, FieldName.firstName), value(student, FieldName.lastName),
        value(student, FieldName.middleName),
        student[FieldName.studentNumber], value(student, FieldName.email), "",
        value(student, FieldName.homePhone),
        agents.joined(separator: ","),
        OneRosterProfile.grade(value(student, FieldName.gradeLevel)), "",
      ]
        + OneRosterProfile.userExtensions.map {
          $0.field == FieldName.relationship ? "" : value(student, $0.field)
        })
    if keep(student, FieldName.birthDate) || keep(student, FieldName.gender) {
      demographics.append(
        [
          id, status, modified, value(student, FieldName.birthDate),
          OneRosterProfile.sex(value(student, FieldName.gender)),
        ] + Array(repeating: "", count: 11))
    }
    if keep(student, FieldName.schoolID) && !school.isEmpty {
      // `primary` is left blank: in OneRoster 1.1 it marks a class's primary teacher, not a student.
      // A move between schools (delta): the old enrollment ends, the new one begins.
      if let old = student.current(FieldName.schoolID), !old.isEmpty, old != school {
        schools.insert(old)
        enrollments.append([
          "enr-\(id)-\(old)", "tobedeleted", modified, "homeroom-\(old)",
          OneRosterProfile.orgID(old), id, "student", "", "", "",
        ])
      }
      enrollments.append([
        "enr-\(id)-\(school)", status, modified, "homeroom-\(school)",
        OneRosterProfile.orgID(school), id, "student", "", "", "",
      ])
    }
  }

  /// A contact's user row. Agents: the SIS students the contact already has (a delta row replaces
  /// the whole record: leaving them out would unlink this guardian's other children), and
  /// `students` of this bundle.
  mutating func addContact(
    _ contact: DeliveryRecord, id: String, school: String, students: [String]
  ) {
    var agents = (contact.current("Student_Numbers") ?? "").split(separator: " ").map {
      stable("stu-\($0)")
    }
    for student in students where !agents.contains(student) {
      agents.append(student)
    }
    users.append(
      [
        id, status, modified, "true", OneRosterProfile.orgID(school),
        OneRosterProfile.role(value(contact, FieldName.relationship)), id,
        contact[FieldName.contactID].isEmpty ? "" : "{SIS:\(contact[FieldName.contactID])}",
        value(contact, FieldName.firstName), value(contact, FieldName.lastName), "",
        contact[FieldName.contactID], value(contact, FieldName.email), "",
        value(contact, FieldName.phone),
        agents.joined(separator: ","), "", "",
      ]
        + OneRosterProfile.userExtensions.map {
          $0.field == FieldName.stateStudentNumber ? "" : value(contact, $0.field)
        })
  }

  /// The district and every school the rows name.
  func orgs() -> [[String]] {
    var orgs: [[String]] = [
      ["org-district", status, modified, context.districtName, "district", "", ""]
    ]
    for school in schools.sorted() {
      orgs.append([
        OneRosterProfile.orgID(school), status, modified, context.schools[school] ?? school,
        "school", school, "org-district",
      ])
    }
    return orgs
  }

  /// The homeroom class (and its course) of each school an enrollment names, in the school year
  /// of the batch.
  func homerooms() -> (sessions: [[String]], courses: [[String]], classes: [[String]]) {
    let year = OneRosterProfile.schoolYear(context.batchTime)
    let session = "sy-\(year)"
    let enrolled = Set(enrollments.map { $0[4] }).sorted()
    let sessions: [[String]] =
      enrolled.isEmpty
      ? []
      : [
        [
          session, status, modified, "\(year - 1)-\(year)", "schoolYear", "\(year - 1)-07-01",
          "\(year)-06-30", "", String(year),
        ]
      ]
    var courses: [[String]] = []
    var classes: [[String]] = []
    for org in enrolled {
      let school = String(org.dropFirst(4))
      let name = context.schools[school] ?? school
      courses.append([
        "course-homeroom-\(school)", status, modified, session, "Homeroom", "HR-\(school)", "",
        org, "", "",
      ])
      classes.append([
        "homeroom-\(school)", status, modified, "Homeroom, \(name)", "",
        "course-homeroom-\(school)", "HR-\(school)",
        "homeroom", "", org, session, "", "", "",
      ])
    }
    return (sessions, courses, classes)
  }
}
