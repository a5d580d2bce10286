import Foundation
import SISDropConfig
import SISDropCore
import SISDropDelivery
import SISDropFormats
import SISDropStore

#if canImport(Glibc)
import Glibc
#endif

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
      if let problem = record.problem {
        throw SISDropError.configuration(
          problem.reason, at: problem.location, hint: "fix that line of tardy_codes.csv")
      }
      let reason = FieldRules.text(record[0])
      let code = FieldRules.text(record[1])
      let line = record.location.line ?? 0
      let active: Bool
      switch FieldRules.text(record[2]).lowercased() {
      case "yes", "y", "true", "1", "active": active = true
      case "no", "n", "false", "0", "inactive": active = false
      default:
        throw SISDropError.configuration(
          "Active must be Yes or No, found '\(record[2])'", at: record.location,
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
/// Never guessed: an unknown building, an empty or unknown student number, a building that is not
/// the school the SIS has the student enrolled at, an unmapped or inactive reason or an unreadable
/// time goes to errors.csv with its row, as does a tardy dated after the run's day. The
/// date is the district's calendar day (its configured time zone).
///
/// The SIS keeps one attendance record per student, school and day, so that is what is sent once:
/// the earliest tardy of a student's day at a school, in this file or an earlier run. Another tardy
/// of a day already sent with the same attendance code is "already sent" (duplicates.csv); one
/// with another code is not sent, it is listed for a person to change the SIS record by hand
/// (another-code.csv, its own count). `state.sqlite` remembers the days sent (and the tardies
/// older runs recorded by student, instant and reason); a run a crash interrupted is finished by
/// the next one.
package enum TardyFeed {
  package static let errorsHeader = [
    "File", "Line", FieldName.building, FieldName.studentNumber, FieldName.occurredAt,
    FieldName.reason, "Field", "Problem",
    "What_To_Do",
  ]
  package static let duplicatesHeader = [
    "File", "Line", FieldName.studentNumber, FieldName.occurredAt, FieldName.reason, "Delivered_In",
  ]
  /// Tardies of a day already sent (or chosen earlier in the file) with another attendance code:
  /// not sent, for a person to change the SIS's record of that day by hand.
  package static let anotherCodeHeader = [
    "File", "Line", FieldName.studentNumber, FieldName.schoolID, "Date", FieldName.occurredAt,
    FieldName.reason, FieldName.attCode, "Sent_Att_Code", "Sent_In", "What_To_Do",
  ]
  package static let anotherCodeFileName = "another-code.csv"
  package static let inboxFileName = "tardies.csv"

  package struct Result: Sendable, Codable {
    package var run: String
    package var folder: String
    package var delivered: Int
    package var errors: Int
    package var duplicates: Int
    /// Tardies of a day already sent with another code: not sent, to change in the SIS by hand.
    package var anotherCode: Int
    package var files: [String]

    /// The run's counts in one line, for its output and the log (counts only, no values).
    package var counts: String {
      "\(delivered) delivered, \(errors) in error, \(duplicates) already sent, \(anotherCode) for a day already sent with another code"
    }
  }

  /// One tardy resolved to SIS terms.
  struct Tardy: Hashable {
    var studentNumber: String
    var school: String
    var date: String
    var time: String
    var code: String
    var reason: String
    /// The instant, ISO 8601 with the district's offset.
    var occurredAt: String
    var line: Int

    /// The SIS's attendance record: one per student, school and day.
    var dayKey: String { "\(studentNumber)|\(school)|\(date)" }
  }

  /// tardies.csv is read as UTF-8 (a BOM's UTF-16 too): the pipeline has no encoding setting for
  /// the tardy feed, so a row that is not UTF-8 says what does work.
  static let dialect = CSVDialect(
    notUTF8Advice:
      "is this file Windows-1252? the tardy feed reads UTF-8 only (it has no encoding setting): export it from Raptor as UTF-8, or convert it (iconv -f windows-1252 -t utf-8) and run the feed on the converted file with --file"
  )

  static let notTakenYet = "\(inboxFileName) is not taken yet: "

  /// What holds the inbox's tardies.csv back ("tardies.csv is still arriving: open for writing by
  /// process N (sftp-server)"), when `error` is the run's 75 for a file still arriving; nil for any
  /// other error (a busy working directory included).
  static func stillArriving(_ error: any Error) -> String? {
    guard let error = error as? SISDropError, error.status == .temporaryFailure,
      error.message.hasPrefix(notTakenYet + "still arriving: ")
    else { return nil }
    return "\(inboxFileName) is " + error.message.dropFirst(notTakenYet.count)
  }

  /// Refuses a path named on the command line (--file) that leads to nothing (66) or not to a
  /// regular file (65), without opening it.
  package static func checkNamedFile(_ path: String) throws {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw SISDropError(
        .noInput, "file not found (--file): nothing was read",
        at: SourceLocation(path: path),
        hint:
          "check the path given with --file: Raptor's tardies CSV file, a relative path taken from the current folder (\(FileManager.default.currentDirectoryPath))"
      )
    }
    guard info.st_mode & S_IFMT != S_IFREG else { return }
    let what = InboxFile.refusal(info) ?? "not a regular file"
    throw SISDropError(
      .dataError,
      "\((path as NSString).lastPathComponent) is \(what), not a tardies export: nothing was read",
      at: SourceLocation(path: path), hint: "name Raptor's tardies CSV file itself with --file")
  }

  /// Runs the feed on `input` (default: the inbox's tardies.csv, claimed into the run folder).
  ///
  /// - Throws: `SISDropError` 66 without a tardies file or an SIS snapshot; 78 for a bad mapping
  ///   file or a profile column Plugin.xml does not grant.
  package static func run(
    workdir: WorkDir, config: PipelineConfig, input: String? = nil, now: Date = Date(),
    log: (String) -> Void = { _ in }
  ) throws -> Result {
    let source = input ?? workdir.inbox(config) + "/" + inboxFileName
    // Under the work-dir lock: a run folder still being written belongs to a killed run; one in
    // place but not recorded is finished, whether or not a new tardies file has come.
    try putBackKilledClaims(workdir: workdir, config: config, log: log)
    try recover(workdir: workdir, outbox: workdir.outbox(config), log: log)
    // A file named with --file may be a link the operator made, but must end at a regular file:
    // a FIFO would hang the run and a folder or device is not a tardies export.
    if let input { try checkNamedFile(input) }
    guard FileSystem.exists(source) else {
      throw SISDropError.missingInput(
        source, hint: "Raptor's tardies.csv goes into the inbox, or name it with --file")
    }
    // The inbox's tardies.csv: a regular file with one name, or refused by name without being opened.
    if input == nil { try InboxFile.check(source) }
    // Never half an upload: the inbox's tardies.csv is claimed only once it has been unchanged for
    // the quiet period and no process holds it open for writing, as every feed file is (75 until
    // then, nothing claimed: the timer's next run takes it). Raptor uploads during the school day,
    // while the timer runs; claimed mid-upload, the rows written after the claim were never sent.
    if input == nil,
      let why = Inbox(path: workdir.inbox(config), config: config).whyNotReady(inboxFileName)
    {
      throw SISDropError(
        .temporaryFailure, notTakenYet + why, at: SourceLocation(path: source),
        hint: "the next run takes it once it is complete")
    }
    guard let buildingMapPath = config.buildingMapPath, let tardyCodesPath = config.tardyCodesPath
    else {
      throw SISDropError.configuration(
        "the tardy feed needs mappings.building_map and mappings.tardy_codes",
        at: SourceLocation(path: config.path),
        hint:
          "name both files in the pipeline's mappings: section (building_map: FILE, tardy_codes: FILE; pipelines/demo.yaml has an example)"
      )
    }
    // The layout first: an attendance file that cannot carry a tardy is a configuration error (78).
    let profile = try DeliverStage.checkedProfile(config, kinds: [.attendance])
    guard let reference = try workdir.state.latestSnapshot() else {
      throw SISDropError(
        .noInput, "no SIS snapshot yet: the tardy feed checks students and schools against it",
        at: SourceLocation(path: workdir.root),
        hint: "run a batch (`sisdrop run`) with the SIS export first")
    }
    let snapshot = try Snapshot(path: FileSystem.absolute(reference.path, relativeTo: workdir.root))
    let schools = Set(try snapshot.schools().map(\.number))
    let codes = Set(
      try snapshot.database.rows("SELECT DISTINCT att_code FROM attendance_codes").compactMap {
        $0[0].string
      })
    var buildings: [String: String] = [:]
    for (name, number) in try BuildingMap.load(path: buildingMapPath, schools: schools) {
      buildings[FieldRules.buildingKey(name)] = number
    }
    let codeMap = try TardyCodeMap.load(path: tardyCodesPath, knownCodes: codes)

    // The run's folder; the input is claimed into it first, so a rerun never reads it twice.
    let base = workdir.root + "/tardies"
    try FileSystem.makeDirectory(base)
    /// The run's day in the district's zone, as `format` writes it.
    func runDay(_ format: String) -> String {
      let formatter = DateFormatter()
      formatter.timeZone = config.timeZone
      formatter.locale = Locale(identifier: "en_US_POSIX")
      formatter.dateFormat = format
      return formatter.string(from: now)
    }
    let day = runDay("yyyyMMdd")
    let number = try FileSystem.listDirectory(base).filter { $0.hasPrefix("T\(day)-") }.count + 1
    let run = String(format: "T%@-%02d", day, number)
    // An inbox claim's folder is named `.claim-`: a killed run's claim is put back from it, while
    // a --file run's folder holds only a copy.
    let temporary = base + "/.\(run).\(input == nil ? "claim" : "tmp")-\(getpid())"
    let final = base + "/" + run
    try FileSystem.removeTree(temporary)
    try FileSystem.makeDirectory(temporary + "/input")
    let claimed = temporary + "/input/" + inboxFileName
    // The inbox file is claimed by rename (same filesystem), as `open` claims a batch's files: a
    // new export dropped under the same name while this run works is a new file, left for the next run.
    if input == nil {
      do {
        try FileSystem.rename(source, to: claimed)
      } catch let error as FileError where error.code == EXDEV {
        try FileSystem.copyFile(source, to: claimed, inboxFile: true)
        if unlink(source) != 0 { throw FileError.posix(errno, "remove", source) }
      }
      try FileSystem.syncDirectory((source as NSString).deletingLastPathComponent)
    } else {
      try FileSystem.copyFile(source, to: claimed)
    }
    /// A run that fails before its folder is in place gives the claimed file back to the inbox (or,
    /// when Raptor has uploaded a new tardies.csv meanwhile, to the archive's duplicates): never
    /// deleted, it may be the only copy of those tardies. A file it cannot move stays for the next run.
    func giveBack() {
      if input == nil {
        do {
          try ClaimReturn.putBack(
            input: temporary + "/input", inbox: workdir.inbox(config),
            archive: workdir.archive(config))
        } catch { return }
      }
      try? FileSystem.removeTree(temporary)
    }
    /// Names the file where the operator finds it, not the run folder it was read from.
    func located(_ error: any Error) -> any Error {
      guard var error = error as? SISDropError, error.location?.path == claimed else {
        return error
      }
      error.location?.path = source
      return error
    }

    var tardies: [Tardy] = []
    var errors: [[String]] = []
    var duplicates: [[String]] = []
    var anotherCode: [[String]] = []
    var records: [DeliveryRecord] = []
    let fileName = "input/" + inboxFileName
    // A tardy later than the run (beyond a clock's tolerance) has not happened yet; one dated
    // before `tardies.not_before` would be sent under the student's current school.
    let latest = now.addingTimeInterval(futureTolerance)
    let oldest = earliestDay(config.tardiesNotBefore, now: now, zone: config.timeZone)
    let runTime = runDay("yyyy-MM-dd HH:mm")
    do {
      // Looked up by key, row by row: the table holds every day sent for years, and reading it
      // whole each run made a run grow with that history, not with its file.
      let delivered = try DeliveredTardies(workdir.state, zone: config.timeZone, codes: codeMap)
      // Opened as an inbox file: an entry swapped in between the check and the claim is refused unread.
      let reader = try CSVTableReader(
        path: claimed, layout: Layouts.tardies, dialect: dialect, inboxFile: input == nil)
      // A last row without its line break may have been cut inside its last value (a Reason cut
      // to another mapped reason would send another code): an error row, not sent.
      reader.requireFinalLineBreak = true
      // Every row that could be sent, with its attendance record: which of a day's is sent is
      // decided once the whole file is read (the earliest, whatever its line).
      var candidates: [(tardy: Tardy, record: DeliveryRecord, at: Date)] = []
      let instants = ISO8601DateFormatter()
      instants.formatOptions = [.withInternetDateTime]
      while let record = try reader.next() {
        let line = record.location.line ?? 0
        // errors.csv is for people: a NUL or other control byte is shown as U+FFFD, as an
        // invalid UTF-8 byte already is, never copied into the file as it came.
        let values = (0..<4).map { visible(record[$0]) }
        let row = [fileName, String(line)] + values
        func fail(_ field: String, _ problem: String, _ action: String) {
          errors.append(row + [field, problem, action])
        }
        if let problem = record.problem {
          // The Field: the columns whose value holds a byte that could not be read as it came
          // (empty for a stray quote or a ragged row: no one column).
          let fields = zip(Layouts.tardies.fields, values).filter { $0.1.contains("\u{FFFD}") }
          fail(
            fields.map(\.0).joined(separator: " "), problem.reason,
            reader.recordIsCutOff
              ? "the upload may have been cut here: have Raptor export the file again and run `sisdrop tardies --file` on it (the rows already sent are not sent twice)"
              : "fix the row in Raptor's export")
          continue
        }
        guard let school = buildings[FieldRules.buildingKey(record[0])] else {
          fail(
            FieldName.building, "building '\(record[0])' is not in building_map.csv",
            "map the Raptor building to an SIS school in building_map.csv, then run the feed on this file again"
          )
          continue
        }
        let student = FieldRules.text(record[1])
        guard !student.isEmpty else {
          fail(
            FieldName.studentNumber, "the student number is empty",
            "fill in the student's SIS number in Raptor, then run the feed on its export again")
          continue
        }
        guard let enrolled = try snapshot.student(number: student) else {
          fail(
            FieldName.studentNumber, "student \(student) is not in the SIS export",
            "check the student number in Raptor")
          continue
        }
        // The record's SchoolID is the building's: it must be the school the SIS has the student
        // at, or the SIS gets attendance at a school the child does not attend.
        let sisSchool = FieldRules.text(enrolled.fields[FieldName.schoolID] ?? "")
        guard sisSchool == school else {
          fail(
            FieldName.building,
            sisSchool.isEmpty
              ? "the SIS export gives no school for the student: building '\(record[0])' (school \(school)) cannot be checked against it"
              : "the student is enrolled at another school in the SIS export: building '\(record[0])' is school \(school), the SIS has the student at \(sisSchool)",
            "check where the tardy was recorded in Raptor and the student's school in the SIS; once they agree (or the next SIS export shows a transfer), run the feed on this file again; nothing was sent for this row"
          )
          continue
        }
        guard let entry = codeMap.entries[FieldRules.buildingKey(record[3])] else {
          fail(
            FieldName.reason, "reason '\(record[3])' is not mapped in tardy_codes.csv",
            "map it to an SIS attendance code (Active: Yes), then run the feed on this file again")
          continue
        }
        guard entry.active else {
          fail(
            FieldName.reason, "reason '\(record[3])' is mapped to \(entry.code) but not Active",
            "set Active to Yes in tardy_codes.csv if it should be sent")
          continue
        }
        let instant: String
        switch occurred(record[2], zone: config.timeZone) {
        case .success(let value): instant = value
        case .failure(let problem):
          fail(
            FieldName.occurredAt, problem.message,
            "fix the row in Raptor's export (a date and time, with its UTC offset when the clocks change)"
          )
          continue
        }
        // The ISO text is in the district's zone: its date and time are the district's.
        let date = String(instant.prefix(10))
        let time = String(instant.dropFirst(11).prefix(8))
        guard let at = instants.date(from: instant), at <= latest else {
          fail(
            FieldName.occurredAt,
            "\(date) \(time.prefix(5)) is later than this run (\(runTime) \(config.timeZone.identifier)) by more than \(Int(futureTolerance / 60)) minutes: a tardy cannot be in the future",
            "fix the date and time in Raptor (or the clock of the computer that exported it), then run the feed on this file again; the row is not sent"
          )
          continue
        }
        if let oldest, date < oldest.day {
          fail(
            FieldName.occurredAt,
            "dated \(date), before \(oldest.day) (\(oldest.why)): it is not sent under the student's current school, which may not be the school of that day",
            "if the date is wrong, fix it in Raptor and run the feed on this file again; if it is right, record that day's tardy in the SIS by hand; the row is not sent"
          )
          continue
        }
        let tardy = Tardy(
          studentNumber: student, school: school, date: date, time: time, code: entry.code,
          reason: entry.reason,
          occurredAt: instant, line: line)
        let attendance = DeliveryRecord(
          kind: .attendance, submissionID: "", seq: tardy.line,
          fields: [
            FieldName.studentNumber: tardy.studentNumber, FieldName.schoolID: tardy.school,
            "Att_Date": tardy.date,
            FieldName.attCode: tardy.code,
            "Att_Time": tardy.time, "Att_Comment": "Raptor tardy: \(tardy.reason)",
          ])
        // A value the delivery file cannot hold (a reason windows-1252 lacks) is this row's error, not the run's.
        if let problem = profile.problem(with: attendance) {
          fail(
            problem.field, problem.reason,
            "change the reason's text in tardy_codes.csv (Att_Comment carries it), or set delivery.csv.encoding to utf-8 if the SIS import accepts it"
          )
          continue
        }
        candidates.append((tardy, attendance, at))
      }
      // One attendance record per student, school and day: the day's earliest tardy (the first
      // line at the same instant), unless the day was sent before. The others are the same
      // record again (its code: already sent) or a change a person makes in the SIS (another code).
      var chosen: [String: Tardy] = [:]
      for (tardy, record, _) in candidates.sorted(by: {
        ($0.at, $0.tardy.line) < ($1.at, $1.tardy.line)
      }) {
        let sent: (code: String?, run: String)
        if let first = chosen[tardy.dayKey] {
          sent = (first.code, "\(run) (line \(first.line))")
        } else if let earlier = try delivered.day(tardy) {
          sent = earlier
        } else {
          chosen[tardy.dayKey] = tardy
          tardies.append(tardy)
          records.append(record)
          continue
        }
        if sent.code == tardy.code {
          duplicates.append([
            fileName, String(tardy.line), tardy.studentNumber, tardy.occurredAt, tardy.reason,
            sent.run,
          ])
        } else {
          anotherCode.append([
            fileName, String(tardy.line), tardy.studentNumber, tardy.school,
            tardy.date, tardy.occurredAt, tardy.reason, tardy.code,
            sent.code ?? "", sent.run,
            sent.code == nil
              ? "not sent: the SIS has this student's attendance record for the day (sent by an older sisdrop, code not known); if this code is the right one, change that record in the SIS by hand"
              : "not sent: the SIS keeps one attendance record per student, school and day, sent with \(sent.code ?? ""); if this code is the right one, change that record in the SIS by hand",
          ])
        }
      }
      // In the file's order, as ever.
      tardies.sort { $0.line < $1.line }
      records.sort { $0.seq < $1.seq }
      duplicates.sort { Int($0[1]) ?? 0 < Int($1[1]) ?? 0 }
      anotherCode.sort { Int($0[1]) ?? 0 < Int($1[1]) ?? 0 }
    } catch {
      giveBack()
      throw located(error)
    }
    let context = DeliveryContext(
      prefix: run, batchTime: Clock.now(), districtName: config.districtName, schools: [:])
    var ready: [[String]] = []
    var files: [String] = []
    do {
      for file in try profile.write(
        records, kinds: [.attendance], context: context, folder: temporary)
      {
        let (hash, size) = try SHA256.file(at: temporary + "/" + file.name)
        ready.append([file.name, hash, String(size), String(file.rows)])
        files.append(file.name)
      }
      try DeliverStage.writeTable(temporary + "/errors.csv", header: errorsHeader, rows: errors)
      try DeliverStage.writeTable(
        temporary + "/duplicates.csv", header: duplicatesHeader, rows: duplicates)
      try DeliverStage.writeTable(
        temporary + "/" + anotherCodeFileName, header: anotherCodeHeader, rows: anotherCode)
      try DeliverStage.writeTable(
        temporary + "/delivered.csv", header: deliveredHeader,
        rows: tardies.map {
          [$0.studentNumber, $0.occurredAt, $0.reason, $0.school, $0.date, $0.code]
        }, forPeople: false)
      // The ready file's own columns: `SHA256` is a delivered file's hash, not a document row's.
      try DeliverStage.writeTable(
        temporary + "/" + Publisher.readyName(run), header: ["File", "SHA256", "Size", "Rows"],
        rows: ready,
        forPeople: false)
      try FileSystem.syncTree(temporary)
      try FileSystem.rename(temporary, to: final)
      try FileSystem.syncDirectory(base)
    } catch {
      giveBack()
      throw error
    }
    // A run that sends nothing publishes nothing: `files` names only what is in the outbox.
    let published = Set(
      try Publisher.publish(batch: run, deliverFolder: final, outbox: workdir.outbox(config))
        .map(\.path))
    files = files.filter { published.contains($0) }
    try workdir.state.recordDeliveredTardies(tardies.map { SentDay($0, run: run) }, run: run)
    let result = Result(
      run: run, folder: final, delivered: tardies.count, errors: errors.count,
      duplicates: duplicates.count, anotherCode: anotherCode.count, files: files)
    log("tardies \(run): \(result.counts)")
    if !anotherCode.isEmpty {
      // Lines only: the student and the reason stay in the run's files.
      log(
        "warning: tardies \(run): \(anotherCode.count) for a day already sent with another code, not sent (\(fileName) \(linesText(anotherCode.map { $0[1] }))): change it in the SIS by hand if it is the right one; listed in \(final)/\(anotherCodeFileName)"
      )
    }
    return result
  }

  /// How much later than the run a tardy may be (the clocks of Raptor's computers and this one
  /// differ a little); later than that it has not happened yet.
  static let futureTolerance: TimeInterval = 15 * 60

  /// The first day a tardy may be dated (`tardies.not_before`), in the district's zone, with the
  /// rule in words; nil for `none`. The school year starts July 1.
  static func earliestDay(_ bound: TardyBound, now: Date, zone: TimeZone) -> (
    day: String, why: String
  )? {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    let parts = calendar.dateComponents([.year, .month, .day], from: now)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = zone
    formatter.dateFormat = "yyyy-MM-dd"
    switch bound {
    case .none:
      return nil
    case .schoolYear:
      let year = (parts.year ?? 1970) - ((parts.month ?? 1) >= 7 ? 0 : 1)
      return (
        String(format: "%04d-07-01", year),
        "the first day of this school year; tardies.not_before: school_year"
      )
    case .days(let days):
      let today = calendar.date(from: parts) ?? now
      let first = calendar.date(byAdding: .day, value: -days, to: today) ?? today
      return (
        formatter.string(from: first),
        "\(days) days before this run; tardies.not_before: \(days)"
      )
    }
  }

  /// A value as errors.csv shows it: control characters other than tab and line breaks (a NUL)
  /// and invalid UTF-8 (already decoded so) as U+FFFD.
  static func visible(_ value: String) -> String {
    guard value.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
      return value
    }
    return String(
      String.UnicodeScalarView(
        value.unicodeScalars.map {
          $0.value < 0x20 && !["\t", "\n", "\r"].contains($0) ? "\u{FFFD}" : $0
        }))
  }

  /// "line 4" or "lines 4, 9, 12", at most ten named.
  static func linesText(_ lines: [String]) -> String {
    let named = lines.prefix(10).joined(separator: ", ")
    let more = lines.count > 10 ? " and \(lines.count - 10) more" : ""
    return (lines.count == 1 ? "line " : "lines ") + named + more
  }

  /// The key runs before one record per day recorded a tardy by (`delivered_tardies`): student,
  /// instant and Raptor reason. Still read, so that an upgrade never sends such a day again.
  /// The instant is keyed in UTC: changing `district.time_zone` never makes a sent tardy new.
  static func deliveredKey(_ student: String, _ occurredAt: String, _ reason: String) -> String {
    let parse = ISO8601DateFormatter()
    parse.formatOptions = [.withInternetDateTime]
    let utc = ISO8601DateFormatter()
    utc.formatOptions = [.withInternetDateTime]
    utc.timeZone = TimeZone(identifier: "UTC")
    let instant = parse.date(from: occurredAt).map { utc.string(from: $0) } ?? occurredAt
    return "\(student)|\(instant)|\(FieldRules.buildingKey(reason))"
  }

  struct TimeProblem: Error { var message: String }

  /// When a tardy happened, as ISO 8601 with the district's offset — never guessed: a date with no
  /// time, or a local time the clocks skip (spring forward) or pass twice (fall back), is an error.
  static func occurred(_ value: String, zone: TimeZone) -> Swift.Result<String, TimeProblem> {
    let text = FieldRules.text(value)
    guard let local = FieldRules.timestamp(text, zone: zone, datePatterns: [.iso, .monthDayYear])
    else {
      return .failure(TimeProblem(message: "not a date and time"))
    }
    guard text.contains(":") else {
      return .failure(TimeProblem(message: "a date without a time of day"))
    }
    // The same text read as UTC: the same instant means the text carried its own offset (or Z).
    guard let utc = TimeZone(identifier: "UTC"),
      let asUTC = FieldRules.timestamp(text, zone: utc, datePatterns: [.iso, .monthDayYear])
    else {
      return .success(local)
    }
    let parse = ISO8601DateFormatter()
    parse.formatOptions = [.withInternetDateTime]
    guard let instant = parse.date(from: local), let wall = parse.date(from: asUTC), instant != wall
    else { return .success(local) }
    // A local wall time: it must exist once in the district's zone.
    if local.prefix(19) != asUTC.prefix(19) {
      return .failure(
        TimeProblem(
          message:
            "\(asUTC.prefix(16).replacingOccurrences(of: "T", with: " ")) does not exist in \(zone.identifier) (the clocks spring forward)"
        ))
    }
    let render = ISO8601DateFormatter()
    render.formatOptions = [.withInternetDateTime]
    render.timeZone = zone
    for shift in [-3600.0, 3600.0]
    where render.string(from: instant.addingTimeInterval(shift)).prefix(19) == local.prefix(19) {
      return .failure(
        TimeProblem(
          message:
            "\(local.prefix(16).replacingOccurrences(of: "T", with: " ")) happens twice in \(zone.identifier) (the clocks fall back)"
        ))
    }
    return .success(local)
  }

  /// delivered.csv: the first three columns are what older runs wrote (recorded under their old key).
  package static let deliveredHeader = [
    FieldName.studentNumber, FieldName.occurredAt, FieldName.reason, FieldName.schoolID, "Date",
    FieldName.attCode,
  ]

  /// A run's delivered.csv as recorded in `state.sqlite`: its days, or (written by an older
  /// sisdrop, three columns) its tardies under the old key.
  static func sentDays(_ folder: String, run: String) throws -> [SentDay] {
    try BatchLifecycle.readTable(folder + "/delivered.csv").filter { $0.count >= 3 }.map {
      $0.count >= 6
        ? SentDay(student: $0[0], school: $0[3], day: $0[4], code: $0[5], run: run, legacyKey: nil)
        : SentDay(
          student: $0[0], school: "", day: "", code: "", run: run,
          legacyKey: deliveredKey($0[0], $0[1], $0[2]))
    }
  }

  /// A run killed after it claimed the inbox's tardies.csv left it in its `.<run>.claim-PID/`
  /// folder: it goes back to the inbox, or to `<archive>/duplicates/<stamp>-unclaimed/` when Raptor
  /// has uploaded a new one since (logged with what to do). A killed --file run's folder is removed
  /// (the named file is where it was).
  static func putBackKilledClaims(
    workdir: WorkDir, config: PipelineConfig, log: (String) -> Void
  ) throws {
    let base = workdir.root + "/tardies"
    guard FileSystem.isDirectory(base) else { return }
    for name in try FileSystem.listDirectory(base).sorted()
    where name.hasPrefix(".T") && (name.contains(".claim-") || name.contains(".tmp-")) {
      let folder = base + "/" + name
      if name.contains(".claim-"), FileSystem.exists(folder + "/input/" + inboxFileName) {
        let archived = try ClaimReturn.putBack(
          input: folder + "/input", inbox: workdir.inbox(config), archive: workdir.archive(config))
        log(
          archived.isEmpty
            ? "tardies: a killed run's claim of tardies.csv was put back into the inbox"
            : "warning: tardies: a killed run had claimed tardies.csv and a new one is in the inbox: the claimed one is kept in \(workdir.archive(config))/duplicates/ (the newest *-unclaimed folder); deliver it with `sisdrop tardies --file FILE`"
        )
      }
      try FileSystem.removeTree(folder)
    }
  }

  /// Finishes a run a crash interrupted: a run folder not yet recorded in `state.sqlite` is
  /// published (a no-op when it already is) and its tardies recorded, so they are neither lost nor sent twice.
  static func recover(workdir: WorkDir, outbox: String, log: (String) -> Void = { _ in }) throws {
    let base = workdir.root + "/tardies"
    guard FileSystem.isDirectory(base) else { return }
    let recorded = try workdir.state.deliveredTardyRuns().union(try workdir.state.tardyRuns())
    for run in try FileSystem.listDirectory(base).sorted()
    where !run.hasPrefix(".") && !recorded.contains(run) {
      let folder = base + "/" + run
      guard FileSystem.exists(folder + "/delivered.csv"),
        FileSystem.exists(folder + "/" + Publisher.readyName(run))
      else { continue }
      _ = try Publisher.publish(batch: run, deliverFolder: folder, outbox: outbox)
      let keys = try sentDays(folder, run: run)
      try workdir.state.recordDeliveredTardies(keys, run: run)
      // Said, so that a rerun exiting 66 for want of a new file does not hide that it finished one.
      log(
        "tardies \(run): published the run an earlier attempt left unpublished: \(keys.count) delivered"
      )
    }
  }
}

