// WAL durable appends: N tasks loop append → waitDurable (fsync=always, 256-byte payloads) on one log,
// for a fixed time after a warm-up. One benchmark iteration is one such run; the metrics are custom
// (durable records/s, round-trip p50/p99 from every append, records per fdatasync).
// Env: ROOST_BENCH_DIR, ROOST_BENCH_WAL_SECONDS (2), ROOST_BENCH_WAL_WARMUP (0.5), ROOST_BENCH_WAL_ITERATIONS (3),
// ROOST_BENCH_WAL_APPENDERS ("1,16,256,1024").
import Benchmark
import Foundation
import RoostBenchKit

let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let seconds = Double(environment["ROOST_BENCH_WAL_SECONDS"] ?? "") ?? 2
    let warmup = Double(environment["ROOST_BENCH_WAL_WARMUP"] ?? "") ?? 0.5
    let iterations = Int(environment["ROOST_BENCH_WAL_ITERATIONS"] ?? "") ?? 3
    let appenderCounts = (environment["ROOST_BENCH_WAL_APPENDERS"] ?? "1,16,256,1024").split(separator: ",").compactMap { Int($0) }

    let recordsPerSecond = BenchmarkMetric.custom("durable records/s", polarity: .prefersLarger, useScalingFactor: false)
    let p50 = BenchmarkMetric.custom("append→durable p50 (µs)", polarity: .prefersSmaller, useScalingFactor: false)
    let p99 = BenchmarkMetric.custom("append→durable p99 (µs)", polarity: .prefersSmaller, useScalingFactor: false)
    let perSync = BenchmarkMetric.custom("records per fdatasync", polarity: .prefersLarger, useScalingFactor: false)

    for preallocate in [false, true] {
        for appenders in appenderCounts {
            let config = WALAppendConfig(appenders: appenders, preallocate: preallocate, warmupSeconds: warmup, seconds: seconds)
            Benchmark(
                "WAL append, \(preallocate ? "preallocated" : "growing") segments, \(appenders) appenders",
                configuration: .init(
                    metrics: [recordsPerSecond, p50, p99, perSync], warmupIterations: 0,
                    maxDuration: .seconds(Int((warmup + seconds + 5) * Double(iterations))), maxIterations: iterations
                )
            ) { benchmark in
                let result = try await WALAppendWorkload.run(directory: benchRootDirectory() + "/ordo-wal-append", config: config)
                benchmark.measurement(recordsPerSecond, Int(result.recordsPerSecond))
                benchmark.measurement(p50, Int(result.latency.p50Micros.rounded()))
                benchmark.measurement(p99, Int(result.latency.p99Micros.rounded()))
                benchmark.measurement(perSync, Int(result.recordsPerSync.rounded()))
            }
        }
    }
}
