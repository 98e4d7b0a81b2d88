import Foundation
import Logging
import RoostBinary
import RoostDomain
import RoostStorage

/// What `roost restore` rebuilds the state at.
public enum RestoreTarget: Sendable, Equatable {
    /// Exactly the state of this snapshot (its LSN).
    case snapshot(UInt64)
    /// Every record up to and including this LSN.
    case lsn(UInt64)
    /// Every record up to the first one stamped after this time.
    case time(Date)
}

public struct RestoreReport: Sendable {
    /// The LSN the restored state is complete through; the log continues from the next one.
    public var restoredLSN: UInt64
    public var snapshotUsed: UInt64?
    public var recordsReplayed: Int
    /// Where the previous `wal/` and `snapshots/` were moved (nothing is deleted).
    public var previousStateDirectory: String
    /// Damage that stopped the replay before the target, if any.
    public var stoppedAt: WALDamage?
}

extension Engine {
    /// Rebuilds the data directory's state at `target`, offline (it takes the directory's lock).
    ///
    /// The newest snapshot at or before the target is loaded and the WAL replayed up to it; the
    /// result is written as a new snapshot, the old `wal/` and `snapshots/` are moved to
    /// `pre-restore-<time>/`, and the next start continues the log after the restored LSN.
    public static func restore(
        options: EngineOptions, aggregates: [any Aggregate.Type], target: RestoreTarget, logger: Logger, now: Date = Date()
    ) throws -> RestoreReport {
        let lock = try DataDirectoryLock(directory: options.dataDirectory)
        defer { lock.release() }
        let (shardCount, shardSource) = try ShardLayout.resolve(options)
        let store = SnapshotStore(directory: options.snapshotDirectory)
        let table = try RecoveryTable(aggregates: aggregates, shardCount: shardCount)
        let base = try loadBase(for: target, from: store, into: table, logger: logger)
        var restoredLSN = base ?? 0
        var replayed = 0
        var stoppedAt: WALDamage?
        if case .snapshot = target {} else {
            let replay = try replayWAL(options: options, after: restoredLSN, until: target, table: table)
            restoredLSN = replay.last ?? restoredLSN
            replayed = replay.count
            stoppedAt = replay.damage
        }
        // Refused before anything moves: a restore that cannot reach what was asked would pass off another state as it.
        if case let .lsn(limit) = target, limit == 0 || restoredLSN < limit {
            let reached = restoredLSN == 0 ? "nothing" : "LSN \(restoredLSN)"
            if let stoppedAt {
                throw StorageError.notFound("the log is damaged (\(stoppedAt)) before LSN \(limit): the state reaches \(reached); restore --until \(restoredLSN) to take that, knowingly")
            }
            throw StorageError.notFound(
                limit == 0 ? "--until 0 restores nothing (LSNs start at 1)" : "the log ends at \(reached), before LSN \(limit): there is nothing to restore up to it"
            )
        }
        if case .time = target, restoredLSN == 0 {
            throw StorageError.notFound("no record is at or before that time: the restore would empty the state (`roost wal dump` shows each record's time)")
        }
        let body = SnapshotBody.encode(sections: table.sections(lsn: restoredLSN), takenAt: now)
        // Recorded before the old state moves aside: a crash in between must not leave a directory that looks new.
        try ShardLayout.recordIfConfirmed(shardCount, source: shardSource, snapshotLoaded: base != nil, options: options, logger: logger)
        let aside = try moveAside(options: options, now: now)
        try store.write(lsn: restoredLSN, body: body)
        try FileManager.default.createDirectory(atPath: options.walDirectory, withIntermediateDirectories: true)
        logger.notice(
            "state restored",
            metadata: ["restore.lsn": "\(restoredLSN)", "restore.replayed": "\(replayed)", "restore.previous": "\(aside)"]
        )
        return RestoreReport(
            restoredLSN: restoredLSN, snapshotUsed: base, recordsReplayed: replayed, previousStateDirectory: aside,
            stoppedAt: stoppedAt
        )
    }

    /// Loads the snapshot the target starts from; nil means "replay the WAL from its first record".
    private static func loadBase(
        for target: RestoreTarget, from store: SnapshotStore, into table: RecoveryTable, logger: Logger
    ) throws -> UInt64? {
        if case let .snapshot(lsn) = target {
            guard try store.list().contains(lsn) else { throw StorageError.notFound("no snapshot at LSN \(lsn) in \(store.directory)") }
            try table.load(body: try store.load(lsn: lsn))
            return lsn
        }
        for lsn in try store.list().reversed() {
            if case let .lsn(limit) = target, lsn > limit { continue }
            guard let body = try? store.load(lsn: lsn) else {
                logger.warning("skipping an unreadable snapshot", metadata: ["snapshot.lsn": "\(lsn)"])
                continue
            }
            if case let .time(limit) = target, try SnapshotBody.takenAt(body) > limit { continue }
            try table.load(body: body)
            return lsn
        }
        return nil
    }

