import Foundation

// # Inside Airbnb
//
// Reads a city's "detailed" files from Inside Airbnb (http://insideairbnb.com) — `listings.csv.gz`,
// `calendar.csv.gz` and `reviews.csv.gz` — into plain values. The copy shipped in
// `data/insideairbnb/singapore/` is:
//
//   Data from Inside Airbnb (http://insideairbnb.com), Singapore, compiled 23 September 2023,
//   licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
//
// Show that attribution wherever the data, or anything derived from it, is shown or shipped; see
// data/README.md and data/insideairbnb/README.md (columns, and the quirks handled here).
//
// Conventions of the mapping:
// - A row becomes a value, or is skipped with a reason counted in its `ImportReport`. Only I/O,
//   damaged gzip data, a missing column or an unknown currency stop a read.
// - Ids stay text (they go up to 18 digits, past 2^53), checked to be decimal digits.
// - Prices are in the city's local currency (SGD for Singapore), in its minor units.

/// A listing from Inside Airbnb's `listings.csv`.
public struct ImportedListing: Sendable, Equatable {
    /// `id`.
    public var sourceID: String
    /// `host_id`.
    public var hostSourceID: String
    /// `host_name`, trimmed (may be empty).
    public var hostName: String
    /// `name`, trimmed and cut to ``InsideAirbnb/titleLimit`` characters.
    public var title: String
    /// `description` as plain text (`<br />` → line break, `<b>` dropped), cut to ``InsideAirbnb/descriptionLimit``.
    public var description: String
    /// `neighbourhood_cleansed` (the planning area, such as `Tampines`); nil when empty. The free-text
    /// `neighbourhood` column (`Singapore, Singapore`) is not used.
    public var neighbourhood: String?
    public var latitude: Double
    public var longitude: Double
    /// `property_type`, as written (`Private room in villa`).
    public var propertyType: String
    /// `room_type`: `Entire home/apt`, `Private room`, `Shared room` or `Hotel room`.
    public var roomType: String
    /// `accommodates`, clamped to ``InsideAirbnb/guestBounds``; 1 when missing.
    public var maxGuests: Int
    /// `bedrooms`; when empty, the count in `name` (`2 bedrooms`, `Studio` = 0); else nil.
    public var bedrooms: Int?
    /// `beds`; when empty, the count in `name` (`3 beds`); else nil.
    public var beds: Int?
    /// See ``InsideAirbnb/parseBathrooms(number:text:)``.
    public var bathrooms: Double?
    /// Catalogue codes of the listing's amenities, sorted, unique.
    public var amenityCodes: [String]
    /// The listing's amenity labels the catalogue does not know, as written, sorted, unique.
    public var unknownAmenities: [String]
    /// `price` per night in minor units of the import's currency (`$1,600.00` in SGD → 160000).
    public var pricePerNightMinor: Int64
    /// `minimum_nights`, clamped to ``InsideAirbnb/nightBounds``; 1 when missing.
    public var minNights: Int
    /// `maximum_nights`, clamped to `minNights…`1,125; 1,125 when missing.
    public var maxNights: Int
    /// `instant_bookable` is `t`.
    public var instantBook: Bool
    /// `review_scores_rating` (0…5); nil when empty or out of range.
    public var rating: Double?
    /// `number_of_reviews`; 0 when missing.
    public var reviewCount: Int

    public init(
        sourceID: String, hostSourceID: String, hostName: String, title: String, description: String,
        neighbourhood: String?, latitude: Double, longitude: Double, propertyType: String, roomType: String,
        maxGuests: Int, bedrooms: Int?, beds: Int?, bathrooms: Double?, amenityCodes: [String], unknownAmenities: [String],
        pricePerNightMinor: Int64, minNights: Int, maxNights: Int, instantBook: Bool, rating: Double?, reviewCount: Int
    ) {
        self.sourceID = sourceID
        self.hostSourceID = hostSourceID
        self.hostName = hostName
        self.title = title
        self.description = description
        self.neighbourhood = neighbourhood
        self.latitude = latitude
        self.longitude = longitude
        self.propertyType = propertyType
        self.roomType = roomType
        self.maxGuests = maxGuests
        self.bedrooms = bedrooms
        self.beds = beds
        self.bathrooms = bathrooms
        self.amenityCodes = amenityCodes
        self.unknownAmenities = unknownAmenities
        self.pricePerNightMinor = pricePerNightMinor
        self.minNights = minNights
        self.maxNights = maxNights
        self.instantBook = instantBook
        self.rating = rating
        self.reviewCount = reviewCount
    }
}

