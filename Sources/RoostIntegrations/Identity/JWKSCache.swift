import AsyncHTTPClient
import Foundation
import JWTKit
import NIOHTTP1

/// A provider's published signing keys (a JWKS document), fetched on demand and kept while the
/// provider's `Cache-Control: max-age` (less any `Age`) allows.
///
/// - A key id that is not in a fresh set makes it fetch again — keys rotate — but at most once per
///   `refetchInterval`, so tokens with made-up key ids cannot make Roost hammer the provider.
/// - Concurrent callers that need a fetch share the one in flight.
/// - A failed fetch (transport, non-200, unusable document) is `.unavailable` and leaves a fresh
///   cached set in place; an expired set is never used.
/// - Only RSA keys meant for signatures (`use` absent or `sig`, `alg` absent or `RS256`) are kept,
///   and each is registered for RS256 alone, whatever the token's header claims.
actor JWKSCache {
    struct Policy: Sendable {
        var url: String
        var timeout: Duration
        /// The shortest time between two fetches caused by unknown key ids; also the shortest life of a set.
        var refetchInterval: TimeInterval
        /// How long a set lives when the response carries no `max-age`.
        var defaultLifetime: TimeInterval
    }

    /// One fetched set: its keys, their ids and the moment it stops being usable.
    struct KeySet: Sendable {
        var keys: JWTKeyCollection
        var keyIDs: Set<String>
        var expires: Date
    }

    private let policy: Policy
    private let client: HTTPClient
    private let now: @Sendable () -> Date
    private var current: KeySet?
    private var lastFetchStarted: Date?
    private var inFlight: Task<Result<KeySet, IdentityError>, Never>?

    init(policy: Policy, client: HTTPClient, now: @escaping @Sendable () -> Date) {
        self.policy = policy
        self.client = client
        self.now = now
    }

    /// The keys to verify a token signed with key `keyID`, fetching the set when needed.
    func keys(for keyID: String) async throws(IdentityError) -> JWTKeyCollection {
        let now = now()
        if let current, now < current.expires {
            if current.keyIDs.contains(keyID) { return current.keys }
            if inFlight == nil, let last = lastFetchStarted, now.timeIntervalSince(last) < policy.refetchInterval {
                throw .invalidToken("unknown signing key")
            }
        }
        let set = try await refresh(startedAt: now)
        guard set.keyIDs.contains(keyID) else { throw .invalidToken("unknown signing key") }
        return set.keys
    }

    /// Joins the fetch in flight, or starts one. Only the caller that started it stores its result.
    private func refresh(startedAt now: Date) async throws(IdentityError) -> KeySet {
        if let inFlight { return try await inFlight.value.get() }
        let (policy, client) = (self.policy, self.client)
        let task = Task { await Self.download(policy: policy, client: client, startedAt: now) }
        inFlight = task
        lastFetchStarted = now
        let result = await task.value
        inFlight = nil
        if case .success(let set) = result { current = set }
        return try result.get()
    }

    private static func download(policy: Policy, client: HTTPClient, startedAt now: Date) async -> Result<KeySet, IdentityError> {
        do throws(IdentityError) {
            let response = try await ProviderHTTP.get(policy.url, what: "JWKS", client: client, timeout: policy.timeout)
            guard response.status == 200 else { throw .unavailable("JWKS: HTTP \(response.status)") }
            guard let document = response.decode(Document.self) else { throw .unavailable("JWKS: not a key set") }
            let keys = JWTKeyCollection()
            var keyIDs: Set<String> = []
            for key in document.keys where key.isRS256SigningKey {
                guard let keyID = key.kid, let n = key.n, let e = key.e,
                    let publicKey = try? Insecure.RSA.PublicKey(modulus: n, exponent: e)
                else { continue }
                await keys.add(rsa: publicKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: keyID))
                keyIDs.insert(keyID)
            }
            guard !keyIDs.isEmpty else { throw .unavailable("JWKS: no usable RS256 key") }
            // No fallback key: a token whose key id is not in the set must never be tried against another.
            await keys.clearDefault()
            let lifetime = cacheLifetime(response.headers) ?? policy.defaultLifetime
            return .success(KeySet(keys: keys, keyIDs: keyIDs, expires: now + max(lifetime, policy.refetchInterval)))
        } catch {
            return .failure(error)
        }
    }

    /// `max-age` less `Age`, in seconds; `nil` when the response gives no `max-age`.
    static func cacheLifetime(_ headers: HTTPHeaders) -> TimeInterval? {
        let directives = headers["Cache-Control"].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let maxAge = directives.lazy.compactMap({ $0.hasPrefix("max-age=") ? Int($0.dropFirst(8)) : nil }).first
        else { return nil }
        let age = headers.first(name: "Age").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        return TimeInterval(max(maxAge - max(age, 0), 0))
    }

    /// A JWKS document, read leniently: keys of kinds Roost does not use are skipped, not errors.
    private struct Document: Decodable {
        var keys: [Key]

        struct Key: Decodable {
            var kty: String?
            var kid: String?
            var use: String?
            var alg: String?
            var n: String?
            var e: String?

            var isRS256SigningKey: Bool {
                kty == "RSA" && (use == nil || use == "sig") && (alg == nil || alg == "RS256")
            }
        }
    }
}
