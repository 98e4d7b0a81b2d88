import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A search over one shard's listings (see `ListingIndex`). Prices are compared in minor units of
/// the query's currency: `priceFactors[c]` converts one minor unit of currency `c` (nil: no
/// conversion — each listing's own currency).
public struct ListingQuery: Sendable {
    public enum Area: Sendable, Equatable {
        case radius(latitude: Double, longitude: Double, kilometres: Double)
        /// Degrees; `minLongitude > maxLongitude` crosses the antimeridian.
        case box(minLongitude: Double, minLatitude: Double, maxLongitude: Double, maxLatitude: Double)
    }

    public enum Sort: String, Sendable, CaseIterable {
        case priceAscending = "price_asc"
        case priceDescending = "price_desc"
        case rating
        case distance
        case newest
    }

    /// A `TextKey` matched against city and country.
    public var place: String?
    public var area: Area?
    public var stay: Range<CalendarDay>?
    /// Set when `stay` lies near either end of the bookable window (from a listing's today to its
    /// horizon), where listings' own days decide: then a listing matches only if a booking of the
    /// stay would be taken in its time zone.
    public var window: BookableWindow?
    public var guests: Int?
    public var priceRange: ClosedRange<Int64>?
    public var priceFactors: [String: Double]?
    public var amenities: [String] = [] {
        didSet { amenityBits = nil }
    }
    /// `amenities` as bits, once `prepare()` has worked them out (nil: not yet; `.some(nil)`: some
    /// code no listing has). The codes' table is process-wide and locked, so a query visiting many
    /// shards asks it once, not once per shard.
    private(set) var amenityBits: AmenitySet??
    public var propertyType: String?
    public var instantBook: Bool?
    public var sort: Sort = .priceAscending
    /// The point distances are measured from (the radius's centre, or given for `distance` sort).
    public var origin: (latitude: Double, longitude: Double)?
    /// Only hits after this key (the previous page's last).
    public var after: SearchKey?
    /// Each shard's sort mark when this search's first page was made (by shard number): later
    /// pages sort listings changed since by their values then (`ListingIndex.search(_:asOf:)`).
    public var sortedAsOf: [SortMark]?
    /// Only hits before this key go on the page (the total still counts every match): the page's
    /// last so far, when shards are visited in turn, so a later shard keeps only what can win.
    public var before: SearchKey?
    public var limit = 20

    public init() {}

    /// Works out what every shard would work out alike (the amenity bits), once.
    public mutating func prepare() {
        if amenityBits == nil { amenityBits = .some(AmenitySet.existing(amenities)) }
    }
}

/// The nights a listing takes bookings for, by its own calendar: from its today to `horizonDays`
/// ahead. Listings' todays differ by up to a day either side of UTC's, so a stay starting around
/// today, or ending around the horizon, is bookable in some time zones and not in others.
public final class BookableWindow: Sendable {
    public let horizonDays: Int32
    private let today: @Sendable (String) -> CalendarDay
    /// Each zone's today, worked out once per search (a search visits every shard).
    private let todays = Mutex<[String: CalendarDay]>([:])

    /// `today` answers a zone's day at the search's instant.
    public init(horizonDays: Int, today: @escaping @Sendable (String) -> CalendarDay) {
        self.horizonDays = Int32(horizonDays)
        self.today = today
    }

    /// Whether a listing in `timeZone` takes a booking of `stay` (days since the epoch).
    public func admits(_ stay: Range<Int32>, timeZone: String) -> Bool {
        let day = todays.withLock { known in
            if let day = known[timeZone] { return day }
            let day = today(timeZone)
            known[timeZone] = day
            return day
        }.daysSinceEpoch
        return day <= stay.lowerBound && stay.upperBound <= day + horizonDays
    }
}

/// Where an index's history of sort values stood: which index (a restart builds another) and how
/// many changes it had recorded.
public struct SortMark: Sendable, Hashable {
    public var generation: UInt64
    public var stamp: Int64

    public init(generation: UInt64, stamp: Int64) {
        self.generation = generation
        self.stamp = stamp
    }
}

/// Where a hit sorts: ascending by `primary`, then by id. Descending sorts negate `primary`.
public struct SearchKey: Comparable, Hashable, Sendable {
    public var primary: Double
    public var id: String

    public init(primary: Double, id: String) {
        self.primary = primary
        self.id = id
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.primary, lhs.id) < (rhs.primary, rhs.id) }
}

public struct SearchHit: Sendable, Equatable {
    public var key: SearchKey
    public var distanceKilometres: Double?
    /// The listing as the page shows it, as of the search.
    public var summary: ListingSummary
}

/// A match as a shard's scan leaves it (`ListingIndex.candidates`): where it sorts and where its
/// listing lies in that shard's index, its id packed, nothing else read yet.
public struct SearchCandidate: Sendable {
    public let primary: Double
    let slot: Int32
    let packed: PackedID
    /// The id, for the rare one that does not pack.
    let unpackedID: String?
    public let distanceKilometres: Double?

    public var id: String { packed.string ?? unpackedID ?? "" }
    public var key: SearchKey { SearchKey(primary: primary, id: id) }

