import RoostBinary
import RoostDomain
import RoostTestSupport
import Testing

/// The index answers every query exactly as a brute-force filter over the same listings does.
struct ListingSearchTests {
    static let cities: [(city: String, country: String, lat: Double, lng: Double)] = [
        ("Singapore", "Singapore", 1.29, 103.85), ("São Paulo", "Brazil", -23.55, -46.63), ("Zürich", "Switzerland", 47.37, 8.54),
        ("Kraków", "Poland", 50.06, 19.94), ("Auckland", "New Zealand", -36.85, 174.76), ("Suva", "Fiji", -18.14, 178.44),
    ]
    static let amenities = ["wifi", "kitchen", "pool", "washer", "tv", "heating", "free_parking", "gym"]
    static let types = ["apartment", "house", "Loft", "villa"]
    /// Listings' time zones, by how far their today is from the test's (UTC−11, UTC, UTC+14).
    static let zoneOffsets = ["Pacific/Pago_Pago": -1, "UTC": 0, "Pacific/Kiritimati": 1]
    /// The bookable window's length in the random queries: short, so stays reach past it.
    static let horizonDays = 100
    let today = CalendarDay(iso: "2027-01-01")!

    func makeListings(_ count: Int, using generator: inout SeededGenerator) -> [ListingRecord] {
        (0..<count).map { index in
            let place = Self.cities.randomElement(using: &generator)!
            // Stay limits and capacities on both sides of the index's trait rows (2–16 guests, 1–28 nights).
            let minNights = Int.random(in: 0..<4, using: &generator) == 0 ? Int.random(in: 1...30, using: &generator) : Int.random(in: 1...3, using: &generator)
            let details = ListingDetails(
                title: "Listing \(index)", description: "", propertyType: Self.types.randomElement(using: &generator)!,
                location: ListingLocation(
                    address: "", city: place.city, country: place.country,
                    latitude: place.lat + Double.random(in: -0.4...0.4, using: &generator),
                    longitude: place.lng + Double.random(in: -0.4...0.4, using: &generator),
                    timeZone: Self.zoneOffsets.keys.sorted().randomElement(using: &generator)!
                ),
                currency: Bool.random(using: &generator) ? "USD" : "EUR", // Half the prices round to a few values, so many listings tie on price.
                pricePerNight: Bool.random(using: &generator) ? Int64.random(in: 1...12, using: &generator) * 5_000 : Int64.random(in: 3_000...60_000, using: &generator),
                cleaningFee: 0, maxGuests: Int.random(in: 1...20, using: &generator), bedrooms: 1, beds: 1, halfBathrooms: 2,
                amenities: Self.amenities.filter { _ in Int.random(in: 0..<3, using: &generator) == 0 }.sorted(),
                minNights: minNights, maxNights: minNights + Int.random(in: 0...40, using: &generator),
                instantBook: Bool.random(using: &generator), cancellationPolicy: .flexible
            )
            // Every seventh id is too long for the index to pack (`PackedID`): those are ordered by
            // their strings, among and against packed ones.
            let id = "lst_\(String(index, radix: 36))" + (index % 7 == 3 ? "_an_id_too_long_for_the_index_to_pack" : "")
            var listing = ListingRecord(
                id: id, hostID: "usr_h",
                details: details, createdAt: Timestamp(millisecondsSinceEpoch: Int64(index) * 1_000)
            )
            listing.reviewCount = Int32.random(in: 0...5, using: &generator)
            listing.ratingTotal = Int64(listing.reviewCount) * Int64.random(in: 100...500, using: &generator)
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                let start = today.advanced(by: Int.random(in: 0...120, using: &generator))
                listing.calendar.set(Bool.random(using: &generator) ? .blocked : .booked, start..<start.advanced(by: Int.random(in: 1...10, using: &generator)), to: true)
            }
            if Int.random(in: 0..<10, using: &generator) == 0 { listing.status = .inactive }
            if Int.random(in: 0..<20, using: &generator) == 0 { listing.hostAway = true }
            return listing
        }
    }

    func randomQuery(using generator: inout SeededGenerator) -> ListingQuery {
        var query = ListingQuery()
        let place = Self.cities.randomElement(using: &generator)!
        switch Int.random(in: 0..<5, using: &generator) {
        case 0: query.place = TextKey.make(Bool.random(using: &generator) ? place.city.uppercased() : place.country)
        case 1: query.area = .radius(latitude: place.lat, longitude: place.lng, kilometres: Double.random(in: 1...60, using: &generator))
        case 2: query.area = .box(minLongitude: place.lng - 0.2, minLatitude: place.lat - 0.3, maxLongitude: place.lng + 0.3, maxLatitude: place.lat + 0.2)
        case 3: query.area = .box(minLongitude: 170, minLatitude: -40, maxLongitude: -170, maxLatitude: 0)  // across the antimeridian
        default: break
        }
        if Bool.random(using: &generator) {
            let start = today.advanced(by: Int.random(in: 0...120, using: &generator))
            query.stay = start..<start.advanced(by: Int.random(in: 0..<4, using: &generator) == 0 ? Int.random(in: 20...34, using: &generator) : Int.random(in: 1...8, using: &generator))
            // A quarter go to the window's ends, where each listing's own today and horizon decide.
            if Int.random(in: 0..<4, using: &generator) == 0 {
                let nights = Int.random(in: 1...8, using: &generator)
                let start = Bool.random(using: &generator)
                    ? today.advanced(by: Int.random(in: -1...1, using: &generator))
                    : today.advanced(by: Self.horizonDays - nights + Int.random(in: -1...1, using: &generator))
                query.stay = start..<start.advanced(by: nights)
                let today = today
                query.window = BookableWindow(horizonDays: Self.horizonDays) { zone in today.advanced(by: Self.zoneOffsets[zone]!) }
            }
        }
        if Bool.random(using: &generator) { query.guests = Int.random(in: 1...20, using: &generator) }
        if Bool.random(using: &generator) {
            let low = Int64.random(in: 0...40_000, using: &generator)
            query.priceRange = low...(low + Int64.random(in: 0...30_000, using: &generator))
        }
        if Bool.random(using: &generator) { query.priceFactors = ["USD": 1, "EUR": 1.1] }
        query.amenities = Self.amenities.filter { _ in Int.random(in: 0..<5, using: &generator) == 0 }
        if Int.random(in: 0..<4, using: &generator) == 0 { query.propertyType = Self.types.randomElement(using: &generator)!.lowercased() }
        if Int.random(in: 0..<4, using: &generator) == 0 { query.instantBook = Bool.random(using: &generator) }
        query.sort = ListingQuery.Sort.allCases.randomElement(using: &generator)!
        if query.sort == .distance || Bool.random(using: &generator) { query.origin = (place.lat, place.lng) }
        if case let .radius(latitude, longitude, _) = query.area { query.origin = (latitude, longitude) }
        query.limit = Int.random(in: 1...30, using: &generator)
        return query
    }

    /// What the index must answer, computed the slow, obvious way.
    func bruteForce(_ query: ListingQuery, _ listings: [ListingRecord]) -> (total: Int, keys: [SearchKey]) {
        var keys: [SearchKey] = []
        for listing in listings where listing.status == .active && !listing.hostAway {
            let d = listing.details
            if let place = query.place, TextKey.make(d.location.city) != place, TextKey.make(d.location.country) != place { continue }
            var distance: Double?
            switch query.area {
            case let .radius(latitude, longitude, kilometres)?:
                distance = Geo.distanceKilometres(latitude, longitude, d.location.latitude, d.location.longitude)
                if distance! > kilometres { continue }
            case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude)?:
                let lat = d.location.latitude, lng = d.location.longitude
                if lat < minLatitude || lat > maxLatitude { continue }
                let inside = minLongitude <= maxLongitude ? (lng >= minLongitude && lng <= maxLongitude) : (lng >= minLongitude || lng <= maxLongitude)
                if !inside { continue }
            case nil: break
            }
            if let stay = query.stay {
                let nights = stay.count
                if nights < d.minNights || nights > d.maxNights { continue }
                if query.window != nil {
                    let theirs = today.advanced(by: Self.zoneOffsets[d.location.timeZone]!)
                    if stay.lowerBound < theirs || stay.upperBound > theirs.advanced(by: Self.horizonDays) { continue }
                }
                if stay.contains(where: { listing.calendar.isBlocked($0) || listing.calendar.isBooked($0) }) { continue }
            }
            if let guests = query.guests, d.maxGuests < guests { continue }
            let price = query.priceFactors.map { (Double(d.pricePerNight) * $0[d.currency]!).rounded() } ?? Double(d.pricePerNight)
            if let range = query.priceRange, price < Double(range.lowerBound) || price > Double(range.upperBound) { continue }
            if !Set(query.amenities).isSubset(of: Set(d.amenities)) { continue }
            if let type = query.propertyType, d.propertyType.lowercased() != type { continue }
            if let instant = query.instantBook, d.instantBook != instant { continue }
            if distance == nil, let origin = query.origin {
                distance = Geo.distanceKilometres(origin.latitude, origin.longitude, d.location.latitude, d.location.longitude)
            }
            let primary: Double = switch query.sort {
            case .priceAscending: price
            case .priceDescending: -price
            case .rating: -listing.rating
            case .distance: distance ?? 0
            case .newest: -Double(listing.createdAt.millisecondsSinceEpoch)
            }
            keys.append(SearchKey(primary: primary, id: listing.id))
        }
        return (keys.count, keys.sorted())
    }

    /// Listings spread over `shards` states, as the engine would hold them.
    func shardStates(_ listings: [ListingRecord], shards: Int) -> [Listings.State] {
        var states = Array(repeating: Listings.initialState(), count: shards)
        for (index, listing) in listings.enumerated() {
            var state = states[index % shards]
            var created = listing
            let status = created.status
            created.status = .active
            Listings.apply(.created(created), to: &state)
            if status != .active { Listings.apply(.statusChanged(id: listing.id, status, at: listing.createdAt), to: &state) }
            states[index % shards] = state
        }
        return states
    }

    @Test func everyRandomQueryMatchesBruteForceAcrossShards() {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(2_000, using: &generator)
        let states = shardStates(listings, shards: 4)
        for _ in 0..<400 {
            var query = randomQuery(using: &generator)
            let expected = bruteForce(query, listings)
            // Page through the whole answer with cursors: every key once, in order.
            var seen: [SearchKey] = []
            var total: Int?
            while true {
                // Shards visited in turn from any one, each bounded by the page so far (as the service does).
                let first = Int.random(in: 0..<states.count, using: &generator)
                let page = SearchPage.gather(query, shards: states.count, first: first) { states[$0].search($1) }
                // In two steps (the service's way): the same page, with only the winners read.
                let twoSteps = SearchPage.gatherInTwoSteps(
                    query, shards: states.count, first: first,
                    offer: { states[$0].offerMatches($1, shard: $0, to: &$2) }, read: { states[$0].readHits(of: $1, shard: $0, into: &$2) }
                )
                #expect(twoSteps == page)
                if total == nil { total = page.total }
                seen += page.hits.map(\.key)
                guard page.hits.count == query.limit, let last = page.hits.last else { break }
                query.after = last.key
            }
            #expect(total == expected.total)
            #expect(seen == expected.keys)
        }
    }

    /// A winner that leaves its shard's index between the two steps is not read from a slot that
    /// now holds nothing, or another listing: the gather answers nil (and the service gathers
    /// again in one step). A winner merely repriced meanwhile is shown as it now is.
    @Test func winnersThatLeftTheirSlotsBetweenTheStepsAreNotRead() throws {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(300, using: &generator)
        var states = shardStates(listings, shards: 2)
        var query = ListingQuery()
        query.sort = .priceAscending
        query.limit = 5
        /// The two steps, with `between` done to the shards after the first step, before any is read.
        func gathered(between: (inout [Listings.State]) -> Void) -> SearchPage? {
            var done = false
            return SearchPage.gatherInTwoSteps(
                query, shards: states.count,
                offer: { states[$0].offerMatches($1, shard: $0, to: &$2) },
                read: { shard, winners, page in
                    if !done { between(&states) }
                    done = true
                    return states[shard].readHits(of: winners, shard: shard, into: &page)
                }
            )
        }
        let unchanged = try #require(gathered { _ in })
        #expect(unchanged == SearchPage.gather(query, shards: states.count) { states[$0].search($1) })
        let winner = try #require(unchanged.hits.first)
        let shard = try #require(states.firstIndex { $0.listings[winner.key.id] != nil })
        let at = Timestamp(millisecondsSinceEpoch: 1)

        // Paused between the steps: its slot is empty.
        let before = states
        #expect(gathered { states in Listings.apply(.statusChanged(id: winner.key.id, .inactive, at: at), to: &states[shard]) } == nil)
        // Paused, and its slot taken by a listing created meanwhile.
        states = before
        #expect(gathered { states in
            Listings.apply(.statusChanged(id: winner.key.id, .inactive, at: at), to: &states[shard])
            var newcomer = listings[0]
            newcomer.id = "lst_newcomer0000000"
            newcomer.status = .active
            Listings.apply(.created(newcomer), to: &states[shard])
        } == nil)
        // Repriced (same slot, same listing): read as it is now.
        states = before
        let repriced = try #require(gathered { states in
            var details = states[shard].listings[winner.key.id]!.details
            details.pricePerNight += 1
            Listings.apply(.updated(id: winner.key.id, details, at: at), to: &states[shard])
        })
        let shown = try #require(repriced.hits.first { $0.key.id == winner.key.id })
        #expect(shown.key == winner.key, "sorted where its scan found it")
        #expect(shown.summary == ListingSummary(states[shard].listings[winner.key.id]!).copied, "shown as it now is")
        #expect(shown.summary != winner.summary)
    }

    /// Paging through a search while hosts reprice, move, pause and relist listings: every page
    /// sorts as of the first (each shard's `SortMark` kept by the cursor), so no listing is shown
    /// twice, and none that matched all along is skipped. With a place and no conversion, price
    /// sorts take the bitmap-only walk; converted, every position is checked.
    @Test(arguments: [ListingQuery.Sort.priceAscending, .priceDescending, .distance, .rating], [false, true])
    func cursorPagesSortAsOfTheFirstPageWhileListingsChange(sort: ListingQuery.Sort, converted: Bool) {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(900, using: &generator)
        var states = shardStates(listings, shards: 3)
        var query = ListingQuery()
        query.sort = sort
        query.limit = 9
        if converted { query.priceFactors = ["USD": 1, "EUR": 1.1] } else { query.place = TextKey.make("Singapore") }
        if sort == .distance { query.origin = (1.29, 103.85) }

        func page(_ query: ListingQuery) -> (page: SearchPage, marks: [SortMark]) {
            var marks = Array(repeating: SortMark(generation: 0, stamp: 0), count: states.count)
            let page = SearchPage.gather(query, shards: states.count, first: Int.random(in: 0..<states.count, using: &generator)) { shard, bounded in
                marks[shard] = states[shard].sortMark
                return states[shard].search(bounded, asOf: query.sortedAsOf?[shard])
            }
            return (page, marks)
        }
        let matching = Set(bruteForce(query, listings).keys.map(\.id))
        var (first, marks) = page(query)
        query.sortedAsOf = marks
        var seen = first.hits.map(\.key.id)
        var paused: Set<String> = []
        let at = Timestamp(millisecondsSinceEpoch: 0)
        while first.hits.count == query.limit, let last = first.hits.last {
            // A dozen changes between pages: new prices and places (same city), pauses, relistings.
            for _ in 0..<12 {
                let shard = Int.random(in: 0..<states.count, using: &generator)
                guard let listing = states[shard].listings.values.filter({ $0.status != .deleted }).randomElement(using: &generator) else { continue }
                var details = listing.details
                switch Int.random(in: 0..<5, using: &generator) {
                case 0, 1: details.pricePerNight = Int64.random(in: 3_000...60_000, using: &generator)
                case 2:
                    details.location.latitude += Double.random(in: -0.3...0.3, using: &generator)
                    details.location.longitude += Double.random(in: -0.3...0.3, using: &generator)
                case 3:
                    paused.insert(listing.id)
                    Listings.apply(.statusChanged(id: listing.id, listing.status == .active ? .inactive : .active, at: at), to: &states[shard])
                    continue
                default:
                    // Relisted at another price.
                    details.pricePerNight = Int64.random(in: 3_000...60_000, using: &generator)
                    Listings.apply(.updated(id: listing.id, details, at: at), to: &states[shard])
                    Listings.apply(.statusChanged(id: listing.id, .active, at: at), to: &states[shard])
                    continue
                }
                Listings.apply(.updated(id: listing.id, details, at: at), to: &states[shard])
            }
            query.after = last.key
            first = page(query).page
            seen += first.hits.map(\.key.id)
        }
        #expect(seen.count == Set(seen).count, "a listing shown twice: \(seen.count - Set(seen).count)")
        let skipped = matching.subtracting(paused).subtracting(seen)
        #expect(skipped.isEmpty, "skipped \(skipped.count) of \(matching.count)")
        #expect(matching.count > 4 * query.limit, "several pages")
    }

    /// A shard remembers sort changes since a mark while it keeps them all: one change past the
    /// last `sortChangesKept`, or a mark of another index (before a restart), and it does not.
    @Test func aMarkIsRememberedWhileEveryChangeSinceIsKept() {
        var generator = SeededGenerator(seed: testSeed())
        var state = shardStates(makeListings(3, using: &generator).map { var listing = $0; (listing.status, listing.hostAway) = (.active, false); return listing }, shards: 1)[0]
        let mark = state.sortMark
        #expect(state.remembersSorts(since: mark))
        let listing = state.listings.values.sorted { $0.id < $1.id }[0]
        let at = Timestamp(millisecondsSinceEpoch: 0)
        for change in 1...ListingIndex.sortChangesKept {
            var details = listing.details
            details.pricePerNight = 1_000 + Int64(change)
            Listings.apply(.updated(id: listing.id, details, at: at), to: &state)
        }
        #expect(state.remembersSorts(since: mark), "exactly as many as are kept")
        let later = state.sortMark
        var details = listing.details
        details.pricePerNight = 999
        Listings.apply(.updated(id: listing.id, details, at: at), to: &state)
        #expect(!state.remembersSorts(since: mark), "the first change since was forgotten")
        #expect(state.remembersSorts(since: later) && state.remembersSorts(since: state.sortMark))
        #expect(!state.remembersSorts(since: SortMark(generation: mark.generation &+ 1, stamp: mark.stamp)))
        #expect(!shardStates([listing], shards: 1)[0].remembersSorts(since: mark), "a rebuilt index is another")
    }

    /// The service starts each search's round of the shards at a different one: the answer may not
    /// depend on where the round starts.
    @Test func theFirstShardVisitedDoesNotChangeThePage() {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(1_200, using: &generator)
        let states = shardStates(listings, shards: 5)
        for _ in 0..<100 {
            let query = randomQuery(using: &generator)
            let expected = bruteForce(query, listings)
            for first in 0..<states.count {
                var visited: [Int] = []
                let page = SearchPage.gather(query, shards: states.count, first: first) { shard, bounded in
                    visited.append(shard)
                    return states[shard].search(bounded)
                }
                #expect(visited == (0..<states.count).map { (first + $0) % states.count })
                #expect(page.total == expected.total)
                #expect(page.hits.map(\.key) == Array(expected.keys.prefix(query.limit)))
            }
        }
    }

    /// A state kept while its shard goes on changing (as a snapshot keeps it) answers as it did:
    /// the first change copies the storage, the index by `ListingIndex.copy()`, and both copies
    /// then answer for their own listings.
    @Test func aKeptStateAnswersAsBeforeWhileItsCopyChanges() {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(600, using: &generator)
        let kept = shardStates(listings, shards: 1)[0]
        var changed = kept
        var now = listings
        // Each listing edited to another's details (new place, price, amenities and limits), or
        // delisted, or some nights blocked.
        let donors = makeListings(600, using: &generator)
        let at = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        for i in now.indices {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                now[i].status = .inactive
                Listings.apply(.statusChanged(id: now[i].id, .inactive, at: at), to: &changed)
            case 1:
                let nights = today.advanced(by: 3)..<today.advanced(by: 9)
                now[i].calendar.set(.blocked, nights, to: true)
                Listings.apply(.nightsChanged(id: now[i].id, [.block(nights)], at: at), to: &changed)
            default:
                now[i].details = donors[i].details
                Listings.apply(.updated(id: now[i].id, donors[i].details, at: at), to: &changed)
            }
        }
        for _ in 0..<300 {
            let query = randomQuery(using: &generator)
            let before = bruteForce(query, listings), after = bruteForce(query, now)
            let keptPage = kept.search(query), changedPage = changed.search(query)
            #expect(keptPage.total == before.total)
            #expect(keptPage.hits.map(\.key) == Array(before.keys.prefix(query.limit)))
            #expect(changedPage.total == after.total)
            #expect(changedPage.hits.map(\.key) == Array(after.keys.prefix(query.limit)))
        }
    }

    /// A snapshot's states rebuild their indexes in bulk (cheapest first): they answer as the
    /// indexes built one event at a time do.
    @Test func indexesRebuiltFromASnapshotAnswerAlike() throws {
        var generator = SeededGenerator(seed: testSeed())
        let states = shardStates(makeListings(1_200, using: &generator), shards: 2)
        let loaded = try states.map { state in
            try roundTrip({ Listings.encode(state: state, into: &$0) }, { reader throws(DecodeError) in try Listings.decodeState(from: &reader) })
        }
        for _ in 0..<200 {
            let query = randomQuery(using: &generator)
            #expect(loaded.map { $0.search(query) } == states.map { $0.search(query) })
        }
    }

    /// Edits that move listings between cities, cells and prices, pauses, deletes and calendar
    /// changes, in random order: after each burst the index still answers as brute force over the
    /// shards' listings does. Entries move within their price-ordered lists and shift the bitmaps
    /// after them: with 1,500 listings in one shard a city list spans several words.
    @Test(arguments: [(listings: 600, shards: 2), (listings: 1_500, shards: 1)])
    func theIndexFollowsRandomChurn(_ size: (listings: Int, shards: Int)) {
        var generator = SeededGenerator(seed: testSeed())
        var states = shardStates(makeListings(size.listings, using: &generator), shards: size.shards)
        let replacements = makeListings(300, using: &generator)
        let at = Timestamp(millisecondsSinceEpoch: 0)
        for burst in 0..<30 {
            for _ in 0..<25 {
                let shard = Int.random(in: 0..<states.count, using: &generator)
                guard let listing = states[shard].listings.values.filter({ $0.status != .deleted }).randomElement(using: &generator) else { continue }
                let event: Listings.Event
                switch Int.random(in: 0..<12, using: &generator) {
                case 0..<4: event = .updated(id: listing.id, replacements.randomElement(using: &generator)!.details, at: at)
                case 4..<6: event = .statusChanged(id: listing.id, listing.status == .active ? .inactive : .active, at: at)
                case 6: event = .statusChanged(id: listing.id, .deleted, at: at)
                case 7: event = .hostAwayChanged(id: listing.id, !listing.hostAway, at: at)
                case 10:
                    // A booking takes nights (only the index's taken words change).
                    let start = today.advanced(by: Int.random(in: 0...120, using: &generator))
                    let stay = start..<start.advanced(by: Int.random(in: 1...6, using: &generator))
                    event = .bookingHeld(BookingRecord(
                        id: "bkg_\(burst)_\(states[shard].bookings.count)", listingID: listing.id, guestID: "usr_g", hostID: listing.hostID, stay: stay, guests: 1,
                        quote: PriceQuote.make(listing, stay: stay, rates: PricingRates()), policy: .flexible, instantBook: true, holdExpiresAt: at, createdAt: at))
                case 11:
                    guard let held = states[shard].bookings.values.filter({ $0.status.holdsNights }).randomElement(using: &generator) else { continue }
                    event = Bool.random(using: &generator)
                        ? .bookingCanceled(id: held.id, BookingCancellation(by: .guest, at: at, reason: "", refund: 0))
                        : .bookingConfirmed(id: held.id, at: at)
                default:
                    let start = today.advanced(by: Int.random(in: 0...120, using: &generator))
                    let nights = start..<start.advanced(by: Int.random(in: 1...6, using: &generator))
                    event = .nightsChanged(id: listing.id, [Bool.random(using: &generator) ? .block(nights) : .unblock(nights)], at: at)
                }
                Listings.apply(event, to: &states[shard])
            }
            let all = states.flatMap { $0.listings.values }
            #expect(states.map { $0.index.count }.reduce(0, +) == all.filter { $0.status == .active && !$0.hostAway }.count, "burst \(burst)")
            for _ in 0..<20 {
                let query = randomQuery(using: &generator)
                let expected = bruteForce(query, all)
                let first = Int.random(in: 0..<states.count, using: &generator)
                let page = SearchPage.gather(query, shards: states.count, first: first) { states[$0].search($1) }
                #expect(page.total == expected.total, "burst \(burst)")
                #expect(page.hits.map(\.key) == Array(expected.keys.prefix(query.limit)), "burst \(burst)")
                let now = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                #expect(page.hits.allSatisfy { hit in now[hit.key.id].map { hit.summary == ListingSummary($0).copied } ?? false }, "burst \(burst): a hit shows its listing as it is now")
            }
        }
    }

    /// A summary writes the search hit's fields of API.md, in order, as JSON: text escaped,
    /// numbers in their shortest form, the rating null before the first review and rounded to
    /// two decimals after.
    @Test func aSummaryIsTheListingsSearchFieldsAsJSON() {
        var listing = ListingRecord(
            id: "lst_0123456789abcdef", hostID: "usr_h",
            details: ListingDetails(
                title: "A \"quiet\" loft\nby the Rhône \\ canal", description: "not shown", propertyType: "Entire loft",
                location: ListingLocation(address: "not shown", city: "Zürich", country: "Switzerland", latitude: 47.375, longitude: -8.5, timeZone: "Europe/Zurich"),
                currency: "CHF", pricePerNight: 12_050, cleaningFee: 0, maxGuests: 3, bedrooms: 2, beds: 2, halfBathrooms: 2, amenities: ["wifi"],
                minNights: 1, maxNights: 30, instantBook: true, cancellationPolicy: .strict
            ),
            createdAt: Timestamp(millisecondsSinceEpoch: 0)
        )
        func written(_ listing: ListingRecord) -> String {
            var json: [UInt8] = [UInt8(ascii: "{")]
            ListingSummary(listing).appendFields(to: &json)
            json.append(UInt8(ascii: "}"))
            return String(decoding: json, as: UTF8.self)
        }
        #expect(written(listing) == #"{"id":"lst_0123456789abcdef","title":"A \"quiet\" loft\nby the Rhône \\ canal","propertyType":"Entire loft","city":"Zürich","country":"Switzerland","lat":47.375,"lng":-8.5,"pricePerNight":{"amount":12050,"currency":"CHF"},"maxGuests":3,"bedrooms":2,"instantBook":true,"rating":null,"reviewCount":0}"#)
        listing.reviewCount = 3
        listing.ratingTotal = 1_301  // 4.3366… stars
        listing.photos = [ListingPhoto(id: "pho_1", key: "listings/lst_0123456789abcdef/pho_1.jpg")]
        #expect(written(listing).hasSuffix(#""instantBook":true,"rating":4.34,"reviewCount":3}"#))
        #expect(ListingSummary(listing).photoKey == "listings/lst_0123456789abcdef/pho_1.jpg")
    }

    /// A value of 255 bytes or more (its length stored in five bytes, not one) is written whole,
    /// and the fields after it (and the photo key after them) are read from the right place, from
    /// the summary and from a page's copy of it alike.
    @Test func aSummarysLongValuesAreWrittenWhole() {
        let title = String(repeating: "🏠 \"cosy\" ", count: 30)  // 330 bytes as JSON
        let city = String(repeating: "Zürich-", count: 40)  // 320 bytes
        var listing = ListingRecord(
            id: "lst_0123456789abcdef", hostID: "usr_h",
            details: ListingDetails(
                title: title, description: "", propertyType: "Loft",
                location: ListingLocation(address: "", city: city, country: "CH", latitude: 1.5, longitude: 2, timeZone: "Europe/Zurich"),
                currency: "CHF", pricePerNight: 100, cleaningFee: 0, maxGuests: 2, bedrooms: 1, beds: 1, halfBathrooms: 2, amenities: [],
                minNights: 1, maxNights: 30, instantBook: false, cancellationPolicy: .flexible
            ),
            createdAt: Timestamp(millisecondsSinceEpoch: 0)
        )
        let photoKey = "listings/lst_0123456789abcdef/" + String(repeating: "p", count: 300) + ".jpg"
        listing.photos = [ListingPhoto(id: "pho_1", key: photoKey)]
        let summary = ListingSummary(listing), copy = summary.copied
        var json: [UInt8] = [UInt8(ascii: "{")], copied = json
        summary.appendFields(to: &json)
        copy.appendFields(to: &copied)
        json.append(UInt8(ascii: "}"))
        let escapedTitle = String(repeating: #"🏠 \"cosy\" "#, count: 30)
        #expect(String(decoding: json, as: UTF8.self) == #"{"id":"lst_0123456789abcdef","title":""# + escapedTitle + #"","propertyType":"Loft","city":""# + city + #"","country":"CH","lat":1.5,"lng":2.0,"pricePerNight":{"amount":100,"currency":"CHF"},"maxGuests":2,"bedrooms":1,"instantBook":false,"rating":null,"reviewCount":0}"#)
        #expect(copied + [UInt8(ascii: "}")] == json)
        #expect(summary.photoKey == photoKey)
        #expect(copy.photoKey == photoKey)
        listing.photos = []
        #expect(ListingSummary(listing).photoKey == nil)
        #expect(ListingSummary(listing).copied.photoKey == nil)
    }

    /// A page's hits carry copies of their listings' summaries, not the index's own buffers: the
    /// copies read as the summaries do (fields and photo key), and stay as they were read when the
    /// listing changes after the search.
    @Test func aPagesHitsCopyTheirSummaries() throws {
        var generator = SeededGenerator(seed: testSeed())
        var listings = makeListings(40, using: &generator)
        for index in listings.indices where index % 2 == 0 {
            listings[index].photos = [ListingPhoto(id: "pho_\(index)", key: "listings/\(listings[index].id)/pho_\(index).jpg")]
        }
        var state = shardStates(listings, shards: 1)[0]
        var query = ListingQuery()
        query.sort = .priceAscending
        query.limit = 10
        let page = state.search(query)
        try #require(page.hits.count == 10)
        for hit in page.hits {
            let listing = try #require(state.listings[hit.key.id])
            var shown: [UInt8] = [], expected: [UInt8] = []
            hit.summary.appendFields(to: &shown)
            ListingSummary(listing).appendFields(to: &expected)
            #expect(shown == expected)
            #expect(hit.summary.photoKey == listing.photos.first?.key)
        }
        let first = try #require(page.hits.first)
        var details = try #require(state.listings[first.key.id]).details
        details.title = "Renamed after the search"
        Listings.apply(.updated(id: first.key.id, details, at: Timestamp(millisecondsSinceEpoch: 1)), to: &state)
        var shown: [UInt8] = []
        first.summary.appendFields(to: &shown)
        #expect(!String(decoding: shown, as: UTF8.self).contains("Renamed"), "a hit is the listing as the search read it")
        #expect(state.search(query).hits.contains { hit in
            var now: [UInt8] = []
            hit.summary.appendFields(to: &now)
            return String(decoding: now, as: UTF8.self).contains("Renamed after the search")
        })
    }

    @Test func editsAndDeletesLeaveTheIndex() {
        var generator = SeededGenerator(seed: testSeed())
        var state = shardStates(makeListings(50, using: &generator), shards: 1)[0]
        let id = state.listings.values.first { $0.isListed }!.id
        var query = ListingQuery()
        query.limit = 100
        let before = state.search(query).total
        Listings.apply(.statusChanged(id: id, .deleted, at: Timestamp(millisecondsSinceEpoch: 0)), to: &state)
        #expect(state.search(query).total == before - 1)
        #expect(!state.search(query).hits.contains { $0.key.id == id })
        var moved = state.listings.values.first { $0.isListed }!
        moved.details.location.city = "Nowhere Town"
        Listings.apply(.updated(id: moved.id, moved.details, at: Timestamp(millisecondsSinceEpoch: 0)), to: &state)
        query.place = TextKey.make("NOWHERE  town")
        #expect(state.search(query).hits.map(\.key.id) == [moved.id])
    }

    /// The common edit keeps a listing's place and price, so its entries are rewritten where they
    /// are: their trait bits (guests, stay lengths, instant book) must follow the new values.
    @Test func anEditInPlaceRewritesItsTraits() {
        var generator = SeededGenerator(seed: testSeed())
        var state = shardStates(makeListings(300, using: &generator), shards: 1)[0]
        let at = Timestamp(millisecondsSinceEpoch: 0)
        let edited = state.listings.values.first { $0.isListed }!
        var details = edited.details
        for (guests, minNights, maxNights, instantBook) in [(2, 1, 30, true), (12, 3, 5, false), (1, 28, 40, true), (20, 1, 1, false)] {
            (details.maxGuests, details.minNights, details.maxNights, details.instantBook) = (guests, minNights, maxNights, instantBook)
            Listings.apply(.updated(id: edited.id, details, at: at), to: &state)
            let listings = Array(state.listings.values)
            for _ in 0..<40 {
                var query = ListingQuery()
                query.place = TextKey.make(details.location.city)
                query.guests = Int.random(in: 1...20, using: &generator)
                let start = today.advanced(by: Int.random(in: 130...200, using: &generator))
                query.stay = start..<start.advanced(by: Int.random(in: 1...32, using: &generator))
                if Bool.random(using: &generator) { query.instantBook = Bool.random(using: &generator) }
                query.limit = 500
                let expected = bruteForce(query, listings)
                let page = state.search(query)
                #expect(page.total == expected.total, "after \(guests) guests, \(minNights)–\(maxNights) nights, instant \(instantBook)")
                #expect(page.hits.map(\.key) == expected.keys)
            }
        }
    }

    /// Amenity bits worked out once per query stay true to the query's amenities.
    @Test func preparedAmenitiesFollowTheQuery() {
        var generator = SeededGenerator(seed: testSeed())
        let listings = makeListings(200, using: &generator)
        let state = shardStates(listings, shards: 1)[0]
        var query = ListingQuery()
        query.limit = 500
        query.amenities = ["wifi"]
        query.prepare()
        #expect(state.search(query).total == bruteForce(query, listings).total)
        query.amenities = ["no-listing-has-this"]
        #expect(state.search(query).total == 0, "changing the amenities drops the prepared bits")
        query.prepare()
        #expect(state.search(query).total == 0)
        query.amenities = []
        #expect(state.search(query).total == bruteForce(query, listings).total)
    }

    @Test func placeKeysFoldCaseAccentsAndSpaces() {
        #expect(TextKey.make("  São   Paulo ") == "sao paulo")
        #expect(TextKey.make("ZÜRICH") == "zurich")
        #expect(TextKey.make("Kraków") == TextKey.make("krakow"))
        #expect(TextKey.make("Łódź") == "lodz")
        #expect(TextKey.make("Sa\u{0303}o Paulo") == "sao paulo", "decomposed accents too")
        #expect(TextKey.make("東京") == "東京")
        // Beyond Latin Extended-A, by the letters' names.
        #expect(TextKey.make("Timișoara") == "timisoara")
        #expect(TextKey.make("TIMIȘOARA") == "timisoara")
        #expect(TextKey.make("Đà Nẵng") == "da nang")
        #expect(TextKey.make("Hạ Long") == "ha long")
        #expect(TextKey.make("Ǹgǒng") == "ngong")
        #expect(TextKey.make("Ha\u{1DC4}noi") == "hanoi", "a mark from the supplementary block")
        // Printable ASCII without spaces takes a shortcut: it must answer as the full folding does,
        // which for such text only lowers the case (the same text with a space goes the long way).
        var generator = SeededGenerator(seed: testSeed())
        for _ in 0..<500 {
            let text = String(decoding: (0..<Int.random(in: 1...12, using: &generator)).map { _ in UInt8.random(in: 0x21...0x7E, using: &generator) }, as: UTF8.self)
            #expect(TextKey.make(text) == text.lowercased())
            #expect(TextKey.make(text + " x") == text.lowercased() + " x", "the long way, for \(text)")
        }
        // Other scripts keep their own signs: a Devanagari vowel sign and a Thai tone mark are no accents.
        #expect(TextKey.make("दिल्ली") == "दिल्ली")
        #expect(TextKey.make("เชียงใหม่") == "เชียงใหม่")
        // A Latin letter that is no letter with marks is kept.
        #expect(TextKey.make("ʒ") == "ʒ")
    }
}

