import CLibXML2
import Foundation
import SISDropCore

#if canImport(Glibc)
import Glibc
#endif

/// One element read from an XML stream, with its subtree: small, bounded by one record.
package struct XMLElementNode: Sendable {
  package var name: String
  package var namespace: String
  package var attributes: [(name: String, value: String)]
  package var text: String
  package var children: [XMLElementNode]
  package var line: Int

  package func attribute(_ name: String) -> String? {
    attributes.first { $0.name == name }?.value
  }

  package func children(named name: String) -> [XMLElementNode] {
    children.filter { $0.name == name }
  }
}

/// Feeds libxml2 from a file descriptor through IO callbacks.
///
/// libxml2 2.9's file readers silently gunzip their input (docs/PLATFORM-NOTES.md, "libxml2"), so sisdrop never
/// hands it a path: the callbacks read plain bytes and gzip input is refused before parsing.
private final class XMLInput {
  let fd: Int32
  init(fd: Int32) { self.fd = fd }
}

/// The first libxml2 error a reader reported, caught by its own structured error handler.
private final class XMLErrorSink {
  var message: String?
  var line: Int?
}

/// A streaming XML reader on libxml2's `xmlTextReader`.
///
/// Safe options only: `XML_PARSE_NONET`, never `NOENT`, `DTDLOAD`, `XINCLUDE`, `HUGE` or `RECOVER`.
/// A document type declaration or an entity reference is refused. Records are handed out as
/// they are read, so memory stays flat; the caller must treat them as provisional until
/// `forEachElement` returns, because a truncated file is only detected at its end.
/// The corresponding C functions are `xmlReaderForIO` and `xmlTextReaderRead`.
package final class XMLStreamReader {
  package let path: String
  private let reader: xmlTextReaderPtr
  private let input: XMLInput
  private let errors = XMLErrorSink()
  /// Local name and namespace URI of the root element, once read.
  package private(set) var rootName: String?
  package private(set) var rootNamespace: String?
  package private(set) var rootAttributes: [(name: String, value: String)] = []

  package init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      if code == ENOENT { throw SISDropError.missingInput(path) }
      throw FileError.posix(code, "open", path)
    }
    var magic: [UInt8] = [0, 0]
    let n = pread(fd, &magic, 2, 0)
    if n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
      close(fd)
      throw SISDropError.dataError(
        "the file is gzip-compressed", at: SourceLocation(path: path, line: 1),
        hint: "upload the uncompressed XML file")
    }
    input = XMLInput(fd: fd)
    let context = Unmanaged.passUnretained(input).toOpaque()
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue)
    guard
      let reader = xmlReaderForIO(
        { context, buffer, length in
          guard let context, let buffer else { return -1 }
          let input = Unmanaged<XMLInput>.fromOpaque(context).takeUnretainedValue()
          while true {
            let n = read(input.fd, buffer, Int(length))
            if n < 0 && errno == EINTR { continue }
            return Int32(n)
          }
        },
        { _ in 0 }, context, path, nil, options)
    else {
      close(fd)
      throw SISDropError(
        .internalError, "libxml2 could not create a reader", at: SourceLocation(path: path))
    }
    self.reader = reader
    xmlTextReaderSetStructuredErrorHandler(
      reader,
      { context, error in
        guard let context, let error else { return }
        let sink = Unmanaged<XMLErrorSink>.fromOpaque(context).takeUnretainedValue()
        if sink.message == nil {
          sink.message =
            error.pointee.message.map { String(cString: $0) }?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "XML error"
          sink.line = Int(error.pointee.line)
        }
      }, Unmanaged.passUnretained(errors).toOpaque())
  }

  deinit {
    xmlFreeTextReader(reader)
    close(input.fd)
  }

  /// The line of the node the reader stands on (the parser's own line runs ahead of it).
  private var line: Int {
    if let node = xmlTextReaderCurrentNode(reader) {
      let line = Int(xmlGetLineNo(node))
      if line > 0 { return line }
    }
    return Int(xmlTextReaderGetParserLineNumber(reader))
  }

  private func string(_ pointer: UnsafePointer<xmlChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
  }

  private func step() throws -> Bool {
    let result = xmlTextReaderRead(reader)
    if result == 1 { return true }
    if result == 0 {
      if let message = errors.message { throw failure(message) }
      return false
    }
    throw failure(errors.message ?? "the XML is not well-formed")
  }

  private func failure(_ message: String) -> SISDropError {
    var text = "XML error: \(message)"
    if message.contains("Extra content at the end") || message.contains("Premature end") {
      text += " (the file may be truncated)"
    }
    return SISDropError.dataError(
      text, at: SourceLocation(path: path, line: errors.line ?? line),
      hint: "fix the XML or upload the complete file again; no record of this file was used")
  }

  private func refuseUnsafeNode(_ type: Int32) throws {
    if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) {
      throw SISDropError.dataError(
        "a document type declaration (DOCTYPE) is not allowed",
        at: SourceLocation(path: path, line: line),
        hint: "export the file without a DOCTYPE; sisdrop does not read DTDs or entities")
    }
    if type == Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue)
      || type == Int32(XML_READER_TYPE_ENTITY.rawValue)
    {
      throw SISDropError.dataError(
        "an entity reference is not allowed", at: SourceLocation(path: path, line: line),
        hint: "export the file without custom entities")
    }
  }

  private func readAttributes() -> [(name: String, value: String)] {
    var attributes: [(name: String, value: String)] = []
    while xmlTextReaderMoveToNextAttribute(reader) == 1 {
      let prefix = string(xmlTextReaderConstPrefix(reader))
      let name = string(xmlTextReaderConstLocalName(reader))
      if prefix == "xmlns" || name == "xmlns" && prefix.isEmpty { continue }
      attributes.append(
        (prefix.isEmpty ? name : "\(prefix):\(name)", string(xmlTextReaderConstValue(reader))))
    }
    xmlTextReaderMoveToElement(reader)
    return attributes
  }

  /// Builds the subtree of the element the reader stands on.
  private func readSubtree() throws -> XMLElementNode {
    var node = XMLElementNode(
      name: string(xmlTextReaderConstLocalName(reader)),
      namespace: string(xmlTextReaderConstNamespaceUri(reader)),
      attributes: [], text: "", children: [], line: line)
    let empty = xmlTextReaderIsEmptyElement(reader) == 1
    node.attributes = readAttributes()
    if empty { return node }
    while try step() {
      let type = xmlTextReaderNodeType(reader)
      try refuseUnsafeNode(type)
      switch UInt32(type) {
      case XML_READER_TYPE_ELEMENT.rawValue:
        node.children.append(try readSubtree())
      case XML_READER_TYPE_TEXT.rawValue, XML_READER_TYPE_CDATA.rawValue,
        XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue, XML_READER_TYPE_WHITESPACE.rawValue:
        node.text += string(xmlTextReaderConstValue(reader))
      case XML_READER_TYPE_END_ELEMENT.rawValue:
        return node
      default:
        continue
      }
    }
    throw failure("the file ends inside <\(node.name)>")
  }

  /// Calls `body` with each element named in `names` (at any depth), subtree included.
  ///
  /// Elements outside those records are walked over. Returns normally only after a clean end
  /// of the document: a caller commits what it collected only then.
  ///
  /// - Throws: `SISDropError` (65) for malformed or unsafe XML, with the line.
  package func forEachElement(named names: Set<String>, _ body: (XMLElementNode) throws -> Void)
    throws
  {
    while try step() {
      let type = xmlTextReaderNodeType(reader)
      try refuseUnsafeNode(type)
      guard UInt32(type) == XML_READER_TYPE_ELEMENT.rawValue else { continue }
      let name = string(xmlTextReaderConstLocalName(reader))
      if rootName == nil {
        rootName = name
        rootNamespace = string(xmlTextReaderConstNamespaceUri(reader))
        rootAttributes = readAttributes()
        if !names.contains(name) { continue }
      }
      if names.contains(name) {
        try body(try readSubtree())
      }
    }
    if rootName == nil {
      throw SISDropError.dataError(
        "the file has no XML root element", at: SourceLocation(path: path, line: 1),
        hint: "upload a complete XML export")
    }
  }

  /// Walks flat records for large exports (`<students><student><First_Name>…`): for each element
  /// named `recordName`, the direct text of each child element goes into `record` at the index
  /// `fieldIndex` gives for the child's local name (nil: not a field, reported through `unknown`
  /// once per name). Text of deeper elements is ignored, as in `forEachElement`'s trees.
  ///
  /// No String is made per node: libxml2 interns element names in its dictionary, so a name is
  /// looked up once per distinct pointer (checked with `strcmp`), and text is copied as bytes.
  /// Returns normally only after a clean end of the document, like `forEachElement`.
  ///
  /// - Throws: `SISDropError` (65) for malformed or unsafe XML, with the line.
  ///
  /// Kept whole: one loop over libxml2's reader with the record's state in locals, the snapshot
  /// load's hot path (`scripts/bench/pipeline.sh`).
  func forEachFlatRecord(
    named recordName: String, into record: FlatRecord, fieldIndex: (String) -> Int?,
    unknown: (String) -> Void,
    _ body: (FlatRecord) throws -> Void
  ) throws {
    // Local name → field index (-1: not a field), by the name's pointer and checked with strcmp,
    // since a pointer is only known to stand for one name while libxml2's dictionary holds it.
    var names: [UnsafeRawPointer: (name: [CChar], index: Int)] = [:]
    func index(of pointer: UnsafePointer<xmlChar>) -> (name: [CChar], index: Int) {
      let key = UnsafeRawPointer(pointer)
      if let known = names[key], strcmp(known.name, key.assumingMemoryBound(to: CChar.self)) == 0 {
        return known
      }
      let name = String(cString: pointer)
      let index = fieldIndex(name) ?? -1
      if index < 0 && !names.values.contains(where: { String(cString: $0.name) == name }) {
        unknown(name)
      }
      let entry = (Array(name.utf8CString), index)
      names[key] = entry
      return entry
    }
    // Exports write a record's fields in the same order every time: the name seen at each
    // position of the last record is tried first.
    var lastNames: [(pointer: UnsafeRawPointer, name: [CChar], index: Int)] = []
    let elementType = Int32(XML_READER_TYPE_ELEMENT.rawValue)
    let endType = Int32(XML_READER_TYPE_END_ELEMENT.rawValue)
    let textType = Int32(XML_READER_TYPE_TEXT.rawValue)
    let cdataType = Int32(XML_READER_TYPE_CDATA.rawValue)
    let whitespaceType = Int32(XML_READER_TYPE_WHITESPACE.rawValue)
    let significantWhitespaceType = Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue)
    var recordPointer: UnsafeRawPointer?  // the interned record name, once seen
    while try step() {
      let type = xmlTextReaderNodeType(reader)
      try refuseUnsafeNode(type)
      guard type == elementType, let local = xmlTextReaderConstLocalName(reader) else { continue }
      if rootName == nil {
        rootName = String(cString: local)
        rootNamespace = string(xmlTextReaderConstNamespaceUri(reader))
        rootAttributes = readAttributes()
        if rootName != recordName { continue }
      }
      if UnsafeRawPointer(local) != recordPointer {
        guard String(cString: local) == recordName else { continue }
        recordPointer = UnsafeRawPointer(local)
      }
      // The record's storage in locals while it is read (class properties in the loop cost
      // exclusivity checks), handed back before `body`.
      var bytes = record.bytes
      var starts = record.starts
      var ends = record.ends
      var hasChild = record.hasChild
      record.bytes = []
      record.starts = []
      record.ends = []
      record.hasChild = []
      bytes.removeAll(keepingCapacity: true)
      for i in starts.indices {
        starts[i] = -1
        hasChild[i] = false
      }
      record.line = line
      let attributes = xmlTextReaderHasAttributes(reader) == 1 ? readAttributes() : []
      if xmlTextReaderIsEmptyElement(reader) != 1 {
        var depth = 0  // 0: directly inside the record, 1: inside a field element, deeper: ignored
        var field = -1
        var fieldStart = 0
        var ended = false
        var position = 0  // of the next child element in the record
        while try step() {
          let type = xmlTextReaderNodeType(reader)
          if type == elementType {
            if depth == 0 {
              guard let child = xmlTextReaderConstLocalName(reader) else { continue }
              let childIndex: Int
              let pointer = UnsafeRawPointer(child)
              if position < lastNames.count && lastNames[position].pointer == pointer
                && strcmp(lastNames[position].name, pointer.assumingMemoryBound(to: CChar.self))
                  == 0
              {
                childIndex = lastNames[position].index
              } else {
                let entry = index(of: child)
                childIndex = entry.index
                if position < lastNames.count {
                  lastNames[position] = (pointer, entry.name, childIndex)
                } else {
                  lastNames.append((pointer, entry.name, childIndex))
                }
              }
              position += 1
              if xmlTextReaderIsEmptyElement(reader) == 1 {
                if childIndex >= 0 {
                  starts[childIndex] = bytes.count
                  ends[childIndex] = bytes.count
                  hasChild[childIndex] = true
                }
              } else {
                field = childIndex
                fieldStart = bytes.count
                depth = 1
              }
            } else if xmlTextReaderIsEmptyElement(reader) != 1 {
              depth += 1
            }
          } else if type == endType {
            if depth == 0 {
              ended = true
              break
            }
            if depth == 1 && field >= 0 {
              starts[field] = fieldStart  // the last one wins, as for repeated elements
              ends[field] = bytes.count
              hasChild[field] = true
            }
            depth -= 1
          } else if type == textType || type == cdataType || type == whitespaceType
            || type == significantWhitespaceType
          {
            if depth == 1 && field >= 0, let value = xmlTextReaderConstValue(reader) {
              bytes.append(contentsOf: UnsafeBufferPointer(start: value, count: strlen(value)))
            }
          } else {
            try refuseUnsafeNode(type)
          }
        }
        if !ended { throw failure("the file ends inside <\(recordName)>") }
      }
      for attribute in attributes {
        if let index = fieldIndex(attribute.name) {
          starts[index] = bytes.count
          bytes.append(contentsOf: attribute.value.utf8)
          ends[index] = bytes.count
        }
      }
      record.bytes = bytes
      record.starts = starts
      record.ends = ends
      record.hasChild = hasChild
      try body(record)
    }
    if rootName == nil {
      throw SISDropError.dataError(
        "the file has no XML root element", at: SourceLocation(path: path, line: 1),
        hint: "upload a complete XML export")
    }
  }

  /// Reads the whole document as one tree (for small files such as Plugin.xml).
  package func readDocument() throws -> XMLElementNode {
    var root: XMLElementNode?
    while try step() {
      let type = xmlTextReaderNodeType(reader)
      try refuseUnsafeNode(type)
      if UInt32(type) == XML_READER_TYPE_ELEMENT.rawValue && root == nil {
        rootName = string(xmlTextReaderConstLocalName(reader))
        rootNamespace = string(xmlTextReaderConstNamespaceUri(reader))
        root = try readSubtree()
      }
    }
    guard let root else {
      throw SISDropError.dataError(
        "the file has no XML root element", at: SourceLocation(path: path, line: 1))
    }
    return root
  }
}

@available(*, unavailable) extension XMLStreamReader: Sendable {}

/// One flat record element as `XMLStreamReader.forEachFlatRecord` reads it: the text of each
/// field, as bytes in one buffer; reused from record to record.
final class FlatRecord {
  var bytes: [UInt8] = []
  /// Per field: where its text is in `bytes`; start < 0 when the record has no value for it.
  var starts: [Int]
  var ends: [Int]
  /// Per field: whether a child element carried it (an attribute alone does not count).
  var hasChild: [Bool]
  var line = 0

  init(fieldCount: Int) {
    starts = [Int](repeating: -1, count: fieldCount)
    ends = [Int](repeating: 0, count: fieldCount)
    hasChild = [Bool](repeating: false, count: fieldCount)
    bytes.reserveCapacity(1024)
  }

  @inline(__always)
  func withValues<R>(_ body: (RecordValues) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer { bytes in
      try starts.withUnsafeBufferPointer { starts in
        try ends.withUnsafeBufferPointer { ends in
          try body(
            RecordValues(
              base: bytes.baseAddress, starts: starts.baseAddress!, ends: ends.baseAddress!,
              count: starts.count))
        }
      }
    }
  }
}
