import Foundation
import Logging
import RoostTestSupport
import Testing

@testable import RoostStorage

/// The hammer executable, built beside the test bundle (or named by ROOST_WAL_HAMMER).
func hammerPath() -> String {
    if let path = ProcessInfo.processInfo.environment["ROOST_WAL_HAMMER"] { return path }
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var directory = bundle
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("roost-wal-hammer").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    return Bundle.main.bundleURL.appendingPathComponent("roost-wal-hammer").path
}

/// Runs the hammer and collects the LSNs it acknowledged, until it exits or `killAfter` elapses.
final class HammerRun: @unchecked Sendable {
    let process = Process()
    private let pipe = Pipe()
    private let lock = NSLock()
    private var buffer = Data()

    init(directory: String, appenders: Int, segmentBytes: Int, fileSizeLimit: Int = 0, preallocate: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: hammerPath())
        process.arguments = [directory, "\(appenders)", "\(segmentBytes)", "\(fileSizeLimit)", preallocate ? "1" : "0"]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            self?.lock.withLock { self?.buffer.append(chunk) }
        }
        try process.run()
    }

    func lines() -> [Substring] {
        lock.withLock { String(decoding: buffer, as: UTF8.self) }.split(separator: "\n")
    }

    func acknowledged() -> [UInt64] {
        lines().compactMap { $0.hasPrefix("ack ") ? UInt64($0.dropFirst(4)) : nil }
    }

    /// Polls without blocking its thread: a test that sleeps on a cooperative thread for seconds stalls every other
    /// test waiting to resume on two cores (a 100 ms Redis timeout once took 12 s to come back).
    func waitForFirstAck(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while acknowledged().isEmpty && process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
    }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        finishReading()
    }

    func finishReading() {
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        lock.withLock { buffer.append(rest) }
    }
}

/// Recovers `directory` and checks the promise: every acknowledged LSN is there, LSNs run 1...n
/// without gaps, and every record is a payload the hammer wrote (nothing invented).
func checkRecovered(_ directory: String, acknowledged: Set<UInt64>, segmentBytes: Int) throws -> UInt64 {
    let limits = WALLimits(segmentBytes: segmentBytes, recordBytesMax: 4096, pendingBytesMax: 16 << 20)
    var expected: UInt64 = 1
    var invented: [UInt64] = []
    let tail = try WALRecovery.recover(directory: directory, limits: limits, logger: quietLogger) { record in
        #expect(record.lsn == expected)
        expected = record.lsn + 1
        if HammerPayload(record.payload) == nil { invented.append(record.lsn) }
    }
    #expect(invented.isEmpty, "records the hammer never wrote: \(invented.prefix(5))")
    let missing = acknowledged.filter { $0 > tail.lastLSN }
    #expect(missing.isEmpty, "acknowledged but lost: \(missing.sorted().prefix(5)) (recovered through \(tail.lastLSN))")
    return tail.lastLSN
}

@Suite(.serialized) struct CrashTests {
    /// 20 rounds here (each way); `make crash-test` sets ROOST_CRASH_ROUNDS=1000. Preallocated, the
    /// kills also land while the next segment's spare is being zero-filled or renamed into place.
    @Test(arguments: [false, true])
    func killingTheWriterAtRandomMomentsLosesNoAcknowledgedRecord(preallocate: Bool) async throws {
        let rounds = Int(ProcessInfo.processInfo.environment["ROOST_CRASH_ROUNDS"] ?? "") ?? 20
        let seed = testSeed()
        var generator = SeededGenerator(seed: seed)
        let segmentBytes = 256 << 10
        var directory = TemporaryDirectory()
        var allAcknowledged = Set<UInt64>()
        for round in 0..<rounds {
            // Each round recovers the whole log; a fresh log every 25 rounds keeps a long sweep linear.
            if round > 0 && round % 25 == 0 {
                directory = TemporaryDirectory()
                allAcknowledged = []
            }
            let run = try HammerRun(directory: directory.path, appenders: 32, segmentBytes: segmentBytes, preallocate: preallocate)
            try await run.waitForFirstAck()
            try await Task.sleep(for: .microseconds(Int.random(in: 0...150_000, using: &generator)))
            run.kill()
            let acknowledged = run.acknowledged()
            #expect(!acknowledged.isEmpty, "round \(round) (seed \(seed)): the hammer acknowledged nothing")
            allAcknowledged.formUnion(acknowledged)
            let last = try checkRecovered(directory.path, acknowledged: allAcknowledged, segmentBytes: segmentBytes)
            #expect(last >= allAcknowledged.max() ?? 0, "round \(round), seed \(seed)")
        }
    }

