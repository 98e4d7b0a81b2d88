import Foundation
import HTTPTypes
import Logging
import RoostDomain
import RoostEngine
import RoostIntegrations

/// A signed-in session handed to the client.
public struct SessionGrant: Sendable {
    public var user: UserRecord
    public var accessToken: String
    public var accessTokenExpiresAt: Date
    public var refreshToken: String
}

/// The account use cases: everything between a validated request and the account shards.
///
/// Password hashing runs on the `PasswordHasher`'s threads before a shard is asked anything, so
/// shards only ever do map lookups; the `AccountDirectory` owns email and identity uniqueness.
public final class AccountService: Sendable {
    public let group: ShardGroup<Accounts>
    public let directory: AccountDirectory
    public let hasher: PasswordHasher
    public let tokens: AccessTokens
    public let refreshLifetime: TimeInterval
    public let clock: @Sendable () -> Date
    let logger: Logger

    public init(
        group: ShardGroup<Accounts>, directory: AccountDirectory, hasher: PasswordHasher, tokens: AccessTokens,
        refreshLifetime: TimeInterval, clock: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.group = group
        self.directory = directory
        self.hasher = hasher
        self.tokens = tokens
        self.refreshLifetime = refreshLifetime
        self.clock = clock
        self.logger = logger
    }

    public static func timestamp(_ date: Date) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    // MARK: Reads

    public func user(_ id: String) async -> UserRecord? { userNow(id) }

    /// `user`, read under its shard's lock on the caller's thread (for a pass over many).
    func userNow(_ id: String) -> UserRecord? {
        guard Identifiers.isValid(id) else { return nil }
        return group.shard(for: id).peek { $0.users[id] }
    }

    public func userID(forEmail email: String) -> String? {
        directory.owner(of: AccountDirectory.emailKey(email))
    }

    // MARK: Registration and sign-in

    /// Creates an account (role guest or host from the API; admin only from the command line) and
    /// its first session. 409 `email_taken` when the email belongs to someone, in any case.
    public func register(email: String, password: String, name: String, role: Role, startSession: Bool = true) async throws -> SessionGrant? {
        let hash = try await hasher.hash(password)
        let now = clock()
        var record = UserRecord(
            id: Identifiers.make("usr"), email: email, name: name, role: role, passwordHash: hash, createdAt: Self.timestamp(now)
        )
        record.email = email
        return try await create(record, claims: [AccountDirectory.emailKey(email)], startSession: startSession, now: now)
    }

    /// Reserves `claims`, records the account (with a first session), then commits the claims.
    private func create(_ record: UserRecord, claims: [String], startSession: Bool, now: Date) async throws -> SessionGrant? {
        var reserved: [String] = []
        defer { for key in reserved where directory.isReserved(key) { directory.release(key) } }
        for key in claims {
            guard directory.reserve(key) else {
                throw key.hasPrefix("email:")
                    ? Problem(.conflict, code: "email_taken", title: "Email taken", detail: "An account with this email already exists.")
                    : Problem(.conflict, code: "conflict", title: "Conflict", detail: "This identity is being signed in concurrently; retry.")
            }
            reserved.append(key)
        }
        let refresh = RefreshToken.issue(userID: record.id, familyID: Identifiers.make("ses"), generation: 0)
        let family = startSession ? makeFamily(refresh, now: now) : nil
        try await group.shard(for: record.id).execute(.register(record, session: family), now: Self.timestamp(now))
        for key in claims { directory.commit(key, to: record.id) }
        if let stored = await user(record.id) { directory.publishStatus(of: stored) }
        guard startSession else { return nil }
        return try await grant(record, refresh: refresh, now: now)
    }

    /// 401 for an unknown email and a wrong password alike (a dummy hash is checked for the former).
    public func login(email: String, password: String) async throws -> SessionGrant {
        let userID = userID(forEmail: email)
        let user: UserRecord? = if let userID { await self.user(userID) } else { nil }
        guard try await hasher.verify(password, against: user?.passwordHash), let user else { throw Problem.invalidCredentials }
        return try await startSession(for: user)
    }

    private func startSession(for user: UserRecord) async throws -> SessionGrant {
        guard !user.suspended else { throw Problem.suspended }
        let now = clock()
        let refresh = RefreshToken.issue(userID: user.id, familyID: Identifiers.make("ses"), generation: 0)
        do {
            try await group.shard(for: user.id).execute(.startSession(userID: user.id, family: makeFamily(refresh, now: now)), now: Self.timestamp(now))
        } catch Accounts.Rejection.suspended {
            throw Problem.suspended
        }
        return try await grant(user, refresh: refresh, now: now)
    }

