import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// ``PaymentGateway`` over PayPal's REST APIs: Orders v2 with intent `AUTHORIZE` for payments,
/// Payments v2 for captures, voids and refunds, Payouts v1 for hosts.
///
/// **What a payment is.** ``GatewayPayment/id`` is the PayPal *order* id. An order carries the
/// whole life of the payment — its amount, its authorization, captures and refunds — so one
/// `GET /v2/checkout/orders/{id}` answers what a payment is now, and the id exists from the first
/// call, before the buyer approves anything. `capture`, `void` and `refund` read the order first,
/// to find the authorization (`purchase_units[0].payments.authorizations`) or capture they act on:
/// one extra GET per call, and in exchange the id that bookings keep never changes.
///
/// **Authorize.** With a payment method — a token from PayPal's vault, `card:<vault_id>`,
/// `paypal:<vault_id>`, `venmo:<vault_id>`, or a bare `<vault_id>` of the configured default kind —
/// the order is created with `payment_source.<kind>.vault_id`. PayPal completes such an order at
/// once (status `COMPLETED`, with an authorization); when it instead answers `APPROVED`, the gateway
/// authorizes it with `POST /v2/checkout/orders/{id}/authorize`. A `DENIED` authorization or a 422
/// (`INSTRUMENT_DECLINED` …) is `declined`. A vaulted card that needs the buyer (3-D Secure) answers
/// `PAYER_ACTION_REQUIRED`: that is `requiresPaymentMethod`, not an authorization.
///
/// Without a payment method the order waits for its buyer (`CREATED` or `PAYER_ACTION_REQUIRED`):
/// that is `requiresPaymentMethod`, and ``GatewayPayment/clientSecret`` is **the URL the buyer
/// approves the order at** (the `approve` or `payer-action` link) — PayPal has no client secret;
/// the approval link is what a client needs to finish the payment. Unlike Stripe, where a client's
/// confirmation leaves the payment authorized, a PayPal order the buyer approved is only
/// `APPROVED`, read as `requiresAuthorization`: the server must still authorize it, with
/// ``authorizeApproved(_:idempotencyKey:)`` (bookings do when the buyer's approval event arrives,
/// or when they reconcile).
///
/// **Capture** is always final (`final_capture: true`): a partial capture releases the rest of the
/// hold, as a payment is captured once. PayPal honours an authorization for 3 days and lets it be
/// captured for 29; a capture after the honour period may be refused by the buyer's bank.
/// **Void** works on an authorization only: PayPal cannot cancel an order that still waits for its
/// buyer (it lapses by itself), so voiding one is `invalidState`. **Refund** goes to the order's
/// capture (Roost captures once, so there is one); the amount is always sent, never "the rest".
///
/// **Idempotency.** Every POST carries the caller's key as `PayPal-Request-Id`, and the order's
/// `custom_id` (and `reference_id`) is the key too. PayPal answers a repeated request id with the
/// first call's result (its latest status) for as long as it keeps ids — 6 hours for Orders by
/// default (72 on request), 30 days for Payouts — so a retry never moves money twice. The one
/// POST the protocol does not name, the authorize step of an approved order, uses `<key>:authorize`.
/// A payout's `sender_batch_id` is the key as well, which PayPal never pays twice within 30 days.
///
/// **Finding a payment by key** (``payment(forIdempotencyKey:)``): PayPal has no lookup by request
/// id or by `custom_id`. See that method for how it is done, and its limits.
///
/// **Amounts** are decimal strings in major units, converted from minor units with the currency's
/// ISO 4217 exponent (JPY `"1500"`, USD `"15.00"`, BHD `"1.500"`) in integers. PayPal takes HUF and
/// TWD in whole units only: an amount with a fraction of those is refused (`invalidState`) rather
/// than rounded. (PayPal does not offer BHD, KWD, JOD, OMR or TND accounts today; they are
/// formatted correctly all the same, and PayPal's answer decides.)
///
/// Error mapping: ``PayPalFailure``. No message carries the client secret, a token or a URL.
public struct PayPalGateway: PaymentGateway {
    public struct Configuration: Sendable, CustomStringConvertible {
        /// What a bare vault token (without a `card:`/`paypal:`/`venmo:` prefix) is.
        public enum VaultedSource: String, Sendable, CaseIterable {
            case card, paypal, venmo
        }

