import Foundation
import SISDropFormats

/// Plays the district's SIS for the tests: its tables (the export layout: `students.csv`,
/// `contacts.csv`, `schools.csv`, `attendance_codes.csv`), its import of what sisdrop publishes to
/// the outbox, its import results file, and its full and delta exports.
///
/// The import reads each `<delivery>.ready` in the outbox not imported before, and the CSV files it
/// lists: new students get the next free `Student_Number`, new contacts the next free `Contact_ID`
/// (one per `Contact_Ref`, however many students a delivery links it to), updates set their
/// non-blank fields, and contact rows link the contact to its student (by `Student_Number`, or by
/// the `Student_Ref` of a student this SIS numbered). A row named in `fail` or `skip` (as
/// `table:key`, its results file's table and key: `students:S-1/1`, `contacts:C00108`) is not applied; a row that cannot be applied (an unknown key, a student that was not
/// imported) fails with its reason. Every row gets a line in the results file.
///
/// Its state lives in its folder (the tables, `refs.csv`, `imported.txt`, `changes.csv`), so a test
/// may make a new stand-in on the same folder each night, as a real SIS outlives sisdrop's runs.
package final class SISStandIn {
  package static let studentColumns = [
    "Student_Number", "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB",
    "Gender",
    "Grade_Level", "SchoolID", "Enroll_Status", "Street", "City", "State", "Zip", "Home_Phone",
    "Email",
  ]
  package static let contactColumns = [
    "Contact_ID", "Student_Number", "First_Name", "Last_Name", "Relationship", "Phone", "Email",
    "Street", "City", "State", "Zip",
  ]
  /// The results file's header: the table, the record's key (students: `Student_Ref` of a new one,
  /// `Student_Number` of an update; contacts: `Contact_Ref` of a new one, `Contact_ID` of an
  /// update), ok / failed / skipped, and why.
  package static let resultsHeader = ["Table", "Key", "Status", "Message"]
  /// The column a delta export marks a deleted row with (`Y`).
  package static let deleteColumn = "Deleted"

  package let folder: String
  package private(set) var students: [[String: String]] = []
  package private(set) var contacts: [[String: String]] = []
  /// `Student_Ref` / `Contact_Ref` → the number or id this SIS gave the record it created.
  package private(set) var refs: [String: String] = [:]
  var imported: [String] = []
  /// Keys changed since the last export (`students:NUMBER`, `contacts:ID|NUMBER`), and deleted ones.
  var changed: [String] = []
  var deleted: [String] = []

  /// One row the import read: its table, results key, and what became of it.
  package struct Result: Sendable, Hashable {
    package var table: String
    package var key: String
    package var status: String
    package var message: String
  }

  /// A stand-in over a copy of an SIS export folder (the demo district's `sis/`).
  package static func copying(_ export: String, into folder: String) throws -> SISStandIn {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for name in ["students.csv", "contacts.csv", "schools.csv", "attendance_codes.csv"] {
      try FileManager.default.copyItem(atPath: export + "/" + name, toPath: folder + "/" + name)
    }
    return try SISStandIn(folder: folder)
  }

  /// The stand-in whose state is in `folder`.
  package init(folder: String) throws {
    self.folder = folder
    students = try Self.table(folder + "/students.csv")
    contacts = try Self.table(folder + "/contacts.csv")
    if FileManager.default.fileExists(atPath: folder + "/refs.csv") {
      for row in try csvRows(folder + "/refs.csv").dropFirst() { refs[row[0]] = row[1] }
    }
    if FileManager.default.fileExists(atPath: folder + "/imported.txt") {
      imported = try readText(folder + "/imported.txt").split(separator: "\n").map(String.init)
    }
    if FileManager.default.fileExists(atPath: folder + "/changes.csv") {
      for row in try csvRows(folder + "/changes.csv").dropFirst() {
        if row[0] == "changed" { changed.append(row[1]) } else { deleted.append(row[1]) }
      }
    }
  }

  static func table(_ path: String) throws -> [[String: String]] {
    let rows = try csvRows(path)
    guard let header = rows.first else { return [] }
    return rows.dropFirst().map {
      Dictionary(zip(header, $0), uniquingKeysWith: { first, _ in first })
    }
  }

  // MARK: The import

  /// Imports every delivery in `outbox` not imported yet (oldest ready file first), writes the
  /// results file to `results` when given, and returns every row's result.
  @discardableResult
  package func importOutbox(
    _ outbox: String, fail: Set<String> = [], skip: Set<String> = [], results: String? = nil
  ) throws -> [Result] {
    let ready = try FileManager.default.contentsOfDirectory(atPath: outbox)
      .filter { $0.hasSuffix(".ready") && !$0.hasPrefix(".") && !imported.contains($0) }
      .sorted()
    var all: [Result] = []
    for name in ready {
      let prefix = String(name.dropLast(".ready".count))
      let listed = Set(try csvRows(outbox + "/" + name).dropFirst().map { $0[0] })
      func file(_ kind: String) throws -> [[String: String]] {
        let fileName = "\(prefix)_\(kind).csv"
        guard listed.contains(fileName) else { return [] }
        return try Self.table(outbox + "/" + fileName)
      }
      for row in try file("students_new") {
        all.append(importNewStudent(row, fail: fail, skip: skip))
      }
      for row in try file("students_update") {
        all.append(importStudentUpdate(row, fail: fail, skip: skip))
      }
      for row in try file("contacts_new") {
        all.append(importNewContact(row, fail: fail, skip: skip))
      }
      for row in try file("contacts_update") {
        all.append(importContactUpdate(row, fail: fail, skip: skip))
      }
      imported.append(name)
    }
    try save()
    if let results {
      try Self.replace(
        results, [Self.resultsHeader] + all.map { [$0.table, $0.key, $0.status, $0.message] })
    }
    return all
  }

  /// ok, or why not: a row the test named in `fail` or `skip`.
  func named(_ table: String, _ key: String, fail: Set<String>, skip: Set<String>) -> Result? {
    if fail.contains(table + ":" + key) {
      return Result(
        table: table, key: key, status: "failed",
        message: "rejected by the import (as the test asked)")
    }
    if skip.contains(table + ":" + key) {
      return Result(
        table: table, key: key, status: "skipped",
        message: "skipped by the import (as the test asked)")
    }
    return nil
  }

  func importNewStudent(_ row: [String: String], fail: Set<String>, skip: Set<String>) -> Result {
    let key = row["Student_Ref"] ?? ""
    if let refused = named("students", key, fail: fail, skip: skip) { return refused }
    let number = String(
      format: "%06d", (students.compactMap { Int($0["Student_Number"] ?? "") }.max() ?? 100000) + 1)
    var student: [String: String] = [:]
    for column in Self.studentColumns { student[column] = row[column] ?? "" }
    student["Student_Number"] = number
    if student["Enroll_Status"]?.isEmpty ?? true { student["Enroll_Status"] = "0" }
    students.append(student)
    refs[key] = number
    changed.append("students:" + number)
    return Result(table: "students", key: key, status: "ok", message: "created \(number)")
  }

  func importStudentUpdate(_ row: [String: String], fail: Set<String>, skip: Set<String>) -> Result
  {
    let key = row["Student_Number"] ?? ""
    if let refused = named("students", key, fail: fail, skip: skip) { return refused }
    guard let index = students.firstIndex(where: { $0["Student_Number"] == key }) else {
      return Result(
        table: "students", key: key, status: "failed",
        message: "no student with this Student_Number")
    }
    for column in Self.studentColumns.dropFirst() where !(row[column] ?? "").isEmpty {
      students[index][column] = row[column]
    }
    changed.append("students:" + key)
    return Result(table: "students", key: key, status: "ok", message: "updated")
  }

  /// The SIS number of the student a contact row names: its `Student_Number`, or the student this
  /// SIS created for its `Student_Ref`.
  func studentNumber(_ row: [String: String]) -> String? {
    if let number = row["Student_Number"], !number.isEmpty {
      return students.contains { $0["Student_Number"] == number } ? number : nil
    }
    return refs[row["Student_Ref"] ?? ""]
  }

  func link(_ contact: [String: String], to number: String) {
    guard
      !contacts.contains(where: {
        $0["Contact_ID"] == contact["Contact_ID"] && $0["Student_Number"] == number
      })
    else { return }
    var row = contact
    row["Student_Number"] = number
    contacts.append(row)
    changed.append("contacts:\(contact["Contact_ID"] ?? "")|\(number)")
  }

  func importNewContact(_ row: [String: String], fail: Set<String>, skip: Set<String>) -> Result {
    let key = row["Contact_Ref"] ?? ""
    if let refused = named("contacts", key, fail: fail, skip: skip) { return refused }
    guard let number = studentNumber(row) else {
      return Result(
        table: "contacts", key: key, status: "failed",
        message: "the contact's student is not in the SIS")
    }
    // A contact this SIS already created (an earlier row or delivery with the same Contact_Ref): a link.
    if let id = (row["Contact_ID"].flatMap { $0.isEmpty ? nil : $0 }) ?? refs["contact:" + key],
      var existing = contacts.first(where: { $0["Contact_ID"] == id })
    {
      if let relationship = row["Relationship"], !relationship.isEmpty {
        existing["Relationship"] = relationship
      }
      link(existing, to: number)
      return Result(table: "contacts", key: key, status: "ok", message: "linked \(id) to \(number)")
    }
    let id = String(
      format: "C%05d",
      (contacts.compactMap { Int(($0["Contact_ID"] ?? "").dropFirst()) }.max() ?? 0) + 1)
    var contact: [String: String] = [:]
    for column in Self.contactColumns { contact[column] = row[column] ?? "" }
    contact["Contact_ID"] = id
    refs["contact:" + key] = id
    link(contact, to: number)
    return Result(table: "contacts", key: key, status: "ok", message: "created \(id) for \(number)")
  }

  func importContactUpdate(_ row: [String: String], fail: Set<String>, skip: Set<String>) -> Result
  {
    let key = row["Contact_ID"] ?? ""
    if let refused = named("contacts", key, fail: fail, skip: skip) { return refused }
    guard contacts.contains(where: { $0["Contact_ID"] == key }) else {
      return Result(
        table: "contacts", key: key, status: "failed", message: "no contact with this Contact_ID")
    }
    for index in contacts.indices where contacts[index]["Contact_ID"] == key {
      for column in Self.contactColumns.dropFirst(2) where !(row[column] ?? "").isEmpty {
        contacts[index][column] = row[column]
      }
      changed.append("contacts:\(key)|\(contacts[index]["Student_Number"] ?? "")")
    }
    if let number = studentNumber(row),
      let contact = contacts.first(where: { $0["Contact_ID"] == key })
    {
      link(contact, to: number)
    }
    return Result(table: "contacts", key: key, status: "ok", message: "updated")
  }

  // MARK: Changes made in the SIS itself

  /// Removes a student and its contact links (a record deleted in the SIS).
  package func deleteStudent(_ number: String) throws {
    students.removeAll { $0["Student_Number"] == number }
    deleted.append("students:" + number)
    for contact in contacts where contact["Student_Number"] == number {
      deleted.append("contacts:\(contact["Contact_ID"] ?? "")|\(number)")
    }
    contacts.removeAll { $0["Student_Number"] == number }
    try save()
  }

  /// Sets a student's field (a change made by the district's staff in the SIS).
  package func setStudent(_ number: String, _ field: String, _ value: String) throws {
    guard let index = students.firstIndex(where: { $0["Student_Number"] == number }) else { return }
    students[index][field] = value
    changed.append("students:" + number)
    try save()
  }

  package func student(_ number: String) -> [String: String]? {
    students.first { $0["Student_Number"] == number }
  }

  // MARK: Exports

  /// Writes the whole SIS (every table) into `folder` in the export layout, and starts a new delta.
  /// With `xml`, the XML layout instead (`students.xml`: `<students><student><Student_Number>…`).
  package func exportFull(to folder: String, xml: Bool = false) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    if xml {
      try Self.writeXML(folder + "/students.xml", "student", Self.studentColumns, students)
      try Self.writeXML(folder + "/contacts.xml", "contact", Self.contactColumns, contacts)
      for (name, element) in [("schools", "school"), ("attendance_codes", "attendance_code")] {
        let rows = try csvRows(self.folder + "/\(name).csv")
        try Self.writeXML(
          folder + "/\(name).xml", element, rows[0],
          rows.dropFirst().map { Dictionary(zip(rows[0], $0), uniquingKeysWith: { a, _ in a }) })
      }
    } else {
      try write(folder + "/students.csv", Self.studentColumns, students)
      try write(folder + "/contacts.csv", Self.contactColumns, contacts)
      for name in ["schools.csv", "attendance_codes.csv"] {
        try? FileManager.default.removeItem(atPath: folder + "/" + name)
        try FileManager.default.copyItem(
          atPath: self.folder + "/" + name, toPath: folder + "/" + name)
      }
    }
    changed = []
    deleted = []
    try save()
  }

  /// An XML export file: one `<element>` per row, each column a child element; an empty value is
  /// left out (as an XML export leaves out what it does not have).
  static func writeXML(
    _ path: String, _ element: String, _ columns: [String], _ rows: [[String: String]]
  ) throws {
    func escaped(_ text: String) -> String {
      text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
    }
    var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(element)s>\n"
    for row in rows {
      text += "  <\(element)>"
      for column in columns {
        if let value = row[column], !value.isEmpty {
          text += "<\(column)>\(escaped(value))</\(column)>"
        }
      }
      text += "</\(element)>\n"
    }
    text += "</\(element)s>\n"
    let temporary = path + ".tmp"
    try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    _ = rename(temporary, path)
  }

  /// Writes what changed since the last export (`students_delta.csv`, `contacts_delta.csv`, the
  /// names sisdrop expects by default): each changed row whole, each deleted one as its key with
  /// `Deleted` = `Y`; starts a new delta.
  /// With `xml`, `students_delta.xml` and `contacts_delta.xml`, a deleted row as its key elements
  /// and `<Deleted>Y</Deleted>`.
  package func exportDelta(to folder: String, suffix: String = "_delta", xml: Bool = false) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    func rows(
      _ table: String, _ columns: [String], _ all: [[String: String]],
      key: ([String: String]) -> String
    ) -> [[String: String]] {
      var result: [[String: String]] = []
      var seen = Set<String>()
      for entry in changed where entry.hasPrefix(table + ":") && seen.insert(entry).inserted {
        let wanted = String(entry.dropFirst(table.count + 1))
        if let row = all.first(where: { key($0) == wanted }) { result.append(row) }
      }
      for entry in deleted where entry.hasPrefix(table + ":") && seen.insert(entry).inserted {
        let parts = String(entry.dropFirst(table.count + 1)).split(
          separator: "|", omittingEmptySubsequences: false
        ).map(String.init)
        var row: [String: String] = [Self.deleteColumn: "Y"]
        row[columns[0]] = parts[0]
        if parts.count > 1 { row[columns[1]] = parts[1] }
        result.append(row)
      }
      return result
    }
    let studentRows = rows("students", Self.studentColumns, students) { $0["Student_Number"] ?? "" }
    let contactRows = rows("contacts", Self.contactColumns, contacts) {
      "\($0["Contact_ID"] ?? "")|\($0["Student_Number"] ?? "")"
    }
    if xml {
      try Self.writeXML(
        folder + "/students\(suffix).xml", "student", Self.studentColumns + [Self.deleteColumn],
        studentRows)
      try Self.writeXML(
        folder + "/contacts\(suffix).xml", "contact", Self.contactColumns + [Self.deleteColumn],
        contactRows)
    } else {
      try write(
        folder + "/students\(suffix).csv", Self.studentColumns + [Self.deleteColumn], studentRows)
      try write(
        folder + "/contacts\(suffix).csv", Self.contactColumns + [Self.deleteColumn], contactRows)
    }
    changed = []
    deleted = []
    try save()
  }

  func write(_ path: String, _ columns: [String], _ rows: [[String: String]]) throws {
    try Self.replace(path, [columns] + rows.map { row in columns.map { row[$0] ?? "" } })
  }

  /// Writes a CSV file in place of any earlier one (CSVWriter never overwrites: a new file, then a rename).
  static func replace(_ path: String, _ rows: [[String]]) throws {
    let temporary = path + ".tmp"
    try? FileManager.default.removeItem(atPath: temporary)
    let writer = try CSVWriter(path: temporary)
    for row in rows { try writer.write(row) }
    try writer.close()
    _ = rename(temporary, path)
  }

  func save() throws {
    try write(folder + "/students.csv", Self.studentColumns, students)
    try write(folder + "/contacts.csv", Self.contactColumns, contacts)
    try Self.replace(
      folder + "/refs.csv",
      [["Ref", "SIS_ID"]] + refs.sorted(by: { $0.key < $1.key }).map { [$0.key, $0.value] })
    try Self.replace(
      folder + "/changes.csv",
      [["Change", "Key"]] + changed.map { ["changed", $0] } + deleted.map { ["deleted", $0] })
    try Data(imported.map { $0 + "\n" }.joined().utf8).write(
      to: URL(fileURLWithPath: folder + "/imported.txt"))
  }
}
