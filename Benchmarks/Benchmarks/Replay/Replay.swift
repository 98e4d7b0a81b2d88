// Replay of a 1,000,000-record WAL (256-byte payloads): `WALRecovery.recover` counting records, and
// `Engine.open` replaying the same number of events records into a small aggregate (BenchLedger).
// Pages are warm (the setup has just written the log). wallClock is one whole replay.
// Env: ROOST_BENCH_DIR, ROOST_BENCH_REPLAY_RECORDS (1000000), ROOST_BENCH_REPLAY_ITERATIONS (5).
import Benchmark
import Foundation
import RoostBenchKit

let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let records = Int(environment["ROOST_BENCH_REPLAY_RECORDS"] ?? "") ?? 1_000_000
    let iterations = Int(environment["ROOST_BENCH_REPLAY_ITERATIONS"] ?? "") ?? 5
    let shards = 16
    let recordsPerSecond = BenchmarkMetric.custom("records/s", polarity: .prefersLarger, useScalingFactor: false)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, recordsPerSecond, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 1,
        maxDuration: .seconds(30), maxIterations: iterations
    )
    let walDirectory = benchRootDirectory() + "/ordo-replay-wal"
    let engineDirectory = benchRootDirectory() + "/ordo-replay-engine"

    Benchmark("Replay WALRecovery.recover, \(records) records", configuration: configuration) { benchmark, prepared in
        let result = try ReplayWorkload.recover(prepared, cold: false)
        benchmark.measurement(recordsPerSecond, Int(result.recordsPerSecond))
    } setup: {
        try await ReplayWorkload.prepare(directory: walDirectory, records: records)
    } teardown: {
        BenchFiles.remove(walDirectory)
    }

    Benchmark("Replay Engine.open (BenchLedger, \(shards) shards), \(records) records", configuration: configuration) { benchmark, _ in
        let result = try await EngineReplayWorkload.open(dataDirectory: engineDirectory, records: records, shardCount: shards, cold: false)
        benchmark.measurement(recordsPerSecond, Int(result.recordsPerSecond))
    } setup: {
        try await EngineReplayWorkload.prepare(dataDirectory: engineDirectory, records: records, shardCount: shards)
    } teardown: {
        BenchFiles.remove(engineDirectory)
    }
}
