// swift-tools-version:6.0
import PackageDescription

// The core is split into targets with one direction of dependency (ARCHITECTURE.md, "Targets"):
// each depends only on those above it in this file, so the compiler enforces the layers and the
// independent ones (matching and delivery) compile side by side.
// The pipeline and every module below it: what the pipeline-level and end-to-end tests may use.
let pipelineModules: [Target.Dependency] = [
  "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "SISDropMatching",
  "SISDropDelivery", "SISDrop",
]

let package = Package(
  name: "sisdrop",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "sisdrop", targets: ["sisdrop"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // C libraries from Debian, reached through system library targets (docs/PLATFORM-NOTES.md).
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
    // SHA-256 from OpenSSL's libcrypto: as fast as swift-crypto, without its two minutes of build.
    .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

    // Errors, file-system primitives, SHA-256; the layouts and the stage records.
    .target(name: "SISDropCore", dependencies: ["CCrypto"]),
    // CSV, XML (libxml2), text encodings, Plugin.xml; the field rules.
    .target(name: "SISDropFormats", dependencies: ["SISDropCore", "CLibXML2"]),
    // The pipeline file.
    .target(
      name: "SISDropConfig",
      dependencies: ["SISDropCore", "SISDropFormats", .product(name: "Yams", package: "Yams")]
    ),
    // The SQLite wrapper, state.sqlite's schema (its one owner), the SIS snapshot.
    .target(
      name: "SISDropStore",
      dependencies: ["SISDropCore", "SISDropFormats", "SISDropConfig", "CSQLite"]),
    .target(
      name: "SISDropMatching",
      dependencies: ["SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore"]),
    // Delivery profiles (CSV, OneRoster, XML), the validator, corrections.
    .target(
      name: "SISDropDelivery",
      dependencies: ["SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "CLibXML2"]
    ),
    // The pipeline and its operations: stages, runner, inbox, publication, status, notifications, report.
    .target(
      name: "SISDrop",
      dependencies: [
        "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "SISDropMatching",
        "SISDropDelivery",
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    // The labelled synthetic district (`sisdrop-gen`, the tests and the matching benchmark).
    .target(name: "SISDropGenerator", dependencies: ["SISDropCore", "SISDropFormats"]),
    .target(
      name: "SISDropCommands",
      dependencies: [
        "SISDrop", "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore",
        "SISDropMatching",
        "SISDropDelivery",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    .executableTarget(name: "sisdrop", dependencies: ["SISDropCommands"]),
    .executableTarget(name: "sisdrop-parse", dependencies: ["SISDropCommands"]),
    .executableTarget(name: "sisdrop-normalize", dependencies: ["SISDropCommands"]),
    .executableTarget(name: "sisdrop-match", dependencies: ["SISDropCommands"]),
    .executableTarget(name: "sisdrop-deliver", dependencies: ["SISDropCommands"]),
    .executableTarget(name: "sisdrop-close", dependencies: ["SISDropCommands"]),
    // The generator's command, a developer's tool: its own executable, so that the shipped ones do
    // not link the generator (scripts/install.sh does not install it).
    .executableTarget(
      name: "sisdrop-gen",
      dependencies: [
        "SISDropCore", "SISDropGenerator",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // Phase timings for scripts/bench/pipeline.sh (a benchmark tool, not shipped).
    .executableTarget(
      name: "sisdrop-bench-phases",
      dependencies: [
        "SISDrop", "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore",
        "SISDropMatching",
      ],
      path: "scripts/bench/phases"
    ),

    // Each module's tests depend on that module and those below it only: a test that needs the
    // pipeline to run belongs to PipelineTests (or EndToEndTests, through the commands), whatever
    // module it checks (ARCHITECTURE.md, "Tests").
    .target(
      name: "_SISDropTestSupport", dependencies: ["SISDropCore", "SISDropFormats"],
      path: "Tests/_SISDropTestSupport"),
    // Small delivery records every byte of which can be checked by eye (DeliveryTests, PipelineTests).
    .target(
      name: "_SISDropDeliveryTestSupport",
      dependencies: ["SISDropCore", "SISDropConfig", "SISDropDelivery"],
      path: "Tests/_SISDropDeliveryTestSupport"),
    .target(
      name: "_SISDropPipelineTestSupport",
      dependencies: ["SISDrop", "SISDropConfig", "SISDropCore", "_SISDropTestSupport"],
      path: "Tests/_SISDropPipelineTestSupport"),
    .testTarget(name: "CoreTests", dependencies: ["SISDropCore", "_SISDropTestSupport"]),
    .testTarget(
      name: "FormatsTests", dependencies: ["SISDropCore", "SISDropFormats", "_SISDropTestSupport"]),
    .testTarget(
      name: "ConfigTests",
      dependencies: ["SISDropCore", "SISDropFormats", "SISDropConfig", "_SISDropTestSupport"]),
    .testTarget(
      name: "StoreTests",
      dependencies: [
        "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "_SISDropTestSupport",
      ]),
    .testTarget(
      name: "MatchingTests",
      dependencies: [
        "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "SISDropMatching",
        "_SISDropTestSupport",
      ]),
    .testTarget(
      name: "DeliveryTests",
      dependencies: [
        "SISDropCore", "SISDropFormats", "SISDropConfig", "SISDropStore", "SISDropDelivery",
        "_SISDropTestSupport", "_SISDropDeliveryTestSupport",
      ]),
    .testTarget(
      name: "GeneratorTests",
      dependencies: ["SISDropCore", "SISDropFormats", "SISDropGenerator", "_SISDropTestSupport"]),
    .testTarget(
      name: "PipelineTests",
      dependencies: pipelineModules + [
        "_SISDropTestSupport", "_SISDropDeliveryTestSupport", "_SISDropPipelineTestSupport",
      ]),
    .testTarget(
      name: "SFTPTests",
      dependencies: ["SISDrop", "SISDropCore", "_SISDropTestSupport"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: pipelineModules + [
        "SISDropCommands", "_SISDropTestSupport", "_SISDropPipelineTestSupport",
      ]),
  ]
)
