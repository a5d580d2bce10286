import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// What a run must never claim or read: part of a feed, a link out of the inbox, a file that
/// changed between the listing and the claim, a decision file still being uploaded.
@Suite struct PickupSafetyTests {
  @Test func aFeedWithAFileMissingIsNotClaimedAtAll() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      // The SIS writes its exports one by one: students.csv is here, contacts.csv not yet.
      try FileManager.default.removeItem(atPath: workdir.root + "/inbox/contacts.csv")
      let listing = try inbox(workdir, pipeline).list()
      #expect(
        !listing.claimable.contains("students.csv") && !listing.claimable.contains("schools.csv"))
      let missing = try #require(listing.arriving.first { $0.name == "contacts.csv" })
      #expect(missing.reason.contains("the sis_export feed is incomplete"), "\(missing.reason)")
      // The real run: 75 naming the missing file; no batch, so no snapshot built from students alone.
      let run = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 75, "\(run.stderr)")
      #expect(
        run.stderr.contains("contacts.csv is still arriving: the sis_export feed is incomplete"),
        "\(run.stderr)")
      #expect(try WorkDir(root: workdir.root).state.allBatches().isEmpty)
      #expect(FileManager.default.fileExists(atPath: workdir.root + "/inbox/students.csv"))
    }
  }

  @Test func aFeedFileTheManifestDoesNotListIsRefused() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(
        root, extra: "  triggers:\n    submissions: submissions.manifest\n")
      try writeFile(
        workdir.root + "/inbox/submissions.manifest",
        "file,sha256,rows\nsubmissions.csv,,\nsubmission_contacts.csv,,\n")
      do {
        _ = try inbox(workdir, pipeline).list()
        Issue.record("a manifest that leaves out submission_documents.csv was accepted")
      } catch let error as SISDropError {
        #expect(error.status == .dataError)
        #expect(
          error.description.contains(
            "submission_documents.csv is in the inbox but submissions.manifest does not list it"),
          "\(error)")
      }
    }
  }

  @Test func symbolicLinksInTheInboxAreNeverFollowed() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let folder = workdir.root + "/inbox"
      // A link with a name of no feed: refused and reported, not ignored as an unknown file.
      try writeFile(root + "/secret.txt", "not the sender's\n")
      #expect(symlink(root + "/secret.txt", folder + "/notes.txt") == 0)
      var listing = try inbox(workdir, pipeline).list()
      #expect(listing.refused == ["notes.txt"])
      #expect(!listing.ignored.contains("notes.txt") && !listing.claimable.contains("notes.txt"))
      // A feed file that is a link: 65, nothing claimed, the real run says so.
      let real = root + "/elsewhere/submissions.csv"
      try FileManager.default.createDirectory(
        atPath: root + "/elsewhere", withIntermediateDirectories: true)
      try FileManager.default.moveItem(atPath: folder + "/submissions.csv", toPath: real)
      #expect(symlink(real, folder + "/submissions.csv") == 0)
      #expect(throws: SISDropError.self) { listing = try inbox(workdir, pipeline).list() }
      let run = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 65, "\(run.stderr)")
      #expect(run.stderr.contains("submissions.csv is a symbolic link"), "\(run.stderr)")
      #expect(try WorkDir(root: workdir.root).state.allBatches().isEmpty)
      #expect(FileManager.default.fileExists(atPath: real))
      // A decision file that is a link is not read either.
      #expect(symlink(root + "/secret.txt", folder + "/corrections.csv") == 0)
      let config = try PipelineConfig.load(path: pipeline)
      #expect(
        Inbox(path: folder, config: config).whyNotReady("corrections.csv")?.contains(
          "never follows links") == true)
    }
  }

  @Test func aFileThatChangedAfterTheListingIsPutBackNotClaimed() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let config = try PipelineConfig.load(path: pipeline)
      let box = Inbox(path: workdir.inbox(config), config: config)
      let before = try FileManager.default.contentsOfDirectory(atPath: box.path).sorted()
      let uploads = try folderContents(box.path + "/documents").count

      // A re-upload starts between the listing and the claim: the file grows.
      let listing = try box.list(state: workdir.state)
      let grown = try readText(box.path + "/submissions.csv") + "S-LATE,half a rec"
      try FileManager.default.removeItem(atPath: box.path + "/submissions.csv")
      try writeFile(box.path + "/submissions.csv", grown)
      do {
        _ = try BatchLifecycle.claim(
          listing, from: box, workdir: workdir, config: config, selection: .all, now: Date())
        Issue.record("a file that changed after the listing was claimed")
      } catch let error as SISDropError {
        #expect(error.status == .temporaryFailure)
        #expect(
          error.description.contains(
            "submissions.csv is still arriving: it changed after the inbox was read"), "\(error)")
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: box.path).sorted() == before)
      #expect(try readText(box.path + "/submissions.csv") == grown)
      #expect(try workdir.state.allBatches().isEmpty)
      #expect(try FileManager.default.contentsOfDirectory(atPath: workdir.batchesFolder).isEmpty)

      // A writer that opened a file after the listing (without changing it yet) is seen after the rename.
      let again = try box.list(state: workdir.state)
      let writer = try #require(FileHandle(forWritingAtPath: box.path + "/contacts.csv"))
      do {
        _ = try BatchLifecycle.claim(
          again, from: box, workdir: workdir, config: config, selection: .all, now: Date())
        Issue.record("a file open for writing was claimed")
      } catch let error as SISDropError {
        #expect(error.status == .temporaryFailure)
        #expect(
          error.description.contains("contacts.csv is still arriving: process \(getpid())"),
          "\(error)")
      }
      try writer.close()
      #expect(try FileManager.default.contentsOfDirectory(atPath: box.path).sorted() == before)
      #expect(try workdir.state.allBatches().isEmpty)
      // Unchanged since the listing: claimed.
      let settled = try box.list(state: workdir.state)
      let opened = try BatchLifecycle.claim(
        settled, from: box, workdir: workdir, config: config, selection: .all, now: Date())
      // Every feed file and every uploaded document below documents/.
      #expect(opened.claimed.count == before.count - 1 + uploads)
      #expect(before.contains("documents"))
    }
  }

  @Test func aHalfClaimIsPutBackAndAClaimedFileIsNeverDeleted() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let inboxPath = workdir.inbox(config)
      let archive = workdir.archive(config)
      // What a run killed mid-claim leaves: a .claiming folder, no batch row. Meanwhile the sender
      // started uploading submissions.csv again (a partial that may never complete).
      let claiming = workdir.batchesFolder + "/.20261123-01.claiming"
      try FileManager.default.createDirectory(
        atPath: claiming + "/input", withIntermediateDirectories: true)
      let complete = try readText(inboxPath + "/submissions.csv")
      for name in ["submissions.csv", "students.csv"] {
        try FileManager.default.moveItem(
          atPath: inboxPath + "/" + name, toPath: claiming + "/input/" + name)
      }
      try writeFile(claiming + "/claim-inbox", inboxPath + "\n" + archive + "\n")
      try writeFile(inboxPath + "/submissions.csv", "Submission_ID,First")
      let lock = try workdir.lock(command: "test")
      _ = lock
      #expect(!FileManager.default.fileExists(atPath: claiming))
      #expect(FileManager.default.fileExists(atPath: inboxPath + "/students.csv"))
      #expect(try readText(inboxPath + "/submissions.csv") == "Submission_ID,First")
      let kept = try FileManager.default.contentsOfDirectory(atPath: archive + "/duplicates")
      #expect(kept.count == 1 && kept[0].hasSuffix("-unclaimed"))
      #expect(try readText(archive + "/duplicates/" + kept[0] + "/submissions.csv") == complete)
    }
  }

  @Test func decisionFilesStillBeingUploadedAreNotRead() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      #expect(
        try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", workdir.root]).status
          == 0)
      let folder = workdir.root + "/inbox"
      // A half-uploaded resolutions.csv: `S-1,1,` would read as a No Match decision.
      try writeFile(
        folder + "/resolutions.csv", "Submission_ID,Student_Seq,SIS_ID,Resolved_By\nS-1,1,")
      let writer = try #require(FileHandle(forWritingAtPath: folder + "/resolutions.csv"))
      var taken: [String] = []
      let imported = try AnswerFeed.take(
        workdir: workdir, config: try workdir.config(for: try workdir.batch(nil))
      ) { taken.append($0) }
      #expect(imported.total == 0 && imported.waiting == ["resolutions.csv"])
      #expect(
        taken.count == 1
          && taken[0].contains(
            "resolutions.csv not taken yet: still arriving: open for writing by process \(getpid())"
          ),
        "\(taken)")
      #expect(try workdir.state.resolutions().isEmpty)
      #expect(FileManager.default.fileExists(atPath: folder + "/resolutions.csv"))
      try writer.close()
      // corrections.csv the same way: not taken while it is being written, left in the inbox.
      try writeFile(
        folder + "/corrections.csv", "Submission_ID,Schema,Seq,Field,Value\nS-1,student,1,Zip,627")
      let correctionsWriter = try #require(
        FileHandle(forWritingAtPath: folder + "/corrections.csv"))
      var lines: [String] = []
      let again = try AnswerFeed.take(
        workdir: workdir, config: try workdir.config(for: try workdir.batch(nil))
      ) { lines.append($0) }
      #expect(again.waiting == ["corrections.csv"])
      #expect(
        lines.contains {
          $0.contains("corrections.csv not taken yet: still arriving: open for writing")
        }, "\(lines)")
      #expect(FileManager.default.fileExists(atPath: folder + "/corrections.csv"))
      try correctionsWriter.close()
    }
  }
}

