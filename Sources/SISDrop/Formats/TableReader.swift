import Foundation

/// One record of a flat file, its values in the layout's field order ("" where absent).
public struct TableRecord: Sendable {
  public var values: [String]
  public var location: SourceLocation
  /// Set when the record is malformed and must go to the rejects file.
  public var problem: RecordProblem?

  public subscript(_ index: Int) -> String { values[index] }
}

/// A source of flat records (one CSV file or one XML file of record elements) in a layout.
public protocol RecordSource: AnyObject {
  var path: String { get }
  /// Columns present in the file that are neither in the layout nor mapped: reported once, never guessed.
  var unknownColumns: [String] { get }
  /// The next record, or nil at the end.
  func next() throws -> TableRecord?
}

/// Header matching ignores case, surrounding spaces and a BOM (DESIGN.md, "The default layouts").
func headerKey(_ name: String) -> String {
  name.replacingOccurrences(of: "\u{FEFF}", with: "").trimmingCharacters(in: .whitespaces).lowercased()
}

/// Maps a file's column or element names onto a layout's fields, with the config's aliases.
struct HeaderMapper {
  let layout: Layout
  let keys: [String: Int]

  init(layout: Layout, aliases: [String: String]) {
    self.layout = layout
    var keys: [String: Int] = [:]
    for (index, field) in layout.fields.enumerated() { keys[headerKey(field)] = index }
    for (alias, field) in aliases {
      if let index = layout.index(of: field) { keys[headerKey(alias)] = index }
    }
    self.keys = keys
  }

  func fieldIndex(_ header: String) -> Int? { keys[headerKey(header)] }
}

/// Reads a CSV file with a header row into layout-ordered records.
public final class CSVTableReader: RecordSource {
  public var path: String { reader.path }
  public let layout: Layout
  public private(set) var unknownColumns: [String] = []
  private let reader: CSVReader
  private var columnToField: [Int?] = []
  private let headerCount: Int

  /// Opens the file and reads its header.
  ///
  /// - Throws: `SISDropError` (65) for an empty file, a duplicate or a missing required column.
  public init(path: String, layout: Layout, dialect: CSVDialect, aliases: [String: String] = [:]) throws {
    self.layout = layout
    reader = try CSVReader(path: path, dialect: dialect)
    guard let header = try reader.next() else {
      throw SISDropError.dataError(
        "the file is empty: expected a header row with \(layout.required.sorted().joined(separator: ", "))",
        at: SourceLocation(path: path, line: 1), hint: "upload the complete \(layout.name) export")
    }
    if let problem = header.problem {
      throw SISDropError.dataError("bad header row: \(problem.reason)", at: problem.location)
    }
    let mapper = HeaderMapper(layout: layout, aliases: aliases)
    var seen: [Int: String] = [:]
    for (column, name) in header.fields.enumerated() {
      if let index = mapper.fieldIndex(name) {
        if let earlier = seen[index] {
          throw SISDropError.dataError(
            "duplicate column '\(name)': '\(earlier)' already maps to \(layout.fields[index])",
            at: SourceLocation(path: path, line: header.line, column: column + 1),
            hint: "remove one of the two columns or fix header_aliases in the pipeline config")
        }
        seen[index] = name
        columnToField.append(index)
      } else {
        columnToField.append(nil)
        if !name.trimmingCharacters(in: .whitespaces).isEmpty { unknownColumns.append(name) }
      }
    }
    let missing = layout.required.filter { field in !seen.keys.contains(layout.index(of: field)!) }.sorted()
    if !missing.isEmpty {
      throw SISDropError.dataError(
        "missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) (header has: \(header.fields.joined(separator: ", ")))",
        at: SourceLocation(path: path, line: header.line),
        hint: "export the \(layout.name) file with these columns, or map its names with header_aliases in the pipeline config")
    }
    headerCount = header.fields.count
  }

  public var bytesRead: Int64 { reader.bytesRead }
  /// Bytes already counted for the progress line (StageProgress).
  private var reportedBytes: Int64 = 0

  public func next() throws -> TableRecord? {
    while let row = try reader.next() {
      if row.problem == nil && row.fields.count == 1 && row.fields[0].isEmpty { continue }  // blank line
      var values = [String](repeating: "", count: layout.fields.count)
      var problem = row.problem
      if problem == nil && row.fields.count != headerCount {
        problem = RecordProblem(
          location: SourceLocation(path: path, line: row.line),
          reason: "ragged row: \(row.fields.count) fields, the header has \(headerCount)")
      }
      for (column, value) in row.fields.enumerated() where column < columnToField.count {
        if let index = columnToField[column] { values[index] = value }
      }
      let consumed = reader.bytesRead
      StageProgress.recordRead(bytes: consumed - reportedBytes)
      reportedBytes = consumed
      return TableRecord(values: values, location: SourceLocation(path: path, line: row.line), problem: problem)
    }
    return nil
  }
}

/// Reads an XML file of record elements (`<students><student><First_Name>…`) into layout-ordered records.
///
/// Records stream through a callback; a caller keeps what it collected only once `forEachRecord`
/// returns, since a truncated document is detected at its end.
public final class XMLTableReader {
  public let path: String
  public let layout: Layout
  public private(set) var unknownColumns: [String] = []
  private let mapper: HeaderMapper

  public init(path: String, layout: Layout, aliases: [String: String] = [:]) {
    self.path = path
    self.layout = layout
    mapper = HeaderMapper(layout: layout, aliases: aliases)
  }

  /// Streams every record to `body`; returns normally only after a clean end of the document.
  public func forEachRecord(_ body: (TableRecord) throws -> Void) throws {
    let reader = try XMLStreamReader(path: path)
    var unknown = Set<String>()
    // Element names repeat in every record: map each distinct name once.
    var indexes: [String: Int?] = [:]
    func fieldIndex(_ name: String) -> Int? {
      if let known = indexes[name] { return known }
      let index = mapper.fieldIndex(name)
      indexes[name] = index
      return index
    }
    let required = layout.required.sorted()
    try reader.forEachElement(named: [layout.recordElement]) { element in
      var values = [String](repeating: "", count: layout.fields.count)
      var problem: RecordProblem?
      for child in element.children {
        if let index = fieldIndex(child.name) {
          values[index] = child.text
        } else if unknown.insert(child.name).inserted {
          unknownColumns.append(child.name)
        }
      }
      for attribute in element.attributes {
        if let index = fieldIndex(attribute.name) { values[index] = attribute.value }
      }
      let location = SourceLocation(path: path, line: element.line, element: layout.recordElement)
      for field in required where values[layout.index(of: field)!].isEmpty && problem == nil {
        if !element.children.contains(where: { fieldIndex($0.name) == layout.index(of: field) }) {
          problem = RecordProblem(location: location, reason: "missing element <\(field)>")
        }
      }
      StageProgress.recordRead(bytes: 0)
      try body(TableRecord(values: values, location: location, problem: problem))
    }
  }
}
