import Foundation
import SISDropConfig
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropFormats
@testable import SISDropStore

@Suite struct TardyFeedTests {
  static let header = "Building,Student_Number,Occurred_At,Reason\n"

  @Test func theDemoFeedDeliversMappedTardiesAndListsEachBadRowOnceSentOnlyOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      var before = stat()
      stat(workdir.inbox(config) + "/tardies.csv", &before)
      let result = try TardyFeed.run(workdir: workdir, config: config)
      #expect(result.delivered == 16 && result.errors == 4 && result.duplicates == 0)
      #expect(
        !FileSystem.exists(workdir.inbox(config) + "/tardies.csv"), "the inbox file is claimed")
      // Claimed by rename: the run read the very file that was in the inbox (a file dropped later is a new one, left alone).
      var after = stat()
      stat(result.folder + "/input/tardies.csv", &after)
      #expect(after.st_ino == before.st_ino && after.st_dev == before.st_dev)
      let outbox = workdir.outbox(config)
      let rows = try csvRows(outbox + "/\(result.run)_attendance.csv")
      #expect(
        rows[0] == [
          "Student_Number", "SchoolID", "Att_Date", "Att_Code", "Att_Time", "Att_Comment",
        ])
      #expect(
        rows[1] == [
          "101354", "0101", "11/16/2026", "TE", "08:14:18", "Raptor tardy: Medical Appointment",
        ])
      #expect(rows.count == 17 && FileSystem.exists(outbox + "/\(result.run).ready"))
      let errors = try csvRows(result.folder + "/errors.csv").dropFirst()
      // File, Line, Building, Student_Number, Occurred_At, Reason, Field, Problem, What_To_Do
      #expect(
        errors.map { "\($0[1]) \($0[6])" } == [
          "4 Reason", "9 Reason", "11 Building", "12 Student_Number",
        ])
      #expect(
        errors.map { $0[7] }.joined(separator: "|").contains("not mapped")
          && errors.map { $0[7] }.joined().contains("not Active"))
      #expect(errors.allSatisfy { !$0[8].isEmpty && $0[0] == "input/tardies.csv" })

      // The same file again: everything was sent already.
      let second = try TardyFeed.run(
        workdir: workdir, config: config, input: Checkout.demoDistrict + "/raptor/tardies.csv")
      #expect(second.delivered == 0 && second.duplicates == 16 && second.errors == 4)
      // Nothing to send, nothing published: no outbox file is named (it printed one that was not there).
      #expect(result.files == ["\(result.run)_attendance.csv"] && second.files.isEmpty)
      #expect(
        try csvRows(second.folder + "/duplicates.csv").dropFirst().allSatisfy {
          $0[5] == result.run
        })

      // The SIS took the second run's (empty) files: a later run never publishes it again.
      for name in try FileSystem.listDirectory(outbox) where name.hasPrefix(second.run) {
        try FileSystem.removeTree(outbox + "/" + name)
      }
      let zulu = try writeFile(
        root + "/zulu.csv",
        Self.header + "Lincoln Elementary,101354,2026-11-19T14:00:00Z,Late Bus\n")
      let third = try TardyFeed.run(workdir: workdir, config: config, input: zulu)
      #expect(
        !FileSystem.exists(outbox + "/" + Publisher.readyName(second.run)),
        "an empty run is recorded too")
      #expect(third.delivered == 1)
      // Another district time zone: the same instant, the same day, never sent again.
      var eastern = config
      eastern.timeZone = TimeZone(identifier: "America/New_York")!
      let fourth = try TardyFeed.run(workdir: workdir, config: eastern, input: zulu)
      #expect(fourth.delivered == 0 && fourth.duplicates == 1)
    }
  }

  /// A tardies.csv whose last row has no line break may have been cut inside its last value (a
  /// Reason cut to another mapped reason would send another code; probe27): that row is an error,
  /// not sent, with the way to send it; the rows before it go on. Before, it was sent as it came.
  @Test func aLastTardyWithoutItsLineBreakIsNotSent() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let cut = try writeFile(
        root + "/cut.csv",
        Self.header + "Lincoln Elementary,101354,2026-11-19 08:10:00,Late Bus\n"
          + "Lincoln Elementary,108582,2026-11-24 08:44:25,Overslept")
      let result = try TardyFeed.run(
        workdir: workdir, config: config, input: cut, now: Self.december3)
      #expect(result.delivered == 1 && result.errors == 1, "\(result)")
      let errors = try csvRows(result.folder + "/errors.csv")
      #expect(errors.count == 2)
      #expect(
        errors[1][1] == "3"
          && errors[1].contains {
            $0.contains("the file ends inside this row, without a line break")
          }
          && errors[1].contains { $0.hasPrefix("the upload may have been cut here") },
        "\(errors)")
    }
  }

  /// Noon in Springfield on the day these tests run "today".
  static let december3 = Date(timeIntervalSince1970: 1_796_320_800)  // 2026-12-03T18:00:00Z

  /// The SIS (PowerSchool daily attendance) keeps one attendance record per student, school and
  /// day: a re-sent file with a day already sent (its reason changed, a second scan, the time
  /// without seconds) sent it again as more records. Now a day is sent once, its earliest tardy;
  /// the same code again is "already sent", another code is not sent but told (lines only in the
  /// log) for a person to change the SIS record; a date after the run's day is an error.
  @Test func aStudentsDayAtASchoolIsOneAttendanceRecordSentOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let first = try TardyFeed.run(
        workdir: workdir, config: config, input: Checkout.demoDistrict + "/raptor/tardies.csv",
        now: Self.december3)
      #expect(first.delivered == 16)
      let resent = try writeFile(
        root + "/resent.csv",
        Self.header + """
          Lincoln Elem,101354,2026-11-16 08:14:18,Late Bus
          Lincoln Elementary,101354,2026-11-16 09:14:18,Medical Appointment
          Lincoln Elementary,101354,2026-11-16 08:14,Medical Appointment
          Lincoln Elementary,101354,2026-11-16 08:14:18,Other
          Lincoln Elementary,101766,2026-11-23 09:00:00,Other
          Lincoln Elementary,101766,2026-11-23 08:00:00,Late Bus
          Lincoln Elementary,101766,2026-11-23 08:30:00,Late Bus
          Lincoln Elementary,101766,2027-01-05 08:00:00,Late Bus
          Lincoln Elementary,108582,2026-12-03 08:00:00,Overslept

          """)
      var logged: [String] = []
      let second = try TardyFeed.run(
        workdir: workdir, config: config, input: resent, now: Self.december3,
        log: { logged.append($0) })
      let rows = try csvRows(workdir.outbox(config) + "/\(second.run)_attendance.csv").dropFirst()
        .map { "\($0[0]) \($0[2]) \($0[4]) \($0[3])" }
      // The day's earliest (line 7, not line 6 above it), and a tardy of the run's own day.
      #expect(rows == ["101766 11/23/2026 08:00:00 TE", "108582 12/03/2026 08:00:00 TU"])
      #expect(second.delivered == 2 && second.duplicates == 4 && second.errors == 1)
      let duplicates = try csvRows(second.folder + "/duplicates.csv").dropFirst()
      #expect(
        duplicates.map { "\($0[1]) \($0[5])" } == [
          "2 \(first.run)", "3 \(first.run)", "4 \(first.run)", "8 \(second.run) (line 7)",
        ])
      // File, Line, Student_Number, SchoolID, Date, Occurred_At, Reason, Att_Code, Sent_Att_Code, Sent_In, What_To_Do
      let another = try csvRows(second.folder + "/another-code.csv").dropFirst()
      #expect(
        another.map { "\($0[1]) \($0[2]) \($0[3]) \($0[4]) \($0[7]) \($0[8]) \($0[9])" } == [
          "5 101354 0101 2026-11-16 T TE \(first.run)",
          "6 101766 0101 2026-11-23 T TE \(second.run) (line 7)",
        ])
      #expect(another.allSatisfy { $0[10].contains("change that record in the SIS by hand") })
      let errors = try csvRows(second.folder + "/errors.csv").dropFirst()
      #expect(
        errors.map { "\($0[1]) \($0[6])" } == ["9 Occurred_At"]
          && errors.first?[7].contains("is later than this run (2026-12-03 12:00") == true,
        "\(errors)")
      // Counted in the log, with the file and its lines, never a student number or a reason.
      let warning = try #require(logged.first { $0.contains("another code, not sent") })
      #expect(
        warning.contains("2 for a day already sent with another code")
          && warning.contains("input/tardies.csv lines 5, 6")
          && warning.contains("change it in the SIS by hand"), "\(logged)")
      #expect(
        logged.contains {
          $0
            == "tardies \(second.run): 2 delivered, 1 in error, 4 already sent, 2 for a day already sent with another code"
        }, "\(logged)")
      #expect(!logged.joined().contains("101354") && !logged.joined().contains("Other"))
      // Again: nothing is sent twice, and what was told is told again.
      let third = try TardyFeed.run(
        workdir: workdir, config: config, input: resent, now: Self.december3)
      #expect(third.delivered == 0 && third.duplicates == 6 && third.errors == 1)
      #expect(try csvRows(third.folder + "/another-code.csv").count == 3)
    }
  }

  /// Days an older sisdrop sent, recorded under its key (student, UTC instant, reason), are not
  /// sent again after the upgrade: the same code is already sent, another code (or a reason no
  /// longer mapped) is told, not sent.
  @Test func aDayAnOlderSisdropSentIsNotSentAgain() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      for key in [
        "101354|2026-11-16T14:14:18Z|medical appointment", "101766|2026-11-16T14:30:36Z|dentist",
      ] {
        try workdir.state.database.execute(
          "INSERT INTO delivered_tardies(tardy_key, run_id) VALUES (?, 'T20261116-01')",
          [.text(key)])
      }
      let input = try writeFile(
        root + "/t.csv",
        Self.header + """
          Lincoln Elementary,101354,2026-11-16 09:00:00,Late Bus
          Lincoln Elementary,101354,2026-11-16 10:00:00,Other
          Lincoln Elementary,101766,2026-11-16 09:00:00,Late Bus
          Lincoln Elementary,101354,2026-11-17 09:00:00,Other

          """)
      let result = try TardyFeed.run(
        workdir: workdir, config: config, input: input, now: Self.december3)
      let rows = try csvRows(workdir.outbox(config) + "/\(result.run)_attendance.csv").dropFirst()
      #expect(rows.map { "\($0[0]) \($0[2])" } == ["101354 11/17/2026"])
      #expect(
        try csvRows(result.folder + "/duplicates.csv").dropFirst().map { "\($0[1]) \($0[5])" } == [
          "2 T20261116-01"
        ])
      #expect(
        try csvRows(result.folder + "/another-code.csv").dropFirst().map {
          "\($0[1]) \($0[8]) \($0[9])"
        } == ["3 TE T20261116-01", "4  T20261116-01"])
    }
  }

  /// probe26 (finding 11): the tardy errors.csv, a file for people, copied a NUL as it came, and
  /// its Field column was empty for a row that could not be read. A byte that could not be read as
  /// it came is shown as U+FFFD, and the Field names its column (none for a stray quote).
  @Test func errorsCSVShowsUnreadableBytesReplacedAndNamesTheirColumn() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      var bytes = Array(Self.header.utf8)
      bytes += Array("Lincoln Elementary,101354,2026-11-16 08:14:18,Caf".utf8) + [0xE9, 0x0A]
      bytes += Array("Lincoln Elementary,1017".utf8) + [0x00]
      bytes += Array("66,2026-11-16 08:14:18,Late Bus\nLincoln \"Elem,101354,x,y\n".utf8)
      let input = root + "/raw.csv"
      try Data(bytes).write(to: URL(fileURLWithPath: input))
      let result = try TardyFeed.run(workdir: workdir, config: config, input: input)
      #expect(result.errors == 3)
      let written = try Data(contentsOf: URL(fileURLWithPath: result.folder + "/errors.csv"))
      #expect(!written.contains(0x00), "no NUL in a file for people")
      let rows = try csvRows(result.folder + "/errors.csv").dropFirst().map { Array($0) }
      #expect(
        rows.map { "\($0[1]) \($0[6])" } == ["2 Reason", "3 Student_Number", "4 "], "\(rows)")
      #expect(rows[0][5] == "Caf\u{FFFD}" && rows[1][3] == "1017\u{FFFD}66", "\(rows)")
    }
  }

  /// probe26 (finding 9): only days after the run's day were refused: a tardy hours ahead on the
  /// run's day was sent, and one of 2019 was sent under the student's current school. A tardy later
  /// than the run by more than 15 minutes (clocks differ a little) is a row error, and so is one
  /// dated before `tardies.not_before`: July 1 of the run's school year by default, a number of
  /// days back, or none (the demo pipelines: their fixture is of November 2026).
  @Test func aTardyLaterThanTheRunOrBeforeTheSchoolYearIsARowError() throws {
    try withTemporaryFolder { root in
      let (workdir, _, demo) = try runDemo(root)
      #expect(demo.tardiesNotBefore == .none)
      // (Read whole, its /etc files absent on this machine.)
      let nightly = try PipelineConfig.parseCollecting(
        bytes: Array(try readText(Checkout.pipeline("nightly")).utf8), path: root + "/n.yaml")
      #expect(nightly.0.tardiesNotBefore == .schoolYear)
      #expect(!nightly.1.contains { $0.message.contains("tardies") }, "\(nightly.1)")
      let input = try writeFile(
        root + "/t.csv",
        Self.header + """
          Lincoln Elementary,101354,2026-12-03 12:10:00,Late Bus
          Lincoln Elementary,101766,2026-12-03 23:30:00,Late Bus
          Lincoln Elementary,108582,2026-12-04T05:30:00Z,Late Bus
          Lincoln Elementary,101354,2019-01-07 08:00:00,Late Bus
          Lincoln Elementary,101354,2026-06-30 08:00:00,Late Bus
          Lincoln Elementary,101354,2026-07-01 08:00:00,Late Bus
          Lincoln Elementary,101354,2026-11-02 08:00:00,Late Bus
          Lincoln Elementary,101354,2026-11-03 08:00:00,Late Bus

          """)
      func run(_ bound: TardyBound) throws -> (sent: [String], errors: [String: String]) {
        var config = demo
        config.tardiesNotBefore = bound
        let result = try TardyFeed.run(
          workdir: workdir, config: config, input: input, now: Self.december3)
        let sent = try csvRows(result.folder + "/delivered.csv").dropFirst().map { $0[4] }
        var errors: [String: String] = [:]
        for row in try csvRows(result.folder + "/errors.csv").dropFirst() {
          #expect(row[6] == "Occurred_At" && !row[8].isEmpty, "\(row)")
          errors[row[1]] = row[7]
        }
        // Sent once: undo the days, so the next bound starts from the same state.
        try workdir.state.database.execute("DELETE FROM delivered_tardy_days")
        return (sent, errors)
      }
      let school = try run(.schoolYear)
      // 12:10 is within 15 minutes of noon, the run's time; 23:30 (also as UTC) is not.
      #expect(school.sent == ["2026-12-03", "2026-07-01", "2026-11-02", "2026-11-03"], "\(school)")
      #expect(Set(school.errors.keys) == ["3", "4", "5", "6"], "\(school.errors)")
      #expect(
        school.errors["3"]?.contains(
          "2026-12-03 23:30 is later than this run (2026-12-03 12:00 America/Chicago) by more than 15 minutes"
        ) == true && school.errors["4"]?.contains("later than this run") == true,
        "\(school.errors)")
      #expect(
        school.errors["5"]?.contains(
          "dated 2019-01-07, before 2026-07-01 (the first day of this school year; tardies.not_before: school_year)"
        ) == true && school.errors["6"]?.contains("before 2026-07-01") == true,
        "\(school.errors)")
      let month = try run(.days(30))
      #expect(month.sent == ["2026-12-03", "2026-11-03"], "\(month)")
      #expect(
        month.errors["8"]?.contains("dated 2026-11-02, before 2026-11-03 (30 days before this run")
          == true, "\(month.errors)")
      let any = try run(.none)
      #expect(any.sent.count == 6 && any.errors.count == 2, "\(any)")

      // The setting is checked like any other.
      let bad = try writeFile(
        root + "/bad.yaml", try demoPipelineText([("not_before: none", "not_before: lately")]))
      let refused = try #require(throws: SISDropError.self) { try PipelineConfig.load(path: bad) }
      #expect(
        refused.status == .configuration
          && refused.message.contains("expected school_year, none or a number of days"),
        "\(refused)")
    }
  }

  /// The attendance row's SchoolID comes from Raptor's building: a tardy scanned at another
  /// school than the one the SIS has the student enrolled at was delivered as that school's
  /// (109872, enrolled at 0303, scanned at Lincoln Elem, sent as 0101). It is rejected with its
  /// reason and line; the rest go on. An empty student number says it is empty.
  @Test func aTardyAtAnotherSchoolThanTheStudentsIsRejectedAndTheRestGoOn() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let input = try writeFile(
        root + "/t.csv",
        Self.header + """
          Lincoln Elem,109872,2026-11-16 08:47:13,Late Bus
          Jefferson HS,109872,2026-11-17 08:47:13,Late Bus
          Lincoln Elem,,2026-11-16 08:50:00,Late Bus
          Lincoln Elem,101354,2026-11-16 08:14:18,Late Bus

          """)
      let result = try TardyFeed.run(workdir: workdir, config: config, input: input)
      let rows = try csvRows(workdir.outbox(config) + "/\(result.run)_attendance.csv").dropFirst()
      #expect(
        rows.map { "\($0[0]) \($0[1]) \($0[2])" } == [
          "109872 0303 11/17/2026", "101354 0101 11/16/2026",
        ])
      let errors = try csvRows(result.folder + "/errors.csv").dropFirst()
      #expect(errors.map { "\($0[1]) \($0[6])" } == ["2 Building", "4 Student_Number"])
      #expect(
        errors.first?[7].contains("the student is enrolled at another school in the SIS export")
          == true && errors.first?[7].contains("0303") == true
          && errors.first?[8].contains("Raptor") == true, "\(errors)")
      #expect(errors.last?[7] == "the student number is empty", "\(errors)")
      #expect(errors.allSatisfy { !$0[8].isEmpty })
    }
  }

  /// The tardy feed had no status or notification of its own: a failed `sisdrop tardies` showed
  /// only in its exit code and the log. Its last run (when, outcome, counts, exit status) is in
  /// `sisdrop status` (text and --json), a failed run and a run that rejects rows are notified
  /// through the pipeline's notifications (counts and places, never a student or a reason), the
  /// same failure every 10 minutes only once; "nothing to do" is JSON with --json.
  @Test func theLastTardiesRunIsInStatusAndAFailureOrRejectedRowsAreNotified() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let tool = ["tardies", "--pipeline", Checkout.pipeline("demo"), "--workdir", root]
      let notifications = root + "/notifications"
      func messages() throws -> [String] {
        guard FileSystem.isDirectory(notifications) else { return [] }
        return try FileSystem.listDirectory(notifications).sorted().map {
          try readText(notifications + "/" + $0)
        }
      }
      func feed() throws -> [String: Any] {
        let status = try runTool("sisdrop", ["status", "--json", "--workdir", root])
        #expect(status.status == 0, "\(status.stderr)")
        let json =
          try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return try #require(json?["tardy_feed"] as? [String: Any], "\(status.stdout)")
      }
      // A failure (no tardies.csv, without --if-present): recorded and notified, once.
      #expect(try runTool("sisdrop", tool).status == 66)
      let failed = try #require(try feed()["last_run"] as? [String: Any])
      #expect(
        failed["outcome"] as? String == "failed" && failed["exit_status"] as? Int == 66,
        "\(failed)")
      #expect(try messages().count == 1)
      #expect(try messages().first?.contains("Subject: [sisdrop] Demo District") == true)
      #expect(try messages().first?.contains("tardy feed failed (exit 66)") == true)
      #expect(try runTool("sisdrop", tool).status == 66)
      #expect(try messages().count == 1, "the same failure again is not notified again")

      // A run with rows in error: its counts in status, and a notification with counts only.
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      #expect(try runTool("sisdrop", tool).status == 0)
      let last = try #require(try feed()["last_run"] as? [String: Any])
      #expect(
        last["outcome"] as? String == "succeeded" && last["exit_status"] as? Int == 0
          && last["delivered"] as? Int == 16 && last["errors"] as? Int == 4
          && last["duplicates"] as? Int == 0 && last["another_code"] as? Int == 0
          && (last["run"] as? String)?.hasPrefix("T") == true, "\(last)")
      let told = try #require(try messages().last)
      #expect(try messages().count == 2)
      #expect(told.contains("4 in error") && told.contains("errors.csv"), "\(told)")
      // The run after a failure says the feed works again (one message with its rows in error).
      #expect(
        told.contains("tardy feed works again") && told.contains("after it failed (exit 66)"),
        "\(told)")
      for value in ["108937", "199999", "Car Trouble", "District Office"] {
        #expect(!told.contains(value), "\(value) in \(told)")
      }
      let text = try runTool("sisdrop", ["status", "--workdir", root])
      #expect(
        text.stdout.contains("tardy feed: last run \(last["run"] as? String ?? "?")")
          && text.stdout.contains("16 delivered, 4 in error, 0 already sent"), "\(text.stdout)")

      // Nothing to do on a schedule: JSON with --json; the last run stays, the check is dated.
      let idle = try runTool("sisdrop", tool + ["--if-present", "--json"])
      #expect(idle.status == 0, "\(idle.stderr)")
      let nothing = try JSONSerialization.jsonObject(with: Data(idle.stdout.utf8)) as? [String: Any]
      #expect(nothing?["nothing_to_do"] as? Bool == true, "\(idle.stdout)")
      let after = try feed()
      #expect((after["last_run"] as? [String: Any])?["run"] as? String == last["run"] as? String)
      #expect(after["last_checked_at"] as? String != nil)
      #expect(try messages().count == 2)
    }
  }

  /// probe26 (finding 3): a mapping file gone (`mappings.building_map` names a file that is not
  /// there) made `sisdrop tardies` exit 78 while reading the pipeline, before the feed's status:
  /// no status line, no notification, every timer run failing unseen, where a malformed
  /// building_map.csv was recorded and notified. It is the feed's failure too: recorded, notified
  /// once (the timer's retries are not), the inbox's file left where it is, and the run after it
  /// is fixed says the feed works again.
  @Test func aMissingMappingFileIsTheFeedsRecordedAndNotifiedFailure() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root + "/w")
      let map = root + "/cfg/building_map.csv"
      try FileSystem.makeDirectory(root + "/cfg")
      try FileSystem.copyFile(Checkout.demoDistrict + "/config/building_map.csv", to: map)
      let pipeline = try writeFile(
        root + "/cfg/pipeline.yaml",
        try demoPipelineText([(Checkout.demoDistrict + "/config/building_map.csv", map)]))
      let tool = ["tardies", "--pipeline", pipeline, "--workdir", workdir.root, "--if-present"]
      let notifications = workdir.root + "/notifications"
      func messages() throws -> [String] {
        try FileSystem.listDirectory(notifications).sorted().filter { $0.contains("run-failed") }
      }
      func feed() throws -> [String: Any] {
        let status = try runTool("sisdrop", ["status", "--json", "--workdir", workdir.root])
        let json =
          try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return try #require(json?["tardy_feed"] as? [String: Any], "\(status.stdout)")
      }
      let inbox = workdir.inbox(config) + "/tardies.csv"
      try FileSystem.copyFile(Checkout.demoDistrict + "/raptor/tardies.csv", to: inbox)
      #expect(try runTool("sisdrop", tool).status == 0)
      let checked = try feed()["last_checked_at"] as? String
      #expect(checked != nil)

      try FileSystem.removeTree(map)
      try FileSystem.copyFile(Checkout.demoDistrict + "/raptor/tardies.csv", to: inbox)
      let missing = try runTool("sisdrop", tool)
      #expect(missing.status == 78, "\(missing.stderr)")
      #expect(missing.stderr.contains("mappings.building_map: file not found"), "\(missing.stderr)")
      let failed = try #require(try feed()["last_run"] as? [String: Any])
      #expect(
        failed["outcome"] as? String == "failed" && failed["exit_status"] as? Int == 78
          && (failed["error"] as? String)?.contains("mappings.building_map: file not found")
            == true,
        "\(failed)")
      #expect(try feed()["last_checked_at"] as? String == checked, "the inbox was not read")
      let told = try messages()
      #expect(told.count == 1, "\(told)")
      let message = try readText(notifications + "/" + (try #require(told.first)))
      #expect(
        message.contains("tardy feed failed (exit 78)") && message.contains("building_map"),
        "\(message)")
      // The timer's next run: the same failure, not told again; the file waits in the inbox.
      #expect(try runTool("sisdrop", tool).status == 78)
      #expect(try messages().count == 1)
      #expect(FileSystem.exists(inbox))

      try FileSystem.copyFile(Checkout.demoDistrict + "/config/building_map.csv", to: map)
      let fixed = try runTool("sisdrop", tool)
      #expect(
        fixed.status == 0 && fixed.stdout.contains("0 delivered, 4 in error, 16 already sent"))
      #expect(
        try FileSystem.listDirectory(notifications).sorted().map {
          try readText(notifications + "/" + $0)
        }.contains { $0.contains("tardy feed works again") && $0.contains("(exit 78)") })
    }
  }

  /// probe26 (finding 7): `sisdrop tardies --file nonexist.csv`, an operator's typo, was recorded
  /// as the feed FAILED (exit 66), mailed as "tardy feed failed", and moved "last checked the
  /// inbox" although the inbox was not read. It is refused with the file and what to do (66); the
  /// feed's status and notifications stay as they were.
  @Test func aFileNamedWithFileThatIsNotThereIsTheOperatorsMistakeNotTheFeeds() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let tool = ["tardies", "--pipeline", Checkout.pipeline("demo"), "--workdir", root]
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      #expect(try runTool("sisdrop", tool).status == 0)
      func feed() throws -> String {
        let status = try runTool("sisdrop", ["status", "--json", "--workdir", root])
        let json =
          try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let feed = try #require(json?["tardy_feed"] as? [String: Any], "\(status.stdout)")
        return String(
          decoding: try JSONSerialization.data(withJSONObject: feed, options: .sortedKeys),
          as: UTF8.self)
      }
      func told() throws -> [String] { try FileSystem.listDirectory(root + "/notifications") }
      let before = (try feed(), try told())
      let typo = try runTool("sisdrop", tool + ["--file", root + "/nonexist.csv"])
      #expect(typo.status == 66, "\(typo.stderr)")
      #expect(
        typo.stderr.contains("\(root)/nonexist.csv: file not found (--file): nothing was read")
          && typo.stderr.contains("check the path given with --file"), "\(typo.stderr)")
      #expect(try feed() == before.0, "the feed's status is untouched")
      #expect(try told() == before.1, "nothing is notified")
      // A folder named with --file is the operator's too (65), and the feed's status stays.
      let folder = try runTool("sisdrop", tool + ["--file", root + "/outbox"])
      #expect(folder.status == 65 && folder.stderr.contains("not a tardies export"))
      #expect(try feed() == before.0 && told() == before.1)
    }
  }

  /// A run folder an older sisdrop wrote (delivered.csv with three columns: no school, day or code)
  /// and left for recovery or rebuild-state is recorded under the old key, so its days are not
  /// sent again after the upgrade; a new run's delivered.csv is recorded as days.
  @Test func anOlderRunsDeliveredFileIsRecordedUnderTheOldKey() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let old = root + "/T20261116-01"
      try FileSystem.makeDirectory(old)
      try writeFile(
        old + "/delivered.csv",
        "Student_Number,Occurred_At,Reason\n101354,2026-11-16T08:14:18-06:00,Medical Appointment\n")
      let days = try TardyFeed.sentDays(old, run: "T20261116-01")
      #expect(days.count == 1 && days.first?.legacyKey != nil && days.first?.day == "")
      try workdir.state.recordDeliveredTardies(days, run: "T20261116-01")
      let input = try writeFile(
        root + "/t.csv", Self.header + "Lincoln Elementary,101354,2026-11-16 09:30,Late Bus\n")
      let result = try TardyFeed.run(
        workdir: workdir, config: config, input: input, now: Self.december3)
      #expect(result.delivered == 0 && result.duplicates == 1, "\(result)")
      let new = try TardyFeed.sentDays(result.folder, run: result.run)
      #expect(new.isEmpty)
      let again = try TardyFeed.run(
        workdir: workdir, config: config,
        input: try writeFile(
          root + "/u.csv", Self.header + "Lincoln Elementary,101354,2026-11-17 09:30,Late Bus\n"),
        now: Self.december3)
      let recorded = try TardyFeed.sentDays(again.folder, run: again.run)
      #expect(
        recorded.map { "\($0.student) \($0.school) \($0.day) \($0.code) \($0.legacyKey ?? "-")" }
          == [
            "101354 0101 2026-11-17 TE -"
          ])
    }
  }

  @Test func theDuplicateKeyIsTheUTCInstant() {
    #expect(
      TardyFeed.deliveredKey("1", "2026-11-01T01:30:00-05:00", "Late Bus")
        == TardyFeed.deliveredKey("1", "2026-11-01T06:30:00Z", "late bus"))
    #expect(
      TardyFeed.deliveredKey("1", "2026-11-01T01:30:00-05:00", "Late Bus")
        != TardyFeed.deliveredKey("1", "2026-11-01T01:30:00-06:00", "Late Bus"))
  }

  @Test func aReasonTheFileCannotHoldIsThatRowsErrorNotTheRuns() throws {
    try withTemporaryFolder { root in
      let (workdir, _, demo) = try runDemo(root)
      var config = demo
      config.csvProfile.writer.encoding = .windows1252
      let codes = try readText(Checkout.demoDistrict + "/config/tardy_codes.csv")
        .replacingOccurrences(of: "Overslept,", with: "Overslept 😴,")
      config.tardyCodesPath = try writeFile(root + "/tardy_codes.csv", codes)
      let input = try writeFile(
        root + "/t.csv",
        Self.header + """
          Lincoln Elementary,101354,2026-11-16T14:00:00Z,Late Bus
          Lincoln Elementary,101354,2026-11-16T15:00:00Z,Overslept 😴

          """)
      let result = try TardyFeed.run(workdir: workdir, config: config, input: input)
      #expect(result.delivered == 1 && result.errors == 1)
      let error = try #require(try csvRows(result.folder + "/errors.csv").dropFirst().first)
      #expect(
        error[1] == "3" && error[6] == "Att_Comment" && error[7].contains("windows-1252")
          && error[8].contains("tardy_codes.csv"))
    }
  }

  @Test func aRunInterruptedAfterItsFolderIsFinishedByTheNextNeitherLostNorSentTwice() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let input = Checkout.demoDistrict + "/raptor/tardies.csv"
      let first = try TardyFeed.run(workdir: workdir, config: config, input: input)
      // The crash: the run folder is in place, but neither published nor recorded.
      try workdir.state.database.execute("DELETE FROM delivered_tardy_days")
      try workdir.state.database.execute("DELETE FROM tardy_runs")
      for name in try FileSystem.listDirectory(workdir.outbox(config))
      where name.hasPrefix(first.run) {
        try FileSystem.removeTree(workdir.outbox(config) + "/" + name)
      }
      var logged: [String] = []
      let second = try TardyFeed.run(
        workdir: workdir, config: config, input: input, log: { logged.append($0) })
      #expect(second.delivered == 0 && second.duplicates == 16)
      #expect(
        logged.first
          == "tardies \(first.run): published the run an earlier attempt left unpublished: 16 delivered",
        "\(logged)")
      #expect(
        try csvRows(workdir.outbox(config) + "/\(first.run)_attendance.csv").count == 17,
        "the interrupted run was published")
    }
  }

  /// Days sent are looked up by key (the table keeps years of them, never read whole): a tardy an
  /// older sisdrop recorded with the district's offset still finds its day, and a run the table
  /// names is never published again even when `tardy_runs` lacks it.
  @Test func aTardyIsFoundByItsKeyOrItsOlderKeyAndARunTheTableNamesIsNotPublishedAgain() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let input = Checkout.demoDistrict + "/raptor/tardies.csv"
      let first = try TardyFeed.run(workdir: workdir, config: config, input: input)
      #expect(first.delivered == 16)
      // As the SIS took it: its files gone from the outbox; only delivered_tardy_days names the run.
      try workdir.state.database.execute(
        "DELETE FROM tardy_runs WHERE run_id = ?", [.text(first.run)])
      for name in try FileSystem.listDirectory(workdir.outbox(config))
      where name.hasPrefix(first.run) {
        try FileSystem.removeTree(workdir.outbox(config) + "/" + name)
      }
      // A tardy sent by an older sisdrop, keyed with the district's offset.
      guard
        case .success(let instant) = TardyFeed.occurred(
          "2026-11-17 07:55:00", zone: config.timeZone)
      else {
        Issue.record("not a time")
        return
      }
      try workdir.state.database.execute(
        "INSERT INTO delivered_tardies(tardy_key, run_id) VALUES (?, 'T20261117-01')",
        [.text("101354|\(instant)|\(FieldRules.buildingKey("Late Bus"))")])
      let again = try writeFile(
        root + "/again.csv",
        Self.header + "Lincoln Elem,101354,2026-11-16 08:14:18,Medical Appointment\n"
          + "Lincoln Elementary,101354,2026-11-17 07:55:00,Late Bus\n"
          + "Lincoln Elementary,101354,2026-11-18 07:55:00,Late Bus\n")
      let second = try TardyFeed.run(workdir: workdir, config: config, input: again)
      #expect(second.delivered == 1 && second.duplicates == 2)
      #expect(
        try csvRows(second.folder + "/duplicates.csv").dropFirst().map { $0[5] } == [
          first.run, "T20261117-01",
        ])
      #expect(
        !FileSystem.exists(workdir.outbox(config) + "/" + Publisher.readyName(first.run)),
        "the run delivered_tardy_days names is not published again")
    }
  }

  @Test func theDateIsTheDistrictsDayAcrossDaylightSavingTimeAndTheSameInstantIsOneTardy() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let input = try writeFile(
        root + "/t.csv",
        Self.header + """
          Lincoln Elementary,101354,2026-11-01T06:30:00Z,Late Bus
          Lincoln Elementary,101354,2026-11-02T05:30:00Z,Late Bus
          Lincoln Elementary,101354,2026-03-08T07:30:00Z,Overslept
          Lincoln Elementary,101354,2026-03-08T08:30:00Z,Overslept
          Lincoln Elementary,101354,2026-11-02 07:45,Late Bus
          Lincoln Elem,101354,2026-11-02T13:45:00Z,Late Bus
          Lincoln Elementary,101354,11/02/2026 7:45 AM,Other
          Lincoln Elementary,101354,2026-11-01 01:30,Late Bus
          Lincoln Elementary,101354,2026-03-08 02:30,Late Bus
          Lincoln Elementary,101354,2026-11-03,Late Bus

          """)
      let result = try TardyFeed.run(workdir: workdir, config: config, input: input)
      let rows = try csvRows(workdir.outbox(config) + "/\(result.run)_attendance.csv").dropFirst()
        .map { "\($0[2]) \($0[4]) \($0[3])" }
      // One record per student, school and day: the day's others are listed below.
      #expect(
        rows == [
          "11/01/2026 01:30:00 TE",  // CDT, UTC-5, the morning clocks fall back
          "03/08/2026 01:30:00 TU",  // CST before the spring change
          "11/02/2026 07:45:00 TE",
        ])
      // Never guessed: a local time the clocks pass twice or skip, and a date with no time, are errors.
      let errors = try csvRows(result.folder + "/errors.csv").dropFirst()
      #expect(
        errors.map { "\($0[1]) \($0[6])" } == ["9 Occurred_At", "10 Occurred_At", "11 Occurred_At"])
      #expect(
        errors.map { $0[7] }.joined(separator: "|").contains("happens twice")
          && errors.map { $0[7] }.joined().contains("does not exist"))
      #expect(errors.last?[7] == "a date without a time of day")
      // 23:30 CST: still Nov 1 in Springfield although Nov 2 in UTC, so line 2's day; 03:30 CDT,
      // an hour of UTC after line 4, the same day; the same instant written another way.
      let duplicates = try csvRows(result.folder + "/duplicates.csv").dropFirst()
      #expect(
        duplicates.map { "\($0[1]) \($0[5])" } == [
          "3 \(result.run) (line 2)", "5 \(result.run) (line 4)", "7 \(result.run) (line 6)",
        ])
      // The same minute, another reason and code: not a second record of the day.
      #expect(
        try csvRows(result.folder + "/another-code.csv").dropFirst().map { $0[1] } == ["8"])
    }
  }

  @Test func badMappingFilesAreConfigurationErrorsWithFileAndLine() throws {
    try withTemporaryFolder { root in
      let (workdir, _, demo) = try runDemo(root)
      let input = try writeFile(
        root + "/t.csv", Self.header + "Lincoln Elementary,101354,2026-11-16 08:14:18,Late Bus\n")
      var config = demo
      config.tardyCodesPath = try writeFile(
        root + "/codes.csv", "Raptor_Reason,SIS_Att_Code,Active\nLate Bus,TE,Yes\nlate bus,TU,No\n")
      let duplicate = try #require(throws: SISDropError.self) {
        try TardyFeed.run(workdir: workdir, config: config, input: input)
      }
      #expect(
        duplicate.status == .configuration && duplicate.location?.line == 3
          && duplicate.location?.path == config.tardyCodesPath)
      config.tardyCodesPath = try writeFile(
        root + "/codes2.csv", "Raptor_Reason,SIS_Att_Code,Active\nLate Bus,ZZ,Yes\n")
      let unknownCode = try #require(throws: SISDropError.self) {
        try TardyFeed.run(workdir: workdir, config: config, input: input)
      }
      #expect(unknownCode.status == .configuration && unknownCode.message.contains("ZZ"))
      config = demo
      config.buildingMapPath = try writeFile(
        root + "/map.csv",
        "Raptor_Building,SIS_School_Number\nLincoln Elementary,0101\nAnnex,0909\n")
      let school = try #require(throws: SISDropError.self) {
        try TardyFeed.run(workdir: workdir, config: config, input: input)
      }
      #expect(
        school.status == .configuration && school.location?.line == 3
          && school.message.contains("0909"))
      #expect(
        !FileSystem.isDirectory(root + "/tardies") || files(below: root + "/tardies").isEmpty,
        "nothing half-written")
    }
  }

  /// probe26 (finding 6): the tardy feed's advice named settings it does not have: a row not in
  /// UTF-8 said "set `encoding: windows-1252` for this feed in the pipeline", a bad header "map its
  /// names with header_aliases in the pipeline config" (the pipeline has no tardy section, and
  /// `sis_export.header_aliases.tardies` is refused). The feed keeps reading UTF-8 with fixed column
  /// names, and its advice says what works: convert the file, name the columns as sisdrop reads them.
  @Test func everyTardyErrorsAdviceNamesWhatReallyWorks() throws {
    try withTemporaryFolder { root in
      let (workdir, _, demo) = try runDemo(root)
      var latin1 = Array(Self.header.utf8)
      latin1 += Array("Lincoln Elementary,101354,2026-11-16 08:14:18,Late Bus\n".utf8)
      latin1 += Array("Lincoln Elementary,101766,2026-11-16 08:20:00,Caf".utf8) + [0xE9, 0x0A]
      let input = root + "/latin1.csv"
      try Data(latin1).write(to: URL(fileURLWithPath: input))
      let result = try TardyFeed.run(workdir: workdir, config: demo, input: input)
      #expect(result.delivered == 1 && result.errors == 1)
      let row = try #require(try csvRows(result.folder + "/errors.csv").dropFirst().first)
      #expect(
        row[1] == "3" && row[7].contains("the tardy feed reads UTF-8 only")
          && row[7].contains("iconv") && !row[7].contains("encoding: windows-1252"), "\(row)")

      func refusal(_ config: PipelineConfig, _ file: String) throws -> SISDropError {
        try #require(throws: SISDropError.self) {
          try TardyFeed.run(workdir: workdir, config: config, input: file)
        }
      }
      let renamed = try writeFile(
        root + "/renamed.csv",
        "Bldg,Student_Number,Occurred_At,Reason\nLincoln Elementary,101354,2026-11-16 08:14:18,Late Bus\n"
      )
      let header = try refusal(demo, renamed)
      #expect(header.status == .dataError && header.location?.path == renamed, "\(header)")
      #expect(
        header.hint?.contains("no header_aliases for tardies.csv") == true
          && header.hint?.contains("Building, Student_Number, Occurred_At, Reason") == true
          && header.hint?.contains("map its names with header_aliases") == false, "\(header)")
      let headerless = try writeFile(
        root + "/headerless.csv", "Lincoln Elementary,101354,2026-11-16 08:14:18,Late Bus\n")
      let missing = try refusal(demo, headerless)
      #expect(
        missing.hint?.contains("give tardies.csv its header row") == true
          && missing.hint?.contains("header_aliases in the pipeline") == false, "\(missing)")

      var config = demo
      config.buildingMapPath = try writeFile(
        root + "/map.csv", "Raptor Building,School\nLincoln Elementary,0101\n")
      let map = try refusal(config, renamed)
      #expect(
        map.status == .configuration
          && map.hint?.contains("no header_aliases for building_map.csv") == true
          && map.hint?.contains("header_aliases in the pipeline") == false, "\(map)")
      config = demo
      config.buildingMapPath = try writeFile(
        root + "/map2.csv",
        "Raptor_Building,SIS_School_Number\nLincoln Elementary,0101\nLincoln Elementary,0202\n")
      let twice = try refusal(config, renamed)
      #expect(twice.status == .configuration && twice.hint != nil, "\(twice)")
    }
  }

  /// `sisdrop tardies` killed (SIGKILL) at each of its write steps, then run again with the inbox
  /// as the kill left it: the tardy reaches the outbox exactly once, and no claimed file is left
  /// in a dead run's folder (a run killed after its claim lost the file: the rerun found no
  /// tardies.csv, 66). A new tardies.csv uploaded meanwhile does not push the claimed one away.
  @Test func aRunKilledAtAnyPointNeitherLosesNorDoublesItsTardies() throws {
    try withTemporaryFolder { root in
      let prepared = root + "/prepared"
      _ = try runDemo(prepared)
      let pipeline = Checkout.pipeline("demo")
      let tardy = Self.header + "Lincoln Elementary,101354,2026-11-24 08:14:18,Late Bus\n"
      let later = Self.header + "Jefferson HS,109872,2026-11-25 08:47:13,Late Bus\n"
      func sent(_ folder: String, _ student: String) throws -> Int {
        var count = 0
        for name in try FileSystem.listDirectory(folder + "/outbox")
        where name.hasPrefix("T") && name.hasSuffix("_attendance.csv") {
          count += try csvRows(folder + "/outbox/" + name).filter { $0[0] == student }.count
        }
        return count
      }
      let traced = try copyWorkdir(prepared, to: root + "/traced")
      try writeFile(traced + "/inbox/tardies.csv", tardy)
      let clean = try runTool(
        "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", traced],
        environment: ["SISDROP_CRASH_TRACE": root + "/trace.txt"])
      #expect(clean.status == 0, "\(clean.stderr)")
      let points = try readText(root + "/trace.txt").split(separator: "\n").count
      #expect(points > 10)
      for point in 1...points {
        let folder = try copyWorkdir(prepared, to: root + "/kill-\(point)")
        try writeFile(folder + "/inbox/tardies.csv", tardy)
        let killed = try runTool(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", folder],
          environment: ["SISDROP_CRASH_AT": "\(point)"])
        #expect(killed.status == SIGKILL, "point \(point): not killed: \(killed.stderr)")
        let rerun = try runTool(
          "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", folder])
        #expect(
          rerun.status == 0 || (rerun.status == 66 && rerun.stderr.contains("file not found")),
          "point \(point): \(rerun.stderr)")
        #expect(try sent(folder, "101354") == 1, "point \(point): \(rerun.stderr)")
        #expect(
          !FileSystem.exists(folder + "/inbox/tardies.csv")
            && !files(below: folder + "/tardies").contains { $0.hasPrefix(".") },
          "point \(point)")
      }
      // Killed after its claim, and Raptor's next file came before the rerun: that one is
      // delivered, the claimed one is kept in the archive's duplicates, and delivered from there.
      let folder = try copyWorkdir(prepared, to: root + "/kill-newer")
      try writeFile(folder + "/inbox/tardies.csv", tardy)
      let killed = try runTool(
        "sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", folder],
        environment: ["SISDROP_CRASH_AT": "2"])
      #expect(killed.status == SIGKILL)
      try writeFile(folder + "/inbox/tardies.csv", later)
      let rerun = try runTool("sisdrop", ["tardies", "--pipeline", pipeline, "--workdir", folder])
      #expect(
        rerun.status == 0 && rerun.stderr.contains("sisdrop tardies --file"), "\(rerun.stderr)")
      let kept = try #require(
        files(below: folder + "/archive/duplicates").first { $0.hasSuffix("unclaimed/tardies.csv") }
      )
      #expect(try sent(folder, "109872") == 1 && sent(folder, "101354") == 0)
      let again = try runTool(
        "sisdrop",
        [
          "tardies", "--pipeline", pipeline, "--workdir", folder, "--file",
          folder + "/archive/duplicates/" + kept,
        ])
      #expect(again.status == 0, "\(again.stderr)")
      #expect(try sent(folder, "101354") == 1 && sent(folder, "109872") == 1)
    }
  }

  /// A file refused whole is named where the operator finds it (the inbox, or the --file path),
  /// not by the deleted run folder it was read from.
  @Test func aFileRefusedWholeIsNamedWhereItIs() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      let headerless = "Lincoln Elementary,101354,2026-11-16 08:14:18,Late Bus\n"
      let named = try writeFile(root + "/raptor.csv", headerless)
      let refused = try #require(throws: SISDropError.self) {
        try TardyFeed.run(workdir: workdir, config: config, input: named)
      }
      #expect(refused.status == .dataError && refused.location?.path == named, "\(refused)")
      let inbox = try writeFile(workdir.inbox(config) + "/tardies.csv", headerless)
      let claimed = try #require(throws: SISDropError.self) {
        try TardyFeed.run(workdir: workdir, config: config)
      }
      #expect(claimed.location?.path == inbox && FileSystem.exists(inbox), "\(claimed)")
    }
  }

  @Test func theCommandRunsFromTheInbox() throws {
    try withTemporaryFolder { root in
      let (workdir, _, config) = try runDemo(root)
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      let result = try runTool(
        "sisdrop", ["tardies", "--pipeline", Checkout.pipeline("demo"), "--workdir", root])
      #expect(result.status == 0, "\(result.stderr)")
      #expect(result.stdout.contains("16 delivered, 4 in error, 0 already sent"))
      // On a schedule (--if-present, as the sisdrop-tardies timer runs it): no tardies.csv yet is
      // "nothing to do" (0), where the command alone says the file is missing (66).
      let tool = ["tardies", "--pipeline", Checkout.pipeline("demo"), "--workdir", root]
      let missing = try runTool("sisdrop", tool)
      #expect(missing.status == 66, "\(missing.stderr)")
      let scheduled = try runTool("sisdrop", tool + ["--if-present"])
      #expect(scheduled.status == 0, "\(scheduled.stderr)")
      #expect(scheduled.stdout == "nothing to do: no tardies.csv in the inbox\n")
      // A file that is there is read as ever.
      try FileSystem.copyFile(
        Checkout.demoDistrict + "/raptor/tardies.csv", to: workdir.inbox(config) + "/tardies.csv")
      let again = try runTool("sisdrop", tool + ["--if-present"])
      #expect(
        again.status == 0 && again.stdout.contains("0 delivered, 4 in error, 16 already sent"))
    }
  }

  /// The demo's night, then Raptor's tardies.csv in the inbox held open for writing, as an upload
  /// under way is: the inbox file, its writer and the timer's command.
  static func tardiesBeingUploaded(_ root: String) throws -> (
    workdir: WorkDir, config: PipelineConfig, inbox: String, upload: FileHandle, tool: [String]
  ) {
    let (workdir, _, config) = try runDemo(root)
    let inbox = workdir.inbox(config) + "/tardies.csv"
    try FileSystem.copyFile(Checkout.demoDistrict + "/raptor/tardies.csv", to: inbox)
    let upload = try #require(FileHandle(forWritingAtPath: inbox))
    let tool = ["tardies", "--pipeline", Checkout.pipeline("demo"), "--workdir", root]
    return (workdir, config, inbox, upload, tool)
  }

  /// probe26: a tardies.csv held open for writing (or still changing) was 75 "still arriving"
  /// at every timer run, for hours, with no notice, while its tardies were not delivered. The wait
  /// is in `sisdrop status` from the first run that sees it, and told once when it has lasted an
  /// hour past the quiet period (the clock is passed in: no waiting in the test); the run that
  /// takes the file ends it.
  @Test func aTardiesFileStillArrivingForTooLongIsInStatusAndToldOnce() throws {
    try withTemporaryFolder { root in
      let (workdir, config, _, upload, tool) = try Self.tardiesBeingUploaded(root)
      let notifications = root + "/notifications"
      func told() throws -> [String] {
        guard FileSystem.isDirectory(notifications) else { return [] }
        return try FileSystem.listDirectory(notifications).sorted().filter {
          $0.contains("still-arriving")
        }
      }
      func feed() throws -> [String: Any] {
        let status = try runTool("sisdrop", ["status", "--json", "--workdir", root])
        let json =
          try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return try #require(json?["tardy_feed"] as? [String: Any], "\(status.stdout)")
      }
      #expect(try runTool("sisdrop", tool + ["--if-present"]).status == 75)
      let waiting = try feed()
      #expect(
        (waiting["waiting_for"] as? String)?.hasPrefix(
          "tardies.csv is still arriving: open for writing by process \(getpid())") == true,
        "\(waiting)")
      let since = try #require(
        (waiting["waiting_since"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
      #expect(waiting["last_run"] is NSNull, "a file still arriving is not a run")
      let text = try runTool("sisdrop", ["status", "--workdir", root]).stdout
      #expect(text.contains("tardy feed waiting since "), "\(text)")
      #expect(try told().isEmpty)
      // The timer's runs go on finding it open: the wait keeps its start.
      #expect(try runTool("sisdrop", tool + ["--if-present"]).status == 75)
      #expect(try feed()["waiting_since"] as? String == waiting["waiting_since"] as? String)
      #expect(try told().isEmpty)

      // An hour past the quiet period: told once, with the file and the wait, never a tardy.
      let limit = TardyFeedStatus.arrivingTooLong(config)
      let later = since.addingTimeInterval(limit)
      for minutes in [0.0, 10, 20] {
        let stillOpen = try #require(throws: SISDropError.self) {
          try TardyFeed.run(workdir: workdir, config: config)
        }
        TardyFeed.record(
          .failure(stillOpen), workdir: workdir, config: config,
          now: later.addingTimeInterval(minutes * 60), log: { _ in })
      }
      let notices = try told()
      #expect(notices.count == 1, "\(notices)")
      let message = try readText(notifications + "/" + (try #require(notices.first)))
      #expect(
        message.contains("tardies.csv still arriving since \(since.ISO8601Format())")
          && message.contains("open for writing by process")
          && message.contains("Check Raptor's upload"), "\(message)")
      for value in ["101354", "Lincoln", "Late Bus"] { #expect(!message.contains(value)) }
      #expect(try runTool("sisdrop", ["status", "--workdir", root]).stdout.contains("(notified)"))

      // The upload ends: the next run takes the file, and the wait is over.
      try upload.close()
      let taken = try runTool("sisdrop", tool + ["--if-present"])
      #expect(taken.status == 0, "\(taken.stderr)")
      let after = try feed()
      #expect(after["waiting_for"] is NSNull && after["waiting_since"] is NSNull, "\(after)")
    }
  }

  /// Raptor uploads during the school day while the timer runs: a tardies.csv still being written
  /// was claimed, and the rows written after the claim were never sent (probe26). It is taken only
  /// once no process holds it open for writing (and it is unchanged for the quiet period), as every
  /// feed file is: 75 until then, nothing claimed, not a failure of the feed.
  @Test func aTardiesFileStillBeingUploadedIsNotTaken() throws {
    try withTemporaryFolder { root in
      let (_, _, inbox, upload, tool) = try Self.tardiesBeingUploaded(root)
      let early = try runTool("sisdrop", tool + ["--if-present"])
      #expect(early.status == 75, "\(early.stderr)")
      #expect(
        early.stderr.contains(
          "tardies.csv is not taken yet: still arriving: open for writing by process \(getpid())"),
        "\(early.stderr)")
      #expect(FileSystem.exists(inbox))
      #expect(
        !FileSystem.isDirectory(root + "/tardies") || files(below: root + "/tardies").isEmpty,
        "nothing claimed")
      try upload.close()
      let complete = try runTool("sisdrop", tool + ["--if-present"])
      #expect(complete.status == 0, "\(complete.stderr)")
      #expect(
        complete.stdout.contains("16 delivered, 4 in error, 0 already sent"), "\(complete.stdout)")
      #expect(!FileSystem.exists(inbox))
    }
  }
}
