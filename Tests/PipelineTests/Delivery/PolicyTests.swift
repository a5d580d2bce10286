import Foundation
import Testing
import _SISDropTestSupport

@testable import SISDrop
@testable import SISDropConfig
@testable import SISDropCore
@testable import SISDropDelivery
@testable import SISDropFormats

/// Plugin.xml is the field policy: a profile column whose field is not granted FullAccess stops
/// the run at the start with exit 78 naming the column, table and field.
@Suite struct FieldPolicyTests {
  /// A pipeline like demo.yaml in `folder`, with absolute paths, another Plugin.xml and profile.
  func pipeline(in folder: String, plugin: String, profile: String) throws -> String {
    let text = try demoPipelineText([
      (
        "plugin: " + Checkout.root + "/Fixtures/demo-district/config/Plugin.xml",
        "plugin: " + plugin
      ), ("  profile: csv", "  profile: \(profile)"),
    ])
    return try writeFile(folder + "/pipeline.yaml", text)
  }

  /// The demo Plugin.xml with Students.Grade_Level granted ViewOnly, in `folder`.
  func gradeViewOnlyPlugin(in folder: String) throws -> String {
    try writeFile(
      folder + "/Plugin.xml",
      try readText(Checkout.demoDistrict + "/config/Plugin.xml").replacingOccurrences(
        of: "<field table=\"Students\" field=\"Grade_Level\" access=\"FullAccess\"/>",
        with: "<field table=\"Students\" field=\"Grade_Level\" access=\"ViewOnly\"/>"))
  }

  @Test(arguments: [
    ("csv", "Grade_Level", "Grade_Level"), ("oneroster", "grades", "Grade_Level"),
    ("xml", "Grade_Level", "Grade_Level"),
  ])
  func aMappedFieldWithoutFullAccessExits78(profile: String, column: String, field: String) throws {
    try withTemporaryFolder { root in
      let plugin = try gradeViewOnlyPlugin(in: root)
      let path = try pipeline(in: root, plugin: plugin, profile: profile)
      let workdir = try WorkDir(root: root + "/work")
      try Demo.stage(
        fixtures: Checkout.demoDistrict, workdir: workdir,
        config: try PipelineConfig.load(path: path), xml: false)
      let result = try runTool("sisdrop", ["run", "--pipeline", path, "--workdir", root + "/work"])
      #expect(result.status == 78, "\(result.stderr)")
      #expect(
        result.stderr.contains("'\(column)'") && result.stderr.contains("Students.\(field)")
          && result.stderr.contains(plugin),
        "\(result.stderr)")
      // Stopped at the start: no batch opened, the inbox untouched, nothing in the outbox.
      #expect(try workdir.state.allBatches().isEmpty)
      #expect(FileSystem.exists(root + "/work/inbox/submissions.csv"))
      #expect(files(below: root + "/work/outbox").isEmpty)
    }
  }

  @Test func theDemoPluginGrantsEveryProfileColumn() throws {
    let plugin = try PluginManifest.load(path: Checkout.demoDistrict + "/config/Plugin.xml")
    for name in ["demo", "demo-oneroster-delivery", "demo-xml-delivery"] {
      let config = try PipelineConfig.load(path: Checkout.pipeline(name))
      try DeliveryProfiles.checkPolicy(
        DeliveryProfiles.make(config), plugin: plugin, pluginPath: nil,
        kinds: Set(DeliveryKind.allCases))
    }
  }

  @Test func theErrorNamesThePipelineLineOfTheColumnAndNoPluginMeansNoDelivery() throws {
    try withTemporaryFolder { root in
      let plugin = try gradeViewOnlyPlugin(in: root)
      let yaml =
        "version: 1\nplugin: \(plugin)\ndelivery:\n  profile: csv\n  csv:\n    files:\n      students_new:\n        - Last_Name\n        - Grade: Grade_Level\n"
      let config = try PipelineConfig.parse(bytes: Array(yaml.utf8), path: root + "/p.yaml")
      let error = try #require(throws: SISDropError.self) {
        try DeliverStage.checkedProfile(config)
      }
      #expect(
        error.status == .configuration
          && error.message.contains("'Grade' of students_new (\(root)/p.yaml:9)"),
        "\(error.message)")
      let none = try PipelineConfig.parse(bytes: Array("version: 1\n".utf8), path: root + "/q.yaml")
      let missing = try #require(throws: SISDropError.self) {
        try DeliverStage.checkedProfile(none)
      }
      #expect(
        missing.status == .configuration && missing.location?.path == root + "/q.yaml"
          && missing.message.contains("Plugin.xml"))
    }
  }
}
