import Foundation
import RoostStorage

/// Replay: how fast `WALRecovery.recover` reads back a log of `records` records (every frame
/// checked: CRC-32C, LSN sequence and CRC chain), with the pages warm or dropped from the cache.
public enum ReplayWorkload {
    public struct Prepared: Sendable {
        public var directory: String
        public var records: Int
        public var bytes: Int
        public var segments: Int
        public var writeSeconds: Double
        public var files: [String] { BenchFiles.files(in: directory) }
    }

    public struct Result: Sendable {
        public var label: String
        public var records: Int
        public var seconds: Double
        public var recordsPerSecond: Double { Double(records) / seconds }
        public var line: String {
            "replay mode=\(label) records=\(records) seconds=\(format(seconds, 4)) records_per_s=\(format(recordsPerSecond, 0))"
        }
    }

    /// Writes `records` records of `payloadBytes` into a fresh log in `directory` (fsync=always, in
    /// batches of 10,000 so the pending queue stays small), the way Roost would have written them.
    public static func prepare(
        directory: String, records: Int, payloadBytes: Int = 256, type: UInt8 = 1,
        payload: ((Int, inout [UInt8]) -> Void)? = nil
    ) async throws -> Prepared {
        try BenchFiles.freshDirectory(directory)
        let logger = benchLogger("roost-bench.replay")
        let tail = try WALRecovery.recover(directory: directory, logger: logger) { _ in }
        let log = try WriteAheadLog(directory: directory, tail: tail, options: WALOptions(fsync: .always), logger: logger)
        let started = BenchClock.nanoseconds()
        var buffer = [UInt8](repeating: 0x5A, count: payloadBytes)
        var index = 0
        while index < records {
            let batchEnd = min(records, index + 10_000)
            var last: UInt64 = 0
            while index < batchEnd {
                if let payload {
                    payload(index, &buffer)
                } else {
                    buffer.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(index).littleEndian, as: UInt64.self) }
                }
                last = try log.append(type: type, payload: buffer)
                index += 1
            }
            try await log.waitDurable(last)
        }
        log.close()
        let seconds = Double(BenchClock.nanoseconds() - started) / 1e9
        let files = BenchFiles.files(in: directory)
        return Prepared(
            directory: directory, records: records, bytes: files.reduce(0) { $0 + BenchFiles.size($1) },
            segments: files.count, writeSeconds: seconds
        )
    }

    /// Recovers the log, counting records. Throws if the count is not `expected`.
    public static func recover(_ prepared: Prepared, cold: Bool) throws -> Result {
        if cold { BenchFiles.dropFromPageCache(prepared.files) }
        let logger = benchLogger("roost-bench.replay")
        var count = 0
        var payloadBytes = 0
        let (seconds, tail) = try BenchClock.time {
            try WALRecovery.recover(directory: prepared.directory, logger: logger) { record in
                count += 1
                payloadBytes &+= record.payload.count
            }
        }
        guard count == prepared.records, tail.lastLSN == UInt64(prepared.records) else {
            throw BenchError("replay visited \(count) records (last LSN \(tail.lastLSN)), expected \(prepared.records)")
        }
        return Result(label: cold ? "cold" : "warm", records: count, seconds: seconds)
    }

    /// The anchor: the same segment files read whole with `pread`, nothing checked.
    public static func rawRead(_ prepared: Prepared, cold: Bool) throws -> Result {
        if cold { BenchFiles.dropFromPageCache(prepared.files) }
        let (seconds, _) = try BenchClock.time { try BenchFiles.rawRead(prepared.files) }
        return Result(label: cold ? "raw-read-cold" : "raw-read-warm", records: prepared.records, seconds: seconds)
    }
}
