import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropMatching
import SISDropStore

/// The deliver stage: writes the delivery files the SIS imports, in the pipeline's profile, and
/// publishes them to the outbox.
///
/// New students, updated students (the key and only the changed fields), new and updated
/// contacts and documents, each file named with the batch id; a submission with an unresolved
/// potential match is held back (`held.csv`); a record that failed parse, normalize or the
/// checks before delivery is listed in `errors.csv` (record, schema, field, value, reason, what
/// to do) and stays pending; `delivered.csv` lists what close marks delivered. Corrections
/// recorded in `state.sqlite` are applied first. Only fields Plugin.xml grants are written.
package enum DeliverStage {
  // errors.csv's own columns: `Reason` is why the row failed, not the tardy layout's field.
  package static let errorsHeader = [
    FieldName.submissionID, "Schema", "Seq", "Field", "Value", "Reason", "What_To_Do", "Stage",
    "File",
    "Line",
  ]
  package static let heldHeader = [
    FieldName.submissionID, "Schema", "Seq", "Held_For", "Candidates", "Fields", "What_To_Do",
  ]
  package static let deliveredHeader = [FieldName.submissionID, "Content_Hash"]
  /// The count of files the delivery puts in the outbox: 0 on a night that delivers nothing.
  package static let publishedFilesCount = "published_files"
  /// The count of submissions delivered before whose row this export re-sent could not be read
  /// (present only when there are some): not "in error", the child's delivered record stands.
  package static let resentUnreadableCount = "already_delivered_unreadable"
  static let resentUnreadablePrefix = "already delivered in batch "

  /// An errors.csv row of a submission delivered before whose re-sent row parse could not read.
  package static func isResentUnreadable(_ row: [String]) -> Bool {
    row.count > 7 && row[7] == Stage.parse.rawValue && row[6].hasPrefix(resentUnreadablePrefix)
  }

  static let refusedChangePrefix = "delivered before in batch "

  /// An errors.csv row of a new version of a submission delivered before (the family changed the
  /// form) that was refused: the SIS keeps the delivered record; only the enrollment system can fix
  /// the form (answers and corrections are for submissions not delivered yet).
  package static func isRefusedChange(_ row: [String]) -> Bool {
    row.count > 6 && row[6].hasPrefix(refusedChangePrefix)
  }

  /// What a refused new version of a delivered submission is, as the run's summary and the review
  /// queue's message say it: it does not stay pending (the ledger keeps it delivered).
  package static let refusedChangeWords =
    "a new version of a delivered submission, refused: the SIS keeps the delivered record; fix the form in the enrollment system"

  /// How errors.csv's submissions in error wait: pending, but for refused new versions of
  /// delivered submissions (counted).
  package static func inErrorWait(_ errors: [[String]]) -> String {
    let refused = Set(errors.filter(isRefusedChange).map { $0[0] }).count
    guard refused > 0 else { return "they stay pending" }
    return "they stay pending, but for \(refused): \(refusedChangeWords)"
  }

  /// errors.csv's submissions waiting for a fix, and those delivered before whose re-sent row
  /// could not be read (counted apart: nothing waits for them).
  package static func errorCounts(_ errors: [[String]]) -> (inError: Int, resentUnreadable: Int) {
    let resent = Set(errors.filter(isResentUnreadable).map { $0[0] })
    return (Set(errors.map { $0[0] }).subtracting(resent).count, resent.count)
  }

  static func countErrors(_ plan: Plan, into context: StageContext) {
    let (inError, resent) = errorCounts(plan.errors)
    context.counts["error_submissions"] = inError
    if resent > 0 { context.counts[resentUnreadableCount] = resent }
  }

  /// What a delivery will write, hold and report, before any file is written.
  struct Plan {
    var records: [DeliveryRecord] = []
    var held: [[String]] = []
    var delivered: [[String]] = []
    var errors: [[String]] = []
    /// Updates whose changes the delivery layout has no column for: not written (an empty row would
    /// be imported as nothing), recorded as "nothing to deliver" (submission, schema, seq, fields).
    var nothingToDeliver: [[String]] = []
    /// Updates of an SIS student that a later form of the batch for the same child replaces
    /// (`matching.forms_of_one_child`): not written (submission, seq, Student_Number, the later submission).
    var superseded: [[String]] = []
    /// New students not created because a later form of the batch for the same child creates it
    /// (`StudentDecision.sameChildAs`): submission, seq, the Student_Ref of the student created.
    var newSuperseded: [[String]] = []
    /// Updates of an SIS contact that a later form of the batch naming the same contact replaces:
    /// not written, or written as a link only where the row also links a student to the contact
    /// (submission, Contact_Seq, Contact_ID, the later submission).
    var contactsSuperseded: [[String]] = []
  }

  package static func run(_ context: StageContext) throws {
    let config = context.config
    let delivery = try BatchDelivery(workdir: context.workdir, batch: context.batch, config: config)
    let corrections = try context.workdir.state.corrections()
    // Once the batch is in the outbox its delivery is fixed: this attempt reproduces it, and what
    // has become deliverable since (resolved, corrected) goes out as the next re-delivery.
    let publication = try Publication.load(
      context.workdir, batch: context.batch.id, outbox: context.workdir.outbox(config))
    let alreadyDelivered = try reproducePublished(publication, context: context)
    let plan = try planBatch(
      context, delivery: delivery, corrections: corrections, skipping: alreadyDelivered)
    if let publication {
      try continuePublished(publication, plan: plan, context: context, delivery: delivery)
      return
    }
    let counts = try delivery.write(plan, prefix: context.batch.id, folder: context.output)
    context.counts.merge(counts) { $1 }
    context.counts["delivered_submissions"] = plan.delivered.count
    context.counts["held_submissions"] = Set(plan.held.map { $0[0] }).count
    countErrors(plan, into: context)
    if !corrections.isEmpty {
      context.notes.append("corrections applied from state.sqlite: \(corrections.count)")
    }
    noteWhatWasNotWritten(plan, context: context)
    publishAfterRename(context)
    if counts[publishedFilesCount] == 0 {
      context.notes.append("nothing to deliver: no file written to the outbox, no ready file")
    }
    context.log(summary(plan, counts: counts))
  }

  /// A published batch's files copied into this attempt's output, and the submissions it and its
  /// re-deliveries delivered (none before publication).
  static func reproducePublished(
    _ publication: (record: Publication.Record, folder: String)?, context: StageContext
  ) throws -> Set<String> {
    guard let publication else { return [] }
    let batch = context.batch.id
    try Publication.reproduce(publication.folder, batch: batch, into: context.output)
    var delivered = Set(
      try BatchLifecycle.readTable(publication.folder + "/delivered.csv").map { $0[0] })
    for redelivery in try Redelivery.all(context.workdir, batch: batch) {
      delivered.formUnion(
        try BatchLifecycle.readTable(redelivery.folder + "/delivered.csv").map { $0[0] })
    }
    return delivered
  }

  /// The plan for the batch's submissions not delivered yet, with the records parse and normalize
  /// rejected as its errors.
  static func planBatch(
    _ context: StageContext, delivery: BatchDelivery, corrections: [Correction],
    skipping alreadyDelivered: Set<String>
  ) throws -> Plan {
    // Progress: the submissions normalize wrote, less those this batch has delivered already.
    StageProgress.expect(
      submissions: max(
        0,
        ((try? StageReport.load(context.folder(of: .normalize)))?.counts["submissions"] ?? 0)
          - alreadyDelivered.count))
    let snapshot = delivery.snapshot
    var plan = try makePlan(
      submissionsPath: context.folder(of: .normalize) + "/submissions.jsonl",
      decisionsPath: context.folder(of: .match) + "/decisions.jsonl", skipping: alreadyDelivered,
      corrections: corrections, validator: try DeliveryValidator(snapshot: snapshot),
      profile: delivery.profile,
      delivery: delivery.config.delivery, matchFolder: context.folder(of: .match),
      current: { try currentValues($0, snapshot: snapshot) })
    for stage in [Stage.parse, .normalize] {
      for reject in try RejectsFile.read(context.folder(of: stage) + "/" + RejectsFile.name) {
        var row = errorRow(reject, stage: stage)
        // A row parse could not read, of a submission delivered before: the export re-sends every
        // approved submission, so this is a copy of one already in the SIS; it does not stay pending.
        if stage == .parse,
          let batch = try context.workdir.state.ledgerEntry(reject.submissionID)?.deliveredBatch
        {
          row[6] =
            "\(resentUnreadablePrefix)\(batch); this export's copy of its row could not be read, so the delivered record stands: "
            + "nothing to do, unless the family changed the form since (then fix the row in the enrollment system; the next export delivers the change)"
        }
        plan.errors.append(row)
      }
    }
    // A new version of a submission delivered before, refused: its errors.csv row said "it stays
    // pending" and `sisdrop review` did not list it (the ledger keeps it delivered).
    for index in plan.errors.indices where !isResentUnreadable(plan.errors[index]) {
      guard let batch = try context.workdir.state.ledgerEntry(plan.errors[index][0])?.deliveredBatch
      else { continue }
      plan.errors[index][6] =
        "\(refusedChangePrefix)\(batch); this new version of the form was refused for the reason given, so the SIS keeps the delivered record unchanged: "
        + "correct the form in the enrollment system (sisdrop's answers are for submissions not delivered yet); the next export delivers the change"
    }
    return plan
  }

  /// Counts and notes for what the plan leaves unwritten: updates and new students a later form
  /// of the same child replaces, contact updates a later form replaces, updates with nothing the
  /// layout carries.
  static func noteWhatWasNotWritten(_ plan: Plan, context: StageContext) {
    if !plan.superseded.isEmpty {
      context.counts["updates_superseded"] = plan.superseded.count
      for row in plan.superseded {
        context.notes.append(
          "update of SIS student \(row[2]) from \(row[0]) student \(row[1]) not written: \(row[3]), a later form of this batch for the same child, is delivered instead"
        )
      }
    }
    if !plan.contactsSuperseded.isEmpty {
      context.counts["contact_updates_superseded"] = plan.contactsSuperseded.count
      for row in plan.contactsSuperseded {
        context.notes.append(
          "update of SIS contact \(row[2]) from \(row[0]) contact \(row[1]) not written: \(row[3]), a later form of this batch naming the same contact, is delivered instead"
        )
      }
    }
    if !plan.newSuperseded.isEmpty {
      context.counts["new_students_superseded"] = plan.newSuperseded.count
      for row in plan.newSuperseded {
        context.notes.append(
          "new student \(row[1]) of \(row[0]) not created: \(row[2]), a later form of this batch for the same child, creates it"
        )
      }
    }
    if !plan.nothingToDeliver.isEmpty {
      context.counts["nothing_to_deliver"] = plan.nothingToDeliver.count
      for row in plan.nothingToDeliver {
        context.notes.append(
          "nothing to deliver: \(row[0]) \(row[1]) \(row[2]) changed \(row[3]), which the delivery layout has no column for"
        )
      }
    }
  }

  /// Once the stage's folder is in place: the ids first (durably, before the ready file is
  /// visible), then the outbox, then the kept copy; a crash between any two is finished by the
  /// next run (Publication.finish, .load).
  static func publishAfterRename(_ context: StageContext) {
    let workdir = context.workdir
    let record = context.batch
    let batch = record.id
    let outbox = workdir.outbox(context.config)
    let log = context.log
    let reports = context.writesReport
    context.afterPublish.append { folder in
      try StableIDs.record(folder: folder, batch: batch, state: workdir.state)
      _ = try Publisher.publish(batch: batch, deliverFolder: folder, outbox: outbox)
      try Publication.record(
        workdir, batch: batch, from: folder, attempt: try StageReport.load(folder).attempt)
      if reports { BatchReport.refresh(workdir: workdir, batch: record, log: log) }
    }
  }

  /// The stage's log line: what was delivered, held, in error, not written, and the documents.
  static func summary(_ plan: Plan, counts: [String: Int]) -> String {
    "deliver: \(plan.delivered.count) submissions delivered, \(Set(plan.held.map { $0[0] }).count) held for review, \(errorCounts(plan.errors).inError) in error"
      + (errorCounts(plan.errors).resentUnreadable == 0
        ? ""
        : ", \(errorCounts(plan.errors).resentUnreadable) already delivered whose re-sent row could not be read")
      + (plan.nothingToDeliver.isEmpty
        ? "" : ", \(plan.nothingToDeliver.count) updates with nothing to deliver")
      + (plan.superseded.isEmpty
        ? ""
        : ", \(plan.superseded.count) student updates replaced by a later form of the same child")
      + (plan.contactsSuperseded.isEmpty
        ? ""
        : ", \(plan.contactsSuperseded.count) contact updates replaced by a later form naming the same contact")
      + (plan.newSuperseded.isEmpty
        ? ""
        : ", \(plan.newSuperseded.count) new students created by a later form of the same child (not twice)")
      + ((counts["document_files"] ?? 0) + (counts["documents_already_delivered"] ?? 0) == 0
        ? ""
        : ", \(counts["document_files"] ?? 0) document files, \(counts["documents_already_delivered"] ?? 0) documents already delivered (not sent again)")
      + (counts[publishedFilesCount] == 0 ? "; nothing written to the outbox" : "")
  }

  /// A deliver attempt after publication: the published files are already copied into the output;
  /// held.csv and errors.csv say what is still open, and what has become deliverable since goes out
  /// (after this attempt's folder is in place) as the next re-delivery.
  static func continuePublished(
    _ publication: (record: Publication.Record, folder: String), plan: Plan, context: StageContext,
    delivery: BatchDelivery
  ) throws {
    let config = context.config
    let batch = context.batch.id
    let outbox = context.workdir.outbox(config)
    let workdir = context.workdir
    let record = context.batch
    try writeTable(
      context.outputPath("errors.csv"), header: errorsHeader, rows: sortedErrors(plan.errors))
    try writeTable(context.outputPath("held.csv"), header: heldHeader, rows: plan.held)
    // The counts of the attempt that was published: the current folder may be gone (a kill between
    // keeping it as an earlier attempt and renaming the new one into place).
    let deliver = workdir.stageFolder(batch, .deliver)
    let published = [deliver, deliver + ".attempt-\(publication.record.attempt)"]
      .compactMap { try? StageReport.load($0) }.first { $0.attempt == publication.record.attempt }
    context.counts = (published ?? (try? StageReport.load(deliver)))?.counts ?? [:]
    context.counts["delivered_submissions"] = try BatchLifecycle.readTable(
      publication.folder + "/delivered.csv"
    ).count
    context.counts["held_submissions"] = Set(plan.held.map { $0[0] }).count
    countErrors(plan, into: context)
    context.notes.append(
      "published at \(publication.record.publishedAt) (attempt \(publication.record.attempt)): reproduced unchanged"
    )
    let again = Plan(records: plan.records, held: [], delivered: plan.delivered, errors: [])
    if !again.delivered.isEmpty {
      context.notes.append(
        "newly deliverable since publication: \(again.delivered.count), sent as a re-delivery")
      // The debt, in the stage's folder: a crash before the re-delivery is written is paid by the next run.
      try writeTable(
        context.outputPath(Redelivery.owedFileName), header: [FieldName.submissionID],
        rows: again.delivered.map { [$0[0]] }, forPeople: false)
    }
    let log = context.log
    let reports = context.writesReport
    context.afterPublish.append { _ in
      _ = try Publisher.publish(batch: batch, deliverFolder: publication.folder, outbox: outbox)
      try Redelivery.publishPending(workdir, batch: batch, outbox: outbox)
      if !again.delivered.isEmpty {
        let result = try Redelivery.send(again, delivery: delivery)
        log(
          "re-delivery \(result.id): \(result.delivered.count) submissions newly deliverable since publication"
        )
      }
      if reports { BatchReport.refresh(workdir: workdir, batch: record, log: log) }
    }
    context.log(
      "deliver: batch \(batch) was published at \(publication.record.publishedAt); reproduced it, \(again.delivered.count) newly deliverable, \(Set(plan.held.map { $0[0] }).count) held for review, \(errorCounts(plan.errors).inError) in error"
    )
  }

  /// Why each submission a batch's deliver left pending is still pending: held.csv's What_To_Do
  /// (a potential match, a kind the SIS import cannot create) or errors.csv's field and reason.
  package static func pendingReasons(workdir: WorkDir, batch: String) -> [String: String] {
    let folder = workdir.stageFolder(batch, .deliver)
    var reasons: [String: String] = [:]
    for row in (try? BatchLifecycle.readTable(folder + "/errors.csv")) ?? []
    where row.count > 5 && reasons[row[0]] == nil {
      reasons[row[0]] = "in error: \(row[1]) \(row[2]) \(row[3]): \(row[5])"
    }
    for row in (try? BatchLifecycle.readTable(folder + "/held.csv")) ?? []
    where row.count > 3 && reasons[row[0]] == nil {
      reasons[row[0]] = "held: " + row[3]
    }
    return reasons
  }

  /// A record parse or normalize rejected, as errors.csv lists it (`errorsHeader`).
  static func errorRow(_ reject: Reject, stage: Stage) -> [String] {
    [
      reject.submissionID, reject.schema, reject.seq.map(String.init) ?? "", reject.field,
      reject.value, reject.reason, reject.action, stage.rawValue, reject.source.path,
      reject.source.line.map(String.init) ?? "",
    ]
  }

  static func sortedErrors(_ errors: [[String]]) -> [[String]] {
    errors.sorted { ($0[0], Int($0[2]) ?? 0, $0[3]) < ($1[0], Int($1[2]) ?? 0, $1[3]) }
  }

  /// The pipeline's profile, checked against Plugin.xml's field policy.
  ///
  /// - Throws: `SISDropError` 78 naming the column, table and field that is not granted.
  /// - Throws: `SISDropError` 78 also when the pipeline names no Plugin.xml: without it nothing
  ///   says which SIS fields sisdrop may write, so nothing is delivered; and when a file that
  ///   creates records cannot carry one (`DeliveryProfiles.checkCreation`).
  static func checkedProfile(
    _ config: PipelineConfig, kinds: [DeliveryKind] = DeliveryKind.batchKinds
  ) throws -> DeliveryProfile {
    guard let pluginPath = config.pluginPath else {
      throw SISDropError.configuration(
        "the pipeline names no Plugin.xml: its access_request is the field policy that decides which SIS fields may be delivered",
        at: SourceLocation(path: config.path), hint: "set `plugin:` to the district's Plugin.xml")
    }
    let plugin = try PluginManifest.load(path: pluginPath)
    let profile = DeliveryProfiles.make(config)
    try DeliveryProfiles.checkPolicy(
      profile, plugin: plugin, pluginPath: pluginPath, kinds: Set(kinds), pipelinePath: config.path)
    try DeliveryProfiles.checkCreation(profile, kinds: Set(kinds), config: config)
    return profile
  }

  static func makeContext(
    _ workdir: WorkDir, batch: BatchRecord, config: PipelineConfig, prefix: String,
    snapshot: Snapshot,
    records: [DeliveryRecord]
  ) throws -> DeliveryContext {
    var schools: [String: String] = [:]
    for school in try snapshot.schools() { schools[school.number] = school.name }
    let documents = DocumentDelivery(
      source: workdir.batchFolder(batch.id) + "/input/" + config.submissions.documentsFolder,
      folder: config.delivery.documentsFolder(for: prefix),
      sent: try DeliveredDocuments.sent(state: workdir.state, except: prefix))
    return DeliveryContext(
      prefix: prefix, batchTime: batch.openedAt, districtName: config.districtName,
      schools: schools,
      sourcedIDs: try StableIDs.resolve(records, state: workdir.state), documents: documents)
  }

  /// Turns decided submissions into delivery records, holds and errors.
  static func makePlan(
    _ submissions: [Submission], decisions: [SubmissionDecision], corrections: [Correction],
    validator: DeliveryValidator, profile: DeliveryProfile,
    delivery: DeliveryConfig = DeliveryConfig(),
    matchFolder: String,
    current: @escaping (DeliveryRecord) throws -> [String: String] = { _ in [:] }
  ) throws -> Plan {
    var byID: [String: SubmissionDecision] = [:]
    for decision in decisions {
      // Two decisions for one submission: which one is right is not for delivery to guess.
      guard byID.updateValue(decision, forKey: decision.submissionID) == nil else {
        throw SISDropError.dataError(
          "submission \(decision.submissionID) has two match decisions",
          at: SourceLocation(path: matchFolder + "/decisions.jsonl"), hint: "rerun the match stage")
      }
    }
    var planner = Planner(
      corrections: corrections, validator: validator, profile: profile, delivery: delivery,
      matchFolder: matchFolder,
      current: current)
    for original in submissions {
      defer { StageProgress.step() }
      guard let decision = byID[original.id] else {
        throw SISDropError.dataError(
          "submission \(original.id) has no match decision", at: SourceLocation(path: matchFolder),
          hint: "rerun the match stage")
      }
      try planner.add(original, decision)
    }
    return try planner.finished()
  }

  /// The batch's plan from its stage files, read a chunk at a time: match writes one decision per
  /// submission in the submissions' order, so the two files are read in step and neither is held
  /// whole. Files out of step (edited by hand) are read whole by `makePlan`, which says what is wrong.
  static func makePlan(
    submissionsPath: String, decisionsPath: String, skipping delivered: Set<String>,
    corrections: [Correction],
    validator: DeliveryValidator, profile: DeliveryProfile, delivery: DeliveryConfig,
    matchFolder: String,
    current: @escaping (DeliveryRecord) throws -> [String: String],
    chunkSize: Int = MatchStage.chunkSize
  ) throws -> Plan {
    var planner = Planner(
      corrections: corrections, validator: validator, profile: profile, delivery: delivery,
      matchFolder: matchFolder,
      current: current)
    let submissionChunks = try StageJSONChunks(Submission.self, path: submissionsPath)
    let decisionChunks = try StageJSONChunks(SubmissionDecision.self, path: decisionsPath)
    var seen = Set<String>()
    while true {
      let submissions = try submissionChunks.next(chunkSize)
      let decisions = try decisionChunks.next(chunkSize)
      guard submissions.count == decisions.count,
        zip(submissions, decisions).allSatisfy({
          $0.id == $1.submissionID && seen.insert($0.id).inserted
        })
      else {
        return try makePlan(
          try JSONLines.read(Submission.self, from: submissionsPath).filter {
            !delivered.contains($0.id)
          },
          decisions: try JSONLines.read(SubmissionDecision.self, from: decisionsPath),
          corrections: corrections,
          validator: validator, profile: profile, delivery: delivery, matchFolder: matchFolder,
          current: current)
      }
      if submissions.isEmpty { return try planner.finished() }
      for (submission, decision) in zip(submissions, decisions)
      where !delivered.contains(submission.id) {
        defer { StageProgress.step() }
        try planner.add(submission, decision)
      }
    }
  }

  /// Builds a plan one decided submission at a time.
  struct Planner {
    var plan = Plan()
    var createdContacts = Set<String>()
    /// Per SIS student matched by a delivered form: the latest such form (approval time, then order
    /// in the export), whose update is the one written.
    var latestForm: [String: (approved: Int64, submissionID: String, seq: Int)] = [:]
    /// The corrections by submission, grouped once: filtering every correction on record (they are
    /// kept for years) for each delivered submission grew with corrections x submissions.
    let corrections: [String: [Correction]]
    let validator: DeliveryValidator
    let profile: DeliveryProfile
    let delivery: DeliveryConfig
    let matchFolder: String
    let current: (DeliveryRecord) throws -> [String: String]

    init(
      corrections: [Correction], validator: DeliveryValidator, profile: DeliveryProfile,
      delivery: DeliveryConfig, matchFolder: String,
      current: @escaping (DeliveryRecord) throws -> [String: String]
    ) {
      self.corrections = Dictionary(grouping: corrections, by: \.submissionID)
      self.validator = validator
      self.profile = profile
      self.delivery = delivery
      self.matchFolder = matchFolder
      self.current = current
    }

    /// Forms with a student that a later form of the batch creates (`sameChildAs`): planned last,
    /// once it is known whether that form is delivered.
    var deferred: [(Submission, SubmissionDecision)] = []
    /// The `Student_Ref` of every new student this plan creates.
    var createdStudents = Set<String>()

    mutating func add(_ original: Submission, _ decision: SubmissionDecision) throws {
      if decision.needsReview {
        plan.held += heldRows(original, decision)
        return
      }
      if decision.students.contains(where: { $0.sameChildAs != nil }) {
        deferred.append((original, decision))
        return
      }
      try deliver(original, decision)
    }

    /// The plan, with the deferred forms: delivered (their student not created again) when the
    /// form that creates the child is delivered; held with it otherwise, so the child is never
    /// left without the form's guardians and documents.
    mutating func finished() throws -> Plan {
      for (original, decision) in deferred {
        let waiting = decision.students.filter {
          $0.sameChildAs.map { !createdStudents.contains($0) } ?? false
        }
        if !waiting.isEmpty {
          for student in waiting {
            plan.held.append([
              original.id, "student", String(student.seq), "the same new child as another form",
              student.sameChildAs ?? "", "",
              "\(student.sameChildAs ?? ""), a later form of this batch for the same child, creates the new student and is not delivered yet (held or in error): this form waits with it",
            ])
          }
          continue
        }
        let before = plan.delivered.count
        try deliver(original, decision)
        guard plan.delivered.count > before else { continue }
        for student in decision.students {
          if let ref = student.sameChildAs {
            plan.newSuperseded.append([original.id, String(student.seq), ref])
          }
        }
      }
      deferred = []
      return plan
    }

    mutating func deliver(_ original: Submission, _ decision: SubmissionDecision) throws {
      let mine = corrections[original.id] ?? []
      let submission = Corrections.apply(mine, to: original)
      // A corrected field goes out even when it was not a difference the match found.
      let corrected = mine.filter { $0.version == (original.contentHash ?? "") }
      var records = try records(
        of: submission, decision: decision, matchFolder: matchFolder,
        corrected: corrected.map { ($0.schema, $0.seq, $0.field) })
      // A new record the SIS import cannot create (`delivery.create`): the submission waits whole,
      // held with that reason, never marked delivered.
      var uncreatable = Set<[String]>()
      for record in records
      where !delivery.creates(record.kind)
        && uncreatable.insert([record.kind.schema, String(record.seq)]).inserted
      {
        let schema = record.kind.schema
        plan.held.append([
          original.id, String(record.seq), "",
          "the SIS import cannot create \(schema)s (delivery.create.\(schema)s: false): create \(schema) \(record.seq) of this form in the SIS; the next SIS export matches it and the submission is delivered then; it stays pending until then",
        ])
      }
      if !uncreatable.isEmpty { return }
      // An update whose changes the layout has no column for would be an empty row: nothing to deliver.
      let profile = self.profile
      var nothingToDeliver: [[String]] = []
      records = records.filter { record in
        guard record.kind.isUpdate, !record.changed.isEmpty else { return true }
        let carried = DeliveryProfiles.carried(profile, record.kind)
        if record.changed.contains(where: carried.contains) { return true }
        nothingToDeliver.append([
          record.submissionID, record.kind.schema, String(record.seq),
          record.changed.sorted().joined(separator: " "),
        ])
        return false
      }
      plan.nothingToDeliver += nothingToDeliver
      for index in records.indices where records[index].kind.isUpdate {
        records[index].current = try current(records[index])
      }
      var errors: [[String]] = []
      for record in records {
        var problems = validator.problems(record)
        if let problem = profile.problem(with: record) { problems.append(problem) }
        for p in problems {
          errors.append([
            record.submissionID, record.kind.schema, String(record.seq), p.field, p.value, p.reason,
            p.action,
            Stage.deliver.rawValue, "", "",
          ])
        }
      }
      // A submission is delivered whole or not at all: the SIS never gets half a family.
      if !errors.isEmpty {
        var seen = Set<[String]>()
        plan.errors += errors.filter { seen.insert($0).inserted }
        return
      }
      // A new contact is created by its first row in the delivery (this submission's first student,
      // or the first delivered form naming the person); every later row only links a student to it.
      for index in records.indices where records[index].kind == .contactsNew {
        if !createdContacts.insert(records[index]["Contact_Ref"]).inserted {
          records[index].isLink = true
          records[index].changed = [FieldName.relationship]
        }
      }
      supersedeEarlierForms(original, decision, &records)
      for record in records where record.kind == .studentsNew {
        createdStudents.insert(record["Student_Ref"])
      }
      plan.records += records
      plan.delivered.append([submission.id, submission.contentHash ?? ""])
    }

    /// Several delivered forms of the batch matched to one SIS student (the same child submitted
    /// again): only the latest form's update is written, so the SIS ends with what the family said
    /// last — two rows for one student would leave an earlier form's value wherever the later one
    /// agrees with the SIS. The replaced updates are listed (`Plan.superseded`).
    mutating func supersedeEarlierForms(
      _ submission: Submission, _ decision: SubmissionDecision, _ records: inout [DeliveryRecord]
    ) {
      let approved =
        TimestampReader.instant(submission.approvedAt).map { Int64($0.timeIntervalSince1970) }
        ?? Int64.min
      for student in decision.students where student.decision.outcome == .matched {
        guard let number = student.decision.sisID else { continue }
        func isUpdate(_ record: DeliveryRecord, of id: String, _ seq: Int) -> Bool {
          record.kind == .studentsUpdate && record.submissionID == id && record.seq == seq
        }
        if let earlier = latestForm[number] {
          if earlier.approved > approved {
            records.removeAll { isUpdate($0, of: submission.id, student.seq) }
            plan.superseded.append([
              submission.id, String(student.seq), number, earlier.submissionID,
            ])
            continue
          }
          plan.records.removeAll { isUpdate($0, of: earlier.submissionID, earlier.seq) }
          plan.superseded.append([earlier.submissionID, String(earlier.seq), number, submission.id])
        }
        latestForm[number] = (approved, submission.id, student.seq)
      }
      supersedeEarlierContactUpdates(submission, approved: approved, &records)
    }

    /// Per SIS contact updated by a delivered form: the latest such form.
    var latestContactForm: [String: (approved: Int64, submissionID: String, seq: Int)] = [:]

    /// Several delivered forms of the batch updating one SIS contact (two siblings' forms naming
    /// the same mother with another phone): as for a student, only the latest form's update is
    /// written. An earlier form's row that also links a student to the contact (a new child, or one
    /// the SIS does not link to it) stays as a link row without the changed fields.
    mutating func supersedeEarlierContactUpdates(
      _ submission: Submission, approved: Int64, _ records: inout [DeliveryRecord]
    ) {
      var updated: [String: Int] = [:]
      for record in records where record.kind == .contactsUpdate && !record.changed.isEmpty {
        updated[record[FieldName.contactID]] = record.seq
      }
      /// The rows of `id`'s update of `contact`, reduced to links or removed.
      func reduce(_ rows: inout [DeliveryRecord], of id: String, _ contact: String) {
        rows = rows.compactMap { record in
          guard record.kind == .contactsUpdate, record.submissionID == id,
            record[FieldName.contactID] == contact, !record.changed.isEmpty
          else { return record }
          let number = record[FieldName.studentNumber]
          let linked = record.current["Student_Numbers"] ?? ""
          guard number.isEmpty || !linked.split(separator: " ").contains(Substring(number)) else {
            return nil
          }
          var link = record
          link.changed = []
          return link
        }
      }
      for (contact, seq) in updated.sorted(by: { $0.key < $1.key }) {
        if let earlier = latestContactForm[contact] {
          if earlier.approved > approved {
            reduce(&records, of: submission.id, contact)
            plan.contactsSuperseded.append([
              submission.id, String(seq), contact, earlier.submissionID,
            ])
            continue
          }
          reduce(&plan.records, of: earlier.submissionID, contact)
          plan.contactsSuperseded.append([
            earlier.submissionID, String(earlier.seq), contact, submission.id,
          ])
        }
        latestContactForm[contact] = (approved, submission.id, seq)
      }
    }
  }

  /// held.csv's rows for a held submission: each potential match, and each record whose update the
  /// `updates:` policy holds for a person, with the commands that answer it.
  static func heldRows(_ submission: Submission, _ decision: SubmissionDecision) -> [[String]] {
    var rows: [[String]] = []
    let siblings = submission.students.count > 1
    for student in decision.students where student.decision.outcome == .potential {
      let match = BatchReport.resolveCommand(
        id: submission.id, seq: student.seq, match: "SIS_ID", siblings: siblings)
      let noMatch = BatchReport.resolveCommand(
        id: submission.id, seq: student.seq, match: nil, siblings: siblings)
      rows.append([
        submission.id, "student", String(student.seq), "potential match",
        student.decision.candidates.map(\.sisID).joined(separator: " "), "",
        "resolve it with `\(match)` (one of the candidates) or `\(noMatch)`; the next `sisdrop run` delivers it",
      ])
    }
    for contact in decision.contacts where contact.outcome == .potential {
      let id = shellQuote(submission.id)
      rows.append([
        submission.id, "contact", String(contact.seq), "potential match",
        (contact.candidates ?? []).joined(separator: " "), "",
        "resolve it with `sisdrop resolve \(id) --match CONTACT_ID --contact \(contact.seq)` (one of the candidates) or "
          + "`sisdrop resolve \(id) --no-match --contact \(contact.seq)`; the next `sisdrop run` delivers it",
      ])
    }
    func heldUpdate(
      _ schema: String, _ seq: Int, _ sisID: String, _ held: [FieldDifference], many: Bool
    ) {
      guard let first = held.first?.field else { return }
      let which =
        many
        ? (schema == "student" ? " --student \(seq)" : " --contact \(seq)")
        : (schema == "contact" ? " --contact \(seq)" : "")
      let id = shellQuote(submission.id)
      rows.append([
        submission.id, schema, String(seq), "update to review", sisID,
        held.map(\.field).joined(separator: " "),
        "the form's value differs from the SIS's: for each field, `sisdrop accept \(id) \(first)\(which)` writes the form's value, "
          + "`sisdrop keep-sis \(id) \(first)\(which)` keeps the SIS value (see `sisdrop show \(id)`); the next `sisdrop run` delivers it",
      ])
    }
    for student in decision.students {
      heldUpdate(
        "student", student.seq, student.decision.sisID ?? "", student.heldDifferences ?? [],
        many: siblings)
    }
    for contact in decision.contacts {
      heldUpdate(
        "contact", contact.seq, contact.contactID ?? "", contact.heldDifferences ?? [], many: true)
    }
    return rows
  }

  /// What the SIS holds now for an updated record (from the batch's snapshot).
  static func currentValues(_ record: DeliveryRecord, snapshot: Snapshot) throws -> [String: String]
  {
    switch record.kind {
    case .studentsUpdate:
      guard let student = try snapshot.student(number: record[FieldName.studentNumber]) else {
        return [:]
      }
      var values = student.fields
      values["Contact_IDs"] = try snapshot.contacts(ofStudent: student.id).map(\.id).joined(
        separator: " ")
      return values
    case .contactsUpdate:
      // The contact's SIS values (from any student it belongs to) and every SIS student it is linked to.
      let numbers = try snapshot.database.rows(
        "SELECT DISTINCT student_number FROM contacts WHERE contact_id = ? AND student_number != '' ORDER BY student_number",
        [.text(record[FieldName.contactID])]
      ).compactMap { $0[0].string }
      var values: [String: String] = [:]
      for number in numbers {
        if let contact = try snapshot.contacts(ofStudent: number).first(where: {
          $0.id == record[FieldName.contactID]
        }) {
          values = contact.fields
          break
        }
      }
      values["Student_Numbers"] = numbers.joined(separator: " ")
      return values
    default:
      return [:]
    }
  }

  /// A submission's delivery records: students new or updated, contacts new or updated (one per
  /// student they belong to: siblings share guardians), documents.
  ///
  /// - Throws: `SISDropError` 65 naming decisions.jsonl when a student or contact has no decision
  ///   or two (decisions are looked up by seq, never by position: a sibling's number must not land on another child).
  static func records(
    of submission: Submission, decision: SubmissionDecision, matchFolder: String = "30-match",
    corrected: [(schema: String, seq: Int, field: String)] = []
  ) throws -> [DeliveryRecord] {
    let form = DecidedForm(
      submission: submission, decision: decision, matchFolder: matchFolder, corrected: corrected)
    let students = try studentRecords(form)
    return students.records
      + (try contactRecords(
        form, sisNumber: students.sisNumber, createdElsewhere: students.createdElsewhere))
      + documentRecords(
        submission, sisNumber: students.sisNumber, createdElsewhere: students.createdElsewhere)
  }

  /// A submission with its match decision: each student's or contact's decision looked up by seq,
  /// and what an update of each changes.
  private struct DecidedForm {
    let submission: Submission
    let decision: SubmissionDecision
    let matchFolder: String
    let corrected: [(schema: String, seq: Int, field: String)]

    /// What an update changes: the match's differences and every corrected field.
    func changes(_ differences: [FieldDifference], _ schema: String, _ seq: Int) -> [String] {
      var fields = differences.map(\.field)
      for c in corrected where c.schema == schema && c.seq == seq && !fields.contains(c.field) {
        fields.append(c.field)
      }
      return fields
    }

    func decided<T>(_ decisions: [T], _ seq: Int, _ schema: String, _ seqOf: (T) -> Int) throws -> T
    {
      let found = decisions.filter { seqOf($0) == seq }
      guard found.count == 1, let only = found.first else {
        throw SISDropError.dataError(
          "submission \(submission.id) \(schema) \(seq) has \(found.isEmpty ? "no" : "\(found.count)") match decisions",
          at: SourceLocation(path: matchFolder + "/decisions.jsonl"), hint: "rerun the match stage")
      }
      return only
    }
  }

  /// The form's students: new ones first, then updates of matched ones (only those with a change),
  /// with each matched student's SIS number and the students another form creates (`sameChildAs`:
  /// no row of theirs is written).
  private static func studentRecords(_ form: DecidedForm) throws -> (
    records: [DeliveryRecord], sisNumber: [Int: String], createdElsewhere: Set<Int>
  ) {
    let submission = form.submission
    var records: [DeliveryRecord] = []
    var sisNumber: [Int: String] = [:]
    var updates: [DeliveryRecord] = []
    var createdElsewhere = Set<Int>()
    for student in submission.students {
      let studentDecision = try form.decided(form.decision.students, student.seq, "student", \.seq)
      if studentDecision.sameChildAs != nil {
        createdElsewhere.insert(student.seq)
        continue
      }
      var values = student.fields
      values[FieldName.submissionID] = submission.id
      values["Student_Ref"] = Submission.studentRef(submission.id, student.seq)
      if studentDecision.decision.outcome == .matched, let id = studentDecision.decision.sisID {
        sisNumber[student.seq] = id
        values[FieldName.studentNumber] = id
        // A value the match gave the form it does not carry: Enroll_Status, `0` (an approved form
        // enrolls the child), so that a returning child the SIS shows as transferred out is active again.
        for difference in studentDecision.differences where values[difference.field] == nil {
          values[difference.field] = difference.enrollment
        }
        let changed = form.changes(studentDecision.differences, "student", student.seq)
        guard !changed.isEmpty else { continue }
        updates.append(
          DeliveryRecord(
            kind: .studentsUpdate, submissionID: submission.id, seq: student.seq, fields: values,
            changed: changed))
      } else {
        records.append(
          DeliveryRecord(
            kind: .studentsNew, submissionID: submission.id, seq: student.seq, fields: values))
      }
    }
    return (records + updates, sisNumber, createdElsewhere)
  }

  /// The form's contacts, one row per student they belong to (siblings share guardians).
  private static func contactRecords(
    _ form: DecidedForm, sisNumber: [Int: String], createdElsewhere: Set<Int>
  ) throws -> [DeliveryRecord] {
    let submission = form.submission
    var records: [DeliveryRecord] = []
    for contact in submission.contacts {
      let contactDecision = try form.decided(form.decision.contacts, contact.seq, "contact", \.seq)
      let isUpdate = contactDecision.outcome == .matched
      let changed = form.changes(contactDecision.differences, "contact", contact.seq)
      for student in submission.students where !createdElsewhere.contains(student.seq) {
        // A matched contact with nothing to change is skipped only for a student the SIS already
        // links it to; a new child, or a matched one whose guardian the SIS lists only under a
        // sibling, still needs its link to the guardian (key + Student_Ref, nothing changed).
        if isUpdate && changed.isEmpty, let number = sisNumber[student.seq],
          contactDecision.sisStudents.map({ $0.contains(number) }) ?? true
        {
          continue
        }
        var values = contact.fields
        values[FieldName.submissionID] = submission.id
        values["Student_Ref"] = Submission.studentRef(submission.id, student.seq)
        values[FieldName.studentNumber] = sisNumber[student.seq] ?? ""
        values[FieldName.contactID] = contactDecision.contactID ?? ""
        // A new contact is one person however many forms name it: the first form's contact stands for all.
        values["Contact_Ref"] =
          isUpdate ? "" : contactDecision.sameAs ?? "\(submission.id)/\(contact.seq)"
        // The student's school, for profiles that place a contact in a school (OneRoster's orgSourcedIds).
        values["Student_SchoolID"] = student[FieldName.schoolID]
        records.append(
          DeliveryRecord(
            kind: isUpdate ? .contactsUpdate : .contactsNew, submissionID: submission.id,
            seq: contact.seq,
            fields: values, changed: isUpdate ? changed : []))
      }
    }
    return records
  }

  /// The form's documents, under its first student (none when another form creates that child:
  /// the owner's other form carries the same documents, `MatchStage.formsOfOneNewChild`).
  private static func documentRecords(
    _ submission: Submission, sisNumber: [Int: String], createdElsewhere: Set<Int>
  ) -> [DeliveryRecord] {
    guard let owner = submission.students.first?.seq, !createdElsewhere.contains(owner) else {
      return []
    }
    return submission.documents.map { document in
      var values = document.fields
      values[FieldName.submissionID] = submission.id
      values["Student_Ref"] = Submission.studentRef(submission.id, owner)
      values[FieldName.studentNumber] = sisNumber[owner] ?? ""
      return DeliveryRecord(
        kind: .documents, submissionID: submission.id, seq: document.seq, fields: values)
    }
  }

  /// Writes a plan's files, errors.csv, held.csv, delivered.csv and the ready file (last) into `folder`.
  static func write(
    _ plan: Plan, profile: DeliveryProfile, context: DeliveryContext, folder: String,
    kinds: [DeliveryKind] = DeliveryKind.batchKinds
  ) throws -> [String: Int] {
    var counts: [String: Int] = [:]
    var ready: [[String]] = []
    let (records, alreadyDelivered) = documentsNotSentBefore(plan.records, context: context)
    // Nothing to deliver: no delivery file at all (header-only files would pile up in the outbox night after night).
    for file in try records.isEmpty
      ? [] : profile.write(records, kinds: kinds, context: context, folder: folder)
    {
      let (hash, size) = try SHA256.file(at: folder + "/" + file.name)
      ready.append([file.name, hash, String(size), String(file.rows)])
      counts[file.name.replacingOccurrences(of: context.prefix + "_", with: "")] = file.rows
    }
    if let documents = context.documents, kinds.contains(.documents) {
      let sent = try copyDocuments(
        records, documents: documents, prefix: context.prefix, folder: folder, ready: &ready)
      if !sent.isEmpty {
        try writeTable(
          folder + "/" + DocumentFiles.sentFileName, header: DocumentFiles.sentHeader, rows: sent,
          forPeople: false)
      }
      counts["document_files"] = sent.count
      if !alreadyDelivered.isEmpty {
        counts["documents_already_delivered"] = alreadyDelivered.count
        try writeTable(
          folder + "/" + DocumentFiles.alreadyDeliveredFileName,
          header: DocumentFiles.alreadyDeliveredHeader, rows: alreadyDelivered)
      }
    }
    try writeTables(plan, records: records, profile: profile, folder: folder)
    try writeTable(
      folder + "/" + Publisher.readyName(context.prefix),
      // The ready file's own columns: `SHA256` is a delivered file's hash, not a document row's.
      header: ["File", "SHA256", "Size", "Rows"], rows: ready, forPeople: false)
    counts[publishedFilesCount] = ready.filter { Int($0[3]) ?? 0 > 0 }.isEmpty ? 0 : ready.count
    return counts
  }

  /// The records less the documents whose SHA-256 a delivery has already sent (an earlier one, or
  /// this one for another row): neither copied nor listed again, the SIS has them. Those are
  /// returned as documents_already_delivered.csv's rows.
  private static func documentsNotSentBefore(
    _ records: [DeliveryRecord], context: DeliveryContext
  ) -> (records: [DeliveryRecord], alreadyDelivered: [[String]]) {
    guard let documents = context.documents else { return (records, []) }
    var alreadyDelivered: [[String]] = []
    var sending = Set<String>()
    let kept = records.filter { record in
      guard record.kind == .documents else { return true }
      let sha = record[FieldName.sha256].lowercased()
      if let earlier = documents.sent[sha] ?? (sending.contains(sha) ? context.prefix : nil) {
        alreadyDelivered.append([
          record.submissionID, String(record.seq), record[FieldName.docType], sha, earlier,
        ])
        return false
      }
      sending.insert(sha)
      return true
    }
    return (kept, alreadyDelivered)
  }

  /// Links (or copies) each document record's claimed upload into the delivery's documents
  /// folder, checks it still has the SHA-256 parse checked, and lists it in the ready file; returns
  /// the rows of the documents sent.
  ///
  /// - Throws: `SISDropError` 65 when a claimed upload changed since parse checked it.
  private static func copyDocuments(
    _ records: [DeliveryRecord], documents: DocumentDelivery, prefix: String, folder: String,
    ready: inout [[String]]
  ) throws -> [[String]] {
    var sent: [[String]] = []
    for record in records where record.kind == .documents {
      let name = documents.folder + "/" + record.submissionID + "/" + record[FieldName.fileName]
      let target = folder + "/" + name
      try FileSystem.makeDirectory((target as NSString).deletingLastPathComponent)
      let source = documents.source + "/" + record.submissionID + "/" + record[FieldName.fileName]
      // The claimed upload is read-only and never changes: a second name for it, or a copy.
      if link(source, target) != 0 { try FileSystem.copyFile(source, to: target) }
      let (hash, size) = try SHA256.file(at: target)
      // Parse checked the upload against its row; a file changed since is not sent as that document.
      guard hash == record[FieldName.sha256].lowercased() else {
        // Named by submission and seq (the file name is the sender's: this reaches the log).
        throw SISDropError.dataError(
          "claimed document \(record.seq) of \(record.submissionID) no longer has the SHA-256 parse checked",
          at: SourceLocation(path: (source as NSString).deletingLastPathComponent),
          hint:
            "a claimed file is never modified: `sisdrop cancel` the batch and let the next export bring the document again"
        )
      }
      ready.append([name, hash, String(size), "0"])
      sent.append([prefix, record.submissionID, String(record.seq), name, hash])
    }
    return sent
  }

  /// errors.csv, held.csv, delivered.csv, the stable ids and the records the SIS is to confirm.
  private static func writeTables(
    _ plan: Plan, records: [DeliveryRecord], profile: DeliveryProfile, folder: String
  ) throws {
    try writeTable(folder + "/errors.csv", header: errorsHeader, rows: sortedErrors(plan.errors))
    try writeTable(folder + "/held.csv", header: heldHeader, rows: plan.held)
    try writeTable(
      folder + "/delivered.csv", header: deliveredHeader, rows: plan.delivered, forPeople: false)
    try writeTable(
      folder + "/" + StableIDs.fileName, header: StableIDs.header, rows: StableIDs.rows(records),
      forPeople: false)
    try writeTable(
      folder + "/" + Confirmation.fileName, header: Confirmation.header,
      rows: Confirmation.rows(records, profile: profile),
      forPeople: false)
  }

  /// Writes a table: for people (errors.csv, held.csv, tardy errors: spreadsheet-safe), or
  /// `forPeople: false` for one sisdrop reads back as it wrote it (delivered.csv, the .ready list).
  static func writeTable(_ path: String, header: [String], rows: [[String]], forPeople: Bool = true)
    throws
  {
    let writer = try CSVWriter(path: path, options: forPeople ? .forPeople : CSVWriterOptions())
    try writer.write(header)
    for row in rows { try writer.write(row) }
    try writer.close()
  }
}
