import Foundation
import Glibc
import RoostStorage
import Synchronization

/// Durable appends under load: `appenders` tasks each loop append → waitDurable on one log
/// (fsync=always) for a fixed time after a warm-up; every round trip is timed.
public struct WALAppendConfig: Sendable, CustomStringConvertible {
    public var appenders: Int
    public var preallocate: Bool
    public var payloadBytes: Int
    public var warmupSeconds: Double
    public var seconds: Double
    public var segmentBytes: Int

    public init(
        appenders: Int, preallocate: Bool, payloadBytes: Int = 256, warmupSeconds: Double = 1, seconds: Double = 3,
        segmentBytes: Int = WALLimits.default.segmentBytes
    ) {
        self.appenders = appenders
        self.preallocate = preallocate
        self.payloadBytes = payloadBytes
        self.warmupSeconds = warmupSeconds
        self.seconds = seconds
        self.segmentBytes = segmentBytes
    }

    public var description: String { "appenders=\(appenders) preallocate=\(preallocate) payload=\(payloadBytes)B" }
}

public struct WALAppendResult: Sendable {
    public var config: WALAppendConfig
    /// Round trips that completed inside the measured window.
    public var records: Int
    public var seconds: Double
    public var latency: LatencySummary
    /// `fdatasync` calls (group commits) and records made durable inside the window.
    public var dataSyncs: Int
    public var durableInWindow: Int
    /// `fsync` calls in the window (segment creation: the new file and the directory).
    public var fullSyncs: Int
    public var segmentsCreated: Int

    public var recordsPerSecond: Double { Double(records) / seconds }
    public var recordsPerSync: Double { dataSyncs == 0 ? 0 : Double(durableInWindow) / Double(dataSyncs) }
    public var syncsPerSecond: Double { Double(dataSyncs) / seconds }

    /// One line, `key=value` pairs, for scripts.
    public var line: String {
        "wal preallocate=\(config.preallocate) appenders=\(config.appenders) records=\(records) seconds=\(format(seconds)) "
            + "records_per_s=\(format(recordsPerSecond, 0)) p50_us=\(format(latency.p50Micros, 1)) p90_us=\(format(latency.p90Micros, 1)) "
            + "p99_us=\(format(latency.p99Micros, 1)) p999_us=\(format(latency.p999Micros, 1)) max_us=\(format(latency.maxMicros, 1)) "
            + "fdatasyncs=\(dataSyncs) fdatasyncs_per_s=\(format(syncsPerSecond, 0)) records_per_sync=\(format(recordsPerSync, 1)) "
            + "fsyncs=\(fullSyncs) segments_created=\(segmentsCreated)"
    }
}

func format(_ value: Double, _ decimals: Int = 3) -> String { String(format: "%.\(decimals)f", value) }

public enum WALAppendWorkload {
    /// Runs one configuration in a fresh `directory` (removed afterwards).
    public static func run(directory: String, config: WALAppendConfig) async throws -> WALAppendResult {
        try BenchFiles.freshDirectory(directory)
        defer { BenchFiles.remove(directory) }
        let logger = benchLogger("roost-bench.wal")
        let counter = SyncCounter()
        var limits = WALLimits.default
        limits.segmentBytes = config.segmentBytes
        let options = WALOptions(limits: limits, fsync: .always, preallocate: config.preallocate, io: counter.io)
        let tail = try WALRecovery.recover(directory: directory, limits: limits, logger: logger) { _ in }
        let log = try WriteAheadLog(directory: directory, tail: tail, options: options, logger: logger)
        defer { log.close() }

        let windowStart = BenchClock.nanoseconds() + UInt64(config.warmupSeconds * 1e9)
        let windowEnd = windowStart + UInt64(config.seconds * 1e9)
        // A thread of its own reads the counters at the window's edges (the task pool is busy).
        let sampler = WindowSampler(start: windowStart, end: windowEnd) {
            (counter.dataSyncCount, counter.fullSyncCount, Int(log.durableLSN), BenchFiles.files(in: directory).count)
        }

        let perAppender = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for appender in 0..<config.appenders {
                group.addTask {
                    var payload = [UInt8](repeating: UInt8(truncatingIfNeeded: appender), count: config.payloadBytes)
                    payload.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(appender).littleEndian, as: UInt32.self) }
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(1024)
                    while true {
                        let started = BenchClock.nanoseconds()
                        if started >= windowEnd { break }
                        _ = try await log.appendDurably(type: 1, payload: payload)
                        let finished = BenchClock.nanoseconds()
                        if finished >= windowStart && finished < windowEnd { latencies.append(finished - started) }
                    }
                    return latencies
                }
            }
            var all: [[UInt64]] = []
            for try await latencies in group { all.append(latencies) }
            return all
        }
        let (first, last) = await sampler.samples()
        let latency = LatencySummary(nanoseconds: perAppender)
        return WALAppendResult(
            config: config, records: latency.count, seconds: config.seconds, latency: latency,
            dataSyncs: last.0 - first.0, durableInWindow: last.2 - first.2, fullSyncs: last.1 - first.1,
            segmentsCreated: last.3 - first.3
        )
    }
}

/// Calls `read` at two moments on a dedicated thread and hands back both readings.
final class WindowSampler<Reading: Sendable>: Sendable {
    private let readings = Mutex<(Reading?, Reading?)>((nil, nil))
    private let done = DispatchSemaphore(value: 0)

    init(start: UInt64, end: UInt64, read: @escaping @Sendable () -> Reading) {
        let thread = Thread { [self] in
            Self.sleep(until: start)
            let first = read()
            Self.sleep(until: end)
            let last = read()
            readings.withLock { $0 = (first, last) }
            done.signal()
        }
        thread.name = "roost-bench-sampler"
        thread.start()
    }

    private static func sleep(until deadline: UInt64) {
        while true {
            let now = BenchClock.nanoseconds()
            if now >= deadline { return }
            let left = deadline - now
            var request = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
            nanosleep(&request, nil)
        }
    }

    func samples() async -> (Reading, Reading) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [self] in
                done.wait()
                continuation.resume()
            }
        }
        return readings.withLock { ($0.0!, $0.1!) }
    }
}
