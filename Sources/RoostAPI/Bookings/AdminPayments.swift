import Crypto
import Foundation
import HTTPTypes
import RoostDomain
import RoostEngine
import RoostIntegrations

/// What admins do with bookings' money: see every payment, refund one.
extension BookingService {
    /// Payments matching `include`, newest first (by authorization), one page after `cursor`.
    func payments(after cursor: (Int64, String)?, limit: Int, where include: @escaping @Sendable (Ledger.Payment) -> Bool) async -> (items: [Ledger.Payment], next: (Int64, String)?) {
        await ledger.newestFirst(after: cursor, limit: limit) { state, keep in state.payments.values.filter { include($0) && keep($0) } }
    }

    /// An admin's refund of `amount` (in the currency the guest paid; nil: all that is left) of a
    /// booking's captured payment, while the platform still holds the money (until it is released
    /// to the host, which happens only when a payout to their account is made; after, 409 `stay_paid_out`). The booking keeps its status: this is money, not a
    /// cancellation. Refunding everything when nothing is left answers the payment as it is, so a
    /// full refund is idempotent by itself; a partial one is made idempotent by `Idempotency-Key`
    /// (`key`): the middleware replays the answer, and the refund's id at the provider and in the
    /// ledger is derived from the key, so even a retry the middleware has not recorded (a crash
    /// between the provider's refund and the answer) refunds once. The refund is recorded as owed
    /// (`Ledger.Command.requestRefund`) before the provider is asked: a crash or an unanswered call
    /// between the two leaves it on record, sent again under the same key before anything else is
    /// worked out from the payment, and before its money can be released to the host (the scheduler
    /// does it too). A provider that does not answer is a kept 502: the refund stands, owed.
    func adminRefund(payment paymentID: String, amount: Int64?, admin: String, key: String?) async throws -> Ledger.Payment {
        guard let bookingID = PaymentJSON.booking(ofPayment: paymentID), await payment(bookingID) != nil else {
            throw Problem.notFound("No such payment.")
        }
        return try await serial.run(bookingID) {
            // A cancellation's refund may have reached the provider and not the ledger (a crash or a
            // lost answer between the two): it is finished first, so this one is worked out from
            // what was really given back (and the cancellation's retry never meets a changed amount).
            if let booking = await booking(bookingID), booking.status == .canceled { try await settle(booking) }
            try await finishRequestedRefunds(bookingID)
            guard let payment = await payment(bookingID) else { throw Problem.notFound("No such payment.") }
            switch payment.status {
            case .authorized:
                throw Problem(.conflict, code: "invalid_transition", title: "Conflict",
                              detail: "The payment is only authorized: cancel or decline the booking to release it.")
            case .voided:
                throw Problem(.conflict, code: "invalid_transition", title: "Conflict", detail: "The payment was voided: nothing was taken.")
            case .captured:
                break
            }
            let refundID = Self.refundID(admin: admin, key: key)
            if ledger.shard(for: bookingID).peek({ $0.transfers["ref:\(bookingID):\(refundID)"] != nil }) { return payment }
            let left = payment.refundable()
            if let amount, !(1...max(1, left)).contains(amount) || left == 0 {
                throw Problem.validation([.init(field: "amount", message: left == 0 ? "nothing is left to refund" : "must be from 1 to \(left) (what is left, in minor units)")])
            }
            if amount == nil, left == 0 { return payment }
            if payment.released {
                throw Problem(.conflict, code: "stay_paid_out", title: "Conflict", detail: "The host has been paid for this stay; the platform no longer holds the money.")
            }
            let charged = amount ?? left
            try await ledger.shard(for: bookingID).execute(.requestRefund(payment: bookingID, refund: refundID, charged: charged), now: now)
            do {
                try await finishRequestedRefund(refundID, of: bookingID)
            } catch GatewayError.unavailable {
                throw Problem(
                    .badGateway, code: "payment_provider_error", title: "Payment provider error",
                    detail: "The payment provider did not answer. The refund is recorded as owed and is sent again until it answers."
                )
            }
            return await self.payment(bookingID) ?? payment
        }
    }

    /// A refund's id: from the admin and their Idempotency-Key when given (the same key, the same
    /// refund), else new.
    static func refundID(admin: String, key: String?) -> String {
        guard let key else { return Identifiers.make("rfd") }
        let digest = SHA256.hash(data: Array("\(admin)|\(key)".utf8))
        return "rfd_" + digest.prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
