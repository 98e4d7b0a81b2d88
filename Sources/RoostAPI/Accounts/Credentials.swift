import Crypto
import Foundation
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// bcrypt on its own threads: hashing takes hundreds of milliseconds at cost 12, so it never runs
/// on an event loop or inside a shard actor, and a sign-in storm queues here instead of stalling
/// every other request. The queue is bounded: past `queueMax` waiting jobs, new ones are refused
/// (the API answers 503 with `Retry-After`) rather than piling up without end.
///
/// bcrypt reads only the first 72 bytes of its input, and passwords may be 128 characters: each
/// password is first reduced to the base64 of its SHA-256 (44 bytes), so every byte counts.
public final class PasswordHasher: Sendable {
    public let cost: Int
    public let queueMax: Int
    private let pool: NIOThreadPool
    /// Verified against when the email is unknown, so both failures take the same time.
    private let dummyHash: String
    private let waiting = NIOLockedValueBox(0)
    private let verifications = NIOLockedValueBox(0)

    public struct Busy: Error {}

    public init(cost: Int, threads: Int = System.coreCount, queueMax: Int = 256) {
        self.cost = cost
        self.queueMax = queueMax
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
        dummyHash = Bcrypt.hash(Self.prehash(UUID().uuidString), cost: UInt8(cost))
    }

    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }

    /// Bcrypt verifications run so far, dummy ones included (tests check unknown emails pay too).
    public var verificationCount: Int { verifications.withLockedValue { $0 } }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let admitted = waiting.withLockedValue { count in
            guard count < queueMax else { return false }
            count += 1
            return true
        }
        guard admitted else { throw Busy() }
        defer { waiting.withLockedValue { $0 -= 1 } }
        return try await pool.runIfActive(work)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await run { Bcrypt.hash(Self.prehash(password), cost: cost) }
    }

    /// Checks `password` against `hash`; with no hash (unknown user, no password set) checks a
    /// dummy and answers false, in about the same time.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let dummy = dummyHash
        let verifications = self.verifications
        return try await run {
            verifications.withLockedValue { $0 += 1 }
            let matches = Bcrypt.verify(Self.prehash(password), hash: hash ?? dummy)
            return hash != nil && matches
        }
    }

    public func shutdown() async throws { try await pool.shutdownGracefully() }
}

/// Opaque refresh tokens: `rt1.<userID>.<familyID>.<generation>.<secret>` with a 256-bit random
/// secret (base64url). Only the secret's SHA-256 is stored; the rest routes the token to its
/// user's shard and family.
public struct RefreshToken: Sendable, Equatable {
    public var userID: String
    public var familyID: String
    public var generation: UInt32
    public var secret: [UInt8]

    public static func issue(userID: String, familyID: String, generation: UInt32) -> RefreshToken {
        var generator = SystemRandomNumberGenerator()
        return RefreshToken(userID: userID, familyID: familyID, generation: generation, secret: (0..<32).map { _ in generator.next() })
    }

    public var secretHash: [UInt8] { Array(SHA256.hash(data: secret)) }

    public var encoded: String {
        "rt1.\(userID).\(familyID).\(generation).\(Base64URL.encode(secret))"
    }

    public init(userID: String, familyID: String, generation: UInt32, secret: [UInt8]) {
        self.userID = userID
        self.familyID = familyID
        self.generation = generation
        self.secret = secret
    }

    /// Parses a presented token; nil for anything not shaped like one of ours.
    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "rt1", Identifiers.isValid(parts[1]), Identifiers.isValid(parts[2]),
            let generation = UInt32(parts[3]), let secret = Base64URL.decode(parts[4]), secret.count == 32
        else { return nil }
        self.init(userID: String(parts[1]), familyID: String(parts[2]), generation: generation, secret: secret)
    }
}

/// Random identifiers: a prefix and 16 base32 characters (80 bits).
public enum Identifiers {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    /// `prefix_` and 16 characters of the alphabet: 80 random bits, from two draws of the system's
    /// generator (a draw is a system call; the alphabet has 32 letters, so 5 bits make one, unbiased).
    public static func make(_ prefix: String) -> String {
        var characters = [UInt8](prefix.utf8)
        characters.append(UInt8(ascii: "_"))
        var generator = SystemRandomNumberGenerator()
        appendRandom(16, to: &characters, using: &generator)
        return String(decoding: characters, as: UTF8.self)
    }

    /// An id as `make` makes them that `accept` takes — for ids that must route to a given shard.
    /// 14 random characters (70 bits), then the last two enumerated until one is accepted, so a
    /// shard's id costs a few hashes rather than a fresh random id (and its system calls) per try.
    public static func make(_ prefix: String, where accept: (String) -> Bool) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            var characters = [UInt8](prefix.utf8)
            characters.append(UInt8(ascii: "_"))
            appendRandom(14, to: &characters, using: &generator)
            if let id = firstAccepted(endingWith: characters, accept) { return id }
        }
    }

    /// An id as `make(_:where:)` makes them, derived from `seed` instead of drawn: the same seed
    /// always gives the same id (what a retry must find again). 14 characters from the seed's
    /// SHA-256 (5 bits of each of its first 14 bytes), then the last two enumerated until one is
    /// accepted; if none is, the same from the digest's own digest, and so on.
    public static func derived(_ prefix: String, from seed: [UInt8], where accept: (String) -> Bool) -> String {
        var digest = Array(SHA256.hash(data: seed))
        while true {
            var characters = [UInt8](prefix.utf8)
            characters.append(UInt8(ascii: "_"))
            for byte in digest.prefix(14) { characters.append(alphabet[Int(byte & 31)]) }
            if let id = firstAccepted(endingWith: characters, accept) { return id }
            digest = Array(SHA256.hash(data: digest))
        }
    }

    /// `characters` with each pair of the alphabet's letters after them, in order, until `accept` takes one.
    private static func firstAccepted(endingWith characters: [UInt8], _ accept: (String) -> Bool) -> String? {
        for first in alphabet {
            for second in alphabet {
                let id = String(decoding: characters + [first, second], as: UTF8.self)
                if accept(id) { return id }
            }
        }
        return nil
    }

    private static func appendRandom(_ count: Int, to characters: inout [UInt8], using generator: inout SystemRandomNumberGenerator) {
        var bits = generator.next(), left = 64
        for _ in 0..<count {
            if left < 5 {
                bits = generator.next()
                left = 64
            }
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
            left -= 5
        }
    }

    /// The shape of ids we make (and of any id worth looking up): 3–64 of `[a-z0-9_]`.
    public static func isValid(_ id: some StringProtocol) -> Bool {
        (3...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}

/// base64url without padding (RFC 4648 §5), as tokens use it.
public enum Base64URL {
    /// RFC 4648 §5, without padding (written directly: it encodes every search page's cursor).
    public static func encode(_ bytes: [UInt8]) -> String {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        let digits = alphabet.utf8Start
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let count = min(3, bytes.count - i)
            var group = UInt32(bytes[i]) << 16
            if count > 1 { group |= UInt32(bytes[i + 1]) << 8 }
            if count > 2 { group |= UInt32(bytes[i + 2]) }
            for k in 0...count { text.append(digits[Int(group >> UInt32(18 - 6 * k) & 63)]) }
            i += 3
        }
        return String(decoding: text, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard text.utf8.allSatisfy({ byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { [UInt8]($0) }
    }
}
