import Foundation
import SISDrop
import SISDropCommands
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// Every command's `--json` is a contract: docs/status.schema.json defines each output (`$defs`,
/// named in `definitions` below), every key required and null when it has no value, states as
/// enums. The real commands run on the demo district, their outputs are validated, and no
/// command that takes --json is left without a definition.
@Suite(.serialized) struct CommandJSONSchemaTests {
  /// Which definition each command's --json follows.
  static let definitions: [String: String] = [
    "demo": "run_summary", "run": "run", "open": "open", "status": "status", "pending": "pending",
    "cancel": "manifest",
    "resolve": "resolution", "keep-sis": "field_answer",
    "accept": "field_answer", "withdraw": "withdrawn",
    "answers": "answers", "review": "review", "show": "show", "parse": "stage_report",
    "normalize": "stage_report",
    "match": "stage_report", "deliver": "stage_report", "close": "manifest",
    "correct": "corrections", "report": "report",
    "tardies": "tardies", "check": "check", "backup": "backup", "verify": "verify",
    "rebuild-state": "rebuild",
    "redeliver": "redelivery_request", "confirm": "hand_confirmation",
  ]

  let schema: JSONSchemaValidator
  init() throws {
    schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
  }

  @discardableResult
  func validated(_ result: ProcessResult, _ definition: String, _ what: String, exit: Int32 = 0)
    throws -> Any
  {
    #expect(result.status == exit, "\(what): exit \(result.status)\n\(result.stderr)")
    let value = try JSONSerialization.jsonObject(
      with: Data(result.stdout.utf8), options: [.fragmentsAllowed])
    let errors = schema.errors(value, against: definition)
    #expect(
      errors.isEmpty,
      "\(what) against $defs/\(definition): \(errors)\n\(result.stdout.prefix(3000))")
    return value
  }

  @Test func everyCommandThatTakesJSONHasADefinition() throws {
    let defs = try #require(schema.root["$defs"] as? [String: Any])
    for command in SISDropCommand.configuration.subcommands {
      let name = command.configuration.commandName ?? "?"
      #expect(command.helpMessage().contains("--json"), "\(name) has no --json")
      let definition = try #require(
        Self.definitions[name], "\(name): no definition named for its --json")
      #expect(defs[definition] != nil, "\(name): $defs/\(definition) is missing")
    }
  }

  @Test func everyCommandsJSONFollowsTheSchema() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let w = ["--workdir", workdir.root]
      let pipeline = try writeFile(
        root + "/p.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      func sisdrop(_ arguments: [String]) throws -> ProcessResult {
        try runTool("sisdrop", arguments + ["--json"])
      }

      try validated(try sisdrop(["check", "--pipeline", pipeline] + w), "check", "check")
      try validated(
        try sisdrop(["run", "--dry-run", "--pipeline", pipeline] + w), "dry_run", "run --dry-run")
      let opened = try validated(try sisdrop(["open", "--pipeline", pipeline] + w), "open", "open")
      let batch = try #require((opened as? [String: Any])?["batch"] as? String)
      for stage in ["parse", "normalize", "match", "deliver"] {
        try validated(try sisdrop([stage] + w), "stage_report", stage)
      }
      try validated(try sisdrop(["status"] + w), "status", "status, a batch open")
      try validated(try sisdrop(["pending"] + w), "pending", "pending")
      try validated(try sisdrop(["pending", "--vanished"] + w), "pending", "pending --vanished")
      let review = try validated(try sisdrop(["review"] + w), "review", "review")
      let items = try #require((review as? [String: Any])?["items"] as? [[String: Any]])
      func first(_ kind: String) throws -> [String: Any] {
        try #require(items.first { $0["kind"] as? String == kind }, "no \(kind) in \(items)")
      }
      let potential = try first("potential-match")
      let held = try first("held-update")
      #expect(items.contains { $0["kind"] as? String == "error" })
      let potentialID = try #require(potential["submission_id"] as? String)
      try validated(try sisdrop(["show", potentialID] + w), "show", "show, a potential match")
      let delivered = try #require(
        try csvRows(workdir.stageFolder(batch, .deliver) + "/delivered.csv").dropFirst().first?
          .first)
      try validated(try sisdrop(["show", delivered] + w), "show", "show, a delivered submission")

      // Answers, each kind, then the listing and a withdrawal; a re-delivery of what was resolved.
      try validated(
        try sisdrop(["resolve", potentialID, "--no-match"] + w), "resolution", "resolve")
      let redelivery = try validated(
        try sisdrop(["deliver", "--only", potentialID] + w), "redelivery", "deliver --only")
      #expect((redelivery as? [String: Any])?["delivered"] as? [String] == [potentialID])
      let heldID = try #require(held["submission_id"] as? String)
      let heldField = try #require((held["fields"] as? [String])?.first)
      try validated(try sisdrop(["keep-sis", heldID, heldField] + w), "field_answer", "keep-sis")
      try validated(try sisdrop(["withdraw", heldID, heldField] + w), "withdrawn", "withdraw")
      try validated(try sisdrop(["accept", heldID, heldField] + w), "field_answer", "accept")
      let schoolError = try #require(
        items.first { item in
          ((item["problems"] as? [[String: Any]]) ?? []).contains {
            $0["field"] as? String == "SchoolID"
          }
        }?["submission_id"] as? String, "no school to correct: \(items)")
      try validated(try sisdrop(["show", schoolError] + w), "show", "show, a submission in error")
      try validated(
        try sisdrop(["correct", schoolError, "SchoolID", "0101"] + w), "corrections", "correct")
      try validated(try sisdrop(["answers"] + w), "answers", "answers")

      // The answers count: deliver again (a re-delivery of what became deliverable), the report, close.
      try validated(try sisdrop(["deliver"] + w), "stage_report", "deliver, after answers")
      try validated(try sisdrop(["report"] + w), "report", "report")
      try validated(try sisdrop(["close"] + w), "manifest", "close")
      try validated(
        try sisdrop(
          [
            "tardies", "--file", Checkout.demoDistrict + "/raptor/tardies.csv", "--pipeline",
            pipeline,
          ] + w), "tardies", "tardies")
      try validated(
        try sisdrop(["tardies", "--if-present", "--pipeline", pipeline] + w), "tardies",
        "tardies, nothing to do")
      // A failure is a JSON object too (it printed nothing): a --file not there (66), and the
      // inbox's tardies.csv still open for writing (75).
      let missing = try validated(
        try sisdrop(["tardies", "--file", root + "/nonexist.csv", "--pipeline", pipeline] + w),
        "tardies", "tardies, a --file not there", exit: 66)
      #expect(
        (missing as? [String: Any])?["failed"] as? Bool == true
          && ((missing as? [String: Any])?["error"] as? String)?.contains("nonexist.csv") == true,
        "\(missing)")
      let inboxTardies = try writeFile(
        workdir.inbox(config) + "/tardies.csv",
        "Building,Student_Number,Occurred_At,Reason\n")
      let upload = try #require(FileHandle(forWritingAtPath: inboxTardies))
      let arriving = try validated(
        try sisdrop(["tardies", "--if-present", "--pipeline", pipeline] + w), "tardies",
        "tardies, still arriving", exit: 75)
      #expect((arriving as? [String: Any])?["exit_status"] as? Int == 75, "\(arriving)")
      try upload.close()
      try FileManager.default.removeItem(atPath: inboxTardies)

      // run: nothing to do, then a night that delivers (what was answered) and one that delivers nothing.
      try validated(try sisdrop(["run", "--pipeline", pipeline] + w), "run", "run, nothing to do")
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      let night = try validated(
        try sisdrop(["run", "--pipeline", Checkout.pipeline("demo")] + w), "run", "run, a night")
      #expect(((night as? [String: Any])?["summary"] as? [String: Any])?["closed"] as? Bool == true)
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      try validated(try sisdrop(["open", "--pipeline", pipeline] + w), "open", "open again")
      try validated(try sisdrop(["cancel"] + w), "manifest", "cancel")
      try validated(try sisdrop(["status"] + w), "status", "status, after nights")
      try validated(try sisdrop(["verify"] + w), "verify", "verify")
      try validated(try sisdrop(["backup", root + "/backup.sqlite"] + w), "backup", "backup")

      // A lost state database, rebuilt from the batch folders.
      try FileManager.default.removeItem(atPath: workdir.root + "/state.sqlite")
      for suffix in ["-wal", "-shm"] {
        try? FileManager.default.removeItem(atPath: workdir.root + "/state.sqlite" + suffix)
      }
      try validated(try sisdrop(["rebuild-state"] + w), "rebuild", "rebuild-state")

      // The demo, and the generator.
      try validated(try sisdrop(["demo", "--workdir", root + "/demo"]), "run_summary", "demo")
      try validated(
        try runTool(
          "sisdrop-gen",
          ["--students", "1000", "--submissions", "10", "--out", root + "/gen", "--json"]),
        "generate", "sisdrop-gen")
    }
  }
}
