import ArgumentParser
import Foundation
import RoostAPI
import RoostData
import RoostDomain
import RoostEngine

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load a public dataset into the data directory (offline).", subcommands: [InsideAirbnbCity.self])

    struct InsideAirbnbCity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "insideairbnb",
            abstract: "Load an Inside Airbnb city: listings.csv[.gz] as host users and listings, calendar.csv[.gz] as blocked nights, reviews.csv[.gz] as imported reviews.",
            discussion: "Through the engine's own commands: the WAL and snapshots hold the result like any other data. Host users have no email or password (they cannot sign in until one is set). Re-importing skips what exists. Data from Inside Airbnb (http://insideairbnb.com), CC BY 4.0."
        )

        @Option(help: "The city's directory.") var dir: String
        @Option(help: "The currency of the file's prices (ISO 4217).") var currency = "SGD"
        @Option(help: "The city listings are in.") var city = "Singapore"
        @Option(help: "The country listings are in.") var country = "Singapore"
        @Option(help: "The listings' IANA time zone.") var timezone = "Asia/Singapore"
        @Flag(help: "Move calendars so the first calendar day becomes today (the data is historical).") var shiftDates = false
        @OptionGroup var data: DataDirectoryOption

        func file(_ name: String) throws -> String {
            for candidate in [name + ".gz", name] where FileManager.default.fileExists(atPath: dir + "/" + candidate) { return dir + "/" + candidate }
            throw OperationFailed("\(dir) has no \(name)[.gz]")
        }

        func run() async throws {
            let started = ContinuousClock.now
            let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory)
            let reference = try ReferenceData.load(from: try ReferenceData.locate(configured: configuration.referenceDirectory))
            guard reference.isSupported(currency) else { throw OperationFailed("--currency \(currency) is not a supported currency (one the FX table converts)") }
            guard TimeZone(identifier: timezone) != nil else { throw OperationFailed("--timezone \(timezone) is not an IANA time zone") }
            // The API's rule for a listing's place: a city and a country, 1–200 characters.
            for (flag, value) in [("--city", city), ("--country", country)] where !(1...200).contains(value.trimmingCharacters(in: .whitespaces).count) {
                throw OperationFailed("\(flag) must be 1 to 200 characters (got \"\(value)\")")
            }

            let listings = try InsideAirbnb.readListings(at: try file("listings.csv"), currency: currency, currencies: reference.currencies, amenities: reference.amenities)
            let calendars = try InsideAirbnb.readCalendarByListing(at: try file("calendar.csv"), currency: currency, currencies: reference.currencies)
            let reviews = try InsideAirbnb.readReviews(at: try file("reviews.csv"))
            let parsed = ContinuousClock.now

            let engine: Engine
            do {
                engine = try Engine.open(options: configuration.engineOptions(), aggregates: roostAggregates, logger: logger)
            } catch {
                throw OperationFailed("cannot open \(configuration.dataDirectory): \(error)")
            }
            defer { engine.close() }

            let now = Date()
            let today = ListingService.today(in: timezone, now: now)
            let firstDay = calendars.values.map(\.firstDate).min().flatMap { CalendarDay(year: $0.year, month: $0.month, day: $0.day) }
            let shift = shiftDates ? (firstDay.map { $0.distance(to: today) } ?? 0) : 0
            var blockedBySource: [String: [CalendarDay]] = [:]
            for calendar in calendars.values {
                blockedBySource[calendar.listingSourceID] = calendar.unavailableDates.compactMap {
                    CalendarDay(year: $0.year, month: $0.month, day: $0.day)?.advanced(by: shift)
                }
            }
            var reviewCounts: [String: Int] = [:]
            for review in reviews.values { reviewCounts[review.listingSourceID, default: 0] += 1 }

            let stamp = AccountService.timestamp(now)
            let accounts = engine.group(Accounts.self), listingShards = engine.group(Listings.self)
            var hostsCreated = 0, listingsCreated = 0, alreadyThere = 0, clamped = 0
            var hosts: [String: String] = [:]
            for listing in listings.values where hosts[listing.hostSourceID] == nil {
                hosts[listing.hostSourceID] = listing.hostName
            }
            // Many commands in flight at once: group commit puts them behind few fsyncs.
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                var inFlight = 0
                for (sourceID, name) in hosts.sorted(by: { $0.key < $1.key }) {
                    let record = UserRecord(
                        id: "usr_ia_\(sourceID)", email: nil, name: String((name.isEmpty ? "Host \(sourceID)" : name).prefix(100)), role: .host,
                        passwordHash: nil, createdAt: stamp
                    )
                    if inFlight >= 512, let created = try await tasks.next() {
                        inFlight -= 1
                        if created { hostsCreated += 1 }
                    }
                    tasks.addTask {
                        do {
                            try await accounts.shard(for: record.id).execute(.register(record, session: nil), now: stamp)
                            return true
                        } catch Accounts.Rejection.userExists { return false }
                    }
                    inFlight += 1
                }
                for try await created in tasks where created { hostsCreated += 1 }
            }
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                var inFlight = 0
                for imported in listings.values {
                    var minNights = imported.minNights, maxNights = imported.maxNights
                    if maxNights > ListingRules.nights.upperBound || minNights > ListingRules.nights.upperBound { clamped += 1 }
                    minNights = min(minNights, ListingRules.nights.upperBound)
                    maxNights = max(minNights, min(maxNights, ListingRules.nights.upperBound))
                    let details = ListingDetails(
                        title: imported.title.isEmpty ? "Listing \(imported.sourceID)" : imported.title, description: imported.description,
                        propertyType: String(imported.propertyType.prefix(40)).isEmpty ? "home" : String(imported.propertyType.prefix(40)),
                        location: ListingLocation(
                            address: imported.neighbourhood ?? "", city: city, country: country, latitude: imported.latitude,
                            longitude: imported.longitude, timeZone: timezone
                        ),
                        currency: currency, pricePerNight: imported.pricePerNightMinor, cleaningFee: 0, maxGuests: imported.maxGuests,
                        bedrooms: min(imported.bedrooms ?? 0, 50), beds: min(imported.beds ?? 1, 50),
                        halfBathrooms: Int(((imported.bathrooms ?? 1) * 2).rounded()), amenities: imported.amenityCodes,
                        minNights: minNights, maxNights: maxNights, instantBook: imported.instantBook, cancellationPolicy: .moderate
                    )
                    var record = ListingRecord(id: "lst_ia_\(imported.sourceID)", hostID: "usr_ia_\(imported.hostSourceID)", details: details, createdAt: stamp)
                    for night in blockedBySource[imported.sourceID] ?? [] where night >= today.advanced(by: -1) {
                        record.calendar.set(.blocked, night..<night.advanced(by: 1), to: true)
                    }
                    let count = reviewCounts[imported.sourceID] ?? imported.reviewCount
                    if let rating = imported.rating, count > 0 {
                        record.reviewCount = Int32(count)
                        record.ratingTotal = Int64((rating * 100).rounded()) * Int64(count)
                    }
                    if inFlight >= 512, let created = try await tasks.next() {
                        inFlight -= 1
                        if created { listingsCreated += 1 } else { alreadyThere += 1 }
                    }
                    let shard = listingShards.shard(for: record.id)
                    tasks.addTask {
                        do {
                            try await shard.execute(.create(record), now: stamp)
                            return true
                        } catch Listings.Rejection.listingExists { return false }
                    }
                    inFlight += 1
                }
                for try await created in tasks { if created { listingsCreated += 1 } else { alreadyThere += 1 } }
            }
            // Reviews attach to their listings, marked as imported: one command per listing. Those of listings this import
            // has not (skipped rows, or none in listings.csv) are counted apart: attached, nothing would ever show them.
            let importedSources = Set(listings.values.map(\.sourceID))
            var reviewsOfOthers = 0
            for review in reviews.values where !importedSources.contains(review.listingSourceID) { reviewsOfOthers += 1 }
            let calendarsOfOthers = calendars.values.filter { !importedSources.contains($0.listingSourceID) }.count
            var reviewsByListing: [String: [ReviewRecord]] = [:]
            for review in reviews.values where importedSources.contains(review.listingSourceID) {
                let listingID = "lst_ia_\(review.listingSourceID)"
                let day = CalendarDay(year: review.date.year, month: review.date.month, day: review.date.day) ?? CalendarDay(daysSinceEpoch: 0)
                reviewsByListing[listingID, default: []].append(ReviewRecord(
                    id: "rev_ia_\(review.sourceID)", listingID: listingID, authorID: "ia_\(review.reviewerSourceID)",
                    authorName: String(review.reviewerName.prefix(100)), rating: nil, comment: String(review.comments.prefix(5_000)),
                    createdAt: Timestamp(millisecondsSinceEpoch: Int64(day.daysSinceEpoch) * 86_400_000), bookingID: nil, imported: true
                ))
            }
            let reviewShards = engine.group(Reviews.self)
            var reviewsAttached = 0
            try await withThrowingTaskGroup(of: Int.self) { tasks in
                var inFlight = 0
                for (listingID, batch) in reviewsByListing {
                    if inFlight >= 512, let attached = try await tasks.next() {
                        inFlight -= 1
                        reviewsAttached += attached
                    }
                    let shard = reviewShards.shard(for: listingID)
                    tasks.addTask {
                        let events = try await shard.execute(.importReviews(batch), now: stamp)
                        return events.reduce(0) { count, event in if case let .imported(added) = event { count + added.count } else { count } }
                    }
                    inFlight += 1
                }
                for try await attached in tasks { reviewsAttached += attached }
            }
            let lsn = try await engine.snapshot()
            let finished = ContinuousClock.now

            print(listings.report.description)
            print(calendars.report.description)
            print(reviews.report.description)
            print("unknown amenity names: \(listings.report.unknownAmenities.count) distinct; top: " + listings.report.topUnknownAmenities(5).map { "\($0.label) (\($0.count))" }.joined(separator: ", "))
            print("imported into \(configuration.dataDirectory): \(hostsCreated) host users, \(listingsCreated) listings (\(alreadyThere) already there), \(clamped) with night limits past 365 clamped to 365, \(reviewsAttached) reviews attached to their listings (marked imported)\(shiftDates ? ", calendars shifted by \(shift) days" : "")")
            if reviewsOfOthers + calendarsOfOthers > 0 {
                print("left out, for listings this import has not: \(reviewsOfOthers) reviews, the calendars of \(calendarsOfOthers) listings")
            }
            print("time: parse \(parsed - started), engine \(finished - parsed), snapshot at LSN \(lsn)")
            print(InsideAirbnb.singaporeAttribution)
            if listingsCreated + alreadyThere == 0 { throw OperationFailed("nothing could be imported") }
        }
    }
}
