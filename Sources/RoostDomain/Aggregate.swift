import RoostBinary

/// A point in time, as milliseconds since the Unix epoch (UTC). Decided once, when an event is
/// created, and carried in the event: replay never reads a clock.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }
    public var description: String { "\(millisecondsSinceEpoch)ms" }
}

/// What a decision may depend on besides the command and the state: the time, passed in.
public struct DecisionContext: Sendable {
    public var now: Timestamp
    public init(now: Timestamp) { self.now = now }
}

/// One kind of state the engine owns (listings, accounts, the ledger), split into shards.
///
/// `decide` and `apply` are pure and deterministic: the same command on the same state gives
/// the same events, and the same events give the same state. The live path and WAL replay
/// call the same `apply`, so a recovered state is the state that was acknowledged.
///
/// Its metatype is sendable: generic code reads shards from concurrent tasks (`ShardGroup.scatter`).
public protocol Aggregate: SendableMetatype {
    associatedtype State: Sendable & Equatable
    associatedtype Command: Sendable
    associatedtype Event: EventCoding & Sendable
    associatedtype Rejection: Error & Sendable

    /// The aggregate's frozen tag in the WAL and in snapshots. Never reused once retired.
    static var kind: UInt16 { get }

    static func initialState() -> State

    /// Checks `command` against `state` and returns the events that record its effect, or why not.
    static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection>

    /// Changes `state` by one event. Must not fail: events were validated by `decide` and by decoding.
    static func apply(_ event: Event, to state: inout State)

    static func encode(state: State, into writer: inout ByteWriter)
    static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State
}
