import ArgumentParser
import Foundation
import SISDrop
import SISDropCore
import SISDropDelivery
import SISDropStore

private let answersDiscussion = """
  Answers belong to the submission, not to a batch: they are taken at any time for a submission that is \
  pending (held for review, in error, or waiting), with or without an open batch, with `batch.auto_close` \
  true or false. Each is stored in state.sqlite with who and when, bound to the submission version it \
  answers (its content hash) and to the student or contact; the next `sisdrop run` that sees that version \
  applies it (in the open batch, as a re-delivery once the batch is published, or in the next batch).
  When the form changes, the answer is stale: reported, never applied, and the record waits again.
  The same answers can be dropped in the inbox as files, taken at the start of every `sisdrop run`:
    resolutions.csv Submission_ID,Student_Seq,SIS_ID[,Contact_Seq][,Resolved_By]
                    (SIS_ID: the SIS Student_Number, or NO-MATCH; a potential
                    contact: Contact_Seq filled, Student_Seq blank, SIS_ID the
                    Contact_ID or NO-MATCH)
    overrides.csv   Submission_ID,Field[,Schema,Seq,Resolved_By] (keep-sis)
    accepts.csv     Submission_ID,Field[,Schema,Seq,Resolved_By] (accept)
    corrections.csv Submission_ID,Schema,Seq,Field,Value[,Resolved_By]
  keep-sis and accept name a field the record's update carries (one that differs from the SIS, held or \
  kept); a field the form has as the SIS does, or a new child's, has nothing to answer (65).
  A file with a short or long row, a blank answer or an unknown submission is refused whole (nothing is \
  taken from it), named with its line in the log, and moved to archive/answers/refused/ with its \
  problems beside it (<file>.problems.txt); the run notifies it and `sisdrop status` shows it.
  `sisdrop answers` lists the answers; `sisdrop withdraw` takes one back; `sisdrop review` lists what waits.
  Exit codes: 0 recorded, 64 usage, 65 not a candidate, not pending, no such record or nothing to answer, \
  66 unknown submission, 75 busy.
  """

private func actor(_ by: String?) -> String {
  by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
}

/// After an answer: rerun the open batch's match at once when the submission is in it (so that
/// 30-match/ shows the answer), and say what happens next.
private func afterAnswer(_ workdir: WorkDir, _ target: Resolver.Target, quiet: Bool) throws
  -> String
{
  guard target.inOpenBatch else {
    return
      "it applies at the next `sisdrop run` that brings this submission (last seen in batch \(target.batch))"
  }
  let report = try PipelineRunner.runStage(
    .match, workdir: workdir, batchID: target.batch, log: logger(quiet: quiet))
  return "match rerun: \(workdir.stageFolder(report.batch, .match)); `sisdrop run` delivers it"
}

/// `sisdrop resolve`: a person's Match or No Match for a potential match.
package struct ResolveCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "resolve",
    abstract:
      "Resolve a potential match: --match SIS_ID (one of its candidates) or --no-match; a contact's with --contact N.",
    discussion: answersDiscussion)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Option(
    help:
      "The SIS Student_Number to match (one of the candidates); with --contact, the SIS Contact_ID."
  ) var match: String?
  @Flag(
    help:
      "No SIS student (or, with --contact, no SIS contact) is this person: a new record will be created."
  ) var noMatch = false
  @Option(help: "The student within the submission (default: its only potential match).")
  var student: Int?
  @Option(
    help:
      "The contact (its Contact_Seq) whose potential match this answers, instead of a student's.")
  var contact: Int?
  @Option(help: "Who decided (default: $USER).") var by: String?
  package init() {}

  package func validate() throws {
    guard (match != nil) != noMatch else {
      throw ValidationError("give exactly one of '--match SIS_ID' and '--no-match'")
    }
    if student != nil && contact != nil {
      throw ValidationError("give '--student N' or '--contact N', not both")
    }
  }

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      var (resolution, target) =
        try contact != nil
        ? Resolver.contactResolution(
          workdir: workdir, submission: submission, contact: contact, contactID: match,
          by: actor(by))
        : Resolver.resolution(
          workdir: workdir, submission: submission, student: student, sisID: match, by: actor(by))
      resolution.replaces = try workdir.state.record(resolution)?.summary
      let next = try afterAnswer(workdir, target, quiet: workDir.json)
      if workDir.json {
        try printJSON(resolution)
      } else {
        print(
          "\(resolution.submissionID) \(resolution.isContact ? "contact" : "student") \(resolution.studentSeq): \(resolution.sisID.map { "Match to \($0)" } ?? "No Match")"
            + " (by \(resolution.resolvedBy))"
            + (resolution.replaces.map { ", replacing the earlier answer \($0)" } ?? "")
            + "; \(next)")
      }
    }
  }
}

/// The options of a field answer (keep-sis, accept).
struct FieldAnswerOptions: ParsableArguments {
  @Argument(help: "The submission id.") var submission: String
  @Argument(help: "The field (e.g. First_Name, DOB, Home_Phone, Street).") var field: String
  @Option(
    help: "The student within the submission (default: the one whose update differs in this field)."
  ) var student: Int?
  @Option(help: "The contact (its Contact_Seq), for a contact's field.") var contact: Int?
  @Option(help: "Who decided (default: $USER).") var by: String?

  func validate() throws {
    if student != nil && contact != nil {
      throw ValidationError("give '--student N' or '--contact N', not both")
    }
  }