/// One row of Inside Airbnb's `calendar.csv`: a listing on a day.
public struct ImportedCalendarDay: Sendable, Equatable {
    public var listingSourceID: String
    public var date: CivilDate
    /// `available` is `t`. `f` means booked or blocked: the data does not say which.
    public var available: Bool
    /// `price` in minor units; nil when empty, zero or unparsable (the listing's price applies).
    public var priceMinor: Int64?

    public init(listingSourceID: String, date: CivilDate, available: Bool, priceMinor: Int64?) {
        self.listingSourceID = listingSourceID
        self.date = date
        self.available = available
        self.priceMinor = priceMinor
    }
}

/// One listing's calendar, summarised: what ``InsideAirbnb/readCalendarByListing(at:currency:currencies:)`` returns.
public struct ListingCalendar: Sendable, Equatable {
    public let listingSourceID: String
    /// The first and last dates seen (rows are sorted by date in Inside Airbnb's files).
    public internal(set) var firstDate: CivilDate
    public internal(set) var lastDate: CivilDate
    /// Rows read for the listing.
    public internal(set) var days: Int
    /// The dates with `available = f`, in file order.
    public internal(set) var unavailableDates: [CivilDate]
}

/// One row of Inside Airbnb's `reviews.csv`.
public struct ImportedReview: Sendable, Equatable {
    public var listingSourceID: String
    /// `id`.
    public var sourceID: String
    public var date: CivilDate
    /// `reviewer_id` (may be empty).
    public var reviewerSourceID: String
    /// `reviewer_name`, trimmed (may be empty).
    public var reviewerName: String
    /// `comments` as plain text: `<br/>` and bare CRs become line breaks; trimmed.
    public var comments: String

    public init(listingSourceID: String, sourceID: String, date: CivilDate, reviewerSourceID: String, reviewerName: String, comments: String) {
        self.listingSourceID = listingSourceID
        self.sourceID = sourceID
        self.date = date
        self.reviewerSourceID = reviewerSourceID
        self.reviewerName = reviewerName
        self.comments = comments
    }
}

/// Inside Airbnb's files as plain values. See the top of this file for the dataset and its licence.
public enum InsideAirbnb {
    /// The dearest nightly price a listing may have, in minor units (the API's cap too).
    public static let priceMaxMinor: Int64 = 1_000_000_000_000

    /// The attribution the Singapore copy in `data/insideairbnb/singapore/` requires (CC BY 4.0).
    public static let singaporeAttribution =
        "Data from Inside Airbnb (http://insideairbnb.com), Singapore, compiled 23 September 2023, licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)."

    /// The longest title kept, in characters.
    public static let titleLimit = 120
    /// The longest description kept, in characters.
    public static let descriptionLimit = 5_000
    /// `accommodates` is clamped to this.
    public static let guestBounds = 1...50
    /// `minimum_nights` is clamped to this, and `maximum_nights` to its lower bound `minNights`
    /// and upper bound 1,125 (Airbnb's own "no maximum", about three years). Singapore has
    /// `maximum_nights` of 9,001 and 100,000, and `minimum_nights` up to 1,000 (kept).
    public static let nightBounds = 1...1_125

    // MARK: Listings

    /// Reads `listings.csv(.gz)` at `path`. `currency` is the currency the file's prices are in.
    ///
    /// Skips (with the reason in the report): malformed CSV records; a missing or non-numeric `id`
    /// or `host_id`; an `id` seen before; an empty `name`; a missing latitude or longitude, or one that is
    /// not a number within ±90 / ±180 (`bad latitude`); a missing, unparsable or zero `price`. Unknown
    /// amenities are counted in the report, never fatal; so are values clamped or defaulted.
    public static func readListings(
        at path: String, currency: String = "SGD", currencies: CurrencyTable, amenities: AmenityCatalogue
    ) throws -> ImportResult<ImportedListing> {
        try readListings(CSVReader(path: path), currency: currency, currencies: currencies, amenities: amenities)
    }

