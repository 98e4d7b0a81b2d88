import Foundation
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// Each window a crash can leave in `BookingService.create`, built by hand (the steps done before
/// the crash, none after), then reconciled as a restart does: the booking ends where the ledger
/// and the provider say, and the ledger's invariants hold.
@Suite struct ReconciliationTests {
    /// The steps `create` had finished when the process died.
    enum Crash: CaseIterable {
        case afterHold, afterProviderAuthorize, afterLedgerAuthorize, afterProviderCapture, afterLedgerCapture
        /// Instant book as `create` runs it now: one charge at the provider, then the ledger.
        case afterProviderCharge
    }

    /// A booking taken through `create`'s steps up to `crash`.
    static func interrupted(at crash: Crash, instantBook: Bool, services: RoostServices, clock: MovableClock) async throws -> BookingRecord {
        let bookings = services.bookings
        let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: instantBook))
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        let stay = today.advanced(by: 10)..<today.advanced(by: 12)
        let booking = BookingRecord(
            id: bookings.bookingID(for: listing.id), listingID: listing.id, guestID: "usr_guest", hostID: "usr_host", stay: stay, guests: 1,
            quote: PriceQuote.make(listing, stay: stay, rates: PricingRates()), policy: .flexible, instantBook: instantBook,
            holdExpiresAt: AccountService.timestamp(clock.read().addingTimeInterval(BookingService.paymentHold)), createdAt: bookings.now
        )
        try await services.listings.execute(.hold(booking, today: today), on: listing.id)
        guard crash != .afterHold else { return booking }
        if crash == .afterProviderCharge {
            _ = try await bookings.gateway.charge(amount: booking.charge.total, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:\(booking.id)")
            return booking
        }
        let made = try await bookings.gateway.authorize(amount: booking.charge.total, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:\(booking.id)")
        guard crash != .afterProviderAuthorize else { return booking }
        let shard = bookings.ledger.shard(for: booking.id)
        try await shard.execute(.authorize(payment: booking.id, currency: "SGD", amount: booking.charge.total, settlement: nil, reference: made.id), now: bookings.now)
        guard crash != .afterLedgerAuthorize else { return booking }
        _ = try await bookings.gateway.capture(made.id, amount: nil, idempotencyKey: "cap:\(booking.id)")
        guard crash != .afterProviderCapture else { return booking }
        try await shard.execute(.capture(payment: booking.id), now: bookings.now)
        return booking
    }

    @Test(arguments: Crash.allCases)
    func anInstantBookingIsFinishedFromWhatTheProviderSays(crash: Crash) async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let booking = try await Self.interrupted(at: crash, instantBook: true, services: services, clock: clock)
            #expect(await bookings.reconcilePending() == (crash == .afterHold ? 0 : 1))
            #expect(await bookings.reconcilePending() == 0, "once")
            let after = try #require(await bookings.booking(booking.id))
            let provider = try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)")
            if crash == .afterHold {
                #expect(after.status == .pending && provider == nil, "nothing was paid: the hold lapses on its own")
                clock.advance(by: BookingService.paymentHold)
                #expect(await bookings.expireLapsedHolds() == 1)
                #expect(await bookings.booking(booking.id)?.status == .canceled)
            } else {
                #expect(after.status == .confirmed)
                #expect(await bookings.payment(booking.id)?.status == .captured)
                #expect(provider?.status == .succeeded && provider?.amountCaptured == booking.charge.total)
            }
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A request to book whose hold was never extended gets its host's 24 hours; one the provider
    /// authorized before the crash is recorded, and waits for its host like any other.
    @Test func aRequestToBookGetsItsHostsDay() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let recorded = try await Self.interrupted(at: .afterLedgerAuthorize, instantBook: false, services: services, clock: clock)
            let unrecorded = try await Self.interrupted(at: .afterProviderAuthorize, instantBook: false, services: services, clock: clock)
            #expect(await bookings.reconcilePending() == 2)
            for booking in [recorded, unrecorded] {
                let after = try #require(await bookings.booking(booking.id))
                #expect(after.status == .pending && after.holdExpiresAt == BookingService.hostDeadline(booking))
                #expect(await bookings.payment(booking.id)?.status == .authorized)
            }
            clock.advance(by: BookingService.paymentHold)
            #expect(await bookings.expireLapsedHolds() == 0, "not after 15 minutes")
            clock.advance(by: BookingService.hostHold)
            #expect(await bookings.expireLapsedHolds() == 2)
            #expect(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(recorded.id)")?.status == .canceled, "voided at the provider")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The provider captured before the crash, and the hold lapsed before anyone reconciled:
    /// expiry reconciles first, so the paid booking is confirmed — not canceled with the guest's
    /// money kept.
    @Test func aCaptureFoundAtExpiryConfirmsInsteadOfLapsing() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let booking = try await Self.interrupted(at: .afterProviderCapture, instantBook: true, services: services, clock: clock)
            clock.advance(by: BookingService.paymentHold + 1)
            #expect(await bookings.expireLapsedHolds() == 0, "paid: confirmed, not expired")
            #expect(await bookings.booking(booking.id)?.status == .confirmed)
            #expect(await ledgerViolations(engine) == [])
        }
    }
}

