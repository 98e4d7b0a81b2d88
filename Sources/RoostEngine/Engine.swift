import Foundation
import Logging
import RoostBinary
import RoostDomain
import RoostStorage
import Synchronization

/// How the engine keeps its data directory.
public struct EngineOptions: Sendable {
    public var dataDirectory: String
    /// Shards per aggregate, fixed for the life of a data directory (`<data>/shards` records it; snapshots too).
    /// nil: the count the directory records, or `defaultShardCount` for a new one (`ShardLayout.resolve`).
    public var shardCount: Int?
    public var wal: WALOptions
    /// Snapshots kept on disk; WAL segments older than the oldest kept one are deleted.
    public var snapshotsKept: Int
    /// Cut the log at mid-log corruption instead of refusing to start (`--repair`).
    public var repair: Bool

    public init(
        dataDirectory: String, shardCount: Int? = nil, wal: WALOptions = WALOptions(), snapshotsKept: Int = 3,
        repair: Bool = false
    ) {
        precondition(shardCount.map { $0 >= 1 && $0 <= 1024 } ?? true, "shard count must be 1...1024")
        precondition(snapshotsKept >= 1, "keep at least one snapshot")
        self.dataDirectory = dataDirectory
        self.shardCount = shardCount
        self.wal = wal
        self.snapshotsKept = snapshotsKept
        self.repair = repair
    }

    /// Shards per aggregate for a new data directory: one per core of this project's 2-core machine. A search visits
    /// every shard of the listings, at a fixed cost each (each shard's scan is a chain of cache misses: its list, the
    /// price band's fences and blocks, the bitmap rows, the page's entries), and two cores gain nothing from more
    /// than two writers at once. Over 1M listings (`scripts/bench-search.sh`'s data, same session, alternating wrk
    /// runs): 2 shards against 4, HTTP search 33,984–35,511/s against 29,373–31,318/s (46 against 52 µs of server CPU
    /// each), `/health/live` unchanged; loading 1M listings one command at a time took 114 s (a bigger shard's
    /// lists shift more per insert). Earlier, 4 against 16: search 10,096/s against 7,276/s, loading 91 s against
    /// 49 s. Larger machines, or a write-heavy load, may want more (`ROOST_SHARDS`).
    public static let defaultShardCount = 2
    /// What a directory with state but no `shards` record was made with: the only default before the record existed.
    public static let legacyShardCount = 16

    public var walDirectory: String { dataDirectory + "/wal" }
    public var snapshotDirectory: String { dataDirectory + "/snapshots" }
}

/// What start-up found and did.
public struct RecoveryReport: Sendable {
    public var snapshotLSN: UInt64?
    public var recordsReplayed: Int
    public var lastLSN: UInt64
    public var seconds: Double
}

/// The engine: the data-directory lock, the journal, and every aggregate's shard actors.
public final class Engine: Sendable {
    public let options: EngineOptions
    public let journal: Journal
    public let recovery: RecoveryReport
    private let lock: DataDirectoryLock
    private let aggregates: [UInt16: any StartedAggregate]
    private let snapshots: SnapshotStore
    private let logger: Logger
    private let snapshotting = Mutex(false)

