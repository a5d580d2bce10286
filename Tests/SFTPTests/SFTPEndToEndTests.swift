import Foundation
import SISDrop
import SISDropCore
import Testing
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The test SFTP server (scripts/sftp-test-server.sh): real OpenSSH sshd on 127.0.0.1, an
/// sftp-only chrooted account whose inbox/ and outbox/ are sisdrop's drop folders.
struct SFTPServer {
  var base: String
  var port: String
  var user: String
  var key: String
  var inbox: String
  var outbox: String
  var pid: Int32

  static let script = Checkout.root + "/scripts/sftp-test-server.sh"

  static func start() throws -> SFTPServer {
    let result = try run("/bin/bash", [script, "start"])
    guard result.status == 0 else {
      throw SISDropError(.internalError, "the test SFTP server did not start: \(result.stderr)")
    }
    var values: [String: String] = [:]
    for line in result.stdout.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 { values[parts[0]] = parts[1] }
    }
    return SFTPServer(
      base: values["BASE"] ?? "", port: values["PORT"] ?? "", user: values["USER"] ?? "",
      key: values["CLIENT_KEY"] ?? "",
      inbox: values["INBOX"] ?? "", outbox: values["OUTBOX"] ?? "",
      pid: Int32(values["PID"] ?? "") ?? 0)
  }

  func stop() throws -> Result {
    try SFTPServer.run("/bin/bash", [SFTPServer.script, "stop", base])
  }

  /// `sftp -b` with the given commands; `limit` in Kbit/s (`sftp -l`, with small requests so that
  /// a slow upload really trickles in rather than arriving in a few large writes).
  func sftpProcess(_ commands: [String], limit: Int? = nil, in folder: String) throws -> Process {
    // The batch file beside the folder, not in it (a `get *` would fetch it back).
    let batch = try writeFile(
      (folder as NSString).deletingLastPathComponent + "/batch-\(UUID().uuidString)",
      commands.joined(separator: "\n") + "\n")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sftp")
    process.arguments =
      [
        "-b", batch, "-i", key, "-P", port, "-o", "StrictHostKeyChecking=no", "-o",
        "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
      ] + (limit.map { ["-l", String($0), "-B", "4096", "-R", "2"] } ?? []) + ["\(user)@127.0.0.1"]
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  func sftp(_ commands: [String], in folder: String) throws -> Int32 {
    let process = try sftpProcess(commands, in: folder)
    process.waitUntilExit()
    return process.terminationStatus
  }

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ tool: String, _ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }
}

