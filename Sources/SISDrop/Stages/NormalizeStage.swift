import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropStore

/// The normalize stage: loads the SIS export (when the batch carries one) into a new snapshot,
/// then normalizes every selected submission — names, dates, phones, gender, grade levels,
/// schools (by number, or building name through `building_map.csv`) — and computes each one's
/// content hash for the pending ledger. A submission with any field that cannot be normalized is
/// rejected whole (`rejects.csv`, with field and reason) and stays pending.
package enum NormalizeStage {
  package static func run(_ context: StageContext) throws {
    try run(context, chunkSize: MatchStage.chunkSize)
  }

  /// `chunkSize`: submissions read, normalized and written per chunk (the tests show any size writes the same bytes).
  static func run(_ context: StageContext, chunkSize: Int) throws {
    let config = context.config
    let plugin = try config.pluginPath.map { try PluginManifest.load(path: $0) }
    let (reference, snapshotPath) = try snapshot(context, plugin: plugin)
    try requireRecentFullExport(reference, context)
    let schools = try Snapshot(path: snapshotPath).schools()
    let schoolNumbers = Set(schools.map(\.number))
    var outcome = Outcome(
      normalizer: SubmissionNormalizer(
        datePatterns: config.submissions.dateFormats, timeZone: config.timeZone,
        schools: schoolNumbers,
        buildings: try buildings(schools, schoolNumbers: schoolNumbers, config: config)),
      ledger: Dictionary(
        uniqueKeysWithValues: try context.workdir.state.ledger().map { ($0.submissionID, $0) }),
      corrections: Dictionary(
        grouping: try context.workdir.state.corrections(), by: \.submissionID))

    // Read, normalized and written a chunk at a time: the stage holds one chunk of the batch, not all of it.
    let parsed = try StageJSONChunks(
      Submission.self, path: context.folder(of: .parse) + "/submissions.jsonl")
    let output = try StageJSONAppender(
      Submission.self, path: context.outputPath("submissions.jsonl"))
    var normalizedCount = 0
    try parsed.forEach(chunkSize) { chunk in
      let normalized = chunk.compactMap { outcome.take($0, context: context) }
      try output.append(normalized)
      normalizedCount += normalized.count
    }
    try output.close()
    try context.workdir.state.setContentHashes(outcome.hashes)
    try context.writeRejects(outcome.rejects)
    try context.writeCSV(
      "already_delivered.csv", header: [FieldName.submissionID, "Content_Hash", "Delivered_Batch"],
      rows: outcome.alreadyDelivered)
    let rejected = Set(outcome.rejects.map(\.submissionID)).count
    context.counts = context.counts.merging([
      "submissions": normalizedCount,
      "rejected_submissions": rejected,
      "already_delivered": outcome.alreadyDelivered.count,
      "changed_since_delivery": outcome.changedSinceDelivery,
      "sis_students": reference.summary.students, "sis_contacts": reference.summary.contacts,
      "sis_rejected_rows": reference.builtBy == context.batch.id
        ? reference.summary.rejectedRows : 0,
      "sis_missing_values": reference.builtBy == context.batch.id
        ? reference.summary.missingValues : 0,
    ]) { $1 }
    context.log("normalize: \(normalizedCount) submissions ready to match, \(rejected) rejected")
  }

  /// Building-name key → SIS school number: the snapshot's school names, then building_map.csv's.
  static func buildings(
    _ schools: [(number: String, name: String)], schoolNumbers: Set<String>,
    config: PipelineConfig
  ) throws -> [String: String] {
    var buildings: [String: String] = [:]
    for school in schools { buildings[FieldRules.buildingKey(school.name)] = school.number }
    if let path = config.buildingMapPath {
      for (name, number) in try BuildingMap.load(path: path, schools: schoolNumbers) {
        buildings[FieldRules.buildingKey(name)] = number
      }
    }
    return buildings
  }

  /// What normalize makes of the batch's submissions, one at a time: those to match, the
  /// rejected, those the SIS already has as they are, and every version's content hash for the ledger.
  struct Outcome {
    let normalizer: SubmissionNormalizer
    let ledger: [String: LedgerEntry]
    /// A person's corrections, by submission.
    let corrections: [String: [Correction]]
    var rejects: [Reject] = []
    var alreadyDelivered: [[String]] = []
    var hashes: [(id: String, hash: String)] = []
    var changedSinceDelivery = 0

    /// The submission normalized (and corrected), when it goes on to match.
    mutating func take(_ submission: Submission, context: StageContext) -> Submission? {
      var (result, problems) = normalizer.normalize(submission)
      if !problems.isEmpty {
        // Values a person may correct (a school, a grade, a relationship, a phone...): the version is
        // kept so that `sisdrop correct` can answer it, and a correction given for it fixes it here.
        guard problems.allSatisfy({ SubmissionNormalizer.correctableField($0) != nil }),
          let version = result.contentHash
        else {
          rejects += problems
          return nil
        }
        hashes.append((submission.id, version))
        let fixes = (corrections[submission.id] ?? []).filter { $0.version == version }
        problems = problems.filter { problem in
          !fixes.contains { SubmissionNormalizer.fixes($0, problem) }
        }
        guard problems.isEmpty else {
          rejects += problems.map(SubmissionNormalizer.correctable)
          return nil
        }
        result = Corrections.apply(fixes, to: result)
        result.contentHash = version
        context.notes.append(
          "\(submission.id): corrected by a person (\(fixes.map { "\($0.schema) \($0.seq) \($0.field)" }.joined(separator: ", ")))"
        )
      }
      let hash = result.contentHash!
      hashes.append((submission.id, hash))
      if let entry = ledger[submission.id], entry.deliveredHash == hash {
        alreadyDelivered.append([submission.id, hash, entry.deliveredBatch ?? ""])
        return nil
      }
      if ledger[submission.id]?.deliveredHash != nil { changedSinceDelivery += 1 }
      return result
    }
  }

  /// Builds the snapshot from the batch's SIS export, or refers to the newest earlier one.
  static func snapshot(_ context: StageContext, plugin: PluginManifest?) throws -> (
    SnapshotReference, String
  ) {
    let feed = context.config.sisExport
    var files: [String: String] = [:]
    for layout in Layouts.sisExport {
      let name = feed.files[layout.name] ?? layout.fileName
      if FileSystem.exists(context.inputFolder + "/" + name) {
        files[layout.name] = context.inputFolder + "/" + name
      }
    }
    var deltas: [String: String] = [:]
    for (layout, name) in feed.deltaFileNames
    where FileSystem.exists(context.inputFolder + "/" + name) {
      deltas[layout] = context.inputFolder + "/" + name
    }
    if files["students"] == nil && files["schools"] == nil, !deltas.isEmpty {
      return try applyDelta(deltas, context, plugin: plugin)
    }
    if files["students"] != nil || files["schools"] != nil {
      return try build(files, deltas, context, plugin: plugin)
    }
    return try latest(context)
  }

  /// A full export (and a delta beside it, applied after it): a new snapshot, the chain's start.
  static func build(
    _ files: [String: String], _ deltas: [String: String], _ context: StageContext,
    plugin: PluginManifest?
  ) throws -> (SnapshotReference, String) {
    let feed = context.config.sisExport
    let output = context.outputPath("snapshot.sqlite")
    var builder = SnapshotBuilder(feed: feed, plugin: plugin)
    builder.placeholderIndexes = context.config.matcher == "placeholder"
    if feed.minRatio > 0 {
      builder.lastAccepted = try context.workdir.state.lastAcceptedRoster(
        excluding: context.batch.id)
    }
    let (summary, rejects) = try builder.build(files: files, output: output)
    try context.writeRejects(
      rejects.map {
        var r = $0
        r.source.path = relativePath(r.source.path, to: context.batchFolder)
        return r
      },
      name: RejectsFile.sisName)
    for column in summary.unknownColumns {
      context.notes.append("SIS export: unknown column \(column) ignored")
    }
    if summary.rejectedRows > 0 || summary.missingValues > 0 {
      // Counts and lines only: the values stay in sis_rejects.csv.
      let lines = rejects.filter { $0.field.isEmpty }.prefix(5).map {
        "\(($0.source.path as NSString).lastPathComponent):\($0.source.line ?? 0)"
      }
      context.notes.append(
        "SIS export: \(summary.rejectedRows) malformed rows left out of the snapshot"
          + (lines.isEmpty
            ? ""
            : " (\(lines.joined(separator: ", "))\(summary.rejectedRows > lines.count ? ", ..." : ""))")
          + ", \(summary.missingValues) values missing for matching (20-normalize/sis_rejects.csv)"
      )
      context.log(
        "normalize: SIS export: \(summary.rejectedRows) malformed rows left out of the snapshot, "
          + "\(summary.missingValues) values missing for matching: see 20-normalize/sis_rejects.csv"
      )
    }
    if !summary.withheldFields.isEmpty {
      context.notes.append(
        "not granted by Plugin.xml, not read: \(summary.withheldFields.joined(separator: ", "))")
    }
    // The chain starts here: later deltas carry this batch as their full export.
    try Database(path: output).execute(
      "INSERT OR REPLACE INTO meta(key, value) VALUES ('full_export_batch', '\(context.batch.id)')"
    )
    if !deltas.isEmpty {
      context.notes.append(
        "SIS export: a full export and a delta in one batch: the delta is applied after the full export"
      )
      _ = try SnapshotBuilder(feed: feed, plugin: plugin).applyDelta(
        files: deltas, output: output)
    }
    let finalPath =
      relativePath(context.folder(of: .normalize), to: context.workdir.root) + "/snapshot.sqlite"
    var reference = SnapshotReference(
      builtBy: context.batch.id, path: relativePath(output, to: context.workdir.root),
      sha256: try SHA256.file(at: output).sha256, summary: summary)
    reference.mode = "full"
    reference.fullExportBatch = context.batch.id
    let batch = context.batch.id
    let workdir = context.workdir
    context.afterPublish.append { _ in
      try workdir.state.registerSnapshot(
        batch: batch, path: finalPath, sha256: reference.sha256, students: summary.students,
        contacts: summary.contacts, at: Clock.now())
    }
    var stored = reference
    stored.path = finalPath
    try writeReference(stored, context)
    return (stored, output)
  }

  /// No SIS export in the batch: the newest earlier snapshot, referred to.
  static func latest(_ context: StageContext) throws -> (SnapshotReference, String) {
    let feed = context.config.sisExport
    guard let latest = try context.workdir.state.latestSnapshot(excluding: context.batch.id)
    else {
      throw SISDropError(
        .noInput, "there is no SIS snapshot yet and this batch has no SIS export",
        at: SourceLocation(path: context.inputFolder),
        hint:
          "put the SIS export (\(Layouts.sisExport.map { feed.files[$0.name] ?? $0.fileName }.joined(separator: ", "))) in the inbox"
      )
    }
    let snapshot = try Snapshot(path: context.workdir.root + "/" + latest.path)
    var summary = SnapshotSummary()
    summary.students = try snapshot.count("students")
    summary.contacts = try snapshot.count("contacts")
    summary.schools = try snapshot.count("schools")
    summary.attendanceCodes = try snapshot.count("attendance_codes")
    var reference = SnapshotReference(
      builtBy: latest.batch, path: latest.path, sha256: latest.sha256, summary: summary)
    reference.fullExportBatch = try fullExportBatch(
      of: context.workdir.root + "/" + latest.path, builtBy: latest.batch)
    try writeReference(reference, context)
    try context.writeRejects([], name: RejectsFile.sisName)
    return (reference, context.workdir.root + "/" + latest.path)
  }

  /// A delta export: the newest snapshot, copied, with the delta applied (`SnapshotBuilder.applyDelta`).
  static func applyDelta(
    _ deltas: [String: String], _ context: StageContext, plugin: PluginManifest?
  ) throws -> (SnapshotReference, String) {
    let feed = context.config.sisExport
    guard let base = try context.workdir.state.latestSnapshot(excluding: context.batch.id) else {
      throw SISDropError(
        .noInput,
        "the batch has a delta of the SIS export (\(deltas.values.map { ($0 as NSString).lastPathComponent }.sorted().joined(separator: ", "))) but there is no snapshot to apply it to",
        at: SourceLocation(path: context.inputFolder),
        hint: "send a full SIS export first (\(feed.files.values.sorted().joined(separator: ", ")))"
      )
    }
    let basePath = context.workdir.root + "/" + base.path
    // The base must be the snapshot the register names, byte for byte: the chain is the audit trail.
    let found = try SHA256.file(at: basePath).sha256
    guard found == base.sha256 else {
      throw SISDropError.dataError(
        "the snapshot of batch \(base.batch) has changed since it was built (SHA-256 \(found), registered \(base.sha256))",
        at: SourceLocation(path: basePath), hint: "send a full SIS export: it replaces the snapshot"
      )
    }
    let output = context.outputPath("snapshot.sqlite")
    try FileSystem.copyFile(basePath, to: output)
    var builder = SnapshotBuilder(feed: feed, plugin: plugin)
    if feed.minRatio > 0 {
      builder.lastAccepted = try context.workdir.state.lastAcceptedRoster(
        excluding: context.batch.id)
    }
    let (summary, delta, rejects) = try builder.applyDelta(files: deltas, output: output)
    try context.writeRejects(
      rejects.map {
        var r = $0
        r.source.path = relativePath(r.source.path, to: context.batchFolder)
        return r
      },
      name: RejectsFile.sisName)
    context.counts["sis_delta_rows"] = delta.upserted
    context.counts["sis_delta_deleted"] = delta.deleted
    context.counts["sis_delta_unknown_keys"] = delta.unknownKeys
    context.notes.append(
      "SIS export: a delta applied to the snapshot of batch \(base.batch): \(delta.upserted) rows added or replaced, "
        + "\(delta.deleted) deleted, \(delta.unknownKeys) naming a key the snapshot does not have (20-normalize/sis_rejects.csv)"
    )
    context.log(
      "normalize: SIS delta applied to the snapshot of batch \(base.batch): \(delta.upserted) rows added or replaced, \(delta.deleted) deleted"
        + (delta.unknownKeys > 0
          ? "; \(delta.unknownKeys) rows delete or update a key the snapshot does not have: see 20-normalize/sis_rejects.csv"
          : ""))
    let finalPath =
      relativePath(context.folder(of: .normalize), to: context.workdir.root) + "/snapshot.sqlite"
    var reference = SnapshotReference(
      builtBy: context.batch.id, path: finalPath, sha256: try SHA256.file(at: output).sha256,
      summary: summary)
    reference.mode = "delta"
    reference.baseBatch = base.batch
    reference.baseSha256 = base.sha256
    reference.fullExportBatch = try fullExportBatch(of: output, builtBy: base.batch)
    let batch = context.batch.id
    let workdir = context.workdir
    context.afterPublish.append { _ in
      try workdir.state.registerSnapshot(
        batch: batch, path: finalPath, sha256: reference.sha256, students: summary.students,
        contacts: summary.contacts, at: Clock.now())
    }
    try writeReference(reference, context)
    return (reference, output)
  }

  /// The batch whose full export a snapshot's chain starts from (its `meta`; a snapshot built before
  /// deltas existed is a full export of the batch that built it).
  static func fullExportBatch(of path: String, builtBy: String) throws -> String {
    let database = try Database(path: path, readOnly: true)
    return try database.scalar("SELECT value FROM meta WHERE key = 'full_export_batch'").string
      ?? builtBy
  }

  /// With deltas configured, a full export is required at least every `sis_export.full_every_days`:
  /// deltas alone drift from the SIS (a lost delta is never noticed), so matching stops until one comes.
  /// It is required at once after a batch that claimed a delta was cancelled before the delta was
  /// applied: `sisdrop cancel` does not put a delta back (after a newer full export it would undo
  /// it), so the snapshot lacks that day's SIS changes, and a child the SIS created that day would
  /// be matched as NEW, a second student (probe27's finding 1).
  ///
  /// - Throws: `SISDropError` 66 naming the date of the last full export, or the cancelled batch.
  static func requireRecentFullExport(_ reference: SnapshotReference, _ context: StageContext)
    throws
  {
    let feed = context.config.sisExport
    guard !feed.deltaLayouts.isEmpty, let full = reference.fullExportBatch,
      let record = try context.workdir.state.batch(full),
      let claimed = Clock.parse(record.openedAt),
      let now = Clock.parse(context.batch.openedAt)
    else { return }
    if let dropped = try droppedDelta(after: full, context) {
      throw SISDropError(
        .noInput,
        "batch \(dropped.batch) was cancelled before its SIS delta (\(dropped.files.joined(separator: ", "))) was applied, and a delta is never put back: the SIS snapshot lacks that delta's changes (a child the SIS created then would be matched as new, a second student), so matching stops until a full export comes",
        at: SourceLocation(path: context.inputFolder), hint: fullExportHint(context))
    }
    let days = now.timeIntervalSince(claimed) / 86_400
    guard days > Double(feed.fullEveryDays) else { return }
    let date = String(record.openedAt.prefix(10))
    throw SISDropError(
      .noInput,
      "the last full SIS export was claimed on \(date) (batch \(full)), \(Int(days)) days ago: sis_export.full_every_days is \(feed.fullEveryDays), so matching stops until a full export comes",
      at: SourceLocation(path: context.inputFolder),
      hint: fullExportHint(context) + "; deltas alone drift from the SIS")
  }

  /// The way on when matching waits for a full export: this batch stays open and a run continues
  /// it without claiming anything new, so it is cancelled first (its enrollment export comes again
  /// with the next upload; its delta is superseded by the full export).
  static func fullExportHint(_ context: StageContext) -> String {
    "cancel this batch first (`sisdrop cancel --workdir \(context.workdir.root)`), then upload a "
      + "full SIS export (\(context.config.sisExport.files.values.sorted().joined(separator: ", "))) "
      + "with the enrollment export to the inbox: the next run claims both"
  }

  /// The first batch after the one whose full export the snapshot starts from that was cancelled
  /// with a delta it claimed and never applied (no snapshot was built from it), and that delta's
  /// files. A cancelled batch keeps its claimed files in its input folder.
  static func droppedDelta(after full: String, _ context: StageContext) throws
    -> (batch: String, files: [String])?
  {
    let batches = try context.workdir.state.allBatches()
    guard let start = batches.firstIndex(where: { $0.id == full }) else { return nil }
    let deltas = context.config.sisExport.deltaFileNames.values.sorted()
    for batch in batches[(start + 1)...]
    where batch.state == .cancelled && batch.id != context.batch.id {
      let input = context.workdir.batchFolder(batch.id) + "/input/"
      let files = deltas.filter { FileSystem.exists(input + $0) }
      if !files.isEmpty, try !context.workdir.state.hasSnapshot(batch: batch.id) {
        return (batch.id, files)
      }
    }
    return nil
  }

  private static func writeReference(_ reference: SnapshotReference, _ context: StageContext) throws
  {
    try reference.write(folder: context.output)
  }
}

