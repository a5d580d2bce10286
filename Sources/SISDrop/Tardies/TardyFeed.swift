import Foundation

/// `tardy_codes.csv`: Raptor reason → SIS attendance code, with the seed's Active check box.
struct TardyCodeMap {
  struct Entry: Sendable, Hashable {
    var reason: String
    var code: String
    var active: Bool
    var line: Int
  }
  var entries: [String: Entry] = [:]

  /// - Throws: `SISDropError` 78 naming the file and line of a duplicate reason, a bad Active
  ///   value, or a code the SIS attendance codes do not have.
  static func load(path: String, knownCodes: Set<String>) throws -> TardyCodeMap {
    let reader: CSVTableReader
    do {
      reader = try CSVTableReader(path: path, layout: Layouts.tardyCodes, dialect: CSVDialect())
    } catch let error as SISDropError {
      throw SISDropError(.configuration, error.message, at: error.location, hint: error.hint)
    }
    var map = TardyCodeMap()
    while let record = try reader.next() {
      if let problem = record.problem { throw SISDropError.configuration(problem.reason, at: problem.location) }
      let reason = FieldRules.text(record[0])
      let code = FieldRules.text(record[1])
      let line = record.location.line ?? 0
      let active: Bool
      switch FieldRules.text(record[2]).lowercased() {
      case "yes", "y", "true", "1", "active": active = true
      case "no", "n", "false", "0", "inactive": active = false
      default:
        throw SISDropError.configuration("Active must be Yes or No, found '\(record[2])'", at: record.location,
                                         hint: "fix tardy_codes.csv")
      }
      let key = FieldRules.buildingKey(reason)
      if let earlier = map.entries[key] {
        throw SISDropError.configuration(
          "reason '\(reason)' is mapped twice (also on line \(earlier.line))", at: record.location,
          hint: "keep one row per Raptor reason in tardy_codes.csv")
      }
      if !knownCodes.isEmpty && !knownCodes.contains(code) {
        throw SISDropError.configuration(
          "reason '\(reason)' maps to attendance code '\(code)', which the SIS attendance codes export does not have",
          at: record.location, hint: "name an SIS Att_Code in tardy_codes.csv")
      }
      map.entries[key] = Entry(reason: reason, code: code, active: active, line: line)
    }
    return map
  }
}

/// The Raptor tardy feed (the second seed): `tardies.csv` + `building_map.csv` + `tardy_codes.csv`
/// → an attendance import file in the pipeline's delivery profile.
///
/// It runs as its own command (`sisdrop tardies`), not as a batch stage: Raptor records tardies
/// every school day, while an enrollment batch opens only when approved submissions arrive, and
/// one must not wait for the other. Each run gets a folder `tardies/<run>/` (input, the
/// attendance file, errors.csv, duplicates.csv, the ready file) and publishes to the outbox like a
/// batch. It matches against the newest SIS snapshot a batch loaded.
///
/// Never guessed: an unknown building, an unknown student, an unmapped or inactive reason or an
/// unreadable time goes to errors.csv with its row. The date is the district's calendar day (its
/// configured time zone). A tardy already delivered (same student, time and reason), in this file
/// or an earlier run, is sent once; `state.sqlite` remembers what was delivered (and a run a crash
/// interrupted is finished by the next one).
public enum TardyFeed {
  public static let errorsHeader = ["File", "Line", "Building", "Student_Number", "Occurred_At", "Reason", "Field", "Problem", "What_To_Do"]
  public static let duplicatesHeader = ["File", "Line", "Student_Number", "Occurred_At", "Reason", "Delivered_In"]
  public static let inboxFileName = "tardies.csv"

  public struct Result: Sendable, Codable {
    public var run: String
    public var folder: String
    public var delivered: Int
    public var errors: Int
    public var duplicates: Int
    public var files: [String]
  }

  /// One tardy resolved to SIS terms.
  struct Tardy: Hashable {
    var studentNumber: String
    var school: String
    var date: String
    var time: String
    var code: String
    var reason: String
    /// The instant, ISO 8601 with the district's offset: part of the duplicate key.
    var occurredAt: String
    var line: Int
  }

