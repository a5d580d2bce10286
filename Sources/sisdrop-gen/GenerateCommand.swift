import ArgumentParser
import Foundation
import SISDropCore
import SISDropGenerator

/// `sisdrop-gen`: the labelled synthetic district for tests and the matching benchmark. A
/// developer's tool in its own executable, so that the shipped `sisdrop` does not carry the
/// generator (scripts/install.sh does not install it).
@main struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sisdrop-gen",
    abstract: "Generate a synthetic district with a truth file (for the matching benchmark).",
    discussion: """
      Writes OUT/sis/ (students, contacts, schools, attendance_codes CSV), OUT/enrollment/ (submissions, \
      submission_contacts, submission_documents CSV in the default layouts) and OUT/truth/ (students.csv: \
      each submission student's SIS Student_Number or NEW and its case; contacts.csv: Contact_ID or NEW and \
      the first submission contact naming the same person). The same seed gives the same bytes.
      """)
  @Option(help: "SIS students, 1,000 to 5,000,000.") var students = 10_000
  @Option(help: "Approved submissions (returning and new children).") var submissions = 1_000
  @Option(help: "Random seed.") var seed: UInt64 = 20_261_123
  @Option(name: .shortAndLong, help: "Output folder (created; files in it are replaced).") var out:
    String
  @Flag(help: "Print the summary as JSON.") var json = false
  init() {}

  func validate() throws {
    guard (1_000...5_000_000).contains(students) else {
      throw ValidationError("'--students' must be between 1000 and 5000000")
    }
    guard (1...students).contains(submissions) else {
      throw ValidationError("'--submissions' must be between 1 and --students")
    }
  }

  func run() throws {
    do {
      let summary = try DistrictGenerator.generate(
        GeneratorOptions(
          students: students, submissions: submissions, seed: seed, output: FileSystem.absolute(out)
        ))
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
      } else {
        print(
          "\(summary.students) SIS students in \(summary.households) households, \(summary.contacts) contact rows"
        )
        print(
          "\(summary.submissions) submissions: \(summary.returning) returning and \(summary.new) new students"
        )
        for (name, count) in summary.cases.sorted(by: { $0.key < $1.key }) {
          print("  \(name)\t\(count)")
        }
      }
    } catch {
      // The sysexits status of the error, as sisdrop's commands exit (SISDropCore/Support/Errors.swift).
      FileHandle.standardError.write(Data("sisdrop-gen: error: \(error)\n".utf8))
      throw ExitCode(error.exitStatus.rawValue)
    }
  }
}
