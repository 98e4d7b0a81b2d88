import Logging

/// The cache in Redis, shared by every API process that uses the same server and namespace.
///
/// Keys are `<namespace>cache:<key>` for entries and `<namespace>version:<name>` for version
/// counters. When Redis fails the cache degrades and never throws: reads miss, writes and
/// deletes do nothing, and version calls return 0. (A failed `bumpVersion` leaves old entries
/// readable after Redis recovers, until their TTL ends: TTLs bound that staleness.) Failures are
/// logged at debug level only; the client logs the outage once, when its breaker opens.
public struct RedisCache: Cache {
    public let client: RedisClient
    public let namespace: String
    private let logger: Logger

    public init(client: RedisClient, namespace: String = "roost:", logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.logger = logger
    }

    public func get(_ key: String) async -> [UInt8]? {
        guard let reply = await run("GET", [entryKey(key)]) else { return nil }
        return reply.bytes
    }

    public func set(_ key: String, _ value: [UInt8], ttlSeconds: Int) async {
        guard ttlSeconds > 0 else { return }
        _ = await run("SET", [entryKey(key), value, Array("EX".utf8), Array(String(ttlSeconds).utf8)])
    }

    public func delete(_ key: String) async {
        _ = await run("DEL", [entryKey(key)])
    }

    public func bumpVersion(_ name: String) async -> UInt64 {
        guard let value = await run("INCR", [versionKey(name)])?.integer else { return 0 }
        return UInt64(clamping: value)
    }

    public func version(_ name: String) async -> UInt64 {
        guard let reply = await run("GET", [versionKey(name)]), let text = reply.text, let value = UInt64(text) else { return 0 }
        return value
    }

    func entryKey(_ key: String) -> [UInt8] { Array("\(namespace)cache:\(key)".utf8) }
    func versionKey(_ name: String) -> [UInt8] { Array("\(namespace)version:\(name)".utf8) }

    /// Runs a command; on failure logs at debug level and returns nil.
    private func run(_ name: String, _ arguments: [[UInt8]]) async -> RedisReply? {
        do {
            return try await client.command([Array(name.utf8)] + arguments)
        } catch {
            logger.debug("Redis cache call failed; treated as a miss", metadata: ["redis.command": "\(name)", "error": "\(error)"])
            return nil
        }
    }
}
