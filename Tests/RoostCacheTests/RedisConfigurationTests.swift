import RoostTestSupport
import Testing

@testable import RoostCache

@Suite struct RedisConfigurationTests {
    @Test func aBareHostGetsTheDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration == RedisConfiguration(host: "localhost", port: 6379, username: nil, password: nil, database: 0))
    }

    @Test func everyPartIsRead() throws {
        let configuration = try RedisConfiguration(url: "redis://app:s%40cret:x@cache.internal:6380/2")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "app")
        #expect(configuration.password == "s@cret:x")
        #expect(configuration.database == 2)
    }

    @Test func aPasswordWithoutUserAndIPv6Hosts() throws {
        let withPassword = try RedisConfiguration(url: "redis://:hunter2@10.0.0.7:7000")
        #expect(withPassword.username == nil && withPassword.password == "hunter2" && withPassword.port == 7000)
        let ipv6 = try RedisConfiguration(url: "REDIS://[::1]:6390/")
        #expect(ipv6.host == "::1" && ipv6.port == 6390 && ipv6.database == 0)
        #expect(ipv6.redactedDescription == "redis://[::1]:6390/0")
    }

    @Test(arguments: [
        ("", "expected redis://"),
        ("localhost:6379", "expected redis://"),
        ("http://localhost", "scheme"),
        ("rediss://localhost", "TLS"),
        ("redis://", "host is missing"),
        ("redis://:6379", "host is missing"),
        ("redis://localhost:0", "port"),
        ("redis://localhost:65536", "port"),
        ("redis://localhost:abc", "port"),
        ("redis://localhost:", "port"),
        ("redis://localhost/x", "database"),
        ("redis://localhost/-1", "database"),
        ("redis://user@localhost", "credentials"),
        ("redis://user:@localhost", "password is empty"),
        ("redis://:p%zzw@localhost", "%-escape"),
        ("redis://localhost?timeout=1", "query"),
        ("redis://[::1:6379", "closing ]"),
        ("redis://local host", "host"),
    ])
    func badURLsAreRefusedWithAReason(url: String, reason: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            "\(error)".hasPrefix("invalid Redis URL: ") && "\(error)".contains(reason)
        }
    }

    @Test func errorsAndDescriptionsNeverShowThePassword() throws {
        do {
            _ = try RedisConfiguration(url: "redis://:hunter2@localhost:notaport")
            Issue.record("a bad port was accepted")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
        let configuration = try RedisConfiguration(url: "redis://:hunter2@localhost")
        #expect(configuration.redactedDescription == "redis://***@localhost:6379/0")
    }
}

@Suite struct CacheBackendTests {
    @Test func withoutAURLEverythingStaysInProcess() throws {
        for url in [nil, "", "  "] as [String?] {
            let backend = try CacheBackend.make(redisURL: url, logger: quietLogger)
            #expect(backend.redis == nil)
            #expect(backend.cache is InProcessCache)
            #expect(backend.rateLimiter is InProcessRateLimiter)
            backend.shutdown()
        }
    }

    @Test func aURLSelectsRedisWithFallbackAndTuning() throws {
        let backend = try CacheBackend.make(redisURL: "redis://127.0.0.1:1/4", namespace: "ns:", logger: quietLogger) {
            $0.connections = 2
        }
        defer { backend.shutdown() }
        #expect(backend.redis?.configuration.database == 4)
        #expect(backend.redis?.configuration.connections == 2)
        #expect((backend.cache as? RedisCache)?.namespace == "ns:")
        #expect(backend.rateLimiter is FallbackRateLimiter)
    }

    @Test func aBadURLStopsStartUpWithAClearMessage() {
        #expect(throws: RedisConfigurationError("the port must be a number from 1 to 65535")) {
            try CacheBackend.make(redisURL: "redis://localhost:http", logger: quietLogger)
        }
    }
}
