import Foundation

/// A person or document inside a submission: its fields by layout name, and where it was read.
///
/// Fields are kept by their layout names (`First_Name`, `DOB`, ...) so that diffs, errors,
/// the field policy and delivery columns all speak the same names.
package struct SubmissionPart: Sendable, Codable, Hashable {
  /// 1-based position: the student's place in the submission, the contact's `Contact_Seq`.
  package var seq: Int
  package var fields: [String: String]
  package var source: SourceLocation

  package init(seq: Int, fields: [String: String], source: SourceLocation) {
    self.seq = seq
    self.fields = fields
    self.source = source
  }

  package subscript(_ field: String) -> String { fields[field] ?? "" }
}

/// An approved enrollment submission: one or more students (siblings), their contacts and documents.
package struct Submission: Sendable, Codable, Hashable {
  package var id: String
  package var form: String
  package var approvedAt: String
  package var source: SourceLocation
  package var students: [SubmissionPart]
  package var contacts: [SubmissionPart]
  package var documents: [SubmissionPart]
  /// SHA-256 of the normalized content (set by normalize): the pending ledger's version key.
  package var contentHash: String?

  package init(id: String, form: String, approvedAt: String, source: SourceLocation) {
    self.id = id
    self.form = form
    self.approvedAt = approvedAt
    self.source = source
    students = []
    contacts = []
    documents = []
  }

  /// A reference to one student of a submission, used where the SIS has no number yet: `S-1/2`.
  package static func studentRef(_ id: String, _ seq: Int) -> String { "\(id)/\(seq)" }
}

/// A record that a stage set aside, with the reason and what to do (the stage's rejects file).
package struct Reject: Sendable, Codable, Hashable {
  package var submissionID: String
  /// `student`, `contact`, `document`, `submission` or the SIS layout for snapshot rows.
  package var schema: String
  package var seq: Int?
  package var field: String
  package var value: String
  package var reason: String
  package var action: String
  package var source: SourceLocation

  package init(
    submissionID: String, schema: String, seq: Int? = nil, field: String, value: String,
    reason: String, action: String, source: SourceLocation
  ) {
    self.submissionID = submissionID
    self.schema = schema
    self.seq = seq
    self.field = field
    self.value = value
    self.reason = reason
    self.action = action
    self.source = source
  }

  // rejects.csv's own columns: `Reason` is why the value was refused, not the tardy layout's field.
  package static let header = [
    FieldName.submissionID, "Schema", "Seq", "Field", "Value", "Reason", "What_To_Do", "File",
    "Line",
  ]

  package var row: [String] {
    [
      submissionID, schema, seq.map(String.init) ?? "", field, value, reason, action, source.path,
      source.line.map(String.init) ?? "",
    ]
  }
}

/// JSON Lines with sorted keys: the stage files are deterministic and readable line by line.
package enum JSONLines {
  package static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }

  package static func write<T: Encodable>(_ values: [T], to path: String) throws {
    if let record = T.self as? StageRecord.Type {
      return try StageJSONLines.write(record, values, to: path)
    }
    let encoder = encoder()
    let writer = try FileWriter(path: path)
    for value in values {
      try writer.write(try encoder.encode(value))
      try writer.write([0x0A])
    }
    try writer.close()
  }

  package static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
    guard FileSystem.exists(path) else { throw SISDropError.missingInput(path) }
    if let record = T.self as? StageRecord.Type {
      return try StageJSONLines.read(record, as: T.self, from: path)
    }
    let decoder = JSONDecoder()
    var result: [T] = []
    var lineNumber = 0
    for line in try FileSystem.readFile(path).split(separator: 0x0A) {
      lineNumber += 1
      do {
        result.append(try decoder.decode(T.self, from: Data(line)))
      } catch {
        throw SISDropError.dataError(
          "cannot read a stage record: \(error)", at: SourceLocation(path: path, line: lineNumber),
          hint: "the stage folder was edited or damaged: rerun the stage that wrote it")
      }
    }
    return result
  }
}

/// Relative paths in stage files, so that a batch folder reads the same wherever it is.
package func relativePath(_ path: String, to base: String) -> String {
  let prefix = base.hasSuffix("/") ? base : base + "/"
  return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
}
