import Foundation
import Logging
import RoostBinary
import RoostDomain
import RoostStorage
import RoostTestSupport
import Testing

@testable import RoostEngine

let t0 = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000)

func openEngine(_ directory: String, shards: Int = 4, snapshotsKept: Int = 2, io: StorageIO = .system) throws -> Engine {
    let limits = WALLimits(segmentBytes: 16 << 10, recordBytesMax: 4096, pendingBytesMax: 1 << 20)
    return try Engine.open(
        options: EngineOptions(
            dataDirectory: directory, shardCount: shards, wal: WALOptions(limits: limits, io: io), snapshotsKept: snapshotsKept
        ),
        aggregates: [Tally.self], logger: quietLogger
    )
}

func states(_ engine: Engine) async -> [Tally.State] {
    var result: [Tally.State] = []
    for shard in engine.group(Tally.self).shards { result.append(shard.peek { $0 }) }
    return result
}

func add(_ engine: Engine, _ key: String, _ amount: Int64) async throws {
    try await engine.group(Tally.self).shard(for: key).execute(.add(key: key, amount: amount), now: t0)
}

@Suite struct EngineTests {
    @Test func acceptedCommandsAreJournaledAndRejectedOnesLeaveNoTrace() async throws {
        let directory = TemporaryDirectory()
        let engine = try openEngine(directory.path)
        try await add(engine, "rooms", 3)
        let before = engine.journal.lastAppendedLSN
        await #expect(throws: Tally.Rejection.wouldGoNegative(key: "rooms")) { try await add(engine, "rooms", -4) }
        try await add(engine, "rooms", 0)
        #expect(engine.journal.lastAppendedLSN == before, "rejections and no-ops append nothing")
        #expect(engine.group(Tally.self).shard(for: "rooms").peek { $0.counts["rooms"] } == 3)
        engine.close()
    }

