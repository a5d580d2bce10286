import Foundation
import Testing
import _SISDropTestSupport

/// `sisdrop demo` prints the run's own counts, and they are EXPECTED.md's (the trusted matcher by default).
@Suite struct DemoCommandTests {
  @Test func theDemoSummaryCountsAreTheRunsAndAgreeWithExpected() throws {
    try withTemporaryFolder { root in
      let result = try runTool(
        "sisdrop", ["demo", "--workdir", root + "/w", "--checkout", Checkout.root])
      #expect(result.status == 0, "\(result.stderr)")
      let expected = try DemoExpectation.load()
      let students =
        "students: \(expected.students["matched"] ?? -1) matched, \(expected.students["potential"] ?? -1) potential, \(expected.students["new"] ?? -1) new"
      let delivery =
        "delivered: \(expected.submissions("delivered")) submissions; held for review: \(expected.submissions("held")); in error: \(expected.submissions("error"))"
      #expect(result.stdout.contains(students), "\(result.stdout)")
      #expect(result.stdout.contains(delivery), "\(result.stdout)")
      // The tardy line has every count the feed has (probe26: "another code" was left out).
      let tardies = try #require(
        result.stdout.split(separator: "\n").first { $0.hasPrefix("  tardies T") },
        "\(result.stdout)")
      #expect(
        tardies.contains(": 16 delivered, 4 in error (")
          && tardies.hasSuffix(
            "/errors.csv), 0 already sent, 0 for a day already sent with another code"),
        "\(tardies)")
    }
  }

  /// probe26 (finding 4): the demo's tardy run was neither in `sisdrop status` (`tardy_feed` null)
  /// nor notified. It runs as `sisdrop tardies --file` does: its last run in the status, and its
  /// rows in error told beside the run's notification (counts and places only).
  @Test func theDemosTardyRunIsInStatusAndNotified() throws {
    try withTemporaryFolder { root in
      let workdir = root + "/w"
      let result = try runTool(
        "sisdrop", ["demo", "--workdir", workdir, "--checkout", Checkout.root])
      #expect(result.status == 0, "\(result.stderr)")
      let status = try runTool("sisdrop", ["status", "--json", "--workdir", workdir])
      let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
      let feed = try #require(json?["tardy_feed"] as? [String: Any], "\(status.stdout)")
      let last = try #require(feed["last_run"] as? [String: Any], "\(feed)")
      #expect(
        last["outcome"] as? String == "succeeded" && last["delivered"] as? Int == 16
          && last["errors"] as? Int == 4 && result.stdout.contains("tardies \(last["run"] ?? "")"),
        "\(last)")
      #expect(feed["last_checked_at"] is NSNull, "the demo reads its file, not the inbox")
      let mails = try FileManager.default.contentsOfDirectory(atPath: workdir + "/notifications")
        .map { try readText(workdir + "/notifications/" + $0) }
      let told = try #require(
        mails.first { $0.contains("Subject: [sisdrop] Demo District: tardy run") })
      #expect(told.contains("4 in error") && told.contains("errors.csv"), "\(told)")
    }
  }

  /// The clerk's walkthrough, literally: the demo, then every answer command its summary prints, typed
  /// as printed in the working directory it names, then `sisdrop demo` again as the next night. Each
  /// command works in the batch's state (closed: `auto_close: true`), and answering everything the
  /// summary lists releases every held submission; a correction says what delivers it, and it does.
  @Test func everyCommandTheDemoPrintsWorksAndTheNextNightDeliversWhatWasAnswered() throws {
    try withTemporaryFolder { root in
      let demo = ["demo", "--workdir", root + "/w", "--checkout", Checkout.root]
      let first = try runTool("sisdrop", demo)
      #expect(first.status == 0, "\(first.stderr)")
      let workdir = String(
        try #require(
          first.stdout.split(separator: "\n").first { $0.hasPrefix("working directory: ") }
        ).dropFirst("working directory: ".count))
      #expect(first.stdout.contains("`export SISDROP_WORKDIR=\(workdir)`"), "\(first.stdout)")
      let environment = ["SISDROP_WORKDIR": workdir]
      let answers = first.stdout.components(separatedBy: "`").enumerated().filter {
        $0.offset % 2 == 1
          && ["sisdrop resolve ", "sisdrop accept ", "sisdrop keep-sis "].contains(
            where: $0.element.hasPrefix)
      }.map(\.element)
      let expected = try DemoExpectation.load()
      let held = Set(expected.delivery.filter { $0.value == "held" }.map(\.key))
      // Step 1 of the walkthrough: the run's notification lists the queue. The demo pipeline has no
      // sendmail: the message is written to the working directory's notifications/ folder.
      // (The demo's tardy run is told in a message of its own.)
      let mails = try FileManager.default.contentsOfDirectory(atPath: workdir + "/notifications")
        .filter { try !readText(workdir + "/notifications/" + $0).contains(": tardy run ") }
      #expect(mails.count == 1, "\(mails)")
      let mail = try readText(workdir + "/notifications/" + (mails.first ?? ""))
      #expect(mail.contains("wait for a person"), "\(mail)")
      for id in held { #expect(mail.contains(id), "\(id): \(mail)") }
      #expect(first.stderr.contains("written to \(workdir)/notifications/"), "\(first.stderr)")
      #expect(
        Set(answers.map { String($0.split(separator: " ")[2]) }) == held,
        "a command for every held submission: \(answers)")
      // Typed as printed, in order: for each choice the later command (No Match, keep-sis) stands.
      for command in answers {
        let result = try runTool(
          "sisdrop", command.split(separator: " ").dropFirst().map(String.init),
          environment: environment)
        #expect(result.status == 0, "`\(command)`: \(result.stderr)")
        #expect(result.stdout.contains("it applies at the next `sisdrop run`"), "\(result.stdout)")
      }
      // The queue says what is answered: each answer beside its item until the next night applies
      // it (the later command of each pair stands: No Match, keep-sis).
      let review = try runTool("sisdrop", ["review"], environment: environment)
      #expect(review.status == 0, "\(review.stderr)")
      let said = review.stdout.components(separatedBy: "\n").filter {
        $0.hasPrefix("      answered: ")
      }
      #expect(said.count == answers.count / 2, "\(review.stdout)")
      #expect(
        said.allSatisfy {
          ($0.contains("answered: No Match") || $0.contains("answered: keep-sis"))
            && $0.hasSuffix("the next `sisdrop run` that brings this submission applies it")
        }, "\(said)")
      // An error the clerk can fix: the correction says what delivers it, with no batch open.
      let correct = try runTool(
        "sisdrop", ["correct", "S-2026-0061", "SchoolID", "0101"], environment: environment)
      #expect(correct.status == 0, "\(correct.stderr)")
      #expect(
        correct.stdout.contains("S-2026-0061: it applies at the next `sisdrop run`")
          && !correct.stdout.contains("sisdrop-deliver"), "\(correct.stdout)")

      // The next night: the demo again. Exactly the answered and the corrected submissions go out.
      let second = try runTool("sisdrop", demo)
      #expect(second.status == 0, "\(second.stderr)")
      let batch = try #require(
        second.stdout.split(separator: "\n").first?.split(separator: " ").dropFirst().first)
      let deliver = workdir + "/batches/\(batch)/40-deliver"
      let delivered = Set(try csvRows(deliver + "/delivered.csv").dropFirst().map { $0[0] })
      #expect(delivered == held.union(["S-2026-0061"]), "\(second.stdout)")
      #expect(try csvRows(deliver + "/held.csv").count == 1, "nothing held: \(second.stdout)")
    }
  }
}
