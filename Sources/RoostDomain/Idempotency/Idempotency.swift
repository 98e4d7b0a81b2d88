import RoostBinary

/// Saved answers to requests sent with an `Idempotency-Key`, with Stripe's semantics: the same
/// key with the same request replays the first answer; with another request it is refused. Keys
/// are scoped per user and kept 24 hours; sharded by scope (`user|key`), durable like any state.
public enum Idempotency: Aggregate {
    public struct Answer: Hashable, Sendable {
        /// `user|key`.
        public var scope: String
        /// SHA-256 of the request (method, path and body): what "the same request" means.
        public var fingerprint: [UInt8]
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public var savedAt: Timestamp

        public init(scope: String, fingerprint: [UInt8], status: Int, contentType: String, body: [UInt8], savedAt: Timestamp) {
            self.scope = scope
            self.fingerprint = fingerprint
            self.status = status
            self.contentType = contentType
            self.body = body
            self.savedAt = savedAt
        }
    }

    public struct State: Equatable, Sendable {
        public internal(set) var answers: [String: Answer] = [:]
        public init() {}
    }

    public enum Command: Sendable {
        /// Keeps the first answer for a scope: a second save of the same scope is refused.
        case save(Answer)
        /// Forgets answers saved before `cutoff`.
        case forget(before: Timestamp)
    }

    public enum Event: Sendable, Equatable {
        case saved(Answer)
        case forgotten([String])
    }

    public enum Rejection: Error, Equatable, Sendable {
        case answered
    }

    public static let kind: UInt16 = 5
    public static let keptMilliseconds: Int64 = 24 * 3_600_000

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        switch command {
        case let .save(answer):
            if let earlier = state.answers[answer.scope], earlier.savedAt.millisecondsSinceEpoch + keptMilliseconds > context.now.millisecondsSinceEpoch {
                return .failure(.answered)
            }
            return .success([.saved(answer)])
        case let .forget(cutoff):
            let old = state.answers.values.filter { $0.savedAt < cutoff }.map(\.scope).sorted()
            return .success(old.isEmpty ? [] : [.forgotten(old)])
        }
    }

    public static func apply(_ event: Event, to state: inout State) {
        switch event {
        case let .saved(answer): state.answers[answer.scope] = answer
        case let .forgotten(scopes): for scope in scopes { state.answers[scope] = nil }
        }
    }

    public static func encode(state: State, into writer: inout ByteWriter) {
        writer.writeVarint(state.answers.count)
        for scope in state.answers.keys.sorted() { writer.write(state.answers[scope]!) }
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let answer = try reader.readIdempotentAnswer()
            state.answers[answer.scope] = answer
        }
        return state
    }
}

extension ByteWriter {
    mutating func write(_ answer: Idempotency.Answer) {
        writeString(answer.scope)
        writeBytes(answer.fingerprint)
        writeVarint(answer.status)
        writeString(answer.contentType)
        writeBytes(answer.body)
        write(answer.savedAt)
    }
}

extension ByteReader {
    mutating func readIdempotentAnswer() throws(DecodeError) -> Idempotency.Answer {
        let scope = try readString(), fingerprint = try readBytes(), status = try readInt()
        guard (100...599).contains(status) else { throw .invalid("HTTP status \(status)") }
        return Idempotency.Answer(
            scope: scope, fingerprint: fingerprint, status: status, contentType: try readString(), body: try readBytes(), savedAt: try readTimestamp()
        )
    }
}

/// The frozen on-disk tags of `Idempotency.Event`.
extension Idempotency.Event: EventCoding {
    public func encode(into writer: inout ByteWriter) {
        switch self {
        case let .saved(answer):
            EventHeader(tag: 1, version: 1).write(into: &writer)
            writer.write(answer)
        case let .forgotten(scopes):
            EventHeader(tag: 2, version: 1).write(into: &writer)
            writer.writeVarint(scopes.count)
            for scope in scopes { writer.writeString(scope) }
        }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self {
        let header = try EventHeader.read(from: &reader)
        switch (header.tag, header.version) {
        case (1, 1): return .saved(try reader.readIdempotentAnswer())
        case (2, 1):
            var scopes: [String] = []
            for _ in 0..<(try reader.readCount(limit: reader.remaining)) { scopes.append(try reader.readString()) }
            return .forgotten(scopes)
        default: throw header.unknown(in: Self.self)
        }
    }
}
