#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard's search index over its active listings: postings by place (city and country keys)
/// and by geographic cell, and per listing the few values every query filters on, packed in one
/// entry (price, guests, an amenity bitmask, …). Derived from the listings — rebuilt after a
/// snapshot is loaded, kept current by `Listings.apply` — never stored.
public struct ListingIndex: Sendable {
    struct Entry: Sendable {
        var id: String
        var price: Int64
        var currency: String
        var maxGuests: Int
        var amenities: AmenityMask
        var propertyType: String
        var instantBook: Bool
        var latitude: Double
        var longitude: Double
        var minNights: Int
        var maxNights: Int
        var rating: Double
        var createdAt: Int64
        var placeKeys: [String]
        var cell: Int64
    }

    /// Amenity codes as bits, assigned per shard in the order codes are first seen.
    struct AmenityMask: Sendable, Equatable {
        var low: UInt64 = 0
        var high: UInt64 = 0
        /// Codes past the 128th seen (the catalogue has fewer; kept correct regardless).
        var overflow: [String] = []

        func contains(_ other: AmenityMask) -> Bool {
            low & other.low == other.low && high & other.high == other.high && other.overflow.allSatisfy(overflow.contains)
        }
    }

    /// Cells are `cellDegrees` on a side (about 55 km of latitude).
    static let cellDegrees = 0.5
    /// Past this many cells a geographic query scans the shard instead.
    static let cellsScannedMax = 256

    private var slotOf: [String: Int32] = [:]
    private var entries: [Entry?] = []
    private var freeSlots: [Int32] = []
    private var byPlace: [String: Set<Int32>] = [:]
    private var byCell: [Int64: Set<Int32>] = [:]
    private var amenityBits: [String: Int] = [:]

    public init() {}

    public var count: Int { slotOf.count }

    // MARK: Maintenance

