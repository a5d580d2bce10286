import Foundation
import SISDropStore

/// A notification waiting to be written to `notifications/` and handed to sendmail.
package struct PendingNotification: Sendable, Equatable {
  package var id: String
  package var kind: String
  package var message: String

  package init(id: String, kind: String, message: String) {
    self.id = id
    self.kind = kind
    self.message = message
  }
}

/// One status change, as kept in `integration_events`.
package struct IntegrationEventRecord: Sendable, Codable, Equatable {
  package var at: String
  package var from: String?
  package var to: String
  package var reason: String
}

/// The integration status, its history, and the notification queue in `state.sqlite`.
extension StateStore {
  static func jsonEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }

  /// The persisted status, or nil before the first run.
  package func integrationStatus() throws -> IntegrationStatus? {
    guard
      let text = try database.scalar("SELECT status FROM integration_status WHERE id = 1").string
    else { return nil }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(IntegrationStatus.self, from: Data(text.utf8))
  }

  /// Saves a status; a change of state is logged in the history and queues its notifications, all
  /// in one transaction, so that a crash never loses a change's notice nor sends one twice from here.
  package func saveIntegrationStatus(
    _ status: IntegrationStatus, previous: IntegrationStatus?, notifications: [PendingNotification],
    now: Date
  ) throws {
    let text = String(decoding: try StateStore.jsonEncoder().encode(status), as: UTF8.self)
    let at = now.ISO8601Format()
    try database.inTransaction {
      try database.execute(
        "INSERT INTO integration_status(id, status, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        [.text(text), .text(at)])
      if previous?.state != status.state {
        try database.execute(
          "INSERT INTO integration_events(at, from_state, to_state, reason) VALUES (?, ?, ?, ?)",
          [
            .text(at), SQLValue(previous?.state.rawValue), .text(status.state.rawValue),
            .text(status.reason),
          ])
      }
      for notification in notifications {
        try database.execute(
          "INSERT OR IGNORE INTO notifications(id, kind, created_at, message) VALUES (?, ?, ?, ?)",
          [
            .text(notification.id), .text(notification.kind), .text(at),
            .text(notification.message),
          ])
      }
    }
  }

  /// The status history, oldest first.
  package func integrationEvents() throws -> [IntegrationEventRecord] {
    try database.rows(
      "SELECT at, from_state, to_state, reason FROM integration_events ORDER BY seq"
    ).map {
      IntegrationEventRecord(
        at: $0[0].string ?? "", from: $0[1].string, to: $0[2].string ?? "",
        reason: $0[3].string ?? "")
    }
  }

  /// Replaces queued, unsent notifications by one (the run's notices combined into one message).
  package func replaceUnsentNotifications(
    _ ids: [String], with notification: PendingNotification, now: Date
  ) throws {
    try database.inTransaction {
      for id in ids {
        try database.execute(
          "DELETE FROM notifications WHERE id = ? AND sent_at IS NULL", [.text(id)])
      }
      try database.execute(
        "INSERT OR IGNORE INTO notifications(id, kind, created_at, message) VALUES (?, ?, ?, ?)",
        [
          .text(notification.id), .text(notification.kind), .text(now.ISO8601Format()),
          .text(notification.message),
        ])
    }
  }

  /// Queues notifications on their own (a failed run's notice when the status did not change).
  package func queueNotifications(_ notifications: [PendingNotification], now: Date) throws {
    guard !notifications.isEmpty else { return }
    try database.inTransaction {
      for notification in notifications {
        try database.execute(
          "INSERT OR IGNORE INTO notifications(id, kind, created_at, message) VALUES (?, ?, ?, ?)",
          [
            .text(notification.id), .text(notification.kind), .text(now.ISO8601Format()),
            .text(notification.message),
          ])
      }
    }
  }

  /// Notifications not yet handed to sendmail (or not yet written, when none is configured), oldest first.
  package func unsentNotifications() throws -> [PendingNotification] {
    try database.rows(
      "SELECT id, kind, message FROM notifications WHERE sent_at IS NULL ORDER BY created_at, id"
    ).map {
      PendingNotification(
        id: $0[0].string ?? "", kind: $0[1].string ?? "", message: $0[2].string ?? "")
    }
  }

  package func markNotification(_ id: String, sentAt: Date?, error: String?) throws {
    try database.inTransaction {
      try database.execute(
        "UPDATE notifications SET sent_at = ?, error = ? WHERE id = ?",
        [SQLValue(sentAt?.ISO8601Format()), SQLValue(error), .text(id)])
    }
  }

  /// The SHA-256 of the file last claimed under this inbox name, with its batch (cancelled batches
  /// do not count: their records went back to pending, so the same file is worth claiming again).
  package func lastClaimed(name: String) throws -> (sha256: String, batch: String)? {
    let rows = try database.rows(
      """
      SELECT f.sha256, f.batch_id FROM inbox_files f JOIN batches b ON b.id = f.batch_id
      WHERE f.name = ? AND b.state != 'cancelled' ORDER BY f.claimed_at DESC, f.batch_id DESC LIMIT 1
      """, [.text(name)])
    guard let row = rows.first, let sha = row[0].string, let batch = row[1].string else {
      return nil
    }
    return (sha, batch)
  }

  /// Submissions last seen in a batch's export that are still pending or batched.
  package func pendingSubmissions(lastSeenIn batch: String) throws -> Int {
    Int(
      try database.scalar(
        "SELECT count(*) FROM ledger WHERE last_seen_batch = ? AND status IN ('pending', 'batched')",
        [.text(batch)]
      ).int ?? 0)
  }
}
