#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard's search index over its active listings: postings by place (city and country keys)
/// and by geographic cell, and per listing the few values every query filters on, in flat arrays
/// by slot (price, guests, an amenity bitmask, …). Derived from the listings — rebuilt after a
/// snapshot is loaded, kept current by `Listings.apply` — never stored.
public struct ListingIndex: Sendable {
    /// Amenity codes as bits, assigned per shard in the order codes are first seen.
    struct AmenityMask: Sendable, Equatable {
        var low: UInt64 = 0
        var high: UInt64 = 0
        /// Codes past the 128th seen (the catalogue has fewer; kept correct regardless).
        var overflow: [String] = []

        func contains(_ other: AmenityMask) -> Bool {
            low & other.low == other.low && high & other.high == other.high
                && (other.overflow.isEmpty || other.overflow.allSatisfy(overflow.contains))
        }
    }

    /// Cells are `cellDegrees` on a side (about 55 km of latitude).
    static let cellDegrees = 0.5
    /// Past this many cells a geographic query scans the shard instead.
    static let cellsScannedMax = 256

    // One slot per indexed listing; the filter fields sit in flat arrays (read in place, no
    // reference counting in the hot loop); strings are interned to small numbers.
    private var slotOf: [String: Int32] = [:]
    private var ids: [String] = []
    private var live: [Bool] = []
    private var prices: [Int64] = []
    private var currencies: [Int32] = []
    private var guests: [Int32] = []
    private var amenityLow: [UInt64] = []
    private var amenityHigh: [UInt64] = []
    private var amenityOverflow: [Int32: [String]] = [:]
    private var propertyTypes: [Int32] = []
    private var instantBooks: [Bool] = []
    private var latitudes: [Double] = []
    private var longitudes: [Double] = []
    private var minNights: [Int32] = []
    private var maxNights: [Int32] = []
    private var ratings: [Double] = []
    private var createdAts: [Int64] = []
    private var calendars: [AvailabilityCalendar] = []
    private var placeKeys: [[String]] = []
    private var cells: [Int64] = []
    private var freeSlots: [Int32] = []

    private var byPlace: [String: Set<Int32>] = [:]
    private var byCell: [Int64: Set<Int32>] = [:]
    private var amenityBits: [String: Int] = [:]
    private var currencyCodes: [String] = []
    private var currencyNumbers: [String: Int32] = [:]
    private var propertyTypeNumbers: [String: Int32] = [:]

    public init() {}

    public var count: Int { slotOf.count }

    // MARK: Maintenance

