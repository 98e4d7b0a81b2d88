import Dispatch
import Foundation
import Glibc
import Logging
import Metrics
import RoostBinary
import Synchronization

/// When the log acknowledges a record.
public enum FsyncMode: String, Sendable, CaseIterable {
    /// After `fdatasync` has returned for the batch holding it. The default, and the only safe mode.
    case always
    /// After `write` returns, with no `fdatasync`: UNSAFE, a power loss or kernel crash loses acknowledged records.
    case off
}

public struct WALOptions: Sendable {
    public var limits: WALLimits
    public var fsync: FsyncMode
    /// Fill each new segment with zeros up to `limits.segmentBytes` before using it: an `fdatasync` that
    /// overwrites allocated blocks is cheaper than one that grows the file.
    public var preallocate: Bool
    /// How long the writer may hold a batch open for the records it expects (see `CommitGathering`).
    public var gathering: CommitGathering.Limits
    /// The leader epoch written into every segment header (always 1 on a single node).
    public var epoch: UInt64
    public var io: StorageIO

    public init(
        limits: WALLimits = .default, fsync: FsyncMode = .always, preallocate: Bool = false,
        gathering: CommitGathering.Limits = .default, epoch: UInt64 = 1, io: StorageIO = .system
    ) {
        self.limits = limits
        self.fsync = fsync
        self.preallocate = preallocate
        self.gathering = gathering
        self.epoch = epoch
        self.io = io
    }
}

/// The append side of the WAL: any number of threads or tasks append; one writer thread group-commits.
///
/// `append` assigns the next LSN and frames the record under a lock, synchronously, so records
/// land in the log in the order they were appended. The writer thread takes everything pending
/// (after holding it open briefly for records it expects: `CommitGathering`),
/// writes it with one `pwrite` per segment touched and one `fdatasync`, then wakes every
/// `waitDurable` whose LSN that batch covered. A failed write or sync is never retried: the log
/// disables itself and every waiter and later append fails, until a restart recovers from disk.
public final class WriteAheadLog: Sendable {
    public let directory: String
    private let options: WALOptions
    private let logger: Logger
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let writerDone = DispatchSemaphore(value: 0)
    private let metrics = WALMetrics()

    private struct Waiter {
        let lsn: UInt64
        let continuation: UnsafeContinuation<Void, any Error>
    }

    private struct State: ~Copyable {
        var nextLSN: UInt64
        var lastCRC: UInt32
        var pending = ByteWriter(capacity: 1 << 20)
        /// End offset in `pending` of each framed record; the first is `firstPendingLSN`.
        var pendingEnds: [Int] = []
        var firstPendingLSN: UInt64 = 0
        var durableLSN: UInt64
        var waiters: [Waiter] = []
        var failure: StorageError?
        var closing = false
        var closed = false
        /// The writer waits for the next append, whenever it comes.
        var writerSleeping = false
        /// While the writer holds a batch open, the queue length at which an append wakes it (0: not holding).
        var gatherTarget = 0
    }

    /// Opens the log for appending after `WALRecovery` has validated it and returned `tail`.
    /// `nextLSN` may be above `tail.lastLSN + 1` (after a restore); the log then starts a new segment there.
    public init(
        directory: String, tail: WALTail, nextLSN: UInt64? = nil, options: WALOptions = WALOptions(), logger: Logger
    ) throws {
        options.limits.validate()
        self.directory = directory
        self.options = options
        self.logger = logger
        let next = max(nextLSN ?? 1, tail.lastLSN + 1)
        let cursor = SegmentCursor(directory: directory, options: options, logger: logger)
        if let segment = tail.segment, next == tail.lastLSN + 1, tail.endOffset < options.limits.segmentBytes {
            try cursor.reopen(name: segment, at: tail.endOffset)
        }
        state = Mutex(State(nextLSN: next, lastCRC: next == tail.lastLSN + 1 ? tail.lastCRC : 0, durableLSN: next - 1))
        if options.fsync != .always {
            logger.warning(
                "UNSAFE: ROOST_FSYNC=\(options.fsync.rawValue): records are acknowledged before they are on disk; a power loss or kernel crash loses acknowledged writes",
                metadata: ["wal.fsync": "\(options.fsync.rawValue)"]
            )
        }
        let thread = Thread { [self] in
            self.runWriter(cursor)
            self.writerDone.signal()
        }
        thread.name = "roost-wal-writer"
        thread.start()
    }

