import Foundation
import RoostTestSupport
import Testing

@testable import RoostCache

/// Client behaviour that needs no Redis: refused connections, a hung server, shutdown.
@Suite(.timeLimit(.minutes(1))) struct RedisClientFailureTests {
    @Test func aRefusedConnectionOpensTheBreakerThenCallsFailFast() async {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: freeLoopbackPort())
        configuration.failureThreshold = 2
        configuration.cooldown = .seconds(30)
        let client = RedisClient(configuration: configuration, logger: quietLogger)
        defer { client.shutdown() }

        for _ in 0..<2 {
            await #expect {
                try await client.ping()
            } throws: { error in
                if case .connection = error as? RedisError { return true } else { return false }
            }
        }
        #expect(client.circuitState == .open)
        await #expect(throws: RedisError.circuitOpen, "failed without trying to connect") { try await client.ping() }

        let cache = RedisCache(client: client, logger: quietLogger)
        await cache.set("k", [1], ttlSeconds: 60)
        #expect(await cache.get("k") == nil, "a failing Redis is a miss, not an error")
        #expect(await cache.bumpVersion("v") == 0)
        #expect(await cache.version("v") == 0)
    }

    @Test func aHungServerTimesOutInsteadOfHanging() async {
        let hung = LoopbackSocket(listening: true)
        var configuration = RedisConfiguration(host: "127.0.0.1", port: hung.port)
        configuration.commandTimeout = .milliseconds(100)
        let client = RedisClient(configuration: configuration, logger: quietLogger)
        defer { client.shutdown() }

        let started = ContinuousClock.now
        await #expect(throws: RedisError.timeout) { try await client.command("GET", "k") }
        // It waited for the timeout, and it came back (a hang would run into the suite's time
        // limit). No upper bound on the wait: on two cores busy with the rest of the suite, the
        // awaiting task can be resumed seconds after hiredis's own timer fired on its thread.
        #expect(ContinuousClock.now - started >= .milliseconds(90))
    }

    @Test func shutdownFailsLaterCalls() async {
        let client = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: freeLoopbackPort()), logger: quietLogger)
        client.shutdown()
        await #expect(throws: RedisError.shutdown) { try await client.ping() }
        client.shutdown()  // idempotent
    }
}

/// Against the shared test server (`ROOST_TEST_REDIS_URL`).
@Suite(.enabled(if: redisAvailable, "needs ROOST_TEST_REDIS_URL"))
struct RedisClientTests {
    @Test func repliesOfEveryKindRoundTrip() async throws {
        let client = try sharedClient()
        defer { client.shutdown() }
        let key = uniqueNamespace() + "k"
        let binary: [UInt8] = [0, 1, 255, 13, 10, 0]

        #expect(try await client.command("PING") == .status("PONG"))
        #expect(try await client.command([Array("SET".utf8), Array(key.utf8), binary]) == .status("OK"))
        #expect(try await client.command("GET", key) == .string(binary))
        #expect(try await client.command("GET", key + ":missing") == .null)
        #expect(try await client.command("SET", key + ":empty", "") == .status("OK"))
        #expect(try await client.command("GET", key + ":empty") == .string([]))
        #expect(try await client.command("INCR", key + ":n") == .integer(1))
        #expect(try await client.command("RPUSH", key + ":list", "a", "b") == .integer(2))
        #expect(try await client.command("LRANGE", key + ":list", "0", "-1") == .array([.string(Array("a".utf8)), .string(Array("b".utf8))]))
        #expect(
            try await client.command("EVAL", "return {1, redis.error_reply('MYERR boom'), false, {'x'}}", "0")
                == .array([.integer(1), .error("MYERR boom"), .null, .array([.string(Array("x".utf8))])])
        )
        await #expect {
            try await client.command("INCR", key + ":list")
        } throws: { error in
            if case .server(let message) = error as? RedisError { return message.hasPrefix("WRONGTYPE") } else { return false }
        }
        #expect(client.circuitState == .closed, "an error reply is an answer, not an outage")
        _ = try await client.command("DEL", key, key + ":empty", key + ":n", key + ":list")
    }

    @Test func theURLDatabaseIsSelected() async throws {
        let key = uniqueNamespace() + "db"
        var configuration = try RedisConfiguration(url: sharedRedisURL ?? "")
        configuration.database = 5
        let inFive = RedisClient(configuration: configuration, logger: quietLogger)
        let inZero = try sharedClient()
        defer {
            inFive.shutdown()
            inZero.shutdown()
        }
        _ = try await inFive.command("SET", key, "here", "EX", "60")
        #expect(try await inFive.command("GET", key) == .string(Array("here".utf8)))
        #expect(try await inZero.command("GET", key) == .null)
    }

    @Test func aConnectionFromBeforeTheBreakerOpenedIsReplaced() throws {
        let connection = RedisConnection(configuration: try RedisConfiguration(url: sharedRedisURL ?? ""))
        let clientID = [Array("CLIENT".utf8), Array("ID".utf8)]
        let first = try connection.execute(clientID, generation: 0).get()
        #expect(try connection.execute(clientID, generation: 0).get() == first, "kept while the generation holds")
        let afterOpening = try connection.execute(clientID, generation: 1).get()
        #expect(afterOpening != first, "a new generation means a new connection")
        #expect(connection.generation == 1)
    }

    @Test func manyConcurrentCallersGetEveryIncrement() async throws {
        let client = try sharedClient(connections: 4)
        defer { client.shutdown() }
        let key = uniqueNamespace() + "counter"
        let results = await withTaskGroup(of: [Int64].self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var seen: [Int64] = []
                    for _ in 0..<100 { seen.append((try? await client.command("INCR", key))?.integer ?? -1) }
                    return seen
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(results.sorted() == Array(1...1600), "every INCR answered once, in some order")
        #expect(try await client.command("GET", key) == .string(Array("1600".utf8)))
        _ = try await client.command("DEL", key)
    }

    @Test func shutdownWhileBusyAnswersEveryCaller() async throws {
        let client = try sharedClient(connections: 2)
        let key = uniqueNamespace() + "busy"
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    do {
                        _ = try await client.command("INCR", key)
                        return true
                    } catch {
                        return (error as? RedisError) == .shutdown
                    }
                }
            }
            group.addTask {
                client.shutdown()
                return true
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 201 && outcomes.allSatisfy { $0 }, "each call succeeded or failed with .shutdown; none hung")
        let cleanup = try sharedClient(connections: 1)
        _ = try await cleanup.command("DEL", key)
        cleanup.shutdown()
    }
}

