import Crypto
import Foundation
import JWTKit
import NIOConcurrencyHelpers

/// Who an access token speaks for.
public struct AccessIdentity: Sendable, Equatable {
    public var userID: String
    public var sessionID: String
    public var expiresAt: Date
}

/// Short-lived JWT access tokens (HS256, jwt-kit).
///
/// The algorithm is pinned: the header must say `HS256` and `typ: at+jwt` (RFC 9068) before any
/// signature is checked, so `alg: none` or a key-confusion header is refused outright, and the
/// payload's own `typ` claim (`access`) is something no refresh token — opaque, not a JWT — can carry.
public final class AccessTokens: Sendable {
    public static let algorithm = "HS256"
    static let headerType = "at+jwt"
    static let claimType = "access"

    private let keys: JWTKeyCollection
    private let verified = VerifiedTokens()
    public let issuer: String
    public let audience: String
    public let lifetime: TimeInterval

    public init(key: [UInt8], issuer: String, audience: String, lifetime: TimeInterval) async {
        keys = await JWTKeyCollection().add(hmac: HMACKey(key: SymmetricKey(data: key)), digestAlgorithm: .sha256)
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
    }

    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var jti: IDClaim
        var typ: String
        var sid: String

        /// Expiry, issuer and audience are checked by `AccessTokens.verify` against its own clock.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public func issue(userID: String, sessionID: String, now: Date) async throws -> (token: String, expiresAt: Date) {
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let expiresAt = issuedAt.addingTimeInterval(lifetime)
        let claims = Claims(
            iss: IssuerClaim(value: issuer), aud: AudienceClaim(value: [audience]), sub: SubjectClaim(value: userID),
            exp: ExpirationClaim(value: expiresAt), iat: IssuedAtClaim(value: issuedAt), jti: IDClaim(value: Identifiers.make("at")),
            typ: Self.claimType, sid: sessionID
        )
        var header = JWTHeader()
        header.typ = Self.headerType
        return (try await keys.sign(claims, header: header), expiresAt)
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed
        case algorithmRefused(String)
        case wrongType
        case badSignature
        case expired
        case wrongIssuerOrAudience

        public var description: String {
            switch self {
            case .malformed: "The token is not a JWT."
            case let .algorithmRefused(alg): "Tokens signed with \(alg) are not accepted."
            case .wrongType: "This is not an access token."
            case .badSignature: "The token's signature does not verify."
            case .expired: "The token has expired."
            case .wrongIssuerOrAudience: "The token was not issued for this API."
            }
        }
    }

    private struct Header: Decodable {
        var alg: String
        var typ: String?
    }

    /// Checks a token. A token string that verified before is answered from a bounded cache
    /// (its expiry still checked against `now`): clients send the same token for minutes, and
    /// the signature and claims of one exact string cannot change.
    public func verify(_ token: String, now: Date) async throws(Failure) -> AccessIdentity {
        if let identity = verified.lookup(token) {
            guard identity.expiresAt > now else { throw .expired }
            return identity
        }
        let identity = try await verifyUncached(token, now: now)
        verified.insert(token, identity, now: now)
        return identity
    }

    private func verifyUncached(_ token: String, now: Date) async throws(Failure) -> AccessIdentity {
        guard let dot = token.utf8.firstIndex(of: UInt8(ascii: ".")),
            let headerBytes = Base64URL.decode(token[..<dot]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw .malformed }
        guard header.alg == Self.algorithm else { throw .algorithmRefused(header.alg) }
        guard header.typ == Self.headerType else { throw .wrongType }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .badSignature
        } catch {
            throw .malformed
        }
        guard claims.typ == Self.claimType else { throw .wrongType }
        guard claims.iss.value == issuer, claims.aud.value.contains(audience) else { throw .wrongIssuerOrAudience }
        guard claims.exp.value > now else { throw .expired }
        return AccessIdentity(userID: claims.sub.value, sessionID: claims.sid, expiresAt: claims.exp.value)
    }
}

/// Access tokens that verified, by their exact text, until they expire. Striped so concurrent
/// requests rarely share a lock; bounded: a full stripe first drops its expired entries, and
/// if none expired, starts over (the next request re-verifies — a cost, never a wrong answer).
final class VerifiedTokens: Sendable {
    static let stripeCount = 16
    static let entriesPerStripe = 8_192
    private let stripes: [NIOLockedValueBox<[String: AccessIdentity]>]

    init() {
        stripes = (0..<Self.stripeCount).map { _ in NIOLockedValueBox([:]) }
    }

    private func stripe(_ token: String) -> NIOLockedValueBox<[String: AccessIdentity]> {
        // The signature's last characters are uniformly spread: a cheap stripe pick.
        var mix: UInt = 0
        for byte in token.utf8.suffix(8) { mix = mix &* 31 &+ UInt(byte) }
        return stripes[Int(mix % UInt(Self.stripeCount))]
    }

    func lookup(_ token: String) -> AccessIdentity? {
        stripe(token).withLockedValue { $0[token] }
    }

    func insert(_ token: String, _ identity: AccessIdentity, now: Date) {
        stripe(token).withLockedValue { entries in
            if entries.count >= Self.entriesPerStripe {
                entries = entries.filter { $0.value.expiresAt > now }
                if entries.count >= Self.entriesPerStripe { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = identity
        }
    }
}
