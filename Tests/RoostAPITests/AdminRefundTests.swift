import Foundation
import HTTPTypes
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// An admin's refund is recorded as owed before the provider is asked, so neither a crash nor a provider that does
/// not answer between the two can leave money given back that the ledger does not know of (the host would be paid it
/// too) or owed money that is never sent.
@Suite struct AdminRefundTests {
    let guest = "usr_guest", host = "usr_host", admin = "usr_admin"

    /// A confirmed instant booking (3 nights from 5 days ahead), its host with a payout account.
    func confirmed(_ bookings: BookingService, _ services: RoostServices, _ clock: MovableClock) async throws -> BookingRecord {
        _ = try await bookings.setPayoutAccount(host: host, account: "acct_host1")
        let listing = try await services.listings.create(hostID: host, details: singaporeLoft(instantBook: true))
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        let booked = try await bookings.create(
            guestID: guest, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: nil, paymentMethod: "pm_card_visa"),
            rates: PricingRates()
        )
        #expect(booked.booking.status == .confirmed)
        return booked.booking
    }

    /// What the provider gave back of the booking's payment.
    func refundedAtProvider(_ booking: BookingRecord, _ services: RoostServices) async throws -> Int64 {
        try #require(try await services.bookings.gateway.payment(forIdempotencyKey: "auth:\(booking.id)")).amountRefunded
    }

    @Test func aRefundTheProviderMadeJustBeforeACrashIsRecordedBeforeTheHostIsPaid() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let booking = try await confirmed(bookings, services, clock)
            let shard = engine.group(Ledger.self).shard(for: booking.id)
            let payment = try #require(await bookings.payment(booking.id))
            // `adminRefund`'s steps up to the crash: the refund recorded as owed, then made at the provider; not its record.
            try await shard.execute(.requestRefund(payment: booking.id, refund: "rfd_x", charged: 5_000), now: bookings.now)
            _ = try await bookings.gateway.refund(payment.reference, amount: 5_000, idempotencyKey: "refund:\(booking.id):rfd_x")

            clock.advance(by: 7 * 86_400)  // past check-in and a day: the payout is due
            _ = await bookings.runDueTransitions()
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.refundedCharged == 5_000 && after.requestedRefunds.isEmpty, "the owed refund recorded")
            #expect(try await refundedAtProvider(booking, services) == 5_000, "made once")
            #expect(after.paidOut)
            let earned = shard.peek { $0.transfers["rel:\(booking.id)"]?.lines.first { $0.account == .hostPayable(host: host) }.map { -$0.amount } ?? 0 }
            let fees = booking.quote.serviceFee + booking.quote.hostFee + booking.quote.taxes
            #expect(earned == booking.charge.total - 5_000 - fees, "the host is paid what is left after the refund")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRefundTheProviderDoesNotAnswerStaysOwedAndIsSentLater() async throws {
        try await withServices { services, engine, clock in
            let down = ProviderTroubleTests.Outage()
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                if call == .refund, down.down { throw .unavailable("refunds are down") }
            })
            let booking = try await confirmed(bookings, services, clock)
            let paymentID = PaymentJSON.id(ofBooking: booking.id)
            down.down = true
            let problem = await #expect(throws: Problem.self) {
                _ = try await bookings.adminRefund(payment: paymentID, amount: 4_000, admin: admin, key: "k1")
            }
            #expect(problem?.status == .badGateway, "kept: the refund is owed, not undone")
            #expect(await bookings.payment(booking.id)?.requestedRefunds.values.first?.charged == 4_000)
            // Another refund waits for the owed one: nothing more is worked out from the payment until it is made.
            await #expect {
                _ = try await bookings.adminRefund(payment: paymentID, amount: 1_000, admin: admin, key: "k2")
            } throws: { error in
                Problem.from(error)?.status == .serviceUnavailable
            }
            #expect(await bookings.payment(booking.id)?.requestedRefunds.count == 1)

            _ = await bookings.runDueTransitions()  // still down: tried, and put off for a minute
            down.down = false
            _ = await bookings.runDueTransitions()
            #expect(await bookings.payment(booking.id)?.requestedRefunds.isEmpty == false, "waiting out its backoff")
            clock.advance(by: 2 * 60)
            _ = await bookings.runDueTransitions()  // long before check-in: only the owed refund is due
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.refundedCharged == 4_000 && after.requestedRefunds.isEmpty)
            #expect(try await refundedAtProvider(booking, services) == 4_000)
            // What is left to refund counts it.
            await #expect {
                _ = try await bookings.adminRefund(payment: paymentID, amount: booking.charge.total - 3_999, admin: admin, key: "k3")
            } throws: { error in
                (error as? Problem)?.status == .unprocessableContent
            }
            // The admin's retry with the key finds it made.
            let again = try await bookings.adminRefund(payment: paymentID, amount: 4_000, admin: admin, key: "k1")
            #expect(again.refundedCharged == 4_000)
            #expect(try await refundedAtProvider(booking, services) == 4_000)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRefundTheProviderRefusesIsWithdrawn() async throws {
        try await withServices { services, engine, clock in
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                if call == .refund { throw .invalidState("this charge cannot be refunded") }
            })
            let booking = try await confirmed(bookings, services, clock)
            await #expect {
                _ = try await bookings.adminRefund(payment: PaymentJSON.id(ofBooking: booking.id), amount: 4_000, admin: admin, key: "k1")
            } throws: { error in
                Problem.from(error)?.code == "payment_provider_error"
            }
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.requestedRefunds.isEmpty && after.refundedCharged == 0, "nothing was sent, nothing is owed")
            #expect(engine.group(Ledger.self).shard(for: booking.id).peek { $0.requestingRefunds.isEmpty })
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// An owed refund older than the provider keeps keys, with `madeAtProvider` of it already refunded there: what the
    /// scheduler does with it, and how many refunds it asked the provider for.
    func oldOwedRefund(madeAtProvider: Int64, _ services: RoostServices, _ engine: Engine, _ clock: MovableClock) async throws
        -> (BookingService, BookingRecord, sent: Int)
    {
        let sent = Shared(0)
        let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
            if call == .refund { sent { $0 += 1 } }
        })
        let booking = try await confirmed(bookings, services, clock)
        let payment = try #require(await bookings.payment(booking.id))
        try await engine.group(Ledger.self).shard(for: booking.id).execute(.requestRefund(payment: booking.id, refund: "rfd_x", charged: 5_000), now: bookings.now)
        if madeAtProvider > 0 {
            _ = try await services.bookings.gateway.refund(payment.reference, amount: madeAtProvider, idempotencyKey: "refund:\(booking.id):rfd_x")
        }
        clock.advance(by: 7 * 86_400)  // the provider may have forgotten the key by now, and the payout is due
        _ = await bookings.runDueTransitions()
        return (bookings, booking, sent { $0 })
    }

    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func callAsFunction<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
    }

    @Test func anOldOwedRefundTheProviderMadeIsRecordedWithoutSendingIt() async throws {
        try await withServices { services, engine, clock in
            let (bookings, booking, sent) = try await oldOwedRefund(madeAtProvider: 5_000, services, engine, clock)
            #expect(sent == 0, "not sent again under a key the provider may have forgotten")
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.refundedCharged == 5_000 && after.requestedRefunds.isEmpty)
            #expect(try await refundedAtProvider(booking, services) == 5_000)
            #expect(after.paidOut, "then the host is paid what is left")
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func anOldOwedRefundThatNeverWentIsSentUnderANewKey() async throws {
        try await withServices { services, engine, clock in
            let (bookings, booking, sent) = try await oldOwedRefund(madeAtProvider: 0, services, engine, clock)
            #expect(sent == 1)
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.refundedCharged == 5_000 && after.requestedRefunds.isEmpty)
            #expect(try await refundedAtProvider(booking, services) == 5_000)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func anOldOwedRefundThatMatchesNothingStaysOwedAndHoldsThePayout() async throws {
        try await withServices { services, engine, clock in
            let (bookings, booking, sent) = try await oldOwedRefund(madeAtProvider: 2_000, services, engine, clock)
            #expect(sent == 0)
            let after = try #require(await bookings.payment(booking.id))
            #expect(after.requestedRefunds["rfd_x"]?.charged == 5_000 && after.refundedCharged == 0, "left for an admin")
            #expect(!after.released && !after.paidOut, "nothing released to the host meanwhile")
            #expect(await ledgerViolations(engine) == [])
        }
    }
}
