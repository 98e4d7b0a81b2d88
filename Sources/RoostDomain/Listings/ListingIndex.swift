#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard's search index over its active listings.
///
/// Every indexed listing has a slot. Its filter values sit in posting lists, one per city, per
/// country and per geographic cell, each entry carrying what most queries test (price, guests,
/// the amenity bitmask, the stay-length rule, coordinates), so a city-sized query reads one
/// contiguous array and touches a listing's other values (by slot, in flat arrays) only once
/// those pass. Entries are kept in no particular order and removed by swapping in the list's last
/// entry; each slot remembers where its three entries are.
///
/// Taken nights (blocked or booked) are kept by 64-night block beside each city list, one word
/// per position in it: a city's query reads them in the order it reads the list's entries (no
/// random memory access per listing); other lists reach them through the listing's city position.
///
/// Derived from the listings — rebuilt after a snapshot is loaded, kept current by
/// `Listings.apply` — never stored.
public struct ListingIndex: Sendable {
    /// A listing in one posting list: the values most queries test, and its slot for the rest.
    /// (Coordinates as `Float` only pre-filter; distances and boxes are decided on the `Double`s.)
    struct Posting: Sendable {
        var price: Int64
        var amenityLow: UInt64
        var amenityHigh: UInt64
        var latitude: Float
        var longitude: Float
        var slot: Int32
        var guests: UInt16
        var minNights: UInt16
        var maxNights: UInt16
    }

    /// The three lists every listing is in.
    enum Membership: Int, CaseIterable {
        case city = 0, country, cell
    }

    /// Cells are `cellDegrees` on a side (about 55 km of latitude).
    static let cellDegrees = 0.5
    /// Past this many cells a geographic query scans the shard instead.
    static let cellsScannedMax = 256

    private var slotOf: [String: Int32] = [:]
    private var freeSlots: [Int32] = []
    // By slot (strings are interned to small numbers).
    private var ids: [String] = []
    private var currencies: [Int32] = []
    private var amenityOverflow: [Int32: [String]] = [:]
    private var propertyTypes: [Int32] = []
    private var instantBooks: [Bool] = []
    private var latitudes: [Double] = []
    private var longitudes: [Double] = []
    private var ratings: [Double] = []
    private var createdAts: [Int64] = []
    /// By slot: the blocks its city list's `taken` has words of it in.
    private var takenFirst: [Int32] = []
    private var takenEnd: [Int32] = []
    /// By city list, then block, then position in the list (a position past the end has nothing
    /// taken in that block).
    private var taken: [Int32: [Int32: [UInt64]]] = [:]
    /// By slot × 3 + membership: which list holds the slot's entry, and where in it.
    private var listOf: [Int32] = []
    private var positionOf: [Int32] = []

    private var lists: [[Posting]] = []
    private var cityLists: [String: Int32] = [:]
    private var countryLists: [String: Int32] = [:]
    private var cellLists: [Int64: Int32] = [:]

    private var currencyCodes: [String] = []
    private var currencyNumbers: [String: Int32] = [:]
    private var propertyTypeNumbers: [String: Int32] = [:]

    public init() {}

    public var count: Int { slotOf.count }

    // MARK: Maintenance

    /// Indexes `listing` as it now is (removing it when it is gone or not active).
    public mutating func update(_ listing: ListingRecord) {
        guard listing.status == .active else { return remove(listing.id) }
        let details = listing.details
        let amenities = details.amenitySet, mask = amenities.words
        let lists = (
            list(TextKey.make(details.location.city), in: \.cityLists),
            list(TextKey.make(details.location.country), in: \.countryLists),
            cellList(Self.cell(latitude: details.location.latitude, longitude: details.location.longitude))
        )
        let posting = { (slot: Int32) in
            Posting(
                price: details.pricePerNight, amenityLow: mask.low, amenityHigh: mask.high,
                latitude: Float(details.location.latitude), longitude: Float(details.location.longitude), slot: slot,
                guests: UInt16(clamping: details.maxGuests), minNights: UInt16(clamping: details.minNights), maxNights: UInt16(clamping: details.maxNights)
            )
        }
        let slot: Int32
        if let known = slotOf[listing.id] {
            slot = known
            let base = Int(slot) * 3
            if (listOf[base], listOf[base + 1], listOf[base + 2]) == lists {
                for k in 0..<3 { self.lists[Int(listOf[base + k])][Int(positionOf[base + k])] = posting(slot) }
            } else {
                setTaken(slot, [])
                unlink(slot)
                link(slot, posting(slot), lists: lists)
            }
        } else {
            slot = allocateSlot()
            slotOf[listing.id] = slot
            link(slot, posting(slot), lists: lists)
        }
        let i = Int(slot)
        ids[i] = listing.id
        currencies[i] = number(details.currency, in: &currencyNumbers, names: &currencyCodes)
        amenityOverflow[slot] = amenities.codesWithoutBits.isEmpty ? nil : amenities.codesWithoutBits
        var unusedNames: [String] = []
        propertyTypes[i] = number(TextKey.make(details.propertyType), in: &propertyTypeNumbers, names: &unusedNames)
        instantBooks[i] = details.instantBook
        latitudes[i] = details.location.latitude
        longitudes[i] = details.location.longitude
        ratings[i] = listing.rating
        createdAts[i] = listing.createdAt.millisecondsSinceEpoch
        setTaken(slot, listing.calendar.takenWords())
    }