    /// Reads listings from `reader`; see ``readListings(at:currency:currencies:amenities:)``.
    public static func readListings<Source: ByteChunkSource>(
        _ reader: CSVReader<Source>, currency: String = "SGD", currencies: CurrencyTable, amenities: AmenityCatalogue
    ) throws -> ImportResult<ImportedListing> {
        var reader = reader
        var mapper = try ListingMapper(
            header: reader.header, file: reader.name, exponent: exponent(of: currency, in: currencies), amenities: amenities)
        var report = ImportReport(file: reader.name)
        var listings: [ImportedListing] = []
        try reader.forEachRecord { record in
            report.rowsRead += 1
            switch record {
            case let .failure(error):
                report.skip(line: error.line, error.reason)
            case let .success(row):
                do throws(SkipReason) {
                    listings.append(try mapper.listing(from: row, report: &report))
                    report.rowsImported += 1
                } catch {
                    report.skip(line: row.line, error.reason)
                }
            }
        }
        return ImportResult(values: listings, report: report)
    }

    // MARK: Calendar

    /// Streams `calendar.csv(.gz)` at `path` through `body`, one row at a time, without keeping them:
    /// 1.27 million rows for Singapore. Skips rows with a missing or non-numeric `listing_id`, a date
    /// that is not `YYYY-MM-DD`, or `available` other than `t`/`f`.
    public static func readCalendar(
        at path: String, currency: String = "SGD", currencies: CurrencyTable, _ body: (ImportedCalendarDay) throws -> Void
    ) throws -> ImportReport {
        try readCalendar(CSVReader(path: path), currency: currency, currencies: currencies, body)
    }

    /// Streams calendar rows from `reader`; see ``readCalendar(at:currency:currencies:_:)``.
    public static func readCalendar<Source: ByteChunkSource>(
        _ reader: CSVReader<Source>, currency: String = "SGD", currencies: CurrencyTable, _ body: (ImportedCalendarDay) throws -> Void
    ) throws -> ImportReport {
        var reader = reader
        let exponent = try exponent(of: currency, in: currencies)
        let file = reader.name
        let listingID = try column("listing_id", reader.header, file)
        let date = try column("date", reader.header, file)
        let available = try column("available", reader.header, file)
        let price = try column("price", reader.header, file)
        var report = ImportReport(file: file)
        // Rows come grouped by listing: make each listing's id string once.
        var lastIDBytes: [UInt8] = []
        var lastID = ""
        try reader.forEachRecord { record in
            report.rowsRead += 1
            let row: CSVRow
            switch record {
            case let .failure(error):
                report.skip(line: error.line, error.reason)
                return
            case let .success(success):
                row = success
            }
            let idBytes = row.bytes(at: listingID)
            if !idBytes.elementsEqual(lastIDBytes) {
                guard isSourceID(idBytes) else {
                    report.skip(line: row.line, idBytes.isEmpty ? "listing id missing" : "bad listing id")
                    return
                }
                lastIDBytes = Array(idBytes)
                lastID = String(decoding: idBytes, as: UTF8.self)
            }
            guard let day = CivilDate(isoBytes: row.bytes(at: date)) else {
                report.skip(line: row.line, "bad date")
                return
            }
            let flag = row.bytes(at: available)
            guard flag.count == 1, let isAvailable = flag.first.flatMap({ $0 == UInt8(ascii: "t") ? true : $0 == UInt8(ascii: "f") ? false : nil })
            else {
                report.skip(line: row.line, "available is not t or f")
                return
            }
            var priceMinor: Int64?
            let priceBytes = row.bytes(at: price)
            if !priceBytes.isEmpty {
                priceMinor = parsePrice(priceBytes, exponent: exponent)
                if priceMinor == nil { report.adjust("price unparsable (no price used)") }
                if priceMinor == 0 { priceMinor = nil }
            }
            try body(ImportedCalendarDay(listingSourceID: lastID, date: day, available: isAvailable, priceMinor: priceMinor))
            report.rowsImported += 1
        }
        return report
    }

