import Foundation
import Glibc
import Logging
import RoostAPI
import RoostDomain
import RoostEngine
// Not a product of the root package, but built as RoostAPI's dependency: only `LocalObjectStore` is used.
import RoostIntegrations
import RoostStorage

// Search over synthetic listings drawn from the Singapore distributions (Inside Airbnb, data/insideairbnb/singapore),
// spread over 50 cities, beside the PostgreSQL anchor (Benchmarks/anchors/pg/search.sql + search_schema.sql).
//
// What mirrors the anchor, so both sides answer comparable queries:
// - 50 cities `city1`…`city50`, listing i in city 1 + i % 50 (as search_schema.sql), each at its own coordinates.
// - Calendars: the anchor's bookings density over two years: in each week from the start day, with probability 0.4,
//   one stay of 1–5 nights starting on the week's day 0 or 1; 5% of them canceled (so not held); of the held ones
//   80% are booked nights and 20% nights the host blocked (search treats both as taken). ~17% of nights taken.
// - Prices: Singapore's nightly prices (SGD) times `priceScale` = 1.7, chosen so the anchor's price band
//   (BETWEEN pmin AND pmin + 300, pmin 30..600) selects 31.1% of listings on average, as on the anchor's uniform
//   30..999 prices (31.0%). Stored in minor units (× 100); queries ask for pmin × 100 … (pmin + 300) × 100.
// - No stay-length rule: minNights 1, maxNights 365 (Singapore's 90-night minimums would exclude two thirds of the
//   listings from a 2–7 night search; the anchor has no such rule).
// What is Singapore's own (so the selectivity differs a little): guests (accommodates; `guests >= 1..6` keeps 44%
// here against the anchor's 75%) and amenities (wifi+kitchen on 74.8% here, 54% in the anchor). Together the
// anchor's filters before the calendar keep ~10% of a city here and ~12.6% in PostgreSQL (simulated, 100k draws).
//
// How the tables below were measured: a Python script over listings.csv.gz (rows with a price: 3,483): amenity names
// mapped to catalogue codes through data/amenities.json's names and aliases; `accommodates` histogram; nightly price
// quantiles every 2.5% per guest bucket (1, 2, 3–4, 5–6, 7+; the 100% point is the 99.5th percentile); text lengths
// in UTF-8 bytes (name, description: deciles); latitude/longitude standard deviation in km (3.6 km, 4.8 km).

/// The synthetic listings and the queries, deterministic for a seed.
public enum SearchData {
    public static let cityCount = 50
    public static let priceScale = 1.7
    /// The day calendars and queries start from (the anchor's 2027-01-01, unless that is already past).
    public static let anchorStart = CalendarDay(year: 2027, month: 1, day: 1)!

    /// City `c` (1…50): centres on a 5 × 10 grid (about 150 km × 180 km apart), so no two cities share a 0.5° cell.
    public static func centre(ofCity c: Int) -> (latitude: Double, longitude: Double) {
        let row = (c - 1) / 10, column = (c - 1) % 10
        return (36.1 + 1.37 * Double(row), -7.3 + 2.11 * Double(column))
    }

    static let latitudeSigmaKm = 3.6
    static let longitudeSigmaKm = 4.8

