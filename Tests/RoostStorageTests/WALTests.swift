import Foundation
import Logging
import RoostBinary
import RoostTestSupport
import Testing

@testable import RoostStorage

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.portableChecksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func hardwareAndTablePathsAgreeAndExtendingIsConcatenation() {
        var generator = SeededGenerator(seed: 42)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32C.checksum(bytes) == CRC32C.portableChecksum(bytes))
            let split = length / 3
            let extended = CRC32C.checksum(Array(bytes[split...]), extending: CRC32C.checksum(Array(bytes[..<split])))
            #expect(extended == CRC32C.checksum(bytes))
        }
    }
}

@Suite struct WriteAheadLogTests {
    @Test func concurrentAppendersGetDistinctContiguousLSNsAndEveryRecordComesBack() async throws {
        let directory = TemporaryDirectory()
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: smallLimits), logger: quietLogger)
        let lsns = try await withThrowingTaskGroup(of: [(UInt64, [UInt8])].self) { group in
            for task in 0..<64 {
                group.addTask {
                    var mine: [(UInt64, [UInt8])] = []
                    for index in 0..<40 {
                        let bytes = Array("task \(task) record \(index)".utf8)
                        mine.append((try await log.appendDurably(type: 3, payload: bytes), bytes))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        log.close()
        #expect(Set(lsns.map(\.0)) == Set(1...2560))
        let recovered = try recover(directory.path)
        #expect(recovered.lsns == Array(1...2560))
        for (lsn, bytes) in lsns { #expect(recovered.payloads[lsn] == bytes) }
        #expect(segmentPaths(directory.path).count > 1, "small segments must roll")
    }

    @Test func reopeningContinuesTheSequenceAndTheChain() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(30, to: directory.path)
        try await writeRecords(30, to: directory.path)
        let recovered = try recover(directory.path)
        #expect(recovered.lsns == Array(1...60))
        #expect(recovered.tail.lastLSN == 60)
    }

    @Test func aRecordThatExactlyFillsASegmentClosesIt() async throws {
        let directory = TemporaryDirectory()
        // 8 KiB segment: 40-byte header + 2 frames of 21 + 4055 bytes = 8192 exactly.
        let limits = WALLimits(segmentBytes: 8192, recordBytesMax: 4096, pendingBytesMax: 1 << 20)
        try await writeRecords(5, to: directory.path, limits: limits, sizes: { _ in 4055 })
        let segments = segmentPaths(directory.path)
        #expect(segments.count == 3)
        #expect(readFile(segments[0]).count == 8192)
        #expect(try recover(directory.path, limits: limits).lsns == Array(1...5))
    }

    @Test func oversizedRecordsAreRefusedWithoutTouchingTheLog() async throws {
        let directory = TemporaryDirectory()
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: smallLimits), logger: quietLogger)
        #expect(throws: StorageError.recordTooLarge(bytes: 1025, limit: 1024)) {
            try log.append(type: 1, payload: [UInt8](repeating: 1, count: 1025))
        }
        #expect(log.lastAppendedLSN == 0)
        log.close()
    }

    @Test func preallocatedSegmentsAreZeroFilledAndRecoveryTellsZerosFromRecords() async throws {
        let directory = TemporaryDirectory()
        let options = WALOptions(limits: smallLimits, preallocate: true)
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: options, logger: quietLogger)
        for lsn in 1...500 as ClosedRange<UInt64> { try log.append(type: 2, payload: payload(for: lsn)) }
        try await log.waitDurable(500)
        log.close()
        #expect(segmentPaths(directory.path).allSatisfy { readFile($0).count == 8192 })
        let recovered = try recover(directory.path)
        #expect(recovered.lsns == Array(1...500))
        #expect(FileManager.default.fileExists(atPath: segmentPaths(directory.path).last! + ".broken") == false)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + SpareSegment.name), "closing removes the spare")
    }

    /// The next segment is zero-filled off the writer (`SpareSegment`). When the spare cannot be
    /// made (here a directory holds its name), the writer makes each segment itself: nothing is
    /// lost, and every segment is still preallocated.
    @Test func aSpareSegmentThatCannotBeMadeLeavesTheWriterToMakeIt() async throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/" + SpareSegment.name, withIntermediateDirectories: false)
        let options = WALOptions(limits: smallLimits, preallocate: true)
        let log = try WriteAheadLog(directory: directory.path, tail: WALTail(lastLSN: 0, lastCRC: 0, segment: nil, endOffset: 0), options: options, logger: quietLogger)
        for lsn in 1...300 as ClosedRange<UInt64> { try log.append(type: 2, payload: payload(for: lsn)) }
        try await log.waitDurable(300)
        log.close()
        #expect(segmentPaths(directory.path).count > 2)
        #expect(segmentPaths(directory.path).allSatisfy { readFile($0).count == 8192 })
        try FileManager.default.removeItem(atPath: directory.path + "/" + SpareSegment.name)
        #expect(try recover(directory.path).lsns == Array(1...300))
    }

    /// A spare left behind by a crash (a zero-filled file under a temporary name) is removed by
    /// recovery and changes nothing the log holds.
    @Test func aSpareLeftByACrashIsRemovedByRecovery() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(120, to: directory.path)
        writeFile(directory.path + "/" + SpareSegment.name, [UInt8](repeating: 0, count: 8192))
        #expect(try recover(directory.path).lsns == Array(1...120))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + SpareSegment.name))
    }

    @Test func removingCoveredSegmentsKeepsEverythingAfterTheSnapshotLSN() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(400, to: directory.path)
        let before = segmentPaths(directory.path)
        let tail = try WALRecovery.recover(directory: directory.path, limits: smallLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: smallLimits), logger: quietLogger)
        let removed = try log.removeSegments(coveredThrough: 250)
        log.close()
        #expect(!removed.isEmpty)
        #expect(segmentPaths(directory.path).count == before.count - removed.count)
        var seen: [UInt64] = []
        _ = try WALRecovery.recover(directory: directory.path, limits: smallLimits, after: 250, logger: quietLogger) {
            seen.append($0.lsn)
        }
        #expect(seen == Array(251...400))
    }
}

