import Foundation
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
    configure: (inout RoostConfiguration) -> Void = { _ in }, _ body: (RoostServices, Engine, MovableClock) async throws -> Void
) async throws {
    let directory = TemporaryDirectory()
    var configuration = RoostConfiguration()
    configuration.dataDirectory = directory.path
    configure(&configuration)
    let engine = try Engine.open(options: configuration.engineOptions(), aggregates: roostAggregates, logger: quietLogger)
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
    for shard in engine.group(Ledger.self).shards { all += Ledger.violations(in: await shard.read { $0 }) }
    return all
}
