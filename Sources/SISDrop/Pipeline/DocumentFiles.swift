import Foundation
import SISDropCore
import SISDropFormats
import SISDropStore

#if canImport(Glibc)
import Glibc
#endif

/// The files `submission_documents.csv` (or `<document file sha256>`) names: uploaded beside the
/// enrollment export as `<documents folder>/<Submission_ID>/<File_Name>`, claimed with the
/// submissions feed, checked by parse against their rows (a missing file, an extra file, a
/// SHA-256 that differs, a name that is not a plain file name: an error for that submission),
/// copied into the delivery's documents folder by deliver, and sent once per SHA-256.
///
/// A document's file name comes from the sender: it goes into the files for people and the
/// delivery, never into a log line or a notification (ids and counts only).
package enum DocumentFiles {
  /// Written into the batch folder by the claim: what the documents folder held that is not an
  /// uploaded file (inbox-relative path, what it is).
  static let refusedFileName = "refused_documents.csv"
  /// In every delivery folder that sent documents: what it sent, for `delivered_documents`.
  static let sentFileName = "documents.csv"
  static let sentHeader = ["Delivery", FieldName.submissionID, "Seq", "Path", FieldName.sha256]
  /// In deliver's folder: documents not sent because a delivery already sent the same SHA-256.
  static let alreadyDeliveredFileName = "documents_already_delivered.csv"
  static let alreadyDeliveredHeader = [
    FieldName.submissionID, "Seq", FieldName.docType, FieldName.sha256, "Delivered_In",
  ]

  /// Why `name` cannot be the name of one uploaded file inside a submission's folder, or nil.
  package static func nameProblem(_ name: String) -> String? { FileNames.problem(name) }

  /// A plain folder or file name (config values, submission ids used as folder names).
  package static func isPlainName(_ name: String) -> Bool { FileNames.isPlain(name) }

  /// Every file below `folder`, by relative path, sorted; links are not followed.
  static func files(below folder: String) throws -> [String] {
    var found: [String] = []
    func walk(_ relative: String) throws {
      let path = relative.isEmpty ? folder : folder + "/" + relative
      for name in try FileSystem.listDirectory(path) {
        let child = relative.isEmpty ? name : relative + "/" + name
        var info = stat()
        if lstat(folder + "/" + child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
          try walk(child)
        } else {
          found.append(child)
        }
      }
    }
    guard FileSystem.isDirectory(folder) else { return [] }
    try walk("")
    return found.sorted()
  }

  /// How a log line or a message names an inbox file: an uploaded document by its submission's
  /// folder only (its file name is the sender's), any other file by its name.
  package static func logName(_ name: String) -> String {
    name.contains("/")
      ? (name as NSString).deletingLastPathComponent + "/ (an uploaded document)" : name
  }

  /// The inbox name of a claimed file from its batch-relative path (`input/documents/S-1/a.pdf` → `documents/S-1/a.pdf`).
  package static func inboxName(ofInput path: String) -> String {
    path.hasPrefix("input/")
      ? String(path.dropFirst("input/".count)) : (path as NSString).lastPathComponent
  }

  /// One problem with a submission's documents, for parse's rejects.
  struct Problem {
    var submissionID: String
    var seq: Int?
    var field: String
    var value: String
    var reason: String
    var location: SourceLocation
  }

  /// What parse found in the uploaded documents.
  struct CheckResult {
    var problems: [Problem] = []
    /// Documents whose file is there with the listed SHA-256.
    var verified = 0
    /// Uploaded files in folders of submissions the export does not have.
    var withoutSubmission = 0
    /// Entries of the documents folder that were not uploaded files (links, FIFOs, stray files).
    var refused = 0
  }

  /// Checks each submission's documents against the files claimed into `input/<folder>/<id>/`.
  ///
  /// - Parameters:
  ///   - submissions: the submissions to check (selected, not already rejected).
  ///   - known: every submission id the export has (a folder of another id holds files of no submission).
  ///   - refused: the claim's `refused_documents.csv` rows (inbox-relative path, what it is).
  static func check(
    _ submissions: [Submission], known: Set<String>, input: String, folder: String,
    refused: [[String]]
  ) throws -> CheckResult {
    var result = CheckResult()
    result.refused = refused.count
    let root = input + "/" + folder
    var refusedByPath: [String: String] = [:]
    for row in refused where row.count >= 2 { refusedByPath[row[0]] = row[1] }
    let folders = FileSystem.isDirectory(root) ? try FileSystem.listDirectory(root) : []
    for id in folders where !known.contains(id) {
      result.withoutSubmission += try files(below: root + "/" + id).count
    }
    for submission in submissions {
      try checkSubmission(
        submission, input: input, folder: folder, refusedByPath: refusedByPath, into: &result)
    }
    return result
  }

  /// One submission's document rows against its uploaded folder: each row's file verified, then
  /// the uploads (and refused entries) no row names.
  static func checkSubmission(
    _ submission: Submission, input: String, folder: String, refusedByPath: [String: String],
    into result: inout CheckResult
  ) throws {
    let root = input + "/" + folder
    let relative = folder + "/" + submission.id
    let uploaded = Set(
      FileSystem.isDirectory(root + "/" + submission.id)
        ? try FileSystem.listDirectory(root + "/" + submission.id) : [])
    let refusedHere = refusedByPath.filter {
      ($0.key as NSString).deletingLastPathComponent == relative
    }
    func problem(
      _ seq: Int?, _ field: String, _ value: String, _ reason: String, _ location: SourceLocation
    ) {
      result.problems.append(
        Problem(
          submissionID: submission.id, seq: seq, field: field, value: value, reason: reason,
          location: location))
    }
    if !submission.documents.isEmpty || !uploaded.isEmpty, let why = nameProblem(submission.id) {
      problem(
        nil, FieldName.submissionID, submission.id,
        "the Submission_ID \(why), so it cannot name the folder of the submission's uploaded documents",
        submission.source)
      return
    }
    var named = Set<String>()
    for document in submission.documents {
      named.insert(document[FieldName.fileName])
      if let found = try documentProblem(
        document, input: input, relative: relative, uploaded: uploaded,
        refusedByPath: refusedByPath)
      {
        problem(document.seq, found.field, found.value, found.reason, document.source)
      } else {
        result.verified += 1
      }
    }
    for name in uploaded.sorted() where !named.contains(name) {
      problem(
        nil, FieldName.fileName, name,
        "extra file: \(relative)/\(name) was uploaded but no document row of the submission names it",
        SourceLocation(path: root + "/" + submission.id + "/" + name))
    }
    for (path, what) in refusedHere.sorted(by: { $0.key < $1.key })
    where !named.contains((path as NSString).lastPathComponent) {
      problem(
        nil, FieldName.fileName, (path as NSString).lastPathComponent,
        "extra entry: \(path) is \(what), not an uploaded file: never read or claimed",
        SourceLocation(path: root + "/" + submission.id))
    }
  }

  /// What is wrong with one document row's upload (field, value, reason), or nil when its file is
  /// there and has the SHA-256 the export lists.
  static func documentProblem(
    _ document: SubmissionPart, input: String, relative: String, uploaded: Set<String>,
    refusedByPath: [String: String]
  ) throws -> (field: String, value: String, reason: String)? {
    let name = document[FieldName.fileName]
    let expected = FieldRules.text(document[FieldName.sha256]).lowercased()
    if let why = nameProblem(name) {
      return (
        FieldName.fileName, name, "the document's File_Name \(why): refused, nothing was read"
      )
    }
    let path = relative + "/" + name
    if let what = refusedByPath[path] {
      return (
        FieldName.fileName, name, "the upload \(path) is \(what), not a file: never read or claimed"
      )
    }
    guard uploaded.contains(name) else {
      return (FieldName.fileName, name, "missing: no uploaded file \(path) came with the export")
    }
    // Without the export's SHA-256 the upload cannot be told from an altered or incomplete one.
    guard expected.utf8.count == 64,
      expected.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
    else {
      return (
        FieldName.sha256, document[FieldName.sha256],
        expected.isEmpty
          ? "the document's SHA256 is empty: the upload \(path) cannot be checked against the export"
          : "not a SHA-256 (64 hexadecimal digits): the upload \(path) cannot be checked against the export"
      )
    }
    let found = try SHA256.file(at: input + "/" + path).sha256
    guard found == expected else {
      return (
        FieldName.sha256, expected,
        "the uploaded file \(path) has SHA-256 \(found), not the one listed: an altered or incomplete upload"
      )
    }
    return nil
  }
}

