import Hummingbird
import Logging
import Metrics
import Prometheus
import RoostCache
import RoostDomain
import RoostEngine

/// The aggregates the engine owns. Each feature adds its aggregate here.
public var roostAggregates: [any Aggregate.Type] { [Accounts.self, Listings.self, Reviews.self, Ledger.self, Idempotency.self] }

/// The Prometheus registry behind swift-metrics, bootstrapped once per process, when first used. Use it before
/// opening the engine: a counter made before the bootstrap (the WAL's are made as it opens) counts into nothing.
public let roostMetrics: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

/// Builds the HTTP application: the one function `roost serve` and the tests both call.
///
/// - Parameter routes: adds route groups (each feature's, and the tests' probes) under the shared middleware.
public func buildApplication(
    configuration: RoostConfiguration,
    engine: Engine,
    services: RoostServices,
    logger: Logger,
    routes: (Router<RoostRequestContext>) -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: RoostRequestContext.self)
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: ObservabilityMiddleware())
    router.add(middleware: QueryParameterMiddleware())
    OperationsRoutes(engine: engine, metrics: roostMetrics).register(on: router)
    AccountRoutes(
        service: services.accounts, standing: services.standing, limiter: services.cacheBackend.rateLimiter,
        authLimitPerMinute: configuration.rateLimitAuthPerMinute, refreshLimitPerMinute: configuration.rateLimitRefreshPerMinute,
        media: services.media, verifiers: services.verifiers, bodyLimit: configuration.jsonBodyBytesMax
    ).register(on: router)
    let listingRoutes = ListingRoutes(
        service: services.listings, accounts: services.accounts, standing: services.standing, reference: services.reference, bodyLimit: configuration.jsonBodyBytesMax
    )
    listingRoutes.register(on: router)
    BookingRoutes(
        service: services.bookings, accounts: services.accounts, listingRoutes: listingRoutes,
        idempotency: IdempotencyMiddleware(store: services.idempotency, bodyLimit: configuration.jsonBodyBytesMax), bodyLimit: configuration.jsonBodyBytesMax
    ).register(on: router)
    PaymentWebhookRoutes(webhooks: services.webhooks, sandbox: services.sandbox, bodyLimit: configuration.jsonBodyBytesMax).register(on: router)
    routes(router)
    return Application(
        responder: HeadResponder(wrapped: router.buildResponder()),
        server: .http1(configuration: .init(additionalChannelHandlers: [ParserErrorProblemHandler()])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "roost"),
        logger: logger
    )
}
