import ArgumentParser
import Foundation
import SISDrop

/// A command that runs one stage of a batch: `sisdrop-parse`, `sisdrop-normalize`, ...
package protocol StageCommand: ParsableCommand {
  static var stage: Stage { get }
  var workDir: WorkDirOptions { get }
  var batch: String? { get }
}

extension StageCommand {
  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let report = try PipelineRunner.runStage(
        Self.stage, workdir: workdir, batchID: batch, log: logger(quiet: workDir.json))
      if workDir.json {
        try printJSON(report)
      } else {
        print(
          "\(Self.stage.rawValue): batch \(report.batch), attempt \(report.attempt), \(workdir.stageFolder(report.batch, Self.stage))"
        )
        for (key, value) in report.counts.sorted(by: { $0.key < $1.key }) {
          print("  \(key): \(value)")
        }
        for note in report.notes { print("  note: \(note)") }
      }
    }
  }
}

private let stageDiscussion = """
  Reads the batch's previous stage folder (and the state database), writes its own folder under \
  batches/<id>/ through a temporary folder and one rename. Rerunning keeps the earlier attempt as \
  NN-stage.attempt-K/ and makes later stages stale. Exit codes: 0 done, 65 bad input data, \
  66 missing input (an earlier stage has not run), 73 cannot write, 75 busy, 78 configuration.
  """

package struct ParseCommand: StageCommand {
  package static let configuration = CommandConfiguration(
    commandName: "parse",
    abstract: "Read the batch's enrollment export into submissions; reject malformed records.",
    discussion: stageDiscussion)
  package static let stage = Stage.parse
  @OptionGroup package var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch).") package var batch: String?
  package init() {}
}

package struct NormalizeCommand: StageCommand {
  package static let configuration = CommandConfiguration(
    commandName: "normalize",
    abstract: "Load the SIS snapshot and normalize names, dates, phones, grades and schools.",
    discussion: stageDiscussion)
  package static let stage = Stage.normalize
  @OptionGroup package var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch).") package var batch: String?
  package init() {}
}

package struct MatchCommand: StageCommand {
  package static let configuration = CommandConfiguration(
    commandName: "match",
    abstract: "Match each submission's students and contacts against the SIS snapshot.",
    discussion: stageDiscussion)
  package static let stage = Stage.match
  @OptionGroup package var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch).") package var batch: String?
  package init() {}
}

package struct DeliverCommand: StageCommand {
  package static let configuration = CommandConfiguration(
    commandName: "deliver",
    abstract: "Write the SIS import files, hold back potential matches, publish to the outbox.",
    discussion: stageDiscussion + """

      --only IDS re-delivers just those submissions of the open batch after `sisdrop correct`: a \
      delivery of its own, batches/<id>/redeliveries/rK/, published as <batch>-rK_* with its own \
      <batch>-rK.ready, so nothing already in the outbox is overwritten. Once the batch is \
      published, a plain rerun reproduces the published files and sends what has become \
      deliverable since (resolved, corrected) as the next rK. Answer files in the inbox \
      (resolutions, overrides, accepts, corrections) are taken first, as `sisdrop run` takes them; a \
      bad one is refused whole and moved to archive/answers/refused/, named in the log; the delivery goes on.
      """)
  package static let stage = Stage.deliver
  @OptionGroup package var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch).") package var batch: String?
  @Option(help: "Re-deliver only these submission ids (comma-separated) of the open batch.") package
    var only: String?
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let record = try workdir.batch(batch)
      let answers = try AnswerFeed.take(
        workdir: workdir, config: try workdir.config(for: record), log: logger())
      if answers.touchesOpenBatch, record.state == .open {
        // Answers about this batch's submissions count for this delivery: its match is redone first.
        try PipelineRunner.runStage(
          .match, workdir: workdir, batchID: record.id, log: logger(quiet: workDir.json))
      }
      guard let only else {
        let report = try PipelineRunner.runStage(
          Self.stage, workdir: workdir, batchID: batch, log: logger(quiet: workDir.json))
        if workDir.json {
          try printJSON(report)
        } else {
          print(
            "deliver: batch \(report.batch), attempt \(report.attempt), \(workdir.stageFolder(report.batch, Self.stage))"
          )
          for (key, value) in report.counts.sorted(by: { $0.key < $1.key }) {
            print("  \(key): \(value)")
          }
          for note in report.notes { print("  note: \(note)") }
        }
        return
      }
      let ids = only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
        !$0.isEmpty
      }
      let result = try Redelivery.run(
        workdir: workdir, batch: record, ids: ids, log: logger(quiet: workDir.json))
      if workDir.json {
        try printJSON(result)
      } else {
        print(
          "re-delivery \(result.id): \(result.delivered.count) delivered (\(result.delivered.joined(separator: ", "))), \(result.folder)"
        )
        if !result.errors.isEmpty { print("  still in error: \(result.folder)/errors.csv") }
      }
    }
  }
}

package struct CloseCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "close",
    abstract:
      "Seal the batch's manifest.json; delivered records become delivered, the rest pending.",
    discussion:
      "Refuses (65) while any stage is missing, stale or failed, or the outbox does not hold what deliver published. A deliver stage that is stale only because match ran again after publication (a `sisdrop resolve`) is accepted while the outbox holds the published files unchanged; a re-delivery left unpublished is published first."
  )
  @OptionGroup package var workDir: WorkDirOptions
  @Option(help: "The batch (default: the open batch).") package var batch: String?
  package init() {}

  package func run() throws {
    try withLockedWorkDir(workDir.path) { workdir in
      let result = try BatchLifecycle.close(workdir: workdir, batch: try workdir.batch(batch))
      if workDir.json {
        try printJSON(result.manifest)
      } else {
        print(
          "closed batch \(result.manifest.batch): \(result.manifest.delivered.count) delivered, \(result.manifest.returnedToPending.count) back to pending"
        )
        print("manifest: \(result.path)")
      }
    }
  }
}
