import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RoostDomain
import RoostIntegrations

/// The provider's events: verified (`Stripe-Signature`), deduplicated by event id (kept 24 hours
/// in the engine, as idempotency keys are), and turned into a reconciliation of the booking the
/// payment belongs to (`BookingService.paymentEvent`). Reconciling asks the provider for the
/// payment as it is now, so the event's own content never moves a booking — neither backwards
/// when events arrive late or out of order, nor twice when one is delivered again.
public final class PaymentWebhooks: Sendable {
    let bookings: BookingService
    let verifier: StripeWebhookVerifier
    /// With `ROOST_PAYMENTS=paypal`: PayPal's events, verified by PayPal.
    let paypal: PayPalWebhookVerifier?
    let idempotency: IdempotencyStore
    let clock: @Sendable () -> Date
    let logger: Logger

    init(
        bookings: BookingService, verifier: StripeWebhookVerifier, paypal: PayPalWebhookVerifier?, idempotency: IdempotencyStore,
        clock: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.bookings = bookings
        self.verifier = verifier
        self.paypal = paypal
        self.idempotency = idempotency
        self.clock = clock
        self.logger = logger
    }

    enum Outcome: String, Sendable {
        case handled, duplicate, ignored
    }

    /// One delivery: 400 when it is not provably the provider's; a failure to handle it rethrows
    /// (a 503: the provider delivers again later).
    func receiveStripe(body: [UInt8], signature: String?) async throws -> Outcome {
        let event: StripeEvent
        switch Self.verified(verifier, body, signature, clock()) {
        case let .success(verified): event = verified
        case let .failure(error):
            throw Problem(.badRequest, code: "invalid_signature", title: "Bad Request", detail: "The webhook is not signed by the provider: \(error).")
        }
        let key = event.type.hasPrefix("payment_intent.") ? event.object.idempotencyKey : nil
        return try await handle(provider: "stripe", eventID: event.id, type: event.type, key: key)
    }

    /// One PayPal delivery: verified by PayPal's own endpoint (400 when it says no, or for missing
    /// headers; 503 when it cannot be asked), then as Stripe's. Payment events carry our key in
    /// their resource's `custom_id`.
    func receivePayPal(body: [UInt8], headers: [String: String]) async throws -> Outcome {
        guard let paypal else { throw Problem.notFound("PayPal is not the configured payment provider.") }
        let event: PayPalWebhookEvent
        switch await Self.verified(paypal, body, headers, clock()) {
        case let .success(verified): event = verified
        case .failure(.unavailable):
            throw Problem.unavailable("PayPal could not be asked to verify the event.", retryAfter: 60)
        case let .failure(error):
            throw Problem(.badRequest, code: "invalid_signature", title: "Bad Request", detail: "The webhook is not signed by PayPal: \(error).")
        }
        let payment = event.eventType.hasPrefix("PAYMENT.") || event.eventType.hasPrefix("CHECKOUT.ORDER.")
        return try await handle(provider: "paypal", eventID: event.id, type: event.eventType, key: payment ? event.customID : nil)
    }

    /// Deduplicates by event id, then reconciles the booking `key` names (if any).
    private func handle(provider: String, eventID: String, type: String, key: String?) async throws -> Outcome {
        let scope = "webhook|\(provider)|\(eventID)"
        let fingerprint = Array(SHA256.hash(data: Array(scope.utf8)))
        guard case let .run(now) = try await idempotency.begin(scope: scope, fingerprint: fingerprint) else { return .duplicate }
        do {
            var outcome = Outcome.ignored
            if let key {
                try await bookings.paymentEvent(idempotencyKey: key)
                outcome = .handled
            }
            let answer = Idempotency.Answer(scope: scope, fingerprint: fingerprint, status: 200, contentType: "text/plain", body: Array(outcome.rawValue.utf8), savedAt: now)
            _ = try await idempotency.finish(scope: scope, .success(answer))
            logger.info("payment event", metadata: ["event.provider": "\(provider)", "event.id": "\(eventID)", "event.type": "\(type)", "outcome": "\(outcome.rawValue)"])
            return outcome
        } catch {
            _ = try? await idempotency.finish(scope: scope, .failure(error))
            logger.warning("payment event not handled; the provider delivers it again", metadata: ["event.id": "\(eventID)", "error": "\(error)"])
            throw Problem.unavailable("The event could not be handled now.", retryAfter: 60)
        }
    }

