import ArgumentParser
import Foundation
import SISDrop
import SISDropConfig

#if canImport(Glibc)
import Glibc
#endif

/// Options every command that touches a working directory shares.
package struct WorkDirOptions: ParsableArguments {
  @Option(
    name: .long, help: "The working directory (default: $SISDROP_WORKDIR, else the current folder)."
  )
  package var workdir: String?

  @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
  package var json = false

  package init() {}

  package var path: String {
    workdir ?? ProcessInfo.processInfo.environment["SISDROP_WORKDIR"]
      ?? FileManager.default.currentDirectoryPath
  }
}

/// Prints a diagnostic to stderr and turns any error into its sysexits exit code: one place for the mapping.
func exitCode(for error: Error) -> ExitCode {
  if error is ExitCode || error is ValidationError || error is CleanExit { return ExitCode.failure }
  // Through the log handler: `sisdrop: error: ...` on a terminal, a timestamped line in a log file.
  makeLogger().error("\(error)")
  return ExitCode(error.exitStatus.rawValue)
}

/// Runs a command body, mapping errors to exit codes (usage errors stay with ArgumentParser).
@discardableResult
func guarded<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let error as ValidationError {
    throw error
  } catch let error as ExitCode {
    throw error
  } catch {
    throw exitCode(for: error)
  }
}

/// Log lines for a terminal or a log file (swift-log, Logging.swift): record ids and counts only.
func logger(quiet: Bool = false) -> (String) -> Void {
  let logger = makeLogger(quiet: quiet)
  return { line in logger.info("\(line)") }
}

/// Prints a `--json` output: snake_case keys, sorted; an absent value is null, never a missing key (ScriptJSON).
func printJSON<T: Encodable>(_ value: T) throws {
  print(try ScriptJSON.text(value))
}

/// Takes a working directory's lock, opens it for the duration of `body`, and maps errors to exit codes.
///
/// - Parameters:
///   - root: the working directory.
///   - create: whether this command may create it (`run`, `open`, `demo`); every other command
///     refuses a folder that is not a working directory (66) and creates nothing there.
///   - wait: seconds to wait for another writer before exiting 75.
func withLockedWorkDir(
  _ root: String, create: Bool = false, wait: Double = 0, _ body: (WorkDir) throws -> Void
) throws {
  try guarded {
    let (workdir, lock) = try WorkDir.locked(
      root: root, create: create, command: commandLine, wait: wait)
    defer { withExtendedLifetime(lock) {} }
    try body(workdir)
  }
}

/// Opens a working directory for a command that only looks: nothing is created, nothing written.
func readOnlyWorkDir(_ root: String) throws -> WorkDir {
  try WorkDir(root: root, create: false, readOnly: true)
}

extension WorkDirOptions {
  /// The working directory for a command that names a pipeline: `--workdir`, else the pipeline's `workdir`.
  func path(for config: PipelineConfig) -> String { workdir ?? config.workdir ?? path }
}

/// The command line a lock holder records, for the "busy" message of a second writer.
var commandLine: String {
  CommandLine.arguments.map { ($0 as NSString).lastPathComponent }.joined(separator: " ")
}
