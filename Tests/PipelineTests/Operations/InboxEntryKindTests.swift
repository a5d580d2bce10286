import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery

#if canImport(Glibc)
import Glibc
#endif

/// Only regular files with one name are read from the inbox, by every command: a symbolic link, a
/// hard link (to a file outside the inbox) or a FIFO (an `open` that never returns, holding the
/// work-dir lock) is refused by name, unread, and the lock is released.
@Suite struct InboxEntryKindTests {
  enum Kind: String, CaseIterable {
    case symlink, hardLink, fifo

    /// How the refusal names it.
    var named: String {
      switch self {
      case .symlink: "is a symbolic link"
      case .hardLink: "is a hard link"
      case .fifo: "is a named pipe (FIFO)"
      }
    }
  }

  /// A secret outside the inbox that a link points at: it must never show up anywhere.
  static let secret = "root:$6$NOT-FOR-THE-LOG$:19000:0:99999:7:::"

  /// Replaces `path` (keeping its file at `keep`) with an entry of `kind`; a link points at `secret`.
  static func plant(_ kind: Kind, at path: String, secret: String) throws {
    if FileManager.default.fileExists(atPath: path) {
      try FileManager.default.removeItem(atPath: path)
    }
    switch kind {
    case .symlink: #expect(symlink(secret, path) == 0)
    case .hardLink: #expect(link(secret, path) == 0)
    case .fifo: #expect(mkfifo(path, 0o600) == 0)
    }
  }

