import Foundation
import RoostTestSupport
import Testing

@testable import RoostCache

@Suite(.enabled(if: redisAvailable, "needs ROOST_TEST_REDIS_URL"))
struct RedisCacheTests {
    @Test func valuesRoundTripWithTheirTTLAndCanBeDeleted() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let cache = RedisCache(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        let value: [UInt8] = [0, 255, 7, 0]

        #expect(await cache.get("listing:1") == nil)
        await cache.set("listing:1", value, ttlSeconds: 30)
        #expect(await cache.get("listing:1") == value)

        let ttl = try await client.command([Array("PTTL".utf8), cache.entryKey("listing:1")]).integer ?? -1
        #expect((20_000...30_000).contains(ttl), "stored with EX 30 (PTTL \(ttl)); slack for a loaded machine")

        await cache.delete("listing:1")
        #expect(await cache.get("listing:1") == nil)

        await cache.set("listing:2", value, ttlSeconds: 0)
        #expect(await cache.get("listing:2") == nil, "a non-positive TTL stores nothing")
    }

    @Test func entriesExpire() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let cache = RedisCache(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        await cache.set("short", [1], ttlSeconds: 30)
        #expect(await cache.get("short") == [1])
        // Shorten the TTL server-side rather than sleeping a whole second.
        _ = try await client.command([Array("PEXPIRE".utf8), cache.entryKey("short"), Array("20".utf8)])
        #expect(await eventually(within: .seconds(1)) { await cache.get("short") == nil })
    }

    @Test func versionsCountUpAndNamespacesAreApart() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let namespace = uniqueNamespace()
        let cache = RedisCache(client: client, namespace: namespace, logger: quietLogger)
        let sameNamespace = RedisCache(client: client, namespace: namespace, logger: quietLogger)
        let otherNamespace = RedisCache(client: client, namespace: uniqueNamespace(), logger: quietLogger)

        #expect(await cache.version("search") == 0)
        #expect(await cache.bumpVersion("search") == 1)
        #expect(await sameNamespace.bumpVersion("search") == 2)
        #expect(await cache.version("search") == 2)
        #expect(await otherNamespace.version("search") == 0)

        await cache.set("k", [1], ttlSeconds: 60)
        #expect(await sameNamespace.get("k") == [1], "a second API process sees the entry")
        #expect(await otherNamespace.get("k") == nil)
        #expect(await cache.get("version:search") == nil, "entries and versions do not collide")
    }
}

@Suite(.enabled(if: redisAvailable, "needs ROOST_TEST_REDIS_URL"))
struct RedisRateLimiterTests {
    @Test func allowsTheLimitThenDeniesWithTheTimeLeft() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let limiter = RedisRateLimiter(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        // A long window, so even a starved machine cannot let it lapse between the attempts.
        for expectedRemaining in [2, 1, 0] {
            let decision = try await limiter.attemptInRedis("login:ip", limit: 3, window: .seconds(600))
            #expect(decision == .init(allowed: true, remaining: expectedRemaining, retryAfterSeconds: 0))
        }
        let denied = try await limiter.attemptInRedis("login:ip", limit: 3, window: .seconds(600))
        #expect(!denied.allowed && denied.remaining == 0)
        #expect((540...600).contains(denied.retryAfterSeconds), "Retry-After \(denied.retryAfterSeconds)")
        #expect(try await limiter.attemptInRedis("login:other", limit: 3, window: .seconds(600)).allowed)
    }

    @Test func twoProcessesShareOneCount() async throws {
        let namespace = uniqueNamespace()
        let clientA = try sharedClient(connections: 1)
        let clientB = try sharedClient(connections: 1)
        defer {
            clientA.shutdown()
            clientB.shutdown()
        }
        let processA = RedisRateLimiter(client: clientA, namespace: namespace, logger: quietLogger)
        let processB = RedisRateLimiter(client: clientB, namespace: namespace, logger: quietLogger)

        #expect(try await processA.attemptInRedis("signup", limit: 3, window: .seconds(60)).remaining == 2)
        #expect(try await processB.attemptInRedis("signup", limit: 3, window: .seconds(60)).remaining == 1)
        #expect(try await processA.attemptInRedis("signup", limit: 3, window: .seconds(60)).remaining == 0)
        #expect(try await processB.attemptInRedis("signup", limit: 3, window: .seconds(60)).allowed == false)
    }

    @Test func concurrentAttemptsNeverOverAdmit() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let limiter = RedisRateLimiter(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        let allowed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 { group.addTask { (try? await limiter.attemptInRedis("hot", limit: 25, window: .seconds(60)).allowed) ?? false } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(allowed == 25)
    }

    @Test func theWindowResets() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let limiter = RedisRateLimiter(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        let window = Duration.seconds(5)  // long enough that a loaded machine can't let it lapse between two calls
        #expect(try await limiter.attemptInRedis("k", limit: 1, window: window).allowed)
        let denied = try await limiter.attemptInRedis("k", limit: 1, window: window)
        #expect(!denied.allowed && denied.remaining == 0)
        #expect((1...5).contains(denied.retryAfterSeconds), "what is left of the 5 s window, rounded up")
        try await Task.sleep(for: .milliseconds(5_100))
        #expect(try await limiter.attemptInRedis("k", limit: 1, window: window).allowed)
    }

    @Test func aCounterWithoutExpiryIsRepaired() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let limiter = RedisRateLimiter(client: client, namespace: uniqueNamespace(), logger: quietLogger)
        _ = try await client.command([Array("SET".utf8), limiter.storageKey("stuck"), Array("7".utf8)])
        let decision = try await limiter.attemptInRedis("stuck", limit: 10, window: .seconds(30))
        #expect(decision.remaining == 2)
        let ttl = try await client.command([Array("PTTL".utf8), limiter.storageKey("stuck")]).integer ?? -1
        #expect((1...30_000).contains(ttl), "the window's expiry is set, so the key cannot lock a caller out for ever")
    }
}
