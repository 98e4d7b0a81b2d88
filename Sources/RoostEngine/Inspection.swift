import Foundation
import Logging
import RoostDomain
import RoostStorage

/// What a data directory's newest snapshot and its WAL come to, before anything starts on them.
struct Recovered<Log> {
    let table: RecoveryTable
    let shardCount: Int
    let shardSource: ShardLayout.Source
    let snapshot: (lsn: UInt64, takenAt: Date)?
    let replayed: Int
    /// What `scan` made of the log.
    let log: Log

    /// Loads the newest snapshot that reads back, then replays the records `scan` visits after it.
    /// `scan` reads the WAL: start-up's cuts a torn tail (`WALRecovery`), an inspection's only reads.
    /// A log that does not continue where the snapshot ends is refused unless `options.repair`.
    static func read(
        options: EngineOptions, aggregates: [any Aggregate.Type], logger: Logger,
        scan: (_ after: UInt64, _ visit: (WALRecord) throws -> Void) throws -> Log
    ) throws -> Recovered {
        let (shardCount, shardSource) = try ShardLayout.resolve(options)
        let snapshots = SnapshotStore(directory: options.snapshotDirectory, io: options.wal.io)
        let table = try RecoveryTable(aggregates: aggregates, shardCount: shardCount)
        let snapshot = try table.loadNewestSnapshot(from: snapshots, logger: logger)
        var replayed = 0
        let after = snapshot?.lsn ?? 0
        let log = try scan(after) { record in
            if replayed == 0, record.lsn != after + 1 {
                // The records between the snapshot and the WAL's first are nowhere (a damaged or deleted snapshot, its
                // segments pruned): serving without them would serve part of the data, and the next snapshot would
                // bury the loss. Refused, unless the operator repairs knowingly.
                let missing = "the WAL starts at LSN \(record.lsn), but records \(after + 1)...\(record.lsn - 1) are needed and "
                    + (snapshot.map { "the newest usable snapshot (LSN \($0.lsn)) does not cover them" } ?? "no usable snapshot covers them")
                guard options.repair else {
                    throw StorageError.notFound(
                        missing + "; put back the snapshot that covers them (see `roost restore`), or start with --repair to serve without them"
                    )
                }
                logger.error("starting without records the WAL no longer holds (--repair): they are lost", metadata: ["reason": "\(missing)"])
            }
            try table.replay(record)
            replayed += 1
        }
        return Recovered(table: table, shardCount: shardCount, shardSource: shardSource, snapshot: snapshot, replayed: replayed, log: log)
    }
}

/// A data directory's state read as start-up would recover it, changing nothing: no lock taken, no
/// torn tail cut, no temporary file removed, no shard count recorded, no log opened for writing.
/// What `roost check` reads, so that checking a crashed node's disk leaves it as the crash did.
public struct Inspection {
    /// The last record read, 0 when there is none (nor a snapshot).
    public let lastLSN: UInt64
    /// The torn write the log ends in (start-up cuts it, keeping a `.broken` copy), if any.
    public let tornTail: WALDamage?
    private let table: RecoveryTable

    fileprivate init(lastLSN: UInt64, tornTail: WALDamage?, table: RecoveryTable) {
        self.lastLSN = lastLSN
        self.tornTail = tornTail
        self.table = table
    }

    /// Aggregate `A`'s state in each of its shards (`A` must have been passed to `Engine.inspect`).
    public func states<A: Aggregate>(_: A.Type) -> [A.State] {
        guard let recovering = table.entry(kind: A.kind) as? Recovering<A> else {
            preconditionFailure("aggregate \(A.self) was not registered with the inspection")
        }
        return recovering.states
    }
}

extension Engine {
    /// Reads the data directory as `open` would recover it, without changing it (`Inspection`). Mid-log
    /// corruption is refused as start-up refuses it; a torn tail is read up to, and reported.
    public static func inspect(options: EngineOptions, aggregates: [any Aggregate.Type], logger: Logger) throws -> Inspection {
        let recovered = try Recovered.read(options: options, aggregates: aggregates, logger: logger) { after, visit in
            try WALScanner(directory: options.walDirectory, limits: options.wal.limits).scan(after: after, visit: visit)
        }
        let scan = recovered.log
        if let damage = scan.damage, damage.kind == .corruption {
            throw StorageError.corruption(segment: options.walDirectory + "/" + damage.segment, offset: damage.offset, reason: damage.reason)
        }
        return Inspection(
            lastLSN: max(scan.lastLSN, recovered.snapshot?.lsn ?? 0, recovered.table.highestLoadedLSN),
            tornTail: scan.damage, table: recovered.table
        )
    }
}