  /// Runs the feed on `input` (default: the inbox's tardies.csv, claimed into the run folder).
  ///
  /// - Throws: `SISDropError` 66 without a tardies file or an SIS snapshot; 78 for a bad mapping
  ///   file or a profile column Plugin.xml does not grant.
  public static func run(workdir: WorkDir, config: PipelineConfig, input: String? = nil, now: Date = Date(),
                         log: (String) -> Void = { _ in }) throws -> Result {
    let source = input ?? workdir.inbox(config) + "/" + inboxFileName
    guard FileSystem.exists(source) else {
      throw SISDropError.missingInput(source, hint: "Raptor's tardies.csv goes into the inbox, or name it with --file")
    }
    guard let buildingMapPath = config.buildingMapPath, let tardyCodesPath = config.tardyCodesPath else {
      throw SISDropError.configuration("the tardy feed needs mappings.building_map and mappings.tardy_codes", at: SourceLocation(path: config.path))
    }
    guard let reference = try workdir.state.latestSnapshot() else {
      throw SISDropError(.noInput, "no SIS snapshot yet: the tardy feed checks students and schools against it",
                         at: SourceLocation(path: workdir.root), hint: "run a batch (`sisdrop run`) with the SIS export first")
    }
    let snapshot = try Snapshot(path: FileSystem.absolute(reference.path, relativeTo: workdir.root))
    let schools = Set(try snapshot.schools().map(\.number))
    let codes = Set(try snapshot.database.rows("SELECT DISTINCT att_code FROM attendance_codes").compactMap { $0[0].string })
    var buildings: [String: String] = [:]
    for (name, number) in try BuildingMap.load(path: buildingMapPath, schools: schools) { buildings[FieldRules.buildingKey(name)] = number }
    let codeMap = try TardyCodeMap.load(path: tardyCodesPath, knownCodes: codes)
    let profile = try DeliverStage.checkedProfile(config, kinds: [.attendance])
    try recover(workdir: workdir, outbox: workdir.outbox(config))

    // The run's folder; the input is claimed into it first, so a rerun never reads it twice.
    let base = workdir.root + "/tardies"
    try FileSystem.makeDirectory(base)
    let day: String = {
      let formatter = DateFormatter()
      formatter.timeZone = config.timeZone
      formatter.locale = Locale(identifier: "en_US_POSIX")
      formatter.dateFormat = "yyyyMMdd"
      return formatter.string(from: now)
    }()
    let number = try FileSystem.listDirectory(base).filter { $0.hasPrefix("T\(day)-") }.count + 1
    let run = String(format: "T%@-%02d", day, number)
    let temporary = base + "/.\(run).tmp-\(getpid())"
    let final = base + "/" + run
    try FileSystem.removeTree(temporary)
    try FileSystem.makeDirectory(temporary + "/input")
    let claimed = temporary + "/input/" + inboxFileName
    try FileSystem.copyFile(source, to: claimed)

    var tardies: [Tardy] = []
    var errors: [[String]] = []
    var duplicates: [[String]] = []
    var seen: [String: Int] = [:]
    let delivered = try workdir.state.deliveredTardies()
    let reader = try CSVTableReader(path: claimed, layout: Layouts.tardies, dialect: CSVDialect())
    let fileName = "input/" + inboxFileName
    while let record = try reader.next() {
      let line = record.location.line ?? 0
      let row = [fileName, String(line), record[0], record[1], record[2], record[3]]
      func fail(_ field: String, _ problem: String, _ action: String) { errors.append(row + [field, problem, action]) }
      if let problem = record.problem {
        fail("", problem.reason, "fix the row in Raptor's export")
        continue
      }
      guard let school = buildings[FieldRules.buildingKey(record[0])] else {
        fail("Building", "building '\(record[0])' is not in building_map.csv", "map the Raptor building to an SIS school in building_map.csv, then run the feed on this file again")
        continue
      }
      let student = FieldRules.text(record[1])
      guard try snapshot.student(number: student) != nil else {
        fail("Student_Number", "student \(student) is not in the SIS export", "check the student number in Raptor")
        continue
      }
      guard let entry = codeMap.entries[FieldRules.buildingKey(record[3])] else {
        fail("Reason", "reason '\(record[3])' is not mapped in tardy_codes.csv", "map it to an SIS attendance code (Active: Yes), then run the feed on this file again")
        continue
      }
      guard entry.active else {
        fail("Reason", "reason '\(record[3])' is mapped to \(entry.code) but not Active", "set Active to Yes in tardy_codes.csv if it should be sent")
        continue
      }
      guard let instant = FieldRules.timestamp(record[2], zone: config.timeZone, datePatterns: [.iso, .monthDayYear]) else {
        fail("Occurred_At", "not a date and time", "fix the row in Raptor's export")
        continue
      }
      // The ISO text is in the district's zone: its date and time are the district's.
      let date = String(instant.prefix(10))
      let time = String(instant.dropFirst(11).prefix(8))
      let tardy = Tardy(studentNumber: student, school: school, date: date, time: time, code: entry.code, reason: entry.reason,
                        occurredAt: instant, line: line)
      let key = deliveredKey(tardy)
      if let earlier = delivered[key] {
        duplicates.append([fileName, String(line), student, instant, entry.reason, earlier])
        continue
      }
      if let first = seen[key] {
        duplicates.append([fileName, String(line), student, instant, entry.reason, "\(run) (line \(first))"])
        continue
      }
      seen[key] = line
      tardies.append(tardy)
    }

    let records = tardies.map { tardy in
      DeliveryRecord(kind: .attendance, submissionID: "", seq: tardy.line, fields: [
        "Student_Number": tardy.studentNumber, "SchoolID": tardy.school, "Att_Date": tardy.date, "Att_Code": tardy.code,
        "Att_Time": tardy.time, "Att_Comment": "Raptor tardy: \(tardy.reason)",
      ])
    }
    let context = DeliveryContext(prefix: run, batchTime: Clock.now(), districtName: config.districtName, schools: [:])
    var ready: [[String]] = []
    var files: [String] = []
    do {
      for file in try profile.write(records, kinds: [.attendance], context: context, folder: temporary) {
        let (hash, size) = try SHA256.file(at: temporary + "/" + file.name)
        ready.append([file.name, hash, String(size), String(file.rows)])
        files.append(file.name)
      }
      try DeliverStage.writeTable(temporary + "/errors.csv", header: errorsHeader, rows: errors)
      try DeliverStage.writeTable(temporary + "/duplicates.csv", header: duplicatesHeader, rows: duplicates)
      try DeliverStage.writeTable(temporary + "/delivered.csv", header: deliveredHeader,
                                  rows: tardies.map { [$0.studentNumber, $0.occurredAt, $0.reason] })
      try DeliverStage.writeTable(temporary + "/" + Publisher.readyName(run), header: ["File", "SHA256", "Size", "Rows"], rows: ready)
      try FileSystem.syncTree(temporary)
      try FileSystem.rename(temporary, to: final)
      try FileSystem.syncDirectory(base)
    } catch {
      try? FileSystem.removeTree(temporary)
      throw error
    }
    _ = try Publisher.publish(batch: run, deliverFolder: final, outbox: workdir.outbox(config))
    try workdir.state.recordDeliveredTardies(tardies.map { (deliveredKey($0), run) })
    if input == nil { try? FileSystem.removeTree(source) }
    log("tardies \(run): \(tardies.count) delivered, \(errors.count) in error, \(duplicates.count) already sent")
    return Result(run: run, folder: final, delivered: tardies.count, errors: errors.count, duplicates: duplicates.count, files: files)
  }

