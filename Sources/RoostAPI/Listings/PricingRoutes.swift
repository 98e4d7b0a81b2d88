import Foundation
import Hummingbird
import RoostBinary
import RoostData
import RoostDomain

/// A host's pricing rules (`PUT /v1/listings/{id}/pricing`) and the price of a stay before
/// booking (`GET /v1/listings/{id}/quote`). Bookings store the same `PriceQuote`.
extension ListingRoutes {
    /// The platform's fees; the tax rate comes from `data/taxes.json` by the listing's country.
    static let guestServiceFeeBasisPoints = 1_400
    static let hostFeeBasisPoints = 300

    func rates(for listing: ListingRecord) -> PricingRates {
        PricingRates(
            guestServiceFeeBasisPoints: Self.guestServiceFeeBasisPoints, hostFeeBasisPoints: Self.hostFeeBasisPoints,
            taxBasisPoints: reference.taxes.basisPoints(country: listing.details.location.country)
        )
    }

    struct PricingBody: StrictJSONBody {
        static let fields: Set<String> = ["weekendPrice", "weeklyDiscountPercent", "monthlyDiscountPercent"]
        var weekendPrice: MoneyBody?
        var weeklyDiscountPercent: Double?
        var monthlyDiscountPercent: Double?
    }

    /// `PUT …/pricing` `{weekendPrice: Money|null, weeklyDiscountPercent, monthlyDiscountPercent}`: replaces
    /// the rules (a field left out is none). Percentages take up to two decimals, 0…90.
    @Sendable func setPricing(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let body = try await request.decodeStrictJSON(as: PricingBody.self, limit: bodyLimit)
        let listing = try await hosted(id, by: try context.requirePrincipal())
        var errors: [Problem.FieldError] = []
        if let price = body.weekendPrice {
            if price.currency != listing.details.currency {
                errors.append(.init(field: "weekendPrice.currency", message: "must be the listing's currency (\(listing.details.currency))"))
            }
            if !(1...ListingRules.priceMax).contains(price.amount) { errors.append(.init(field: "weekendPrice.amount", message: ListingRules.priceRange)) }
        }
        func basisPoints(_ percent: Double?, _ field: String) -> Int {
            guard let percent else { return 0 }
            let points = (percent * 100).rounded()
            let limit = Double(ListingPricing.discountMaxBasisPoints)
            guard percent.isFinite, (0...limit).contains(points), abs(points - percent * 100) < 1e-6 else {
                errors.append(.init(field: field, message: "must be a percentage from 0 to \(ListingPricing.discountMaxBasisPoints / 100) with at most two decimals"))
                return 0
            }
            return Int(points)
        }
        let pricing = ListingPricing(
            weekendPrice: body.weekendPrice?.amount, weeklyDiscountBasisPoints: basisPoints(body.weeklyDiscountPercent, "weeklyDiscountPercent"),
            monthlyDiscountBasisPoints: basisPoints(body.monthlyDiscountPercent, "monthlyDiscountPercent")
        )
        guard errors.isEmpty else { throw Problem.validation(errors) }
        try await service.execute(.setPricing(id: id, pricing, currency: listing.details.currency), on: id)
        guard let updated = await service.listing(id) else { throw Problem.notFound("No such listing.") }
        return EncodedJSON(PricingJSON(updated))
    }

    /// `GET …/quote?checkIn&checkOut&guests&currency`: what booking these nights would cost now,
    /// line by line, and whether they are free.
    @Sendable func quote(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let listing = try await readable(context)
        let query = request.uri.formParameters
        func text(_ name: String) -> String? { query[Substring(name)].map(String.init) }  // a value-less one is left out (`formParameters`)
        var errors: [Problem.FieldError] = []
        let stay = StayRules.stay(
            checkIn: text("checkIn"), checkOut: text("checkOut"), listing: listing, now: service.clock(), errors: &errors
        )
        var guests = 1
        if let raw = text("guests") {
            if let value = Int(raw), (1...listing.details.maxGuests).contains(value) { guests = value } else {
                errors.append(.init(field: "guests", message: "must be a whole number from 1 to \(listing.details.maxGuests) (this listing's limit)"))
            }
        }
        var conversion: (currency: String, factor: Double)?
        let fx = reference.fx  // one table for the factor and the rate shown
        if let currency = text("currency"), currency != listing.details.currency {
            if let factor = fx.priceFactors(into: currency, currencies: reference.currencies)?[listing.details.currency] { conversion = (currency, factor) } else {
                errors.append(.init(field: "currency", message: "is not a supported currency"))
            }
        }
        guard errors.isEmpty, let stay else { throw Problem.validation(errors) }
        var quote = PriceQuote.make(listing, stay: stay, rates: rates(for: listing))
        if let conversion {
            guard let converted = quote.converted(to: conversion.currency, factor: conversion.factor) else { throw BookingService.tooDear(in: conversion.currency) }
            quote = converted
        }
        var body = QuoteJSON(listing: listing, stay: stay, guests: guests, quote: quote)
        if let conversion, let from = fx.rates[listing.details.currency], let to = fx.rates[conversion.currency] {
            body.exchange = .init(from: listing.details.currency, to: conversion.currency, rate: to / from, date: fx.date)
        }
        return EncodedJSON(body)
    }
}

