import Foundation
import Testing
import _SISDropPipelineTestSupport
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropMatching

/// The hand-written stage-record codec (Records/StageJSON.swift) against Foundation's coders:
/// same bytes written, same values read, damaged lines refused with file and line.
@Suite struct StageJSONTests {
  let encoder = JSONLines.encoder()

  func handBytes<R: StageRecord>(_ value: R) throws -> [UInt8] {
    var writer = StageJSONWriter()
    try value.writeStageJSON(into: &writer)
    return writer.bytes
  }

  func handRead<R: StageRecord>(_ type: R.Type, _ bytes: [UInt8]) throws -> R {
    try bytes.withUnsafeBufferPointer { try StageJSONReader.read(R.self, from: $0) }
  }

  /// Where two byte strings part, with some context: readable where a whole record is not.
  func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
    let at = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    func around(_ x: [UInt8]) -> String {
      String(decoding: x[max(0, at - 40)..<min(x.count, at + 40)], as: UTF8.self)
    }
    return
      "hand and JSONEncoder differ at byte \(at): hand …\(around(a))… JSONEncoder …\(around(b))…"
  }

  /// Both ways for one record: hand bytes == JSONEncoder bytes, hand decode == JSONDecoder decode,
  /// and the hand decode of those bytes writes them again (catches -0 read as 0 and the like).
  func checkEquivalent<R: StageRecord & Codable & Equatable>(
    _ value: R, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) throws {
    let foundation = [UInt8](try encoder.encode(value))
    let hand = try handBytes(value)
    #expect(
      hand == foundation, "\(firstDifference(hand, foundation))", sourceLocation: sourceLocation)
    let decoded = try handRead(R.self, foundation)
    #expect(
      decoded == (try JSONDecoder().decode(R.self, from: Data(foundation))),
      sourceLocation: sourceLocation)
    let again = try handBytes(decoded)
    #expect(
      again == foundation, "\(firstDifference(again, foundation))", sourceLocation: sourceLocation)
  }

  func foundationLines<T: Encodable>(_ values: [T]) throws -> [UInt8] {
    try values.flatMap { [UInt8](try encoder.encode($0)) + [0x0A] }
  }

  /// Runs the demo district through the pipeline (fellegi-sunter), as a user would.
  func demoBatch(_ root: String) throws -> (WorkDir, String) {
    let (workdir, _, pipeline) = try demoWorkdir(root + "/w")
    let summary = try #require(
      try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
    return (workdir, summary.batch)
  }

  func lines(_ path: String) throws -> [Data] {
    try readText(path).split(separator: "\n").map { Data($0.utf8) }
  }

  @Test func theDemoDistrictsStageFilesAreJSONEncodersBytesAndReadAsJSONDecoderReadsThem() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try demoBatch(root)
      var checked = 0
      for path in [
        workdir.stageFolder(batch, .parse) + "/submissions.jsonl",
        workdir.stageFolder(batch, .normalize) + "/submissions.jsonl",
      ] {
        let file = try FileSystem.readFile(path)
        let foundation = try lines(path).map { try JSONDecoder().decode(Submission.self, from: $0) }
        #expect(foundation.count > 20)
        // The file the pipeline wrote (hand writer) is what JSONEncoder writes for the same records.
        #expect(file == (try foundationLines(foundation)))
        #expect(try JSONLines.read(Submission.self, from: path) == foundation)
        #expect(try ParallelJSONLines.read(Submission.self, from: path) == foundation)
        for submission in foundation {
          try checkEquivalent(submission)
          checked += 1
        }
      }
      let path = workdir.stageFolder(batch, .match) + "/decisions.jsonl"
      let file = try FileSystem.readFile(path)
      let foundation = try lines(path).map {
        try JSONDecoder().decode(SubmissionDecision.self, from: $0)
      }
      #expect(file == (try foundationLines(foundation)))
      #expect(try JSONLines.read(SubmissionDecision.self, from: path) == foundation)
      #expect(try ParallelJSONLines.read(SubmissionDecision.self, from: path) == foundation)
      for decision in foundation {
        try checkEquivalent(decision)
        checked += 1
      }
      // The comparison is only worth something if the decisions carry every optional part.
      let candidates = foundation.flatMap { $0.students.flatMap { $0.decision.candidates } }
      #expect(candidates.contains { $0.comparisons?.contains { $0.weight == nil } == true })
      #expect(candidates.contains { $0.guards?.isEmpty == false })
      #expect(candidates.contains { $0.matchWeight != nil && $0.blockedBy != nil })
      #expect(
        foundation.contains {
          $0.students.contains { $0.decision.thresholds != nil && $0.decision.sisID == nil }
        })
      let contacts = foundation.flatMap(\.contacts)
      #expect(
        contacts.contains { $0.contactID == nil }
          && contacts.contains { $0.contactID != nil && !$0.differences.isEmpty })
      #expect(checked > 60)
    }
  }

  @Test func theXMLDemoDistrictsSubmissionsToo() throws {
    try withTemporaryFolder { root in
      let (workdir, _, pipeline) = try demoWorkdir(root + "/w", xml: true)
      let summary = try #require(
        try PipelineRunner.run(workdir: workdir, pipelinePath: pipeline, log: { _ in }))
      let path = workdir.stageFolder(summary.batch, .normalize) + "/submissions.jsonl"
      let foundation = try lines(path).map { try JSONDecoder().decode(Submission.self, from: $0) }
      #expect(!foundation.isEmpty)
      #expect(try FileSystem.readFile(path) == (try foundationLines(foundation)))
      for submission in foundation { try checkEquivalent(submission) }
    }
  }

  static let trickyStrings: [String] = {
    var controls = ""
    for code in 0..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(code))) }
    return [
      "", controls, "\u{7F}", "\"quoted\"", "back\\slash\\", "a/b//c</script>", "José",
      "Jose\u{301}", "😀👩‍👧", "line\u{2028}sep\u{2029}",
      "\u{FEFF}bom", "tab\tand\r\nnewline", "\u{1F}\u{1}", "中文", "\u{10FFFF}", "\u{E000}",
      "{\"json\":[1,2]}", " leading and trailing ",
    ]
  }()

  static let trickyDoubles: [Double] = [
    1, 0, -0.0, 0.999, 1e-06, 3.5e-05, 1e+20, 0.30000000000000004, 1e15, 9_007_199_254_740_993,
    123_456_789_012_345_678, -2.15,
    5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 100, 1e-5,
    0.0001, 60.37, 1.0 / 3, -123.456e-7,
  ]

  @Test func trickyStringsAndNumbersAreWrittenAsJSONEncoderWritesThemAndReadBack() throws {
    var submission = Submission(
      id: "S-1", form: "Form \"2026\"", approvedAt: "2026-11-01T08:00:00-06:00",
      source: SourceLocation(path: "in/a.csv", line: 2))
    for (index, text) in Self.trickyStrings.enumerated() {
      // Tricky keys too: JSONEncoder sorts them by UTF-8 bytes, not as Swift orders strings.
      var part = SubmissionPart(
        seq: index + 1,
        fields: [
          "value": text, "k\(text)": "x", "FirstName": text, "First_Name": "y", "Z": "", "_a": "",
          "first": "",
        ],
        source: SourceLocation(
          path: text.isEmpty ? "p" : text, line: index, column: index * 7, element: text))
      submission.students.append(part)
      part.source = SourceLocation(path: "x")
      submission.contacts.append(part)
    }
    submission.contentHash = String(repeating: "ab", count: 32)
    try checkEquivalent(submission)

    var candidates: [MatchCandidate] = []
    for (index, value) in Self.trickyDoubles.enumerated() {
      var candidate = MatchCandidate(sisID: "\(index)", score: value, reasons: Self.trickyStrings)
      candidate.comparisons = [
        FieldComparison(field: "f", level: "l", weight: value),
        FieldComparison(field: "g", level: "m", weight: nil),
      ]
      candidate.matchWeight = -value
      candidate.blockedBy = index % 2 == 0 ? [] : ["a", "b"]
      candidate.guards = index % 3 == 0 ? nil : ["twin"]
      candidates.append(candidate)
    }
    var decision = MatchDecision(
      outcome: .potential, sisID: nil, score: 0.5, reasons: [], candidates: candidates,
      method: "fellegi-sunter")
    decision.thresholds = MatchThresholds(autoMatch: 0.999, review: 0.05, ambiguityMargin: 6)
    var student = StudentDecision(
      seq: 1, decision: decision,
      differences: [FieldDifference(field: "First_Name", enrollment: "Jose\u{301}", sis: "José")])
    student.keptSIS = ["Email", "\u{0}"]
    student.sameChildAs = "S-2/1"
    var contact = ContactDecision(
      seq: 2, outcome: .new, contactID: nil, reason: "new", differences: [])
    contact.sameAs = "S-1/2"
    var matched = ContactDecision(
      seq: 1, outcome: .matched, contactID: "C1", reason: "same name", differences: [])
    matched.sisStudents = ["100", "101"]
    var potential = ContactDecision(
      seq: 3, outcome: .potential, contactID: nil, reason: "the surname differs", differences: [])
    potential.candidates = ["C7"]
    try checkEquivalent(
      SubmissionDecision(
        submissionID: "S-\u{1F600}",
        students: [
          student,
          StudentDecision(
            seq: 2,
            decision: MatchDecision(
              outcome: .new, sisID: "9", score: -0.0, reasons: ["r"], candidates: [], method: "m"),
            differences: []),
        ], contacts: [contact, matched, potential]))
  }

  @Test func everythingJSONAllowsIsReadAsJSONDecoderReadsIt() throws {
    // Escapes our writers never use, whitespace, another key order, explicit nulls, unusual numbers.
    let text = """
         { "students" : [ ] ,\t"documents":[],"contacts":[{"source":{"path":"\\u0070\\/q","line":null,"element":null},"seq":-0,
        "fields":{"\\u00e9":"\\ud83d\\ude00\\u00E9\\b\\f\\n\\r\\t\\\\\\"\\/","B":"\\u2028"}}],"source":{"path":"p","column":3},
        "id":"S","form":"F","contentHash":null,"approvedAt":"t"}\r
      """.replacingOccurrences(of: "\n", with: "")
    let bytes = Array(text.utf8)
    let hand = try handRead(Submission.self, bytes)
    let foundation = try JSONDecoder().decode(Submission.self, from: Data(bytes))
    #expect(hand == foundation)
    #expect(hand.contacts[0].fields["é"] == "😀é\u{8}\u{C}\n\r\t\\\"/")
    #expect(hand.contacts[0].source.path == "p/q")

    let decision =
      #"{"submissionID":"S","contacts":[],"students":[{"seq":1,"differences":[],"decision":DECISION}]}"#
    // Keys the record does not have are skipped, as JSONDecoder skips them (a field a later version dropped).
    let extra =
      #"{"retired":{"a":[1,-2.5e3,"x",true,false,null,{}]},"id":"S","form":"F","approvedAt":"t","source":{"path":"p","was":null},"students":[],"contacts":[],"documents":[],"z":"\u00e9"}"#
    #expect(
      try handRead(Submission.self, Array(extra.utf8))
        == (try JSONDecoder().decode(Submission.self, from: Data(extra.utf8))))

    let numbers = decision.replacingOccurrences(
      of: "DECISION",
      with:
        #"{"candidates":[{"reasons":[],"score":1E2,"sisID":"x","matchWeight":-0.5e-3},{"reasons":[],"score":1e400000000000000,"sisID":"y"}],"method":"m","outcome":"new","reasons":[],"score":12345678901234567890123}"#
    )
    // JSONDecoder refuses 1e400000000000000 (out of range) and so does the hand reader.
    #expect(throws: (any Error).self) {
      try JSONDecoder().decode(SubmissionDecision.self, from: Data(numbers.utf8))
    }
    #expect(throws: StageJSONError.self) {
      try handRead(SubmissionDecision.self, Array(numbers.utf8))
    }
    let inRange = numbers.replacingOccurrences(of: "1e400000000000000", with: "0.1e1")
    #expect(
      try handRead(SubmissionDecision.self, Array(inRange.utf8))
        == (try JSONDecoder().decode(SubmissionDecision.self, from: Data(inRange.utf8))))
  }

  @Test func invalidUTF8IsRefusedAsJSONDecoderRefusesIt() throws {
    func line(_ value: [UInt8]) -> [UInt8] {
      Array(#"{"id":""#.utf8) + value
        + Array(
          #"","form":"F","approvedAt":"t","source":{"path":"p"},"students":[],"contacts":[],"documents":[]}"#
            .utf8)
    }
    for bad: [UInt8] in [
      [0xFF], [0x41, 0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0x5C, 0x6E, 0xE9],
    ] {
      #expect(throws: (any Error).self) {
        try JSONDecoder().decode(Submission.self, from: Data(line(bad)))
      }
      let error = try #require(throws: StageJSONError.self) {
        try handRead(Submission.self, line(bad))
      }
      #expect(
        error.description.hasPrefix("a string is not valid UTF-8 at byte 8 of the line (in id)"),
        "\(error)")
    }
    // U+FFFD itself is valid: only a repaired string is refused.
    let replacement = line(Array("a\u{FFFD}é".utf8))
    #expect(
      try handRead(Submission.self, replacement).id
        == (try JSONDecoder().decode(Submission.self, from: Data(replacement))).id)
  }

  /// Every stored property of every record type is written by the hand codec: a property added to
  /// one of them (even an optional left nil) fails here until StageRecords.swift writes it.
  @Test func everyStoredPropertyIsWritten() throws {
    func keys(_ bytes: [UInt8]) throws -> Set<String> {
      Set(try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]).keys)
    }
    func labels(_ value: Any) -> Set<String> {
      Set(Mirror(reflecting: value).children.compactMap(\.label))
    }
    func check(
      _ value: Any, _ write: (inout StageJSONWriter) throws -> Void,
      sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
      var writer = StageJSONWriter()
      try write(&writer)
      #expect(try keys(writer.bytes) == labels(value), sourceLocation: sourceLocation)
    }
    let location = SourceLocation(path: "p", line: 1, column: 2, element: "e")
    try check(location) { location.writeStageJSON(into: &$0) }
    let part = SubmissionPart(seq: 1, fields: [:], source: location)
    try check(part) { part.writeStageJSON(into: &$0) }
    var submission = Submission(id: "S", form: "F", approvedAt: "t", source: location)
    submission.contentHash = "h"
    try check(submission) { submission.writeStageJSON(into: &$0) }
    let comparison = FieldComparison(field: "f", level: "l", weight: 1)
    try check(comparison) { try comparison.writeStageJSON(into: &$0) }
    let thresholds = MatchThresholds(autoMatch: 1, review: 0.5, ambiguityMargin: 2)
    try check(thresholds) { try thresholds.writeStageJSON(into: &$0) }
    var candidate = MatchCandidate(sisID: "1", score: 1, reasons: [])
    candidate.comparisons = []
    candidate.matchWeight = 1
    candidate.blockedBy = []
    candidate.guards = []
    try check(candidate) { try candidate.writeStageJSON(into: &$0) }
    var decision = MatchDecision(
      outcome: .matched, sisID: "1", score: 1, reasons: [], candidates: [], method: "m")
    decision.thresholds = thresholds
    try check(decision) { try decision.writeStageJSON(into: &$0) }
    let difference = FieldDifference(field: "f", enrollment: "a", sis: "b")
    try check(difference) { difference.writeStageJSON(into: &$0) }
    var student = StudentDecision(seq: 1, decision: decision, differences: [])
    student.keptSIS = []
    student.heldDifferences = [difference]
    student.sameChildAs = "S/1"
    try check(student) { try student.writeStageJSON(into: &$0) }
    var contact = ContactDecision(
      seq: 1, outcome: .new, contactID: "C", reason: "r", differences: [])
    contact.sameAs = "S/1"
    contact.heldDifferences = [difference]
    contact.keptSIS = ["Phone"]
    contact.candidates = ["C"]
    contact.sisStudents = ["1"]
    try check(contact) { contact.writeStageJSON(into: &$0) }
    let whole = SubmissionDecision(submissionID: "S", students: [], contacts: [])
    try check(whole) { try whole.writeStageJSON(into: &$0) }
  }

  @Test func aNonFiniteScoreIsRefusedAsJSONEncoderRefusesIt() throws {
    let decision = MatchDecision(
      outcome: .new, sisID: nil, score: .nan, reasons: [], candidates: [], method: "m")
    let record = SubmissionDecision(
      submissionID: "S", students: [StudentDecision(seq: 1, decision: decision, differences: [])],
      contacts: [])
    #expect(throws: EncodingError.self) { try encoder.encode(record) }
    #expect(throws: EncodingError.self) { try handBytes(record) }
  }

  /// Ways a line of submissions.jsonl gets damaged, and what the error must say.
  enum Damage: String, CaseIterable, Sendable {
    case truncated, badEscape, loneSurrogate, missingKey, wrongType, badLiteral, rawControl,
      trailingText, notAnObject

    func apply(_ line: String) -> String {
      switch self {
      case .truncated: return String(line.prefix(line.count / 2))
      case .badEscape: return line.replacingOccurrences(of: "Springfield", with: #"Spring\qfield"#)
      case .loneSurrogate:
        return line.replacingOccurrences(of: "Springfield", with: #"Spring\ud800field"#)
      case .missingKey: return line.replacingOccurrences(of: #""id":"S-2","#, with: "")
      case .wrongType: return line.replacingOccurrences(of: #""seq":1"#, with: #""seq":"1""#)
      case .badLiteral:
        return line.replacingOccurrences(of: #""form":"#, with: #""retired":[{"a":tru}],"form":"#)
      case .rawControl: return line.replacingOccurrences(of: "Springfield", with: "Spring\tfield")
      case .trailingText: return line + "}"
      case .notAnObject: return "[]"
      }
    }

    var expected: String {
      switch self {
      case .truncated: return "end of the line at byte"
      case .badEscape: return #"an unknown escape '\q' in a string at byte"#
      case .loneSurrogate: return "high surrogate without its low surrogate at byte"
      case .missingKey: return #"missing key "id" in Submission at byte 1 of the line"#
      case .wrongType: return #"expected a number, found '"' at byte"#
      case .badLiteral: return #"expected true, found 't' at byte"#
      case .rawControl: return "a control character (0x9) inside a string must be escaped at byte"
      case .trailingText: return "unexpected text after the record at byte"
      case .notAnObject: return "expected '{' (an object), found '[' at byte 1 of the line"
      }
    }
  }

  /// A damaged line: the dataError names the file and line and says what is wrong, where in the line.
  @Test(arguments: Damage.allCases)
  func aDamagedSubmissionLineIsADataErrorNamingFileAndLine(_ damage: Damage) throws {
    try withTemporaryFolder { root in
      var source = SourceLocation(path: "input/submissions.csv", line: 2)
      var records: [Submission] = []
      for index in 1...300 {
        var submission = Submission(id: "S-\(index)", form: "F", approvedAt: "t", source: source)
        submission.students = [
          SubmissionPart(
            seq: 1, fields: ["City": "Springfield", "First_Name": "Ana"], source: source)
        ]
        records.append(submission)
        source.line = index + 2
      }
      let path = root + "/submissions.jsonl"
      try JSONLines.write(records, to: path)
      var lines = try readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
      #expect(try JSONLines.read(Submission.self, from: path) == records)
      // Line 2 damaged: both readers (ParallelJSONLines in chunks) name it.
      lines[1] = damage.apply(lines[1])
      #expect(
        lines[1] != (try String(decoding: JSONLines.encoder().encode(records[1]), as: UTF8.self)))
      _ = try writeFile(path, lines.joined(separator: "\n"))
      for read in [
        { try JSONLines.read(Submission.self, from: path) },
        { try ParallelJSONLines.read(Submission.self, from: path) },
      ] as [() throws -> [Submission]] {
        let error = try #require(throws: SISDropError.self) { try read() }
        #expect(error.status == .dataError)
        #expect(error.location == SourceLocation(path: path, line: 2))
        #expect(error.message.hasPrefix("cannot read a stage record: "))
        #expect(error.message.contains(damage.expected), "\(error.message)")
        #expect(
          error.hint == "the stage folder was edited or damaged: rerun the stage that wrote it")
      }
    }
  }

  @Test func aDamagedDecisionLateInTheFileNamesItsLineAndKeyPath() throws {
    try withTemporaryFolder { root in
      var records: [SubmissionDecision] = []
      for index in 1...600 {
        let decision = MatchDecision(
          outcome: .matched, sisID: "\(index)", score: 1, reasons: ["r"],
          candidates: [MatchCandidate(sisID: "\(index)", score: 1, reasons: [])], method: "m")
        records.append(
          SubmissionDecision(
            submissionID: "S-\(index)",
            students: [StudentDecision(seq: 1, decision: decision, differences: [])], contacts: []))
      }
      let path = root + "/decisions.jsonl"
      try ParallelJSONLines.write(records, to: path)
      #expect(try FileSystem.readFile(path) == (try foundationLines(records)))
      #expect(try ParallelJSONLines.read(SubmissionDecision.self, from: path) == records)
      var lines = try readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
      lines[499] = lines[499].replacingOccurrences(
        of: #""outcome":"matched""#, with: #""outcome":"maybe""#)
      _ = try writeFile(path, lines.joined(separator: "\n"))
      for read in [
        { try JSONLines.read(SubmissionDecision.self, from: path) },
        { try ParallelJSONLines.read(SubmissionDecision.self, from: path) },
      ] as [() throws -> [SubmissionDecision]] {
        let error = try #require(throws: SISDropError.self) { try read() }
        #expect(error.location == SourceLocation(path: path, line: 500))
        #expect(error.message.contains(#"unknown match outcome "maybe" at byte"#))
        #expect(error.message.hasSuffix("(in students[0].decision.outcome)"), "\(error.message)")
      }
    }
  }
}
