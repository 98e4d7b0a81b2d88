import Foundation
import RoostData
import Testing

/// The mapping of each Inside Airbnb file, on small hand-written files: every skip reason and adjustment.
struct InsideAirbnbMappingTests {
    static let listingColumns = [
        "id", "name", "description", "host_id", "host_name", "neighbourhood_cleansed", "latitude", "longitude",
        "property_type", "room_type", "accommodates", "bathrooms", "bathrooms_text", "bedrooms", "beds", "amenities",
        "price", "minimum_nights", "maximum_nights", "instant_bookable", "review_scores_rating", "number_of_reviews",
    ]

    static let defaults: [String: String] = [
        "id": "1", "name": "Villa in Singapore · ★4.44 · 2 bedrooms · 3 beds · 1 private bath",
        "description": "Nice<br /><br /><b>The space</b><br />Big", "host_id": "10", "host_name": " Ann ",
        "neighbourhood_cleansed": "Tampines", "latitude": "1.34537", "longitude": "103.95887",
        "property_type": "Private room in villa", "room_type": "Private room", "accommodates": "3", "bathrooms": "",
        "bathrooms_text": "1 private bath", "bedrooms": "", "beds": "",
        "amenities": #"["Wifi", "  AIR CONDITIONING", "Freezer", "Wifi", "Fast wifi \u2013 112 Mbps"]"#,
        "price": "$1,600.00", "minimum_nights": "92", "maximum_nights": "365", "instant_bookable": "t",
        "review_scores_rating": "4.44", "number_of_reviews": "20",
    ]

    static func csvField(_ field: String) -> String {
        "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func listingRow(_ changes: [String: String] = [:]) -> String {
        listingColumns.map { csvField(changes[$0] ?? defaults[$0] ?? "") }.joined(separator: ",")
    }

    static func listingsFile(_ rows: [String]) -> CSVReader<ChunkedBytes>? {
        let text = ([listingColumns.joined(separator: ",")] + rows).joined(separator: "\n") + "\n"
        return try? CSVReader(ChunkedBytes(text, chunkSize: 97), name: "listings.csv")
    }

