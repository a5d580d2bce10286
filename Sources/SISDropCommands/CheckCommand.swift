import ArgumentParser
import Foundation
import SISDrop
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// `sisdrop check`: every configuration problem at once, without running anything.
package struct CheckCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "check",
    abstract:
      "Check a pipeline and this machine: every configuration problem at once, nothing run.",
    discussion: """
      Reports unknown keys, bad values, missing files and folders, the permissions of the inbox, \
      outbox and working directory (as the user running check), Plugin.xml against the delivery \
      columns, the time zone, and sendmail when notifications use it. Creates nothing.
      `sisdrop run` makes the same checks before it claims anything.

      Exits 0 when the pipeline can run (warnings are printed), 78 when it cannot, 66 when the \
      pipeline file does not exist.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The pipeline file.") var pipeline: String
  package init() {}

  struct Problem: Encodable {
    var message: String
    var file: String?
    var line: Int?
    var hint: String?

    enum CodingKeys: String, CodingKey { case message, file, line, hint }

    /// Absent parts are written as null, so that a script can test them.
    func encode(to encoder: Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(message, forKey: .message)
      try container.encode(file, forKey: .file)
      try container.encode(line, forKey: .line)
      try container.encode(hint, forKey: .hint)
    }
  }

  /// docs/status.schema.json, `$defs/check`.
  struct Output: Encodable {
    var schemaVersion = 1
    var pipeline: String
    var workdir: String
    var ok: Bool
    var problems: [Problem]
    var warnings: [String]
  }

  package func run() throws {
    let check = try guarded {
      try PipelineCheck.run(
        pipelinePath: pipeline, workdir: workDir.workdir, otherwise: workDir.path)
    }
    if workDir.json {
      try printJSON(
        Output(
          pipeline: FileSystem.absolute(pipeline), workdir: check.workdir, ok: check.ok,
          problems: check.problems.map {
            Problem(
              message: $0.message, file: $0.location?.path, line: $0.location?.line, hint: $0.hint)
          },
          warnings: check.warnings))
    } else {
      print("pipeline: \(FileSystem.absolute(pipeline))")
      print("working directory: \(check.workdir) (checked as uid \(getuid()))")
      for problem in check.problems { print("problem: \(problem)") }
      for warning in check.warnings { print("warning: \(warning)") }
      let warnings =
        check.warnings.isEmpty
        ? "" : " (\(check.warnings.count) warning\(check.warnings.count == 1 ? "" : "s"))"
      if check.ok {
        print("ok: no problems\(warnings)")
      } else {
        print(
          "\(check.problems.count) problem\(check.problems.count == 1 ? "" : "s")\(warnings): `sisdrop run` refuses this pipeline until they are fixed"
        )
      }
    }
    if !check.ok { throw ExitCode(ExitStatus.configuration.rawValue) }
  }
}
