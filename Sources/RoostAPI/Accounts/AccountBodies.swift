import Foundation
import RoostBinary
import RoostDomain

/// RFC 3339 UTC with milliseconds, as every timestamp on the wire.
enum RFC3339 {
    static func string(_ timestamp: Timestamp) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        JSONLogHandler.appendRFC3339(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension JSONObjectWriter {
    mutating func money(_ name: StaticString, _ money: MoneyBody) { self.money(name, amount: money.amount, currency: money.currency) }

    /// An RFC 3339 timestamp (see `RFC3339`).
    mutating func timestamp(_ name: StaticString, _ timestamp: Timestamp) {
        value(name) { bytes in
            bytes.append(UInt8(ascii: "\""))
            JSONLogHandler.appendRFC3339(millisecondsSinceEpoch: timestamp.millisecondsSinceEpoch, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
    }
}

/// A user as its owner (and admins) see it.
struct PrivateUser: Encodable {
    /// The same object as `encode(to:)` writes, written directly (see `JSONObjectWriter`).
    static func json(_ user: UserRecord, photoURL: String?) -> [UInt8] {
        var writer = JSONObjectWriter()
        writer.string("id", user.id)
        writer.string("email", user.email)
        writer.string("name", user.name)
        writer.string("role", user.role.description)
        writer.string("phone", user.phone)
        writer.string("bio", user.bio)
        writer.string("photoUrl", photoURL)
        writer.timestamp("createdAt", user.createdAt)
        writer.timestamp("updatedAt", user.updatedAt)
        writer.bool("suspended", user.suspended)
        return writer.finish()
    }

    var id: String
    var email: String?
    var name: String
    var role: String
    var phone: String?
    var bio: String?
    var photoUrl: String?
    var createdAt: String
    var updatedAt: String
    var suspended: Bool

    init(_ user: UserRecord, photoURL: String?) {
        id = user.id
        email = user.email
        name = user.name
        role = user.role.description
        phone = user.phone
        bio = user.bio
        photoUrl = photoURL
        createdAt = RFC3339.string(user.createdAt)
        updatedAt = RFC3339.string(user.updatedAt)
        suspended = user.suspended
    }

    private enum CodingKeys: String, CodingKey { case id, email, name, role, phone, bio, photoUrl, createdAt, updatedAt, suspended }

    /// Nil optionals are written as `null`, so every named field is always present.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(phone, forKey: .phone)
        try container.encode(bio, forKey: .bio)
        try container.encode(photoUrl, forKey: .photoUrl)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(suspended, forKey: .suspended)
    }
}

/// A user as anyone sees them: no email, no phone.
struct PublicUser: Encodable {
    var id: String
    var name: String
    var role: String
    var bio: String?
    var photoUrl: String?
    var createdAt: String

    init(_ user: UserRecord, photoURL: String?) {
        id = user.id
        name = user.name
        role = user.role == .admin ? Role.guest.description : user.role.description
        bio = user.bio
        photoUrl = photoURL
        createdAt = RFC3339.string(user.createdAt)
    }

    private enum CodingKeys: String, CodingKey { case id, name, role, bio, photoUrl, createdAt }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(bio, forKey: .bio)
        try container.encode(photoUrl, forKey: .photoUrl)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

struct SessionBody: Encodable {
    var user: PrivateUser
    var accessToken: String
    var refreshToken: String
    var tokenType = "Bearer"
    var expiresIn: Int
}

// MARK: Requests

struct RegisterRequest: StrictJSONBody {
    static let fields: Set<String> = ["email", "password", "name", "role"]
    var email: String
    var password: String
    var name: String
    var role: String
}

struct LoginRequest: StrictJSONBody {
    static let fields: Set<String> = ["email", "password"]
    var email: String
    var password: String
}

struct RefreshRequest: StrictJSONBody {
    static let fields: Set<String> = ["refreshToken"]
    var refreshToken: String
}

struct OAuthRequest: StrictJSONBody {
    static let fields: Set<String> = ["idToken", "accessToken"]
    var idToken: String?
    var accessToken: String?
}

/// A profile edit; a field given as `null` clears it (name cannot be cleared).
struct ProfilePatch: StrictJSONBody {
    static let fields: Set<String> = ["name", "phone", "bio"]
    var name: String?
    var phone: String??
    var bio: String??

    private enum CodingKeys: String, CodingKey { case name, phone, bio }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        if container.contains(.name), name == nil {
            throw Problem.validation([.init(field: "name", message: "cannot be null")])
        }
        phone = container.contains(.phone) ? .some(try container.decodeIfPresent(String.self, forKey: .phone)) : nil
        bio = container.contains(.bio) ? .some(try container.decodeIfPresent(String.self, forKey: .bio)) : nil
    }
}

struct AdminUserPatch: StrictJSONBody {
    static let fields: Set<String> = ["suspended", "role"]
    static let nullableFields: Set<String>? = []
    var suspended: Bool?
    var role: String?
}

/// Field rules shared by the account endpoints.
enum AccountRules {
    static let passwordLength = 12...128
    static let nameLength = 1...100
    static let bioLengthMax = 2_000

    static func checkPassword(_ password: String, into errors: inout [Problem.FieldError]) {
        if !passwordLength.contains(password.count) {
            errors.append(.init(field: "password", message: "must be \(passwordLength.lowerBound)–\(passwordLength.upperBound) characters"))
        }
    }

    /// The trimmed name, or an error.
    static func checkName(_ name: String, into errors: inout [Problem.FieldError]) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !nameLength.contains(trimmed.count) {
            errors.append(.init(field: "name", message: "must be \(nameLength.lowerBound)–\(nameLength.upperBound) characters"))
        }
        return trimmed
    }

    /// E.164: `+`, a non-zero digit, then up to 14 more digits.
    static func isE164(_ phone: String) -> Bool {
        let digits = phone.utf8.dropFirst()
        return phone.utf8.first == UInt8(ascii: "+") && (2...15).contains(digits.count)
            && digits.first != UInt8(ascii: "0") && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
