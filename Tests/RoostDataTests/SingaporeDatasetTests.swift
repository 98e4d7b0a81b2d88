import Foundation
import RoostData
import Testing

/// The real Inside Airbnb Singapore files (data/insideairbnb/singapore/, CC BY 4.0; see data/README.md).
///
/// Expected numbers come from data/insideairbnb/README.md, or were computed independently of this
/// module when the tests were written (the command is given beside each).
@Suite(.serialized)
struct SingaporeDatasetTests {
    let listingsPath = singaporeDirectory + "/listings.csv.gz"
    let calendarPath = singaporeDirectory + "/calendar.csv.gz"
    let reviewsPath = singaporeDirectory + "/reviews.csv.gz"

    @Test func listings() throws {
        let (currencies, amenities) = try #require(catalogues)
        let result = try InsideAirbnb.readListings(at: listingsPath, currency: "SGD", currencies: currencies, amenities: amenities)
        let report = result.report
        // Every listing has a price and coordinates: all 3,483 are imported.
        #expect(report.rowsRead == 3_483)
        #expect(report.rowsImported == 3_483)
        #expect(report.skipped == [:])
        #expect(result.values.count == 3_483)
        #expect(Set(result.values.map(\.sourceID)).count == 3_483)
        #expect(Set(result.values.map(\.hostSourceID)).count == 915)
        // 1,488 listings have no `bedrooms`; 1,485 of those state it in `name`. Two have a
        // `maximum_nights` of 9,001 and 100,000.
        #expect(report.adjusted == ["bedrooms taken from name": 1_485, "maximum_nights clamped to minimum_nights…1125": 2])

        // Unknown labels counted per listing. Checked with Python: for each listing, the set of labels in
        // json.loads(amenities) not matching an alias or name of amenities.json after strip().lower().
        #expect(report.unknownAmenities.count == 66)
        let top = report.topUnknownAmenities(5)
        #expect(top.map(\.label) == ["Freezer", "Toaster", "Cleaning products", "Outdoor furniture", "Wine glasses"])
        #expect(top.map(\.count) == [325, 297, 255, 236, 235])

        let byID = Dictionary(result.values.map { ($0.sourceID, $0) }, uniquingKeysWith: { first, _ in first })
        let belinda = try #require(byID["71609"])
        #expect(belinda.latitude == 1.34537 && belinda.longitude == 103.95887)
        #expect(belinda.pricePerNightMinor == 15_000)
        #expect(belinda.hostSourceID == "367042" && belinda.hostName == "Belinda")
        #expect(belinda.title == "Villa in Singapore · ★4.44 · 2 bedrooms · 3 beds · 1 private bath")
        #expect(belinda.description.hasPrefix("For 3 rooms.Book room 1&2 and room 4\n\nThe space\nLanded Homestay Room"))
        #expect(belinda.neighbourhood == "Tampines")
        #expect(belinda.propertyType == "Private room in villa" && belinda.roomType == "Private room")
        #expect(belinda.maxGuests == 3 && belinda.bedrooms == 2 && belinda.beds == 3 && belinda.bathrooms == 1)
        #expect(belinda.minNights == 92 && belinda.maxNights == 365 && !belinda.instantBook)
        #expect(belinda.rating == 4.44 && belinda.reviewCount == 20)
        #expect(belinda.amenityCodes.contains("wifi") && belinda.amenityCodes.contains("self_check_in"))
        #expect(belinda.unknownAmenities == ["Fire pit", "Outdoor furniture", "Outdoor kitchen"])

        #expect(byID["5774164"]?.pricePerNightMinor == 160_000)  // "$1,600.00"
        #expect(byID["5774164"]?.latitude == 1.31315 && byID["5774164"]?.longitude == 103.881)
        let newest = try #require(byID["985940069189910173"])  // an id above 2^53, kept exactly
        #expect(newest.pricePerNightMinor == 57_200 && newest.bedrooms == 2 && newest.beds == 3 && newest.bathrooms == 2)
        #expect(byID["71896"]?.bathrooms == 0.5)  // "Shared half-bath"
        #expect(byID["15001844"]?.maxNights == 1_125 && byID["15001844"]?.minNights == 180)  // 100,000 in the file

        #expect(result.values.allSatisfy { (1.2...1.5).contains($0.latitude) && (103.6...104).contains($0.longitude) })
        #expect(result.values.allSatisfy { $0.pricePerNightMinor >= 1_300 && $0.amenityCodes == $0.amenityCodes.sorted() })
        #expect(result.values.allSatisfy { !$0.description.contains("<br") && !$0.description.contains("<b>") })
        #expect(result.values.filter { $0.description.isEmpty }.count == 44)
        #expect(Dictionary(grouping: result.values, by: \.roomType).mapValues(\.count)
            == ["Private room": 1_627, "Entire home/apt": 1_585, "Shared room": 143, "Hotel room": 128])
    }

    @Test func calendar() throws {
        let (currencies, _) = try #require(catalogues)
        let result = try InsideAirbnb.readCalendarByListing(at: calendarPath, currencies: currencies)
        #expect(result.report.rowsRead == 1_271_274)
        #expect(result.report.rowsImported == 1_271_274)
        #expect(result.report.skipped == [:])
        #expect(result.report.adjusted == [:])  // every price parses
        #expect(result.values.count == 3_483)
        #expect(result.values.map(\.days).reduce(0, +) == 1_271_274)
        // zcat calendar.csv.gz | awk -F, 'NR>1 && $3=="f"' | wc -l
        #expect(result.values.map(\.unavailableDates.count).reduce(0, +) == 449_296)

        let byID = Dictionary(result.values.map { ($0.listingSourceID, $0) }, uniquingKeysWith: { first, _ in first })
        // zcat calendar.csv.gz | awk -F, '$1=="71609"{n++; if ($3=="f") f++} END {print n, f}' → 365 276
        let belinda = try #require(byID["71609"])
        #expect(belinda.days == 365 && belinda.unavailableDates.count == 276)
        #expect(belinda.firstDate.description == "2023-09-23" && belinda.lastDate.description == "2024-09-21")
        // The one listing with fewer rows (data/insideairbnb/README.md); the same awk gives 344 344.
        let short = try #require(byID["932325448513127523"])
        #expect(short.days == 344 && short.unavailableDates.count == 344)

        // And counted now by zcat and awk, without this module: the calendar has no quoted fields,
        // so its lines are its rows.
        let ids = ["71609", "932325448513127523", "985940069189910173", "5774164"]
        let counts = try shell("zcat '\(calendarPath)' | awk -F, '$3 == \"f\" { n[$1]++ } END { print " + ids.map { "n[\"\($0)\"]+0" }.joined(separator: ", ") + " }'")
        #expect(counts == ids.map { byID[$0].map { String($0.unavailableDates.count) } ?? "-" }.joined(separator: " "))
        #expect(counts.hasPrefix("276 344 "))
    }

    /// The streaming form: the first listing's days, then stop (a thrown error ends the read early).
    @Test func calendarDaysStreamed() throws {
        struct Enough: Error {}
        let (currencies, _) = try #require(catalogues)
        var days: [ImportedCalendarDay] = []
        #expect(throws: Enough.self) {
            try InsideAirbnb.readCalendar(at: calendarPath, currencies: currencies) { day in
                guard day.listingSourceID == "71609" else { throw Enough() }
                days.append(day)
            }
        }
        #expect(days.count == 365)
        #expect(days.filter { !$0.available }.count == 276)
        #expect(days.first == CivilDate(iso: "2023-09-23").map { ImportedCalendarDay(listingSourceID: "71609", date: $0, available: false, priceMinor: 15_000) })
        #expect(days.allSatisfy { $0.priceMinor != nil })
    }

    @Test func reviews() throws {
        let result = try InsideAirbnb.readReviews(at: reviewsPath)
        #expect(result.report.rowsRead == 35_698)
        #expect(result.report.rowsImported == 35_698)
        #expect(result.report.skipped == [:])
        #expect(Set(result.values.map(\.listingSourceID)).count == 1_918)
        #expect(Set(result.values.map(\.reviewerSourceID)).count == 32_992)
        #expect(result.values.filter { $0.listingSourceID == "71609" }.count == 20)
        #expect(result.values.map(\.date).min()?.description == "2011-05-04")
        #expect(result.values.map(\.date).max()?.description == "2023-09-23")
        #expect(result.values.contains { $0.sourceID == "986682050057380546" })
        #expect(result.values.allSatisfy { !$0.comments.contains("\r") && !$0.comments.contains("<br/>") })

        let first = try #require(result.values.first)
        #expect(first.listingSourceID == "71609" && first.sourceID == "793880" && first.date.description == "2011-12-19")
        #expect(first.reviewerSourceID == "1456140" && first.reviewerName == "Max")
        // "…comfortable.\r<br/>Thank you Belinda." in the file.
        #expect(first.comments == "The rooms were clean and tidy. Beds very comfortable.\nThank you Belinda.")
    }

    /// The trimmed standard output of `/bin/sh -c command`.
    private func shell(_ command: String) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
