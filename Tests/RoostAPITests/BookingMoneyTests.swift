import Foundation
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// The money steps of one booking never interleave: a host accepting while the guest cancels, an
/// admin refunding while the scheduler pays the host. Whatever the order, the booking, the ledger
/// and the provider agree, and the ledger's invariants hold.
@Suite struct BookingMoneyTests {
    let guest = Principal(userID: "usr_guest", role: .guest, sessionID: "s")
    let host = Principal(userID: "usr_host", role: .host, sessionID: "s")

    /// The services' bookings over the sandbox answering after a random pause of up to 3 ms: the
    /// gaps a real provider leaves between a booking's steps, where another request's could slip in.
    func slowBookings(_ services: RoostServices, _ engine: Engine, _ clock: MovableClock) -> BookingService {
        bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { _ in
            try? await Task.sleep(for: .microseconds(Int.random(in: 0...3_000)))
        })
    }

    /// Who is inside a `SerialByKey` body, per key, and in what order bodies finished.
    final class Occupancy: Sendable {
        private let state = Mutex<(inside: [String: Int], finished: [String], overlaps: Int)>(([:], [], 0))
        func enter(_ key: String) { state.withLock { $0.inside[key, default: 0] += 1; if $0.inside[key]! > 1 { $0.overlaps += 1 } } }
        func leave(_ key: String) { state.withLock { $0.inside[key]! -= 1; $0.finished.append(key) } }
        var finished: Int { state.withLock { $0.finished.count } }
        var overlaps: Int { state.withLock { $0.overlaps } }
    }

    @Test func serialByKeyRunsOneAtATimePerKey() async throws {
        let serial = SerialByKey()
        let occupancy = Occupancy()
        await withThrowingTaskGroup(of: Void.self) { tasks in
            for index in 0..<40 {
                let key = "k\(index % 3)"
                tasks.addTask {
                    try await serial.run(key) {
                        occupancy.enter(key)
                        await Task.yield()
                        occupancy.leave(key)
                        if index % 7 == 0 { throw CancellationError() }
                    }
                }
            }
            while let result = await tasks.nextResult() { _ = result }
        }
        #expect(occupancy.finished == 40 && occupancy.overlaps == 0, "never two bodies with one key at once")
        #expect(await serial.pending == 0, "every key released, failures too")
    }

    /// Twenty requests to book, each accepted by the host while its guest cancels it.
    @Test func anAcceptRacingACancelLeavesOneConsistentOutcome() async throws {
        try await withServices { services, engine, clock in
            let bookings = slowBookings(services, engine, clock)
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: false))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            for round in 0..<20 {
                let stay = today.advanced(by: 10 + 2 * round)..<today.advanced(by: 11 + 2 * round)
                let booked = try await bookings.create(
                    guestID: guest.userID, .init(listingID: listing.id, stay: stay, guests: 1, currency: nil, paymentMethod: "pm_card_visa"), rates: PricingRates()
                )
                async let accepted = try? bookings.accept(booked.booking.id, by: host)
                async let canceled = try? bookings.cancel(booked.booking.id, by: guest, reason: "race")
                _ = await (accepted, canceled)
                let booking = try #require(await bookings.booking(booked.booking.id))
                let payment = try #require(await bookings.payment(booked.booking.id))
                let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)"))
                switch booking.status {
                case .confirmed:
                    #expect(payment.status == .captured && payment.refundedCharged == 0 && provider.status == .succeeded)
                case .canceled where payment.status == .voided:
                    #expect(provider.status == .canceled, "voided in the ledger, voided at the provider")
                case .canceled:
                    // Accepted first, then canceled 10+ days ahead: flexible refunds everything.
                    #expect(payment.status == .captured && payment.refundedCharged == booking.charge.total)
                    #expect(provider.amountRefunded == payment.refundedCharged)
                default:
                    Issue.record("round \(round): \(booking.status)")
                }
            }
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// At payout time an admin refunds everything while the scheduler pays the host: either the
    /// refund comes first (nothing is paid out) or the payout does (the refund is refused, 409).
    @Test func anAdminRefundRacingThePayoutNeverPaysTwice() async throws {
        try await withServices { services, engine, clock in
            let bookings = slowBookings(services, engine, clock)
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            var ids: [String] = []
            for round in 0..<12 {
                let stay = today.advanced(by: 2 + 2 * round)..<today.advanced(by: 3 + 2 * round)
                ids.append(try await bookings.create(
                    guestID: guest.userID, .init(listingID: listing.id, stay: stay, guests: 1, currency: nil, paymentMethod: "pm_card_visa"), rates: PricingRates()
                ).booking.id)
            }
            clock.advance(by: 60 * 86_400)
            var refunded = 0, paid = 0
            await withTaskGroup(of: Bool.self) { tasks in
                for id in ids {
                    tasks.addTask { (try? await bookings.adminRefund(payment: PaymentJSON.id(ofBooking: id), amount: nil, admin: "usr_admin", key: nil)) != nil }
                }
                tasks.addTask { await bookings.runDueTransitions().paidOut > 0 && false }
                for await made in tasks where made { refunded += 1 }
            }
            for id in ids {
                let payment = try #require(await bookings.payment(id))
                let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(id)"))
                #expect(provider.amountRefunded == payment.refundedCharged, "the provider and the ledger agree on refunds")
                #expect(payment.paidOut != (payment.refundedCharged == payment.amount), "paid out, or refunded in full: exactly one")
                if payment.paidOut { paid += 1 }
            }
            #expect(refunded + paid == ids.count)
            #expect(await bookings.runDueTransitions() == (0, 0), "nothing left to pay")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A cancellation's refund reaches the provider but its answer is lost, so the ledger never
    /// hears of it; an admin then refunds what the ledger thinks is left. The cancellation's refund
    /// is finished first: the admin's refund is the true rest, and ledger and provider agree.
    @Test func anAdminRefundFinishesACancellationsLostRefundFirst() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let total = booked.booking.charge.total, half = total / 2
            let lossy = RoostAPITests.bookings(services, engine, clock, gateway: ProxyGateway(inner: bookings.gateway, lost: [.refund]) { _ in })
            try await lossy.cancel(booked.booking, by: .admin, reason: "goodwill", refund: half)
            #expect(await bookings.booking(booked.booking.id)?.status == .canceled, "canceled, though its refund's answer was lost")
            #expect(await bookings.payment(booked.booking.id)?.refundedCharged == 0, "the ledger never heard of it")

            let after = try await bookings.adminRefund(payment: PaymentJSON.id(ofBooking: booked.booking.id), amount: nil, admin: "usr_admin", key: nil)
            #expect(after.refundedCharged == total && after.refunded == after.settlementAmount)
            let provider = try #require(try await bookings.gateway.payment(forIdempotencyKey: "auth:\(booked.booking.id)"))
            #expect(provider.amountRefunded == total)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// The ledger's decision on a refund is worked out before the provider is asked: a refund it
    /// would refuse (more than is left) is never sent, and one it has already recorded is not sent again.
    @Test func aRefundTheLedgerWouldRefuseNeverReachesTheProvider() async throws {
        try await withServices { services, engine, clock in
            let refundsSent = Mutex(0)
            let counted = RoostAPITests.bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call in
                if case .refund = call { refundsSent.withLock { $0 += 1 } }
            })
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await counted.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: "JPY", paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let payment = try #require(await counted.payment(booked.booking.id))
            await #expect {
                try await counted.refund(payment.amount + 1, of: payment, as: "too_much")
            } throws: { error in
                (error as? Ledger.Rejection) == .insufficientFunds(available: payment.amount) && Problem.from(error)?.code == "payment_conflict"
            }
            #expect(refundsSent.withLock { $0 } == 0)
            let provider = try #require(try await services.bookings.gateway.payment(forIdempotencyKey: "auth:\(booked.booking.id)"))
            #expect(provider.amountRefunded == 0)

            try await counted.refund(1, of: payment, as: "a_yen")
            try await counted.refund(1, of: payment, as: "a_yen")
            #expect(refundsSent.withLock { $0 } == 1, "recorded already: not sent again")
            let after = try #require(await counted.payment(booked.booking.id))
            #expect(after.refundedCharged == 1 && after.refunded == Money.proportion(after.settlementAmount, 1, of: after.amount))
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// A guest paying in yen: an admin refunds a third, then the rest; the ledger's dollars follow
    /// (a share, then exactly what is left), and nothing is left to pay out.
    @Test func convertedAdminRefundsTakeTheirShareThenTheRest() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            _ = try await bookings.setPayoutAccount(host: "usr_host", account: "acct_host1")
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: guest.userID, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: "JPY", paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let id = PaymentJSON.id(ofBooking: booked.booking.id)
            let third = booked.booking.charge.total / 3
            let first = try await bookings.adminRefund(payment: id, amount: third, admin: "usr_admin", key: "k1")
            #expect(first.refundedCharged == third)
            #expect(first.refunded == Money.proportion(first.settlementAmount, third, of: first.amount))
            #expect(try await bookings.adminRefund(payment: id, amount: third, admin: "usr_admin", key: "k1") == first, "the same key, the same refund")
            await #expect(throws: Problem.self) { try await bookings.adminRefund(payment: id, amount: first.amount, admin: "usr_admin", key: "k2") }
            let all = try await bookings.adminRefund(payment: id, amount: nil, admin: "usr_admin", key: nil)
            #expect(all.refundedCharged == all.amount && all.refunded == all.settlementAmount)
            clock.advance(by: 30 * 86_400)
            #expect(await bookings.runDueTransitions() == (1, 0), "completed, with nothing to pay out")
            #expect(await ledgerViolations(engine) == [])
        }
    }
}
