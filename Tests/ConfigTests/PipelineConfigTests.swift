import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDropConfig
@testable import SISDropCore

@Suite struct OperationsConfigTests {
  /// The production template, with its /etc files pointed at the demo's, parses to what it says.
  @Test func theNightlyTemplateParses() throws {
    var text = try readText(Checkout.pipeline("nightly"))
    text = text.replacingOccurrences(
      of: "/etc/sisdrop/Plugin.xml", with: Checkout.demoDistrict + "/config/Plugin.xml"
    )
    .replacingOccurrences(
      of: "/etc/sisdrop/building_map.csv", with: Checkout.demoDistrict + "/config/building_map.csv"
    )
    .replacingOccurrences(
      of: "/etc/sisdrop/tardy_codes.csv", with: Checkout.demoDistrict + "/config/tardy_codes.csv")
    let config = try PipelineConfig.parse(
      bytes: Array(text.utf8), path: "/etc/sisdrop/nightly.yaml")
    // Production runs the probabilistic matcher (issue 3), not the first rule-based one.
    #expect(config.matcher == "fellegi-sunter")
    let operations = config.operations
    #expect(operations.pickup.quietSeconds == 120 && operations.pickup.checkWriters)
    // Both feeds need their trigger file in the template districts copy (a truncated SIS export is never claimed).
    #expect(
      operations.pickup.triggers == [
        "sis_export": "sis_export.manifest", "submissions": "submissions.manifest",
      ])
    #expect(
      operations.schedule.window
        == RunWindow(
          hour: 16, minute: 0, length: 8 * 3600, timeZone: TimeZone(identifier: "America/Chicago")!)
    )
    #expect(operations.schedule.retry == RetryPolicy(first: 300, maximum: 3600))
    #expect(operations.notifications.to == ["sis-admin@example.k12.us"])
    #expect(operations.notifications.sendmail == ["/usr/sbin/sendmail", "-t", "-i"])
    #expect(operations.notifications.remindAfterDays == 3)
    // Production closes the batch in the run that opened it, as the demo does, and a person sees
    // every change to a matched child's identity before it is written.
    #expect(config.autoClose)
    for field in ["First_Name", "Last_Name", "DOB", "Gender", "State_StudentNumber"] {
      #expect(config.updates.action(for: field) == .review, "\(field)")
    }
    for field in [
      FieldName.street, FieldName.zip, FieldName.homePhone, FieldName.gradeLevel,
      FieldName.schoolID, FieldName.enrollStatus,
    ] {
      #expect(config.updates.action(for: field) == .deliver, "\(field)")
    }
  }

  @Test(arguments: [
    (
      "schedule:\n  window:\n    start: \"4pm\"\n",
      "schedule.window.start: '4pm' is not a time of day"
    ),
    (
      "schedule:\n  window:\n    length: 25h\n",
      "schedule.window.length: a window lasts between 1m and 24h"
    ),
    ("schedule:\n  window:\n    time_zone: Central\n", "'Central' is not an IANA time zone"),
    (
      "pickup:\n  triggers:\n    tardies: t.done\n",
      "pickup.triggers.tardies: unknown feed 'tardies'"
    ),
    ("notifications:\n  to: [\"Registrar <r@x.org>\"]\n", "is not a plain e-mail address"),
    ("notifications:\n  sendmail: sendmail -t\n", "the sendmail command needs an absolute path"),
    ("schedule:\n  retry:\n    first: soon\n", "'soon' is not a duration"),
  ])
  func badOperationsSettingsNameKeyAndLine(yaml: String, message: String) throws {
    let text = "version: 1\n" + yaml
    do {
      _ = try PipelineConfig.parse(bytes: Array(text.utf8), path: "/p.yaml")
      Issue.record("accepted: \(yaml)")
    } catch let error as SISDropError {
      #expect(error.status == .configuration)
      #expect(error.description.contains(message), "\(error)")
      #expect(error.description.hasPrefix("/p.yaml:"), "\(error)")
    }
  }
}

