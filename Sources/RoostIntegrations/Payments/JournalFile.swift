import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An append-only file with group commit: lines are numbered as they are appended, and a thread of
/// its own writes whatever has gathered and fsyncs it, once per batch. Waiters resume when their
/// line is on disk. The sandbox's journal, so a payment call waits for the disk without blocking
/// the actor or a cooperative thread, and concurrent calls share an fsync. A stand-in's journal: a
/// write the disk refuses is not retried (its waiters resume all the same; the next start's replay
/// drops a torn last line).
final class JournalFile: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var appended: UInt64 = 0
        var durable: UInt64 = 0
        var waiters: [(line: UInt64, resume: CheckedContinuation<Void, Never>)] = []
        var flushing = false
    }

    private let descriptor: Int32
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "roost.sandbox-journal")

    /// Opens `path` for appending, cut to `length` bytes (what a replay found complete).
    init?(path: String, length: Int) {
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return nil }
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            Glibc.close(descriptor)
            return nil
        }
    }

    deinit { Glibc.close(descriptor) }

    /// Queues `line` for the disk; its number.
    func append(_ line: [UInt8]) -> UInt64 {
        let (number, start) = state.withLock { state in
            state.pending += line
            state.appended += 1
            defer { state.flushing = true }
            return (state.appended, !state.flushing)
        }
        if start { queue.async { self.flush() } }
        return number
    }

    /// Returns once line `number` (and every one before it) is on disk.
    func waitUntilDurable(_ number: UInt64) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.durable >= number { return true }
                state.waiters.append((number, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// On the queue: write and fsync batches until nothing is pending.
    private func flush() {
        while true {
            let (batch, through) = state.withLock { state in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing = false }
                return (batch, state.appended)
            }
            if batch.isEmpty { return }
            var written = 0
            while written < batch.count {
                let n = batch.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, batch.count - written) }
                if n > 0 { written += n } else if errno != EINTR { break }
            }
            _ = fdatasync(descriptor)
            let ready = state.withLock { state in
                state.durable = through
                let (ready, waiting) = (state.waiters.filter { $0.line <= through }, state.waiters.filter { $0.line > through })
                state.waiters = waiting
                return ready
            }
            for waiter in ready { waiter.resume.resume() }
        }
    }
}
