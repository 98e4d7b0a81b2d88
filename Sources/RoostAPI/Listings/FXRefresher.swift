import Logging
import ServiceLifecycle

/// Puts the configured FX provider's latest table in force every `interval` while `roost serve`
/// runs. A refresh that fails keeps the table in force (logged); quotes and bookings read one
/// table each, so a refresh never mixes two tables in one answer.
public struct FXRefresher: Service {
    let url: String
    let reference: ReferenceData
    let interval: Duration
    let logger: Logger

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                _ = await RoostServices.refreshRates(url, reference: reference, logger: logger)
            }
        }
    }
}
