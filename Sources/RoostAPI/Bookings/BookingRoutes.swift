import Foundation
import HTTPTypes
import Hummingbird
import RoostBinary
import RoostData
import RoostDomain
import RoostIntegrations

/// The Bookings section of API.md, and a booking's payments.
struct BookingRoutes {
    let service: BookingService
    let accounts: AccountService
    let listingRoutes: ListingRoutes
    let idempotency: IdempotencyMiddleware
    let bodyLimit: Int

    func guarded(_ permission: Permission) -> AccessGuard {
        AccessGuard(permission: permission, tokens: accounts.tokens, directory: accounts.directory, clock: accounts.clock)
    }

    func register(on router: Router<RoostRequestContext>) {
        // Writes take an Idempotency-Key (after the guard: keys are per user).
        router.group("v1/bookings").add(middleware: guarded(.book)).add(middleware: idempotency).post(use: create)
        let mine = router.group("v1/bookings/:id").add(middleware: guarded(.ownAccount)).add(middleware: idempotency)
        mine.get(use: read)
        mine.get("payments", use: payments)
        mine.post("cancel", use: cancel)
        let hosting = router.group("v1/bookings/:id").add(middleware: guarded(.hostListings)).add(middleware: idempotency)
        hosting.post("accept", use: accept)
        hosting.post("decline", use: decline)
        router.group("v1/users/me/bookings").add(middleware: guarded(.ownAccount)).get(use: guestBookings)
        router.group("v1/hosts/me/bookings").add(middleware: guarded(.hostListings)).get(use: hostBookings)
        router.group("v1/hosts/me/payouts").add(middleware: guarded(.hostListings)).get(use: hostPayouts)
        let account = router.group("v1/hosts/me/payout-account").add(middleware: guarded(.hostListings))
        account.get(use: payoutAccount)
        account.put(use: setPayoutAccount)
        registerAdmin(on: router)
    }

    struct CreateBody: StrictJSONBody {
        static let fields: Set<String> = ["listingId", "checkIn", "checkOut", "guests", "currency", "paymentMethod"]
        var listingId: String
        var checkIn: String?
        var checkOut: String?
        var guests: Int?
        var currency: String?
        var paymentMethod: String?
    }

    @Sendable func create(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let principal = try context.requirePrincipal()
        let body = try await request.decodeStrictJSON(as: CreateBody.self, limit: bodyLimit)
        guard let listing = await service.listings.listing(body.listingId), listing.isListed else { throw Problem.notFound("No such listing.") }
        var errors: [Problem.FieldError] = []
        let stay = StayRules.stay(checkIn: body.checkIn, checkOut: body.checkOut, listing: listing, now: service.clock(), errors: &errors)
        let guests = body.guests ?? 0
        if body.guests == nil {
            errors.append(.init(field: "guests", message: "is required"))
        } else if !(1...listing.details.maxGuests).contains(guests) {
            errors.append(.init(field: "guests", message: "must be from 1 to \(listing.details.maxGuests) (this listing's limit)"))
        }
        if let currency = body.currency, !service.reference.isSupported(currency) {
            errors.append(.init(field: "currency", message: "is not a supported currency"))
        }
        // Without a payment method the guest confirms the payment with the provider (its client secret).
        if body.paymentMethod?.isEmpty == true { errors.append(.init(field: "paymentMethod", message: "must not be empty (leave it out to pay with the client secret)")) }
        guard errors.isEmpty, let stay else { throw Problem.validation(errors) }
        if listing.hostID == principal.userID { throw Problem.forbidden("Hosts cannot book their own listings.") }
        let booked = try await service.create(
            guestID: principal.userID,
            .init(
                listingID: listing.id, stay: stay, guests: guests, currency: body.currency, paymentMethod: body.paymentMethod,
                idempotencyScope: context.idempotencyScope
            ),
            rates: listingRoutes.rates(for: listing)
        )
        return EncodedJSON(bytes: BookingJSON(booked).json, status: .created)
    }

    @Sendable func read(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let principal = try context.requirePrincipal()
        let booking = try await service.visible(try context.parameters.require("id"), to: principal)
        // The client secret confirms the payment: the guest's alone.
        let booked = booking.guestID == principal.userID ? try await service.bookedWithSecret(booking.id) : try await service.booked(booking.id)
        return EncodedJSON(bytes: BookingJSON(booked).json)
    }

    @Sendable func payments(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let principal = try context.requirePrincipal()
        let booking = try await service.visible(try context.parameters.require("id"), to: principal)
        let payment = await service.payment(booking.id)
        // Why the host's payout failed (it may name their account) is for the host and admins.
        let hostView = principal.role == .admin || booking.hostID == principal.userID
        return EncodedJSON(payment.map { [hostView ? PaymentJSON($0) : PaymentJSON($0).withoutPayoutDetails()] } ?? [])
    }

