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
