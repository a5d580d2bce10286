import Foundation
import SISDrop
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// `--json` is a contract: docs/status.schema.json (schema_version 1) says every key, its type and
/// its values, null included; the outputs are checked against it in the states that matter.
@Suite(.serialized) struct StatusSchemaTests {
  let schema: JSONSchemaValidator

  init() throws {
    schema = try JSONSchemaValidator(path: Checkout.root + "/docs/status.schema.json")
  }

  func validated(_ result: ProcessResult, _ definition: String, _ comment: String) throws
    -> [String: Any]
  {
    let errors = schema.errors(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)), against: definition)
    #expect(errors.isEmpty, "\(comment): \(errors)\n\(result.stdout)")
    return try #require(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
  }

  @Test func theValidatorFindsWhatBreaksTheSchema() throws {
    let stage = "{\"state\": \"done\", \"detail\": null}"
    let batch =
      "{\"batch\": \"b\", \"state\": \"open\", \"selection\": \"all\", \"opened_at\": \"t\", \"closed_at\": null, \"stages\": {\"parse\": \(stage), \"normalize\": \(stage), \"match\": \(stage), \"deliver\": \(stage)}, \"rejected\": {\"normalize.sis_rejected_rows\": 2}}"
    let good =
      "{\"schema_version\": 1, \"time_zone\": \"UTC\", \"integration\": null, \"changes\": [], \"batches\": [\(batch)], \"batches_total\": 1, \"filter\": \"all\", \"waiting\": {\"submissions\": 3, \"potential_matches\": 1, \"updates_to_review\": 1, \"in_error\": 1, \"oldest_nights\": 2}, \"confirmation\": {\"delivered\": 1, \"confirmed\": 2, \"unconfirmed\": 1, \"unconfirmed_submissions\": 1, \"redelivery_requested\": 0, \"items\": [{\"submission_id\": \"S-1\", \"record\": \"student 1 (new)\", \"batch\": \"b\", \"delivery\": \"b\", \"missing\": null, \"import_status\": \"failed\", \"import_message\": \"\", \"deliveries\": 1}]}, \"tardy_feed\": {\"last_checked_at\": \"t\", \"waiting_for\": null, \"waiting_since\": null, \"last_run\": {\"at\": \"t\", \"outcome\": \"failed\", \"exit_status\": 66, \"run\": null, \"folder\": null, \"delivered\": 0, \"duplicates\": 0, \"errors\": 0, \"another_code\": 0, \"error\": \"file not found\"}}}"
    #expect(
      schema.errors(try JSONSerialization.jsonObject(with: Data(good.utf8)), against: "status")
        .isEmpty)
    for (bad, why) in [
      (good.replacingOccurrences(of: "\"closed_at\": null, ", with: ""), "missing key 'closed_at'"),
      (
        good.replacingOccurrences(of: "\"state\": \"done\"", with: "\"state\": \"ok\""),
        "is not one of"
      ),
      (
        good.replacingOccurrences(of: "\"schema_version\": 1", with: "\"schema_version\": 2"),
        "expected 1"
      ),
      (
        good.replacingOccurrences(of: "\"batches_total\": 1", with: "\"batches_total\": true"),
        "expected integer"
      ),
      (
        good.replacingOccurrences(
          of: "\"filter\": \"all\"", with: "\"filter\": \"all\", \"extra\": 1"),
        "unexpected key 'extra'"
      ),
      (
        good.replacingOccurrences(of: "sis_rejected_rows\": 2", with: "sis_rejected_rows\": \"2\""),
        "expected integer"
      ),
    ] {
      let errors = schema.errors(
        try JSONSerialization.jsonObject(with: Data(bad.utf8)), against: "status")
      #expect(errors.contains { $0.contains(why) }, "\(why): \(errors)")
    }
  }

  @Test func statusAndCheckFollowTheSchemaAndStatusFilters() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try writeFile(
        root + "/p.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      _ = try validated(
        try runTool(
          "sisdrop", ["check", "--json", "--pipeline", pipeline, "--workdir", workdir.root]),
        "check", "check, good")
      let broken = try writeFile(
        root + "/broken.yaml", try demoPipelineText([("auto_close: true", "auto_close: maybe")]))
      _ = try validated(
        try runTool(
          "sisdrop", ["check", "--json", "--pipeline", broken, "--workdir", workdir.root]), "check",
        "check, broken")

      // Three batches opened and cancelled, then one open.
      for _ in 0..<3 {
        try Demo.stage(
          fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
        #expect(
          try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root]).status
            == 0)
        #expect(try runTool("sisdrop", ["cancel", "--workdir", workdir.root]).status == 0)
      }
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root]).status
          == 0)
      let all = try validated(
        try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root]), "status", "status")
      #expect(all["batches_total"] as? Int == 4 && (all["batches"] as? [Any])?.count == 4)
      let integration = try #require(all["integration"] as? [String: Any])
      #expect(
        integration["retry_at"] is NSNull && integration["warning"] is NSNull,
        "null, not missing: \(integration)")
      let limited = try validated(
        try runTool("sisdrop", ["status", "--json", "--limit", "2", "--workdir", workdir.root]),
        "status", "limit")
      #expect(limited["batches_total"] as? Int == 4 && (limited["batches"] as? [Any])?.count == 2)
      let open = try validated(
        try runTool("sisdrop", ["status", "--json", "--open", "--workdir", workdir.root]), "status",
        "open")
      let openBatches = try #require(open["batches"] as? [[String: Any]])
      #expect(openBatches.count == 1 && openBatches[0]["state"] as? String == "open")
      let stages = try #require(openBatches[0]["stages"] as? [String: [String: Any]])
      #expect(
        stages["deliver"]?["state"] as? String == "done" && stages["deliver"]?["detail"] is NSNull)
      let failed = try validated(
        try runTool("sisdrop", ["status", "--json", "--failed", "--workdir", workdir.root]),
        "status", "failed")
      #expect(
        (failed["batches"] as? [[String: Any]])?.map { $0["state"] as? String } == [
          "cancelled", "cancelled", "cancelled",
        ])
      let text = try runTool("sisdrop", ["status", "--limit", "2", "--workdir", workdir.root])
        .stdout
      #expect(text.contains("the last 2 of 4 batches (--limit 0 shows all):"), "\(text)")
      // Local time beside UTC, in the district's zone.
      #expect(
        text.range(
          of: #"integration: Synchronizing since \S+Z \(\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T\)"#,
          options: .regularExpression) != nil, "\(text)")

      // A failed run: the status after it follows the schema too.
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", broken, "--workdir", workdir.root]).status
          == 78)
      let afterFailure = try validated(
        try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root]), "status",
        "after a failure")
      #expect(
        (afterFailure["integration"] as? [String: Any])?["last_run_result"] as? String == "failed")
    }
  }
}