  /// Runs a built executable, killed if it is still running after `limit` seconds (a FIFO opened
  /// for reading blocks forever: the test must fail, not hang). No timing is asserted.
  static func runBounded(_ name: String, _ arguments: [String], limit: Double = 120) throws
    -> ((status: Int32, stdout: String, stderr: String), killed: Bool)
  {
    let process = Process()
    process.executableURL = buildFolder().appendingPathComponent(name)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = Date().addingTimeInterval(limit)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    let killed = process.isRunning
    if killed { kill(process.processIdentifier, SIGKILL) }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      (
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self)
      ), killed
    )
  }

  /// `run` with each file of each feed (and a feed's trigger manifest) replaced by a link or a FIFO:
  /// 65 naming the file and what it is, nothing claimed or read, and the lock released (the next
  /// run, with the real file back, delivers).
  @Test func runRefusesEveryFeedFileThatIsNotARegularFile() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let folder = workdir.inbox(config)
      let secret = try writeFile(root + "/outside/secret.txt", Self.secret + "\n")
      let names =
        (config.sisExport.files.values.sorted() + config.submissions.files.values.sorted())
      #expect(names.count == 7, "\(names)")
      try FileManager.default.createDirectory(
        atPath: root + "/kept", withIntermediateDirectories: true)
      for name in names {
        try FileManager.default.copyItem(
          atPath: folder + "/" + name, toPath: root + "/kept/" + name)
        for kind in Kind.allCases {
          try Self.plant(kind, at: folder + "/" + name, secret: secret)
          let before = try FileSystem.listDirectory(folder)
          let (run, killed) = try Self.runBounded(
            "sisdrop",
            ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
          #expect(!killed, "\(name) as \(kind): the run hung")
          #expect(run.status == 65, "\(name) as \(kind): \(run.stderr)")
          #expect(run.stderr.contains("\(name) \(kind.named)"), "\(name) as \(kind): \(run.stderr)")
          #expect(!(run.stderr + run.stdout).contains("NOT-FOR-THE-LOG"))
          #expect(
            try FileSystem.listDirectory(folder) == before,
            "\(name) as \(kind): something was claimed")
          #expect(try WorkDir(root: workdir.root).state.allBatches().isEmpty)
          try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        try FileManager.default.copyItem(
          atPath: root + "/kept/" + name, toPath: folder + "/" + name)
      }
      #expect(try readText(secret) == Self.secret + "\n")
      // `open` lists the inbox the same way.
      for kind in Kind.allCases {
        try Self.plant(kind, at: folder + "/submissions.csv", secret: secret)
        let (open, killed) = try Self.runBounded(
          "sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(!killed && open.status == 65, "open, \(kind): \(open.stderr)")
        #expect(
          open.stderr.contains("submissions.csv \(kind.named)"), "open, \(kind): \(open.stderr)")
        try FileManager.default.removeItem(atPath: folder + "/submissions.csv")
      }
      try FileManager.default.copyItem(
        atPath: root + "/kept/submissions.csv", toPath: folder + "/submissions.csv")
      // The lock was released every time: the next run claims the real files and delivers.
      let run = try runTool(
        "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(try WorkDir(root: workdir.root).state.allBatches().count == 1)
    }
  }

  @Test func aTriggerManifestThatIsNotARegularFileIsRefused() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(
        root, extra: "  triggers:\n    submissions: submissions.manifest\n")
      let secret = try writeFile(root + "/outside/secret.txt", Self.secret + "\n")
      for kind in Kind.allCases {
        try Self.plant(kind, at: workdir.inbox(config) + "/submissions.manifest", secret: secret)
        let (run, killed) = try Self.runBounded(
          "sisdrop", ["run", "--ignore-window", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(!killed && run.status == 65, "\(kind): \(run.stderr)")
        #expect(run.stderr.contains("submissions.manifest \(kind.named)"), "\(kind): \(run.stderr)")
        #expect(!(run.stderr + run.stdout).contains("NOT-FOR-THE-LOG"))
        #expect(try WorkDir(root: workdir.root).state.allBatches().isEmpty)
      }
    }
  }

  /// `sisdrop tardies` with the inbox's tardies.csv a link or a FIFO: 65 naming it, the entry left
  /// where it is, no run folder, the lock released (the next `tardies` with a real file delivers).
  @Test func tardiesRefusesALinkOrAFIFO() throws {
    try withTemporaryFolder { root in
      let pipeline = Checkout.pipeline("demo")
      let workdir = root + "/w"
      let config = try PipelineConfig.load(path: pipeline)
      try Demo.stage(
        fixtures: Checkout.demoDistrict, workdir: try WorkDir(root: workdir), config: config,
        xml: false)
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir]).status == 0)
      let inbox = try WorkDir(root: workdir).inbox(config)
      let secret = try writeFile(root + "/outside/secret.txt", Self.secret + "\n")
      for kind in Kind.allCases {
        try Self.plant(kind, at: inbox + "/tardies.csv", secret: secret)
        let (run, killed) = try Self.runBounded(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", workdir])
        #expect(!killed, "\(kind): tardies hung on the inbox entry")
        #expect(run.status == 65, "\(kind): \(run.stderr)")
        #expect(run.stderr.contains("tardies.csv \(kind.named)"), "\(kind): \(run.stderr)")
        #expect(!(run.stderr + run.stdout).contains("NOT-FOR-THE-LOG"), "\(kind): \(run.stderr)")
        #expect(
          Inbox.FileState.of(inbox + "/tardies.csv")?.refusal != nil, "\(kind): the entry was moved"
        )
        let runs =
          FileSystem.isDirectory(workdir + "/tardies")
          ? try FileSystem.listDirectory(workdir + "/tardies") : []
        #expect(runs.isEmpty, "\(kind): \(runs)")
      }
      try FileManager.default.removeItem(atPath: inbox + "/tardies.csv")
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: inbox + "/tardies.csv")
      let run = try runTool("sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", workdir])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stdout.contains("16 delivered"), "\(run.stdout)")
    }
  }

  /// `sisdrop tardies --file` naming a FIFO or a folder: 65 naming it, without hanging, no run folder.
  @Test func tardiesFileMustBeARegularFile() throws {
    try withTemporaryFolder { root in
      let pipeline = Checkout.pipeline("demo")
      let workdir = root + "/w"
      let config = try PipelineConfig.load(path: pipeline)
      try Demo.stage(
        fixtures: Checkout.demoDistrict, workdir: try WorkDir(root: workdir), config: config,
        xml: false)
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir]).status == 0)
      #expect(mkfifo(root + "/pipe.csv", 0o600) == 0)
      try FileSystem.makeDirectory(root + "/folder.csv")
      for (name, what) in [("pipe.csv", "a named pipe (FIFO)"), ("folder.csv", "a folder")] {
        let (run, killed) = try Self.runBounded(
          "sisdrop",
          ["tardies", "--pipeline", pipeline, "--workdir", workdir, "--file", root + "/" + name])
        #expect(!killed, "\(name): tardies hung on the file")
        #expect(run.status == 65, "\(name): \(run.stderr)")
        #expect(run.stderr.contains("\(name) is \(what)"), "\(name): \(run.stderr)")
        let runs =
          FileSystem.isDirectory(workdir + "/tardies")
          ? try FileSystem.listDirectory(workdir + "/tardies") : []
        #expect(runs.isEmpty, "\(name): \(runs)")
      }
      let run = try runTool(
        "sisdrop",
        [
          "tardies", "--pipeline", pipeline, "--workdir", workdir, "--file",
          Checkout.demoDistrict + "/raptor/tardies.csv",
        ])
      #expect(run.status == 0, "\(run.stderr)")
    }
  }

  /// corrections.csv in the inbox as a link or a FIFO during `run`: named in the log and left
  /// unread; a bad answer file never stops the night (exit 0), nothing is recorded from it.
  @Test func runLeavesACorrectionsFileThatIsNotARegularFileUnread() throws {
    try withTemporaryFolder { root in
      // A secret that parses as a correction: read, it would be recorded.
      let secret = try writeFile(
        root + "/outside/corrections.csv",
        "Submission_ID,Schema,Seq,Field,Value\nS-2026-0001,student,1,Zip,62704\n")
      let pipeline = try demoPipeline(root, extra: "")
      for kind in Kind.allCases {
        let (workdir, config, _) = try demoWorkdir(root + "/w-\(kind)")
        let folder = workdir.inbox(config)
        try Self.plant(kind, at: folder + "/corrections.csv", secret: secret)
        let (run, killed) = try Self.runBounded(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
        #expect(!killed && run.status == 0, "\(kind): \(run.stderr)")
        #expect(run.stderr.contains("corrections.csv not read"), "\(kind): \(run.stderr)")
        #expect(run.stderr.contains("corrections.csv \(kind.named)"), "\(kind): \(run.stderr)")
        #expect(try WorkDir(root: workdir.root).state.corrections().isEmpty)
        #expect(Inbox.FileState.of(folder + "/corrections.csv")?.refusal != nil)
        #expect(try WorkDir(root: workdir.root).state.allBatches().count == 1, "the night went on")
        // The primitive itself, used by every reader of an inbox file.
        #expect(throws: SISDropError.self) {
          _ = try Corrections.read(path: folder + "/corrections.csv", inboxFile: true)
        }
      }
    }
  }

  /// resolutions.csv and overrides.csv in the inbox as a link or a FIFO: refused by name (the answer
  /// feed), not read, nothing recorded, the entry left in the inbox.
  @Test func resolutionFilesThatAreNotRegularFilesAreNotRead() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      #expect(
        try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root]).status
          == 0)
      let folder = workdir.root + "/inbox"
      let secret = try writeFile(
        root + "/outside/answers.csv", "Submission_ID,Student_Seq,SIS_ID\nS-2026-0028,1,107328\n")
      for name in ["resolutions.csv", "overrides.csv"] {
        for kind in Kind.allCases {
          try Self.plant(kind, at: folder + "/" + name, secret: secret)
          let imported = try AnswerFeed.take(
            workdir: workdir, config: try workdir.config(for: try workdir.batch(nil))
          ) { _ in }
          #expect(imported.total == 0)
          #expect(
            imported.refused[name]?.count == 1
              && imported.refused[name]![0].contains("\(name) \(kind.named)"), "\(imported.refused)"
          )
          #expect(try workdir.state.resolutions().isEmpty)
          #expect(try workdir.state.overrides().isEmpty)
          #expect(Inbox.FileState.of(folder + "/" + name)?.refusal != nil)
          try FileManager.default.removeItem(atPath: folder + "/" + name)
        }
      }
    }
  }

  /// The primitive: lstat first, then O_NOFOLLOW | O_NONBLOCK and fstat; a regular file with one name opens.
  @Test func theInboxOpenerRefusesEveryKindButARegularFile() throws {
    try withTemporaryFolder { root in
      let secret = try writeFile(root + "/secret.txt", Self.secret)
      for kind in Kind.allCases {
        let path = root + "/entry-\(kind)"
        try Self.plant(kind, at: path, secret: secret)
        do {
          _ = try InboxFile.open(path)
          Issue.record("\(kind) was opened")
        } catch let error as SISDropError {
          #expect(error.status == .dataError && error.message.contains(kind.named), "\(error)")
        }
        try FileManager.default.removeItem(atPath: path)
      }
      #expect(throws: SISDropError.self) { _ = try InboxFile.open("/dev/null") }
      let fd = try InboxFile.open(try writeFile(root + "/plain.csv", "a,b\n"))
      #expect(fd >= 0)
      close(fd)
    }
  }
}
