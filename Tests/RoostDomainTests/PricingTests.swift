import RoostDomain
import Testing

/// Prices of stays: nights, weekend price, overrides, discounts, fees, taxes, rounding.
struct PricingTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    func listing(price: Int64 = 10_000, cleaning: Int64 = 2_500, currency: String = "SGD", pricing: ListingPricing = .none) -> ListingRecord {
        let details = ListingDetails(
            title: "Flat", description: "", propertyType: "Entire rental unit",
            location: ListingLocation(address: "", city: "Singapore", country: "Singapore", latitude: 1.3, longitude: 103.8, timeZone: "Asia/Singapore"),
            currency: currency, pricePerNight: price, cleaningFee: cleaning, maxGuests: 2, bedrooms: 1, beds: 1, halfBathrooms: 2,
            amenities: [], minNights: 1, maxNights: 365, instantBook: true, cancellationPolicy: .moderate
        )
        var record = ListingRecord(id: "lst_p", hostID: "usr_h", details: details, createdAt: t0)
        record.pricing = pricing
        return record
    }

    func stay(_ from: String, nights: Int) -> Range<CalendarDay> {
        let start = CalendarDay(iso: from)!
        return start..<start.advanced(by: nights)
    }

    @Test func percentagesRoundHalfToEven() {
        #expect(Money.percentage(25, basisPoints: 1_000) == 2, "2.5 → 2")
        #expect(Money.percentage(35, basisPoints: 1_000) == 4, "3.5 → 4")
        #expect(Money.percentage(1, basisPoints: 5_000) == 0, "0.5 → 0")
        #expect(Money.percentage(3, basisPoints: 5_000) == 2, "1.5 → 2")
        #expect(Money.percentage(26, basisPoints: 1_000) == 3, "2.6 → 3")
        #expect(Money.percentage(24, basisPoints: 1_000) == 2, "2.4 → 2")
        #expect(Money.percentage(-35, basisPoints: 1_000) == -4, "negative amounts round as their magnitude")
        #expect(Money.percentage(Int64.max / 2, basisPoints: 10_000) == Int64.max / 2, "no overflow: the product is double width")
        #expect(Money.percentage(Int64.max, basisPoints: 5_000) == Int64.max / 2 + 1, "…(2^63 − 1) / 2 ends in .5 and rounds to even")
    }

    @Test func proportionsRoundHalfToEvenAtFullWidth() {
        #expect(Money.proportion(100, 1, of: 2) == 50)
        #expect(Money.proportion(101, 1, of: 2) == 50, "50.5 → 50")
        #expect(Money.proportion(103, 1, of: 2) == 52, "51.5 → 52")
        #expect(Money.proportion(10_000, 1, of: 3) == 3_333)
        #expect(Money.proportion(Int64.max, Int64.max, of: Int64.max) == Int64.max, "no overflow")
    }

    @Test func weekendNightsAreFridayAndSaturday() {
        #expect(CalendarDay(iso: "2027-01-01")!.isWeekendNight, "a Friday")
        #expect(CalendarDay(iso: "2027-01-02")!.isWeekendNight, "a Saturday")
        #expect(!CalendarDay(iso: "2027-01-03")!.isWeekendNight, "a Sunday")
        #expect(!CalendarDay(iso: "2026-11-25")!.isWeekendNight, "a Wednesday")
        #expect(!CalendarDay(iso: "1969-12-31")!.isWeekendNight, "a Wednesday before the epoch")
        #expect(CalendarDay(iso: "1969-12-27")!.isWeekendNight, "a Saturday before the epoch")
    }

    /// Thursday to Sunday: a weekday night, a weekend night at the weekend price, and a Saturday
    /// whose own override wins over the weekend price.
    @Test func nightsFeesAndTaxesLineByLine() {
        var record = listing(pricing: ListingPricing(weekendPrice: 15_000))
        let nights = stay("2026-12-31", nights: 3)
        record.priceOverrides[CalendarDay(iso: "2027-01-02")!] = 20_000
        let quote = PriceQuote.make(record, stay: nights, rates: PricingRates(guestServiceFeeBasisPoints: 1_400, hostFeeBasisPoints: 300, taxBasisPoints: 900))
        #expect(quote.nights == [10_000, 15_000, 20_000])
        #expect(quote.discount == 0)
        #expect(quote.cleaningFee == 2_500)
        #expect(quote.serviceFee == 6_650, "14% of 475.00")
        #expect(quote.taxes == 4_874, "9% of 541.50 is 48.735: half to even gives 48.74")
        #expect(quote.total == 45_000 + 2_500 + 6_650 + 4_874)
        #expect(quote.hostFee == 1_425, "3% of 475.00")
        #expect(quote.hostPayout == 47_500 - 1_425)
        #expect(quote.currency == "SGD")
    }

    @Test func weeklyFromSevenNightsMonthlyFromTwentyEight() {
        let rates = PricingRates(guestServiceFeeBasisPoints: 0, hostFeeBasisPoints: 0, taxBasisPoints: 0)
        let both = listing(cleaning: 0, pricing: ListingPricing(weeklyDiscountBasisPoints: 1_000, monthlyDiscountBasisPoints: 2_500))
        #expect(PriceQuote.make(both, stay: stay("2027-02-01", nights: 6), rates: rates).discount == 0)
        #expect(PriceQuote.make(both, stay: stay("2027-02-01", nights: 7), rates: rates).discount == 7_000)
        #expect(PriceQuote.make(both, stay: stay("2027-02-01", nights: 27), rates: rates).discount == 27_000)
        #expect(PriceQuote.make(both, stay: stay("2027-02-01", nights: 28), rates: rates).discount == 70_000, "monthly replaces weekly")
        let weeklyOnly = listing(cleaning: 0, pricing: ListingPricing(weeklyDiscountBasisPoints: 1_000))
        #expect(PriceQuote.make(weeklyOnly, stay: stay("2027-02-01", nights: 30), rates: rates).discount == 30_000, "no monthly discount set: weekly applies")
        let none = PriceQuote.make(listing(cleaning: 0), stay: stay("2027-02-01", nights: 30), rates: rates)
        #expect(none.discount == 0 && none.total == 300_000)
    }

    /// Discount and fees apply to the discounted nights; the service fee is taxed.
    @Test func feesApplyAfterTheDiscount() {
        let record = listing(price: 9_999, cleaning: 1_001, pricing: ListingPricing(weeklyDiscountBasisPoints: 1_500))
        let quote = PriceQuote.make(record, stay: stay("2027-02-01", nights: 7), rates: PricingRates(guestServiceFeeBasisPoints: 1_400, hostFeeBasisPoints: 300, taxBasisPoints: 700))
        #expect(quote.nightsTotal == 69_993)
        #expect(quote.discount == 10_499, "15% of 699.93 = 104.9895")
        #expect(quote.nightly == 59_494)
        #expect(quote.serviceFee == 8_469, "14% of 604.95 = 84.693")
        #expect(quote.taxes == 4_827, "7% of 689.64 = 48.2748")
        #expect(quote.hostFee == 1_815, "3% of 604.95 = 18.1485")
        #expect(quote.total == 59_494 + 1_001 + 8_469 + 4_827)
    }

    /// The dearest stay there can be (the top nightly price for a year) converted into a currency of
    /// very small units is refused, not worked out past Int64 (it crashed the server); the same stay
    /// converted at an ordinary factor still is.
    @Test func aConversionPastWhatCanBeChargedIsRefused() throws {
        let year = PriceQuote.make(listing(price: 1_000_000_000_000, cleaning: 0), stay: stay("2027-02-01", nights: 365), rates: PricingRates(taxBasisPoints: 900))
        #expect(year.total > 365 * 1_000_000_000_000)
        #expect(year.converted(to: "IDR", factor: 20_000) == nil)
        #expect(year.converted(to: "IDR", factor: .infinity) == nil)
        let converted = try #require(year.converted(to: "EUR", factor: 1.15))
        #expect(converted.total == converted.nightly + converted.cleaningFee + converted.serviceFee + converted.taxes)
    }

    /// Converted line by line: the lines still add up to the total, in zero- and three-decimal currencies.
    @Test func conversionKeepsTheLinesAddingUp() throws {
        let quote = PriceQuote.make(listing(price: 12_345, cleaning: 3_333), stay: stay("2027-02-01", nights: 3), rates: PricingRates(taxBasisPoints: 900))
        // SGD → JPY: 1 SGD ≈ 115 JPY; a cent is 1.15 yen (JPY has no minor unit).
        let yen = try #require(quote.converted(to: "JPY", factor: 1.15))
        #expect(yen.currency == "JPY")
        #expect(yen.nights == [14_197, 14_197, 14_197], "123.45 SGD × 115 = 14,196.75 yen → 14,197")
        #expect(yen.total == yen.nights.reduce(0, +) - yen.discount + yen.cleaningFee + yen.serviceFee + yen.taxes)
        // SGD → BHD: 1 SGD ≈ 0.29 BHD; a cent is 0.29 fils (BHD has three decimals).
        let dinar = try #require(quote.converted(to: "BHD", factor: 0.29))
        #expect(dinar.nights == [3_580, 3_580, 3_580], "12,345 × 0.29 = 3,580.05 fils → 3,580")
        #expect(dinar.cleaningFee == 967, "3,333 × 0.29 = 966.57 → 967")
        #expect(dinar.total == dinar.nightly + dinar.cleaningFee + dinar.serviceFee + dinar.taxes)
    }
}
