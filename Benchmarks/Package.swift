// swift-tools-version:6.1
// Roost's benchmarks: a package of their own beside the root package (which they depend on by path),
// so the benchmark harness and its malloc interposer never enter Roost's own build.
//
//   swift package --package-path Benchmarks benchmark          # the ordo-one suite (WALAppend, Replay, Snapshot)
//   swift build --package-path Benchmarks -c release --product roost-bench && Benchmarks/.build/release/roost-bench all
//   make bench                                                  # everything, beside its anchors (scripts/bench.sh)
import Foundation
import PackageDescription

// A package depended on by path is known by its directory's name (the clone's folder, whatever it is called).
let rootPackage = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent
let kitDependencies: [Target.Dependency] = [
    .product(name: "RoostBinary", package: rootPackage),
    .product(name: "RoostDomain", package: rootPackage),
    .product(name: "RoostStorage", package: rootPackage),
    .product(name: "RoostEngine", package: rootPackage),
    // The search workload runs `ListingService.search`, the HTTP route's own scatter/merge. (RoostIntegrations, for its
    // `LocalObjectStore`, is not a product of the root package; it is built as RoostAPI's dependency and imported so.)
    .product(name: "RoostAPI", package: rootPackage),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "Histogram", package: "hdrhistogram-swift"),
]

let package = Package(
    name: "RoostBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The `traits:` line is required: the default traits pull a package this machine kind does not have.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    ],
    targets: [
        // The workloads, shared by the ordo-one suite and by `roost-bench` (which prints exact numbers for scripts/bench.sh).
        .target(name: "RoostBenchKit", dependencies: kitDependencies),
        .executableTarget(name: "roost-bench", dependencies: ["RoostBenchKit"]),

        // ordo-one/benchmark targets: the plugin finds them because their directories sit in Benchmarks/.
        .executableTarget(
            name: "WALAppend",
            dependencies: ["RoostBenchKit", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/WALAppend",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Replay",
            dependencies: ["RoostBenchKit", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/Replay",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Snapshot",
            dependencies: ["RoostBenchKit", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/Snapshot",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