    /// Rotates a refresh token. A token older than its family's newest revokes the family.
    public func refresh(_ presented: String) async throws -> SessionGrant {
        guard let token = RefreshToken(parsing: presented) else { throw Problem.invalidRefreshToken }
        let now = clock()
        let next = RefreshToken(userID: token.userID, familyID: token.familyID, generation: token.generation &+ 1, secret: RefreshToken.issue(userID: "", familyID: "", generation: 0).secret)
        let events: [Accounts.Event]
        do {
            events = try await group.shard(for: token.userID).execute(
                .rotateSession(
                    userID: token.userID, familyID: token.familyID, generation: token.generation, secretHash: token.secretHash,
                    nextSecretHash: next.secretHash, nextExpiresAt: Self.timestamp(now.addingTimeInterval(refreshLifetime))
                ),
                now: Self.timestamp(now)
            )
        } catch let rejection as Accounts.Rejection {
            // A suspension revoked every family; saying so is kinder than "unknown token".
            throw rejection == .suspended
                ? Problem(.unauthorized, code: "account_suspended", title: "Unauthorized", detail: "This account is suspended.")
                : Problem.invalidRefreshToken
        }
        if events.contains(where: { if case .sessionRevoked(_, _, .reuse) = $0 { true } else { false } }) {
            logger.warning("refresh token reused; session family revoked", metadata: ["user.id": "\(token.userID)", "session.id": "\(token.familyID)"])
            throw Problem(.unauthorized, code: "refresh_token_reused", title: "Unauthorized", detail: "This refresh token was already used; the session has been revoked.")
        }
        guard let user = await user(token.userID) else { throw Problem.invalidRefreshToken }
        return try await grant(user, refresh: next, now: now)
    }

    public func logout(userID: String, sessionID: String) async throws {
        try await group.shard(for: userID).execute(.endSession(userID: userID, familyID: sessionID), now: Self.timestamp(clock()))
    }

    /// Signs in with a verified external identity: the linked account; else, when the provider
    /// vouches for the email, the account with that email (linking it — see
    /// `Accounts.Command.linkIdentity` for what that does to an unconfirmed account); else a new
    /// guest account. `created` tells which.
    public func signIn(with identity: VerifiedIdentity) async throws -> (grant: SessionGrant, created: Bool) {
        let link = LinkedIdentity(provider: identity.provider.rawValue, subject: identity.subject)
        let email = identity.email.map(EmailAddress.normalise).flatMap { EmailAddress.isValid($0) ? $0 : nil }
        if let userID = directory.owner(of: AccountDirectory.identityKey(link)), let user = await user(userID) {
            return (try await startSession(for: user), false)
        }
        if identity.emailVerified, let email, let userID = userID(forEmail: email) {
            do {
                try await execute(.linkIdentity(userID: userID, link, emailVerifiedByProvider: true), for: userID)
            } catch let problem as Problem where problem == .suspendedAccount {
                throw Problem.suspended
            }
            directory.commit(AccountDirectory.identityKey(link), to: userID)
            guard let user = await user(userID) else { throw Problem.invalidCredentials }
            return (try await startSession(for: user), false)
        }
        let now = clock()
        let name = identity.name.flatMap { $0.isEmpty ? nil : String($0.prefix(100)) } ?? "Roost user"
        // An email the provider does not vouch for is kept only if nobody has it; it never links.
        let keptEmail = email.flatMap { identity.emailVerified || userID(forEmail: $0) == nil ? $0 : nil }
        let record = UserRecord(
            id: Identifiers.make("usr"), email: keptEmail, name: name, role: .guest, passwordHash: nil, createdAt: Self.timestamp(now),
            identities: [link], emailVerified: identity.emailVerified && keptEmail != nil
        )
        let claims = [AccountDirectory.identityKey(link)] + (keptEmail.map { [AccountDirectory.emailKey($0)] } ?? [])
        guard let grant = try await create(record, claims: claims, startSession: true, now: now) else { throw Problem.invalidCredentials }
        return (grant, true)
    }

    private func makeFamily(_ token: RefreshToken, now: Date) -> SessionFamily {
        SessionFamily(
            id: token.familyID, generation: token.generation, secretHash: token.secretHash, createdAt: Self.timestamp(now),
            expiresAt: Self.timestamp(now.addingTimeInterval(refreshLifetime))
        )
    }

    private func grant(_ user: UserRecord, refresh: RefreshToken, now: Date) async throws -> SessionGrant {
        let access = try await tokens.issue(userID: user.id, sessionID: refresh.familyID, now: now)
        return SessionGrant(user: user, accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: refresh.encoded)
    }

    // MARK: Profile

