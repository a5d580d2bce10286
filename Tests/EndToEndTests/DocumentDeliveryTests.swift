import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropStore

/// Issue 13, item 4: the uploaded documents `submission_documents.csv` names are claimed with the
/// submissions feed, checked against their rows, delivered into the outbox with the ready file
/// listing them, sent once per SHA-256, and archived at close. Real runs of the shipped demo
/// pipeline (`auto_close: true`) on the demo district, whose export carries 117 documents.
@Suite(.serialized) struct DocumentDeliveryTests {
  /// The demo export's document rows: Submission_ID, Doc_Type, File_Name, SHA256.
  static func documentRows() throws -> [[String]] {
    Array(
      try csvRows(Checkout.demoDistrict + "/enrollment-csv/submission_documents.csv").dropFirst())
  }

  @Test(arguments: [false, true])
  func documentsAreDeliveredListedInTheReadyFileAndArchived(xml: Bool) throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w", xml: xml)
      var log: [String] = []
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { log.append($0) }))
      #expect(summary.closed)
      let expected = try DemoExpectation.load()
      let rows = try Self.documentRows()
      let delivered = rows.filter { expected.delivery[$0[0]] == "delivered" }
      // the held and rejected submissions' documents wait
      #expect(delivered.count > 50 && delivered.count < rows.count)

      let outbox = workdir.outbox(config)
      let folder = "\(summary.batch)_documents"
      var listed: [String: (sha: String, size: String)] = [:]
      for entry in try csvRows(outbox + "/\(summary.batch).ready").dropFirst()
      where entry[0].hasPrefix(folder + "/") {
        listed[entry[0]] = (entry[1], entry[2])
      }
      #expect(listed.count == delivered.count)
      for row in delivered {
        let name = "\(folder)/\(row[0])/\(row[2])"
        #expect(listed[name]?.sha == row[3], "\(name) is not listed with its SHA-256")
        let file = try SHA256.file(at: outbox + "/" + name)
        #expect(file.sha256 == row[3] && String(file.size) == listed[name]?.size)
      }
      // Nothing in the documents folder that the ready file does not list; one metadata row per file.
      #expect(Set(filesBelow(outbox + "/" + folder).map { folder + "/" + $0 }) == Set(listed.keys))
      #expect(try csvRows(outbox + "/\(summary.batch)_documents.csv").count - 1 == delivered.count)

      #expect(summary.counts["parse.documents_verified"] == rows.count)
      #expect(summary.counts["parse.document_errors"] == 0)
      #expect(summary.counts["deliver.document_files"] == delivered.count)
      #expect(
        try workdir.state.database.scalar("SELECT count(*) FROM delivered_documents").int
          == Int64(delivered.count))
      #expect(
        log.contains(
          "opened batch \(summary.batch): claimed \(xml ? 5 : 7) files and \(rows.count) uploaded documents"
        ), "\(log)")

      // Claimed whole, archived at close: every upload in archive/<batch>/documents, none left in the inbox.
      #expect(
        filesBelow(workdir.archive(config) + "/\(summary.batch)/documents").count == rows.count)
      #expect(filesBelow(workdir.inbox(config) + "/documents").isEmpty)
      // The sealed manifest lists every claimed document with its SHA-256.
      let manifest = try BatchLifecycle.readManifest(folder: workdir.batchFolder(summary.batch))
      #expect(manifest.inputs.filter { $0.path.hasPrefix("input/documents/") }.count == rows.count)
      let verify = try runTool("sisdrop", ["verify", "--workdir", workdir.root])
      #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
  }

  @Test func missingWrongHashExtraLinksAndBadNamesAreErrorsOfTheirSubmissions() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let documents = inbox + "/documents"
      // Missing, altered, extra, and a symbolic link where an upload should be.
      try FileManager.default.removeItem(atPath: documents + "/S-2026-0001/lease.pdf")
      try writeFile(documents + "/S-2026-0004/utility-bill.pdf", "altered on the way")
      try writeFile(documents + "/S-2026-0006/extra-scan.pdf", "nobody listed me")
      try writeFile(root + "/outside-secret.txt", "not for the SIS")
      try FileManager.default.removeItem(atPath: documents + "/S-2026-0007/water-bill.jpg")
      try FileManager.default.createSymbolicLink(
        atPath: documents + "/S-2026-0007/water-bill.jpg",
        withDestinationPath: root + "/outside-secret.txt")
      // Names that are not a file of the submission's folder: lines 119, 120, 121 of the documents file.
      let sha = String(repeating: "ab", count: 32)
      let handle = try #require(FileHandle(forWritingAtPath: inbox + "/submission_documents.csv"))
      handle.seekToEndOfFile()
      handle.write(
        Data(
          "S-2026-0010,Proof of Residency,../../../etc/passwd,\(sha)\nS-2026-0013,Proof of Residency,/etc/passwd,\(sha)\nS-2026-0014,Proof of Residency,scan\u{1B}[31m.pdf,\(sha)\n"
            .utf8))
      handle.closeFile()
      let broken = [
        "S-2026-0001", "S-2026-0004", "S-2026-0006", "S-2026-0007", "S-2026-0010", "S-2026-0013",
        "S-2026-0014",
      ]

      let run = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 0, "\(run.stderr)")
      let batch = try #require(try workdir.state.allBatches().last)
      #expect(batch.state == .closed)
      let deliver = workdir.stageFolder(batch.id, .deliver)
      let errors = Array(try csvRows(deliver + "/errors.csv").dropFirst())
      func error(_ id: String) -> [String]? { errors.first { $0[0] == id && $0[1] == "document" } }
      // errorsHeader: Submission_ID, Schema, Seq, Field, Value, Reason, What_To_Do, Stage, File, Line
      let lines = try csvRows(Checkout.demoDistrict + "/enrollment-csv/submission_documents.csv")
      func line(_ id: String, _ file: String) -> String {
        String((lines.firstIndex { $0[0] == id && $0[2] == file } ?? -1) + 1)
      }
      let missing = try #require(error("S-2026-0001"))
      #expect(
        missing[3] == "File_Name" && missing[4] == "lease.pdf" && missing[5].contains("missing")
          && missing[7] == "parse")
      #expect(
        missing[8] == "input/submission_documents.csv"
          && missing[9] == line("S-2026-0001", "lease.pdf"))
      let altered = try #require(error("S-2026-0004"))
      #expect(
        altered[3] == "SHA256" && altered[5].contains("documents/S-2026-0004/utility-bill.pdf")
          && altered[5].contains(SHA256.hex("altered on the way")))
      #expect(altered[9] == line("S-2026-0004", "utility-bill.pdf"))
      let extra = try #require(error("S-2026-0006"))
      #expect(
        extra[4] == "extra-scan.pdf" && extra[5].contains("extra file")
          && extra[8] == "input/documents/S-2026-0006/extra-scan.pdf")
      let link = try #require(error("S-2026-0007"))
      #expect(
        link[4] == "water-bill.jpg" && link[5].contains("a symbolic link")
          && link[9] == line("S-2026-0007", "water-bill.jpg"))
      let parent = try #require(error("S-2026-0010"))
      #expect(parent[5].contains("leads out of the submission's folder") && parent[9] == "119")
      let absolute = try #require(error("S-2026-0013"))
      #expect(absolute[5].contains("absolute path") && absolute[9] == "120")
      let control = try #require(error("S-2026-0014"))
      #expect(control[5].contains("control character") && control[9] == "121")

      // The rest goes on; nothing of the broken submissions reaches the outbox.
      let expected = try DemoExpectation.load()
      let deliveredIDs = Set(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] })
      #expect(
        deliveredIDs
          == Set(expected.delivery.filter { $0.value == "delivered" }.map(\.key)).subtracting(
            broken))
      let outboxDocuments = workdir.outbox(config) + "/\(batch.id)_documents"
      #expect(
        Set(try FileManager.default.contentsOfDirectory(atPath: outboxDocuments)).isDisjoint(
          with: broken))
      #expect(!FileManager.default.fileExists(atPath: outboxDocuments + "/S-2026-0004"))
      // The link was neither followed nor claimed: still in the inbox, its target nowhere else.
      let stayed = try FileManager.default.destinationOfSymbolicLink(
        atPath: documents + "/S-2026-0007/water-bill.jpg")
      #expect(stayed == root + "/outside-secret.txt")
      for folder in [workdir.batchesFolder, workdir.archive(config), workdir.outbox(config)] {
        for path in filesBelow(folder) where !path.hasSuffix(".sqlite") {
          #expect(
            !(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + path))).contains(
              "not for the SIS".utf8), "\(path)")
        }
      }

      // Counted in the log, the status, the report and the notification; no document name in the log or mail.
      let report = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
      let status = try #require(
        try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
      let last = try #require((status["batches"] as? [[String: Any]])?.last)
      #expect(
        (last["rejected"] as? [String: Int])?["parse.document_errors"] == broken.count,
        "\(report.stdout)")
      #expect(
        run.stderr.contains("\(broken.count) document problems in \(broken.count) submissions"),
        "\(run.stderr)")
      #expect(
        run.stderr.contains(
          "warning: 1 entries of the inbox's documents folder are not uploaded files"),
        "\(run.stderr)")
      #expect(
        try readText(workdir.batchFolder(batch.id) + "/report.html").contains(
          "uploaded document problems (rejects.csv)"))
      let mail = try filesBelow(workdir.root + "/notifications").map {
        try readText(workdir.root + "/notifications/" + $0)
      }.joined()
      #expect(
        mail.contains(
          "uploaded document problems (missing, extra, SHA-256 differs, name refused): \(broken.count)"
        ), "\(mail)")
      for name in [
        "lease.pdf", "utility-bill", "extra-scan", "water-bill", "passwd", "scan", "\u{1B}",
      ] {
        #expect(!run.stderr.contains(name), "the log names \(name)")
        #expect(!mail.contains(name), "a notification names \(name)")
      }
    }
  }

  @Test func aDocumentAlreadyDeliveredIsNotSentAgain() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let night1 = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      // Night 2: the export again, S-2026-0001 changed (a new phone: delivered as an update), with
      // its lease.pdf (delivered last night, the same bytes) and a new document.
      let inbox = workdir.inbox(config)
      ReviewLoopTests.uploadExportForDocuments(inbox)
      var students = try readText(inbox + "/submissions.csv").components(separatedBy: "\n")
      let index = try #require(students.firstIndex { $0.hasPrefix("S-2026-0001,") })
      var cells = students[index].components(separatedBy: ",")
      cells[15] = "(217) 555-0199"
      students[index] = cells.joined(separator: ",")
      try FileManager.default.removeItem(atPath: inbox + "/submissions.csv")
      try writeFile(inbox + "/submissions.csv", students.joined(separator: "\n"))
      let newLease = "a new lease, signed this week"
      let handle = try #require(FileHandle(forWritingAtPath: inbox + "/submission_documents.csv"))
      handle.seekToEndOfFile()
      handle.write(
        Data("S-2026-0001,Proof of Residency,new-lease.pdf,\(SHA256.hex(newLease))\n".utf8))
      handle.closeFile()
      try writeFile(inbox + "/documents/S-2026-0001/new-lease.pdf", newLease)

      let night2 = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(night2.batch != night1.batch && night2.closed)
      let deliver = workdir.stageFolder(night2.batch, .deliver)
      #expect(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] } == ["S-2026-0001"])
      // The lease the SIS already has is listed as already delivered, with the batch that sent it.
      let lease = try #require(
        try Self.documentRows().first { $0[0] == "S-2026-0001" && $0[2] == "lease.pdf" })
      #expect(
        Array(try csvRows(deliver + "/documents_already_delivered.csv").dropFirst())
          == [["S-2026-0001", "1", "Proof of Residency", lease[3], night1.batch]])
      #expect(
        night2.counts["deliver.documents_already_delivered"] == 1
          && night2.counts["deliver.document_files"] == 1)
      // Only the new document goes out, listed in the ready file and the documents file.
      let outbox = workdir.outbox(config)
      let folder = "\(night2.batch)_documents"
      #expect(filesBelow(outbox + "/" + folder) == ["S-2026-0001/new-lease.pdf"])
      let ready = try csvRows(outbox + "/\(night2.batch).ready").dropFirst().filter {
        $0[0].hasPrefix(folder + "/")
      }
      #expect(
        ready.map { [$0[0], $0[1]] } == [
          ["\(folder)/S-2026-0001/new-lease.pdf", SHA256.hex(newLease)]
        ])
      #expect(
        try csvRows(outbox + "/\(night2.batch)_documents.csv").dropFirst().map { $0[4] } == [
          "new-lease.pdf"
        ])
      let sent = try workdir.state.database.rows(
        "SELECT delivery FROM delivered_documents WHERE sha256 = ?", [.text(lease[3])])
      #expect(sent.map { $0[0].string } == [night1.batch])

      // Rebuilt from the batch folders after the state database is lost, it still knows what was sent.
      let recorded = try workdir.state.database.rows(
        "SELECT sha256, delivery, submission_id, seq, path FROM delivered_documents ORDER BY sha256"
      )
      for suffix in ["", "-wal", "-shm"] { unlink(workdir.root + "/state.sqlite" + suffix) }
      let rebuilt = try runTool("sisdrop", ["rebuild-state", "--workdir", workdir.root])
      #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
      let again = try Database(path: workdir.root + "/state.sqlite")
        .rows(
          "SELECT sha256, delivery, submission_id, seq, path FROM delivered_documents ORDER BY sha256"
        )
      #expect(
        again.map { $0.map(\.string) } == recorded.map { $0.map(\.string) } && recorded.count == 96)
    }
  }

  @Test func aReDeliveryCarriesTheDocumentsOfWhatWasAnsweredSince() throws {
    try withTemporaryFolder { root in
      // auto_close false: the batch stays open, and an answer is delivered as its re-delivery r1.
      let pipeline = try writeFile(
        root + "/demo.yaml", try demoPipelineText([("auto_close: true", "auto_close: false")]))
      let (workdir, config, _) = try demoWorkdir(root + "/w")
      let night1 = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      #expect(!night1.closed)
      let accept = try runTool(
        "sisdrop",
        ["accept", "S-2026-0024", "First_Name", "--by", "registrar", "--workdir", workdir.root])
      #expect(accept.status == 0, "\(accept.stderr)")
      _ = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let redelivery = "\(night1.batch)-r1"
      let outbox = workdir.outbox(config)
      let bill = try #require(try Self.documentRows().first { $0[0] == "S-2026-0024" })
      let name = "\(redelivery)_documents/S-2026-0024/\(bill[2])"
      #expect(try SHA256.file(at: outbox + "/" + name).sha256 == bill[3])
      let ready = try csvRows(outbox + "/\(redelivery).ready").dropFirst()
      #expect(
        ready.filter { $0[0].hasPrefix("\(redelivery)_documents/") }.map { [$0[0], $0[1]] } == [
          [name, bill[3]]
        ])
      // Not in the batch's own delivery: it was held then.
      #expect(
        !FileManager.default.fileExists(atPath: outbox + "/\(night1.batch)_documents/S-2026-0024"))
    }
  }

  @Test func aDocumentStillBeingWrittenHoldsTheWholeFeedBack() throws {
    try withTemporaryFolder { root in
      let (workdir, config, pipeline) = try demoWorkdir(root + "/w")
      let inbox = workdir.inbox(config)
      let before = filesBelow(inbox)
      // The sender's sftp-server still writing one upload: nothing may be claimed, not even the CSVs.
      let writer = try #require(
        FileHandle(forWritingAtPath: inbox + "/documents/S-2026-0032/lease.pdf"))
      defer { writer.closeFile() }
      let run = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", workdir.root])
      #expect(run.status == 75, "\(run.stderr)")
      #expect(
        run.stderr.contains("uploaded documents of the submissions feed still arriving")
          || run.stderr.contains("uploaded document of the submissions feed still arriving"),
        "\(run.stderr)")
      #expect(!run.stderr.contains("lease.pdf"), "the log names the file: \(run.stderr)")
      #expect(
        run.stderr.contains(
          "documents/S-2026-0032/ (an uploaded document) is still arriving: open for writing by process \(getpid())"
        ), "\(run.stderr)")
      #expect(filesBelow(inbox) == before)
      #expect(try workdir.state.allBatches().isEmpty)
      #expect(filesBelow(workdir.outbox(config)).isEmpty)
    }
  }

  @Test func theDocumentsFoldersAreSettingsAndBadOnesAreRefused() throws {
    try withTemporaryFolder { root in
      let good = try writeFile(
        root + "/good.yaml",
        try demoPipelineText([
          (
            "submissions:\n  format: csv",
            "submissions:\n  format: csv\n  documents_folder: uploads"
          ),
          (
            "delivery:\n  profile: csv",
            "delivery:\n  documents_folder: \"files-{batch}\"\n  profile: csv"
          ),
        ]))
      let config = try PipelineConfig.load(path: good)
      #expect(config.submissions.documentsFolder == "uploads")
      #expect(config.delivery.documentsFolder(for: "20261123-01-r2") == "files-20261123-01-r2")
      for (edit, words) in [
        (
          ("delivery:\n  profile: csv", "delivery:\n  documents_folder: documents\n  profile: csv"),
          "must be one folder name of the outbox that contains {batch}"
        ),
        (
          (
            "delivery:\n  profile: csv",
            "delivery:\n  documents_folder: \"../{batch}\"\n  profile: csv"
          ), "must be one folder name of the outbox that contains {batch}"
        ),
        (
          (
            "submissions:\n  format: csv",
            "submissions:\n  format: csv\n  documents_folder: ../elsewhere"
          ), "is not a folder name of the inbox"
        ),
      ] {
        let bad = try writeFile(root + "/bad.yaml", try demoPipelineText([edit]))
        #expect {
          _ = try PipelineConfig.load(path: bad)
        } throws: { error in
          (error as? SISDropError)?.status == .configuration && "\(error)".contains(words)
        }
      }
    }
  }
}

extension ReviewLoopTests {
  /// The enrollment export uploaded again with its documents (documents/<Submission_ID>/<File_Name>).
  static func uploadExportForDocuments(_ inbox: String) {
    for name
      in (try? FileManager.default.contentsOfDirectory(
        atPath: Checkout.demoDistrict + "/enrollment-csv")) ?? []
    {
      try? FileManager.default.removeItem(atPath: inbox + "/" + name)
      try? FileManager.default.copyItem(
        atPath: Checkout.demoDistrict + "/enrollment-csv/" + name, toPath: inbox + "/" + name)
    }
  }
}
