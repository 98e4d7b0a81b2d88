import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RoostEngine

/// The lock behind every shard's state (`Shard.peek` reads through it, the shard's actor writes).
@Suite struct ReadWriteLockedTests {
    /// Two readers hold the lock at once: the first waits, inside its read, for the second to be
    /// inside its own. Behind a mutex the second could never enter, and the first would time out.
    @Test func readersReadSideBySide() {
        let locked = ReadWriteLocked(0)
        let secondInside = DispatchSemaphore(value: 0)
        let firstSawSecond = LockedFlag()
        let group = DispatchGroup()
        holdRead(locked, in: group) { firstSawSecond.set(secondInside.wait(timeout: .now() + 10) == .success) }
        DispatchQueue.global().async(group: group) { locked.read { _ in _ = secondInside.signal() } }
        group.wait()
        #expect(firstSawSecond.value, "the second reader entered while the first held the lock")
    }

    /// A write is never seen half done: the writer keeps two numbers summing to zero, changing one
    /// and then the other inside each write (in an object, so that each store is seen at once by
    /// anyone reading it); readers on other threads never see another sum.
    @Test func readersNeverSeeAWriteHalfDone() {
        let locked = ReadWriteLocked(Pair())
        let stop = LockedFlag()
        let torn = LockedFlag()
        let group = DispatchGroup()
        for _ in 0..<3 {
            DispatchQueue.global().async(group: group) {
                while !stop.value {
                    if locked.read({ $0.a + $0.b }) != 0 { torn.set(true) }
                }
            }
        }
        for step in 1...20_000 {
            locked.write { pair in
                pair.a = step
                sched_yield()  // a reader let in now would see the sum off by one
                pair.b = -step
            }
        }
        stop.set(true)
        group.wait()
        #expect(!torn.value)
        #expect(locked.read { $0.a } == 20_000)
    }

    #if os(Linux)
    /// A waiting writer holds back readers that come after it, so a stream of reads cannot starve
    /// the shard's writes: with a reader inside, a writer waits; a reader arriving after the writer
    /// reads only once the write is done.
    @Test func aWaitingWriterGoesBeforeLaterReaders() {
        let locked = ReadWriteLocked(0)
        let releaseFirst = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let seenByLateReader = LockedFlag()
        holdRead(locked, in: group) { releaseFirst.wait() }
        DispatchQueue.global().async(group: group) { locked.write { $0 = 1 } }
        Thread.sleep(forTimeInterval: 0.2)  // the writer is now waiting for the first reader
        DispatchQueue.global().async(group: group) { seenByLateReader.set(locked.read { $0 } == 1) }
        Thread.sleep(forTimeInterval: 0.2)  // the late reader is now waiting behind the writer
        releaseFirst.signal()
        group.wait()
        #expect(seenByLateReader.value, "the reader that came after the waiting writer read its write")
    }
    #endif
}

/// Starts a reader on another thread that, once inside its read, runs `meanwhile` while it still
/// holds the read; returns when the reader is inside.
private func holdRead(_ locked: ReadWriteLocked<Int>, in group: DispatchGroup, while meanwhile: @escaping @Sendable () -> Void) {
    let inside = DispatchSemaphore(value: 0)
    DispatchQueue.global().async(group: group) {
        locked.read { _ in
            inside.signal()
            meanwhile()
        }
    }
    inside.wait()
}

/// Two numbers that only `ReadWriteLocked` guards.
private final class Pair: @unchecked Sendable {
    var a = 0, b = 0
}

/// A flag threads set and read.
private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set(_ value: Bool) { lock.withLock { flag = value } }
}
