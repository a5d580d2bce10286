import Foundation
import SISDrop
import Testing
import _SISDropTestSupport

/// Errors reach the cron log verbatim: they must not carry a correction's value (a name, an address).
@Suite struct LogPrivacyTests {
  @Test func aRefusedCorrectionValueIsNotRepeatedInTheError() throws {
    for (field, value) in [("Zip", "Jane Quill 04/01/2012"), ("Email", "Jane Quill"), ("Grade_Level", "Quill")] {
      guard case .failure(let error) = Corrections.normalize(field: field, value: value) else {
        Issue.record("\(field): '\(value)' accepted")
        continue
      }
      #expect(!error.description.contains("Quill") && !error.description.contains("04/01/2012"), "\(error)")
      #expect(error.description.contains(field), "\(error)")
    }
  }
}
