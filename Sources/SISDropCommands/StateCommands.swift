import ArgumentParser
import Foundation
import SISDrop
import SISDropCore
import SISDropStore

package struct BackupCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "backup",
    abstract: "Copy state.sqlite to FILE (SQLite's online backup: safe while a run is going).",
    discussion: """
      The copy is consistent even while another sisdrop writes, one file (no -wal), mode 0600, written \
      under a temporary name and renamed into place. Restore it by copying it to <workdir>/state.sqlite \
      while no sisdrop runs. Exit codes: 0 done, 66 not a working directory, 73 cannot write FILE.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Argument(help: "Where to write the copy (replaced if it exists).") var file: String
  package init() {}

  package func run() throws {
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      let target = FileSystem.absolute(file)
      do { try workdir.state.database.backup(to: target) } catch let error as SQLiteError {
        throw SISDropError(
          .cannotCreate, "cannot write the backup: \(error.message)",
          at: SourceLocation(path: target),
          hint: "check that the folder exists and is writable")
      }
      if workDir.json {
        try printJSON(["backup": target])
      } else {
        print("state.sqlite copied to \(target)")
      }
    }
  }
}

package struct VerifyCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check sealed batches' files against their manifest.json (SHA-256).",
    discussion: """
      Checks every file a sealed manifest lists: the claimed inputs, every stage output, the published \
      files kept in published/ and redeliveries/. Without --batch, every closed or cancelled batch.
      Exit codes: 0 every file is as sealed, 65 a file changed or is missing (each named with both \
      hashes), 66 not a working directory or no such batch.
      """)
  @OptionGroup var workDir: WorkDirOptions
  @Option(help: "The batch to verify (default: every sealed batch).") var batch: String?
  package init() {}

  struct Output: Encodable {
    var batches: [String]
    var files: Int
    var mismatches: [BatchIntegrity.Mismatch]
  }

  package func run() throws {
    try guarded {
      let workdir = try readOnlyWorkDir(workDir.path)
      let batches =
        try batch.map { [try workdir.batch($0)] }
        ?? workdir.state.allBatches().filter { $0.state != .open }
      var output = Output(batches: batches.map(\.id), files: 0, mismatches: [])
      for record in batches {
        let (checked, mismatches) = try BatchIntegrity.verify(workdir, batch: record.id)
        output.files += checked
        output.mismatches += mismatches
      }
      if workDir.json {
        try printJSON(output)
      } else {
        for mismatch in output.mismatches { print("batch \(mismatch.batch): \(mismatch)") }
        print(
          "\(output.batches.count) batches, \(output.files) files checked, \(output.mismatches.count) not as sealed"
        )
      }
      if let first = output.mismatches.first {
        throw SISDropError(
          .dataError,
          "\(output.mismatches.count) file(s) differ from their sealed manifest, first: batch \(first.batch) \(first)",
          at: SourceLocation(path: workdir.batchFolder(first.batch) + "/" + first.path),
          hint:
            "a sealed batch is an audit record: restore the files from a backup and find out what changed them"
        )
      }
    }
  }
}

package struct RebuildStateCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "rebuild-state", abstract: "Rebuild a lost state.sqlite from the batch folders.",
    discussion: """
      For a working directory whose state.sqlite is missing or empty while batches/ holds history \
      (every other command refuses it with 66). Replays every batch in order from its manifest.json \
      and stage folders: batches, claimed files, the pending ledger with what was delivered and its \
      content hashes, snapshots, stage runs, the stable ids of published new records, each delivered \
      record's SIS confirmation (confirmation.csv of the batch whose SIS export checked it, \
      confirmed_by_hand.csv of the batch that delivered it; learned SIS numbers included), and the \
      tardies each published tardy run delivered. Not in the batch folders, so not rebuilt: \
      resolutions, kept SIS values, corrections, the integration status, the tardy feed's last run, \
      unsent notifications, \
      re-deliveries asked for and not sent yet, SIS import results no SIS export was checked after. Prefer a backup (`sisdrop backup FILE`) when \
      there is one. Refuses (64) a state.sqlite that is not empty.
      """)
  @OptionGroup var workDir: WorkDirOptions
  package init() {}

  package func run() throws {
    try guarded {
      let root = FileSystem.absolute(workDir.path)
      guard FileSystem.isDirectory(root + "/batches") else {
        throw SISDropError(
          .noInput, "\(root) is not a sisdrop working directory (no batches/)",
          at: SourceLocation(path: root),
          hint: "pass --workdir (or set SISDROP_WORKDIR) to the working directory")
      }
      let lock = try WorkDirLock(workdir: root, command: commandLine)
      defer { withExtendedLifetime(lock) {} }
      let result = try StateRebuild.run(root: root)
      if workDir.json {
        try printJSON(result)
      } else {
        print(
          "state.sqlite rebuilt from \(result.batches) batches: \(result.delivered) submissions delivered, \(result.pending) pending, \(result.stableIDs) stable ids, \(result.snapshots) snapshots, \(result.publications) publications, \(result.tardies) tardies"
        )
        let c = result.confirmation
        if c.delivered + c.confirmed + c.unconfirmed > 0 {
          print(
            "SIS confirmation restored: \(c.confirmed) delivered record(s) confirmed, \(c.delivered) awaiting an SIS export, \(c.unconfirmed) unconfirmed"
          )
        }
        if !result.withoutStableIDs.isEmpty {
          print(
            "published before stable ids were kept (their new records' ids are not rebuilt): \(result.withoutStableIDs.joined(separator: ", "))"
          )
        }
        print(
          "not rebuilt (not kept in the batch folders): \(result.notRebuilt.joined(separator: "; "))"
        )
      }
    }
  }
}
