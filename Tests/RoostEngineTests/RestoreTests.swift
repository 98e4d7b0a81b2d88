import Foundation
import Logging
import RoostDomain
import RoostStorage
import RoostTestSupport
import Testing

@testable import RoostEngine

@Suite struct RestoreTests {
    /// Writes `count` commands (key i%5 += 1), one per millisecond from t0; returns the state after each LSN.
    func history(_ directory: String, count: Int, snapshotEvery: Int = 0) async throws -> [UInt64: Tally.State] {
        let engine = try openEngine(directory, shards: 2)
        var model = Tally.State()
        var after: [UInt64: Tally.State] = [:]
        for index in 0..<count {
            let key = "k\(index % 5)"
            let time = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Int64(index) * 1000)
            let events = try await engine.group(Tally.self).shard(for: key).execute(.add(key: key, amount: 1), now: time)
            for event in events { Tally.apply(event, to: &model) }
            after[engine.journal.lastAppendedLSN] = model
            if snapshotEvery > 0 && (index + 1) % snapshotEvery == 0 { try await engine.snapshot() }
        }
        engine.close()
        return after
    }

    func merged(_ engine: Engine) async -> Tally.State {
        var result = Tally.State()
        for state in await states(engine) { result.counts.merge(state.counts) { $1 } }
        return result
    }

    func options(_ directory: String) -> EngineOptions {
        let limits = WALLimits(segmentBytes: 16 << 10, recordBytesMax: 4096, pendingBytesMax: 1 << 20)
        return EngineOptions(dataDirectory: directory, shardCount: 2, wal: WALOptions(limits: limits), snapshotsKept: 5)
    }

    @Test func restoringToAnLSNRebuildsExactlyThatStateAndTheLogContinuesAfterIt() async throws {
        let directory = TemporaryDirectory()
        let after = try await history(directory.path, count: 120, snapshotEvery: 50)
        let report = try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .lsn(77), logger: quietLogger)
        #expect(report.restoredLSN == 77)
        #expect(report.snapshotUsed == 50, "the newest snapshot at or before the target")
        #expect(FileManager.default.fileExists(atPath: report.previousStateDirectory + "/wal"))
        let engine = try openEngine(directory.path, shards: 2)
        #expect(await merged(engine) == after[77])
        try await add(engine, "k0", 100)
        #expect(engine.journal.lastAppendedLSN == 78)
        engine.close()
        let reopened = try openEngine(directory.path, shards: 2)
        var expected = after[77]!
        expected.counts["k0", default: 0] += 100
        #expect(await merged(reopened) == expected)
        reopened.close()
    }

    /// A target the log cannot reach is refused before anything moves: an LSN past its end, 0, or a
    /// time before its first record (each "restored" something else and exited 0).
    @Test func aTargetTheLogCannotReachIsRefusedAndNothingMoves() async throws {
        let directory = TemporaryDirectory()
        let after = try await history(directory.path, count: 30)
        let targets: [RestoreTarget] = [.lsn(31), .lsn(0), .time(Date(timeIntervalSince1970: Double(t0.millisecondsSinceEpoch) / 1000 - 1))]
        for target in targets {
            #expect(throws: StorageError.self, "\(target)") {
                _ = try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: target, logger: quietLogger)
            }
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!entries.contains { $0.hasPrefix("pre-restore") }, "nothing moved aside")
        let engine = try openEngine(directory.path, shards: 2)
        #expect(await merged(engine) == after[30])
        engine.close()
        // The last record itself is a target it reaches.
        #expect(try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .lsn(30), logger: quietLogger).restoredLSN == 30)
    }

    @Test func restoreKeepsTheDirectorysShardCountAndRefusesAnother() async throws {
        let directory = TemporaryDirectory()
        _ = try await history(directory.path, count: 60, snapshotEvery: 50)
        #expect(try ShardLayout.recorded(in: directory.path) == 2)
        var other = options(directory.path)
        other.shardCount = 8
        let refused = #expect(throws: EngineError.self) {
            _ = try Engine.restore(options: other, aggregates: [Tally.self], target: .lsn(55), logger: quietLogger)
        }
        #expect(refused?.code == "shard_count_mismatch")
        #expect(FileManager.default.fileExists(atPath: directory.path + "/wal"), "a refused restore moves nothing aside")
        var unconfigured = options(directory.path)
        unconfigured.shardCount = nil
        let report = try Engine.restore(options: unconfigured, aggregates: [Tally.self], target: .lsn(55), logger: quietLogger)
        #expect(report.restoredLSN == 55)
        #expect(try ShardLayout.recorded(in: directory.path) == 2)
        let engine = try Engine.open(options: unconfigured, aggregates: [Tally.self], logger: quietLogger)
        #expect(engine.group(Tally.self).count == 2)
        engine.close()
    }

    @Test func aSnapshotMadeWithAnotherCountIsRefusedWithBothCounts() async throws {
        // A directory from before the record: a snapshot at 2 shards, no `shards` file, opened with no count (16 assumed).
        let directory = TemporaryDirectory()
        _ = try await history(directory.path, count: 60, snapshotEvery: 50)
        try FileManager.default.removeItem(atPath: ShardLayout.path(in: directory.path))
        var unconfigured = options(directory.path)
        unconfigured.shardCount = nil
        let refused = #expect(throws: EngineError.self) {
            _ = try Engine.open(options: unconfigured, aggregates: [Tally.self], logger: quietLogger)
        }
        guard case .shardCountMismatch(directory: 2, configured: EngineOptions.legacyShardCount)? = refused else {
            Issue.record("expected a shard-count mismatch, got \(String(describing: refused))")
            return
        }
        #expect(try ShardLayout.recorded(in: directory.path) == nil, "nothing recorded from a start that failed")
    }

    @Test func restoringToATimeStopsAtTheFirstRecordStampedAfterIt() async throws {
        let directory = TemporaryDirectory()
        let after = try await history(directory.path, count: 40)
        // Record n (1-based) is stamped t0 + (n-1) s: the time t0 + 9.5 s keeps records 1...10.
        let time = Date(timeIntervalSince1970: Double(t0.millisecondsSinceEpoch) / 1000 + 9.5)
        let report = try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .time(time), logger: quietLogger)
        #expect(report.restoredLSN == 10)
        let engine = try openEngine(directory.path, shards: 2)
        #expect(await merged(engine) == after[10])
        engine.close()
    }

    @Test func restoringASnapshotTakesExactlyItsState() async throws {
        let directory = TemporaryDirectory()
        let after = try await history(directory.path, count: 60, snapshotEvery: 25)
        let report = try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .snapshot(25), logger: quietLogger)
        #expect(report.restoredLSN == 25 && report.recordsReplayed == 0)
        let engine = try openEngine(directory.path, shards: 2)
        #expect(await merged(engine) == after[25])
        engine.close()
    }

    @Test func aMissingSnapshotOrARunningServerIsRefused() async throws {
        let directory = TemporaryDirectory()
        _ = try await history(directory.path, count: 5)
        #expect(throws: StorageError.self) {
            try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .snapshot(3), logger: quietLogger)
        }
        let running = try openEngine(directory.path, shards: 2)
        #expect(throws: StorageError.self) {
            try Engine.restore(options: options(directory.path), aggregates: [Tally.self], target: .lsn(2), logger: quietLogger)
        }
        running.close()
    }
}
