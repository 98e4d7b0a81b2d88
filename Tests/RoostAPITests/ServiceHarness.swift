import Foundation
import RoostIntegrations
import RoostStorage
import RoostDomain
import RoostEngine
import RoostTestSupport
import Synchronization

@testable import RoostAPI

/// A clock tests move instead of sleeping.
final class MovableClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func read() -> Date { now.withLock { $0 } }
    func advance(by seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func move(to instant: Timestamp) { now.withLock { $0 = Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000) } }
}

/// Services over a fresh engine (sandbox payments, a temporary data directory), on a clock the test moves.
func withServices(
    io: StorageIO = .system, configure: (inout RoostConfiguration) -> Void = { _ in }, _ body: (RoostServices, Engine, MovableClock) async throws -> Void
) async throws {
    let directory = TemporaryDirectory()
    var configuration = RoostConfiguration()
    configuration.dataDirectory = directory.path
    configure(&configuration)
    var options = configuration.engineOptions()
    options.wal.io = io
    let engine = try Engine.open(options: options, aggregates: roostAggregates, logger: quietLogger)
    defer { engine.close() }
    let clock = MovableClock()
    let services = try await RoostServices.start(configuration: configuration, engine: engine, logger: quietLogger, clock: clock.read)
    do {
        try await body(services, engine, clock)
    } catch {
        await services.shutdown()
        throw error
    }
    await services.shutdown()
}

/// A listing in Singapore: 100.00 SGD a night, 20.00 cleaning, up to 4 guests, flexible.
func singaporeLoft(instantBook: Bool, policy: CancellationPolicy = .flexible) -> ListingDetails {
    ListingDetails(
        title: "Loft", description: "", propertyType: "apartment",
        location: ListingLocation(address: "", city: "Singapore", country: "Singapore", latitude: 1.3, longitude: 103.8, timeZone: "Asia/Singapore"),
        currency: "SGD", pricePerNight: 10_000, cleaningFee: 2_000, maxGuests: 4, bedrooms: 1, beds: 1, halfBathrooms: 2,
        amenities: ["wifi"], minNights: 1, maxNights: 30, instantBook: instantBook, cancellationPolicy: policy
    )
}

/// Every ledger shard's invariant violations (none, when all is well).
func ledgerViolations(_ engine: Engine) async -> [String] {
    var all: [String] = []
    for shard in engine.group(Ledger.self).shards { all += Ledger.violations(in: shard.peek { $0 }) }
    return all
}

/// A gateway that hands every call to `inner` after `before(call)` — which may pause (to widen
/// races) or throw (to make a provider fail) — and, for the calls in `lost`, throws `.unavailable`
/// after the provider did the work (an answer lost to a timeout): for tests of what the booking
/// workflow does then.
struct ProxyGateway: PaymentGateway {
    enum Call: Sendable { case authorize, charge, capture, void, refund, payout, lookup }
    let inner: any PaymentGateway
    var lost: Set<Call> = []
    /// A lookup that lags, as Stripe's Search API does: while `hidesLookups()` holds, `payment(forIdempotencyKey:)`
    /// finds nothing, and `lookupLag` says how long after a payment that may last.
    var lookupLag: Duration = .zero
    var hidesLookups: @Sendable () -> Bool = { false }
    let before: @Sendable (Call) async throws(GatewayError) -> Void

    private func answer<T>(_ call: Call, _ value: T) throws(GatewayError) -> T {
        if lost.contains(call) { throw .unavailable("the answer to \(call) was lost") }
        return value
    }

    func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await before(.authorize)
        return try answer(.authorize, try await inner.authorize(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey))
    }
    func charge(amount: Int64, currency: String, paymentMethod: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await before(.charge)
        return try answer(.charge, try await inner.charge(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey))
    }
    func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await before(.capture)
        return try answer(.capture, try await inner.capture(payment, amount: amount, idempotencyKey: idempotencyKey))
    }
    func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await before(.void)
        return try answer(.void, try await inner.void(payment, idempotencyKey: idempotencyKey))
    }
    func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
        try await before(.refund)
        return try answer(.refund, try await inner.refund(payment, amount: amount, idempotencyKey: idempotencyKey))
    }
    func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
        try await before(.payout)
        return try answer(.payout, try await inner.payout(amount: amount, currency: currency, destination: destination, idempotencyKey: idempotencyKey))
    }
    func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment? {
        try await before(.lookup)
        if hidesLookups() { return nil }
        return try answer(.lookup, try await inner.payment(forIdempotencyKey: key))
    }
    func authorizeApproved(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await before(.authorize)
        return try answer(.authorize, try await inner.authorizeApproved(payment, idempotencyKey: idempotencyKey))
    }
}

/// A provider whose buyers approve payments that the server must then authorize (as PayPal's
/// do), played over the sandbox: a payment waiting for its buyer reads as approved, and
/// authorizing it confirms it with `card` (the buyer's choice at the provider), or, with
/// `ApprovalGateway.expired`, is refused as an order expired at the provider.
final class ApprovalGateway: PaymentGateway {
    static let expired = "order_expired"
    let sandbox: SandboxGateway
    let card: String
    let secrets: Mutex<[String: String]> = Mutex([:])

    init(sandbox: SandboxGateway, card: String) {
        self.sandbox = sandbox
        self.card = card
    }

    func authorize(amount: Int64, currency: String, paymentMethod: String?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        let made = try await sandbox.authorize(amount: amount, currency: currency, paymentMethod: paymentMethod, idempotencyKey: idempotencyKey)
        if let secret = made.clientSecret { secrets.withLock { $0[made.id] = secret } }
        return made
    }
    func capture(_ payment: String, amount: Int64?, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await sandbox.capture(payment, amount: amount, idempotencyKey: idempotencyKey)
    }
    func void(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        try await sandbox.void(payment, idempotencyKey: idempotencyKey)
    }
    func refund(_ payment: String, amount: Int64, idempotencyKey: String) async throws(GatewayError) -> GatewayRefund {
        try await sandbox.refund(payment, amount: amount, idempotencyKey: idempotencyKey)
    }
    func payout(amount: Int64, currency: String, destination: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayout {
        try await sandbox.payout(amount: amount, currency: currency, destination: destination, idempotencyKey: idempotencyKey)
    }
    func payment(forIdempotencyKey key: String) async throws(GatewayError) -> GatewayPayment? {
        guard var payment = try await sandbox.payment(forIdempotencyKey: key) else { return nil }
        if payment.status == .requiresPaymentMethod { payment.status = .requiresAuthorization }
        return payment
    }
    func authorizeApproved(_ payment: String, idempotencyKey: String) async throws(GatewayError) -> GatewayPayment {
        guard let secret = secrets.withLock({ $0[payment] }) else { throw .notFound(payment) }
        if card == Self.expired { throw .invalidState("authorize order: ORDER_EXPIRED") }
        return try await sandbox.confirm(payment, clientSecret: secret, paymentMethod: card)
    }
}

/// The services' booking workflow over another gateway (same engine, listings and clock).
func bookings(_ services: RoostServices, _ engine: Engine, _ clock: MovableClock, gateway: any PaymentGateway) -> BookingService {
    BookingService(
        listings: services.listings, ledger: engine.group(Ledger.self), gateway: gateway, reference: services.bookings.reference, clock: clock.read, logger: quietLogger,
        hostSuspended: services.bookings.hostSuspended
    )
}
