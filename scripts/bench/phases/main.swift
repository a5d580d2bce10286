// sisdrop-bench-phases: times the phases of the SIS snapshot load separately, for
// scripts/bench/pipeline.sh (not shipped, not a test). Each target is measured against its own
// reference: CSV parse + normalize (no SQLite) against Python's csv module, XML parse against
// `xmllint --stream`, the whole snapshot load against DuckDB.
//
//   sisdrop-bench-phases CSV_DIR XML_DIR SCRATCH_DIR
//
// Prints one JSON object: seconds per phase and the records each phase saw.
import Foundation
import SISDrop

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
  FileHandle.standardError.write(Data("usage: sisdrop-bench-phases CSV_DIR XML_DIR SCRATCH_DIR\n".utf8))
  exit(64)
}
let (csvDir, xmlDir, scratch) = (arguments[1], arguments[2], arguments[3])
let main = ["students", "contacts"]
let layouts = Dictionary(uniqueKeysWithValues: Layouts.sisExport.map { ($0.name, $0) })

func time<T>(_ body: () throws -> T) rethrows -> (Double, T) {
  let start = DispatchTime.now().uptimeNanoseconds
  let result = try body()
  return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, result)
}

func files(_ dir: String, _ ext: String) -> [String: String] {
  Dictionary(uniqueKeysWithValues: Layouts.sisExport.map { ($0.name, "\(dir)/\($0.name).\(ext)") })
}

var report: [String: Any] = [:]
do {
  // CSV parse alone: every field of students + contacts as bytes (the reader's own cost).
  let (csvParse, csvRecords) = try time { () -> Int in
    var records = 0
    var bytes = 0
    for name in main {
      let layout = layouts[name]!
      let reader = try CSVTableReader(path: "\(csvDir)/\(name).csv", layout: layout, dialect: CSVDialect())
      while try reader.readRecord() {
        for field in layout.fields.indices { bytes &+= reader.withValue(field) { $0.count } }
        records += 1
      }
    }
    precondition(bytes > 0)
    return records
  }
  report["csv_parse_s"] = csvParse
  report["csv_records"] = csvRecords

  // CSV parse + normalize: what the snapshot load does before SQLite, on students + contacts.
  var csvFeed = FeedConfig()
  csvFeed.format = .csv
  let mainCSV = files(csvDir, "csv").filter { main.contains($0.key) }
  let (csvNormalize, csvNormalized) = try time { try SnapshotBuilder(feed: csvFeed, plugin: nil).normalizeOnly(files: mainCSV) }
  report["csv_parse_normalize_s"] = csvNormalize
  report["csv_normalized"] = csvNormalized

  // XML parse: every record of students + contacts into layout fields, as bytes.
  let (xmlParse, xmlRecords) = try time { () -> Int in
    var records = 0
    var bytes = 0
    for name in main {
      let layout = layouts[name]!
      try XMLTableReader(path: "\(xmlDir)/\(name).xml", layout: layout).forEachRawRecord { record in
        for field in layout.fields.indices { bytes &+= record.withValue(field) { $0.count } }
        records += 1
      }
    }
    precondition(bytes > 0)
    return records
  }
  report["xml_parse_s"] = xmlParse
  report["xml_records"] = xmlRecords

  var xmlFeed = FeedConfig()
  xmlFeed.format = .xml
  let mainXML = files(xmlDir, "xml").filter { main.contains($0.key) }
  let (xmlNormalize, _) = try time { try SnapshotBuilder(feed: xmlFeed, plugin: nil).normalizeOnly(files: mainXML) }
  report["xml_parse_normalize_s"] = xmlNormalize

  // The whole snapshot load (all four files, indexes, duplicate check) into a new SQLite file.
  for (format, feed, dir, ext) in [("csv", csvFeed, csvDir, "csv"), ("xml", xmlFeed, xmlDir, "xml")] {
    let output = "\(scratch)/phases-\(format).sqlite"
    try? FileManager.default.removeItem(atPath: output)
    let (seconds, result) = try time { try SnapshotBuilder(feed: feed, plugin: nil).build(files: files(dir, ext), output: output) }
    report["\(format)_snapshot_load_s"] = seconds
    report["\(format)_snapshot_students"] = result.0.students
    try? FileManager.default.removeItem(atPath: output)
  }
} catch {
  FileHandle.standardError.write(Data("sisdrop-bench-phases: \(error)\n".utf8))
  exit(1)
}
let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
