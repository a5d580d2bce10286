import Foundation

/// `report.html`: one self-contained page per batch for the people who decide (no network, no
/// external assets, inline CSS; opens from the file system).
///
/// Counts per outcome; the review queue with the submission and each candidate side by side,
/// differing fields in yellow (the seed's yellow field and yellow orb), matched students green,
/// new ones gray; each decision's explanation; the errors with what to do; and the exact command
/// that resolves each item. Every value is HTML-escaped: names can hold `<`, `&` and quotes.
///
/// The match stage's decisions are read as JSON, not through `MatchDecision`, so explanation
/// fields a matcher adds are shown without a change here.
public enum BatchReport {
  public static let fileName = "report.html"

  /// The student fields shown side by side.
  static let studentFields = [
    "State_StudentNumber", "First_Name", "Middle_Name", "Last_Name", "DOB", "Gender", "Grade_Level", "SchoolID", "Street", "City",
    "State", "Zip", "Home_Phone", "Email",
  ]
  /// Decision keys drawn by the page itself; any other key is shown as part of the explanation.
  static let drawnKeys: Set<String> = ["outcome", "sisID", "score", "reasons", "candidates", "method"]

  /// Writes the batch's report.html (replacing an earlier one atomically) and returns its path.
  @discardableResult
  public static func write(workdir: WorkDir, batch: BatchRecord) throws -> String {
    let path = workdir.batchFolder(batch.id) + "/" + fileName
    let html = try render(workdir: workdir, batch: batch)
    try FileSystem.writeAtomically(path, Array(html.utf8))
    return path
  }

  // MARK: Reading the batch

  /// Files the page could not read, with why: shown at the top, never taken for "nothing".
  final class Unreadable {
    var problems: [(path: String, reason: String)] = []
    func contains(_ path: String) -> Bool { problems.contains { $0.path == path } }
  }

