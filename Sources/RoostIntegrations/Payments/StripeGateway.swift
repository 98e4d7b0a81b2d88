import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// ``PaymentGateway`` over Stripe's REST API: PaymentIntents with manual capture, refunds, and
/// Connect transfers to hosts' connected accounts.
///
/// Every POST carries the caller's idempotency key as `Idempotency-Key`, and its form body is
/// built the same way from the same arguments, so a retry after a crash or a timeout is answered
/// by Stripe with the first call's result (for 24 hours) instead of moving money again. The
/// gateway itself never retries: an `.unavailable` means the outcome is unknown, and the caller
/// retries with the same key.
///
/// Amounts are minor units, as Stripe's are. Currencies are sent lower case and answered upper
/// case, as Roost writes them. Payments are read with their `latest_charge` expanded, because
/// since API version 2022-11-15 that is where the refunded amount lives.
///
/// Error mapping (``GatewayError``):
///
/// | Stripe's answer | error |
/// |---|---|
/// | 402, or `type=card_error` | `declined(code:)`: `decline_code`, else `code` (`generic_decline` reads as `card_declined`) |
/// | any error naming `param=payment_method`; a 404 to an authorize with a payment method | `invalidPaymentMethod` |
/// | 404, `code=resource_missing` | `notFound` with the id the caller named |
/// | `type` or `code` `idempotency_error` | `idempotencyKeyReused` with the key |
/// | other 400s (`payment_intent_unexpected_state`, `amount_too_large`, `charge_already_refunded` …) | `invalidState` with Stripe's message |
/// | 401, 403, 409 (the same key still in flight), 429, 5xx, timeouts, transport failures, unreadable answers | `unavailable` |
///
/// Messages never contain the secret key: Stripe's own messages are passed on with any occurrence
/// of it removed, and a refused key is reported without Stripe's message.
public struct StripeGateway: PaymentGateway {
    public struct Configuration: Sendable, CustomStringConvertible {
        /// `sk_live_…`, `sk_test_…` or a restricted `rk_…` key, sent as `Authorization: Bearer`.
        public var secretKey: String
        /// Where PaymentIntents and refunds go: scheme://host[:port], no path.
        public var baseURL: String
        /// Where Connect transfers go; `nil` is ``baseURL``. Apart only so that a stand-in that
        /// has no Connect (localstripe) can be paired with one that has.
        public var connectBaseURL: String?
        /// Sent as `Stripe-Version`, so that the shapes of Stripe's answers do not change when
        /// the account's default version is upgraded; `nil` uses the account's default.
        public var apiVersion: String?
        /// How long one call may take, from connecting to the last byte of the answer.
        public var requestTimeout: Duration
        /// The largest answer read: a payment with its charge expanded is a few KiB.
        public var responseBytesMax: Int

        public static let stripeBaseURL = "https://api.stripe.com"
        /// The version this adapter's decoding is written against.
        public static let pinnedAPIVersion = "2024-06-20"

        public init(
            secretKey: String,
            baseURL: String = Self.stripeBaseURL,
            connectBaseURL: String? = nil,
            apiVersion: String? = Self.pinnedAPIVersion,
            requestTimeout: Duration = .seconds(30),
            responseBytesMax: Int = 1 << 20
        ) {
            self.secretKey = secretKey
            self.baseURL = baseURL
            self.connectBaseURL = connectBaseURL
            self.apiVersion = apiVersion
            self.requestTimeout = requestTimeout
            self.responseBytesMax = responseBytesMax
        }

        /// Everything but the secret key, so a configuration can be logged.
        public var description: String {
            "StripeGateway.Configuration(baseURL: \(baseURL), connectBaseURL: \(connectBaseURL ?? "same"), "
                + "apiVersion: \(apiVersion ?? "account default"), key: \(StripeRedaction.keyKind(secretKey)))"
        }
    }

    /// The metadata key that carries a payment's idempotency key, for ``payment(forIdempotencyKey:)``
    /// and for webhook handlers that want to find the booking a payment belongs to.
    public static let idempotencyMetadataKey = "roost_idempotency_key"

    public let configuration: Configuration
    private let httpClient: HTTPClient
    private let base: String
    private let connectBase: String