    /// Reads `calendar.csv(.gz)` at `path` into one ``ListingCalendar`` per listing, in order of first
    /// appearance: the dates a listing is not available, without a value per row.
    public static func readCalendarByListing(
        at path: String, currency: String = "SGD", currencies: CurrencyTable
    ) throws -> ImportResult<ListingCalendar> {
        try readCalendarByListing(CSVReader(path: path), currency: currency, currencies: currencies)
    }

    /// Reads calendars from `reader`; see ``readCalendarByListing(at:currency:currencies:)``.
    public static func readCalendarByListing<Source: ByteChunkSource>(
        _ reader: CSVReader<Source>, currency: String = "SGD", currencies: CurrencyTable
    ) throws -> ImportResult<ListingCalendar> {
        var calendars: [ListingCalendar] = []
        var positions: [String: Int] = [:]
        var current = -1
        let report = try readCalendar(reader, currency: currency, currencies: currencies) { day in
            if current < 0 || calendars[current].listingSourceID != day.listingSourceID {
                if let known = positions[day.listingSourceID] {
                    current = known
                } else {
                    current = calendars.count
                    positions[day.listingSourceID] = current
                    calendars.append(ListingCalendar(listingSourceID: day.listingSourceID, firstDate: day.date, lastDate: day.date, days: 0, unavailableDates: []))
                }
            }
            calendars[current].days += 1
            calendars[current].firstDate = min(calendars[current].firstDate, day.date)
            calendars[current].lastDate = max(calendars[current].lastDate, day.date)
            if !day.available { calendars[current].unavailableDates.append(day.date) }
        }
        return ImportResult(values: calendars, report: report)
    }

    // MARK: Reviews

    /// Reads `reviews.csv(.gz)` at `path`. Skips rows with a missing or non-numeric `listing_id` or `id`,
    /// an `id` seen before, or a date that is not `YYYY-MM-DD`.
    public static func readReviews(at path: String) throws -> ImportResult<ImportedReview> {
        try readReviews(CSVReader(path: path))
    }

    /// Reads reviews from `reader`; see ``readReviews(at:)``.
    public static func readReviews<Source: ByteChunkSource>(_ reader: CSVReader<Source>) throws -> ImportResult<ImportedReview> {
        var reader = reader
        let file = reader.name
        let listingID = try column("listing_id", reader.header, file)
        let id = try column("id", reader.header, file)
        let date = try column("date", reader.header, file)
        let reviewerID = try column("reviewer_id", reader.header, file)
        let reviewerName = try column("reviewer_name", reader.header, file)
        let comments = try column("comments", reader.header, file)
        var report = ImportReport(file: file)
        var reviews: [ImportedReview] = []
        var seen: Set<String> = []
        try reader.forEachRecord { record in
            report.rowsRead += 1
            let row: CSVRow
            switch record {
            case let .failure(error):
                report.skip(line: error.line, error.reason)
                return
            case let .success(success):
                row = success
            }
            let listingBytes = row.bytes(at: listingID), idBytes = row.bytes(at: id)
            guard isSourceID(listingBytes) else {
                report.skip(line: row.line, listingBytes.isEmpty ? "listing id missing" : "bad listing id")
                return
            }
            guard isSourceID(idBytes) else {
                report.skip(line: row.line, idBytes.isEmpty ? "id missing" : "bad id")
                return
            }
            guard let day = CivilDate(isoBytes: row.bytes(at: date)) else {
                report.skip(line: row.line, "bad date")
                return
            }
            let sourceID = row[id]
            guard seen.insert(sourceID).inserted else {
                report.skip(line: row.line, "duplicate id")
                return
            }
            reviews.append(
                ImportedReview(
                    listingSourceID: row[listingID], sourceID: sourceID, date: day,
                    reviewerSourceID: row[reviewerID].trimmedWhitespace,
                    reviewerName: row[reviewerName].trimmedWhitespace,
                    comments: plainText(row.bytes(at: comments), dropBold: false)))
            report.rowsImported += 1
        }
        return ImportResult(values: reviews, report: report)
    }

