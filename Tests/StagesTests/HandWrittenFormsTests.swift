import Foundation
import Testing

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropFormats

/// The normalize stage's hand-written forms (approval times, the content hash) give exactly what
/// the Foundation forms they replace give.
@Suite struct HandWrittenFormsTests {
  static let zones = [
    "UTC", "America/Chicago", "America/New_York", "America/Denver", "America/Phoenix",
    "Pacific/Honolulu", "Europe/London",
    "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Australia/Lord_Howe",
  ].compactMap(TimeZone.init(identifier:))

  @Test func approvalTimesAgreeWithFoundationOverManyInstantsAndZones() throws {
    #expect(Self.zones.count == 11)
    var rng = SplitMix64(state: 42)
    var instants: [Int64] = [
      0,
      951_782_400,  // 2000-02-29
      4_107_542_399,  // 2100-02-28T23:59:59Z
      -2_208_988_800,  // 1900-01-01
    ]
    // Around the 2026 US and EU daylight-saving changes, minute by minute, and random instants 1950–2100.
    for start: Int64 in [1_772_935_200, 1_793_494_800, 1_774_746_000, 1_792_890_000] {
      for m in -90...90 where m % 7 == 0 { instants.append(start + Int64(m * 60)) }
    }
    for _ in 0..<120 { instants.append(-631_152_000 + Int64(rng.int(4_733_510_400))) }
    var fast = 0
    for instant in instants {
      let date = Date(timeIntervalSince1970: TimeInterval(instant))
      for zone in [Self.zones[0], Self.zones[1], Self.zones[7], Self.zones[8]] {
        // The input written in one zone, read into every zone.
        let writer = ISO8601DateFormatter()
        writer.timeZone = zone
        writer.formatOptions = [.withInternetDateTime]
        let input = writer.string(from: date)
        for target in Self.zones {
          let expected = FieldRules.foundationTimestamp(input, zone: target, datePatterns: [.iso])
          #expect(
            FieldRules.timestamp(input, zone: target, datePatterns: [.iso]) == expected,
            "\(input) in \(target.identifier)")
          if InternetDateTime.parse(input) != nil { fast += 1 }
        }
      }
    }
    // the hand path really ran (4 input zones × 11 target zones each)
    #expect(fast > instants.count * 30)
    // Shapes the hand path leaves to Foundation still come out as Foundation's.
    for input in [
      "2026-11-20T20:05:00.250Z", "2026-11-20t20:05:00z", "2026-02-30T10:00:00Z",
      "2026-11-20T24:00:00Z", "1850-01-01T00:00:00Z",
      "2026-11-20T20:05:00+0530", "2026-11-20 14:05", "11/20/2026 2:05 PM", "2026-11-20T20:05",
    ] {
      #expect(InternetDateTime.parse(input) == nil, "\(input)")
      #expect(
        FieldRules.timestamp(input, zone: Self.zones[1], datePatterns: [.monthDayYear, .iso])
          == FieldRules.foundationTimestamp(
            input, zone: Self.zones[1], datePatterns: [.monthDayYear, .iso]), "\(input)")
    }
  }

  /// Wall-clock approval times (no zone, the district's) agree with Foundation's calendar, minute
  /// by minute through the 2026 daylight-saving changes (skipped and repeated hours) and at random.
  @Test func localApprovalTimesAgreeWithFoundationsCalendar() {
    var rng = SplitMix64(state: 7)
    var inputs: [String] = []
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    for (day, month) in [(8, 3), (1, 11), (29, 3), (25, 10), (5, 4), (4, 10)] {
      for minute in stride(from: 0, to: 24 * 60, by: 10) {
        inputs.append("2026-\(two(month))-\(two(day)) \(two(minute / 60)):\(two(minute % 60))")
      }
    }
    for _ in 0..<150 {
      let year = 1950 + rng.int(150)
      let month = 1 + rng.int(12)
      let day = 1 + rng.int(28)
      let hour = rng.int(24)
      let minute = rng.int(60)
      inputs.append(
        "\(two(month))/\(two(day))/\(year) \(hour % 12 == 0 ? 12 : hour % 12):\(two(minute)) \(hour < 12 ? "AM" : "PM")"
      )
      inputs.append(
        "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(rng.int(60)))")
    }
    var hand = 0
    for input in inputs {
      #expect(!InternetDateTime.mayHaveZone(input))
      for zone in [Self.zones[1], Self.zones[2], Self.zones[6], Self.zones[10], Self.zones[0]] {
        let expected = FieldRules.foundationTimestamp(
          input, zone: zone, datePatterns: [.monthDayYear])
        #expect(expected != nil)
        #expect(
          FieldRules.timestamp(input, zone: zone, datePatterns: [.monthDayYear]) == expected,
          "\(input) in \(zone.identifier)")
        if let local = FieldRules.localTime(input, datePatterns: [.monthDayYear]),
          InternetDateTime.instant(
            localSeconds: Int64(
              InternetDateTime.daysFromCivil(local.day.year, local.day.month, local.day.day))
              * 86_400, zone: zone) != nil
        {
          hand += 1
        }
      }
    }
    #expect(hand > inputs.count * 3)  // the hand path really ran for most
  }

  @Test func civilDaysRoundTrip() {
    for days in stride(from: -30_000, through: 90_000, by: 37) {
      let (y, m, d) = InternetDateTime.civilFromDays(days)
      #expect(InternetDateTime.daysFromCivil(y, m, d) == days)
      #expect(d >= 1 && d <= InternetDateTime.daysIn(m, y))
    }
  }

  /// The content hash is the ledger's version key: its bytes are JSONEncoder's, for every kind of value.
  @Test func contentHashIsTheJSONEncoderHash() throws {
    struct Content: Encodable {
      var id: String, form: String, approvedAt: String
      var students: [[String: String]], contacts: [[String: String]], documents: [[String: String]]
    }
    func reference(_ s: Submission) throws -> String {
      func withSeq(_ part: SubmissionPart) -> [String: String] {
        part.fields.merging(["#seq": String(part.seq)]) { a, _ in a }
      }
      let content = Content(
        id: s.id, form: s.form, approvedAt: s.approvedAt, students: s.students.map(withSeq),
        contacts: s.contacts.map(withSeq), documents: s.documents.map(withSeq))
      return SHA256.hex(try JSONLines.encoder().encode(content))
    }
    let source = SourceLocation(path: "input/submissions.csv", line: 2)
    var plain = Submission(
      id: "S-1", form: "2026-27 Registration", approvedAt: "2026-11-01T08:00:00-06:00",
      source: source)
    plain.students = [
      SubmissionPart(
        seq: 1, fields: ["First_Name": "Ann", "Last_Name": "Lee", "DOB": "2015-03-04"],
        source: source)
    ]
    var tricky = Submission(
      id: "S-\"2\"", form: "Form / with \\ slash\n", approvedAt: "", source: source)
    tricky.students = [
      SubmissionPart(
        seq: 1,
        fields: [
          "First_Name": "María José", "Last_Name": "Nguyễn", "Street": "12 \u{1}Main\tSt",
          "#seq": "kept",
        ], source: source),
      SubmissionPart(seq: 2, fields: [:], source: source),
    ]
    tricky.contacts = [
      SubmissionPart(
        seq: 1,
        fields: [
          "First_Name": "😀", "FirstName": "x", "First_Name2": "y", "first": "z", "Zip": "6270",
        ], source: source)
    ]
    tricky.documents = [
      SubmissionPart(
        seq: 3,
        fields: ["Doc_Type": "Proof of Residency", "SHA256": String(repeating: "ab", count: 32)],
        source: source)
    ]
    for submission in [plain, tricky, Submission(id: "", form: "", approvedAt: "", source: source)]
    {
      #expect(
        SubmissionNormalizer.contentHash(submission) == (try reference(submission)),
        "\(submission.id)")
    }
  }
}