/// Documents sent to the SIS, one row per SHA-256 (`delivered_documents` in state.sqlite): a file
/// the SIS has already received is never sent again, whichever submission or batch names it.
enum DeliveredDocuments {
  /// SHA-256 → the delivery that sent it, except `delivery` itself (a rerun of it sends the same again).
  static func sent(state: StateStore, except delivery: String) throws -> [String: String] {
    var sent: [String: String] = [:]
    for row in try state.database.rows(
      "SELECT sha256, delivery FROM delivered_documents WHERE delivery != ?", [.text(delivery)])
    {
      if let sha = row[0].string { sent[sha] = row[1].string ?? "" }
    }
    return sent
  }

  /// Records what a delivery folder's `documents.csv` lists (once; a rerun changes nothing).
  static func record(folder: String, state: StateStore) throws {
    let path = folder + "/" + DocumentFiles.sentFileName
    guard FileSystem.exists(path) else { return }
    let rows = try BatchLifecycle.readTable(path)
    // One time for the transaction, as Confirmation.record: Clock.now() makes a date formatter.
    let now = Clock.now()
    try state.database.inTransaction {
      let insert = try state.database.prepare(
        "INSERT OR IGNORE INTO delivered_documents(sha256, delivery, submission_id, seq, path, delivered_at) VALUES (?, ?, ?, ?, ?, ?)"
      )
      for row in rows where row.count >= 5 {
        try insert.bind([
          .text(row[4]), .text(row[0]), .text(row[1]), .integer(Int64(row[2]) ?? 0), .text(row[3]),
          .text(now),
        ])
        try insert.run()
      }
    }
  }
}
