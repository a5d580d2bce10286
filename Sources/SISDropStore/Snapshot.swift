import Foundation
import SISDropCore
import SISDropFormats

/// An SIS student as the snapshot holds it (normalized, granted fields only).
package struct SnapshotStudent: Sendable, Hashable {
  package var id: String
  package var stateID: String
  package var firstKey: String
  package var lastKey: String
  package var fields: [String: String]
}

package struct SnapshotContact: Sendable, Hashable {
  package var id: String
  package var studentNumber: String
  package var firstKey: String
  package var lastKey: String
  package var fields: [String: String]
}

/// The SIS snapshot: the district's current SIS data in SQLite, what submissions are matched against.
///
/// Built from a full SIS export by `SnapshotBuilder`; read-only afterwards.
package final class Snapshot {
  package let path: String
  package let database: Database
  private let byStateID: Statement
  private let byNameDOB: Statement
  private let byLastDOB: Statement
  private let byLastGender: Statement
  private let contactsOfStudent: Statement
  private let byNumber: Statement

  static let studentColumns = Layouts.studentFields.map { $0.lowercased() }
  static let contactColumns = Layouts.contactFields.map { $0.lowercased() }

  package init(path: String) throws {
    guard FileSystem.exists(path) else {
      throw SISDropError.missingInput(
        path, hint: "the SIS snapshot is missing: rerun normalize with the SIS export in the batch")
    }
    self.path = path
    database = try Database(path: path, readOnly: true)
    let select =
      "SELECT \(Snapshot.studentColumns.joined(separator: ", ")), first_key, last_key FROM students"
    byStateID = try database.prepare(
      "\(select) WHERE state_studentnumber = ? ORDER BY student_number")
    byNameDOB = try database.prepare(
      "\(select) WHERE first_key = ? AND last_key = ? AND dob = ? ORDER BY student_number")
    byLastDOB = try database.prepare(
      "\(select) WHERE last_key = ? AND dob = ? ORDER BY student_number")
    byLastGender = try database.prepare(
      "\(select) WHERE last_key = ? AND gender = ? ORDER BY student_number")
    byNumber = try database.prepare("\(select) WHERE student_number = ?")
    contactsOfStudent = try database.prepare(
      "SELECT \(Snapshot.contactColumns.joined(separator: ", ")), first_key, last_key FROM contacts WHERE student_number = ? ORDER BY contact_id"
    )
  }

  private func students(_ statement: Statement, _ arguments: [SQLValue]) throws -> [SnapshotStudent]
  {
    try statement.bind(arguments)
    var result: [SnapshotStudent] = []
    try statement.forEachRow { row in result.append(Snapshot.student(row)) }
    return result
  }

  private static func student(_ row: Statement.Row) -> SnapshotStudent {
    let count = Layouts.studentFields.count
    let fields = studentRow.fields(row)
    return SnapshotStudent(
      id: row.string(0), stateID: row.string(1), firstKey: row.string(count),
      lastKey: row.string(count + 1), fields: fields)
  }

  private static func contact(_ row: Statement.Row) -> SnapshotContact {
    let count = Layouts.contactFields.count
    let fields = contactRow.fields(row)
    return SnapshotContact(
      id: row.string(0), studentNumber: row.string(1), firstKey: row.string(count),
      lastKey: row.string(count + 1), fields: fields)
  }

  package static let studentRow = RowFields(Layouts.studentFields)
  package static let contactRow = RowFields(Layouts.contactFields)

  /// A row's fields as a dictionary, made from a template that holds every field (as ""): each
  /// column's value is put at the field's place, found once (`places`), instead of hashing the
  /// field's name for every row; a NULL column's field is removed. The same dictionary as
  /// inserting each non-NULL column (`plainFields`, which StoreTests compare it with). Why: the
  /// match stage reads a row for each matched student and each contact of the homes its forms
  /// reach (36,000 contact rows at 100,000 × 10,000, `scripts/bench/match.sh`), and hashing the
  /// names was a third of making them.
  package struct RowFields: Sendable {
    let names: [String]
    let template: [String: String]
    let places: [Dictionary<String, String>.Index]

    init(_ names: [String]) {
      self.names = names
      var template = [String: String](minimumCapacity: names.count)
      for name in names { template[name] = "" }
      self.template = template
      places = names.map { template.index(forKey: $0)! }
    }

    package func fields(_ row: Statement.Row) -> [String: String] {
      var fields = template
      var null = false
      for (index, place) in places.enumerated() {
        if let value = row.text(index) { fields.values[place] = value } else { null = true }
      }
      if null {
        for (index, name) in names.enumerated() where row.text(index) == nil {
          fields.removeValue(forKey: name)
        }
      }
      return fields
    }

    /// The plain form: each non-NULL column inserted by its field's name.
    package func plainFields(_ row: Statement.Row) -> [String: String] {
      var fields = [String: String](minimumCapacity: names.count)
      for (index, field) in names.enumerated() {
        if let v = row.text(index) { fields[field] = v }
      }
      return fields
    }
  }

  /// Many students by number, in one query (a query per student cost ~40 µs each at 10,000).
  package func students(numbers: [String]) throws -> [String: SnapshotStudent] {
    guard !numbers.isEmpty else { return [:] }
    let statement = try database.prepare(
      "SELECT \(Snapshot.studentColumns.joined(separator: ", ")), first_key, last_key FROM students WHERE student_number IN (SELECT value FROM json_each(?))"
    )
    try statement.bind([.text(try Snapshot.jsonList(numbers))])
    var result: [String: SnapshotStudent] = [:]
    try statement.forEachRow { row in
      let student = Snapshot.student(row)
      result[student.id] = student
    }
    return result
  }

  /// The contacts of many students, in one query; each student's in `contact_id` order, as `contacts(ofStudent:)`.
  package func contacts(ofStudents numbers: [String]) throws -> [String: [SnapshotContact]] {
    guard !numbers.isEmpty else { return [:] }
    let statement = try database.prepare(
      "SELECT \(Snapshot.contactColumns.joined(separator: ", ")), first_key, last_key FROM contacts "
        + "WHERE student_number IN (SELECT value FROM json_each(?)) ORDER BY student_number, contact_id"
    )
    try statement.bind([.text(try Snapshot.jsonList(numbers))])
    var result: [String: [SnapshotContact]] = [:]
    try statement.forEachRow { row in
      let contact = Snapshot.contact(row)
      result[contact.studentNumber, default: []].append(contact)
    }
    return result
  }

  /// A list of values as a JSON array, for `IN (SELECT value FROM json_each(?))`.
  package static func jsonList(_ values: [String]) throws -> String {
    String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
  }

  package func student(stateID: String) throws -> SnapshotStudent? {
    try students(byStateID, [.text(stateID)]).first
  }
  package func student(number: String) throws -> SnapshotStudent? {
    try students(byNumber, [.text(number)]).first
  }
  package func students(firstKey: String, lastKey: String, dob: String) throws -> [SnapshotStudent]
  {
    try students(byNameDOB, [.text(firstKey), .text(lastKey), .text(dob)])
  }
  package func students(lastKey: String, dob: String) throws -> [SnapshotStudent] {
    try students(byLastDOB, [.text(lastKey), .text(dob)])
  }
  package func students(lastKey: String, gender: String) throws -> [SnapshotStudent] {
    try students(byLastGender, [.text(lastKey), .text(gender)])
  }

  package func contacts(ofStudent number: String) throws -> [SnapshotContact] {
    try contactsOfStudent.bind([.text(number)])
    var result: [SnapshotContact] = []
    try contactsOfStudent.forEachRow { row in result.append(Snapshot.contact(row)) }
    return result
  }

  /// The grades each school teaches (schools.csv `Low_Grade`/`High_Grade`, PowerSchool's grade
  /// numbers: -2 PK3, -1 PK, 0 K, 1-12), for the schools whose export gives both and in order.
  /// A snapshot built before the columns existed gives none.
  package func schoolGrades() throws -> [String: ClosedRange<Int>] {
    let columns = try database.rows("PRAGMA table_info(schools)").compactMap { $0[1].string }
    guard columns.contains("low_grade") && columns.contains("high_grade") else { return [:] }
    var result: [String: ClosedRange<Int>] = [:]
    for row in try database.rows("SELECT school_number, low_grade, high_grade FROM schools") {
      guard let number = row[0].string,
        let low = row[1].string.flatMap(FieldRules.gradeLevel).flatMap({ Int($0) }),
        let high = row[2].string.flatMap(FieldRules.gradeLevel).flatMap({ Int($0) }), low <= high
      else { continue }
      result[number] = low...high
    }
    return result
  }

  /// School numbers and names, for resolving a submission's `School`.
  package func schools() throws -> [(number: String, name: String)] {
    try database.rows("SELECT school_number, name FROM schools ORDER BY school_number").map {
      ($0[0].string ?? "", $0[1].string ?? "")
    }
  }

  /// A malformed students row the export carried (tolerated by `sis_export.max_rejected_rows`):
  /// what could be read of it, each "" when it could not.
  package struct RejectedRow: Sendable, Hashable {
    package var file: String, line: Int
    package var stateID: String, lastKey: String, dob: String
  }

  /// The malformed students rows left out of this snapshot (none in a snapshot built before they were kept).
  package func rejectedRows() throws -> [RejectedRow] {
    guard
      try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'rejected_rows'").int
        ?? 0 > 0
    else { return [] }
    return try database.rows(
      "SELECT file, line, state_studentnumber, last_key, dob FROM rejected_rows ORDER BY rowid"
    ).map {
      RejectedRow(
        file: $0[0].string ?? "", line: Int($0[1].int ?? 0), stateID: $0[2].string ?? "",
        lastKey: $0[3].string ?? "",
        dob: $0[4].string ?? "")
    }
  }

  package func count(_ table: String) throws -> Int {
    Int(try database.scalar("SELECT count(*) FROM \(table)").int ?? 0)
  }
}

@available(*, unavailable) extension Snapshot: Sendable {}
