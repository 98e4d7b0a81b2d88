import Foundation
import HTTPTypes
import Logging
import RoostDomain
import RoostEngine
import RoostIntegrations
import Synchronization

/// The listing use cases between validated requests and the `ListingShard`s.
public final class ListingService: Sendable {
    public let group: ShardGroup<Listings>
    /// Where reviews live; nil where they are not served (the search benchmark).
    public let reviews: ShardGroup<Reviews>?
    let media: MediaLibrary
    let clock: @Sendable () -> Date
    /// Counts searches, so that each starts its round of the shards one further on.
    private let searches = Atomic<Int>(0)

    public init(group: ShardGroup<Listings>, reviews: ShardGroup<Reviews>? = nil, media: MediaLibrary, clock: @escaping @Sendable () -> Date) {
        self.group = group
        self.reviews = reviews
        self.media = media
        self.clock = clock
    }

    /// How far ahead calendars reach: nights beyond are neither editable nor bookable. Two years
    /// and a day, so that a stay can end on the same date two years ahead even with a leap day
    /// between (from 2026-11-26, 2028-11-26 is 731 days on).
    static let horizonDays = 731

    /// Today on the listing's own calendar: the day of the instant moved by the zone's offset from
    /// UTC at that instant (days since the epoch, by arithmetic: a search and a booking each ask,
    /// and building a `Calendar` for it cost more than the rest of parsing a search).
    public static func today(in timeZone: String, now: Date) -> CalendarDay {
        // UTC (every search asks for its day) without a zone lookup: that takes a process-wide lock.
        let offset = timeZone == "UTC" ? 0 : (TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 0)!).secondsFromGMT(for: now)
        let local = now.timeIntervalSince1970 + Double(offset)
        return CalendarDay(daysSinceEpoch: Int32((local / 86_400).rounded(.down)))
    }

    public func listing(_ id: String) async -> ListingRecord? {
        guard Identifiers.isValid(id) else { return nil }
        return group.shard(for: id).peek { $0.listings[id] }.flatMap { $0.status == .deleted ? nil : $0 }
    }

    /// The listing if `principal` may manage it (its host, or an admin); 404 when it is not
    /// visible, 403 when it is someone else's.
    func managed(_ id: String, by principal: Principal) async throws -> ListingRecord {
        guard let listing = await listing(id) else { throw Problem.notFound("No such listing.") }
        guard listing.hostID == principal.userID || principal.role == .admin else {
            throw Problem.forbidden("Only the listing's host or an admin may change it.")
        }
        return listing
    }

    @discardableResult
    func execute(_ command: Listings.Command, on id: String) async throws -> [Listings.Event] {
        do {
            return try await group.shard(for: id).execute(command, now: AccountService.timestamp(clock()))
        } catch let rejection as Listings.Rejection {
            switch rejection {
            case .listingNotFound: throw Problem.notFound("No such listing.")
            case .listingExists: throw Problem(.conflict, code: "conflict", title: "Conflict", detail: "The listing exists already.")
            case .photoNotFound: throw Problem.notFound("No such photo.")
            case let .tooManyPhotos(limit):
                throw Problem(.conflict, code: "too_many_photos", title: "Conflict", detail: "A listing has at most \(limit) photos.")
            case .hasUpcomingBookings:
                throw Problem(.conflict, code: "has_upcoming_bookings", title: "Conflict", detail: "The listing has stays ahead; cancel them first.")
            case .bookingExists: throw Problem(.conflict, code: "conflict", title: "Conflict", detail: "The booking exists already.")
            case .bookingNotFound: throw Problem.notFound("No such booking.")
            case .listingNotBookable:
                throw Problem(.conflict, code: "listing_not_bookable", title: "Conflict", detail: "The listing is not taking bookings.")
            case .ownListing: throw Problem.forbidden("Hosts cannot book their own listings.")
            case .stayInThePast: throw Problem.validation([.init(field: "checkIn", message: "must not be before today at the listing")])
            case let .stayLength(min, max):
                throw Problem.validation([.init(field: "checkOut", message: "this listing takes stays of \(min) to \(max) nights")])
            case let .tooManyGuests(max): throw Problem.validation([.init(field: "guests", message: "must be from 1 to \(max) (this listing's limit)")])
            case .datesUnavailable:
                throw Problem(.conflict, code: "dates_unavailable", title: "Conflict", detail: "Some of these nights are taken.")
            case let .bookingIs(status):
                throw Problem(.conflict, code: "invalid_transition", title: "Conflict", detail: "The booking is \(status).")
            case .holdNotExpired:
                throw Problem(.conflict, code: "hold_not_expired", title: "Conflict", detail: "The booking's hold has not lapsed.")
            case .stayNotOver: throw Problem(.conflict, code: "stay_not_over", title: "Conflict", detail: "The stay has not ended.")
            case let .pricedIn(currency):
                throw Problem.validation([.init(
                    field: "pricePerNight.currency",
                    message: "cannot change while a weekend price or per-night prices in \(currency) are set for nights ahead; clear them first"
                )])
            case .editedMeanwhile:
                throw Problem(.conflict, code: "edit_conflict", title: "Conflict", detail: "The listing kept changing while this edit was applied; send it again.")
            }
        }
    }

    func create(hostID: String, details: ListingDetails) async throws -> ListingRecord {
        let record = ListingRecord(id: Identifiers.make("lst"), hostID: hostID, details: details, createdAt: AccountService.timestamp(clock()))
        try await execute(.create(record), on: record.id)
        return record
    }

    // MARK: Scatter reads

    /// Runs `query` on every shard into one page. Each shard offers its matches to the
    /// search's winners, and the summaries (`ListingSummary`) of the page's winners alone are read,
    /// from each shard as it is then (`SearchPage.gatherInTwoSteps`).
    ///
    /// The shards are visited one after another from the caller's thread (`Shard.peek`), not by
    /// hopping onto each shard's actor: a query's scan of one shard takes a few microseconds, less
    /// than the two task switches a hop costs. Each shard's page is as of its own moment. Each
    /// search starts one shard further on than the last, so concurrent searches spread over the
    /// shards' locks rather than following one another through them.
    public func search(_ query: ListingQuery) -> SearchPage { searchMarking(query).page }

    /// `search`, with the sort marks the next page's cursor keeps (by shard number): the query's
    /// own (`sortedAsOf`), so that every page sorts as of the first; for a first page, or for a
    /// shard whose mark is from before a restart or another shard layout, the shard's mark as its
    /// scan saw it. `expired`: some shard has forgotten changes since the query's mark (a cursor
    /// older than its last 65,536 changes of sort values), so this page cannot sort as of it.
    public func searchMarking(_ query: ListingQuery) -> (page: SearchPage, marks: [SortMark], expired: Bool) {
        let shards = group.shards
        let first = (searches.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max) % shards.count
        let asOf = query.sortedAsOf.flatMap { $0.count == shards.count ? $0 : nil }
        var marks = Array(repeating: SortMark(generation: 0, stamp: 0), count: shards.count)
        var expired = false
        /// The shard's mark this search sorts as of (noting whether the shard still can), else its own.
        func mark(_ shard: Int, _ state: Listings.State) -> SortMark? {
            if let mark = asOf?[shard], mark.generation == state.sortMark.generation {
                marks[shard] = mark
                if !state.remembersSorts(since: mark) { expired = true }
                return mark
            }
            marks[shard] = state.sortMark
            return nil
        }
        // The page's winners are read after every shard has offered its matches: only they are read.
        let twoSteps = SearchPage.gatherInTwoSteps(
            query, shards: shards.count, first: first,
            offer: { shard, query, winners in shards[shard].peek { state in state.offerMatches(query, asOf: mark(shard, state), shard: shard, to: &winners) } },
            read: { shard, winners, page in shards[shard].peek { $0.readHits(of: winners, shard: shard, into: &page) } }
        )
        if let page = twoSteps { return (page, marks, expired) }
        // A winner left its shard's index between the steps (rare): once more, each shard read as it is scanned.
        expired = false
        let page = SearchPage.gather(query, shards: shards.count, first: first) { shard, query in
            shards[shard].peek { state in state.search(query, asOf: mark(shard, state)) }
        }
        return (page, marks, expired)
    }

    /// `body` over every shard's state, answers in shard order.
    func scatter<T: Sendable>(_ body: @escaping @Sendable (Listings.State) -> T) async -> [T] { await group.scatter(body) }

    /// Listings matching `include`, newest first, one page after `cursor` — for hosts' and admins' lists.
    func page(after cursor: (Int64, String)?, limit: Int, where include: @escaping @Sendable (ListingRecord) -> Bool) async -> (items: [ListingRecord], next: (Int64, String)?) {
        await group.newestFirst(after: cursor, limit: limit) { state, keep in state.listings.values.filter { include($0) && keep($0) } }
    }
}
