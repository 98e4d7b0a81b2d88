import Foundation
import RoostDomain
import RoostEngine
import RoostStorage

// Durable bookings through the engine (no HTTP), shaped like the PostgreSQL anchor
// (Benchmarks/anchors/pg/booking_low.sql, booking_high.sql): a random listing of `listings`, a stay of 1–7 nights
// starting inside a 365-day window from 2027-01-01, one hold per request; a taken night is a rejection (the anchor's
// try_book returning false), and both count as requests done. The WAL fsyncs with group commit, as `roost serve` does.
// Then the same decisions with durability off: `Listings.decide` + `apply` alone, on one shard's state.

public enum BookingWorkload {
    public struct Config: Sendable {
        public var listings: Int
        public var shards: Int
        /// Concurrent requests in flight (each waits for its own fsync before the next).
        public var clients: Int
        public var seconds: Double
        public var warmup: Double
        public var dataDirectory: String
        public var seed: UInt64
        /// The WAL's commit gathering (`CommitGathering`) on, as `roost serve` runs, or off.
        public var gathering: Bool
        /// Segments zero-filled before use (`WALOptions.preallocate`).
        public var preallocate: Bool

        public init(
            listings: Int, shards: Int, clients: Int, seconds: Double, warmup: Double, dataDirectory: String, seed: UInt64, gathering: Bool = true,
            preallocate: Bool = false
        ) {
            self.listings = listings
            self.shards = shards
            self.clients = clients
            self.seconds = seconds
            self.warmup = warmup
            self.dataDirectory = dataDirectory
            self.seed = seed
            self.gathering = gathering
            self.preallocate = preallocate
        }
    }

    static let start = CalendarDay(year: 2027, month: 1, day: 1)!
    static let stamp = Timestamp(millisecondsSinceEpoch: 1_764_000_000_000)

    static func listing(_ i: Int) -> ListingRecord {
        let details = ListingDetails(
            title: "Home \(i)", description: "", propertyType: "apartment",
            location: ListingLocation(address: "", city: "city\(1 + i % 50)", country: "Nowhere", latitude: 1, longitude: 1, timeZone: "UTC"),
            currency: "SGD", pricePerNight: 10_000 + Int64(i % 997) * 100, cleaningFee: 2_500, maxGuests: 4, bedrooms: 1, beds: 1, halfBathrooms: 2,
            amenities: ["wifi"], minNights: 1, maxNights: 30, instantBook: true, cancellationPolicy: .moderate
        )
        return ListingRecord(id: "lst_bench\(i)", hostID: "usr_host\(i % 1000)", details: details, createdAt: stamp)
    }

    /// A hold as the anchor draws it.
    static func request(_ id: String, listings: [ListingRecord], random: inout SplitMix64) -> BookingRecord {
        let listing = listings[Int(random.next() % UInt64(listings.count))]
        let nights = 1 + Int(random.next() % 7)
        let from = start.advanced(by: Int(random.next() % UInt64(365 - nights + 1)))
        let stay = from..<from.advanced(by: nights)
        return BookingRecord(
            id: id, listingID: listing.id, guestID: "usr_guest\(random.next() % 1_000_000)", hostID: listing.hostID, stay: stay, guests: 2,
            quote: PriceQuote.make(listing, stay: stay, rates: PricingRates(taxBasisPoints: 900)), policy: .moderate, instantBook: true,
            holdExpiresAt: stamp, createdAt: stamp
        )
    }

