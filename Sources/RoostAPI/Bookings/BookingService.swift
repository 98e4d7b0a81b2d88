import Foundation
import Synchronization
import HTTPTypes
import Logging
import RoostDomain
import RoostEngine
import RoostIntegrations

/// Booking a stay, as a workflow over actors: the listing's shard holds the nights (in the WAL
/// before any payment call), the ledger records the money, the gateway moves it. Each step is an
/// event, so a step that fails leaves a state the next step (or the scheduler) can finish or undo.
public final class BookingService: Sendable {
    let listings: ListingService
    let ledger: ShardGroup<Ledger>
    let gateway: any PaymentGateway
    let reference: ReferenceData
    let clock: @Sendable () -> Date
    let logger: Logger
    /// One money step at a time per booking (see `SerialByKey`).
    let serial = SerialByKey()
    /// Whether an admin has suspended the host (by id): their payouts wait until they are reinstated.
    let hostSuspended: @Sendable (String) -> Bool
    /// Bookings the scheduler has nothing more to do for (completed or canceled, their money
    /// settled and paid out, or nothing left to pay), so its scans skip them without a hop. In
    /// memory: after a restart the first scan finds the completed ones again (a ledger read each);
    /// canceled ones are also marked durably (`markSettled`), since settling them may ask the provider.
    let finished = Mutex<Set<String>>([])
    /// Canceled bookings whose money the scheduler could not settle (the provider refused or did not
    /// answer a refund or void): the failed attempts so far and when it tries again (`backoff`). In
    /// memory: after a restart each is tried once more at once.
    private let settleRetries = Mutex<[String: (attempts: Int, at: Date)]>([:])
    /// The same for owed refunds the provider did not answer (`finishRequestedRefunds`), by booking.
    private let refundRetries = Mutex<[String: (attempts: Int, at: Date)]>([:])
    /// Canceled bookings whose refund is settled and whose kept money waits for the stay's payout day:
    /// the scans pass them over on their own fields until that day can have come, as they do stays. In
    /// memory: after a restart each is settled once more (nothing is sent twice) and waits again.
    let waitingForPayoutDay = Mutex<Set<String>>([])

    /// How long a booking waiting for the client's payment holds its nights.
    static let paymentHold: TimeInterval = 15 * 60
    /// How long a request-to-book waits for the host.
    static let hostHold: TimeInterval = 24 * 3600

    public init(
        listings: ListingService, ledger: ShardGroup<Ledger>, gateway: any PaymentGateway, reference: ReferenceData, clock: @escaping @Sendable () -> Date,
        logger: Logger, hostSuspended: @escaping @Sendable (String) -> Bool = { _ in false }
    ) {
        self.listings = listings
        self.ledger = ledger
        self.gateway = gateway
        self.reference = reference
        self.clock = clock
        self.logger = logger
        self.hostSuspended = hostSuspended
    }

    var now: Timestamp { AccountService.timestamp(clock()) }

    struct Request: Sendable {
        var listingID: String
        var stay: Range<CalendarDay>
        var guests: Int
        var currency: String?
        /// Nil: the guest confirms the payment with the provider (its client secret) and the
        /// provider's webhook completes the booking.
        var paymentMethod: String?
        /// The request's `Idempotency-Key` with its user (`RoostRequestContext.idempotencyScope`):
        /// the booking's id is then derived from it (`keyedBookingID`).
        var idempotencyScope: String? = nil
    }

    /// A booking with what its payment looks like now.
    struct Booked: Sendable {
        var booking: BookingRecord
        var payment: Ledger.Payment?
        /// For a booking waiting for the guest to confirm the payment with the provider.
        var clientSecret: String? = nil
    }

    // MARK: Creating

    func create(guestID: String, _ request: Request, rates: PricingRates) async throws -> Booked {
        guard let listing = await listings.listing(request.listingID), listing.isListed else { throw Problem.notFound("No such listing.") }
        let id: String
        switch request.idempotencyScope.map({ keyedBookingID($0, guestID: guestID, request) }) {
        case nil: id = bookingID(for: listing.id)
        case let .new(fresh): id = fresh
        case let .made(earlier): return try await resume(earlier, paymentMethod: request.paymentMethod)
        case .otherRequest: throw IdempotencyStore.reused
        }
        let today = ListingService.today(in: listing.details.location.timeZone, now: clock())
        let quote = PriceQuote.make(listing, stay: request.stay, rates: rates)
        var booking = BookingRecord(
            id: id, listingID: listing.id, guestID: guestID, hostID: listing.hostID, stay: request.stay,
            guests: request.guests, quote: quote, policy: listing.details.cancellationPolicy, instantBook: listing.details.instantBook,
            holdExpiresAt: AccountService.timestamp(clock().addingTimeInterval(Self.paymentHold)), createdAt: now
        )
        if let currency = request.currency, currency != quote.currency {
            let fx = reference.fx  // one table for the factor and the rate recorded
            guard let factor = fx.priceFactors(into: currency, currencies: reference.currencies)?[quote.currency], let from = fx.rates[quote.currency],
                let to = fx.rates[currency]
            else { throw Problem.validation([.init(field: "currency", message: "is not a supported currency")]) }
            guard let charge = quote.converted(to: currency, factor: factor) else { throw Self.tooDear(in: currency) }
            booking.charge = charge
            booking.exchangeRate = to / from
        }
        // The nights first, durably: no payment is ever taken for nights not held.
        try await listings.execute(.hold(booking, today: today), on: listing.id)
        // The rest in the booking's turn, so reconciliation never runs in the middle of it.
        return try await serial.run(booking.id) { try await pay(booking, paymentMethod: request.paymentMethod) }
    }

    enum KeyedBooking: Equatable {
        /// No booking has this key's id yet: book under it.
        case new(String)
        /// The key's first attempt made this booking (its answer was lost: a crash before the answer was kept).
        case made(String)
        /// The key's booking is for another stay, listing or guest count.
        case otherRequest
    }

