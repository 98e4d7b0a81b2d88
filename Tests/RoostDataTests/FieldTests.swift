import RoostData
import Testing

/// Prices, bathrooms and dates as Inside Airbnb writes them.
struct FieldTests {
    @Test func pricesInMinorUnits() {
        #expect(InsideAirbnb.parsePrice("$1,600.00", exponent: 2) == 160_000)
        #expect(InsideAirbnb.parsePrice("$80.00", exponent: 2) == 8_000)
        #expect(InsideAirbnb.parsePrice("$109,999.00", exponent: 2) == 10_999_900)
        #expect(InsideAirbnb.parsePrice("$1,234,567.5", exponent: 2) == 123_456_750)
        #expect(InsideAirbnb.parsePrice("S$ 12.50", exponent: 2) == 1_250)
        #expect(InsideAirbnb.parsePrice("€7", exponent: 2) == 700)
        #expect(InsideAirbnb.parsePrice("150", exponent: 2) == 15_000)
        // "$0.00" parses: the listing mapping skips a zero price, the calendar treats it as no price.
        #expect(InsideAirbnb.parsePrice("$0.00", exponent: 2) == 0)
    }

    @Test func pricesInCurrenciesWithoutOrWithThreeDecimals() {
        // Exponent 0 (JPY): whole units; a zero fraction is fine, a real one cannot be represented.
        #expect(InsideAirbnb.parsePrice("$1,600", exponent: 0) == 1_600)
        #expect(InsideAirbnb.parsePrice("$1,600.00", exponent: 0) == 1_600)
        #expect(InsideAirbnb.parsePrice("$1,600.50", exponent: 0) == nil)
        // Exponent 3 (BHD).
        #expect(InsideAirbnb.parsePrice("$12.345", exponent: 3) == 12_345)
        #expect(InsideAirbnb.parsePrice("$12.5", exponent: 3) == 12_500)
        #expect(InsideAirbnb.parsePrice("$1,600.00", exponent: 3) == 1_600_000)
        #expect(InsideAirbnb.parsePrice("$12.3456", exponent: 3) == nil)
        #expect(InsideAirbnb.parsePrice("$12.3450", exponent: 3) == 12_345)
    }

    @Test func malformedPricesAreNil() {
        for text in ["", " ", "$", "$.", "abc", "-$5.00", "$-5.00", "$5.00x", "$1,60.00", "$1,6000.00", "$,100", "$1,,000", "$1.2.3", "$99999999999999999999.00"] {
            #expect(InsideAirbnb.parsePrice(text, exponent: 2) == nil, "\(text)")
        }
        #expect(InsideAirbnb.parsePrice("$92233720368547758.07", exponent: 2) == Int64.max)
        #expect(InsideAirbnb.parsePrice("$92233720368547758.08", exponent: 2) == nil)
    }

    @Test func bathrooms() {
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "1.5 shared baths") == 1.5)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "1 private bath") == 1)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "0 baths") == 0)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "Half-bath") == 0.5)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "Shared half-bath") == 0.5)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "Private half-bath") == 0.5)
        #expect(InsideAirbnb.parseBathrooms(number: "2", text: "1 bath") == 2)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "") == nil)
        #expect(InsideAirbnb.parseBathrooms(number: "", text: "Shared bath") == nil)
    }

    @Test func dates() {
        #expect(CivilDate(iso: "2024-02-29")?.description == "2024-02-29")
        #expect(CivilDate(iso: "2023-02-29") == nil)
        #expect(CivilDate(iso: "1900-02-29") == nil)
        #expect(CivilDate(iso: "2000-02-29") != nil)
        #expect(CivilDate(iso: "2023-13-01") == nil)
        #expect(CivilDate(iso: "2023-9-23") == nil)
        #expect(CivilDate(iso: "2023-09-23T00") == nil)
        #expect(CivilDate(iso: "0000-01-01") == nil)
        let date = CivilDate(year: 2023, month: 9, day: 23)
        #expect(date?.year == 2023 && date?.month == 9 && date?.day == 23)
        #expect(CivilDate(year: 7, month: 1, day: 2)?.description == "0007-01-02")
        if let a = CivilDate(iso: "2023-12-31"), let b = CivilDate(iso: "2024-01-01") { #expect(a < b) }
    }
}
