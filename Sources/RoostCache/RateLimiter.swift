import Synchronization

/// Limits how often something may happen per key (an IP address, an account, an endpoint).
///
/// Window semantics, the same in every implementation: a **fixed window that starts at a key's
/// first attempt** and lasts `window`. Every attempt in the window counts, allowed or not; the
/// first `limit` are allowed and the rest denied until the window ends, when the count starts
/// again from zero. Denied attempts do not extend the window. Because windows are fixed, up to
/// `2 × limit` attempts can fall within one `window` of each other across a window boundary.
/// A key's count is shared by every limit and window it is used with, so give each rule its
/// own key prefix (`"login:ip:203.0.113.9"`).
public protocol RateLimiter: Sendable {
    /// Counts one attempt against `key`; at most `limit` attempts per `window`.
    func attempt(_ key: String, limit: Int, window: Duration) async -> RateLimitDecision
}

/// The answer to one attempt.
public struct RateLimitDecision: Sendable, Equatable {
    /// Whether this attempt may go ahead.
    public var allowed: Bool
    /// Attempts still allowed in the current window after this one.
    public var remaining: Int
    /// For a denied attempt, whole seconds until the window ends (rounded up, at least 1),
    /// suitable for a `Retry-After` header; 0 when allowed.
    public var retryAfterSeconds: Int

    public init(allowed: Bool, remaining: Int, retryAfterSeconds: Int) {
        self.allowed = allowed
        self.remaining = remaining
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The decision for the `count`th attempt of a window with `millisecondsLeft` to run.
    init(count: Int, limit: Int, millisecondsLeft: Int64) {
        let allowed = count <= limit
        let seconds = (max(millisecondsLeft, 1) + 999) / 1000
        self.init(
            allowed: allowed,
            remaining: max(0, limit - count),
            retryAfterSeconds: allowed ? 0 : Int(clamping: max(1, seconds))
        )
    }
}

extension Duration {
    /// Whole milliseconds, rounded up, at least 1: the window length as Redis and the in-process limiter use it.
    var rateLimitMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return Int64.max / 2 }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(1, milliseconds.partialValue + fraction)
    }
}

/// Rate limits kept in this process: the limiter without Redis, and Redis's stand-in while it is down.
///
/// Memory is bounded. Expired windows are swept when the table has doubled since the last sweep
/// or a minute has passed; if more than `entriesMax` windows are live, those ending soonest are
/// dropped (their keys start afresh: under a flood of distinct keys the limiter forgets rather
/// than grows). Time is injected so windows can be tested without sleeping.
public final class InProcessRateLimiter: RateLimiter {
    private struct Window {
        var count: Int
        var endsAt: ContinuousClock.Instant
    }

    private struct Storage: ~Copyable {
        var windows: [String: Window] = [:]
        var lastSweep: ContinuousClock.Instant
        var sweepAtCount = InProcessRateLimiter.minimumSweepCount
    }

    private static let minimumSweepCount = 1024
    private static let sweepInterval = Duration.seconds(60)

    private let storage: Mutex<Storage>
    private let entriesMax: Int
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(entriesMax: Int = 100_000, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        precondition(entriesMax > 0, "entriesMax must be positive")
        self.entriesMax = entriesMax
        self.now = now
        storage = Mutex(Storage(lastSweep: now()))
    }

    public func attempt(_ key: String, limit: Int, window: Duration) async -> RateLimitDecision {
        let instant = now()
        let length = Duration.milliseconds(window.rateLimitMilliseconds)
        return storage.withLock { storage in
            sweepIfDue(&storage, now: instant)
            var current = storage.windows[key] ?? Window(count: 0, endsAt: instant + length)
            if current.endsAt <= instant { current = Window(count: 0, endsAt: instant + length) }
            current.count = current.count < Int.max ? current.count + 1 : current.count
            storage.windows[key] = current
            if storage.windows.count > entriesMax { evict(&storage) }
            return RateLimitDecision(count: current.count, limit: limit, millisecondsLeft: (current.endsAt - instant).rateLimitMilliseconds)
        }
    }

    /// Windows held now, expired or not (for tests and diagnostics).
    public var count: Int { storage.withLock { $0.windows.count } }

    /// Drops every expired window now.
    public func purgeExpired() {
        let instant = now()
        storage.withLock { Self.sweep(&$0, now: instant) }
    }

    private func sweepIfDue(_ storage: inout Storage, now: ContinuousClock.Instant) {
        guard storage.windows.count >= storage.sweepAtCount || now - storage.lastSweep >= Self.sweepInterval else { return }
        Self.sweep(&storage, now: now)
    }

    private static func sweep(_ storage: inout Storage, now: ContinuousClock.Instant) {
        storage.windows = storage.windows.filter { $0.value.endsAt > now }
        storage.lastSweep = now
        storage.sweepAtCount = max(minimumSweepCount, storage.windows.count * 2)
    }

    /// Over `entriesMax` live windows: drops those ending soonest, down to 7/8 of the limit.
    private func evict(_ storage: inout Storage) {
        let target = entriesMax - entriesMax / 8
        let excess = storage.windows.count - target
        guard excess > 0 else { return }
        for (key, _) in storage.windows.sorted(by: { $0.value.endsAt < $1.value.endsAt }).prefix(excess) {
            storage.windows[key] = nil
        }
    }
}
