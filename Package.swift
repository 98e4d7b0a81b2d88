// swift-tools-version:6.1
// Roost: the backend of a short-term rental marketplace. See README.md and docs/ARCHITECTURE.md.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "roost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "roost", targets: ["roost"]),
        .library(name: "RoostAPI", targets: ["RoostAPI"]),
        .library(name: "RoostEngine", targets: ["RoostEngine"]),
        .library(name: "RoostStorage", targets: ["RoostStorage"]),
        .library(name: "RoostDomain", targets: ["RoostDomain"]),
        .library(name: "RoostBinary", targets: ["RoostBinary"]),
    ],
    dependencies: [
        // ConfigurationSupport is left out: Roost reads its environment once, itself.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // TreeDictionary: the sandbox provider's tables grow without whole-table rehashes.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // Bytes: little-endian framing and CRC-32C (hardware-accelerated where the CPU has it).
        .target(name: "CRoostChecksum"),
        .target(name: "RoostBinary", dependencies: ["CRoostChecksum"], swiftSettings: strict),

        // Memory hints Swift has no spelling for (a prefetch), for the search index's scans.
        .target(name: "CRoostMemory"),
        .target(name: "RoostDomain", dependencies: ["RoostBinary", "CRoostMemory"], swiftSettings: strict),
        .target(
            name: "RoostStorage",
            dependencies: [
                "RoostBinary",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RoostEngine",
            dependencies: [
                "RoostDomain", "RoostStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "RoostCache",
            dependencies: [
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // zlib, for reading `.csv.gz` datasets.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Reading public datasets (Inside Airbnb): a streaming CSV parser over plain or gzip files,
        // and the mapping of a city's rows to Roost's values. Knows nothing of the engine.
        .target(name: "RoostData", dependencies: ["CZlib", "RoostDomain"], swiftSettings: strict),
        .target(
            name: "RoostIntegrations",
            dependencies: [
                "RoostBinary",
                .product(name: "HashTreeCollections", package: "swift-collections"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RoostAPI",
            dependencies: [
                "RoostDomain", "RoostEngine", "RoostStorage", "RoostCache", "RoostIntegrations", "RoostData",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "roost",
            dependencies: [
                "RoostAPI", "RoostData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Appends to a WAL under load and prints every acknowledged LSN: the crash tests SIGKILL it.
        .executableTarget(
            name: "roost-wal-hammer",
            dependencies: ["RoostStorage"],
            swiftSettings: strict
        ),

        .target(
            name: "RoostTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/RoostTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "RoostBinaryTests", dependencies: ["RoostBinary"], swiftSettings: strict),
        .testTarget(name: "RoostDomainTests", dependencies: ["RoostDomain", "RoostTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RoostStorageTests",
            dependencies: ["RoostStorage", "RoostTestSupport", .product(name: "Logging", package: "swift-log")],
            exclude: ["Golden"],
            swiftSettings: strict
        ),
        .testTarget(name: "RoostDataTests", dependencies: ["RoostData", "RoostTestSupport"], swiftSettings: strict),
        .testTarget(name: "RoostEngineTests", dependencies: ["RoostEngine", "RoostTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "RoostCacheTests", dependencies: ["RoostCache", "RoostTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RoostIntegrationsTests",
            dependencies: [
                "RoostIntegrations", "RoostTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Vectors"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RoostAPITests",
            dependencies: ["RoostAPI", "RoostTestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird")],
            swiftSettings: strict
        ),
    ]
)
