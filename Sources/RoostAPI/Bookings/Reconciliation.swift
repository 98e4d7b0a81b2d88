import Foundation
import HTTPTypes
import Logging
import RoostDomain
import RoostEngine
import RoostIntegrations

/// After a crash: pending bookings whose workflow stopped half way are finished from what the
/// ledger and the provider say — the provider asked by our own idempotency key (`auth:<booking>`)
/// — never guessed. The windows, in the order `create` runs:
///
/// | the crash came after | the ledger | the provider | reconciliation |
/// |---|---|---|---|
/// | the hold | no payment | none | nothing: the hold lapses after 15 minutes |
/// | the buyer's approval (PayPal, paying in the browser) | no payment | approved | authorizes it (`auth:<booking>:authorize`; a decline, or an order that can no longer be authorized, cancels, releasing the nights), then as below |
/// | the provider's authorization | no payment | authorized (or captured) | records the authorization, then as below |
/// | the ledger's authorization (instant book) | authorized | authorized | captures and confirms, as the guest asked |
/// | the provider's capture | authorized | captured | records the capture, confirms |
/// | the ledger's capture | captured | captured | confirms |
/// | the ledger's authorization (request to book) | authorized | authorized | gives the host their 24 hours |
///
/// What the ledger has already settled (captured, voided) is finished without asking the provider,
/// so an unreachable provider does not hold those bookings up. A booking whose nights can no
/// longer be confirmed is canceled with its money given back.
extension BookingService {
    /// Reconciles every pending booking: at start, before the scheduler's first run.
    @discardableResult
    public func reconcilePending() async -> Int {
        let pending = await listings.scatter { state in state.bookings.values.filter { $0.status == .pending }.map(\.id) }.joined()
        var changed = 0
        for id in pending {
            do {
                if try await serial.run(id, { try await reconcile(id) }) { changed += 1 }
            } catch {
                logger.warning("could not reconcile a booking; retried at its expiry", metadata: ["booking": "\(id)", "error": "\(error)"])
            }
        }
        return changed
    }

    /// One pending booking, in its turn. True when something was finished.
    func reconcile(_ id: String) async throws -> Bool {
        guard let booking = await booking(id) else { return false }
        if booking.status == .canceled {
            // An event for a canceled booking: whatever the provider still holds goes back.
            try await settle(booking)
            return false
        }
        guard booking.status == .pending else { return false }
        var payment = await payment(id)
        // What the ledger has settled needs no provider (which may be unreachable).
        switch payment?.status {
        case .captured?:
            try await confirmPaid(booking)
            logger.notice("reconciled a booking with its ledger", metadata: ["booking": "\(id)"])
            return true
        case .voided?:
            try await cancel(booking, by: .system, reason: "payment voided", refund: 0)
            logger.notice("reconciled a booking with its ledger", metadata: ["booking": "\(id)"])
            return true
        case .authorized?, nil:
            break
        }
        var provider = try await gateway.payment(forIdempotencyKey: "auth:\(id)")
        if payment == nil, let approved = provider, approved.status == .requiresAuthorization {
            // The guest approved the payment at the provider (PayPal): the server authorizes it.
            let gateway = gateway
            var authorized: GatewayPayment?
            let failure = await Self.failure { () async throws(GatewayError) in
                authorized = try await gateway.authorizeApproved(approved.id, idempotencyKey: "auth:\(id):authorize")
            }
            switch failure {
            case nil: provider = authorized
            case .declined?, .invalidState?, .notFound?:
                // Declined, or an order that can no longer be authorized (expired at the provider):
                // it will never be paid, so its nights go back. Only an unreachable provider waits.
                try await cancel(booking, by: .system, reason: Self.paymentNotAuthorized, refund: 0)
                return true
            case let failure?: throw failure
            }
        }
        var changed = false
        if payment == nil {
            guard let provider, provider.status == .requiresCapture || provider.status == .succeeded else { return false }
            try await ledger.shard(for: id).execute(
                .authorize(payment: id, currency: booking.charge.currency, amount: booking.charge.total, settlement: Self.settlement(booking), reference: provider.id),
                now: now
            )
            payment = await self.payment(id)
            changed = true
        }
        guard let payment else { return changed }
        switch (payment.status, provider?.status) {
        case (.authorized, .succeeded?):
            try await ledger.shard(for: id).execute(.capture(payment: id), now: now)
            try await confirmPaid(booking)
        case (.authorized, .requiresCapture?) where booking.instantBook:
            _ = try await confirm(booking)
        case (.authorized, .requiresCapture?):
            if booking.holdExpiresAt < Self.hostDeadline(booking) {
                try await listings.execute(.extendHold(id: id, until: Self.hostDeadline(booking)), on: booking.listingID)
            } else {
                return changed
            }
        case (.authorized, .canceled?):
            // The provider dropped the authorization (it lapsed there): the booking cannot be paid.
            try await ledger.shard(for: id).execute(.void(payment: id), now: now)
            try await cancel(booking, by: .system, reason: "payment authorization lapsed", refund: 0)
        default:
            return changed
        }
        logger.notice("reconciled a booking with its payment provider", metadata: ["booking": "\(id)"])
        return true
    }

    /// Confirms a booking whose money is captured; if its nights are no longer its to confirm,
    /// cancels it with everything given back.
    func confirmPaid(_ booking: BookingRecord) async throws {
        do {
            try await listings.execute(.confirmBooking(id: booking.id), on: booking.listingID)
        } catch where Problem.from(error)?.status == .serviceUnavailable {
            // The engine could not take the write (overloaded, or stopped): the booking is not refused, only not
            // confirmed yet; it stays pending for reconciliation to confirm.
            throw error
        } catch {
            logger.warning("a paid booking could not be confirmed; refunded", metadata: ["booking": "\(booking.id)", "error": "\(error)"])
            try await cancel(booking, by: .system, reason: "payment reconciled too late", refund: booking.charge.total)
        }
    }
}
