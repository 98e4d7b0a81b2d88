import Synchronization
import Testing

@testable import RoostAPI

/// The booking's money steps one at a time per booking: never two at once for one key, never held up by another key,
/// and every key given back, whether its step returned or threw.
@Suite struct SerialByKeyTests {
    /// A gate a step waits at until the test opens it.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }
        var isOpen: Bool { state.withLock { $0.open } }
        func open() {
            for waiter in state.withLock({ state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }) { waiter.resume() }
        }
    }

    /// Test state shared by concurrent steps.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func callAsFunction<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
    }

    @Test func stepsForOneKeyNeverOverlap() async throws {
        let serial = SerialByKey()
        let inside = Shared((now: 0, most: 0, ran: 0))
        await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await serial.run("bkg_1") {
                        inside { $0.now += 1; $0.most = max($0.most, $0.now) }
                        await Task.yield()
                        await Task.yield()
                        inside { $0.now -= 1; $0.ran += 1 }
                    }
                }
            }
        }
        #expect(inside { $0.ran } == 200)
        #expect(inside { $0.most } == 1, "two steps of one booking ran at once")
        #expect(serial.pending == 0)
    }

    @Test func aHeldKeyDoesNotHoldUpAnother() async throws {
        let serial = SerialByKey()
        let gate = Gate(), holding = Gate()
        let first = Task {
            try await serial.run("bkg_a") {
                holding.open()
                await gate.wait()
            }
        }
        await holding.wait()
        // Were the keys one lock, bkg_b would wait for bkg_a's gate: opened only by this watchdog, after 10 s.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(10))
            gate.open()
        }
        let ranWhileHeld = Shared<Bool?>(nil)
        try await serial.run("bkg_b") { ranWhileHeld { $0 = !gate.isOpen } }
        #expect(ranWhileHeld { $0 } == true, "bkg_b waited for bkg_a")
        #expect(serial.pending == 1, "bkg_a is still held")
        gate.open()
        watchdog.cancel()
        try await first.value
        #expect(serial.pending == 0)
    }

    @Test func aKeyIsGivenBackWhenItsStepThrows() async throws {
        struct Refused: Error {}
        let serial = SerialByKey()
        var refused = false
        do { try await serial.run("bkg_1") { throw Refused() } } catch is Refused { refused = true }
        #expect(refused)
        try #require(serial.pending == 0, "the key was kept")
        let answer = try await serial.run("bkg_1") { 7 }
        #expect(answer == 7)
        #expect(serial.pending == 0)
    }

    @Test func waitersTakeTheKeyInTurn() async throws {
        let serial = SerialByKey()
        let gate = Gate(), holding = Gate()
        let order = Shared<[Int]>([])
        let first = Task {
            try await serial.run("bkg_1") {
                holding.open()
                await gate.wait()
                order { $0.append(0) }
            }
        }
        await holding.wait()
        var waiters: [Task<Void, any Error>] = []
        for index in 1...20 {
            waiters.append(Task { try await serial.run("bkg_1") { order { $0.append(index) } } })
            // Each waiter parked before the next arrives, so arrival order is known.
            for _ in 0..<10_000 where serial.queued("bkg_1") < index { try await Task.sleep(for: .milliseconds(1)) }
            try #require(serial.queued("bkg_1") == index, "waiter \(index) never queued")
        }
        gate.open()
        try await first.value
        for waiter in waiters { try await waiter.value }
        #expect(order { $0 } == Array(0...20))
        #expect(serial.pending == 0)
    }
}
