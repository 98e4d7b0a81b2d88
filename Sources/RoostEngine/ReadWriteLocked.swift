#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a reader–writer lock: any number of readers at once, or one writer.
///
/// A shard's state is read far more than it is written: every search reads every shard, twice.
/// Behind a mutex, two searches on one shard took turns (and the one waiting spun, then slept);
/// here they read side by side. A writer waiting holds back readers that come after it (on Linux,
/// where glibc lets one choose), so a stream of searches never starves a shard's writes; a read
/// must therefore never take the same lock again while it holds it.
final class ReadWriteLocked<Value>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    /// The value, read and written only under `lock`. Out of line so that a read lends it in place:
    /// a stored property handed to a reader was copied first (a retain and a release of the state's
    /// storage, an atomic on a line every core's reads of this shard touch).
    private let value: UnsafeMutablePointer<Value>

    init(_ value: consuming Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if os(Linux)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let status = pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(status == 0, "pthread_rwlock_init failed: \(status)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// `body` over the value, beside any other readers.
    func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value.pointee)
    }

    /// `body` over the value without taking the lock: only for the one writer, between its
    /// writes (nothing else changes the value, so nothing changes it while the writer reads).
    func readAsWriter<T>(_ body: (Value) throws -> T) rethrows -> T {
        try body(value.pointee)
    }

    /// `body` changing the value, alone.
    func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value.pointee)
    }
}
