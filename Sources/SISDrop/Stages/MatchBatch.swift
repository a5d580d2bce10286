import SISDropCore

/// The batch as the match stage holds it from reading to the last step that needs it whole: of
/// each submission, what matching reads (`MatchStage.forMatcher`: its ids, approval time and
/// version, its students' and contacts' matched fields, its documents' SHA-256) as bytes
/// (`PackedTexts`), a buffer per chunk read; made `Submission`s again a chunk or one at a time.
/// Why: as `Submission`s (a dictionary of strings per student and contact) the batch was 2 KB a
/// submission, the largest part of the match stage's peak at 20,000 submissions; as bytes it is
/// about 300 (`scripts/bench/review.sh`).
struct MatchBatch: RandomAccessCollection {
  private var chunks: [PackedTexts] = []
  /// Where each chunk starts, in submissions.
  private var starts: [Int] = [0]

  var startIndex: Int { 0 }
  var endIndex: Int { starts[starts.count - 1] }

  /// `submissions` after those held, as `forMatcher` keeps them.
  mutating func append(_ submissions: [Submission]) {
    guard !submissions.isEmpty else { return }
    var texts = PackedTexts()
    for submission in submissions { Self.put(submission, into: &texts) }
    texts.shrink()
    chunks.append(texts)
    starts.append(count + submissions.count)
  }

  /// Submission `index`, as `MatchStage.forMatcher` makes it (made again on every access).
  subscript(_ index: Int) -> Submission {
    let chunk = chunkIndex(of: index)
    var reader = chunks[chunk].reader(index - starts[chunk])
    return Self.submission(&reader)
  }

  /// Submissions `range`, in order.
  func submissions(_ range: Range<Int>) -> [Submission] { range.map { self[$0] } }

  /// Every submission, `size` at a time, in order.
  func forEachChunk(_ size: Int, _ body: (_ first: Int, [Submission]) throws -> Void) rethrows {
    for first in stride(from: 0, to: count, by: Swift.max(1, size)) {
      try body(first, submissions(first..<Swift.min(first + size, count)))
    }
  }

  /// The batch with only the submissions `kept` marks made again; the others read as a submission
  /// without students, contacts or documents (for steps that look at some students only).
  struct Only: RandomAccessCollection {
    let batch: MatchBatch
    let kept: [Bool]

    var startIndex: Int { 0 }
    var endIndex: Int { batch.count }

    subscript(_ index: Int) -> Submission {
      kept[index]
        ? batch[index] : Submission(id: "", form: "", approvedAt: "", source: MatchBatch.source)
    }
  }

  private func chunkIndex(of index: Int) -> Int {
    precondition(index >= 0 && index < count, "submission \(index) of \(count)")
    // The chunk whose start is the last at or before `index`.
    var low = 0
    var high = chunks.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if starts[middle] <= index { low = middle } else { high = middle - 1 }
    }
    return low
  }

  fileprivate static let source = SourceLocation(path: "")

  /// A part's fields of `names` that it has: which (one bit each, in `names`' order), then their
  /// values.
  private static func put(_ part: SubmissionPart, _ names: [String], into texts: inout PackedTexts)
  {
    texts.put(part.seq)
    var present = 0
    for (bit, name) in names.enumerated() where part.fields[name] != nil { present |= 1 << bit }
    texts.put(present)
    for name in names { if let value = part.fields[name] { texts.put(value) } }
  }

  private static func part(_ reader: inout PackedTexts.Reader, _ names: [String])
    -> SubmissionPart
  {
    let seq = reader.number()
    let present = reader.number()
    var fields = [String: String](minimumCapacity: present.nonzeroBitCount)
    for (bit, name) in names.enumerated() where present & (1 << bit) != 0 {
      fields[name] = reader.next()
    }
    return SubmissionPart(seq: seq, fields: fields, source: source)
  }

  private static func put(_ submission: Submission, into texts: inout PackedTexts) {
    texts.put(submission.id)
    texts.put(submission.form)
    texts.put(submission.approvedAt)
    if let hash = submission.contentHash {
      texts.put(1)
      texts.put(hash)
    } else {
      texts.put(0)
    }
    texts.put(submission.students.count)
    for student in submission.students {
      put(student, MatchStage.matchedStudentFields, into: &texts)
    }
    texts.put(submission.contacts.count)
    for contact in submission.contacts {
      put(contact, MatchStage.matchedContactFields, into: &texts)
    }
    texts.put(submission.documents.count)
    for document in submission.documents {
      texts.put(document.seq)
      texts.put(document[FieldName.sha256])
    }
    texts.end()
  }

  private static func submission(_ reader: inout PackedTexts.Reader) -> Submission {
    var submission = Submission(
      id: reader.next(), form: reader.next(), approvedAt: reader.next(), source: source)
    if reader.number() == 1 { submission.contentHash = reader.next() }
    submission.students = (0..<reader.number()).map { _ in
      part(&reader, MatchStage.matchedStudentFields)
    }
    submission.contacts = (0..<reader.number()).map { _ in
      part(&reader, MatchStage.matchedContactFields)
    }
    submission.documents = (0..<reader.number()).map { _ in
      SubmissionPart(
        seq: reader.number(), fields: [FieldName.sha256: reader.next()], source: source)
    }
    return submission
  }
}