        /// The REST app's client id and secret, exchanged for an access token (HTTP Basic auth).
        public var clientID: String
        public var clientSecret: String
        /// scheme://host[:port], no path: ``liveBaseURL``, ``sandboxBaseURL`` or a stand-in.
        public var baseURL: String
        /// How long one call may take, from connecting to the last byte of the answer.
        public var requestTimeout: Duration
        /// The largest answer read: an order with its payments is a few KiB.
        public var responseBytesMax: Int
        /// How long before PayPal's stated expiry a token is replaced (at most half its life).
        public var tokenRefreshMargin: Duration
        public var defaultVaultedSource: VaultedSource
        /// Where PayPal sends a buyer back after approving (or cancelling) an order created
        /// without a payment method. Both set: sent as `payment_source.paypal.experience_context`.
        public var returnURL: String?
        public var cancelURL: String?
        /// The subject of the email PayPal sends a host who is paid.
        public var payoutEmailSubject: String
        /// Minor-unit exponents that differ from ISO 4217's, so that the gateway agrees with the
        /// currency table Roost prices in.
        public var currencyExponents: [String: Int]
        /// How many recent authorize calls are remembered for ``PayPalGateway/payment(forIdempotencyKey:)``.
        public var rememberedRequestsMax: Int

        public static let liveBaseURL = "https://api-m.paypal.com"
        public static let sandboxBaseURL = "https://api-m.sandbox.paypal.com"

        public init(
            clientID: String,
            clientSecret: String,
            baseURL: String = Self.sandboxBaseURL,
            requestTimeout: Duration = .seconds(30),
            responseBytesMax: Int = 1 << 20,
            tokenRefreshMargin: Duration = .seconds(300),
            defaultVaultedSource: VaultedSource = .paypal,
            returnURL: String? = nil,
            cancelURL: String? = nil,
            payoutEmailSubject: String = "You have a payout from Roost",
            currencyExponents: [String: Int] = [:],
            rememberedRequestsMax: Int = 10_000
        ) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.baseURL = baseURL
            self.requestTimeout = requestTimeout
            self.responseBytesMax = responseBytesMax
            self.tokenRefreshMargin = tokenRefreshMargin
            self.defaultVaultedSource = defaultVaultedSource
            self.returnURL = returnURL
            self.cancelURL = cancelURL
            self.payoutEmailSubject = payoutEmailSubject
            self.currencyExponents = currencyExponents
            self.rememberedRequestsMax = rememberedRequestsMax
        }

