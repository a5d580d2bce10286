import Foundation
import Testing

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropFormats

/// The normalize stage's forms give exactly what the Foundation forms they replace gave: approval
/// times through `TimestampReader` (Date.ISO8601FormatStyle and the Gregorian calendar) as through
/// `ISO8601DateFormatter` and the calendar (the reference below), the content hash as JSONEncoder's.
@Suite struct HandWrittenFormsTests {
  static let zones = [
    "UTC", "America/Chicago", "America/New_York", "America/Denver", "America/Phoenix",
    "Pacific/Honolulu", "Europe/London",
    "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Australia/Lord_Howe",
  ].compactMap(TimeZone.init(identifier:))

  /// How approval times were read before `TimestampReader`: Foundation's `ISO8601DateFormatter`
  /// (RFC 3339 with a zone) and Gregorian calendar (a wall-clock time in the zone).
  static func reference(_ value: String, zone: TimeZone, datePatterns: [DatePattern]) -> String? {
    let v = FieldRules.text(value)
    if v.isEmpty { return nil }
    let iso = ISO8601DateFormatter()
    iso.formatOptions = [.withInternetDateTime]
    let output = ISO8601DateFormatter()
    output.timeZone = zone
    output.formatOptions = [.withInternetDateTime]
    if FieldRules.mayHaveZone(v), let date = iso.date(from: v) { return output.string(from: date) }
    guard let (day, hour, minute, second) = FieldRules.localTime(v, datePatterns: datePatterns)
    else { return nil }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    let components = DateComponents(
      year: day.year, month: day.month, day: day.day, hour: hour, minute: minute, second: second)
    guard let date = calendar.date(from: components) else { return nil }
    return output.string(from: date)
  }

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
    var read = 0
    for instant in instants {
      let date = Date(timeIntervalSince1970: TimeInterval(instant))
      for zone in [Self.zones[0], Self.zones[1], Self.zones[7], Self.zones[8]] {
        // The input written in one zone, read into every zone.
        let writer = ISO8601DateFormatter()
        writer.timeZone = zone
        writer.formatOptions = [.withInternetDateTime]
        let input = writer.string(from: date)
        for target in Self.zones {
          let expected = Self.reference(input, zone: target, datePatterns: [.iso])
          #expect(expected != nil)
          #expect(
            FieldRules.timestamp(input, zone: target, datePatterns: [.iso]) == expected,
            "\(input) in \(target.identifier)")
          if expected != nil { read += 1 }
        }
      }
    }
    #expect(read == instants.count * 4 * Self.zones.count)
    // Other shapes (fractions, lower case, impossible days and hours, old years, offsets without a
    // colon, wall-clock times) come out as they did too, read or refused alike.
    for input in [
      "2026-11-20T20:05:00.250Z", "2026-11-20t20:05:00z", "2026-02-30T10:00:00Z",
      "2026-11-20T24:00:00Z", "1850-01-01T00:00:00Z",
      "2026-11-20T20:05:00+0530", "2026-11-20 14:05", "11/20/2026 2:05 PM", "2026-11-20T20:05",
      "2026-11-20T20:05:00+05:30", "2026-11-20 20:05:00Z", "20261120T200500Z",
      "2026-11-20T20:05:00 -06:00", "2026-11-20", "yesterday", "",
      "2026-11-20T20:05:00.250-06:00", "2026-11-20T20:05:00 Z", "2026-11-20T20:05:00\t+05:30",
      "2026-11-20T20:05:60Z", "2026-11-20T20:60:00Z", "2026-11-20T25:00:00Z",
      "2026-11-20T20:05:00 - 06:00", "2026-11-20T2:05:00Z", "2026-11-20T20:05:00-0600",
    ] {
      for zone in [Self.zones[1], Self.zones[0], Self.zones[8]] {
        #expect(
          FieldRules.timestamp(input, zone: zone, datePatterns: [.monthDayYear, .iso])
            == Self.reference(input, zone: zone, datePatterns: [.monthDayYear, .iso]),
          "\(input) in \(zone.identifier)")
      }
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
    for input in inputs {
      #expect(!FieldRules.mayHaveZone(input))
      for zone in [Self.zones[1], Self.zones[2], Self.zones[6], Self.zones[10], Self.zones[0]] {
        let expected = Self.reference(input, zone: zone, datePatterns: [.monthDayYear])
        #expect(expected != nil)
        #expect(
          FieldRules.timestamp(input, zone: zone, datePatterns: [.monthDayYear]) == expected,
          "\(input) in \(zone.identifier)")
        // The normalizer's kept reader gives the same as a reader per call.
        #expect(TimestampReader(zone: zone).read(input, datePatterns: [.monthDayYear]) == expected)
      }
    }
  }

  /// Deliver orders one child's forms by the instant of their written approval times.
  @Test func writtenApprovalTimesReadBackAsTheirInstants() throws {
    let chicago = try #require(TimeZone(identifier: "America/Chicago"))
    let written = try #require(
      FieldRules.timestamp("2026-11-01T01:30:00-05:00", zone: chicago, datePatterns: []))
    #expect(written == "2026-11-01T01:30:00-05:00")
    #expect(TimestampReader.instant(written)?.timeIntervalSince1970 == 1_793_514_600)
    #expect(TimestampReader.instant("2026-11-01T06:30:00Z")?.timeIntervalSince1970 == 1_793_514_600)
    #expect(TimestampReader.instant("not a time") == nil)
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
