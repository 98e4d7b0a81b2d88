import Logging

/// The cache and rate limiter the API uses, chosen from `ROOST_REDIS_URL`.
///
/// With a URL: `RedisCache` and a `FallbackRateLimiter` (Redis, in-process while Redis is down)
/// over one `RedisClient`, which connects lazily, so start-up does not depend on Redis being up.
/// Without one: `InProcessCache` and `InProcessRateLimiter`, per process.
public struct CacheBackend: Sendable {
    public let cache: any Cache
    public let rateLimiter: any RateLimiter
    /// The client behind both, when Redis is configured (for health checks: `circuitState`, `ping()`).
    public let redis: RedisClient?

    public init(cache: any Cache, rateLimiter: any RateLimiter, redis: RedisClient?) {
        self.cache = cache
        self.rateLimiter = rateLimiter
        self.redis = redis
    }

    /// Builds the backend. A nil or blank `redisURL` means no Redis.
    ///
    /// - Parameters:
    ///   - redisURL: `redis://[[user]:password@]host[:port][/db]`.
    ///   - namespace: the prefix of every Redis key, so several deployments can share a server.
    ///   - tune: adjusts the parsed configuration (pool size, timeouts, breaker) before the client starts.
    /// - Throws: `RedisConfigurationError` when the URL cannot be used; its description says why
    ///   without repeating the URL (which may hold a password).
    public static func make(
        redisURL: String?,
        namespace: String = "roost:",
        logger: Logger,
        tune: (inout RedisConfiguration) -> Void = { _ in }
    ) throws(RedisConfigurationError) -> CacheBackend {
        guard let redisURL, !redisURL.allSatisfy(\.isWhitespace) else {
            logger.info("No Redis configured: cache and rate limits are kept in process")
            return CacheBackend(cache: InProcessCache(), rateLimiter: InProcessRateLimiter(), redis: nil)
        }
        var configuration = try RedisConfiguration(url: redisURL)
        tune(&configuration)
        let client = RedisClient(configuration: configuration, logger: logger)
        logger.info("Cache and rate limits in Redis", metadata: ["redis.server": "\(configuration.redactedDescription)"])
        return CacheBackend(
            cache: RedisCache(client: client, namespace: namespace, logger: logger),
            rateLimiter: FallbackRateLimiter(primary: RedisRateLimiter(client: client, namespace: namespace, logger: logger)),
            redis: client
        )
    }

    /// Stops the Redis client's threads, if any (see `RedisClient.shutdown()`).
    public func shutdown() {
        redis?.shutdown()
    }
}
