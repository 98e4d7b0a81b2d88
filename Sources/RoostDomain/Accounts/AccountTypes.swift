import RoostBinary

/// What a user may be. Admins are made only by the command line, never through the API.
public enum Role: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case guest = 1
    case host = 2
    case admin = 3

    public init?(name: String) {
        guard let role = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = role
    }

    public var description: String {
        switch self {
        case .guest: "guest"
        case .host: "host"
        case .admin: "admin"
        }
    }
}

/// An external identity (Google, Facebook) linked to an account.
public struct LinkedIdentity: Hashable, Sendable {
    public var provider: String
    public var subject: String

    public init(provider: String, subject: String) {
        self.provider = provider
        self.subject = subject
    }

    /// The directory key: `provider:subject`.
    public var key: String { provider + ":" + subject }
}

/// One sign-in's chain of refresh tokens. Only the newest token (its `generation`) is valid; the
/// secret is kept only as its SHA-256. Presenting a *real* older token — its secret matches one
/// of the last `rotatedHashesKept` rotated hashes — means a token was copied: the whole family
/// is revoked. An older generation with a secret that was never issued is only refused, so
/// knowing a family's id (it is in every access token) is not enough to end someone's session.
public struct SessionFamily: Hashable, Sendable {
    public static let rotatedHashesKept = 4

    public var id: String
    public var generation: UInt32
    public var secretHash: [UInt8]
    /// Hashes of the newest rotated-away secrets, newest first (generation - 1, - 2, …).
    public var rotatedHashes: [[UInt8]] = []
    public var createdAt: Timestamp
    /// When the newest token stops working (30 days after it was issued).
    public var expiresAt: Timestamp

    public init(id: String, generation: UInt32, secretHash: [UInt8], createdAt: Timestamp, expiresAt: Timestamp) {
        self.id = id
        self.generation = generation
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A user account as the engine keeps it.
public struct UserRecord: Hashable, Sendable {
    public var id: String
    /// Normalised (trimmed, case-folded); nil for an identity-only account whose provider gave none.
    public var email: String?
    public var name: String
    public var role: Role
    /// A bcrypt hash; nil when the account can only sign in through a provider (or, for imported
    /// hosts, not at all until a password is set).
    public var passwordHash: String?
    public var phone: String?
    public var bio: String?
    /// The object-store key of the profile photo.
    public var photoKey: String?
    public var suspended: Bool
    /// True once a provider vouched for the email (Google's `email_verified`); false for an email
    /// typed at registration, which Roost has not confirmed.
    public var emailVerified: Bool
    /// Counts the events applied to this user, so derived copies (the directory) keep the newest.
    public var revision: UInt64
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var identities: [LinkedIdentity]
    /// Live session families by id.
    public var sessions: [String: SessionFamily]

    public init(
        id: String, email: String?, name: String, role: Role, passwordHash: String?, createdAt: Timestamp,
        identities: [LinkedIdentity] = [], emailVerified: Bool = false
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.phone = nil
        self.bio = nil
        self.photoKey = nil
        self.suspended = false
        self.emailVerified = emailVerified
        self.revision = 0
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.identities = identities
        self.sessions = [:]
    }
}

/// A profile edit: each field is left alone (nil), or set — `.some(nil)` clears an optional one.
public struct ProfileChange: Hashable, Sendable {
    public var name: String?
    public var phone: String??
    public var bio: String??

    public init(name: String? = nil, phone: String?? = nil, bio: String?? = nil) {
        self.name = name
        self.phone = phone
        self.bio = bio
    }

    public var isEmpty: Bool { name == nil && phone == nil && bio == nil }
}

// MARK: - Binary form shared by events and snapshots

extension ByteWriter {
    mutating func writeOptionalString(_ value: String?) {
        write(value != nil)
        if let value { writeString(value) }
    }

    mutating func write(_ timestamp: Timestamp) { write(timestamp.millisecondsSinceEpoch) }

    mutating func write(_ family: SessionFamily) {
        writeString(family.id)
        write(family.generation)
        writeBytes(family.secretHash)
        write(family.createdAt)
        write(family.expiresAt)
        writeVarint(family.rotatedHashes.count)
        for hash in family.rotatedHashes { writeBytes(hash) }
    }

    mutating func write(_ user: UserRecord) {
        writeString(user.id)
        writeOptionalString(user.email)
        writeString(user.name)
        write(user.role.rawValue)
        writeOptionalString(user.passwordHash)
        writeOptionalString(user.phone)
        writeOptionalString(user.bio)
        writeOptionalString(user.photoKey)
        write(user.suspended)
        write(user.emailVerified)
        write(user.revision)
        write(user.createdAt)
        write(user.updatedAt)
        writeVarint(user.identities.count)
        for identity in user.identities {
            writeString(identity.provider)
            writeString(identity.subject)
        }
        writeVarint(user.sessions.count)
        for id in user.sessions.keys.sorted() { write(user.sessions[id]!) }
    }
}

extension ByteReader {
    mutating func readOptionalString() throws(DecodeError) -> String? {
        try readBool() ? try readString() : nil
    }

    mutating func readTimestamp() throws(DecodeError) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: try readInt64())
    }

    mutating func readRole() throws(DecodeError) -> Role {
        let raw = try readUInt8()
        guard let role = Role(rawValue: raw) else { throw .invalid("unknown role \(raw)") }
        return role
    }

    mutating func readSessionFamily() throws(DecodeError) -> SessionFamily {
        var family = SessionFamily(
            id: try readString(), generation: try readUInt32(), secretHash: try readBytes(),
            createdAt: try readTimestamp(), expiresAt: try readTimestamp()
        )
        let rotated = try readCount(limit: SessionFamily.rotatedHashesKept)
        for _ in 0..<rotated { family.rotatedHashes.append(try readBytes()) }
        return family
    }

    mutating func readUserRecord() throws(DecodeError) -> UserRecord {
        var user = UserRecord(
            id: try readString(), email: try readOptionalString(), name: try readString(), role: try readRole(),
            passwordHash: try readOptionalString(), createdAt: Timestamp(millisecondsSinceEpoch: 0)
        )
        user.phone = try readOptionalString()
        user.bio = try readOptionalString()
        user.photoKey = try readOptionalString()
        user.suspended = try readBool()
        user.emailVerified = try readBool()
        user.revision = try readUInt64()
        user.createdAt = try readTimestamp()
        user.updatedAt = try readTimestamp()
        let identityCount = try readCount(limit: remaining)
        for _ in 0..<identityCount {
            user.identities.append(LinkedIdentity(provider: try readString(), subject: try readString()))
        }
        let sessionCount = try readCount(limit: remaining)
        for _ in 0..<sessionCount {
            let family = try readSessionFamily()
            user.sessions[family.id] = family
        }
        return user
    }
}
