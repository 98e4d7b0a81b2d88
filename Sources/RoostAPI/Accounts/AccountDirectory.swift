import RoostDomain
import RoostEngine
import NIOConcurrencyHelpers

/// The single owner of the email and external-identity namespaces, and the fast path for
/// "who is this token's user, and may they still act".
///
/// Accounts are sharded by user id, so no shard can tell whether an email is taken. The
/// directory can: a registration first *reserves* the email here (atomically, under the
/// stripe's lock), then records the account in its shard, then *commits* the reservation; a
/// failure releases it. The directory is derived state — rebuilt from the shards at start-up,
/// never journaled — so a crash between the steps leaves nothing behind: either the account
/// reached the WAL (and the rebuild finds its email) or it did not (and the email is free).
/// One process owns the data directory (its lock), so the directory sees every registration.
public final class AccountDirectory: Sendable {
    /// What the request path needs about a user without visiting its shard.
    public struct Status: Sendable, Equatable {
        public var role: Role
        public var suspended: Bool
        /// The user's revision this was read at; an older one never replaces a newer one.
        public var revision: UInt64
    }

    private enum Claim: Equatable {
        case reserved
        case owned(userID: String)
    }

    private struct Stripe {
        var claims: [String: Claim] = [:]
        var statuses: [String: Status] = [:]
    }

    private let stripes: [NIOLockedValueBox<Stripe>]

    public init(stripeCount: Int = 64) {
        stripes = (0..<max(1, stripeCount)).map { _ in NIOLockedValueBox(Stripe()) }
    }

    private func stripe(_ key: String) -> NIOLockedValueBox<Stripe> {
        stripes[ShardIndex(key: key, count: stripes.count).value]
    }

    /// The claim key of a normalised email, and of an external identity.
    static func emailKey(_ email: String) -> String { "email:" + email }
    static func identityKey(_ identity: LinkedIdentity) -> String { "id:" + identity.key }

    // MARK: Claims

    /// Reserves `key` for a registration in flight. False when it is owned or reserved already.
    func reserve(_ key: String) -> Bool {
        stripe(key).withLockedValue { stripe in
            guard stripe.claims[key] == nil else { return false }
            stripe.claims[key] = .reserved
            return true
        }
    }

    /// Turns a reservation into ownership by `userID` (or records ownership outright).
    func commit(_ key: String, to userID: String) {
        stripe(key).withLockedValue { $0.claims[key] = .owned(userID: userID) }
    }

    /// Drops a reservation that did not become an account.
    func release(_ key: String) {
        stripe(key).withLockedValue { stripe in
            if stripe.claims[key] == .reserved { stripe.claims[key] = nil }
        }
    }

    /// The user owning `key`, if any (a reservation in flight owns nothing yet).
    func owner(of key: String) -> String? {
        stripe(key).withLockedValue { stripe in
            if case let .owned(userID) = stripe.claims[key] { return userID }
            return nil
        }
    }

    /// True while a registration holds `key` reserved.
    func isReserved(_ key: String) -> Bool {
        stripe(key).withLockedValue { $0.claims[key] == .reserved }
    }

    // MARK: Statuses

    public func status(of userID: String) -> Status? {
        stripe(userID).withLockedValue { $0.statuses[userID] }
    }

    /// Publishes `user`'s role and suspension, unless a newer revision is already published
    /// (two changes finishing out of order cannot leave the older one in place).
    func publishStatus(of user: UserRecord) {
        let status = Status(role: user.role, suspended: user.suspended, revision: user.revision)
        stripe(user.id).withLockedValue { stripe in
            if let current = stripe.statuses[user.id], current.revision > status.revision { return }
            stripe.statuses[user.id] = status
        }
    }

    /// Records what the directory derives from `user`: its email, identities and status.
    func index(_ user: UserRecord) {
        if let email = user.email { commit(Self.emailKey(email), to: user.id) }
        for identity in user.identities { commit(Self.identityKey(identity), to: user.id) }
        publishStatus(of: user)
    }

    /// Rebuilds the directory from every account shard (at start-up, before serving).
    public static func rebuild(from group: ShardGroup<Accounts>) async -> AccountDirectory {
        let directory = AccountDirectory()
        for shard in group.shards {
            let users = shard.peek { Array($0.users.values) }
            for user in users { directory.index(user) }
        }
        return directory
    }
}