/// Payments the guest approved at a provider that leaves their authorization to the server (PayPal).
@Suite struct BuyerApprovalTests {
    /// A booking paid in the browser at a provider that leaves the authorization to the server:
    /// the approval event authorizes it, then the booking goes on as any paid one (here instant
    /// book: captured and confirmed); a declined authorization, or an order that can no longer be
    /// authorized, cancels it and frees its nights.
    @Test(arguments: [("pm_card_visa", BookingStatus.confirmed), ("pm_card_chargeDeclined", BookingStatus.canceled), (ApprovalGateway.expired, BookingStatus.canceled)])
    func anApprovedPaymentIsAuthorizedWhenItsEventArrives(card: String, outcome: BookingStatus) async throws {
        try await withServices { services, engine, clock in
            // A sandbox of its own: the service's sends no events to the engine's bookings.
            let service = bookings(services, engine, clock, gateway: ApprovalGateway(sandbox: SandboxGateway(), card: card))
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 5)..<today.advanced(by: 7)
            let waiting = try await service.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: stay, guests: 1, currency: nil, paymentMethod: nil), rates: PricingRates()
            )
            #expect(waiting.booking.status == .pending && waiting.clientSecret != nil)
            try await service.paymentEvent(idempotencyKey: "auth:\(waiting.booking.id)")
            let after = try #require(await service.booking(waiting.booking.id))
            #expect(after.status == outcome)
            let recorded = await service.payment(waiting.booking.id)
            #expect(outcome == .confirmed ? recorded?.status == .captured : recorded == nil)
            #expect(await services.listings.listing(listing.id)?.calendar.isFree(stay) == (outcome == .canceled))
            #expect(await ledgerViolations(engine) == [])
        }
    }
}

/// Canceled bookings marked settled for good are not visited again, even by a restarted process.
@Suite struct SettledMarkTests {
    /// A declined card leaves a canceled booking the ledger knows no payment for: settling it asks
    /// the provider what it holds under our key. Once settled, the mark is durable: a restarted
    /// service (nothing in memory) neither visits it nor asks the provider again.
    @Test func aSettledCanceledBookingIsNotAskedAboutAfterARestart() async throws {
        try await withServices { services, engine, clock in
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            await #expect(throws: Problem.self) {
                try await services.bookings.create(
                    guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 7), guests: 1, currency: nil, paymentMethod: "pm_card_chargeDeclined"),
                    rates: PricingRates()
                )
            }
            let booking = try #require(services.listings.group.shard(for: listing.id).peek { $0.bookings.values.first })
            #expect(booking.status == .canceled)
            _ = await bookings(services, engine, clock, gateway: services.bookings.gateway).runDueTransitions()
            #expect(services.listings.group.shard(for: listing.id).peek { $0.settled.contains(booking.id) })

            let lookups = Mutex(0)
            let restarted = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call in
                if call == .lookup { lookups.withLock { $0 += 1 } }
            })
            _ = await restarted.runDueTransitions()
            #expect(lookups.withLock { $0 } == 0)
        }
    }
}

/// Payments the ledger never recorded for a booking that ended: the provider's answer was lost, or
/// the guest never confirmed in the browser. What the provider holds under our key goes back.
@Suite struct UnrecordedPaymentTests {
    /// The provider charges, then the answer is lost (a timeout): the guest gets a 503, the nights
    /// are released, and the charge is refunded in full — not left on a canceled booking.
    @Test func aChargeWhoseAnswerWasLostIsRefunded() async throws {
        try await withServices { services, engine, clock in
            let service = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway, lost: [.charge]) { _ in })
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 5)..<today.advanced(by: 7)
            await #expect(throws: Problem.self) {
                try await service.create(guestID: "usr_guest", .init(listingID: listing.id, stay: stay, guests: 1, currency: nil, paymentMethod: "pm_card_visa"), rates: PricingRates())
            }
            let booking = try #require(services.listings.group.shard(for: listing.id).peek { $0.bookings.values.first })
            let recorded = await service.payment(booking.id)
            #expect(booking.status == .canceled && recorded == nil)
            let provider = try #require(try await services.bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)"))
            #expect(provider.amountCaptured > 0 && provider.amountRefunded == provider.amountCaptured, "given back in full")
            #expect(await services.listings.listing(listing.id)?.calendar.isFree(stay) == true)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A booking waiting for the guest's browser lapses: its payment is voided at the provider, so
    /// a confirmation from a stale tab cannot authorize money for a booking that is gone.
    @Test func aLapsedBrowserPaymentIsVoided() async throws {
        try await withServices { services, engine, clock in
            let sandbox = try #require(services.sandbox)
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let waiting = try await services.bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 7), guests: 1, currency: nil, paymentMethod: nil),
                rates: PricingRates()
            )
            clock.advance(by: BookingService.paymentHold)
            #expect(await services.bookings.expireLapsedHolds() == 1)
            let intent = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(waiting.booking.id)"))
            #expect(intent.status == .canceled)
            await #expect(throws: GatewayError.self) {
                try await sandbox.confirm(intent.id, clientSecret: try #require(waiting.clientSecret), paymentMethod: "pm_card_visa")
            }
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .canceled)
            #expect(await ledgerViolations(engine) == [])
        }
    }
}
