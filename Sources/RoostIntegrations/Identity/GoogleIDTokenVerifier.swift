import AsyncHTTPClient
import Foundation
import JWTKit
import Logging

/// Verifies a Google ID token (the JWT "Sign in with Google" hands the client) on the server:
/// an RS256 signature by one of Google's published keys, then `iss`, `aud`, `exp` and `iat`.
///
/// Only RS256 is accepted: `none`, HMAC (the algorithm-confusion attack, where the public key is
/// used as an HMAC secret) and every other algorithm are refused before any key is looked at.
///
/// A token whose `email_verified` is false (or absent) is still a valid identity, returned with
/// `emailVerified == false`: the caller decides what an unverified email may do (it must not
/// link the sign-in to an existing account with that email).
///
/// Google's keys come from `jwksURL` and are cached as `JWKSCache` describes; when they cannot be
/// fetched the answer is `.unavailable`, never a sign-in.
public struct GoogleIDTokenVerifier: IdentityVerifier {
    public struct Configuration: Sendable {
        /// The OAuth client ids of Roost's apps (web, iOS, Android): `aud` must be one of them.
        public var clientIDs: [String]
        public var jwksURL: String
        /// Accepted `iss` values; Google uses both spellings.
        public var issuers: Set<String>
        /// Clock skew tolerated for `exp` and `iat`, in seconds.
        public var leeway: TimeInterval
        /// The whole key fetch (connect, answer, body) must finish within this.
        public var timeout: Duration
        /// Seconds between two key fetches caused by unknown key ids (and the shortest life of a key set).
        public var refetchInterval: TimeInterval
        /// Seconds a key set lives when Google's answer carries no `Cache-Control: max-age`.
        public var defaultCacheLifetime: TimeInterval

        public static let googleJWKSURL = "https://www.googleapis.com/oauth2/v3/certs"
        public static let googleIssuers: Set<String> = ["https://accounts.google.com", "accounts.google.com"]

        public init(
            clientIDs: [String],
            jwksURL: String = Self.googleJWKSURL,
            issuers: Set<String> = Self.googleIssuers,
            leeway: TimeInterval = 60,
            timeout: Duration = .seconds(5),
            refetchInterval: TimeInterval = 60,
            defaultCacheLifetime: TimeInterval = 300
        ) {
            self.clientIDs = clientIDs
            self.jwksURL = jwksURL
            self.issuers = issuers
            self.leeway = leeway
            self.timeout = timeout
            self.refetchInterval = refetchInterval
            self.defaultCacheLifetime = defaultCacheLifetime
        }
    }

    /// Tokens longer than this are refused unread (Google's are about 1 KiB).
    public static let tokenBytesMax = 16 * 1024

    public let configuration: Configuration
    private let keys: JWKSCache
    private let now: @Sendable () -> Date
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: the client for key fetches; it must outlive the verifier.
    ///   - now: the clock for `exp`, `iat` and key caching (injectable for tests).
    public init(
        configuration: Configuration,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "roost.identity.google")
    ) {
        self.configuration = configuration
        self.now = now
        self.logger = logger
        self.keys = JWKSCache(
            policy: .init(
                url: configuration.jwksURL,
                timeout: configuration.timeout,
                refetchInterval: configuration.refetchInterval,
                defaultLifetime: configuration.defaultCacheLifetime
            ),
            client: httpClient,
            now: now
        )
    }

    public func verify(_ token: String) async throws(IdentityError) -> VerifiedIdentity {
        do throws(IdentityError) {
            return try await verifyToken(token)
        } catch {
            switch error {
            case .invalidToken(let reason): logger.debug("Google ID token refused", metadata: ["reason": "\(reason)"])
            case .unavailable(let reason): logger.warning("Google keys unavailable", metadata: ["reason": "\(reason)"])
            }
            throw error
        }
    }

    private func verifyToken(_ token: String) async throws(IdentityError) -> VerifiedIdentity {
        guard token.utf8.count <= Self.tokenBytesMax else { throw .invalidToken("token too long") }
        let header = try Header(token)
        guard header.alg == "RS256" else { throw .invalidToken("only RS256 tokens are accepted") }
        guard header.crit == nil else { throw .invalidToken("critical header extensions are not supported") }
        guard let keyID = header.kid, !keyID.isEmpty else { throw .invalidToken("no key id") }

        let keyCollection = try await keys.keys(for: keyID)
        let claims: Claims
        do {
            claims = try await keyCollection.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .invalidToken("signature does not verify")
        } catch {
            throw .invalidToken("malformed token")
        }
        return try identity(from: claims, at: now())
    }

    /// The claim checks, after the signature held.
    private func identity(from claims: Claims, at now: Date) throws(IdentityError) -> VerifiedIdentity {
        guard configuration.issuers.contains(claims.iss.value) else { throw .invalidToken("wrong issuer") }
        guard claims.aud.value.count == 1, let audience = claims.aud.value.first, configuration.clientIDs.contains(audience)
        else { throw .invalidToken("wrong audience") }
        guard now < claims.exp.value + configuration.leeway else { throw .invalidToken("expired") }
        guard claims.iat.value <= now + configuration.leeway else { throw .invalidToken("issued in the future") }
        guard !claims.sub.value.isEmpty else { throw .invalidToken("no subject") }
        return VerifiedIdentity(
            provider: .google,
            subject: claims.sub.value,
            email: claims.email,
            emailVerified: claims.email != nil && claims.emailVerified?.value == true,
            name: claims.name
        )
    }

    /// The JOSE header, read before the signature is checked only to choose the key and refuse bad algorithms.
    private struct Header: Decodable {
        var alg: String?
        var kid: String?
        var crit: [String]?

        init(_ token: String) throws(IdentityError) {
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let json = Base64URL.decode(parts[0]),
                let header = try? JSONDecoder().decode(Header.self, from: json)
            else { throw .invalidToken("malformed token") }
            self = header
        }
    }

    /// The claims of a Google ID token that Roost uses.
    private struct Claims: JWTPayload {
        var iss: IssuerClaim
        var aud: AudienceClaim
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var email: String?
        var emailVerified: LenientBool?
        var name: String?

        enum CodingKeys: String, CodingKey {
            case iss, aud, sub, exp, iat, email, name
            case emailVerified = "email_verified"
        }

        /// Nothing here: the verifier checks the claims against its own (injectable) clock.
        func verify(using _: some JWTAlgorithm) async throws {}
    }

    /// A boolean claim that some issuers send as the string `"true"`/`"false"`.
    private struct LenientBool: Codable {
        var value: Bool

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                value = bool
            } else {
                value = try container.decode(String.self).lowercased() == "true"
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(value)
        }
    }
}
