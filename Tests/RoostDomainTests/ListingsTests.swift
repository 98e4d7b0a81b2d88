import RoostBinary
import RoostDomain
import Testing

/// The listing aggregate's rules, and its events and state through the binary round trip.
struct ListingsTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    let day = CalendarDay(iso: "2027-03-01")!

    func details(title: String = "Loft by the river") -> ListingDetails {
        ListingDetails(
            title: title, description: "Bright, quiet.", propertyType: "apartment",
            location: ListingLocation(address: "1 River Rd", city: "Singapore", country: "SG", latitude: 1.29, longitude: 103.85, timeZone: "Asia/Singapore"),
            currency: "SGD", pricePerNight: 15_000, cleaningFee: 3_000, maxGuests: 4, bedrooms: 2, beds: 2, halfBathrooms: 3,
            amenities: ["kitchen", "wifi"], minNights: 2, maxNights: 30, instantBook: true, cancellationPolicy: .moderate
        )
    }

    func record(_ id: String = "lst_a") -> ListingRecord { ListingRecord(id: id, hostID: "usr_host", details: details(), createdAt: t0) }

    func run(_ commands: [Listings.Command], from start: Listings.State = Listings.initialState())
        -> (Listings.State, [Result<[Listings.Event], Listings.Rejection>])
    {
        var state = start
        var outcomes: [Result<[Listings.Event], Listings.Rejection>] = []
        for command in commands {
            let outcome = Listings.decide(command, state: state, context: DecisionContext(now: t0))
            if case let .success(events) = outcome { for event in events { Listings.apply(event, to: &state) } }
            outcomes.append(outcome)
        }
        return (state, outcomes)
    }

    @Test func createUpdateAndSoftDelete() {
        let (state, outcomes) = run([
            .create(record()), .create(record()),
            .update(id: "lst_a", details(title: "Loft"), over: details(), today: day), .update(id: "lst_a", details(title: "Loft"), over: details(title: "Loft"), today: day),
            .delete(id: "lst_a", today: day), .update(id: "lst_a", details(), over: details(title: "Loft"), today: day), .setStatus(id: "lst_zzz", .inactive),
        ])
        #expect(outcomes[1] == .failure(.listingExists))
        #expect(outcomes[3] == .success([]), "an update that changes nothing records nothing")
        #expect(state.listings["lst_a"]?.status == .deleted && state.listings["lst_a"]?.details.title == "Loft")
        #expect(outcomes[5] == .failure(.listingNotFound), "a deleted listing is gone for edits")
        #expect(outcomes[6] == .failure(.listingNotFound))
    }

    /// A listing whose host is away (suspended, or no longer a host) leaves the index and keeps its
    /// own status, and comes back as that status says; a deleted one stays as it is.
    @Test func aListingWhoseHostIsAwayIsHiddenAndKeepsItsStatus() {
        let singapore = TextKey.make("Singapore")
        func found(_ state: Listings.State) -> [String] {
            var query = ListingQuery()
            query.place = singapore
            return state.search(query).hits.map(\.key.id).sorted()
        }
        var (state, outcomes) = run([
            .create(record("lst_a")), .create(record("lst_b")), .create(record("lst_c")), .setStatus(id: "lst_b", .inactive),
            .delete(id: "lst_c", today: day),
            .setHostAway(id: "lst_a", true), .setHostAway(id: "lst_a", true), .setHostAway(id: "lst_b", true), .setHostAway(id: "lst_c", true),
            .setHostAway(id: "lst_zzz", true),
        ])
        #expect(outcomes[5] == .success([.hostAwayChanged(id: "lst_a", true, at: t0)]))
        #expect(outcomes[6] == .success([]) && outcomes[8] == .success([]), "nothing to record: already away, or deleted")
        #expect(outcomes[9] == .failure(.listingNotFound))
        #expect(state.listings["lst_a"]!.hostAway && !state.listings["lst_a"]!.isListed && state.listings["lst_a"]!.status == .active)
        #expect(found(state) == [])
        (state, outcomes) = run([.setHostAway(id: "lst_a", false), .setHostAway(id: "lst_b", false)], from: state)
        #expect(found(state) == ["lst_a"], "back as its own status says: lst_b stays paused")
        #expect(state.listings["lst_b"]!.status == .inactive && !state.listings["lst_b"]!.hostAway)
    }

    /// Two partial edits read the same details: the second one decided is refused rather than
    /// written over the first (its editor works it out again over the new details).
    @Test func anEditOverDetailsThatChangedMeanwhileIsRefused() {
        let (state, outcomes) = run([
            .create(record()),
            .update(id: "lst_a", details(title: "Loft"), over: details(), today: day),
            .update(id: "lst_a", details(title: "Barn"), over: details(), today: day),
        ])
        #expect(outcomes[2] == .failure(.editedMeanwhile))
        #expect(state.listings["lst_a"]?.details.title == "Loft")
    }

    @Test func nightsBlockUnblockAndPrice() {
        let stay = day..<day.advanced(by: 3)
        let (state, _) = run([
            .create(record()),
            .changeNights(id: "lst_a", [.block(stay), .price(day.advanced(by: 5)..<day.advanced(by: 7), 22_000)], currency: "SGD"),
            .changeNights(id: "lst_a", [.unblock(day..<day.advanced(by: 1)), .price(day.advanced(by: 6)..<day.advanced(by: 7), nil)], currency: "SGD"),
        ])
        let listing = state.listings["lst_a"]!
        #expect(listing.calendar.isFree(day..<day.advanced(by: 1)))
        #expect(!listing.calendar.isFree(day.advanced(by: 1)..<day.advanced(by: 2)))
        #expect(listing.price(of: day.advanced(by: 5)) == 22_000)
        #expect(listing.price(of: day.advanced(by: 6)) == 15_000)
    }

    /// Amounts are in the listing's currency: it cannot change while some are set for nights ahead,
    /// and amounts checked against another currency than the listing's now are refused.
    @Test func theCurrencyAndTheAmountsInItChangeTogether() {
        var usd = details()
        usd.currency = "USD"
        let weekend = ListingPricing(weekendPrice: 19_000)
        let (state, outcomes) = run([
            .create(record()),
            .changeNights(id: "lst_a", [.price(day.advanced(by: 5)..<day.advanced(by: 6), 22_000)], currency: "SGD"),
            .update(id: "lst_a", usd, over: details(), today: day),  // a per-night price ahead
            .update(id: "lst_a", usd, over: details(), today: day.advanced(by: 6)),  // only behind: fine
            .setPricing(id: "lst_a", weekend, currency: "SGD"),  // checked against SGD: USD now
            .changeNights(id: "lst_a", [.price(day.advanced(by: 8)..<day.advanced(by: 9), 22_000)], currency: "SGD"),
            .changeNights(id: "lst_a", [.block(day.advanced(by: 8)..<day.advanced(by: 9))], currency: "SGD"),  // no amounts
            .setPricing(id: "lst_a", weekend, currency: "USD"),
            .update(id: "lst_a", details(), over: usd, today: day.advanced(by: 6)),  // the weekend price
        ])
        #expect(outcomes[2] == .failure(.pricedIn(currency: "SGD")))
        #expect((try? outcomes[3].get())?.count == 1)
        #expect(outcomes[4] == .failure(.editedMeanwhile))
        #expect(outcomes[5] == .failure(.editedMeanwhile))
        #expect((try? outcomes[6].get())?.count == 1)
        #expect((try? outcomes[7].get())?.count == 1)
        #expect(outcomes[8] == .failure(.pricedIn(currency: "USD")))
        let listing = state.listings["lst_a"]!
        #expect(listing.details.currency == "USD" && listing.pricing.weekendPrice == 19_000 && listing.priceOverrides[day.advanced(by: 8)] == nil)
    }

    /// Booked nights ahead refuse a delete; blocking and unblocking over them touch the host's blocks only.
    @Test func bookedNightsGuardDeleteAndOutlastBlocks() {
        var start = Listings.initialState()
        var booked = record()
        booked.calendar.set(.booked, day.advanced(by: 10)..<day.advanced(by: 12), to: true)
        start.listings[booked.id] = booked
        let (state, outcomes) = run([
            .delete(id: "lst_a", today: day),
            .changeNights(id: "lst_a", [.block(day.advanced(by: 9)..<day.advanced(by: 13))], currency: "SGD"),
            .changeNights(id: "lst_a", [.unblock(day.advanced(by: 11)..<day.advanced(by: 13))], currency: "SGD"),
            .delete(id: "lst_a", today: day.advanced(by: 12)),
        ], from: start)
        #expect(outcomes[0] == .failure(.hasUpcomingBookings))
        #expect((try? outcomes[1].get())?.count == 1 && (try? outcomes[2].get())?.count == 1, "blocks over booked nights are the host's to set and clear")
        let calendar = state.listings["lst_a"]!.calendar
        #expect(calendar.isAnySet(.blocked, in: day.advanced(by: 9)..<day.advanced(by: 11)))
        #expect(!calendar.isAnySet(.blocked, in: day.advanced(by: 11)..<day.advanced(by: 13)))
        #expect(calendar.isAnySet(.booked, in: day.advanced(by: 11)..<day.advanced(by: 12)), "the stay still holds its night")
        #expect((try? outcomes[3].get())?.count == 1, "stays in the past do not block a delete")
    }

    @Test func photosAreOrderedAndLimited() {
        var commands: [Listings.Command] = [.create(record())]
        for index in 0...Listings.photosMax { commands.append(.addPhoto(id: "lst_a", ListingPhoto(id: "ph_\(index)", key: "listings/lst_a/\(index).jpg"))) }
        commands.append(.removePhoto(id: "lst_a", photoID: "ph_3"))
        commands.append(.removePhoto(id: "lst_a", photoID: "ph_3"))
        let (state, outcomes) = run(commands)
        #expect(outcomes[Listings.photosMax + 1] == .failure(.tooManyPhotos(limit: Listings.photosMax)))
        #expect(outcomes.last == .failure(.photoNotFound))
        let ids = state.listings["lst_a"]!.photos.map(\.id)
        #expect(ids.count == Listings.photosMax - 1 && ids.first == "ph_0" && !ids.contains("ph_3"))
    }

    @Test func eventsAndStateSurviveTheBinaryRoundTrip() throws {
        var listing = record()
        listing.calendar.set(.blocked, day..<day.advanced(by: 100), to: true)
        listing.calendar.set(.booked, day.advanced(by: 200)..<day.advanced(by: 203), to: true)
        listing.priceOverrides[day] = 99_000
        listing.photos = [ListingPhoto(id: "ph_1", key: "k")]
        let events: [Listings.Event] = [
            .created(listing),
            .updated(id: "lst_a", details(title: "Ünïcode ✓"), at: t0),
            .statusChanged(id: "lst_a", .inactive, at: t0),
            .nightsChanged(id: "lst_a", [.block(day..<day.advanced(by: 2)), .unblock(day..<day), .price(day..<day.advanced(by: 1), nil), .price(day..<day.advanced(by: 1), 1)], at: t0),
            .photoAdded(id: "lst_a", ListingPhoto(id: "ph_2", key: "k2"), at: t0),
            .photoRemoved(id: "lst_a", photoID: "ph_1", at: t0),
            .pricingChanged(id: "lst_a", ListingPricing(weekendPrice: 12_500, weeklyDiscountBasisPoints: 1_000, monthlyDiscountBasisPoints: 2_500), at: t0),
            .pricingChanged(id: "lst_a", .none, at: t0),
            .hostAwayChanged(id: "lst_a", true, at: t0),
            .hostAwayChanged(id: "lst_a", false, at: t0),
        ]
        for event in events {
            #expect(try roundTrip(event) == event)
        }
        var state = Listings.initialState()
        state.listings[listing.id] = listing
        state.listings["lst_b"] = record("lst_b")
        state.listings["lst_b"]!.pricing = ListingPricing(weekendPrice: nil, weeklyDiscountBasisPoints: 500)
        state.listings["lst_c"] = record("lst_c")
        state.listings["lst_c"]!.status = .inactive
        state.listings["lst_c"]!.hostAway = true
        let decoded = try roundTrip(state: state, of: Listings.self)
        #expect(decoded == state)
        #expect(decoded.listings["lst_c"]!.hostAway && decoded.listings["lst_c"]!.status == .inactive && !decoded.listings["lst_a"]!.hostAway)
        #expect(decoded.listings["lst_b"]!.pricing.weeklyDiscountBasisPoints == 500)
    }

    /// A snapshot section written before pricing existed ends after the listings: it still loads.
    @Test func aSnapshotFromBeforePricingLoads() throws {
        var old = Listings.initialState()
        old.listings["lst_a"] = record()
        let state = try roundTrip({ writer in
            Listings.encode(state: old, into: &writer)
            #expect(writer.bytes.last == 0, "no listing has pricing: the section ends with a zero count")
            writer.bytes.removeLast()
        }, { reader throws(DecodeError) in try Listings.decodeState(from: &reader) })
        #expect(state.listings["lst_a"]?.pricing == ListingPricing.none)
        #expect(state.index.count == 1)
    }
}

struct ReviewsTests {
    func review(_ id: String, listing: String = "lst_a", imported: Bool = true) -> ReviewRecord {
        ReviewRecord(id: id, listingID: listing, authorID: "ia_1", authorName: "Max", rating: nil, comment: "Lovely.", createdAt: Timestamp(millisecondsSinceEpoch: 0), bookingID: nil, imported: imported)
    }

    @Test func importsAttachOnceAndOnlyImportedReviewsComeThisWay() throws {
        var state = Reviews.initialState()
        let context = DecisionContext(now: Timestamp(millisecondsSinceEpoch: 0))
        for event in try Reviews.decide(.importReviews([review("r1"), review("r2"), review("r1")]), state: state, context: context).get() {
            Reviews.apply(event, to: &state)
        }
        #expect(state.byListing["lst_a"]?.map(\.id) == ["r1", "r2"])
        #expect(try Reviews.decide(.importReviews([review("r2")]), state: state, context: context).get().isEmpty, "a re-import adds nothing")
        #expect(Reviews.decide(.importReviews([review("r3", imported: false)]), state: state, context: context) == .failure(.notImported))
        #expect(try roundTrip(state: state, of: Reviews.self) == state)
    }
}
