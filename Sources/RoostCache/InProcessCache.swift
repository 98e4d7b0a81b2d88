import Synchronization

/// The cache when no Redis is configured: a bounded least-recently-used map with per-entry expiry.
///
/// Bounded by entry count and by total value bytes; the least recently used entries go first.
/// Time is injected so expiry can be tested without sleeping.
public final class InProcessCache: Cache {
    public struct Limits: Sendable {
        public var entriesMax: Int
        public var bytesMax: Int
        public init(entriesMax: Int = 100_000, bytesMax: Int = 256 << 20) {
            self.entriesMax = entriesMax
            self.bytesMax = bytesMax
        }
    }

    private struct Entry {
        var value: [UInt8]
        var expiresAt: ContinuousClock.Instant
        var lastUse: UInt64
    }

    private struct Storage: ~Copyable {
        var entries: [String: Entry] = [:]
        var versions: [String: UInt64] = [:]
        var bytes = 0
        var tick: UInt64 = 0
    }

    private let storage = Mutex(Storage())
    private let limits: Limits
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(limits: Limits = Limits(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        precondition(limits.entriesMax > 0 && limits.bytesMax > 0, "cache limits must be positive")
        self.limits = limits
        self.now = now
    }

    public func get(_ key: String) async -> [UInt8]? {
        let instant = now()
        return storage.withLock { storage in
            guard var entry = storage.entries[key] else { return nil }
            guard entry.expiresAt > instant else {
                storage.bytes -= entry.value.count
                storage.entries[key] = nil
                return nil
            }
            storage.tick += 1
            entry.lastUse = storage.tick
            storage.entries[key] = entry
            return entry.value
        }
    }

    public func set(_ key: String, _ value: [UInt8], ttlSeconds: Int) async {
        guard ttlSeconds > 0, value.count <= limits.bytesMax else { return }
        let expiresAt = now() + .seconds(ttlSeconds)
        storage.withLock { storage in
            storage.tick += 1
            if let old = storage.entries[key] { storage.bytes -= old.value.count }
            storage.entries[key] = Entry(value: value, expiresAt: expiresAt, lastUse: storage.tick)
            storage.bytes += value.count
            Self.evict(&storage, limits: limits)
        }
    }

    public func delete(_ key: String) async {
        storage.withLock { storage in
            if let old = storage.entries.removeValue(forKey: key) { storage.bytes -= old.value.count }
        }
    }

    public func bumpVersion(_ name: String) async -> UInt64 {
        storage.withLock { storage in
            storage.versions[name, default: 0] += 1
            return storage.versions[name]!
        }
    }

    public func version(_ name: String) async -> UInt64 { storage.withLock { $0.versions[name, default: 0] } }

    public var count: Int { storage.withLock { $0.entries.count } }

    /// When a limit is exceeded, drops least recently used entries until the cache is back to 7/8
    /// of its limits, so the sort is paid once per batch of inserts rather than on every one.
    private static func evict(_ storage: inout Storage, limits: Limits) {
        guard storage.entries.count > limits.entriesMax || storage.bytes > limits.bytesMax else { return }
        let entriesTarget = limits.entriesMax - limits.entriesMax / 8
        let bytesTarget = limits.bytesMax - limits.bytesMax / 8
        for (key, entry) in storage.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            if storage.entries.count <= entriesTarget && storage.bytes <= bytesTarget { break }
            storage.entries[key] = nil
            storage.bytes -= entry.value.count
        }
    }
}