    @Test func theSingleOwnerNeverOversellsUnderConcurrency() async throws {
        let directory = TemporaryDirectory()
        let engine = try openEngine(directory.path)
        try await add(engine, "nights", 500)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<1000 { group.addTask { (try? await add(engine, "nights", -1)) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 500)
        #expect(engine.group(Tally.self).shard(for: "nights").peek { $0.counts["nights"] } == 0)
        engine.close()
    }

    @Test func aSecondEngineOnTheSameDirectoryIsRefused() throws {
        let directory = TemporaryDirectory()
        let engine = try openEngine(directory.path)
        #expect(throws: StorageError.self) { _ = try openEngine(directory.path) }
        engine.close()
    }

    @Test func aDirectoryKeepsTheShardCountItWasMadeWithEvenWithOnlyALog() async throws {
        let directory = TemporaryDirectory()
        let keys = (0..<40).map { "key\($0)" }
        do {
            let engine = try openEngine(directory.path, shards: 4)
            for key in keys { try await add(engine, key, 1) }
            engine.close()
        }
        let layout = ShardLayout.path(in: directory.path)
        #expect(try String(contentsOfFile: layout, encoding: .utf8) == "shards=4\n")
        // No snapshot: only the log's records, each naming a shard of 4. Replayed into 16, most keys would sit
        // in a shard their lookups never visit.
        let refused = #expect(throws: EngineError.self) { _ = try openEngine(directory.path, shards: 16) }
        guard case .shardCountMismatch(directory: 4, configured: 16)? = refused else {
            Issue.record("expected a shard-count mismatch, got \(String(describing: refused))")
            return
        }
        #expect(refused?.code == "shard_count_mismatch")
        let engine = try openEngine(directory.path, shards: 4)
        for key in keys { #expect(engine.group(Tally.self).shard(for: key).peek { $0.counts[key] } == 1) }
        engine.close()
    }

    @Test func aNewDirectoryTakesTheDefaultCountAndKeepsIt() async throws {
        let directory = TemporaryDirectory()
        let options = EngineOptions(dataDirectory: directory.path)
        do {
            let engine = try Engine.open(options: options, aggregates: [Tally.self], logger: quietLogger)
            #expect(engine.group(Tally.self).count == EngineOptions.defaultShardCount)
            try await add(engine, "rooms", 2)
            engine.close()
        }
        #expect(try ShardLayout.recorded(in: directory.path) == EngineOptions.defaultShardCount)
        let engine = try Engine.open(options: options, aggregates: [Tally.self], logger: quietLogger)
        #expect(engine.group(Tally.self).count == EngineOptions.defaultShardCount)
        #expect(engine.group(Tally.self).shard(for: "rooms").peek { $0.counts["rooms"] } == 2)
        engine.close()
    }

    @Test func aDirectoryWithStateFromBeforeTheRecordOpensWithTheOldDefaultAndRecordsItOnceASnapshotConfirmsIt() async throws {
        let directory = TemporaryDirectory()
        let keys = (0..<40).map { "key\($0)" }
        do {
            let engine = try openEngine(directory.path, shards: EngineOptions.legacyShardCount)
            for key in keys { try await add(engine, key, 1) }
            engine.close()
        }
        try FileManager.default.removeItem(atPath: ShardLayout.path(in: directory.path))
        let unconfigured = EngineOptions(dataDirectory: directory.path)
        do {
            // Only a log: 16 is assumed, not recorded (a guess must not become permanent).
            let engine = try Engine.open(options: unconfigured, aggregates: [Tally.self], logger: quietLogger)
            #expect(engine.group(Tally.self).count == EngineOptions.legacyShardCount)
            for key in keys { #expect(engine.group(Tally.self).shard(for: key).peek { $0.counts[key] } == 1) }
            #expect(try ShardLayout.recorded(in: directory.path) == nil)
            _ = try await engine.snapshot()
            engine.close()
        }
        // A snapshot carries its count and loaded with 16: now it is recorded.
        let engine = try Engine.open(options: unconfigured, aggregates: [Tally.self], logger: quietLogger)
        #expect(try ShardLayout.recorded(in: directory.path) == EngineOptions.legacyShardCount)
        engine.close()
    }

    @Test func aDamagedShardCountFileStopsStartUp() throws {
        let directory = TemporaryDirectory()
        try openEngine(directory.path, shards: 4).close()
        try "shards=four\n".write(toFile: ShardLayout.path(in: directory.path), atomically: true, encoding: .utf8)
        let refused = #expect(throws: EngineError.self) { _ = try openEngine(directory.path, shards: 4) }
        #expect(refused?.code == "unreadable_state")
    }

    @Test func aDamagedNewestSnapshotFallsBackToTheOlderOneAndTheLog() async throws {
        let directory = TemporaryDirectory()
        var expected: [Tally.State] = []
        do {
            let engine = try openEngine(directory.path, snapshotsKept: 3)
            for round in 0..<3 {
                for index in 0..<40 { try await add(engine, "k\(index)", Int64(round + 1)) }
                try await engine.snapshot()
            }
            try await add(engine, "after", 7)
            expected = await states(engine)
            engine.close()
        }
        let newest = try SnapshotStore(directory: directory.path + "/snapshots").list().last!
        let path = directory.path + "/snapshots/" + SnapshotStore.fileName(lsn: newest)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 0xFF
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let engine = try openEngine(directory.path, snapshotsKept: 3)
        #expect(engine.recovery.snapshotLSN ?? 0 < newest)
        #expect(await states(engine) == expected)
        engine.close()
    }

    /// The only snapshot damaged (or gone) after the log segments it covered were pruned: starting
    /// would serve the records after it alone, and the next snapshot would bury the loss. Refused,
    /// naming the records missing; `--repair` starts on what is left, knowingly.
    @Test func aStartThatWouldMissRecordsNoSnapshotCoversIsRefused() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try openEngine(directory.path, snapshotsKept: 1)
            for index in 0..<1_500 { try await add(engine, "k\(index % 50)", 1) }
            try await engine.snapshot()
            for index in 0..<10 { try await add(engine, "after\(index)", 1) }
            engine.close()
        }
        let snapshot = try #require(try SnapshotStore(directory: directory.path + "/snapshots").list().last)
        let firstSegment = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/wal").sorted().first)
        #expect(firstSegment != "00000000000000000001.wal", "the covered segments were pruned")
        let path = directory.path + "/snapshots/" + SnapshotStore.fileName(lsn: snapshot)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 0xFF
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))

