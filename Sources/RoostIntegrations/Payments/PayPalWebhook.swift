import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// Checks that a webhook delivery came from PayPal, the way PayPal documents it: the delivery's
/// `PAYPAL-*` headers and its event are posted to `POST /v1/notifications/verify-webhook-signature`
/// together with the id of the webhook they were sent to, and PayPal answers
/// `verification_status` `SUCCESS` or `FAILURE`.
///
/// Before asking PayPal, a delivery is refused locally when a header is missing, when its
/// `PAYPAL-TRANSMISSION-TIME` is more than ``tolerance`` away from `now` (a replay of an old
/// delivery), or when its body is not a JSON event. PayPal's certificate-based check (CRC32 of
/// the body, the certificate at `PAYPAL-CERT-URL`) is left to PayPal's endpoint: doing it locally
/// means fetching and trusting a certificate chain from a URL the request names.
///
/// The event is sent to PayPal as the exact bytes that arrived, spliced into the request, never
/// decoded and re-encoded: PayPal's check covers the bytes, and re-serializing (key order, number
/// forms, escapes) makes a genuine delivery fail.
public struct PayPalWebhookVerifier: Sendable {
    public static let defaultTolerance: Duration = .seconds(300)
    /// The largest event accepted; PayPal's are a few KiB.
    public static let eventBytesMax = 256 << 10

    /// The id PayPal gave the webhook (the endpoint registered in the app's settings).
    public let webhookID: String
    public let tolerance: Duration
    private let connection: PayPalConnection
    private let exponents: [String: Int]

    /// With its own access token.
    public init(
        configuration: PayPalGateway.Configuration,
        webhookID: String,
        tolerance: Duration = Self.defaultTolerance,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(PayPalConfigurationError) {
        guard !webhookID.isEmpty else { throw PayPalConfigurationError(reason: "the webhook id must be set") }
        self.webhookID = webhookID
        self.tolerance = tolerance
        self.connection = try PayPalConnection(configuration: configuration, httpClient: httpClient, now: now)
        self.exponents = configuration.currencyExponents
    }

    /// Sharing `gateway`'s account and access token.
    public init(gateway: PayPalGateway, webhookID: String, tolerance: Duration = Self.defaultTolerance) throws(PayPalConfigurationError) {
        guard !webhookID.isEmpty else { throw PayPalConfigurationError(reason: "the webhook id must be set") }
        self.webhookID = webhookID
        self.tolerance = tolerance
        self.connection = gateway.connection
        self.exponents = gateway.configuration.currencyExponents
    }

    /// The event in `body` if PayPal confirms that it sent it. `headers` are the delivery's
    /// headers; names are matched without regard to case.
    public func verify(body: [UInt8], headers: [String: String], now: Date) async throws(PayPalWebhookError) -> PayPalWebhookEvent {
        func header(_ name: String) throws(PayPalWebhookError) -> String {
            guard let value = headers.first(where: { $0.key.caseInsensitiveCompare(name) == .orderedSame })?.value,
                !value.isEmpty, value.utf8.count <= 4096
            else { throw .missingHeader(name) }
            return value
        }
        let algorithm = try header("PAYPAL-AUTH-ALGO")
        let certificate = try header("PAYPAL-CERT-URL")
        let transmission = try header("PAYPAL-TRANSMISSION-ID")
        let signature = try header("PAYPAL-TRANSMISSION-SIG")
        let time = try header("PAYPAL-TRANSMISSION-TIME")
        guard let sent = Self.date(time) else { throw .invalidTransmissionTime(time) }
        let skew = abs(sent.timeIntervalSince(now))
        guard skew <= Double(tolerance.components.seconds) else { throw .outsideTolerance(seconds: Int64(skew)) }
        guard body.count <= Self.eventBytesMax else { throw .malformedEvent("over \(Self.eventBytesMax) bytes") }
        let event = try Self.event(body, exponents: exponents)

        let fields = VerifyRequest(
            authAlgo: algorithm, certUrl: certificate, transmissionId: transmission, transmissionSig: signature,
            transmissionTime: time, webhookId: webhookID
        )
        guard var request = PayPalJSON.encode(fields), request.last == UInt8(ascii: "}") else {
            throw .unavailable("the verification request could not be encoded")
        }
        request.removeLast()
        request += Array(#","webhook_event":"#.utf8) + body + [UInt8(ascii: "}")]
        let status = await Self.ask(connection, request)
        switch status {
        case .success("SUCCESS"): return event
        case .success: throw .signatureRejected
        case let .failure(error): throw error
        }
    }

    private struct VerifyRequest: Encodable {
        var authAlgo: String
        var certUrl: String
        var transmissionId: String
        var transmissionSig: String
        var transmissionTime: String
        var webhookId: String
    }

    private struct VerifyAnswer: Decodable {
        var verificationStatus: String?
    }

    /// PayPal's `verification_status`, or why there is none.
    private static func ask(_ connection: PayPalConnection, _ request: [UInt8]) async -> Result<String, PayPalWebhookError> {
        let response: PayPalResponse
        do {
            response = try await connection.call(.POST, "/v1/notifications/verify-webhook-signature", body: request, requestID: nil, what: "verify webhook")
        } catch {
            if case let .unavailable(reason) = error { return .failure(.unavailable(reason)) }
            return .failure(.unavailable("PayPal verify webhook: \(error)"))
        }
        guard response.isSuccess else {
            let issue = PayPalJSON.decode(PayPalErrorBody.self, from: response.body)?.issue.map { " \($0)" } ?? ""
            return .failure(.unavailable("PayPal verify webhook: HTTP \(response.status)\(issue)"))
        }
        guard let status = PayPalJSON.decode(VerifyAnswer.self, from: response.body)?.verificationStatus else {
            return .failure(.unavailable("PayPal verify webhook: an answer without verification_status"))
        }
        return .success(status)
    }

    /// `2024-05-01T12:00:00Z`, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    static func event(_ body: [UInt8], exponents: [String: Int]) throws(PayPalWebhookError) -> PayPalWebhookEvent {
        guard let wire = PayPalJSON.decode(WireEvent.self, from: body) else { throw .malformedEvent("not a JSON event") }
        guard let id = wire.id, !id.isEmpty, let type = wire.eventType, !type.isEmpty else { throw .malformedEvent("no id or event_type") }
        var amount: Int64?
        let currency = wire.resource?.amount?.currencyCode ?? wire.resource?.amount?.currency
        if let currency, let value = wire.resource?.amount?.value {
            guard let exponent = PayPalAmount.exponent(of: currency, overrides: exponents), let minor = PayPalAmount.parse(value, exponent: exponent) else {
                throw .malformedEvent("amount \(value) \(currency)")
            }
            amount = minor
        }
        return PayPalWebhookEvent(
            id: id, eventType: type, createTime: wire.createTime.flatMap(date), resourceID: wire.resource?.id,
            resourceStatus: wire.resource?.status, customID: wire.resource?.customId ?? wire.resource?.purchaseUnits?.first?.customId,
            amount: amount, currency: currency
        )
    }

    private struct WireEvent: Decodable {
        var id: String?
        var eventType: String?
        var createTime: String?
        var resource: Resource?

        struct Resource: Decodable {
            var id: String?
            var status: String?
            var customId: String?
            var amount: Amount?
            /// An order's (`CHECKOUT.ORDER.*` events): its `custom_id` is its purchase unit's.
            var purchaseUnits: [PurchaseUnit]?
        }

        struct PurchaseUnit: Decodable {
            var customId: String?
        }

        /// Payments v2 resources write `currency_code`, older v1 ones `currency`.
        struct Amount: Decodable {
            var currencyCode: String?
            var currency: String?
            var value: String?
        }
    }
}

/// A webhook event PayPal confirmed sending: the parts Roost acts on.
public struct PayPalWebhookEvent: Sendable, Equatable {
    public var id: String
    /// `PAYMENT.AUTHORIZATION.CREATED`, `PAYMENT.CAPTURE.COMPLETED`, `PAYMENT.CAPTURE.REFUNDED` …
    public var eventType: String
    public var createTime: Date?
    /// The authorization, capture, refund or order the event is about.
    public var resourceID: String?
    public var resourceStatus: String?
    /// The `custom_id` of the payment: for Roost's orders, the authorize call's idempotency key.
    public var customID: String?
    /// The resource's amount in minor units of `currency`.
    public var amount: Int64?
    public var currency: String?

