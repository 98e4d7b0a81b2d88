import Foundation
import Logging

/// A fresh temporary directory, removed when the test ends.
public struct TemporaryDirectory: ~Copyable {
    public let path: String

    public init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("roost-test-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Records everything logged, so tests can check what recovery reported.
public final class CapturedLogs: @unchecked Sendable {
    public init() {}
    private let lock = NSLock()
    private var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []

    public var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(sink: self) }
    }

    fileprivate func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        lock.withLock { lines.append((level, message, metadata)) }
    }

    public var entries: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { lines } }

    struct CapturingHandler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.append(event.level, event.message.description, event.metadata ?? [:])
        }
    }
}

/// A seeded generator (SplitMix64): every randomized test prints its seed so a failure can be replayed.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public func testSeed() -> UInt64 {
    if let text = ProcessInfo.processInfo.environment["ROOST_TEST_SEED"], let seed = UInt64(text) { return seed }
    let seed = UInt64.random(in: 1...UInt64.max)
    // A failure can be replayed with this seed.
    print("ROOST_TEST_SEED=\(seed)")
    return seed
}

public let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// A thread-safe on/off switch, for fault-injection seams that must start failing mid-test.
public final class FaultSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    public init() {}
    public var isOn: Bool { lock.withLock { on } }
    public func turnOn() { lock.withLock { on = true } }
    public func turnOff() { lock.withLock { on = false } }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether it held.
public func eventually(within timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
