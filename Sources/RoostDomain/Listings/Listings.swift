import RoostBinary

/// Listings with their calendars, sharded by listing id (`ListingShard`s). Field rules (lengths,
/// ranges, catalogue codes) are checked where requests enter; this decides what depends on the
/// state: existence, ownership, status, the photo limit, and nights held by stays.
public enum Listings: Aggregate {
    /// The listings and their index, behind one reference: reading a shard hands the state to a
    /// closure, and a copy costs one retain rather than one per array the index holds. Copies
    /// share storage until one of them changes (copy on write).
    public struct State: Equatable, Sendable {
        // Mutated only through `unique()`, so no two states ever share a `Storage` being changed.
        private final class Storage: @unchecked Sendable {
            var listings: ListingTable
            var index: ListingIndex
            var bookings: [String: BookingRecord]
            var settled: Set<String>

            init(listings: ListingTable = [:], index: consuming ListingIndex = ListingIndex(), bookings: [String: BookingRecord] = [:], settled: Set<String> = []) {
                self.listings = listings
                self.index = index
                self.bookings = bookings
                self.settled = settled
            }
        }

        private var storage = Storage()

        public init() {}

        public var listings: ListingTable {
            get { storage.listings }
            _modify {
                unique()
                yield &storage.listings
            }
        }

        /// The bookings of this shard's listings, by booking id.
        public var bookings: [String: BookingRecord] {
            get { storage.bookings }
            _modify {
                unique()
                yield &storage.bookings
            }
        }

        /// Canceled bookings whose money is settled for good (`bookingSettled`): scans skip them.
        public var settled: Set<String> {
            get { storage.settled }
            _modify {
                unique()
                yield &storage.settled
            }
        }

        /// Derived from `listings` (never stored): kept current by `apply`, rebuilt on load.
        public var index: ListingIndex { _read { yield storage.index } }

        private mutating func unique() {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(listings: storage.listings, index: storage.index.copy(), bookings: storage.bookings, settled: storage.settled) }
        }

        /// Indexes every listing afresh, cheapest first: each entry then joins the end of its lists,
        /// so no bitmap shifts (what loading a snapshot does).
        mutating func rebuildIndex() {
            unique()
            storage.index = ListingIndex()
            for listing in storage.listings.values.sorted(by: { $0.details.pricePerNight < $1.details.pricePerNight }) {
                storage.index.update(listing)
            }
        }

        mutating func reindex(_ id: String) {
            unique()
            if let listing = storage.listings[id] { storage.index.update(listing) } else { storage.index.remove(id) }
        }

        /// The index's copy of one listing's taken nights within `nights`, after a booking took or
        /// gave back some.
        mutating func reindexNights(_ id: String, _ nights: Range<CalendarDay>) {
            unique()
            if let listing = storage.listings[id] { storage.index.updateNights(listing, in: nights) }
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.storage === rhs.storage || (lhs.listings == rhs.listings && lhs.bookings == rhs.bookings && lhs.settled == rhs.settled)
        }

        /// Runs `query` over this shard (see `ListingIndex.search(_:asOf:)`).
        public func search(_ query: ListingQuery, asOf: SortMark? = nil) -> SearchPage { storage.index.search(query, asOf: asOf) }

        /// `search`'s first step: this shard's matches offered to the search's winners as `shard`,
        /// nothing read yet; answers how many match here (see `ListingIndex.offerMatches`).
        public func offerMatches(_ query: ListingQuery, asOf: SortMark? = nil, shard: Int, to winners: inout SearchWinners) -> Int {
            storage.index.offerMatches(query, asOf: asOf, shard: shard, to: &winners)
        }

        /// `search`'s second step: the summaries of this shard's winners, copied into the page's
        /// draft; false when one has left its slot since.
        public func readHits(of winners: SearchWinners, shard: Int, into draft: inout SearchPage.Draft) -> Bool {
            storage.index.readHits(of: winners, shard: shard, into: &draft)
        }

        /// Where this shard's history of sort values stands (for a first page's cursor).
        public var sortMark: SortMark { storage.index.sortMark }