    /// Whether `a` sorts before `b` (as their keys do), without building either id's string when both pack.
    public static func precedes(_ a: SearchCandidate, _ b: SearchCandidate) -> Bool {
        if a.primary != b.primary { return a.primary < b.primary }
        return PackedID.precedes(a.packed, b.packed) ?? (a.id < b.id)
    }
}

/// One shard's answer: how many listings match in all, and the first `limit` after the cursor.
public struct SearchPage: Sendable, Equatable {
    public var total: Int
    public var hits: [SearchHit]

    public init(total: Int, hits: [SearchHit]) {
        self.total = total
        self.hits = hits
    }
}

extension SearchPage {
    /// `query` over `shards` shards visited in turn from `first` (`search(shard, query)`), merged.
    /// Once the page is full, each later shard is asked only for hits before its last
    /// (`ListingQuery.before`), so most shards read a handful of entries rather than a page. The
    /// answer is the same from any first shard; callers vary it so that concurrent searches do
    /// not queue behind one another on the same shard's lock.
    public static func gather(_ query: ListingQuery, shards: Int, first: Int = 0, _ search: (Int, ListingQuery) -> SearchPage) -> SearchPage {
        let (total, page) = merged(query, shards: shards, first: first, by: { $0.key < $1.key }, bound: \.key) { shard, query in
            let part = search(shard, query)
            return (part.total, part.hits)
        }
        return SearchPage(total: total, hits: page.map(\.item))
    }

    /// `gather` in two steps: each shard's matches as candidates (`candidates(shard, query)`,
    /// bounded as `gather` bounds), merged; then each shard that has winners is asked once for
    /// their hits (`hits(shard, winners)`). Nil when a shard answers nil (a winner left its slot
    /// between the steps): the caller gathers again in one step.
    public static func gatherInTwoSteps(
        _ query: ListingQuery, shards: Int, first: Int = 0,
        candidates: (Int, ListingQuery) -> (total: Int, candidates: [SearchCandidate]),
        hits: (Int, [SearchCandidate]) -> [SearchHit]?
    ) -> SearchPage? {
        let (total, page) = merged(query, shards: shards, first: first, by: SearchCandidate.precedes, bound: \.key) { shard, query in
            let part = candidates(shard, query)
            return (part.total, part.candidates)
        }
        var winners = Array(repeating: [Int](), count: shards)  // positions on the page, by shard
        for (position, entry) in page.enumerated() { winners[entry.shard].append(position) }
        var read = [SearchHit?](repeating: nil, count: page.count)
        for (shard, positions) in winners.enumerated() where !positions.isEmpty {
            guard let found = hits(shard, positions.map { page[$0].item }), found.count == positions.count else { return nil }
            for (position, hit) in zip(positions, found) { read[position] = hit }
        }
        return SearchPage(total: total, hits: read.compactMap { $0 })
    }

    /// The shards' answers (`part(shard, query)`, each in order) visited in turn from `first` and
    /// merged into the best `query.limit` by `precedes`, each with its shard; and the sum of their
    /// totals. Once the page is full, each later shard is asked only for what sorts before its last
    /// (`ListingQuery.before`, from `bound`).
    private static func merged<Item>(
        _ query: ListingQuery, shards: Int, first: Int, by precedes: (Item, Item) -> Bool, bound: (Item) -> SearchKey,
        _ part: (Int, ListingQuery) -> (total: Int, items: [Item])
    ) -> (total: Int, page: [(shard: Int, item: Item)]) {
        precondition(shards > 0, "a search needs a shard")
        let first = (first % shards + shards) % shards
        var total = 0
        var page: [(shard: Int, item: Item)] = []
        page.reserveCapacity(query.limit + 1)
        var bounded = query
        bounded.prepare()
        for step in 0..<shards {
            let shard = (first + step) % shards
            let answer = part(shard, bounded)
            total += answer.total
            for item in answer.items {
                // A bounded shard's items all sort before the page's last, so each goes in. A shard
                // asked before the page was full may hold more than the page has room for: its
                // items are in order, so the first that would land past the page ends its turn.
                var low = 0, high = page.count
                while low < high {
                    let middle = (low + high) / 2
                    if precedes(page[middle].item, item) { low = middle + 1 } else { high = middle }
                }
                guard low < query.limit else { break }
                page.insert((shard, item), at: low)
                if page.count > query.limit { page.removeLast() }
            }
            if page.count == query.limit, let last = page.last { bounded.before = bound(last.item) }
        }
        return (total, page)
    }
}

public enum Geo {
    public static let earthRadiusKilometres = 6_371.0088

    /// Great-circle distance (haversine).
    public static func distanceKilometres(_ lat1: Double, _ lng1: Double, _ lat2: Double, _ lng2: Double) -> Double {
        let radians = Double.pi / 180
        let dLat = (lat2 - lat1) * radians, dLng = (lng2 - lng1) * radians
        let a = sinHalfSquared(dLat) + cos(lat1 * radians) * cos(lat2 * radians) * sinHalfSquared(dLng)
        return 2 * earthRadiusKilometres * asin(min(1, a.squareRoot()))
    }

    private static func sinHalfSquared(_ x: Double) -> Double {
        let s = sin(x / 2)
        return s * s
    }
}