    private static func verified(_ verifier: PayPalWebhookVerifier, _ body: [UInt8], _ headers: [String: String], _ now: Date) async -> Result<PayPalWebhookEvent, PayPalWebhookError> {
        do {
            return .success(try await verifier.verify(body: body, headers: headers, now: now))
        } catch {
            return .failure(error)
        }
    }

    private static func verified(_ verifier: StripeWebhookVerifier, _ body: [UInt8], _ signature: String?, _ now: Date) -> Result<StripeEvent, StripeWebhookError> {
        do {
            return .success(try verifier.verify(payload: body, signatureHeader: signature, now: now))
        } catch {
            return .failure(error)
        }
    }
}

extension HTTPField.Name {
    static let stripeSignature = HTTPField.Name("Stripe-Signature")!
}

/// `POST /v1/payments/webhooks/stripe`, and with the sandbox its stand-in for Stripe.js's confirm.
struct PaymentWebhookRoutes {
    let webhooks: PaymentWebhooks
    let sandbox: SandboxGateway?
    let bodyLimit: Int

    func register(on router: Router<RoostRequestContext>) {
        router.post("v1/payments/webhooks/stripe", use: stripe)
        router.post("v1/payments/webhooks/paypal", use: paypal)
        if sandbox != nil { router.post("v1/payments/sandbox/payment_intents/:id/confirm", use: sandboxConfirm) }
    }

    @Sendable func stripe(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.collectBody(limit: bodyLimit)
        let outcome = try await webhooks.receiveStripe(body: Array(body.readableBytesView), signature: request.headers[.stripeSignature])
        struct Received: Encodable, Sendable { var received = true; var outcome: String }
        return EncodedJSON(Received(outcome: outcome.rawValue))
    }

    @Sendable func paypal(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.collectBody(limit: bodyLimit)
        var headers: [String: String] = [:]
        for field in request.headers where field.name.canonicalName.lowercased().hasPrefix("paypal-") { headers[field.name.canonicalName] = field.value }
        let outcome = try await webhooks.receivePayPal(body: Array(body.readableBytesView), headers: headers)
        struct Received: Encodable, Sendable { var received = true; var outcome: String }
        return EncodedJSON(Received(outcome: outcome.rawValue))
    }

    struct ConfirmBody: StrictJSONBody {
        static let fields: Set<String> = ["clientSecret", "paymentMethod"]
        var clientSecret: String
        var paymentMethod: String
    }

    /// What Stripe.js does in the guest's browser: confirm the payment with its client secret (no
    /// bearer token; the secret is the proof) and a payment method. The sandbox then delivers its
    /// event to the webhook, which completes the booking before this answers.
    @Sendable func sandboxConfirm(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        guard let sandbox else { throw Problem.notFound() }
        let body = try await request.decodeStrictJSON(as: ConfirmBody.self, limit: bodyLimit)
        let payment: GatewayPayment
        switch await Self.confirmed(sandbox, try context.parameters.require("id"), body) {
        case let .success(confirmed): payment = confirmed
        case let .failure(.declined(code)): throw Problem.paymentFailed("The payment was declined (\(code)); confirm it with another payment method.")
        case let .failure(.invalidPaymentMethod(method)):
            throw Problem.validation([.init(field: "paymentMethod", message: "\(method) is not a payment method the provider knows")])
        case .failure(.notFound): throw Problem.notFound("No such payment, or not its client secret.")
        case let .failure(.invalidState(reason)), let .failure(.idempotencyKeyReused(reason)):
            // The payment has moved on (its booking canceled, or paid already): the provider's own words say how.
            throw Problem(.conflict, code: "payment_conflict", title: "Conflict", detail: "The payment cannot be confirmed: \(reason).")
        case let .failure(.unavailable(reason)): throw Problem.unavailable("The payment provider did not answer (\(reason)); try again.", retryAfter: 1)
        }
        struct Confirmed: Encodable, Sendable { var id: String; var status: String }
        return EncodedJSON(Confirmed(id: payment.id, status: payment.status.rawValue))
    }

    private static func confirmed(_ sandbox: SandboxGateway, _ id: String, _ body: ConfirmBody) async -> Result<GatewayPayment, GatewayError> {
        do {
            return .success(try await sandbox.confirm(id, clientSecret: body.clientSecret, paymentMethod: body.paymentMethod))
        } catch {
            return .failure(error)
        }
    }
}
