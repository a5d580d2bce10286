import ArgumentParser
import Foundation
import SISDrop

#if canImport(Glibc)
  import Glibc
#endif

/// Options every command that touches a working directory shares.
public struct WorkDirOptions: ParsableArguments {
  @Option(name: .long, help: "The working directory (default: $SISDROP_WORKDIR, else the current folder).")
  public var workdir: String?

  @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
  public var json = false

  public init() {}

  public var path: String {
    workdir ?? ProcessInfo.processInfo.environment["SISDROP_WORKDIR"] ?? FileManager.default.currentDirectoryPath
  }
}

/// Prints a diagnostic to stderr and turns any error into its sysexits exit code: one place for the mapping.
func exitCode(for error: Error) -> ExitCode {
  if error is ExitCode || error is ValidationError || error is CleanExit { return ExitCode.failure }
  let status: ExitStatus
  if let error = error as? SISDropError {
    status = error.status
  } else if let error = error as? FileError {
    status = error.status
  } else if let error = error as? SQLiteError {
    status = error.isBusy ? .temporaryFailure : .cannotCreate
  } else {
    status = .internalError
  }
  FileHandle.standardError.write(Data("sisdrop: error: \(error)\n".utf8))
  return ExitCode(status.rawValue)
}

/// Runs a command body, mapping errors to exit codes (usage errors stay with ArgumentParser).
func guarded(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let error as ValidationError {
    throw error
  } catch let error as ExitCode {
    throw error
  } catch {
    throw exitCode(for: error)
  }
}

/// Log lines for a terminal or a log file: record ids and counts only.
func logger(quiet: Bool = false) -> (String) -> Void {
  let isTerminal = isatty(STDERR_FILENO) == 1
  return { line in
    if quiet { return }
    let text = isTerminal ? "\(line)\n" : "\(Date().ISO8601Format()) sisdrop: \(line)\n"
    FileHandle.standardError.write(Data(text.utf8))
  }
}

func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  encoder.keyEncodingStrategy = .convertToSnakeCase
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The command line a lock holder records, for the "busy" message of a second writer.
var commandLine: String { CommandLine.arguments.map { ($0 as NSString).lastPathComponent }.joined(separator: " ") }
