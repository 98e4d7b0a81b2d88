import Synchronization

/// Runs async work one at a time per key, in arrival order. The money steps of one booking span
/// several actors and provider calls (read the payment, call the provider, record it in the
/// ledger, move the booking); a shard serializes each step, this serializes the sequence, so an
/// accept cannot capture while a cancel voids, and an admin refund cannot land between a payout's
/// release and its transfer. Not reentrant: a locked step must not take its own key again.
///
/// A lock around the keys, not an actor: every booking takes and gives back its key, and as an
/// actor that was two hops a booking onto one executor every booking shared. Taking a free key
/// never suspends; a waiter parks a continuation that the key's release resumes.
final class SerialByKey: Sendable {
    private struct Keys {
        var busy: Set<String> = []
        var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let keys = Mutex(Keys())

    private func acquire(_ key: String) async {
        if keys.withLock({ $0.busy.insert(key).inserted }) { return }
        await withCheckedContinuation { continuation in
            // Released since the first look: take it now rather than wait for a release already made.
            let taken = keys.withLock { keys in
                if keys.busy.insert(key).inserted { return true }
                keys.waiting[key, default: []].append(continuation)
                return false
            }
            if taken { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next = keys.withLock { keys -> CheckedContinuation<Void, Never>? in
            guard var queue = keys.waiting[key], !queue.isEmpty else {
                keys.busy.remove(key)
                return nil
            }
            // The key stays busy: it passes straight to the next in line.
            let next = queue.removeFirst()
            keys.waiting[key] = queue.isEmpty ? nil : queue
            return next
        }
        next?.resume()
    }

    /// `body`, once every earlier `run` with `key` has finished.
    func run<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    /// Keys held or waited for (zero when idle: nothing leaks).
    var pending: Int { keys.withLock { $0.busy.count + $0.waiting.count } }

    /// Steps waiting for `key` (not counting the one holding it).
    func queued(_ key: String) -> Int { keys.withLock { $0.waiting[key]?.count ?? 0 } }
}