/// Geometry at the edges: wide radii away from the grid's assumptions, the antimeridian, the poles.
struct ListingSearchEdgeTests {
    func state(_ points: [(String, Double, Double)]) -> Listings.State {
        var state = Listings.initialState()
        for (id, lat, lng) in points {
            let details = ListingDetails(
                title: id, description: "", propertyType: "house",
                location: ListingLocation(address: "", city: "C", country: "K", latitude: lat, longitude: lng, timeZone: "UTC"),
                currency: "USD", pricePerNight: 100, cleaningFee: 0, maxGuests: 2, bedrooms: 1, beds: 1, halfBathrooms: 2,
                amenities: [], minNights: 1, maxNights: 30, instantBook: false, cancellationPolicy: .flexible
            )
            Listings.apply(.created(ListingRecord(id: id, hostID: "usr_h", details: details, createdAt: Timestamp(millisecondsSinceEpoch: 0))), to: &state)
        }
        return state
    }

    /// Stays of every length up to 200 nights, starting on every day around one taken night: free
    /// exactly when they leave it out, across 64-night block edges; the night after is free again.
    @Test func aTakenNightExcludesExactlyTheStaysThatContainIt() {
        var state = state([("lst_cal", 1, 1)])
        var details = state.listings["lst_cal"]!.details
        details.maxNights = 365
        Listings.apply(.updated(id: "lst_cal", details, at: Timestamp(millisecondsSinceEpoch: 0)), to: &state)
        let taken = CalendarDay(iso: "2027-03-05")!
        Listings.apply(.nightsChanged(id: "lst_cal", [.block(taken..<taken.advanced(by: 1))], at: Timestamp(millisecondsSinceEpoch: 0)), to: &state)
        var query = ListingQuery()
        for offset in -210...3 {
            for length in [1, 2, 7, 63, 64, 65, 127, 128, 129, 200] {
                let start = taken.advanced(by: offset)
                query.stay = start..<start.advanced(by: length)
                let expected = query.stay!.contains(taken) ? 0 : 1
                #expect(state.search(query).total == expected, "stay of \(length) from \(offset) days around the taken night")
            }
        }
        Listings.apply(.nightsChanged(id: "lst_cal", [.unblock(taken..<taken.advanced(by: 1))], at: Timestamp(millisecondsSinceEpoch: 0)), to: &state)
        query.stay = taken.advanced(by: -100)..<taken.advanced(by: 100)
        #expect(state.search(query).total == 1, "unblocked again")
    }

