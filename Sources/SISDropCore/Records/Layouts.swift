/// The default layouts (README, "The working directory" and "Pipeline files"): one place for every file's field names and required fields.
///
/// In CSV the field names are the header row; in XML they are the child elements of one element
/// per record. A pipeline config maps other header names onto these (`header_aliases`).
package struct Layout: Sendable, Hashable {
  /// The layout's name, as used in the pipeline config (`students`, `submission_contacts`, ...).
  package var name: String
  /// The default CSV file name.
  package var fileName: String
  /// The XML element of one record.
  package var recordElement: String
  package var fields: [String]
  package var required: Set<String>
  /// Whether a pipeline config can map other header names onto these (`header_aliases` of the
  /// SIS export and the enrollment export): a header problem's advice names it only then. The
  /// tardy feed's files have fixed names.
  package var aliasable: Bool

  /// A layout of another module's own (a delta's keys and marker, say).
  package init(
    name: String, fileName: String, recordElement: String, fields: [String], required: Set<String>,
    aliasable: Bool = true
  ) {
    self.name = name
    self.fileName = fileName
    self.recordElement = recordElement
    self.fields = fields
    self.required = required
    self.aliasable = aliasable
  }

  package func index(of field: String) -> Int? { fields.firstIndex(of: field) }
}

/// The field names the layouts share and code across the modules reads or writes by name: one
/// table, so that a field is named once (`record[FieldName.firstName]`, not the string). Inlined
/// literals: reading one costs what the literal cost.
package enum FieldName {
  @inlinable package static var submissionID: String { "Submission_ID" }
  @inlinable package static var studentNumber: String { "Student_Number" }
  @inlinable package static var contactID: String { "Contact_ID" }
  @inlinable package static var stateStudentNumber: String { "State_StudentNumber" }
  @inlinable package static var firstName: String { "First_Name" }
  @inlinable package static var middleName: String { "Middle_Name" }
  @inlinable package static var lastName: String { "Last_Name" }
  @inlinable package static var birthDate: String { "DOB" }
  @inlinable package static var gender: String { "Gender" }
  @inlinable package static var gradeLevel: String { "Grade_Level" }
  @inlinable package static var schoolID: String { "SchoolID" }
  @inlinable package static var enrollStatus: String { "Enroll_Status" }
  @inlinable package static var street: String { "Street" }
  @inlinable package static var city: String { "City" }
  @inlinable package static var state: String { "State" }
  @inlinable package static var zip: String { "Zip" }
  @inlinable package static var homePhone: String { "Home_Phone" }
  @inlinable package static var phone: String { "Phone" }
  @inlinable package static var email: String { "Email" }
  @inlinable package static var relationship: String { "Relationship" }
  @inlinable package static var school: String { "School" }
  @inlinable package static var contactSeq: String { "Contact_Seq" }
  @inlinable package static var docType: String { "Doc_Type" }
  @inlinable package static var fileName: String { "File_Name" }
  @inlinable package static var sha256: String { "SHA256" }
  @inlinable package static var form: String { "Form" }
  @inlinable package static var approvedAt: String { "Approved_At" }
  @inlinable package static var schoolNumber: String { "School_Number" }
  @inlinable package static var name: String { "Name" }
  @inlinable package static var lowGrade: String { "Low_Grade" }
  @inlinable package static var highGrade: String { "High_Grade" }
  @inlinable package static var attCode: String { "Att_Code" }
  @inlinable package static var description: String { "Description" }
  @inlinable package static var presenceStatus: String { "Presence_Status_CD" }
  @inlinable package static var building: String { "Building" }
  @inlinable package static var occurredAt: String { "Occurred_At" }
  @inlinable package static var reason: String { "Reason" }
  @inlinable package static var raptorBuilding: String { "Raptor_Building" }
  @inlinable package static var sisSchoolNumber: String { "SIS_School_Number" }
  @inlinable package static var raptorReason: String { "Raptor_Reason" }
  @inlinable package static var sisAttCode: String { "SIS_Att_Code" }
  @inlinable package static var active: String { "Active" }
}

