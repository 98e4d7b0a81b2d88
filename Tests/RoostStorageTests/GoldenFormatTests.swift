import Foundation
import Logging
import RoostBinary
import RoostTestSupport
import Testing

@testable import RoostStorage

/// Format version 1 is pinned byte for byte by files committed under `Golden/`. Every later
/// version of Roost must still read them. Regenerate only for a new format version, never to
/// make a test pass: `ROOST_WRITE_GOLDEN=1 swift test --filter GoldenFormatTests`.
@Suite(.serialized) struct GoldenFormatTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    static let walLimits = WALLimits(segmentBytes: 1024, recordBytesMax: 512, pendingBytesMax: 1 << 20)

    /// The records in the golden WAL: LSN n has type (n % 3) + 1 and payload "roost golden record n".
    static func goldenPayload(_ lsn: UInt64) -> [UInt8] { Array("roost golden record \(lsn)".utf8) }
    static let goldenRecordCount: UInt64 = 40
    static let goldenSnapshotBody: [UInt8] = Array("roost golden snapshot body, format 1".utf8) + (0..<64).map { UInt8($0) }

    @Test func writeGoldenFilesWhenAsked() async throws {
        guard ProcessInfo.processInfo.environment["ROOST_WRITE_GOLDEN"] == "1" else { return }
        let wal = Self.goldenDirectory + "/wal-v1"
        try? FileManager.default.removeItem(atPath: wal)
        let tail = try WALRecovery.recover(directory: wal, limits: Self.walLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: wal, tail: tail, options: WALOptions(limits: Self.walLimits), logger: quietLogger)
        for lsn in 1...Self.goldenRecordCount {
            try log.append(type: UInt8(lsn % 3) + 1, payload: Self.goldenPayload(lsn))
        }
        try await log.waitDurable(Self.goldenRecordCount)
        log.close()
        let snapshots = Self.goldenDirectory + "/snapshots-v1"
        try? FileManager.default.removeItem(atPath: snapshots)
        try SnapshotStore(directory: snapshots).write(lsn: 40, body: Self.goldenSnapshotBody)
    }

    @Test func theGoldenWALOfVersion1ReadsBackRecordForRecord() throws {
        let copy = TemporaryDirectory()
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: Self.goldenDirectory + "/wal-v1", toPath: copy.path)
        var seen: [(UInt64, UInt8, [UInt8])] = []
        let scan = try WALScanner(directory: copy.path, limits: Self.walLimits).scan { record in
            seen.append((record.lsn, record.type, Array(record.payload)))
        }
        #expect(scan.damage == nil)
        #expect(scan.segments.count > 1, "the golden log spans segments")
        #expect(seen.map(\.0) == Array(1...Self.goldenRecordCount))
        for (lsn, type, payload) in seen {
            #expect(type == UInt8(lsn % 3) + 1)
            #expect(payload == Self.goldenPayload(lsn))
        }
    }

    @Test func todaysWriterProducesTheGoldenBytesExactly() async throws {
        let directory = TemporaryDirectory()
        let tail = try WALRecovery.recover(directory: directory.path, limits: Self.walLimits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path, tail: tail, options: WALOptions(limits: Self.walLimits), logger: quietLogger)
        for lsn in 1...Self.goldenRecordCount {
            try log.append(type: UInt8(lsn % 3) + 1, payload: Self.goldenPayload(lsn))
        }
        try await log.waitDurable(Self.goldenRecordCount)
        log.close()
        let golden = segmentPaths(Self.goldenDirectory + "/wal-v1")
        let written = segmentPaths(directory.path)
        #expect(golden.map { ($0 as NSString).lastPathComponent } == written.map { ($0 as NSString).lastPathComponent })
        for (expected, actual) in zip(golden, written) { #expect(readFile(expected) == readFile(actual)) }
    }

    @Test func theGoldenSnapshotOfVersion1Loads() throws {
        let store = SnapshotStore(directory: Self.goldenDirectory + "/snapshots-v1")
        #expect(try store.list() == [40])
        #expect(try store.load(lsn: 40) == Self.goldenSnapshotBody)
        let header = readFile(Self.goldenDirectory + "/snapshots-v1/00000000000000000040.snapshot").prefix(12)
        #expect(Array(header) == Array("ROOSTSNP".utf8) + [1, 0, 0, 0])
    }
}
