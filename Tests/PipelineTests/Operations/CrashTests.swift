import Foundation
import SISDrop
import SISDropCore
import SISDropStore
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What a finished run leaves that must not depend on being killed and rerun: stage outputs,
/// the outbox, the archive, the ledger, the sealed manifest's records.
struct RunResult: Equatable {
  /// Files that carry wall-clock times (or, for the snapshot, SQLite page layout): compared through
  /// what they record, not byte for byte.
  /// publication.json records when (and from which attempt, which a rerun may number differently):
  /// compared by the batch it names.
  static let timestamped: Set<String> = [
    "stage.json", "manifest.json", "pipeline.yaml", "snapshot.json", "snapshot.sqlite",
    "report.html", "publication.json",
  ]

  /// The fields that differ, by name (the values are too long to print).
  func differences(from other: RunResult) -> [String] {
    var names: [String] = []
    for name in Set(stageFiles.keys).union(other.stageFiles.keys).sorted()
    where stageFiles[name] != other.stageFiles[name] {
      names.append(name)
    }
    for name in Set(outbox.keys).union(other.outbox.keys).sorted()
    where outbox[name] != other.outbox[name] { names.append("outbox/\(name)") }
    if archive != other.archive { names.append("archive \(archive)") }
    if ledger != other.ledger { names.append("ledger") }
    if batches != other.batches { names.append("batches \(batches)") }
    if published != other.published { names.append("manifest published") }
    if inputs != other.inputs { names.append("manifest inputs") }
    if counts != other.counts { names.append("manifest counts") }
    if delivered != other.delivered { names.append("manifest delivered") }
    if returnedToPending != other.returnedToPending { names.append("manifest returned_to_pending") }
    if snapshots != other.snapshots { names.append("snapshot register \(snapshots)") }
    if deliveredIDs != other.deliveredIDs {
      names.append("delivered_ids (\(deliveredIDs.count) vs \(other.deliveredIDs.count))")
    }
    if redeliveries != other.redeliveries {
      names.append("redeliveries \(redeliveries) vs \(other.redeliveries)")
    }
    return names
  }

  var stageFiles: [String: Data]
  var outbox: [String: Data]
  var archive: [String]
  var ledger: [[String]]
  var batches: [String]
  var published: [FileRecord]
  var inputs: [FileRecord]
  var counts: [String: Int]
  var delivered: [String]
  var returnedToPending: [String]
  var snapshots: [[String]]
  /// The stable ids (state.sqlite) without their wall-clock time.
  var deliveredIDs: [[String]]
  /// Every entry of every batch's redeliveries/ folder, hidden ones too (a temporary folder left is a difference).
  var redeliveries: [String]

  init(_ root: String) throws {
    let workdir = try WorkDir(root: root)
    let batches = try workdir.state.allBatches()
    self.batches = batches.map { "\($0.id) \($0.state.rawValue)" }
    stageFiles = [:]
    archive = []
    published = []
    inputs = []
    counts = [:]
    delivered = []
    returnedToPending = []
    redeliveries = []
    for batch in batches {
      redeliveries +=
        ((try? FileManager.default.contentsOfDirectory(
          atPath: workdir.batchFolder(batch.id) + "/redeliveries")) ?? [])
        .sorted().map { "\(batch.id)/\($0)" }
      let files = try folderContents(
        workdir.batchFolder(batch.id), excluding: RunResult.timestamped)
      for (name, data) in files where !name.contains(".attempt-") {
        stageFiles["\(batch.id)/\(name)"] = data
      }
      let publication = workdir.batchFolder(batch.id) + "/published/publication.json"
      if FileManager.default.fileExists(atPath: publication) {
        let record =
          try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: publication))) as? [String: Any]
        stageFiles["\(batch.id)/published/publication.json (batch)"] = Data(
          ((record?["batch"] as? String) ?? "?").utf8)
      }
      archive +=
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/archive/\(batch.id)")) ?? [])
        .sorted()
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      let manifest = try decoder.decode(
        BatchManifest.self,
        from: Data(
          contentsOf: URL(fileURLWithPath: workdir.batchFolder(batch.id) + "/manifest.json")))
      published += manifest.published
      inputs += manifest.inputs
      counts.merge(manifest.counts) { $1 }
      delivered += manifest.delivered
      returnedToPending += manifest.returnedToPending
    }
    outbox = try visibleFiles(root + "/outbox")
    snapshots = try workdir.state.database.rows(
      "SELECT batch_id, path, sha256, students, contacts FROM snapshots ORDER BY batch_id"
    )
    .map { $0.map { $0.string ?? "" } }
    deliveredIDs = try workdir.state.database.rows(
      "SELECT sourced_id, kind, ref, state_id, sis_id, batch FROM delivered_ids ORDER BY sourced_id"
    )
    .map { $0.map { $0.string ?? "" } }
    ledger = try workdir.state.database.rows(
      "SELECT submission_id, status, coalesce(batch_id, ''), coalesce(delivered_hash, ''), coalesce(delivered_batch, '') FROM ledger ORDER BY submission_id"
    ).map { $0.map { $0.string ?? "" } }
  }
}

