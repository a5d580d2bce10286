import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The demo pipeline with extra YAML appended (pickup, schedule, notifications), in `folder`.
func demoPipeline(_ folder: String, extra: String, quiet: Int = 0) throws -> String {
  let text = try demoPipelineText([("pickup:\n  quiet_seconds: 0\n", "")])
  return try writeFile(
    folder + "/pipeline.yaml", text + "pickup:\n  quiet_seconds: \(quiet)\n" + extra)
}

func inbox(_ workdir: WorkDir, _ pipeline: String) throws -> Inbox {
  let config = try PipelineConfig.load(path: pipeline)
  return Inbox(path: workdir.inbox(config), config: config)
}

@Suite struct InboxPickupTests {
  @Test func temporaryNamesAreNeverClaimedOrWaitedFor() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      for name in [
        "students.csv.part", "submissions.csv.filepart", ".submissions.csv.swp", "~contacts.csv",
      ] {
        try writeFile(workdir.root + "/inbox/" + name, "half")
      }
      let listing = try inbox(workdir, pipeline).list()
      #expect(listing.arriving.isEmpty)
      #expect(
        !listing.claimable.contains {
          $0.contains("part") || $0.hasPrefix(".") || $0.hasPrefix("~")
        })
      #expect(listing.claimable.contains("submissions.csv"))
    }
  }

  @Test func aFileIsClaimedOnlyAfterTheQuietPeriod() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "", quiet: 60)
      // "Now" is the inbox's last change plus 1 s, not the clock: on a loaded machine the clock
      // could pass the quiet period between copying the files and listing them.
      let folder = workdir.root + "/inbox"
      let lastChange =
        try FileManager.default.contentsOfDirectory(atPath: folder).map { name -> Double in
          var info = stat()
          #expect(lstat(folder + "/" + name, &info) == 0)
          return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
        }.max() ?? 0
      let now = Date(timeIntervalSince1970: lastChange + 1)
      let early = try inbox(workdir, pipeline).list(now: now)
      #expect(early.claimable.isEmpty)
      #expect(early.arriving.map(\.name).contains("submissions.csv"))
      #expect(early.arriving[0].reason.contains("a file is claimed once unchanged for 60s"))
      do {
        try early.requireComplete(inbox: workdir.root + "/inbox")
        Issue.record("an incomplete inbox must throw")
      } catch let error as SISDropError {
        #expect(error.status == .temporaryFailure)
        #expect(error.description.contains("is still arriving"))
      }
      let later = try inbox(workdir, pipeline).list(now: now.addingTimeInterval(61))
      #expect(later.arriving.isEmpty)
      #expect(
        later.claimable.contains("submissions.csv") && later.claimable.contains("students.csv"))
    }
  }

  @Test func aFileOpenForWritingIsStillArriving() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      // A writer (this process, as sftp-server would) holds submission_contacts.csv open.
      let writer = try #require(
        FileHandle(forWritingAtPath: workdir.root + "/inbox/submission_contacts.csv"))
      let reader = try #require(FileHandle(forReadingAtPath: workdir.root + "/inbox/students.csv"))
      let listing = try inbox(workdir, pipeline).list()
      let arriving = try #require(listing.arriving.first)
      #expect(arriving.name == "submission_contacts.csv")
      #expect(arriving.reason.contains("open for writing by process \(getpid())"))
      // The whole submissions feed waits; the SIS export (open only for reading) does not.
      #expect(!listing.claimable.contains("submissions.csv"))
      #expect(listing.claimable.contains("students.csv"))
      try writer.close()
      #expect(try inbox(workdir, pipeline).list().arriving.isEmpty)
      try reader.close()
    }
  }

  @Test func aTriggerManifestGatesItsFeedAndIsChecked() throws {
    try withTemporaryFolder { root in
      let (workdir, _, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(
        root, extra: "  triggers:\n    submissions: submissions.manifest\n")
      let folder = workdir.root + "/inbox"
      // No trigger yet: the feed waits, the run would exit 75.
      var listing = try inbox(workdir, pipeline).list()
      #expect(listing.arriving.first?.reason.contains("trigger file submissions.manifest") == true)
      #expect(!listing.claimable.contains("submissions.csv"))

      let files = ["submissions.csv", "submission_contacts.csv", "submission_documents.csv"]
      func manifest(_ edit: (String, String, Int) -> (String, Int)) throws {
        var text = "file,sha256,rows\n"
        for name in files {
          let sha = try SHA256.file(at: folder + "/" + name).sha256
          let rows = try csvRows(folder + "/" + name).count - 1
          let (s, r) = edit(name, sha, rows)
          text += "\(name),\(s),\(r)\n"
        }
        try? FileManager.default.removeItem(atPath: folder + "/submissions.manifest")
        try writeFile(folder + "/submissions.manifest", text)
      }
      // A wrong SHA-256 (an aborted upload that looks complete): 65, nothing claimed.
      try manifest { name, sha, rows in
        (name == "submission_contacts.csv" ? String(repeating: "0", count: 64) : sha, rows)
      }
      #expect(throws: SISDropError.self) { try inbox(workdir, pipeline).list() }
      do { _ = try inbox(workdir, pipeline).list() } catch let error as SISDropError {
        #expect(error.status == .dataError)
        #expect(
          error.description.contains("submission_contacts.csv")
            && error.description.contains("aborted or altered upload"))
      }
      // A wrong row count: 65.
      try manifest { name, sha, rows in (sha, name == "submissions.csv" ? rows + 1 : rows) }
      #expect(throws: SISDropError.self) { try inbox(workdir, pipeline).list() }
      // The right manifest: the feed and its manifest are claimable.
      try manifest { _, sha, rows in (sha, rows) }
      listing = try inbox(workdir, pipeline).list()
      #expect(listing.arriving.isEmpty)
      #expect(Set(files + ["submissions.manifest"]).isSubset(of: Set(listing.claimable)))
      // And a batch claims it with the feed: moved by rename out of the inbox.
      let opened = try BatchLifecycle.open(
        workdir: workdir, pipelinePath: pipeline, selection: .all)
      #expect(
        opened.claimed.map { ($0.path as NSString).lastPathComponent }.contains(
          "submissions.manifest"))
      #expect(!FileManager.default.fileExists(atPath: folder + "/submissions.csv"))
    }
  }

  @Test func anIdenticalReUploadIsSetAside() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let pipeline = try demoPipeline(root, extra: "")
      let first = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(
        FileManager.default.fileExists(
          atPath: workdir.root + "/archive/\(first.batch)/students.csv"))
      // The same files again: the SIS export is identical, so it is set aside; the enrollment export
      // is identical too, but records it returned to pending (held, in error) may be decided since: claimed.
      try Demo.stage(fixtures: Checkout.demoDistrict, workdir: workdir, config: config, xml: false)
      let listing = try inbox(workdir, pipeline).list(state: workdir.state)
      #expect(
        Set(listing.duplicates.map(\.name)) == [
          "attendance_codes.csv", "contacts.csv", "schools.csv", "students.csv",
        ])
      #expect(listing.duplicates.allSatisfy { $0.batch == first.batch })
      #expect(
        listing.claimableFiles == [
          "submission_contacts.csv", "submission_documents.csv", "submissions.csv",
        ])
      #expect(
        listing.claimableDocuments.count
          == (try csvRows(Checkout.demoDistrict + "/enrollment-csv/submission_documents.csv")).count
          - 1)
      var lines: [String] = []
      let second = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { lines.append($0) }))
      #expect(
        lines.contains {
          $0.hasPrefix(
            "identical re-upload of attendance_codes.csv, contacts.csv, schools.csv, students.csv")
        })
      let input = try FileManager.default.contentsOfDirectory(
        atPath: workdir.batchFolder(second.batch) + "/input"
      ).sorted()
      #expect(
        input == [
          "documents", "submission_contacts.csv", "submission_documents.csv", "submissions.csv",
        ])
      #expect(!input.contains("students.csv"))
      let duplicates = try FileManager.default.contentsOfDirectory(
        atPath: workdir.root + "/archive/duplicates")
      #expect(duplicates.count == 1)
      let setAside = workdir.root + "/archive/duplicates/" + duplicates[0] + "/students.csv"
      #expect(
        (try FileManager.default.attributesOfItem(atPath: setAside)[.posixPermissions] as? Int)
          == 0o440)
      #expect(try FileManager.default.contentsOfDirectory(atPath: workdir.root + "/inbox").isEmpty)
      // The second batch matched against the first batch's snapshot and delivered nothing twice.
      #expect(
        second.counts["normalize.already_delivered"]
          == (try DemoExpectation.load()).submissions("delivered"))
    }
  }
}
