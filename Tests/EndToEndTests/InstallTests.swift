import Foundation
import SISDrop
import Testing
import _SISDropTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// scripts/install.sh, the cheap way: the executables this test run built (no release build), no
/// man page (`--no-man`; the page needs the generate-manual plugin, which a test cannot run while
/// `swift test` holds the build folder), the system files below a temporary root. The release
/// build, `ldd` and the man page are checked by running the script by hand (README, "Install").
@Suite struct InstallTests {
  struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  func run(_ executable: String, _ arguments: [String], in folder: String? = nil) throws -> Finished
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return Finished(status: process.terminationStatus, stdout: stdout, stderr: stderr)
  }

  /// The generator is a developer's tool: the shipped executables do not link it (its module's
  /// name is in every symbol it defines), `sisdrop-gen` does, and the install leaves it out.
  @Test func theShippedExecutablesDoNotCarryTheGenerator() throws {
    let module = Data("SISDropGenerator".utf8)
    for tool in [
      "sisdrop", "sisdrop-parse", "sisdrop-normalize", "sisdrop-match", "sisdrop-deliver",
      "sisdrop-close",
    ] {
      let binary = try Data(contentsOf: buildFolder().appendingPathComponent(tool))
      #expect(binary.range(of: module) == nil, "\(tool) links SISDropGenerator")
    }
    let gen = try Data(contentsOf: buildFolder().appendingPathComponent("sisdrop-gen"))
    #expect(gen.range(of: module) != nil)
    let script = try readText(Checkout.root + "/scripts/install.sh")
    #expect(!script.contains("sisdrop-gen"))
  }

  @Test func anInstallRunsTheDemoFromAnEmptyFolderAndItsSystemFilesVerify() throws {
    try withTemporaryFolder { root in
      let prefix = root + "/prefix"
      let system = root + "/system"
      let install = try run(
        "/bin/bash",
        [
          Checkout.root + "/scripts/install.sh", "--prefix", prefix, "--bin", buildFolder().path,
          "--no-man", "--system", "--root", system,
        ])
      #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
      for tool in [
        "sisdrop", "sisdrop-parse", "sisdrop-normalize", "sisdrop-match", "sisdrop-deliver",
        "sisdrop-close",
      ] {
        #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/" + tool), "\(tool)")
      }
      #expect(
        try readText(prefix + "/share/bash-completion/completions/sisdrop").contains("_sisdrop"))
      #expect(
        try readText(prefix + "/share/zsh/site-functions/_sisdrop").contains("#compdef sisdrop"))
      #expect(
        try readText(prefix + "/share/fish/vendor_completions.d/sisdrop.fish").contains(
          "complete -c 'sisdrop'"))

      // The demo, from the installed share folder, in an empty folder far from the checkout.
      let empty = root + "/empty"
      try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
      let demo = try run(prefix + "/bin/sisdrop", ["demo"], in: empty)
      #expect(demo.status == 0, "\(demo.stderr)")
      #expect(demo.stdout.contains("working directory: \(empty)/demo-workdir"), "\(demo.stdout)")
      let expected = try DemoExpectation.load()
      #expect(
        demo.stdout.contains("delivered: \(expected.submissions("delivered")) submissions"),
        "\(demo.stdout)")
      // The installed pipeline ran, not the checkout's.
      let batch = try #require(try WorkDir(root: empty + "/demo-workdir").state.allBatches().first)
      #expect(batch.pipelinePath == prefix + "/share/sisdrop/pipelines/demo.yaml")
      #expect(
        try run(
          prefix + "/bin/sisdrop",
          [
            "check", "--pipeline", prefix + "/share/sisdrop/pipelines/demo.yaml",
            "--workdir", empty + "/demo-workdir",
          ]
        ).status == 0)

      // The system files.
      #expect(FileManager.default.fileExists(atPath: system + "/etc/sisdrop/nightly.yaml"))
      for folder in ["/var/lib/sisdrop", "/var/log/sisdrop"] {
        let mode =
          try FileManager.default.attributesOfItem(atPath: system + folder)[.posixPermissions]
          as? Int
        #expect(mode == 0o750, "\(folder)")
      }
      let service = try readText(system + "/etc/systemd/system/sisdrop.service")
      #expect(
        service.contains(
          "ExecStart=\(prefix)/bin/sisdrop run --pipeline /etc/sisdrop/nightly.yaml --wait 60"))
      // The tardy feed on its own timer: "nothing to do" without a tardies.csv, not 66 every 10 minutes.
      let tardies = try readText(system + "/etc/systemd/system/sisdrop-tardies.service")
      #expect(
        tardies.contains(
          "ExecStart=\(prefix)/bin/sisdrop tardies --pipeline /etc/sisdrop/nightly.yaml --if-present"
        ))
      if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
        let verify = try run(
          "/usr/bin/systemd-analyze",
          [
            "verify", "--man=no",
            system + "/etc/systemd/system/sisdrop.service",
            system + "/etc/systemd/system/sisdrop.timer",
            system + "/etc/systemd/system/sisdrop-tardies.service",
            system + "/etc/systemd/system/sisdrop-tardies.timer",
          ])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
      }
      // logrotate resolves the file's user: checkable where the sisdrop user exists (after an install with --system).
      if FileManager.default.isExecutableFile(atPath: "/usr/sbin/logrotate"),
        getpwnam("sisdrop") != nil
      {
        let rotate = try run(
          "/usr/sbin/logrotate",
          ["-d", "-s", root + "/logrotate.state", system + "/etc/logrotate.d/sisdrop"])
        #expect(rotate.status == 0, "\(rotate.stdout)\(rotate.stderr)")
      }
    }
  }
}