    // MARK: Shared

    static func exponent(of currency: String, in currencies: CurrencyTable) throws -> Int {
        guard let exponent = currencies.exponent(of: currency) else { throw RoostDataError.unknownCurrency(currency) }
        return exponent
    }

    static func column(_ name: String, _ header: CSVHeader, _ file: String) throws -> Int {
        guard let index = header.index(of: name) else { throw RoostDataError.missingColumn(path: file, column: name) }
        return index
    }
}

/// Why a row was skipped.
struct SkipReason: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Maps `listings.csv` rows to ``ImportedListing``s.
struct ListingMapper {
    let exponent: Int
    let amenities: AmenityCatalogue
    var seen: Set<String> = []
    private let decoder = JSONDecoder()

    // Columns the mapping cannot do without.
    let id, name, hostID, latitude, longitude, price: Int
    // Columns with a default when a file lacks them.
    let hostName, description, neighbourhood, propertyType, roomType, accommodates: Int?
    let bathrooms, bathroomsText, bedrooms, beds, amenityList: Int?
    let minimumNights, maximumNights, instantBookable, rating, reviewCount: Int?

    init(header: CSVHeader, file: String, exponent: Int, amenities: AmenityCatalogue) throws {
        self.exponent = exponent
        self.amenities = amenities
        func required(_ name: String) throws -> Int { try InsideAirbnb.column(name, header, file) }
        id = try required("id")
        name = try required("name")
        hostID = try required("host_id")
        latitude = try required("latitude")
        longitude = try required("longitude")
        price = try required("price")
        hostName = header.index(of: "host_name")
        description = header.index(of: "description")
        neighbourhood = header.index(of: "neighbourhood_cleansed")
        propertyType = header.index(of: "property_type")
        roomType = header.index(of: "room_type")
        accommodates = header.index(of: "accommodates")
        bathrooms = header.index(of: "bathrooms")
        bathroomsText = header.index(of: "bathrooms_text")
        bedrooms = header.index(of: "bedrooms")
        beds = header.index(of: "beds")
        amenityList = header.index(of: "amenities")
        minimumNights = header.index(of: "minimum_nights")
        maximumNights = header.index(of: "maximum_nights")
        instantBookable = header.index(of: "instant_bookable")
        rating = header.index(of: "review_scores_rating")
        reviewCount = header.index(of: "number_of_reviews")
    }

