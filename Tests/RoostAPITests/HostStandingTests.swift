import Foundation
import Logging
import RoostDomain
import RoostIntegrations
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostAPI

/// A suspended or demoted host's listings leave search and take no bookings, and come back as they
/// were when the host does; a crash between the account's change and its listings' is repaired at
/// start-up.
@Suite struct HostStandingTests {
    /// The ids a search of Singapore finds.
    func found(_ services: RoostServices) -> [String] {
        var query = ListingQuery()
        query.place = TextKey.make("Singapore")
        return services.listings.search(query).hits.map(\.key.id).sorted()
    }

    func host(_ services: RoostServices, _ email: String) async throws -> String {
        try #require(try await services.accounts.register(email: email, password: "correct horse battery", name: "Host", role: .host)).user.id
    }

    @Test func aSuspendedOrDemotedHostsListingsAreHiddenUntilTheHostIsBack() async throws {
        try await withServices { services, _, clock in
            let hostID = try await host(services, "host@example.com")
            let other = try await host(services, "other@example.com")
            let open = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            let paused = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            try await services.listings.execute(.setStatus(id: paused.id, .inactive), on: paused.id)
            let neighbour = try await services.listings.create(hostID: other, details: singaporeLoft(instantBook: true))
            #expect(found(services) == [open.id, neighbour.id].sorted())

            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            try await services.standing.follow(hostID: hostID)
            #expect(found(services) == [neighbour.id])
            let hidden = try #require(await services.listings.listing(open.id))
            #expect(hidden.hostAway && !hidden.isListed && hidden.status == .active)
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let stay = BookingService.Request(listingID: open.id, stay: today.advanced(by: 3)..<today.advanced(by: 5), guests: 1, currency: nil, paymentMethod: "pm_card_visa")
            await #expect(throws: Problem.self) { _ = try await services.bookings.create(guestID: other, stay, rates: PricingRates()) }

            // Back, then switched to a guest: hidden again; a host again: back, the paused one still paused.
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: false, role: nil), for: hostID)
            try await services.standing.follow(hostID: hostID)
            #expect(found(services) == [open.id, neighbour.id].sorted())
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: nil, role: .guest), for: hostID)
            try await services.standing.follow(hostID: hostID)
            #expect(found(services) == [neighbour.id])
            try await services.accounts.execute(.becomeHost(userID: hostID), for: hostID)
            try await services.standing.follow(hostID: hostID)
            #expect(found(services) == [open.id, neighbour.id].sorted())
            #expect(await services.listings.listing(paused.id).map { $0.status == .inactive && !$0.hostAway } == true)
            let booked = try await services.bookings.create(guestID: other, stay, rates: PricingRates())
            #expect(booked.booking.status == .confirmed)
        }
    }

    /// A suspended host is not paid out: the guest's money stays held until the host is reinstated,
    /// and is then paid at once, not at the next look.
    @Test func aSuspendedHostsPayoutWaitsForTheirReinstatement() async throws {
        try await withServices { services, _, clock in
            let hostID = try await host(services, "host@example.com")
            let listing = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            _ = try await services.bookings.setPayoutAccount(host: hostID, account: "acct_h0st")
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await services.bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 2)..<today.advanced(by: 4), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            let checkIn = try BookingService.checkInInstant(booked.booking, timeZone: "Asia/Singapore")
            clock.move(to: Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch + 86_400_000))

            #expect(await services.bookings.runDueTransitions().paidOut == 0)
            var payment = try #require(await services.bookings.payment(booked.booking.id))
            #expect(!payment.released && !payment.paidOut && payment.payoutError == BookingService.hostIsSuspended)
            let shown = PaymentJSON(payment).payout
            #expect(shown.lastError == BookingService.hostIsSuspended && shown.nextAttemptAt == nil, "admins see why, and no time it waits for")
            clock.advance(by: 3 * 3600)
            #expect(await services.bookings.runDueTransitions().paidOut == 0, "still suspended")
            #expect(try #require(await services.bookings.payment(booked.booking.id)).payoutAttempts == 1, "recorded once, not once a look")

            // The money is still held: an admin can give some back meanwhile.
            payment = try await services.bookings.adminRefund(payment: PaymentJSON.id(ofBooking: booked.booking.id), amount: 1_000, admin: "usr_admin", key: "r1")
            #expect(payment.refundedCharged == 1_000)

            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: false, role: nil), for: hostID)
            #expect(await services.bookings.runDueTransitions().paidOut == 1, "reinstated: paid on the next run, not after the wait")
            payment = try #require(await services.bookings.payment(booked.booking.id))
            #expect(payment.paidOut && payment.released)
        }
    }

    /// A payout attempt the provider did not answer may have gone through: it is finished under its
    /// key whatever happens to the host meanwhile, not held until the provider has forgotten the key.
    @Test func anUnansweredPayoutIsFinishedUnderItsKeyEvenIfTheHostIsSuspended() async throws {
        try await withServices { services, engine, clock in
            let hostID = try await host(services, "host@example.com")
            let down = Mutex(true), calls = Mutex<[String]>([])
            let bookings = bookings(services, engine, clock, gateway: ProxyGateway(inner: services.bookings.gateway) { call throws(GatewayError) in
                guard call == .payout else { return }
                calls.withLock { $0.append("payout") }
                if down.withLock({ $0 }) { throw .unavailable("no answer") }
            })
            let listing = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            _ = try await bookings.setPayoutAccount(host: hostID, account: "acct_h0st")
            let today = ListingService.today(in: "Asia/Singapore", now: clock.read())
            let booked = try await bookings.create(
                guestID: "usr_guest", .init(listingID: listing.id, stay: today.advanced(by: 2)..<today.advanced(by: 4), guests: 1, currency: nil, paymentMethod: "pm_card_visa"),
                rates: PricingRates()
            )
            let checkIn = try BookingService.checkInInstant(booked.booking, timeZone: "Asia/Singapore")
            clock.move(to: Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch + 86_400_000))
            #expect(await bookings.runDueTransitions().paidOut == 0)
            let inDoubt = try #require(await bookings.payment(booked.booking.id))
            #expect(inDoubt.released && inDoubt.payoutDestination == "acct_h0st")

            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            down.withLock { $0 = false }
            clock.advance(by: 120)
            #expect(await bookings.runDueTransitions().paidOut == 1, "the attempt in doubt is finished, under its key")
            #expect(calls.withLock { $0.count } == 2)
        }
    }

    /// A listing recorded while its host was being suspended is caught by its own check.
    @Test func aListingCreatedAsItsHostIsSuspendedIsHidden() async throws {
        try await withServices { services, _, _ in
            let hostID = try await host(services, "host@example.com")
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            try await services.standing.follow(hostID: hostID)
            let late = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            #expect(found(services) == [late.id], "recorded, not yet checked")
            try await services.standing.check(late)
            #expect(found(services) == [])
        }
    }

    /// A run that read a suspension and is slow to mark the listings, and a reinstatement's run
    /// meanwhile: the later run waits for the earlier, so the listings end as the account stands.
    @Test func aSlowRunCannotUndoALaterOne() async throws {
        try await withServices { services, _, _ in
            let hostID = try await host(services, "host@example.com")
            let listing = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true))
            let (reads, reader) = AsyncStream<Void>.makeStream()
            let (go, release) = AsyncStream<Void>.makeStream()
            let held = Mutex(true)
            let standing = HostStanding(accounts: services.accounts, listings: services.listings) {
                guard held.withLock({ let first = $0; $0 = false; return first }) else { return }
                reader.yield()
                for await _ in go { break }
            }
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            let slow = Task { try await standing.follow(hostID: hostID) }
            for await _ in reads { break }  // the slow run has read "suspended"
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: false, role: nil), for: hostID)
            let later = Task { try await standing.follow(hostID: hostID) }
            try await Task.sleep(for: .milliseconds(50))  // the later run, unserialized, would be done by now
            release.yield()
            try await slow.value
            try await later.value
            #expect(found(services) == [listing.id], "the account is in good standing")
        }
    }

    /// Suspensions and reinstatements carried concurrently end as the account last stands.
    @Test func concurrentChangesEndAsTheAccountStands() async throws {
        try await withServices { services, _, _ in
            let hostID = try await host(services, "host@example.com")
            var ids: [String] = []
            for _ in 0..<12 { ids.append(try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true)).id) }
            for round in 0..<6 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for flip in 0..<8 {
                        group.addTask {
                            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: (round + flip) % 2 == 0, role: nil), for: hostID)
                            try await services.standing.follow(hostID: hostID)
                        }
                    }
                    try await group.waitForAll()
                }
                let suspended = try #require(await services.accounts.user(hostID)).suspended
                #expect(found(services) == (suspended ? [] : ids.sorted()), "round \(round)")
            }
        }
    }

    /// A crash after the account changed and before its listings did: the server's next start lines
    /// them up before it serves.
    @Test func theNextStartAfterACrashHidesTheListingsOfAHostSuspendedJustBefore() async throws {
        let directory = TemporaryDirectory()
        var listingID = ""
        try await withServices(configure: { $0.dataDirectory = directory.path }) { services, _, _ in
            let hostID = try await host(services, "host@example.com")
            listingID = try await services.listings.create(hostID: hostID, details: singaporeLoft(instantBook: true)).id
            try await services.accounts.execute(.adminUpdate(userID: hostID, suspended: true, role: nil), for: hostID)
            #expect(found(services) == [listingID], "the crash: the account changed, its listings not yet")
        }
        try await withServices(configure: { $0.dataDirectory = directory.path }) { services, _, _ in
            #expect(found(services) == [])
            #expect(await services.listings.listing(listingID)?.hostAway == true)
        }
    }

    /// What the start-up pass changes: listings of hosts away, and of hosts back; not those of hosts
    /// the accounts do not know.
    @Test func theStartUpPassBringsListingsInLineWithTheirHosts() async throws {
        try await withServices { services, _, _ in
            let away = try await host(services, "away@example.com")
            let back = try await host(services, "back@example.com")
            let stays = try await services.listings.create(hostID: away, details: singaporeLoft(instantBook: true))
            let returns = try await services.listings.create(hostID: back, details: singaporeLoft(instantBook: true))
            let orphan = try await services.listings.create(hostID: "usr_nobody", details: singaporeLoft(instantBook: true))
            try await services.listings.execute(.setHostAway(id: returns.id, true), on: returns.id)
            try await services.accounts.execute(.adminUpdate(userID: away, suspended: true, role: nil), for: away)
            #expect(found(services) == [stays.id, orphan.id].sorted(), "the crash: the account changed, its listings not yet")

            let standing = HostStanding(accounts: services.accounts, listings: services.listings)
            #expect(await standing.reconcile(logger: Logger(label: "test")) == 2)
            #expect(found(services) == [returns.id, orphan.id].sorted(), "a host the accounts do not know hides nothing")
            #expect(await standing.reconcile(logger: Logger(label: "test")) == 0)
        }
    }
}
