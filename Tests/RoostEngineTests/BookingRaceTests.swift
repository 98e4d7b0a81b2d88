import Foundation
import RoostDomain
import RoostStorage
import RoostTestSupport
import Testing

@testable import RoostEngine

/// Holds racing for the same nights through the engine (WAL, fsync, the shard's actor): the
/// single owner of a listing lets exactly the non-overlapping ones through, and a restart
/// replays the same bookings and calendars.
@Suite struct BookingRaceTests {
    let today = CalendarDay(iso: "2027-03-01")!

    func openListings(_ directory: String) throws -> Engine {
        try Engine.open(options: EngineOptions(dataDirectory: directory, shardCount: 4), aggregates: [Listings.self], logger: quietLogger)
    }

    func listing(_ id: String) -> ListingRecord {
        let details = ListingDetails(
            title: "Loft", description: "", propertyType: "apartment",
            location: ListingLocation(address: "", city: "Singapore", country: "Singapore", latitude: 1.3, longitude: 103.8, timeZone: "Asia/Singapore"),
            currency: "SGD", pricePerNight: 10_000, cleaningFee: 0, maxGuests: 4, bedrooms: 1, beds: 1, halfBathrooms: 2,
            amenities: [], minNights: 1, maxNights: 30, instantBook: true, cancellationPolicy: .flexible
        )
        return ListingRecord(id: id, hostID: "usr_host", details: details, createdAt: t0)
    }

    func hold(_ engine: Engine, _ id: String, listing: ListingRecord, from: Int, nights: Int) async -> Range<CalendarDay>? {
        let stay = today.advanced(by: from)..<today.advanced(by: from + nights)
        let booking = BookingRecord(
            id: id, listingID: listing.id, guestID: "usr_guest_\(id)", hostID: listing.hostID, stay: stay, guests: 1,
            quote: PriceQuote.make(listing, stay: stay, rates: PricingRates()), policy: .flexible, instantBook: true,
            holdExpiresAt: t0, createdAt: t0
        )
        do {
            try await engine.group(Listings.self).shard(for: listing.id).execute(.hold(booking, today: today), now: t0)
            return stay
        } catch Listings.Rejection.datesUnavailable {
            return nil
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func fortyHoldsForTheSameNightsMakeOneBooking() async throws {
        let directory = TemporaryDirectory()
        let engine = try openListings(directory.path)
        let home = listing("lst_race")
        try await engine.group(Listings.self).shard(for: home.id).execute(.create(home), now: t0)
        let winners = await withTaskGroup(of: Range<CalendarDay>?.self) { group in
            for i in 0..<40 { group.addTask { await hold(engine, "bkg_\(i)", listing: home, from: 10, nights: 3) } }
            return await group.reduce(into: [Range<CalendarDay>]()) { if let stay = $1 { $0.append(stay) } }
        }
        #expect(winners.count == 1)
        engine.close()
    }

    @Test func overlappingRandomHoldsNeverShareANightAndSurviveARestart() async throws {
        let directory = TemporaryDirectory()
        var engine = try openListings(directory.path)
        let homes = (0..<3).map { listing("lst_\($0)") }
        for home in homes { try await engine.group(Listings.self).shard(for: home.id).execute(.create(home), now: t0) }
        var generator = SeededGenerator(seed: testSeed())
        let requests = (0..<80).map { i in (i, homes[i % 3], Int.random(in: 0...20, using: &generator), Int.random(in: 1...6, using: &generator)) }
        let outcomes = await withTaskGroup(of: (Int, Range<CalendarDay>?).self) { group in
            for (i, home, from, nights) in requests {
                group.addTask { [engine] in (i, await hold(engine, "bkg_\(i)", listing: home, from: from, nights: nights)) }
            }
            return await group.reduce(into: [Int: Range<CalendarDay>?]()) { $0[$1.0] = $1.1 }
        }
        for home in homes {
            let mine = requests.filter { $0.1.id == home.id }
            let won = mine.compactMap { outcomes[$0.0] ?? nil }
            for (i, a) in won.enumerated() { for b in won[(i + 1)...] { #expect(!a.overlaps(b)) } }
            for (i, _, from, nights) in mine where outcomes[i]! == nil {
                let stay = today.advanced(by: from)..<today.advanced(by: from + nights)
                #expect(won.contains { $0.overlaps(stay) }, "request \(i) lost without a reason")
            }
        }
        let before = await shardStates(engine)
        #expect(before.reduce(0) { $0 + $1.bookings.count } == outcomes.values.compactMap { $0 }.count)
        engine.close()
        engine = try openListings(directory.path)
        #expect(await shardStates(engine) == before, "the WAL replays the same bookings and calendars")
        engine.close()
    }

    /// A hundred concurrent captures of one payment (a retried request, a webhook, a reconciler):
    /// the money moves once, and the invariants hold after a restart.
    @Test func aPaymentIsCapturedOnceHoweverManyTry() async throws {
        let directory = TemporaryDirectory()
        var engine = try Engine.open(options: EngineOptions(dataDirectory: directory.path, shardCount: 4), aggregates: [Ledger.self], logger: quietLogger)
        let ledger = engine.group(Ledger.self).shard(for: "bkg_pay")
        try await ledger.execute(.authorize(payment: "bkg_pay", currency: "SGD", amount: 59_024, settlement: nil, reference: "pi_test"), now: t0)
        let captured = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 { group.addTask { (try? await ledger.execute(.capture(payment: "bkg_pay"), now: t0)) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(captured == 1)
        engine.close()
        engine = try Engine.open(options: EngineOptions(dataDirectory: directory.path, shardCount: 4), aggregates: [Ledger.self], logger: quietLogger)
        let state = engine.group(Ledger.self).shard(for: "bkg_pay").peek { $0 }
        #expect(state.balance(.guestPayments, "SGD") == 59_024 && Ledger.violations(in: state) == [])
        engine.close()
    }

    func shardStates(_ engine: Engine) async -> [Listings.State] {
        var states: [Listings.State] = []
        for shard in engine.group(Listings.self).shards { states.append(shard.peek { $0 }) }
        return states
    }
}
