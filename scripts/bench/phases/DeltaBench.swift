import Foundation
import SISDrop
import SISDropConfig
import SISDropStore

/// `sisdrop-bench-phases --delta BEFORE_DIR DELTA_DIR AFTER_DIR SCRATCH_DIR`: the snapshot from
/// the full export BEFORE_DIR (not timed), then, timed: the delta (DELTA_DIR's students_delta.csv,
/// contacts_delta.csv) applied to a copy of it, as normalize does (copy included), against a full
/// reload of AFTER_DIR (the same export whole, as a full night would bring it). Also checks that
/// both give the same students.
func runDeltaBench(before: String, delta: String, after: String, scratch: String) throws -> [String:
  Any]
{
  var report = PhaseReport()
  var feed = FeedConfig(files: [
    "students": "students.csv", "contacts": "contacts.csv", "schools": "schools.csv",
    "attendance_codes": "attendance_codes.csv",
  ])
  feed.format = .csv
  feed.deltaLayouts = ["students", "contacts"]
  feed.minRatio = 0
  let base = "\(scratch)/delta-base.sqlite"
  let applied = "\(scratch)/delta-applied.sqlite"
  let reloaded = "\(scratch)/delta-reloaded.sqlite"
  for path in [base, applied, reloaded] { try? FileManager.default.removeItem(atPath: path) }
  var builder = SnapshotBuilder(feed: feed, plugin: nil)
  builder.placeholderIndexes = false
  _ = try builder.build(files: files(before, "csv"), output: base)
  try report.phase("delta_apply", count: "delta_rows") {
    try FileManager.default.copyItem(atPath: base, toPath: applied)
    let (_, summary, _) = try builder.applyDelta(
      files: [
        "students": "\(delta)/students_delta.csv", "contacts": "\(delta)/contacts_delta.csv",
      ], output: applied)
    return summary.upserted + summary.deleted
  }
  try report.phase("full_reload", count: "full_reload_students") {
    try builder.build(files: files(after, "csv"), output: reloaded).0.students
  }
  // The same roster either way (a benchmark of a wrong result is worth nothing).
  func digest(_ path: String) throws -> String {
    let out = Pipe()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "sqlite3", path,
      "SELECT count(*), total(length(street)), total(length(student_number)) FROM students",
    ]
    process.standardOutput = out
    try process.run()
    process.waitUntilExit()
    return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  }
  if let a = try? digest(applied), let b = try? digest(reloaded) {
    report.values["same_students"] = a == b
  }
  report.values["speedup"] =
    (report.values["full_reload_s"] as? Double ?? 0)
    / max(1e-9, report.values["delta_apply_s"] as? Double ?? 1)
  for path in [base, applied, reloaded] { try? FileManager.default.removeItem(atPath: path) }
  return report.values
}