func visibleFiles(_ folder: String) throws -> [String: Data] {
  var result: [String: Data] = [:]
  for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
  where !name.hasPrefix(".") {
    var isFolder: ObjCBool = false
    // A delivery's documents folder: its files by relative path.
    if FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isFolder),
      isFolder.boolValue
    {
      for (path, data) in try visibleFiles(folder + "/" + name) { result[name + "/" + path] = data }
      continue
    }
    result[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
  }
  return result
}

/// The kinds of notification files in a working directory.
func notificationKinds(_ root: String) -> Set<String> {
  let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/notifications")) ?? []
  return Set(
    names.compactMap { name in
      ["status-change", "review", "run-failed"].first { name.contains("-\($0)-") }
    })
}

/// The demo pipeline with the district's day far from midnight: a batch is named by the district's
/// date, and this suite's runs take many minutes, so with the demo's zone a reference run before
/// midnight and its reruns after it would name different batches (06:00 UTC is midnight in Chicago).
/// A fixed zone whose local time is about noon now keeps every run of a test on one day.
func middayPipeline(_ root: String) throws -> String {
  let pipeline = try demoPipeline(root, extra: "")
  let offset =
    12 - Calendar(identifier: .gregorian).dateComponents(
      in: TimeZone(identifier: "UTC")!, from: Date()
    ).hour!
  // POSIX's Etc zones count the other way: Etc/GMT-5 is five hours ahead of UTC.
  let zone = offset >= 0 ? "Etc/GMT-\(offset)" : "Etc/GMT+\(-offset)"
  let text = try readText(pipeline)
  #expect(text.contains("time_zone: America/Chicago"), "the demo pipeline names its zone")
  try FileManager.default.removeItem(atPath: pipeline)
  return try writeFile(
    pipeline,
    text.replacingOccurrences(of: "time_zone: America/Chicago", with: "time_zone: \(zone)"))
}

