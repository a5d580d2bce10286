import Foundation
import SISDropCore
import SISDropDelivery
import SISDropStore

/// Identifiers that stay the same across batches (OneRoster's `sourcedId`).
///
/// A new child is delivered as `sub-<submission>-<seq>` (the SIS has no number yet); a new contact
/// as `sub-<submission>-c<seq>`. Table `delivered_ids` in state.sqlite keeps every such id once it
/// is published. When a later batch finds that child in the SIS (the same Student_Ref matched, or
/// an SIS student with the state id it was delivered with), the SIS number is linked to the id and
/// every later delivery keeps using it, so a consumer keyed by sourcedId never gets a second user.
enum StableIDs {
  /// Default id (`stu-<number>`, `con-<id>`) → the id it was first delivered under, for the records
  /// of a delivery and the SIS records they name as agents. Links SIS numbers found on the way.
  static func resolve(_ records: [DeliveryRecord], state: StateStore) throws -> [String: String] {
    var ids: [String: String] = [:]
    for row in try state.database.rows(
      "SELECT kind, sis_id, sourced_id FROM delivered_ids WHERE sis_id != ''")
    {
      ids[(row[0].string == "contact" ? "con-" : "stu-") + (row[1].string ?? "")] = row[2].string
    }
    for record in records where record.kind.isUpdate {
      let student = record.kind == .studentsUpdate
      let sisID = student ? record[FieldName.studentNumber] : record[FieldName.contactID]
      let key = (student ? "stu-" : "con-") + sisID
      guard !sisID.isEmpty, ids[key] == nil else { continue }
      let ref = student ? record["Student_Ref"] : "\(record.submissionID)/c\(record.seq)"
      var found = try state.database.rows(
        "SELECT sourced_id FROM delivered_ids WHERE kind = ? AND ref = ? AND sis_id = ''",
        [.text(student ? "student" : "contact"), .text(ref)])
      // The SIS's state id for the child, as delivered: the SIS took our new record and numbered it.
      let stateID =
        record.current(FieldName.stateStudentNumber) ?? record[FieldName.stateStudentNumber]
      if found.isEmpty, student, !stateID.isEmpty {
        found = try state.database.rows(
          "SELECT sourced_id FROM delivered_ids WHERE kind = 'student' AND state_id = ? AND sis_id = ''",
          [.text(stateID)])
      }
      // none, or ambiguous: the default id
      guard found.count == 1, let id = found[0][0].string else { continue }
      try state.database.execute(
        "UPDATE delivered_ids SET sis_id = ? WHERE sourced_id = ?", [.text(sisID), .text(id)])
      ids[key] = id
    }
    return ids
  }

  /// The file a delivery folder keeps its new records' ids in, written with the delivery files:
  /// the publisher records them from it before the ready file is visible, and `rebuild-state` reads it.
  static let fileName = "stable_ids.csv"
  static let header = ["Sourced_ID", "Kind", "Ref", "State_ID"]

  /// The ids a delivery gives its new students and contacts, as rows of `stable_ids.csv`.
  static func rows(_ records: [DeliveryRecord]) -> [[String]] {
    var rows: [[String]] = []
    for record in records where record.kind == .studentsNew || record.kind == .contactsNew {
      let student = record.kind == .studentsNew
      let id = student ? OneRosterProfile.studentID(record) : OneRosterProfile.contactID(record)
      guard id.hasPrefix("sub-") else { continue }
      rows.append([
        id, student ? "student" : "contact",
        student ? record["Student_Ref"] : "\(record.submissionID)/c\(record.seq)",
        student ? record[FieldName.stateStudentNumber] : "",
      ])
    }
    return rows.sorted { $0[0] < $1[0] }
  }

  /// Records the ids a delivery folder lists (once; a rerun changes nothing), in one transaction.
  /// Called before the folder's ready file is published, and again by every recovery path.
  static func record(folder: String, batch: String, state: StateStore) throws {
    // The records the SIS must show, for confirmation: recorded on every path that records the ids.
    try Confirmation.record(folder: folder, batch: batch, state: state)
    // The documents a delivery sends are recorded at the same moments as its ids (before its ready
    // file is visible, and by every path that finishes a publication): a SHA-256 is sent once.
    try DeliveredDocuments.record(folder: folder, state: state)
    let path = folder + "/" + fileName
    guard FileSystem.exists(path) else { return }  // a delivery written by 0.1.0
    try record(rows: try BatchLifecycle.readTable(path), batch: batch, state: state)
  }

  /// Records the ids of a delivery's new students and contacts (once; a rerun changes nothing).
  static func record(_ records: [DeliveryRecord], batch: String, state: StateStore) throws {
    try record(rows: rows(records), batch: batch, state: state)
  }

  static func record(rows: [[String]], batch: String, state: StateStore) throws {
    // One time for the transaction, as Confirmation.record: Clock.now() makes a date formatter,
    // and made for every row it was 9% of a 20,000-submission night's CPU.
    let now = Clock.now()
    try state.database.inTransaction {
      let insert = try state.database.prepare(
        "INSERT OR IGNORE INTO delivered_ids(sourced_id, kind, ref, state_id, sis_id, batch, delivered_at) VALUES (?, ?, ?, ?, '', ?, ?)"
      )
      for row in rows where row.count >= 4 {
        try insert.bind([
          .text(row[0]), .text(row[1]), .text(row[2]), .text(row[3]), .text(batch), .text(now),
        ])
        try insert.run()
      }
    }
  }
}
