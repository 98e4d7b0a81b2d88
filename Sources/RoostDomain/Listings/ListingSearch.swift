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
    /// Where the hit sorts (`key`): its primary value, and its id packed (`unpackedID` holds the
    /// rare id that does not pack). The id's string is made only when asked for: a page needs one,
    /// its last hit's for the cursor, and building twenty was twenty allocations a search.
    public var primary: Double
    let packed: PackedID
    let unpackedID: String?
    public var distanceKilometres: Double?
    /// The listing as the page shows it, as of the search.
    public var summary: ListingSummary.Copy

    init(primary: Double, packed: PackedID, unpackedID: String?, distanceKilometres: Double?, summary: ListingSummary.Copy) {
        self.primary = primary
        self.packed = packed
        self.unpackedID = packed.isPacked ? nil : unpackedID
        self.distanceKilometres = distanceKilometres
        self.summary = summary
    }

    public var id: String { packed.string ?? unpackedID ?? "" }
    public var key: SearchKey { SearchKey(primary: primary, id: id) }
}

/// The best `limit` matches so far of one search, in key order: every shard's scan offers its
/// matches here, and the page is read from what is left (`ListingIndex.offerMatches`, `readHits`).
///
/// Its entries are plain values (a slot, a packed id, a sort value), so keeping, shifting and
/// comparing them touches no reference count; once the page is full, its last entry bounds every
/// later shard's scan (a price-sorted scan stops at the first entry dearer than it).
public struct SearchWinners: Sendable {
    struct Winner: Sendable {
        var primary: Double
        var packed: PackedID
        /// NaN when the hit has no distance.
        var distance: Double
        var slot: Int32
        var shard: Int32
        /// The id's place in `unpackedIDs` when it does not pack, else -1.
        var unpacked: Int32
    }

    public let limit: Int
    private(set) var items: [Winner] = []
    /// The ids of winners (kept, or kept and since displaced) that do not pack: compared as strings.
    private var unpackedIDs: [String] = []

    public init(limit: Int) {
        self.limit = limit
        if limit > 0 { items.reserveCapacity(limit) }
    }

    public var count: Int { items.count }
    var isFull: Bool { items.count >= limit }
    /// The primary value a match must not exceed to win, once the page is full.
    var lastPrimary: Double? { isFull ? items.last?.primary : nil }

    func id(_ winner: Winner) -> String { winner.packed.string ?? (winner.unpacked >= 0 ? unpackedIDs[Int(winner.unpacked)] : "") }

    /// Whether `a` sorts before `b`, as their keys do (strings read only when an id does not pack).
    func precedes(_ a: Winner, _ b: Winner) -> Bool {
        if a.primary != b.primary { return a.primary < b.primary }
        return PackedID.precedes(a.packed, b.packed) ?? (id(a) < id(b))
    }