  /// A stage file's JSON lines; a missing file is fine only while its stage folder does not exist (not run yet).
  static func jsonLines(_ path: String, _ unreadable: Unreadable) -> [[String: Any]] {
    guard FileSystem.exists(path) else {
      if FileSystem.isDirectory((path as NSString).deletingLastPathComponent) { unreadable.problems.append((path, "missing")) }
      return []
    }
    do {
      var objects: [[String: Any]] = []
      for (index, line) in try FileSystem.readFile(path).split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
          unreadable.problems.append((path, "line \(index + 1) is not a JSON object"))
          continue
        }
        objects.append(object)
      }
      return objects
    } catch {
      unreadable.problems.append((path, "\(error)"))
      return []
    }
  }

  static func table(_ path: String, _ unreadable: Unreadable) -> [[String]] {
    guard FileSystem.exists(path) else {
      if FileSystem.isDirectory((path as NSString).deletingLastPathComponent) { unreadable.problems.append((path, "missing")) }
      return []
    }
    do { return try BatchLifecycle.readTable(path) } catch {
      unreadable.problems.append((path, "\(error)"))
      return []
    }
  }

  static func render(workdir: WorkDir, batch: BatchRecord) throws -> String {
    let unreadable = Unreadable()
    func jsonLines(_ path: String) -> [[String: Any]] { BatchReport.jsonLines(path, unreadable) }
    func table(_ path: String) -> [[String]] { BatchReport.table(path, unreadable) }
    let config = try? workdir.config(for: batch)
    var counts: [String: Int] = [:]
    for stage in Stage.allCases where FileSystem.isDirectory(workdir.stageFolder(batch.id, stage)) {
      do {
        for (key, value) in try StageReport.load(workdir.stageFolder(batch.id, stage)).counts { counts["\(stage.rawValue).\(key)"] = value }
      } catch {
        unreadable.problems.append((workdir.stageFolder(batch.id, stage) + "/stage.json", "\(error)"))
      }
    }
    var submissions: [String: [String: Any]] = [:]
    for submission in jsonLines(workdir.stageFolder(batch.id, .normalize) + "/submissions.jsonl") {
      if let id = submission["id"] as? String { submissions[id] = submission }
    }
    let decisions = jsonLines(workdir.stageFolder(batch.id, .match) + "/decisions.jsonl")
    let snapshot = (try? DeliverStage.snapshotPath(workdir, batch: batch.id)).flatMap { try? Snapshot(path: $0) }
    let deliver = workdir.stageFolder(batch.id, .deliver)
    var errors = table(deliver + "/errors.csv")
    var delivered = Set(table(deliver + "/delivered.csv").map { $0[0] })
    for redelivery in (try? Redelivery.all(workdir, batch: batch.id)) ?? [] {
      delivered.formUnion(table(redelivery.folder + "/delivered.csv").map { $0[0] })
    }
    // An error fixed by a re-delivery is no longer open.
    errors.removeAll { delivered.contains($0[0]) }
    let held = table(deliver + "/held.csv")

    var page = Page()
    page.line("<!DOCTYPE html>")
    page.line("<html lang=\"en\"><head><meta charset=\"utf-8\">")
    page.line("<title>sisdrop batch \(escape(batch.id))</title>")
    page.line("<style>\(css)</style></head><body>")
    page.line("<h1>Batch \(escape(batch.id)) <small>\(escape(config?.districtName ?? ""))</small></h1>")
    page.line("<p class=\"meta\">state: <b>\(escape(batch.state.rawValue))</b> · opened \(escape(batch.openedAt))"
      + (batch.closedAt.map { " · closed \(escape($0))" } ?? "") + " · selection \(escape(batch.selection.description))</p>")

    // A stage that refused its input (a broken SIS export, a cut-off roster, a NUL upload): what and
    // where, never only in the log. Quoted values are masked, as in the notification.
    let runs = (try? workdir.state.stageRuns(batch: batch.id)) ?? []
    let refused = Stage.allCases.compactMap { stage in runs.last { $0.stage == stage.rawValue } }.filter { $0.status == "failed" }
    if !refused.isEmpty {
      page.line("<div class=\"unreadable\"><b>Input refused: this batch stopped before delivery.</b><ul>")
      for run in refused {
        page.line("<li>\(escape(run.stage)) (attempt \(run.attempt), exit \(run.exitCode ?? 0)): \(escape(Notification.mask(run.message ?? "")))</li>")
      }
      page.line("</ul></div>")
    }

    if !unreadable.problems.isEmpty {
      page.line("<div class=\"unreadable\"><b>Could not read \(unreadable.problems.count) file(s): what this page shows is incomplete.</b><ul>")
      for problem in unreadable.problems {
        page.line("<li><code>\(escape(relativePath(problem.path, to: workdir.batchFolder(batch.id))))</code>: \(escape(problem.reason))</li>")
      }
      page.line("</ul></div>")
    }

    // Counts per outcome.
    page.line("<h2>Counts</h2><table class=\"counts\"><tbody>")
    let rows: [(String, String)] = [
      ("submissions in the export", "parse.submissions_in_export"), ("selected", "parse.selected"),
      ("rejected by parse", "parse.rejected_submissions"), ("rejected by normalize", "normalize.rejected_submissions"),
      ("duplicate rows in the export, read once", "parse.duplicate_rows"),
      ("SIS export rows left out (malformed)", "normalize.sis_rejected_rows"),
      ("SIS values missing for matching", "normalize.sis_missing_values"),
      ("already delivered", "normalize.already_delivered"),
      ("students matched", "match.students_matched"), ("students potential (review)", "match.students_potential"),
      ("students new", "match.students_new"), ("contacts matched", "match.contacts_matched"), ("contacts new", "match.contacts_new"),
      ("submissions delivered", "deliver.delivered_submissions"), ("submissions held for review", "deliver.held_submissions"),
      ("submissions in error", "deliver.error_submissions"),
    ]
    for (label, key) in rows where counts[key] != nil {
      page.line("<tr><th>\(escape(label))</th><td class=\"n\">\(counts[key] ?? 0)</td></tr>")
    }
    page.line("<tr><th>delivered after correction</th><td class=\"n\">\(max(0, delivered.count - (counts["deliver.delivered_submissions"] ?? delivered.count)))</td></tr>")
    page.line("</tbody></table>")

    // The review queue: potential matches, submission and candidates side by side.
    var review: [String] = []
    var matched: [String] = []
    var new: [String] = []
    for decision in decisions {
      let id = decision["submissionID"] as? String ?? ""
      let submission = submissions[id]
      let students = (submission?["students"] as? [[String: Any]]) ?? []
      for student in (decision["students"] as? [[String: Any]]) ?? [] {
        let seq = student["seq"] as? Int ?? 1
        let detail = student["decision"] as? [String: Any] ?? [:]
        let outcome = detail["outcome"] as? String ?? ""
        let fields = students.first { ($0["seq"] as? Int) == seq }?["fields"] as? [String: String] ?? [:]
        switch outcome {
        case "potential":
          review.append(reviewCard(id: id, seq: seq, fields: fields, decision: detail, snapshot: snapshot, siblings: students.count > 1))
        case "matched":
          matched.append(matchedCard(id: id, seq: seq, decision: detail, differences: student["differences"] as? [[String: Any]] ?? [],
                                     delivered: delivered.contains(id)))
        default: new.append(newCard(id: id, seq: seq, fields: fields, decision: detail, delivered: delivered.contains(id)))
        }
      }
    }
    page.line("<h2><span class=\"orb yellow\"></span>Review queue: \(review.count) potential match\(review.count == 1 ? "" : "es")</h2>")
    let decisionsPath = workdir.stageFolder(batch.id, .match) + "/decisions.jsonl"
    if review.isEmpty { page.line(unreadable.contains(decisionsPath) ? "<p>Unknown: decisions.jsonl could not be read (see above).</p>" : "<p>Nothing to review.</p>") }
    page.line("<p class=\"hint\">A submission with any unresolved potential match is held back and stays pending. Fields that differ from the submission are <mark>yellow</mark>.</p>")
    for card in review { page.line(card) }

    // Errors with what to do.
    page.line("<h2>Errors: \(Set(errors.map { $0[0] }).count) submission(s)</h2>")
    if errors.isEmpty {
      page.line(unreadable.contains(deliver + "/errors.csv") ? "<p>Unknown: errors.csv could not be read (see above).</p>" : "<p>No records in error.</p>")
    } else {
      page.line("<p class=\"hint\">These records stay pending; nothing was dropped. Close returns them to pending if they are still in error.</p>")
      page.line("<table class=\"errors\"><thead><tr><th>Submission</th><th>Schema</th><th>Seq</th><th>Field</th><th>Value</th><th>Problem</th><th>What to do</th><th>Found by</th></tr></thead><tbody>")
      for row in errors {
        let command = row[6].contains("`") ? commands(in: row[6]) : escape(row[6])
        page.line("<tr><td>\(escape(row[0]))</td><td>\(escape(row[1]))</td><td>\(escape(row[2]))</td><td>\(escape(row[3]))</td><td class=\"value\">\(escape(row[4]))</td><td>\(escape(row[5]))</td><td>\(command)</td><td>\(escape(row[7]))\(row.count > 9 && !row[9].isEmpty ? " (\(escape(row[8])):\(escape(row[9])))" : "")</td></tr>")
      }
      page.line("</tbody></table>")
    }

    page.line("<h2><span class=\"orb green\"></span>Matched: \(matched.count)</h2>")
    for card in matched { page.line(card) }
    page.line("<h2><span class=\"orb gray\"></span>New (no match): \(new.count)</h2>")
    for card in new { page.line(card) }
    if !held.isEmpty {
      page.line("<h2>Held for review: \(Set(held.map { $0[0] }).count) submission(s)</h2><ul>")
      for row in held where row.count >= 6 {
        page.line("<li>\(escape(row[0])) \(escape(row[1])) \(escape(row[2])): \(escape(row[3]))"
          + (row[4].isEmpty ? "" : (row[3] == "potential match" ? ", candidates " : ", SIS ") + escape(row[4]))
          + (row[5].isEmpty ? "" : ", fields " + escape(row[5])) + "</li>")
      }
      page.line("</ul>")
    }
    page.line("<footer>Written by sisdrop \(escape(SISDropVersion.current)) from \(escape(workdir.batchFolder(batch.id))). Student names and birth dates are FERPA-protected: do not forward this page.</footer>")
    page.line("</body></html>")
    return page.text
  }

  // MARK: Cards

  static func explanation(_ decision: [String: Any]) -> String {
    var html = "<div class=\"why\">"
    if let method = decision["method"] as? String, !method.isEmpty { html += "<span class=\"method\">\(escape(method))</span> " }
    if let score = decision["score"] as? Double { html += "<span class=\"score\">score \(escape(String(format: "%.2f", score)))</span>" }
    let reasons = decision["reasons"] as? [Any] ?? []
    if !reasons.isEmpty { html += "<ul>" + reasons.map { "<li>\(escape(describe($0)))</li>" }.joined() + "</ul>" }
    for key in decision.keys.sorted() where !drawnKeys.contains(key) {
      html += "<div class=\"extra\"><b>\(escape(key))</b>: \(escape(describe(decision[key] as Any)))</div>"
    }
    return html + "</div>"
  }

  static func reviewCard(id: String, seq: Int, fields: [String: String], decision: [String: Any], snapshot: Snapshot?, siblings: Bool) -> String {
    let candidates = decision["candidates"] as? [[String: Any]] ?? []
    var html = "<section class=\"card potential\" id=\"review-\(escape(id))-\(seq)\">"
    html += "<h3><span class=\"orb yellow\"></span>\(escape(id)) · student \(seq)</h3>" + explanation(decision)
    html += "<table class=\"side\"><thead><tr><th>field</th><th>submission</th>"
    var sis: [[String: String]] = []
    for candidate in candidates {
      let sisID = candidate["sisID"] as? String ?? ""
      sis.append((try? snapshot?.student(number: sisID))??.fields ?? [:])
      html += "<th>candidate \(escape(sisID))" + ((candidate["score"] as? Double).map { " <small>score \(String(format: "%.2f", $0))</small>" } ?? "") + "</th>"
    }
    html += "</tr></thead><tbody>"
    for field in studentFields {
      let mine = fields[field] ?? ""
      html += "<tr><th>\(escape(field))</th><td>\(escape(mine))</td>"
      for values in sis {
        let theirs = values[field] ?? ""
        html += theirs != mine ? "<td class=\"diff\">\(escape(theirs))</td>" : "<td>\(escape(theirs))</td>"
      }
      html += "</tr>"
    }
    html += "<tr><th>why</th><td></td>"
    for candidate in candidates {
      html += "<td>" + ((candidate["reasons"] as? [Any]) ?? []).map { escape(describe($0)) }.joined(separator: "<br>")
      for key in candidate.keys.sorted() where !["sisID", "score", "reasons"].contains(key) {
        html += "<br><b>\(escape(key))</b>: \(escape(describe(candidate[key] as Any)))"
      }
      html += "</td>"
    }
    html += "</tr></tbody></table><div class=\"commands\"><b>Resolve with one of:</b><pre>"
    for candidate in candidates {
      html += escape(resolveCommand(id: id, seq: seq, match: candidate["sisID"] as? String, siblings: siblings)) + "\n"
    }
    html += escape(resolveCommand(id: id, seq: seq, match: nil, siblings: siblings)) + "</pre></div></section>"
    return html
  }

  /// The match branch's `sisdrop resolve SUBMISSION --match SIS_ID | --no-match [--student N]`;
  /// `--student` whenever the submission has siblings, so the command never depends on which is still open.
  static func resolveCommand(id: String, seq: Int, match: String?, siblings: Bool = true) -> String {
    var command = "sisdrop resolve \(shellQuote(id))"
    command += match.map { " --match \(shellQuote($0))" } ?? " --no-match"
    if siblings { command += " --student \(seq)" }
    return command
  }

  static func matchedCard(id: String, seq: Int, decision: [String: Any], differences: [[String: Any]], delivered: Bool) -> String {
    var html = "<section class=\"card matched\"><h3><span class=\"orb green\"></span>\(escape(id)) · student \(seq) → SIS \(escape(decision["sisID"] as? String ?? ""))"
    html += delivered ? " <small>delivered</small>" : " <small>not delivered</small>"
    html += "</h3>" + explanation(decision)
    if !differences.isEmpty {
      html += "<table class=\"side\"><thead><tr><th>field</th><th>submission</th><th>SIS</th></tr></thead><tbody>"
      for difference in differences {
        html += "<tr><th>\(escape(difference["field"] as? String ?? ""))</th><td class=\"diff\">\(escape(difference["enrollment"] as? String ?? ""))</td><td>\(escape(difference["sis"] as? String ?? ""))</td></tr>"
      }
      html += "</tbody></table>"
      if !delivered {
        // The seed's green arrow: keep the SIS value, the update leaves the field out.
        html += "<div class=\"commands\"><b>Keep the SIS value of a field with:</b><pre>"
        for difference in differences {
          html += escape("sisdrop keep-sis \(shellQuote(id)) \(shellQuote(difference["field"] as? String ?? ""))") + "\n"
        }
        html += "</pre></div>"
      }
    }
    return html + "</section>"
  }

  static func newCard(id: String, seq: Int, fields: [String: String], decision: [String: Any], delivered: Bool) -> String {
    let name = [fields["First_Name"], fields["Last_Name"]].compactMap { $0 }.joined(separator: " ")
    return "<section class=\"card new\"><h3><span class=\"orb gray\"></span>\(escape(id)) · student \(seq) · \(escape(name))"
      + (delivered ? " <small>delivered as new</small>" : " <small>not delivered</small>") + "</h3>" + explanation(decision) + "</section>"
  }

  // MARK: Text

  /// Commands quoted in backticks become copyable `<code>` (the rest escaped).
  static func commands(in text: String) -> String {
    text.split(separator: "`", omittingEmptySubsequences: false).enumerated().map { index, part in
      index % 2 == 1 ? "<code>\(escape(String(part)))</code>" : escape(String(part))
    }.joined()
  }

  static func describe(_ value: Any) -> String {
    switch value {
    case let text as String: return text
    case let number as NSNumber: return number.stringValue
    case let list as [Any]: return list.map(describe).joined(separator: "; ")
    case let map as [String: Any]: return map.keys.sorted().map { "\($0): \(describe(map[$0] as Any))" }.joined(separator: ", ")
    default: return ""
    }
  }

  /// HTML-escapes text for element content and attribute values.
  public static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(character)
      }
    }
    return out
  }

  struct Page {
    var text = ""
    mutating func line(_ s: String) { text += s + "\n" }
  }

  static let css = """
    .unreadable{border:2px solid #c62828;background:#fdecea;padding:.4em 1em;border-radius:6px}
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1200px}
    h1 small{font-weight:normal;color:#666}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
    .meta,.hint{color:#555}table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
    thead th{background:#f2f2f2}.counts td.n{text-align:right;min-width:4em}
    .orb{display:inline-block;width:.9em;height:.9em;border-radius:50%;margin-right:.4em;vertical-align:-0.1em;border:1px solid #0003}
    .orb.yellow{background:#f5c400}.orb.green{background:#2e9e44}.orb.gray{background:#9a9a9a}
    td.diff,mark{background:#fff176}.card{border:1px solid #ddd;border-radius:6px;padding:.4em 1em;margin:.8em 0}
    .card.potential{border-left:6px solid #f5c400}.card.matched{border-left:6px solid #2e9e44;background:#f3fbf4}
    .card.new{border-left:6px solid #9a9a9a;background:#f6f6f6}.why ul{margin:.2em 0}.method,.score{font-size:12px;background:#eee;border-radius:3px;padding:0 4px}
    pre,code{background:#272822;color:#f8f8f2;padding:2px 4px;border-radius:3px}pre{padding:.5em;white-space:pre-wrap}
    td.value{font-family:monospace}footer{margin-top:2em;color:#777;font-size:12px}
    """
}
