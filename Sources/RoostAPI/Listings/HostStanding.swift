import HTTPTypes
import Logging
import RoostDomain

/// Keeps a host's listings out of search and bookings while the host is away: suspended by an
/// admin, or switched back to a guest. Each listing keeps its own status, and is listed again as
/// that status says when the host is back (`ListingRecord.hostAway`).
///
/// The account and its listings live in different shards, so a change of standing is recorded on
/// the account first and then carried to each listing. Three things keep the two in step:
/// - the carrying runs one at a time per host (`SerialByKey`), each run reading the account as it
///   then is, so the last run to finish leaves every listing as the account last stood;
/// - a listing created while its host was being suspended is checked after it is recorded
///   (`check`), under the same key: the run either saw it or ran before the check;
/// - a crash between the account's change and its listings' is repaired at start-up (`reconcile`).
final class HostStanding: Sendable {
    let accounts: AccountService
    let listings: ListingService
    private let serial = SerialByKey()
    /// Tests hold a run here, between reading the account and marking its listings.
    private let afterReading: (@Sendable () async -> Void)?

    init(accounts: AccountService, listings: ListingService, afterReading: (@Sendable () async -> Void)? = nil) {
        self.accounts = accounts
        self.listings = listings
        self.afterReading = afterReading
    }

    /// Whether the user, as a listing's host, is away. A host unknown to the accounts (listings
    /// loaded without their hosts, as the benchmarks do) is not: only a known change hides a listing.
    static func isAway(_ host: UserRecord?) -> Bool {
        guard let host else { return false }
        return host.suspended || host.role == .guest
    }

    /// Carries the host's standing, as it now is, to each of the host's listings. Run after every
    /// change of a user's role or suspension (and again by a retry of the request that changed
    /// it: a listing this did not reach is reached then).
    func follow(hostID: String) async throws {
        try await serial.run(hostID) {
            let away = Self.isAway(await accounts.user(hostID))
            await afterReading?()
            let stale = await listings.scatter { state in
                state.listings.values.filter { $0.hostID == hostID && $0.status != .deleted && $0.hostAway != away }.map(\.id)
            }
            try await mark(stale.joined().map { (id: $0, away: away) })
        }
    }

    /// A new listing, after it is recorded: marked if its host went away while it was created.
    func check(_ listing: ListingRecord) async throws {
        try await serial.run(listing.hostID) {
            if Self.isAway(await accounts.user(listing.hostID)) { try await mark([(id: listing.id, away: true)]) }
        }
    }

    /// Every listing as its host now stands; the number changed. At start-up, before requests:
    /// a crash between an account's change and its listings' leaves some behind. A listing that
    /// cannot be marked (the engine refusing writes) is logged, not fatal: the server starts, and
    /// the next start tries again.
    @discardableResult
    func reconcile(logger: Logger) async -> Int {
        // The hosts first, looked up outside the listing shards' locks (a peek must not peek another shard), then
        // each listing against the set of hosts away. A million listings, each with a host of its own: about 1.2 s.
        let hosts = await listings.scatter { state in Set(state.listings.values.lazy.filter { $0.status != .deleted }.map(\.hostID)) }
        let away = Set(hosts.joined().filter { Self.isAway(accounts.userNow($0)) })
        let stale = await listings.scatter { state in
            state.listings.values.compactMap { listing -> (id: String, away: Bool)? in
                guard listing.status != .deleted else { return nil }
                let isAway = away.contains(listing.hostID)
                return isAway == listing.hostAway ? nil : (listing.id, isAway)
            }
        }
        let changes = Array(stale.joined())
        guard !changes.isEmpty else { return 0 }
        do {
            try await mark(changes)
            logger.notice("listings brought in line with their hosts' standing", metadata: ["listings": "\(changes.count)"])
            return changes.count
        } catch {
            logger.error("could not bring listings in line with their hosts' standing; tried again at the next start", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Listings marked, many in flight at once so the log's group commit takes them together (a host
    /// with hundreds of listings is one wait, not hundreds); a listing deleted meanwhile needs nothing.
    private func mark(_ changes: [(id: String, away: Bool)]) async throws {
        let listings = self.listings
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, change) in changes.enumerated() {
                if index >= Self.inFlight { try await group.next() }
                group.addTask {
                    do {
                        try await listings.execute(.setHostAway(id: change.id, change.away), on: change.id)
                    } catch let problem as Problem where problem.status == .notFound {
                        return
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// How many listings `mark` has in flight at once.
    static let inFlight = 64
}
