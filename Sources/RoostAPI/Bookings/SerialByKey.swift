/// Runs async work one at a time per key, in arrival order. The money steps of one booking span
/// several actors and provider calls (read the payment, call the provider, record it in the
/// ledger, move the booking); a shard serializes each step, this serializes the sequence, so an
/// accept cannot capture while a cancel voids, and an admin refund cannot land between a payout's
/// release and its transfer. Not reentrant: a locked step must not take its own key again.
actor SerialByKey {
    private var busy: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    private func acquire(_ key: String) async {
        if busy.insert(key).inserted { return }
        await withCheckedContinuation { waiting[key, default: []].append($0) }
    }

    private func release(_ key: String) {
        guard var queue = waiting[key], !queue.isEmpty else {
            busy.remove(key)
            return
        }
        // The key stays busy: it passes straight to the next in line.
        let next = queue.removeFirst()
        waiting[key] = queue.isEmpty ? nil : queue
        next.resume()
    }

    /// `body`, once every earlier `run` with `key` has finished.
    nonisolated func run<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let value = try await body()
            await release(key)
            return value
        } catch {
            await release(key)
            throw error
        }
    }

    /// Keys held or waited for (zero when idle: nothing leaks).
    var pending: Int { busy.count + waiting.count }
}
