import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Logging
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostIntegrations

/// Google's JWKS endpoint as a test controls it: the document, its caching headers, failures,
/// a delay, holding answers back until released, and how many times it was asked.
final class JWKSStandIn: Sendable {
    struct State {
        var document: String
        var cacheControl = "public, max-age=3600, must-revalidate, no-transform"
        var age: String?
        var status: HTTPResponse.Status = .ok
        var delay: Duration = .zero
        /// While set, requests wait (after counting themselves) until it is cleared.
        var holding = false
        var requests = 0
    }

    private let state: Mutex<State>

    init(_ keys: [(kid: String, key: Insecure.RSA.PrivateKey)] = [("k1", IdentityTestKeys.first)]) throws {
        state = Mutex(State(document: try IdentityTestTokens.jwks(keys)))
    }

    var requests: Int { state.withLock { $0.requests } }
    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("certs") { _, _ in
            let now = self.state.withLock { state in
                state.requests += 1
                return state
            }
            if now.delay > .zero { try await Task.sleep(for: now.delay) }
            while self.state.withLock({ $0.holding }) { try await Task.sleep(for: .milliseconds(10)) }
            var headers: HTTPFields = [.cacheControl: now.cacheControl]
            if let age = now.age { headers[HTTPField.Name("Age")!] = age }
            return jsonResponse(now.document, status: now.status, headers: headers)
        }
        return router
    }
}

@Suite struct GoogleIDTokenVerifierTests {
    static let clientID = "roost-web.apps.googleusercontent.com"
    let clock = IdentityTestClock()

    /// Runs `body` with a verifier pointed at `jwks` served locally.
    func withVerifier(
        _ jwks: JWKSStandIn,
        configure: (inout GoogleIDTokenVerifier.Configuration) -> Void = { _ in },
        logger: Logger = quietLogger,
        _ body: (GoogleIDTokenVerifier) async throws -> Void
    ) async throws {
        try await withStandIn(jwks.router) { base in
            var configuration = GoogleIDTokenVerifier.Configuration(
                clientIDs: [Self.clientID, "roost-ios.apps.googleusercontent.com"],
                jwksURL: base + "/certs",
                // Generous: under the whole suite on two cores a local fetch has taken over 5 s.
                // The tests of the timeout itself set their own.
                timeout: .seconds(30)
            )
            configure(&configuration)
            try await body(GoogleIDTokenVerifier(configuration: configuration, now: clock.read, logger: logger))
        }
    }

    func token(kid: String = "k1", key: Insecure.RSA.PrivateKey = IdentityTestKeys.first, _ change: (inout IdentityTestClaims) -> Void = { _ in }) async throws -> String {
        var claims = IdentityTestClaims(now: clock.now)
        change(&claims)
        return try await IdentityTestTokens.rs256(claims, key: key, kid: kid)
    }

    /// Signs a token (claims valid now, changed by `change`) and hands it to `verifier`.
    func verify(
        with verifier: GoogleIDTokenVerifier,
        kid: String = "k1",
        key: Insecure.RSA.PrivateKey = IdentityTestKeys.first,
        _ change: (inout IdentityTestClaims) -> Void = { _ in }
    ) async throws -> Result<VerifiedIdentity, IdentityError> {
        await outcome(verifier, try await token(kid: kid, key: key, change))
    }

    // MARK: Tokens

