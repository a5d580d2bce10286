import Foundation

// Hand-written JSON for the match stage's records (why: StageJSON.swift). Keys are written in
// UTF-8 byte order and nil optionals left out, as JSONEncoder with `.sortedKeys` does. Reading, as
// JSONDecoder: a key the record does not have is skipped (StageJSONReader.skip says why), a missing
// required key is an error, null reads as nil for an optional. A stored property added to one of these types must be added here as well:
// PipelineTests/Records/StageJSONTests checks every property is written.

extension SourceLocation {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var path: String?
    var line: Int?
    var column: Int?
    var element: String?
    try r.object { r, key in
      switch key {
      case "column": column = try r.null() ? nil : r.int()
      case "element": element = try r.null() ? nil : r.string()
      case "line": line = try r.null() ? nil : r.int()
      case "path": path = try r.string()
      default: try r.skip(key)
      }
    }
    self.init(
      path: try r.required(path, "path", in: "SourceLocation", at: start), line: line,
      column: column, element: element)
  }

  func writeStageJSON(into w: inout StageJSONWriter) {
    w.beginObject()
    if let column {
      w.key("column")
      w.int(column)
    }
    if let element {
      w.key("element")
      w.string(element)
    }
    if let line {
      w.key("line")
      w.int(line)
    }
    w.key("path")
    w.string(path)
    w.endObject()
  }
}

extension SubmissionPart {
  init(stageJSON r: inout StageJSONReader) throws {
    let start = r.position
    var seq: Int?
    var fields: [String: String]?
    var source: SourceLocation?
    try r.object { r, key in
      switch key {
      case "fields": fields = try r.stringMap()
      case "seq": seq = try r.int()
      case "source": source = try SourceLocation(stageJSON: &r)
      default: try r.skip(key)
      }
    }
    self.seq = try r.required(seq, "seq", in: "SubmissionPart", at: start)
    self.fields = try r.required(fields, "fields", in: "SubmissionPart", at: start)
    self.source = try r.required(source, "source", in: "SubmissionPart", at: start)
  }

  func writeStageJSON(into w: inout StageJSONWriter) {
    w.beginObject()
    w.key("fields")
    w.stringMap(fields)
    w.key("seq")
    w.int(seq)
    w.key("source")
    source.writeStageJSON(into: &w)
    w.endObject()
  }
}

extension Submission: StageRecord {
  package init(stageJSON r: inout StageJSONReader) throws {
    self = try Submission.read(
      &r, part: { r, _ in try SubmissionPart(stageJSON: &r) },
      source: { try SourceLocation(stageJSON: &$0) })
  }

  /// Which list of a submission a part is in.
  package enum PartList: Sendable { case students, contacts, documents }

  /// A submission's object, its parts read by `part` and its source location by `source`: the
  /// whole record, or what the match stage's first read keeps of it (`SubmissionForMatcher`: parts
  /// with only the fields the matcher reads), by one reading of the object and its required keys.
  package static func read(
    _ r: inout StageJSONReader,
    part: (inout StageJSONReader, PartList) throws -> SubmissionPart,
    source readSource: (inout StageJSONReader) throws -> SourceLocation
  ) throws -> Submission {
    let start = r.position
    var id: String?
    var form: String?
    var approvedAt: String?
    var source: SourceLocation?
    var students: [SubmissionPart]?
    var contacts: [SubmissionPart]?
    var documents: [SubmissionPart]?
    var contentHash: String?
    try r.object { r, key in
      switch key {
      case "approvedAt": approvedAt = try r.string()
      case "contacts": contacts = try r.array { try part(&$0, .contacts) }
      case "contentHash": contentHash = try r.null() ? nil : r.string()
      case "documents": documents = try r.array { try part(&$0, .documents) }
      case "form": form = try r.string()
      case "id": id = try r.string()
      case "source": source = try readSource(&r)
      case "students": students = try r.array { try part(&$0, .students) }
      default: try r.skip(key)
      }
    }
    var submission = Submission(
      id: try r.required(id, "id", in: "Submission", at: start),
      form: try r.required(form, "form", in: "Submission", at: start),
      approvedAt: try r.required(approvedAt, "approvedAt", in: "Submission", at: start),
      source: try r.required(source, "source", in: "Submission", at: start))
    submission.students = try r.required(students, "students", in: "Submission", at: start)
    submission.contacts = try r.required(contacts, "contacts", in: "Submission", at: start)
    submission.documents = try r.required(documents, "documents", in: "Submission", at: start)
    submission.contentHash = contentHash
    return submission
  }

  package func writeStageJSON(into w: inout StageJSONWriter) {
    w.beginObject()
    w.key("approvedAt")
    w.string(approvedAt)
    w.key("contacts")
    w.array(contacts) { $1.writeStageJSON(into: &$0) }
    if let contentHash {
      w.key("contentHash")
      w.string(contentHash)
    }
    w.key("documents")
    w.array(documents) { $1.writeStageJSON(into: &$0) }
    w.key("form")
    w.string(form)
    w.key("id")
    w.string(id)
    w.key("source")
    source.writeStageJSON(into: &w)
    w.key("students")
    w.array(students) { $1.writeStageJSON(into: &$0) }
    w.endObject()
  }
}
