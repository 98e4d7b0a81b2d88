/// The payment provider `make run` uses: local, deterministic, with no account anywhere. It honours
/// Stripe's test payment methods, so a client written against Stripe's test mode behaves the same:
///
/// | payment method | outcome |
/// |---|---|
/// | `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard`, `pm_card_amex` | authorized |
/// | `pm_card_chargeDeclined` | declined, `card_declined` |
/// | `pm_card_chargeDeclinedInsufficientFunds` | declined, `insufficient_funds` |
/// | `pm_card_chargeDeclinedExpiredCard` | declined, `expired_card` |
/// | `pm_card_chargeDeclinedIncorrectCvc` | declined, `incorrect_cvc` |
/// | `pm_card_chargeDeclinedFraudulent` | declined, `fraudulent` |
/// | anything else | `invalidPaymentMethod` |
///
/// Idempotency keys behave as Stripe's: the same key with the same parameters answers the first
/// call's result again (even a failure); with other parameters it is refused. Ids count up
/// (`pi_sandbox_1`, …), so a run is repeatable.
public actor SandboxGateway: PaymentGateway {
    public static let approved: Set<String> = ["pm_card_visa", "pm_card_visa_debit", "pm_card_mastercard", "pm_card_amex"]
    public static let declines: [String: String] = [
        "pm_card_chargeDeclined": "card_declined",
        "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
        "pm_card_chargeDeclinedExpiredCard": "expired_card",
        "pm_card_chargeDeclinedIncorrectCvc": "incorrect_cvc",
        "pm_card_chargeDeclinedFraudulent": "fraudulent",
    ]

    private enum Answer {
        case payment(GatewayPayment)
        case refund(GatewayRefund)
        case payout(GatewayPayout)
        case failure(GatewayError)
    }

    private var payments: [String: GatewayPayment] = [:]
    private var refunds: [String: GatewayRefund] = [:]
    private var payouts: [String: GatewayPayout] = [:]
    /// By idempotency key: the call's parameters, and its answer.
    private var answers: [String: (request: String, answer: Answer)] = [:]
    private var paymentByKey: [String: String] = [:]
    private var counter = 0

    public init() {}

    /// Payouts made so far (for tests and the admin view of a local run).
    public var allPayouts: [GatewayPayout] { payouts.values.sorted { $0.id < $1.id } }

    private func nextID(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_sandbox_\(counter)"
    }

    /// Answers a repeated key from memory; otherwise runs `body` once and remembers its answer.
    private func once(_ key: String, request: String, _ body: () -> Answer) -> Answer {
        if let earlier = answers[key] {
            return earlier.request == request ? earlier.answer : .failure(.idempotencyKeyReused(key))
        }
        let answer = body()
        answers[key] = (request, answer)
        return answer
    }

    public func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let answer = once(idempotencyKey, request: "authorize \(amount) \(currency) \(paymentMethod ?? "-")") {
            guard amount > 0 else { return .failure(.invalidState("amount must be positive")) }
            if let method = paymentMethod, !Self.approved.contains(method), Self.declines[method] == nil {
                return .failure(.invalidPaymentMethod(method))
            }
            let id = nextID("pi")
            var payment = GatewayPayment(id: id, status: .requiresPaymentMethod, amount: amount, currency: currency, clientSecret: "\(id)_secret_\(counter)")
            paymentByKey[idempotencyKey] = id
            defer { payments[id] = payment }
            guard let method = paymentMethod else { return .payment(payment) }
            if let code = Self.declines[method] { return .failure(.declined(code: code)) }
            payment.status = .requiresCapture
            payment.clientSecret = nil
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    public func capture(_ id: String, amount: Int64?, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let answer = once(idempotencyKey, request: "capture \(id) \(amount.map(String.init) ?? "all")") {
            guard var payment = payments[id] else { return .failure(.notFound(id)) }
            guard payment.status == .requiresCapture else { return .failure(.invalidState("payment \(id) is \(payment.status.rawValue)")) }
            let taken = amount ?? payment.amount
            guard taken > 0, taken <= payment.amount else { return .failure(.invalidState("capture of \(taken) from \(payment.amount)")) }
            payment.status = .succeeded
            payment.amountCaptured = taken
            payments[id] = payment
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    public func void(_ id: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let answer = once(idempotencyKey, request: "void \(id)") {
            guard var payment = payments[id] else { return .failure(.notFound(id)) }
            guard payment.status == .requiresCapture || payment.status == .requiresPaymentMethod else {
                return .failure(.invalidState("payment \(id) is \(payment.status.rawValue)"))
            }
            payment.status = .canceled
            payments[id] = payment
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    public func refund(_ id: String, amount: Int64, idempotencyKey: String) throws(GatewayError) -> GatewayRefund {
        let answer = once(idempotencyKey, request: "refund \(id) \(amount)") {
            guard var payment = payments[id] else { return .failure(.notFound(id)) }
            guard payment.status == .succeeded else { return .failure(.invalidState("payment \(id) is \(payment.status.rawValue)")) }
            guard amount > 0, amount <= payment.amountCaptured - payment.amountRefunded else {
                return .failure(.invalidState("refund of \(amount) with \(payment.amountCaptured - payment.amountRefunded) left"))
            }
            payment.amountRefunded += amount
            payments[id] = payment
            let refund = GatewayRefund(id: nextID("re"), payment: id, amount: amount)
            refunds[refund.id] = refund
            return .refund(refund)
        }
        switch answer {
        case let .refund(refund): return refund
        case let .failure(error): throw error
        default: throw .invalidState("not a refund")
        }
    }

    public func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayout {
        let answer = once(idempotencyKey, request: "payout \(amount) \(currency) \(destination)") {
            guard amount > 0 else { return .failure(.invalidState("amount must be positive")) }
            guard destination.hasPrefix("acct_"), destination.count > 5 else { return .failure(.invalidState("\(destination) is not a connected account")) }
            let payout = GatewayPayout(id: nextID("po"), amount: amount, currency: currency, destination: destination)
            payouts[payout.id] = payout
            return .payout(payout)
        }
        switch answer {
        case let .payout(payout): return payout
        case let .failure(error): throw error
        default: throw .invalidState("not a payout")
        }
    }

    public func payment(forIdempotencyKey key: String) -> GatewayPayment? { paymentByKey[key].flatMap { payments[$0] } }

    private func paymentResult(_ answer: Answer) throws(GatewayError) -> GatewayPayment {
        switch answer {
        case let .payment(payment): return payment
        case let .failure(error): throw error
        default: throw .invalidState("not a payment")
        }
    }
}