    /// Refreshes only a listing's taken nights (its other fields unchanged): what a booking's hold
    /// or cancellation changes. A listing not in the index (inactive) stays out.
    public mutating func updateNights(_ listing: ListingRecord) {
        guard let slot = slotOf[listing.id] else { return }
        setTaken(slot, listing.calendar.takenWords())
    }

    /// Replaces the slot's taken words (at its position in its city list).
    private mutating func setTaken(_ slot: Int32, _ words: [(block: Int32, word: UInt64)]) {
        let i = Int(slot), city = listOf[i * 3], position = Int(positionOf[i * 3])
        guard city >= 0 else { return }
        let size = lists[Int(city)].count
        taken[city, default: [:]].withEachRow(from: takenFirst[i], to: takenEnd[i]) { row in
            if position < row.count { row[position] = 0 }
        }
        for (block, word) in words {
            Self.set(&taken[city, default: [:]][block, default: []], position, to: word, count: size)
        }
        takenFirst[i] = words.first?.block ?? 0
        takenEnd[i] = words.last.map { $0.block + 1 } ?? 0
    }

    public mutating func remove(_ id: String) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        setTaken(slot, [])
        unlink(slot)
        ids[Int(slot)] = ""
        amenityOverflow[slot] = nil
        freeSlots.append(slot)
    }

    /// Sets `row[i]`, growing the row to `count` positions first where it is shorter.
    private static func set(_ row: inout [UInt64], _ i: Int, to word: UInt64, count: Int) {
        if row.count <= i { row.append(contentsOf: repeatElement(0, count: max(count, i + 1) - row.count)) }
        row[i] = word
    }

    private mutating func allocateSlot() -> Int32 {
        if let free = freeSlots.popLast() { return free }
        ids.append(""); currencies.append(0); propertyTypes.append(0); instantBooks.append(false)
        latitudes.append(0); longitudes.append(0); ratings.append(0); createdAts.append(0); takenFirst.append(0); takenEnd.append(0)
        listOf.append(contentsOf: [-1, -1, -1]); positionOf.append(contentsOf: [-1, -1, -1])
        return Int32(ids.count - 1)
    }

    private mutating func link(_ slot: Int32, _ posting: Posting, lists targets: (Int32, Int32, Int32)) {
        let base = Int(slot) * 3
        for (k, list) in [targets.0, targets.1, targets.2].enumerated() {
            listOf[base + k] = list
            positionOf[base + k] = Int32(lists[Int(list)].count)
            lists[Int(list)].append(posting)
        }
    }

    /// Takes the slot's entries out of their lists: each list's last entry moves into the gap (in
    /// a city list, with its taken words). The slot's own taken words are cleared first.
    private mutating func unlink(_ slot: Int32) {
        let base = Int(slot) * 3
        for k in 0..<3 {
            let list = Int(listOf[base + k]), position = Int(positionOf[base + k])
            let last = lists[list].removeLast()
            let from = lists[list].count
            if position < from {
                lists[list][position] = last
                positionOf[Int(last.slot) * 3 + k] = Int32(position)
            }
            if k == Membership.city.rawValue, position < from {
                let moved = Int(last.slot)
                taken[Int32(list)]?.withEachRow(from: takenFirst[moved], to: takenEnd[moved]) { row in
                    guard from < row.count else { return }
                    row[position] = row[from]
                    row[from] = 0
                }
            }
            listOf[base + k] = -1
            positionOf[base + k] = -1
        }
    }

    private mutating func list(_ key: String, in table: WritableKeyPath<ListingIndex, [String: Int32]>) -> Int32 {
        if let known = self[keyPath: table][key] { return known }
        lists.append([])
        self[keyPath: table][key] = Int32(lists.count - 1)
        return Int32(lists.count - 1)
    }

    private mutating func cellList(_ cell: Int64) -> Int32 {
        if let known = cellLists[cell] { return known }
        lists.append([])
        cellLists[cell] = Int32(lists.count - 1)
        return Int32(lists.count - 1)
    }

    private func number(_ name: String, in numbers: inout [String: Int32], names: inout [String]) -> Int32 {
        if let known = numbers[name] { return known }
        let next = Int32(numbers.count)
        numbers[name] = next
        names.append(name)
        return next
    }

    static let rows = Int64(180 / cellDegrees), columns = Int64(360 / cellDegrees)

    /// The cell of a point; the poles' and the antimeridian's edges fall in the last row and column.
    static func cell(latitude: Double, longitude: Double) -> Int64 {
        let row = min(rows - 1, max(0, Int64((latitude + 90) / cellDegrees)))
        let column = min(columns - 1, max(0, Int64((longitude + 180) / cellDegrees)))
        return row * 1_000 + column
    }

    // MARK: Search

    /// The matches of `query` among this shard's listings: how many in all, and the first
    /// `query.limit` after the cursor.
    public func search(_ query: ListingQuery) -> SearchPage {
        guard var scan = Scan(query, self) else { return SearchPage(total: 0, hits: []) }
        if let place = query.place {
            let city = cityLists[place]
            if let city { scan.run(lists[Int(city)], self, cityList: city) }
            // A listing whose city and country fold to the same text is in both lists: counted once.
            if let country = countryLists[place] { scan.run(lists[Int(country)], self, skippingCityList: city) }
        } else if let area = query.area, let cells = cells(covering: area) {
            for cell in cells { if let list = cellLists[cell] { scan.run(lists[Int(list)], self) } }
        } else {
            for list in cellLists.values { scan.run(lists[Int(list)], self) }
        }
        return SearchPage(total: scan.total, hits: scan.best.map { candidate in
            SearchHit(key: SearchKey(primary: candidate.primary, id: ids[Int(candidate.slot)]), distanceKilometres: candidate.distance)
        })
    }

    /// One query's pass over posting lists: the filters resolved against this shard's numbering,
    /// the running total, and the best `limit` matches so far in key order.
    private struct Scan {
        struct Candidate {
            var primary: Double
            var slot: Int32
            var distance: Double?
        }

        let query: ListingQuery
        var required: (low: UInt64, high: UInt64, overflow: [String]) = (0, 0, [])
        var propertyType: Int32?
        /// Price factors by interned currency number (nil: that currency is not convertible).
        var factors: [Double?]?
        var nights: UInt16 = 0
        /// The stay's blocks, with its nights in each as a mask.
        var stayMasks: [(block: Int32, mask: UInt64)] = []
        /// Per city list, the taken words of the stay's blocks that have any (resolved on first use).
        var stayWords: [Int32: [(words: [UInt64], mask: UInt64)]] = [:]
        /// The area's bounding box, widened a little, for the `Float` coordinates to pre-filter on.
        var box: (minLat: Float, maxLat: Float, minLng: Float, maxLng: Float)?
        var wantedGuests: UInt16
        var total = 0
        var best: [Candidate] = []

        /// Nil when nothing here can match (an amenity or property type no listing has).
        init?(_ query: ListingQuery, _ index: ListingIndex) {
            self.query = query
            guard let amenities = AmenitySet.existing(query.amenities) else { return nil }
            required = (amenities.words.low, amenities.words.high, amenities.codesWithoutBits)
            if let wanted = query.propertyType {
                guard let known = index.propertyTypeNumbers[TextKey.make(wanted)] else { return nil }
                propertyType = known
            }
            factors = query.priceFactors.map { table in index.currencyCodes.map { table[$0] } }
            if let stay = query.stay {
                nights = UInt16(clamping: stay.lowerBound.distance(to: stay.upperBound))
                let first = stay.lowerBound.daysSinceEpoch, end = stay.upperBound.daysSinceEpoch
                for block in (first >> 6)...((end - 1) >> 6) {
                    let from = max(first, block << 6) - block << 6, to = min(end, (block + 1) << 6) - block << 6
                    let mask = to - from == 64 ? UInt64.max : ((UInt64(1) << UInt64(to - from)) - 1) << UInt64(from)
                    stayMasks.append((block, mask))
                }
            }
            if let area = query.area, let bounds = ListingIndex.bounds(of: area) {
                let margin = 1e-3
                box = (Float(bounds.minLat - margin), Float(bounds.maxLat + margin), Float(bounds.minLng - margin), Float(bounds.maxLng + margin))
            }
            wantedGuests = UInt16(clamping: query.guests ?? 0)
            best.reserveCapacity(query.limit + 1)
        }

        /// The taken words of the stay's blocks beside city list `list` (only blocks with any).
        mutating func stayWords(in list: Int32, _ index: ListingIndex) -> [(words: [UInt64], mask: UInt64)] {
            if let known = stayWords[list] { return known }
            let rows = index.taken[list]
            let resolved = stayMasks.compactMap { block in rows?[block.block].map { (words: $0, mask: block.mask) } }
            stayWords[list] = resolved
            return resolved
        }

        /// Scans one posting list. In a city list (`cityList`, its number) the stay's nights are
        /// checked here, position by position, beside the entries.
        mutating func run(_ list: [Posting], _ index: ListingIndex, cityList: Int32? = nil, skippingCityList city: Int32? = nil) {
            let required = required, guests = wantedGuests, nights = nights, box = box
            let stayLength = query.stay == nil ? nil : nights
            let taken = cityList.map { stayLength == nil ? [] : stayWords(in: $0, index) } ?? []
            // Without conversion the price bounds compare with stored prices as they are.
            let prices = factors == nil ? query.priceRange ?? Int64.min...Int64.max : Int64.min...Int64.max
            list.withUnsafeBufferPointer { postings in
                positions: for position in postings.indices {
                    let posting = postings[position]
                    guard posting.guests >= guests, posting.amenityLow & required.low == required.low,
                        posting.amenityHigh & required.high == required.high, prices.contains(posting.price)
                    else { continue }
                    if stayLength != nil, nights < posting.minNights || nights > posting.maxNights { continue }
                    if let box, posting.latitude < box.minLat || posting.latitude > box.maxLat
                        || posting.longitude < box.minLng || posting.longitude > box.maxLng { continue }
                    if let city, index.listOf[Int(posting.slot) * 3] == city { continue }
                    for k in taken.indices where position < taken[k].words.count && taken[k].words[position] & taken[k].mask != 0 {
                        continue positions
                    }
                    consider(posting, index, nightsChecked: cityList != nil)
                }
            }
        }

        /// The rest of the filters, for an entry that passed the cheap ones.
        private mutating func consider(_ posting: Posting, _ index: ListingIndex, nightsChecked: Bool) {
            let slot = posting.slot, i = Int(slot)
            if !required.overflow.isEmpty, !required.overflow.allSatisfy((index.amenityOverflow[slot] ?? []).contains) { return }
            if let propertyType, index.propertyTypes[i] != propertyType { return }
            if let instantBook = query.instantBook, index.instantBooks[i] != instantBook { return }
            var price = Double(posting.price)
            if let factors {
                guard let factor = factors[Int(index.currencies[i])] else { return }
                price = (price * factor).rounded()
                if let range = query.priceRange, price < Double(range.lowerBound) || price > Double(range.upperBound) { return }
            }
            var distance: Double?
            if let area = query.area {
                let lat = index.latitudes[i], lng = index.longitudes[i]
                switch area {
                case let .radius(latitude, longitude, kilometres):
                    let d = Geo.distanceKilometres(latitude, longitude, lat, lng)
                    if d > kilometres { return }
                    distance = d
                case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
                    guard lat >= minLatitude, lat <= maxLatitude else { return }
                    let inside = minLongitude <= maxLongitude ? (lng >= minLongitude && lng <= maxLongitude) : (lng >= minLongitude || lng <= maxLongitude)
                    if !inside { return }
                }
            }
            if query.stay != nil, !nightsChecked {
                let position = Int(index.positionOf[i * 3])
                for (words, mask) in stayWords(in: index.listOf[i * 3], index) where position < words.count && words[position] & mask != 0 { return }
            }
            if distance == nil, let origin = query.origin {
                distance = Geo.distanceKilometres(origin.latitude, origin.longitude, index.latitudes[i], index.longitudes[i])
            }
            let primary: Double
            switch query.sort {
            case .priceAscending: primary = price
            case .priceDescending: primary = -price
            case .rating: primary = -index.ratings[i]
            case .distance: primary = distance ?? 0
            case .newest: primary = -Double(index.createdAts[i])
            }
            total += 1
            if let after = query.after {
                if primary < after.primary || (primary == after.primary && index.ids[i] <= after.id) { return }
            }
            keep(Candidate(primary: primary, slot: slot, distance: distance), index)
        }

        /// Inserts `candidate` among the best so far when it sorts before the last of a full list.
        private mutating func keep(_ candidate: Candidate, _ index: ListingIndex) {
            func before(_ a: Candidate, _ b: Candidate) -> Bool {
                a.primary != b.primary ? a.primary < b.primary : index.ids[Int(a.slot)] < index.ids[Int(b.slot)]
            }
            if best.count == query.limit {
                guard let last = best.last, before(candidate, last) else { return }
                best.removeLast()
            }
            var low = 0, high = best.count
            while low < high {
                let middle = (low + high) / 2
                if before(best[middle], candidate) { low = middle + 1 } else { high = middle }
            }
            best.insert(candidate, at: low)
        }
    }

    /// The area's bounding box in degrees, or nil when it is no simple box (it reaches a pole or
    /// half the globe, or crosses the antimeridian).
    static func bounds(of area: ListingQuery.Area) -> (minLat: Double, maxLat: Double, minLng: Double, maxLng: Double)? {
        let bounds: (minLat: Double, maxLat: Double, minLng: Double, maxLng: Double)
        switch area {
        case let .radius(latitude, longitude, kilometres):
            // The circle's exact reach on the sphere distances are measured on (plus 1% to spare):
            // north-south d/R; east-west asin(sin(d/R) / cos(lat)) — wider than d/R away from the equator.
            let angle = kilometres / Geo.earthRadiusKilometres
            let latSpan = angle * 180 / .pi * 1.01
            let reach = sin(min(angle, .pi / 2)) / max(1e-9, cos(latitude * .pi / 180))
            guard reach < 1, angle < .pi / 2 else { return nil }
            let lngSpan = asin(reach) * 180 / .pi * 1.01
            guard lngSpan < 180 else { return nil }
            bounds = (max(-90, latitude - latSpan), min(90, latitude + latSpan), longitude - lngSpan, longitude + lngSpan)
        case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
            guard minLongitude <= maxLongitude else { return nil }
            bounds = (minLatitude, maxLatitude, minLongitude, maxLongitude)
        }
        guard bounds.minLng >= -180, bounds.maxLng <= 180 else { return nil }
        return bounds
    }

    /// The cells to read for `area`, or nil to scan the shard.
    private func cells(covering area: ListingQuery.Area) -> [Int64]? {
        guard let bounds = Self.bounds(of: area) else { return nil }
        let rows = Self.cell(latitude: bounds.minLat, longitude: 0) / 1_000...Self.cell(latitude: bounds.maxLat, longitude: 0) / 1_000
        let columns = Self.cell(latitude: 0, longitude: bounds.minLng) % 1_000...Self.cell(latitude: 0, longitude: bounds.maxLng) % 1_000
        guard rows.count * columns.count <= Self.cellsScannedMax else { return nil }
        return rows.flatMap { row in columns.map { row * 1_000 + $0 } }
    }
}

extension ListingRecord {
    /// The average review rating in stars (0 when there is none).
    public var rating: Double { reviewCount > 0 ? Double(ratingTotal) / Double(reviewCount) / 100 : 0 }
}

extension Dictionary where Key == Int32, Value == [UInt64] {
    /// Runs `body` on the rows of blocks `first ..< end` that exist, in place.
    fileprivate mutating func withEachRow(from first: Int32, to end: Int32, _ body: (inout [UInt64]) -> Void) {
        guard first < end else { return }
        for block in first..<end where self[block] != nil { body(&self[block]!) }
    }
}