    /// - Parameter httpClient: the client to send with; the caller owns it (and shuts it down).
    public init(configuration: Configuration, httpClient: HTTPClient = .shared) throws(StripeConfigurationError) {
        let key = configuration.secretKey
        guard key.hasPrefix("sk_") || key.hasPrefix("rk_"), key.count > 3, key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw StripeConfigurationError(reason: "the secret key must be an sk_… or rk_… key")
        }
        guard configuration.responseBytesMax > 0, configuration.requestTimeout > .zero else {
            throw StripeConfigurationError(reason: "requestTimeout and responseBytesMax must be positive")
        }
        self.configuration = configuration
        self.httpClient = httpClient
        let base = try Self.validatedBase(configuration.baseURL, name: "baseURL")
        self.base = base
        if let connect = configuration.connectBaseURL {
            self.connectBase = try Self.validatedBase(connect, name: "connectBaseURL")
        } else {
            self.connectBase = base
        }
    }

    // MARK: - PaymentGateway

    public func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        guard amount > 0 else { throw .invalidState("amount must be positive") }
        var form: [(String, String)] = [
            ("amount", String(amount)),
            ("currency", currency.lowercased()),
            ("capture_method", "manual"),
            // Cards only: holds (manual capture) are a card feature, and without this Stripe
            // enables the Dashboard's payment methods, whose redirects a server-side confirm
            // cannot follow (it then demands a `return_url`).
            ("payment_method_types[]", "card"),
            ("metadata[\(Self.idempotencyMetadataKey)]", idempotencyKey),
        ]
        if let paymentMethod {
            form += [("payment_method", paymentMethod), ("confirm", "true")]
            // A card that would need the customer present (3-D Secure) is not what a server-side
            // confirm can complete; Stripe then answers `requires_action`, read as waiting for the client.
        }
        form.append(("expand[]", "latest_charge"))
        let response = try await post(base, "/v1/payment_intents", form, idempotencyKey: idempotencyKey)
        guard response.status == 200 else {
            throw StripeFailure.map(response, .authorize(paymentMethod: paymentMethod), key: idempotencyKey, secretKey: configuration.secretKey)
        }
        return try StripeWire.payment(response, what: "authorize")
    }

    public func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        var form: [(String, String)] = []
        if let amount { form.append(("amount_to_capture", String(amount))) }
        form.append(("expand[]", "latest_charge"))
        let response = try await post(base, "/v1/payment_intents/\(StripeWire.pathSegment(payment))/capture", form, idempotencyKey: idempotencyKey)
        guard response.status == 200 else {
            throw StripeFailure.map(response, .payment(payment), key: idempotencyKey, secretKey: configuration.secretKey)
        }
        return try StripeWire.payment(response, what: "capture")
    }

    public func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        let form = [("expand[]", "latest_charge")]
        let response = try await post(base, "/v1/payment_intents/\(StripeWire.pathSegment(payment))/cancel", form, idempotencyKey: idempotencyKey)
        guard response.status == 200 else {
            throw StripeFailure.map(response, .payment(payment), key: idempotencyKey, secretKey: configuration.secretKey)
        }
        return try StripeWire.payment(response, what: "void")
    }

    public func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
        guard amount > 0 else { throw .invalidState("refund amount must be positive") }
        let form = [
            ("payment_intent", payment),
            ("amount", String(amount)),
            ("metadata[\(Self.idempotencyMetadataKey)]", idempotencyKey),
        ]
        let response = try await post(base, "/v1/refunds", form, idempotencyKey: idempotencyKey)
        guard response.status == 200 else {
            throw StripeFailure.map(response, .payment(payment), key: idempotencyKey, secretKey: configuration.secretKey)
        }
        guard let body = response.decode(StripeWire.RefundBody.self), body.amount >= 0 else {
            throw .unavailable("refund: an answer that is not a refund")
        }
        // Stripe leaves `payment_intent` null on refunds it made of a bare charge; ours always name one.
        return GatewayRefund(id: body.id, payment: body.payment_intent ?? payment, amount: body.amount)
    }

    /// A Connect transfer (`POST /v1/transfers`) from the platform's balance to `destination`,
    /// a connected account (`acct_…`). It is a transfer, not a Stripe "payout": the host's own
    /// payout schedule moves it on to their bank.
    public func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
        guard amount > 0 else { throw .invalidState("amount must be positive") }
        guard destination.hasPrefix("acct_"), destination.count > 5 else { throw .invalidState("\(destination) is not a connected account") }
        let form = [
            ("amount", String(amount)),
            ("currency", currency.lowercased()),
            ("destination", destination),
            ("metadata[\(Self.idempotencyMetadataKey)]", idempotencyKey),
        ]
        let response = try await post(connectBase, "/v1/transfers", form, idempotencyKey: idempotencyKey)
        guard response.status == 200 else {
            throw StripeFailure.map(response, .payout(destination: destination), key: idempotencyKey, secretKey: configuration.secretKey)
        }
        guard let body = response.decode(StripeWire.TransferBody.self), body.amount >= 0 else {
            throw .unavailable("payout: an answer that is not a transfer")
        }
        return GatewayPayout(id: body.id, amount: body.amount, currency: body.currency.uppercased(), destination: body.destination ?? destination)
    }

    /// Search's propagation delay, as Stripe documents it: usually under a minute, up to an hour
    /// during an outage. Until an hour after a payment call, a `nil` from the lookup is not final.
    public var lookupLag: Duration { .seconds(3_600) }

    /// Stripe has no lookup by idempotency key, so this asks the Search API for the payment whose
    /// metadata carries the key (`authorize` writes it there):
    /// `GET /v1/payment_intents/search?query=metadata['roost_idempotency_key']:'<key>'`.
    ///
    /// Search is eventually consistent: Stripe documents that a new payment is usually searchable
    /// within a minute, and longer during an outage. So `nil` means "not found yet", never "no
    /// payment was created". A restart that gets `nil` for a call it never heard back from must
    /// retry `authorize` with the same key and the same arguments, which Stripe answers with the
    /// first call's payment for 24 hours; only after that is `nil` final. Listing payments is no
    /// alternative (it cannot filter on metadata, so it scans the account). Search is not
    /// available to accounts in India, and stand-ins such as localstripe lack it: there the
    /// answer is `.unavailable`, not a `nil` that would be a lie. If several payments carry the
    /// key (only possible when a key is reused after Stripe forgot it), the newest is returned.
    public func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment? {
        let query = "metadata['\(Self.idempotencyMetadataKey)']:'\(StripeWire.searchQuoted(key))'"
        let response = try await get(base, "/v1/payment_intents/search", query: [("query", query), ("limit", "10"), ("expand[]", "data.latest_charge")])
        guard response.status == 200 else {
            if response.status == 404 { throw .unavailable("payment search: the provider has no search API (HTTP 404)") }
            throw StripeFailure.map(response, .search, key: key, secretKey: configuration.secretKey)
        }
        guard let list = response.decode(StripeWire.SearchBody.self) else {
            throw .unavailable("payment search: an answer that is not a search result")
        }
        let matching = list.data.filter { $0.metadata?[Self.idempotencyMetadataKey] == key }
        guard let newest = matching.max(by: { ($0.created ?? 0) < ($1.created ?? 0) }) else { return nil }
        return try StripeWire.payment(newest, what: "payment search")
    }

    // MARK: - Beyond the protocol

    /// The payment as Stripe has it now (`GET /v1/payment_intents/{id}`), for reconciliation.
    public func retrieve(_ payment: String) async throws(GatewayError) -> GatewayPayment {
        let response = try await get(base, "/v1/payment_intents/\(StripeWire.pathSegment(payment))", query: [("expand[]", "latest_charge")])
        guard response.status == 200 else {
            throw StripeFailure.map(response, .payment(payment), key: "", secretKey: configuration.secretKey)
        }
        return try StripeWire.payment(response, what: "retrieve")
    }

    // MARK: - Requests

    private func post(_ base: String, _ path: String, _ form: [(String, String)], idempotencyKey: String) async throws(GatewayError) -> StripeResponse {
        var headers = commonHeaders
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        headers.append(("Idempotency-Key", idempotencyKey))
        let request = StripeRequest(method: .POST, url: base + path, headers: headers, body: Array(StripeWire.formEncode(form).utf8))
        return try await StripeHTTP.send(request, what: "POST \(path)", client: httpClient, timeout: configuration.requestTimeout, bytesMax: configuration.responseBytesMax)
    }

    private func get(_ base: String, _ path: String, query: [(String, String)]) async throws(GatewayError) -> StripeResponse {
        let url = base + path + (query.isEmpty ? "" : "?" + StripeWire.formEncode(query))
        let request = StripeRequest(method: .GET, url: url, headers: commonHeaders, body: nil)
        return try await StripeHTTP.send(request, what: "GET \(path)", client: httpClient, timeout: configuration.requestTimeout, bytesMax: configuration.responseBytesMax)
    }

    private var commonHeaders: [(String, String)] {
        var headers = [("Authorization", "Bearer \(configuration.secretKey)"), ("Accept", "application/json"), ("User-Agent", "roost")]
        if let version = configuration.apiVersion { headers.append(("Stripe-Version", version)) }
        return headers
    }

    /// `scheme://host[:port]` of an http(s) URL, without a trailing slash.
    private static func validatedBase(_ text: String, name: String) throws(StripeConfigurationError) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil,
            components.user == nil, components.password == nil
        else {
            throw StripeConfigurationError(reason: "\(name) \(text) must be an http(s) URL with a host and nothing after it")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// A ``StripeGateway/Configuration`` that cannot work. The reason never contains the key.
public struct StripeConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { "Stripe configuration: \(reason)" }
}