    /// `accommodates` → listings (Singapore).
    static let guests: [(Int, Int)] = [
        (1, 843), (2, 1392), (3, 290), (4, 462), (5, 128), (6, 220), (7, 40), (8, 34), (9, 3), (10, 21), (12, 15), (13, 7),
        (15, 1), (16, 27),
    ]
    /// Nightly price (SGD) quantiles 0%, 2.5%, …, 97.5%, 99.5% per guest bucket.
    static let priceQuantiles: [[Double]] = [
        [13, 28, 33, 33, 38, 39, 43, 45, 48, 49, 49, 49, 50, 53, 55, 55, 58, 59, 59, 60, 62, 66, 69, 69, 72, 77, 80, 81, 85, 89, 91, 99, 100, 112, 120, 133, 149, 154, 200, 325, 1300],
        [20, 40, 49, 58, 65, 70, 79, 85, 90, 97, 100, 110, 120, 125, 130, 135, 140, 145, 150, 155, 165, 170, 175, 180, 187, 195, 201, 210, 218, 230, 240, 250, 267, 279, 292, 310, 348, 381, 451, 710, 2888],
        [18, 65, 85, 100, 110, 130, 140, 145, 150, 160, 170, 175, 180, 188, 196, 200, 206, 210, 215, 224, 226, 235, 242, 250, 260, 276, 285, 295, 308, 310, 325, 340, 352, 379, 411, 449, 510, 588, 680, 950, 7286],
        [20, 46, 80, 137, 177, 184, 200, 208, 215, 220, 240, 245, 246, 255, 265, 275, 282, 299, 305, 310, 330, 345, 355, 371, 387, 399, 401, 409, 420, 448, 459, 488, 510, 579, 620, 675, 755, 833, 959, 1025, 3850],
        [22, 22, 24, 24, 26, 28, 31, 31, 31, 34, 42, 47, 53, 64, 73, 165, 200, 200, 229, 248, 269, 273, 300, 325, 362, 388, 421, 460, 464, 511, 543, 570, 642, 700, 786, 866, 986, 1000, 1061, 2300, 4088],
    ]
    static func priceBucket(_ guests: Int) -> Int { guests == 1 ? 0 : guests == 2 ? 1 : guests <= 4 ? 2 : guests <= 6 ? 3 : 4 }

    /// wifi and kitchen together (their joint frequencies): both, wifi only, kitchen only, neither.
    static let wifiKitchen: [Double] = [0.7482, 0.2194, 0.0195, 0.0129]
    /// Every other catalogue code with its frequency (drawn independently).
    static let amenities: [(String, Double)] = [
        ("air_conditioning", 0.972), ("washer", 0.824), ("essentials", 0.792), ("tv", 0.736), ("hangers", 0.726), ("iron", 0.719),
        ("hot_water", 0.638), ("hair_dryer", 0.635), ("dryer", 0.589), ("refrigerator", 0.563), ("long_term_stays", 0.529),
        ("shampoo", 0.514), ("smoke_alarm", 0.509), ("microwave", 0.508), ("elevator", 0.498), ("bed_linens", 0.482),
        ("dishes_and_silverware", 0.475), ("pool", 0.461), ("workspace", 0.448), ("fire_extinguisher", 0.441), ("cooking_basics", 0.44),
        ("stove", 0.387), ("gym", 0.355), ("self_check_in", 0.354), ("luggage_dropoff", 0.322), ("free_parking", 0.315),
        ("lock_on_bedroom_door", 0.315), ("first_aid_kit", 0.285), ("extra_pillows_and_blankets", 0.271), ("private_entrance", 0.266),
        ("heating", 0.244), ("hot_water_kettle", 0.237), ("security_cameras", 0.237), ("oven", 0.236), ("body_soap", 0.207),
        ("paid_parking", 0.205), ("bathtub", 0.188), ("clothing_storage", 0.185), ("cleaning_during_stay", 0.174),
        ("paid_parking_off_premises", 0.169), ("patio_or_balcony", 0.166), ("bbq_grill", 0.162), ("pets_allowed", 0.156),
        ("dining_table", 0.153), ("crib", 0.145), ("backyard", 0.144), ("building_staff", 0.142), ("carbon_monoxide_alarm", 0.138),
        ("breakfast", 0.115), ("single_level_home", 0.113), ("free_street_parking", 0.109), ("host_greets_you", 0.107), ("safe", 0.088),
        ("high_chair", 0.087), ("outdoor_dining_area", 0.084), ("coffee_maker", 0.081), ("exercise_equipment", 0.08), ("hot_tub", 0.077),
        ("smoking_allowed", 0.071), ("room_darkening_shades", 0.064), ("travel_crib", 0.06), ("conditioner", 0.051), ("fans", 0.047),
        ("city_view", 0.046), ("laundromat_nearby", 0.041), ("ethernet", 0.04), ("dishwasher", 0.034), ("garden_view", 0.032),
        ("indoor_fireplace", 0.022), ("childrens_books_and_toys", 0.02), ("baby_bath", 0.02), ("water_view", 0.02),
        ("childrens_dinnerware", 0.019), ("babysitter_recommendations", 0.015), ("waterfront", 0.013), ("beach_access", 0.012),
        ("ev_charger", 0.011), ("sauna", 0.011), ("window_guards", 0.009), ("beachfront", 0.007), ("outlet_covers", 0.005),
        ("changing_table", 0.003), ("baby_monitor", 0.003),
    ]
    /// Codes the radius queries ask for (two of them): frequent ones, as people filter.
    static let queryAmenities = ["wifi", "kitchen", "washer", "pool", "air_conditioning", "tv", "workspace", "gym", "dryer", "elevator"]
    /// Singapore's most common property types and their counts (the rest as "Other").
    static let propertyTypes: [(String, Int)] = [
        ("Private room in rental unit", 679), ("Entire rental unit", 660), ("Entire condo", 446), ("Entire serviced apartment", 362),
        ("Private room in condo", 216), ("Room in hotel", 198), ("Private room in home", 175), ("Room in boutique hotel", 129),
        ("Private room in serviced apartment", 67), ("Room in hostel", 64), ("Private room in townhouse", 54),
        ("Shared room in hostel", 49), ("Other", 384),
    ]
    /// UTF-8 length deciles (0%, 10%, …, 100%) of the name and the description.
    static let titleDeciles: [Double] = [32, 53, 56, 58, 60, 63, 64, 67, 70, 74, 87]
    static let descriptionDeciles: [Double] = [0, 238, 503, 765, 1000, 1000, 1000, 1000, 1002, 1008, 2200]

