import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

/// `manifest.json`: the audit record of a batch; sealed (read-only) by close or cancel.
package struct BatchManifest: Sendable, Codable {
  package struct PipelineInfo: Sendable, Codable {
    package var path: String
    package var sha256: String
  }
  package struct PluginInfo: Sendable, Codable {
    package var name: String
    package var version: String
    package var sha256: String
  }

  package var batch: String
  package var state: BatchState
  package var selection: Selection
  package var openedAt: String
  package var closedAt: String?
  package var toolVersion: String
  package var pipeline: PipelineInfo
  /// SHA-256 over the pipeline file and every file it names (plugin, mappings).
  package var configSha256: String
  package var plugin: PluginInfo?
  package var inputs: [FileRecord]
  package var outputs: [FileRecord]
  package var published: [FileRecord]
  package var counts: [String: Int]
  package var delivered: [String]
  package var returnedToPending: [String]
  package var vanished: [String]
  /// The snapshot the batch matched against (20-normalize/snapshot.json): by digest, with its chain.
  package var snapshot: SnapshotReference? = nil
}

/// The seed's batch lifecycle: Create Delivery Batch (`open`), Close Delivery Batch (`close`),
/// Cancel Data Delivery (`cancel`).
package enum BatchLifecycle {
  static func writeManifest(_ manifest: BatchManifest, folder: String, sealed: Bool) throws {
    let path = folder + "/manifest.json"
    if FileSystem.exists(path) { chmod(path, 0o640) }
    try FileSystem.writeAtomically(path, try RecordJSON.bytes(manifest))
    if sealed { chmod(path, 0o440) }
  }

  static func readManifest(folder: String) throws -> BatchManifest {
    try RecordJSON.decode(
      BatchManifest.self, from: try FileSystem.readFile(folder + "/manifest.json"))
  }

  /// The config hash: the pipeline file and every file it names.
  package static func configHash(_ config: PipelineConfig) throws -> String {
    var parts = ["pipeline \(config.sha256)"]
    for (label, path) in [
      ("plugin", config.pluginPath), ("building_map", config.buildingMapPath),
      ("tardy_codes", config.tardyCodesPath),
    ] {
      if let path { parts.append("\(label) \(try SHA256.file(at: path).sha256)") }
    }
    return SHA256.hex(parts.joined(separator: "\n"))
  }

  package struct OpenResult: Sendable {
    package var batch: String
    package var claimed: [FileRecord]
    package var ignored: [String]
  }

  /// Creates a batch: claims the inbox's complete feed files into `batches/<id>/input/`.
  ///
  /// The claim is crash-safe: files move into a hidden `.ID.claiming` folder, the batch row is
  /// committed, then the folder is renamed into place; `WorkDir.recover` finishes or undoes a
  /// claim a killed process left behind.
  ///
  /// - Parameter sisExportAlone: with no enrollment export in the inbox, claim the SIS export (full
  ///   or delta) alone: a batch that refreshes the snapshot and confirms earlier deliveries, and
  ///   delivers nothing (`sisdrop run` on a night the SIS exported and the enrollment system did not).
  /// - Throws: `SISDropError` 75 while another batch is open or a feed file is still arriving, 66 when
  ///   the inbox has no (new) submissions (nor, with `sisExportAlone`, a new SIS export).
  package static func open(
    workdir: WorkDir, pipelinePath: String, selection: Selection, sisExportAlone: Bool = false,
    now: Date = Date()
  ) throws -> OpenResult {
    let config = try PipelineConfig.load(path: pipelinePath)
    if let plugin = config.pluginPath { _ = try PluginManifest.load(path: plugin) }
    // The field policy, at the start: a profile column Plugin.xml does not grant stops here (78).
    _ = try DeliverStage.checkedProfile(config)
    if let open = try workdir.state.openBatch() {
      throw SISDropError(
        .temporaryFailure, "batch \(open.id) is still open: one delivery batch at a time",
        at: SourceLocation(path: workdir.batchFolder(open.id)),
        hint: "finish it with `sisdrop close`, or `sisdrop cancel` it, then open a new one")
    }
    let inbox = Inbox(path: workdir.inbox(config), config: config)
    let listing = try inbox.list(state: workdir.state, now: now)
    try listing.requireComplete(inbox: inbox.path)
    if sisExportAlone, !listing.claimable.contains(inbox.submissionsFileName),
      listing.claimable.contains(where: inbox.isSISExportFile)
    {
      return try claim(
        listing, from: inbox, workdir: workdir, config: config, selection: selection, now: now)
    }
    if let duplicate = listing.duplicates.first(where: { $0.name == inbox.submissionsFileName }) {
      throw SISDropError(
        .noInput,
        "\(duplicate.name) is identical to the one batch \(duplicate.batch) claimed: nothing new to deliver",
        at: SourceLocation(path: inbox.path + "/" + duplicate.name),
        hint: "wait for the next enrollment export")
    }
    guard listing.claimable.contains(inbox.submissionsFileName) else {
      throw SISDropError(
        .noInput, "the inbox has no \(inbox.submissionsFileName): nothing to deliver",
        at: SourceLocation(path: inbox.path),
        hint: "wait for the enrollment export, or check submissions.files in the pipeline config")
    }
    return try claim(
      listing, from: inbox, workdir: workdir, config: config, selection: selection, now: now)
  }

  /// Claims a listing's files into a new batch (the second half of `open`; tests call it with a
  /// listing the inbox has changed since).
  ///
  /// - Throws: `SISDropError` 75, everything put back, when a file is no longer the one listed.
  static func claim(
    _ listing: Inbox.Listing, from inbox: Inbox, workdir: WorkDir, config: PipelineConfig,
    selection: Selection, now: Date
  ) throws -> OpenResult {
    let id = try workdir.state.nextBatchID(day: batchDay(now, config.timeZone))
    let claiming = try Claiming(id: id, inbox: inbox, workdir: workdir, config: config)
    let expected = try claiming.moveIn(listing)
    let names = listing.claimable
    if config.operations.pickup.checkWriters { try claiming.requireNoWriter(names) }
    let claimed = try claiming.records(names, expected: expected)
    try claiming.requireManifestsHold(names, claimed, config: config)
    try FileSystem.syncTree(claiming.folder + "/input")
    for name in names where name.contains("/") {
      Inbox.removeEmptyFolders(of: name, in: inbox.path)
    }
    try FileSystem.syncDirectory(inbox.path)
    try claiming.publish(listing, claimed, config: config, selection: selection)
    return OpenResult(batch: id, claimed: claimed, ignored: listing.ignored)
  }

  /// The day a batch id starts with, in the pipeline's time zone.
  static func batchDay(_ now: Date, _ timeZone: TimeZone) -> String {
    let formatter = DateFormatter()
    formatter.timeZone = timeZone
    formatter.dateFormat = "yyyyMMdd"
    formatter.locale = Locale(identifier: "en_US_POSIX")
    return formatter.string(from: now)
  }

  /// A claim in progress: `batches/.<id>.claiming/`, which names the inbox and archive its files
  /// came from (`claim-inbox`) until it becomes the batch folder with one rename.
  ///
  /// The listing judged each file complete; hashing (duplicates, manifests) took time since. The
  /// claim moves a file only if it is still the very file listed, unchanged (same inode, size,
  /// mtime, ctime, just before its rename), and afterwards checks again what a writer that had
  /// opened it in between would change. Anything changed: every file goes back, 75, a later run retries.
  struct Claiming {
    var id: String
    var inbox: Inbox
    var workdir: WorkDir
    var archive: String
    var folder: String

    init(id: String, inbox: Inbox, workdir: WorkDir, config: PipelineConfig) throws {
      self.id = id
      self.inbox = inbox
      self.workdir = workdir
      archive = workdir.archive(config)
      folder = workdir.batchesFolder + "/.\(id).claiming"
      try FileSystem.removeTree(folder)
      try FileSystem.makeDirectory(folder + "/input")
      try FileSystem.writeNew(
        folder + "/claim-inbox", Array((inbox.path + "\n" + archive + "\n").utf8))
      try FileSystem.syncDirectory(workdir.batchesFolder)
    }

    /// Every claimed file back to the inbox, the claim removed.
    func putBack() throws {
      try ClaimReturn.putBack(input: folder + "/input", inbox: inbox.path, archive: archive)
      try FileSystem.removeTree(folder)
      try FileSystem.syncDirectory(workdir.batchesFolder)
    }

    func giveBack(_ why: String, _ name: String) throws -> Never {
      try putBack()
      throw SISDropError(
        .temporaryFailure, "\(DocumentFiles.logName(name)) is still arriving: \(why)",
        at: SourceLocation(
          path: inbox.path + "/"
            + (name.contains("/") ? (name as NSString).deletingLastPathComponent : name)),
        hint: "nothing was claimed; run again later (cron will retry)")
    }

    /// Moves each listed file into `input/` (a copy across file systems), returning each as it
    /// must still be after hashing.
    func moveIn(_ listing: Inbox.Listing) throws -> [String: Inbox.FileState] {
      var expected: [String: Inbox.FileState] = [:]
      for name in listing.claimable {
        let source = inbox.path + "/" + name
        let target = folder + "/input/" + name
        guard let seen = listing.observed[name], let now = Inbox.FileState.of(source), now == seen
        else {
          try giveBack("it changed after the inbox was read", name)
        }
        // An uploaded document keeps its place: input/documents/<Submission_ID>/<File_Name>.
        if name.contains("/") {
          try FileSystem.makeDirectory(
            folder + "/input/" + (name as NSString).deletingLastPathComponent)
        }
        do {
          try FileSystem.rename(source, to: target)
          expected[name] = seen
        } catch let error as FileError where error.code == EXDEV {
          // Another file system: a copy, kept only if the original did not change while it was copied.
          try FileSystem.copyFile(source, to: target, inboxFile: true)
          guard Inbox.FileState.of(source) == seen, let copy = Inbox.FileState.of(target) else {
            try? FileSystem.removeTree(target)
            try giveBack("it changed while it was being copied", name)
          }
          if unlink(source) != 0 { throw FileError.posix(errno, "remove", source) }
          expected[name] = copy
        }
        chmod(target, 0o440)
      }
      return expected
    }

    /// No process opened a claimed file for writing after the inbox was read.
    func requireNoWriter(_ names: [String]) throws {
      let writers = OpenWriters.scan(folder: folder + "/input", names: names)
      if let (name, writer) = writers.min(by: { $0.key < $1.key }) {
        try giveBack(
          "process \(writer.pid) (\(writer.command)) opened it for writing after the inbox was read",
          name)
      }
    }

    /// Each claimed file hashed after the rename, and still the content listed.
    func records(_ names: [String], expected: [String: Inbox.FileState]) throws -> [FileRecord] {
      var claimed: [FileRecord] = []
      for name in names {
        let target = folder + "/input/" + name
        // Opened as an inbox file: an entry swapped in before the rename (a FIFO, a link) is refused unread.
        let record: FileRecord
        do {
          record = try FileRecord.of(target, relativeTo: folder, inboxFile: true)
        } catch let error as SISDropError where error.status == .dataError || name.contains("/") {
          try refuseSwapped(name, error)
        }
        // Hashed after the rename: still the same content as listed (nothing wrote to it meanwhile).
        guard let seen = expected[name], let after = Inbox.FileState.of(target),
          after.sameContent(as: seen), record.size == seen.size
        else { try giveBack("it changed while it was being claimed", name) }
        claimed.append(record)
      }
      return claimed
    }

    /// A claimed file that is not a regular file any more: everything goes back, and the claim is
    /// refused (an uploaded document swapped for a link or a pipe is named by its folder only).
    func refuseSwapped(_ name: String, _ error: SISDropError) throws -> Never {
      try putBack()
      if error.status == .temporaryFailure {
        try giveBack("it was replaced while it was being claimed", name)
      }
      let what = Inbox.FileState.of(inbox.path + "/" + name)?.refusal ?? "not a regular file"
      if name.contains("/") {
        throw SISDropError(
          .dataError,
          "\(DocumentFiles.logName(name)) was replaced by \(what) while it was claimed",
          at: SourceLocation(
            path: inbox.path + "/" + (name as NSString).deletingLastPathComponent),
          hint: "nothing was claimed; remove it and have the sender upload the file itself")
      }
      throw InboxFile.refused(inbox.path + "/" + name, what, hint: "nothing was claimed")
    }

    /// A manifest feed: the claimed copies are the ones the manifest describes.
    func requireManifestsHold(_ names: [String], _ claimed: [FileRecord], config: PipelineConfig)
      throws
    {
      for trigger in Set(config.operations.pickup.triggers.values) where names.contains(trigger) {
        for entry in try TriggerManifest.read(folder + "/input/" + trigger) {
          guard let expected = entry.sha256 else { continue }
          guard
            let record = claimed.first(where: {
              DocumentFiles.inboxName(ofInput: $0.path) == entry.file
            }), record.sha256 == expected
          else {
            try giveBack("its SHA-256 changed after \(trigger) was checked", entry.file)
          }
        }
      }
    }

    /// The batch's own files (refused documents, pipeline.yaml, manifest.json), its rows in
    /// state.sqlite, then the claim renamed into the batch folder.
    func publish(
      _ listing: Inbox.Listing, _ claimed: [FileRecord], config: PipelineConfig,
      selection: Selection
    ) throws {
      // What the documents folder held that is not an uploaded file: parse names it in the errors of its submission.
      if !listing.refusedDocuments.isEmpty {
        try DeliverStage.writeTable(
          folder + "/" + DocumentFiles.refusedFileName, header: ["Path", "What"],
          rows: listing.refusedDocuments.map { [$0.path, $0.what] }, forPeople: false)
      }
      try FileSystem.writeNew(folder + "/pipeline.yaml", try FileSystem.readFile(config.path))
      let openedAt = Clock.now()
      let record = BatchRecord(
        id: id, state: .open, selection: selection, pipelinePath: config.path, openedAt: openedAt)
      let plugin = try config.pluginPath.map { try PluginManifest.load(path: $0) }
      let manifest = BatchManifest(
        batch: id, state: .open, selection: selection, openedAt: openedAt, closedAt: nil,
        toolVersion: SISDropVersion.current,
        pipeline: .init(path: config.path, sha256: config.sha256),
        configSha256: try BatchLifecycle.configHash(config),
        plugin: plugin.map { .init(name: $0.name, version: $0.version, sha256: $0.sha256) },
        inputs: claimed, outputs: [],
        published: [], counts: [:], delivered: [], returnedToPending: [], vanished: [])
      try BatchLifecycle.writeManifest(manifest, folder: folder, sealed: false)
      try workdir.state.database.inTransaction {
        try workdir.state.insertBatch(record)
        try workdir.state.recordClaimed(
          claimed.map { (DocumentFiles.inboxName(ofInput: $0.path), $0.sha256, $0.size) },
          batch: id,
          at: openedAt)
      }
      try FileSystem.removeTree(folder + "/claim-inbox")
      try FileSystem.rename(folder, to: workdir.batchFolder(id))
      try FileSystem.syncDirectory(workdir.batchesFolder)
    }
  }

  package struct CloseResult: Sendable {
    package var manifest: BatchManifest
    package var path: String
    /// A cancel's claimed files, each with what was done with it (`CancelReturn`).
    package var files: [CancelReturn.Outcome] = []
    /// Where a cancel archived the claimed files.
    package var archive: String = ""
  }

  /// Closes the batch: checks every stage is current, seals manifest.json, updates the ledger,
  /// archives the claimed files.
  ///
  /// - Throws: `SISDropError` 65 while a stage is missing, stale or failed (naming it).
  package static func close(
    workdir: WorkDir, batch: BatchRecord, log: (String) -> Void = { _ in }
  ) throws -> CloseResult {
    guard batch.state == .open else {
      throw SISDropError(.usage, "batch \(batch.id) is already \(batch.state.rawValue)")
    }
    for stage in Stage.allCases {
      if let problem = StageRunner.problem(with: stage, workdir: workdir, batch: batch.id),
        try
          !(stage == .deliver
          && Publication.acceptsStaleDeliver(
            workdir, batch: batch.id, outbox: workdir.outbox(workdir.config(for: batch))))
      {
        throw SISDropError(
          .dataError, "cannot close batch \(batch.id): \(stage.rawValue) \(problem)",
          at: SourceLocation(path: workdir.stageFolder(batch.id, stage)),
          hint:
            "run `sisdrop-\(stage.rawValue) --workdir \(workdir.root) --batch \(batch.id)` (or `sisdrop run`), or `sisdrop cancel`"
        )
      }
    }
    // The manifest about to be sealed lists the claimed files' hashes: they must still be those files.
    try BatchIntegrity.checkClaimed(workdir, batch: batch.id)
    // A killed deliver may have renamed its folder without copying it to the outbox: redo that first.
    try PipelineRunner.completePublication(workdir: workdir, batch: batch)
    let config = try workdir.config(for: batch)
    let folder = workdir.batchFolder(batch.id)
    let deliver = workdir.stageFolder(batch.id, .deliver)
    try Publication.finish(workdir, batch: batch.id, outbox: workdir.outbox(config))
    try Redelivery.finishOwed(workdir, batch: batch)
    // The outbox must hold exactly what deliver published.
    let published =
      try Publisher.verify(batch: batch.id, deliverFolder: deliver, outbox: workdir.outbox(config))
      + Redelivery.verify(workdir, batch: batch.id, outbox: workdir.outbox(config))
    // The deliver stage's records and every re-delivery's (`sisdrop-deliver --only`).
    let delivered = try Redelivery.delivered(workdir, batch: batch.id)
    let vanished = try readTable(workdir.stageFolder(batch.id, .parse) + "/vanished.csv").map {
      $0[0]
    }
    let inBatch = try workdir.state.ledger(statuses: [.batched]).filter { $0.batchID == batch.id }
      .map(\.submissionID)
    let deliveredIDs = Set(delivered.map(\.id))
    var manifest = try readManifest(folder: folder)
    manifest.state = .closed
    manifest.closedAt = Clock.now()
    manifest.outputs = try Stage.allCases.flatMap { stage in
      try StageRunner.outputs(of: workdir.stageFolder(batch.id, stage), base: folder)
    }
    // What the SIS export this batch claimed confirmed (rebuild-state restores it from here).
    if FileSystem.exists(folder + "/" + Confirmation.outcomesFileName) {
      manifest.outputs.append(
        try FileRecord.of(folder + "/" + Confirmation.outcomesFileName, relativeTo: folder))
    }
    manifest.published = published
    manifest.snapshot = try? SnapshotReference.load(workdir, batch: batch.id)
    var counts: [String: Int] = [:]
    for stage in Stage.allCases {
      for (key, value) in try StageReport.load(workdir.stageFolder(batch.id, stage)).counts {
        counts["\(stage.rawValue).\(key)"] = value
      }
    }
    manifest.counts = counts
    manifest.delivered = delivered.map(\.id).sorted()
    manifest.returnedToPending = inBatch.filter { !deliveredIDs.contains($0) }.sorted()
    manifest.vanished = vanished.sorted()
    try writeManifest(manifest, folder: folder, sealed: true)
    try workdir.state.closeBatch(
      batch.id, state: .closed, delivered: delivered, vanished: vanished, at: manifest.closedAt!)
    try archiveInputs(workdir: workdir, config: config, batch: batch.id)
    var closed = batch
    closed.state = .closed
    closed.closedAt = manifest.closedAt
    // the batch is closed: a report problem must not say otherwise
    BatchReport.refresh(workdir: workdir, batch: closed, log: log)
    return CloseResult(manifest: manifest, path: folder + "/manifest.json")
  }

  /// Cancels the open batch: closed as cancelled, every record back to pending.
  ///
  /// - Throws: `SISDropError` 64 when its delivery files are already in the outbox (the SIS may
  ///   have imported them: returning those records to pending would deliver them twice).
  package static func cancel(workdir: WorkDir, batch: BatchRecord) throws -> CloseResult {
    guard batch.state == .open else {
      throw SISDropError(.usage, "batch \(batch.id) is already \(batch.state.rawValue)")
    }
    let config = try workdir.config(for: batch)
    let readies = [batch.id] + (try Redelivery.all(workdir, batch: batch.id)).map(\.id)
    if let ready = readies.map({ workdir.outbox(config) + "/" + Publisher.readyName($0) }).first(
      where: FileSystem.exists)
    {
      throw SISDropError(
        .usage,
        "batch \(batch.id)'s delivery files are already in the outbox; cancelling would deliver them again later",
        at: SourceLocation(path: ready),
        hint:
          "close the batch instead (held and failed records return to pending), or remove its files from the outbox before the SIS imports them, then cancel"
      )
    }
    let folder = workdir.batchFolder(batch.id)
    let inBatch = try workdir.state.ledger(statuses: [.batched]).filter { $0.batchID == batch.id }
      .map(\.submissionID)
    var manifest = try readManifest(folder: folder)
    manifest.state = .cancelled
    manifest.closedAt = Clock.now()
    manifest.returnedToPending = inBatch.sorted()
    try writeManifest(manifest, folder: folder, sealed: true)
    try workdir.state.closeBatch(
      batch.id, state: .cancelled, delivered: [], vanished: [], at: manifest.closedAt!)
    try archiveInputs(workdir: workdir, config: config, batch: batch.id)
    let files = try CancelReturn.apply(workdir: workdir, config: config, batch: batch.id)
    if let status = try workdir.state.integrationStatus() {
      let now = Date()
      try workdir.state.saveIntegrationStatus(
        IntegrationMachine(schedule: config.operations.schedule).apply(
          .batchCancelled(batch: batch.id), to: status, now: now),
        previous: status, notifications: [], now: now)
    }
    return CloseResult(
      manifest: manifest, path: folder + "/manifest.json", files: files,
      archive: workdir.archive(config) + "/" + batch.id)
  }

  /// Hard-links the batch's claimed files, uploaded documents included, into `archive/<batch>/`
  /// (a copy across filesystems).
  static func archiveInputs(workdir: WorkDir, config: PipelineConfig, batch: String) throws {
    let input = workdir.batchFolder(batch) + "/input"
    let target = workdir.archive(config) + "/" + batch
    try FileSystem.makeDirectory(target)
    for name in try DocumentFiles.files(below: input) where !FileSystem.exists(target + "/" + name)
    {
      if name.contains("/") {
        try FileSystem.makeDirectory(target + "/" + (name as NSString).deletingLastPathComponent)
      }
      if link(input + "/" + name, target + "/" + name) != 0 {
        try FileSystem.copyFile(input + "/" + name, to: target + "/" + name)
      }
    }
    try FileSystem.syncTree(target)
  }

  /// Whether a batch claimed an enrollment export: a batch that claimed the SIS export alone
  /// (`open(sisExportAlone:)`) has nothing to parse, deliver or show a person.
  package static func claimedEnrollmentExport(
    _ workdir: WorkDir, batch: String, config: PipelineConfig
  ) -> Bool {
    let input = workdir.batchFolder(batch) + "/input/"
    return config.submissions.files.values.contains { FileSystem.exists(input + $0) }
  }

  /// The data rows of a small stage CSV (header skipped).
  static func readTable(_ path: String) throws -> [[String]] {
    let reader = try CSVReader(path: path)
    _ = try reader.next()
    var rows: [[String]] = []
    while let row = try reader.next() { rows.append(row.fields) }
    return rows
  }
}