    // MARK: Appending

    /// Frames `payload` as the next record and queues it for the writer. Returns its LSN at once;
    /// the record is durable only after `waitDurable(lsn)` returns.
    @discardableResult
    public func append(type: UInt8, payload: UnsafeRawBufferPointer) throws -> UInt64 {
        let limits = options.limits
        guard payload.count <= limits.recordBytesMax else {
            throw StorageError.recordTooLarge(bytes: payload.count, limit: limits.recordBytesMax)
        }
        let (lsn, mustWake) = try state.withLock { (state) throws -> (UInt64, Bool) in
            if let failure = state.failure { throw StorageError.writesDisabled(reason: failure.description) }
            if state.closing { throw StorageError.writesDisabled(reason: "the log is closed") }
            let frameBytes = WALFormat.frameHeaderBytes + payload.count
            guard state.pending.count + frameBytes <= limits.pendingBytesMax else {
                throw StorageError.overloaded(pendingBytes: state.pending.count)
            }
            let lsn = state.nextLSN
            state.nextLSN += 1
            if state.pendingEnds.isEmpty { state.firstPendingLSN = lsn }
            state.lastCRC = Frame.encode(type: type, lsn: lsn, prevCRC: state.lastCRC, payload: payload, into: &state.pending)
            state.pendingEnds.append(state.pending.count)
            let mustWake = state.writerSleeping || (state.gatherTarget > 0 && state.pendingEnds.count >= state.gatherTarget)
            if mustWake {
                state.writerSleeping = false
                state.gatherTarget = 0
            }
            return (lsn, mustWake)
        }
        if mustWake { wake.signal() }
        return lsn
    }

    @discardableResult
    public func append(type: UInt8, payload: [UInt8]) throws -> UInt64 {
        try payload.withUnsafeBytes { (raw) in try append(type: type, payload: raw) }
    }

    /// Returns once the record at `lsn` (and every one before it) is durable; throws if the log failed first.
    public func waitDurable(_ lsn: UInt64) async throws {
        if state.withLock({ $0.durableLSN >= lsn }) { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            let failure: StorageError?? = state.withLock { state in
                if state.durableLSN >= lsn { return .some(nil) }
                if let failure = state.failure { return .some(failure) }
                state.waiters.append(Waiter(lsn: lsn, continuation: continuation))
                return nil
            }
            switch failure {
            case .none: break
            case .some(.none): continuation.resume()
            case let .some(.some(error)): continuation.resume(throwing: StorageError.writesDisabled(reason: error.description))
            }
        }
    }

    /// Appends and waits for durability: the whole round trip for one record.
    public func appendDurably(type: UInt8, payload: [UInt8]) async throws -> UInt64 {
        let lsn = try append(type: type, payload: payload)
        try await waitDurable(lsn)
        return lsn
    }

    /// The LSN of the most recently appended record (durable or not), 0 if none.
    public var lastAppendedLSN: UInt64 { state.withLock { $0.nextLSN - 1 } }
    /// The highest LSN known to be durable.
    public var durableLSN: UInt64 { state.withLock { $0.durableLSN } }
    /// Why the log stopped taking writes, if it did.
    public var failure: StorageError? { state.withLock { $0.failure } }

