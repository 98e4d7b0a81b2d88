import RoostBinary
import RoostDomain

/// A small aggregate that proves the engine's machinery: named counters that may never go negative.
enum Tally: Aggregate {
    struct State: Equatable, Sendable {
        var counts: [String: Int64] = [:]
    }

    enum Command: Sendable {
        case add(key: String, amount: Int64)
        case reset(key: String)
    }

    enum Event: EventCoding, Sendable, Equatable {
        case added(key: String, amount: Int64)
        case reset(key: String)

        func encode(into writer: inout ByteWriter) {
            switch self {
            case let .added(key, amount):
                EventHeader(tag: 1, version: 1).write(into: &writer)
                writer.writeString(key)
                writer.write(amount)
            case let .reset(key):
                EventHeader(tag: 2, version: 1).write(into: &writer)
                writer.writeString(key)
            }
        }

        static func decode(from reader: inout ByteReader) throws(DecodeError) -> Event {
            let header = try EventHeader.read(from: &reader)
            switch (header.tag, header.version) {
            case (1, 1): return .added(key: try reader.readString(), amount: try reader.readInt64())
            case (2, 1): return .reset(key: try reader.readString())
            default: throw header.unknown(in: Event.self)
            }
        }
    }

    enum Rejection: Error, Equatable {
        case wouldGoNegative(key: String)
    }

    static let kind: UInt16 = 900

    static func initialState() -> State { State() }

    static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        switch command {
        case let .add(key, amount):
            if amount == 0 { return .success([]) }
            guard state.counts[key, default: 0] + amount >= 0 else { return .failure(.wouldGoNegative(key: key)) }
            return .success([.added(key: key, amount: amount)])
        case let .reset(key):
            return state.counts[key] == nil ? .success([]) : .success([.reset(key: key)])
        }
    }

    static func apply(_ event: Event, to state: inout State) {
        switch event {
        case let .added(key, amount): state.counts[key, default: 0] += amount
        case let .reset(key): state.counts[key] = nil
        }
    }

    static func encode(state: State, into writer: inout ByteWriter) {
        writer.writeVarint(state.counts.count)
        for key in state.counts.keys.sorted() {
            writer.writeString(key)
            writer.write(state.counts[key]!)
        }
    }

    static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        let count = try reader.readCount(limit: reader.remaining)
        for _ in 0..<count { state.counts[try reader.readString()] = try reader.readInt64() }
        return state
    }
}
