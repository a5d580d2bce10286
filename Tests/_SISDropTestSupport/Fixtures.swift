import Foundation
import SISDropFormats

/// Paths into the checkout, found through this file's path (never the current folder).
package enum Checkout {
  package static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().path
  package static let demoDistrict = root + "/Fixtures/demo-district"
  package static func pipeline(_ name: String) -> String { root + "/pipelines/\(name).yaml" }
}

/// A fresh temporary folder per test, removed afterwards.
package func withTemporaryFolder<T>(_ body: (String) throws -> T) throws -> T {
  let path = NSTemporaryDirectory() + "sisdrop-test-" + UUID().uuidString
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try body(path)
}

/// Writes a small text file for a test.
@discardableResult
package func writeFile(_ path: String, _ text: String) throws -> String {
  try FileManager.default.createDirectory(
    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
  try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  return path
}

package func writeBytes(_ path: String, _ bytes: [UInt8]) throws -> String {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  return path
}

package func readText(_ path: String) throws -> String {
  String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}

/// The result of running one of the built executables.
package struct ProcessResult: Sendable {
  package var status: Int32
  package var stdout: String
  package var stderr: String
}

/// Runs a built executable (`sisdrop`, `sisdrop-parse`, ...) from the build folder the tests run from.
package func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:])
  throws -> ProcessResult
{
  let process = Process()
  process.executableURL = buildFolder().appendingPathComponent(name)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  for (key, value) in environment { env[key] = value }
  process.environment = env
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return ProcessResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// The folder holding the built executables: beside the test bundle.
package func buildFolder() -> URL {
  var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  while url.path != "/" {
    url = url.deletingLastPathComponent()
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("sisdrop").path) {
      return url
    }
  }
  return URL(fileURLWithPath: Checkout.root + "/.build/debug")
}

/// The text of the demo pipeline (`demo-xml` with `xml`) with its fixture paths made absolute, so a
/// copy works from any folder, and each `(text, replacement)` of `edits` applied.
package func demoPipelineText(xml: Bool = false, _ edits: [(String, String)] = []) throws -> String
{
  var text = try readText(Checkout.pipeline(xml ? "demo-xml" : "demo"))
    .replacingOccurrences(of: "../Fixtures", with: Checkout.root + "/Fixtures")
  for (target, replacement) in edits {
    text = text.replacingOccurrences(of: target, with: replacement)
  }
  return text
}

/// Every file below a folder with its bytes, by relative path (stage.json left out).
package func folderContents(_ path: String, excluding: Set<String> = ["stage.json"]) throws
  -> [String: Data]
{
  var result: [String: Data] = [:]
  let base = URL(fileURLWithPath: path)
  guard
    let enumerator = FileManager.default.enumerator(
      at: base, includingPropertiesForKeys: [.isDirectoryKey])
  else { return [:] }
  for case let url as URL in enumerator {
    let isDirectory = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
    if isDirectory || excluding.contains(url.lastPathComponent) { continue }
    result[String(url.path.dropFirst(base.path.count + 1))] = try Data(contentsOf: url)
  }
  return result
}

/// Reads a CSV file of our own into rows (header included).
package func csvRows(_ path: String) throws -> [[String]] {
  let reader = try CSVReader(path: path)
  var rows: [[String]] = []
  while let row = try reader.next() { rows.append(row.fields) }
  return rows
}

/// EXPECTED.md's totals, counted from its table (so no test hard-codes the demo's counts).
package struct DemoExpectation: Sendable {
  /// Per submission: its Delivery cell (delivered, held, error).
  package var delivery: [String: String] = [:]
  /// Students per Match cell (matched, potential, new, rejected).
  package var students: [String: Int] = [:]

  package static func load() throws -> DemoExpectation {
    var result = DemoExpectation()
    for line in try readText(Checkout.demoDistrict + "/EXPECTED.md").split(separator: "\n")
    where line.hasPrefix("| S-") {
      let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      result.delivery[cells[1]] = cells[6]
      result.students[cells[4], default: 0] += 1
    }
    return result
  }

  /// How many submissions have this Delivery cell.
  package func submissions(_ delivery: String) -> Int {
    self.delivery.values.filter { $0 == delivery }.count
  }
}
