import Logging
import ServiceLifecycle

/// Time-driven booking transitions, run every `interval` until shutdown: holds that lapsed (unpaid
/// bookings after 15 minutes, requests their host left for a day) are canceled and their nights
/// released. Tests call `BookingService.expireLapsedHolds` themselves with a moved clock.
public struct BookingScheduler: Service {
    let bookings: BookingService
    let interval: Duration
    let logger: Logger

    public init(bookings: BookingService, interval: Duration = .seconds(30), logger: Logger) {
        self.bookings = bookings
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let expired = await bookings.expireLapsedHolds()
                if expired > 0 { logger.info("expired booking holds", metadata: ["bookings.expired": "\(expired)"]) }
                try await Task.sleep(for: interval)
            }
        }
    }
}