    private struct StopReplay: Error {}

    private static func replayWAL(
        options: EngineOptions, after: UInt64, until target: RestoreTarget, table: RecoveryTable
    ) throws -> (last: UInt64?, count: Int, damage: WALDamage?) {
        var last: UInt64?
        var count = 0
        var result: WALScanResult?
        do {
            result = try WALScanner(directory: options.walDirectory, limits: options.wal.limits).scan(after: after) { record in
                if last == nil && record.lsn != after + 1 {
                    throw StorageError.notFound("the WAL starts at LSN \(record.lsn); records \(after + 1)... are needed and no snapshot covers them")
                }
                switch target {
                case let .lsn(limit) where record.lsn > limit: throw StopReplay()
                case let .time(limit) where try Journal.time(of: record) > limit: throw StopReplay()
                default: break
                }
                try table.replay(record)
                last = record.lsn
                count += 1
            }
        } catch is StopReplay {}
        return (last, count, result?.damage)
    }

    private static func moveAside(options: EngineOptions, now: Date) throws -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime]
        var aside = options.dataDirectory + "/pre-restore-" + formatter.string(from: now).replacingOccurrences(of: ":", with: "")
        var counter = 1
        while FileManager.default.fileExists(atPath: aside) {
            aside += "-\(counter)"
            counter += 1
        }
        try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
        for directory in [options.walDirectory, options.snapshotDirectory] where FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.moveItem(atPath: directory, toPath: aside + "/" + (directory as NSString).lastPathComponent)
        }
        return aside
    }
}

extension Journal {
    /// An event's case and the first quoted value of its description (the id of what it changes),
    /// never the rest (an account's event carries its password hash).
    private static func summary<A: Aggregate>(of bytes: UnsafeRawBufferPointer, as aggregate: A.Type) -> String? {
        var reader = ByteReader(bytes)
        guard let event = try? A.Event.decode(from: &reader) else { return nil }
        let text = String(describing: event)
        var named = "\(A.self).\(text.prefix { $0 != "(" })"
        if let open = text.firstIndex(of: "\""), let close = text[text.index(after: open)...].firstIndex(of: "\"") {
            named += " " + text[text.index(after: open)..<close]
        }
        return named
    }

    /// The time stamped on an events record.
    static func time(of record: WALRecord) throws -> Date {
        let envelope = try EventsEnvelope(payload: record.payload)
        return Date(timeIntervalSince1970: Double(envelope.time.millisecondsSinceEpoch) / 1000)
    }

    /// A readable one-line account of a record, for `roost wal dump`.
    private static let recordTime = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// With `aggregates`, each event is named, with the first id it carries (`Listings.bookingHeld bkg_…`), so
    /// an operator can find the record to restore up to; otherwise, or for an aggregate not given, its tag.
    public static func describe(_ record: WALRecord, aggregates: [any Aggregate.Type] = []) -> String {
        var line = "lsn=\(record.lsn) type=\(record.type) bytes=\(record.payload.count) crc=\(String(record.crc, radix: 16))"
        guard record.type == eventsRecordType else { return line + " (unknown record type)" }
        do {
            var envelope = try EventsEnvelope(payload: record.payload)
            let time = Date(timeIntervalSince1970: Double(envelope.time.millisecondsSinceEpoch) / 1000)
            // To the millisecond, as `restore --until <time>` compares them.
            line += " kind=\(envelope.kind) shard=\(envelope.shard) time=\(time.formatted(Self.recordTime)) events=\(envelope.count)"
            let aggregate = aggregates.first { $0.kind == envelope.kind }
            var tags: [String] = []
            for _ in 0..<envelope.count {
                let length = try envelope.reader.readCount(limit: envelope.reader.remaining)
                let bytes = try envelope.reader.readRaw(count: length)
                if let aggregate, let named = summary(of: bytes, as: aggregate) {
                    tags.append(named)
                    continue
                }
                var event = ByteReader(bytes)
                let header = try EventHeader.read(from: &event)
                tags.append("\(header.tag)v\(header.version)")
            }
            return line + " what=[\(tags.joined(separator: ", "))]"
        } catch {
            return line + " (undecodable: \(error))"
        }
    }
}