/// A submission as the match stage's first read of the batch takes it: what `MatchStage.forMatcher`
/// keeps of it (its students' `matchedStudentFields`, its contacts' `matchedContactFields`, its
/// documents' SHA-256, no source locations), read so from the line: the other fields' values are
/// skipped by their structure, never made Strings in a dictionary (`StageJSONReader.stringMap(keeping:)`,
/// `skipValue`), and so are the source locations. The same
/// `Submission` as `forMatcher` of the whole one (ChunkedStageFilesTests compares them). Why: the
/// batch is read twice (`MatchStage.run`), and the first read, for the matcher, needs about half of
/// each submission's fields; the dictionaries of the others were a tenth of the match stage at
/// 10,000 x 10,000 (callgrind). What the first read does not check of a line (a field's value that
/// is not a string, a source location), the second read checks, as before.
struct SubmissionForMatcher: StageRecord {
  var submission: Submission

  static let studentFields = StageJSONReader.KeptNames(MatchStage.matchedStudentFields)
  static let contactFields = StageJSONReader.KeptNames(MatchStage.matchedContactFields)
  static let documentFields = StageJSONReader.KeptNames([FieldName.sha256])

  init(stageJSON r: inout StageJSONReader) throws {
    submission = try Submission.read(
      &r,
      part: { r, list in
        switch list {
        case .students: return try Self.part(&r, Self.studentFields)
        case .contacts: return try Self.part(&r, Self.contactFields)
        case .documents:
          var document = try Self.part(&r, Self.documentFields)
          // As `forMatcher`: a document's SHA-256, "" when it has none.
          document.fields[FieldName.sha256] = document[FieldName.sha256]
          return document
        }
      },
      source: {
        try $0.skipValue()
        return MatchBatch.source
      })
  }

  private static func part(_ r: inout StageJSONReader, _ kept: StageJSONReader.KeptNames) throws
    -> SubmissionPart
  {
    let start = r.position
    var seq: Int?
    var fields: [String: String]?
    var source = false
    try r.object { r, key in
      switch key {
      case "fields": fields = try r.stringMap(keeping: kept)
      case "seq": seq = try r.int()
      case "source":
        try r.skipValue()
        source = true
      default: try r.skip(key)
      }
    }
    // As `required` says it (called once per part, its generic form cost as much as the part).
    guard let seq else { throw r.error("missing key \"seq\" in SubmissionPart", at: start) }
    guard let fields else { throw r.error("missing key \"fields\" in SubmissionPart", at: start) }
    guard source else { throw r.error("missing key \"source\" in SubmissionPart", at: start) }
    return SubmissionPart(seq: seq, fields: fields, source: MatchBatch.source)
  }

  func writeStageJSON(into writer: inout StageJSONWriter) throws {
    submission.writeStageJSON(into: &writer)
  }
}
