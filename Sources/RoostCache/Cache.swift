/// A cache of rendered reads, shared by every API process when it lives in Redis.
///
/// Entries are bytes with a time to live. `bumpVersion` invalidates a family of keys at once:
/// callers put the family's current version into their keys, so bumping it orphans every old key.
///
/// Implementations never throw: a cache that cannot answer behaves as a miss (`RedisCache` when
/// Redis is down), so callers always have the engine to fall back on.
public protocol Cache: Sendable {
    /// The value stored under `key`, or nil when absent, expired or unavailable.
    func get(_ key: String) async -> [UInt8]?
    /// Stores `value` for `ttlSeconds` seconds; a non-positive TTL stores nothing.
    func set(_ key: String, _ value: [UInt8], ttlSeconds: Int) async
    /// Removes `key` if present.
    func delete(_ key: String) async
    /// Increments and returns the version counter `name` (starting from 1).
    func bumpVersion(_ name: String) async -> UInt64
    /// The current value of the version counter `name`: 0 before its first bump.
    func version(_ name: String) async -> UInt64
}
