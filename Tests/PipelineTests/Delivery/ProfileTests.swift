import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropFormats

/// The demo district's delivery in each profile against golden files in
/// `Fixtures/demo-district/golden/<profile>/` (the batch id written as BATCH, its opening time as
/// OPENED_AT). Regenerate after a deliberate change with SISDROP_UPDATE_GOLDEN=1, then read the diff.
@Suite struct GoldenProfileTests {
  @Test(arguments: [
    ("demo", "csv"), ("demo-oneroster-delivery", "oneroster"), ("demo-xml-delivery", "xml"),
  ])
  func demoDeliveryMatchesGoldenFiles(pipeline: String, profile: String) throws {
    try withTemporaryFolder { root in
      let (workdir, summary, config) = try runDemo(root, pipeline: pipeline)
      let batch = try workdir.batch(summary.batch)
      let outbox = workdir.outbox(config)
      let golden = Checkout.demoDistrict + "/golden/" + profile
      let update = ProcessInfo.processInfo.environment["SISDROP_UPDATE_GOLDEN"] == "1"
      var produced: [String: String] = [:]
      // The document files are the claimed uploads byte for byte (DocumentDeliveryTests): not kept as golden files.
      for name in files(below: outbox)
      where !name.hasPrefix(".sisdrop-staging") && !name.hasSuffix(".ready")
        && !name.contains("_documents/")
      {
        let text = try readText(outbox + "/" + name)
        produced[name.replacingOccurrences(of: batch.id, with: "BATCH")] =
          text.replacingOccurrences(of: batch.id, with: "BATCH").replacingOccurrences(
            of: batch.openedAt, with: "OPENED_AT")
      }
      for name in ["errors.csv", "held.csv"] {
        produced[name] = try readText(workdir.stageFolder(batch.id, .deliver) + "/" + name)
      }
      if update {
        try? FileManager.default.removeItem(atPath: golden)
        for (name, text) in produced { try writeFile(golden + "/" + name, text) }
      }
      #expect(files(below: golden) == produced.keys.sorted(), "the files of the \(profile) profile")
      for (name, text) in produced {
        let expected = try readText(golden + "/" + name)
        #expect(text == expected, "\(profile): \(name) differs from its golden file")
      }
      // The ready file lists every published file with its hash, size and rows, and comes last.
      let ready = try csvRows(outbox + "/" + Publisher.readyName(batch.id)).dropFirst()
      #expect(
        ready.map { $0[0] }.sorted()
          == files(below: outbox).filter { !$0.hasSuffix(".ready") && !$0.hasPrefix(".") })
      for row in ready {
        let (hash, size) = try SHA256.file(at: outbox + "/" + row[0])
        #expect(row[1] == hash && row[2] == String(size), "\(row[0])")
        // A document file has no rows (0); the others their records.
        #expect(
          Int(row[3])
            == (row[0].contains("_documents/") ? 0 : try csvRowsOrElements(outbox + "/" + row[0])),
          "rows of \(row[0])")
      }
    }
  }

  /// Data rows of a CSV file, or record elements of an XML delivery file.
  func csvRowsOrElements(_ path: String) throws -> Int {
    if path.hasSuffix(".xml") {
      let root = try XMLStreamReader(path: path).readDocument()
      return root.children.count
    }
    return try csvRows(path).count - 1
  }
}
