import RoostDomain

/// The single owner of one shard of an aggregate's state.
///
/// `execute` runs decide → journal → apply with no `await` in between, so no other command on
/// this shard can slip in between the check and the change it guards (actors are re-entrant
/// only at an `await`). It then waits for the group commit that makes its record durable; only
/// then does the caller learn the outcome.
public actor Shard<A: Aggregate> {
    public let index: ShardIndex
    private let journal: Journal
    private var state: A.State

    init(index: ShardIndex, state: A.State, journal: Journal) {
        self.index = index
        self.state = state
        self.journal = journal
    }

    /// Decides `command` and, if it is accepted, records and applies its events and waits until they
    /// are durable. Returns the events (empty when the command changed nothing).
    @discardableResult
    public func execute(_ command: A.Command, now: Timestamp) async throws -> [A.Event] {
        let events: [A.Event]
        switch A.decide(command, state: state, context: DecisionContext(now: now)) {
        case let .failure(rejection): throw rejection
        case let .success(decided): events = decided
        }
        guard !events.isEmpty else { return [] }
        let lsn = try journal.append(kind: A.kind, shard: index, at: now, events: events)
        for event in events { A.apply(event, to: &state) }
        try await journal.waitDurable(lsn)
        return events
    }

    /// Reads the current state (which may include effects still waiting for their fsync).
    public func read<T: Sendable>(_ body: @Sendable (A.State) throws -> T) rethrows -> T { try body(state) }

    /// A copy of the state and the LSN it is complete through.
    ///
    /// Every record of this shard is appended inside this actor, so when this runs, every record
    /// of this shard up to the journal's last LSN has already been applied: the copy holds exactly
    /// the records at or below that LSN. Copying is cheap (copy-on-write); encoding happens elsewhere.
    func snapshotCopy() -> (state: A.State, lsn: UInt64) { (state, journal.lastAppendedLSN) }
}

/// All the shards of one aggregate, and the routing of keys to them.
public final class ShardGroup<A: Aggregate>: Sendable {
    public let shards: [Shard<A>]

    init(shards: [Shard<A>]) { self.shards = shards }

    public var count: Int { shards.count }

    /// The shard that owns `key` (an entity id's bytes).
    public func shard(for key: String) -> Shard<A> { shards[index(for: key)] }

    /// The position in `shards` of the shard that owns `key`.
    public func index(for key: String) -> Int { ShardIndex(key: key, count: shards.count).value }
}