    /// The id a booking made under an idempotency key gets: derived from the key and its user, so that a retry whose
    /// first answer was lost (kept in a record after the booking's own, so a crash can fall between the two) finds the
    /// booking the first attempt made instead of booking again, and is told those nights are taken by its own booking.
    /// Ids are tried in turn (generation 0, 1, …): one that exists and is younger than a key's life (24 hours) is this
    /// key's; an older one is an earlier use of the same key, after its answer was forgotten, and the next is tried.
    func keyedBookingID(_ scope: String, guestID: String, _ request: Request) -> KeyedBooking {
        let shard = listings.group.index(for: request.listingID)
        for generation in 0... {
            let id = Identifiers.derived("bkg", from: Array("booking \(generation) \(scope)".utf8)) { listings.group.index(for: $0) == shard }
            guard let existing = listings.group.shard(for: id).peek({ $0.bookings[id] }) else { return .new(id) }
            guard existing.createdAt.millisecondsSinceEpoch + Idempotency.keptMilliseconds > now.millisecondsSinceEpoch else { continue }
            let same = existing.guestID == guestID && existing.listingID == request.listingID && existing.stay == request.stay
                && existing.guests == request.guests && existing.charge.currency == (request.currency ?? existing.quote.currency)
            return same ? .made(id) : .otherRequest
        }
        preconditionFailure("unreachable: generations are unbounded")
    }

    /// A retried booking whose first attempt's answer was lost, finished and answered as it stands:
    /// - stopped after the hold and before its payment was recorded: the payment is made now, under the same provider
    ///   key (`auth:<id>`), so a provider that took it the first time answers with that payment rather than taking another;
    /// - stopped after its payment was recorded: reconciled (confirmed, or given its host's day) as a restart would;
    /// - canceled because its payment failed: that failure again (402), naming the booking, not a 201 for it.
    private func resume(_ id: String, paymentMethod: String?) async throws -> Booked {
        try await serial.run(id) {
            guard let booking = await booking(id) else { throw Problem.notFound("No such booking.") }
            if booking.status == .pending, booking.holdExpiresAt > now {
                if await payment(id) == nil { return try await pay(booking, paymentMethod: paymentMethod) }
                _ = try await reconcile(id)
            }
            if booking.status == .canceled, let cancellation = booking.cancellation, cancellation.by == .system, Self.paymentCancellations.contains(cancellation.reason) {
                throw Problem.paymentFailed("Booking \(id), made with this Idempotency-Key, was canceled: \(cancellation.reason). Book again with a new key.")
            }
            return try await booked(id)
        }
    }

    /// The reasons given to the cancellations made when a payment does not go through (`pay`, reconciliation).
    static let paymentFailed = "payment failed", paymentNotAuthorized = "payment not authorized"
    static let paymentCancellations: Set<String> = [paymentFailed, paymentNotAuthorized]

    /// The listing-currency side of a booking paid in another currency.
    static func settlement(_ booking: BookingRecord) -> (currency: String, amount: Int64)? {
        booking.charge.currency == booking.quote.currency ? nil : (currency: booking.quote.currency, amount: booking.quote.total)
    }

    /// Authorizes a held booking's payment, then confirms it (instant book) or leaves it for its host.
    private func pay(_ booking: BookingRecord, paymentMethod: String?) async throws -> Booked {
        let ledgerShard = ledger.shard(for: booking.id)
        let (amount, currency, key) = (booking.charge.total, booking.charge.currency, "auth:\(booking.id)")
        let payment: GatewayPayment
        do {
            // Instant book is charged in one call; a request to book is only authorized until its host accepts.
            if booking.instantBook, let paymentMethod {
                payment = try await gateway.charge(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: key)
            } else {
                payment = try await gateway.authorize(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: key)
            }
        } catch {
            // The provider's key for this booking with other arguments (a keyed retry with another payment method):
            // nothing was taken under them, and the booking stays as the first attempt left it.
            if case .idempotencyKeyReused = error { throw IdempotencyStore.reused }
            // Declined, refused, or unknown: the nights go back at once.
            try? await cancel(booking, by: .system, reason: Self.paymentFailed, refund: 0)
            switch error {
            case let .declined(code):
                throw Problem.paymentFailed("The payment was declined (\(code)); the nights were released.")
            case let .invalidPaymentMethod(method):
                // Only the provider knows its payment methods, so the nights were held and are released now: a 402,
                // as for a declined card, not a 422 (which would say nothing was done).
                throw Problem.paymentFailed("\(method) is not a payment method the provider knows (paymentMethod); the nights were released.")
            default:
                // The outcome may be unknown (a timeout): the cancel above settles whatever the
                // provider did take (`releaseUnrecorded`), and the scheduler retries that until it can.
                logger.error("payment provider failed", metadata: ["booking": "\(booking.id)", "error": "\(error)"])
                // Not a 503: those mean nothing was done (an idempotent retry runs again), and this booking was made and
                // canceled. A 502 is kept like any answer, so a retry with the key is told the same.
                throw Problem(
                    .badGateway, code: "payment_provider_error", title: "Payment provider error",
                    detail: "The payment provider did not answer; booking \(booking.id) was canceled and its nights released "
                        + "(anything the provider took is given back). Book again with a new Idempotency-Key."
                )
            }
        }
        if paymentMethod == nil, payment.status == .requiresPaymentMethod {
            // The guest pays in the browser; the provider's event does the rest (`paymentEvent`).
            var waiting = try await booked(booking.id)
            waiting.clientSecret = payment.clientSecret
            return waiting
        }
        guard payment.status == (booking.instantBook ? .succeeded : .requiresCapture) else {
            try? await cancel(booking, by: .system, reason: Self.paymentNotAuthorized, refund: 0)
            throw Problem.paymentFailed("The payment was not authorized (\(payment.status.rawValue)); the nights were released.")
        }
        do {
            if booking.instantBook {
                try await recordInLedger(
                    .charge(payment: booking.id, currency: currency, amount: amount, settlement: Self.settlement(booking), reference: payment.id), on: ledgerShard
                ) { try await confirmPaid(booking) }
            } else {
                // Request to book: authorized, waiting for the host for a day.
                try await recordInLedger(
                    .authorize(payment: booking.id, currency: currency, amount: amount, settlement: Self.settlement(booking), reference: payment.id), on: ledgerShard
                ) { try await listings.execute(.extendHold(id: booking.id, until: Self.hostDeadline(booking)), on: booking.listingID) }
            }
        } catch where Problem.from(error)?.status == .serviceUnavailable {
            // The provider took the payment and the engine could not record it (overloaded, or refusing writes): the
            // booking stays pending with its nights held, and reconciliation records the payment (`reconcilePending`).
            // Still a 503, as a retry is what helps, but not "nothing was done": it says so, and a retry with the same
            // Idempotency-Key finishes this booking (`resume`).
            throw Problem.unavailable(
                "The payment went through but booking \(booking.id) could not be recorded yet; it is completed from the provider's "
                    + "record once the server takes writes again (GET /v1/bookings/\(booking.id)), or by a retry with the same Idempotency-Key.",
                retryAfter: 1
            )
        }
        return try await booked(booking.id)
    }

