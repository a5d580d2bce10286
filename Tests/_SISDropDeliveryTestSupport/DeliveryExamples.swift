import SISDropDelivery

/// Small records written by each profile: every byte of what they produce can be checked by eye.
package enum DeliveryExamples {
  /// A new student with an accent, an apostrophe and a comma in her names, and leading zeros.
  package static let newStudent = DeliveryRecord(
    kind: .studentsNew, submissionID: "S-1", seq: 1,
    fields: [
      "Submission_ID": "S-1", "Student_Ref": "S-1/1", "First_Name": "Zoë",
      "Last_Name": "O'Neil, Jr", "DOB": "2015-07-04",
      "Gender": "F", "Grade_Level": "0", "SchoolID": "0101", "Zip": "01108",
      "State_StudentNumber": "0042",
    ])
  /// An update that changes the grade and the street only.
  package static let update = DeliveryRecord(
    kind: .studentsUpdate, submissionID: "S-2", seq: 1,
    fields: [
      "Submission_ID": "S-2", "Student_Ref": "S-2/1", "Student_Number": "000123",
      "First_Name": "Ann", "Last_Name": "Lee",
      "DOB": "2014-01-02", "Grade_Level": "4", "SchoolID": "0101", "Street": "1 <Main> & Co",
    ],
    changed: ["Grade_Level", "Street"])
  package static let context = DeliveryContext(
    prefix: "B1", batchTime: "2026-11-23T10:00:00Z", districtName: "D", schools: ["0101": "Lincoln"]
  )
}