    /// Runs `command` on `userID`'s shard, then publishes the user's new status to the directory.
    @discardableResult
    public func execute(_ command: Accounts.Command, for userID: String) async throws -> [Accounts.Event] {
        let shard = group.shard(for: userID)
        let events: [Accounts.Event]
        do {
            events = try await shard.execute(command, now: Self.timestamp(clock()))
        } catch Accounts.Rejection.userNotFound {
            throw Problem.notFound("No such user.")
        } catch Accounts.Rejection.roleNotAssignable {
            // Asked to make or unmake an admin: only guests and hosts switch through the API.
            throw Problem.validation([.init(field: "role", message: "an admin's role, and the admin role, change only through the command line (roost admin)")])
        } catch Accounts.Rejection.suspended {
            throw Problem.suspendedAccount
        }
        if !events.isEmpty, let user = shard.peek({ $0.users[userID] }) { directory.publishStatus(of: user) }
        return events
    }
}

/// Email syntax and normalisation.
public enum EmailAddress {
    /// Trimmed and case-folded: `Ann@Example.COM ` and `ann@example.com` are one account.
    public static func normalise(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A pragmatic check of a normalised address: one `@`, a non-empty local part of printable
    /// ASCII without spaces, a dotted domain of letters, digits and hyphens; ≤ 254 bytes.
    public static func isValid(_ email: String) -> Bool {
        guard email.utf8.count <= 254 else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        let local = parts[0], domain = parts[1]
        guard local.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "\"") }),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }
}

extension Problem {
    static let invalidCredentials = Problem(.unauthorized, code: "invalid_credentials", title: "Unauthorized", detail: "The email or password is wrong.")
    static let invalidRefreshToken = Problem(.unauthorized, code: "invalid_refresh_token", title: "Unauthorized", detail: "The refresh token is unknown, expired or already used.")
    static let suspended = Problem(.forbidden, code: "account_suspended", title: "Forbidden", detail: "This account is suspended.")
    /// A change refused because its user is suspended.
    static let suspendedAccount = Problem(.conflict, code: "account_suspended", title: "Conflict", detail: "This account is suspended.")
    static func unauthorized(_ detail: String) -> Problem { Problem(.unauthorized, code: "unauthorized", title: "Unauthorized", detail: detail) }
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, code: "forbidden", title: "Forbidden", detail: detail) }
}

/// Which users an admin listing shows.
public struct UserFilter: Sendable {
    public var role: Role?
    public var emailPrefix: String?
    public var suspended: Bool?

    func matches(_ user: UserRecord) -> Bool {
        (role == nil || user.role == role) && (suspended == nil || user.suspended == suspended)
            && (emailPrefix.map { prefix in user.email?.hasPrefix(prefix) ?? false } ?? true)
    }
}

extension AccountService {
    /// One page of users, newest first, across every shard. The cursor is the last user's
    /// `createdAt` and id, so pages neither repeat nor skip while users sign up.
    public func listUsers(filter: UserFilter, after cursor: String?, limit: Int) async throws -> (users: [UserRecord], nextCursor: String?) {
        let bound: UserCursor?
        if let cursor {
            guard let parsed = UserCursor(text: cursor) else {
                throw Problem.validation([.init(field: "cursor", message: "is not a cursor this API returned")])
            }
            bound = parsed
        } else {
            bound = nil
        }
        var candidates: [UserRecord] = []
        await withTaskGroup(of: [UserRecord].self) { tasks in
            for shard in group.shards {
                tasks.addTask {
                    shard.peek { state in
                        var page = state.users.values.filter { user in
                            filter.matches(user) && (bound.map { UserCursor(user) < $0 } ?? true)
                        }
                        page.sort { UserCursor($0) > UserCursor($1) }
                        return Array(page.prefix(limit + 1))
                    }
                }
            }
            for await part in tasks { candidates += part }
        }
        candidates.sort { UserCursor($0) > UserCursor($1) }
        let page = Array(candidates.prefix(limit))
        let next = candidates.count > limit ? page.last.map { PageRequest.encode(cursor: UserCursor($0).text) } : nil
        return (page, next)
    }
}

/// Users sort newest first by (createdAt, id).
struct UserCursor: Comparable {
    var createdAt: Int64
    var id: String

    init(_ user: UserRecord) {
        createdAt = user.createdAt.millisecondsSinceEpoch
        id = user.id
    }

    init?(text: String) {
        let parts = text.split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]) else { return nil }
        createdAt = millis
        id = String(parts[1])
    }

    var text: String { "\(createdAt)|\(id)" }

    static func < (lhs: Self, rhs: Self) -> Bool { (lhs.createdAt, lhs.id) < (rhs.createdAt, rhs.id) }
}