/// One attendance record sent: a student's day at a school, with its code and run (or, from an
/// older run's delivered.csv, its tardy under the old key).
struct SentDay {
  var student: String
  var school: String
  var day: String
  var code: String
  var run: String
  var legacyKey: String?

  init(
    student: String, school: String, day: String, code: String, run: String, legacyKey: String?
  ) {
    self.student = student
    self.school = school
    self.day = day
    self.code = code
    self.run = run
    self.legacyKey = legacyKey
  }

  init(_ tardy: TardyFeed.Tardy, run: String) {
    self.init(
      student: tardy.studentNumber, school: tardy.school, day: tardy.date, code: tardy.code,
      run: run, legacyKey: nil)
  }
}

extension StateStore {
  func tardyRuns() throws -> Set<String> {
    Set(try database.rows("SELECT run_id FROM tardy_runs").compactMap { $0[0].string })
  }

  /// The runs that delivered tardies (without reading every tardy's key).
  func deliveredTardyRuns() throws -> Set<String> {
    Set(
      try database.rows(
        "SELECT DISTINCT run_id FROM delivered_tardies UNION SELECT DISTINCT run_id FROM delivered_tardy_days"
      ).compactMap { $0[0].string })
  }

  func recordDeliveredTardies(_ entries: [SentDay], run: String) throws {
    try database.inTransaction {
      try database.execute(
        "INSERT OR IGNORE INTO tardy_runs(run_id, recorded_at) VALUES (?, ?)",
        [.text(run), .text(Clock.now())])
      let day = try database.prepare(
        "INSERT OR IGNORE INTO delivered_tardy_days(student_number, school, day, att_code, run_id) VALUES (?, ?, ?, ?, ?)"
      )
      let legacy = try database.prepare(
        "INSERT OR IGNORE INTO delivered_tardies(tardy_key, run_id) VALUES (?, ?)")
      for entry in entries {
        if let key = entry.legacyKey {
          try legacy.bind([.text(key), .text(entry.run)])
          try legacy.run()
        } else {
          try day.bind([
            .text(entry.student), .text(entry.school), .text(entry.day), .text(entry.code),
            .text(entry.run),
          ])
          try day.run()
        }
      }
    }
  }
}

