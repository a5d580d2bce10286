import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop

@Suite struct NotificationFormatTests {
  /// A long non-ASCII district name: RFC 2047 words of at most 75 characters, folded, that decode
  /// back to the subject; `To:` folded after each address; no line longer than 78.
  @Test func longNonASCIISubjectsAndManyRecipientsAreFolded() throws {
    let subject =
      "[sisdrop] École publique de Montréal-Nord — Springfield Unified: integration Synchronizing ✓"
    let note = Notification(kind: .statusChange, subject: subject, body: ["x"])
    let to = (1...6).map { "registrar\($0)@montreal-nord.example.k12.us" }
    let message = note.render(
      from: "sisdrop@example.org", to: to, date: Date(timeIntervalSince1970: 0), timeZone: .gmt,
      messageID: "a@b")
    let headers = String(message[..<message.range(of: "\r\n\r\n")!.lowerBound])
    for line in headers.components(separatedBy: "\r\n") {
      #expect(line.utf8.count <= 78, "too long: \(line)")
      #expect(line.allSatisfy { $0.isASCII })
    }
    // Unfold (RFC 5322 §2.2.3) and decode the encoded-words.
    let unfolded = headers.replacingOccurrences(of: "\r\n ", with: " ")
    let subjectLine = try #require(
      unfolded.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") })
    var decoded = Data()
    for word in subjectLine.dropFirst("Subject: ".count).split(separator: " ") {
      #expect(word.count <= 75 && word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="), "\(word)")
      decoded += try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
    }
    #expect(String(decoding: decoded, as: UTF8.self) == subject)
    let toLine = try #require(
      unfolded.components(separatedBy: "\r\n").first { $0.hasPrefix("To: ") })
    #expect(toLine == "To: " + to.joined(separator: ", "))
  }

  /// A sendmail that neither reads nor exits, and a message larger than a pipe holds: the run is not
  /// blocked, the timeout fires and says so.
  @Test func aSendmailThatNeverReadsTimesOutInsteadOfHanging() throws {
    try withTemporaryFolder { root in
      let script = try writeFile(root + "/stuck-sendmail", "#!/bin/sh\nexec sleep 600\n")
      chmod(script, 0o755)
      // ~370 KB
      let message = String(repeating: "S-000123 student 1: 100234, 100235\r\n", count: 10_000)
      let problem = Notifier.pipe(message, to: [script], timeout: 1)
      #expect(problem == "\(script) did not finish within 1s")
      // A sendmail that reads it all and succeeds: nil.
      let good = try writeFile(root + "/good-sendmail", "#!/bin/sh\ncat > \(root)/got\n")
      chmod(good, 0o755)
      #expect(Notifier.pipe(message, to: [good], timeout: 60) == nil)
      #expect(try readText(root + "/got") == message)
    }
  }
}
