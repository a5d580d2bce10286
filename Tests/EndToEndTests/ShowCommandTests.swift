import Foundation
import SISDrop
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

/// `sisdrop show` through the built binary, on the demo district.
@Suite struct ShowCommandTests {
  @Test func showNamesTheRuleThatMadeAStudentNewAsTheReportDoes() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      // The SIS import does not create students here: the new ones stay pending, so `show` has their decisions.
      let pipeline = try writeFile(
        root + "/pipeline.yaml",
        try demoPipelineText([("  profile: csv\n", "  profile: csv\n  create: {students: false}\n")]
        ))
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let result = try runTool("sisdrop", ["show", "S-2026-0053", "--workdir", workdir.root])
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("student 1: new"), "\(result.stdout)")
      // The twin of an SIS student: the clause that fired, not the matcher's three alternatives.
      let rule = try #require(
        result.stdout.split(separator: "\n").first { $0.contains("is another child:") },
        "\(result.stdout)")
      #expect(
        rule.hasSuffix(
          "is another child: a twin with another given name (same birth date and family)"),
        "\(rule)")
      #expect(!result.stdout.contains("; or "), "\(result.stdout)")
      // One source of truth: the report says the same words.
      let html = try readText(workdir.batchFolder(summary.batch) + "/report.html")
      #expect(html.contains(String(rule.drop { $0 == " " || $0 == "·" })))
    }
  }
}