@Suite(.serialized) struct SFTPEndToEndTests {
  @Test func theNightlyPipelineOverARealSFTPServer() throws {
    try #require(
      getuid() == 0,
      "the SFTP end-to-end test creates an account and a chroot: run it as root (CI does)")
    try withTemporaryFolder { local in
      let server = try SFTPServer.start()
      defer {
        let stopped = try? server.stop()
        #expect(stopped?.status == 0, "stopping the server: \(stopped?.stderr ?? "")")
        #expect(kill(server.pid, 0) != 0, "sshd \(server.pid) still running")
        #expect(!FileManager.default.fileExists(atPath: server.base), "\(server.base) left behind")
      }
      #expect(server.pid > 0)

      // The sender's files: the demo district, with a large SIS students export (20,000 more students
      // who resemble no one in the enrollment export) and a manifest that completes the enrollment feed.
      let send = local + "/send"
      try FileManager.default.createDirectory(atPath: send, withIntermediateDirectories: true)
      for folder in ["sis", "enrollment-csv"] {
        for name in try FileManager.default.contentsOfDirectory(
          atPath: Checkout.demoDistrict + "/" + folder)
        {
          try FileManager.default.copyItem(
            atPath: Checkout.demoDistrict + "/\(folder)/\(name)", toPath: send + "/" + name)
        }
      }
      var students = try readText(send + "/students.csv")
      if !students.hasSuffix("\n") { students += "\n" }
      for i in 0..<20_000 {
        students +=
          "9\(String(format: "%05d", i)),,Quill,,Zzloadtest\(i),01/01/2012,F,3,0101,0,1 Test St,Springfield,IL,62703,,\n"
      }
      try FileManager.default.removeItem(atPath: send + "/students.csv")
      try writeFile(send + "/students.csv", students)
      let submissionFiles = [
        "submissions.csv", "submission_contacts.csv", "submission_documents.csv",
      ]
      var manifest = "file,sha256,rows\n"
      for name in submissionFiles {
        manifest +=
          "\(name),\(try SHA256.file(at: send + "/" + name).sha256),\(try csvRows(send + "/" + name).count - 1)\n"
      }
      try writeFile(send + "/submissions.manifest", manifest)

      // sisdrop's pipeline: the server's chroot folders as inbox and outbox. quiet_seconds 0, so that
      // only the open-writer check stands between a slow upload and a claim (the quiet period has its own tests).
      let workdir = server.base + "/work"
      var pipeline = try demoPipelineText([
        ("  inbox: inbox\n", "  inbox: \(server.inbox)\n"),
        ("  outbox: outbox\n", "  outbox: \(server.outbox)\n"),
      ])
      pipeline += "  triggers:\n    submissions: submissions.manifest\n"
      let pipelinePath = try writeFile(local + "/nightly-test.yaml", pipeline)
      func sisdropRun() throws -> ProcessResult {
        try runTool("sisdrop", ["run", "--pipeline", pipelinePath, "--workdir", workdir])
      }

      // 1. The small SIS files, quickly.
      #expect(
        try server.sftp(
          [
            "cd inbox", "put schools.csv", "put contacts.csv", "put attendance_codes.csv",
            "put submission_contacts.csv", "put submission_documents.csv",
          ], in: send) == 0)
      // 2. An aborted upload of the enrollment export: the client dies half-way; a truncated
      //    submissions.csv stays under its final name. The file sent is large (1 MB at 16 Kbit/s would
      //    take minutes), so the kill always lands mid-upload however slow the machine is.
      let abortFolder = local + "/abort"
      try FileManager.default.createDirectory(
        atPath: abortFolder, withIntermediateDirectories: true)
      var large = try readText(send + "/submissions.csv")
      while large.utf8.count < 1_000_000 { large += large }
      try writeFile(abortFolder + "/submissions.csv", large)
      let aborted = try server.sftpProcess(
        ["cd inbox", "put submissions.csv"], limit: 16, in: abortFolder)
      let fullSize = try #require(FileSystem.fileSize(abortFolder + "/submissions.csv"))
      try waitFor(seconds: 60) { (FileSystem.fileSize(server.inbox + "/submissions.csv") ?? 0) > 0 }
      kill(aborted.processIdentifier, SIGKILL)
      aborted.waitUntilExit()
      try waitFor(seconds: 60) {
        OpenWriters.scan(folder: server.inbox, names: ["submissions.csv"]).isEmpty
      }
      let truncated = try #require(FileSystem.fileSize(server.inbox + "/submissions.csv"))
      #expect(truncated > 0 && truncated < fullSize)

