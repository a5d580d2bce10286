import Foundation
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// Undoing a claim: the files of a `.ID.claiming` folder go back to the inbox, or, when the sender
/// has since uploaded a file of the same name, to `<archive>/duplicates/<stamp>-unclaimed/`.
/// A claimed file is never deleted: it may be the only complete copy of the sender's export.
enum ClaimReturn {
  /// Moves every file of `input` back; returns the names that went to the archive instead.
  @discardableResult
  static func putBack(input: String, inbox: String, archive: String) throws -> [String] {
    guard FileSystem.isDirectory(input) else { return [] }
    var archived: [String] = []
    var folder: String?
    // Uploaded documents go back to their own place (documents/<Submission_ID>/<File_Name>).
    for file in try DocumentFiles.files(below: input) {
      if file.contains("/"), FileSystem.isDirectory(inbox) {
        try FileSystem.makeDirectory(inbox + "/" + (file as NSString).deletingLastPathComponent)
      }
      if FileSystem.isDirectory(inbox), Inbox.FileState.of(inbox + "/" + file) == nil {
        try move(input + "/" + file, to: inbox + "/" + file)
        continue
      }
      if folder == nil {
        let stamp = Clock.now().replacingOccurrences(of: ":", with: "")
        folder = archive + "/duplicates/" + stamp + "-unclaimed"
        try FileSystem.makeDirectory(folder!)
      }
      if file.contains("/") {
        try FileSystem.makeDirectory(folder! + "/" + (file as NSString).deletingLastPathComponent)
      }
      try move(input + "/" + file, to: folder! + "/" + file)
      archived.append(file)
    }
    if let folder { try FileSystem.syncDirectory(folder) }
    if FileSystem.isDirectory(inbox) { try FileSystem.syncDirectory(inbox) }
    return archived
  }

  private static func move(_ from: String, to: String) throws {
    do {
      try FileSystem.rename(from, to: to)
    } catch let error as FileError where error.code == EXDEV {
      try FileSystem.copyFile(from, to: to)
      if unlink(from) != 0 { throw FileError.posix(errno, "remove", from) }
    }
  }
}
