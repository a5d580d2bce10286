import Foundation
import SISDropConfig
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// What `sisdrop cancel` does with each file the batch claimed (probe26's finding 5b).
///
/// Every claimed file stays in the batch folder and is archived in `archive/<batch>/`, as before. A
/// full SIS export no snapshot was built from (the batch stopped before normalize took it: an
/// enrollment export cut off on a first night) is also put back into the inbox, a copy, so that the
/// next run claims it: archived alone, the next run with the complete enrollment export had no
/// snapshot and no SIS export (66), opening another batch to cancel. It is put back whole or not at
/// all (never an old contacts.csv beside a new students.csv): not when a stage refused one of its
/// files (it would be refused again) or when the inbox already holds a file of that feed (a newer
/// upload). A delta is never put back (applied after a newer full export it would undo it), nor the
/// enrollment export (the file refused, or a part of it; the sender uploads it whole again).
package enum CancelReturn {
  /// One claimed file (or the uploaded documents, counted: their names are the sender's) and what
  /// the cancel did with it.
  package struct Outcome: Sendable, Equatable {
    package var file: String
    package var returned: Bool
    package var why: String
  }

  static func apply(
    workdir: WorkDir, config: PipelineConfig, batch: String
  ) throws -> [Outcome] {
    let input = workdir.batchFolder(batch) + "/input"
    let claimed = Set(try DocumentFiles.files(below: input))
    let triggers = config.operations.pickup.triggers
    let sisFull = config.sisExport.files.values.sorted().filter(claimed.contains)
    let sisTrigger = triggers["sis_export"].flatMap { claimed.contains($0) ? $0 : nil }
    let inbox = workdir.inbox(config)
    let refused = try refusedNames(workdir, batch: batch)
    let snapshotBuilt = try workdir.state.hasSnapshot(batch: batch)
    var outcomes: [Outcome] = []
    var handled = Set<String>()

    if !sisFull.isEmpty {
      let feedFiles = sisFull + (sisTrigger.map { [$0] } ?? [])
      let why: String?
      if snapshotBuilt {
        why = "not put back: the SIS snapshot built from this export is kept"
      } else if let name = sisFull.first(where: refused.contains) {
        why = "not put back: \(name) was refused; have the sender upload a corrected SIS export"
      } else if let name =
        (config.sisExport.files.values.sorted() + (sisTrigger.map { [$0] } ?? []))
        .first(where: { Inbox.FileState.of(inbox + "/" + $0) != nil })
      {
        why = "not put back: the inbox already holds a newer \(name)"
      } else {
        why = nil
      }
      if let why {
        outcomes += feedFiles.map { Outcome(file: $0, returned: false, why: why) }
      } else {
        for name in feedFiles { try putBack(input + "/" + name, to: inbox + "/" + name) }
        try FileSystem.syncDirectory(inbox)
        outcomes += feedFiles.map {
          Outcome(
            file: $0, returned: true,
            why:
              "back in the inbox: no SIS snapshot was built from it, so the next run claims it"
          )
        }
      }
      handled.formUnion(feedFiles)
    }
    let deltas =
      config.sisExport.deltaFileNames.values.sorted() + (triggers["sis_delta"].map { [$0] } ?? [])
    for name in deltas where claimed.contains(name) && !handled.contains(name) {
      outcomes.append(
        Outcome(
          file: name, returned: false,
          why: snapshotBuilt
            ? "not put back: the SIS snapshot it was applied to is kept"
            : "not applied and not put back (a delta never is: applied after a newer full export it would undo it): matching stops until a full SIS export comes, so upload one with the enrollment export"
        ))
      handled.insert(name)
    }
    let documentsPrefix = config.submissions.documentsFolder + "/"
    let documents = claimed.filter { $0.hasPrefix(documentsPrefix) && !handled.contains($0) }
    for name in claimed.sorted() where !handled.contains(name) && !documents.contains(name) {
      outcomes.append(
        Outcome(
          file: name, returned: false,
          why: refused.contains(name)
            ? "not put back: refused; have the sender upload the enrollment export again, whole"
            : "not put back: the enrollment export is never put back in part; it comes again with its next upload"
        ))
    }
    if !documents.isEmpty {
      outcomes.append(
        Outcome(
          file: "\(documents.count) uploaded document\(documents.count == 1 ? "" : "s")",
          returned: false,
          why: "not put back: they come again with the next upload of the enrollment export"))
    }
    return outcomes
  }

  /// The claimed files a failed stage of the batch refused (its message names `input/<file>:`).
  static func refusedNames(_ workdir: WorkDir, batch: String) throws -> Set<String> {
    let marker = "/batches/\(batch)/input/"
    var names = Set<String>()
    for run in try workdir.state.stageRuns(batch: batch) where run.status == "failed" {
      guard let message = run.message, let range = message.range(of: marker) else { continue }
      let rest = message[range.upperBound...]
      names.insert(String(rest.prefix { $0 != ":" && $0 != " " }))
    }
    return names
  }

  /// A copy of the claimed file into the inbox under its own name, never over a file there: written
  /// under a dot name (never read), owned like the claimed file, then linked into place.
  static func putBack(_ claimed: String, to target: String) throws {
    let temporary =
      (target as NSString).deletingLastPathComponent + "/.sisdrop-cancelled-\(getpid())-"
      + (target as NSString).lastPathComponent
    try? FileSystem.removeTree(temporary)
    try FileSystem.copyFile(claimed, to: temporary)
    var info = stat()
    if lstat(claimed, &info) == 0 {
      _ = chown(temporary, info.st_uid, info.st_gid)
      _ = chmod(temporary, (info.st_mode & 0o777) | S_IRUSR | S_IWUSR)
    }
    defer { unlink(temporary) }
    if link(temporary, target) != 0 { throw FileError.posix(errno, "put back", target) }
  }
}
