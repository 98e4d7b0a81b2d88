import Foundation
import Logging
import RoostBinary
import RoostDomain
import RoostStorage

/// Every registered aggregate's recovering states, keyed by aggregate kind.
final class RecoveryTable {
    private var entries: [UInt16: any RecoveringAggregate] = [:]
    private(set) var highestLoadedLSN: UInt64 = 0

    init(aggregates: [any Aggregate.Type], shardCount: Int) throws {
        for aggregate in aggregates {
            let entry = Self.makeRecovering(aggregate, shardCount: shardCount)
            precondition(entries[entry.kind] == nil, "two aggregates share kind \(entry.kind)")
            entries[entry.kind] = entry
        }
    }

    private static func makeRecovering<A: Aggregate>(_: A.Type, shardCount: Int) -> any RecoveringAggregate {
        Recovering<A>(shardCount: shardCount)
    }

    func entry(kind: UInt16) -> (any RecoveringAggregate)? { entries[kind] }

    /// Loads the newest snapshot that reads back (damaged ones are skipped by the store).
    func loadNewestSnapshot(from store: SnapshotStore, logger: Logger) throws -> (lsn: UInt64, takenAt: Date)? {
        guard let (lsn, body) = try store.loadNewestValid(logger: logger) else { return nil }
        let takenAt = try load(body: body)
        return (lsn, takenAt)
    }

    /// Loads every section of a snapshot body into its aggregate's shard. Returns when it was taken.
    @discardableResult
    func load(body: [UInt8]) throws -> Date {
        try body.withUnsafeBytes { raw in
            try SnapshotBody.decode(raw) { kind, shard, shardCount, lsn, reader in
                guard let entry = entries[kind] else {
                    throw EngineError.unreadableState("the snapshot holds aggregate kind \(kind), which this build does not know")
                }
                guard shardCount == entry.shardCount else {
                    throw EngineError.shardCountMismatch(directory: shardCount, configured: entry.shardCount)
                }
                guard shard < shardCount else {
                    throw EngineError.unreadableState("the snapshot names shard \(shard) of \(shardCount) for aggregate \(kind)")
                }
                try entry.load(shard: shard, lsn: lsn, from: &reader)
                highestLoadedLSN = max(highestLoadedLSN, lsn)
            }
        }
    }

    /// Applies one WAL record to the shard it belongs to.
    func replay(_ record: WALRecord) throws {
        guard record.type == Journal.eventsRecordType else {
            throw EngineError.unreadableState("WAL record \(record.lsn) has type \(record.type), which this build does not know")
        }
        do {
            let envelope = try EventsEnvelope(payload: record.payload)
            guard let entry = entries[envelope.kind] else {
                throw EngineError.unreadableState("WAL record \(record.lsn) belongs to aggregate kind \(envelope.kind), which this build does not know")
            }
            try entry.replay(lsn: record.lsn, envelope: envelope)
        } catch let error as DecodeError {
            throw EngineError.unreadableState("WAL record \(record.lsn) does not decode: \(error)")
        }
    }

    func sections(lsn: UInt64) -> [SnapshotSection] {
        entries.keys.sorted().flatMap { entries[$0]!.sections(lsn: lsn) }
    }

    func start(journal: Journal) -> [UInt16: any StartedAggregate] {
        entries.mapValues { $0.start(journal: journal) }
    }
}

/// The engine's snapshot body, format 1 (inside `SnapshotStore`'s checksummed file):
///
///     u8 format = 1 | i64 taken at (ms) | varint section count | sections…
///     section: u16 aggregate kind | u16 shard | u16 shard count | u64 lsn | varint length | state bytes
enum SnapshotBody {
    static let format: UInt8 = 1
    static let sectionsMax = 1 << 20

    static func encode(sections: [SnapshotSection], takenAt: Date) -> [UInt8] {
        var writer = ByteWriter(capacity: 1 << 16)
        writer.write(format)
        writer.write(Int64(takenAt.timeIntervalSince1970 * 1000))
        writer.writeVarint(sections.count)
        var stateWriter = ByteWriter(capacity: 1 << 16)
        for section in sections {
            writer.write(section.kind)
            writer.write(UInt16(section.shard))
            writer.write(UInt16(section.shardCount))
            writer.write(section.lsn)
            stateWriter.removeAll()
            section.encode(&stateWriter)
            writer.writeBytes(stateWriter.bytes)
        }
        return writer.bytes
    }

    /// When the snapshot in `body` was taken, without decoding its sections.
    static func takenAt(_ body: [UInt8]) throws -> Date {
        try body.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let bodyFormat = try reader.readUInt8()
            guard bodyFormat == format else { throw EngineError.unreadableState("snapshot body format \(bodyFormat) is not known") }
            return Date(timeIntervalSince1970: Double(try reader.readInt64()) / 1000)
        }
    }

    static func decode(
        _ raw: UnsafeRawBufferPointer,
        section: (_ kind: UInt16, _ shard: Int, _ shardCount: Int, _ lsn: UInt64, _ reader: inout ByteReader) throws -> Void
    ) throws -> Date {
        var reader = ByteReader(raw)
        let bodyFormat = try reader.readUInt8()
        guard bodyFormat == format else { throw EngineError.unreadableState("snapshot body format \(bodyFormat) is not known") }
        let takenAt = Date(timeIntervalSince1970: Double(try reader.readInt64()) / 1000)
        let count = try reader.readCount(limit: sectionsMax)
        for _ in 0..<count {
            let kind = try reader.readUInt16()
            let shard = Int(try reader.readUInt16())
            let shardCount = Int(try reader.readUInt16())
            let lsn = try reader.readUInt64()
            let length = try reader.readCount(limit: reader.remaining)
            var stateReader = ByteReader(try reader.readRaw(count: length))
            try section(kind, shard, shardCount, lsn, &stateReader)
            guard stateReader.isAtEnd else {
                throw EngineError.unreadableState("\(stateReader.remaining) bytes left after shard \(shard) of aggregate \(kind)")
            }
        }
        guard reader.isAtEnd else { throw EngineError.unreadableState("\(reader.remaining) bytes after the last snapshot section") }
        return takenAt
    }
}
