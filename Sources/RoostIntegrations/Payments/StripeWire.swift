import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

// What ``StripeGateway`` puts on the wire and reads back: form encoding, the shapes of Stripe's
// answers (only the fields Roost uses), error mapping and the bounded, timed exchange.

/// One request, ready to send.
struct StripeRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]?
}

/// An answer read whole (bounded).
struct StripeResponse: Sendable {
    var status: Int
    var body: [UInt8]

    /// The body decoded as JSON, or `nil` when it is not that shape.
    func decode<Value: Decodable>(_: Value.Type) -> Value? {
        try? JSONDecoder().decode(Value.self, from: Data(body))
    }
}

enum StripeWire {
    // MARK: Encoding

    /// `application/x-www-form-urlencoded`, in the order given (so that the same arguments always
    /// make the same body). Nested keys are written as Stripe reads them, `metadata[name]`.
    static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    /// An id as one path segment: a made-up id cannot reach another endpoint (`../refunds`).
    static func pathSegment(_ text: String) -> String { percentEncoded(text) }

    /// Every byte but RFC 3986's unreserved characters, percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// `text` for inside a single-quoted value of Stripe's search query language, where a quote
    /// (and so a backslash) is escaped with a backslash.
    static func searchQuoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
    }

    // MARK: Answers

    struct PaymentIntentBody: Decodable, Sendable {
        var id: String
        var status: String
        var amount: Int64
        var currency: String
        var created: Int64?
        /// What the payment collected: for manual capture, the captured amount.
        var amount_received: Int64?
        var client_secret: String?
        var latest_charge: ChargeReference?
        var metadata: [String: String]?
    }

    /// `latest_charge`: an id, or the charge when expanded.
    enum ChargeReference: Decodable, Sendable {
        case id(String)
        case charge(ChargeBody)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let id = try? container.decode(String.self) {
                self = .id(id)
            } else {
                self = .charge(try container.decode(ChargeBody.self))
            }
        }

        var charge: ChargeBody? { if case let .charge(charge) = self { charge } else { nil } }
    }

    struct ChargeBody: Decodable, Sendable {
        var amount: Int64?
        var amount_captured: Int64?
        var amount_refunded: Int64?
        var captured: Bool?
    }

    struct RefundBody: Decodable, Sendable {
        var id: String
        var amount: Int64
        var payment_intent: String?
    }

    struct TransferBody: Decodable, Sendable {
        var id: String
        var amount: Int64
        var currency: String
        var destination: String?
    }

    struct SearchBody: Decodable, Sendable {
        var data: [PaymentIntentBody]
    }

    static func payment(_ response: StripeResponse, what: String) throws(GatewayError) -> GatewayPayment {
        guard let body = response.decode(PaymentIntentBody.self) else { throw .unavailable("\(what): an answer that is not a payment") }
        return try payment(body, what: what)
    }

    /// A PaymentIntent as a ``GatewayPayment``. Stripe's statuses that wait for the customer
    /// (`requires_confirmation`, `requires_action`: 3-D Secure) read as `requiresPaymentMethod`,
    /// with the client secret the client needs to finish; `processing` and statuses Stripe may add
    /// are not an outcome yet, so they are `.unavailable` (ask again later).
    static func payment(_ body: PaymentIntentBody, what: String) throws(GatewayError) -> GatewayPayment {
        let status: GatewayPayment.Status
        switch body.status {
        case "requires_payment_method", "requires_confirmation", "requires_action": status = .requiresPaymentMethod
        case "requires_capture": status = .requiresCapture
        case "succeeded": status = .succeeded
        case "canceled": status = .canceled
        default: throw .unavailable("\(what): payment \(body.id) is \(body.status)")
        }
        guard body.amount >= 0 else { throw .unavailable("\(what): payment \(body.id) has a negative amount") }
        let charge = body.latest_charge?.charge
        // `amount_received` is Stripe's; stand-ins and old API versions only have the charge.
        let captured = body.amount_received ?? charge?.amount_captured ?? (charge?.captured == true ? charge?.amount ?? 0 : 0)
        return GatewayPayment(
            id: body.id,
            status: status,
            amount: body.amount,
            currency: body.currency.uppercased(),
            amountCaptured: max(captured, 0),
            amountRefunded: max(charge?.amount_refunded ?? 0, 0),
            clientSecret: status == .requiresPaymentMethod ? body.client_secret : nil
        )
    }
}