    /// Indexes `listing` as it now is (removing it when it is gone or not active).
    public mutating func update(_ listing: ListingRecord) {
        remove(listing.id)
        guard listing.status == .active else { return }
        let details = listing.details
        let entry = Entry(
            id: listing.id, price: details.pricePerNight, currency: details.currency, maxGuests: details.maxGuests,
            amenities: mask(details.amenities, assigning: true), propertyType: TextKey.make(details.propertyType),
            instantBook: details.instantBook, latitude: details.location.latitude, longitude: details.location.longitude,
            minNights: details.minNights, maxNights: details.maxNights, rating: listing.rating,
            createdAt: listing.createdAt.millisecondsSinceEpoch,
            placeKeys: Array(Set([TextKey.make(details.location.city), TextKey.make(details.location.country)]).filter { !$0.isEmpty }),
            cell: Self.cell(latitude: details.location.latitude, longitude: details.location.longitude)
        )
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            entries[Int(slot)] = entry
        } else {
            slot = Int32(entries.count)
            entries.append(entry)
        }
        slotOf[listing.id] = slot
        for key in entry.placeKeys { byPlace[key, default: []].insert(slot) }
        byCell[entry.cell, default: []].insert(slot)
    }

    public mutating func remove(_ id: String) {
        guard let slot = slotOf.removeValue(forKey: id), let entry = entries[Int(slot)] else { return }
        for key in entry.placeKeys {
            byPlace[key]?.remove(slot)
            if byPlace[key]?.isEmpty == true { byPlace[key] = nil }
        }
        byCell[entry.cell]?.remove(slot)
        if byCell[entry.cell]?.isEmpty == true { byCell[entry.cell] = nil }
        entries[Int(slot)] = nil
        freeSlots.append(slot)
    }

    private mutating func mask(_ codes: [String], assigning: Bool) -> AmenityMask {
        var mask = AmenityMask()
        for code in codes {
            var bit = amenityBits[code]
            if bit == nil, assigning, amenityBits.count < 128 {
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

    static func cell(latitude: Double, longitude: Double) -> Int64 {
        let row = Int64((latitude + 90) / cellDegrees), column = Int64((longitude + 180) / cellDegrees)
        return row * 1_000 + column
    }

    // MARK: Search

    /// The matches of `query` among this shard's listings (`listings` gives calendars).
    public func search(_ query: ListingQuery, listings: [String: ListingRecord]) -> SearchPage {
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
        let propertyType = query.propertyType.map(TextKey.make)
        let nights = query.stay.map { $0.lowerBound.distance(to: $0.upperBound) }

        var total = 0
        var hits: [SearchHit] = []
        func consider(_ slot: Int32) {
            guard let entry = entries[Int(slot)] else { return }
            if let guests = query.guests, entry.maxGuests < guests { return }
            if !entry.amenities.contains(required) { return }
            if let propertyType, entry.propertyType != propertyType { return }
            if let instantBook = query.instantBook, entry.instantBook != instantBook { return }
            var price = Double(entry.price)
            if let factors = query.priceFactors {
                guard let factor = factors[entry.currency] else { return }
                price = (price * factor).rounded()
            }
            if let range = query.priceRange, !(Double(range.lowerBound)...Double(range.upperBound)).contains(price) { return }
            var distance: Double?
            if let area = query.area {
                switch area {
                case let .radius(latitude, longitude, kilometres):
                    let d = Geo.distanceKilometres(latitude, longitude, entry.latitude, entry.longitude)
                    if d > kilometres { return }
                    distance = d
                case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
                    guard (minLatitude...maxLatitude).contains(entry.latitude) else { return }
                    let inside = minLongitude <= maxLongitude
                        ? (minLongitude...maxLongitude).contains(entry.longitude)
                        : entry.longitude >= minLongitude || entry.longitude <= maxLongitude
                    if !inside { return }
                }
            }
            if let stay = query.stay, let nights {
                if nights < entry.minNights || nights > entry.maxNights { return }
                guard let calendar = listings[entry.id]?.calendar, calendar.isFree(stay) else { return }
            }
            if distance == nil, let origin = query.origin {
                distance = Geo.distanceKilometres(origin.latitude, origin.longitude, entry.latitude, entry.longitude)
            }
            total += 1
            let primary: Double
            switch query.sort {
            case .priceAscending: primary = price
            case .priceDescending: primary = -price
            case .rating: primary = -entry.rating
            case .distance: primary = distance ?? 0
            case .newest: primary = -Double(entry.createdAt)
            }
            let key = SearchKey(primary: primary, id: entry.id)
            if let after = query.after, key <= after { return }
            hits.append(SearchHit(key: key, distanceKilometres: distance))
        }

        if let candidates = candidates(for: query) {
            for slot in candidates { consider(slot) }
        } else {
            for slot in 0..<Int32(entries.count) { consider(slot) }
        }
        if hits.count > query.limit {
            hits.sort { $0.key < $1.key }
            hits.removeSubrange(query.limit...)
        } else {
            hits.sort { $0.key < $1.key }
        }
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
            let latSpan = kilometres / 110.574
            let cosine = max(0.01, cos(latitude * .pi / 180))
            let lngSpan = kilometres / (111.320 * cosine)
            guard lngSpan < 180 else { return nil }
            (minLat, maxLat, minLng, maxLng) = (max(-90, latitude - latSpan), min(90, latitude + latSpan), longitude - lngSpan, longitude + lngSpan)
        case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
            guard minLongitude <= maxLongitude else { return nil }  // across the antimeridian: scan
            (minLat, maxLat, minLng, maxLng) = (minLatitude, maxLatitude, minLongitude, maxLongitude)
        }
        guard minLng >= -180, maxLng <= 180 else { return nil }
        let rows = Int64((minLat + 90) / Self.cellDegrees)...Int64((min(maxLat, 89.999) + 90) / Self.cellDegrees)
        let columns = Int64((minLng + 180) / Self.cellDegrees)...Int64((min(maxLng, 179.999) + 180) / Self.cellDegrees)
        guard rows.count * columns.count <= Self.cellsScannedMax else { return nil }
        return rows.flatMap { row in columns.map { row * 1_000 + $0 } }
    }
}

extension ListingRecord {
    /// The average review rating in stars (0 when there is none).
    public var rating: Double { reviewCount > 0 ? Double(ratingTotal) / Double(reviewCount) / 100 : 0 }
}
