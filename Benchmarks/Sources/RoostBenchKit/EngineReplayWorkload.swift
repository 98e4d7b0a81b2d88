import Foundation
import RoostBinary
import RoostDomain
import RoostEngine
import RoostStorage

/// A small aggregate for replay through `Engine.open`: a ledger whose one event credits an account.
/// Each WAL record is a real events record (the journal's envelope, one event, 256 bytes in all).
public enum BenchLedger: Aggregate {
    public struct State: Sendable, Equatable {
        public var events = 0
        public var total: Int64 = 0
    }

    public struct Command: Sendable {}
    public struct Rejection: Error, Sendable {}

    public struct Event: EventCoding, Sendable {
        static let header = EventHeader(tag: 1, version: 1)
        public var account: UInt64
        public var amount: Int64
        public var memoBytes: Int

        public func encode(into writer: inout ByteWriter) {
            Self.header.write(into: &writer)
            writer.write(account)
            writer.write(amount)
            writer.writeBytes(repeatElement(UInt8(ascii: "m"), count: memoBytes))
        }

        public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Event {
            let header = try EventHeader.read(from: &reader)
            guard header == Self.header else { throw header.unknown(in: Event.self) }
            let account = try reader.readUInt64()
            let amount = try reader.readInt64()
            let memoBytes = try reader.readCount(limit: reader.remaining)
            _ = try reader.readRaw(count: memoBytes)
            return Event(account: account, amount: amount, memoBytes: memoBytes)
        }
    }

    public static let kind: UInt16 = 0xBE01

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        .success([])
    }

    public static func apply(_ event: Event, to state: inout State) {
        state.events += 1
        state.total += event.amount
    }

    public static func encode(state: State, into writer: inout ByteWriter) {
        writer.writeVarint(state.events)
        writer.write(state.total)
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        State(events: Int(try reader.readVarint()), total: try reader.readInt64())
    }
}

public enum EngineReplayWorkload {
    public struct Result: Sendable {
        public var label: String
        public var records: Int
        /// `Engine.open` as a whole (lock, snapshot look-up, replay, log open, shard actors).
        public var seconds: Double
        /// The engine's own `RecoveryReport.seconds`.
        public var reportedSeconds: Double
        public var recordsPerSecond: Double { Double(records) / seconds }
        public var line: String {
            "engine-replay mode=\(label) records=\(records) seconds=\(format(seconds, 4)) "
                + "records_per_s=\(format(recordsPerSecond, 0)) engine_reported_seconds=\(format(reportedSeconds, 4))"
        }
    }

    /// The journal's events record for event `index` (format 1: u8 format | u16 kind | u16 shard |
    /// i64 ms | varint count | varint length + event), padded with the memo to `totalBytes`.
    public static func template(totalBytes: Int) -> [UInt8] {
        var memo = totalBytes - 37
        for _ in 0..<4 {
            var event = ByteWriter()
            Event(account: 0, amount: 1, memoBytes: memo).encode(into: &event)
            var record = ByteWriter(capacity: totalBytes)
            record.write(UInt8(1))
            record.write(BenchLedger.kind)
            record.write(UInt16(0))
            record.write(Int64(1_764_000_000_000))
            record.writeVarint(1)
            record.writeBytes(event.bytes)
            if record.count == totalBytes { return record.bytes }
            memo += totalBytes - record.count
        }
        preconditionFailure("no memo length gives a \(totalBytes)-byte record")
    }

    typealias Event = BenchLedger.Event

    public static func prepare(dataDirectory: String, records: Int, shardCount: Int, payloadBytes: Int = 256) async throws
        -> ReplayWorkload.Prepared
    {
        try BenchFiles.freshDirectory(dataDirectory)
        let template = template(totalBytes: payloadBytes)
        return try await ReplayWorkload.prepare(
            directory: dataDirectory + "/wal", records: records, payloadBytes: payloadBytes, type: Journal.eventsRecordType
        ) { index, buffer in
            if buffer.count != template.count || buffer[0] != 1 { buffer = template }
            buffer.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt16(index % shardCount).littleEndian, toByteOffset: 3, as: UInt16.self)
                raw.storeBytes(of: Int64(1_764_000_000_000 + index).littleEndian, toByteOffset: 5, as: Int64.self)
                raw.storeBytes(of: UInt64(index).littleEndian, toByteOffset: 19, as: UInt64.self)
            }
        }
    }

    /// Opens an engine on the prepared data directory (replaying every record into `BenchLedger`),
    /// checks that every event was applied, and closes it.
    public static func open(dataDirectory: String, records: Int, shardCount: Int, cold: Bool) async throws -> Result {
        if cold { BenchFiles.dropFromPageCache(BenchFiles.files(in: dataDirectory + "/wal")) }
        let logger = benchLogger("roost-bench.engine")
        let (seconds, engine) = try BenchClock.time {
            try Engine.open(
                options: EngineOptions(dataDirectory: dataDirectory, shardCount: shardCount),
                aggregates: [BenchLedger.self], logger: logger
            )
        }
        defer { engine.close() }
        var applied = 0
        for shard in engine.group(BenchLedger.self).shards { applied += shard.peek { $0.events } }
        guard applied == records, engine.recovery.recordsReplayed == records else {
            throw BenchError("Engine.open applied \(applied) events from \(engine.recovery.recordsReplayed) records, expected \(records)")
        }
        return Result(label: cold ? "cold" : "warm", records: records, seconds: seconds, reportedSeconds: engine.recovery.seconds)
    }
}