    @Test(arguments: ["https://accounts.google.com", "accounts.google.com"])
    func aValidTokenIsTheIdentityItNames(issuer: String) async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            let token = try await token { $0.iss = issuer }
            #expect(
                await outcome(verifier, token)
                    == .success(VerifiedIdentity(provider: .google, subject: "110169484474386276334", email: "ada@example.com", emailVerified: true, name: "Ada Lovelace"))
            )
        }
    }

    @Test func anUnverifiedEmailIsStillAnIdentityMarkedUnverified() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            let unverified = try await verify(with: verifier) { $0.email_verified = false }
            #expect(try unverified.get().emailVerified == false)
            #expect(try unverified.get().email == "ada@example.com")
            let unsaid = try await verify(with: verifier) { $0.email_verified = nil }
            #expect(try unsaid.get().emailVerified == false, "absent email_verified is not a yes")
        }
    }

    @Test func tokensForAnotherAppOrFromAnotherIssuerAreRefused() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier) { $0.aud = "someone-else.apps.googleusercontent.com" } == .failure(.invalidToken("wrong audience")))
            #expect(try await verify(with: verifier) { $0.iss = "https://evil.example.com" } == .failure(.invalidToken("wrong issuer")))
            #expect(try await verify(with: verifier) { $0.aud = "roost-ios.apps.googleusercontent.com" }.isSuccess, "every configured client id is accepted")
        }
    }

    @Test func expiryAndIssueTimeAllowOnlyTheLeeway() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            let now = Int(clock.now.timeIntervalSince1970)
            #expect(try await verify(with: verifier) { $0.exp = now - 61 } == .failure(.invalidToken("expired")))
            #expect(try await verify(with: verifier) { $0.exp = now - 30 }.isSuccess, "within the 60 s leeway")
            #expect(try await verify(with: verifier) { $0.iat = now + 120 } == .failure(.invalidToken("issued in the future")))
            // A token that was good becomes expired as the (injected) clock moves on.
            let token = try await token()
            #expect(await outcome(verifier, token).isSuccess)
            clock.advance(3600 + 61)
            #expect(await outcome(verifier, token) == .failure(.invalidToken("expired")))
        }
    }

    @Test func aSignatureByAnotherKeyIsRefused() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            let forged = try await token(kid: "k1", key: IdentityTestKeys.second)
            #expect(await outcome(verifier, forged) == .failure(.invalidToken("signature does not verify")))
            // The same claims with the genuine signature, to show the refusal was the signature's.
            let genuine = try await token(kid: "k1", key: IdentityTestKeys.first)
            #expect(await outcome(verifier, genuine).isSuccess)
            // A tampered payload under a genuine signature.
            var parts = genuine.split(separator: ".").map(String.init)
            var claims = IdentityTestClaims(now: clock.now)
            claims.sub = "someone-else"
            parts[1] = Base64URL.encode(try JSONEncoder().encode(claims))
            #expect(await outcome(verifier, parts.joined(separator: ".")) == .failure(.invalidToken("signature does not verify")))
        }
    }

    @Test func algNoneIsRefused() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            let claims = IdentityTestClaims(now: clock.now)
            for header in [#"{"alg":"none","kid":"k1"}"#, #"{"alg":"None","kid":"k1"}"#, #"{"kid":"k1"}"#] {
                let token = try IdentityTestTokens.raw(header: header, claims)
                #expect(await outcome(verifier, token) == .failure(.invalidToken("only RS256 tokens are accepted")), "\(header)")
            }
            // RS256 in the header but no signature at all.
            let unsigned = try IdentityTestTokens.raw(header: #"{"alg":"RS256","kid":"k1"}"#, claims)
            #expect(await outcome(verifier, unsigned).isInvalidToken)
        }
    }

    @Test func hmacTokensAreRefusedEvenKeyedWithThePublicKeyOrAPublishedSecret() async throws {
        // The JWKS also publishes a symmetric key: it must never be used.
        let jwks = try JWKSStandIn()
        let publishedSecret = "a-shared-secret-published-in-the-jwks-by-mistake"
        let document = try IdentityTestTokens.jwks(
            [("k1", IdentityTestKeys.first)],
            extra: [["kty": "oct", "kid": "hmac", "alg": "HS256", "k": publishedSecret]]
        )
        jwks.update { $0.document = document }
        try await withVerifier(jwks) { verifier async throws in
            let claims = IdentityTestClaims(now: clock.now)
            let publicPEM = IdentityTestKeys.first.publicKey.pemRepresentation
            let confused = try await IdentityTestTokens.hs256(claims, secret: publicPEM, kid: "k1")
            #expect(await outcome(verifier, confused) == .failure(.invalidToken("only RS256 tokens are accepted")))
            let withPublished = try await IdentityTestTokens.hs256(claims, secret: publishedSecret, kid: "hmac")
            #expect(await outcome(verifier, withPublished) == .failure(.invalidToken("only RS256 tokens are accepted")))
            // Even labelled RS256, a token naming the symmetric key's id finds no key.
            let relabelled = try await token(kid: "hmac")
            #expect(await outcome(verifier, relabelled) == .failure(.invalidToken("unknown signing key")))
        }
    }

    @Test(arguments: ["", "not a jwt", "a.b", "a.b.c.d", "@@@.e30.AA"])
    func garbageIsAnInvalidToken(text: String) async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            #expect(await outcome(verifier, text).isInvalidToken)
        }
        #expect(jwks.requests == 0, "nothing worth fetching keys for")
    }

    // MARK: Keys: rotation, caching, failures

    @Test func anUnknownKeyIDRefetchesOnceAndPicksUpARotatedKey() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier, kid: "k1").isSuccess)
            #expect(jwks.requests == 1)

            // Google rotates: k2 appears. Past the refetch interval, the unknown id triggers one fetch.
            let rotated = try IdentityTestTokens.jwks([("k1", IdentityTestKeys.first), ("k2", IdentityTestKeys.second)])
            jwks.update { $0.document = rotated }
            clock.advance(61)
            #expect(try await verify(with: verifier, kid: "k2", key: IdentityTestKeys.second).isSuccess)
            #expect(jwks.requests == 2)
            #expect(try await verify(with: verifier, kid: "k2", key: IdentityTestKeys.second).isSuccess)
            #expect(try await verify(with: verifier, kid: "k1").isSuccess)
            #expect(jwks.requests == 2, "known ids come from the cache")
        }
    }

    @Test func unknownKeyIDsRefetchAtMostOncePerMinute() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier, kid: "k1").isSuccess)
            clock.advance(61)
            #expect(try await verify(with: verifier, kid: "made-up-1") == .failure(.invalidToken("unknown signing key")))
            #expect(jwks.requests == 2, "the first unknown id refetches")
            clock.advance(30)
            #expect(try await verify(with: verifier, kid: "made-up-2") == .failure(.invalidToken("unknown signing key")))
            #expect(try await verify(with: verifier, kid: "made-up-3") == .failure(.invalidToken("unknown signing key")))
            #expect(jwks.requests == 2, "a second unknown id within a minute does not")
            clock.advance(31)
            #expect(try await verify(with: verifier, kid: "made-up-4") == .failure(.invalidToken("unknown signing key")))
            #expect(jwks.requests == 3, "a minute after the last fetch, it may again")
        }
    }

    @Test(arguments: [
        // Cache-Control, Age, seconds still fresh, seconds stale
        ("public, max-age=300", nil, 299.0, 301.0),
        ("public, max-age=300", "100", 199.0, 201.0),
        ("no-transform, Max-Age=7200 , must-revalidate", "0", 7199.0, 7201.0),
    ] as [(String, String?, TimeInterval, TimeInterval)])
    func theKeySetIsKeptForMaxAgeLessAge(cacheControl: String, age: String?, fresh: TimeInterval, stale: TimeInterval) async throws {
        let jwks = try JWKSStandIn()
        jwks.update {
            $0.cacheControl = cacheControl
            $0.age = age
        }
        try await withVerifier(jwks) { verifier async throws in
            let start = clock.now
            #expect(try await verify(with: verifier).isSuccess)
            clock.advance(fresh)
            #expect(try await verify(with: verifier).isSuccess)
            #expect(jwks.requests == 1, "no fetch before max-age runs out")
            clock.advance(stale - clock.now.timeIntervalSince(start))
            #expect(try await verify(with: verifier).isSuccess)
            #expect(jwks.requests == 2, "a fetch once it has")
        }
    }

    @Test func withTheKeyServerDownTheAnswerIsUnavailable() async throws {
        let jwks = try JWKSStandIn()
        jwks.update { $0.status = .internalServerError }
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier).isUnavailable)
            jwks.update {
                $0.status = .ok
                $0.document = "<html>oops</html>"
            }
            #expect(try await verify(with: verifier).isUnavailable, "a body that is not a JWKS")
            jwks.update { $0.document = #"{"keys":[{"kty":"EC","kid":"e1","crv":"P-256","x":"AA","y":"AA"}]}"# }
            #expect(try await verify(with: verifier).isUnavailable, "a JWKS without an RS256 key")
        }
        let nowhere = try await closedPortURL()
        let verifier = GoogleIDTokenVerifier(
            configuration: .init(clientIDs: [Self.clientID], jwksURL: nowhere + "/certs", timeout: .milliseconds(300)), now: clock.read, logger: quietLogger)
        // AsyncHTTPClient retries refused connections until the deadline, so this is the timeout's answer.
        #expect(try await verify(with: verifier).isUnavailable, "connection refused")
    }

    @Test func aSlowKeyServerTimesOut() async throws {
        let jwks = try JWKSStandIn()
        jwks.update { $0.delay = .seconds(30) }
        try await withVerifier(jwks, configure: { $0.timeout = .milliseconds(200) }) { verifier async throws in
            // Unavailable, not verified: the server would answer after 30 s. (No bound on the
            // wall clock: on two busy cores the 200 ms timer itself can fire seconds late.)
            #expect(try await verify(with: verifier).isUnavailable)
        }
    }

    @Test func aFreshCachedSetOutlivesAFailingServerButAnExpiredOneDoesNot() async throws {
        let jwks = try JWKSStandIn()
        jwks.update { $0.cacheControl = "max-age=600" }
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier).isSuccess)
            jwks.update { $0.status = .serviceUnavailable }
            clock.advance(120)
            #expect(try await verify(with: verifier, kid: "k2", key: IdentityTestKeys.second).isUnavailable, "could not look the new id up")
            #expect(jwks.requests == 2)
            #expect(try await verify(with: verifier).isSuccess, "the cached set is still good")
            clock.advance(600)
            #expect(try await verify(with: verifier).isUnavailable, "an expired set is not used")
            jwks.update { $0.status = .ok }
            #expect(try await verify(with: verifier).isSuccess, "and it recovers")
        }
    }

    @Test func knownKeysDoNotWaitForARefetchInFlight() async throws {
        let jwks = try JWKSStandIn()
        try await withVerifier(jwks) { verifier async throws in
            #expect(try await verify(with: verifier).isSuccess)
            jwks.update {
                $0.status = .serviceUnavailable
                $0.holding = true
            }
            clock.advance(61)
            let unknown = try await token(kid: "k2", key: IdentityTestKeys.second)
            let known = try await token()
            let refetchDone = Mutex(false)
            let refetching = Task {
                let result = await outcome(verifier, unknown)
                refetchDone.withLock { $0 = true }
                return result
            }
            // The refetch has reached the server, which holds it until released below: a known
            // key verified now cannot have waited for it (waiting would run into the 30 s fetch
            // timeout, and the refetch would be over by the time the answer came).
            #expect(await eventually(within: .seconds(20)) { jwks.requests == 2 })
            #expect(await outcome(verifier, known).isSuccess)
            #expect(!refetchDone.withLock { $0 }, "answered from the cache while the refetch was still in flight")
            jwks.update { $0.holding = false }
            #expect(await refetching.value.isUnavailable)
            #expect(jwks.requests == 2)
        }
    }

    @Test func concurrentVerificationsShareOneFetch() async throws {
        let jwks = try JWKSStandIn()
        jwks.update { $0.delay = .milliseconds(300) }
        try await withVerifier(jwks) { verifier async throws in
            let token = try await token()
            let successes = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<24 { group.addTask { await outcome(verifier, token).isSuccess } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 24)
            #expect(jwks.requests == 1)
        }
    }

    @Test func refusalsAreLoggedWithoutTheToken() async throws {
        let jwks = try JWKSStandIn()
        let logs = CapturedLogs()
        try await withVerifier(jwks, logger: logs.logger) { verifier async throws in
            let token = try await token { $0.aud = "someone-else" }
            #expect(await outcome(verifier, token).isInvalidToken)
            #expect(!logs.entries.isEmpty)
            for entry in logs.entries {
                #expect(!"\(entry.message) \(entry.metadata)".contains(token.split(separator: ".")[1]))
            }
        }
    }
}
