import RoostBinary
import RoostDomain
import RoostTestSupport
import Testing

/// Bookings in their listing's shard: the hold's every rule, the status machine, nights taken
/// and released with the events that change them, and the binary round trip.
struct BookingsTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let today = CalendarDay(iso: "2027-03-01")!

    func listing(_ id: String = "lst_a", host: String = "usr_host", minNights: Int = 1, maxNights: Int = 30, guests: Int = 4) -> ListingRecord {
        let details = ListingDetails(
            title: "Loft", description: "", propertyType: "apartment",
            location: ListingLocation(address: "", city: "Singapore", country: "Singapore", latitude: 1.3, longitude: 103.8, timeZone: "Asia/Singapore"),
            currency: "SGD", pricePerNight: 10_000, cleaningFee: 2_000, maxGuests: guests, bedrooms: 1, beds: 1, halfBathrooms: 2,
            amenities: ["wifi"], minNights: minNights, maxNights: maxNights, instantBook: true, cancellationPolicy: .moderate
        )
        return ListingRecord(id: id, hostID: host, details: details, createdAt: t0)
    }

    func booking(_ id: String, _ from: Int, _ nights: Int, listing: ListingRecord? = nil, guest: String = "usr_guest", guests: Int = 2) -> BookingRecord {
        let listing = listing ?? self.listing()
        let stay = today.advanced(by: from)..<today.advanced(by: from + nights)
        return BookingRecord(
            id: id, listingID: listing.id, guestID: guest, hostID: listing.hostID, stay: stay, guests: guests,
            quote: PriceQuote.make(listing, stay: stay, rates: PricingRates()), policy: listing.details.cancellationPolicy,
            instantBook: listing.details.instantBook, holdExpiresAt: Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 15 * 60_000), createdAt: t0
        )
    }

    /// Decides and applies each command in turn at `now`, keeping the outcomes.
    func run(_ commands: [Listings.Command], on start: Listings.State, now: Timestamp? = nil)
        -> (Listings.State, [Result<[Listings.Event], Listings.Rejection>])
    {
        var state = start
        var outcomes: [Result<[Listings.Event], Listings.Rejection>] = []
        for command in commands {
            let outcome = Listings.decide(command, state: state, context: DecisionContext(now: now ?? t0))
            if case let .success(events) = outcome { for event in events { Listings.apply(event, to: &state) } }
            outcomes.append(outcome)
        }
        return (state, outcomes)
    }

    func market(_ listings: [ListingRecord]? = nil) -> Listings.State {
        run((listings ?? [listing()]).map { .create($0) }, on: Listings.initialState()).0
    }

    func rejection(_ outcome: Result<[Listings.Event], Listings.Rejection>) -> Listings.Rejection? {
        if case let .failure(rejection) = outcome { return rejection }
        return nil
    }

    func freeForSearch(_ state: Listings.State, _ from: Int, _ nights: Int) -> Bool {
        var query = ListingQuery()
        query.place = TextKey.make("Singapore")
        query.stay = today.advanced(by: from)..<today.advanced(by: from + nights)
        return state.search(query).total == 1
    }

    @Test func aHoldTakesTheNightsAndSearchSeesIt() {
        let (state, outcomes) = run([.hold(booking("bkg_1", 10, 3), today: today)], on: market())
        #expect(outcomes.map(rejection) == [nil])
        let held = state.bookings["bkg_1"]!
        #expect(held.status == .pending && held.quote.nights == [10_000, 10_000, 10_000] && held.nights == 3)
        let calendar = state.listings["lst_a"]!.calendar
        #expect((10..<13).allSatisfy { calendar.isBooked(today.advanced(by: $0)) })
        #expect(!calendar.isBooked(today.advanced(by: 9)) && !calendar.isBooked(today.advanced(by: 13)))
        #expect(!freeForSearch(state, 12, 2) && freeForSearch(state, 13, 2) && freeForSearch(state, 8, 2))
    }

    /// The check-out day is the next guest's check-in; any shared night is refused.
    @Test func adjacentStaysFitOverlappingOnesDoNot() {
        let (_, outcomes) = run([
            .hold(booking("bkg_1", 10, 3), today: today),
            .hold(booking("bkg_2", 13, 2), today: today),
            .hold(booking("bkg_3", 7, 3), today: today),
            .hold(booking("bkg_4", 12, 1), today: today),
            .hold(booking("bkg_5", 9, 2), today: today),
            .hold(booking("bkg_6", 5, 20), today: today),
        ], on: market())
        #expect(outcomes.map(rejection) == [nil, nil, nil, .datesUnavailable, .datesUnavailable, .datesUnavailable])
    }

    @Test func everyRuleOfAHold() {
        var paused = listing("lst_p")
        paused.status = .inactive
        var gone = listing("lst_d")
        gone.status = .deleted
        var away = listing("lst_away")
        away.hostAway = true
        let state = run([.changeNights(id: "lst_a", [.block(today.advanced(by: 20)..<today.advanced(by: 21))], currency: "SGD")], on: market([listing(), paused, gone, away])).0
        let short = listing(minNights: 3, maxNights: 5)
        let cases: [(BookingRecord, Listings.Rejection)] = [
            (booking("bkg_own", 10, 2, guest: "usr_host"), .ownListing),
            (booking("bkg_past", -1, 2), .stayInThePast),
            (booking("bkg_many", 10, 2, guests: 5), .tooManyGuests(max: 4)),
            (booking("bkg_none", 10, 2, guests: 0), .tooManyGuests(max: 4)),
            (booking("bkg_long", 10, 31), .stayLength(min: 1, max: 30)),
            (booking("bkg_blocked", 19, 3), .datesUnavailable),
            (booking("bkg_paused", 10, 2, listing: paused), .listingNotBookable),
            (booking("bkg_away", 10, 2, listing: away), .listingNotBookable),
            (booking("bkg_gone", 10, 2, listing: gone), .listingNotFound),
            (booking("bkg_nowhere", 10, 2, listing: listing("lst_nowhere")), .listingNotFound),
        ]
        for (candidate, expected) in cases {
            #expect(rejection(run([.hold(candidate, today: today)], on: state).1[0]) == expected, "\(candidate.id)")
        }
        #expect(rejection(run([.hold(booking("bkg_today", 0, 1), today: today)], on: state).1[0]) == nil, "today is bookable")
        #expect(rejection(run([.hold(booking("bkg_edge", 21, 30), today: today)], on: state).1[0]) == nil, "the blocked night's next day is free")
        let limited = market([short])
        #expect(rejection(run([.hold(booking("bkg_2n", 10, 2, listing: short), today: today)], on: limited).1[0]) == .stayLength(min: 3, max: 5))
        #expect(rejection(run([.hold(booking("bkg_6n", 10, 6, listing: short), today: today)], on: limited).1[0]) == .stayLength(min: 3, max: 5))
        #expect(rejection(run([.hold(booking("bkg_3n", 10, 3, listing: short), today: today)], on: limited).1[0]) == nil)
        let twice = run([.hold(booking("bkg_1", 10, 2), today: today), .hold(booking("bkg_1", 40, 2), today: today)], on: state).1
        #expect(twice.map(rejection) == [nil, .bookingExists])
    }

    @Test func theStatusMachine() {
        let held = run([.hold(booking("bkg_1", 10, 3), today: today), .hold(booking("bkg_2", 20, 3), today: today)], on: market()).0
        // pending → confirmed → completed (only from check-out day on).
        let (confirmed, outcomes) = run([
            .confirmBooking(id: "bkg_1"), .confirmBooking(id: "bkg_1"),
            .completeBooking(id: "bkg_1", today: today.advanced(by: 12)), .completeBooking(id: "bkg_2", today: today.advanced(by: 30)),
            .completeBooking(id: "bkg_1", today: today.advanced(by: 13)), .cancelBooking(id: "bkg_1", BookingCancellation(by: .guest, at: t0, reason: "", refund: 0)),
            .confirmBooking(id: "bkg_nope"),
        ], on: held)
        #expect(outcomes.map(rejection) == [nil, .bookingIs(.confirmed), .stayNotOver, .bookingIs(.pending), nil, .bookingIs(.completed), .bookingNotFound])
        #expect(confirmed.bookings["bkg_1"]?.status == .completed)
        #expect(confirmed.listings["lst_a"]!.calendar.isBooked(today.advanced(by: 10)), "a completed stay keeps its nights (history)")
    }

    @Test func cancelingReleasesTheNightsAtOnce() {
        let held = run([.hold(booking("bkg_1", 10, 3), today: today), .hold(booking("bkg_2", 20, 3), today: today), .confirmBooking(id: "bkg_2")], on: market()).0
        let refund = BookingCancellation(by: .host, at: t0, reason: "boiler broke", refund: 39_900)
        let (state, outcomes) = run([
            .cancelBooking(id: "bkg_1", BookingCancellation(by: .guest, at: t0, reason: "", refund: 0)),
            .cancelBooking(id: "bkg_2", refund), .cancelBooking(id: "bkg_2", refund),
            .hold(booking("bkg_3", 11, 10), today: today),
        ], on: held)
        #expect(outcomes.map(rejection) == [nil, nil, .bookingIs(.canceled), nil], "canceled nights are bookable again")
        #expect(state.bookings["bkg_2"]?.cancellation == refund && state.bookings["bkg_2"]?.status == .canceled)
        #expect(!state.listings["lst_a"]!.calendar.isBooked(today.advanced(by: 10)))
        #expect(state.listings["lst_a"]!.calendar.isBooked(today.advanced(by: 11)))
    }

    @Test func aHoldExpiresOnlyWhenItsTimeHasCome() {
        let held = run([.hold(booking("bkg_1", 10, 3), today: today), .hold(booking("bkg_2", 20, 3), today: today), .confirmBooking(id: "bkg_2")], on: market()).0
        let early = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 15 * 60_000 - 1)
        let due = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 15 * 60_000)
        #expect(run([.expireBooking(id: "bkg_1")], on: held, now: early).1.map(rejection) == [.holdNotExpired])
        let (expired, outcomes) = run([.expireBooking(id: "bkg_1"), .expireBooking(id: "bkg_2")], on: held, now: due)
        #expect(outcomes.map(rejection) == [nil, .bookingIs(.confirmed)])
        #expect(expired.bookings["bkg_1"]?.cancellation == BookingCancellation(by: .system, at: due, reason: "hold expired", refund: 0))
        #expect(freeForSearch(expired, 10, 3))
    }

    /// A stay ahead refuses a delete; unblocking its nights leaves them held (and out of search).
    @Test func aListingWithAStayAheadCannotBeDeletedAndUnblockingLeavesItsNightsHeld() {
        let held = run([.hold(booking("bkg_1", 10, 3), today: today)], on: market()).0
        let (after, outcomes) = run([
            .changeNights(id: "lst_a", [.block(today.advanced(by: 10)..<today.advanced(by: 14))], currency: "SGD"),
            .changeNights(id: "lst_a", [.unblock(today.advanced(by: 10)..<today.advanced(by: 14))], currency: "SGD"),
            .delete(id: "lst_a", today: today),
        ], on: held)
        #expect(outcomes.map(rejection) == [nil, nil, .hasUpcomingBookings])
        #expect(!freeForSearch(after, 11, 1) && freeForSearch(after, 13, 1), "the held night stays taken; the free one is free")
    }

    /// Random holds, confirmations, cancellations and expiries on three listings: holding
    /// bookings never share a night, and the calendars hold exactly their nights.
    @Test func randomTrafficKeepsTheCalendarsExact() {
        var generator = SeededGenerator(seed: testSeed())
        let listings = ["lst_a", "lst_b", "lst_c"].map { listing($0) }
        var state = market(listings)
        for step in 0..<600 {
            let command: Listings.Command
            let ids = Array(state.bookings.keys)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                command = .hold(booking("bkg_\(step)", Int.random(in: 0...60, using: &generator), Int.random(in: 1...10, using: &generator),
                                        listing: listings.randomElement(using: &generator)!), today: today)
            case 2 where !ids.isEmpty: command = .cancelBooking(id: ids.randomElement(using: &generator)!, BookingCancellation(by: .guest, at: t0, reason: "", refund: 0))
            case 3 where !ids.isEmpty: command = .confirmBooking(id: ids.randomElement(using: &generator)!)
            default: continue
            }
            state = run([command], on: state).0
        }
        #expect(state.bookings.values.contains { $0.status == .canceled } && state.bookings.values.contains { $0.status.holdsNights })
        for listing in listings {
            let holding = state.bookings.values.filter { $0.listingID == listing.id && $0.status.holdsNights }
            for (i, a) in holding.enumerated() { for b in holding[(i + 1)...] { #expect(!a.stay.overlaps(b.stay), "\(a.id) and \(b.id)") } }
            let calendar = state.listings[listing.id]!.calendar
            for offset in 0..<80 {
                let night = today.advanced(by: offset)
                #expect(calendar.isBooked(night) == holding.contains { $0.stay.contains(night) }, "\(listing.id) night \(offset)")
            }
        }
    }

    /// Only a canceled booking is marked settled, and only once.
    @Test func onlyCanceledBookingsAreMarkedSettled() {
        let (state, outcomes) = run([
            .hold(booking("bkg_1", 10, 3), today: today), .markSettled(id: "bkg_1"), .markSettled(id: "bkg_9"),
            .cancelBooking(id: "bkg_1", BookingCancellation(by: .guest, at: t0, reason: "", refund: 0)),
            .markSettled(id: "bkg_1"), .markSettled(id: "bkg_1"),
        ], on: market())
        #expect(outcomes[1] == .failure(.bookingIs(.pending)) && outcomes[2] == .failure(.bookingNotFound))
        #expect(outcomes[4] == .success([.bookingSettled(id: "bkg_1", at: t0)]) && outcomes[5] == .success([]))
        #expect(state.settled == ["bkg_1"])
    }

    @Test func bookingEventsAndStateSurviveTheBinaryRoundTrip() throws {
        var canceled = booking("bkg_2", 20, 2)
        canceled.status = .canceled
        canceled.cancellation = BookingCancellation(by: .admin, at: t0, reason: "Ünïcode ✓", refund: 1_234)
        let events: [Listings.Event] = [
            .bookingHeld(booking("bkg_1", 10, 3)), .bookingConfirmed(id: "bkg_1", at: t0),
            .bookingCanceled(id: "bkg_1", canceled.cancellation!), .bookingCompleted(id: "bkg_1", at: t0), .bookingHeld(canceled),
            .bookingHoldExtended(id: "bkg_1", until: Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 86_400_000), at: t0),
            .bookingSettled(id: "bkg_2", at: t0),
        ]
        for event in events {
            #expect(try roundTrip(event) == event)
        }
        let state = run([.hold(booking("bkg_1", 10, 3), today: today), .hold(booking("bkg_2", 20, 2), today: today), .confirmBooking(id: "bkg_1"),
                         .cancelBooking(id: "bkg_2", canceled.cancellation!), .markSettled(id: "bkg_2")], on: market()).0
        let decoded = try roundTrip(state: state, of: Listings.self)
        #expect(decoded == state && decoded.settled == ["bkg_2"])
        #expect(decoded.bookings.count == 2 && !freeForSearch(decoded, 10, 3) && freeForSearch(decoded, 20, 2))
    }
}