/// The date rules every stay obeys (quotes now, bookings later): dates in the listing's own
/// calendar, from today there, within the two-year horizon, and the listing's night limits.
enum StayRules {
    static let nightsMax = 365

    static func stay(checkIn: String?, checkOut: String?, listing: ListingRecord, now: Date, errors: inout [Problem.FieldError]) -> Range<CalendarDay>? {
        guard let checkIn, let checkOut else {
            if checkIn == nil { errors.append(.init(field: "checkIn", message: "is required (YYYY-MM-DD)")) }
            if checkOut == nil { errors.append(.init(field: "checkOut", message: "is required (YYYY-MM-DD)")) }
            return nil
        }
        let start = CalendarDay(iso: checkIn), end = CalendarDay(iso: checkOut)
        if start == nil { errors.append(.init(field: "checkIn", message: "must be a date YYYY-MM-DD")) }
        if end == nil { errors.append(.init(field: "checkOut", message: "must be a date YYYY-MM-DD")) }
        guard let start, let end else { return nil }
        let count = errors.count
        let details = listing.details
        let today = ListingService.today(in: details.location.timeZone, now: now)
        let horizon = today.advanced(by: ListingService.horizonDays)
        if start < today { errors.append(.init(field: "checkIn", message: "must not be before today at the listing (\(today))")) }
        if end <= start {
            errors.append(.init(field: "checkOut", message: "must be after checkIn"))
        } else if end > horizon {
            errors.append(.init(field: "checkOut", message: "must be on or before \(horizon) (two years ahead)"))
        } else {
            let nights = start.distance(to: end)
            if nights < details.minNights { errors.append(.init(field: "checkOut", message: "this listing takes stays of at least \(details.minNights) nights")) }
            if nights > min(details.maxNights, nightsMax) { errors.append(.init(field: "checkOut", message: "this listing takes stays of at most \(min(details.maxNights, nightsMax)) nights")) }
        }
        return errors.count == count ? start..<end : nil
    }
}

struct PricingJSON: Encodable, Sendable {
    var weekendPrice: MoneyBody??  // always present: null when not set
    var weeklyDiscountPercent: Double
    var monthlyDiscountPercent: Double

    init(_ listing: ListingRecord) {
        let pricing = listing.pricing
        weekendPrice = .some(pricing.weekendPrice.map { MoneyBody(amount: $0, currency: listing.details.currency) })
        weeklyDiscountPercent = Double(pricing.weeklyDiscountBasisPoints) / 100
        monthlyDiscountPercent = Double(pricing.monthlyDiscountBasisPoints) / 100
    }
}

/// A `PriceQuote`'s lines as quotes and bookings show them.
struct PriceJSON: Encodable, Sendable {
    /// The nights after any discount.
    var nightly: MoneyBody
    var discount: MoneyBody
    var cleaningFee: MoneyBody
    var serviceFee: MoneyBody
    var taxes: MoneyBody
    var total: MoneyBody

    init(_ quote: PriceQuote) {
        func money(_ amount: Int64) -> MoneyBody { MoneyBody(amount: amount, currency: quote.currency) }
        nightly = money(quote.nightly)
        discount = money(quote.discount)
        cleaningFee = money(quote.cleaningFee)
        serviceFee = money(quote.serviceFee)
        taxes = money(quote.taxes)
        total = money(quote.total)
    }

    /// The object `encode(to:)` writes, written directly (see `BookingJSON`).
    var json: [UInt8] {
        var writer = JSONObjectWriter(capacity: 384)
        writer.money("nightly", nightly)
        writer.money("discount", discount)
        writer.money("cleaningFee", cleaningFee)
        writer.money("serviceFee", serviceFee)
        writer.money("taxes", taxes)
        writer.money("total", total)
        return writer.finish()
    }
}

struct QuoteJSON: Encodable, Sendable {
    struct Night: Encodable, Sendable {
        var date: String
        var price: MoneyBody
    }

    struct Exchange: Encodable, Sendable {
        var from: String
        var to: String
        /// Units of `to` per unit of `from`.
        var rate: Double
        var date: String
    }

    var listingId: String
    var checkIn: String
    var checkOut: String
    var nights: Int
    var guests: Int
    var available: Bool
    var price: PriceJSON
    var nightlyPrices: [Night]
    var exchange: Exchange?

    init(listing: ListingRecord, stay: Range<CalendarDay>, guests: Int, quote: PriceQuote) {
        listingId = listing.id
        checkIn = stay.lowerBound.description
        checkOut = stay.upperBound.description
        nights = stay.count
        self.guests = guests
        available = listing.calendar.isFree(stay)
        price = PriceJSON(quote)
        nightlyPrices = zip(stay, quote.nights).map { Night(date: $0.description, price: MoneyBody(amount: $1, currency: quote.currency)) }
    }
}