    /// What one generated listing holds, in UTF-8 bytes: host-written text (title, description, address) and every
    /// other string (ids, place names, type, time zone, currency, amenity codes).
    public struct Sizes: Sendable {
        public var text = 0
        public var otherStrings = 0
        public var calendarWords = 0
        public var amenityCodes = 0
    }

    /// Listing `i`'s id: `lst_` and 16 characters of the id alphabet (a bijection of `i`, so all differ).
    public static func listingID(_ i: Int) -> String { id("lst", UInt64(i) &* 0x9E37_79B9_7F4A_7C15) }
    static func id(_ prefix: String, _ value: UInt64) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        var bytes = Array(prefix.utf8) + [UInt8(ascii: "_"), alphabet[0], alphabet[0], alphabet[0]]
        var v = value
        for _ in 0..<13 {
            bytes.append(alphabet[Int(v & 31)])
            v >>= 5
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Listings one at a time (the generator holds only its tables).
    public struct Generator {
        var random: SplitMix64
        let start: CalendarDay
        let guestCumulative: [Double]
        let typeCumulative: [Double]
        let blob: [UInt8]
        public private(set) var sizes = Sizes()

        /// No night taken: the booking anchor starts from empty calendars.
        public var freeCalendars = false

        public init(seed: UInt64, start: CalendarDay) {
            random = SplitMix64(seed: seed)
            self.start = start
            func cumulative(_ weights: [Int]) -> [Double] {
                let total = Double(weights.reduce(0, +))
                var sum = 0.0
                return weights.map { sum += Double($0); return sum / total }
            }
            guestCumulative = cumulative(SearchData.guests.map(\.1))
            typeCumulative = cumulative(SearchData.propertyTypes.map(\.1))
            // A text to cut titles and descriptions from (ASCII, so any byte range is valid UTF-8).
            let words = "bright cosy spacious quiet modern studio apartment near the MRT station with city views and a pool "
                + "walk to shops cafes and hawker centres fully furnished kitchen fast wifi washer air conditioning "
                + "private room in a friendly home minutes from the beach gardens and the old town perfect for families "
                + "couples business travellers long stays welcome self check in gym rooftop terrace balcony sunset skyline "
            var generator = SplitMix64(seed: seed ^ 0x5EED)
            let pieces = words.split(separator: " ").map(String.init)
            var text: [UInt8] = []
            text.reserveCapacity(1 << 17)
            while text.count < 1 << 17 {
                text += Array(pieces[Int(generator.next() % UInt64(pieces.count))].utf8)
                text.append(UInt8(ascii: " "))
            }
            blob = text
        }

        mutating func uniform() -> Double { Double(random.next() >> 11) * 0x1p-53 }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        mutating func gaussian() -> Double {
            let u = max(uniform(), 1e-12), v = uniform()
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        mutating func pick(_ cumulative: [Double]) -> Int {
            let u = uniform()
            return cumulative.firstIndex { u < $0 } ?? cumulative.count - 1
        }
        mutating func fromDeciles(_ deciles: [Double]) -> Int {
            let u = uniform() * 10, k = min(9, Int(u))
            return Int((deciles[k] + (deciles[k + 1] - deciles[k]) * (u - Double(k))).rounded())
        }
        /// A fresh string (its own storage, as a decoded request or snapshot would give), counted in `bytes`.
        static func fresh(_ text: String, _ bytes: inout Int) -> String {
            bytes += text.utf8.count
            return String(decoding: Array(text.utf8), as: UTF8.self)
        }
        mutating func text(_ length: Int, _ bytes: inout Int) -> String {
            guard length > 0 else { return "" }
            let length = min(length, blob.count / 2)
            let offset = int(0...(blob.count - length - 1))
            bytes += length
            return String(decoding: blob[offset..<offset + length], as: UTF8.self)
        }

        public mutating func listing(_ i: Int) -> ListingRecord {
            let city = 1 + i % SearchData.cityCount
            let centre = SearchData.centre(ofCity: city)
            let guests = SearchData.guests[pick(guestCumulative)].0
            let quantiles = SearchData.priceQuantiles[SearchData.priceBucket(guests)]
            let q = uniform() * Double(quantiles.count - 1), k = min(quantiles.count - 2, Int(q))
            let price = (quantiles[k] + (quantiles[k + 1] - quantiles[k]) * (q - Double(k))) * SearchData.priceScale
            let cents = max(100, Int64((price * 100).rounded()))

            var codes: [String] = []
            switch pick([SearchData.wifiKitchen[0], SearchData.wifiKitchen[0] + SearchData.wifiKitchen[1], 1 - SearchData.wifiKitchen[3], 1]) {
            case 0: codes += ["kitchen", "wifi"]
            case 1: codes.append("wifi")
            case 2: codes.append("kitchen")
            default: break
            }
            for (code, frequency) in SearchData.amenities where uniform() < frequency { codes.append(code) }
            codes.sort()
            var other = 0
            codes = codes.map { Self.fresh($0, &other) }

            // Truncated at 3 sigma, as a city ends somewhere.
            let latKm = max(-3, min(3, gaussian())) * SearchData.latitudeSigmaKm
            let lngKm = max(-3, min(3, gaussian())) * SearchData.longitudeSigmaKm
            let latitude = centre.latitude + latKm / 110.574
            let longitude = centre.longitude + lngKm / (111.320 * cos(centre.latitude * .pi / 180))

            var textBytes = 0
            let title = text(fromDeciles(SearchData.titleDeciles), &textBytes)
            let description = text(fromDeciles(SearchData.descriptionDeciles), &textBytes)
            let address = text(int(12...40), &textBytes)
            let details = ListingDetails(
                title: title, description: description,
                propertyType: Self.fresh(SearchData.propertyTypes[pick(typeCumulative)].0, &other),
                location: ListingLocation(
                    address: address, city: Self.fresh("city\(city)", &other), country: Self.fresh("country\(1 + (city - 1) / 10)", &other),
                    latitude: latitude, longitude: longitude, timeZone: Self.fresh("Europe/Madrid", &other)
                ),
                currency: Self.fresh("EUR", &other), pricePerNight: cents, cleaningFee: (cents * Int64(int(0...40)) / 100),
                maxGuests: guests, bedrooms: max(1, guests / 2), beds: max(1, (guests + 1) / 2), halfBathrooms: 2 * max(1, guests / 3),
                amenities: codes, minNights: 1, maxNights: 365, instantBook: uniform() < 0.371,
                cancellationPolicy: CancellationPolicy.allCases[int(0...2)]
            )
            let id = Self.fresh(SearchData.listingID(i), &other)
            let host = Self.fresh(SearchData.id("usr", UInt64(i / 3) &* 0xD1B5_4A32_D192_ED03), &other)
            var record = ListingRecord(
                id: id, hostID: host, details: details, createdAt: Timestamp(millisecondsSinceEpoch: 1_764_000_000_000 + Int64(i))
            )
            if uniform() < 0.8 {  // Singapore: 80% of listings have reviews, 10 on average
                record.reviewCount = Int32(1 + int(0...24))
                record.ratingTotal = Int64(record.reviewCount) * Int64(int(400...500))
            }
            // The anchor's bookings: each week, p 0.4, one 1–5 night stay from the week's day 0 or 1; 5% canceled.
            for week in 0..<104 where !freeCalendars {
                guard uniform() < 0.4 else { continue }
                let offset = int(0...1), nights = int(1...5)
                guard uniform() >= 0.05 else { continue }
                let first = start.advanced(by: week * 7 + offset)
                record.calendar.set(uniform() < 0.8 ? .booked : .blocked, first..<first.advanced(by: nights), to: true)
            }
            sizes.text += textBytes
            sizes.otherStrings += other
            sizes.calendarWords += record.calendar.wordCount * 2
            sizes.amenityCodes += codes.count
            return record
        }
    }

    /// Query (a), the anchor's: city + price band + guests + wifi and kitchen + free for a 2–7 night window, cheapest 20.
    public static func anchorQuery(_ random: inout SplitMix64, start: CalendarDay) -> ListingQuery {
        var query = ListingQuery()
        let city = 1 + Int(random.next() % 50), pmin = 30 + Int64(random.next() % 571), guests = 1 + Int(random.next() % 6)
        let day = Int(random.next() % 351), nights = 2 + Int(random.next() % 6)
        query.place = TextKey.make("city\(city)")
        query.priceRange = (pmin * 100)...((pmin + 300) * 100)
        query.guests = guests
        query.amenities = ["kitchen", "wifi"]
        query.stay = start.advanced(by: day)..<start.advanced(by: day + nights)
        query.sort = .priceAscending
        query.limit = 20
        return query
    }

    /// Query (b): 3 km around a city's centre, two amenities (distance to the centre reported, as the route does).
    public static func radiusQuery(_ random: inout SplitMix64) -> ListingQuery {
        var query = ListingQuery()
        let centre = centre(ofCity: 1 + Int(random.next() % 50))
        query.area = .radius(latitude: centre.latitude, longitude: centre.longitude, kilometres: 3)
        query.origin = centre
        let first = Int(random.next() % UInt64(queryAmenities.count))
        let second = (first + 1 + Int(random.next() % UInt64(queryAmenities.count - 1))) % queryAmenities.count
        query.amenities = [queryAmenities[first], queryAmenities[second]].sorted()
        query.limit = 20
        return query
    }

    /// Query (c): a box of about 11 × 12 km around a point of a city, cheapest first.
    public static func boxQuery(_ random: inout SplitMix64) -> ListingQuery {
        var query = ListingQuery()
        let centre = centre(ofCity: 1 + Int(random.next() % 50))
        let lat = centre.latitude + (Double(random.next() % 2001) / 1000 - 1) * 0.03
        let lng = centre.longitude + (Double(random.next() % 2001) / 1000 - 1) * 0.04
        query.area = .box(minLongitude: lng - 0.07, minLatitude: lat - 0.05, maxLongitude: lng + 0.07, maxLatitude: lat + 0.05)
        query.sort = .priceAscending
        query.limit = 20
        return query
    }
}

public enum SearchWorkload {
    public struct Config: Sendable {
        public var listings: Int
        public var shards: Int
        public var queries: Int
        public var warmup: Int
        public var dataDirectory: String
        public var keep: Bool
        public var start: CalendarDay
        public var seed: UInt64
        /// Also measure the records alone (an array of them, no engine): where the bytes per listing go.
        public var breakdown = false
        /// Calendars with no night taken (for booking over HTTP, as the booking anchor starts empty).
        public var freeCalendars = false

        public init(listings: Int, shards: Int, queries: Int, warmup: Int, dataDirectory: String, keep: Bool, start: CalendarDay, seed: UInt64) {
            self.listings = listings
            self.shards = shards
            self.queries = queries
            self.warmup = warmup
            self.dataDirectory = dataDirectory
            self.keep = keep
            self.start = start
            self.seed = seed
        }
    }

    /// glibc's `malloc_trim(0)` (not in the Glibc module): returns freed heap pages to the kernel, so RSS counts what is live.
    static func trimMalloc() {
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// Resident set size of this process (VmRSS), in bytes.
    public static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }

    /// Loads the listings, measures memory, times the queries; prints `# …` notes and `RESULT …` lines through `say`.
    public static func run(_ config: Config, say: (String) -> Void) async throws {
        let logger = benchLogger("roost-bench.search")
        if config.breakdown {
            // The same records in a plain array: their own bytes (inline struct, strings, amenity arrays, calendar words),
            // without the shards' dictionaries and the search index.
            trimMalloc()
            let before = residentBytes()
            var generator = SearchData.Generator(seed: config.seed, start: config.start)
            var records: [ListingRecord] = []
            records.reserveCapacity(config.listings)
            for i in 0..<config.listings { records.append(generator.listing(i)) }
            let after = residentBytes()
            records = []
            trimMalloc()
            let n = Double(config.listings)
            say(
                "RESULT search-memory records_only_bytes_per_listing=\(format(Double(after - before) / n, 0)) "
                    + "record_inline_bytes=\(MemoryLayout<ListingRecord>.stride) details_inline_bytes=\(MemoryLayout<ListingDetails>.stride) "
                    + "text_bytes_per_listing=\(format(Double(generator.sizes.text) / n, 0)) "
                    + "amenities_per_listing=\(format(Double(generator.sizes.amenityCodes) / n, 1))")
        }
        try BenchFiles.freshDirectory(config.dataDirectory)
        var keepDirectory = false
        defer { if !keepDirectory { BenchFiles.remove(config.dataDirectory) } }
        let engine = try Engine.open(
            options: EngineOptions(dataDirectory: config.dataDirectory, shardCount: config.shards, wal: WALOptions(fsync: .off), snapshotsKept: 1),
            aggregates: roostAggregates, logger: logger
        )
        var open = true
        defer { if open { engine.close() } }
        let group = engine.group(Listings.self)

        // ------------------------------------------------------------------ load
        var generator = SearchData.Generator(seed: config.seed, start: config.start)
        generator.freeCalendars = config.freeCalendars
        trimMalloc()
        let rssBefore = residentBytes()
        let stamp = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)
        let loadStart = BenchClock.nanoseconds()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var inFlight = 0
            for i in 0..<config.listings {
                let record = generator.listing(i)
                if inFlight >= 512 {
                    try await tasks.next()
                    inFlight -= 1
                }
                let shard = group.shard(for: record.id)
                tasks.addTask { try await shard.execute(.create(record), now: stamp) }
                inFlight += 1
            }
            try await tasks.waitForAll()
        }
        let loadSeconds = Double(BenchClock.nanoseconds() - loadStart) / 1e9
        var loaded = 0
        for shard in group.shards { loaded += shard.peek { $0.listings.count } }
        guard loaded == config.listings else { throw BenchError("loaded \(loaded) listings, expected \(config.listings)") }
        let rssAfter = residentBytes()
        trimMalloc()
        let rssTrimmed = residentBytes()
        let sizes = generator.sizes
        let n = Double(config.listings)
        let perListing = Double(rssTrimmed - rssBefore) / n
        let textPerListing = Double(sizes.text) / n
        say(
            "# search: loaded \(config.listings) listings into \(config.shards) shards in \(format(loadSeconds, 2)) s (WAL fsync off); "
                + "RSS \(rssBefore / 1_048_576) MiB before, \(rssAfter / 1_048_576) MiB after, \(rssTrimmed / 1_048_576) MiB after malloc_trim")
        say(
            "RESULT search-load listings=\(config.listings) shards=\(config.shards) seconds=\(format(loadSeconds, 3)) "
                + "listings_per_s=\(format(n / loadSeconds, 0)) rss_before_bytes=\(rssBefore) rss_after_bytes=\(rssAfter) "
                + "rss_after_trim_bytes=\(rssTrimmed) bytes_per_listing=\(format(perListing, 0)) "
                + "text_bytes_per_listing=\(format(textPerListing, 0)) other_string_bytes_per_listing=\(format(Double(sizes.otherStrings) / n, 0)) "
                + "bytes_per_listing_excl_text=\(format(perListing - textPerListing, 0)) calendar_words_per_listing=\(format(Double(sizes.calendarWords) / n, 1))")

        // ------------------------------------------------------------------ queries
        let media = MediaLibrary(store: try LocalObjectStore(root: config.dataDirectory + "/uploads"))
        let service = ListingService(group: group, media: media, clock: { Date() })
        var random = SplitMix64(seed: config.seed ^ 0xA11CE)

        struct Tally {
            var samples: [UInt64] = []
            var totals = 0
            var hits = 0
            var empty = 0
            var skipped = 0
        }
        func timed(_ query: ListingQuery) async -> (UInt64, SearchPage) {
            let started = BenchClock.nanoseconds()
            let page = service.search(query)
            let elapsed = BenchClock.nanoseconds() - started
            precondition(page.hits.allSatisfy { $0.summary.isRendered }, "search returned hits without their summaries")
            return (elapsed, page)
        }
        func tallyUp(_ tally: inout Tally, _ elapsed: UInt64, _ page: SearchPage) {
            tally.samples.append(elapsed)
            tally.totals += page.total
            tally.hits += page.hits.count
            if page.hits.isEmpty { tally.empty += 1 }
        }
        func line(_ name: String, _ tally: Tally, _ what: String) -> String {
            let latency = LatencySummary(nanoseconds: [tally.samples])
            let count = max(1, tally.samples.count)
            return "search-engine query=\(name) queries=\(tally.samples.count) p50_us=\(format(latency.p50Micros, 1)) "
                + "p90_us=\(format(latency.p90Micros, 1)) p99_us=\(format(latency.p99Micros, 1)) p999_us=\(format(latency.p999Micros, 1)) "
                + "max_us=\(format(latency.maxMicros, 1)) mean_us=\(format(latency.meanMicros, 1)) "
                + "total_avg=\(format(Double(tally.totals) / Double(count), 1)) hits_avg=\(format(Double(tally.hits) / Double(count), 1)) "
                + "empty=\(tally.empty) skipped=\(tally.skipped) what=\(what)"
        }

        // Warm-up: every kind, untimed.
        for _ in 0..<config.warmup {
            _ = service.search(SearchData.anchorQuery(&random, start: config.start))
            _ = service.search(SearchData.radiusQuery(&random))
            _ = service.search(SearchData.boxQuery(&random))
        }

        var a = Tally(), b = Tally(), c1 = Tally(), c10 = Tally()
        // Interleaved, so a slow moment of the machine lands on every kind alike.
        for _ in 0..<config.queries {
            let (ta, pa) = await timed(SearchData.anchorQuery(&random, start: config.start))
            tallyUp(&a, ta, pa)
            let (tb, pb) = await timed(SearchData.radiusQuery(&random))
            tallyUp(&b, tb, pb)
            var box = SearchData.boxQuery(&random)
            let (t1, p1) = await timed(box)
            tallyUp(&c1, t1, p1)
            // Page 10: follow the cursor through pages 2…9 (untimed), then time the 10th page alone.
            var page = p1
            var reached = true
            for _ in 2...9 {
                guard page.hits.count == box.limit, let last = page.hits.last else { reached = false; break }
                box.after = last.key
                page = service.search(box)
            }
            if reached, page.hits.count == box.limit, let last = page.hits.last {
                box.after = last.key
                let (t10, p10) = await timed(box)
                tallyUp(&c10, t10, p10)
            } else {
                c10.skipped += 1
            }
        }
        let cityListings = Double(config.listings) / Double(SearchData.cityCount)
        say(
            "# search: (a) matched \(format(Double(a.totals) / Double(max(1, config.queries)) / cityListings * 100, 2))% of a city's listings "
                + "on average (after the calendar), \(a.empty) of \(config.queries) found nothing")
        say("RESULT " + line("a", a, "city+price+guests+wifi,kitchen+free_2-7_nights,cheapest_20"))
        say("RESULT " + line("b", b, "radius_3km_city_centre+2_amenities"))
        say("RESULT " + line("c1", c1, "bbox_11x12km+price_asc,page_1"))
        say("RESULT " + line("c10", c10, "bbox_11x12km+price_asc,page_10_by_cursor"))

        // ------------------------------------------------------------------ keep
        if config.keep {
            let started = BenchClock.nanoseconds()
            let lsn = try await engine.snapshot()
            let seconds = Double(BenchClock.nanoseconds() - started) / 1e9
            let snapshotBytes = BenchFiles.files(in: config.dataDirectory + "/snapshots").reduce(0) { $0 + BenchFiles.size($1) }
            let walBytes = BenchFiles.files(in: config.dataDirectory + "/wal").reduce(0) { $0 + BenchFiles.size($1) }
            engine.close()
            open = false
            keepDirectory = true
            say(
                "RESULT search-snapshot seconds=\(format(seconds, 3)) lsn=\(lsn) snapshot_bytes=\(snapshotBytes) wal_bytes_left=\(walBytes) "
                    + "data_dir=\(config.dataDirectory)")
        }
    }
}