/// Against a redis-server each test starts for itself, so it can be configured, stopped or slowed.
@Suite(.enabled(if: redisAvailable, "needs redis-server (make test provides it)"))
struct PrivateRedisTests {
    @Test func authIsSentOnConnect() async throws {
        let server = try PrivateRedis(arguments: ["--requirepass", "s3cret"])
        let good = RedisClient(configuration: try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)"), logger: quietLogger)
        let bad = RedisClient(configuration: try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)"), logger: quietLogger)
        defer {
            good.shutdown()
            bad.shutdown()
        }
        #expect(try await good.command("PING") == .status("PONG"))
        await #expect {
            try await bad.ping()
        } throws: { error in
            if case .connection(let reason) = error as? RedisError { return reason.hasPrefix("AUTH refused") } else { return false }
        }
    }

    @Test func aSlowCommandTimesOutAndTheLateReplyIsNeverMistakenForTheNext() async throws {
        let server = try PrivateRedis(arguments: ["--enable-debug-command", "yes"])
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connections = 1
        configuration.commandTimeout = .milliseconds(150)
        configuration.failureThreshold = 1_000  // never opens here: recovery must come from reconnecting
        let client = RedisClient(configuration: configuration, logger: quietLogger)
        defer { client.shutdown() }
        _ = try await client.command("SET", "k", "v")

        // `.timeout` rather than the reply means the timer fired before the sleep ended.
        await #expect(throws: RedisError.timeout) { try await client.command("DEBUG", "SLEEP", "3") }

        // The timed-out connection must be replaced: hiredis fails an errored context for ever, and
        // a socket reused regardless would hand DEBUG SLEEP's late OK to the next command. So every
        // probe must get its own echo back, soon after the sleep ends.
        var probes = 0
        let answered = await eventually(within: .seconds(8)) {
            probes += 1
            let probe = "probe-\(probes)"
            return (try? await client.command("ECHO", probe)) == .string(Array(probe.utf8))
        }
        #expect(answered, "a fresh connection answers once the sleep is over")
        #expect(client.circuitState == .closed)
        #expect(try await client.command("GET", "k") == .string(Array("v".utf8)))
        #expect(try await client.command("ECHO", "last") == .string(Array("last".utf8)))
    }

    @Test func theLimiterFallsBackWhileRedisIsDownAndReturnsWhenItIsBack() async throws {
        let server = try PrivateRedis()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connections = 2
        // Generous: a killed server refuses at once, and a live one may answer late on two busy cores.
        configuration.connectTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(2)
        configuration.failureThreshold = 2
        configuration.cooldown = .milliseconds(50)
        configuration.maxCooldown = .milliseconds(200)
        let logs = CapturedLogs()
        let client = RedisClient(configuration: configuration, logger: logs.logger)
        defer { client.shutdown() }
        let namespace = uniqueNamespace()
        let limiter = FallbackRateLimiter(primary: RedisRateLimiter(client: client, namespace: namespace, logger: quietLogger))
        let window = Duration.seconds(60)

        // Up: counted in Redis.
        #expect(await limiter.attempt("k", limit: 3, window: window).remaining == 2)
        #expect(await limiter.attempt("k", limit: 3, window: window).remaining == 1)
        #expect(try await client.command("GET", namespace + "ratelimit:k") == .string(Array("2".utf8)))

        // Down: the in-process limiter answers (with its own, fresh count) and enforces the limit.
        server.kill()
        var allowed: [Bool] = []
        for _ in 0..<4 { allowed.append(await limiter.attempt("k", limit: 3, window: window).allowed) }
        #expect(allowed == [true, true, true, false])
        #expect(client.circuitState == .open)

        // Back on the same port: the breaker's probe reconnects and counting returns to Redis.
        try server.start()
        let backOnRedis = await eventually {
            _ = await limiter.attempt("after", limit: 3, window: window)
            return (try? await client.command("GET", namespace + "ratelimit:after")) == .string(Array("1".utf8))
        }
        #expect(backOnRedis)
        #expect(client.circuitState == .closed)
        // Both workers answer from Redis at once: the connection the probe did not use was dropped
        // when the breaker opened, rather than failing one more call on its dead socket.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = await limiter.attempt("burst", limit: 100, window: window) } }
        }
        #expect(try await client.command("GET", namespace + "ratelimit:burst") == .string(Array("20".utf8)))

        let levels = logs.entries.map { "\($0.level)" }
        #expect(levels.filter { $0 == "warning" }.count == 1, "the outage is logged once")
        #expect(levels.filter { $0 == "notice" }.count == 1, "and so is the recovery")
    }
}