    struct CancelBody: StrictJSONBody {
        static let fields: Set<String> = ["reason"]
        var reason: String?
    }

    @Sendable func cancel(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let reason = try await request.decodeOptionalStrictJSON(as: CancelBody.self, limit: bodyLimit)?.reason ?? ""
        if reason.count > 1_000 { throw Problem.validation([.init(field: "reason", message: "at most 1,000 characters")]) }
        return EncodedJSON(bytes: BookingJSON(try await service.cancel(id, by: try context.requirePrincipal(), reason: reason)).json)
    }

    @Sendable func accept(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        try await request.requireNoFields(limit: bodyLimit)
        return EncodedJSON(bytes: BookingJSON(try await service.accept(try context.parameters.require("id"), by: try context.requirePrincipal())).json)
    }

    @Sendable func decline(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        try await request.requireNoFields(limit: bodyLimit)
        return EncodedJSON(bytes: BookingJSON(try await service.decline(try context.parameters.require("id"), by: try context.requirePrincipal())).json)
    }

    @Sendable func guestBookings(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let me = try context.requirePrincipal().userID
        return try await list(request) { $0.guestID == me }
    }

    @Sendable func hostBookings(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let me = try context.requirePrincipal().userID
        return try await list(request) { $0.hostID == me }
    }

    /// The host's payouts, newest first: `{items: [{id, bookingId, amount, paidAt}], nextCursor}`.
    @Sendable func hostPayouts(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let me = try context.requirePrincipal().userID
        var errors: [Problem.FieldError] = []
        let page = PageRequest(query: request.uri.formParameters, errors: &errors)
        guard errors.isEmpty else { throw Problem.validation(errors) }
        struct Payout: Encodable, Sendable { var id: String; var bookingId: String; var amount: MoneyBody; var paidAt: String }
        let all = await service.payouts(host: me)
        let start = page.cursor.flatMap { cursor in all.firstIndex { $0.id == cursor }.map { $0 + 1 } } ?? 0
        if page.cursor != nil, start == 0 { throw Problem.validation([.init(field: "cursor", message: "is not a cursor this API returned")]) }
        let slice = Array(all[min(start, all.count)...].prefix(page.limit))
        let items = slice.map { transfer in
            Payout(id: transfer.id, bookingId: transfer.payment, amount: MoneyBody(amount: transfer.debits, currency: transfer.currency), paidAt: RFC3339.string(transfer.at))
        }
        let next = start + slice.count < all.count ? slice.last.map { PageRequest.encode(cursor: $0.id) } : nil
        return EncodedJSON(Page(items: items, nextCursor: next))
    }

    /// A host's payout account: `{account, updatedAt}`.
    struct PayoutAccountJSON: Encodable, Sendable {
        var account: String
        var updatedAt: String
        init(_ account: Ledger.PayoutAccount) {
            self.account = account.account
            updatedAt = RFC3339.string(account.updatedAt)
        }
    }

    @Sendable func payoutAccount(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        guard let account = await service.payoutAccount(host: try context.requirePrincipal().userID) else {
            throw Problem.notFound("No payout account yet: PUT one (a connected account at the payment provider, acct_…).")
        }
        return EncodedJSON(PayoutAccountJSON(account))
    }

    struct PayoutAccountBody: StrictJSONBody {
        static let fields: Set<String> = ["account"]
        var account: String
    }

    /// The connected account at the payment provider the host is paid to (Stripe Connect's
    /// `acct_` and 1–64 letters or digits). Stays waiting for one are paid on the scheduler's next run.
    @Sendable func setPayoutAccount(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.decodeStrictJSON(as: PayoutAccountBody.self, limit: bodyLimit)
        if let problem = Self.payoutAccountProblem(body.account, paypal: service.gateway is PayPalGateway) {
            throw Problem.validation([.init(field: "account", message: problem)])
        }
        return EncodedJSON(PayoutAccountJSON(try await service.setPayoutAccount(host: try context.requirePrincipal().userID, account: body.account)))
    }

    /// What is wrong with `account` as a payout destination at the configured provider, if anything:
    /// Stripe Connect's `acct_` and 1–64 letters or digits (the sandbox too); for PayPal, the
    /// receiver's email or 13-character PayPal account id.
    static func payoutAccountProblem(_ account: String, paypal: Bool) -> String? {
        func alphanumeric(_ bytes: some Sequence<UInt8>) -> Bool {
            bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        }
        if paypal {
            let email = EmailAddress.isValid(EmailAddress.normalise(account))
            let payerID = account.utf8.count == 13 && alphanumeric(account.utf8)
            return email || payerID ? nil : "must be the PayPal receiver's email or 13-character PayPal account id"
        }
        let rest = account.utf8.dropFirst(5)
        return account.hasPrefix("acct_") && (1...64).contains(rest.count) && alphanumeric(rest)
            ? nil : "must be a connected account id: acct_ and 1 to 64 letters or digits"
    }

