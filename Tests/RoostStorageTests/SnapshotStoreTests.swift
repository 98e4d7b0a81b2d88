import Foundation
import Logging
import RoostBinary
import RoostTestSupport
import Testing

@testable import RoostStorage

@Suite struct SnapshotStoreTests {
    struct SimulatedCrash: Error {}

    @Test func aWrittenSnapshotLoadsBackByteForByte() throws {
        let directory = TemporaryDirectory()
        let store = SnapshotStore(directory: directory.path)
        let body = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try store.write(lsn: 42, body: body)
        #expect(try store.list() == [42])
        #expect(try store.load(lsn: 42) == body)
        #expect(try store.loadNewestValid(logger: quietLogger)?.lsn == 42)
    }

    @Test func aDamagedNewestSnapshotFallsBackToThePreviousOne() throws {
        let directory = TemporaryDirectory()
        let store = SnapshotStore(directory: directory.path)
        try store.write(lsn: 10, body: [1, 2, 3])
        let newest = try store.write(lsn: 20, body: [4, 5, 6, 7])
        var bytes = readFile(newest)
        bytes[bytes.count - 1] ^= 0x10
        writeFile(newest, bytes)
        let logs = CapturedLogs()
        let loaded = try store.loadNewestValid(logger: logs.logger)
        #expect(loaded?.lsn == 10)
        #expect(loaded?.body == [1, 2, 3])
        #expect(logs.entries.contains { $0.level == .error && $0.metadata["snapshot.lsn"] == "20" })
    }

    @Test func aSnapshotOfANewerFormatVersionIsRefused() throws {
        let directory = TemporaryDirectory()
        let store = SnapshotStore(directory: directory.path)
        let path = try store.write(lsn: 5, body: [9])
        var bytes = readFile(path)
        bytes[8] = 2  // version 2
        let headerCRC = CRC32C.checksum(Array(bytes[0..<32]))
        withUnsafeBytes(of: headerCRC.littleEndian) { for (index, byte) in $0.enumerated() { bytes[32 + index] = byte } }
        writeFile(path, bytes)
        #expect(throws: StorageError.unsupportedVersion(path: path, version: 2)) { try store.load(lsn: 5) }
    }

    @Test(arguments: [SnapshotStore.Stage.temporaryWritten, .temporarySynced, .renamed])
    func aCrashWhileWritingLeavesThePreviousSnapshotUsable(stage: SnapshotStore.Stage) throws {
        let directory = TemporaryDirectory()
        try SnapshotStore(directory: directory.path).write(lsn: 7, body: [7, 7, 7])
        let crashing = SnapshotStore(directory: directory.path) { reached in
            if reached == stage { throw SimulatedCrash() }
        }
        #expect(throws: SimulatedCrash.self) { try crashing.write(lsn: 9, body: [9, 9, 9, 9]) }
        let loaded = try SnapshotStore(directory: directory.path).loadNewestValid(logger: quietLogger)
        if stage == .renamed {
            #expect(loaded?.lsn == 9, "after the rename the new snapshot is complete and synced")
        } else {
            #expect(loaded?.lsn == 7)
            #expect(loaded?.body == [7, 7, 7])
        }
    }

    @Test func pruningKeepsTheNewestAndRemovesStaleTemporaries() throws {
        let directory = TemporaryDirectory()
        let store = SnapshotStore(directory: directory.path)
        for lsn in [3, 8, 13, 21, 34] as [UInt64] { try store.write(lsn: lsn, body: [UInt8(lsn)]) }
        writeFile(directory.path + "/" + "00000000000000000055.snapshot.tmp", [1])
        #expect(try store.prune(keep: 3) == 13)
        #expect(try store.list() == [13, 21, 34])
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/00000000000000000055.snapshot.tmp"))
    }
}