/// The days already sent, looked up by student, school and day (`delivered_tardy_days`' primary
/// key); and the tardies older runs recorded by student, instant and reason (`delivered_tardies`),
/// found by the student's key range and read as days in the district's zone.
struct DeliveredTardies {
  let byDay: Statement
  let legacy: Statement
  let zone: TimeZone
  let codes: TardyCodeMap
  let instants: ISO8601DateFormatter
  let days: DateFormatter

  init(_ state: StateStore, zone: TimeZone, codes: TardyCodeMap) throws {
    byDay = try state.database.prepare(
      "SELECT att_code, run_id FROM delivered_tardy_days WHERE student_number = ? AND school = ? AND day = ?"
    )
    legacy = try state.database.prepare(
      "SELECT tardy_key, run_id FROM delivered_tardies WHERE tardy_key >= ? AND tardy_key < ? ORDER BY tardy_key"
    )
    self.zone = zone
    self.codes = codes
    instants = ISO8601DateFormatter()
    instants.formatOptions = [.withInternetDateTime]
    days = DateFormatter()
    days.locale = Locale(identifier: "en_US_POSIX")
    days.timeZone = zone
    days.dateFormat = "yyyy-MM-dd"
  }

  /// The code and run of the attendance record sent for this tardy's student, school and day, nil
  /// when none was. A day an older run recorded (no school in its key: any school) has the code
  /// its reason maps to now, nil when the reason is no longer mapped.
  func day(_ tardy: TardyFeed.Tardy) throws -> (code: String?, run: String)? {
    try byDay.bind([.text(tardy.studentNumber), .text(tardy.school), .text(tardy.date)])
    var found: (code: String?, run: String)?
    try byDay.forEachRow { found = ($0.text(0), $0.text(1) ?? "") }
    if let found { return found }
    // '|' then '}': every key of this student, through the primary key's index.
    try legacy.bind([.text(tardy.studentNumber + "|"), .text(tardy.studentNumber + "}")])
    try legacy.forEachRow { row in
      guard found == nil, let key = row.text(0) else { return }
      let parts = key.dropFirst(tardy.studentNumber.count + 1).split(
        separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2, let instant = instants.date(from: String(parts[0])),
        days.string(from: instant) == tardy.date
      else { return }
      found = (codes.entries[String(parts[1])]?.code, row.text(1) ?? "")
    }
    return found
  }
}
