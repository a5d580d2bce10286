/// The default layouts (README, "The working directory" and "Pipeline files"): one place for every file's field names and required fields.
///
/// In CSV the field names are the header row; in XML they are the child elements of one element
/// per record. A pipeline config maps other header names onto these (`header_aliases`).
public struct Layout: Sendable, Hashable {
  /// The layout's name, as used in the pipeline config (`students`, `submission_contacts`, ...).
  public var name: String
  /// The default CSV file name.
  public var fileName: String
  /// The XML element of one record.
  public var recordElement: String
  public var fields: [String]
  public var required: Set<String>

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

  public func index(of field: String) -> Int? { fields.firstIndex(of: field) }
}

public enum Layouts {
  public static let studentFields = [
    "Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB",
    "Gender",
    "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip", "Home_Phone",
    "Email",
  ]
  public static let contactFields = [
    "Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone", "Email",
    "Street",
    "City", "State", "Zip",
  ]

  public static let students = Layout(
    name: "students", fileName: "students.csv", recordElement: "student", fields: studentFields,
    required: ["Student_Number", "First_Name", "Last_Name", "DOB"])
  public static let contacts = Layout(
    name: "contacts", fileName: "contacts.csv", recordElement: "contact", fields: contactFields,
    required: ["Contact_ID", "Student_Number", "First_Name", "Last_Name"])
  public static let schools = Layout(
    // Low_Grade/High_Grade (PowerSchool's names, optional): the grades a school teaches.
    name: "schools", fileName: "schools.csv", recordElement: "school",
    fields: ["School_Number", "Name", "Low_Grade", "High_Grade"],
    required: ["School_Number", "Name"])
  public static let attendanceCodes = Layout(
    name: "attendance_codes", fileName: "attendance_codes.csv", recordElement: "attendance_code",
    fields: ["Att_Code", "Description", "SchoolID", "Presence_Status_CD"],
    required: ["Att_Code", "SchoolID"])

  /// The submission's student fields: the SIS student fields except `Student_Number`, with
  /// `School` (SIS number or building name) in place of `SchoolID` and `Enroll_Status`.
  public static let submissionStudentFields = [
    "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender", "Grade_Level",
    "School",
    "Street", "City", "State", "Zip", "Home_Phone", "Email",
  ]
  public static let submissionContactFields = [
    "First_Name", "Last_Name", "Relationship", "Phone", "Email", "Street", "City", "State", "Zip",
  ]

  /// Fields compared for the differences of a matched student or contact (the delivery's student
  /// and contact columns): the fields an update carries.
  public static let comparedStudentFields = [
    "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender", "Grade_Level",
    "SchoolID", "Enroll_Status",
    "Street", "City", "State", "Zip", "Home_Phone", "Email",
  ]
  public static let comparedContactFields = [
    "First_Name", "Last_Name", "Relationship", "Phone", "Email", "Street", "City", "State", "Zip",
  ]

  public static let submissions = Layout(
    name: "submissions", fileName: "submissions.csv", recordElement: "submission",
    fields: ["Submission_ID", "Form", "Approved_At"] + submissionStudentFields,
    required: ["Submission_ID", "Form", "Approved_At", "First_Name", "Last_Name", "DOB"])
  public static let submissionContacts = Layout(
    name: "submission_contacts", fileName: "submission_contacts.csv", recordElement: "contact",
    fields: ["Submission_ID", "Contact_Seq"] + submissionContactFields,
    required: ["Submission_ID", "Contact_Seq", "First_Name", "Last_Name"])
  public static let submissionDocuments = Layout(
    name: "submission_documents", fileName: "submission_documents.csv", recordElement: "document",
    fields: ["Submission_ID", "Doc_Type", "File_Name", "SHA256"],
    required: ["Submission_ID", "Doc_Type", "File_Name"])

  public static let tardies = Layout(
    name: "tardies", fileName: "tardies.csv", recordElement: "tardy",
    fields: ["Building", "Student_Number", "Occurred_At", "Reason"],
    required: ["Building", "Student_Number", "Occurred_At", "Reason"])
  public static let buildingMap = Layout(
    name: "building_map", fileName: "building_map.csv", recordElement: "building",
    fields: ["Raptor_Building", "SIS_School_Number"],
    required: ["Raptor_Building", "SIS_School_Number"])
  public static let tardyCodes = Layout(
    name: "tardy_codes", fileName: "tardy_codes.csv", recordElement: "tardy_code",
    fields: ["Raptor_Reason", "SIS_Att_Code", "Active"],
    required: ["Raptor_Reason", "SIS_Att_Code", "Active"])

  /// The SIS export's layouts, in the order the snapshot loads them.
  public static let sisExport = [students, contacts, schools, attendanceCodes]
  public static let all =
    sisExport + [
      submissions, submissionContacts, submissionDocuments, tardies, buildingMap, tardyCodes,
    ]

  public static func named(_ name: String) -> Layout? { all.first { $0.name == name } }
}
