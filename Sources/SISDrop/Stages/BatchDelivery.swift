import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropMatching
import SISDropStore

/// A delivery of one batch, the one interface the deliver stage and the re-deliveries
/// (`Redelivery`: `--only`, an owed re-delivery, `sisdrop redeliver`) share: the pipeline's
/// profile checked against Plugin.xml, the snapshot the batch matched against, the plan for a set
/// of submissions, and the delivery files written from a plan. How a plan is made and written
/// stays the deliver stage's own (`DeliverStage`).
struct BatchDelivery {
  typealias Plan = DeliverStage.Plan

  let workdir: WorkDir
  let batch: BatchRecord
  let config: PipelineConfig
  let profile: DeliveryProfile
  let snapshot: Snapshot

  /// - Throws: `SISDropError` 78 when the profile asks for a field Plugin.xml does not grant
  ///   (`DeliverStage.checkedProfile`); 66 when the batch has no snapshot reference.
  init(workdir: WorkDir, batch: BatchRecord, config: PipelineConfig) throws {
    self.workdir = workdir
    self.batch = batch
    self.config = config
    profile = try DeliverStage.checkedProfile(config)
    snapshot = try Snapshot(
      path: try SnapshotReference.load(workdir, batch: batch.id).absolutePath(workdir))
  }

  var matchFolder: String { workdir.stageFolder(batch.id, .match) }

  /// The batch's normalized submissions and their match decisions, whole.
  func stageRecords() throws -> (submissions: [Submission], decisions: [SubmissionDecision]) {
    (
      try JSONLines.read(
        Submission.self, from: workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl"),
      try JSONLines.read(SubmissionDecision.self, from: matchFolder + "/decisions.jsonl")
    )
  }

  /// The plan for `submissions`, with the corrections recorded in state.sqlite and the pipeline's
  /// delivery settings (`delivery.create`), as the deliver stage plans the batch.
  func plan(_ submissions: [Submission], decisions: [SubmissionDecision]) throws -> Plan {
    let snapshot = self.snapshot
    return try DeliverStage.makePlan(
      submissions, decisions: decisions, corrections: try workdir.state.corrections(),
      validator: try DeliveryValidator(snapshot: snapshot), profile: profile,
      delivery: config.delivery,
      matchFolder: matchFolder,
      current: { try DeliverStage.currentValues($0, snapshot: snapshot) })
  }

  /// Writes the plan's delivery files into `folder`, named with `prefix` (the batch id, or a
  /// re-delivery's `<batch>-rK`); returns their counts.
  func write(_ plan: Plan, prefix: String, folder: String) throws -> [String: Int] {
    let context = try DeliverStage.makeContext(
      workdir, batch: batch, config: config, prefix: prefix, snapshot: snapshot,
      records: plan.records)
    return try DeliverStage.write(plan, profile: profile, context: context, folder: folder)
  }
}
