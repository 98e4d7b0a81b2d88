import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RoostCache
import RoostDomain
import RoostEngine
import RoostIntegrations

/// Everything the routes use besides the engine, built once at start-up from the configuration.
public struct RoostServices: Sendable {
    public let accounts: AccountService
    public let listings: ListingService
    public let bookings: BookingService
    /// Carries hosts' suspensions and role changes to their listings.
    let standing: HostStanding
    let idempotency: IdempotencyStore
    public let reference: ReferenceData
    public let cacheBackend: CacheBackend
    let media: MediaLibrary
    let verifiers: [IdentityProvider: any IdentityVerifier]
    let webhooks: PaymentWebhooks
    /// The local payment provider, when it is the configured one (its confirm route is served).
    let sandbox: SandboxGateway?

    /// Builds the services over a recovered engine: rebuilds the account directory from the
    /// shards, loads (or creates) the JWT key, and connects the configured providers.
    public static func start(
        configuration: RoostConfiguration, engine: Engine, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> RoostServices {
        let accounts = try await accountService(configuration: configuration, engine: engine, logger: logger, clock: clock)
        let cacheBackend: CacheBackend
        do {
            cacheBackend = try CacheBackend.make(redisURL: configuration.redisURL, logger: logger)
        } catch {
            throw RoostConfiguration.Invalid(variable: "ROOST_REDIS_URL", value: "(hidden)", expected: "\(error)")
        }
        var verifiers: [IdentityProvider: any IdentityVerifier] = [:]
        if !configuration.googleClientIDs.isEmpty {
            verifiers[.google] = GoogleIDTokenVerifier(
                configuration: .init(clientIDs: configuration.googleClientIDs, jwksURL: configuration.googleJWKSURL), logger: logger
            )
        }
        if let appID = configuration.facebookAppID, let secret = configuration.facebookAppSecret {
            verifiers[.facebook] = FacebookTokenVerifier(
                configuration: .init(
                    appID: appID, appSecret: secret, graphBaseURL: configuration.facebookGraphURL, apiVersion: configuration.facebookAPIVersion
                ),
                logger: logger
            )
        }
        let media = try await mediaLibrary(configuration: configuration)
        let referenceDirectory = try ReferenceData.locate(configured: configuration.referenceDirectory)
        let reference: ReferenceData
        do {
            reference = try ReferenceData.load(from: referenceDirectory)
        } catch {
            throw RoostConfiguration.Invalid(variable: "ROOST_REFERENCE_DIR", value: referenceDirectory, expected: "the data/ directory (\(error))")
        }
        if let url = configuration.fxRatesURL, !(await refreshRates(url, reference: reference, logger: logger)) {
            logger.warning("FX rates provider unusable; the shipped table is used", metadata: ["fx.date": "\(reference.fxDate)"])
        }
        let listings = ListingService(group: engine.group(Listings.self), reviews: engine.group(Reviews.self), media: media, clock: clock)
        let gateway: any PaymentGateway
        let sandbox: SandboxGateway?
        let webhookSecret: String
        var paypalVerifier: PayPalWebhookVerifier?
        switch configuration.payments {
        case "paypal":
            do {
                let paypal = try PayPalGateway(configuration: .init(
                    clientID: configuration.paypalClientID ?? "", clientSecret: configuration.paypalClientSecret ?? "", baseURL: configuration.paypalBaseURL
                ))
                paypalVerifier = try PayPalWebhookVerifier(gateway: paypal, webhookID: configuration.paypalWebhookID ?? "")
                gateway = paypal
            } catch {
                throw RoostConfiguration.Invalid(variable: "ROOST_PAYPAL_CLIENT_ID", value: "(hidden)", expected: "\(error)")
            }
            sandbox = nil
            webhookSecret = configuration.stripeWebhookSecret ?? "whsec_unused_" + Identifiers.make("run")
        case "stripe":
            do {
                gateway = try StripeGateway(configuration: .init(
                    secretKey: configuration.stripeSecretKey ?? "", baseURL: configuration.stripeBaseURL, connectBaseURL: configuration.stripeConnectURL
                ))
            } catch {
                throw RoostConfiguration.Invalid(variable: "ROOST_STRIPE_SECRET_KEY", value: "(hidden)", expected: "\(error)")
            }
            sandbox = nil
            webhookSecret = configuration.stripeWebhookSecret ?? ""
        default:
            // The local sandbox, its journal beside the engine's data; it signs its events with the
            // configured secret, or one made for this run.
            let local = try await SandboxGateway.open(journal: configuration.dataDirectory + "/sandbox-payments.log")
            (gateway, sandbox) = (local, local)
            webhookSecret = configuration.stripeWebhookSecret ?? "whsec_sandbox_" + Identifiers.make("run")
        }
        let standing = HostStanding(accounts: accounts, listings: listings)
        await standing.reconcile(logger: logger)
        let bookings = BookingService(
            listings: listings, ledger: engine.group(Ledger.self), gateway: gateway, reference: reference, clock: clock, logger: logger,
            hostSuspended: { [accounts] in accounts.userNow($0)?.suspended == true }
        )
        let idempotency = IdempotencyStore(group: engine.group(Idempotency.self), clock: clock)
        let webhooks = PaymentWebhooks(
            bookings: bookings, verifier: StripeWebhookVerifier(endpointSecret: webhookSecret), paypal: paypalVerifier,
            idempotency: idempotency, clock: clock, logger: logger
        )
        await sandbox?.deliverWebhooks(to: .init(secret: webhookSecret, now: clock) { body, signature in
            _ = try? await webhooks.receiveStripe(body: body, signature: signature)
        })
        return RoostServices(
            accounts: accounts, listings: listings, bookings: bookings, standing: standing, idempotency: idempotency,
            reference: reference, cacheBackend: cacheBackend, media: media, verifiers: verifiers, webhooks: webhooks, sandbox: sandbox
        )
    }

    /// Puts the configured provider's FX table in force. False (the table in force kept, the
    /// reason logged) when the provider cannot be reached or its table is refused.
    static func refreshRates(_ url: String, reference: ReferenceData, logger: Logger) async -> Bool {
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw ReferenceData.Invalid(path: url, reason: "HTTP \(response.status.code)") }
            let fresh = try reference.replaceFX(with: Data(body.readableBytesView), source: url)
            logger.notice("FX rates from the configured provider", metadata: ["fx.date": "\(fresh.date)", "fx.base": "\(fresh.base)", "fx.currencies": "\(fresh.rates.count)"])
            return true
        } catch {
            logger.warning("FX rates provider unusable; the table in force is kept", metadata: ["fx.date": "\(reference.fxDate)", "error": "\(error)"])
            return false
        }
    }

    /// Asks the configured FX provider again every `interval` (`ROOST_FX_REFRESH_SECONDS`), for as
    /// long as `roost serve` runs; nil without a provider or with refreshing off.
    public func fxRefresher(configuration: RoostConfiguration, logger: Logger) -> FXRefresher? {
        guard let url = configuration.fxRatesURL, configuration.fxRefreshSeconds > 0 else { return nil }
        return FXRefresher(url: url, reference: reference, interval: .seconds(configuration.fxRefreshSeconds), logger: logger)
    }

    /// The account service alone (what `roost admin create` needs: no cache, no providers, no uploads).
    public static func accountService(
        configuration: RoostConfiguration, engine: Engine, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> AccountService {
        let group = engine.group(Accounts.self)
        let directory = await AccountDirectory.rebuild(from: group)
        if configuration.bcryptCost < 12 {
            logger.warning("bcrypt cost below 12: acceptable for tests only", metadata: ["bcrypt.cost": "\(configuration.bcryptCost)"])
        }
        let tokens = await AccessTokens(
            key: try signingKey(configuration: configuration, logger: logger), issuer: configuration.jwtIssuer,
            audience: configuration.jwtAudience, lifetime: TimeInterval(configuration.accessTokenSeconds)
        )
        return AccountService(
            group: group, directory: directory, hasher: PasswordHasher(cost: configuration.bcryptCost), tokens: tokens,
            refreshLifetime: TimeInterval(configuration.refreshTokenDays * 86_400), clock: clock, logger: logger
        )
    }

    /// The time-driven work `roost serve` runs beside the server.
    public func scheduler(logger: Logger) -> BookingScheduler {
        BookingScheduler(bookings: bookings, idempotency: idempotency, logger: logger)
    }

    public func shutdown() async {
        cacheBackend.shutdown()
        try? await accounts.hasher.shutdown()
    }

    /// Local disk under the data directory (served at `/v1/media/…`), or an S3-compatible
    /// bucket (created if missing; clients read through presigned GET URLs valid for an hour).
    private static func mediaLibrary(configuration: RoostConfiguration) async throws -> MediaLibrary {
        guard configuration.objectStore == "s3", let endpoint = configuration.s3Endpoint, let bucket = configuration.s3Bucket,
            let accessKeyID = configuration.s3AccessKeyID, let secret = configuration.s3SecretAccessKey
        else {
            return MediaLibrary(store: try LocalObjectStore(root: configuration.dataDirectory + "/uploads"))
        }
        let store: S3ObjectStore
        do {
            store = try S3ObjectStore(
                configuration: S3Configuration(
                    endpoint: endpoint, region: configuration.s3Region, bucket: bucket, accessKeyID: accessKeyID,
                    secretAccessKey: secret, addressingStyle: configuration.s3VirtualHostStyle ? .virtualHost : .path
                )
            )
        } catch {
            throw RoostConfiguration.Invalid(variable: "ROOST_S3_ENDPOINT", value: endpoint, expected: "\(error)")
        }
        try await store.createBucketIfMissing()
        return MediaLibrary(store: store)
    }

    /// `ROOST_JWT_KEY` (base64, ≥ 32 bytes), else `<data dir>/jwt.key`, created on first start
    /// with 32 random bytes and mode 0600.
    static func signingKey(configuration: RoostConfiguration, logger: Logger) throws -> [UInt8] {
        if let text = configuration.jwtKey {
            guard let key = Data(base64Encoded: text), key.count >= 32 else {
                throw RoostConfiguration.Invalid(variable: "ROOST_JWT_KEY", value: "(hidden)", expected: "base64 of at least 32 bytes")
            }
            return [UInt8](key)
        }
        let path = configuration.dataDirectory + "/jwt.key"
        if let existing = FileManager.default.contents(atPath: path) {
            guard let key = Data(base64Encoded: String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                key.count >= 32
            else { throw RoostConfiguration.Invalid(variable: "ROOST_JWT_KEY", value: path, expected: "a key file holding base64 of at least 32 bytes") }
            return [UInt8](key)
        }
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data((Data(key).base64EncodedString() + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw RoostConfiguration.Invalid(variable: "ROOST_DATA_DIR", value: configuration.dataDirectory, expected: "a writable directory (for jwt.key)")
        }
        logger.notice("generated a JWT signing key", metadata: ["file": "\(path)"])
        return key
    }
}
