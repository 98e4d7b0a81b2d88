import RoostDomain

/// The single owner of one shard of an aggregate's state.
///
/// `execute` runs decide → journal → apply on this actor with no `await` in between, so no other
/// command on this shard can slip in between the check and the change it guards (actors are
/// re-entrant only at an `await`). It then waits, off the actor, for the group commit that makes
/// its record durable; only then does the caller learn the outcome. (`executeUndurable` leaves that
/// wait to the caller, who must make it before telling anyone.)
///
/// Only this actor changes the state; a reader–writer lock guards it so that readers need not hop
/// onto the actor. `peek` reads it from the caller's own thread: a search visits every shard in
/// turn without a task switch per shard, and two searches read one shard side by side. The lock
/// decides nothing (two commands never race for it: both run on this actor, one after the other);
/// it only keeps readers off a half-applied event.
public actor Shard<A: Aggregate> {
    public let index: ShardIndex
    private let journal: Journal
    private let state: ReadWriteLocked<A.State>

    init(index: ShardIndex, state: consuming A.State, journal: Journal) {
        self.index = index
        self.state = ReadWriteLocked(state)
        self.journal = journal
    }

    /// Decides `command` and, if it is accepted, records and applies its events and waits until they
    /// are durable. Returns the events (empty when the command changed nothing).
    ///
    /// Only the deciding, recording and applying run on this actor. The wait for the fsync runs off it:
    /// the group commit then resumes the caller directly, not through a hop back onto this actor and
    /// another off it, and the actor takes the next command meanwhile either way.
    @discardableResult
    public nonisolated func execute(_ command: A.Command, now: Timestamp) async throws -> [A.Event] {
        let recorded = try await executeUndurable(command, now: now)
        try await waitDurable(recorded)
        return recorded.events
    }

    /// `execute` without the wait: decides, journals and applies `command`, and returns once its events are applied,
    /// before their record is durable. The caller must not report the outcome to anyone until it has passed the result
    /// to `waitDurable`, or waited for a record of any shard appended after it (the journal is one ordered log, so a
    /// durable record has every earlier one durable too).
    ///
    /// For a caller with several commands to make in turn: waiting only for the last one spares each command before it
    /// a stop of its own (the writer's resumption and the hand-off back), and under load a sync of its own.
    public nonisolated func executeUndurable(_ command: A.Command, now: Timestamp) async throws -> Recorded<A.Event> {
        let (events, lsn) = try await record(command, now: now)
        return Recorded(events: events, lsn: lsn)
    }

    /// Returns when `recorded` is on disk (at once if it recorded nothing or is already there).
    public nonisolated func waitDurable(_ recorded: Recorded<A.Event>) async throws {
        if let lsn = recorded.lsn { try await journal.waitDurable(lsn) }
    }

    /// Decides `command` and, if it is accepted, journals and applies its events, with no `await` in between.
    /// Returns them with the LSN of their record (nil when there are none).
    private func record(_ command: A.Command, now: Timestamp) throws -> (events: [A.Event], lsn: UInt64?) {
        // Decided without the lock: this actor is the state's only writer, so nothing changes it
        // until `apply` below (and nothing here awaits). A refusal takes no lock at all.
        let decision = state.readAsWriter { A.decide(command, state: $0, context: DecisionContext(now: now)) }
        let events: [A.Event]
        switch decision {
        case let .failure(rejection): throw rejection
        case let .success(decided): events = decided
        }
        guard !events.isEmpty else { return ([], nil) }
        let lsn = try journal.append(kind: A.kind, shard: index, at: now, events: events)
        state.write { state in for event in events { A.apply(event, to: &state) } }
        return (events, lsn)
    }

    /// Reads the current state (which may include effects still waiting for their fsync), with no
    /// hop onto the actor: `body` runs on the caller's thread while it holds the shard's lock to
    /// read, so it must be short (the shard's writes wait for it), must not peek at any shard again
    /// (a waiting write would hold the inner read back for ever; two such nestings in opposite order
    /// on two shards could hold each other), and should not copy the
    /// state out (a copy would make the next write copy the shard's storage; only checks and tests
    /// take whole states).
    public nonisolated func peek<T>(_ body: (A.State) throws -> T) rethrows -> T {
        try state.read(body)
    }

    /// A copy of the state and the LSN it is complete through.
    ///
    /// Every record of this shard is appended inside this actor, so when this runs, every record
    /// of this shard up to the journal's last LSN has already been applied: the copy holds exactly
    /// the records at or below that LSN. Copying is cheap (copy-on-write); encoding happens elsewhere.
    func snapshotCopy() -> (state: A.State, lsn: UInt64) { (state.read { $0 }, journal.lastAppendedLSN) }
}

/// What `Shard.executeUndurable` applied, and the record that is not yet known to be durable.
public struct Recorded<Event: Sendable>: Sendable {
    public let events: [Event]
    /// The record's LSN; nil when the command changed nothing.
    public let lsn: UInt64?
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