  func record(_ choice: FieldAnswer.Choice, json: Bool, workdir: WorkDir) throws {
    let schema = contact == nil ? "student" : "contact"
    let (answer, target) = try Resolver.fieldAnswer(
      workdir: workdir, submission: submission, schema: schema, seq: contact ?? student,
      field: field, choice: choice, by: actor(by))
    let replaced = try workdir.state.record(answer)
    let next = try afterAnswer(workdir, target, quiet: json)
    if json {
      try printJSON(answer)
    } else {
      let what = choice == .keepSIS ? "keep the SIS value of" : "write the form's value of"
      print(
        "\(answer.submissionID) \(answer.schema) \(answer.seq): \(what) \(answer.field) (by \(answer.answeredBy))"
          + (replaced.map { ", replacing the earlier answer \($0.choice.rawValue)" } ?? "")
          + "; \(next)")
    }
  }
}

/// `sisdrop keep-sis`: keep the SIS value of one field (the seed's green arrow).
package struct KeepSISCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "keep-sis",
    abstract: "Keep the SIS value of a field: the update for this submission leaves it out.",
    discussion: answersDiscussion)
  @OptionGroup var workDir: WorkDirOptions
  @OptionGroup var answer: FieldAnswerOptions
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) {
      try answer.record(.keepSIS, json: workDir.json, workdir: $0)
    }
  }
}

/// `sisdrop accept`: the form's value wins for a field held for review.
package struct AcceptCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "accept",
    abstract: "Accept the form's value of a field held for review: the update writes it.",
    discussion: answersDiscussion)
  @OptionGroup var workDir: WorkDirOptions
  @OptionGroup var answer: FieldAnswerOptions
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) {
      try answer.record(.accept, json: workDir.json, workdir: $0)
    }
  }
}

/// `sisdrop withdraw`: takes an answer back.
package struct WithdrawCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "withdraw",
    abstract: "Take back an answer: a resolution, a keep-sis or accept, or a correction.",
    discussion: """
      `sisdrop withdraw S-1 --student 1` takes back a Match / No Match (`--contact 1` a contact's); `sisdrop withdraw S-1 First_Name` \
      a keep-sis or accept; `sisdrop withdraw S-1 Grade_Level --correction` a corrected value. The record \
      waits for a person again at the next run. Exit codes: 0 withdrawn, 65 nothing to withdraw, 75 busy.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "The submission id.") var submission: String
  @Argument(help: "The field of a keep-sis, accept or correction (none: the resolution).")
  var field: String?
  @Option(help: "The student within the submission.") var student: Int?
  @Option(help: "The contact (its Contact_Seq).") var contact: Int?
  @Flag(help: "Withdraw a correction of FIELD.") var correction = false
  @Option(help: "Who withdrew it (default: $USER).") var by: String?
  package init() {}

  package func validate() throws {
    if student != nil && contact != nil {
      throw ValidationError("give '--student N' or '--contact N', not both")
    }
    if correction && field == nil {
      throw ValidationError("--correction needs the FIELD corrected")
    }
  }

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let removed = try workdir.state.withdrawAnswers(
        submission: submission, schema: contact == nil ? "student" : "contact",
        seq: contact ?? student, field: field,
        correction: correction, by: actor(by))
      guard removed > 0 else {
        throw SISDropError(
          .dataError, "no such answer for submission \(submission)",
          hint: "`sisdrop answers` lists them")
      }
      if workDir.json {
        try printJSON(["withdrawn": removed])
      } else {
        print(
          "\(submission): \(removed) answer\(removed == 1 ? "" : "s") withdrawn; the record waits for a person again at the next `sisdrop run`"
        )
      }
    }
  }
}

/// `sisdrop answers`: every answer on record.
package struct AnswersCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "answers",
    abstract: "List the answers on record: resolutions, keep-sis, accept and corrections.")
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "One submission only.") var submission: String?
  package init() {}

  struct Listing: Codable {
    var schemaVersion = 1
    var resolutions: [Resolution]
    var fieldAnswers: [FieldAnswer]
    var corrections: [Correction]
  }

  package func run() throws {
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      func mine(_ id: String) -> Bool { submission == nil || submission == id }
      let listing = Listing(
        resolutions: try (workdir.state.resolutions() + workdir.state.contactResolutions()).filter {
          mine($0.submissionID)
        },
        fieldAnswers: try workdir.state.fieldAnswers().filter { mine($0.submissionID) },
        corrections: try workdir.state.corrections().filter { mine($0.submissionID) })
      if workDir.json { return try printJSON(listing) }
      if listing.resolutions.isEmpty && listing.fieldAnswers.isEmpty && listing.corrections.isEmpty
      {
        return print("no answers on record")
      }
      for r in listing.resolutions {
        print(
          "\(r.submissionID) \(r.isContact ? "contact" : "student") \(r.studentSeq): \(r.sisID.map { "Match to \($0)" } ?? "No Match") — by \(r.resolvedBy) at \(r.resolvedAt) (\(r.source))"
        )
      }
      for a in listing.fieldAnswers {
        print(
          "\(a.submissionID) \(a.schema) \(a.seq): \(a.choice.rawValue) \(a.field) — by \(a.answeredBy) at \(a.answeredAt) (\(a.source))"
        )
      }
      for c in listing.corrections {
        print(
          "\(c.submissionID) \(c.schema) \(c.seq): correct \(c.field) — at \(c.createdAt) (\(c.source))"
        )
      }
    }
  }
}
