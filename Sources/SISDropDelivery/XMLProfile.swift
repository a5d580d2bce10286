import CLibXML2
import Foundation
import SISDropConfig
import SISDropCore

/// Writes an XML document with libxml2's `xmlTextWriter` (escaping and well-formedness are libxml2's).
///
/// The document is built in an `xmlBuffer` and written as a new private file on `finish`.
/// The corresponding C functions are `xmlNewTextWriterMemory`, `xmlTextWriterStartElement`,
/// `xmlTextWriterWriteElement` and `xmlTextWriterEndDocument`.
final class XMLDocumentWriter {
  private let buffer: xmlBufferPtr
  private let writer: xmlTextWriterPtr
  let path: String

  init(path: String) throws {
    self.path = path
    guard let buffer = xmlBufferCreate() else {
      throw SISDropError(
        .cannotCreate, "libxml2 could not allocate a buffer", at: SourceLocation(path: path))
    }
    guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
      xmlBufferFree(buffer)
      throw SISDropError(
        .cannotCreate, "libxml2 could not create a writer", at: SourceLocation(path: path))
    }
    self.buffer = buffer
    self.writer = writer
    xmlTextWriterSetIndent(writer, 1)
    xmlTextWriterSetIndentString(writer, "  ")
    try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil))
  }

  deinit {
    xmlFreeTextWriter(writer)
    xmlBufferFree(buffer)
  }

  private func check(_ result: Int32) throws {
    if result < 0 {
      throw SISDropError(
        .cannotCreate, "libxml2 could not write the XML document", at: SourceLocation(path: path))
    }
  }

  func start(_ name: String, attributes: [(String, String)] = []) throws {
    try check(xmlTextWriterStartElement(writer, name))
    for (key, value) in attributes { try check(xmlTextWriterWriteAttribute(writer, key, value)) }
  }

  func element(_ name: String, _ text: String) throws {
    try check(xmlTextWriterWriteElement(writer, name, text))
  }

  func end() throws { try check(xmlTextWriterEndElement(writer)) }

  /// Ends the document and writes it as a new file (0640, fsynced by writeNew's caller folder sync).
  func finish() throws {
    try check(xmlTextWriterEndDocument(writer))
    xmlTextWriterFlush(writer)
    let count = Int(xmlBufferLength(buffer))
    let bytes = UnsafeBufferPointer(start: xmlBufferContent(buffer), count: count)
    try FileSystem.writeNew(path, Array(bytes))
  }

  /// Characters XML 1.0 cannot carry at all (most C0 controls): such a value is a record error.
  static func isXMLText(_ value: String) -> Bool {
    value.unicodeScalars.allSatisfy { scalar in
      scalar.value >= 0x20 || scalar == "\t" || scalar == "\n" || scalar == "\r"
    } && !value.unicodeScalars.contains { $0.value == 0xFFFE || $0.value == 0xFFFF }
  }
}

@available(*, unavailable) extension XMLDocumentWriter: Sendable {}

/// The XML delivery profile: one element per record (`<student>`, `<contact>`, `<document>`,
/// `<attendance>`), its children named like the default layouts' fields; dates are ISO.
/// An update element carries its key and only the changed fields.
struct XMLProfile: DeliveryProfile {
  let config: CSVProfileConfig

  /// The fields of a kind: the configured CSV columns' fields, in their order.
  func fields(_ kind: DeliveryKind) -> [String] {
    var seen = Set<String>()
    return (config.files[kind.rawValue] ?? []).map(\.field).filter { seen.insert($0).inserted }
  }

  var policyColumns: [PolicyColumn] {
    DeliveryKind.allCases.flatMap { kind in
      fields(kind).map { field in
        PolicyColumn(
          file: kind.rawValue, column: field, kind: kind, field: field,
          line: (config.files[kind.rawValue] ?? []).first { $0.field == field }?.line)
      }
    }
  }

  /// Whether a record's element carries `field` (an update: its keys, references and changed fields only).
  static func writes(_ record: DeliveryRecord, _ field: String) -> Bool {
    record.carries(field)
  }

  /// Checks the values the element actually carries.
  func problem(with record: DeliveryRecord) -> DeliveryProblem? {
    for field in fields(record.kind)
    where XMLProfile.writes(record, field) && !XMLDocumentWriter.isXMLText(record[field]) {
      return .unwritable(
        record, field: field, value: record[field],
        reason: "the value holds control characters XML cannot carry")
    }
    return nil
  }

  func write(
    _ records: [DeliveryRecord], kinds: [DeliveryKind], context: DeliveryContext, folder: String
  ) throws -> [WrittenFile] {
    var written: [WrittenFile] = []
    for kind in kinds where config.files[kind.rawValue] != nil {
      let name = "\(context.prefix)_\(kind.rawValue).xml"
      let writer = try XMLDocumentWriter(path: folder + "/" + name)
      try writer.start(kind.rawValue, attributes: [("batch", context.prefix)])
      var rows = 0
      for record in records where record.kind == kind {
        try writer.start(kind.element)
        for field in fields(kind) {
          if !XMLProfile.writes(record, field) { continue }
          try writer.element(field, record[field])
        }
        try writer.end()
        rows += 1
      }
      try writer.end()
      try writer.finish()
      written.append(WrittenFile(name: name, rows: rows))
    }
    return written
  }
}
