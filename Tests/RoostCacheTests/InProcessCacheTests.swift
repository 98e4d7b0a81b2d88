import Synchronization
import Testing

@testable import RoostCache

final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(seconds: Int) { advance(by: .seconds(seconds)) }
    func advance(by duration: Duration) { current.withLock { $0 = $0 + duration } }
}

@Suite struct InProcessCacheTests {
    @Test func valuesComeBackUntilTheyExpire() async {
        let clock = ManualClock()
        let cache = InProcessCache(now: { clock.now })
        await cache.set("listing:1", [1, 2, 3], ttlSeconds: 10)
        #expect(await cache.get("listing:1") == [1, 2, 3])
        clock.advance(seconds: 9)
        #expect(await cache.get("listing:1") == [1, 2, 3])
        clock.advance(seconds: 1)
        #expect(await cache.get("listing:1") == nil)
        #expect(cache.count == 0, "an expired entry is dropped when found")
    }

    @Test func deleteAndNonPositiveTTLStoreNothing() async {
        let cache = InProcessCache()
        await cache.set("a", [1], ttlSeconds: 0)
        #expect(await cache.get("a") == nil)
        await cache.set("b", [2], ttlSeconds: 60)
        await cache.delete("b")
        #expect(await cache.get("b") == nil)
    }

    @Test func theLeastRecentlyUsedEntriesAreEvictedFirst() async {
        let cache = InProcessCache(limits: .init(entriesMax: 8, bytesMax: 1 << 20))
        for index in 0..<8 { await cache.set("k\(index)", [UInt8(index)], ttlSeconds: 60) }
        _ = await cache.get("k0")  // k0 is now the most recently used
        await cache.set("k8", [8], ttlSeconds: 60)
        #expect(cache.count <= 8)
        #expect(await cache.get("k0") == [0])
        #expect(await cache.get("k8") == [8])
        #expect(await cache.get("k1") == nil)
    }

    @Test func theByteLimitHolds() async {
        let cache = InProcessCache(limits: .init(entriesMax: 1000, bytesMax: 1000))
        for index in 0..<50 { await cache.set("k\(index)", [UInt8](repeating: 1, count: 100), ttlSeconds: 60) }
        var total = 0
        for index in 0..<50 { total += await cache.get("k\(index)")?.count ?? 0 }
        #expect(total <= 1000)
        #expect(await cache.get("k49") != nil)
    }

    @Test func bumpingAVersionCountsUpFromOne() async {
        let cache = InProcessCache()
        #expect(await cache.version("search") == 0)
        #expect(await cache.bumpVersion("search") == 1)
        #expect(await cache.bumpVersion("search") == 2)
        #expect(await cache.version("search") == 2)
    }
}
