/// One reply from Redis (RESP2, as hiredis 0.14 reads it).
///
/// A top-level error reply is thrown as `RedisError.server` instead; `.error` only appears
/// nested inside an array (for example a script returning `redis.error_reply` in a table).
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case string([UInt8])
    case array([RedisReply])
    case null

    /// The value of an integer reply.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The bytes of a bulk string reply.
    public var bytes: [UInt8]? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The text of a status reply, or a bulk string reply that is valid UTF-8.
    public var text: String? {
        switch self {
        case .status(let value): value
        case .string(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }
}

/// Why a Redis call failed.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Could not connect, the connection was lost, or `AUTH`/`SELECT` was refused.
    case connection(String)
    /// No connection or no reply within the configured timeout; the connection was dropped.
    case timeout
    /// Redis answered with an error reply, such as `WRONGTYPE …` or `NOSCRIPT …`.
    case server(String)
    /// The circuit breaker is open: the call failed at once, without touching the network.
    case circuitOpen
    /// The reply could not be understood.
    case protocolError(String)
    /// The client was shut down.
    case shutdown

    public var description: String {
        switch self {
        case .connection(let reason): "Redis connection failed: \(reason)"
        case .timeout: "Redis did not answer in time"
        case .server(let message): "Redis error reply: \(message)"
        case .circuitOpen: "Redis circuit breaker is open"
        case .protocolError(let reason): "Redis protocol error: \(reason)"
        case .shutdown: "Redis client is shut down"
        }
    }

    /// Whether this failure says Redis is unreachable or unhealthy (and so counts towards opening the breaker).
    var isTransportFailure: Bool {
        switch self {
        case .connection, .timeout, .protocolError: true
        case .server(let message): message.hasPrefix("LOADING") || message.hasPrefix("BUSY")
        case .circuitOpen, .shutdown: false
        }
    }
}