    /// Indexes `listing` as it now is (removing it when it is gone or not active).
    public mutating func update(_ listing: ListingRecord) {
        remove(listing.id)
        guard listing.status == .active else { return }
        let details = listing.details
        let mask = mask(details.amenities)
        let keys = Array(Set([TextKey.make(details.location.city), TextKey.make(details.location.country)]).filter { !$0.isEmpty })
        let cell = Self.cell(latitude: details.location.latitude, longitude: details.location.longitude)
        let currency = number(details.currency, in: &currencyNumbers, names: &currencyCodes)
        var unusedNames: [String] = []
        let propertyType = number(TextKey.make(details.propertyType), in: &propertyTypeNumbers, names: &unusedNames)
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = Int32(ids.count)
            ids.append(""); live.append(false); prices.append(0); currencies.append(0); guests.append(0)
            amenityLow.append(0); amenityHigh.append(0); propertyTypes.append(0); instantBooks.append(false)
            latitudes.append(0); longitudes.append(0); minNights.append(0); maxNights.append(0); ratings.append(0)
            createdAts.append(0); calendars.append(AvailabilityCalendar()); placeKeys.append([]); cells.append(0)
        }
        let i = Int(slot)
        ids[i] = listing.id
        live[i] = true
        prices[i] = details.pricePerNight
        currencies[i] = currency
        guests[i] = Int32(clamping: details.maxGuests)
        amenityLow[i] = mask.low
        amenityHigh[i] = mask.high
        amenityOverflow[slot] = mask.overflow.isEmpty ? nil : mask.overflow
        propertyTypes[i] = propertyType
        instantBooks[i] = details.instantBook
        latitudes[i] = details.location.latitude
        longitudes[i] = details.location.longitude
        minNights[i] = Int32(clamping: details.minNights)
        maxNights[i] = Int32(clamping: details.maxNights)
        ratings[i] = listing.rating
        createdAts[i] = listing.createdAt.millisecondsSinceEpoch
        calendars[i] = listing.calendar
        placeKeys[i] = keys
        cells[i] = cell
        slotOf[listing.id] = slot
        for key in keys { byPlace[key, default: []].insert(slot) }
        byCell[cell, default: []].insert(slot)
    }

    public mutating func remove(_ id: String) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        let i = Int(slot)
        for key in placeKeys[i] {
            byPlace[key]?.remove(slot)
            if byPlace[key]?.isEmpty == true { byPlace[key] = nil }
        }
        byCell[cells[i]]?.remove(slot)
        if byCell[cells[i]]?.isEmpty == true { byCell[cells[i]] = nil }
        live[i] = false
        ids[i] = ""
        calendars[i] = AvailabilityCalendar()
        placeKeys[i] = []
        amenityOverflow[slot] = nil
        freeSlots.append(slot)
    }

    private func number(_ name: String, in numbers: inout [String: Int32], names: inout [String]) -> Int32 {
        if let known = numbers[name] { return known }
        let next = Int32(numbers.count)
        numbers[name] = next
        names.append(name)
        return next
    }

    private mutating func mask(_ codes: [String]) -> AmenityMask {
        var mask = AmenityMask()
        for code in codes {
            var bit = amenityBits[code]
            if bit == nil, amenityBits.count < 128 {
                bit = amenityBits.count
                amenityBits[code] = bit
            }
            guard let bit else {
                mask.overflow.append(code)
                continue
            }
            if bit < 64 { mask.low |= 1 << UInt64(bit) } else { mask.high |= 1 << UInt64(bit - 64) }
        }
        return mask
    }

    static let rows = Int64(180 / cellDegrees), columns = Int64(360 / cellDegrees)

    /// The cell of a point; the poles' and the antimeridian's edges fall in the last row and column.
    static func cell(latitude: Double, longitude: Double) -> Int64 {
        let row = min(rows - 1, max(0, Int64((latitude + 90) / cellDegrees)))
        let column = min(columns - 1, max(0, Int64((longitude + 180) / cellDegrees)))
        return row * 1_000 + column
    }

    // MARK: Search

    /// The matches of `query` among this shard's listings.
    public func search(_ query: ListingQuery) -> SearchPage {
        var required = AmenityMask()
        for code in query.amenities {
            guard let bit = amenityBits[code] else {
                // No listing here has it (a code past the 128th seen would sit in `overflow`).
                if amenityBits.count < 128 { return SearchPage(total: 0, hits: []) }
                required.overflow.append(code)
                continue
            }
            if bit < 64 { required.low |= 1 << UInt64(bit) } else { required.high |= 1 << UInt64(bit - 64) }
        }
        var propertyType: Int32?
        if let wanted = query.propertyType {
            guard let known = propertyTypeNumbers[TextKey.make(wanted)] else { return SearchPage(total: 0, hits: []) }
            propertyType = known
        }
        // Price factors by interned currency number (nil: the currency is not convertible).
        let factors: [Double?]? = query.priceFactors.map { table in currencyCodes.map { table[$0] } }
        let nights = query.stay.map { Int32($0.lowerBound.distance(to: $0.upperBound)) }
        let wantedGuests = Int32(clamping: query.guests ?? 0)
        let priceLow = query.priceRange.map { Double($0.lowerBound) }, priceHigh = query.priceRange.map { Double($0.upperBound) }

        var total = 0
        var hits: [SearchHit] = []
        func consider(_ slot: Int32) {
            let i = Int(slot)
            guard live[i], guests[i] >= wantedGuests else { return }
            if amenityLow[i] & required.low != required.low || amenityHigh[i] & required.high != required.high { return }
            if !required.overflow.isEmpty, !required.overflow.allSatisfy((amenityOverflow[slot] ?? []).contains) { return }
            if let propertyType, propertyTypes[i] != propertyType { return }
            if let instantBook = query.instantBook, instantBooks[i] != instantBook { return }
            var price = Double(prices[i])
            if let factors {
                guard let factor = factors[Int(currencies[i])] else { return }
                price = (price * factor).rounded()
            }
            if let priceLow, let priceHigh, price < priceLow || price > priceHigh { return }
            var distance: Double?
            if let area = query.area {
                switch area {
                case let .radius(latitude, longitude, kilometres):
                    let d = Geo.distanceKilometres(latitude, longitude, latitudes[i], longitudes[i])
                    if d > kilometres { return }
                    distance = d
                case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
                    let lat = latitudes[i], lng = longitudes[i]
                    guard lat >= minLatitude, lat <= maxLatitude else { return }
                    let inside = minLongitude <= maxLongitude ? (lng >= minLongitude && lng <= maxLongitude) : (lng >= minLongitude || lng <= maxLongitude)
                    if !inside { return }
                }
            }
            if let stay = query.stay, let nights {
                if nights < minNights[i] || nights > maxNights[i] { return }
                if !calendars[i].isFree(stay) { return }
            }
            if distance == nil, let origin = query.origin {
                distance = Geo.distanceKilometres(origin.latitude, origin.longitude, latitudes[i], longitudes[i])
            }
            total += 1
            let primary: Double
            switch query.sort {
            case .priceAscending: primary = price
            case .priceDescending: primary = -price
            case .rating: primary = -ratings[i]
            case .distance: primary = distance ?? 0
            case .newest: primary = -Double(createdAts[i])
            }
            if let after = query.after, primary < after.primary { return }
            let key = SearchKey(primary: primary, id: ids[i])
            if let after = query.after, key <= after { return }
            hits.append(SearchHit(key: key, distanceKilometres: distance))
        }

        if let candidates = candidates(for: query) {
            for slot in candidates { consider(slot) }
        } else {
            for slot in 0..<Int32(ids.count) { consider(slot) }
        }
        hits.sort { $0.key < $1.key }
        if hits.count > query.limit { hits.removeSubrange(query.limit...) }
        return SearchPage(total: total, hits: hits)
    }

    /// The slots worth checking, or nil to scan them all.
    private func candidates(for query: ListingQuery) -> Set<Int32>? {
        var set: Set<Int32>?
        if let place = query.place {
            set = byPlace[place] ?? []
        }
        if let area = query.area, let cells = cells(covering: area) {
            var inArea = Set<Int32>()
            for cell in cells { if let slots = byCell[cell] { inArea.formUnion(slots) } }
            set = set.map { $0.intersection(inArea) } ?? inArea
        }
        return set
    }

    private func cells(covering area: ListingQuery.Area) -> [Int64]? {
        let (minLat, maxLat, minLng, maxLng): (Double, Double, Double, Double)
        switch area {
        case let .radius(latitude, longitude, kilometres):
            // The circle's exact reach on the sphere distances are measured on (plus 1% to spare):
            // north-south d/R; east-west asin(sin(d/R) / cos(lat)) — wider than d/R away from the equator.
            let angle = kilometres / Geo.earthRadiusKilometres
            let latSpan = angle * 180 / .pi * 1.01
            let reach = sin(min(angle, .pi / 2)) / max(1e-9, cos(latitude * .pi / 180))
            guard reach < 1, angle < .pi / 2 else { return nil }  // reaches a pole or half the globe: scan
            let lngSpan = asin(reach) * 180 / .pi * 1.01
            guard lngSpan < 180 else { return nil }
            (minLat, maxLat, minLng, maxLng) = (max(-90, latitude - latSpan), min(90, latitude + latSpan), longitude - lngSpan, longitude + lngSpan)
        case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
            guard minLongitude <= maxLongitude else { return nil }  // across the antimeridian: scan
            (minLat, maxLat, minLng, maxLng) = (minLatitude, maxLatitude, minLongitude, maxLongitude)
        }
        guard minLng >= -180, maxLng <= 180 else { return nil }
        let rows = Self.cell(latitude: minLat, longitude: 0) / 1_000...Self.cell(latitude: maxLat, longitude: 0) / 1_000
        let columns = Self.cell(latitude: 0, longitude: minLng) % 1_000...Self.cell(latitude: 0, longitude: maxLng) % 1_000
        guard rows.count * columns.count <= Self.cellsScannedMax else { return nil }
        return rows.flatMap { row in columns.map { row * 1_000 + $0 } }
    }
}

extension ListingRecord {
    /// The average review rating in stars (0 when there is none).
    public var rating: Double { reviewCount > 0 ? Double(ratingTotal) / Double(reviewCount) / 100 : 0 }
}
