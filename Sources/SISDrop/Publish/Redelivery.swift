import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropMatching
import SISDropStore

/// `sisdrop-deliver --only IDS`: delivers corrected records of the open batch again (the seed's
/// "rectify incorrect values and click Deliver Record again").
///
/// A published delivery is never overwritten, so a re-delivery is a delivery of its own:
/// `batches/<batch>/redeliveries/rK/` holds files named `<batch>-rK_...` and its own trigger
/// `<batch>-rK.ready`, published to the outbox beside the batch's first delivery; the SIS imports
/// it like any batch. Close counts what every re-delivery delivered and checks its files in the outbox.
package enum Redelivery {
  package struct Result: Sendable, Codable {
    package var id: String
    package var folder: String
    package var delivered: [String]
    package var errors: [[String]]
  }

  static func folder(_ workdir: WorkDir, batch: String) -> String {
    workdir.batchFolder(batch) + "/redeliveries"
  }

  /// The re-deliveries of a batch, oldest first: (id `<batch>-rK`, folder).
  static func all(_ workdir: WorkDir, batch: String) throws -> [(id: String, folder: String)] {
    let base = folder(workdir, batch: batch)
    guard FileSystem.isDirectory(base) else { return [] }
    return try FileSystem.listDirectory(base).filter {
      $0.hasPrefix("r") && Int($0.dropFirst()) != nil
    }
    .sorted { Int($0.dropFirst())! < Int($1.dropFirst())! }
    .map { ("\(batch)-\($0)", base + "/" + $0) }
  }

  /// Every submission the batch delivered: the deliver stage's and each re-delivery's.
  package static func delivered(_ workdir: WorkDir, batch: String) throws -> [(
    id: String, hash: String
  )] {
    var rows = try BatchLifecycle.readTable(workdir.stageFolder(batch, .deliver) + "/delivered.csv")
    for redelivery in try all(workdir, batch: batch) {
      rows += try BatchLifecycle.readTable(redelivery.folder + "/delivered.csv")
    }
    return rows.map { ($0[0], $0[1]) }
  }

  /// Publishes every re-delivery whose ready file is not in the outbox yet (a crash or a publish
  /// error between its rename and its publication), its ids recorded first; a re-delivery a crash
  /// interrupted while it was being written (`.rK.tmp-PID`) is rolled back: it was never published.
  static func publishPending(_ workdir: WorkDir, batch: String, outbox: String) throws {
    let base = folder(workdir, batch: batch)
    for name in (try? FileSystem.listDirectory(base)) ?? []
    where name.hasPrefix(".r") && name.contains(".tmp-") {
      try FileSystem.removeTree(base + "/" + name)
    }
    for redelivery in try all(workdir, batch: batch) {
      try StableIDs.record(folder: redelivery.folder, batch: batch, state: workdir.state)
      if !FileSystem.exists(outbox + "/" + Publisher.readyName(redelivery.id)) {
        _ = try Publisher.publish(
          batch: redelivery.id, deliverFolder: redelivery.folder, outbox: outbox)
      }
    }
  }

  /// The file a deliver attempt after publication lists what has become deliverable since in: the
  /// re-delivery it owes. Written with the stage's folder, so a crash before the re-delivery is
  /// written leaves the debt on disk and `finishOwed` pays it.
  static let owedFileName = "redeliver.csv"

  /// Sends what the current deliver attempt owes and no re-delivery has sent yet (a crash between
  /// the deliver folder's rename and the re-delivery's). Run by `sisdrop run` and close.
  static func finishOwed(_ workdir: WorkDir, batch: BatchRecord, log: (String) -> Void = { _ in })
    throws
  {
    let config = try workdir.config(for: batch)
    try publishPending(workdir, batch: batch.id, outbox: workdir.outbox(config))
    let owed = workdir.stageFolder(batch.id, .deliver) + "/" + owedFileName
    guard batch.state == .open, FileSystem.exists(owed) else { return }
    let sent = Set(try delivered(workdir, batch: batch.id).map(\.id))
    let ids = try BatchLifecycle.readTable(owed).map { $0[0] }.filter { !sent.contains($0) }
    guard !ids.isEmpty else { return }
    let plan = try self.plan(workdir: workdir, batch: batch, config: config, ids: ids)
    guard !plan.plan.delivered.isEmpty else { return }
    let result = try send(plan.plan, delivery: plan.delivery)
    log(
      "re-delivery \(result.id): \(result.delivered.count) submissions an interrupted run owed, sent"
    )
  }

  /// The delivery plan for `ids` of the open batch, with the corrections recorded since.
  static func plan(workdir: WorkDir, batch: BatchRecord, config: PipelineConfig, ids: [String])
    throws
    -> (plan: BatchDelivery.Plan, delivery: BatchDelivery)
  {
    let delivery = try BatchDelivery(workdir: workdir, batch: batch, config: config)
    let (submissions, decisions) = try delivery.stageRecords()
    let wanted = Set(ids)
    let plan = try delivery.plan(
      submissions.filter { wanted.contains($0.id) }, decisions: decisions)
    return (plan, delivery)
  }

  /// Checks that the outbox holds every re-delivery's files, byte for byte.
  package static func verify(_ workdir: WorkDir, batch: String, outbox: String) throws
    -> [FileRecord]
  {
    try all(workdir, batch: batch).flatMap {
      try Publisher.verify(batch: $0.id, deliverFolder: $0.folder, outbox: outbox)
    }
  }

  /// Re-delivers `ids` in the open batch, with the corrections recorded since.
  ///
  /// - Throws: `SISDropError` 64 when the batch is not open or an id cannot be re-delivered
  ///   (already delivered, held for review, rejected before matching); 65 when every requested
  ///   record is still in error (errors.csv of the attempt is kept, nothing is published).
  package static func run(
    workdir: WorkDir, batch: BatchRecord, ids: [String], log: (String) -> Void = { _ in }
  ) throws -> Result {
    guard batch.state == .open else {
      throw SISDropError(
        .usage, "batch \(batch.id) is \(batch.state.rawValue): only the open batch re-delivers")
    }
    let config = try workdir.config(for: batch)
    let outbox = workdir.outbox(config)
    // A deliver stage stale only because match (a `sisdrop resolve`) or anything upstream ran
    // again after publication is fine: what was published is fixed, and the decisions read below are current.
    if let problem = StageRunner.problem(with: .deliver, workdir: workdir, batch: batch.id),
      !Publication.acceptsStaleDeliver(workdir, batch: batch.id, outbox: outbox)
    {
      throw SISDropError(
        .usage, "deliver \(problem)", hint: "run `sisdrop-deliver` for the batch first")
    }
    // A re-delivery a crash or a publish error left unpublished goes out first.
    try publishPending(workdir, batch: batch.id, outbox: outbox)
    let delivery = try BatchDelivery(workdir: workdir, batch: batch, config: config)
    let alreadyDelivered = Set(try delivered(workdir, batch: batch.id).map(\.id))
    let (submissions, decisions) = try delivery.stageRecords()
    var selected: [Submission] = []
    // `--only A,A` names A once: a submission is never sent twice (for a new child, two SIS students).
    var seen = Set<String>()
    for id in ids where seen.insert(id).inserted {
      if alreadyDelivered.contains(id) {
        throw SISDropError(
          .usage, "submission \(id) is already delivered in batch \(batch.id)",
          hint: "a delivered record is never sent twice")
      }
      guard let submission = submissions.first(where: { $0.id == id }) else {
        throw SISDropError(
          .usage, "submission \(id) is not among batch \(batch.id)'s matched submissions",
          hint:
            "a submission this batch rejected before matching (see 40-deliver/errors.csv) goes out in the next batch: fix it with `sisdrop correct` (School, Grade_Level, Relationship, phone, ZIP, ...) or in the enrollment system, `sisdrop close` this batch, and the next `sisdrop run` that brings it delivers it"
        )
      }
      if decisions.first(where: { $0.submissionID == id })?.needsReview ?? false {
        throw SISDropError(
          .usage, "submission \(id) has an unresolved potential match",
          hint: "resolve it first (sisdrop resolve)")
      }
      selected.append(submission)
    }
    let plan = try delivery.plan(selected, decisions: decisions)
    guard !plan.delivered.isEmpty else {
      throw SISDropError(
        .dataError,
        "nothing re-delivered: \(plan.errors.count) problem(s) remain: "
          + plan.errors.prefix(5).map { "\($0[0]) \($0[1]) \($0[2]) \($0[3]): \($0[5])" }.joined(
            separator: "; "),
        hint: plan.errors.first?[6])
    }
    let result = try send(plan, delivery: delivery)
    BatchReport.refresh(workdir: workdir, batch: batch, log: log)
    log(
      "re-delivery \(result.id): \(plan.delivered.count) submissions delivered, \(Set(plan.errors.map { $0[0] }).count) still in error"
    )
    return result
  }

  /// Writes `plan` as the batch's next re-delivery `rK` (staged, fsynced, one rename) and publishes it.
  static func send(_ plan: BatchDelivery.Plan, delivery: BatchDelivery) throws -> Result {
    let workdir = delivery.workdir
    let batch = delivery.batch
    let base = folder(workdir, batch: batch.id)
    try FileSystem.makeDirectory(base)
    let number = (try all(workdir, batch: batch.id).count) + 1
    let id = "\(batch.id)-r\(number)"
    let temporary = base + "/.r\(number).tmp-\(getpid())"
    let final = base + "/r\(number)"
    try FileSystem.removeTree(temporary)
    try FileSystem.makeDirectory(temporary)
    do {
      _ = try delivery.write(plan, prefix: id, folder: temporary)
      try FileSystem.syncTree(temporary)
      try FileSystem.rename(temporary, to: final)
      try FileSystem.syncDirectory(base)
    } catch {
      try? FileSystem.removeTree(temporary)
      throw error
    }
    // Once renamed, rK counts as delivered: its ids are recorded before its ready file is visible;
    // if this is interrupted, publishPending (next run, `--only`, deliver rerun or close) finishes it.
    try StableIDs.record(folder: final, batch: batch.id, state: workdir.state)
    _ = try Publisher.publish(
      batch: id, deliverFolder: final, outbox: workdir.outbox(delivery.config))
    return Result(
      id: id, folder: final, delivered: plan.delivered.map { $0[0] }, errors: plan.errors)
  }
}
