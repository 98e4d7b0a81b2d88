import Foundation
import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Testing

@testable import RoostAPI

/// Paying in the browser: a booking made without a payment method waits, holding its nights, for
/// the guest to confirm the payment with the provider; the provider's event (verified, deduplicated)
/// completes it by reconciliation, and no event — late, repeated, forged — moves it wrongly.
@Suite struct PaymentWebhookTests {
    static let secret = "whsec_test_secret"

    func book(_ services: RoostServices, instantBook: Bool, clock: MovableClock) async throws -> BookingService.Booked {
        let listing = try await services.listings.create(hostID: "usr_host", details: singaporeLoft(instantBook: instantBook))
        let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
        return try await services.bookings.create(
            guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 7), guests: 1, currency: nil, paymentMethod: nil),
            rates: PricingRates()
        )
    }

    @Test func aGuestConfirmingInTheBrowserCompletesAnInstantBooking() async throws {
        try await withServices(configure: { $0.stripeWebhookSecret = Self.secret }) { services, engine, clock in
            let sandbox = try #require(services.sandbox)
            let waiting = try await book(services, instantBook: true, clock: clock)
            #expect(waiting.booking.status == .pending && waiting.payment == nil)
            let secret = try #require(waiting.clientSecret)
            let intent = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(waiting.booking.id)"))
            #expect(try await services.bookings.bookedWithSecret(waiting.booking.id).clientSecret == secret, "readable again later")

            await #expect(throws: GatewayError.notFound(intent.id)) { try await sandbox.confirm(intent.id, clientSecret: "wrong", paymentMethod: "pm_card_visa") }
            await #expect(throws: GatewayError.declined(code: "card_declined")) {
                try await sandbox.confirm(intent.id, clientSecret: secret, paymentMethod: "pm_card_chargeDeclined")
            }
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .pending, "a declined card leaves it waiting for another")
            _ = try await sandbox.confirm(intent.id, clientSecret: secret, paymentMethod: "pm_card_visa")
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .confirmed)
            #expect(await services.bookings.payment(waiting.booking.id)?.status == .captured)
            #expect(try await sandbox.payment(forIdempotencyKey: "auth:\(waiting.booking.id)")?.status == .succeeded)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func aRequestToBookConfirmedInTheBrowserWaitsForItsHost() async throws {
        try await withServices(configure: { $0.stripeWebhookSecret = Self.secret }) { services, engine, clock in
            let sandbox = try #require(services.sandbox)
            let waiting = try await book(services, instantBook: false, clock: clock)
            let intent = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(waiting.booking.id)"))
            _ = try await sandbox.confirm(intent.id, clientSecret: try #require(waiting.clientSecret), paymentMethod: "pm_card_visa")
            let after = try #require(await services.bookings.booking(waiting.booking.id))
            #expect(after.status == .pending && after.holdExpiresAt == BookingService.hostDeadline(after))
            #expect(await services.bookings.payment(waiting.booking.id)?.status == .authorized)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    /// Events signed as Stripe signs them, delivered by hand: forged ones are refused, a repeat is
    /// recognised, and a late `payment_failed` after the payment succeeded changes nothing.
    @Test func eventsAreVerifiedDeduplicatedAndNeverMoveABookingBackwards() async throws {
        try await withServices(configure: { $0.stripeWebhookSecret = Self.secret }) { services, engine, clock in
            let sandbox = try #require(services.sandbox)
            let waiting = try await book(services, instantBook: true, clock: clock)
            let intent = try #require(try await sandbox.payment(forIdempotencyKey: "auth:\(waiting.booking.id)"))
            func event(_ id: String, _ type: String, status: String, key: String = "auth:\(waiting.booking.id)") -> [UInt8] {
                Array(#"{"id":"\#(id)","object":"event","type":"\#(type)","created":\#(Int64(clock.read().timeIntervalSince1970)),"livemode":false,"data":{"object":{"id":"\#(intent.id)","object":"payment_intent","status":"\#(status)","amount":\#(intent.amount),"metadata":{"roost_idempotency_key":"\#(key)"}}}}"#.utf8)
            }
            func signed(_ body: [UInt8], secret: String = Self.secret, at: Date? = nil) -> String {
                StripeWebhookVerifier.signatureHeader(payload: body, endpointSecret: secret, timestamp: Int64((at ?? clock.read()).timeIntervalSince1970))
            }
            let webhooks = services.webhooks
            let failed = event("evt_1", "payment_intent.payment_failed", status: "requires_payment_method")
            for (signature, why) in [(nil, "missing"), (signed(failed, secret: "whsec_other"), "another secret"), (signed(failed, at: clock.read().addingTimeInterval(-301)), "too old")] {
                await #expect(throws: Problem.self, "\(why)") { try await webhooks.receiveStripe(body: failed, signature: signature) }
            }
            #expect(try await webhooks.receiveStripe(body: failed, signature: signed(failed)) == .handled)
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .pending, "nothing was paid yet")
            #expect(try await webhooks.receiveStripe(body: failed, signature: signed(failed)) == .duplicate)

            _ = try await sandbox.confirm(intent.id, clientSecret: try #require(waiting.clientSecret), paymentMethod: "pm_card_visa")
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .confirmed)
            // The same failure again, under a new event id and late: the provider says succeeded.
            let late = event("evt_2", "payment_intent.payment_failed", status: "requires_payment_method")
            #expect(try await webhooks.receiveStripe(body: late, signature: signed(late)) == .handled)
            #expect(await services.bookings.booking(waiting.booking.id)?.status == .confirmed)
            #expect(await services.bookings.payment(waiting.booking.id)?.status == .captured)
            let other = event("evt_3", "charge.refunded", status: "succeeded")
            #expect(try await webhooks.receiveStripe(body: other, signature: signed(other)) == .ignored)
            let stranger = event("evt_4", "payment_intent.succeeded", status: "succeeded", key: "auth:bkg_nosuchbooking0000")
            #expect(try await webhooks.receiveStripe(body: stranger, signature: signed(stranger)) == .handled)
            #expect(await ledgerViolations(engine) == [])
        }
    }
}
