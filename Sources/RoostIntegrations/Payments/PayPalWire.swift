import Foundation

// What goes over the wire to PayPal and back: amounts as decimal strings, the JSON shapes of the
// Orders v2, Payments v2, Payouts v1 and OAuth answers this adapter reads, and the mapping of
// PayPal's error bodies onto ``GatewayError``.

// MARK: - Amounts

/// Minor units ⇄ PayPal's amounts, which are decimal strings in major units (`"15.00"`).
///
/// The conversion is integer arithmetic only — never through `Double`, which cannot hold most
/// decimal fractions exactly. The exponent of a currency is ISO 4217's (JPY 0, USD 2, BHD 3),
/// overridable per currency so that it can agree with Roost's own currency table.
enum PayPalAmount {
    /// ISO 4217 currencies without minor units.
    static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    /// ISO 4217 currencies with three decimals.
    static let threeDecimal: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
    /// ISO 4217 currencies with four decimals.
    static let fourDecimal: Set<String> = ["CLF", "UYW"]
    /// Currencies whose ISO exponent is 2 but that PayPal only takes in whole units ("this
    /// currency does not support decimals", PayPal's currency codes reference): an amount with a
    /// fraction cannot be sent at all, rather than be rounded.
    static let wholeUnitsAtPayPal: Set<String> = ["HUF", "TWD"]

    /// The minor-unit exponent of `currency`: the override, else ISO 4217's; nil for a code that
    /// is not three upper-case letters.
    static func exponent(of currency: String, overrides: [String: Int]) -> Int? {
        if let exponent = overrides[currency] { return (0...9).contains(exponent) ? exponent : nil }
        guard currency.utf8.count == 3, currency.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
        if zeroDecimal.contains(currency) { return 0 }
        if threeDecimal.contains(currency) { return 3 }
        if fourDecimal.contains(currency) { return 4 }
        return 2
    }

    /// `minor` units of a currency with `exponent` decimals as PayPal writes them: `"1500"` (JPY),
    /// `"15.00"` (USD), `"1.500"` (BHD). Nil for a negative amount, or one with a fraction that
    /// PayPal does not take (`wholeUnits`).
    static func format(_ minor: Int64, exponent: Int, wholeUnits: Bool = false) -> String? {
        guard minor >= 0, (0...9).contains(exponent) else { return nil }
        var value = minor
        var decimals = exponent
        if wholeUnits && exponent > 0 {
            let unit = power(exponent)
            guard value % unit == 0 else { return nil }
            value /= unit
            decimals = 0
        }
        guard decimals > 0 else { return String(value) }
        let unit = power(decimals)
        let fraction = String(value % unit)
        return "\(value / unit).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
    }

    /// A PayPal amount (`"15.00"`, `"15"`, `"15.5"`) in minor units of a currency with `exponent`
    /// decimals. Nil for anything else: signs, exponents, spaces, more decimals than the currency
    /// has, or an overflow.
    static func parse(_ text: String, exponent: Int) -> Int64? {
        guard (0...9).contains(exponent), !text.isEmpty, text.utf8.count <= 40 else { return nil }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty, whole.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            fraction.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), fraction.count <= exponent,
            parts.count == 1 || !fraction.isEmpty
        else { return nil }
        var result: Int64 = 0
        for digit in Array(whole.utf8) + Array(fraction.utf8) + Array(repeating: UInt8(ascii: "0"), count: exponent - fraction.count) {
            let (times, overflowed) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflowedAgain) = times.addingReportingOverflow(Int64(digit - 0x30))
            guard !overflowed, !overflowedAgain else { return nil }
            result = sum
        }
        return result
    }

    static func power(_ exponent: Int) -> Int64 {
        var result: Int64 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }
}

// MARK: - Requests

/// `{currency_code, value}`, as Orders v2 and Payments v2 write money.
struct PayPalMoney: Codable, Sendable, Equatable {
    var currencyCode: String?
    var value: String?
}

/// `POST /v2/checkout/orders`.
struct PayPalCreateOrder: Encodable {
    var intent = "AUTHORIZE"
    var purchaseUnits: [Unit]
    /// `{"card": {"vault_id": …}}`, `{"paypal": {"vault_id": …}}` or, for a buyer who approves on
    /// PayPal's pages, `{"paypal": {"experience_context": …}}`.
    var paymentSource: [String: Source]?

