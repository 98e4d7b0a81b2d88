import Foundation
import HTTPTypes
@testable import RoostDomain
import RoostEngine
import RoostIntegrations
import RoostTestSupport
import Testing

@testable import RoostAPI

/// Edges a black-box review of the booking API found: what a delisted listing, an unknown payment method and a fully
/// refunded payment look like.
@Suite struct BookingEdgeTests {
    let guest = "usr_guest"
    let host = Principal(userID: "usr_host", role: .host, sessionID: "s")

    @Test func aRequestOnADelistedListingCannotBeAccepted() async throws {
        try await withServices { services, engine, clock in
            let bookings = services.bookings
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: false))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let requested = try await bookings.create(
                guestID: guest, .init(listingID: listing.id, stay: today.advanced(by: 5)..<today.advanced(by: 8), guests: 2, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            #expect(requested.booking.status == .pending && requested.payment?.status == .authorized)
            try await services.listings.execute(.setStatus(id: listing.id, .inactive), on: listing.id)
            await #expect {
                _ = try await bookings.accept(requested.booking.id, by: host)
            } throws: { error in
                (error as? Problem)?.code == "listing_not_bookable"
            }
            #expect(await bookings.payment(requested.booking.id)?.status == .authorized, "nothing captured")
            let declined = try await bookings.decline(requested.booking.id, by: host)
            #expect(declined.booking.status == .canceled && declined.payment?.status == .voided)
            #expect(await ledgerViolations(engine) == [])
        }
    }

    @Test func anUnknownPaymentMethodIsA402AndReleasesTheNights() async throws {
        try await withServices { services, _, clock in
            let listing = try await services.listings.create(hostID: host.userID, details: singaporeLoft(instantBook: true))
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = today.advanced(by: 5)..<today.advanced(by: 8)
            let problem = await #expect(throws: Problem.self) {
                _ = try await services.bookings.create(
                    guestID: guest, .init(listingID: listing.id, stay: stay, guests: 2, currency: nil, paymentMethod: "pm_card_typo"), rates: PricingRates()
                )
            }
            #expect(problem?.status.code == 402 && problem?.code == "payment_failed" && problem?.detail.contains("pm_card_typo") == true)
            let again = try await services.bookings.create(
                guestID: guest, .init(listingID: listing.id, stay: stay, guests: 2, currency: nil, paymentMethod: "pm_card_visa"), rates: PricingRates()
            )
            #expect(again.booking.status == .confirmed, "the nights were released")
        }
    }

    @Test func aPaymentShowsItsRefundsAndWhetherTheHostHasAnythingComing() {
        var payment = Ledger.Payment(id: "bkg_1", currency: "SGD", amount: 10_000, status: .captured, settlementCurrency: "SGD", settlementAmount: 10_000)
        #expect(PaymentJSON.statusName(payment) == "captured" && PaymentJSON.payoutStatus(payment) == "pending")
        payment.refundedCharged = 2_500
        payment.refunded = 2_500
        #expect(PaymentJSON.statusName(payment) == "refunded" && PaymentJSON.payoutStatus(payment) == "pending", "part is still the host's")
        payment.refundedCharged = 10_000
        payment.refunded = 10_000
        #expect(PaymentJSON.statusName(payment) == "refunded" && PaymentJSON.payoutStatus(payment) == "none", "nothing is left for the host")
        payment.status = .voided
        #expect(PaymentJSON.statusName(payment) == "voided" && PaymentJSON.payoutStatus(payment) == "none")
    }
}
