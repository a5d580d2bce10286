import Foundation
import SISDropCore

/// A notification for people: an RFC 5322 message carrying counts and record ids only.
///
/// Never a student's name or birth date: the texts are built from batch ids, submission ids,
/// SIS numbers, counts and states, and an error's message has its quoted values masked (a
/// rejected value can be a name or a date of birth).
package struct Notification: Sendable, Equatable {
  package enum Kind: String, Sendable {
    case statusChange = "status-change"
    case runFailed = "run-failed"
    case review
    case stillArriving = "still-arriving"
    case combined
  }

  package var kind: Kind
  package var subject: String
  package var body: [String]

  package init(kind: Kind, subject: String, body: [String]) {
    self.kind = kind
    self.subject = subject
    self.body = body
  }

  /// A change of the integration status.
  package static func statusChange(
    district: String, from: IntegrationStatus?, to: IntegrationStatus, next: Date?, workdir: String
  ) -> Notification {
    var body = [
      "The \(district) SIS integration is now \(to.state.rawValue) (was \(from?.state.rawValue ?? "not yet set")).",
      "",
      "Since: \(to.since.ISO8601Format())",
      "Why:   \(mask(to.reason))",
    ]
    if let last = to.lastRunAt {
      body.append(
        "Last run: \(last.ISO8601Format()) \(IntegrationStatus.lastRunText(result: to.lastRunResult, batch: to.lastBatch))"
      )
    }
    if let next { body.append("Next run: \(next.ISO8601Format())") }
    body += [
      "Working directory: \(workdir)", "",
      "`sisdrop status --workdir \(workdir)` shows the current status.",
    ]
    return Notification(
      kind: .statusChange, subject: "[sisdrop] \(district): integration \(to.state.rawValue)",
      body: body)
  }

  /// A run that failed (any exit but 0 and 75).
  package static func runFailed(
    district: String, error: Error, batch: String?, status: IntegrationStatus, next: Date?,
    workdir: String
  ) -> Notification {
    var body = [
      "A sisdrop run for \(district) failed with exit status \(error.exitStatus.rawValue).",
      "",
    ]
    if let batch { body.append("Batch: \(batch)") }
    body += wrap("Error: " + mask("\(error)"))
    body += [
      "", "Integration status: \(status.state.rawValue) (\(status.failures) failure(s) in a row)",
    ]
    if let next { body.append("Next attempt: \(next.ISO8601Format())") }
    body += [
      "Working directory: \(workdir)", "",
      "The run's log and `sisdrop status --workdir \(workdir)` say more.",
    ]
    // A file the batch claimed is refused itself: the error above says to cancel the batch first
    // (ClaimedCopy); its command stands on a line of its own, to copy.
    if ClaimedCopy.advisesCancel(error, workdir: workdir) {
      body += [
        "", "To cancel the batch, as the error says:", "",
        "  \(ClaimedCopy.cancelCommand(workdir))",
      ]
    }
    return Notification(
      kind: .runFailed,
      subject: "[sisdrop] \(district): run failed (exit \(error.exitStatus.rawValue))", body: body)
  }

  /// The run window closed while an inbox file was still arriving: tonight's delivery did not happen.
  package static func stillArriving(
    district: String, waiting: String, since: Date, windowClosed: Date, workdir: String
  ) -> Notification {
    var body = [
      "The \(district) run window closed at \(windowClosed.ISO8601Format()) and no delivery was made:",
      "every run since \(since.ISO8601Format()) found an inbox file still arriving.",
      "",
    ]
    body += wrap("Waiting for: " + mask(waiting))
    body += [
      "",
      "Check the sender's upload (an upload stalled or never finished, a missing trigger or manifest file).",
      "The next window retries by itself. Working directory: \(workdir)",
    ]
    return Notification(
      kind: .stillArriving, subject: "[sisdrop] \(district): window closed, inbox still arriving",
      body: body)
  }

  /// Answer files (resolutions, overrides, accepts, corrections) refused whole: none of their
  /// answers were taken, so what the clerk answered still waits. Names, counts and places only.
  package static func answerFilesRefused(district: String, refusal: String, workdir: String)
    -> Notification
  {
    var body = ["An answer file for \(district) was refused whole tonight:", ""]
    body += wrap(refusal + ".")
    body += [
      "",
      "What was answered in it still waits for the next run that takes the fixed file.",
      "Working directory: \(workdir)",
    ]
    return Notification(
      kind: .review,
      subject: "[sisdrop] \(district): answer file refused, none of its answers taken",
      body: body)
  }

  /// Delivered records the SIS has not confirmed: ids, record kinds, SIS numbers and what is missing
  /// (field names, never values; the SIS import's messages stay in `sisdrop status`).
  /// - Parameters:
  ///   - confirmed: the records this run's SIS export confirmed (said first, when any).
  ///   - sisExportAlone: the run claimed the SIS export alone (no enrollment export that night).
  package static func unconfirmed(
    district: String, items: [Confirmation.Item], workdir: String, confirmed: Int = 0,
    sisExportAlone: Bool = false
  ) -> Notification {
    var body: [String] = []
    if confirmed > 0 || sisExportAlone {
      body += [
        "Tonight's SIS export\(sisExportAlone ? " (it came alone: no enrollment export, nothing delivered)" : "") confirmed \(confirmed) delivered record(s).",
        "",
      ]
    }
    body += [
      "\(items.count) delivered record(s) for \(district) are not confirmed by the SIS: the SIS import reported them not imported,",
      "or they were not in the SIS exports since they were delivered.",
      "",
    ]
    for item in items.prefix(200) {
      body += wrap(
        "  \(item.submissionID) \(item.label), sent by \(item.delivery): \(item.missing ?? "not seen")"
      )
    }
    if items.count > 200 { body.append("  ... and \(items.count - 200) more") }
    body += [
      "",
      "`sisdrop status` shows them with the SIS import's messages; `sisdrop redeliver SUBMISSION` sends one again at the next run,",
      "`sisdrop confirm SUBMISSION --reason TEXT` closes it by hand. Working directory: \(workdir)",
    ]
    return Notification(
      kind: .review,
      subject: "[sisdrop] \(district): \(items.count) delivered record(s) not confirmed by the SIS",
      body: body)
  }

  /// The uploaded documents a batch delivered and did not send again, counted (nil when none).
  package static func documentsLine(_ c: [String: Int]) -> String? {
    let sent = c["deliver.document_files"] ?? 0
    let again = c["deliver.documents_already_delivered"] ?? 0
    guard sent + again > 0 else { return nil }
    return
      "Documents: \(sent) file(s) delivered; \(again) already delivered before, not sent again."
  }

  /// Forms of one child not written twice (counts only; nil when none).
  package static func sameChildLine(_ c: [String: Int]) -> String? {
    let updates = c["deliver.updates_superseded"] ?? 0
    let created = c["deliver.new_students_superseded"] ?? 0
    let waiting = c["match.students_awaiting_new_child"] ?? 0
    let contacts = c["deliver.contact_updates_superseded"] ?? 0
    guard updates + created + waiting + contacts > 0 else { return nil }
    return
      "Forms of one child: \(updates) student update(s) and \(contacts) contact update(s) replaced by a later form; \(created) new student(s) a later form creates, not created twice; \(waiting) waiting for a new student delivered before to reach the SIS."
  }

  /// What the run read but could not use, counted (nil when nothing): the SIS rows left out and
  /// values missing for matching, rejected submissions and duplicate rows. Counts only.
  package static func rejectedInput(_ c: [String: Int]) -> String? {
    let parts = [
      ("SIS export rows left out as malformed", "normalize.sis_rejected_rows"),
      ("SIS values missing for matching", "normalize.sis_missing_values"),
      (
        "SIS delta rows deleting or updating a key the snapshot does not have",
        "normalize.sis_delta_unknown_keys"
      ),
      ("submissions rejected", "parse.rejected_submissions"),
      (
        "submissions only contact or document rows name (submissions.csv cut off?)",
        "parse.submissions_missing_from_export"
      ),
      ("duplicate rows read once", "parse.duplicate_rows"),
      (
        "uploaded document problems (missing, extra, SHA-256 differs, name refused)",
        "parse.document_errors"
      ),
      ("uploaded documents of no submission in the export", "parse.documents_without_submission"),
      (
        "documents folder entries that are not files (left in the inbox)", "parse.documents_refused"
      ),
    ]
    .compactMap { label, key in (c[key] ?? 0) > 0 ? "\(label): \(c[key]!)" : nil }
    return parts.isEmpty
      ? nil
      : "Input not used: " + parts.joined(separator: "; ")
        + " (see the batch's sis_rejects.csv, rejects.csv, duplicates.csv)."
  }

  /// What waits for a person, across batches: sent when the queue changed, and as a reminder when an
  /// item has waited `notifications.remind_after_days`. Ids, kinds, fields and ages only.
  package static func queue(
    district: String, queue: ReviewQueue, reminder: Bool, remindAfter: Int, workdir: String
  ) -> Notification {
    var body = [
      reminder
        ? "A reminder: \(queue.submissions) submission(s) for \(district) still wait for a person, some for \(remindAfter) night(s) or more."
        : "\(queue.submissions) submission(s) for \(district) wait for a person.",
      "",
      "Potential matches: \(queue.count(.potentialMatch)); updates to review: \(queue.count(.heldUpdate)); records in error: \(queue.count(.error)).",
    ]
    for (kind, items) in queue.groups {
      body += ["", kind.title + ":"]
      for item in items.prefix(200) {
        let age = item.ageNights == 0 ? "new" : "\(item.ageNights) night(s)"
        var line = "  \(item.submissionID) \(item.schema) \(item.seq) [\(age)]"
        switch kind {
        case .potentialMatch:
          line += ": " + item.candidates.map(\.sisID).joined(separator: " ")
          if item.newVersionNote != nil { line += " (a new version of a delivered submission)" }
        case .heldUpdate:
          line += ": SIS \(item.sisID ?? "?"), \(item.fields.joined(separator: " "))"
          if item.newVersionNote != nil { line += " (a new version of a delivered submission)" }
        case .error:
          line += ": " + item.fields.joined(separator: " ")
          // Not pending and not answered here: only the enrollment system fixes it.
          if item.isRefusedChange { line += " (\(DeliverStage.refusedChangeWords))" }
        }
        body += wrap(line)
      }
      if items.count > 200 { body.append("  ... and \(items.count - 200) more") }
    }
    body += [
      "",
      "Answer at any time, with a batch open or not: `sisdrop review` lists the queue with the commands that answer each item,",
      "`sisdrop show SUBMISSION` shows one. The next `sisdrop run` delivers what was answered. Working directory: \(workdir)",
    ]
    let what =
      reminder
      ? "reminder, \(queue.submissions) still waiting" : "\(queue.submissions) waiting for a person"
    return Notification(kind: .review, subject: "[sisdrop] \(district): \(what)", body: body)
  }

  /// Several notices of one run in one message: at most one message per run.
  package static func combined(_ notices: [Notification], district: String) -> Notification {
    guard notices.count > 1 else { return notices[0] }
    // The most pressing first: it names the message (its kind, the start of its subject).
    let order: [Kind] = [.runFailed, .stillArriving, .statusChange, .review, .combined]
    let notices = notices.enumerated().sorted {
      (order.firstIndex(of: $0.element.kind) ?? 9, $0.offset) < (
        order.firstIndex(of: $1.element.kind) ?? 9, $1.offset
      )
    }.map(\.element)
    let prefix = "[sisdrop] \(district): "
    let parts = notices.map {
      $0.subject.hasPrefix(prefix) ? String($0.subject.dropFirst(prefix.count)) : $0.subject
    }
    var body: [String] = []
    for (index, notice) in notices.enumerated() {
      if index > 0 { body += ["", String(repeating: "-", count: 60), ""] }
      body += ["== " + parts[index] + " ==", ""] + notice.body
    }
    return Notification(
      kind: notices[0].kind, subject: prefix + parts.joined(separator: "; "), body: body)
  }

  /// Masks every value quoted in an error message ('...' or "..."): it may be a name or a birth date.
  ///
  /// Only input values are quoted that way. sisdrop's own words are not masked: an apostrophe after a
  /// letter (the SIS's, the child's) opens no quote, one between two letters inside a value (O'Brien)
  /// does not end it, and sisdrop quotes its own text (a README section, a phrase) with “...”.
  package static func mask(_ text: String) -> String {
    var result = ""
    var quote: Character?
    let characters = Array(text)
    for (index, character) in characters.enumerated() {
      let before = index > 0 ? characters[index - 1] : " "
      let after = index + 1 < characters.count ? characters[index + 1] : " "
      if let open = quote {
        if character == open && !(open == "'" && before.isLetter && after.isLetter) {
          result.append("…")
          result.append(character)
          quote = nil
        }
      } else {
        result.append(character)
        if character == "\"" || (character == "'" && !before.isLetter && !before.isNumber) {
          quote = character
        }
      }
    }
    if quote != nil { result.append("…") }
    return LogText.escaped(result)
  }

  /// Splits a long line at spaces (RFC 5322 caps lines at 998 characters; mail readers prefer 78).
  static func wrap(_ line: String, width: Int = 76) -> [String] {
    guard line.count > width else { return [line] }
    let indent = String(line.prefix { $0 == " " })
    var lines: [String] = []
    var current = indent
    for word in line.dropFirst(indent.count).split(separator: " ") {
      if !current.isEmpty && current.count + 1 + word.count > width {
        lines.append(current)
        current = indent + "    " + word
      } else {
        current += current.count == indent.count ? String(word) : " " + word
      }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
  }

  /// The whole message: headers and body, CRLF line endings (RFC 5322).
  package func render(from: String, to: [String], date: Date, timeZone: TimeZone, messageID: String)
    -> String
  {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = timeZone
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
    let headers = [
      "From: \(from)",
      "To: \(to.joined(separator: ",\r\n "))",  // folded after each address (RFC 5322 §2.2.3)
      "Subject: \(Notification.encodeHeader(subject))",
      "Date: \(formatter.string(from: date))",
      "Message-ID: <\(messageID)>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "Auto-Submitted: auto-generated",
      "X-Sisdrop-Kind: \(kind.rawValue)",
    ]
    return (headers + [""] + body).map { $0 + "\r\n" }.joined()
  }

  /// RFC 2047 encoded-words for a header with non-ASCII text (a district's name): each at most 75
  /// characters (42 UTF-8 bytes, so that "Subject: " and the first fit in 78; split between characters, never inside one), folded one per line.
  static func encodeHeader(_ text: String) -> String {
    guard !text.allSatisfy(\.isASCII) else { return text }
    var words: [String] = []
    var chunk: [UInt8] = []
    for character in text {
      let bytes = Array(String(character).utf8)
      if chunk.count + bytes.count > 42 {
        words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
        chunk = []
      }
      chunk += bytes
    }
    if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
    return words.joined(separator: "\r\n ")
  }
}
