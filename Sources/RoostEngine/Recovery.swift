import RoostBinary
import RoostDomain
import RoostStorage

/// One aggregate's shard states while the engine recovers: loaded from a snapshot section,
/// advanced by WAL records, then handed to the shard actors. Type-erased so the engine can
/// hold several aggregates in one table keyed by their `kind`.
protocol RecoveringAggregate: AnyObject {
    var kind: UInt16 { get }
    var shardCount: Int { get }
    /// Loads shard `shard`'s state from a snapshot section, complete through `lsn`.
    func load(shard: Int, lsn: UInt64, from reader: inout ByteReader) throws
    /// Applies one events record to its shard, unless that shard's snapshot already holds it.
    func replay(lsn: UInt64, envelope: consuming EventsEnvelope) throws
    func start(journal: Journal) -> any StartedAggregate
    /// Every shard's recovered state as snapshot sections complete through `lsn` (for `roost restore`).
    func sections(lsn: UInt64) -> [SnapshotSection]
}

/// An aggregate whose shards are live actors: what the engine snapshots.
protocol StartedAggregate: Sendable {
    var kind: UInt16 { get }
    func copies() async -> [SnapshotSection]
}

/// One shard's state, ready to be encoded off its actor.
struct SnapshotSection: @unchecked Sendable {
    var kind: UInt16
    var shard: Int
    var shardCount: Int
    var lsn: UInt64
    var encode: (inout ByteWriter) -> Void
}

final class Recovering<A: Aggregate>: RecoveringAggregate {
    let shardCount: Int
    private(set) var states: [A.State]
    private var loadedThrough: [UInt64]

    init(shardCount: Int) {
        self.shardCount = shardCount
        states = Array(repeating: A.initialState(), count: shardCount)
        loadedThrough = Array(repeating: 0, count: shardCount)
    }

    var kind: UInt16 { A.kind }

    func load(shard: Int, lsn: UInt64, from reader: inout ByteReader) throws {
        states[shard] = try A.decodeState(from: &reader)
        loadedThrough[shard] = lsn
    }

    func replay(lsn: UInt64, envelope: consuming EventsEnvelope) throws {
        guard envelope.shard < shardCount else {
            throw EngineError.unreadableState("record \(lsn) names shard \(envelope.shard) of aggregate \(A.kind), which has \(shardCount)")
        }
        let shard = envelope.shard
        guard lsn > loadedThrough[shard] else { return }
        try envelope.forEachEvent(A.Event.self) { event in A.apply(event, to: &states[shard]) }
    }

    func start(journal: Journal) -> any StartedAggregate {
        let shards = states.enumerated().map { index, state in
            Shard<A>(index: ShardIndex(validating: index, count: shardCount)!, state: state, journal: journal)
        }
        return Started(group: ShardGroup(shards: shards))
    }

    func sections(lsn: UInt64) -> [SnapshotSection] {
        states.enumerated().map { shard, state in
            SnapshotSection(kind: A.kind, shard: shard, shardCount: shardCount, lsn: lsn) { A.encode(state: state, into: &$0) }
        }
    }
}

struct Started<A: Aggregate>: StartedAggregate {
    let group: ShardGroup<A>

    var kind: UInt16 { A.kind }

    func copies() async -> [SnapshotSection] {
        var sections: [SnapshotSection] = []
        for shard in group.shards {
            let (state, lsn) = await shard.snapshotCopy()
            sections.append(
                SnapshotSection(kind: A.kind, shard: shard.index.value, shardCount: group.count, lsn: lsn) { writer in
                    A.encode(state: state, into: &writer)
                })
        }
        return sections
    }
}
