import RoostBinary

/// Users and their sessions, sharded by user id (`AccountShard`s).
///
/// Email uniqueness is not decided here: an email maps to an account through the API's
/// `AccountDirectory`, the single owner of that namespace, which reserves an email before the
/// registration reaches its shard. Everything about one user — profile, role, suspension,
/// linked identities, refresh-token families — is decided by the shard that owns the user.
public enum Accounts: Aggregate {
    public struct State: Equatable, Sendable {
        public var users: [String: UserRecord] = [:]
        public init() {}
    }

    public enum Command: Sendable {
        /// Records a new account, and starts its first session when `session` is given.
        case register(UserRecord, session: SessionFamily?)
        case startSession(userID: String, family: SessionFamily)
        /// Presents generation `generation` of a family with the secret's hash; rotates to `next`.
        case rotateSession(userID: String, familyID: String, generation: UInt32, secretHash: [UInt8], nextSecretHash: [UInt8], nextExpiresAt: Timestamp)
        case endSession(userID: String, familyID: String)
        case updateProfile(userID: String, ProfileChange)
        case setPhoto(userID: String, key: String?)
        case becomeHost(userID: String)
        case adminUpdate(userID: String, suspended: Bool?, role: Role?)
        /// Links an identity; `emailVerifiedByProvider` when the link was made through the provider's proof of the email.
        case linkIdentity(userID: String, LinkedIdentity, emailVerifiedByProvider: Bool)
    }

    public enum RevocationReason: UInt8, Sendable {
        case logout = 1
        /// An already-rotated token was presented again.
        case reuse = 2
    }

    public enum Event: EventCoding, Sendable, Equatable {
        case registered(UserRecord)
        case sessionStarted(userID: String, family: SessionFamily)
        case sessionRotated(userID: String, familyID: String, generation: UInt32, secretHash: [UInt8], expiresAt: Timestamp)
        case sessionRevoked(userID: String, familyID: String, reason: RevocationReason)
        case profileUpdated(userID: String, ProfileChange, at: Timestamp)
        case photoChanged(userID: String, previous: String?, current: String?, at: Timestamp)
        case roleChanged(userID: String, role: Role, at: Timestamp)
        case suspensionChanged(userID: String, suspended: Bool, at: Timestamp)
        /// `provesEmail`: the account's email was unconfirmed and the provider confirmed it — the
        /// password and sessions set up before are dropped.
        case identityLinked(userID: String, LinkedIdentity, provesEmail: Bool, at: Timestamp)
    }

    public enum Rejection: Error, Equatable, Sendable {
        case userExists
        case userNotFound
        case suspended
        /// Unknown, expired or mismatched refresh token.
        case sessionInvalid
        case roleNotAssignable(Role)
    }

