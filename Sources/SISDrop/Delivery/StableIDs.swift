import Foundation

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
    try state.ensureDeliveredIDsTable()
    var ids: [String: String] = [:]
    for row in try state.database.rows("SELECT kind, sis_id, sourced_id FROM delivered_ids WHERE sis_id != ''") {
      ids[(row[0].string == "contact" ? "con-" : "stu-") + (row[1].string ?? "")] = row[2].string
    }
    for record in records where record.kind.isUpdate {
      let student = record.kind == .studentsUpdate
      let sisID = student ? record["Student_Number"] : record["Contact_ID"]
      let key = (student ? "stu-" : "con-") + sisID
      guard !sisID.isEmpty, ids[key] == nil else { continue }
      let ref = student ? record["Student_Ref"] : "\(record.submissionID)/c\(record.seq)"
      var found = try state.database.rows(
        "SELECT sourced_id FROM delivered_ids WHERE kind = ? AND ref = ? AND sis_id = ''", [.text(student ? "student" : "contact"), .text(ref)])
      // The SIS's state id for the child, as delivered: the SIS took our new record and numbered it.
      let stateID = record.current["State_StudentNumber"] ?? record["State_StudentNumber"]
      if found.isEmpty, student, !stateID.isEmpty {
        found = try state.database.rows(
          "SELECT sourced_id FROM delivered_ids WHERE kind = 'student' AND state_id = ? AND sis_id = ''", [.text(stateID)])
      }
      guard found.count == 1, let id = found[0][0].string else { continue }  // none, or ambiguous: the default id
      try state.database.execute("UPDATE delivered_ids SET sis_id = ? WHERE sourced_id = ?", [.text(sisID), .text(id)])
      ids[key] = id
    }
    return ids
  }

  /// Records the ids of a published delivery's new students and contacts (once; a rerun changes nothing).
  static func record(_ records: [DeliveryRecord], batch: String, state: StateStore) throws {
    try state.ensureDeliveredIDsTable()
    try state.database.inTransaction {
      for record in records where record.kind == .studentsNew || record.kind == .contactsNew {
        let student = record.kind == .studentsNew
        let id = student ? OneRosterProfile.studentID(record) : OneRosterProfile.contactID(record)
        guard id.hasPrefix("sub-") else { continue }
        try state.database.execute(
          "INSERT OR IGNORE INTO delivered_ids(sourced_id, kind, ref, state_id, sis_id, batch, delivered_at) VALUES (?, ?, ?, ?, '', ?, ?)",
          [.text(id), .text(student ? "student" : "contact"), .text(student ? record["Student_Ref"] : "\(record.submissionID)/c\(record.seq)"),
           .text(student ? record["State_StudentNumber"] : ""), .text(batch), .text(Clock.now())])
      }
    }
  }
}

extension StateStore {
  func ensureDeliveredIDsTable() throws {
    try database.execute("""
      CREATE TABLE IF NOT EXISTS delivered_ids(
        sourced_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('student', 'contact')),
        ref TEXT NOT NULL,
        state_id TEXT NOT NULL,
        sis_id TEXT NOT NULL,
        batch TEXT NOT NULL,
        delivered_at TEXT NOT NULL)
      """)
  }
}
