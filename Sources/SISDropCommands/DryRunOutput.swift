import ArgumentParser
import Foundation
import SISDrop
import SISDropConfig
import SISDropCore

extension RunCommand {
  /// `sisdrop run --dry-run`: the plan of a run, made on a throwaway copy (DryRun).
  func printDryRun() throws {
    let plan = try guarded {
      let config = try PipelineConfig.load(path: pipeline)
      return try DryRun.plan(
        workdir: FileSystem.absolute(workDir.path(for: config)), pipelinePath: pipeline,
        log: logger(quiet: true))
    }
    if workDir.json { return try printJSON(plan) }
    print("dry run: nothing was changed (the stages ran on a temporary copy, now deleted)")
    guard let summary = plan.summary else {
      print("a run now would do nothing: \(plan.nothing ?? "nothing new")")
      return
    }
    let c = summary.counts
    if let claimed = plan.claimed {
      print("would claim \(claimed.count) inbox files: \(claimed.joined(separator: ", "))")
      if plan.claimedDocuments > 0 {
        print("would claim \(plan.claimedDocuments) uploaded documents with the submissions feed")
      }
      print("would open batch \(summary.batch)")
    } else {
      print("would continue open batch \(summary.batch) (nothing claimed)")
    }
    print(
      "would select \(c["parse.selected"] ?? 0) of \(c["parse.submissions_in_export"] ?? 0) submissions in the export"
        + "; already delivered: \(c["normalize.already_delivered"] ?? 0)")
    print(
      "students: \(c["match.students_matched"] ?? 0) matched, \(c["match.students_potential"] ?? 0) potential, \(c["match.students_new"] ?? 0) new"
    )
    // A count is followed by a colon only when something is listed under it.
    let delivered = c["deliver.delivered_submissions"] ?? 0
    if delivered == 0 && plan.deliveryFiles.isEmpty {
      print(
        "would deliver nothing: no submission is ready (each is already delivered, held for a person or in error); nothing would be written to the outbox"
      )
    } else {
      print("would deliver \(delivered) submission\(delivered == 1 ? "" : "s"):")
    }
    for (name, rows) in plan.deliveryFiles.sorted(by: { $0.key < $1.key }) {
      print("  \(name): \(rows) rows")
    }
    if let files = c["deliver.document_files"], files > 0 { print("  document files: \(files)") }
    let held = Set(plan.held.map { $0[0] }).count
    print(
      held == 0
        ? "would hold no submission for a person's decision"
        : "would hold \(held) submission\(held == 1 ? "" : "s") for a person's decision:")
    for row in plan.held.prefix(20) {
      print("  \(row[0]) \(row[1]) \(row[2])\(row[3].isEmpty ? "" : ": \(row[3])")")
    }
    if plan.held.count > 20 { print("  ... and \(plan.held.count - 20) more") }
    print("in error (errors.csv): \(c["deliver.error_submissions"] ?? 0) submissions")
    print(
      plan.updates.isEmpty
        ? "updates would overwrite no SIS field"
        : "updates would overwrite these SIS fields (\(plan.updates.count) record\(plan.updates.count == 1 ? "" : "s")):"
    )
    for update in plan.updates.prefix(50) {
      print(
        "  \(update.submission) \(update.schema)\(update.seq.isEmpty ? "" : " \(update.seq)") → SIS \(update.sisID): \(update.fields.joined(separator: ", "))"
      )
    }
    if plan.updates.count > 50 {
      print("  ... and \(plan.updates.count - 50) more (--json lists all)")
    }
    print(
      summary.closed
        ? "would close the batch (batch.auto_close)"
        : "would leave the batch open (batch.auto_close is false)")
  }
}
