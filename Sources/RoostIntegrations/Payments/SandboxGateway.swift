import Foundation
import HashTreeCollections
import RoostBinary
#if canImport(Glibc)
import Glibc
#endif

/// The payment provider `make run` uses: local, deterministic, with no account anywhere. It honours
/// Stripe's test payment methods, so a client written against Stripe's test mode behaves the same:
///
/// | payment method | outcome |
/// |---|---|
/// | `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard`, `pm_card_amex` | authorized (captured at once by `charge`) |
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
///
/// A provider remembers its payments across our restarts, so the sandbox keeps a journal: every
/// call with a new idempotency key is appended (and fsynced) as one line, and `open` replays them
/// in order — the sandbox is deterministic, so the replay rebuilds the same payments, ids and answers.
/// A call answers only once its line is on disk (an earlier answer replayed for the same key waits
/// for that too); lines are written in batches off the actor (`JournalFile`), so concurrent calls
/// share an fsync instead of queueing for one each.
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

    // Persistent hash trees, not Dictionaries: these grow by a few entries per booking for as long
    // as the sandbox runs, and a Dictionary that doubles rehashes every entry inside this actor.
    // Under a booking load that stalled every payment (and so every booking): 240 ms as the
    // answers passed 393,216, 550 ms at 786,432.
    private var payments: TreeDictionary<String, GatewayPayment> = [:]
    private var refunds: TreeDictionary<String, GatewayRefund> = [:]
    private var payouts: TreeDictionary<String, GatewayPayout> = [:]
    /// By idempotency key: the call's parameters, and its answer.
    private var answers: TreeDictionary<String, (request: String, answer: Answer, line: UInt64)> = [:]
    private var paymentByKey: TreeDictionary<String, String> = [:]
    private var keyOfPayment: TreeDictionary<String, String> = [:]
    private var webhooks: WebhookDelivery?
    private var counter = 0
    private var journal: JournalFile?
    private var replaying = false

    /// In memory only (tests).
    public init() {}


    /// Backed by the journal at `path` (created if missing), with its calls replayed.
    public static func open(journal path: String) async throws -> SandboxGateway {
        let gateway = SandboxGateway()
        try await gateway.attach(path)
        return gateway
    }

    private func attach(_ path: String) throws {
        var complete = 0
        if let data = FileManager.default.contents(atPath: path) {
            // A last line without its newline was cut by a crash mid-append: its call never answered.
            complete = (data.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
            replaying = true
            defer { replaying = false }
            for line in data.prefix(complete).split(separator: UInt8(ascii: "\n")) {
                guard let call = try? JSONDecoder().decode([String?].self, from: Data(line)) else { throw JournalError(path: path) }
                try replay(call)
            }
        }
        guard let file = JournalFile(path: path, length: complete) else { throw JournalError(path: path) }
        journal = file
    }

    public struct JournalError: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "the sandbox payment journal \(path) is unreadable or cannot be opened" }
    }

    private func replay(_ call: [String?]) throws {
        func text(_ index: Int) -> String { (call.count > index ? call[index] : nil) ?? "" }
        func int(_ index: Int) -> Int64? { call.count > index ? call[index].flatMap { Int64($0) } : nil }
        switch (call.first ?? nil, call.count) {
        case ("authorize", 5), ("authorize", 6):
            // Lines from before secrets were random end at the method: their secret was the counter.
            _ = try? authorizeNow(amount: int(2) ?? 0, currency: text(3), paymentMethod: call[4], idempotencyKey: text(1), secret: call.count == 6 ? text(5) : nil)
        case ("charge", 5):
            _ = try? chargeNow(amount: int(2) ?? 0, currency: text(3), paymentMethod: text(4), idempotencyKey: text(1))
        case ("confirm", 5):
            _ = try? confirmNow(text(2), clientSecret: text(3), paymentMethod: text(4), idempotencyKey: text(1))
        case ("capture", 4):
            _ = try? captureNow(text(2), amount: int(3), idempotencyKey: text(1))
        case ("void", 3):
            _ = try? voidNow(text(2), idempotencyKey: text(1))
        case ("refund", 4):
            _ = try? refundNow(text(2), amount: int(3) ?? 0, idempotencyKey: text(1))
        case ("payout", 5):
            _ = try? payoutNow(amount: int(2) ?? 0, currency: text(3), destination: text(4), idempotencyKey: text(1))
        default:
            throw JournalError(path: "(a line: \(call))")
        }
    }

    /// Appends one call to the journal as a line, a JSON array of strings and nulls (written
    /// directly: a JSONEncoder per call cost more than the rest of the sandbox's work); its number,
    /// to wait for (`durable`).
    private func record(_ call: [String?]) -> UInt64 {
        guard let journal, !replaying else { return 0 }
        var line: [UInt8] = [UInt8(ascii: "[")]
        line.reserveCapacity(256)
        for (i, field) in call.enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            if let field { JSONText.appendQuoted(field, to: &line) } else { line.append(contentsOf: "null".utf8) }
        }
        line.append(contentsOf: "]\n".utf8)
        return journal.append(line)
    }

    /// Waits until the line that answered `key` is on disk.
    private func durable(_ key: String) async {
        guard let journal, let line = answers[key]?.line, line > 0 else { return }
        await journal.waitUntilDurable(line)
    }

    /// `body`'s value or error, and then the wait for the disk: a call is answered only once it is durable.
    private func answered<Value: Sendable>(_ key: String, _ body: () throws(GatewayError) -> Value) async throws(GatewayError) -> Value {
        let result = Self.capture(body)
        await durable(key)
        return try result.get()
    }

    private static func capture<Value>(_ body: () throws(GatewayError) -> Value) -> Result<Value, GatewayError> {
        do {
            return .success(try body())
        } catch {
            return .failure(error)
        }
    }

    /// Where the sandbox sends its events: Stripe-shaped JSON, signed as Stripe signs
    /// (`Stripe-Signature` with `secret`), handed to `deliver` — Roost's own webhook handler, so
    /// the events go through the same verification as a real provider's.
    public struct WebhookDelivery: Sendable {
        public var secret: String
        /// The time events are stamped and signed with (the receiver's clock).
        public var now: @Sendable () -> Date
        public var deliver: @Sendable (_ body: [UInt8], _ signature: String) async -> Void

        public init(secret: String, now: @escaping @Sendable () -> Date, deliver: @escaping @Sendable (_ body: [UInt8], _ signature: String) async -> Void) {
            self.secret = secret
            self.now = now
            self.deliver = deliver
        }
    }

    public func deliverWebhooks(to delivery: WebhookDelivery) { webhooks = delivery }

    /// Confirms a payment that waits for its payment method, as Stripe.js does in the guest's
    /// browser with the payment's client secret: with an approved test card it is authorized
    /// (`requiresCapture`); a declined one leaves it waiting (another card may follow). Either way
    /// the event follows (`payment_intent.amount_capturable_updated` or `…payment_failed`),
    /// delivered before this returns. A wrong client secret is `notFound`, as Stripe answers.
    public func confirm(_ id: String, clientSecret: String, paymentMethod: String) async throws(GatewayError) -> GatewayPayment {
        let key = "confirm:\(id):\(clientSecret):\(paymentMethod)"
        let result = Self.capture { () throws(GatewayError) in try confirmNow(id, clientSecret: clientSecret, paymentMethod: paymentMethod, idempotencyKey: key) }
        await durable(key)
        if let payment = payments[id], let paymentKey = keyOfPayment[id], payments[id]?.clientSecret == clientSecret {
            let type = payment.status == .requiresCapture ? "payment_intent.amount_capturable_updated" : "payment_intent.payment_failed"
            await emit(type, payment, key: paymentKey)
        }
        return try result.get()
    }

    private func confirmNow(_ id: String, clientSecret: String, paymentMethod: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let call: [String?] = ["confirm", idempotencyKey, id, clientSecret, paymentMethod]
        let answer = once(idempotencyKey, request: "confirm \(id) \(clientSecret) \(paymentMethod)", call: call) {
            guard var payment = payments[id], payment.clientSecret == clientSecret else { return .failure(.notFound(id)) }
            guard payment.status == .requiresPaymentMethod else { return .failure(.invalidState("payment \(id) is \(payment.status.rawValue)")) }
            if let code = Self.declines[paymentMethod] { return .failure(.declined(code: code)) }
            guard Self.approved.contains(paymentMethod) else { return .failure(.invalidPaymentMethod(paymentMethod)) }
            payment.status = .requiresCapture
            payments[id] = payment
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    /// One event, signed, to the configured delivery (none configured: dropped, as for an
    /// account with no endpoint).
    private func emit(_ type: String, _ payment: GatewayPayment, key: String) async {
        guard let webhooks else { return }
        struct Event: Encodable {
            struct Body: Encodable { var object: Object }
            struct Object: Encodable {
                var id: String, object = "payment_intent", status: String, amount: Int64, currency: String, amount_received: Int64
                var metadata: [String: String]
            }
            var id: String, object = "event", type: String, created: Int64, livemode = false, data: Body
        }
        let created = Int64(webhooks.now().timeIntervalSince1970)
        let event = Event(
            id: "evt_sandbox_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""), type: type, created: created,
            data: .init(object: .init(
                id: payment.id, status: payment.status.rawValue, amount: payment.amount, currency: payment.currency.lowercased(),
                amount_received: payment.amountCaptured, metadata: [StripeGateway.idempotencyMetadataKey: key]
            ))
        )
        guard let body = try? JSONEncoder().encode(event) else { return }
        let bytes = Array(body)
        await webhooks.deliver(bytes, StripeWebhookVerifier.signatureHeader(payload: bytes, endpointSecret: webhooks.secret, timestamp: created))
    }

    /// Payouts made so far (for tests and the admin view of a local run).
    public var allPayouts: [GatewayPayout] { payouts.values.sorted { $0.id < $1.id } }

    private func nextID(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_sandbox_\(counter)"
    }

    /// Answers a repeated key from memory; otherwise runs `body` once, journals the call and
    /// remembers its answer.
    private func once(_ key: String, request: String, call: [String?], _ body: () -> Answer) -> Answer {
        if let earlier = answers[key] {
            return earlier.request == request ? earlier.answer : .failure(.idempotencyKeyReused(key))
        }
        let answer = body()
        answers[key] = (request, answer, record(call))
        return answer
    }

    public func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        // The client secret is what lets a browser confirm the payment: random, as Stripe's are.
        let secret = (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined()
        return try await answered(idempotencyKey) { () throws(GatewayError) in
            try authorizeNow(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey, secret: secret)
        }
    }

    public func charge(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await answered(idempotencyKey) { () throws(GatewayError) in try chargeNow(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey) }
    }

    public func capture(_ id: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await answered(idempotencyKey) { () throws(GatewayError) in try captureNow(id, amount: amount, idempotencyKey: idempotencyKey) }
    }

    public func void(_ id: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await answered(idempotencyKey) { () throws(GatewayError) in try voidNow(id, idempotencyKey: idempotencyKey) }
    }

    public func refund(_ id: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
        try await answered(idempotencyKey) { () throws(GatewayError) in try refundNow(id, amount: amount, idempotencyKey: idempotencyKey) }
    }

    public func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
        try await answered(idempotencyKey) { () throws(GatewayError) in
            try payoutNow(amount: amount, currency: currency, destination: destination, idempotencyKey: idempotencyKey)
        }
    }

    // The calls themselves, synchronous: what the journal's replay runs too.

    private func authorizeNow(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String, secret: String?) throws(GatewayError) -> GatewayPayment {
        var call: [String?] = ["authorize", idempotencyKey, String(amount), currency, paymentMethod]
        if let secret { call.append(secret) }
        let answer = once(idempotencyKey, request: "authorize \(amount) \(currency) \(paymentMethod ?? "-")", call: call) {
            guard amount > 0 else { return .failure(.invalidState("amount must be positive")) }
            if let method = paymentMethod, !Self.approved.contains(method), Self.declines[method] == nil {
                return .failure(.invalidPaymentMethod(method))
            }
            let id = nextID("pi")
            var payment = GatewayPayment(id: id, status: .requiresPaymentMethod, amount: amount, currency: currency, clientSecret: "\(id)_secret_\(secret ?? String(counter))")
            paymentByKey[idempotencyKey] = id
            keyOfPayment[id] = idempotencyKey
            defer { payments[id] = payment }
            guard let method = paymentMethod else { return .payment(payment) }
            if let code = Self.declines[method] { return .failure(.declined(code: code)) }
            payment.status = .requiresCapture
            payment.clientSecret = nil
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    /// An authorization captured in the same call: one journal line, one answer.
    private func chargeNow(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let call: [String?] = ["charge", idempotencyKey, String(amount), currency, paymentMethod]
        let answer = once(idempotencyKey, request: "charge \(amount) \(currency) \(paymentMethod)", call: call) {
            guard amount > 0 else { return .failure(.invalidState("amount must be positive")) }
            if let code = Self.declines[paymentMethod] { return .failure(.declined(code: code)) }
            guard Self.approved.contains(paymentMethod) else { return .failure(.invalidPaymentMethod(paymentMethod)) }
            let id = nextID("pi")
            let payment = GatewayPayment(id: id, status: .succeeded, amount: amount, currency: currency, amountCaptured: amount)
            paymentByKey[idempotencyKey] = id
            keyOfPayment[id] = idempotencyKey
            payments[id] = payment
            return .payment(payment)
        }
        return try paymentResult(answer)
    }

    private func captureNow(_ id: String, amount: Int64?, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let call: [String?] = ["capture", idempotencyKey, id, amount.map(String.init)]
        let answer = once(idempotencyKey, request: "capture \(id) \(amount.map(String.init) ?? "all")", call: call) {
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

    private func voidNow(_ id: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayment {
        let answer = once(idempotencyKey, request: "void \(id)", call: ["void", idempotencyKey, id]) {
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

    private func refundNow(_ id: String, amount: Int64, idempotencyKey: String) throws(GatewayError) -> GatewayRefund {
        let answer = once(idempotencyKey, request: "refund \(id) \(amount)", call: ["refund", idempotencyKey, id, String(amount)]) {
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
        return try result(answer) { if case let .refund(refund) = $0 { refund } else { nil } }
    }

    private func payoutNow(amount: Int64, currency: String, destination: String, idempotencyKey: String) throws(GatewayError) -> GatewayPayout {
        let call: [String?] = ["payout", idempotencyKey, String(amount), currency, destination]
        let answer = once(idempotencyKey, request: "payout \(amount) \(currency) \(destination)", call: call) {
            guard amount > 0 else { return .failure(.invalidState("amount must be positive")) }
            guard destination.hasPrefix("acct_"), destination.count > 5 else { return .failure(.invalidState("\(destination) is not a connected account")) }
            let payout = GatewayPayout(id: nextID("po"), amount: amount, currency: currency, destination: destination)
            payouts[payout.id] = payout
            return .payout(payout)
        }
        return try result(answer) { if case let .payout(payout) = $0 { payout } else { nil } }
    }

    public func payment(forIdempotencyKey key: String) async -> GatewayPayment? {
        await durable(key)
        return paymentByKey[key].flatMap { payments[$0] }
    }

    private func paymentResult(_ answer: Answer) throws(GatewayError) -> GatewayPayment {
        try result(answer) { if case let .payment(payment) = $0 { payment } else { nil } }
    }

    /// The answer's value of the kind the call makes, or its failure.
    private func result<Value>(_ answer: Answer, _ value: (Answer) -> Value?) throws(GatewayError) -> Value {
        if case let .failure(error) = answer { throw error }
        guard let value = value(answer) else { throw .invalidState("an answer of another kind for this key") }
        return value
    }
}
