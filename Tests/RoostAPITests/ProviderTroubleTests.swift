import Foundation
import HTTPTypes
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// What the booking workflow does when the payment provider refuses or cannot be reached part of
/// the way through: nothing the guest or host was told is undone, nothing is half-applied, and
/// whatever is left over is finished once the provider answers again.
@Suite struct ProviderTroubleTests {
    let guest = Principal(userID: "usr_guest", role: .guest, sessionID: "s")
    let host = Principal(userID: "usr_host", role: .host, sessionID: "s")

    /// A provider that is down (every call `.unavailable`) while `down` is set, and the sandbox otherwise.
    final class Outage: Sendable {
        private let state = Mutex(false)
        var down: Bool {
            get { state.withLock { $0 } }
            set { state.withLock { $0 = newValue } }
        }
    }

    func outageBookings(_ services: RoostServices, _ engine: Engine, _ clock: MovableClock, _ outage: Outage, lost: Set<ProxyGateway.Call> = []) -> BookingService {
        bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway, lost: lost) { _ throws(GatewayError) in
            if outage.down { throw .unavailable("the provider is down") }
        })
    }

    /// A request to book on a fresh Singapore listing, authorized and waiting for its host.
    func request(_ bookings: BookingService, _ services: RoostServices, _ clock: MovableClock) async throws -> BookingRecord {
        let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: false))
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        let booked = try await bookings.create(
            guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: nil, paymentMethod: "pm_card_visa"),
            rates: PricingRates()
        )
        #expect(booked.booking.status == .pending && booked.payment?.status == .authorized)
        return booked.booking
    }

    @Test func anAcceptWhoseCaptureGoesUnansweredLeavesTheRequestPendingAndCanBeRepeated() async throws {
        try await withServices { services, engine, clock in
            let outage = Outage()
            let bookings = outageBookings(services, engine, clock, outage)
            let booking = try await request(bookings, services, clock)

            outage.down = true
            await #expect {
                _ = try await bookings.accept(booking.id, by: host)
            } throws: { error in
                Problem.from(error)?.status == .serviceUnavailable
            }
            #expect(await bookings.booking(booking.id)?.status == .pending, "not canceled: the capture's outcome is unknown")
            #expect(await bookings.payment(booking.id)?.status == .authorized)

            outage.down = false
            let accepted = try await bookings.accept(booking.id, by: host)
            #expect(accepted.booking.status == .confirmed && accepted.payment?.status == .captured)
            let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)"))
            #expect(provider.status == .succeeded && provider.amountCaptured == booking.charge.total)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The provider captured, but its answer was lost: the host is told to try again, and
    /// reconciliation (or the host's retry) records the capture that did happen.
    @Test func aCaptureWhoseAnswerWasLostIsRecordedByReconciliation() async throws {
        try await withServices { services, engine, clock in
            let lossy = outageBookings(services, engine, clock, Outage(), lost: [.capture])
            let booking = try await request(lossy, services, clock)
            await #expect { _ = try await lossy.accept(booking.id, by: host) } throws: { Problem.from($0)?.status == .serviceUnavailable }
            #expect(await services.bookings.booking(booking.id)?.status == .pending)

            #expect(await services.bookings.reconcilePending() == 1)
            #expect(await services.bookings.booking(booking.id)?.status == .confirmed)
            #expect(await services.bookings.payment(booking.id)?.status == .captured)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The host's accept a moment before the deadline went unanswered but was taken; their retry
    /// after the deadline finds the capture and answers the confirmed booking, not `request_expired`.
    @Test func aRetriedAcceptPastTheDeadlineFindsTheCaptureThatWentThrough() async throws {
        try await withServices { services, engine, clock in
            let lossy = outageBookings(services, engine, clock, Outage(), lost: [.capture])
            let booking = try await request(lossy, services, clock)
            clock.advance(by: BookingService.hostHold - 60)
            await #expect { _ = try await lossy.accept(booking.id, by: host) } throws: { Problem.from($0)?.status == .serviceUnavailable }
            clock.advance(by: 120)
            let accepted = try await services.bookings.accept(booking.id, by: host)
            #expect(accepted.booking.status == .confirmed && accepted.payment?.status == .captured)
            #expect(await services.bookings.expireLapsedHolds() == 0)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// An instant booking left authorized at the provider alone (a crash before the ledger heard),
    /// whose capture the provider then does not answer: its hold still lapses, and the
    /// authorization is voided.
    @Test func aHoldLapsesWhenItsCaptureGoesUnanswered() async throws {
        try await withServices { services, engine, clock in
            let capturing = Outage()
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                if call == .capture, capturing.down { throw .unavailable("capture did not answer") }
            })
            let booking = try await ReconciliationTests.interrupted(at: .afterProviderAuthorize, instantBook: true, services: services, clock: clock)

            capturing.down = true
            clock.advance(by: BookingService.paymentHold)
            #expect(await bookings.expireLapsedHolds() == 1)
            #expect(await bookings.booking(booking.id)?.status == .canceled)
            #expect(await bookings.payment(booking.id)?.status == .voided)
            let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)"))
            #expect(provider.status == .canceled)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A request whose authorization the ledger never heard of (its answer lost) still holds its
    /// 15 minutes when its host accepts after them: the provider's authorization gives it the
    /// host's day, and the accept goes through rather than answering `request_expired`.
    @Test func anAcceptAfterTheShortHoldFindsTheAuthorizationTheLedgerMissed() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            // Authorized at the provider, the answer lost before the ledger heard of it.
            let booking = try await ReconciliationTests.interrupted(at: .afterProviderAuthorize, instantBook: false, services: services, clock: clock)

            clock.advance(by: BookingService.paymentHold + 60)
            let accepted = try await bookings.accept(booking.id, by: host)
            #expect(accepted.booking.status == .confirmed && accepted.payment?.status == .captured)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRequestPastItsHostsDayCannotBeAcceptedEvenBeforeTheSchedulerCancelsIt() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let booking = try await request(bookings, services, clock)
            clock.advance(by: BookingService.hostHold)
            await #expect {
                _ = try await bookings.accept(booking.id, by: host)
            } throws: { error in
                (error as? Problem).map { $0.status == .conflict && $0.code == "request_expired" } ?? false
            }
            #expect(await bookings.payment(booking.id)?.status == .authorized, "nothing was captured")

            #expect(await bookings.expireLapsedHolds() == 1)
            #expect(await bookings.booking(booking.id)?.status == .canceled)
            #expect(await bookings.payment(booking.id)?.status == .voided)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A guest cancels while the provider is down: the cancellation stands (the nights are free at
    /// once) and its refund is paid by the scheduler once the provider answers.
    @Test func aCancellationStandsWhenItsRefundCannotBeSentAndTheSchedulerSendsItLater() async throws {
        try await withServices { services, engine, clock in
            let outage = Outage()
            let bookings = outageBookings(services, engine, clock, outage)
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 10)..<today.advanced(by: 12), guests: 2, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let total = booked.booking.charge.total

            outage.down = true
            let canceled = try await bookings.cancel(booked.booking.id, by: guest, reason: "plans changed")
            #expect(canceled.booking.status == .canceled && canceled.booking.cancellation?.refund == total, "flexible, ten days ahead: in full")
            #expect(canceled.payment?.refundedCharged == 0, "not sent yet")

            #expect(await bookings.runDueTransitions() == (0, 0))
            #expect(await bookings.payment(booked.booking.id)?.refundedCharged == 0, "still down: retried after a backoff")

            outage.down = false
            clock.advance(by: BookingService.backoff(after: 0))
            _ = await bookings.runDueTransitions()
            #expect(await bookings.payment(booked.booking.id)?.refundedCharged == total)
            let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booked.booking.id)"))
            #expect(provider.amountRefunded == total)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A lapsed hold whose provider cannot be asked still lapses: the nights go back, and whatever
    /// the provider turns out to hold is given back once it answers.
    @Test func aHoldLapsesWhileTheProviderIsDownAndItsPaymentIsReleasedLater() async throws {
        try await withServices { services, engine, clock in
            let outage = Outage()
            let bookings = outageBookings(services, engine, clock, outage)
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            // Paying in the browser: held for 15 minutes while the guest confirms with the provider.
            let waiting = try await bookings.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 3)..<today.advanced(by: 5), guests: 1, currency: nil, paymentMethod: nil),
                rates: PricingRates()
            )
            #expect(waiting.booking.status == .pending && waiting.clientSecret != nil)

            outage.down = true
            clock.advance(by: BookingService.paymentHold)
            #expect(await bookings.expireLapsedHolds() == 1)
            #expect(await bookings.booking(waiting.booking.id)?.status == .canceled)
            #expect(await services.listings.listing(listing.id)?.calendar.isFree(today.advanced(by: 3)..<today.advanced(by: 5)) == true, "the nights are free again")

            outage.down = false
            clock.advance(by: BookingService.backoff(after: 0))
            _ = await bookings.runDueTransitions()
            let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(waiting.booking.id)"))
            #expect(provider.status == .canceled, "the payment the guest could still have confirmed is voided")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// What the ledger already settled is finished without the provider: a booking left pending
    /// after its capture was recorded is confirmed while the provider is down.
    @Test func reconciliationConfirmsACaptureTheLedgerRecordedWithoutAskingTheProvider() async throws {
        try await withServices { services, engine, clock in
            let outage = Outage()
            let bookings = outageBookings(services, engine, clock, outage)
            // The provider's capture and the ledger's record of it, then a crash before the booking was confirmed.
            let booking = try await ReconciliationTests.interrupted(at: .afterLedgerCapture, instantBook: false, services: services, clock: clock)

            outage.down = true
            #expect(await bookings.reconcilePending() == 1)
            #expect(await bookings.booking(booking.id)?.status == .confirmed)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// An instant booking whose charge the provider took (or, unless `taken`, never received) but never answered, with
    /// a provider whose lookup lags as Stripe's Search API does: it finds nothing while `hidden` is down, for up to an hour.
    func unansweredCharge(_ services: RoostServices, _ engine: Engine, _ clock: MovableClock, hidden: Outage, taken: Bool)
        async throws -> (BookingService, BookingRecord)
    {
        let lagging = ProxyGateway(
            inner: services.bookings.gateway, lost: taken ? [.charge] : [], lookupLag: .seconds(3_600), hidesLookups: { hidden.down }
        ) { call throws(GatewayError) in
            if call == .charge, !taken { throw .unavailable("the charge never reached the provider") }
        }
        let bookings = bookings(services, engine, clock, gateway: lagging)
        let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        await #expect(throws: Problem.self) {
            _ = try await bookings.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 7), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
        }
        let booking = try #require(services.listings.group.shard(for: listing.id).peek { $0.bookings.values.first })
        #expect(booking.status == .canceled)
        return (bookings, booking)
    }

    func isSettled(_ booking: BookingRecord, _ services: RoostServices) -> Bool {
        services.listings.group.shard(for: booking.listingID).peek { $0.settled.contains(booking.id) }
    }

    @Test func aChargeALaggingLookupDoesNotShowYetIsRefundedOnceItShows() async throws {
        try await withServices { services, engine, clock in
            let hidden = Outage()
            hidden.down = true
            let (bookings, booking) = try await unansweredCharge(services, engine, clock, hidden: hidden, taken: true)
            let sandbox = services.bookings.gateway
            let taken = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(booking.id)"))
            #expect(taken.amountCaptured == booking.charge.total && taken.amountRefunded == 0)

            // Within the lag the lookup finds nothing, and that is not taken as "no payment".
            await bookings.runDueTransitions()
            #expect(!isSettled(booking, services), "settled for good with the guest's money still taken")

            hidden.down = false
            clock.advance(by: 10 * 60)  // past the settlement's backoff
            await bookings.runDueTransitions()
            let after = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(booking.id)"))
            #expect(after.amountRefunded == after.amountCaptured, "given back in full")
            #expect(isSettled(booking, services))
        }
    }

    @Test func aLookupThatStillFindsNothingAfterTheLagIsFinal() async throws {
        try await withServices { services, engine, clock in
            let hidden = Outage()
            hidden.down = true
            let (bookings, booking) = try await unansweredCharge(services, engine, clock, hidden: hidden, taken: false)
            await bookings.runDueTransitions()
            #expect(!isSettled(booking, services))
            clock.advance(by: 2 * 3_600)
            await bookings.runDueTransitions()
            #expect(isSettled(booking, services), "nothing was taken, and after the lag the lookup's answer stands")
            #expect(try await services.bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)") == nil)
        }
    }
}