    @Test func listingsAreMappedOrSkippedWithAReason() throws {
        let (currencies, amenities) = try #require(catalogues)
        let longName = String(repeating: "x", count: 118) + "★★★★ · Studio · 4 beds"
        let reader = try #require(Self.listingsFile([
            Self.listingRow(),  // line 2
            Self.listingRow(["id": "2", "price": ""]),
            Self.listingRow(["id": "3", "price": "$0.00"]),
            Self.listingRow(["id": "4", "latitude": "91"]),
            Self.listingRow(["id": "5", "longitude": ""]),
            Self.listingRow(),  // line 7: id 1 again
            "9,x",
            Self.listingRow([
                "id": "10", "name": longName, "description": "", "accommodates": "0", "minimum_nights": "0",
                "maximum_nights": "100000", "bathrooms_text": "Half-bath", "amenities": "[]", "price": "$80.00",
                "instant_bookable": "f", "review_scores_rating": "", "number_of_reviews": "", "neighbourhood_cleansed": "",
            ]),
            Self.listingRow(["id": "11", "price": "$abc"]),
            Self.listingRow([
                "id": "12", "amenities": "not json", "name": "Studio", "bedrooms": "1", "beds": "2",
                "description": "Washer + dryer<BR>Iron<br /",  // Inside Airbnb cuts at 1,000 characters, tags too
            ]),
            Self.listingRow(["id": "13", "host_id": ""]),
        ]))
        let result = try InsideAirbnb.readListings(reader, currencies: currencies, amenities: amenities)
        let report = result.report

        #expect(result.values.map(\.sourceID) == ["1", "10", "12"])
        #expect(report.rowsRead == 11 && report.rowsImported == 3 && report.rowsSkipped == 8)
        #expect(report.skipped == [
            "price missing": 1, "price is zero": 1, "bad latitude": 1, "longitude missing": 1, "duplicate id": 1,
            "row has 2 fields, header has 22": 1, "bad price": 1, "host id missing": 1,
        ])
        #expect(report.firstSkipped.map(\.line) == [3, 4, 5, 6, 7, 8, 10, 12])
        #expect(report.unknownAmenities == ["Freezer": 1])  // counted on imported listings only
        #expect(report.adjusted == [
            "bedrooms taken from name": 2, "beds taken from name": 2, "accommodates clamped to 1…50": 1,
            "minimum_nights clamped to 1…1125": 1, "maximum_nights clamped to minimum_nights…1125": 1,
            "amenities not a JSON array of strings (none used)": 1,
        ])

        let first = result.values[0]
        #expect(first == ImportedListing(
            sourceID: "1", hostSourceID: "10", hostName: "Ann",
            title: "Villa in Singapore · ★4.44 · 2 bedrooms · 3 beds · 1 private bath",
            description: "Nice\n\nThe space\nBig", neighbourhood: "Tampines", latitude: 1.34537, longitude: 103.95887,
            propertyType: "Private room in villa", roomType: "Private room", maxGuests: 3, bedrooms: 2, beds: 3,
            bathrooms: 1, amenityCodes: ["air_conditioning", "wifi"], unknownAmenities: ["Freezer"],
            pricePerNightMinor: 160_000, minNights: 92, maxNights: 365, instantBook: true, rating: 4.44, reviewCount: 20))

        let clamped = result.values[1]
        #expect(clamped.title.count == InsideAirbnb.titleLimit)
        #expect(clamped.title == String(longName.prefix(120)))
        #expect(clamped.description == "" && clamped.neighbourhood == nil)
        #expect(clamped.maxGuests == 1 && clamped.minNights == 1 && clamped.maxNights == 1_125)
        #expect(clamped.bathrooms == 0.5 && clamped.bedrooms == 0 && clamped.beds == 4)  // "Studio", "4 beds"
        #expect(clamped.amenityCodes == [] && clamped.unknownAmenities == [])
        #expect(clamped.pricePerNightMinor == 8_000 && !clamped.instantBook && clamped.rating == nil && clamped.reviewCount == 0)

        let studio = result.values[2]
        #expect(studio.bedrooms == 1 && studio.beds == 2)  // the columns win over the name
        #expect(studio.amenityCodes == [])
        #expect(studio.description == "Washer + dryer\nIron")
    }

    @Test func pricesFollowTheCurrencyExponent() throws {
        let (currencies, amenities) = try #require(catalogues)
        for (currency, expected) in [("SGD", 160_000), ("JPY", 1_600), ("BHD", 1_600_000)] as [(String, Int64)] {
            let reader = try #require(Self.listingsFile([Self.listingRow()]))
            let result = try InsideAirbnb.readListings(reader, currency: currency, currencies: currencies, amenities: amenities)
            #expect(result.values.first?.pricePerNightMinor == expected, "\(currency)")
        }
        let reader = try #require(Self.listingsFile([Self.listingRow()]))
        #expect(throws: RoostDataError.unknownCurrency("ZZZ")) {
            try InsideAirbnb.readListings(reader, currency: "ZZZ", currencies: currencies, amenities: amenities)
        }
    }

    @Test func aListingsFileWithoutARequiredColumnIsAnError() throws {
        let (currencies, amenities) = try #require(catalogues)
        let reader = try CSVReader(ChunkedBytes("id,name,host_id,latitude,longitude\n1,x,2,1,100\n"), name: "l.csv")
        #expect(throws: RoostDataError.missingColumn(path: "l.csv", column: "price")) {
            try InsideAirbnb.readListings(reader, currencies: currencies, amenities: amenities)
        }
    }

    @Test func calendarRows() throws {
        let (currencies, _) = try #require(catalogues)
        let text = """
            listing_id,date,available,price,adjusted_price,minimum_nights,maximum_nights
            7,2023-09-23,t,$150.00,$150.00,1,30
            7,2023-09-24,f,"$1,600.00","$1,600.00",1,30
            8,2023-09-23,f,,,1,30
            7,2023-09-25,f,$0.00,$0.00,1,30
            7,2023-02-30,t,$1.00,$1.00,1,30
            7,2023-09-26,x,$1.00,$1.00,1,30
            abc,2023-09-26,t,$1.00,$1.00,1,30
            7,2023-09-27,t
            8,2023-09-24,t,$9.99,$9.99,1,30

            """
        var days: [ImportedCalendarDay] = []
        let report = try InsideAirbnb.readCalendar(CSVReader(ChunkedBytes(text, chunkSize: 5)), currencies: currencies) { days.append($0) }
        func day(_ id: String, _ date: String, _ available: Bool, _ price: Int64?) -> ImportedCalendarDay? {
            CivilDate(iso: date).map { ImportedCalendarDay(listingSourceID: id, date: $0, available: available, priceMinor: price) }
        }
        #expect(days == [
            day("7", "2023-09-23", true, 15_000), day("7", "2023-09-24", false, 160_000), day("8", "2023-09-23", false, nil),
            day("7", "2023-09-25", false, nil), day("8", "2023-09-24", true, 999),
        ].compactMap { $0 })
        #expect(report.rowsRead == 9 && report.rowsImported == 5)
        #expect(report.skipped == ["bad date": 1, "available is not t or f": 1, "bad listing id": 1, "row has 3 fields, header has 7": 1])
        #expect(report.firstSkipped.map(\.line) == [6, 7, 8, 9])

        let grouped = try InsideAirbnb.readCalendarByListing(CSVReader(ChunkedBytes(text)), currencies: currencies)
        #expect(grouped.values.map(\.listingSourceID) == ["7", "8"])
        #expect(grouped.values.map(\.days) == [3, 2])
        #expect(grouped.values[0].unavailableDates.map(\.description) == ["2023-09-24", "2023-09-25"])
        #expect(grouped.values[0].firstDate.description == "2023-09-23" && grouped.values[0].lastDate.description == "2023-09-25")
        #expect(grouped.values[1].unavailableDates.map(\.description) == ["2023-09-23"])
        #expect(grouped.report == report)
    }

    @Test func reviewRows() throws {
        let text = "listing_id,id,date,reviewer_id,reviewer_name,comments\r\n"
            + "7,100,2011-12-19,55,Max,\"Clean.\r<br/>Thank you.<br/>Price <all in> &lt;3\"\r\n"
            + "7,101,2012-01-01,56, Li ,\"Line one\r\nline two  \"\r\n"
            + "7,100,2012-01-02,57,Dup,again\r\n"
            + "7,,2012-01-02,57,No id,x\r\n"
            + "7,102,02/01/2012,57,Bad date,x\r\n"
        let result = try InsideAirbnb.readReviews(CSVReader(ChunkedBytes(text, chunkSize: 3)))
        #expect(result.values.count == 2)
        let first = try #require(result.values.first)
        #expect(first.listingSourceID == "7" && first.sourceID == "100" && first.date.description == "2011-12-19")
        #expect(first.reviewerSourceID == "55" && first.reviewerName == "Max")
        #expect(first.comments == "Clean.\nThank you.\nPrice <all in> &lt;3")
        #expect(result.values[1].comments == "Line one\nline two" && result.values[1].reviewerName == "Li")
        #expect(result.report.skipped == ["duplicate id": 1, "id missing": 1, "bad date": 1])
        #expect(result.report.firstSkipped.map(\.line) == [6, 7, 8])  // a bare CR inside quotes is a line too
    }
}