    mutating func listing(from row: CSVRow, report: inout ImportReport) throws(SkipReason) -> ImportedListing {
        func text(_ column: Int?) -> String {
            column.map { row[$0].trimmedWhitespace } ?? ""
        }
        func integer(_ column: Int?) -> Int? { Int(text(column)) }

        let idBytes = row.bytes(at: id)
        guard InsideAirbnb.isSourceID(idBytes) else { throw SkipReason(idBytes.isEmpty ? "id missing" : "bad id") }
        let sourceID = row[id]
        guard !seen.contains(sourceID) else { throw SkipReason("duplicate id") }
        let hostBytes = row.bytes(at: hostID)
        guard InsideAirbnb.isSourceID(hostBytes) else { throw SkipReason(hostBytes.isEmpty ? "host id missing" : "bad host id") }
        let name = row[name]
        let title = InsideAirbnb.trimmed(name, limit: InsideAirbnb.titleLimit)
        guard !title.isEmpty else { throw SkipReason("name missing") }
        let latitude = try coordinate(text(latitude), "latitude", limit: 90)
        let longitude = try coordinate(text(longitude), "longitude", limit: 180)
        let priceBytes = row.bytes(at: price)
        guard !priceBytes.isEmpty else { throw SkipReason("price missing") }
        guard let priceMinor = InsideAirbnb.parsePrice(priceBytes, exponent: exponent) else { throw SkipReason("bad price") }
        guard priceMinor > 0 else { throw SkipReason("price is zero") }
        // The API's cap on a nightly price (`ListingRules.priceMax`): an import makes no listing the API would refuse.
        guard priceMinor <= InsideAirbnb.priceMaxMinor else { throw SkipReason("price past 1,000,000,000,000 minor units") }

        // From here on the row is imported; odd values are adjusted and counted.
        var maxGuests = 1
        if let guests = integer(accommodates) {
            maxGuests = clamp(guests, InsideAirbnb.guestBounds, "accommodates clamped to 1…50", &report)
        } else {
            report.adjust("accommodates missing (1 used)")
        }
        let bounds = InsideAirbnb.nightBounds
        var minNights = bounds.lowerBound
        if let nights = integer(minimumNights) {
            minNights = clamp(nights, bounds, "minimum_nights clamped to 1…1125", &report)
        } else {
            report.adjust("minimum_nights missing (1 used)")
        }
        var maxNights = bounds.upperBound
        if let nights = integer(maximumNights) {
            maxNights = clamp(nights, minNights...bounds.upperBound, "maximum_nights clamped to minimum_nights…1125", &report)
        } else {
            report.adjust("maximum_nights missing (1125 used)")
        }

        var bedroomCount = integer(bedrooms)
        var bedCount = integer(beds)
        if bedroomCount == nil || bedCount == nil {
            let fromName = InsideAirbnb.roomsFromName(name)
            if bedroomCount == nil, let count = fromName.bedrooms {
                bedroomCount = count
                report.adjust("bedrooms taken from name")
            }
            if bedCount == nil, let count = fromName.beds {
                bedCount = count
                report.adjust("beds taken from name")
            }
        }

        var score = Double(text(rating))
        if let value = score, !(0...5).contains(value) {
            score = nil
            report.adjust("review_scores_rating outside 0…5 (dropped)")
        }

        var codes: Set<String> = []
        var unknown: Set<String> = []
        let labels = text(amenityList)
        if !labels.isEmpty {
            if let list = try? decoder.decode([String].self, from: Data(labels.utf8)) {
                for label in list {
                    if let code = amenities.code(forName: label) { codes.insert(code) } else { unknown.insert(label) }
                }
            } else {
                report.adjust("amenities not a JSON array of strings (none used)")
            }
        }
        for label in unknown { report.unknownAmenities[label, default: 0] += 1 }

        seen.insert(sourceID)
        let neighbourhoodName = text(neighbourhood)
        return ImportedListing(
            sourceID: sourceID,
            hostSourceID: row[hostID],
            hostName: text(hostName),
            title: title,
            description: description.map {
                InsideAirbnb.trimmed(InsideAirbnb.plainText(row.bytes(at: $0), dropBold: true), limit: InsideAirbnb.descriptionLimit)
            } ?? "",
            neighbourhood: neighbourhoodName.isEmpty ? nil : neighbourhoodName,
            latitude: latitude,
            longitude: longitude,
            propertyType: text(propertyType),
            roomType: text(roomType),
            maxGuests: maxGuests,
            bedrooms: bedroomCount,
            beds: bedCount,
            bathrooms: InsideAirbnb.parseBathrooms(number: text(bathrooms), text: text(bathroomsText)),
            amenityCodes: codes.sorted(),
            unknownAmenities: unknown.sorted(),
            pricePerNightMinor: priceMinor,
            minNights: minNights,
            maxNights: maxNights,
            instantBook: text(instantBookable) == "t",
            rating: score,
            reviewCount: max(0, integer(reviewCount) ?? 0))
    }

    private func coordinate(_ text: String, _ what: String, limit: Double) throws(SkipReason) -> Double {
        guard !text.isEmpty else { throw SkipReason("\(what) missing") }
        guard let value = Double(text), value.isFinite, abs(value) <= limit else { throw SkipReason("bad \(what)") }
        return value
    }

    private func clamp(_ value: Int, _ bounds: ClosedRange<Int>, _ note: String, _ report: inout ImportReport) -> Int {
        let clamped = min(max(value, bounds.lowerBound), bounds.upperBound)
        if clamped != value { report.adjust(note) }
        return clamped
    }
}
