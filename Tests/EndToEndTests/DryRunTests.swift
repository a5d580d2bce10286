import Foundation
import SISDrop
import SISDropCore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Every entry below a folder (the folder itself included): type and mode, size, modification
/// time to the nanosecond, and a file's bytes.
func treeState(_ root: String) throws -> [String: String] {
  var result: [String: String] = [:]
  func visit(_ path: String, _ relative: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    var entry =
      "mode \(String(info.st_mode, radix: 8)) size \(info.st_size) mtime \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    if (info.st_mode & S_IFMT) == S_IFREG { entry += " sha256 \(try SHA256.file(at: path).sha256)" }
    result[relative] = entry
    if (info.st_mode & S_IFMT) == S_IFDIR {
      for name in try FileManager.default.contentsOfDirectory(atPath: path) {
        try visit(path + "/" + name, relative + "/" + name)
      }
    }
  }
  try visit(root, ".")
  return result
}

@Suite struct DryRunTests {
  /// `run --dry-run` says what the run will do, and changes nothing: the working directory, its
  /// inbox and outbox are the same trees afterwards, byte for byte, modes and times included.
  @Test func aDryRunChangesNothingAndForetellsTheRun() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try writeFile(root + "/demo.yaml", try demoPipelineText())
      let before = try treeState(workdir.root)
      #expect(
        before.keys.contains("./inbox/submissions.csv") && before.keys.contains("./state.sqlite"))
      let dry = try runTool(
        "sisdrop", ["run", "--dry-run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(dry.status == 0, "\(dry.stderr)")
      #expect(try treeState(workdir.root) == before)
      let json = try runTool(
        "sisdrop",
        ["run", "--dry-run", "--json", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(json.status == 0, "\(json.stderr)")
      #expect(try treeState(workdir.root) == before)

      let expected = try DemoExpectation.load()
      let lines = dry.stdout.split(separator: "\n").map(String.init)
      #expect(
        lines.contains(
          "would claim 7 inbox files: attendance_codes.csv, contacts.csv, schools.csv, students.csv, submission_contacts.csv, submission_documents.csv, submissions.csv"
        ),
        "\(dry.stdout)")
      #expect(
        lines.contains("would deliver \(expected.submissions("delivered")) submissions:"),
        "\(dry.stdout)")
      let held = expected.delivery.filter { $0.value == "held" }.keys.sorted()
      #expect(
        lines.contains("would hold \(held.count) submissions for a person's decision:"),
        "\(dry.stdout)")
      for id in held {
        #expect(lines.contains { $0.hasPrefix("  \(id) student 1") }, "\(dry.stdout)")
      }
      // A returning child whose address changed: the update names the fields it overwrites.
      #expect(
        lines.contains {
          $0.hasPrefix("  S-2026-0012 student → SIS ")
            && $0.hasSuffix(": Street, City, Zip, Home_Phone")
        }, "\(dry.stdout)")

      // The real run does what the dry run said.
      let plan = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let planned = try #require((plan["summary"] as? [String: Any])?["counts"] as? [String: Int])
      let run = try runTool(
        "sisdrop", ["run", "--json", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 0, "\(run.stderr)")
      let output = try #require(
        try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
      let counts = try #require((output["summary"] as? [String: Any])?["counts"] as? [String: Int])
      for key in [
        "parse.selected", "match.students_matched", "match.students_potential",
        "match.students_new",
        "deliver.delivered_submissions", "deliver.held_submissions", "deliver.error_submissions",
      ] {
        #expect(planned[key] == counts[key], "\(key)")
      }
      // Nothing new since: the dry run says so, and still changes nothing.
      let after = try treeState(workdir.root)
      let idle = try runTool(
        "sisdrop", ["run", "--dry-run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(
        idle.status == 0
          && idle.stdout.contains("a run now would do nothing: nothing new in the inbox"),
        "\(idle.stdout)\(idle.stderr)")
      #expect(try treeState(workdir.root) == after)
    }
  }

  /// The next night of the shipped demo pipeline, before anyone answered: the export comes again
  /// and a run would deliver nothing. The dry run says so in words (no count followed by a colon and
  /// nothing under it), and its JSON says the same: no delivery file, no update.
  @Test func aDryRunThatWouldDeliverNothingSaysSo() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      try ReviewLoopTests.uploadExport(workdir, config)
      let arguments = ["run", "--dry-run", "--pipeline", pipeline, "--workdir", workdir.root]
      let dry = try runTool("sisdrop", arguments)
      #expect(dry.status == 0, "\(dry.stderr)")
      let lines = dry.stdout.split(separator: "\n").map(String.init)
      #expect(
        lines.contains(
          "would deliver nothing: no submission is ready (each is already delivered, held for a person or in error); nothing would be written to the outbox"
        ) && lines.contains("updates would overwrite no SIS field"),
        "\(dry.stdout)")
      #expect(
        !dry.stdout.contains("0 submissions:") && !dry.stdout.contains("(0 records):"),
        "\(dry.stdout)")
      let json = try runTool("sisdrop", arguments + ["--json"])
      let plan = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      let counts = try #require((plan["summary"] as? [String: Any])?["counts"] as? [String: Int])
      #expect(counts["deliver.delivered_submissions"] == 0)
      #expect((plan["delivery_files"] as? [String: Int])?.isEmpty == true, "\(json.stdout)")
      #expect((plan["updates"] as? [Any])?.isEmpty == true, "\(json.stdout)")
    }
  }
}
