import Foundation
import SISDrop
import SISDropConfig
import SISDropCore
import SISDropFormats
import SISDropStore

// The phases of sisdrop-bench-phases (see main.swift). Kept out of main.swift so that its
// closures are not main-actor isolated: a runtime executor check per call would be timed too.

let mainFiles = ["students", "contacts"]
let layouts = Dictionary(uniqueKeysWithValues: Layouts.sisExport.map { ($0.name, $0) })
let only = ProcessInfo.processInfo.environment["PHASES"].map {
  Set($0.split(separator: ",").map(String.init))
}

func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
    usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

struct PhaseReport {
  var values: [String: Any] = [:]

  /// Runs `body` as phase `name` unless PHASES leaves it out: wall and CPU seconds, and its count.
  mutating func phase(_ name: String, count countKey: String, _ body: () throws -> Int) rethrows {
    guard only?.contains(name) ?? true else { return }
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let count = try body()
    values["\(name)_s"] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    values["\(name)_cpu"] = cpuSeconds() - cpuStart
    values[countKey] = count
  }
}

func files(_ dir: String, _ ext: String, only names: [String]? = nil) -> [String: String] {
  var result: [String: String] = [:]
  for layout in Layouts.sisExport where names?.contains(layout.name) ?? true {
    result[layout.name] = "\(dir)/\(layout.name).\(ext)"
  }
  return result
}

func runPhases(csvDir: String, xmlDir: String, scratch: String) throws -> [String: Any] {
  var report = PhaseReport()
  var csvFeed = FeedConfig()
  csvFeed.format = .csv
  var xmlFeed = FeedConfig()
  xmlFeed.format = .xml

  // CSV parse alone: every field of students + contacts as bytes (the reader's own cost).
  try report.phase("csv_parse", count: "csv_records") {
    var records = 0
    var bytes = 0
    for name in mainFiles {
      let reader = try CSVTableReader(
        path: "\(csvDir)/\(name).csv", layout: layouts[name]!, dialect: CSVDialect())
      while try reader.readRecord() {
        bytes &+= reader.withValues { values in
          (0..<values.count).reduce(0) { $0 &+ values[$1].count }
        }
        records += 1
      }
    }
    precondition(bytes > 0)
    return records
  }
  // CSV parse + normalize: what the snapshot load does before SQLite, on students + contacts.
  try report.phase("csv_parse_normalize", count: "csv_normalized") {
    try SnapshotBuilder(feed: csvFeed, plugin: nil).normalizeOnly(
      files: files(csvDir, "csv", only: mainFiles))
  }
  // XML parse: every record of students + contacts into layout fields, as bytes.
  try report.phase("xml_parse", count: "xml_records") {
    var records = 0
    var bytes = 0
    for name in mainFiles {
      try XMLTableReader(path: "\(xmlDir)/\(name).xml", layout: layouts[name]!).forEachRawRecord {
        record in
        bytes &+= record.withValues { values in
          (0..<values.count).reduce(0) { $0 &+ values[$1].count }
        }
        records += 1
      }
    }
    precondition(bytes > 0)
    return records
  }
  try report.phase("xml_parse_normalize", count: "xml_normalized") {
    try SnapshotBuilder(feed: xmlFeed, plugin: nil).normalizeOnly(
      files: files(xmlDir, "xml", only: mainFiles))
  }
  // The whole snapshot load (all four files, indexes, duplicate check) into a new SQLite file.
  for (format, feed, dir) in [("csv", csvFeed, csvDir), ("xml", xmlFeed, xmlDir)] {
    let output = "\(scratch)/phases-\(format).sqlite"
    try? FileManager.default.removeItem(atPath: output)
    try report.phase("\(format)_snapshot_load", count: "\(format)_snapshot_students") {
      // As normalize builds it for the default (fellegi-sunter) matcher: no placeholder-only indexes.
      var builder = SnapshotBuilder(feed: feed, plugin: nil)
      builder.placeholderIndexes = false
      return try builder.build(files: files(dir, format), output: output).0.students
    }
    try? FileManager.default.removeItem(atPath: output)
  }
  return report.values
}