    /// A page of bookings, newest first, filtered by `?status=`.
    func list(_ request: Request, where include: @escaping @Sendable (BookingRecord) -> Bool) async throws -> EncodedJSON {
        let query = request.uri.formParameters
        var errors: [Problem.FieldError] = []
        let page = PageRequest(query: query, errors: &errors)
        let status = query["status"].map { String($0) }
        let wanted = status.flatMap { name in BookingStatus.allCases.first { $0.description == name } }
        if status != nil && wanted == nil { errors.append(.init(field: "status", message: "must be pending, confirmed, canceled or completed")) }
        let cursor = page.createdCursor(errors: &errors)
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let (items, next) = await service.page(after: cursor, limit: page.limit) { include($0) && (wanted == nil || $0.status == wanted) }
        var bookings: [BookingJSON] = []
        for booking in items { bookings.append(BookingJSON(BookingService.Booked(booking: booking, payment: await service.payment(booking.id)))) }
        return EncodedJSON(Page(items: bookings, nextCursor: next.map(PageRequest.encode(createdCursor:))))
    }
}

/// A booking on the wire (API.md's shape, plus its listing-currency price when the guest paid in another).
///
/// Single bookings are answered through `json`, written directly: through JSONEncoder, a booking's
/// answer cost a tenth of `POST /v1/bookings`'s CPU. The synthesized `Encodable` still serves the
/// paged lists, and `DirectJSONTests` holds the two to the same JSON.
struct BookingJSON: Encodable, Sendable {
    struct Payment: Encodable, Sendable {
        var status: String
        var captured: MoneyBody?
        var refunded: MoneyBody?
        var clientSecret: String?

        var json: [UInt8] {
            var writer = JSONObjectWriter(capacity: 128)
            writer.string("status", status)
            if let captured { writer.money("captured", captured) }
            if let refunded { writer.money("refunded", refunded) }
            if let clientSecret { writer.string("clientSecret", clientSecret) }
            return writer.finish()
        }
    }

    struct Cancellation: Encodable, Sendable {
        var by: String
        var at: String
        var reason: String
        var refund: MoneyBody

        var json: [UInt8] {
            var writer = JSONObjectWriter(capacity: 128)
            writer.string("by", by)
            writer.string("at", at)
            writer.string("reason", reason)
            writer.money("refund", refund)
            return writer.finish()
        }
    }

    var id: String
    var listingId: String
    var guestId: String
    var hostId: String
    var checkIn: String
    var checkOut: String
    var nights: Int
    var guests: Int
    var status: String
    var price: PriceJSON
    var listingPrice: PriceJSON?
    var exchangeRate: Double?
    var payment: Payment
    var cancellation: Cancellation?
    /// A canceled booking's refund (its cancellation's), at the top level as API.md's cancel answer has it.
    var refund: MoneyBody?
    var cancellationPolicy: String
    var instantBook: Bool
    var holdExpiresAt: String??  // always present: null unless pending
    var createdAt: String
    var updatedAt: String

    init(_ booked: BookingService.Booked) {
        let booking = booked.booking
        id = booking.id
        listingId = booking.listingID
        guestId = booking.guestID
        hostId = booking.hostID
        checkIn = booking.stay.lowerBound.description
        checkOut = booking.stay.upperBound.description
        nights = booking.nights
        guests = booking.guests
        status = booking.status.description
        price = PriceJSON(booking.charge)
        if booking.charge.currency != booking.quote.currency {
            listingPrice = PriceJSON(booking.quote)
            exchangeRate = booking.exchangeRate
        }
        let currency = booking.charge.currency
        switch booked.payment?.status {
        case .authorized?: payment = Payment(status: "authorized")
        case .captured?:
            let refunded = booked.payment!.refundedCharged
            payment = Payment(
                status: refunded == 0 ? "captured" : "refunded", captured: MoneyBody(amount: booked.payment!.amount, currency: currency),
                refunded: refunded == 0 ? nil : MoneyBody(amount: refunded, currency: currency)
            )
        case .voided?: payment = Payment(status: "voided")
        case nil:
            // Pending without a payment: the guest has yet to confirm it with the provider.
            payment = booking.status == .pending ? Payment(status: "requires_payment_method", clientSecret: booked.clientSecret) : Payment(status: "none")
        }
        cancellation = booking.cancellation.map {
            Cancellation(by: $0.by.description, at: RFC3339.string($0.at), reason: $0.reason, refund: MoneyBody(amount: $0.refund, currency: currency))
        }
        refund = cancellation?.refund
        cancellationPolicy = booking.policy.description
        instantBook = booking.instantBook
        holdExpiresAt = .some(booking.status == .pending ? RFC3339.string(booking.holdExpiresAt) : nil)
        createdAt = RFC3339.string(booking.createdAt)
        updatedAt = RFC3339.string(booking.updatedAt)
    }