    /// Writes out everything already appended, stops the writer and refuses further appends.
    public func close() {
        let alreadyClosed = state.withLock { state in
            defer { state.closing = true; state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        wake.signal()
        writerDone.wait()
    }

    /// Deletes the segments whose every record is at or below `lsn` (covered by a durable snapshot).
    /// The last segment is never deleted. Returns the names removed.
    @discardableResult
    public func removeSegments(coveredThrough lsn: UInt64) throws -> [String] {
        let names = try WALScanner(directory: directory, limits: options.limits).segmentNames()
        var removed: [String] = []
        for (index, name) in names.enumerated().dropLast() {
            let nextFirst = WALFormat.firstLSN(ofSegmentNamed: names[index + 1])!
            guard nextFirst - 1 <= lsn else { break }
            try FileSystem.remove(directory + "/" + name)
            removed.append(name)
        }
        if !removed.isEmpty { try FileSystem.syncDirectory(directory, io: options.io) }
        return removed
    }

    // MARK: The writer thread

    private enum Step {
        case write(firstLSN: UInt64, ends: [Int])
        case sleep
        case gather(until: UInt64)
        case exit
    }

    private func runWriter(_ cursor: SegmentCursor) {
        var batch = ByteWriter(capacity: 1 << 20)
        // Without fsync there is nothing to gather for (and a preempted clock read would look like a slow sync).
        var gathering = CommitGathering(options.fsync == .always ? options.gathering : .off)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let step: Step = state.withLock { state in
                if state.failure != nil { return .exit }
                if !state.closing, let until = gathering.waitUntil(pending: state.pendingEnds.count, now: now) {
                    state.gatherTarget = gathering.expected
                    return .gather(until: until)
                }
                if state.pendingEnds.isEmpty {
                    if state.closing { return .exit }
                    state.writerSleeping = true
                    return .sleep
                }
                state.gatherTarget = 0
                swap(&state.pending, &batch)
                defer { state.pendingEnds.removeAll(keepingCapacity: true) }
                return .write(firstLSN: state.firstPendingLSN, ends: state.pendingEnds)
            }
            switch step {
            case .exit:
                cursor.close()
                return
            case .sleep:
                wake.wait()
            case let .gather(until):
                // Woken early when the queue reaches what is expected; else it looks again at `until`.
                _ = wake.wait(timeout: DispatchTime(uptimeNanoseconds: until))
            case let .write(firstLSN, ends):
                do {
                    try cursor.write(batch.bytes, ends: ends, firstLSN: firstLSN)
                    let syncStarted = DispatchTime.now().uptimeNanoseconds
                    if options.fsync == .always { try cursor.sync() }
                    let synced = DispatchTime.now().uptimeNanoseconds
                    metrics.recordBatch(records: ends.count, bytes: batch.count, syncNanoseconds: synced - syncStarted)
                    let stillPending = publishDurable(firstLSN + UInt64(ends.count) - 1)
                    gathering.committed(records: ends.count, pendingAfter: stillPending, syncNanoseconds: synced - syncStarted, now: synced)
                } catch {
                    fail(error as? StorageError ?? .io(operation: "write", path: directory, errno: EIO))
                }
                batch.removeAll()
            }
        }
    }

    /// Marks everything through `lsn` durable and resumes its waiters; returns how many records were queued meanwhile.
    private func publishDurable(_ lsn: UInt64) -> Int {
        let (ready, pending): ([Waiter], Int) = state.withLock { state in
            state.durableLSN = lsn
            var ready: [Waiter] = []
            state.waiters.removeAll { waiter in
                guard waiter.lsn <= lsn else { return false }
                ready.append(waiter)
                return true
            }
            return (ready, state.pendingEnds.count)
        }
        for waiter in ready { waiter.continuation.resume() }
        return pending
    }

    private func fail(_ error: StorageError) {
        logger.critical(
            "WAL write failed; the log stops taking writes until a restart recovers from disk (fsync is never retried)",
            metadata: ["wal.error": "\(error)", "wal.error_code": "\(error.code)"]
        )
        let waiters: [Waiter] = state.withLock { state in
            state.failure = error
            state.pending.removeAll(keepingCapacity: false)
            state.pendingEnds.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: StorageError.writesDisabled(reason: error.description))
        }
    }
}

/// What the writer thread reports per batch (exported at `/metrics`).
private struct WALMetrics {
    let records = Counter(label: "roost_wal_records")
    let bytes = Counter(label: "roost_wal_bytes")
    let batches = Counter(label: "roost_wal_batches")
    let batchRecords = Recorder(label: "roost_wal_batch_records")
    let sync = Timer(label: "roost_wal_fdatasync_seconds")

    func recordBatch(records count: Int, bytes byteCount: Int, syncNanoseconds: UInt64) {
        records.increment(by: count)
        bytes.increment(by: byteCount)
        batches.increment()
        batchRecords.record(count)
        sync.recordNanoseconds(Int64(syncNanoseconds))
    }
}
