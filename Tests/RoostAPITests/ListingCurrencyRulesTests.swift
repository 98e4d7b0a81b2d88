import Foundation
import RoostDomain
import Testing

@testable import RoostAPI

/// A listing priced in a currency Roost no longer supports (imported before the rule, or priced
/// under an older catalogue) can still be edited, its price included; it cannot move to another
/// unsupported currency, and a new listing cannot be priced in one.
struct ListingCurrencyRulesTests {
    @Test func aListingInAnUnsupportedCurrencyKeepsItButCannotMoveToAnother() async throws {
        try await withServices { services, _, _ in
            let reference = services.bookings.reference
            #expect(!reference.isSupported("AFN") && !reference.isSupported("AOA") && reference.isSupported("SGD"))
            var old = singaporeLoft(instantBook: true)
            old.currency = "AFN"

            var repriced = ListingBody()
            repriced.pricePerNight = MoneyBody(amount: 123_000, currency: "AFN")
            repriced.cleaningFee = MoneyBody(amount: 0, currency: "AFN")
            #expect((try? ListingRules.details(from: repriced, over: old, reference: reference).get())?.pricePerNight == 123_000)
            var retitled = ListingBody()
            retitled.title = "Renamed"
            #expect((try? ListingRules.details(from: retitled, over: old, reference: reference).get())?.title == "Renamed")

            var moved = ListingBody()
            moved.pricePerNight = MoneyBody(amount: 9_000, currency: "AOA")
            moved.cleaningFee = MoneyBody(amount: 0, currency: "AOA")
            #expect(fields(ListingRules.details(from: moved, over: old, reference: reference)) == ["pricePerNight.currency"])
            #expect(fields(ListingRules.details(from: repriced, over: nil, reference: reference)).contains("pricePerNight.currency"), "not for a new listing")
        }
    }

    private func fields(_ result: Result<ListingDetails, Problem>) -> [String] {
        guard case let .failure(problem) = result else { return [] }
        return problem.errors.map(\.field)
    }
}