@Suite(.serialized) struct CrashTests {
  /// Kills `sisdrop run` with SIGKILL at deterministic points spread over every write of a run
  /// (claim, every stage, publish, close, status, notifications), reruns it each time, and checks
  /// that the end state equals an uninterrupted run's.
  @Test func killedAtEveryKindOfWritePointARerunFinishesTheSameJob() throws {
    try withTemporaryFolder { root in
      let pipeline = try middayPipeline(root)
      // The reference, with its write points counted.
      _ = try demoWorkdir(root + "/ref")
      let trace = root + "/trace"
      let reference = try runTool(
        "sisdrop", ["run", "--pipeline", pipeline, "--workdir", root + "/ref"],
        environment: ["SISDROP_CRASH_TRACE": trace])
      #expect(reference.status == 0, "\(reference.stderr)")
      let points = try readText(trace).split(separator: "\n")
      let kinds = Set(points.map { $0.split(separator: " ", maxSplits: 1)[1] })
      #expect(kinds.isSuperset(of: ["write", "rename", "fsync folder", "commit"]), "\(kinds)")
      let total = points.count
      #expect(total >= 60, "a run has \(total) write points")
      let expected = try RunResult(root + "/ref")
      #expect(expected.batches.count == 1 && !expected.published.isEmpty)
      #expect(
        !expected.deliveredIDs.isEmpty,
        "the demo delivers new children: their stable ids are recorded")
      let expectedKinds = notificationKinds(root + "/ref")

      // 52 points, evenly spread from the first to the last (deterministic: the same every run).
      let chosen = Set((0..<52).map { 1 + $0 * (total - 1) / 51 }).sorted()
      #expect(chosen.count >= 50 && chosen.first == 1 && chosen.last == total)
      for point in chosen {
        let folder = root + "/kill-\(point)"
        _ = try demoWorkdir(folder)
        let killed = try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder],
          environment: ["SISDROP_CRASH_AT": "\(point)"])
        #expect(
          killed.status == SIGKILL,
          "point \(point): the run was not killed (\(killed.status)): \(killed.stderr)")
        // Whatever the outbox shows is whole: each visible file is the uninterrupted run's file.
        for (name, data) in try visibleFiles(folder + "/outbox") {
          #expect(
            expected.outbox[name] == data, "point \(point): partial or wrong \(name) in the outbox")
        }
        let rerun = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder])
        #expect(rerun.status == 0, "point \(point): the rerun failed: \(rerun.stderr)")
        let result = try RunResult(folder)
        #expect(
          result.differences(from: expected).isEmpty,
          "point \(point): differs from the uninterrupted run: \(result.differences(from: expected))"
        )
        #expect(
          Set(result.delivered).count == result.delivered.count,
          "point \(point): a submission delivered twice")
        let integrity = try Database(path: folder + "/state.sqlite").scalar(
          "PRAGMA integrity_check")
        #expect(integrity.string == "ok", "point \(point)")
        let status = try WorkDir(root: folder).state.integrationStatus()
        #expect(
          status?.state == .synchronizing && status?.runningSince == nil,
          "point \(point): status \(String(describing: status?.state))")
        #expect(
          notificationKinds(folder) == expectedKinds,
          "point \(point): notifications \(notificationKinds(folder))")
        #expect(
          try FileManager.default.contentsOfDirectory(atPath: folder + "/inbox").isEmpty,
          "point \(point): files left in the inbox")
        try FileManager.default.removeItem(atPath: folder)
      }
    }
  }

  /// The re-delivery path: a batch kept open for review is published, two potential matches are
  /// answered, and the next `sisdrop run` re-delivers them (deliver reruns after publication, then
  /// `rK`). Killed at each of that run's write points, a rerun and close leave the delivered ids, the
  /// re-deliveries (no temporary folder) and the ledger of the uninterrupted run.
  @Test func killedWhileReDeliveringARerunFinishesTheReDelivery() throws {
    try withTemporaryFolder { root in
      let pipeline = try middayPipeline(root)
      let text = try readText(pipeline).replacingOccurrences(
        of: "auto_close: true", with: "auto_close: false")
      try FileManager.default.removeItem(atPath: pipeline)
      try writeFile(pipeline, text)
      let prepared = root + "/prepared"
      _ = try demoWorkdir(prepared)
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", prepared]).status == 0)
      for answer in [["S-2026-0028", "--match", "107328"], ["S-2026-0029", "--no-match"]] {
        let result = try runTool("sisdrop", ["resolve"] + answer + ["--workdir", prepared])
        #expect(result.status == 0, "\(result.stderr)")
      }
      func copy(_ name: String) throws -> String {
        try copyWorkdir(prepared, to: root + "/" + name)
      }
      let reference = try copy("ref")
      let trace = root + "/trace"
      #expect(
        try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", reference],
          environment: ["SISDROP_CRASH_TRACE": trace]
        ).status == 0)
      #expect(try runTool("sisdrop", ["close", "--workdir", reference]).status == 0)
      let expected = try RunResult(reference)
      #expect(
        expected.redeliveries.count == 1 && expected.redeliveries[0].hasSuffix("/r1"),
        "\(expected.redeliveries)")
      #expect(
        expected.deliveredIDs.contains { $0[2] == "S-2026-0029/1" },
        "the re-delivered new child's id is recorded")
      #expect(
        expected.delivered.contains("S-2026-0028") && expected.delivered.contains("S-2026-0029"))
      let kinds = try readText(trace).split(separator: "\n").map {
        String($0.split(separator: " ", maxSplits: 1)[1])
      }
      let total = kinds.count
      #expect(total >= 20, "the re-delivering run has \(total) write points")
      let chosen = CrashTests.pointsAcrossRuns(kinds)
      #expect(
        chosen.first == 1 && chosen.last == total && chosen.count >= 20,
        "\(chosen.count) of \(total) points")
      for point in chosen {
        let folder = try copy("kill-\(point)")
        let killed = try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder],
          environment: ["SISDROP_CRASH_AT": "\(point)"])
        #expect(
          killed.status == SIGKILL,
          "point \(point): the run was not killed (\(killed.status)): \(killed.stderr)")
        let rerun = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder])
        #expect(rerun.status == 0, "point \(point): the rerun failed: \(rerun.stderr)")
        let close = try runTool("sisdrop", ["close", "--workdir", folder])
        #expect(close.status == 0, "point \(point): close failed: \(close.stderr)")
        let result = try RunResult(folder)
        #expect(
          result.differences(from: expected).isEmpty,
          "point \(point): differs from the uninterrupted run: \(result.differences(from: expected))"
        )
        try FileManager.default.removeItem(atPath: folder)
      }
    }
  }

  /// An answer file is recorded whole or not at all: killed at each write point of the run that
  /// takes it (the shipped `auto_close: true`, the night after the batch closed), the rerun records
  /// the same answers once, each with one history line, and archives the file once. Killed after
  /// the first answer was recorded and before the file's transaction commits, nothing is recorded
  /// and the file is still in the inbox.
  @Test func killedWhileTakingAnAnswerFileTheRerunTakesItWholeOnce() throws {
    try withTemporaryFolder { root in
      let pipeline = try middayPipeline(root)
      let (prepared, config, _) = try demoWorkdir(root + "/prepared")
      #expect(
        try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", prepared.root]).status
          == 0)
      let inbox = prepared.inbox(config)
      _ = try writeFile(
        inbox + "/resolutions.csv",
        "Submission_ID,Student_Seq,SIS_ID,Resolved_By\nS-2026-0028,1,107328,office\nS-2026-0029,1,no-match,office\n"
      )
      func recorded(_ folder: String) throws -> (answers: [[String]], history: [[String]]) {
        let database = try Database(path: folder + "/state.sqlite")
        return (
          try database.rows(
            "SELECT submission_id, student_seq, action, coalesce(sis_id, ''), resolved_by, source FROM resolutions ORDER BY submission_id"
          ).map { $0.map { $0.string ?? $0.int.map(String.init) ?? "" } },
          try database.rows(
            "SELECT submission_id, event, what FROM answer_events ORDER BY seq"
          ).map { $0.map { $0.string ?? "" } }
        )
      }
      func archived(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/archive/answers")) ?? [])
          .filter { $0.hasSuffix("-resolutions.csv") }
      }
      let reference = try copyWorkdir(prepared.root, to: root + "/ref")
      let trace = root + "/trace"
      #expect(
        try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", reference],
          environment: ["SISDROP_CRASH_TRACE": trace]
        ).status == 0)
      let expected = try recorded(reference)
      #expect(expected.answers.count == 2 && expected.history.count == 2, "\(expected)")
      #expect(archived(reference).count == 1)
      let kinds = try readText(trace).split(separator: "\n").map {
        String($0.split(separator: " ", maxSplits: 1)[1])
      }
      let answerPoints = kinds.indices.filter { kinds[$0] == "answer-recorded" }.map { $0 + 1 }
      #expect(answerPoints.count == 2, "\(kinds)")
      for point in 1...kinds.count {
        let folder = try copyWorkdir(prepared.root, to: root + "/kill-\(point)")
        let killed = try runTool(
          "sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder],
          environment: ["SISDROP_CRASH_AT": "\(point)"])
        #expect(killed.status == SIGKILL, "point \(point): not killed: \(killed.stderr)")
        if answerPoints.contains(point) {
          #expect(
            try recorded(folder).answers.isEmpty && recorded(folder).history.isEmpty,
            "point \(point): answers recorded before the file's transaction committed")
          #expect(FileSystem.exists(folder + "/inbox/resolutions.csv"), "point \(point)")
        }
        let rerun = try runTool("sisdrop", ["run", "--pipeline", pipeline, "--workdir", folder])
        #expect(rerun.status == 0, "point \(point): the rerun failed: \(rerun.stderr)")
        let result = try recorded(folder)
        #expect(result.answers == expected.answers, "point \(point): \(result.answers)")
        #expect(result.history == expected.history, "point \(point): \(result.history)")
        #expect(!FileSystem.exists(folder + "/inbox/resolutions.csv"), "point \(point)")
        #expect(archived(folder).count == 1, "point \(point): \(archived(folder))")
        try FileManager.default.removeItem(atPath: folder)
      }
    }
  }

  /// The points to kill at, numbered from 1: every point, except inside a run of more than four
  /// points of the same kind in a row (one copy or fsync per document file, ~150 of them in the
  /// demo's re-delivery), where the first two and the last two stand for the rest: a kill between
  /// two copies of the same kind leaves the same kind of state as a kill at its neighbour, and
  /// killing at each of them tripled this suite's time without testing a new case.
  static func pointsAcrossRuns(_ kinds: [String]) -> [Int] {
    var chosen: [Int] = []
    var start = 0
    while start < kinds.count {
      var end = start
      while end + 1 < kinds.count && kinds[end + 1] == kinds[start] { end += 1 }
      let run = Array(start...end)
      chosen += run.count > 4 ? Array(run.prefix(2) + run.suffix(2)) : run
      start = end + 1
    }
    return chosen.map { $0 + 1 }
  }

  @Test func pointsAcrossRunsKeepEveryPointButTheMiddleOfLongRuns() {
    let kinds = [
      "commit", "copy", "copy", "copy", "copy", "copy", "copy", "write", "fsync folder",
      "fsync folder",
    ]
    #expect(CrashTests.pointsAcrossRuns(kinds) == [1, 2, 3, 6, 7, 8, 9, 10])
  }

  /// A cron run and a manual stage rerun started together: one runs, the other exits 75, and
  /// the result equals running them one after the other in that order.
  @Test func aCronRunAndAManualRerunStartedTogether() throws {
    try withTemporaryFolder { root in
      // auto_close off: the batch stays open, so a stage rerun after the cron run is meaningful.
      let pipeline = try middayPipeline(root)
      let text = try readText(pipeline).replacingOccurrences(
        of: "auto_close: true", with: "auto_close: false")
      try FileManager.default.removeItem(atPath: pipeline)
      try writeFile(pipeline, text)
      func prepared(_ name: String) throws -> String {
        let folder = root + "/" + name
        _ = try demoWorkdir(folder)
        let opened = try runTool("sisdrop", ["open", "--pipeline", pipeline, "--workdir", folder])
        #expect(opened.status == 0, "\(opened.stderr)")
        return folder
      }
      let cron = ["run", "--pipeline", pipeline, "--workdir"]
      let folder = try prepared("together")
      func start(_ tool: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = buildFolder().appendingPathComponent(tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
      }
      let run = try start("sisdrop", cron + [folder])
      let manual = try start("sisdrop-parse", ["--workdir", folder])
      run.waitUntilExit()
      manual.waitUntilExit()
      let statuses = [run.terminationStatus, manual.terminationStatus]
      #expect(statuses.allSatisfy { $0 == 0 || $0 == 75 }, "\(statuses)")
      // The one that found the working directory busy runs again afterwards, as cron or the operator would.
      let parses = try WorkDir(root: folder).state.stageRuns(
        batch: try WorkDir(root: folder).batch(nil).id
      ).filter { $0.stage == "parse" }
      var order: [String]
      if run.terminationStatus == 75 {
        order = ["manual", "cron"]
      } else if manual.terminationStatus == 75 {
        order = ["cron", "manual"]
      } else {
        // Both ran (one finished before the other started): two parse attempts mean cron went first.
        order = parses.count == 2 ? ["cron", "manual"] : ["manual", "cron"]
      }
      if run.terminationStatus == 75 {
        #expect(try runTool("sisdrop", cron + [folder]).status == 0)
      }
      if manual.terminationStatus == 75 {
        #expect(try runTool("sisdrop-parse", ["--workdir", folder]).status == 0)
      }

      // The same two, one after the other in that order, in a fresh working directory.
      let sequential = try prepared("sequential")
      for step in order {
        let result =
          step == "cron"
          ? try runTool("sisdrop", cron + [sequential])
          : try runTool("sisdrop-parse", ["--workdir", sequential])
        #expect(result.status == 0, "\(step): \(result.stderr)")
      }
      let together = try WorkDir(root: folder)
      let alone = try WorkDir(root: sequential)
      let batch = try together.batch(nil).id
      #expect(batch == (try alone.batch(nil).id))
      let a = try folderContents(together.batchFolder(batch), excluding: RunResult.timestamped)
      let b = try folderContents(alone.batchFolder(batch), excluding: RunResult.timestamped)
      #expect(a.keys.sorted() == b.keys.sorted(), "order \(order)")
      for (name, data) in b {
        #expect(a[name] == data, "\(name) differs (order \(order))")
      }
      for stage in Stage.allCases {
        #expect(
          StageRunner.problem(with: stage, workdir: together, batch: batch)
            == StageRunner.problem(with: stage, workdir: alone, batch: batch))
      }
    }
  }
}
