/// A payment provider, as bookings use it: payments authorized first and captured later (manual
/// capture), voids, refunds and payouts to hosts' connected accounts. Every call that moves money
/// carries an idempotency key derived from our own ids, so a retry after a crash or a timeout can
/// never charge twice: the provider answers a repeated key with the first call's result.
public protocol PaymentGateway: Sendable {
    /// Creates a payment of `amount` (minor units of `currency`), authorized but not captured.
    /// With `paymentMethod` it is confirmed at once: authorized (`requiresCapture`), or
    /// `GatewayError.declined`. Without, it waits for the client (`requiresPaymentMethod`, with a
    /// `clientSecret`).
    func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment
    /// Creates a payment and captures it in the same call (automatic capture): `succeeded`, or
    /// `GatewayError.declined`. What instant book does; one call instead of authorize + capture.
    func charge(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment
    /// Captures `amount` (nil: all of it) of an authorized payment.
    func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment
    /// Releases an authorization without taking the money.
    func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment
    func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund
    /// Sends `amount` to a host's connected account.
    func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout
    /// The payment an `authorize` with this key created, if any: how a restart learns the outcome
    /// of a call it made but never heard back from.
    func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment?
    /// How long after a payment call `payment(forIdempotencyKey:)` may still not find the payment
    /// it made: zero where the lookup is consistent (the default: the sandbox's journal, PayPal's
    /// request-id replay). Until that long after the call, `nil` means "not found yet".
    var lookupLag: Duration { get }
    /// Authorizes a payment its buyer approved at the provider (`requiresAuthorization`: a PayPal
    /// order the buyer approved, which the server must still authorize). Answers `requiresCapture`,
    /// or throws `declined`. Providers whose client confirmation authorizes by itself (Stripe, the
    /// sandbox) never answer `requiresAuthorization` and keep the default, which refuses.
    func authorizeApproved(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment
}

public struct GatewayPayment: Hashable, Sendable {
    public enum Status: String, Sendable {
        case requiresPaymentMethod = "requires_payment_method"
        /// The buyer approved it at the provider; the server authorizes it (`authorizeApproved`).
        case requiresAuthorization = "requires_authorization"
        case requiresCapture = "requires_capture"
        case succeeded
        case canceled
    }

    /// The provider's id.
    public var id: String
    public var status: Status
    public var amount: Int64
    public var currency: String
    public var amountCaptured: Int64
    public var amountRefunded: Int64
    /// For the client to confirm a payment that waits for it.
    public var clientSecret: String?

    public init(id: String, status: Status, amount: Int64, currency: String, amountCaptured: Int64 = 0, amountRefunded: Int64 = 0, clientSecret: String? = nil) {
        self.id = id
        self.status = status
        self.amount = amount
        self.currency = currency
        self.amountCaptured = amountCaptured
        self.amountRefunded = amountRefunded
        self.clientSecret = clientSecret
    }
}

public struct GatewayRefund: Hashable, Sendable {
    public var id: String
    public var payment: String
    public var amount: Int64
}

public struct GatewayPayout: Hashable, Sendable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var destination: String
}

public enum GatewayError: Error, Equatable, Sendable {
    /// The provider said no (a declined card): the guest must try something else (402).
    case declined(code: String)
    /// Not a payment method the provider knows (422).
    case invalidPaymentMethod(String)
    case notFound(String)
    /// The call does not fit the payment's state (capturing a voided payment, refunding too much).
    case invalidState(String)
    /// The same idempotency key with different parameters.
    case idempotencyKeyReused(String)
    /// The provider could not be reached or did not answer: the outcome is unknown (503).
    case unavailable(String)
}

extension PaymentGateway {
    public var lookupLag: Duration { .zero }

    public func authorizeApproved(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        throw .invalidState("payment \(payment): this provider has no approval step")
    }

    /// For a provider without a one-call charge: authorize, then capture (the capture's key derived
    /// from the charge's, so a retry repeats both calls exactly).
    public func charge(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        let payment = try await authorize(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey)
        guard payment.status == .requiresCapture else { return payment }
        return try await capture(payment.id, amount: nil, idempotencyKey: idempotencyKey + ":capture")
    }
}
