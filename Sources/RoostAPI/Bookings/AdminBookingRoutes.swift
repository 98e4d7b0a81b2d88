import Foundation
import Hummingbird
import RoostData
import RoostDomain

/// `/v1/admin/bookings` and `/v1/admin/payments` (API.md's Admin section).
extension BookingRoutes {
    func registerAdmin(on router: Router<RoostRequestContext>) {
        router.group("v1/admin/bookings").add(middleware: guarded(.administerBookings)).get(use: adminBookings)
        let payments = router.group("v1/admin/payments").add(middleware: guarded(.administerBookings))
        payments.get(use: adminPayments)
        payments.add(middleware: idempotency).post(":id/refund", use: adminRefund)
    }

    /// Every booking, newest first; `?status=&listingId=&guestId=&hostId=`.
    @Sendable func adminBookings(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let query = request.uri.formParameters
        let listing = query["listingId"].map { String($0) }, guest = query["guestId"].map { String($0) }, host = query["hostId"].map { String($0) }
        return try await list(request) { booking in
            (listing == nil || booking.listingID == listing) && (guest == nil || booking.guestID == guest) && (host == nil || booking.hostID == host)
        }
    }

    /// Every payment, newest first; `?status=authorized|captured|voided|refunded&currency=&paidOut=&payout=pending|failed|paid|none`.
    @Sendable func adminPayments(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let query = request.uri.formParameters
        var errors: [Problem.FieldError] = []
        let page = PageRequest(query: query, errors: &errors)
        let cursor = page.createdCursor(errors: &errors)
        let status = query["status"].map { String($0) }
        if let status, !["authorized", "captured", "voided", "refunded"].contains(status) {
            errors.append(.init(field: "status", message: "must be authorized, captured, voided or refunded"))
        }
        // Any catalogue currency (a payment may be in one the FX table no longer converts), in any case.
        let currency = query["currency"].map { String($0).uppercased() }
        if let currency, service.reference.currencies.currency(currency) == nil {
            errors.append(.init(field: "currency", message: "is not a known currency code"))
        }
        let paidOut: Bool? = switch query["paidOut"].map({ String($0) }) {
        case nil: nil
        case "true": true
        case "false": false
        default:
            { errors.append(.init(field: "paidOut", message: "must be true or false")); return nil }()
        }
        let payout = query["payout"].map { String($0) }
        if let payout, !["pending", "failed", "paid", "none"].contains(payout) {
            errors.append(.init(field: "payout", message: "must be pending, failed, paid or none"))
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let (items, next) = await service.payments(after: cursor, limit: page.limit) { payment in
            let statusMatches = status.map { PaymentJSON.statusName(payment) == $0 } ?? true
            return statusMatches && (currency == nil || payment.currency == currency) && (paidOut == nil || payment.paidOut == paidOut)
                && (payout == nil || PaymentJSON.payoutStatus(payment) == payout)
        }
        return EncodedJSON(Page(items: items.map(PaymentJSON.init), nextCursor: next.map(PageRequest.encode(createdCursor:))))
    }

    struct RefundBody: StrictJSONBody {
        static let fields: Set<String> = ["amount"]
        /// Left out is a full refund; `null` is 422, not taken for "everything" (a client that failed to fill in a
        /// partial amount must not refund it all).
        static let nullableFields: Set<String>? = []
        var amount: MoneyBody?
    }

    /// `POST /v1/admin/payments/{id}/refund` `{amount?: Money}`: 200 with the payment.
    @Sendable func adminRefund(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        let amount = try await request.decodeOptionalStrictJSON(as: RefundBody.self, limit: bodyLimit)?.amount
        if let amount, let bookingID = PaymentJSON.booking(ofPayment: id), let payment = await service.payment(bookingID), amount.currency != payment.currency {
            throw Problem.validation([.init(field: "amount.currency", message: "must be \(payment.currency), the currency the guest paid in")])
        }
        let key = request.headers[.idempotencyKey]
        let payment = try await service.adminRefund(payment: id, amount: amount?.amount, admin: principal.userID, key: key)
        return EncodedJSON(PaymentJSON(payment))
    }
}
