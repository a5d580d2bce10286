import Foundation
@testable import SISDrop
import Testing
import _SISDropTestSupport

/// The batch report rendered by a real browser: Debian's headless Chromium (installed by .ci/run).
@Suite struct BatchReportTests {
  static let chromium = "/usr/bin/chromium"
  /// The test's output folder: the screenshot stays here for a person to look at.
  static let output = Checkout.root + "/.build/test-output/DeliveryTests"

  func chromium(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.chromium)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self)
  }

  @Test func theDemoBatchReportRendersInChromium() throws {
    #expect(FileManager.default.isExecutableFile(atPath: Self.chromium), "install Debian's chromium (.ci/run does)")
    try withTemporaryFolder { root in
      // A name with markup: the page must show it as text, never as markup.
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0028", column: "Middle_Name", value: "<i>Lee</i> & \"Jr\"")
        // A matched student whose update is in error (72-character street): not delivered, so it can keep SIS values.
        try editCSV(inbox + "/submissions.csv", id: "S-2026-0001", column: "Street", value: "1200 " + String(repeating: "Long", count: 16) + " St")
      }
      let result = try runTool("sisdrop", ["report", "--workdir", root])
      #expect(result.status == 0, "\(result.stderr)")
      let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(path == workdir.batchFolder(batch.id) + "/report.html")
      let html = try readText(path)
      #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<link") && !html.contains("<script"),
              "self-contained: no network, no external assets")

      let dom = try chromium(["--dump-dom", "file://" + path])
      #expect(dom.contains("Batch \(batch.id)"))
      let potential = (try DemoExpectation.load()).students["potential"] ?? 0
      #expect(potential > 0)
      #expect(dom.contains("Review queue: \(potential) potential match\(potential == 1 ? "" : "es")"))
      #expect(dom.contains("sisdrop resolve S-2026-0028 --match 107328") && dom.contains("sisdrop resolve S-2026-0028 --no-match"))
      #expect(!dom.components(separatedBy: "sisdrop resolve").dropFirst().contains { $0.prefix(60).contains("--seq") },
              "the match branch's resolve takes --student")
      #expect(dom.contains("sisdrop keep-sis S-2026-0001 Grade_Level"), "an undelivered matched student's differing field can keep the SIS value")
      #expect(dom.contains("S-2026-0030") && dom.contains("not a real date"), "errors with what to do")
      #expect(dom.contains("class=\"card matched\"") && dom.contains("class=\"card new\"") && dom.contains("class=\"diff\""))
      // The markup in the name stayed text: escaped in the DOM, no <i> element.
      #expect(dom.contains("&lt;i&gt;Lee&lt;/i&gt; &amp;"), "escaped name")
      #expect(!dom.contains("<i>"))
      // Counts per outcome as the stages counted them.
      let counts = try StageReport.load(workdir.stageFolder(batch.id, .deliver)).counts
      #expect(dom.contains("<th>submissions delivered</th><td class=\"n\">\(counts["delivered_submissions"] ?? -1)</td>"))
      let rejected = try StageReport.load(workdir.stageFolder(batch.id, .normalize)).counts["rejected_submissions"] ?? -1
      #expect(dom.contains("<th>rejected by normalize</th><td class=\"n\">\(rejected)</td>"))

      try FileManager.default.createDirectory(atPath: Self.output, withIntermediateDirectories: true)
      let png = Self.output + "/report.png"
      try? FileManager.default.removeItem(atPath: png)
      _ = try chromium(["--screenshot=" + png, "--window-size=1280,2000", "file://" + path])
      let bytes = try FileSystem.readFile(png)
      #expect(bytes.count > 20_000 && Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "a PNG screenshot at \(png)")
    }
  }

  @Test func aFileThePageCannotReadIsShownNeverTakenForNothing() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root)
      let decisions = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
      chmod(decisions, 0o640)
      let lines = try readText(decisions).split(separator: "\n").count
      let handle = try #require(FileHandle(forWritingAtPath: decisions))
      handle.seekToEndOfFile()
      handle.write(Data("{\"submissionID\": \"S-2026-0099\", \"stud\n".utf8))
      handle.closeFile()
      try FileSystem.removeTree(workdir.stageFolder(batch.id, .deliver) + "/errors.csv")
      let html = try BatchReport.render(workdir: workdir, batch: batch)
      #expect(html.contains("Could not read 2 file(s)"))
      #expect(html.contains("<code>30-match/decisions.jsonl</code>: line \(lines + 1) is not a JSON object"))
      #expect(html.contains("<code>40-deliver/errors.csv</code>: missing"))
      #expect(html.contains("Unknown: errors.csv could not be read") && !html.contains("No records in error"))
    }
  }

  @Test func escapeCoversMarkupAndQuotes() {
    #expect(BatchReport.escape("<b>O'Neil & \"Sons\"</b>") == "&lt;b&gt;O&#39;Neil &amp; &quot;Sons&quot;&lt;/b&gt;")
  }
}