// MARK: - Errors

/// What a call was about, for naming the missing thing in `.notFound`.
enum StripeCall: Sendable {
    case authorize(paymentMethod: String?)
    case payment(String)
    case payout(destination: String)
    case search
}

enum StripeFailure {
    struct Envelope: Decodable {
        var error: Detail
    }

    struct Detail: Decodable {
        var type: String?
        var code: String?
        var decline_code: String?
        var param: String?
        var message: String?
    }

    /// The ``GatewayError`` for a non-200 answer (the table on ``StripeGateway``).
    static func map(_ response: StripeResponse, _ call: StripeCall, key: String, secretKey: String) -> GatewayError {
        let status = response.status
        let detail = response.decode(Envelope.self)?.error
        let message = StripeRedaction.message(detail?.message, removing: secretKey)
        let summary = "HTTP \(status)" + (detail?.code.map { " \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        if status == 401 || status == 403 {
            return .unavailable("Stripe refused the API key (HTTP \(status))")
        }
        if detail?.type == "idempotency_error" || detail?.code == "idempotency_error" {
            return .idempotencyKeyReused(key)
        }
        if status == 409 || status == 429 || status >= 500 {
            return .unavailable(summary)
        }
        if status == 402 || detail?.type == "card_error" {
            let decline = detail?.decline_code.flatMap { $0 == "generic_decline" ? nil : $0 }
            return .declined(code: decline ?? detail?.code ?? "card_declined")
        }
        if case let .authorize(method?) = call, detail?.param == "payment_method" || status == 404 {
            // Stripe: 400 `resource_missing` on `payment_method`; localstripe: a bare 404.
            return .invalidPaymentMethod(method)
        }
        if status == 404 || detail?.code == "resource_missing" {
            switch call {
            case .payment(let id): return .notFound(id)
            case .payout(let destination): return .notFound(destination)
            case .authorize, .search: return .notFound(message ?? summary)
            }
        }
        if status == 400 {
            return .invalidState(message ?? summary)
        }
        return .unavailable(summary)
    }
}

enum StripeRedaction {
    /// Longer messages are cut: they end up in logs and API answers.
    static let messageCharactersMax = 300

    /// Stripe's message without the key (Stripe masks keys itself; this does not rely on it).
    static func message(_ text: String?, removing secretKey: String) -> String? {
        guard var text, !text.isEmpty else { return nil }
        if !secretKey.isEmpty { text = text.replacingOccurrences(of: secretKey, with: keyKind(secretKey)) }
        return text.count > messageCharactersMax ? String(text.prefix(messageCharactersMax)) + "…" : text
    }

    /// `sk_test_…`, `rk_live_…`: which kind of key, not the key.
    static func keyKind(_ key: String) -> String {
        let parts = key.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, ["sk", "rk"].contains(parts[0]), ["live", "test"].contains(parts[1]) else { return "(set)" }
        return "\(parts[0])_\(parts[1])_…"
    }
}

// MARK: - Sending

enum StripeHTTP {
    /// Sends `request` and reads the answer whole, all within `timeout`. Every failure to get an
    /// answer is `.unavailable`, naming `what` and how it failed (never a header: the key is one).
    static func send(_ request: StripeRequest, what: String, client: HTTPClient, timeout: Duration, bytesMax: Int) async throws(GatewayError) -> StripeResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let answer = try await ProviderExchange.send(outgoing, what: what, client: client, timeout: timeout, bytesMax: bytesMax)
        return StripeResponse(status: answer.status, body: answer.body)
    }
}