    /// Durable holds with `clients` in flight; prints `RESULT booking-engine …`.
    public static func runDurable(_ config: Config, say: (String) -> Void) async throws {
        let logger = benchLogger("roost-bench.bookings")
        try BenchFiles.freshDirectory(config.dataDirectory)
        defer { BenchFiles.remove(config.dataDirectory) }
        let listings = (0..<config.listings).map(listing)
        // Listings go in without fsync (not what is measured); the engine then reopens durable.
        do {
            let loading = try Engine.open(
                options: EngineOptions(dataDirectory: config.dataDirectory, shardCount: config.shards, wal: WALOptions(fsync: .off), snapshotsKept: 1),
                aggregates: [Listings.self], logger: logger
            )
            let group = loading.group(Listings.self)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for (i, record) in listings.enumerated() {
                    if i >= 512 { try await tasks.next() }
                    let shard = group.shard(for: record.id)
                    tasks.addTask { try await shard.execute(.create(record), now: stamp) }
                }
                try await tasks.waitForAll()
            }
            loading.close()
        }
        let engine = try Engine.open(
            options: EngineOptions(
                dataDirectory: config.dataDirectory, shardCount: config.shards,
                wal: WALOptions(preallocate: config.preallocate, gathering: config.gathering ? .default : .off), snapshotsKept: 1
            ),
            aggregates: [Listings.self], logger: logger
        )
        defer { engine.close() }
        let group = engine.group(Listings.self)
        let today = start.advanced(by: -1)
        let begin = BenchClock.nanoseconds()
        let warmupEnd = begin + UInt64(config.warmup * 1e9), end = warmupEnd + UInt64(config.seconds * 1e9)
        struct Tally: Sendable {
            var booked = 0
            var rejected = 0
            var latencies: [UInt64] = []
        }
        let tallies = try await withThrowingTaskGroup(of: Tally.self) { tasks in
            for client in 0..<config.clients {
                tasks.addTask {
                    var random = SplitMix64(seed: config.seed &+ UInt64(client) &* 0x9E37)
                    var tally = Tally()
                    var n = 0
                    while true {
                        let started = BenchClock.nanoseconds()
                        if started >= end { break }
                        let booking = request("bkg_\(client)_\(n)", listings: listings, random: &random)
                        n += 1
                        var ok = true
                        do {
                            try await group.shard(for: booking.listingID).execute(.hold(booking, today: today), now: stamp)
                        } catch Listings.Rejection.datesUnavailable {
                            ok = false
                        }
                        let finished = BenchClock.nanoseconds()
                        guard started >= warmupEnd, finished <= end else { continue }
                        if ok { tally.booked += 1 } else { tally.rejected += 1 }
                        tally.latencies.append(finished - started)
                    }
                    return tally
                }
            }
            return try await tasks.reduce(into: [Tally]()) { $0.append($1) }
        }
        let booked = tallies.reduce(0) { $0 + $1.booked }, rejected = tallies.reduce(0) { $0 + $1.rejected }
        let latency = LatencySummary(nanoseconds: tallies.map(\.latencies))
        // No night held twice: every listing's holding bookings are pairwise apart.
        var overlapping = 0, held = 0
        for shard in group.shards {
            let (count, pairs) = shard.peek { state -> (Int, Int) in
                var byListing: [String: [Range<CalendarDay>]] = [:]
                for booking in state.bookings.values where booking.status.holdsNights { byListing[booking.listingID, default: []].append(booking.stay) }
                var pairs = 0
                for stays in byListing.values {
                    let sorted = stays.sorted { $0.lowerBound < $1.lowerBound }
                    for k in sorted.indices.dropFirst() where sorted[k].lowerBound < sorted[k - 1].upperBound { pairs += 1 }
                }
                return (state.bookings.count, pairs)
            }
            held += count
            overlapping += pairs
        }
        let rate = Double(booked + rejected) / config.seconds
        say(
            "RESULT booking-engine listings=\(config.listings) clients=\(config.clients) shards=\(config.shards) gathering=\(config.gathering) preallocate=\(config.preallocate) seconds=\(format(config.seconds, 1)) "
                + "requests_per_s=\(format(rate, 0)) booked=\(booked) rejected=\(rejected) p50_us=\(format(latency.p50Micros, 1)) "
                + "p99_us=\(format(latency.p99Micros, 1)) p999_us=\(format(latency.p999Micros, 1)) held_total=\(held) overlapping_pairs=\(overlapping)")
        guard overlapping == 0 else { throw BenchError("\(overlapping) pairs of bookings share a night") }
    }

    /// `decide` + `apply` of holds on one state, no WAL: prints `RESULT booking-decisions …`.
    public static func runDecisions(listings count: Int, seconds: Double, seed: UInt64, say: (String) -> Void) {
        var state = Listings.initialState()
        let listings = (0..<count).map(listing)
        for record in listings { Listings.apply(.created(record), to: &state) }
        var random = SplitMix64(seed: seed)
        let today = start.advanced(by: -1)
        // Requests drawn beforehand, so the timing is the decisions alone.
        let requests = (0..<200_000).map { request("bkg_d\($0)", listings: listings, random: &random) }
        var decided = 0, booked = 0
        let begin = BenchClock.nanoseconds(), end = begin + UInt64(seconds * 1e9)
        var round = 0
        while BenchClock.nanoseconds() < end {
            for var booking in requests {
                if round > 0 { booking.id += "_\(round)" }
                switch Listings.decide(.hold(booking, today: today), state: state, context: DecisionContext(now: stamp)) {
                case let .success(events):
                    for event in events { Listings.apply(event, to: &state) }
                    booked += 1
                case .failure: break
                }
                decided += 1
            }
            round += 1
        }
        let elapsed = Double(BenchClock.nanoseconds() - begin) / 1e9
        say("RESULT booking-decisions listings=\(count) decisions=\(decided) booked=\(booked) seconds=\(format(elapsed, 2)) decisions_per_s=\(format(Double(decided) / elapsed, 0))")
    }
}