@Suite struct DataDirectoryLockTests {
    @Test func aSecondOwnerIsRefusedWithTheFirstOwnersPid() throws {
        let directory = TemporaryDirectory()
        let lock = try DataDirectoryLock(directory: directory.path)
        #expect(throws: StorageError.locked(path: directory.path, ownerPID: "\(getpid())")) {
            _ = try DataDirectoryLock(directory: directory.path)
        }
        #expect(DataDirectoryLock.owner(of: directory.path) == getpid())
        _ = lock
    }

    /// `LOCK` outlives its owner, so it looks like a leftover: removed (or replaced) under a running
    /// owner, the directory's own lock still refuses a second one, and an offline reader.
    @Test func aRemovedLockFileStillRefusesASecondOwner() throws {
        let directory = TemporaryDirectory()
        let lock = try DataDirectoryLock(directory: directory.path)
        try FileManager.default.removeItem(atPath: directory.path + "/LOCK")
        #expect {
            _ = try DataDirectoryLock(directory: directory.path)
        } throws: { error in
            guard case let StorageError.locked(_, owner) = error else { return false }
            return owner.hasPrefix("unknown")
        }
        #expect(throws: StorageError.self) { _ = try DataDirectoryLock.readerHold(directory: directory.path) }
        lock.release()
        let next = try DataDirectoryLock(directory: directory.path)
        #expect(DataDirectoryLock.owner(of: directory.path) == getpid())
        #expect(throws: StorageError.self, "a reader waits for no one: the owner refuses it") {
            _ = try DataDirectoryLock.readerHold(directory: directory.path)
        }
        next.release()
        let reader = try #require(try DataDirectoryLock.readerHold(directory: directory.path))
        #expect(throws: StorageError.self, "no owner while a reader holds it") { _ = try DataDirectoryLock(directory: directory.path) }
        reader.release()
        _ = try DataDirectoryLock(directory: directory.path)
    }

    @Test func theLockIsFreeAgainOnceItsOwnerLetsGo() throws {
        let directory = TemporaryDirectory()
        do { _ = try DataDirectoryLock(directory: directory.path) }
        #expect(DataDirectoryLock.owner(of: directory.path) == nil)
        _ = try DataDirectoryLock(directory: directory.path)
    }
}
