import Foundation
import RoostDomain
import RoostStorage
import RoostTestSupport
import Testing

@testable import RoostEngine

/// For random command sequences, with snapshots taken at random moments while commands run,
/// the state after a restart equals the state before it, and equals a plain fold of `apply`.
@Suite struct ReplayEquivalenceTests {
    @Test(arguments: 0..<6)
    func stateAfterRecoveryEqualsStateBeforeTheRestart(run: Int) async throws {
        let seed = testSeed() &+ UInt64(run)
        var generator = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        var model = Tally.State()
        var before: [Tally.State] = []
        let restarts = Int.random(in: 1...3, using: &generator)
        for _ in 0..<restarts {
            let engine = try openEngine(directory.path, shards: 3)
            if !before.isEmpty {
                #expect(await states(engine) == before, "seed \(seed)")
            }
            for step in 0..<Int.random(in: 50...400, using: &generator) {
                let key = "key\(Int.random(in: 0..<25, using: &generator))"
                let command: Tally.Command =
                    Int.random(in: 0..<10, using: &generator) == 0
                    ? .reset(key: key) : .add(key: key, amount: Int64.random(in: -5...9, using: &generator))
                let shard = engine.group(Tally.self).shard(for: key)
                if let events = try? await shard.execute(command, now: t0) {
                    for event in events { Tally.apply(event, to: &model) }
                }
                if step % 97 == Int.random(in: 0..<97, using: &generator) { try await engine.snapshot() }
            }
            before = await states(engine)
            var merged = Tally.State()
            for state in before { merged.counts.merge(state.counts) { _, _ in Issue.record("a key on two shards"); return 0 } }
            #expect(merged == model, "seed \(seed)")
            engine.close()
        }
        let engine = try openEngine(directory.path, shards: 3)
        #expect(await states(engine) == before, "seed \(seed): replay diverged")
        engine.close()
    }

    @Test func snapshotsTakenWhileWritesContinueRecoverToTheSameState() async throws {
        let directory = TemporaryDirectory()
        let engine = try openEngine(directory.path, shards: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<200 { try await add(engine, "w\(writer)-\(index % 17)", 1) }
                }
            }
            group.addTask {
                for _ in 0..<5 { try await engine.snapshot() }
            }
            try await group.waitForAll()
        }
        let before = await states(engine)
        engine.close()
        let walSegments = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/wal").filter { $0.hasSuffix(".wal") }
        let reopened = try openEngine(directory.path, shards: 4)
        #expect(await states(reopened) == before)
        #expect(reopened.recovery.snapshotLSN != nil)
        #expect(try SnapshotStore(directory: directory.path + "/snapshots").list().count <= 2, "old snapshots are pruned")
        #expect(!walSegments.isEmpty)
        reopened.close()
    }
}
