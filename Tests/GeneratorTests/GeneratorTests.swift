import Foundation
import SISDropCore
import SISDropGenerator
import Testing
import _SISDropTestSupport

@Suite struct GeneratorTests {
  @Test func theSameSeedGivesTheSameDistrictAndTheTruthNamesRealRecords() throws {
    try withTemporaryFolder { root in
      let first = try DistrictGenerator.generate(
        GeneratorOptions(students: 1_000, submissions: 200, seed: 7, output: root + "/a"))
      _ = try DistrictGenerator.generate(
        GeneratorOptions(students: 1_000, submissions: 200, seed: 7, output: root + "/b"))
      for file in [
        "sis/students.csv", "sis/contacts.csv", "enrollment/submissions.csv",
        "enrollment/submission_contacts.csv",
        "truth/students.csv", "truth/contacts.csv",
      ] {
        #expect(try readText(root + "/a/" + file) == readText(root + "/b/" + file), "\(file)")
      }
      #expect(first.students == 1_000 && first.submissions == 200)
      let students = Set(try csvRows(root + "/a/sis/students.csv").dropFirst().map { $0[0] })
      let contacts = Set(try csvRows(root + "/a/sis/contacts.csv").dropFirst().map { $0[0] })
      let truth = try csvRows(root + "/a/truth/students.csv").dropFirst()
      #expect(truth.count == first.submissionStudents)
      for row in truth where row[2] != "NEW" { #expect(students.contains(row[2]), "\(row)") }
      for row in try csvRows(root + "/a/truth/contacts.csv").dropFirst() where row[2] != "NEW" {
        #expect(contacts.contains(row[2]), "\(row)")
      }
      // The hard cases are there.
      for kind in ["new-twin-of-sis", "new-sibling-of-sis", "returning-clean"] {
        #expect(first.cases[kind, default: 0] > 0, "\(kind)")
      }
      // The shapes of other enrollment systems' forms (issue 12).
      let kinds = truth.map { $0[3] }
      for shape in ["no-household", "address-typo", "names-swapped", "dob-one-digit"] {
        #expect(
          kinds.contains {
            $0.split(separator: "+").contains(Substring(shape)) || $0.hasSuffix("-" + shape)
              || $0.contains("-" + shape + "+")
          }, "\(shape)")
      }
      // A different seed, a different district.
      _ = try DistrictGenerator.generate(
        GeneratorOptions(students: 1_000, submissions: 200, seed: 8, output: root + "/c"))
      #expect(try readText(root + "/a/sis/students.csv") != readText(root + "/c/sis/students.csv"))
    }
  }

  @Test func sizesOutsideTheRangeAreRefused() throws {
    #expect(throws: SISDropError.self) {
      try DistrictGenerator.generate(
        GeneratorOptions(students: 999, submissions: 1, seed: 1, output: "/tmp/x"))
    }
  }
}
