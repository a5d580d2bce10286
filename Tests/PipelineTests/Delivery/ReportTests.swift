import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropCore
@testable import SISDropMatching
@testable import SISDropStore

/// The batch report rendered by a real browser: Debian's headless Chromium (installed by .ci/run).
@Suite struct BatchReportTests {
  static let chromium = "/usr/bin/chromium"
  /// The test's output folder: the screenshot stays here for a person to look at.
  static let output = Checkout.root + "/.build/test-output/DeliveryTests"

  func chromium(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.chromium)
    process.arguments =
      ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] + arguments
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
    #expect(
      FileManager.default.isExecutableFile(atPath: Self.chromium),
      "install Debian's chromium (.ci/run does)")
    try withTemporaryFolder { root in
      // A name with markup: the page must show it as text, never as markup.
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(
          inbox + "/submissions.csv", id: "S-2026-0028", column: "Middle_Name",
          value: "<i>Lee</i> & \"Jr\"")
        // A matched student whose update is in error (72-character street): not delivered, so it can keep SIS values.
        try editCSV(
          inbox + "/submissions.csv", id: "S-2026-0001", column: "Street",
          value: "1200 " + String(repeating: "Long", count: 16) + " St")
      }
      let result = try runTool("sisdrop", ["report", "--workdir", root])
      #expect(result.status == 0, "\(result.stderr)")
      let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(path == workdir.batchFolder(batch.id) + "/report.html")
      let html = try readText(path)
      #expect(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<link")
          && !html.contains("<script"),
        "self-contained: no network, no external assets")

      let dom = try chromium(["--dump-dom", "file://" + path])
      #expect(dom.contains("Batch \(batch.id)"))
      let potential = (try DemoExpectation.load()).students["potential"] ?? 0
      #expect(potential > 0)
      #expect(
        dom.contains("Review queue: \(potential) potential match\(potential == 1 ? "" : "es")"))
      #expect(
        dom.contains("sisdrop resolve S-2026-0028 --match 107328")
          && dom.contains("sisdrop resolve S-2026-0028 --no-match"))
      #expect(
        !dom.components(separatedBy: "sisdrop resolve").dropFirst().contains {
          $0.prefix(60).contains("--seq")
        },
        "the match branch's resolve takes --student")
      #expect(
        dom.contains("sisdrop keep-sis S-2026-0001 Grade_Level"),
        "an undelivered matched student's differing field can keep the SIS value")
      #expect(
        dom.contains("S-2026-0030") && dom.contains("not a real date"), "errors with what to do")
      // Full cards only for what needs a person; one compact row per submission for the rest.
      #expect(
        dom.contains("class=\"card potential\"") && dom.contains("class=\"card error\"")
          && dom.contains("class=\"diff\""))
      #expect(!dom.contains("class=\"card matched\"") && !dom.contains("class=\"card new\""))
      let decisions = try JSONLines.read(
        SubmissionDecision.self, from: workdir.stageFolder(batch.id, .match) + "/decisions.jsonl")
      let compact = try #require(
        dom.range(of: "<table class=\"compact\">").map { dom[$0.upperBound...] }.flatMap { rest in
          rest.range(of: "</table>").map { rest[..<$0.lowerBound] }
        })
      #expect(
        compact.components(separatedBy: "<tr").count - 2 == decisions.count
          + Set(try errorIDs(workdir, batch)).subtracting(decisions.map(\.submissionID)).count,
        "one compact row per submission")
      for anchor in [
        "counts", "review", "held", "errors", "contacts", "sis-rejects", "submissions",
      ] {
        #expect(
          dom.contains("<a href=\"#\(anchor)\">") && dom.contains("id=\"\(anchor)\""),
          "the index links to \(anchor)")
      }
      // The markup in the name stayed text: escaped in the DOM, no <i> element.
      #expect(dom.contains("&lt;i&gt;Lee&lt;/i&gt; &amp;"), "escaped name")
      #expect(!dom.contains("<i>"))
      // Counts per outcome as the stages counted them.
      let counts = try StageReport.load(workdir.stageFolder(batch.id, .deliver)).counts
      #expect(
        dom.contains(
          "<th>submissions delivered</th><td class=\"n\">\(counts["delivered_submissions"] ?? -1)</td>"
        ))
      let rejected =
        try StageReport.load(workdir.stageFolder(batch.id, .normalize)).counts[
          "rejected_submissions"] ?? -1
      #expect(dom.contains("<th>rejected by normalize</th><td class=\"n\">\(rejected)</td>"))

      try FileManager.default.createDirectory(
        atPath: Self.output, withIntermediateDirectories: true)
      let png = Self.output + "/report.png"
      try? FileManager.default.removeItem(atPath: png)
      _ = try chromium(["--screenshot=" + png, "--window-size=1280,2000", "file://" + path])
      let bytes = try FileSystem.readFile(png)
      #expect(
        bytes.count > 20_000 && Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47],
        "a PNG screenshot at \(png)")
    }
  }

  /// Each decision as it was taken: a guarded candidate's guard (no score), the rule that made a
  /// student NEW, held updates with both answers, contacts by outcome, and the SIS rows left out.
  @Test func theReportTellsWhatWasDecidedAndWhy() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        // An SIS row with an impossible birth date: left out of the snapshot (sis_rejects.csv).
        var students = try readText(inbox + "/students.csv")
        students = students.replacingOccurrences(
          of: "100057,2764495065,Abdi,,Mohamed,11/19/2019,",
          with: "100057,2764495065,Abdi,,Mohamed,someday,")
        try FileManager.default.removeItem(atPath: inbox + "/students.csv")
        try writeFile(inbox + "/students.csv", students)
      }
      let html = try BatchReport.render(workdir: workdir, batch: batch)
      let decisions = try JSONLines.read(
        SubmissionDecision.self, from: workdir.stageFolder(batch.id, .match) + "/decisions.jsonl")

      // A candidate a guard keeps from an automatic match shows the guard, never a score.
      var guarded = 0
      for decision in decisions {
        for student in decision.students where student.decision.outcome == .potential {
          let card = try #require(
            section(html, id: "review-\(decision.submissionID)-\(student.seq)"))
          for candidate in student.decision.candidates {
            if let guards = candidate.guards, !guards.isEmpty {
              guarded += 1
              #expect(
                card.contains("candidate \(candidate.sisID) <small class=\"guard\">guarded</small>")
              )
              #expect(
                card.contains(
                  "never automatic: " + BatchReport.escape(guards.joined(separator: "; "))))
            } else {
              #expect(card.contains("candidate \(candidate.sisID) <small>score"))
            }
          }
          if !(student.decision.candidates.first?.guards ?? []).isEmpty {
            #expect(!card.contains("class=\"score\""))
          }
        }
      }
      #expect(guarded > 0, "the demo holds a guarded candidate (S-2026-0028: different state ids)")

      // A NEW student: the rule that fired, not the list of alternatives; no score.
      #expect(
        !html.contains(BatchReport.escape(FellegiSunterMatcher.otherChild)),
        "the alternatives are never shown as the reason")
      #expect(
        html.contains("<td>S-2026-0053<td>new<td>")
          && html.contains("is another child: a twin with another given name"))
      #expect(html.contains("is another child: the birth dates differ"))
      let newStudents = decisions.flatMap { d in
        d.students.filter { $0.decision.outcome == .new }.map { (d.submissionID, $0) }
      }
      #expect(!newStudents.isEmpty)
      for (id, student) in newStudents {
        let row = try #require(
          html.split(separator: "\n").first {
            $0.hasPrefix("<tr") && ($0.contains("<td>\(id)<td>") || $0.contains(">\(id)</a><td>"))
          }, "a row for \(id)")
        #expect(!row.contains("score"), "\(id)")
        if let reason = student.decision.reasons.first,
          !reason.hasSuffix(FellegiSunterMatcher.otherChild)
        {
          #expect(row.contains(BatchReport.escape(reason)), "\(id): the matcher's own reason")
        }
      }

      // Updates held by the `updates:` policy: form and SIS side by side, and both answers per field.
      let held = decisions.filter(\.hasHeldUpdate)
      #expect(
        !held.isEmpty && html.contains("Updates held for review: \(held.count) submission(s)"))
      for decision in held {
        let card = try #require(section(html, id: "held-\(decision.submissionID)"))
        for student in decision.students {
          for difference in student.heldDifferences ?? [] {
            let which = decision.students.count > 1 ? " --student \(student.seq)" : ""
            #expect(
              card.contains(
                "<th>\(difference.field)</th><td class=\"diff\">\(BatchReport.escape(difference.enrollment))</td><td>\(BatchReport.escape(difference.sis))</td>"
              ))
            #expect(
              card.contains("sisdrop accept \(decision.submissionID) \(difference.field)\(which)\n")
            )
            #expect(
              card.contains(
                "sisdrop keep-sis \(decision.submissionID) \(difference.field)\(which)\n"))
          }
        }
        for contact in decision.contacts {
          for difference in contact.heldDifferences ?? [] {
            #expect(
              card.contains(
                "sisdrop accept \(decision.submissionID) \(difference.field) --contact \(contact.seq)\n"
              ))
            #expect(
              card.contains(
                "sisdrop keep-sis \(decision.submissionID) \(difference.field) --contact \(contact.seq)\n"
              ))
          }
        }
      }

      // Contacts by outcome, and each new contact two forms share.
      let contacts = decisions.flatMap(\.contacts)
      let sameAs = contacts.filter { $0.sameAs != nil }
      let matched = contacts.filter { $0.sameAs == nil && $0.outcome == .matched }.count
      #expect(!sameAs.isEmpty && matched > 0)
      let potential = contacts.filter { $0.sameAs == nil && $0.outcome == .potential }.count
      #expect(
        html.contains(
          "Contacts: \(matched) matched, \(potential) potential, \(contacts.count - matched - potential - sameAs.count) new, "
            + "\(sameAs.count) same as another new contact"))
      for decision in decisions {
        for contact in decision.contacts {
          if let same = contact.sameAs { #expect(html.contains("\(contact.seq)=\(same)")) }
        }
      }

      // The SIS row the snapshot left out: counted and listed.
      let rejects = try BatchLifecycle.readTable(
        workdir.stageFolder(batch.id, .normalize) + "/sis_rejects.csv")
      #expect(rejects.count == 1)
      #expect(
        html.contains("SIS export problems: 1</h2>")
          && html.contains("<th>SIS export problems (sis_rejects.csv)</th><td class=\"n\">1</td>"))
      #expect(html.contains("<td data-label=\"Reason\">\(BatchReport.escape(rejects[0][5]))</td>"))
    }
  }

  /// A person's answer shows where it applied: a field kept at the SIS value leaves the held cards
  /// and is named in the submission's row.
  @Test func aKeptSISValueIsShownInItsRow() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root)
      #expect(
        try BatchReport.render(workdir: workdir, batch: batch).contains("id=\"held-S-2026-0025\""))
      let result = try runTool(
        "sisdrop", ["keep-sis", "S-2026-0025", "First_Name", "--workdir", root])
      #expect(result.status == 0, "\(result.stderr)")
      let decisions = try JSONLines.read(
        SubmissionDecision.self, from: workdir.stageFolder(batch.id, .match) + "/decisions.jsonl")
      #expect(
        decisions.first { $0.submissionID == "S-2026-0025" }?.students.first?.keptSIS == [
          "First_Name"
        ], "the answer is in the decisions")
      let html = try BatchReport.render(workdir: workdir, batch: try workdir.batch(batch.id))
      #expect(!html.contains("id=\"held-S-2026-0025\""))
      let row = try #require(
        html.split(separator: "\n").first { $0.hasPrefix("<tr") && $0.contains("S-2026-0025") })
      #expect(row.contains("SIS value kept: First_Name"), "\(row)")
    }
  }

  /// One card of the page, by its id.
  func section(_ html: String, id: String) -> String? {
    guard let start = html.range(of: "id=\"\(BatchReport.escape(id))\"") else { return nil }
    let rest = html[start.lowerBound...]
    return rest.range(of: "</section>").map { String(rest[..<$0.upperBound]) }
  }

  /// The essentials (ids, candidates, the SIS column, what to do) fit a phone and a desktop. Headless
  /// Chromium's window is at least 500 px wide, so the page is laid out in a frame of exactly the
  /// width (its media queries see the frame); a copy of the page with a measuring script (the page
  /// itself has none) posts what runs past the right edge to the frame's parent, which keeps it in its DOM.
  @Test func theEssentialsFitAt420And1400Pixels() throws {
    try withTemporaryFolder { root in
      let (workdir, batch) = try openDemoBatch(root) { inbox in
        try editCSV(
          inbox + "/submissions.csv", id: "S-2026-0001", column: "Street",
          value: "1200 " + String(repeating: "Long", count: 16) + " St")
      }
      let path = try BatchReport.write(workdir: workdir, batch: batch)
      let html = try readText(path)
      let measure = """
        <script>
        (function () {
          var width = window.innerWidth, cut = [];
          var cells = document.querySelectorAll('th, td, pre, h1, h2, h3, h4, nav a');
          for (var i = 0; i < cells.length; i++) {
            var box = cells[i].getBoundingClientRect();
            if (box.width > 0 && box.right > width + 0.5) cut.push(cells[i].tagName + '.' + cells[i].className + '@' + Math.round(box.right));
          }
          var todo = document.querySelector('td.todo').getBoundingClientRect(), sis = document.querySelectorAll('table.side th');
          parent.postMessage('width=' + width + ' scroll=' + document.documentElement.scrollWidth + ' cut=' + cut.length
            + ' todo=' + (todo.right <= width) + ' candidates=' + sis.length + ' ' + cut.slice(0, 10).join(' '), '*');
        })();
        </script>
        """
      try writeFile(
        root + "/report-measured.html",
        html.replacingOccurrences(of: "</body>", with: measure + "</body>"))
      var screenshots: [String] = []
      for width in [420, 1400] {
        func frame(_ page: String) -> String {
          "<!DOCTYPE html><html><body style=\"margin:0\"><script>window.addEventListener('message', function (e) { document.getElementById('fit').textContent = e.data; });</script>"
            + "<iframe src=\"\(page)\" style=\"border:0;width:\(width)px;height:2000px\"></iframe><div id=\"fit\">not measured</div></body></html>"
        }
        try writeFile(root + "/measure-\(width).html", frame("report-measured.html"))
        let dom = try chromium([
          "--window-size=\(max(width, 500)),2000", "--virtual-time-budget=10000", "--dump-dom",
          "file://" + root + "/measure-\(width).html",
        ])
        let fit = try #require(
          dom.range(of: "<div id=\"fit\">").map {
            String(dom[$0.upperBound...].prefix { $0 != "<" })
          })
        #expect(
          fit.hasPrefix("width=\(width) scroll=\(width) cut=0 todo=true"), "at \(width) px: \(fit)")
        #expect(!fit.contains("candidates=0"), "the side-by-side tables are on the page")
        // The screenshot: the page as it is, in a frame of the width.
        try writeFile(root + "/frame-\(width).html", frame("file://" + path))
        let png = root + "/report-\(width).png"
        _ = try chromium([
          "--screenshot=" + png, "--window-size=\(max(width, 500)),2000",
          "file://" + root + "/frame-\(width).html",
        ])
        let bytes = try FileSystem.readFile(png)
        #expect(
          bytes.count > 10_000 && Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47],
          "a PNG screenshot at \(png)")
        screenshots.append(png)
      }
      // Kept for a person to look at: under .build every run; `SISDROP_KEEP_SCREENSHOTS=1` also
      // refreshes the copies kept in the repository (docs/screenshots/).
      var keep = [Self.output]
      if ProcessInfo.processInfo.environment["SISDROP_KEEP_SCREENSHOTS"] == "1" {
        keep.append(Checkout.root + "/docs/screenshots")
      }
      for folder in keep {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for png in screenshots {
          let target = folder + "/" + (png as NSString).lastPathComponent
          try? FileManager.default.removeItem(atPath: target)
          try FileManager.default.copyItem(atPath: png, toPath: target)
        }
      }
    }
  }

  /// The report names the clause of "another child" that made a student NEW: recomputed with the
  /// matcher's own test, it must hold exactly when the matcher's does, for every comparison pattern.
  @Test func theRuleNamedForAnotherChildIsTheOneThatFired() {
    var vector = ComparisonVector(levels: [Int8](repeating: -1, count: MatchField.allCases.count))
    var checked = 0
    var disagreements = 0
    func walk(_ field: Int) {
      guard field < MatchField.allCases.count else {
        for swapped in [false, true] {
          vector.namesSwapped = swapped
          checked += 1
          if (FellegiSunterMatcher.otherChildRule(vector) != nil)
            != FellegiSunterMatcher.isOtherChild(vector)
          {
            disagreements += 1
          }
        }
        return
      }
      for level in -1..<MatchField.allCases[field].levels.count {
        vector.levels[field] = Int8(level)
        walk(field + 1)
      }
    }
    walk(0)
    #expect(checked > 500_000 && disagreements == 0)
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
      #expect(
        html.contains(
          "<code>30-match/decisions.jsonl</code>: line \(lines + 1) is not a JSON object"))
      #expect(html.contains("<code>40-deliver/errors.csv</code>: missing"))
      #expect(
        html.contains("Unknown: errors.csv could not be read")
          && !html.contains("No records in error"))
    }
  }

  func errorIDs(_ workdir: WorkDir, _ batch: BatchRecord) throws -> [String] {
    try BatchLifecycle.readTable(workdir.stageFolder(batch.id, .deliver) + "/errors.csv").map {
      $0[0]
    }
  }

  /// The error cards come in errors.csv's order of first appearance, each submission once, its
  /// rows together (a submission's rows need not be next to each other: deliver's errors follow
  /// parse's and normalize's).
  @Test func eachSubmissionInErrorGetsOneCardInTheOrderOfErrorsCSV() {
    let rows = [
      ["S-2", "student", "1", "Zip"], ["S-1", "student", "1", "Street"],
      ["S-2", "contact", "1", "Phone"], ["S-3", "student", "1", "SchoolID"],
      ["S-1", "student", "2", "Zip"], ["S-3", "student", "1", "Grade_Level"],
    ]
    let cards = BatchReport.Cards(errors: rows)
    #expect(cards.errorIDs == ["S-2", "S-1", "S-3"])
    #expect(cards.errorsByID["S-1"]?.map { $0[3] } == ["Street", "Zip"])
    #expect(cards.errorsByID["S-2"]?.map { $0[3] } == ["Zip", "Phone"])
  }

  @Test func escapeCoversMarkupAndQuotes() {
    #expect(
      BatchReport.escape("<b>O'Neil & \"Sons\"</b>")
        == "&lt;b&gt;O&#39;Neil &amp; &quot;Sons&quot;&lt;/b&gt;")
  }
}