    struct Unit: Encodable {
        var referenceId: String
        var customId: String
        var amount: PayPalMoney
    }

    struct Source: Encodable {
        var vaultId: String?
        var experienceContext: Experience?
    }

    struct Experience: Encodable {
        var returnUrl: String
        var cancelUrl: String
        var userAction = "CONTINUE"
    }
}

/// `POST /v2/payments/authorizations/{id}/capture`.
struct PayPalCaptureRequest: Encodable {
    /// Absent: all of the authorization.
    var amount: PayPalMoney?
    /// Always true: a payment is captured once, and PayPal releases what is left of the hold.
    var finalCapture = true
}

/// `POST /v2/payments/captures/{id}/refund`. The amount is always sent: without it PayPal refunds
/// everything that is left, which a replay must never mean.
struct PayPalRefundRequest: Encodable {
    var amount: PayPalMoney
}

/// `POST /v1/payments/payouts`, one item.
struct PayPalPayoutRequest: Encodable {
    var senderBatchHeader: Header
    var items: [Item]

    struct Header: Encodable {
        var senderBatchId: String
        var emailSubject: String
    }

    struct Item: Encodable {
        var recipientType: String
        var receiver: String
        var amount: Amount
        var senderItemId: String
    }

    /// Payouts v1 writes money as `{value, currency}`, not as Orders' `{currency_code, value}`.
    struct Amount: Encodable {
        var value: String
        var currency: String
    }
}

// MARK: - Answers

struct PayPalLink: Decodable, Sendable {
    var href: String?
    var rel: String?
}

/// An authorization, a capture or a refund: the parts of each that this adapter reads.
struct PayPalPaymentRecord: Decodable, Sendable {
    var id: String?
    var status: String?
    var amount: PayPalMoney?
    var statusDetails: StatusDetails?
    var links: [PayPalLink]?

    struct StatusDetails: Decodable, Sendable {
        var reason: String?
    }
}

/// An Orders v2 order, as `Prefer: return=representation` answers it.
struct PayPalOrder: Decodable, Sendable {
    var id: String?
    var status: String?
    var purchaseUnits: [PurchaseUnit]?
    var links: [PayPalLink]?

    struct PurchaseUnit: Decodable, Sendable {
        var customId: String?
        var amount: PayPalMoney?
        var payments: Payments?
    }

    struct Payments: Decodable, Sendable {
        var authorizations: [PayPalPaymentRecord]?
        var captures: [PayPalPaymentRecord]?
        var refunds: [PayPalPaymentRecord]?
    }
}

struct PayPalTokenAnswer: Decodable {
    var accessToken: String?
    var tokenType: String?
    var expiresIn: Int64?
}

struct PayPalPayoutAnswer: Decodable {
    var batchHeader: Header?

    struct Header: Decodable {
        var payoutBatchId: String?
        var batchStatus: String?
    }
}

/// PayPal's error body: `{name, message, details: [{issue, description, field}]}`; the OAuth
/// endpoint answers `{error, error_description}` instead.
struct PayPalErrorBody: Decodable {
    var name: String?
    var message: String?
    var details: [Detail]?
    var error: String?

    struct Detail: Decodable {
        var issue: String?
        var field: String?
    }

    /// The first detail's issue (`INSTRUMENT_DECLINED`), else the error's name.
    var issue: String? { details?.lazy.compactMap(\.issue).first ?? name ?? error }
}

