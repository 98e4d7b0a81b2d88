// Snapshots of 1,000,000 listing-sized states (≈290 bytes each, calendar bitset included), encoded with
// ByteWriter and written durably by SnapshotStore.write; loaded by SnapshotStore.load (checksums
// checked) and decoded with ByteReader. wallClock is one whole encode+write, or one load+decode.
// The cold load drops the file from the page cache (fsync + POSIX_FADV_DONTNEED) before measuring.
// Env: ROOST_BENCH_DIR, ROOST_BENCH_SNAPSHOT_LISTINGS (1000000), ROOST_BENCH_SNAPSHOT_ITERATIONS (3).
import Benchmark
import Foundation
import RoostBenchKit
import RoostStorage

let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let count = Int(environment["ROOST_BENCH_SNAPSHOT_LISTINGS"] ?? "") ?? 1_000_000
    let iterations = Int(environment["ROOST_BENCH_SNAPSHOT_ITERATIONS"] ?? "") ?? 3
    let directory = benchRootDirectory() + "/ordo-snapshot"
    let store = SnapshotStore(directory: directory + "/snapshots")
    let lsn = UInt64(count)
    let bodyMB = BenchmarkMetric.custom("body (MB)", polarity: .prefersSmaller, useScalingFactor: false)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, bodyMB], timeUnits: .milliseconds, warmupIterations: 0,
        maxDuration: .seconds(60), maxIterations: iterations
    )

    @Sendable func writeSnapshotToLoad() throws {
        try BenchFiles.freshDirectory(directory)
        try SnapshotWorkload.encodeAndWrite(BenchListing.generate(count: count), store: store, lsn: lsn)
    }

    Benchmark("Snapshot encode+write, \(count) listings", configuration: configuration) { benchmark, listings in
        let bytes = try SnapshotWorkload.encodeAndWrite(listings, store: store, lsn: lsn)
        benchmark.measurement(bodyMB, bytes / 1_000_000)
    } setup: {
        try BenchFiles.freshDirectory(directory)
        return BenchListing.generate(count: count)
    } teardown: {
        BenchFiles.remove(directory)
    }

    Benchmark("Snapshot load+decode (cold), \(count) listings", configuration: configuration) { benchmark, _ in
        // startMeasurement() restarts the clock, so dropping the pages is not measured.
        BenchFiles.dropFromPageCache([SnapshotWorkload.snapshotPath(store: store, lsn: lsn)])
        benchmark.startMeasurement()
        let listings = try SnapshotWorkload.loadAndDecode(store: store, lsn: lsn)
        benchmark.stopMeasurement()
        guard listings.count == count else { throw BenchError("decoded \(listings.count) listings, expected \(count)") }
    } setup: {
        try writeSnapshotToLoad()
    } teardown: {
        BenchFiles.remove(directory)
    }

    Benchmark("Snapshot load+decode (warm), \(count) listings", configuration: configuration) { benchmark, _ in
        let listings = try SnapshotWorkload.loadAndDecode(store: store, lsn: lsn)
        guard listings.count == count else { throw BenchError("decoded \(listings.count) listings, expected \(count)") }
    } setup: {
        try writeSnapshotToLoad()
    } teardown: {
        BenchFiles.remove(directory)
    }
}