        /// Everything but the secret, so a configuration can be logged.
        public var description: String {
            "PayPalGateway.Configuration(baseURL: \(baseURL), clientID: \(clientID), clientSecret: \(clientSecret.isEmpty ? "none" : "set"), "
                + "defaultVaultedSource: \(defaultVaultedSource.rawValue))"
        }
    }

    public let configuration: Configuration
    let connection: PayPalConnection
    private let requests: PayPalRequestMemory

    /// - Parameters:
    ///   - httpClient: the client to send with; the caller owns it (and shuts it down).
    ///   - now: the clock access tokens expire by.
    public init(
        configuration: Configuration,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(PayPalConfigurationError) {
        guard configuration.rememberedRequestsMax > 0 else { throw PayPalConfigurationError(reason: "rememberedRequestsMax must be positive") }
        self.configuration = configuration
        self.connection = try PayPalConnection(configuration: configuration, httpClient: httpClient, now: now)
        self.requests = PayPalRequestMemory(capacity: configuration.rememberedRequestsMax)
    }

    // MARK: - PaymentGateway

    public func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        guard amount > 0 else { throw .invalidState("amount must be positive") }
        let money = try money(amount, currency)
        var source: [String: PayPalCreateOrder.Source]?
        if let paymentMethod {
            guard let vaulted = vaulted(paymentMethod) else { throw .invalidPaymentMethod(paymentMethod) }
            source = [vaulted.kind: .init(vaultId: vaulted.vaultID)]
        } else if let returnURL = configuration.returnURL, let cancelURL = configuration.cancelURL {
            source = ["paypal": .init(experienceContext: .init(returnUrl: returnURL, cancelUrl: cancelURL))]
        }
        let request = PayPalCreateOrder(
            purchaseUnits: [.init(referenceId: idempotencyKey, customId: idempotencyKey, amount: money)], paymentSource: source
        )
        let body = try encoded(request)
        await requests.sent(idempotencyKey, body: body)
        let response = try await connection.call(.POST, "/v2/checkout/orders", body: body, requestID: idempotencyKey, what: "create order")
        guard response.isSuccess else {
            throw PayPalFailure.map(response, what: "create order", key: idempotencyKey, id: nil, paymentMethod: paymentMethod)
        }
        var order = try decoded(PayPalOrder.self, response, what: "create order")
        if let id = order.id { await requests.answered(idempotencyKey, orderID: id) }
        if paymentMethod != nil, order.status == "APPROVED", order.latestAuthorization == nil, let id = order.id {
            order = try await authorizeOrder(id, requestID: "\(idempotencyKey):authorize", paymentMethod: paymentMethod)
        }
        if let authorization = order.latestAuthorization, authorization.status == "DENIED" {
            throw .declined(code: authorization.statusDetails?.reason ?? "DENIED")
        }
        return try payment(from: order, what: "create order")
    }

    public func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        var order = try await fetchOrder(payment)
        let current = try self.payment(from: order, what: "capture")
        guard let authorization = order.latestAuthorization?.id else {
            throw .invalidState("PayPal order \(payment) has no authorization to capture (\(order.status ?? "no status"))")
        }
        var request = PayPalCaptureRequest()
        if let amount {
            guard amount > 0 else { throw .invalidState("a capture must be positive") }
            request.amount = try money(amount, current.currency)
        }
        let response = try await connection.call(
            .POST, "/v2/payments/authorizations/\(PayPalJSON.pathSegment(authorization))/capture",
            body: try encoded(request), requestID: idempotencyKey, what: "capture"
        )
        guard response.isSuccess else { throw PayPalFailure.map(response, what: "capture", key: idempotencyKey, id: payment) }
        let capture = try decoded(PayPalPaymentRecord.self, response, what: "capture")
        order.merge(capture, into: \.captures)
        order.setAuthorizationStatus("CAPTURED")
        return try self.payment(from: order, what: "capture")
    }

    public func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        var order = try await fetchOrder(payment)
        guard let authorization = order.latestAuthorization?.id else {
            throw .invalidState("PayPal order \(payment) has no authorization to void (\(order.status ?? "no status")); PayPal cannot cancel an order that waits for its buyer — it lapses by itself")
        }
        let response = try await connection.call(
            .POST, "/v2/payments/authorizations/\(PayPalJSON.pathSegment(authorization))/void",
            body: nil, requestID: idempotencyKey, what: "void"
        )
        guard response.isSuccess else { throw PayPalFailure.map(response, what: "void", key: idempotencyKey, id: payment) }
        // 204 without a body, or the voided authorization with `Prefer: return=representation`.
        if let voided = PayPalJSON.decode(PayPalPaymentRecord.self, from: response.body), voided.id != nil {
            order.merge(voided, into: \.authorizations)
        }
        order.setAuthorizationStatus("VOIDED")
        return try self.payment(from: order, what: "void")
    }

    public func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
        guard amount > 0 else { throw .invalidState("a refund must be positive") }
        let order = try await fetchOrder(payment)
        let current = try self.payment(from: order, what: "refund")
        let captures = (order.purchaseUnits?.first?.payments?.captures ?? []).filter { ["COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"].contains($0.status ?? "") }
        guard let capture = captures.last?.id else {
            throw .invalidState("PayPal order \(payment) has no capture to refund (\(current.status.rawValue))")
        }
        let request = PayPalRefundRequest(amount: try money(amount, current.currency))
        let response = try await connection.call(
            .POST, "/v2/payments/captures/\(PayPalJSON.pathSegment(capture))/refund",
            body: try encoded(request), requestID: idempotencyKey, what: "refund"
        )
        guard response.isSuccess else { throw PayPalFailure.map(response, what: "refund", key: idempotencyKey, id: payment) }
        let refund = try decoded(PayPalPaymentRecord.self, response, what: "refund")
        guard let id = refund.id else { throw .unavailable("PayPal refund: an answer without the refund's id") }
        if let status = refund.status, status == "FAILED" || status == "CANCELLED" {
            throw .invalidState("PayPal refund \(id) is \(status)")
        }
        var refunded = amount
        if let money = refund.amount { refunded = try minorUnits(money, what: "refund") }
        return GatewayRefund(id: id, payment: payment, amount: refunded)
    }

    /// Pays a host through Payouts: `destination` is the host's PayPal account, an email address
    /// (`recipient_type` `EMAIL`) or a PayPal payer id (`PAYPAL_ID`). PayPal's payouts are
    /// asynchronous: the batch is accepted `PENDING` and paid later, and a payout to an email with
    /// no PayPal account waits to be claimed (and returns after 30 days). ``GatewayPayout`` means
    /// "accepted by PayPal", its id the `payout_batch_id`. Roost's current `acct_<host>`
    /// destinations are Stripe connected accounts, not PayPal accounts: PayPal refuses them.
    public func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
        guard amount > 0 else { throw .invalidState("amount must be positive") }
        guard !destination.isEmpty, !destination.contains(where: \.isWhitespace) else {
            throw .invalidState("\(destination) is not a PayPal account")
        }
        let money = try money(amount, currency)
        let request = PayPalPayoutRequest(
            senderBatchHeader: .init(senderBatchId: idempotencyKey, emailSubject: configuration.payoutEmailSubject),
            items: [
                .init(
                    recipientType: destination.contains("@") ? "EMAIL" : "PAYPAL_ID", receiver: destination,
                    amount: .init(value: money.value ?? "", currency: money.currencyCode ?? currency), senderItemId: idempotencyKey
                )
            ]
        )
        let response = try await connection.call(.POST, "/v1/payments/payouts", body: try encoded(request), requestID: idempotencyKey, what: "payout")
        guard response.isSuccess else {
            // Payouts refuses a receiver it cannot pay with 4xx business errors, not declines.
            let error = PayPalFailure.map(response, what: "payout", key: idempotencyKey, id: nil)
            if case let .declined(code) = error { throw .invalidState("PayPal payout: \(code)") }
            throw error
        }
        let answer = try decoded(PayPalPayoutAnswer.self, response, what: "payout")
        guard let id = answer.batchHeader?.payoutBatchId else { throw .unavailable("PayPal payout: an answer without payout_batch_id") }
        if answer.batchHeader?.batchStatus == "DENIED" { throw .invalidState("PayPal denied payout batch \(id)") }
        return GatewayPayout(id: id, amount: amount, currency: money.currencyCode ?? currency, destination: destination)
    }

    /// The order an `authorize` with `key` created. PayPal has no lookup by `PayPal-Request-Id` or
    /// by `custom_id` (Transaction Search can filter neither, and lags by hours), so:
    ///
    /// 1. An order this process created with `key` (the last ``Configuration/rememberedRequestsMax``
    ///    are remembered) is read with a GET.
    /// 2. Otherwise — after a restart, or when the authorize never heard back — the create is sent
    ///    again with the same `PayPal-Request-Id` and a body PayPal cannot accept as a new order
    ///    (no purchase units). PayPal answers a request id it has seen with the first call's result,
    ///    the order in its latest status, and validates the body only of a new call: a 400 means
    ///    PayPal holds no call with this key, so none created an order → `nil`; a 422 is a create
    ///    PayPal refused for good (a decline) answered again → `nil`. Nothing can be created by
    ///    this probe. Should PayPal instead refuse the id as used by another request
    ///    (`PAYPAL_REQUEST_ID_PREVIOUSLY_USED`), the remembered original body is replayed, which
    ///    PayPal answers with the original order; without it the outcome is unknown → `unavailable`.
    ///
    /// Caveats: PayPal keeps Orders request ids for 6 hours by default (72 on request); after that
    /// this answers `nil` even for an order that exists. And that PayPal checks a known request id
    /// before it validates the body is what its idempotency guide describes ("returns the latest
    /// status of the previous request"), not a contract per field: prove it against PayPal's
    /// sandbox before relying on it. A key whose lookup answered `nil` must not then be used to
    /// authorize (Roost never does: a new attempt is a new booking, with a new key).
    public func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment? {
        let remembered = await requests.lookup(key)
        if case let .order(id)? = remembered {
            return try await retrieve(id)
        }
        let probe = Array(#"{"intent":"AUTHORIZE","purchase_units":[]}"#.utf8)
        let response = try await connection.call(.POST, "/v2/checkout/orders", body: probe, requestID: key, what: "find order")
        let issue = PayPalJSON.decode(PayPalErrorBody.self, from: response.body)?.issue ?? ""
        guard PayPalFailure.requestIDIssues.contains(issue) else { return try await found(response, key: key) }
        guard case let .sent(original)? = remembered else {
            throw .unavailable("PayPal holds a call with key \(key) but answers it only to its original request, which this process does not have")
        }
        let replay = try await connection.call(.POST, "/v2/checkout/orders", body: original, requestID: key, what: "find order")
        return try await found(replay, key: key)
    }

    // MARK: - Beyond the protocol

    /// The payment an order is now.
    public func retrieve(_ orderID: String) async throws(GatewayError) -> GatewayPayment {
        try payment(from: try await fetchOrder(orderID), what: "get order")
    }

    /// Authorizes an order its buyer approved at the ``GatewayPayment/clientSecret`` link (status
    /// `APPROVED`): the step PayPal leaves to the server and ``PaymentGateway`` has no call for.
    /// Answers `requiresCapture`, or throws `declined`.
    public func authorizeApproved(_ orderID: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        let order = try await authorizeOrder(orderID, requestID: idempotencyKey, paymentMethod: nil)
        if let authorization = order.latestAuthorization, authorization.status == "DENIED" {
            throw .declined(code: authorization.statusDetails?.reason ?? "DENIED")
        }
        return try payment(from: order, what: "authorize order")
    }

    // MARK: - Helpers

    /// What a create sent again with `key` says: the order it made; or, for a 400 (the probe's body
    /// was validated: PayPal holds no call with this key) or a 422 (a create PayPal refused for
    /// good, such as a decline, answered again), that no payment was made.
    private func found(_ response: PayPalResponse, key: String) async throws(GatewayError) -> GatewayPayment? {
        if response.status == 400 || response.status == 422 {
            let issue = PayPalJSON.decode(PayPalErrorBody.self, from: response.body)?.issue ?? ""
            guard PayPalFailure.requestIDIssues.contains(issue) else { return nil }
        }
        guard response.isSuccess else { throw PayPalFailure.map(response, what: "find order", key: key, id: nil) }
        let order = try decoded(PayPalOrder.self, response, what: "find order")
        if let id = order.id { await requests.answered(key, orderID: id) }
        return try payment(from: order, what: "find order")
    }

    private func fetchOrder(_ id: String) async throws(GatewayError) -> PayPalOrder {
        let response = try await connection.call(.GET, "/v2/checkout/orders/\(PayPalJSON.pathSegment(id))", body: nil, requestID: nil, what: "get order")
        guard response.isSuccess else { throw PayPalFailure.map(response, what: "get order", key: nil, id: id) }
        return try decoded(PayPalOrder.self, response, what: "get order")
    }

    private func authorizeOrder(_ id: String, requestID: String, paymentMethod: String?) async throws(GatewayError) -> PayPalOrder {
        let response = try await connection.call(
            .POST, "/v2/checkout/orders/\(PayPalJSON.pathSegment(id))/authorize", body: Array("{}".utf8), requestID: requestID, what: "authorize order"
        )
        guard response.isSuccess else {
            throw PayPalFailure.map(response, what: "authorize order", key: requestID, id: id, paymentMethod: paymentMethod)
        }
        return try decoded(PayPalOrder.self, response, what: "authorize order")
    }

    /// `card:…`, `paypal:…`, `venmo:…` or a bare vault id of the default kind.
    private func vaulted(_ method: String) -> (kind: String, vaultID: String)? {
        var kind = configuration.defaultVaultedSource
        var id = Substring(method)
        if let colon = method.firstIndex(of: ":"), let named = Configuration.VaultedSource(rawValue: String(method[..<colon])) {
            kind = named
            id = method[method.index(after: colon)...]
        }
        guard !id.isEmpty, id.utf8.count <= 255 else { return nil }
        return (kind.rawValue, String(id))
    }

    func money(_ amount: Int64, _ currency: String) throws(GatewayError) -> PayPalMoney {
        let code = currency.uppercased()
        guard let exponent = PayPalAmount.exponent(of: code, overrides: configuration.currencyExponents) else {
            throw .invalidState("\(currency) is not a currency code")
        }
        guard let value = PayPalAmount.format(amount, exponent: exponent, wholeUnits: PayPalAmount.wholeUnitsAtPayPal.contains(code)) else {
            throw .invalidState("PayPal cannot take \(amount) minor units of \(code)")
        }
        return PayPalMoney(currencyCode: code, value: value)
    }

    private func minorUnits(_ money: PayPalMoney, what: String) throws(GatewayError) -> Int64 {
        guard let code = money.currencyCode, let text = money.value,
            let exponent = PayPalAmount.exponent(of: code, overrides: configuration.currencyExponents),
            let amount = PayPalAmount.parse(text, exponent: exponent)
        else { throw .unavailable("PayPal \(what): an amount that is not a decimal of its currency") }
        return amount
    }

    /// What an order is as a ``GatewayPayment``: captured once anything is captured; else by its
    /// latest authorization (`CREATED`, and `PENDING` — held for PayPal's review, which a capture
    /// may have to wait for — are `requiresCapture`; `VOIDED`, `EXPIRED`, `DENIED` are `canceled`);
    /// without one, `requiresPaymentMethod` with the buyer's approval link.
    func payment(from order: PayPalOrder, what: String) throws(GatewayError) -> GatewayPayment {
        guard let id = order.id, let unit = order.purchaseUnits?.first, let money = unit.amount, let currency = money.currencyCode else {
            throw .unavailable("PayPal \(what): an order without its id and amount")
        }
        let amount = try minorUnits(money, what: what)
        let captured = try total(unit.payments?.captures, counting: ["COMPLETED", "PENDING", "PARTIALLY_REFUNDED", "REFUNDED"], what: what)
        let refunded = try total(unit.payments?.refunds, counting: ["COMPLETED", "PENDING"], what: what)
        let status: GatewayPayment.Status
        if captured > 0 {
            status = .succeeded
        } else if let authorization = order.latestAuthorization {
            switch authorization.status {
            case "CREATED", "PENDING", "PARTIALLY_CAPTURED": status = .requiresCapture
            case "CAPTURED": status = .succeeded
            default: status = .canceled
            }
        } else if order.status == "VOIDED" {
            status = .canceled
        } else if order.status == "APPROVED" {
            status = .requiresAuthorization
        } else {
            status = .requiresPaymentMethod
        }
        let approval = order.links?.first { $0.rel == "approve" || $0.rel == "payer-action" }?.href
        return GatewayPayment(
            id: id, status: status, amount: amount, currency: currency, amountCaptured: captured, amountRefunded: refunded,
            clientSecret: status == .requiresPaymentMethod ? approval : nil
        )
    }

    private func total(_ records: [PayPalPaymentRecord]?, counting: Set<String>, what: String) throws(GatewayError) -> Int64 {
        var sum: Int64 = 0
        for record in records ?? [] where counting.contains(record.status ?? "") {
            guard let money = record.amount else { throw .unavailable("PayPal \(what): a payment without its amount") }
            sum += try minorUnits(money, what: what)
        }
        return sum
    }

    private func encoded(_ value: some Encodable) throws(GatewayError) -> [UInt8] {
        guard let body = PayPalJSON.encode(value) else { throw .invalidState("the request could not be encoded") }
        return body
    }

    private func decoded<Value: Decodable>(_: Value.Type, _ response: PayPalResponse, what: String) throws(GatewayError) -> Value {
        guard let value = PayPalJSON.decode(Value.self, from: response.body) else {
            throw .unavailable("PayPal \(what): an answer that is not the expected JSON (HTTP \(response.status))")
        }
        return value
    }
}