    /// 422 for a stay whose price in `currency` is past what can be charged (`PriceQuote.convertedMax`).
    static func tooDear(in currency: String) -> Problem {
        Problem.validation([.init(field: "currency", message: "this stay's price in \(currency) is past what can be charged; choose the listing's currency or a shorter stay")])
    }

    /// When a request to book lapses if its host does not answer.
    static func hostDeadline(_ booking: BookingRecord) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: booking.createdAt.millisecondsSinceEpoch + Int64(hostHold * 1000))
    }

    /// A booking id that routes to its listing's shard (so a booking can be found by id alone).
    func bookingID(for listingID: String) -> String {
        let shard = listings.group.index(for: listingID)
        return Identifiers.make("bkg") { listings.group.index(for: $0) == shard }
    }

    /// Captures the authorized payment and confirms the booking.
    func confirm(_ booking: BookingRecord) async throws -> Booked {
        guard let authorized = await payment(booking.id) else { throw Problem.notFound("No payment for this booking.") }
        do {
            _ = try await gateway.capture(authorized.reference, amount: nil, idempotencyKey: "cap:\(booking.id)")
        } catch .unavailable(let reason) {
            // The capture's outcome is unknown: the booking stays as it was (a 503 to the host).
            // Accepting again repeats the capture under the same key (the provider replays it), and
            // reconciliation records a capture that did go through.
            logger.error("payment capture's outcome unknown", metadata: ["booking": "\(booking.id)", "error": "\(reason)"])
            throw GatewayError.unavailable(reason)
        } catch {
            try? await cancel(booking, by: .system, reason: "payment capture failed", refund: 0)
            throw Problem.paymentFailed("The payment could not be captured; the nights were released.")
        }
        try await recordInLedger(.capture(payment: booking.id), on: ledger.shard(for: booking.id)) {
            try await listings.execute(.confirmBooking(id: booking.id), on: booking.listingID)
        }
        return try await booked(booking.id)
    }

    /// Records `command` in the ledger, runs `next` (the booking's own step that follows it), then waits until the
    /// ledger's record is durable, whatever `next` did. The record is not waited for on its own: `next`'s record
    /// follows it in the one log, so `next`'s wait covers it. Under load the two share a sync; when the log is idle
    /// the ledger's record syncs at once and `next`'s in the sync after, but the booking no longer stops between the
    /// two (no resumption from the writer, no second hand-off back to it).
    private func recordInLedger(_ command: Ledger.Command, on shard: Shard<Ledger>, then next: () async throws -> Void) async throws {
        let recorded = try await shard.executeUndurable(command, now: now)
        do {
            try await next()
        } catch {
            try? await shard.waitDurable(recorded)
            throw error
        }
        try await shard.waitDurable(recorded)
    }

    // MARK: Reading

    func booking(_ id: String) async -> BookingRecord? {
        guard Identifiers.isValid(id) else { return nil }
        return listings.group.shard(for: id).peek { $0.bookings[id] }
    }

    func payment(_ bookingID: String) async -> Ledger.Payment? {
        ledger.shard(for: bookingID).peek { $0.payments[bookingID] }
    }

    func booked(_ id: String) async throws -> Booked {
        guard let booking = await booking(id) else { throw Problem.notFound("No such booking.") }
        return Booked(booking: booking, payment: await payment(id))
    }

    /// `booked`, with the client secret of a payment still waiting for the guest (asked of the provider).
    func bookedWithSecret(_ id: String) async throws -> Booked {
        var booked = try await booked(id)
        if booked.booking.status == .pending, booked.payment == nil, let waiting = try? await gateway.payment(forIdempotencyKey: "auth:\(id)"),
            waiting.status == .requiresPaymentMethod {
            booked.clientSecret = waiting.clientSecret
        }
        return booked
    }

    /// The provider says something happened to the payment it knows by our key (`auth:<booking>`):
    /// the booking is reconciled in its turn with what the provider says now — not with what the
    /// event says — so a late, repeated or out-of-order event never moves a booking backwards.
    func paymentEvent(idempotencyKey key: String) async throws {
        guard key.hasPrefix("auth:") else { return }
        let id = String(key.dropFirst(5))
        guard await booking(id) != nil else { return }
        _ = try await serial.run(id) { try await reconcile(id) }
    }

    /// The booking if `principal` may see it: its guest, its host, or an admin. Anyone else gets
    /// the same 404 as for a booking that does not exist.
    func visible(_ id: String, to principal: Principal) async throws -> BookingRecord {
        guard let booking = await booking(id), principal.role == .admin || booking.guestID == principal.userID || booking.hostID == principal.userID
        else { throw Problem.notFound("No such booking.") }
        return booking
    }

    /// Bookings matching `include`, newest first, one page after `cursor`.
    func page(after cursor: (Int64, String)?, limit: Int, where include: @escaping @Sendable (BookingRecord) -> Bool) async -> (items: [BookingRecord], next: (Int64, String)?) {
        await listings.group.newestFirst(after: cursor, limit: limit) { state, keep in state.bookings.values.filter { include($0) && keep($0) } }
    }

    // MARK: Host decisions and cancellations

    func accept(_ id: String, by principal: Principal) async throws -> Booked {
        let booking = try await hosted(id, by: principal)
        return try await serial.run(booking.id) {
            var booking = try await hosted(id, by: principal)
            guard booking.status == .pending, !booking.instantBook else { throw Self.notPendingRequest(booking) }
            // Its hold has run out, though the scheduler has not canceled it yet. What the provider
            // says is finished first, as the expiry would: an earlier accept whose capture went
            // unanswered may have been taken (confirmed now), and a payment the ledger had not heard
            // of (a late provider event) gives the request its host's day. Only then has it lapsed.
            if booking.holdExpiresAt <= now {
                _ = try? await reconcile(id)
                booking = try await hosted(id, by: principal)
                if booking.status == .confirmed { return try await booked(id) }
                guard booking.status == .pending, booking.holdExpiresAt > now else {
                    throw Problem(.conflict, code: "request_expired", title: "Conflict", detail: "The request lapsed at \(booking.holdExpiresAt); the guest's nights are no longer held for it.")
                }
            }
            guard await payment(id)?.status == .authorized else {
                throw Problem(.conflict, code: "payment_pending", title: "Conflict", detail: "The guest has not paid yet.")
            }
            // A listing delisted (or deleted) since the request takes no more bookings: the host declines it instead.
            guard await listings.listing(booking.listingID)?.isListed == true else {
                throw Problem(.conflict, code: "listing_not_bookable", title: "Conflict", detail: "The listing is not taking bookings; decline the request.")
            }
            return try await confirm(booking)
        }
    }

    func decline(_ id: String, by principal: Principal) async throws -> Booked {
        let booking = try await hosted(id, by: principal)
        return try await serial.run(booking.id) {
            let booking = try await hosted(id, by: principal)
            guard booking.status == .pending, !booking.instantBook else { throw Self.notPendingRequest(booking) }
            try await cancel(booking, by: .host, reason: "declined by the host", refund: 0)
            return try await booked(id)
        }
    }

    private static func notPendingRequest(_ booking: BookingRecord) -> Problem {
        Problem(.conflict, code: "invalid_transition", title: "Conflict", detail: "Only a pending request to book can be accepted or declined (this one is \(booking.status)\(booking.instantBook ? ", instant" : "")).")
    }

    private func hosted(_ id: String, by principal: Principal) async throws -> BookingRecord {
        let booking = try await visible(id, to: principal)
        guard booking.hostID == principal.userID else { throw Problem.forbidden("Only the listing's host decides on a request.") }
        return booking
    }

    /// Cancels as the guest, the host or an admin, refunding by the booking's policy (in full when
    /// the host or an admin cancels). Returns the booking with its cancellation.
    func cancel(_ id: String, by principal: Principal, reason: String) async throws -> Booked {
        let booking = try await visible(id, to: principal)
        return try await serial.run(booking.id) { try await cancel(booking.id, by: principal, reason: reason, locked: ()) }
    }

    /// `cancel(_:by:reason:)` once the booking's turn has come, on fresh state.
    private func cancel(_ id: String, by principal: Principal, reason: String, locked: Void) async throws -> Booked {
        let booking = try await visible(id, to: principal)
        let party: BookingParty = booking.guestID == principal.userID ? .guest : booking.hostID == principal.userID ? .host : .admin
        guard booking.status.holdsNights else {
            throw Problem(.conflict, code: "invalid_transition", title: "Conflict", detail: "The booking is \(booking.status).")
        }
        if let payment = await payment(id), payment.released {
            throw Problem(.conflict, code: "stay_paid_out", title: "Conflict", detail: "The host has been paid for this stay; an admin refund is needed.")
        }
        var refund: Int64 = 0
        if let payment = await payment(id), payment.status == .captured {
            let checkIn = try Self.checkInInstant(booking, timeZone: await listings.listing(booking.listingID)?.details.location.timeZone ?? "UTC")
            let owed = CancellationRefund.amount(
                total: booking.charge.total, policy: booking.policy, by: party, bookedAt: booking.createdAt, checkInAt: checkIn, canceledAt: now
            )
            // Less what an admin has already given back.
            refund = min(owed, payment.amount - payment.refundedCharged)
        }
        try await cancel(booking, by: party, reason: reason, refund: refund)
        return try await booked(id)
    }

    /// Releases the nights with the cancel event, then settles the money (`settle`). A settlement
    /// the provider does not answer is logged and left to the scheduler, which retries it after a
    /// backoff (`runDueTransitions`): the cancellation stands and its caller is answered with it.
    /// Any other failure (the provider or the ledger refused) is thrown, as the caller must hear
    /// of it; the scheduler retries that too.
    func cancel(_ booking: BookingRecord, by party: BookingParty, reason: String, refund: Int64) async throws {
        try await listings.execute(.cancelBooking(id: booking.id, BookingCancellation(by: party, at: now, reason: reason, refund: refund)), on: booking.listingID)
        guard let canceled = await self.booking(booking.id) else { return }
        do {
            try await settle(canceled)
        } catch GatewayError.unavailable(let reason) {
            logger.warning("a canceled booking's money is not settled yet; the scheduler retries", metadata: ["booking": "\(booking.id)", "error": "\(reason)"])
        }
    }

    /// Makes a canceled booking's money match its cancellation: voids an authorization, pays the
    /// refund owed on a capture (in the guest's currency at the provider; its share of the
    /// listing-currency settlement in the ledger). Safe to repeat: every provider call has a key
    /// made of the booking id, and the ledger refuses a second refund with the same id (the
    /// scheduler repeats this for cancellations whose refund did not go through).
    func settle(_ booking: BookingRecord) async throws {
        guard booking.status == .canceled else { return }
        guard let payment = await payment(booking.id) else { return try await releaseUnrecorded(booking) }
        let shard = ledger.shard(for: booking.id)
        switch payment.status {
        case .authorized:
            let failure = await Self.failure { () async throws(GatewayError) in _ = try await gateway.void(payment.reference, idempotencyKey: "void:\(booking.id)") }
            if case .invalidState? = failure {
                // Captured meanwhile (an accept racing this cancel): give the money back instead.
                if let made = try await gateway.payment(forIdempotencyKey: "auth:\(booking.id)"), made.status == .succeeded, made.amountCaptured > made.amountRefunded {
                    _ = try await gateway.refund(made.id, amount: made.amountCaptured - made.amountRefunded, idempotencyKey: "refund:\(booking.id):race")
                }
            } else if let failure {
                throw failure
            }
            try await shard.execute(.void(payment: booking.id), now: now)
        case .captured:
            // Refunds an admin requested go first, so the cancellation's is worked out from what they left.
            try await finishRequestedRefunds(booking.id)
            let payment = await self.payment(booking.id) ?? payment
            // Already given back: `refund` finds its transfer and sends nothing.
            let owed = min(booking.cancellation?.refund ?? 0, payment.refundable())
            guard owed > 0, !payment.released else { return }
            try await refund(owed, of: payment, as: "cancel")
        case .voided:
            break
        }
    }

    /// A canceled booking the ledger has no payment for may still have one at the provider: an
    /// authorization or charge whose answer was lost (a timeout, a crash), or a payment the guest
    /// could still confirm from an old browser tab. Whatever the provider holds under our key is
    /// released: voided while it can be, refunded in full once taken.
    ///
    /// Not finding one is final only where the provider's lookup is consistent. Where it lags (Stripe's Search API),
    /// a payment made moments ago may not show yet: until `lookupLag` after the latest its payment call can have been
    /// made (a hold's length after the booking), not finding one throws `.unavailable`, so the cancellation stands and
    /// the scheduler looks again after a backoff, rather than the booking being marked settled for good with the
    /// guest's money still taken.
    private func releaseUnrecorded(_ booking: BookingRecord) async throws {
        guard let made = try await gateway.payment(forIdempotencyKey: "auth:\(booking.id)") else {
            let (seconds, attoseconds) = gateway.lookupLag.components
            let lag = seconds * 1000 + attoseconds / 1_000_000_000_000_000
            // The payment call comes at most a hold's length after the booking (a keyed retry's `resume` makes it late).
            if lag > 0, now.millisecondsSinceEpoch < booking.createdAt.millisecondsSinceEpoch + Int64(Self.paymentHold * 1000) + lag {
                throw GatewayError.unavailable("the provider's lookup may not show this booking's payment yet")
            }
            return
        }
        switch made.status {
        case .requiresCapture, .requiresPaymentMethod:
            let failure = await Self.failure { () async throws(GatewayError) in _ = try await gateway.void(made.id, idempotencyKey: "void:\(booking.id)") }
            switch failure {
            case nil: break
            // A payment still waiting for its buyer cannot be voided at every provider (PayPal): it lapses there.
            case .invalidState? where made.status == .requiresPaymentMethod: break
            case let failure?: throw failure
            }
        case .succeeded where made.amountCaptured > made.amountRefunded:
            _ = try await gateway.refund(made.id, amount: made.amountCaptured - made.amountRefunded, idempotencyKey: "refund:\(booking.id):unrecorded")
        case .succeeded, .canceled, .requiresAuthorization:
            break  // nothing held (an approved order nobody authorizes lapses at the provider)
        }
    }

    /// Sends `charged` (the payment's currency) back to the guest through the provider, then records
    /// it with its share of what the ledger holds in the listing's currency (`Ledger.Payment.refundShare`).
    /// The ledger's decision is worked out first, on the current state: a refund it would refuse is
    /// never sent (its rejection is thrown), so the provider cannot give back money the ledger does
    /// not record. `refundID` names the refund among the payment's: one the ledger has already
    /// recorded is not sent again; one sent but not recorded (a crash, a lost answer) is sent again
    /// with the same key, which the provider replays, and then recorded.
    func refund(_ charged: Int64, of payment: Ledger.Payment, as refundID: String, sending: RefundSending = .underItsKey) async throws {
        let shard = ledger.shard(for: payment.id)
        let (command, decision) = shard.peek { state in
            let share = state.payments[payment.id]?.refundShare(charged: charged) ?? 0
            let command = Ledger.Command.refund(payment: payment.id, refund: refundID, amount: share, charged: charged)
            return (command, Ledger.decide(command, state: state, context: DecisionContext(now: now)))
        }
        switch decision {
        case .success: break
        case .failure(.transferExists): return
        case let .failure(rejection): throw rejection  // 409 payment_conflict, with nothing sent
        }
        switch sending {
        case .underItsKey: _ = try await gateway.refund(payment.reference, amount: charged, idempotencyKey: "refund:\(payment.id):\(refundID)")
        case let .under(key): _ = try await gateway.refund(payment.reference, amount: charged, idempotencyKey: key)
        case .alreadyMade: break
        }
        try await shard.execute(command, now: now)
    }

    /// How `refund` reaches the provider.
    enum RefundSending {
        /// Under `refund:<payment>:<refund id>` (a repeat is answered with the first refund).
        case underItsKey
        case under(String)
        /// Not at all: the provider is known to have made it; only the ledger's record is missing.
        case alreadyMade
    }

    /// Sends and records the refunds requested for a booking's payment and not yet recorded (a crash, or a provider
    /// that did not answer, between the request and its record), each under its own key, which a provider that
    /// already made it answers with that refund. Throws `.unavailable` while the provider does not answer; one it
    /// refuses is withdrawn (logged), and the caller carries on with what it came to do.
    func finishRequestedRefunds(_ bookingID: String) async throws {
        for refundID in await payment(bookingID)?.requestedRefunds.keys.sorted() ?? [] {
            do {
                try await finishRequestedRefund(refundID, of: bookingID)
            } catch let error as GatewayError {
                if case .unavailable = error { throw error }
            }
        }
    }

    /// One requested refund, sent and recorded; withdrawn if the provider refuses it outright (nothing was sent under
    /// its key), and that refusal thrown. One older than a provider keeps idempotency keys (`providerKeyRetention`)
    /// is not sent again under its key, which may now be new to the provider: `finishOldRequestedRefund`.
    func finishRequestedRefund(_ refundID: String, of bookingID: String) async throws {
        guard let payment = await payment(bookingID), let requested = payment.requestedRefunds[refundID] else { return }
        if now.millisecondsSinceEpoch >= requested.at.millisecondsSinceEpoch + Int64(Self.providerKeyRetention * 1000) {
            return try await finishOldRequestedRefund(refundID, requested.charged, of: payment)
        }
        do {
            try await refund(requested.charged, of: payment, as: refundID)
        } catch let error as GatewayError {
            if case .unavailable = error { throw error }
            logger.warning("a requested refund was refused; withdrawn", metadata: ["booking": "\(bookingID)", "refund": "\(refundID)", "error": "\(error)"])
            try await ledger.shard(for: bookingID).execute(.withdrawRefund(payment: bookingID, refund: refundID), now: now)
            throw error
        }
    }

    /// How long a provider is sure to answer a repeated idempotency key with its first answer: Stripe keeps keys for at
    /// least 24 hours (PayPal's request ids and the sandbox's journal, longer); an hour is kept in hand.
    static let providerKeyRetention: TimeInterval = 23 * 3600

    /// An owed refund requested long enough ago that its key may be new to the provider again: sending it under that
    /// key could refund twice. What the provider says it has refunded of the payment decides instead. More than the
    /// ledger records, by at least this refund: it was made (its answer lost), and is recorded without sending.
    /// Nothing more: it never went, and is sent now under a key of its own. In between (part of it, or several owed
    /// refunds tangled): the money cannot be told apart here; it stays owed (so nothing is released to the host) and
    /// is logged for an admin.
    private func finishOldRequestedRefund(_ refundID: String, _ charged: Int64, of payment: Ledger.Payment) async throws {
        guard let made = try await gateway.payment(forIdempotencyKey: "auth:\(payment.id)"), made.id == payment.reference else {
            throw GatewayError.unavailable("the provider's record of the payment is needed to settle an old owed refund")
        }
        let unrecorded = made.amountRefunded - payment.refundedCharged
        if unrecorded >= charged {
            try await refund(charged, of: payment, as: refundID, sending: .alreadyMade)
        } else if unrecorded == 0 {
            try await refund(charged, of: payment, as: refundID, sending: .under("refund:\(payment.id):\(refundID):late"))
        } else {
            logger.error(
                "an old owed refund does not match what the provider refunded; it stays owed for an admin",
                metadata: ["booking": "\(payment.id)", "refund": "\(refundID)", "owed": "\(charged)", "unrecorded": "\(unrecorded)"]
            )
            throw GatewayError.unavailable("an old owed refund does not match the provider's refunds; an admin must settle it")
        }
    }

    /// The provider's error, if `call` fails.
    static func failure(_ call: () async throws(GatewayError) -> Void) async -> GatewayError? {
        do {
            try await call()
            return nil
        } catch {
            return error
        }
    }

    /// Check-in at 15:00 on the check-in day, in the listing's time zone.
    static func checkInInstant(_ booking: BookingRecord, timeZone: String) throws -> Timestamp {
        try instant(booking.stay.lowerBound, hour: 15, timeZone: timeZone)
    }

    /// `hour`:00 on `day` in `timeZone`.
    static func instant(_ day: CalendarDay, hour: Int, timeZone: String) throws -> Timestamp {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 0)!
        let (year, month, date) = day.civil
        guard let instant = calendar.date(from: DateComponents(year: year, month: month, day: date, hour: hour)) else {
            throw Problem.unavailable("A time in \(timeZone) could not be computed.")
        }
        return AccountService.timestamp(instant)
    }

    // MARK: Scheduled

    /// Completes confirmed stays once check-out (11:00 on the check-out day, listing time) has
    /// passed, and pays hosts 24 hours after check-in (15:00 listing time): the ledger releases the
    /// guest's money (less refunds) to the host, the platform and the tax account, the provider pays
    /// the host's share out, and the ledger records the payout — each step once, whatever reruns.
    /// A payout that fails is retried after a backoff (`payOut`), and so is a canceled booking's refund or void
    /// (`settleRetries`). Returns how many stays completed and how many payouts were made.
    @discardableResult
    public func runDueTransitions() async -> (completed: Int, paidOut: Int) {
        let moment = clock()
        let skip = finished.withLock { $0 }, waiting = waitingForPayoutDay.withLock { $0 }
        // No zone's day is later than Kiritimati's (UTC+14 all year): a stay whose day after
        // check-in has not begun there is due nowhere, and is passed over on its own fields. Every
        // shard's scan visits all its bookings under its lock every run, so the common case (a
        // stay ahead) hashes no id and looks up no listing; it used to copy the listing's record
        // (a retain of each of its strings and arrays) for every booking, every 30 seconds.
        let latestToday = ListingService.today(in: "Pacific/Kiritimati", now: moment)
        // Each with its listing's time zone (the listing is in the booking's shard). Nothing is due
        // for a stay before the day after its check-in (payout at 15:00; check-out comes later), so
        // those stay in their shard: a scan costs a hop only for bookings with something to do.
        let due = await listings.scatter { state in
            var todays: [String: CalendarDay] = [:]
            let listings = state.listings
            return state.bookings.values.compactMap { booking -> (BookingRecord, String)? in
                guard booking.status != .pending else { return nil }
                if booking.stay.lowerBound.advanced(by: 1) > latestToday, booking.status != .canceled || waiting.contains(booking.id) { return nil }
                guard !skip.contains(booking.id), !state.settled.contains(booking.id) else { return nil }
                let timeZone = listings.reading(booking.listingID) { $0.pointee.details.location.timeZone } ?? "UTC"
                if booking.status != .canceled {
                    let today = todays[timeZone] ?? ListingService.today(in: timeZone, now: moment)
                    todays[timeZone] = today
                    guard booking.stay.lowerBound.advanced(by: 1) <= today else { return nil }
                }
                return (booking, timeZone)
            }
        }.joined()
        // Refunds requested and not yet made (the provider did not answer) first, on the payouts' backoff while the
        // provider does not answer: a stay's money goes to its host only once they are made (`payOut` waits for them).
        for id in await ledger.scatter({ Array($0.requestingRefunds) }).joined() {
            if let retry = refundRetries.withLock({ $0[id] }), retry.at > moment { continue }
            do {
                try await serial.run(id) { try await finishRequestedRefunds(id) }
                refundRetries.withLock { $0[id] = nil }
            } catch {
                let attempts = Self.putOff(id, in: refundRetries, from: moment)
                logger.warning("a requested refund is not made yet; retried after a backoff", metadata: ["booking": "\(id)", "attempts": "\(attempts)", "error": "\(error)"])
            }
        }
        var completed = 0, paidOut = 0
        for (listed, timeZone) in due {
            let (didComplete, didPay) = (try? await serial.run(listed.id) { await advance(listed.id, timeZone: timeZone, moment: moment) }) ?? (false, false)
            if didComplete { completed += 1 }
            if didPay { paidOut += 1 }
        }
        return (completed, paidOut)
    }

    /// Counts a failed attempt for `id` in `retries` and puts the next one off by the backoff; the attempts so far.
    private static func putOff(_ id: String, in retries: borrowing Mutex<[String: (attempts: Int, at: Date)]>, from moment: Date) -> Int {
        retries.withLock { retries in
            let attempts = (retries[id]?.attempts ?? 0) + 1
            retries[id] = (attempts, moment.addingTimeInterval(backoff(after: attempts - 1)))
            return attempts
        }
    }

    /// What is due for one booking, on fresh state: a canceled one's refund or kept money, a
    /// confirmed one's completion and payout.
    private func advance(_ id: String, timeZone: String, moment: Date) async -> (completed: Bool, paidOut: Bool) {
        guard let booking = await booking(id) else { return (false, false) }
        if booking.status == .canceled {
            // A refund that did not go through is retried after a backoff; what the policy kept goes to the host.
            if let retry = settleRetries.withLock({ $0[id] }), retry.at > moment { return (false, false) }
            do {
                try await settle(booking)
                settleRetries.withLock { $0[id] = nil }
            } catch {
                let attempts = Self.putOff(id, in: settleRetries, from: moment)
                logger.warning(
                    "could not settle a canceled booking; retried after a backoff",
                    metadata: ["booking": "\(booking.id)", "attempts": "\(attempts)", "error": "\(error)"]
                )
                return (false, false)
            }
            // What the policy kept is the host's when the stay's would have been: 24 hours after its check-in,
            // as for a stay (until then an admin can still give it back).
            guard let checkIn = try? Self.checkInInstant(booking, timeZone: timeZone), Self.payoutIsDue(checkIn: checkIn, now: now) else {
                await markIfFinished(id)
                if !finished.withLock({ $0.contains(id) }) { waitingForPayoutDay.withLock { _ = $0.insert(id) } }
                return (false, false)
            }
            waitingForPayoutDay.withLock { _ = $0.remove(id) }
            let paid = await payOut(booking)
            await markIfFinished(id)
            return (false, paid)
        }
        guard booking.status != .pending, let checkIn = try? Self.checkInInstant(booking, timeZone: timeZone) else { return (false, false) }
        var completed = false
        if booking.status == .confirmed, let checkOut = try? Self.instant(booking.stay.upperBound, hour: 11, timeZone: timeZone), checkOut <= now {
            let today = ListingService.today(in: timeZone, now: moment)
            completed = (try? await listings.execute(.completeBooking(id: booking.id, today: today), on: booking.listingID)) != nil
        }
        guard Self.payoutIsDue(checkIn: checkIn, now: now) else {
            await markIfFinished(id)
            return (completed, false)
        }
        let paid = await payOut(booking)
        await markIfFinished(id)
        return (completed, paid)
    }

    /// Whether a host's payout is due: 24 hours after the stay's check-in.
    static func payoutIsDue(checkIn: Timestamp, now: Timestamp) -> Bool {
        checkIn.millisecondsSinceEpoch + 86_400_000 <= now.millisecondsSinceEpoch
    }

    /// Remembers a booking with nothing left to do: over (completed or canceled) and its money
    /// done — no payment, voided, paid out, or all of it given back.
    private func markIfFinished(_ id: String) async {
        guard let booking = await booking(id), booking.status == .completed || booking.status == .canceled else { return }
        let payment = await payment(id)
        let settled = payment.map { $0.status == .voided || $0.paidOut || $0.refunded >= $0.settlementAmount } ?? true
        guard settled else { return }
        finished.withLock { _ = $0.insert(id) }
        // A canceled booking's settlement asks the provider about payments the ledger never
        // recorded: marked durably, a restart does not ask again (a failed mark is retried next run).
        if booking.status == .canceled {
            do {
                try await listings.execute(.markSettled(id: id), on: booking.listingID)
            } catch {
                finished.withLock { _ = $0.remove(id) }
                logger.warning("could not mark a canceled booking settled; retried on the next run", metadata: ["booking": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Pays the host for a stay if it is due and not yet paid. True when a payout was made now.
    /// A payout that fails (no payout account yet, or the provider refuses or cannot be reached)
    /// is recorded in the ledger with its reason — admins see it — and tried again after a backoff.
    private func payOut(_ booking: BookingRecord) async -> Bool {
        let shard = ledger.shard(for: booking.id)
        // Nothing to pay when everything went back to the guest.
        guard let payment = await payment(booking.id), payment.status == .captured, !payment.paidOut, payment.requestedRefunds.isEmpty,
            payment.released || payment.refunded < payment.settlementAmount
        else { return false }
        // A payout the provider failed waits out its backoff; one waiting for something (`waits`) goes once it has come.
        if payment.payoutAttempts > 0, payment.payoutRetryAt > now, !Self.waits.contains(payment.payoutError) { return false }
        do {
            // A suspended host is not paid (an admin may be looking into them): the money stays held, where an admin
            // refund can still give it back to the guest, until they are reinstated. Not once released: an attempt may
            // be out under its key, and is finished under it before the provider forgets the key.
            if !payment.released, hostSuspended(booking.hostID) {
                try await waiting(payment, for: Self.hostIsSuspended)
                return false
            }
            // No account, no release: until the money leaves for the host, the guest's funds stay
            // held (a cancellation or an admin refund can still give them back).
            // A retry goes where the first attempt went, whatever account the host has set since.
            let current = payment.payoutDestination.isEmpty ? await payoutAccount(host: booking.hostID)?.account : nil
            guard let destination = payment.payoutDestination.isEmpty ? current : payment.payoutDestination else {
                try await waiting(payment, for: Self.noPayoutAccount)
                return false
            }
            if !payment.released {
                try await shard.execute(
                    .release(payment: booking.id, host: booking.hostID, platformFees: booking.quote.serviceFee + booking.quote.hostFee, taxes: booking.quote.taxes),
                    now: now
                )
            }
            let earned = shard.peek { state in
                state.transfers["rel:\(booking.id)"]?.lines.first { $0.account == .hostPayable(host: booking.hostID) }.map { -$0.amount } ?? 0
            }
            guard earned > 0 else { return false }
            let failure = await Self.failure { () async throws(GatewayError) in
                _ = try await gateway.payout(amount: earned, currency: booking.quote.currency, destination: destination, idempotencyKey: payment.payoutKey)
            }
            if let failure {
                // A refusal with no unanswered attempt before it under this key paid nothing: the
                // next attempt is a new payout (a new key) to the host's account as it is then, so
                // a host who fixes their account is paid. After an unanswered attempt the key and
                // destination stay, whatever the provider says, in case that one went through.
                // (An attempt lost to a crash before its answer was recorded is not known here:
                // this relies on the provider answering a key it has seen with its first answer,
                // as Stripe, PayPal (its PayPal-Request-Id) and the sandbox do, so a payout made
                // under it comes back as made, never as a refusal.)
                let refused = Self.refusedOutright(failure) && payment.payoutDestination.isEmpty
                logger.warning("payout failed; retried after a backoff", metadata: ["booking": "\(booking.id)", "error": "\(failure)", "refused": "\(refused)"])
                try await payoutFailed(
                    payment, reason: "the provider \(refused ? "refused" : "refused or did not answer"): \(failure)", destination: destination,
                    retryIn: Self.backoff(after: payment.payoutAttempts), refused: refused
                )
                return false
            }
            try await shard.execute(.payout(payment: booking.id, host: booking.hostID), now: now)
            return true
        } catch {
            logger.warning("payout step failed; retried on the next run", metadata: ["booking": "\(booking.id)", "error": "\(error)"])
            return false
        }
    }

    /// Records that the payout waits for `reason` to pass (once: later runs only look again, writing nothing, and an
    /// admin sees why). Each run looks, so it goes on the first run after the wait is over.
    private func waiting(_ payment: Ledger.Payment, for reason: String) async throws {
        guard payment.payoutError != reason else { return }
        try await payoutFailed(payment, reason: reason, destination: "", retryIn: 0, refused: false)
    }

    private func payoutFailed(_ payment: Ledger.Payment, reason: String, destination: String, retryIn delay: TimeInterval, refused: Bool) async throws {
        let retryAt = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + Int64(delay * 1000))
        try await ledger.shard(for: payment.id).execute(
            .payoutFailed(payment: payment.id, reason: reason, destination: destination, retryAt: retryAt, refused: refused), now: now
        )
    }

    /// Whether the provider answered a call with a definite no, so that nothing was done under its
    /// key: a decline, a destination or payment it does not know, a call that does not fit the
    /// state. Not a timeout or an unreachable provider (the outcome is unknown), nor a key reused
    /// with other parameters (the key's first call may have gone through).
    static func refusedOutright(_ error: GatewayError) -> Bool {
        switch error {
        case .declined, .invalidPaymentMethod, .notFound, .invalidState: true
        case .idempotencyKeyReused, .unavailable: false
        }
    }

    /// How long a payout, or a canceled booking's settlement, waits after a failure when `attempts`
    /// failed before it (any reason): a minute, doubled per earlier failure, at most six hours.
    static func backoff(after attempts: Int) -> TimeInterval { min(60 * pow(2, Double(min(attempts, 20))), 6 * 3600) }
    static let noPayoutAccount = "the host has no payout account"
    static let hostIsSuspended = "the host is suspended"
    /// What a payout can wait for (`waiting`), rather than back off from.
    static let waits: Set<String> = [noPayoutAccount, hostIsSuspended]

    /// The account the host is paid to, if they have set one.
    func payoutAccount(host: String) async -> Ledger.PayoutAccount? {
        ledger.shard(for: host).peek { $0.payoutAccounts[host] }
    }

    /// Sets the host's payout account; a stay waiting for one is paid on the scheduler's next run.
    func setPayoutAccount(host: String, account: String) async throws -> Ledger.PayoutAccount {
        try await ledger.shard(for: host).execute(.setPayoutAccount(host: host, account: account), now: now)
        guard let set = await payoutAccount(host: host) else { throw Problem.unavailable("The payout account was not recorded.", retryAfter: 1) }
        return set
    }

    /// A host's payouts, newest first (across the ledger's shards).
    func payouts(host: String) async -> [Ledger.Transfer] {
        var all: [Ledger.Transfer] = []
        for shard in ledger.shards {
            all += shard.peek { state in
                state.transfers.values.filter { $0.purpose == .payout && $0.lines.contains { $0.account == .hostPayable(host: host) } }
            }
        }
        return all.sorted { ($0.at, $0.id) > ($1.at, $1.id) }
    }

    /// Cancels every pending booking whose hold has lapsed by `now`: unpaid ones after 15
    /// minutes, requests the host left unanswered after a day. Returns how many.
    @discardableResult
    public func expireLapsedHolds() async -> Int {
        let moment = now
        let lapsed = await listings.scatter { state in
            state.bookings.values.filter { $0.status == .pending && $0.holdExpiresAt <= moment }
        }.joined()
        var expired = 0
        for booking in lapsed {
            do {
                try await serial.run(booking.id) {
                    // A crash may have left it paid (or authorized at the provider alone): that is
                    // finished first. Accepted, canceled or extended meanwhile: nothing to expire.
                    // A provider that cannot be asked does not keep the nights: what the ledger knows
                    // to be paid was confirmed above without asking, and whatever the provider holds
                    // unrecorded is given back by the cancellation's settlement, retried until it answers.
                    do {
                        _ = try await reconcile(booking.id)
                    } catch let error as GatewayError {
                        logger.warning("the provider could not be asked about a lapsed hold, or did not answer; it lapses", metadata: ["booking": "\(booking.id)", "error": "\(error)"])
                    }
                    guard let fresh = await self.booking(booking.id), fresh.status == .pending, fresh.holdExpiresAt <= moment else { return }
                    try await listings.execute(.expireBooking(id: booking.id), on: booking.listingID)
                    expired += 1
                    guard let canceled = await self.booking(booking.id) else { return }
                    do {
                        try await settle(canceled)
                    } catch GatewayError.unavailable(let reason) {
                        // Expired all the same; the settlement is the scheduler's to retry (`runDueTransitions`).
                        logger.info("an expired hold's money is not settled yet; the scheduler retries", metadata: ["booking": "\(booking.id)", "reason": "\(reason)"])
                    }
                }
            } catch {
                logger.warning("could not expire a booking's hold", metadata: ["booking": "\(booking.id)", "error": "\(error)"])
            }
        }
        return expired
    }
}