@Suite(.serialized) struct WriterCheckBlindnessTests {
  /// sisdrop run by a user who cannot read other users' /proc/PID/fd: the writer check is blind,
  /// and the run says so in its log and in `sisdrop status`, rather than passing silently.
  @Test func aBlindWriterCheckIsReportedInTheLogAndTheStatus() throws {
    try #require(getuid() == 0, "this test runs sisdrop as another user: run it as root (CI does)")
    try withFolderEveryUserReaches { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      // The other user may not be able to enter the checkout (a clone in a `mktemp -d` folder is
      // 0700): everything its run reads, the executable included, is copied where it can.
      let config = Checkout.demoDistrict + "/config"
      try FileManager.default.copyItem(atPath: config, toPath: root + "/config")
      let pipeline = try writeFile(
        root + "/pipeline.yaml", try demoPipelineText([(config, root + "/config")]))
      #expect(!(try readText(pipeline)).contains(Checkout.root))
      try FileManager.default.createDirectory(
        atPath: root + "/bin", withIntermediateDirectories: true)
      let executable = root + "/bin/sisdrop"
      try FileManager.default.copyItem(
        atPath: buildFolder().appendingPathComponent("sisdrop").path, toPath: executable)
      #expect(chownTree(root, to: 65534) == 0)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      process.arguments = [
        "--reuid=65534", "--regid=65534", "--clear-groups",
        executable, "run", "--pipeline", pipeline, "--workdir", workdir.root,
      ]
      let err = Pipe()
      process.standardError = err
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "\(stderr)")
      #expect(
        stderr.range(
          of:
            #"Z (info|warning) sisdrop\[\d+\]: warning: the open-writer check cannot see the open files of \d+ processes"#,
          options: .regularExpression) != nil, "\(stderr)")
      var status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(
        status.stdout.contains("  WARNING: the open-writer check cannot see the open files of"),
        "\(status.stdout)")
      let json = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
      #expect(
        ((object["integration"] as? [String: Any])?["warning"] as? String)?.contains(
          "CAP_SYS_PTRACE") == true)
      // Run as root, it sees every process: the warning goes.
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root]).status
          == 0)
      status = try runTool("sisdrop", ["status", "--workdir", workdir.root])
      #expect(!status.stdout.contains("WARNING"), "\(status.stdout)")
    }
  }
}

