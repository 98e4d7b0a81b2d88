import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the engine's background work as a service: a snapshot every `interval` when something
/// has changed, and whenever `snapshotSignal` arrives (SIGUSR1 in `roost serve`, which is how
/// `roost snapshot` asks a running server). On graceful
/// shutdown it takes a last snapshot (for a fast restart) and closes the journal; list it first
/// in the service group so it stops after the HTTP server has drained.
public struct EngineService: Service {
    let engine: Engine
    let interval: Duration?
    let snapshotSignal: UnixSignal?
    let logger: Logger

    public init(engine: Engine, interval: Duration?, snapshotSignal: UnixSignal? = nil, logger: Logger) {
        self.engine = engine
        self.interval = interval
        self.snapshotSignal = snapshotSignal
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            if let interval {
                group.addTask {
                    var lastSnapshotLSN = engine.journal.lastAppendedLSN
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: interval) } catch { return }
                        let current = engine.journal.lastAppendedLSN
                        if current != lastSnapshotLSN, await takeSnapshot(reason: "interval") { lastSnapshotLSN = current }
                    }
                }
            }
            if let snapshotSignal {
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: snapshotSignal) {
                        _ = await takeSnapshot(reason: "signal")
                    }
                }
            }
            group.addTask { try? await gracefulShutdown() }
            await group.next()  // graceful shutdown began
            group.cancelAll()
        }
        if engine.isAcceptingWrites { _ = await takeSnapshot(reason: "shutdown") }
        engine.close()
        logger.info("engine stopped", metadata: ["wal.durable_lsn": "\(engine.journal.durableLSN)"])
    }

    private func takeSnapshot(reason: String) async -> Bool {
        do {
            try await engine.snapshot()
            return true
        } catch {
            logger.error("snapshot failed", metadata: ["snapshot.reason": "\(reason)", "error": "\(error)"])
            return false
        }
    }
}