    public static let kind: UInt16 = 1
    /// Live session families kept per user; the oldest is dropped past this.
    public static let sessionsPerUserMax = 20

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        let now = context.now
        func user(_ id: String) -> Result<UserRecord, Rejection> {
            guard let user = state.users[id] else { return .failure(.userNotFound) }
            return .success(user)
        }
        switch command {
        case let .register(record, session):
            guard state.users[record.id] == nil else { return .failure(.userExists) }
            return .success([.registered(record)] + (session.map { [.sessionStarted(userID: record.id, family: $0)] } ?? []))

        case let .startSession(userID, family):
            return user(userID).flatMap { user in
                user.suspended ? .failure(.suspended) : .success([.sessionStarted(userID: userID, family: family)])
            }

        case let .rotateSession(userID, familyID, generation, secretHash, nextSecretHash, nextExpiresAt):
            return user(userID).mapError { _ in .sessionInvalid }.flatMap { user in
                if user.suspended { return .failure(.suspended) }
                guard let family = user.sessions[familyID], family.expiresAt > now else { return .failure(.sessionInvalid) }
                if generation < family.generation {
                    // Reuse only when the secret is one we issued; a guessed one is just refused.
                    let back = Int(family.generation - generation) - 1
                    guard back < family.rotatedHashes.count, constantTimeEqual(secretHash, family.rotatedHashes[back]) else {
                        return .failure(.sessionInvalid)
                    }
                    return .success([.sessionRevoked(userID: userID, familyID: familyID, reason: .reuse)])
                }
                guard generation == family.generation, constantTimeEqual(secretHash, family.secretHash) else {
                    return .failure(.sessionInvalid)
                }
                return .success([
                    .sessionRotated(
                        userID: userID, familyID: familyID, generation: generation &+ 1, secretHash: nextSecretHash,
                        expiresAt: nextExpiresAt
                    )
                ])
            }

        case let .endSession(userID, familyID):
            guard state.users[userID]?.sessions[familyID] != nil else { return .success([]) }
            return .success([.sessionRevoked(userID: userID, familyID: familyID, reason: .logout)])

        case let .updateProfile(userID, change):
            return user(userID).map { _ in change.isEmpty ? [] : [.profileUpdated(userID: userID, change, at: now)] }

        case let .setPhoto(userID, key):
            return user(userID).map { user in
                user.photoKey == key ? [] : [.photoChanged(userID: userID, previous: user.photoKey, current: key, at: now)]
            }

        case let .becomeHost(userID):
            return user(userID).map { user in user.role == .guest ? [.roleChanged(userID: userID, role: .host, at: now)] : [] }

        case let .adminUpdate(userID, suspended, role):
            return user(userID).flatMap { user in
                if let role, role == .admin || user.role == .admin, role != user.role {
                    return .failure(.roleNotAssignable(role))
                }
                var events: [Event] = []
                if let role, role != user.role { events.append(.roleChanged(userID: userID, role: role, at: now)) }
                if let suspended, suspended != user.suspended {
                    events.append(.suspensionChanged(userID: userID, suspended: suspended, at: now))
                }
                return .success(events)
            }

        case let .linkIdentity(userID, identity, emailVerifiedByProvider):
            return user(userID).flatMap { user in
                if user.suspended { return .failure(.suspended) }
                if user.identities.contains(identity) { return .success([]) }
                // The provider proved the email; Roost never had. Whoever set the password may not
                // own the address (they could have registered it first, to wait for its owner):
                // the password and every session go, and the provider's proof takes over.
                let takeOver = emailVerifiedByProvider && !user.emailVerified
                return .success([.identityLinked(userID: userID, identity, provesEmail: takeOver, at: now)])
            }
        }
    }

    public static func apply(_ event: Event, to state: inout State) {
        switch event {
        case let .registered(record):
            state.users[record.id] = record
        case let .sessionStarted(userID, family):
            state.users[userID]?.startSession(family)
        case let .sessionRotated(userID, familyID, generation, secretHash, expiresAt):
            if var family = state.users[userID]?.sessions[familyID] {
                family.rotatedHashes.insert(family.secretHash, at: 0)
                family.rotatedHashes = Array(family.rotatedHashes.prefix(SessionFamily.rotatedHashesKept))
                family.generation = generation
                family.secretHash = secretHash
                family.expiresAt = expiresAt
                state.users[userID]?.sessions[familyID] = family
            }
        case let .sessionRevoked(userID, familyID, _):
            state.users[userID]?.sessions[familyID] = nil
        case let .profileUpdated(userID, change, at):
            state.users[userID]?.apply(change, at: at)
        case let .photoChanged(userID, _, current, at):
            state.users[userID]?.photoKey = current
            state.users[userID]?.updatedAt = at
        case let .roleChanged(userID, role, at):
            state.users[userID]?.role = role
            state.users[userID]?.updatedAt = at
        case let .suspensionChanged(userID, suspended, at):
            state.users[userID]?.suspended = suspended
            state.users[userID]?.updatedAt = at
            // A suspended user's refresh tokens die with the suspension.
            if suspended { state.users[userID]?.sessions = [:] }
        case let .identityLinked(userID, identity, provesEmail, at):
            state.users[userID]?.identities.append(identity)
            if provesEmail {
                state.users[userID]?.emailVerified = true
                state.users[userID]?.passwordHash = nil
                state.users[userID]?.sessions = [:]
            }
            state.users[userID]?.updatedAt = at
        }
        if let userID = event.userID { state.users[userID]?.revision &+= 1 }
    }

    public static func encode(state: State, into writer: inout ByteWriter) {
        writer.writeVarint(state.users.count)
        for id in state.users.keys.sorted() { writer.write(state.users[id]!) }
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        let count = try reader.readCount(limit: reader.remaining)
        state.users.reserveCapacity(count)
        for _ in 0..<count {
            let user = try reader.readUserRecord()
            state.users[user.id] = user
        }
        return state
    }
}

extension Accounts.Event {
    /// The user every event is about.
    var userID: String? {
        switch self {
        case let .registered(record): record.id
        case let .sessionStarted(userID, _), let .sessionRevoked(userID, _, _): userID
        case let .sessionRotated(userID, _, _, _, _): userID
        case let .profileUpdated(userID, _, _), let .roleChanged(userID, _, _), let .suspensionChanged(userID, _, _): userID
        case let .photoChanged(userID, _, _, _), let .identityLinked(userID, _, _, _): userID
        }
    }
}

extension UserRecord {
    /// Adds `family`, first dropping families that expired by its start and, past the cap, the oldest.
    mutating func startSession(_ family: SessionFamily) {
        sessions = sessions.filter { $0.value.expiresAt > family.createdAt }
        while sessions.count >= Accounts.sessionsPerUserMax,
            let oldest = sessions.values.min(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) })
        {
            sessions[oldest.id] = nil
        }
        sessions[family.id] = family
    }

    mutating func apply(_ change: ProfileChange, at: Timestamp) {
        if let name = change.name { self.name = name }
        if let phone = change.phone { self.phone = phone }
        if let bio = change.bio { self.bio = bio }
        updatedAt = at
    }
}

/// Compares two hashes without stopping at the first difference.
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