        /// Whether this shard can still sort as of `mark` (see `ListingIndex.remembersSorts(since:)`).
        public func remembersSorts(since mark: SortMark) -> Bool { storage.index.remembersSorts(since: mark) }
    }

    /// A change of nights: block or unblock them, or set or clear their price.
    public enum NightChange: Hashable, Sendable {
        case block(Range<CalendarDay>)
        case unblock(Range<CalendarDay>)
        case price(Range<CalendarDay>, Int64?)
    }

    public enum Command: Sendable {
        case create(ListingRecord)
        /// New details, worked out from `over` (the details the editor read): refused with
        /// `editedMeanwhile` when the listing's details are no longer those, so two concurrent
        /// partial edits cannot lose one another (the editor reads again and retries). A new
        /// currency is refused (`pricedIn`) while prices in the old one are set for nights from
        /// `today` (the listing's) on: they would be read as amounts in the new one.
        case update(id: String, ListingDetails, over: ListingDetails, today: CalendarDay)
        case setStatus(id: String, ListingStatus)
        /// Hides the listing while its host is suspended or no longer a host, and lists it again
        /// (as its own status says) when the host is back. Nothing for a deleted listing.
        case setHostAway(id: String, Bool)
        /// The soft delete; refused while booked nights lie ahead of `today`.
        case delete(id: String, today: CalendarDay)
        /// Blocks, unblocks and prices nights; the prices are amounts in `currency`, the one the
        /// editor checked them against: refused with `editedMeanwhile` if the listing's is another now.
        case changeNights(id: String, [NightChange], currency: String)
        case addPhoto(id: String, ListingPhoto)
        case removePhoto(id: String, photoID: String)
        /// The pricing rules; a weekend price is in `currency`, as `changeNights`' prices are.
        case setPricing(id: String, ListingPricing, currency: String)
        /// Takes a stay's nights (the booking starts pending). Refused unless the listing is
        /// active, the guest is not its host, the stay starts on `today` (the listing's) or later,
        /// its length and guests are within the listing's limits, and every night is free.
        case hold(BookingRecord, today: CalendarDay)
        case confirmBooking(id: String)
        /// Moves a pending booking's hold to `until` (a request waiting for its host).
        case extendHold(id: String, until: Timestamp)
        case cancelBooking(id: String, BookingCancellation)
        /// Cancels a pending booking whose hold has lapsed by the decision's time.
        case expireBooking(id: String)
        /// Marks a confirmed stay completed once `today` (the listing's) is its check-out day or later.
        case completeBooking(id: String, today: CalendarDay)
        /// Records that a canceled booking's money is settled for good (voided, refunded, paid out,
        /// or never taken, the provider asked): the scheduler no longer visits it, and a restart does
        /// not ask the provider about it again. A provider's later event still reconciles it.
        case markSettled(id: String)
    }

    public enum Event: EventCoding, Sendable, Equatable {
        case created(ListingRecord)
        case updated(id: String, ListingDetails, at: Timestamp)
        case statusChanged(id: String, ListingStatus, at: Timestamp)
        case hostAwayChanged(id: String, Bool, at: Timestamp)
        case nightsChanged(id: String, [NightChange], at: Timestamp)
        case photoAdded(id: String, ListingPhoto, at: Timestamp)
        case photoRemoved(id: String, photoID: String, at: Timestamp)
        case pricingChanged(id: String, ListingPricing, at: Timestamp)
        case bookingHeld(BookingRecord)
        case bookingConfirmed(id: String, at: Timestamp)
        case bookingHoldExtended(id: String, until: Timestamp, at: Timestamp)
        case bookingSettled(id: String, at: Timestamp)
        case bookingCanceled(id: String, BookingCancellation)
        case bookingCompleted(id: String, at: Timestamp)
    }

    public enum Rejection: Error, Equatable, Sendable {
        case listingExists
        case listingNotFound
        case photoNotFound
        case tooManyPhotos(limit: Int)
        case hasUpcomingBookings
        case bookingExists
        case bookingNotFound
        /// The listing is not taking bookings (paused or delisted).
        case listingNotBookable
        case ownListing
        case stayInThePast
        case stayLength(min: Int, max: Int)
        case tooManyGuests(max: Int)
        case datesUnavailable
        /// The booking's status does not allow this.
        case bookingIs(BookingStatus)
        case holdNotExpired
        case stayNotOver
        /// The listing's details changed since the edit read them.
        case editedMeanwhile
        /// The currency cannot change while a weekend price or per-night prices in `currency` (the
        /// listing's) are set for nights ahead.
        case pricedIn(currency: String)
    }

    public static let kind: UInt16 = 2
    public static let photosMax = 50

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        let now = context.now
        func live(_ id: String) -> Result<ListingRecord, Rejection> {
            guard let listing = state.listings[id], listing.status != .deleted else { return .failure(.listingNotFound) }
            return .success(listing)
        }
        switch command {
        case let .create(record):
            guard state.listings[record.id] == nil else { return .failure(.listingExists) }
            return .success([.created(record)])
        case let .update(id, details, base, today):
            return live(id).flatMap { listing in
                if listing.details != base { return .failure(.editedMeanwhile) }
                if details.currency != listing.details.currency, listing.hasPrices(from: today) {
                    return .failure(.pricedIn(currency: listing.details.currency))
                }
                return .success(listing.details == details ? [] : [.updated(id: id, details, at: now)])
            }
        case let .setStatus(id, status):
            return live(id).map { $0.status == status ? [] : [.statusChanged(id: id, status, at: now)] }
        case let .setHostAway(id, away):
            guard let listing = state.listings[id] else { return .failure(.listingNotFound) }
            return .success(listing.status == .deleted || listing.hostAway == away ? [] : [.hostAwayChanged(id: id, away, at: now)])
        case let .delete(id, today):
            return live(id).flatMap { listing in
                let ahead = today..<today.advanced(by: 3 * 366)
                if listing.calendar.isAnySet(.booked, in: ahead) { return .failure(.hasUpcomingBookings) }
                return .success([.statusChanged(id: id, .deleted, at: now)])
            }
        case let .changeNights(id, changes, currency):
            return live(id).flatMap { listing in
                for change in changes {
                    // Blocking and unblocking touch the host's blocks only: a booked night stays held
                    // either way (and an unblocked one is free again once its stay is canceled).
                    if case .price(_, _?) = change, currency != listing.details.currency { return .failure(.editedMeanwhile) }
                }
                return .success(changes.isEmpty ? [] : [.nightsChanged(id: id, changes, at: now)])
            }
        case let .addPhoto(id, photo):
            return live(id).flatMap { listing in
                listing.photos.count >= photosMax
                    ? .failure(.tooManyPhotos(limit: photosMax)) : .success([.photoAdded(id: id, photo, at: now)])
            }
        case let .setPricing(id, pricing, currency):
            return live(id).flatMap { listing in
                if pricing.weekendPrice != nil, currency != listing.details.currency { return .failure(.editedMeanwhile) }
                return .success(listing.pricing == pricing ? [] : [.pricingChanged(id: id, pricing, at: now)])
            }
        case let .hold(booking, today):
            return decideHold(booking, today: today, state: state)
        case let .confirmBooking(id):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status == .pending else { return .failure(.bookingIs(booking.status)) }
            return .success([.bookingConfirmed(id: id, at: now)])
        case let .extendHold(id, until):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status == .pending else { return .failure(.bookingIs(booking.status)) }
            return .success(booking.holdExpiresAt == until ? [] : [.bookingHoldExtended(id: id, until: until, at: now)])
        case let .cancelBooking(id, cancellation):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status.holdsNights else { return .failure(.bookingIs(booking.status)) }
            return .success([.bookingCanceled(id: id, cancellation)])
        case let .expireBooking(id):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status == .pending else { return .failure(.bookingIs(booking.status)) }
            guard booking.holdExpiresAt <= now else { return .failure(.holdNotExpired) }
            return .success([.bookingCanceled(id: id, BookingCancellation(by: .system, at: now, reason: "hold expired", refund: 0))])
        case let .completeBooking(id, today):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status == .confirmed else { return .failure(.bookingIs(booking.status)) }
            guard today >= booking.stay.upperBound else { return .failure(.stayNotOver) }
            return .success([.bookingCompleted(id: id, at: now)])
        case let .markSettled(id):
            guard let booking = state.bookings[id] else { return .failure(.bookingNotFound) }
            guard booking.status == .canceled else { return .failure(.bookingIs(booking.status)) }
            return .success(state.settled.contains(id) ? [] : [.bookingSettled(id: id, at: now)])
        case let .removePhoto(id, photoID):
            return live(id).flatMap { listing in
                listing.photos.contains { $0.id == photoID }
                    ? .success([.photoRemoved(id: id, photoID: photoID, at: now)]) : .failure(.photoNotFound)
            }
        }
    }

    /// Every rule of a hold, read from the state as it is: nothing can change between this check
    /// and the apply that takes the nights (both run in the shard's actor without suspending).
    private static func decideHold(_ booking: BookingRecord, today: CalendarDay, state: State) -> Result<[Event], Rejection> {
        guard state.bookings[booking.id] == nil else { return .failure(.bookingExists) }
        guard let listing = state.listings[booking.listingID], listing.status != .deleted else { return .failure(.listingNotFound) }
        guard listing.isListed else { return .failure(.listingNotBookable) }
        guard booking.guestID != listing.hostID else { return .failure(.ownListing) }
        guard booking.stay.lowerBound >= today else { return .failure(.stayInThePast) }
        let details = listing.details
        guard (details.minNights...details.maxNights).contains(booking.nights) else {
            return .failure(.stayLength(min: details.minNights, max: details.maxNights))
        }
        guard (1...details.maxGuests).contains(booking.guests) else { return .failure(.tooManyGuests(max: details.maxGuests)) }
        guard listing.calendar.isFree(booking.stay) else { return .failure(.datesUnavailable) }
        return .success([.bookingHeld(booking)])
    }

    public static func apply(_ event: Event, to state: inout State) {
        let listingID = event.listingID(in: state)
        applyToListings(event, &state)
        guard let listingID else { return }
        switch event {
        case let .bookingHeld(booking):
            // Only the stay's nights changed: the listing keeps its place in the index.
            state.reindexNights(listingID, booking.stay)
        case let .bookingCanceled(id, _):
            if let stay = state.bookings[id]?.stay { state.reindexNights(listingID, stay) }
        case .bookingConfirmed, .bookingHoldExtended, .bookingCompleted, .bookingSettled:
            break  // a booking's status is not indexed
        default:
            state.reindex(listingID)
        }
    }

    private static func applyToListings(_ event: Event, _ state: inout State) {
        switch event {
        case let .created(record):
            state.listings[record.id] = record
        case let .updated(id, details, at):
            state.listings[id]?.details = details
            state.listings[id]?.updatedAt = at
        case let .statusChanged(id, status, at):
            state.listings[id]?.status = status
            state.listings[id]?.updatedAt = at
        case let .hostAwayChanged(id, away, _):
            state.listings[id]?.hostAway = away  // not an edit of the listing: `updatedAt` stays the host's
        case let .nightsChanged(id, changes, at):
            guard var listing = state.listings[id] else { return }
            for change in changes {
                switch change {
                case let .block(nights): listing.calendar.set(.blocked, nights, to: true)
                case let .unblock(nights): listing.calendar.set(.blocked, nights, to: false)
                case let .price(nights, amount):
                    for night in nights { listing.priceOverrides[night] = amount }
                }
            }
            listing.updatedAt = at
            state.listings[id] = listing
        case let .photoAdded(id, photo, at):
            state.listings[id]?.photos.append(photo)
            state.listings[id]?.updatedAt = at
        case let .photoRemoved(id, photoID, at):
            state.listings[id]?.photos.removeAll { $0.id == photoID }
            state.listings[id]?.updatedAt = at
        case let .pricingChanged(id, pricing, at):
            state.listings[id]?.pricing = pricing
            state.listings[id]?.updatedAt = at
        case let .bookingHeld(booking):
            state.bookings[booking.id] = booking
            state.listings[booking.listingID]?.calendar.set(.booked, booking.stay, to: true)
        case let .bookingConfirmed(id, at):
            state.bookings[id]?.status = .confirmed
            state.bookings[id]?.updatedAt = at
        case let .bookingHoldExtended(id, until, at):
            state.bookings[id]?.holdExpiresAt = until
            state.bookings[id]?.updatedAt = at
        case let .bookingCanceled(id, cancellation):
            guard var booking = state.bookings[id] else { return }
            if booking.status.holdsNights { state.listings[booking.listingID]?.calendar.set(.booked, booking.stay, to: false) }
            booking.status = .canceled
            booking.cancellation = cancellation
            booking.updatedAt = cancellation.at
            state.bookings[id] = booking
        case let .bookingCompleted(id, at):
            state.bookings[id]?.status = .completed
            state.bookings[id]?.updatedAt = at
        case let .bookingSettled(id, _):
            state.settled.insert(id)
        }
    }

    // The snapshot section: every listing, then the pricing of those that have any, then the
    // bookings, then the settled bookings' ids (later additions: a section that ends before them
    // has none).
    public static func encode(state: State, into writer: inout ByteWriter) {
        let ids = state.listings.keys.sorted()
        writer.writeVarint(ids.count)
        for id in ids { writer.write(state.listings[id]!) }
        let priced = ids.filter { state.listings[$0]!.pricing != .none }
        writer.writeVarint(priced.count)
        for id in priced {
            writer.writeString(id)
            writer.write(state.listings[id]!.pricing)
        }
        writer.writeVarint(state.bookings.count)
        for id in state.bookings.keys.sorted() { writer.write(state.bookings[id]!) }
        writer.writeVarint(state.settled.count)
        for id in state.settled.sorted() { writer.writeString(id) }
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        let count = try reader.readCount(limit: reader.remaining)
        state.listings.reserveCapacity(count)
        for _ in 0..<count {
            let listing = try reader.readListingRecord()
            state.listings[listing.id] = listing
        }
        state.rebuildIndex()
        if reader.isAtEnd { return state }
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let id = try reader.readString()
            guard state.listings[id] != nil else { throw .invalid("pricing for unknown listing \(id)") }
            state.listings[id]!.pricing = try reader.readListingPricing()
        }
        if reader.isAtEnd { return state }
        let bookings = try reader.readCount(limit: reader.remaining)
        state.bookings.reserveCapacity(bookings)
        for _ in 0..<bookings {
            let booking = try reader.readBookingRecord()
            guard state.listings[booking.listingID] != nil else { throw .invalid("booking \(booking.id) of unknown listing \(booking.listingID)") }
            state.bookings[booking.id] = booking
        }
        if reader.isAtEnd { return state }
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let id = try reader.readString()
            guard state.bookings[id] != nil else { throw .invalid("settled mark for unknown booking \(id)") }
            state.settled.insert(id)
        }
        return state
    }
}

extension Listings.Event {
    /// The listing the event changes (a booking event's is its booking's).
    func listingID(in state: Listings.State) -> String? {
        switch self {
        case let .created(record): record.id
        case let .updated(id, _, _), let .statusChanged(id, _, _), let .nightsChanged(id, _, _): id
        case let .hostAwayChanged(id, _, _): id
        case let .photoAdded(id, _, _), let .photoRemoved(id, _, _): id
        case let .pricingChanged(id, _, _): id
        case let .bookingHeld(booking): booking.listingID
        case let .bookingConfirmed(id, _), let .bookingCompleted(id, _): state.bookings[id]?.listingID
        case let .bookingHoldExtended(id, _, _): state.bookings[id]?.listingID
        case let .bookingCanceled(id, _), let .bookingSettled(id, _): state.bookings[id]?.listingID
        }
    }
}