    public init(
        id: String, eventType: String, createTime: Date?, resourceID: String?, resourceStatus: String?, customID: String?,
        amount: Int64?, currency: String?
    ) {
        self.id = id
        self.eventType = eventType
        self.createTime = createTime
        self.resourceID = resourceID
        self.resourceStatus = resourceStatus
        self.customID = customID
        self.amount = amount
        self.currency = currency
    }
}

/// Why a webhook delivery was refused. None carries a signature, a token or the secret.
public enum PayPalWebhookError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A `PAYPAL-*` header the check needs is missing (or empty, or too long).
    case missingHeader(String)
    /// `PAYPAL-TRANSMISSION-TIME` is not an ISO 8601 time.
    case invalidTransmissionTime(String)
    /// Sent longer ago (or further ahead) than the verifier's tolerance: a replay, or a clock far off.
    case outsideTolerance(seconds: Int64)
    /// The body is not an event this verifier reads.
    case malformedEvent(String)
    /// PayPal answered `FAILURE`: it did not send this.
    case signatureRejected
    /// PayPal could not be asked (or did not answer): the delivery is neither accepted nor
    /// refused, and PayPal delivers it again if it is not acknowledged.
    case unavailable(String)

    public var description: String {
        switch self {
        case let .missingHeader(name): "PayPal webhook: no \(name) header"
        case let .invalidTransmissionTime(text): "PayPal webhook: transmission time \(text) is not ISO 8601"
        case let .outsideTolerance(seconds): "PayPal webhook: sent \(seconds) s from now"
        case let .malformedEvent(reason): "PayPal webhook: malformed event (\(reason))"
        case .signatureRejected: "PayPal webhook: PayPal did not send this delivery"
        case let .unavailable(reason): "PayPal webhook: \(reason)"
        }
    }
}
