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
    }
  }
}