/// The pipelines the project ships, and the sections a district edits most.
@Suite struct PipelineConfigTests {
  /// A pipeline file that cannot be read is a configuration problem (78), as `check --help` and the
  /// README say; it was 73 ("open failed: Permission denied" for the `sisdrop` user and root's 0640
  /// file). A folder stands for it here: the tests run as root, who reads any file.
  @Test func aPipelineFileThatCannotBeReadIsAConfigurationProblem() throws {
    try withTemporaryFolder { root in
      let error = try #require(throws: SISDropError.self) {
        try PipelineConfig.load(path: root)
      }
      #expect(
        error.status == .configuration && error.location?.path == root
          && error.message.contains("cannot be read"), "\(error)")
    }
  }

  /// The demo pipelines and the nightly template close the batch in the run that opened it: what
  /// every end-to-end test runs with (`auto_close: true`).
  @Test(arguments: ["demo", "demo-xml", "demo-xml-delivery", "demo-oneroster-delivery"])
  func theShippedDemoPipelinesLoadAndCloseTheirBatch(name: String) throws {
    let config = try PipelineConfig.load(path: Checkout.pipeline(name))
    #expect(config.autoClose)
    #expect(config.matcher == "fellegi-sunter")
    #expect(config.path == Checkout.pipeline(name))
    #expect(config.sha256 == SHA256.hex(try FileSystem.readFile(Checkout.pipeline(name))))
  }

  @Test func anUpdatesSectionOverridesTheDefaultsFieldByField() throws {
    let yaml = "version: 1\nupdates:\n  First_Name: deliver\n  Email: keep-sis\n  Zip: review\n"
    let updates = try PipelineConfig.parse(bytes: Array(yaml.utf8), path: "/p.yaml").updates
    #expect(updates.action(for: "First_Name") == .deliver)
    #expect(updates.action(for: "Email") == .keepSIS)
    #expect(updates.action(for: "Zip") == .review)
    // Fields it does not name keep their defaults.
    #expect(updates.action(for: "Last_Name") == .review)
    #expect(updates.action(for: "Street") == .deliver)
    // With no section: every field an update compares, identity under review, the rest delivered.
    for field in Layouts.comparedStudentFields + Layouts.comparedContactFields {
      let identity = [
        FieldName.firstName, FieldName.middleName, FieldName.lastName, FieldName.birthDate,
        FieldName.gender, FieldName.stateStudentNumber,
      ].contains(field)
      #expect(UpdatePolicy().action(for: field) == (identity ? .review : .deliver), "\(field)")
    }
  }

  @Test(arguments: [
    ("updates:\n  Nickname: review\n", "'Nickname' is not a field an update carries"),
    ("updates:\n  Zip: overwrite\n", "'overwrite' is not an update policy"),
    ("batch:\n  auto_close: sometimes\n", "sometimes"),
  ])
  func aBadValueNamesTheFileTheLineAndWhatIsAllowed(yaml: String, message: String) throws {
    let error = try #require(throws: SISDropError.self) {
      try PipelineConfig.parse(bytes: Array(("version: 1\n" + yaml).utf8), path: "/p.yaml")
    }
    #expect(error.status == .configuration)
    #expect(error.location?.path == "/p.yaml" && error.location?.line == 3, "\(error)")
    #expect(error.description.contains(message), "\(error)")
  }

  @Test func aProfileThatNamesAnUnknownFieldIsAConfigurationErrorWithItsLine() throws {
    let yaml =
      "version: 1\ndelivery:\n  profile: csv\n  csv:\n    files:\n      students_new:\n        - Last_Name\n        - Nickname\n"
    let error = try #require(throws: SISDropError.self) {
      try PipelineConfig.parse(bytes: Array(yaml.utf8), path: "/p.yaml")
    }
    #expect(
      error.status == .configuration && error.location?.line == 8
        && error.message.contains("Nickname"))
    let unknown = try #require(throws: SISDropError.self) {
      try PipelineConfig.parse(
        bytes: Array("version: 1\ndelivery:\n  profile: edifact\n".utf8), path: "/p.yaml")
    }
    #expect(unknown.status == .configuration && unknown.location?.line == 3)
  }

  /// A pipeline that is not YAML (a section written twice, a tab in the indentation) is refused with
  /// one line naming the file and the line: the message reaches the cron log and the failed run's
  /// notification, so it never carries the file's text (Yams's own description of a duplicated key
  /// quotes the whole file).
  @Test(arguments: [
    (
      "version: 1\nbatch:\n  auto_close: true\npickup:\n  quiet_seconds: 0\nbatch:\n  auto_close: false\n",
      2, "'batch' appears more than once"
    ),
    ("version: 1\ndistrict:\n  name: x\n\ttime_zone: y\n", 4, "found a tab character"),
  ])
  func aPipelineThatIsNotYAMLNamesTheLineWithoutQuotingTheFile(
    yaml: String, line: Int, message: String
  ) throws {
    let text = "# the district's secret comment\n" + yaml
    let error = try #require(throws: SISDropError.self) {
      try PipelineConfig.parse(bytes: Array(text.utf8), path: "/p.yaml")
    }
    #expect(error.status == .configuration)
    #expect(error.location?.path == "/p.yaml" && error.location?.line == line + 1, "\(error)")
    #expect(error.description.contains(message), "\(error)")
    #expect(!error.description.contains("\n"), "\(error)")
    #expect(!error.description.contains("secret"), "\(error)")
    #expect(!error.description.contains("quiet_seconds"), "\(error)")
  }
}
