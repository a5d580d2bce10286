import Foundation
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

#if canImport(Glibc)
import Glibc
#endif

/// The inbox drop folder: which files belong to which feed, and which are completely uploaded.
///
/// An SFTP server writes an upload in place under its final name while it is still arriving, and
/// an aborted upload leaves a truncated file that looks complete (docs/PLATFORM-NOTES.md, "Files and SFTP"). So a file is
/// claimed only when (1) its name is not a temporary one, (2) its feed's trigger or manifest file
/// is there, when one is configured, and matches, and (3) it has not changed for the quiet period
/// and no process holds it open for writing. A feed is claimed whole or not at all.
package struct Inbox {
  package let path: String
  package let config: PipelineConfig
  /// Other inbox files a pipeline reads (decision files and the like): claimable under the same rules.
  package let extraFiles: [String]

  package init(path: String, config: PipelineConfig, extraFiles: [String] = []) {
    self.path = path
    self.config = config
    self.extraFiles = extraFiles
  }

  /// Names a sender uses while a file is still being uploaded: never claimed.
  package static func isTemporaryName(_ name: String) -> Bool { FileNames.isTemporaryUpload(name) }

  /// The inbox file names sisdrop reads, by feed.
  package var sisExportNames: [String] { config.sisExport.files.values.sorted() }
  package var submissionNames: [String] { config.submissions.files.values.sorted() }

  /// A file of the SIS export feed or its delta feed (not a trigger file).
  package func isSISExportFile(_ name: String) -> Bool {
    sisExportNames.contains(name) || config.sisExport.deltaFileNames.values.contains(name)
  }

  /// The main submissions file: the one whose presence means there is something to deliver.
  package var submissionsFileName: String {
    config.submissions.files["submissions"] ?? "submissions.csv"
  }

  var feeds: [(name: String, files: [String], feed: FeedConfig)] {
    // A delta of the SIS export (`sis_export.mode: delta`) is a feed of its own: claimed whole, on its own.
    let deltas = config.sisExport.deltaFileNames.values.sorted()
    return [("sis_export", sisExportNames, config.sisExport)]
      + (deltas.isEmpty ? [] : [("sis_delta", deltas, config.sisExport)])
      + [("submissions", submissionNames, config.submissions)]
  }

  /// Whether one inbox file is completely uploaded.
  package enum Readiness: Sendable, Equatable {
    case settled
    /// Still arriving, and why (changed too recently, or open for writing by a process).
    case arriving(String)
  }

  package struct Listing: Sendable {
    /// Complete files of complete feeds (and their trigger files), safe to claim.
    package var claimable: [String] = []
    /// Files that belong to no feed: left alone.
    package var ignored: [String] = []
    /// Files (or feeds) still arriving, with why: the run must wait (exit 75).
    package var arriving: [(name: String, reason: String)] = []
    /// Complete feed files identical to the ones last claimed (same name, same SHA-256): not claimed again.
    package var duplicates: [(name: String, batch: String)] = []
    /// Entries that are not regular files (symbolic links, fifos, devices): never followed, never claimed.
    package var refused: [String] = []
    /// Each listed file as it was seen: a claim checks it is still the same file, unchanged.
    package var observed: [String: FileState] = [:]
    /// Entries of the documents folder that are not uploaded files (links, FIFOs, folders where a
    /// file belongs, files outside a submission's folder), by inbox-relative path, with what they
    /// are: never read or claimed; the batch records them, so that parse names them in errors.
    package var refusedDocuments: [(path: String, what: String)] = []

    /// The claimable files that are uploaded documents (`documents/<Submission_ID>/<File_Name>`).
    package var claimableDocuments: [String] { claimable.filter { $0.contains("/") } }
    /// The claimable feed and answer files (plain inbox names).
    package var claimableFiles: [String] { claimable.filter { !$0.contains("/") } }

    /// Throws 75 naming what is still arriving, so that cron retries.
    package func requireComplete(inbox: String) throws {
      guard let first = arriving.first else { return }
      let others =
        arriving.count > 1
        ? " (and \(arriving.count - 1) more: \(arriving.dropFirst().map(\.name).joined(separator: ", ")))"
        : ""
      throw SISDropError(
        .temporaryFailure, "\(first.name) is still arriving: \(first.reason)\(others)",
        at: SourceLocation(path: inbox + "/" + first.name),
        hint: "nothing was claimed; run again later (cron will retry)")
    }
  }

  /// What identifies one version of an inbox file: the inode, its size and times (from `lstat`).
  package struct FileState: Sendable, Equatable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modified: Int64  // ns
    package var changed: Int64  // ns
    /// A regular file with one name: the only kind of entry sisdrop reads from the inbox.
    package var isRegular: Bool
    /// What the entry is when it is not a file sisdrop reads ("a symbolic link", "a hard link ...").
    package var refusal: String?

    /// `lstat` of the path: a symbolic link is described, never followed. nil when it is not there.
    package static func of(_ path: String) -> FileState? {
      var info = stat()
      guard lstat(path, &info) == 0 else { return nil }
      return FileState(info)
    }

    init(_ info: stat) {
      device = UInt64(info.st_dev)
      inode = UInt64(info.st_ino)
      size = Int64(info.st_size)
      modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
      changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
      refusal = InboxFile.refusal(info)
      isRegular = refusal == nil
    }

    /// The same file with the same content as far as the inode tells, ctime aside (a rename moves it).
    package func sameContent(as other: FileState) -> Bool {
      device == other.device && inode == other.inode && size == other.size
        && modified == other.modified && isRegular == other.isRegular
    }
  }

  /// Why an inbox file other than a feed's (corrections.csv, resolutions.csv, ...) cannot be taken
  /// now, or nil when it can: the same pickup rules as every feed file (a regular file, never a
  /// link; quiet period; no process writing it). A missing file gives nil: there is nothing to take.
  package func whyNotReady(_ name: String, now: Date = Date()) -> String? {
    let file = path + "/" + name
    guard let state = FileState.of(file) else { return nil }
    if let refusal = state.refusal {
      return
        "it is \(refusal), not a regular file: sisdrop never follows links in the inbox and reads only regular files; remove it and upload the file itself"
    }
    let writers =
      config.operations.pickup.checkWriters ? OpenWriters.scan(folder: path, names: [name]) : [:]
    if case .arriving(let why) = readiness(of: name, now: now, writers: writers) {
      return "still arriving: \(why)"
    }
    return nil
  }

  /// Whether a file is completely uploaded: unchanged for the quiet period, and not open for writing.
  ///
  /// "Unchanged" is judged by the inode's change time (ctime), which every write, truncate,
  /// rename and attribute change moves forward and which no client can set back (unlike mtime,
  /// which `sftp put -p` sets to the sender's time). One look is then enough: no state between runs.
  package func readiness(
    of name: String, now: Date = Date(), writers: [String: OpenWriters.Writer] = [:]
  ) -> Readiness {
    var info = stat()
    guard lstat(path + "/" + name, &info) == 0 else {
      return .arriving("it vanished while the inbox was read")
    }
    // ctime alone: a sender whose clock runs ahead can set mtime into the future (`put -p`), which
    // would hold the file back until then; every write moves ctime to this machine's clock anyway.
    let changed = Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
    if let writer = writers[name] {
      return .arriving("open for writing by process \(writer.pid) (\(writer.command))")
    }
    let age = now.timeIntervalSince1970 - changed
    let quiet = config.operations.pickup.quietSeconds
    if quiet > 0 && age < quiet {
      return .arriving(
        "changed \(max(0, Int(age)))s ago; a file is claimed once unchanged for \(Int(quiet))s (pickup.quiet_seconds)"
      )
    }
    return .settled
  }

  /// Reads the inbox: which files are complete and claimable, which are still arriving, which are
  /// identical re-uploads.
  ///
  /// - Parameters:
  ///   - state: when given, files identical to the last claimed ones are reported as duplicates.
  ///   - now: the time the quiet period is measured against.
  /// - Throws: `SISDropError` 66 when the inbox folder is missing, 65 when a manifest does not match
  ///   a complete file (an aborted or altered upload).
  package func list(state: StateStore? = nil, now: Date = Date()) throws -> Listing {
    guard FileSystem.isDirectory(path) else {
      throw SISDropError(
        .noInput, "the inbox folder does not exist", at: SourceLocation(path: path),
        hint: "create it, or set paths.inbox in the pipeline config")
    }
    var listing = Listing()
    let names = try observeEntries(into: &listing)
    let present = Set(names)
    let arrival = Arrival(readiness: readiness(of: names, now: now))

    var known = Set(extraFiles)
    for (_, files, _) in feeds { known.formUnion(files) }
    known.formUnion(config.operations.pickup.triggers.values)
    if let link = listing.refused.first(where: known.contains) {
      throw InboxFile.refused(
        path + "/" + link, FileState.of(path + "/" + link)?.refusal ?? "not a regular file",
        hint: "nothing was claimed")
    }
    // The submissions' uploaded documents: part of the submissions feed, under the same rules.
    let documents = listDocuments(into: &listing)
    let documentArrival = Arrival(
      readiness: documents.isEmpty ? [:] : readiness(of: documents, now: now))
    for (feedName, files, feed) in feeds {
      let trigger = config.operations.pickup.triggers[feedName]
      guard
        var claim = try completeFeed(
          feedName, files: files, feed: feed, trigger: trigger, present: present,
          arrival: arrival, into: &listing), !claim.isEmpty
      else { continue }
      // The documents come with the submissions feed, all of them or none: one still arriving holds the feed back.
      if feedName == "submissions" && !documents.isEmpty {
        guard documentsSettled(documents, documentArrival, into: &listing) else { continue }
        claim += documents
      }
      // An identical re-upload of the whole feed is not claimed again (same names, same SHA-256).
      if let state,
        let batch = try identicalReupload(claim, trigger: trigger, feedName: feedName, state: state)
      {
        listing.duplicates += claim.map { ($0, batch) }
        continue
      }
      listing.claimable += claim
    }
    for name in extraFiles where present.contains(name) {
      if let why = arrival.reason(name) {
        listing.arriving.append((name, why))
      } else {
        listing.claimable.append(name)
      }
    }
    listing.ignored = names.filter { !known.contains($0) }.sorted()
    listing.claimable.sort()
    return listing
  }

  /// The inbox's regular files, by name; links and special files are refused (listed in
  /// `listing.refused`), folders and temporary names left alone.
  ///
  /// lstat, never stat: a symbolic link (internal-sftp lets a sender make one) must not lead sisdrop
  /// to read or claim a file outside the inbox.
  func observeEntries(into listing: inout Listing) throws -> [String] {
    var names: [String] = []
    for name in try FileSystem.listDirectory(path) where !Inbox.isTemporaryName(name) {
      guard let state = FileState.of(path + "/" + name) else { continue }
      var info = stat()
      if lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { continue }
      guard state.isRegular else {
        listing.refused.append(name)
        continue
      }
      listing.observed[name] = state
      names.append(name)
    }
    listing.refused.sort()
    return names
  }

  /// Each file's readiness, with the processes writing them looked up once for all.
  func readiness(of names: [String], now: Date) -> [String: Readiness] {
    let writers =
      config.operations.pickup.checkWriters ? OpenWriters.scan(folder: path, names: names) : [:]
    var readiness: [String: Readiness] = [:]
    for name in names { readiness[name] = self.readiness(of: name, now: now, writers: writers) }
    return readiness
  }

  /// Which files are still arriving, and why.
  struct Arrival {
    var readiness: [String: Readiness]

    func reason(_ name: String) -> String? {
      if case .arriving(let why) = readiness[name] { return why }
      return nil
    }
  }

  /// The files of a feed that is complete: with a trigger file, what its manifest lists (verified)
  /// and the trigger; without one, all the feed's files. Nil, with why in `listing.arriving`, while
  /// the feed is still arriving.
  func completeFeed(
    _ feedName: String, files: [String], feed: FeedConfig, trigger: String?,
    present: Set<String>, arrival: Arrival, into listing: inout Listing
  ) throws -> [String]? {
    let here = files.filter(present.contains)
    guard let trigger else {
      let waiting = here.filter { arrival.reason($0) != nil }
      if !waiting.isEmpty {
        for name in waiting { listing.arriving.append((name, arrival.reason(name) ?? "")) }
        return nil
      }
      // A feed is all its files or nothing: an SIS that writes its exports one by one, with gaps
      // longer than the quiet period, must not have students claimed without contacts (the
      // snapshot built from them would be the one matching uses).
      if !here.isEmpty, let missing = files.first(where: { !present.contains($0) }) {
        listing.arriving.append(
          (
            missing,
            "the \(feedName) feed is incomplete: \(here.joined(separator: ", ")) \(here.count == 1 ? "is" : "are") here, \(missing) is not in the inbox yet (a feed is claimed whole: all the files of \(feedName).files)"
          ))
        return nil
      }
      return here
    }
    guard present.contains(trigger) else {
      if !here.isEmpty {
        listing.arriving.append(
          (
            here[0],
            "the \(feedName) feed is complete only once its trigger file \(trigger) is in the inbox"
          ))
      }
      return nil
    }
    if let why = arrival.reason(trigger) {
      listing.arriving.append((trigger, why))
      return nil
    }
    var claim = here
    let entries = try TriggerManifest.read(path + "/" + trigger)
    if !entries.isEmpty {
      claim = entries.map(\.file)
      // A feed file the manifest does not list would be silently left out of the batch.
      if let unlisted = here.first(where: { !claim.contains($0) }) {
        throw SISDropError(
          .dataError,
          "\(unlisted) is in the inbox but \(trigger) does not list it: the \(feedName) feed would be claimed without it",
          at: SourceLocation(path: path + "/" + trigger),
          hint:
            "nothing was claimed; ask the sender to list \(unlisted) in \(trigger), or to remove it from the inbox"
        )
      }
      for entry in entries where !present.contains(entry.file) {
        listing.arriving.append(
          (entry.file, "\(trigger) lists it, but it is not in the inbox yet"))
      }
    }
    if let waiting = claim.first(where: { arrival.reason($0) != nil }) {
      listing.arriving.append((waiting, arrival.reason(waiting) ?? ""))
      return nil
    }
    if claim.contains(where: { !present.contains($0) }) { return nil }
    try TriggerManifest.verify(entries, folder: path, manifest: trigger, feed: feed)
    return claim + [trigger]
  }

  /// Whether every uploaded document is settled; if not, the first still arriving is named in
  /// `listing.arriving` by its submission's folder (the file name is the sender's, and this reaches
  /// the log), the others only counted.
  func documentsSettled(
    _ documents: [String], _ arrival: Arrival, into listing: inout Listing
  ) -> Bool {
    let waiting = documents.filter { arrival.readiness[$0] != .settled }
    guard let first = waiting.first, case .arriving(let why) = arrival.readiness[first] else {
      return true
    }
    listing.arriving.append(
      (
        DocumentFiles.logName(first),
        "\(why) (\(waiting.count) uploaded document\(waiting.count == 1 ? "" : "s") of the submissions feed still arriving; the feed is claimed with all its documents)"
      ))
    return false
  }

  /// The batch that claimed the same files (same names, same SHA-256) last, when this claim is an
  /// identical re-upload not to be claimed again. Records that batch returned to pending (held for
  /// review, in error) may have been decided since: the same export then still has something to
  /// deliver, so it is claimed again.
  func identicalReupload(
    _ claim: [String], trigger: String?, feedName: String, state: StateStore
  ) throws -> String? {
    var sameAs: String?
    for name in claim where name != trigger {
      guard let last = try state.lastClaimed(name: name),
        last.sha256 == (try SHA256.file(at: path + "/" + name, inboxFile: true).sha256)
      else { return nil }
      sameAs = last.batch
    }
    guard let batch = sameAs,
      try feedName != "submissions" || state.pendingSubmissions(lastSeenIn: batch) == 0
    else { return nil }
    return batch
  }

  /// The submissions feed's uploaded documents: every regular file with one name at
  /// `<documents folder>/<Submission_ID>/<name>`, by inbox-relative path. Anything else there (a
  /// link, a FIFO, a folder inside a submission's folder, a file outside one) is refused: listed in
  /// `refusedDocuments`, never opened, followed or claimed. Temporary names are left alone.
  func listDocuments(into listing: inout Listing) -> [String] {
    let folder = config.submissions.documentsFolder
    let root = path + "/" + folder
    guard let top = FileState.of(root) else { return [] }
    var info = stat()
    guard lstat(root, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
      listing.refusedDocuments.append((folder, top.refusal ?? "not a folder"))
      return []
    }
    var files: [String] = []
    for submission in ((try? FileSystem.listDirectory(root)) ?? []).sorted()
    where !Inbox.isTemporaryName(submission) {
      let relative = folder + "/" + submission
      guard lstat(path + "/" + relative, &info) == 0 else { continue }
      guard (info.st_mode & S_IFMT) == S_IFDIR else {
        listing.refusedDocuments.append(
          (
            relative,
            FileState(info).refusal.map { "\($0), not a submission's folder" }
              ?? "a file outside any submission's folder"
          ))
        continue
      }
      for name in ((try? FileSystem.listDirectory(path + "/" + relative)) ?? []).sorted()
      where !Inbox.isTemporaryName(name) {
        let file = relative + "/" + name
        guard let state = FileState.of(path + "/" + file) else { continue }
        if let refusal = state.refusal {
          listing.refusedDocuments.append((file, refusal))
          continue
        }
        listing.observed[file] = state
        files.append(file)
      }
    }
    return files
  }

  /// Moves identical re-uploads out of the inbox into `<archive>/duplicates/<stamp>/`, so that the
  /// sender sees them taken and the next run does not look at them again.
  package func setAside(_ names: [String], archive: String, now: Date = Date()) throws -> String? {
    guard !names.isEmpty else { return nil }
    let stamp = now.ISO8601Format().replacingOccurrences(of: ":", with: "")
    let folder = archive + "/duplicates/" + stamp
    try FileSystem.makeDirectory(folder)
    for name in names where FileSystem.exists(path + "/" + name) {
      if name.contains("/") {
        try FileSystem.makeDirectory(folder + "/" + (name as NSString).deletingLastPathComponent)
      }
      do {
        try FileSystem.rename(path + "/" + name, to: folder + "/" + name)
      } catch let error as FileError where error.code == EXDEV {
        try FileSystem.copyFile(path + "/" + name, to: folder + "/" + name)
        if unlink(path + "/" + name) != 0 {
          throw FileError.posix(errno, "remove", path + "/" + name)
        }
      }
      // Student data: private, as claimed files are (the sender's upload may be world-readable).
      chmod(folder + "/" + name, 0o440)
      if name.contains("/") { Inbox.removeEmptyFolders(of: name, in: path) }
    }
    try FileSystem.syncDirectory(folder)
    try FileSystem.syncDirectory(path)
    return folder
  }
}

