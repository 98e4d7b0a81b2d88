import Logging

/// Rate limits kept in Redis, so every API process using the same server and namespace shares them.
///
/// One `EVAL` per attempt runs `INCR`, sets the window's expiry on the first attempt (`PEXPIRE`)
/// and reads the time left (`PTTL`) atomically, so concurrent processes never lose a count or
/// leave a counter without expiry. The key is `<namespace>ratelimit:<key>`; the window is the
/// key's life (see `RateLimiter` for the semantics), and `Retry-After` is its TTL rounded up.
///
/// Used alone, a failed call lets the attempt through (fails open); `FallbackRateLimiter`
/// instead answers from an in-process limiter, which is what the API uses.
public struct RedisRateLimiter: RateLimiter {
    public let client: RedisClient
    public let namespace: String
    private let logger: Logger

    static let script = """
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if count == 1 or ttl < 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            ttl = tonumber(ARGV[1])
        end
        return {count, ttl}
        """

    public init(client: RedisClient, namespace: String = "roost:", logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.logger = logger
    }

    public func attempt(_ key: String, limit: Int, window: Duration) async -> RateLimitDecision {
        do {
            return try await attemptInRedis(key, limit: limit, window: window)
        } catch {
            logger.debug("Redis rate limit call failed; attempt allowed", metadata: ["error": "\(error)"])
            return RateLimitDecision(allowed: true, remaining: max(0, limit - 1), retryAfterSeconds: 0)
        }
    }

    /// Counts one attempt in Redis, or throws when Redis cannot answer.
    public func attemptInRedis(_ key: String, limit: Int, window: Duration) async throws(RedisError) -> RateLimitDecision {
        let reply = try await client.command([
            Array("EVAL".utf8), Array(Self.script.utf8), Array("1".utf8),
            storageKey(key), Array(String(window.rateLimitMilliseconds).utf8),
        ])
        guard case .array(let values) = reply, values.count == 2, let count = values[0].integer, let ttl = values[1].integer else {
            throw .protocolError("unexpected rate limit script reply")
        }
        return RateLimitDecision(count: Int(clamping: count), limit: limit, millisecondsLeft: ttl)
    }

    func storageKey(_ key: String) -> [UInt8] { Array("\(namespace)ratelimit:\(key)".utf8) }
}

/// Redis first; while Redis fails (errors, timeouts, or the client's breaker is open) the
/// in-process limiter answers, so the API keeps serving with per-process limits. It returns to
/// Redis by itself as soon as Redis answers again (the breaker lets a probe through after its
/// cool-down). Counts made in process are not copied to Redis, and during an outage each API
/// process enforces the limit on its own, so the fleet-wide limit is briefly `processes × limit`.
public struct FallbackRateLimiter: RateLimiter {
    public let primary: RedisRateLimiter
    public let fallback: any RateLimiter

    public init(primary: RedisRateLimiter, fallback: any RateLimiter = InProcessRateLimiter()) {
        self.primary = primary
        self.fallback = fallback
    }

    public func attempt(_ key: String, limit: Int, window: Duration) async -> RateLimitDecision {
        do {
            return try await primary.attemptInRedis(key, limit: limit, window: window)
        } catch {
            return await fallback.attempt(key, limit: limit, window: window)
        }
    }
}
