import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking hiredis connection, owned by exactly one worker thread (so not `Sendable`).
///
/// Connects lazily on first use. Any transport failure (lost connection, timeout, unreadable
/// reply) frees the context, since a late reply could otherwise be read as the answer to the
/// next command; the next call connects afresh.
final class RedisConnection {
    private let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?
    /// The breaker generation this connection was opened in; see `CircuitBreaker.generation`.
    private(set) var generation: UInt64 = 0

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    deinit { close() }

    var isConnected: Bool { context != nil }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Runs one command, connecting first if needed. A top-level error reply is `.server`.
    func execute(_ arguments: [[UInt8]], generation current: UInt64) -> Result<RedisReply, RedisError> {
        if context != nil && generation != current { close() }
        if context == nil {
            if let error = connect() { return .failure(error) }
            generation = current
        }
        guard let context else { return .failure(.connection("not connected")) }
        let result = Self.send(arguments, on: context)
        if case .failure(let error) = result, error.isTransportFailure { close() }
        return result
    }

    private func connect() -> RedisError? {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            return .connection("cannot allocate a connection")
        }
        guard context.pointee.err == 0 else {
            let error = Self.error(of: context)
            redisFree(context)
            return error
        }
        guard redisSetTimeout(context, timeval(configuration.commandTimeout)) == REDIS_OK else {
            let error = Self.error(of: context)
            redisFree(context)
            return error
        }
        _ = redisEnableKeepAlive(context)
        self.context = context

        if let password = configuration.password {
            var auth = [Array("AUTH".utf8)]
            if let username = configuration.username { auth.append(Array(username.utf8)) }
            auth.append(Array(password.utf8))
            if let error = handshake(auth, what: "AUTH") { return error }
        }
        if configuration.database != 0 {
            if let error = handshake([Array("SELECT".utf8), Array(String(configuration.database).utf8)], what: "SELECT") { return error }
        }
        return nil
    }

    /// Runs a connection set-up command; on any failure closes the connection.
    private func handshake(_ arguments: [[UInt8]], what: String) -> RedisError? {
        guard let context else { return .connection("not connected") }
        switch Self.send(arguments, on: context) {
        case .success:
            return nil
        case .failure(.server(let message)):
            close()
            return .connection("\(what) refused: \(message)")
        case .failure(let error):
            close()
            return error
        }
    }

    /// Sends one command with `redisCommandArgv` (binary safe) and converts its reply.
    private static func send(_ arguments: [[UInt8]], on context: UnsafeMutablePointer<redisContext>) -> Result<RedisReply, RedisError> {
        guard !arguments.isEmpty else { return .failure(.protocolError("empty command")) }
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            flat.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        flat.append(0)  // never empty, so the buffer has a base address
        let raw: UnsafeMutableRawPointer? = flat.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            let characters = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(lengths.count)
            var offset = 0
            for length in lengths {
                argv.append(characters + offset)
                offset += length
            }
            return redisCommandArgv(context, Int32(argv.count), &argv, lengths)
        }
        guard let raw else { return .failure(error(of: context)) }
        defer { freeReplyObject(raw) }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        do {
            let converted = try convert(reply)
            if case .error(let message) = converted { return .failure(.server(message)) }
            return .success(converted)
        } catch {
            return .failure(error)
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) throws(RedisError) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(bytes(value))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element?[index] else { throw .protocolError("missing array element") }
                elements.append(try convert(element))
            }
            return .array(elements)
        default:
            throw .protocolError("unknown reply type \(value.type)")
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let str = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
    }

    /// Maps a context's error flags (read right after the failing call) to a `RedisError`.
    private static func error(of context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let code = errno
        let message = withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch context.pointee.err {
        case REDIS_ERR_IO where code == EAGAIN || code == EWOULDBLOCK || code == ETIMEDOUT || isTimeoutMessage(message):
            return .timeout
        case REDIS_ERR_EOF:
            return .connection("the server closed the connection")
        case REDIS_ERR_PROTOCOL:
            return .protocolError(message)
        default:
            return .connection(message.isEmpty ? "unknown error" : message)
        }
    }

    private static func isTimeoutMessage(_ message: String) -> Bool {
        message == String(cString: strerror(EAGAIN)) || message == String(cString: strerror(ETIMEDOUT))
    }
}

extension timeval {
    /// A timeout for hiredis; at least a millisecond, since zero would mean "wait forever".
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let microseconds = attoseconds / 1_000_000_000_000
        if seconds <= 0 && microseconds < 1000 {
            self.init(tv_sec: 0, tv_usec: 1000)
        } else {
            self.init(tv_sec: Int(seconds), tv_usec: Int(microseconds))
        }
    }
}