  /// The same tardy: same student, same instant, same Raptor reason.
  static func deliveredKey(_ tardy: Tardy) -> String { deliveredKey(tardy.studentNumber, tardy.occurredAt, tardy.reason) }

  static func deliveredKey(_ student: String, _ occurredAt: String, _ reason: String) -> String {
    "\(student)|\(occurredAt)|\(FieldRules.buildingKey(reason))"
  }

  public static let deliveredHeader = ["Student_Number", "Occurred_At", "Reason"]

  /// Finishes a run a crash interrupted: a run folder not yet recorded in `state.sqlite` is
  /// published (a no-op when it already is) and its tardies recorded, so they are neither lost nor sent twice.
  static func recover(workdir: WorkDir, outbox: String) throws {
    let base = workdir.root + "/tardies"
    guard FileSystem.isDirectory(base) else { return }
    let recorded = Set(try workdir.state.deliveredTardies().values)
    for run in try FileSystem.listDirectory(base).sorted() where !run.hasPrefix(".") && !recorded.contains(run) {
      let folder = base + "/" + run
      guard FileSystem.exists(folder + "/delivered.csv"), FileSystem.exists(folder + "/" + Publisher.readyName(run)) else { continue }
      _ = try Publisher.publish(batch: run, deliverFolder: folder, outbox: outbox)
      let keys = try BatchLifecycle.readTable(folder + "/delivered.csv").map { (deliveredKey($0[0], $0[1], $0[2]), run) }
      try workdir.state.recordDeliveredTardies(keys)
    }
  }
}

extension StateStore {
  private func ensureTardiesTable() throws {
    try database.execute("""
      CREATE TABLE IF NOT EXISTS delivered_tardies(
        tardy_key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL)
      """)
  }

  /// Tardies already delivered: key → the run that delivered it.
  func deliveredTardies() throws -> [String: String] {
    try ensureTardiesTable()
    var result: [String: String] = [:]
    for row in try database.rows("SELECT tardy_key, run_id FROM delivered_tardies") {
      if let key = row[0].string, let run = row[1].string { result[key] = run }
    }
    return result
  }

  func recordDeliveredTardies(_ entries: [(key: String, run: String)]) throws {
    try ensureTardiesTable()
    try database.inTransaction {
      let statement = try database.prepare("INSERT OR IGNORE INTO delivered_tardies(tardy_key, run_id) VALUES (?, ?)")
      for entry in entries {
        try statement.bind([.text(entry.key), .text(entry.run)])
        try statement.run()
      }
    }
  }
}
