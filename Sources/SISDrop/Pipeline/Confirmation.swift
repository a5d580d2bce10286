import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropMatching
import SISDropStore

/// Confirmation from the SIS: a delivery is not the end. Every record a delivery sent (a new or
/// updated student, a new or updated contact link) is recorded in `delivered_records` when its
/// ready file is published, and each later SIS export is checked for it:
///
/// - a new student is looked for by the pipeline's matcher, against the values delivered, with the
///   same guards as any match: matched, it is confirmed and its new `Student_Number` is learned;
/// - an update is confirmed when the SIS shows each delivered field's value;
/// - a new contact is confirmed when its student's SIS record has a contact of that name (its
///   `Contact_ID` is learned), an updated one when the contact shows the values and the link.
///
/// A record not confirmed within `confirm.within_exports` exports is *unconfirmed*, and so at once
/// is a record the SIS import's results file reports as not imported. Unconfirmed records are
/// shown by `status`, `review`, the report and the run's notification, with what is missing;
/// `sisdrop redeliver` sends them again (the next run, as the batch's next re-delivery), `sisdrop
/// confirm --reason` closes them by hand.
package enum Confirmation {
  /// The file a delivery folder lists its records to confirm in (written with the delivery files).
  static let fileName = "to_confirm.csv"
  static let header = [
    FieldName.submissionID, "Kind", "Seq", "Student_Seq", "Ref", "SIS_ID", FieldName.studentNumber,
    "Fields",
  ]

  /// A delivered record's kind, as `delivered_records` names it.
  package enum Kind: String, Sendable, Codable, CaseIterable {
    case studentNew = "student_new"
    case studentUpdate = "student_update"
    case contactNew = "contact_new"
    case contactUpdate = "contact_update"

    init?(_ kind: DeliveryKind) {
      switch kind {
      case .studentsNew: self = .studentNew
      case .studentsUpdate: self = .studentUpdate
      case .contactsNew: self = .contactNew
      case .contactsUpdate: self = .contactUpdate
      case .documents, .attendance: return nil
      }
    }

    var isStudent: Bool { self == .studentNew || self == .studentUpdate }
    /// The results file's table for this kind.
    var table: String { isStudent ? "students" : "contacts" }
  }

  package enum Status: String, Sendable, Codable { case delivered, confirmed, unconfirmed }

  // MARK: Recording what a delivery sent

  /// `to_confirm.csv`'s rows for a delivery's records: each student and contact record, with the
  /// values the SIS must show (an update's delivered fields; a new contact's names).
  static func rows(_ records: [DeliveryRecord], profile: DeliveryProfile) -> [[String]] {
    var rows: [[String]] = []
    var seen = Set<[String]>()
    for record in records {
      guard let kind = Kind(record.kind) else { continue }
      let studentSeq =
        kind.isStudent
        ? record.seq : Int(record["Student_Ref"].split(separator: "/").last ?? "") ?? 0
      var expected: [String: String] = [:]
      switch kind {
      case .studentNew:
        break  // found by the matcher against the submission's values
      case .studentUpdate, .contactUpdate:
        let carried = DeliveryProfiles.carried(profile, record.kind)
        for field in record.changed where carried.contains(field) && !record[field].isEmpty {
          expected[field] = record[field]
        }
      case .contactNew:
        for field in [FieldName.firstName, FieldName.lastName] where !record[field].isEmpty {
          expected[field] = record[field]
        }
      }
      let ref =
        kind.isStudent
        ? record["Student_Ref"]
        : (record["Contact_Ref"].isEmpty ? record[FieldName.contactID] : record["Contact_Ref"])
      let sisID = kind.isStudent ? record[FieldName.studentNumber] : record[FieldName.contactID]
      let key = [record.submissionID, kind.rawValue, String(record.seq), String(studentSeq)]
      guard seen.insert(key).inserted else { continue }
      rows.append(
        key + [
          ref, kind == .studentNew ? "" : sisID, record[FieldName.studentNumber], json(expected),
        ])
    }
    return rows
  }

  static func json(_ values: [String: String]) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(values)) ?? Data("{}".utf8), as: UTF8.self)
  }

  static func fields(_ text: String) -> [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
  }

  /// Records the records a published delivery folder lists, once per delivery (a rerun changes
  /// nothing). A record delivered again (a re-delivery, a changed version) starts over as delivered.
  static func record(folder: String, batch: String, state: StateStore) throws {
    let path = folder + "/" + fileName
    guard FileSystem.exists(path) else { return }  // a delivery written before confirmation existed
    let ready = try FileSystem.listDirectory(folder).first { $0.hasSuffix(".ready") }
    let delivery = ready.map { String($0.dropLast(".ready".count)) } ?? batch
    guard
      try state.database.scalar(
        "SELECT count(*) FROM confirm_deliveries WHERE delivery = ?", [.text(delivery)]
      ).int == 0
    else { return }
    let rows = try BatchLifecycle.readTable(path)
    let now = Clock.now()
    try state.database.inTransaction {
      let upsert = try state.database.prepare(
        """
        INSERT INTO delivered_records(submission_id, kind, seq, student_seq, batch_id, delivery, ref, sis_id, student_number, fields,
                                      status, delivered_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'delivered', ?)
        ON CONFLICT(submission_id, kind, seq, student_seq) DO UPDATE SET
          batch_id = excluded.batch_id, delivery = excluded.delivery, ref = excluded.ref, sis_id = excluded.sis_id,
          student_number = excluded.student_number, fields = excluded.fields, status = 'delivered', exports_seen = 0,
          missing = NULL, import_status = NULL, import_message = NULL, deliveries = deliveries + 1,
          delivered_at = excluded.delivered_at, confirmed_at = NULL, confirmed_by = NULL
        """)
      for row in rows where row.count >= header.count {
        try upsert.bind([
          .text(row[0]), .text(row[1]), .integer(Int64(row[2]) ?? 0), .integer(Int64(row[3]) ?? 0),
          .text(batch),
          .text(delivery), .text(row[4]), .text(row[5]), .text(row[6]), .text(row[7]), .text(now),
        ])
        try upsert.run()
      }
      try state.database.execute(
        "INSERT INTO confirm_deliveries(delivery, recorded_at) VALUES (?, ?)",
        [.text(delivery), .text(now)])
    }
  }

  // MARK: The records

  /// One delivered record and where it stands.
  package struct Item: Sendable, Codable, Hashable {
    package var submissionID: String
    package var kind: Kind
    package var seq: Int
    package var studentSeq: Int
    package var batch: String
    package var delivery: String
    package var ref: String
    package var sisID: String
    package var studentNumber: String
    package var fields: [String: String]
    package var status: Status
    package var exportsSeen: Int
    package var learnedID: String?
    package var missing: String?
    package var importStatus: String?
    package var importMessage: String?
    package var deliveries: Int
    package var deliveredAt: String
    package var confirmedBy: String?

    /// The record in words, for people: `student 1 (new)`, `contact 2 of student 1 (update of C00108)`.
    package var label: String {
      switch kind {
      case .studentNew: return "student \(seq) (new\(learnedID.map { ", SIS \($0)" } ?? ""))"
      case .studentUpdate: return "student \(seq) (update of \(sisID))"
      case .contactNew:
        return
          "contact \(seq) of student \(studentSeq) (new\(learnedID.map { ", SIS \($0)" } ?? ""))"
      case .contactUpdate: return "contact \(seq) of student \(studentSeq) (update of \(sisID))"
      }
    }
  }

  static let columns = """
    submission_id, kind, seq, student_seq, batch_id, delivery, ref, sis_id, student_number, fields, status, exports_seen, learned_id,
    missing, import_status, import_message, deliveries, delivered_at, confirmed_by
    """

  static func items(
    _ state: StateStore, where clause: String = "1 = 1", _ arguments: [SQLValue] = []
  ) throws -> [Item] {
    try state.database.rows(
      "SELECT \(columns) FROM delivered_records WHERE \(clause) ORDER BY submission_id, kind, seq, student_seq",
      arguments
    ).map { row in
      Item(
        submissionID: row[0].string ?? "", kind: Kind(rawValue: row[1].string ?? "") ?? .studentNew,
        seq: Int(row[2].int ?? 0),
        studentSeq: Int(row[3].int ?? 0), batch: row[4].string ?? "", delivery: row[5].string ?? "",
        ref: row[6].string ?? "",
        sisID: row[7].string ?? "", studentNumber: row[8].string ?? "",
        fields: fields(row[9].string ?? "{}"),
        status: Status(rawValue: row[10].string ?? "") ?? .delivered,
        exportsSeen: Int(row[11].int ?? 0), learnedID: row[12].string,
        missing: row[13].string, importStatus: row[14].string, importMessage: row[15].string,
        deliveries: Int(row[16].int ?? 1),
        deliveredAt: row[17].string ?? "", confirmedBy: row[18].string)
    }
  }

  /// Every delivered record of a submission.
  package static func items(_ state: StateStore, submission: String) throws -> [Item] {
    try items(state, where: "submission_id = ?", [.text(submission)])
  }

  /// The unconfirmed records, by submission.
  package static func unconfirmed(_ state: StateStore) throws -> [Item] {
    try hasTables(state) ? try items(state, where: "status = 'unconfirmed'") : []
  }

  /// How many delivered records stand where: delivered (awaiting an export), confirmed, unconfirmed.
  package struct Counts: Sendable, Codable, Hashable {
    package var delivered = 0
    package var confirmed = 0
    package var unconfirmed = 0
    /// Submissions with an unconfirmed record.
    package var unconfirmedSubmissions = 0
    /// Submissions asked to be sent again at the next run.
    package var redeliveryRequested = 0
  }

  package static func counts(_ state: StateStore) throws -> Counts {
    var counts = Counts()
    guard try hasTables(state) else { return counts }
    for row in try state.database.rows(
      "SELECT status, count(*) FROM delivered_records GROUP BY status")
    {
      let n = Int(row[1].int ?? 0)
      switch Status(rawValue: row[0].string ?? "") {
      case .delivered: counts.delivered = n
      case .confirmed: counts.confirmed = n
      case .unconfirmed: counts.unconfirmed = n
      case nil: break
      }
    }
    counts.unconfirmedSubmissions = Int(
      try state.database.scalar(
        "SELECT count(DISTINCT submission_id) FROM delivered_records WHERE status = 'unconfirmed'"
      ).int ?? 0)
    counts.redeliveryRequested = Int(
      try state.database.scalar("SELECT count(*) FROM redeliver_requests").int ?? 0)
    return counts
  }

  /// Whether the database has the tables (a reader may open one a writer has not migrated yet).
  static func hasTables(_ state: StateStore) throws -> Bool {
    try state.database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'delivered_records'")
      .int ?? 0 > 0
  }

  /// The SIS number learned for a new student of a submission, or the number it was delivered to.
  package static func studentNumber(_ state: StateStore, submission: String, studentSeq: Int) throws
    -> String?
  {
    for item in try items(
      state, where: "submission_id = ? AND seq = ? AND kind IN ('student_new', 'student_update')",
      [.text(submission), .integer(Int64(studentSeq))])
    {
      if item.kind == .studentUpdate { return item.sisID }
      if let learned = item.learnedID { return learned }
    }
    return nil
  }

  // MARK: Checking an SIS export

  /// What one SIS export confirmed.
  package struct CheckResult: Sendable, Codable, Hashable {
    package var snapshotBatch: String
    package var confirmed = 0
    /// Records that became unconfirmed with this export.
    package var newlyUnconfirmed = 0
    /// Records still awaited (delivered, within the exports allowed).
    package var awaited = 0
    /// New students whose SIS number was learned.
    package var learnedStudents = 0
    package var learnedContacts = 0
  }

  /// Checks the records delivered before `batch` against the SIS export `batch` claimed (its
  /// snapshot), once per export. Nothing to do when the batch brought no SIS export.
  @discardableResult
  package static func check(
    workdir: WorkDir, batch: BatchRecord, config: PipelineConfig, log: (String) -> Void = { _ in }
  ) throws
    -> CheckResult?
  {
    let state = workdir.state
    guard
      let snapshotReference = try SnapshotReference.read(
        folder: workdir.stageFolder(batch.id, .normalize))
    else { return nil }
    // no new export: nothing new to see
    guard snapshotReference.builtBy == batch.id else { return nil }
    guard
      try state.database.scalar(
        "SELECT count(*) FROM confirm_exports WHERE snapshot_batch = ?", [.text(batch.id)]
      ).int == 0
    else {
      return nil
    }
    let snapshot = try Snapshot(path: workdir.root + "/" + snapshotReference.path)
    // Records delivered before this batch claimed the export: the SIS could have imported them.
    let open = try items(
      state, where: "status != 'confirmed' AND batch_id != ? AND delivered_at <= ?",
      [.text(batch.id), .text(batch.openedAt)])
    var result = CheckResult(snapshotBatch: batch.id)
    var outcomes: [Item] = []

    // New students: the matcher, with its guards, against the values delivered.
    var learned: [String: String] = [:]  // "submission/seq" → SIS number
    let newStudents = open.filter { $0.kind == .studentNew }
    for (batchID, group) in Dictionary(grouping: newStudents, by: \.batch).sorted(by: {
      $0.key < $1.key
    }) {
      let path = workdir.stageFolder(batchID, .normalize) + "/submissions.jsonl"
      let wanted = Set(group.map(\.submissionID))
      // Read a chunk at a time, only the forms of the new students kept: the batch's file whole
      // was held beside the snapshot (scripts/bench/review.sh --nights 2).
      var needed: [Submission] = []
      if FileSystem.exists(path) {
        try StageJSONChunks(Submission.self, path: path).forEach(MatchStage.chunkSize) { chunk in
          needed.append(contentsOf: chunk.filter { wanted.contains($0.id) })
        }
      }
      let byID = Dictionary(needed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
      let matcher = try MatcherRegistry.make(
        config.matcher, snapshot: snapshot, config: config.matching)
      _ = try matcher.prepare(needed)
      for var item in group {
        guard let submission = byID[item.submissionID],
          let student = submission.students.first(where: { $0.seq == item.seq })
        else {
          item.missing =
            "its submission is not in batch \(batchID)'s normalize folder: it cannot be looked for"
          outcomes.append(item)
          continue
        }
        let decision = try matcher.match(student, in: submission)
        switch decision.outcome {
        case .matched:
          item.learnedID = decision.sisID
          item.status = .confirmed
          learned["\(item.submissionID)/\(item.seq)"] = decision.sisID
        case .potential:
          item.missing =
            "the new student is not found for sure in the SIS export: \(decision.candidates.count) possible SIS record(s) ("
            + decision.candidates.prefix(3).map(\.sisID).joined(separator: " ") + ")"
        case .new:
          item.missing = "the new student is not in the SIS export"
        }
        outcomes.append(item)
      }
    }
    // Updates: the SIS shows each delivered value.
    for var item in open where item.kind == .studentUpdate {
      if let student = try snapshot.student(number: item.sisID) {
        let differing = item.fields.keys.sorted().filter { student.fields[$0] != item.fields[$0] }
        if differing.isEmpty {
          item.status = .confirmed
        } else {
          item.missing =
            "SIS student \(item.sisID) does not show the delivered \(differing.joined(separator: ", "))"
        }
      } else {
        item.missing = "SIS student \(item.sisID) is not in the SIS export"
      }
      outcomes.append(item)
    }
    // Contacts: linked to their student (its number as delivered, or as learned just now or before).
    for var item in open where !item.kind.isStudent {
      var number = item.studentNumber
      if number.isEmpty {
        let earlier = try studentNumber(
          state, submission: item.submissionID, studentSeq: item.studentSeq)
        number = learned["\(item.submissionID)/\(item.studentSeq)"] ?? earlier ?? ""
      }
      guard !number.isEmpty else {
        item.missing = "its student \(item.studentSeq) is not confirmed in the SIS yet"
        outcomes.append(item)
        continue
      }
      let linked = try snapshot.contacts(ofStudent: number)
      let expected = item.fields
      let candidates: [SnapshotContact]
      if item.kind == .contactUpdate || !item.sisID.isEmpty {
        candidates = linked.filter { $0.id == item.sisID }
      } else {
        let first = FieldRules.nameKey(expected[FieldName.firstName] ?? "")
        let last = FieldRules.nameKey(expected[FieldName.lastName] ?? "")
        candidates = linked.filter { $0.firstKey == first && $0.lastKey == last }
      }
      if candidates.count == 1, let contact = candidates.first {
        let differing =
          item.kind == .contactUpdate
          ? expected.keys.sorted().filter { contact.fields[$0] != expected[$0] } : []
        if differing.isEmpty {
          item.status = .confirmed
          if item.kind == .contactNew { item.learnedID = contact.id }
        } else {
          item.missing =
            "SIS contact \(contact.id) does not show the delivered \(differing.joined(separator: ", "))"
        }
      } else if candidates.count > 1 {
        item.missing =
          "SIS student \(number) has \(candidates.count) contacts of that name: which one is not for sisdrop to guess"
      } else {
        item.missing =
          item.kind == .contactUpdate || !item.sisID.isEmpty
          ? "SIS contact \(item.sisID) is not linked to SIS student \(number) in the SIS export"
          : "SIS student \(number) has no contact of that name in the SIS export"
      }
      outcomes.append(item)
    }

    let now = Clock.now()
    var finals: [Item] = []
    for var item in outcomes {
      item.exportsSeen += 1
      if item.status == .confirmed {
        result.confirmed += 1
        item.missing = nil
        item.confirmedBy = "SIS export of batch \(batch.id)"
        if item.kind == .studentNew { result.learnedStudents += 1 }
        if item.kind == .contactNew { result.learnedContacts += 1 }
      } else if item.status == .unconfirmed, item.importStatus != nil,
        let reported = open.first(where: {
          $0.submissionID == item.submissionID && $0.kind == item.kind && $0.seq == item.seq
            && $0.studentSeq == item.studentSeq
        })?.missing
      {
        // what the SIS import said stays the reason until the record is seen
        item.missing = reported
      } else if item.status == .delivered && item.exportsSeen >= config.confirm.withinExports {
        item.status = .unconfirmed
        result.newlyUnconfirmed += 1
        item.missing =
          (item.missing ?? "not seen")
          + " (\(item.exportsSeen) SIS export\(item.exportsSeen == 1 ? "" : "s") since delivery \(item.delivery))"
      } else if item.status == .delivered {
        result.awaited += 1
      }
      finals.append(item)
    }
    // Kept in the batch folder first (sealed with the manifest at close): rebuild-state restores
    // each record's confirmation from the batches' files. A rerun after a crash writes it again.
    if !finals.isEmpty {
      try writeOutcomes(finals, to: workdir.batchFolder(batch.id) + "/" + outcomesFileName)
    }
    try state.database.inTransaction {
      try apply(finals, checkedAt: now, state: state)
      try state.database.execute(
        "INSERT INTO confirm_exports(snapshot_batch, checked_at, confirmed, unconfirmed, awaited) VALUES (?, ?, ?, ?, ?)",
        [
          .text(batch.id), .text(now), .integer(Int64(result.confirmed)),
          .integer(Int64(result.newlyUnconfirmed)), .integer(Int64(result.awaited)),
        ])
    }
    if !outcomes.isEmpty {
      let total = try counts(state)
      log(
        "confirmation: the SIS export of batch \(batch.id) confirmed \(result.confirmed) delivered records (\(result.learnedStudents) new students' "
          + "and \(result.learnedContacts) new contacts' SIS ids learned), \(result.newlyUnconfirmed) now unconfirmed, \(result.awaited) still awaited; "
          + "\(total.unconfirmed) unconfirmed in all")
    }
    return result
  }

  /// The SIS id a new record was given, linked to the sourcedId it was first delivered under
  /// (`delivered_ids`): later deliveries keep that id, and name the SIS record by its number.
  static func linkStableID(_ item: Item, state: StateStore) throws {
    guard let learned = item.learnedID, item.kind == .studentNew || item.kind == .contactNew else {
      return
    }
    let student = item.kind == .studentNew
    let ref = student ? item.ref : "\(item.submissionID)/c\(item.seq)"
    try state.database.execute(
      "UPDATE delivered_ids SET sis_id = ? WHERE kind = ? AND ref = ? AND sis_id = ''",
      [.text(learned), .text(student ? "student" : "contact"), .text(ref)])
  }

  // MARK: Kept in the batch folders (rebuild-state)

  /// What an SIS export's check found, per record, in the folder of the batch that claimed the
  /// export: what rebuild-state restores. The SIS import's message is kept as the state database keeps it.
  static let outcomesFileName = "confirmation.csv"
  /// Hand confirmations (`sisdrop confirm`), in the folder of the batch that delivered the record.
  static let byHandFileName = "confirmed_by_hand.csv"
  /// No clock time in confirmation.csv (the same export gives the same file; the manifest has the
  /// times); a hand confirmation keeps when it was given, as the answers do.
  static let outcomesHeader = [
    FieldName.submissionID, "Kind", "Seq", "Student_Seq", "Delivery", "Status", "Exports_Seen",
    "Learned_ID", "Missing",
    "Import_Status", "Import_Message", "Confirmed_By",
  ]
  static let byHandHeader = outcomesHeader + ["Confirmed_At"]

  static func outcomeRow(_ item: Item) -> [String] {
    [
      item.submissionID, item.kind.rawValue, String(item.seq), String(item.studentSeq),
      item.delivery, item.status.rawValue, String(item.exportsSeen),
      item.learnedID ?? "", item.missing ?? "", item.importStatus ?? "", item.importMessage ?? "",
      item.confirmedBy ?? "",
    ]
  }

  static func writeOutcomes(
    _ items: [Item], confirmedAt: String? = nil, to path: String, keeping earlier: [[String]] = []
  ) throws {
    let temporary = path + ".tmp-\(getpid())"
    try? FileSystem.removeTree(temporary)
    try DeliverStage.writeTable(
      temporary, header: confirmedAt == nil ? outcomesHeader : byHandHeader,
      rows: earlier + items.map { outcomeRow($0) + (confirmedAt.map { [$0] } ?? []) },
      forPeople: false)
    chmod(temporary, 0o640)
    try FileSystem.rename(temporary, to: path)
    try FileSystem.syncDirectory((path as NSString).deletingLastPathComponent)
  }

  /// Sets each record's outcome; a confirmed record's learned id is linked to its stable id.
  static func apply(_ items: [Item], checkedAt: String, state: StateStore) throws {
    let update = try state.database.prepare(
      """
      UPDATE delivered_records SET status = ?, exports_seen = ?, learned_id = ?, missing = ?, import_status = ?, import_message = ?,
        confirmed_at = ?, confirmed_by = ?
      WHERE submission_id = ? AND kind = ? AND seq = ? AND student_seq = ?
      """)
    for item in items {
      let confirmed = item.status == .confirmed
      try update.bind([
        .text(item.status.rawValue), .integer(Int64(item.exportsSeen)),
        item.learnedID.map { .text($0) } ?? .null,
        item.missing.map { .text($0) } ?? .null, item.importStatus.map { .text($0) } ?? .null,
        item.importMessage.map { .text($0) } ?? .null, confirmed ? .text(checkedAt) : .null,
        confirmed ? item.confirmedBy.map { .text($0) } ?? .null : .null, .text(item.submissionID),
        .text(item.kind.rawValue),
        .integer(Int64(item.seq)), .integer(Int64(item.studentSeq)),
      ])
      try update.run()
      if confirmed { try linkStableID(item, state: state) }
    }
  }

  /// Restores what a batch folder's confirmation files say (rebuild-state, batch by batch in
  /// order): each row applies to the record only while it is still the delivery the row is about
  /// (a later re-delivery started it over). Returns the rows applied.
  static func restore(
    batchFolder folder: String, batch: String, checkedAt: String, state: StateStore
  ) throws -> Int {
    let path = folder + "/" + outcomesFileName
    guard FileSystem.exists(path) else { return 0 }
    let rows = try BatchLifecycle.readTable(path).filter { $0.count >= outcomesHeader.count }
    var applied: [Item] = []
    for row in rows {
      guard let kind = Kind(rawValue: row[1]), let status = Status(rawValue: row[5]),
        var item = try items(
          state,
          where: "submission_id = ? AND kind = ? AND seq = ? AND student_seq = ? AND delivery = ?",
          [
            .text(row[0]), .text(row[1]), .integer(Int64(row[2]) ?? 0),
            .integer(Int64(row[3]) ?? 0), .text(row[4]),
          ]
        ).first
      else { continue }
      func optional(_ text: String) -> String? { text.isEmpty ? nil : text }
      item.kind = kind
      item.status = status
      item.exportsSeen = Int(row[6]) ?? 0
      item.learnedID = optional(row[7])
      item.missing = optional(row[8])
      item.importStatus = optional(row[9])
      item.importMessage = optional(row[10])
      item.confirmedBy = optional(row[11])
      applied.append(item)
    }
    guard !rows.isEmpty else { return 0 }
    try state.database.inTransaction {
      try apply(applied, checkedAt: checkedAt, state: state)
      try state.database.execute(
        "INSERT OR IGNORE INTO confirm_exports(snapshot_batch, checked_at, confirmed, unconfirmed, awaited) VALUES (?, ?, ?, ?, ?)",
        [
          .text(batch), .text(checkedAt),
          .integer(Int64(applied.filter { $0.status == .confirmed }.count)),
          .integer(Int64(applied.filter { $0.status == .unconfirmed }.count)),
          .integer(Int64(applied.filter { $0.status == .delivered }.count)),
        ])
    }
    return applied.count
  }

  /// Restores the hand confirmations a batch folder keeps (after every batch's checks: a
  /// confirmed record is never checked again).
  static func restoreByHand(batchFolder folder: String, state: StateStore) throws -> Int {
    let path = folder + "/" + byHandFileName
    guard FileSystem.exists(path) else { return 0 }
    var count = 0
    try state.database.inTransaction {
      for row in try BatchLifecycle.readTable(path) where row.count >= byHandHeader.count {
        try state.database.execute(
          """
          UPDATE delivered_records SET status = 'confirmed', confirmed_at = ?, confirmed_by = ?
          WHERE submission_id = ? AND kind = ? AND seq = ? AND student_seq = ? AND delivery = ? AND status != 'confirmed'
          """,
          [
            .text(row[12]), .text(row[11]), .text(row[0]), .text(row[1]),
            .integer(Int64(row[2]) ?? 0), .integer(Int64(row[3]) ?? 0), .text(row[4]),
          ])
        count += Int(state.database.changes)
      }
    }
    return count
  }

  // MARK: The SIS import's results file

  /// What a results file said.
  package struct ResultsSummary: Sendable, Codable, Hashable {
    package var rows = 0
    package var failed = 0
    /// Rows naming no delivered record.
    package var unknown = 0
    package var refused: String?
  }

  /// Takes the SIS import's results file from the inbox when it is completely uploaded: each row
  /// not imported makes the records it names unconfirmed at once, with the SIS's status and message.
  package static func takeResults(workdir: WorkDir, config: PipelineConfig, log: (String) -> Void)
    throws -> ResultsSummary?
  {
    let layout = config.confirm.results
    let inbox = Inbox(path: workdir.inbox(config), config: config)
    let path = inbox.path + "/" + layout.file
    guard Inbox.FileState.of(path) != nil else { return nil }
    do { try InboxFile.check(path) } catch let error as SISDropError {
      log("\(layout.file) not read: \(error)")
      return ResultsSummary(refused: error.description)
    }
    if let why = inbox.whyNotReady(layout.file) {
      log("\(layout.file) not taken yet: \(why)")
      return nil
    }
    let stamp = Clock.now().replacingOccurrences(of: ":", with: "")
    let archive = workdir.archive(config) + "/import-results"
    var summary = ResultsSummary()
    do {
      let rows = try readResults(path, layout: layout)
      try workdir.state.database.inTransaction {
        for row in rows {
          summary.rows += 1
          let ok = layout.ok.contains { $0.lowercased() == row.status.lowercased() }
          let tables = row.table.map { [$0.lowercased()] } ?? ["students", "contacts"]
          let kinds = Kind.allCases.filter { tables.contains($0.table) }.map { "'\($0.rawValue)'" }
            .joined(separator: ", ")
          let named = try items(
            workdir.state,
            where:
              "kind IN (\(kinds)) AND (ref = ? OR sis_id = ? OR learned_id = ?) AND status != 'confirmed'",
            [.text(row.key), .text(row.key), .text(row.key)])
          if named.isEmpty {
            summary.unknown += 1
            continue
          }
          if !ok { summary.failed += 1 }
          for item in named {
            try workdir.state.database.execute(
              """
              UPDATE delivered_records SET import_status = ?, import_message = ?, status = CASE WHEN ? THEN status ELSE 'unconfirmed' END,
                missing = CASE WHEN ? THEN missing ELSE ? END
              WHERE submission_id = ? AND kind = ? AND seq = ? AND student_seq = ?
              """,
              [
                .text(row.status), .text(row.message), .integer(ok ? 1 : 0), .integer(ok ? 1 : 0),
                .text("the SIS import did not import it (\(layout.file) line \(row.line))"),
                .text(item.submissionID), .text(item.kind.rawValue), .integer(Int64(item.seq)),
                .integer(Int64(item.studentSeq)),
              ])
          }
        }
      }
      try FileSystem.makeDirectory(archive)
      try FileSystem.rename(path, to: archive + "/\(stamp)-\(layout.file)")
      try FileSystem.syncDirectory(archive)
      try FileSystem.syncDirectory(inbox.path)
      log(
        "\(layout.file): \(summary.rows) SIS import results read, \(summary.failed) not imported (now unconfirmed), "
          + "\(summary.unknown) naming no delivered record; kept in \(relativePath(archive, to: workdir.root))"
      )
    } catch let error as SISDropError where error.status == .dataError {
      try FileSystem.makeDirectory(archive + "/refused")
      try FileSystem.rename(path, to: archive + "/refused/\(stamp)-\(layout.file)")
      try FileSystem.syncDirectory(inbox.path)
      summary.refused = error.description
      log(
        "\(layout.file) refused, nothing taken from it: \(error); moved to \(relativePath(archive, to: workdir.root))/refused; fix it and drop it in the inbox again"
      )
    }
    return summary
  }

  struct ResultRow { var line: Int, table: String?, key: String, status: String, message: String }

  /// Reads a whole results file, or refuses it (65) naming the line and what is wrong, never a value.
  static func readResults(_ path: String, layout: ImportResultsLayout) throws -> [ResultRow] {
    let name = (path as NSString).lastPathComponent
    let reader = try CSVReader(path: path, inboxFile: true)
    guard let header = try reader.next() else {
      throw SISDropError.dataError(
        "the file is empty", at: SourceLocation(path: name, line: 1),
        hint:
          "write the header \(layout.key),\(layout.status),\(layout.message) and one row per imported record"
      )
    }
    let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    func column(_ wanted: String) -> Int? { names.firstIndex(of: wanted.lowercased()) }
    guard let key = column(layout.key), let status = column(layout.status) else {
      throw SISDropError.dataError(
        "the header has no \(column(layout.key) == nil ? layout.key : layout.status) column",
        at: SourceLocation(path: name, line: 1),
        hint:
          "name the columns in confirm.results (key, status, message, table) as the SIS import writes them"
      )
    }
    let message = column(layout.message)
    let table = column(layout.table)
    var rows: [ResultRow] = []
    var line = 1
    while let row = try reader.next() {
      line += 1
      let fields = row.fields
      guard fields.count == names.count else {
        throw SISDropError.dataError(
          "\(fields.count) cells where the header has \(names.count)",
          at: SourceLocation(path: name, line: line),
          hint: "the SIS import's results file is not whole: export it again")
      }
      let tableName = table.map { fields[$0].trimmingCharacters(in: .whitespaces) }
      if let tableName,
        !["students", "contacts", "student", "contact"].contains(tableName.lowercased())
      {
        throw SISDropError.dataError(
          "the \(layout.table) cell is not students or contacts",
          at: SourceLocation(path: name, line: line))
      }
      rows.append(
        ResultRow(
          line: line,
          table: tableName.map { $0.lowercased().hasPrefix("student") ? "students" : "contacts" },
          key: fields[key].trimmingCharacters(in: .whitespaces),
          status: fields[status].trimmingCharacters(in: .whitespaces),
          message: message.map { fields[$0] } ?? ""))
    }
    return rows
  }

  // MARK: By hand: confirm, redeliver

  /// Closes a submission's records that are not confirmed, by a person, with why.
  ///
  /// - Throws: `SISDropError` 64 when the submission has no delivered record that is not confirmed.
  package static func confirmByHand(
    _ workdir: WorkDir, submission: String, reason: String, by: String
  ) throws -> Int {
    let state = workdir.state
    let open = try items(
      state, where: "submission_id = ? AND status != 'confirmed'", [.text(submission)])
    guard !open.isEmpty else {
      throw SISDropError(
        .usage,
        try items(state, submission: submission).isEmpty
          ? "submission \(submission) has no delivered record"
          : "every delivered record of submission \(submission) is confirmed already")
    }
    let now = Clock.now()
    let confirmedBy = "by hand (\(by)): \(reason)"
    // Kept in the folder of the batch that delivered each record, first: rebuild-state restores it.
    for (batch, records) in Dictionary(grouping: open, by: \.batch).sorted(by: { $0.key < $1.key })
    {
      let path = workdir.batchFolder(batch) + "/" + byHandFileName
      let earlier = FileSystem.exists(path) ? try BatchLifecycle.readTable(path) : []
      try writeOutcomes(
        records.map {
          var item = $0
          item.status = .confirmed
          item.confirmedBy = confirmedBy
          return item
        },
        confirmedAt: now, to: path, keeping: earlier)
    }
    try state.database.inTransaction {
      try state.database.execute(
        "UPDATE delivered_records SET status = 'confirmed', confirmed_at = ?, confirmed_by = ? WHERE submission_id = ? AND status != 'confirmed'",
        [.text(now), .text(confirmedBy), .text(submission)])
      try state.database.execute(
        "DELETE FROM redeliver_requests WHERE submission_id = ?", [.text(submission)])
    }
    return open.count
  }

  /// Asks the next run to send a submission's records that are not confirmed again.
  ///
  /// - Throws: `SISDropError` 64 when nothing of the submission waits for confirmation.
  package static func requestRedelivery(_ state: StateStore, submission: String, by: String) throws
    -> [Item]
  {
    let open = try items(
      state, where: "submission_id = ? AND status != 'confirmed'", [.text(submission)])
    guard !open.isEmpty else {
      throw SISDropError(
        .usage,
        try items(state, submission: submission).isEmpty
          ? "submission \(submission) has no delivered record"
          : "every delivered record of submission \(submission) is confirmed: nothing to send again",
        hint: "a confirmed record is in the SIS; sending it again could create it twice")
    }
    try state.database.execute(
      "INSERT OR REPLACE INTO redeliver_requests(submission_id, requested_by, requested_at) VALUES (?, ?, ?)",
      [.text(submission), .text(by), .text(Clock.now())])
    return open
  }

  /// Sends every requested re-delivery: each submission's records that are not confirmed, as the
  /// next re-delivery `<batch>-rK` of the batch that delivered them (a new student's contacts name
  /// its learned SIS number). Run by `sisdrop run` after the stages and the confirmation check, so
  /// the next SIS export is the first to be asked about them.
  static func sendRequested(workdir: WorkDir, log: (String) -> Void) throws {
    let state = workdir.state
    let requests = try state.database.rows(
      "SELECT submission_id FROM redeliver_requests ORDER BY requested_at, submission_id"
    ).compactMap { $0[0].string }
    guard !requests.isEmpty else { return }
    var byBatch: [String: [Item]] = [:]
    for id in requests {
      for item in try items(
        state, where: "submission_id = ? AND status != 'confirmed'", [.text(id)])
      { byBatch[item.batch, default: []].append(item) }
    }
    for (batchID, open) in byBatch.sorted(by: { $0.key < $1.key }) {
      let batch = try workdir.batch(batchID)
      let config = try workdir.config(for: batch)
      let ids = Array(Set(open.map(\.submissionID))).sorted()
      let planned = try Redelivery.plan(workdir: workdir, batch: batch, config: config, ids: ids)
      let delivery = planned.delivery
      var plan = planned.plan
      let wanted = Set(
        open.map { [$0.submissionID, $0.kind.rawValue, String($0.seq), String($0.studentSeq)] })
      var keep: [DeliveryRecord] = []
      for var record in plan.records {
        guard let kind = Kind(record.kind) else { continue }
        let studentSeq =
          kind.isStudent
          ? record.seq : Int(record["Student_Ref"].split(separator: "/").last ?? "") ?? 0
        guard
          wanted.contains([
            record.submissionID, kind.rawValue, String(record.seq), String(studentSeq),
          ])
        else { continue }
        // A contact of a new student the SIS has numbered since: linked by that number.
        if !kind.isStudent, record[FieldName.studentNumber].isEmpty,
          let number = try studentNumber(
            state, submission: record.submissionID, studentSeq: studentSeq)
        {
          record.fields[FieldName.studentNumber] = number
        }
        keep.append(record)
      }
      plan.records = keep
      plan.delivered = plan.delivered.filter { ids.contains($0[0]) }
      guard !keep.isEmpty else { continue }
      let sent = try Redelivery.send(plan, delivery: delivery)
      try state.database.inTransaction {
        for id in ids {
          try state.database.execute(
            "DELETE FROM redeliver_requests WHERE submission_id = ?", [.text(id)])
        }
      }
      log(
        "re-delivery \(sent.id): \(keep.count) unconfirmed records of \(ids.count) submissions sent again (sisdrop redeliver)"
      )
    }
    // Requests whose records were confirmed meanwhile: nothing to send.
    try state.database.execute(
      "DELETE FROM redeliver_requests WHERE submission_id NOT IN (SELECT submission_id FROM delivered_records WHERE status != 'confirmed')"
    )
  }
}