extension Inbox {
  /// Removes the submission folder a moved document leaves empty, and the documents folder once
  /// empty (an upload makes them again); a folder holding anything stays.
  static func removeEmptyFolders(of relative: String, in root: String) {
    var folder = (relative as NSString).deletingLastPathComponent
    while !folder.isEmpty, rmdir(root + "/" + folder) == 0 {
      folder = (folder as NSString).deletingLastPathComponent
    }
  }
}

/// A feed's trigger file: empty (its arrival alone says the feed is complete), or a manifest, a CSV
/// with the header `file,sha256,rows` (sha256 and rows optional), one line per file of the feed.
package enum TriggerManifest {
  package struct Entry: Sendable, Equatable {
    package var file: String
    package var sha256: String?
    package var rows: Int?
    package var line: Int
  }

  /// - Throws: `SISDropError` 65 naming the line for a malformed manifest.
  package static func read(_ path: String) throws -> [Entry] {
    let reader = try CSVReader(path: path, inboxFile: true)
    guard let header = try reader.next() else { return [] }
    let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    guard let fileColumn = columns.firstIndex(of: "file") else {
      throw SISDropError(
        .dataError, "a manifest needs the header file,sha256,rows",
        at: SourceLocation(path: path, line: header.line),
        hint:
          "ask the sender to write `file,sha256,rows` first (sha256 and rows may be left out), or send an empty trigger file"
      )
    }
    let shaColumn = columns.firstIndex(of: "sha256")
    let rowsColumn = columns.firstIndex(of: "rows")
    var entries: [Entry] = []
    while let row = try reader.next() {
      func field(_ index: Int?) -> String? {
        guard let index, index < row.fields.count else { return nil }
        let value = row.fields[index].trimmingCharacters(in: .whitespaces)
        return value.isEmpty ? nil : value
      }
      guard let file = field(fileColumn) else { continue }
      guard !file.contains("/"), !Inbox.isTemporaryName(file) else {
        throw SISDropError(
          .dataError, "'\(file)' is not an inbox file name",
          at: SourceLocation(path: path, line: row.line),
          hint: "list plain file names of the feed")
      }
      let sha = field(shaColumn)?.lowercased()
      if let sha, sha.count != 64 || !sha.allSatisfy(\.isHexDigit) {
        throw SISDropError(
          .dataError, "'\(sha)' is not a SHA-256 (64 hex digits)",
          at: SourceLocation(path: path, line: row.line))
      }
      var rows: Int?
      if let text = field(rowsColumn) {
        guard let count = Int(text), count >= 0 else {
          throw SISDropError(
            .dataError, "'\(text)' is not a row count",
            at: SourceLocation(path: path, line: row.line))
        }
        rows = count
      }
      entries.append(Entry(file: file, sha256: sha, rows: rows, line: row.line))
    }
    return entries
  }

  /// Checks complete files against their manifest entries.
  ///
  /// - Throws: `SISDropError` 65 naming the file, the expected and the found value.
  static func verify(_ entries: [Entry], folder: String, manifest: String, feed: FeedConfig) throws
  {
    for entry in entries {
      let path = folder + "/" + entry.file
      if let expected = entry.sha256 {
        let actual = try SHA256.file(at: path, inboxFile: true).sha256
        guard actual == expected else {
          throw SISDropError(
            .dataError,
            "SHA-256 \(actual) does not match \(manifest) line \(entry.line) (\(expected)): an aborted or altered upload",
            at: SourceLocation(path: path),
            hint:
              "nothing was claimed; ask the sender to upload \(entry.file) and \(manifest) again")
        }
      }
      if let expected = entry.rows, feed.format == .csv {
        let reader = try CSVReader(path: path, dialect: feed.dialect, inboxFile: true)
        var count = -1  // the header
        while try reader.next() != nil { count += 1 }
        guard max(count, 0) == expected else {
          throw SISDropError(
            .dataError,
            "\(max(count, 0)) records, but \(manifest) line \(entry.line) says \(expected): an aborted or altered upload",
            at: SourceLocation(path: path),
            hint:
              "nothing was claimed; ask the sender to upload \(entry.file) and \(manifest) again")
        }
      }
    }
  }
}
