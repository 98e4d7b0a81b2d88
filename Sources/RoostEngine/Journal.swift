import RoostBinary
import RoostDomain
import RoostStorage

/// The single ordered writer every shard appends to, over the WAL.
///
/// A shard calls `append` synchronously, inside its own isolation, between `decide` and
/// `apply`: the LSN order of the log is therefore the order in which each shard applied its
/// events. One record holds all the events of one decision, so a decision is never half-replayed.
///
/// Record type 1 (`eventsRecordType`), payload (format 1):
///
///     u8 format = 1 | u16 aggregate kind | u16 shard | i64 timestamp (ms) | varint count | events…
///
/// each event as its `EventCoding` form prefixed by a varint length.
public final class Journal: Sendable {
    public static let eventsRecordType: UInt8 = 1
    static let envelopeFormat: UInt8 = 1
    /// Events one decision may produce.
    public static let eventsPerRecordMax = 10_000

    let log: WriteAheadLog

    init(log: WriteAheadLog) { self.log = log }

    /// Frames the events of one decision as the next record. Returns its LSN; not yet durable.
    func append<Event: EventCoding>(kind: UInt16, shard: ShardIndex, at time: Timestamp, events: [Event]) throws -> UInt64 {
        precondition(!events.isEmpty && events.count <= Self.eventsPerRecordMax, "a decision records 1...\(Self.eventsPerRecordMax) events")
        var writer = ByteWriter(capacity: 64 + events.count * 64)
        writer.write(Self.envelopeFormat)
        writer.write(kind)
        writer.write(UInt16(shard.value))
        writer.write(time.millisecondsSinceEpoch)
        writer.writeVarint(events.count)
        var eventWriter = ByteWriter(capacity: 128)
        for event in events {
            eventWriter.removeAll()
            event.encode(into: &eventWriter)
            writer.writeBytes(eventWriter.bytes)
        }
        do {
            return try writer.bytes.withUnsafeBytes { try log.append(type: Self.eventsRecordType, payload: $0) }
        } catch let error as StorageError {
            throw EngineError.from(error)
        }
    }

    /// Returns when the record at `lsn` is on disk.
    public func waitDurable(_ lsn: UInt64) async throws {
        do {
            try await log.waitDurable(lsn)
        } catch let error as StorageError {
            throw EngineError.from(error)
        }
    }

    public var lastAppendedLSN: UInt64 { log.lastAppendedLSN }
    public var durableLSN: UInt64 { log.durableLSN }
    public var isAcceptingWrites: Bool { log.failure == nil }
    public var failure: StorageError? { log.failure }
}

/// A decoded events record, before its events are decoded (that needs the aggregate's type).
struct EventsEnvelope: ~Copyable {
    var kind: UInt16
    var shard: Int
    var time: Timestamp
    var count: Int
    var reader: ByteReader

    init(payload: UnsafeRawBufferPointer) throws(DecodeError) {
        var reader = ByteReader(payload)
        let format = try reader.readUInt8()
        guard format == Journal.envelopeFormat else { throw .invalid("events record format \(format) is not known") }
        let kind = try reader.readUInt16()
        let shard = Int(try reader.readUInt16())
        let time = Timestamp(millisecondsSinceEpoch: try reader.readInt64())
        let count = try reader.readCount(limit: Journal.eventsPerRecordMax)
        self.kind = kind
        self.shard = shard
        self.time = time
        self.count = count
        self.reader = reader
    }

    /// Decodes each event in turn; every event must use up exactly its length-prefixed bytes.
    mutating func forEachEvent<Event: EventCoding>(_: Event.Type, _ body: (Event) -> Void) throws(DecodeError) {
        for _ in 0..<count {
            let length = try reader.readCount(limit: reader.remaining)
            var eventReader = ByteReader(try reader.readRaw(count: length))
            let event = try Event.decode(from: &eventReader)
            guard eventReader.isAtEnd else { throw .invalid("\(eventReader.remaining) bytes left after an event") }
            body(event)
        }
        guard reader.isAtEnd else { throw .invalid("\(reader.remaining) bytes left after the events") }
    }
}