        #expect { try openEngine(directory.path, snapshotsKept: 1) } throws: { error in
            "\(error)".contains("are needed") && "\(error)".contains("--repair")
        }
        #expect("an inspection (`roost check`) refuses it too") {
            try Engine.inspect(options: EngineOptions(dataDirectory: directory.path, shardCount: 4), aggregates: [Tally.self], logger: quietLogger)
        } throws: { error in
            "\(error)".contains("are needed")
        }
        let limits = WALLimits(segmentBytes: 16 << 10, recordBytesMax: 4096, pendingBytesMax: 1 << 20)
        let repaired = try Engine.open(
            options: EngineOptions(dataDirectory: directory.path, shardCount: 4, wal: WALOptions(limits: limits), snapshotsKept: 1, repair: true),
            aggregates: [Tally.self], logger: quietLogger
        )
        #expect(repaired.recovery.snapshotLSN == nil && repaired.recovery.recordsReplayed < 1_510)
        repaired.close()
    }

    /// `Engine.inspect` reads what `open` would recover (snapshot, then the log after it), refuses
    /// what start-up refuses, and writes nothing: not even the lock or a spare segment.
    @Test func anInspectionReadsWhatOpenRecoversAndChangesNothing() async throws {
        let directory = TemporaryDirectory()
        var expected: [Tally.State] = []
        do {
            let engine = try openEngine(directory.path)
            for index in 0..<400 { try await add(engine, "k\(index % 30)", 1) }
            try await engine.snapshot()
            for index in 0..<1_500 { try await add(engine, "after\(index % 9)", 2) }  // several segments
            expected = await states(engine)
            engine.close()
        }
        func files() throws -> [String: Data] {
            var contents: [String: Data] = [:]
            let enumerator = FileManager.default.enumerator(atPath: directory.path)!
            while let name = enumerator.nextObject() as? String {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: directory.path + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                    contents[name] = FileManager.default.contents(atPath: directory.path + "/" + name)
                }
            }
            return contents
        }
        try FileManager.default.removeItem(atPath: directory.path + "/LOCK")
        let before = try files()
        let options = EngineOptions(dataDirectory: directory.path, wal: WALOptions(limits: WALLimits(segmentBytes: 16 << 10, recordBytesMax: 4096, pendingBytesMax: 1 << 20)))
        let inspection = try Engine.inspect(options: options, aggregates: [Tally.self], logger: quietLogger)
        #expect(inspection.states(Tally.self) == expected)
        #expect(inspection.lastLSN == 1_900 && inspection.tornTail == nil)
        #expect(try files() == before, "nothing written, renamed or removed")

        // Damage in a segment before the last (after the snapshot) is refused, as start-up refuses it.
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/wal").filter { $0.hasSuffix(".wal") }.sorted()
        let path = directory.path + "/wal/" + segments[segments.count - 2]
        #expect(UInt64(segments[segments.count - 2].prefix(20))! > 401)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[40 + 30] ^= 0xFF  // in the first record, past the 40-byte segment header
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: StorageError.self) { try Engine.inspect(options: options, aggregates: [Tally.self], logger: quietLogger) }
    }

    @Test func aCrashMidSnapshotRecoversFromThePreviousSnapshotPlusTheLog() async throws {
        let directory = TemporaryDirectory()
        var expected: [Tally.State] = []
        var firstSnapshot: UInt64 = 0
        do {
            let engine = try openEngine(directory.path)
            for index in 0..<30 { try await add(engine, "k\(index % 7)", 2) }
            firstSnapshot = try await engine.snapshot()
            for index in 0..<30 { try await add(engine, "k\(index % 9)", 3) }
            expected = await states(engine)
            engine.close()
        }
        // What a crash after writing (or syncing) the next snapshot's temporary file leaves behind.
        let next = directory.path + "/snapshots/" + SnapshotStore.fileName(lsn: firstSnapshot + 30) + ".tmp"
        _ = FileManager.default.createFile(atPath: next, contents: Data([1, 2, 3, 4]))
        let engine = try openEngine(directory.path)
        #expect(engine.recovery.snapshotLSN == firstSnapshot)
        #expect(engine.recovery.recordsReplayed == 30)
        #expect(await states(engine) == expected)
        engine.close()
    }

    @Test func anEventTagThisBuildDoesNotKnowStopsStartUpWithAClearError() async throws {
        let directory = TemporaryDirectory()
        do {
            let engine = try openEngine(directory.path)
            try await add(engine, "a", 1)
            engine.close()
        }
        // Append a record whose event has tag 99, as a newer build might.
        let limits = WALLimits(segmentBytes: 16 << 10, recordBytesMax: 4096, pendingBytesMax: 1 << 20)
        let tail = try WALRecovery.recover(directory: directory.path + "/wal", limits: limits, logger: quietLogger) { _ in }
        let log = try WriteAheadLog(directory: directory.path + "/wal", tail: tail, options: WALOptions(limits: limits), logger: quietLogger)
        var writer = ByteWriter()
        writer.write(UInt8(1))
        writer.write(Tally.kind)
        writer.write(UInt16(0))
        writer.write(t0.millisecondsSinceEpoch)
        writer.writeVarint(1)
        writer.writeBytes([99, 0, 1])
        _ = try await log.appendDurably(type: Journal.eventsRecordType, payload: writer.bytes)
        log.close()
        #expect {
            try openEngine(directory.path)
        } throws: { error in
            guard case let EngineError.unreadableState(reason) = error else { return false }
            return reason.contains("no tag 99")
        }
    }

    @Test func aFailedFsyncStopsWritesAndARestartRecoversEveryAcknowledgedCommand() async throws {
        let directory = TemporaryDirectory()
        let failing = FaultSwitch()
        var io = StorageIO.system
        io.fdatasync = { fd in
            if failing.isOn { errno = EIO; return -1 }
            return Glibc.fdatasync(fd)
        }
        var acknowledged: [String: Int64] = [:]
        do {
            let engine = try openEngine(directory.path, io: io)
            for index in 0..<20 {
                try await add(engine, "k\(index)", 1)
                acknowledged["k\(index)"] = 1
            }
            failing.turnOn()
            await #expect(throws: EngineError.self) { try await add(engine, "late", 1) }
            #expect(!engine.isAcceptingWrites)
            await #expect(throws: EngineError.self) { try await add(engine, "later", 1) }
            engine.close()
        }
        failing.turnOff()
        let engine = try openEngine(directory.path)
        var recovered: [String: Int64] = [:]
        for state in await states(engine) { recovered.merge(state.counts) { $1 } }
        for (key, value) in acknowledged { #expect(recovered[key] == value) }
        #expect(recovered["later"] == nil, "nothing after the failure was accepted")
        #expect(engine.isAcceptingWrites)
        engine.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func anUndurableCommandIsAppliedBeforeItsSyncAndIsDurableOnceALaterRecordIs() async throws {
        let directory = TemporaryDirectory()
        let holdingSyncs = FaultSwitch()
        var io = StorageIO.system
        io.fdatasync = { fd in
            while holdingSyncs.isOn { usleep(200) }
            return Glibc.fdatasync(fd)
        }
        do {
            let engine = try openEngine(directory.path, io: io)
            let group = engine.group(Tally.self)
            let (a, c) = (group.shard(for: "a"), group.shard(for: "c"))
            try #require(group.index(for: "a") != group.index(for: "c"))
            try await add(engine, "c", 5)
            holdingSyncs.turnOn()
            defer { holdingSyncs.turnOff() }  // a failed check below must not leave the writer held
            let recorded = try await a.executeUndurable(.add(key: "a", amount: 2), now: t0)
            #expect(recorded.events == [.added(key: "a", amount: 2)])
            #expect(a.peek { $0.counts["a"] } == 2, "applied before it is durable")
            let lsn = try #require(recorded.lsn)
            #expect(engine.journal.durableLSN < lsn, "returned while its sync is held")
            let unchanged = try await a.executeUndurable(.add(key: "a", amount: 0), now: t0)
            #expect(unchanged.lsn == nil && unchanged.events.isEmpty)
            try await a.waitDurable(unchanged)  // nothing recorded: no wait, even with syncs held
            await #expect(throws: Tally.Rejection.wouldGoNegative(key: "a")) { try await a.executeUndurable(.add(key: "a", amount: -3), now: t0) }
            #expect(engine.journal.lastAppendedLSN == lsn, "a rejection appends nothing")
            holdingSyncs.turnOff()
            // A later record on another shard: once it is durable, so is the earlier one.
            try await c.execute(.add(key: "c", amount: 1), now: t0)
            #expect(engine.journal.durableLSN >= lsn)
            try await a.waitDurable(recorded)
            engine.close()
        }
        let engine = try openEngine(directory.path)
        #expect(engine.group(Tally.self).shard(for: "a").peek { $0.counts["a"] } == 2)
        #expect(engine.group(Tally.self).shard(for: "c").peek { $0.counts["c"] } == 6)
        engine.close()
    }
}