    /// Takes the data directory's lock, loads the newest valid snapshot, replays the WAL after it
    /// and starts a shard actor per shard of each aggregate.
    public static func open(options: EngineOptions, aggregates: [any Aggregate.Type], logger: Logger) throws -> Engine {
        let started = ContinuousClock.now
        let lock = try DataDirectoryLock(directory: options.dataDirectory)
        let recovered = try Recovered.read(options: options, aggregates: aggregates, logger: logger) { after, visit in
            try WALRecovery.recover(directory: options.walDirectory, limits: options.wal.limits, after: after, repair: options.repair, logger: logger, visit: visit)
        }
        let (table, snapshot, replayed, tail, shardCount) = (recovered.table, recovered.snapshot, recovered.replayed, recovered.log, recovered.shardCount)
        let nextLSN = max(tail.lastLSN, snapshot?.lsn ?? 0, table.highestLoadedLSN) + 1
        try ShardLayout.recordIfConfirmed(shardCount, source: recovered.shardSource, snapshotLoaded: snapshot != nil, options: options, logger: logger)
        let log = try WriteAheadLog(
            directory: options.walDirectory, tail: tail, nextLSN: nextLSN, options: options.wal, logger: logger
        )
        let journal = Journal(log: log)
        let report = RecoveryReport(
            snapshotLSN: snapshot?.lsn, recordsReplayed: replayed, lastLSN: nextLSN - 1,
            seconds: (ContinuousClock.now - started).seconds
        )
        logger.info(
            "engine recovered",
            metadata: [
                "engine.shards": "\(shardCount)", "snapshot.lsn": "\(snapshot.map { String($0.lsn) } ?? "none")", "wal.replayed": "\(replayed)",
                "wal.last_lsn": "\(report.lastLSN)", "recovery.seconds": "\(report.seconds)",
            ]
        )
        return Engine(
            options: options, journal: journal, recovery: report, lock: lock,
            aggregates: table.start(journal: journal), snapshots: SnapshotStore(directory: options.snapshotDirectory, io: options.wal.io),
            logger: logger
        )
    }

    private init(
        options: EngineOptions, journal: Journal, recovery: RecoveryReport, lock: DataDirectoryLock,
        aggregates: [UInt16: any StartedAggregate], snapshots: SnapshotStore, logger: Logger
    ) {
        self.options = options
        self.journal = journal
        self.recovery = recovery
        self.lock = lock
        self.aggregates = aggregates
        self.snapshots = snapshots
        self.logger = logger
    }

    /// The shard actors of aggregate `A` (which must have been passed to `open`).
    public func group<A: Aggregate>(_: A.Type) -> ShardGroup<A> {
        guard let started = aggregates[A.kind] as? Started<A> else {
            preconditionFailure("aggregate \(A.self) was not registered with the engine")
        }
        return started.group
    }

    /// True while the journal takes writes: false after a failed write or fsync, until a restart.
    public var isAcceptingWrites: Bool { journal.isAcceptingWrites }

    /// Writes a snapshot of every shard while serving continues, then prunes old snapshots and the
    /// WAL segments no kept snapshot needs. Returns the snapshot's LSN.
    @discardableResult
    public func snapshot(now: Date = Date()) async throws -> UInt64 {
        guard snapshotting.withLock({ busy in defer { busy = true }; return !busy }) else { throw EngineError.snapshotInProgress }
        defer { snapshotting.withLock { $0 = false } }
        var sections: [SnapshotSection] = []
        for kind in aggregates.keys.sorted() { sections += await aggregates[kind]!.copies() }
        let lastLSN = journal.lastAppendedLSN
        let lsn = sections.map(\.lsn).min() ?? lastLSN
        // Never publish state whose records could still be lost.
        try await journal.waitDurable(sections.map(\.lsn).max() ?? lastLSN)
        let snapshots = snapshots
        let kept = options.snapshotsKept
        let log = journal.log
        let copies = sections
        let bytes = try await runOnDedicatedThread {
            let body = SnapshotBody.encode(sections: copies, takenAt: now)
            try snapshots.write(lsn: lsn, body: body)
            if let oldest = try snapshots.prune(keep: kept) { try log.removeSegments(coveredThrough: oldest) }
            return body.count
        }
        logger.info("snapshot written", metadata: ["snapshot.lsn": "\(lsn)", "snapshot.bytes": "\(bytes)"])
        return lsn
    }

    /// Writes out what the journal holds, stops it and unlocks the data directory.
    public func close() {
        journal.log.close()
        lock.release()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Runs blocking work (large file writes, fsync) on a thread of its own, off the cooperative pool.
func runOnDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.name = "roost-snapshot"
        thread.start()
    }
}
