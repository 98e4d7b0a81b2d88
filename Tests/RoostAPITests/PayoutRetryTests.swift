import Foundation
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// Hosts are paid to the account they set; a payout that cannot be made is recorded (admins see
/// why and when it is tried again), retried with a backoff, and made once in the end.
@Suite struct PayoutRetryTests {
    /// Payouts refused (unavailable) while `down` is set, and counted.
    final class PayoutSwitch: Sendable {
        let down = Mutex(true)
        let calls = Mutex(0)
        func check(_ call: ProxyGateway.Call) throws(GatewayError) {
            guard call == .payout else { return }
            calls.withLock { $0 += 1 }
            if down.withLock({ $0 }) { throw .unavailable("payouts are down") }
        }
    }

    @Test func aPayoutWaitsForTheAccountThenBacksOffUntilTheProviderTakesIt() async throws {
        try await withServices { services, engine, clock in
            let flaky = PayoutSwitch()
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in try flaky.check(call) })
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 2)..<today.advanced(by: 4), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let id = booked.booking.id
            let checkIn = try BookingService.checkInInstant(booked.booking, timeZone: "Asia/Singapore")
            clock.move(to: Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch + 86_400_000))

            // No account yet: recorded, not sent, and the money stays held (a refund can still reach it).
            #expect(await bookings.runDueTransitions().paidOut == 0)
            var payment = try #require(await bookings.payment(id))
            #expect(!payment.released && !payment.paidOut && payment.payoutAttempts == 1 && payment.payoutError == BookingService.noPayoutAccount)
            #expect(flaky.calls.withLock { $0 } == 0)
            #expect(PaymentJSON(payment).payout.status == "failed" && PaymentJSON(payment).payout.nextAttemptAt == nil, "it waits for the account, not a time")
            // Recorded once: later runs look, and write nothing while there is still no account.
            clock.advance(by: 3600)
            #expect(await bookings.runDueTransitions().paidOut == 0)
            payment = try #require(await bookings.payment(id))
            #expect(payment.payoutAttempts == 1)

            // The account is set: the next run tries at once; the provider is down, so it backs off:
            // a minute doubled per failed attempt so far (this is the second), then doubled again.
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_h0st")
            #expect(await bookings.runDueTransitions().paidOut == 0)
            payment = try #require(await bookings.payment(id))
            #expect(payment.payoutAttempts == 2 && payment.payoutError.contains("payouts are down"))
            #expect(payment.payoutRetryAt.millisecondsSinceEpoch == AccountService.timestamp(clock.read()).millisecondsSinceEpoch + 120_000)
            clock.advance(by: 119)
            #expect(await bookings.runDueTransitions().paidOut == 0)
            #expect(flaky.calls.withLock { $0 } == 1, "not before the backoff is over")
            clock.advance(by: 1)
            #expect(await bookings.runDueTransitions().paidOut == 0)
            #expect(try #require(await bookings.payment(id)).payoutRetryAt.millisecondsSinceEpoch == AccountService.timestamp(clock.read()).millisecondsSinceEpoch + 240_000)

            // The host changes account meanwhile: the retries still go where the first attempt went.
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_newer")
            flaky.down.withLock { $0 = false }
            clock.advance(by: 240)
            #expect(await bookings.runDueTransitions().paidOut == 1)
            #expect(await bookings.runDueTransitions().paidOut == 0, "once")
            payment = try #require(await bookings.payment(id))
            #expect(payment.paidOut && PaymentJSON(payment).payout.status == "paid" && PaymentJSON(payment).payout.lastError == nil)
            let sandbox = try #require(services.bookings.gateway as? SandboxGateway)
            #expect(await sandbox.allPayouts.map(\.destination) == ["acct_h0st"])
            #expect(await ledgerViolations(engine) == [])
            #expect(BookingService.backoff(after: 30) == 6 * 3600, "at most six hours")
        }
    }

    /// The provider refuses the payout to a closed account outright: nothing was paid under that
    /// key, so once the host sets a working account the next attempt is a new payout (a new key)
    /// to it, and the host is paid once. A refusal after an unanswered attempt does not move the
    /// key: that attempt may have gone through.
    @Test func aRefusedPayoutGoesToTheAccountTheHostFixesAndAnUnansweredOneStaysPut() async throws {
        try await withServices { services, engine, clock in
            let sandbox = try #require(services.bookings.gateway as? SandboxGateway)
            let provider = PayoutProbe(inner: sandbox, closed: ["acct_closed"])
            let bookings = bookings(services, engine, clock, gateway: provider)
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            var ids: [String] = []
            for offset in [2, 5] {
                let booked = try await bookings.create(
                    guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: offset)..<today.advanced(by: offset + 2), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                    rates: PricingRates()
                )
                ids.append(booked.booking.id)
            }
            let (refused, pinned) = (ids[0], ids[1])
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_closed")

            // The first stay's payout is refused: its next key is new and it is pinned nowhere.
            let firstCheckIn = try BookingService.checkInInstant(try #require(await bookings.booking(refused)), timeZone: "Asia/Singapore")
            clock.move(to: Timestamp(millisecondsSinceEpoch: firstCheckIn.millisecondsSinceEpoch + 86_400_000))
            #expect(await bookings.runDueTransitions().paidOut == 0)
            var payment = try #require(await bookings.payment(refused))
            #expect(payment.payoutRefusals == 1 && payment.payoutDestination == "" && payment.payoutKey == "payout:\(refused):1")
            #expect(payment.payoutError.contains("account closed"))

            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_open")
            clock.advance(by: BookingService.backoff(after: 0))
            #expect(await bookings.runDueTransitions().paidOut == 1)
            payment = try #require(await bookings.payment(refused))
            #expect(payment.paidOut)
            #expect(await sandbox.allPayouts.map(\.destination) == ["acct_open"], "paid once, to the account that works")
            #expect(provider.keys.withLock { $0 } == ["payout:\(refused)", "payout:\(refused):1"])

            // The second stay: its first attempt goes unanswered (the provider may have paid), then the
            // account is closed and the provider refuses the retry: key and destination stay.
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_flaky")
            provider.answerLost.withLock { $0 = true }
            let secondCheckIn = try BookingService.checkInInstant(try #require(await bookings.booking(pinned)), timeZone: "Asia/Singapore")
            clock.move(to: Timestamp(millisecondsSinceEpoch: secondCheckIn.millisecondsSinceEpoch + 86_400_000))
            #expect(await bookings.runDueTransitions().paidOut == 0)
            provider.answerLost.withLock { $0 = false }
            provider.closed.withLock { _ = $0.insert("acct_flaky") }
            clock.advance(by: BookingService.backoff(after: 1))
            #expect(await bookings.runDueTransitions().paidOut == 0)
            payment = try #require(await bookings.payment(pinned))
            #expect(payment.payoutRefusals == 0 && payment.payoutDestination == "acct_flaky" && payment.payoutKey == "payout:\(pinned)")
            #expect(payment.payoutAttempts == 2)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The sandbox, with payouts to `closed` accounts refused (`.invalidState`, as a provider
    /// refuses a closed account) and, while `answerLost`, payouts made but answered `.unavailable`.
    final class PayoutProbe: PaymentGateway {
        let inner: SandboxGateway
        let closed: Mutex<Set<String>>
        let answerLost = Mutex(false)
        /// The idempotency key of every payout call, in order.
        let keys = Mutex<[String]>([])

        init(inner: SandboxGateway, closed: Set<String>) {
            self.inner = inner
            self.closed = Mutex(closed)
        }

        func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
            keys.withLock { $0.append(idempotencyKey) }
            if closed.withLock({ $0.contains(destination) }) { throw .invalidState("account closed: \(destination)") }
            let made = try await inner.payout(amount: amount, currency: currency, destination: destination, idempotencyKey: idempotencyKey)
            if answerLost.withLock({ $0 }) { throw .unavailable("the answer was lost") }
            return made
        }
        func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
            try await inner.authorize(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey)
        }
        func charge(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
            try await inner.charge(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey)
        }
        func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
            try await inner.capture(payment, amount: amount, idempotencyKey: idempotencyKey)
        }
        func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
            try await inner.void(payment, idempotencyKey: idempotencyKey)
        }
        func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
            try await inner.refund(payment, amount: amount, idempotencyKey: idempotencyKey)
        }
        func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment? {
            try await inner.payment(forIdempotencyKey: key)
        }
    }

    /// A canceled booking whose refund the provider refuses is tried again by the scheduler after the
    /// same backoff as a payout (a minute, then two, …), not on every run, and refunded once in the end.
    @Test func aFailedCancellationRefundBacksOffUntilTheProviderTakesIt() async throws {
        try await withServices { services, engine, clock in
            let down = Mutex(true), refunds = Mutex(0)
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                guard call == .refund else { return }
                refunds.withLock { $0 += 1 }
                if down.withLock({ $0 }) { throw .unavailable("refunds are down") }
            })
            let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 9)..<today.advanced(by: 11), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let id = booked.booking.id, total = booked.booking.charge.total
            try await bookings.cancel(booked.booking, by: .host, reason: "pipes burst", refund: total)  // stands; its refund is retried
            #expect(refunds.withLock { $0 } == 1)
            #expect(await bookings.booking(id)?.status == .canceled)

            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 2, "the scheduler tries at once")
            clock.advance(by: 59)
            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 2, "not before the minute is over")
            clock.advance(by: 1)
            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 3)
            clock.advance(by: 119)
            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 3, "then two minutes")
            down.withLock { $0 = false }
            clock.advance(by: 1)
            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 4)
            #expect(try #require(await bookings.payment(id)).refundedCharged == total)
            clock.advance(by: 3600)
            _ = await bookings.runDueTransitions()
            #expect(refunds.withLock { $0 } == 4, "refunded once")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The scan for due transitions passes over stays not yet due in any zone by their dates alone
    /// (against the day at UTC+14). At Kiritimati, UTC+14, a one-night stay's check-out at 11:00 is
    /// 21:00 UTC the evening before: it completes then, not a UTC day later.
    @Test func aStayAtTheFarthestZoneCompletesAtItsOwnCheckOut() async throws {
        try await withServices { services, engine, clock in
            let bookings = bookings(services, engine, clock, gateway: services.bookings.gateway)
            var details = singaporeLoft(instantBook: true)
            details.location.timeZone = "Pacific/Kiritimati"
            let listing = try await services.listings.create(hostID: "usr_host", details: details)
            let today = ListingService.today(in: "Pacific/Kiritimati", now: clock.read())
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 1)..<today.advanced(by: 2), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let checkOut = try BookingService.instant(booked.booking.stay.upperBound, hour: 11, timeZone: "Pacific/Kiritimati")
            clock.move(to: Timestamp(millisecondsSinceEpoch: checkOut.millisecondsSinceEpoch - 1_000))
            #expect(await bookings.runDueTransitions().completed == 0, "not before check-out")
            clock.move(to: Timestamp(millisecondsSinceEpoch: checkOut.millisecondsSinceEpoch + 1_000))
            #expect(ListingService.today(in: "UTC", now: clock.read()) < booked.booking.stay.upperBound, "still the day before in UTC")
            #expect(await bookings.runDueTransitions().completed == 1)
            #expect(try #require(await bookings.booking(booked.booking.id)).status == .completed)
        }
    }
}
