/// A cache of rendered reads, shared by every API process when it lives in Redis.
///
/// Entries are bytes with a time to live. `bumpVersion` invalidates a family of keys at once:
/// callers put the family's current version into their keys, so bumping it orphans every old key.
public protocol Cache: Sendable {
    func get(_ key: String) async -> [UInt8]?
    func set(_ key: String, _ value: [UInt8], ttlSeconds: Int) async
    func delete(_ key: String) async
    /// Increments and returns the version counter `name` (starting from 1).
    func bumpVersion(_ name: String) async -> UInt64
    func version(_ name: String) async -> UInt64
}