    @Test func aWideRadiusFindsEveryListingInsideIt() {
        let state = state([("lst_edge", 0, 4.502), ("lst_far", 0, 4.7), ("lst_north", 60, 10), ("lst_north_in", 60, 16.2)])
        var query = ListingQuery()
        query.area = .radius(latitude: 0, longitude: 0.90666, kilometres: 400)
        #expect(state.search(query).hits.map(\.key.id) == ["lst_edge"], "399.8 km away, one grid column past a naive span")
        query.area = .radius(latitude: 60, longitude: 10, kilometres: 350)
        let found = Set(state.search(query).hits.map(\.key.id))
        #expect(found == ["lst_north", "lst_north_in"], "at 60°N a circle reaches further east than d/R degrees")
    }

    @Test func listingsOnTheAntimeridianAndAtThePolesAreFound() {
        let state = state([("lst_180", 0.5, 180), ("lst_minus180", 0.5, -180), ("lst_pole", 90, 0)])
        var query = ListingQuery()
        query.area = .box(minLongitude: 179, minLatitude: 0, maxLongitude: 180, maxLatitude: 1)
        #expect(state.search(query).hits.map(\.key.id) == ["lst_180"])
        query.area = .box(minLongitude: -180, minLatitude: 0, maxLongitude: -179, maxLatitude: 1)
        #expect(state.search(query).hits.map(\.key.id) == ["lst_minus180"])
        query.area = .box(minLongitude: -1, minLatitude: 89.5, maxLongitude: 1, maxLatitude: 90)
        #expect(state.search(query).hits.map(\.key.id) == ["lst_pole"])
    }
}