extension PayPalOrder {
    var latestAuthorization: PayPalPaymentRecord? { purchaseUnits?.first?.payments?.authorizations?.last }

    /// Adds `record` to the first purchase unit's list at `list`, or replaces the one with its id
    /// (a replayed call answers the same capture again).
    mutating func merge(_ record: PayPalPaymentRecord, into list: WritableKeyPath<Payments, [PayPalPaymentRecord]?>) {
        guard var units = purchaseUnits, !units.isEmpty else { return }
        var payments = units[0].payments ?? Payments()
        var records = payments[keyPath: list] ?? []
        if let index = records.firstIndex(where: { $0.id == record.id }) {
            records[index] = record
        } else {
            records.append(record)
        }
        payments[keyPath: list] = records
        units[0].payments = payments
        purchaseUnits = units
    }

    mutating func setAuthorizationStatus(_ status: String) {
        guard var units = purchaseUnits, !units.isEmpty, var authorizations = units[0].payments?.authorizations, !authorizations.isEmpty else { return }
        authorizations[authorizations.count - 1].status = status
        units[0].payments?.authorizations = authorizations
        purchaseUnits = units
    }
}

/// The recent authorize calls of this process, by idempotency key: the body sent and, once PayPal
/// answered, the order it made. Bounded: the oldest are forgotten first.
actor PayPalRequestMemory {
    enum Entry: Sendable {
        case sent([UInt8])
        case order(String)
    }

    private let capacity: Int
    private var entries: [String: (entry: Entry, sequence: Int)] = [:]
    private var arrivals: [(key: String, sequence: Int)] = []
    private var head = 0
    private var sequence = 0

    init(capacity: Int) { self.capacity = capacity }

    func sent(_ key: String, body: [UInt8]) {
        if case .order? = entries[key]?.entry { return }
        remember(key, .sent(body))
    }

    func answered(_ key: String, orderID: String) { remember(key, .order(orderID)) }

    func lookup(_ key: String) -> Entry? { entries[key]?.entry }

    private func remember(_ key: String, _ entry: Entry) {
        if let existing = entries[key] {
            entries[key] = (entry, existing.sequence)
            return
        }
        sequence += 1
        entries[key] = (entry, sequence)
        arrivals.append((key, sequence))
        while entries.count > capacity, head < arrivals.count {
            let oldest = arrivals[head]
            head += 1
            if entries[oldest.key]?.sequence == oldest.sequence { entries[oldest.key] = nil }
        }
        if head > capacity {
            arrivals.removeFirst(head)
            head = 0
        }
    }
}
