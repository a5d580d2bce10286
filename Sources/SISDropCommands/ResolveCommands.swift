import ArgumentParser
import Foundation
import SISDrop

private let resolveDiscussion = """
  Applies to the open batch (keep it open for review: `batch: auto_close: false`). The answer is stored in
  state.sqlite with who and when, and the match stage is rerun at once so that 30-match/ shows it; then run
  `sisdrop deliver` (or `sisdrop run`). The same answers can be dropped in the inbox as resolutions.csv
  (header Submission_ID,Student_Seq,SIS_ID and optional Resolved_By; SIS_ID is the SIS Student_Number for
  Match or NO-MATCH for No Match, a blank cell is refused) and overrides.csv (Submission_ID,Field and
  optional Resolved_By). The match stage records them when it is rerun and moves the file to the archive
  (archive/resolutions/), so it is read once; a header with a missing or unknown column leaves the whole
  file unread in the inbox, named with what to fix. A later answer for the same student replaces an
  earlier one and says so. An answer holds for the submission version it was given for: when the form
  changes, the student goes back to review with the reason "resolve again".
  Exit codes: 0 done, 64 usage, 65 not a candidate or not in the open batch, 66 no open batch, 75 busy.
  """

/// `sisdrop resolve`: a person's Match or No Match for a potential match.
public struct ResolveCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "resolve", abstract: "Resolve a potential match: --match SIS_ID (one of its candidates) or --no-match.",
    discussion: resolveDiscussion)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Option(help: "The SIS Student_Number to match (one of the candidates).") var match: String?
  @Flag(help: "No SIS student is this child: a new record will be created.") var noMatch = false
  @Option(help: "The student within the submission (default: its only potential match).") var student: Int?
  @Option(help: "Who decided (default: $USER).") var by: String?
  public init() {}

  public func validate() throws {
    guard (match != nil) != noMatch else { throw ValidationError("give exactly one of '--match SIS_ID' and '--no-match'") }
  }

  public func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let resolution = try Resolver.resolve(workdir: workdir, submission: submission, student: student, sisID: match,
                                            by: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator")
      let report = try PipelineRunner.runStage(.match, workdir: workdir, batchID: nil, log: logger(quiet: workDir.json))
      if workDir.json { try printJSON(resolution) } else {
        print("\(resolution.submissionID) student \(resolution.studentSeq): \(resolution.sisID.map { "Match to \($0)" } ?? "No Match")"
          + " (by \(resolution.resolvedBy))" + (resolution.replaces.map { ", replacing the earlier answer \($0)" } ?? "") + "; match rerun: \(workdir.stageFolder(report.batch, .match)); now run `sisdrop deliver`")
      }
    }
  }
}

/// `sisdrop keep-sis`: keep the SIS value of one field (the seed's green arrow).
public struct KeepSISCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "keep-sis", abstract: "Keep the SIS value of a field: the update for this submission leaves it out.",
    discussion: resolveDiscussion)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Argument(help: "The student field (e.g. Home_Phone, Street).") var field: String
  @Option(help: "Who decided (default: $USER).") var by: String?
  public init() {}

  public func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let override = try Resolver.keepSIS(workdir: workdir, submission: submission, field: field,
                                          by: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator")
      let report = try PipelineRunner.runStage(.match, workdir: workdir, batchID: nil, log: logger(quiet: workDir.json))
      if workDir.json { try printJSON(override) } else {
        print("\(override.submissionID): keep the SIS \(override.field) (by \(override.resolvedBy)); match rerun: "
          + "\(workdir.stageFolder(report.batch, .match)); now run `sisdrop deliver`")
      }
    }
  }
}
