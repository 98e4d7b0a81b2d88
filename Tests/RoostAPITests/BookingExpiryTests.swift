import Foundation
import RoostDomain
import RoostEngine
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// Time moves in these tests (the services' clock is injected): holds lapse exactly when they
/// should, and lapsing releases the nights and voids the authorization.
@Suite struct BookingExpiryTests {
    @Test func aRequestTheHostLeavesLapsesAfterADayAndReleasesEverything() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let request = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: false))
            let instant = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 10)..<today.advanced(by: 13)
            let rates = PricingRates()
            let waiting = try await bookings.create(guestID: "usr_guest", .init(listingID: request.id, stay: stay, guests: 2, currency: nil, paymentMethod: "pm_card_visa"), rates: rates)
            let confirmed = try await bookings.create(guestID: "usr_guest", .init(listingID: instant.id, stay: stay, guests: 2, currency: nil, paymentMethod: "pm_card_visa"), rates: rates)
            #expect(waiting.booking.status == .pending && waiting.payment?.status == .authorized)
            #expect(confirmed.booking.status == .confirmed && confirmed.payment?.status == .captured)

            clock.advance(by: 24 * 3600 - 1)
            #expect(await bookings.expireLapsedHolds() == 0, "a second before the day is up")
            clock.advance(by: 1)
            #expect(await bookings.expireLapsedHolds() == 1)
            #expect(await bookings.expireLapsedHolds() == 0, "once")

            let lapsed = try #require(await bookings.booking(waiting.booking.id))
            #expect(lapsed.status == .canceled && lapsed.cancellation?.by == .system && lapsed.cancellation?.reason == "hold expired")
            #expect(await bookings.payment(waiting.booking.id)?.status == .voided)
            #expect(await services.listings.listing(request.id)?.calendar.isFree(stay) == true)
            #expect(await bookings.booking(confirmed.booking.id)?.status == .confirmed, "a confirmed stay never lapses")
            for shard in engine.group(Ledger.self).shards { #expect(Ledger.violations(in: shard.peek { $0 }) == []) }
        }
    }

    /// A confirmed stay completes after check-out (11:00) and its host is paid 24 hours after
    /// check-in (15:00), once, with the ledger's invariants holding throughout.
    @Test func staysCompleteAndHostsArePaidOnceOnTime() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 3)..<today.advanced(by: 6)
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: stay, guests: 2, currency: nil, paymentMethod: "pm_card_visa"), rates: PricingRates()
            )
            let checkIn = try BookingService.checkInInstant(booked.booking, timeZone: "Asia/Singapore")
            func moveTo(_ instant: Timestamp) { clock.advance(by: Double(instant.millisecondsSinceEpoch - AccountService.timestamp(clock.read()).millisecondsSinceEpoch) / 1000) }

            moveTo(Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch + 86_400_000 - 1_000))
            #expect(await bookings.runDueTransitions() == (0, 0), "a second before the day after check-in")
            moveTo(Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch + 86_400_000))
            #expect(await bookings.runDueTransitions() == (0, 1))
            #expect(await bookings.runDueTransitions() == (0, 0), "paid once")
            let quote = booked.booking.quote
            let paid = await bookings.payouts(host: "usr_host")
            #expect(paid.map(\.debits) == [quote.hostPayout])

            await #expect(throws: Problem.self, "a stay whose host was paid is not canceled with a refund") {
                try await bookings.cancel(booked.booking.id, by: Principal(userID: "usr_host", role: .host, sessionID: "s"), reason: "")
            }

            let checkOut = try BookingService.instant(stay.upperBound, hour: 11, timeZone: "Asia/Singapore")
            moveTo(Timestamp(millisecondsSinceEpoch: checkOut.millisecondsSinceEpoch - 1_000))
            #expect(await bookings.runDueTransitions() == (0, 0))
            #expect(!bookings.finished.withLock { $0.contains(booked.booking.id) }, "paid, not yet completed")
            moveTo(checkOut)
            #expect(await bookings.runDueTransitions() == (1, 0))
            #expect(await bookings.booking(booked.booking.id)?.status == .completed)
            #expect(bookings.finished.withLock { $0.contains(booked.booking.id) }, "completed and paid: later scans skip it")
            let ledger = engine.group(Ledger.self).shard(for: booked.booking.id).peek { $0 }
            #expect(Ledger.violations(in: ledger) == [])
            #expect(ledger.balance(.platformRevenue, "SGD") == -(quote.serviceFee + quote.hostFee))
            #expect(ledger.balance(.taxesPayable, "SGD") == -quote.taxes)
            #expect(ledger.balance(.guestFundsHeld, "SGD") == 0 && ledger.balance(.hostPayable(host: "usr_host"), "SGD") == 0)
        }
    }

    /// A guest paying in yen for a stay priced in Singapore dollars cancels under the strict
    /// policy with half back: the provider refunds yen, the ledger the same share of the dollars;
    /// the half the policy kept is released and paid to the host 24 hours after the stay's
    /// check-in, as a stay is (an admin can still give it back until then).
    @Test func aConvertedCancellationRefundsItsShareAndThePolicysShareIsPaidOut() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true, policy: .strict))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 10)..<today.advanced(by: 12)
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: stay, guests: 2, currency: "JPY", paymentMethod: "pm_card_visa"), rates: PricingRates(taxBasisPoints: 900)
            )
            #expect(booked.booking.charge.currency == "JPY" && booked.booking.quote.currency == "SGD")
            let canceled = try await bookings.cancel(booked.booking.id, by: Principal(userID: "usr_guest", role: .guest, sessionID: "s"), reason: "")
            let refund = try #require(canceled.booking.cancellation?.refund)
            #expect(refund == Money.percentage(booked.booking.charge.total, basisPoints: 5_000), "strict, 10 days ahead: half")
            let payment = try #require(await bookings.payment(booked.booking.id))
            #expect(payment.refunded == Money.proportion(booked.booking.quote.total, refund, of: booked.booking.charge.total))
            #expect(abs(payment.refunded * 2 - booked.booking.quote.total) <= 1, "half of the dollars too")
            #expect(await bookings.runDueTransitions() == (0, 0), "the kept half waits for the stay's payout day, as a stay's would")
            #expect(await bookings.payment(booked.booking.id)?.paidOut == false)
            #expect(bookings.waitingForPayoutDay.withLock { $0 == [booked.booking.id] }, "later scans pass it over until its day")
            clock.advance(by: 12 * 86_400)  // past check-in (day 10, 15:00) and the 24 hours after it
            #expect(await bookings.runDueTransitions() == (0, 1), "the kept half goes to the host")
            #expect(bookings.waitingForPayoutDay.withLock { $0.isEmpty })
            #expect(await bookings.runDueTransitions() == (0, 0))
            let ledger = engine.group(Ledger.self).shard(for: booked.booking.id).peek { $0 }
            #expect(Ledger.violations(in: ledger) == [])
            #expect(ledger.balance(.guestFundsHeld, "SGD") == 0)
        }
    }
}
