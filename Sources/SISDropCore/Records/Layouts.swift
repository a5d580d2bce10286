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

  /// A layout of another module's own (a delta's keys and marker, say).
  package init(
    name: String, fileName: String, recordElement: String, fields: [String], required: Set<String>
  ) {
    self.name = name
    self.fileName = fileName
    self.recordElement = recordElement
    self.fields = fields
    self.required = required
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
    fields: ["School_Number", "Name", "Low_Grade", "High_Grade"],
    required: ["School_Number", "Name"])
  package static let attendanceCodes = Layout(
    name: "attendance_codes", fileName: "attendance_codes.csv", recordElement: "attendance_code",
    fields: ["Att_Code", "Description", FieldName.schoolID, "Presence_Status_CD"],
    required: ["Att_Code", FieldName.schoolID])

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
    fields: [FieldName.submissionID, "Form", "Approved_At"] + submissionStudentFields,
    required: [
      FieldName.submissionID, "Form", "Approved_At", FieldName.firstName, FieldName.lastName,
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
    fields: [FieldName.submissionID, FieldName.docType, FieldName.fileName, "SHA256"],
    required: [FieldName.submissionID, FieldName.docType, FieldName.fileName])

  package static let tardies = Layout(
    name: "tardies", fileName: "tardies.csv", recordElement: "tardy",
    fields: ["Building", FieldName.studentNumber, "Occurred_At", "Reason"],
    required: ["Building", FieldName.studentNumber, "Occurred_At", "Reason"])
  package static let buildingMap = Layout(
    name: "building_map", fileName: "building_map.csv", recordElement: "building",
    fields: ["Raptor_Building", "SIS_School_Number"],
    required: ["Raptor_Building", "SIS_School_Number"])
  package static let tardyCodes = Layout(
    name: "tardy_codes", fileName: "tardy_codes.csv", recordElement: "tardy_code",
    fields: ["Raptor_Reason", "SIS_Att_Code", "Active"],
    required: ["Raptor_Reason", "SIS_Att_Code", "Active"])

  /// The SIS export's layouts, in the order the snapshot loads them.
  package static let sisExport = [students, contacts, schools, attendanceCodes]
  package static let all =
    sisExport + [
      submissions, submissionContacts, submissionDocuments, tardies, buildingMap, tardyCodes,
    ]

  package static func named(_ name: String) -> Layout? { all.first { $0.name == name } }
}
