import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostStorage
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// A booking made under an `Idempotency-Key` takes an id derived from the key, so a retry whose first answer was lost
/// (the answer is kept in a record after the booking's own: a crash can fall between them) finds that booking rather
/// than booking again and being told its own nights are taken.
@Suite struct KeyedBookingTests {
    let guest = "usr_guest", host = "usr_host"
    let scope = "usr_guest|key-1"

    func request(_ listing: ListingRecord, _ clock: MovableClock, from: Int = 5, nights: Int = 3, scope: String?) -> BookingService.Request {
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        return .init(
            listingID: listing.id, stay: today.advanced(by: from)..<today.advanced(by: from + nights), guests: 2, currency: nil,
            paymentMethod: "pm_card_visa", idempotencyScope: scope
        )
    }

    /// A booking service whose provider calls pass through a proxy that records the keys of the charges it is asked for.
    func recordingCharges(_ services: RoostServices, _ engine: Engine, _ clock: MovableClock) -> (BookingService, Keys) {
        let keys = Keys()
        let proxy = ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
            if call == .charge { keys.count() }
        }
        return (bookings(services, engine, clock, gateway: proxy), keys)
    }

    final class Keys: Sendable {
        private let charges = Mutex(0)
        func count() { charges.withLock { $0 += 1 } }
        var charged: Int { charges.withLock { $0 } }
    }

    /// What a first attempt under `scope` did before the process died: the hold under the key's id, then the charge at
    /// the provider under the booking's key (no ledger record).
    func firstAttemptsCharge(_ request: BookingService.Request, _ listing: ListingRecord, _ services: RoostServices, _ clock: MovableClock) async throws
        -> (BookingRecord, GatewayPayment)
    {
        guard case let .new(id) = services.bookings.keyedBookingID(scope, guestID: guest, request) else { throw Unexpected.keyInUse }
        let booking = BookingRecord(
            id: id, listingID: listing.id, guestID: guest, hostID: host, stay: request.stay, guests: request.guests,
            quote: PriceQuote.make(listing, stay: request.stay, rates: PricingRates()), policy: .flexible, instantBook: true,
            holdExpiresAt: AccountService.timestamp(clock.read().addingTimeInterval(BookingService.paymentHold)), createdAt: services.bookings.now
        )
        try await services.listings.execute(.hold(booking, today: ListingService.today(in: "Asia/Singapore", now: clock.read())), on: listing.id)
        let made = try await services.bookings.gateway.charge(amount: booking.charge.total, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:\(id)")
        return (booking, made)
    }

    enum Unexpected: Error { case keyInUse }

    /// The bookings `guest` holds on `listing`.
    func held(by guest: String, on listing: ListingRecord, _ services: RoostServices) -> [BookingRecord] {
        services.listings.group.shard(for: listing.id).peek { $0.bookings.values.filter { $0.guestID == guest && $0.listingID == listing.id } }
    }

    @Test func aRetryWhoseAnswerWasLostGetsTheBookingItsKeyMade() async throws {
        try await withServices { services, engine, clock in
            let (bookings, keys) = recordingCharges(services, engine, clock)
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let first = try await bookings.create(guestID: guest, request(listing, clock, scope: scope), rates: PricingRates())
            #expect(first.booking.status == .confirmed)
            // The first answer never reached the client (nor the idempotency store): the same request again.
            let again = try await bookings.create(guestID: guest, request(listing, clock, scope: scope), rates: PricingRates())
            #expect(again.booking.id == first.booking.id)
            #expect(again.booking.status == .confirmed && again.payment?.status == .captured)
            #expect(held(by: guest, on: listing, services).count == 1)
            #expect(keys.charged == 1, "the provider was asked for one charge")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRetryFinishesAPaymentItsFirstAttemptTookButNeverRecorded() async throws {
        try await withServices { services, engine, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            // The first attempt: held, charged at the provider, then the process died before the ledger's record.
            let request = request(listing, clock, scope: scope)
            let (booking, _) = try await firstAttemptsCharge(request, listing, services, clock)
            let id = booking.id

            let (bookings, keys) = recordingCharges(services, engine, clock)
            let retried = try await bookings.create(guestID: guest, request, rates: PricingRates())
            #expect(retried.booking.id == id)
            #expect(retried.booking.status == .confirmed && retried.payment?.status == .captured)
            #expect(keys.charged == 1, "asked once more, under the first attempt's key (which the provider replays)")
            let provider = try #require(try await services.bookings.gateway.payment(forIdempotencyKey: "auth:\(id)"))
            #expect(provider.amountCaptured == booking.charge.total)
            #expect(held(by: guest, on: listing, services).count == 1)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aKeyUsedForAnotherStayIsRefusedAndBooksNothing() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            _ = try await services.bookings.create(guestID: guest, request(listing, clock, scope: scope), rates: PricingRates())
            await #expect {
                _ = try await services.bookings.create(guestID: guest, request(listing, clock, from: 20, scope: scope), rates: PricingRates())
            } throws: { error in
                (error as? Problem)?.code == "idempotency_key_reused"
            }
            #expect(held(by: guest, on: listing, services).count == 1)
        }
    }

    @Test func aKeyUsedAgainAfterItsDayMakesANewBooking() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let first = try await services.bookings.create(guestID: guest, request(listing, clock, from: 30, scope: scope), rates: PricingRates())
            clock.advance(by: 25 * 3600)
            let later = try await services.bookings.create(guestID: guest, request(listing, clock, from: 40, scope: scope), rates: PricingRates())
            #expect(later.booking.id != first.booking.id)
            #expect(later.booking.status == .confirmed)
            // And that second use's retry finds the second booking, not the first.
            let retried = try await services.bookings.create(guestID: guest, request(listing, clock, from: 40, scope: scope), rates: PricingRates())
            #expect(retried.booking.id == later.booking.id)
        }
    }

    @Test func keysOfOtherUsersOrWithoutAKeyBookAsBefore() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let mine = try await services.bookings.create(guestID: guest, request(listing, clock, from: 5, scope: scope), rates: PricingRates())
            let theirs = try await services.bookings.create(guestID: "usr_other", request(listing, clock, from: 10, scope: "usr_other|key-1"), rates: PricingRates())
            let unkeyed = try await services.bookings.create(guestID: guest, request(listing, clock, from: 15, scope: nil), rates: PricingRates())
            #expect(Set([mine.booking.id, theirs.booking.id, unkeyed.booking.id]).count == 3)
            for booked in [mine, theirs, unkeyed] {
                #expect(services.listings.group.index(for: booked.booking.id) == services.listings.group.index(for: listing.id), "routed to the listing's shard")
            }
        }
    }

    @Test func aProviderThatDoesNotAnswerAfterTheHoldIsA502NamingTheCanceledBooking() async throws {
        try await withServices { services, engine, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let down = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { _ throws(GatewayError) in
                throw .unavailable("the provider is down")
            })
            let problem = await #expect(throws: Problem.self) {
                _ = try await down.create(guestID: guest, request(listing, clock, scope: scope), rates: PricingRates())
            }
            #expect(problem?.status == .badGateway && problem?.code == "payment_provider_error")
            let made = try #require(held(by: guest, on: listing, services).first)
            #expect(made.status == .canceled, "the booking was made and canceled: not the 503 that means nothing was done")
            #expect(problem?.detail.contains(made.id) == true)
        }
    }

    @Test func aPaymentTheEngineCannotRecordIsA503ThatSaysSoAndNamesTheBooking() async throws {
        let failing = FaultSwitch()
        var io = StorageIO.system
        io.fdatasync = { fd in failing.isOn ? { errno = EIO; return -1 }() : Glibc.fdatasync(fd) }
        try await withServices(io: io) { services, engine, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            // The provider charges; from then on the disk refuses the log's syncs.
            let failAfterCharge = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                if call == .charge { failing.turnOn() }
            })
            let problem = await #expect(throws: Problem.self) {
                _ = try await failAfterCharge.create(guestID: guest, request(listing, clock, scope: scope), rates: PricingRates())
            }
            let made = try #require(held(by: guest, on: listing, services).first)
            #expect(problem?.status == .serviceUnavailable)
            #expect(problem?.detail.contains("payment went through") == true && problem?.detail.contains(made.id) == true)
        }
    }

    @Test func aRetryFinishesABookingWhosePaymentWasRecordedButNotConfirmed() async throws {
        try await withServices { services, engine, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let request = request(listing, clock, scope: scope)
            // The first attempt: held, charged, recorded in the ledger; the confirmation never made.
            let (booking, made) = try await firstAttemptsCharge(request, listing, services, clock)
            let id = booking.id
            try await engine.group(Ledger.self).shard(for: id).execute(
                .charge(payment: id, currency: "SGD", amount: booking.charge.total, settlement: nil, reference: made.id), now: services.bookings.now
            )
            let retried = try await services.bookings.create(guestID: guest, request, rates: PricingRates())
            #expect(retried.booking.id == id && retried.booking.status == .confirmed && retried.payment?.status == .captured)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRetryWithAnotherPaymentMethodIsRefusedAndLeavesTheBookingAsItWas() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            let request = request(listing, clock, scope: scope)
            let (booking, _) = try await firstAttemptsCharge(request, listing, services, clock)
            // The same key and stay, another card: the provider refuses its key with other arguments.
            var other = request
            other.paymentMethod = "pm_card_mastercard"
            await #expect {
                _ = try await services.bookings.create(guestID: guest, other, rates: PricingRates())
            } throws: { error in
                (error as? Problem)?.code == "idempotency_key_reused"
            }
            #expect(await services.bookings.booking(booking.id)?.status == .pending, "not canceled: the first attempt's charge stands")
            let retried = try await services.bookings.create(guestID: guest, request, rates: PricingRates())
            #expect(retried.booking.id == booking.id && retried.booking.status == .confirmed)
        }
    }

    @Test func aRetryOfABookingWhosePaymentFailedIsThatFailureAgain() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
            var declined = request(listing, clock, scope: scope)
            declined.paymentMethod = "pm_card_chargeDeclined"
            let first = await #expect(throws: Problem.self) { _ = try await services.bookings.create(guestID: guest, declined, rates: PricingRates()) }
            #expect(first?.status.code == 402)
            let made = try #require(held(by: guest, on: listing, services).first)
            // Its answer lost: the retry is told the same, with the booking named, not a 201 for a canceled booking.
            let again = await #expect(throws: Problem.self) { _ = try await services.bookings.create(guestID: guest, declined, rates: PricingRates()) }
            #expect(again?.status.code == 402 && again?.detail.contains(made.id) == true)
            #expect(held(by: guest, on: listing, services).count == 1)
        }
    }

    @Test func derivedIdsAreStableAndFollowTheirSeed() {
        let accept = { (id: String) in id.hasSuffix("a") }
        let one = Identifiers.derived("bkg", from: Array("seed".utf8), where: accept)
        #expect(one == Identifiers.derived("bkg", from: Array("seed".utf8), where: accept))
        #expect(one != Identifiers.derived("bkg", from: Array("seed2".utf8), where: accept))
        #expect(one.hasPrefix("bkg_") && one.count == 20 && Identifiers.isValid(one) && accept(one))
        // A predicate no enumeration of the last two characters meets at first: the next digest's ids are tried.
        let rare = Identifiers.derived("bkg", from: Array("seed".utf8)) { $0.hasSuffix("zz") && $0.dropFirst(4).hasPrefix("a") }
        #expect(rare.dropFirst(4).hasPrefix("a") && rare.hasSuffix("zz"))
    }
}