    /// Keeps the match unless the page is full and it sorts after the last; the last then goes.
    /// `unpackedID` is asked for only when `packed` does not pack.
    mutating func offer(
        primary: Double, packed: PackedID, unpackedID: @autoclosure () -> String, distance: Double?, slot: Int32, shard: Int32
    ) {
        var winner = Winner(primary: primary, packed: packed, distance: distance ?? .nan, slot: slot, shard: shard, unpacked: -1)
        if !packed.isPacked {
            winner.unpacked = Int32(unpackedIDs.count)
            unpackedIDs.append(unpackedID())
        }
        if isFull {
            guard let last = items.last, precedes(winner, last) else {
                if winner.unpacked >= 0 { unpackedIDs.removeLast() }  // never kept: its string goes too
                return
            }
            items.removeLast()
        }
        var low = 0, high = items.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(items[middle], winner) { low = middle + 1 } else { high = middle }
        }
        items.insert(winner, at: low)
    }

    /// The hit of `winner`, with its listing's summary as it was read.
    func hit(_ winner: Winner, summary: ListingSummary.Copy) -> SearchHit {
        SearchHit(
            primary: winner.primary, packed: winner.packed, unpackedID: winner.unpacked >= 0 ? unpackedIDs[Int(winner.unpacked)] : nil,
            distanceKilometres: winner.distance.isNaN ? nil : winner.distance, summary: summary
        )
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
        precondition(shards > 0, "a search needs a shard")
        let first = (first % shards + shards) % shards
        var total = 0
        var page: [SearchHit] = []
        page.reserveCapacity(query.limit + 1)
        var bounded = query
        bounded.prepare()
        for step in 0..<shards {
            let answer = search((first + step) % shards, bounded)
            total += answer.total
            for hit in answer.hits {
                // A bounded shard's hits all sort before the page's last, so each goes in. A shard
                // asked before the page was full may hold more than the page has room for: its
                // hits are in order, so the first that would land past the page ends its turn.
                var low = 0, high = page.count
                while low < high {
                    let middle = (low + high) / 2
                    if page[middle].key < hit.key { low = middle + 1 } else { high = middle }
                }
                guard low < query.limit else { break }
                page.insert(hit, at: low)
                if page.count > query.limit { page.removeLast() }
            }
            if page.count == query.limit, let last = page.last { bounded.before = last.key }
        }
        return SearchPage(total: total, hits: page)
    }

    /// `gather` in two steps: every shard offers its matches to one `SearchWinners`
    /// (`offer(shard, query, &winners)`, answering its total), so each later shard is bounded by
    /// the page so far; then each shard that has winners is asked once to read their summaries
    /// into the page's draft (`read(shard, winners, &draft)`). Nil when a shard cannot (a winner
    /// left its slot between the steps): the caller gathers again in one step.
    public static func gatherInTwoSteps(
        _ query: ListingQuery, shards: Int, first: Int = 0,
        offer: (Int, ListingQuery, inout SearchWinners) -> Int,
        read: (Int, SearchWinners, inout Draft) -> Bool
    ) -> SearchPage? {
        precondition(shards > 0, "a search needs a shard")
        let first = (first % shards + shards) % shards
        var prepared = query
        prepared.prepare()
        var winners = SearchWinners(limit: query.limit)
        var total = 0
        for step in 0..<shards { total += offer((first + step) % shards, prepared, &winners) }
        var draft = Draft(winners)
        var sharded = 0  // shards with winners, as bits (a shard past 63 is always asked)
        for winner in winners.items { sharded |= winner.shard < 64 ? 1 << Int(winner.shard) : 0 }
        for shard in 0..<shards where shard >= 64 || sharded >> shard & 1 != 0 {
            guard read(shard, winners, &draft) else { return nil }
        }
        return draft.page(of: winners, total: total)
    }

    /// A page while its winners' summaries are read, shard by shard: each is copied into one
    /// buffer (`ListingSummary.copyValues(at:to:)`), noted by the winner's place on the page.
    /// Once all are there, the page's hits share that buffer (`ListingSummary.Copy`).
    public struct Draft {
        /// The bytes of the summaries read so far, in the order they were read.
        var summaries: [UInt8] = []
        /// Where each winner's summary lies in `summaries`, by its place on the page (nil: not read).
        var places: [Range<Int>?]

        init(_ winners: SearchWinners) {
            places = Array(repeating: nil, count: winners.count)
            summaries.reserveCapacity(winners.count * 256)
        }

        /// Copies the summary at `summary` in as the summary of the winner at `position`.
        mutating func read(_ summary: UnsafePointer<ListingSummary>, at position: Int) {
            let start = summaries.count
            ListingSummary.copyValues(at: summary, to: &summaries)
            places[position] = start..<summaries.count
        }

        /// The page: every winner's hit with its summary as read. Nil if one was not read.
        func page(of winners: SearchWinners, total: Int) -> SearchPage? {
            var hits: [SearchHit] = []
            hits.reserveCapacity(places.count)
            for (winner, place) in zip(winners.items, places) {
                guard let place else { return nil }
                hits.append(winners.hit(winner, summary: ListingSummary.Copy(values: summaries[place])))
            }
            return SearchPage(total: total, hits: hits)
        }
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