/// A fresh folder whose every ancestor other users may enter (the temporary folder, unless `TMPDIR`
/// is private to this user; then `/tmp`), removed afterwards.
func withFolderEveryUserReaches<T>(_ body: (String) throws -> T) throws -> T {
  func reachable(_ folder: String) -> Bool {
    var path = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
    while true {
      var info = stat()
      guard stat(path, &info) == 0, info.st_mode & 0o001 != 0 else { return false }
      if path == "/" { return true }
      path = (path as NSString).deletingLastPathComponent
    }
  }
  let base = reachable(NSTemporaryDirectory()) ? NSTemporaryDirectory() : "/tmp/"
  let path = base + (base.hasSuffix("/") ? "" : "/") + "sisdrop-test-" + UUID().uuidString
  try FileManager.default.createDirectory(
    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try body(path)
}

/// `chown -R uid:uid path`.
func chownTree(_ path: String, to uid: Int) -> Int32 {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/chown")
  process.arguments = ["-R", "\(uid):\(uid)", path]
  do { try process.run() } catch { return -1 }
  process.waitUntilExit()
  return process.terminationStatus
}

@Suite struct FutureMtimeTests {
  /// `sftp put -p` from a sender whose clock runs a day ahead: the file is claimed after the quiet
  /// period by this machine's clock (ctime), not held back until the sender's time.
  @Test func aFutureModificationTimeDoesNotHoldAFileBack() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "", quiet: 60)
      let folder = workdir.root + "/inbox"
      let tomorrow = Date().addingTimeInterval(86_400)
      for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
        try FileManager.default.setAttributes(
          [.modificationDate: tomorrow], ofItemAtPath: folder + "/" + name)
      }
      let lastChange =
        try FileManager.default.contentsOfDirectory(atPath: folder).map { name -> Double in
          var info = stat()
          #expect(lstat(folder + "/" + name, &info) == 0)
          return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
        }.max() ?? 0
      let listing = try inbox(workdir, pipeline).list(
        now: Date(timeIntervalSince1970: lastChange + 61))
      #expect(listing.arriving.isEmpty, "\(listing.arriving)")
      #expect(listing.claimable.contains("submissions.csv"))
    }
  }
}