      // 3. The large students export, slowly, while cron runs sisdrop.
      let slow = try server.sftpProcess(["cd inbox", "put students.csv"], limit: 2400, in: send)
      defer { if slow.isRunning { kill(slow.processIdentifier, SIGKILL) } }
      try waitFor(seconds: 60) { (FileSystem.fileSize(server.inbox + "/students.csv") ?? 0) > 0 }
      // A stalled upload (the client stopped, as in a long TCP stall): sftp-server still holds the
      // file open for writing, and that alone keeps it from being claimed (quiet_seconds is 0 here).
      // Deterministic: the upload cannot finish while the client is stopped.
      kill(slow.processIdentifier, SIGSTOP)
      let stalled = try sisdropRun()
      #expect(stalled.status == 75, "run during a stalled upload: \(stalled.stderr)")
      #expect(
        stalled.stderr.contains("students.csv is still arriving: open for writing by process"),
        "\(stalled.stderr)")
      #expect(
        try WorkDir(root: workdir).state.allBatches().isEmpty,
        "a batch was opened from a stalled upload")
      kill(slow.processIdentifier, SIGCONT)
      // Runs while it trickles on. Whenever one ends relative to the upload, what must hold is the
      // same: the enrollment feed has no manifest yet, so every run exits 75 and opens no batch.
      while slow.isRunning {
        let result = try sisdropRun()
        #expect(result.status == 75, "run during the upload: \(result.stderr)")
        #expect(result.stderr.contains("is still arriving"), "\(result.stderr)")
        #expect(
          try WorkDir(root: workdir).state.allBatches().isEmpty,
          "a batch was opened from a half upload")
        usleep(200_000)
      }
      slow.waitUntilExit()
      #expect(slow.terminationStatus == 0)
      #expect(
        FileSystem.fileSize(server.inbox + "/students.csv")
          == FileSystem.fileSize(send + "/students.csv"))

      // 4. Everything is there except the manifest: the truncated enrollment export is never claimed.
      var result = try sisdropRun()
      #expect(result.status == 75)
      #expect(
        result.stderr.contains("only once its trigger file submissions.manifest is in the inbox"),
        "\(result.stderr)")
      #expect(try WorkDir(root: workdir).state.allBatches().isEmpty)

      // 5. The sender uploads the export again, whole, and the manifest last: the night's run delivers.
      #expect(
        try server.sftp(["cd inbox", "put submissions.csv", "put submissions.manifest"], in: send)
          == 0)
      result = try sisdropRun()
      #expect(result.status == 0, "\(result.stderr)")
      let state = try WorkDir(root: workdir)
      let batch = try #require(try state.state.allBatches().first)
      #expect(batch.state == .closed)
      let input = state.batchFolder(batch.id) + "/input"
      #expect(
        try SHA256.file(at: input + "/submissions.csv").sha256
          == (try SHA256.file(at: send + "/submissions.csv").sha256))
      #expect(
        try SHA256.file(at: input + "/students.csv").sha256
          == (try SHA256.file(at: send + "/students.csv").sha256))
      #expect(try FileManager.default.contentsOfDirectory(atPath: server.inbox).isEmpty)

      // 6. The district's SIS side downloads the delivery over SFTP; every file matches the sealed manifest.
      let download = local + "/download"
      try FileManager.default.createDirectory(atPath: download, withIntermediateDirectories: true)
      #expect(try server.sftp(["cd outbox", "get *"], in: download) == 0)
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      let sealed = try decoder.decode(
        BatchManifest.self,
        from: Data(contentsOf: URL(fileURLWithPath: state.batchFolder(batch.id) + "/manifest.json"))
      )
      #expect(sealed.state == .closed)
      #expect(sealed.published.count >= 5)
      let downloaded = try FileManager.default.contentsOfDirectory(atPath: download).sorted()
      #expect(downloaded == sealed.published.map(\.path).sorted())
      for record in sealed.published {
        let found = try SHA256.file(at: download + "/" + record.path)
        #expect(
          found.sha256 == record.sha256 && found.size == record.size,
          "\(record.path) differs from the manifest")
      }
      #expect((sealed.counts["deliver.delivered_submissions"] ?? 0) > 0)
      #expect(sealed.inputs.contains { $0.path == "input/submissions.manifest" })
    }
  }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitFor(seconds: Double, _ condition: () throws -> Bool) throws {
  let deadline = Date().addingTimeInterval(seconds)
  while try !condition() {
    guard Date() < deadline else {
      throw SISDropError(.temporaryFailure, "timed out after \(seconds)s")
    }
    usleep(50_000)
  }
}
