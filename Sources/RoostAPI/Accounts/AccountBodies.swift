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

/// A JSON object written straight into bytes, for the hottest responses (`GET /v1/users/me`
/// answers at the rate of `/health/live`; JSONEncoder would cost more than the rest of the request).
struct JSONObjectWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    /// Field names are literals of plain ASCII (checked in debug builds), written as they are.
    private mutating func key(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        let name = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        assert(name.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: #"":"#.utf8)
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { JSONText.appendQuoted(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func integer(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A finite number (`null` for nil), in Swift's shortest round-trip form.
    mutating func number(_ name: StaticString, _ value: Double?) {
        key(name)
        if let value, value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { bytes.append(contentsOf: "null".utf8) }
    }

    /// `{"amount": …, "currency": …}`.
    mutating func money(_ name: StaticString, amount: Int64, currency: String) {
        key(name)
        bytes.append(contentsOf: #"{"amount":"#.utf8)
        bytes.append(contentsOf: String(amount).utf8)
        bytes.append(contentsOf: #","currency":"#.utf8)
        JSONText.appendQuoted(currency, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func money(_ name: StaticString, _ money: MoneyBody) { self.money(name, amount: money.amount, currency: money.currency) }

    /// A value written elsewhere (an object or an array, already JSON).
    mutating func raw(_ name: StaticString, _ json: [UInt8]) {
        key(name)
        bytes.append(contentsOf: json)
    }

    mutating func timestamp(_ name: StaticString, _ value: Timestamp) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        JSONLogHandler.appendRFC3339(millisecondsSinceEpoch: value.millisecondsSinceEpoch, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
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