/// `building_map.csv`: Raptor (or enrollment) building names → SIS school numbers.
enum BuildingMap {
  /// - Throws: `SISDropError` 78 naming the file and line of a school the SIS does not have.
  static func load(path: String, schools: Set<String>) throws -> [(String, String)] {
    let layout = Layouts.buildingMap
    let reader: CSVTableReader
    do {
      reader = try CSVTableReader(path: path, layout: layout, dialect: CSVDialect())
    } catch let error as SISDropError {
      throw SISDropError(.configuration, error.message, at: error.location, hint: error.hint)
    }
    var result: [(String, String)] = []
    var seen: [String: String] = [:]
    while let record = try reader.next() {
      if let problem = record.problem {
        throw SISDropError.configuration(
          problem.reason, at: problem.location, hint: "fix that line of building_map.csv")
      }
      let name = FieldRules.text(record[0])
      let number = FieldRules.text(record[1])
      guard schools.contains(number) else {
        throw SISDropError.configuration(
          "building '\(name)' maps to school \(number), which the SIS schools export does not have",
          at: record.location,
          hint: "fix building_map.csv to name an SIS School_Number")
      }
      if let earlier = seen[FieldRules.buildingKey(name)], earlier != number {
        throw SISDropError.configuration(
          "building '\(name)' is mapped twice, to \(earlier) and \(number)", at: record.location,
          hint: "keep one row per building name in building_map.csv, with the right School_Number")
      }
      seen[FieldRules.buildingKey(name)] = number
      result.append((name, number))
    }
    return result
  }
}
