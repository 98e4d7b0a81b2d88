import Crypto
import Foundation
import JWTKit

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

    public func verify(_ token: String, now: Date) async throws(Failure) -> AccessIdentity {
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
