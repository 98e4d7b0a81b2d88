import Logging
import ServiceLifecycle

/// Time-driven transitions, run every `interval` until shutdown: holds that lapsed (unpaid
/// bookings after 15 minutes, requests their host left for a day) are canceled and their nights
/// released; stays past check-out complete; hosts are paid 24 hours after check-in; idempotency
/// answers older than a day are forgotten. Tests call `BookingService.expireLapsedHolds` and
/// `runDueTransitions` themselves with a moved clock.
public struct BookingScheduler: Service {
    let bookings: BookingService
    let idempotency: IdempotencyStore
    let interval: Duration
    let logger: Logger

    init(bookings: BookingService, idempotency: IdempotencyStore, interval: Duration = .seconds(30), logger: Logger) {
        self.bookings = bookings
        self.idempotency = idempotency
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            // Bookings a crash left half way are finished first, from the ledger and the provider.
            let reconciled = await bookings.reconcilePending()
            if reconciled > 0 { logger.notice("reconciled bookings after a restart", metadata: ["bookings.reconciled": "\(reconciled)"]) }
            while !Task.isCancelled {
                let expired = await bookings.expireLapsedHolds()
                if expired > 0 { logger.info("expired booking holds", metadata: ["bookings.expired": "\(expired)"]) }
                let (completed, paidOut) = await bookings.runDueTransitions()
                if completed + paidOut > 0 {
                    logger.info("booking transitions", metadata: ["bookings.completed": "\(completed)", "payouts.made": "\(paidOut)"])
                }
                await idempotency.forgetExpired()
                try await Task.sleep(for: interval)
            }
        }
    }
}
