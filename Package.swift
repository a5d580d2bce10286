// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "sisdrop",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "sisdrop", targets: ["sisdrop"]),
    .library(name: "SISDrop", targets: ["SISDrop"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // C libraries from Debian, reached through system library targets (DESIGN.md).
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
    // SHA-256 from OpenSSL's libcrypto: as fast as swift-crypto, without its two minutes of build.
    .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

    .target(
      name: "SISDrop",
      dependencies: [
        "CSQLite", "CLibXML2", "CCrypto",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
      ]
    ),
    .target(
      name: "SISDropCommands",
      dependencies: [
        "SISDrop",
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
    // Phase timings for scripts/bench/pipeline.sh (a benchmark tool, not shipped).
    .executableTarget(name: "sisdrop-bench-phases", dependencies: ["SISDrop"], path: "scripts/bench/phases"),

    .target(name: "_SISDropTestSupport", dependencies: ["SISDrop"], path: "Tests/_SISDropTestSupport"),
    .testTarget(name: "FormatsTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "StoreTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "StagesTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "OperationsTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "SFTPTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "MatchingTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(name: "RecordsTests", dependencies: ["SISDrop", "_SISDropTestSupport"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["SISDrop", "SISDropCommands", "_SISDropTestSupport"]
    ),
    .testTarget(name: "DeliveryTests", dependencies: ["SISDrop", "SISDropCommands", "_SISDropTestSupport"]),
  ]
)
