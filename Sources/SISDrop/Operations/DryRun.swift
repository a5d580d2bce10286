import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// `sisdrop run --dry-run`: what a run would claim, select, match, hold and deliver, and which SIS
/// fields each update would overwrite, with nothing changed.
///
/// The real stages run, on a throwaway copy: the working directory (without `archive/` and
/// `notifications/`), the inbox's ready files and the outbox go to a private temporary folder, a
/// copy of the pipeline points every path there and sends no mail, and the plan is read from the
/// copy's outputs before it is deleted. The working directory, inbox and outbox are only read:
/// not even the lock file is written (a shared lock keeps a writer out while they are copied).
package enum DryRun {
  package struct Update: Sendable, Codable {
    package var submission: String
    package var schema: String
    package var seq: String
    package var sisID: String
    /// The SIS fields the update writes.
    package var fields: [String]
  }

  package struct Plan: Sendable, Codable {
    /// The inbox files a run would claim (nil: it would continue the open batch without claiming).
    package var claimed: [String]?
    /// How many uploaded documents a run would claim with the submissions feed (their names are the sender's: not listed).
    package var claimedDocuments = 0
    /// Why a run now would do nothing (or wait), when it would.
    package var nothing: String?
    package var summary: PipelineRunner.Summary?
    /// Delivery files by name (relative to 40-deliver/) with their data rows.
    package var deliveryFiles: [String: Int] = [:]
    /// Held back: submission, schema, seq, what for.
    package var held: [[String]] = []
    package var updates: [Update] = []
  }

  /// - Throws: 78 for configuration problems (as `run`), 75 while a writer holds the working
  ///   directory; a run's own 75 (a file still arriving) is a plan that says so.
  package static func plan(
    workdir root: String, pipelinePath: String, log: @escaping (String) -> Void
  ) throws -> Plan {
    let config = try PipelineConfig.load(path: pipelinePath)
    try PipelineCheck.environment(config, workdir: root).requireRunnable()
    let shared = try sharedLock(root)
    defer {
      if let shared {
        flock(shared, LOCK_UN)
        close(shared)
      }
    }
    let scratch = try Scratch(copying: root, config: config)
    defer { try? FileSystem.removeTree(scratch.folder) }
    let (workdir, pipeline, open) = try scratch.pipeline(config)

    var plan = Plan()
    try FileSystem.makeDirectory(scratch.inbox)
    if open == nil {
      guard try scratch.copyReadyFiles(config, root: root, workdir: workdir, into: &plan) else {
        return plan
      }
    }
    guard let summary = try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: log)
    else {
      plan.claimed = nil
      plan.nothing = "nothing new in the inbox"
      return plan
    }
    plan.summary = summary
    try readDeliveries(workdir, batch: summary.batch, config: config, into: &plan)
    plan.updates = try updates(workdir, batch: summary.batch, config: config)
    return plan
  }

  /// The private temporary folder a dry run works in: a copy of the working directory (without
  /// `archive/` and `notifications/`) and of the outbox, an inbox and an archive of its own.
  struct Scratch {
    var folder: String
    var copy: String { folder + "/work" }
    var inbox: String { folder + "/inbox" }
    var outbox: String { folder + "/outbox" }
    var archive: String { folder + "/archive" }

    init(copying root: String, config: PipelineConfig) throws {
      folder =
        FileSystem.absolute(NSTemporaryDirectory())
        + "/sisdrop-dry-run-\(getpid())-\(UUID().uuidString.prefix(8))"
      try FileSystem.makeDirectory(folder)
      chmod(folder, 0o700)
      do {
        let realOutbox = config.resolve(config.outbox, workdir: root)
        let skipped: Set<String> = [
          config.resolve(config.archive, workdir: root),
          config.resolve(config.operations.notifications.folder, workdir: root),
          config.resolve(config.inbox, workdir: root), realOutbox, root + "/.lock",
          root + "/state.sqlite-shm",
        ]
        try FileSystem.makeDirectory(copy)
        if FileSystem.isDirectory(root) { try DryRun.copyTree(root, to: copy, skipping: skipped) }
        try FileSystem.makeDirectory(outbox)
        if FileSystem.isDirectory(realOutbox) {
          try DryRun.copyTree(realOutbox, to: outbox, skipping: [])
        }
      } catch {
        try? FileSystem.removeTree(folder)
        throw error
      }
    }

    /// The copy's pipeline (and the open batch's): every path into the scratch folder, no mail;
    /// the inbox's readiness was judged on the real inbox (a copy's times are new), so the copy
    /// claims at once. Checked: never a real folder.
    func pipeline(_ config: PipelineConfig) throws -> (WorkDir, String, BatchRecord?) {
      let rewrite = { (bytes: [UInt8], original: String) throws -> [UInt8] in
        try DryRun.rewritten(
          bytes, original: original, config: config, inbox: inbox, outbox: outbox,
          archive: archive)
      }
      let pipeline = folder + "/pipeline.yaml"
      try FileSystem.writeNew(
        pipeline, try rewrite(try FileSystem.readFile(config.path), config.path))
      let workdir = try WorkDir(root: copy)
      let open = try workdir.state.openBatch()
      if let open {
        let path = workdir.batchFolder(open.id) + "/pipeline.yaml"
        let bytes = try rewrite(try FileSystem.readFile(path), open.pipelinePath)
        try FileSystem.removeTree(path)
        try FileSystem.writeNew(path, bytes)
      }
      // Never a real folder: the copy's config must point into the scratch folder only.
      for checked in [try PipelineConfig.load(path: pipeline)]
        + (try open.map { [try workdir.config(for: $0)] } ?? [])
      {
        for path in [workdir.inbox(checked), workdir.outbox(checked), workdir.archive(checked)]
        where !path.hasPrefix(folder + "/") {
          throw SISDropError(
            .internalError, "dry run: the copy's pipeline points outside the copy (\(path))")
        }
      }
      return (workdir, pipeline, open)
    }

    /// The real inbox's ready files copied into the scratch inbox, and what a run would claim in
    /// the plan; false (the plan says why) when a run now would wait.
    func copyReadyFiles(
      _ config: PipelineConfig, root: String, workdir: WorkDir, into plan: inout Plan
    ) throws -> Bool {
      let realInbox = config.resolve(config.inbox, workdir: root)
      let listing = try Inbox(path: realInbox, config: config).list(state: workdir.state)
      do {
        try listing.requireComplete(inbox: realInbox)
      } catch let error as SISDropError {
        plan.nothing = "a run now would wait (exit 75): \(error)"
        return false
      }
      let arriving = Set(listing.arriving.map(\.name))
      for name in listing.observed.keys.sorted() where !arriving.contains(name) {
        if name.contains("/") {
          try FileSystem.makeDirectory(inbox + "/" + (name as NSString).deletingLastPathComponent)
        }
        try FileSystem.copyFile(realInbox + "/" + name, to: inbox + "/" + name)
      }
      let claimed = listing.claimable.filter { name in
        !listing.duplicates.contains { $0.name == name }
      }.sorted()
      plan.claimed = claimed.filter { !$0.contains("/") }
      plan.claimedDocuments = claimed.count - (plan.claimed?.count ?? 0)
      return true
    }
  }

  /// The delivery files the copy's run wrote, with their rows, and what it held back.
  static func readDeliveries(
    _ workdir: WorkDir, batch: String, config: PipelineConfig, into plan: inout Plan
  ) throws {
    let deliver = workdir.stageFolder(batch, .deliver)
    let documents = config.delivery.documentsFolder(for: batch) + "/"
    for name in try files(below: deliver)
    where name.hasPrefix(batch) && !name.hasSuffix(".ready") && !name.hasPrefix(documents) {
      plan.deliveryFiles[name] = try rows(
        deliver + "/" + name, delimiter: config.csvProfile.writer.delimiter)
    }
    // By header: submission, schema, seq and what it is held for (ids and reasons, never values).
    let heldTable = try csvTable(deliver + "/held.csv", delimiter: UInt8(ascii: ","))
    if let header = heldTable.first {
      let columns = [FieldName.submissionID, "Schema", "Seq", "Held_For"].map { name in
        header.firstIndex(of: name)
      }
      plan.held = heldTable.dropFirst().map { row in
        columns.map { index in index.flatMap { $0 < row.count ? row[$0] : nil } ?? "" }
      }
    }
  }

  /// Which SIS fields each delivered update writes: the non-blank columns of the CSV layout's
  /// update files (an update row carries the key and only what changes), else the match's differences.
  static func updates(_ workdir: WorkDir, batch: String, config: PipelineConfig) throws -> [Update]
  {
    let deliver = workdir.stageFolder(batch, .deliver)
    let delivered = Set(try BatchLifecycle.readTable(deliver + "/delivered.csv").map { $0[0] })
    var result: [Update] = []
    if config.delivery.profile == .csv {
      for (kind, schema, key) in [
        ("students_update", "student", FieldName.studentNumber),
        ("contacts_update", "contact", FieldName.contactID),
      ] {
        let path = deliver + "/\(batch)_\(kind).csv"
        guard FileSystem.exists(path) else { continue }
        let table = try csvTable(path, delimiter: config.csvProfile.writer.delimiter)
        guard let header = table.first else { continue }
        let columns = config.csvProfile.files[kind] ?? []
        for row in table.dropFirst() {
          var values: [String: String] = [:]
          for (index, name) in header.enumerated() where index < row.count {
            values[name] = row[index]
          }
          let field = { (field: String) in
            columns.first { $0.field == field }.flatMap { values[$0.name] } ?? ""
          }
          let skip: Set<String> = [
            key, FieldName.submissionID, "Student_Ref", "Contact_Ref", FieldName.studentNumber,
          ]
          let written = columns.filter {
            !skip.contains($0.field) && !(values[$0.name] ?? "").isEmpty
          }.map(\.field)
          guard !written.isEmpty else { continue }
          result.append(
            Update(
              submission: field(FieldName.submissionID), schema: schema, seq: "", sisID: field(key),
              fields: written))
        }
      }
      return result
    }
    var grouped: [[String]: [String]] = [:]
    for row in try BatchLifecycle.readTable(workdir.stageFolder(batch, .match) + "/diffs.csv")
    where delivered.contains(row[0]) {
      grouped[Array(row[0..<4]), default: []].append(row[4])
    }
    for (key, fields) in grouped.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
      result.append(
        Update(submission: key[0], schema: key[1], seq: key[2], sisID: key[3], fields: fields))
    }
    return result
  }

  /// A shared lock on the working directory's lock file, taken without writing it: a writer
  /// running now makes this 75; one starting while the copy is made waits for it.
  static func sharedLock(_ root: String) throws -> Int32? {
    let path = root + "/.lock"
    guard FileSystem.exists(path) else { return nil }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    if flock(fd, LOCK_SH | LOCK_NB) != 0 {
      close(fd)
      throw SISDropError(
        .temporaryFailure, "busy: a sisdrop process is writing to this working directory",
        at: SourceLocation(path: path),
        hint: "try the dry run again when it has finished")
    }
    return fd
  }

  /// The pipeline text with the inbox, outbox and archive in the scratch folder, files named by
  /// absolute path, no `workdir`, no sendmail, and no quiet period or writer check.
  static func rewritten(
    _ bytes: [UInt8], original: String, config: PipelineConfig, inbox: String, outbox: String,
    archive: String
  ) throws -> [UInt8] {
    guard var node = try Yams.compose(yaml: String(decoding: bytes, as: UTF8.self)),
      var root = node.mapping
    else {
      throw SISDropError.configuration(
        "the pipeline file is not a mapping", at: SourceLocation(path: original))
    }
    let base = (original as NSString).deletingLastPathComponent
    func absolute(_ node: Node?) -> Node? {
      guard let text = node?.string else { return node }
      return Node(FileSystem.absolute(text, relativeTo: base))
    }
    root["workdir"] = nil
    root["paths"] = Node([
      (Node("inbox"), Node(inbox)), (Node("outbox"), Node(outbox)),
      (Node("archive"), Node(archive)),
    ])
    if root["plugin"] != nil { root["plugin"] = absolute(root["plugin"]) }
    if var mappings = root["mappings"]?.mapping {
      for key in ["building_map", "tardy_codes"] where mappings[key] != nil {
        mappings[key] = absolute(mappings[key])
      }
      root["mappings"] = .mapping(mappings)
    }
    if var notifications = root["notifications"]?.mapping {
      notifications["sendmail"] = nil
      root["notifications"] = .mapping(notifications)
    }
    var pickup = root["pickup"]?.mapping ?? Node.Mapping([])
    pickup["quiet_seconds"] = Node("0")
    pickup["check_writers"] = Node("false")
    root["pickup"] = .mapping(pickup)
    node = .mapping(root)
    return Array(try Yams.serialize(node: node).utf8)
  }

  static func copyTree(_ from: String, to: String, skipping: Set<String>) throws {
    for name in try FileSystem.listDirectory(from) {
      let source = from + "/" + name
      guard !skipping.contains(source) else { continue }
      var info = stat()
      guard lstat(source, &info) == 0 else { continue }
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        try FileSystem.makeDirectory(to + "/" + name)
        try copyTree(source, to: to + "/" + name, skipping: skipping)
      case S_IFREG:
        try FileSystem.copyFile(source, to: to + "/" + name)
      default:
        continue
      }
    }
  }

  static func files(below folder: String, prefix: String = "") throws -> [String] {
    var result: [String] = []
    for name in try FileSystem.listDirectory(folder).sorted() {
      let path = folder + "/" + name
      if FileSystem.isDirectory(path) {
        result += try files(below: path, prefix: prefix + name + "/")
      } else {
        result.append(prefix + name)
      }
    }
    return result
  }

  /// Data rows of a delivery file: CSV lines after the header, or XML records (elements one level down).
  static func rows(_ path: String, delimiter: UInt8) throws -> Int {
    let bytes = try FileSystem.readFile(path)
    if path.hasSuffix(".xml") {
      return max(
        0, String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n  <").count - 1)
    }
    return max(0, try csvTable(path, delimiter: delimiter).count - 1)
  }

  static func csvTable(_ path: String, delimiter: UInt8) throws -> [[String]] {
    let reader = try CSVReader(path: path, dialect: CSVDialect(delimiter: delimiter))
    var rows: [[String]] = []
    while let row = try reader.next() { rows.append(row.fields) }
    return rows
  }
}
