import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An answer from PayPal, read whole (bounded).
struct PayPalResponse: Sendable {
    var status: Int
    var body: [UInt8]

    var isSuccess: Bool { (200..<300).contains(status) }
}

/// The connection to one PayPal account: its endpoint, its client credentials and the OAuth access
/// token they buy, shared by ``PayPalGateway`` and ``PayPalWebhookVerifier``.
///
/// Every call must finish within the configured timeout — connecting, sending and reading the
/// whole answer — and reads at most `responseBytesMax` bytes. Every failure to get an answer is
/// `.unavailable`, and no message ever carries the client secret, an access token or a URL.
final class PayPalConnection: Sendable {
    let configuration: PayPalGateway.Configuration
    let httpClient: HTTPClient
    let base: String
    let tokens: PayPalTokenCache

    init(configuration: PayPalGateway.Configuration, httpClient: HTTPClient, now: @escaping @Sendable () -> Date) throws(PayPalConfigurationError) {
        guard !configuration.clientID.isEmpty, !configuration.clientSecret.isEmpty,
            configuration.clientID.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" })
        else {
            throw PayPalConfigurationError(reason: "the client id and secret must be set (and the id must not contain ':')")
        }
        guard configuration.requestTimeout > .zero, configuration.responseBytesMax > 0 else {
            throw PayPalConfigurationError(reason: "requestTimeout and responseBytesMax must be positive")
        }
        guard let components = URLComponents(string: configuration.baseURL), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", components.host?.isEmpty == false,
            components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil
        else {
            throw PayPalConfigurationError(reason: "baseURL \(configuration.baseURL) must be scheme://host[:port]")
        }
        self.configuration = configuration
        self.httpClient = httpClient
        self.base = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        self.tokens = PayPalTokenCache(margin: configuration.tokenRefreshMargin, now: now)
    }

    /// A call with `Authorization: Bearer`. A 401 means the token died before its time (PayPal
    /// revoked it, or the clocks disagree): it is dropped and the call is sent once more with a
    /// fresh one — safe for POSTs too, since a refused call did nothing and carries the same
    /// `PayPal-Request-Id`.
    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]?, requestID: String?, what: String) async throws(GatewayError) -> PayPalResponse {
        let token = try await tokens.token(using: self)
        let first = try await send(method, path, body: body, headers: headers(bearer: token, requestID: requestID, hasBody: body != nil), what: what)
        guard first.status == 401 else { return first }
        await tokens.invalidate(token)
        let fresh = try await tokens.token(using: self)
        return try await send(method, path, body: body, headers: headers(bearer: fresh, requestID: requestID, hasBody: body != nil), what: what)
    }

    private func headers(bearer token: String, requestID: String?, hasBody: Bool) -> [(String, String)] {
        var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json"), ("Prefer", "return=representation")]
        if hasBody { headers.append(("Content-Type", "application/json")) }
        if let requestID { headers.append(("PayPal-Request-Id", requestID)) }
        return headers
    }

    /// `POST /v1/oauth2/token` with the client credentials as HTTP Basic auth.
    func fetchToken() async throws(GatewayError) -> PayPalTokenAnswer {
        let credentials = Data("\(configuration.clientID):\(configuration.clientSecret)".utf8).base64EncodedString()
        let response = try await send(
            .POST, "/v1/oauth2/token", body: Array("grant_type=client_credentials".utf8),
            headers: [
                ("Authorization", "Basic \(credentials)"), ("Accept", "application/json"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            what: "token"
        )
        guard response.isSuccess else {
            let error = PayPalJSON.decode(PayPalErrorBody.self, from: response.body)?.error.map { " \($0)" } ?? ""
            throw .unavailable("PayPal token: the client credentials were refused (HTTP \(response.status)\(error))")
        }
        guard let answer = PayPalJSON.decode(PayPalTokenAnswer.self, from: response.body), let token = answer.accessToken, !token.isEmpty,
            answer.tokenType.map({ $0.caseInsensitiveCompare("Bearer") == .orderedSame }) ?? true
        else {
            throw .unavailable("PayPal token: an answer without a bearer access_token")
        }
        return answer
    }

    /// Sends one request and reads the answer whole, all within the configured timeout.
    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, headers: [(String, String)], what: String) async throws(GatewayError) -> PayPalResponse {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let answer = try await ProviderExchange.send(
            request, what: "PayPal \(what)", client: httpClient, timeout: configuration.requestTimeout, bytesMax: configuration.responseBytesMax
        )
        return PayPalResponse(status: answer.status, body: answer.body)
    }
}

/// The OAuth access token, fetched when first needed and reused until shortly before PayPal says
/// it expires (PayPal's last about nine hours, and PayPal asks integrations to reuse them rather
/// than fetch one per call). Callers that need one while it is being fetched wait for the same fetch.
actor PayPalTokenCache {
    private let margin: Duration
    private let now: @Sendable () -> Date
    private var current: (value: String, refreshAt: Date)?
    private var fetching: Task<Result<PayPalTokenAnswer, GatewayError>, Never>?

    init(margin: Duration, now: @escaping @Sendable () -> Date) {
        self.margin = margin
        self.now = now
    }

    func token(using connection: PayPalConnection) async throws(GatewayError) -> String {
        if let current, now() < current.refreshAt { return current.value }
        let task: Task<Result<PayPalTokenAnswer, GatewayError>, Never>
        if let fetching {
            task = fetching
        } else {
            task = Task { await Self.fetch(connection) }
            fetching = task
        }
        let result = await task.value
        if fetching == task { fetching = nil }
        let answer = try result.get()
        guard let value = answer.accessToken else { throw .unavailable("PayPal token: no access_token") }
        // Refreshed `margin` before PayPal's expiry, but never used for less than half its life.
        let lifetime = Double(max(answer.expiresIn ?? 0, 0))
        let early = min(Double(margin.components.seconds), lifetime / 2)
        let refreshAt = now().addingTimeInterval(lifetime - early)
        current = (value, refreshAt)
        return value
    }

    /// Forgets `value` if it is still the current token (a concurrent call may have replaced it).
    func invalidate(_ value: String) {
        if current?.value == value { current = nil }
    }

    private static func fetch(_ connection: PayPalConnection) async -> Result<PayPalTokenAnswer, GatewayError> {
        do {
            return .success(try await connection.fetchToken())
        } catch {
            return .failure(error)
        }
    }
}

/// A ``PayPalGateway`` or ``PayPalWebhookVerifier`` that cannot work with its configuration.
public struct PayPalConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "PayPal configuration: \(reason)" }
}
