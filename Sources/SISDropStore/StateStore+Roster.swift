import Foundation

extension StateStore {
  /// The students count of the newest snapshot registered by any batch other than `excluding`:
  /// the last export sisdrop accepted, which a new students export is checked against (the
  /// `snapshots` register already keeps the count; no column of its own).
  package func lastAcceptedRoster(excluding batch: String) throws -> (batch: String, students: Int)?
  {
    let rows = try database.rows(
      "SELECT batch_id, students FROM snapshots WHERE batch_id != ? ORDER BY created_at DESC, batch_id DESC LIMIT 1",
      [.text(batch)])
    guard let row = rows.first, let id = row[0].string, let students = row[1].int else {
      return nil
    }
    return (id, Int(students))
  }
}