enum PayPalJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Deterministic bytes, so that a retry sends exactly the first call's body.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static func encode(_ value: some Encodable) -> [UInt8]? {
        (try? encoder().encode(value)).map { Array($0) }
    }

    static func decode<Value: Decodable>(_: Value.Type, from bytes: [UInt8]) -> Value? {
        try? decoder().decode(Value.self, from: Data(bytes))
    }

    /// An id from a caller or from PayPal, made safe to put in a path: PayPal's ids are letters
    /// and digits, so anything else is percent-encoded rather than trusted.
    static func pathSegment(_ id: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_")
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

// MARK: - Errors

/// PayPal's failures as ``GatewayError``s.
///
/// | PayPal's answer | error |
/// |---|---|
/// | an issue in ``requestIDIssues`` (`PAYPAL_REQUEST_ID_PREVIOUSLY_USED`, `DUPLICATE_REQUEST_ID`) | `idempotencyKeyReused` with the key |
/// | an issue in ``stateIssues`` (`AUTHORIZATION_ALREADY_CAPTURED`, `AUTHORIZATION_VOIDED`, `REFUND_AMOUNT_EXCEEDED` …) | `invalidState` with the issue |
/// | 400 naming a `payment_source` field, to an authorize with a payment method | `invalidPaymentMethod` |
/// | 404 (`RESOURCE_NOT_FOUND`, `INVALID_RESOURCE_ID`) | `notFound` with the id the caller named |
/// | any other 422 (`INSTRUMENT_DECLINED`, `PAYER_ACTION_REQUIRED`, `TRANSACTION_REFUSED` …) | `declined(code:)` with the issue |
/// | other 400s | `invalidState` with the issue |
/// | 401 after one refresh of the token, 403, 409, 429, 5xx, anything else | `unavailable` |
///
/// PayPal's own `message` and `description` texts are not passed on: the issue name says what
/// happened, and a message could echo what was sent.
enum PayPalFailure {
    static let requestIDIssues: Set<String> = ["PAYPAL_REQUEST_ID_PREVIOUSLY_USED", "DUPLICATE_REQUEST_ID"]

    /// Issues that say the call does not fit the payment's state (or amounts), rather than that
    /// the buyer's money was refused.
    static let stateIssues: Set<String> = [
        "AUTHORIZATION_ALREADY_CAPTURED", "AUTHORIZATION_VOIDED", "AUTHORIZATION_EXPIRED", "PREVIOUSLY_VOIDED",
        "PREVIOUSLY_CAPTURED", "CANNOT_BE_VOIDED", "MAX_CAPTURE_AMOUNT_EXCEEDED", "MAX_CAPTURE_COUNT_EXCEEDED",
        "MAX_AUTHORIZATION_COUNT_EXCEEDED", "DECIMAL_PRECISION", "CURRENCY_MISMATCH", "CANNOT_BE_ZERO_OR_NEGATIVE",
        "REFUND_AMOUNT_EXCEEDED", "REFUND_AMOUNT_TOO_LOW", "CAPTURE_FULLY_REFUNDED", "REFUND_CAPTURE_CURRENCY_MISMATCH",
        "REFUND_NOT_ALLOWED", "REFUND_TIME_LIMIT_EXCEEDED", "PARTIAL_REFUND_NOT_ALLOWED", "CAPTURE_STATUS_NOT_VALID",
        "ORDER_ALREADY_AUTHORIZED", "ORDER_ALREADY_CAPTURED", "ORDER_NOT_APPROVED", "ORDER_EXPIRED", "ORDER_COMPLETED_OR_VOIDED",
        "ORDER_CANNOT_BE_SAVED", "AMOUNT_MISMATCH", "TRANSACTION_LIMIT_EXCEEDED", "DUPLICATE_INVOICE_ID",
    ]

    /// What an answer that is not a success means; `id` is what the caller named (an order id).
    static func map(_ response: PayPalResponse, what: String, key: String?, id: String?, paymentMethod: String? = nil) -> GatewayError {
        let body = PayPalJSON.decode(PayPalErrorBody.self, from: response.body)
        let issue = body?.issue
        let named = issue.map { " \($0)" } ?? ""
        if let issue, requestIDIssues.contains(issue) {
            return .idempotencyKeyReused(key ?? "(none)")
        }
        if let issue, stateIssues.contains(issue) {
            return .invalidState("PayPal \(what): \(issue)")
        }
        switch response.status {
        case 400:
            if let paymentMethod, body?.details?.contains(where: { $0.field?.contains("payment_source") == true }) == true {
                return .invalidPaymentMethod(paymentMethod)
            }
            return .invalidState("PayPal \(what): HTTP 400\(named)")
        case 404:
            return .notFound(id ?? what)
        case 422:
            return .declined(code: issue ?? "UNPROCESSABLE_ENTITY")
        case 401:
            return .unavailable("PayPal \(what): the access token was refused twice (401)")
        default:
            return .unavailable("PayPal \(what): HTTP \(response.status)\(named)")
        }
    }
}