package enum Layouts {
  package static let studentFields = [
    FieldName.studentNumber, FieldName.stateStudentNumber, FieldName.firstName,
    FieldName.middleName, FieldName.lastName, FieldName.birthDate,
    FieldName.gender,
    FieldName.gradeLevel, FieldName.schoolID, FieldName.enrollStatus, FieldName.street,
    FieldName.city, FieldName.state, FieldName.zip, FieldName.homePhone,
    FieldName.email,
  ]
  package static let contactFields = [
    FieldName.contactID, FieldName.studentNumber, FieldName.firstName, FieldName.lastName,
    FieldName.relationship, FieldName.phone, FieldName.email,
    FieldName.street,
    FieldName.city, FieldName.state, FieldName.zip,
  ]

  package static let students = Layout(
    name: "students", fileName: "students.csv", recordElement: "student", fields: studentFields,
    required: [
      FieldName.studentNumber, FieldName.firstName, FieldName.lastName, FieldName.birthDate,
    ])
  package static let contacts = Layout(
    name: "contacts", fileName: "contacts.csv", recordElement: "contact", fields: contactFields,
    required: [
      FieldName.contactID, FieldName.studentNumber, FieldName.firstName, FieldName.lastName,
    ])
  package static let schools = Layout(
    // Low_Grade/High_Grade (PowerSchool's names, optional): the grades a school teaches.
    name: "schools", fileName: "schools.csv", recordElement: "school",
    fields: [FieldName.schoolNumber, FieldName.name, FieldName.lowGrade, FieldName.highGrade],
    required: [FieldName.schoolNumber, FieldName.name])
  package static let attendanceCodes = Layout(
    name: "attendance_codes", fileName: "attendance_codes.csv", recordElement: "attendance_code",
    fields: [
      FieldName.attCode, FieldName.description, FieldName.schoolID, FieldName.presenceStatus,
    ],
    required: [FieldName.attCode, FieldName.schoolID])

  /// The submission's student fields: the SIS student fields except `Student_Number`, with
  /// `School` (SIS number or building name) in place of `SchoolID` and `Enroll_Status`.
  package static let submissionStudentFields = [
    FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
    FieldName.birthDate, FieldName.gender, FieldName.gradeLevel,
    FieldName.school,
    FieldName.street, FieldName.city, FieldName.state, FieldName.zip, FieldName.homePhone,
    FieldName.email,
  ]
  package static let submissionContactFields = [
    FieldName.firstName, FieldName.lastName, FieldName.relationship, FieldName.phone,
    FieldName.email, FieldName.street, FieldName.city, FieldName.state, FieldName.zip,
  ]

  /// Fields compared for the differences of a matched student or contact (the delivery's student
  /// and contact columns): the fields an update carries.
  package static let comparedStudentFields = [
    FieldName.stateStudentNumber, FieldName.firstName, FieldName.middleName, FieldName.lastName,
    FieldName.birthDate, FieldName.gender, FieldName.gradeLevel,
    FieldName.schoolID, FieldName.enrollStatus,
    FieldName.street, FieldName.city, FieldName.state, FieldName.zip, FieldName.homePhone,
    FieldName.email,
  ]
  package static let comparedContactFields = [
    FieldName.firstName, FieldName.lastName, FieldName.relationship, FieldName.phone,
    FieldName.email, FieldName.street, FieldName.city, FieldName.state, FieldName.zip,
  ]

  package static let submissions = Layout(
    name: "submissions", fileName: "submissions.csv", recordElement: "submission",
    fields: [FieldName.submissionID, FieldName.form, FieldName.approvedAt]
      + submissionStudentFields,
    required: [
      FieldName.submissionID, FieldName.form, FieldName.approvedAt, FieldName.firstName,
      FieldName.lastName,
      FieldName.birthDate,
    ])
  package static let submissionContacts = Layout(
    name: "submission_contacts", fileName: "submission_contacts.csv", recordElement: "contact",
    fields: [FieldName.submissionID, FieldName.contactSeq] + submissionContactFields,
    required: [
      FieldName.submissionID, FieldName.contactSeq, FieldName.firstName, FieldName.lastName,
    ])
  package static let submissionDocuments = Layout(
    name: "submission_documents", fileName: "submission_documents.csv", recordElement: "document",
    fields: [FieldName.submissionID, FieldName.docType, FieldName.fileName, FieldName.sha256],
    required: [FieldName.submissionID, FieldName.docType, FieldName.fileName])

  package static let tardies = Layout(
    name: "tardies", fileName: "tardies.csv", recordElement: "tardy",
    fields: [FieldName.building, FieldName.studentNumber, FieldName.occurredAt, FieldName.reason],
    required: [
      FieldName.building, FieldName.studentNumber, FieldName.occurredAt, FieldName.reason,
    ],
    aliasable: false)
  package static let buildingMap = Layout(
    name: "building_map", fileName: "building_map.csv", recordElement: "building",
    fields: [FieldName.raptorBuilding, FieldName.sisSchoolNumber],
    required: [FieldName.raptorBuilding, FieldName.sisSchoolNumber], aliasable: false)
  package static let tardyCodes = Layout(
    name: "tardy_codes", fileName: "tardy_codes.csv", recordElement: "tardy_code",
    fields: [FieldName.raptorReason, FieldName.sisAttCode, FieldName.active],
    required: [FieldName.raptorReason, FieldName.sisAttCode, FieldName.active], aliasable: false)

  /// The SIS export's layouts, in the order the snapshot loads them.
  package static let sisExport = [students, contacts, schools, attendanceCodes]
  package static let all =
    sisExport + [
      submissions, submissionContacts, submissionDocuments, tardies, buildingMap, tardyCodes,
    ]

  package static func named(_ name: String) -> Layout? { all.first { $0.name == name } }
}
