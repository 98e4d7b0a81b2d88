import Dispatch
import Foundation
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostStorage

@Suite struct CommitGatheringTests {
    static let microsecond: UInt64 = 1_000
    /// The default limits: 30 µs quiet gap, half the recent sync time, at most 1 ms.
    static func gathering(afterBatch records: Int, pendingAfter: Int, sync: UInt64 = 100_000, at now: UInt64 = 1_000_000) -> CommitGathering {
        var gathering = CommitGathering(.default)
        gathering.committed(records: records, pendingAfter: pendingAfter, syncNanoseconds: sync, now: now)
        return gathering
    }

    @Test func aLoneRequestIsWrittenAtOnce() {
        var gathering = Self.gathering(afterBatch: 1, pendingAfter: 0)
        #expect(gathering.expected == 1)
        #expect(gathering.waitUntil(pending: 1, now: 1_000_001) == nil)
    }

    @Test func halfABatchWaitsForTheHalfItsSyncWoke() {
        // 4 made durable, 4 queued during the sync: 8 in flight.
        var gathering = Self.gathering(afterBatch: 4, pendingAfter: 4)
        #expect(gathering.expected == 8)
        #expect(gathering.waitUntil(pending: 4, now: 1_000_000 + 5 * Self.microsecond) == 1_000_000 + 30 * Self.microsecond)
        #expect(gathering.waitUntil(pending: 8, now: 1_000_000 + 9 * Self.microsecond) == nil)
    }

    @Test func eachNewRecordBuysOneMoreQuietGapUntilTheWindowCloses() {
        let start: UInt64 = 1_000_000, µs = Self.microsecond
        var gathering = Self.gathering(afterBatch: 8, pendingAfter: 0, at: start)
        // Window: half of a 100 µs sync.
        #expect(gathering.deadline == start + 50 * µs)
        #expect(gathering.waitUntil(pending: 0, now: start) == start + 30 * µs)
        #expect(gathering.waitUntil(pending: 2, now: start + 10 * µs) == start + 40 * µs)
        #expect(gathering.waitUntil(pending: 5, now: start + 25 * µs) == start + 50 * µs, "a new gap past the window is cut at the window")
        #expect(gathering.waitUntil(pending: 6, now: start + 50 * µs) == nil)
    }

    @Test func aQueueThatStopsGrowingIsWrittenAfterOneQuietGap() {
        let start: UInt64 = 1_000_000, µs = Self.microsecond
        var gathering = Self.gathering(afterBatch: 8, pendingAfter: 0, sync: 400_000, at: start)
        #expect(gathering.waitUntil(pending: 3, now: start + 10 * µs) == start + 40 * µs)
        #expect(gathering.waitUntil(pending: 3, now: start + 39 * µs) == start + 40 * µs)
        #expect(gathering.waitUntil(pending: 3, now: start + 40 * µs) == nil)
    }

    @Test func theWindowFollowsRecentSyncTimesAndHasACeiling() {
        var gathering = CommitGathering(.default)
        gathering.committed(records: 2, pendingAfter: 0, syncNanoseconds: 100_000, now: 0)
        gathering.committed(records: 2, pendingAfter: 0, syncNanoseconds: 200_000, now: 0)
        #expect(gathering.syncAverage == 125_000)
        #expect(gathering.deadline == 62_500)
        gathering.committed(records: 2, pendingAfter: 0, syncNanoseconds: 40_000_000, now: 0)
        #expect(gathering.deadline == 1_000_000)
    }

    @Test func offNeverWaits() {
        var gathering = CommitGathering(.off)
        gathering.committed(records: 8, pendingAfter: 0, syncNanoseconds: 100_000, now: 1_000)
        #expect(gathering.waitUntil(pending: 1, now: 1_000) == nil)
        #expect(gathering.waitUntil(pending: 0, now: 1_000) == nil)
    }

    @Test func noSyncTimeMeansNoWindow() {
        // fsync off: the sync takes no time, so nothing is ever held.
        var gathering = Self.gathering(afterBatch: 8, pendingAfter: 0, sync: 0, at: 5_000)
        #expect(gathering.waitUntil(pending: 1, now: 5_000) == nil)
    }
}

/// The writer holding a batch open, seen from the log's side: an `fdatasync` held shut by the test lets records queue
/// behind it, so the writer knows exactly what to expect next.
@Suite(.timeLimit(.minutes(1))) struct WALGatheringTests {
    /// `fdatasync` blocks while the gate is shut and says when a sync has reached it. Only the WAL's writer thread
    /// ever blocks here; the test polls (a blocked cooperative thread would stall every other test on two cores).
    final class SyncGate: Sendable {
        private let shut = Mutex(false)
        private let opened = DispatchSemaphore(value: 0)
        private let reached = Atomic<Bool>(false)

        var io: StorageIO {
            StorageIO(
                write: StorageIO.system.write,
                fdatasync: { [self] fd in
                    if shut.withLock({ $0 }) {
                        reached.store(true, ordering: .releasing)
                        opened.wait()
                    }
                    return StorageIO.system.fdatasync(fd)
                },
                fsync: StorageIO.system.fsync
            )
        }

        func close() { shut.withLock { $0 = true } }
        func waitUntilASyncIsHeld() async throws {
            while !reached.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
        }
        func open() {
            shut.withLock { $0 = false }
            opened.signal()
        }
    }

    /// Long enough that only the expected count (or closing) ends a hold during a test.
    static let patient = CommitGathering.Limits(quietGapNanoseconds: 60_000_000_000, windowPercentOfSync: 100_000, windowMaxNanoseconds: 60_000_000_000)

    /// Record 1's sync is held while records 2–4 queue behind it; then it is let go. Returns the open log.
    static func logWithThreeQueuedBehindOneSync(_ directory: String, gathering: CommitGathering.Limits) async throws -> WriteAheadLog {
        let gate = SyncGate()
        let tail = try WALRecovery.recover(directory: directory, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(
            directory: directory, tail: tail, options: WALOptions(limits: smallLimits, gathering: gathering, io: gate.io), logger: quietLogger)
        // The first segment's own syncs (fsync, not fdatasync) pass; the record's fdatasync is held.
        gate.close()
        let first = try log.append(type: 3, payload: payload(for: 1))
        try await gate.waitUntilASyncIsHeld()
        for lsn in 2...4 { try log.append(type: 3, payload: payload(for: UInt64(lsn))) }
        // A sync of 50 ms or more: with `patient`, a window of at least 50 s.
        try await Task.sleep(for: .milliseconds(50))
        gate.open()
        try await log.waitDurable(first)
        return log
    }

    @Test func theWriterHoldsWhatIsQueuedUntilEveryRecordItExpectsIsThere() async throws {
        let directory = TemporaryDirectory()
        let log = try await Self.logWithThreeQueuedBehindOneSync(directory.path, gathering: Self.patient)
        // 1 made durable + 3 queued: it expects 4 and holds the 3.
        try await Task.sleep(for: .milliseconds(200))
        #expect(log.durableLSN == 1)
        let last = try log.append(type: 3, payload: payload(for: 5))
        try await log.waitDurable(last)
        #expect(log.durableLSN == 5)
        log.close()
        #expect(try recover(directory.path).lsns == Array(1...5))
    }

    @Test func closingWritesAHeldBatch() async throws {
        let directory = TemporaryDirectory()
        let log = try await Self.logWithThreeQueuedBehindOneSync(directory.path, gathering: Self.patient)
        let waiter = Task { try await log.waitDurable(4) }
        log.close()
        try await waiter.value
        #expect(try recover(directory.path).lsns == Array(1...4))
    }
}