    @Test func aFullDiskFailsWritesCleanlyAndLosesNothingAcknowledged() throws {
        let directory = TemporaryDirectory()
        let segmentBytes = 64 << 10
        // RLIMIT_FSIZE stands in for a full disk: writes past 40 KiB fail with EFBIG.
        let run = try HammerRun(directory: directory.path, appenders: 8, segmentBytes: segmentBytes, fileSizeLimit: 40 << 10)
        run.process.waitUntilExit()
        run.finishReading()
        #expect(run.process.terminationStatus == 3)
        #expect(run.lines().last?.contains("failed") == true, "the hammer reports why it stopped")
        let acknowledged = Set(run.acknowledged())
        #expect(!acknowledged.isEmpty)
        let last = try checkRecovered(directory.path, acknowledged: acknowledged, segmentBytes: segmentBytes)
        #expect(last >= acknowledged.max()!)
    }
}

@Suite struct WriteFailureTests {
    /// An `fdatasync` that fails once disables the log for good: no retry, every waiter and later append fails.
    @Test func aFailedSyncDisablesWritesAndARestartRecoversConsistently() async throws {
        let directory = TemporaryDirectory()
        let syncs = Counter()
        var io = StorageIO.system
        io.fdatasync = { fd in
            if syncs.increment() == 5 {
                errno = EIO
                return -1
            }
            return Glibc.fdatasync(fd)
        }
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: smallLimits, io: io), logger: quietLogger)
        var acknowledged: [UInt64] = []
        var failures = 0
        for lsn in 1...20 as ClosedRange<UInt64> {
            do {
                acknowledged.append(try await log.appendDurably(type: 1, payload: payload(for: lsn)))
            } catch let error as StorageError {
                guard case .writesDisabled = error else { throw error }
                failures += 1
            }
        }
        #expect(acknowledged == [1, 2, 3, 4])
        #expect(failures == 16)
        #expect(log.failure != nil)
        #expect(syncs.value == 5, "a failed fsync is never retried")
        log.close()
        let recovered = try recover(directory.path)
        #expect(Array(recovered.lsns.prefix(4)) == [1, 2, 3, 4])
        #expect(recovered.lsns.count <= 5, "at most the record of the failed batch, never anything after it")
        try await writeRecords(2, to: directory.path)
        #expect(try recover(directory.path).lsns.count == recovered.lsns.count + 2)
    }

    @Test func aFailedWriteDisablesWrites() async throws {
        let directory = TemporaryDirectory()
        var io = StorageIO.system
        let writes = Counter()
        io.write = { fd, bytes, offset in
            if writes.increment() >= 3 {
                errno = ENOSPC
                return -1
            }
            return Glibc.pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset))
        }
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: smallLimits, io: io), logger: quietLogger)
        _ = try await log.appendDurably(type: 1, payload: payload(for: 1))  // header write + record write
        await #expect(throws: StorageError.self) { try await log.appendDurably(type: 1, payload: payload(for: 2)) }
        #expect(throws: StorageError.self) { try log.append(type: 1, payload: payload(for: 3)) }
        log.close()
        #expect(try recover(directory.path).lsns == [1])
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}