    /// The object `encode(to:)` writes (nil optionals left out, `holdExpiresAt` always present).
    var json: [UInt8] {
        var writer = JSONObjectWriter(capacity: 1_024)
        writer.string("id", id)
        writer.string("listingId", listingId)
        writer.string("guestId", guestId)
        writer.string("hostId", hostId)
        writer.string("checkIn", checkIn)
        writer.string("checkOut", checkOut)
        writer.integer("nights", Int64(nights))
        writer.integer("guests", Int64(guests))
        writer.string("status", status)
        writer.raw("price", price.json)
        if let listingPrice { writer.raw("listingPrice", listingPrice.json) }
        if let exchangeRate { writer.number("exchangeRate", exchangeRate) }
        writer.raw("payment", payment.json)
        if let cancellation { writer.raw("cancellation", cancellation.json) }
        if let refund { writer.money("refund", refund) }
        writer.string("cancellationPolicy", cancellationPolicy)
        writer.bool("instantBook", instantBook)
        if let holdExpiresAt { writer.string("holdExpiresAt", holdExpiresAt) }
        writer.string("createdAt", createdAt)
        writer.string("updatedAt", updatedAt)
        return writer.finish()
    }
}

/// A booking's payment, as its guest, host and admins see it: what the guest paid and got back in
/// the currency they paid in, whether the host has been paid, and the provider's reference.
struct PaymentJSON: Encodable, Sendable {
    var id: String
    var bookingId: String
    var status: String
    var amount: MoneyBody
    var refunded: MoneyBody
    /// When the guest paid in another currency than the listing's: the listing-currency side.
    var settlement: MoneyBody?
    var paidOut: Bool
    /// The host's payout for this payment: `pending` until paid, `failed` (with why and when it is
    /// tried again) after a refused attempt, `paid`; `none` for a payment that took no money.
    var payout: Payout
    var reference: String
    var createdAt: String

    struct Payout: Encodable, Sendable {
        var status: String
        var attempts: Int
        var lastError: String?
        var nextAttemptAt: String?
    }

    init(_ payment: Ledger.Payment) {
        id = PaymentJSON.id(ofBooking: payment.id)
        bookingId = payment.id
        status = Self.statusName(payment)
        amount = MoneyBody(amount: payment.amount, currency: payment.currency)
        refunded = MoneyBody(amount: payment.refundedCharged, currency: payment.currency)
        if payment.settlementCurrency != payment.currency {
            settlement = MoneyBody(amount: payment.settlementAmount, currency: payment.settlementCurrency)
        }
        paidOut = payment.paidOut
        let failed = payment.payoutAttempts > 0 && !payment.paidOut
        payout = Payout(
            status: Self.payoutStatus(payment), attempts: payment.payoutAttempts,
            lastError: failed ? payment.payoutError : nil,
            // A payout waiting for its host's account or reinstatement waits for that, not for a time.
            nextAttemptAt: failed && !BookingService.waits.contains(payment.payoutError) ? RFC3339.string(payment.payoutRetryAt) : nil
        )
        reference = payment.reference
        createdAt = RFC3339.string(payment.authorizedAt)
    }

    static func payoutStatus(_ payment: Ledger.Payment) -> String {
        if payment.paidOut { return "paid" }
        // Nothing taken, or all of it given back before any release: the host has nothing coming.
        if payment.status != .captured || (!payment.released && payment.refunded >= payment.settlementAmount) { return "none" }
        return payment.payoutAttempts > 0 ? "failed" : "pending"
    }

    /// As the booking shows its payment: a captured payment with any refund is `refunded`.
    static func statusName(_ payment: Ledger.Payment) -> String {
        switch payment.status {
        case .authorized: "authorized"
        case .captured: payment.refundedCharged > 0 ? "refunded" : "captured"
        case .voided: "voided"
        }
    }

    func withoutPayoutDetails() -> PaymentJSON {
        var copy = self
        copy.payout.lastError = nil
        copy.payout.nextAttemptAt = nil
        return copy
    }

    /// A payment's id on the wire: its booking's, with `pay_` for `bkg_` (one payment per booking).
    static func id(ofBooking booking: String) -> String { "pay_" + booking.dropFirst(4) }

    /// The booking a wire payment id belongs to, if it is one.
    static func booking(ofPayment id: String) -> String? {
        id.hasPrefix("pay_") && Identifiers.isValid(id) ? "bkg_" + id.dropFirst(4) : nil
    }
}
