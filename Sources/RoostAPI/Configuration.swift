import Foundation
import Logging
import RoostEngine
import RoostStorage

/// Everything Roost reads from its environment, read once at start-up. Nothing else reads the
/// environment. Flags on the command line override the variables.
public struct RoostConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "data/state"
    public var logLevel: Logger.Level = .info
    /// `json` (default: one JSON object per line) or `text`.
    public var logFormat = "json"
    public var fsync: FsyncMode = .always
    public var walSegmentBytes = WALLimits.default.segmentBytes
    public var walPreallocate = false
    /// Shards per aggregate; nil: what the data directory records, or `EngineOptions.defaultShardCount` for a new one.
    public var shardCount: Int?
    public var snapshotsKept = 3
    /// Seconds between automatic snapshots (taken only when something changed); 0 turns them off.
    public var snapshotIntervalSeconds = 300
    /// JSON request bodies larger than this are refused with 413 before they are read whole.
    public var jsonBodyBytesMax = 1 << 20
    /// Where the shipped catalogues are (`amenities.json`, `currencies.json`, `fx-rates.json`);
    /// nil: the `data/` found walking up from the working directory or the executable.
    public var referenceDirectory: String?
    /// A rates provider serving the shipped `fx-rates.json` shape, read at start in place of the
    /// shipped table (unset, or unreachable: the shipped table, with a warning).
    public var fxRatesURL: String?
    /// How often `roost serve` asks the FX provider again (0: only at start).
    public var fxRefreshSeconds = 21_600

    // Accounts and sessions.
    /// The HS256 signing key (base64, ≥ 32 bytes decoded). Unset: generated into `<data dir>/jwt.key` on first start.
    public var jwtKey: String?
    public var jwtIssuer = "roost"
    public var jwtAudience = "roost-api"
    public var accessTokenSeconds = 15 * 60
    public var refreshTokenDays = 30
    /// bcrypt's cost factor. 12 is the floor for production; lower values exist for test harnesses only.
    public var bcryptCost = 12
    /// Sign-in and register attempts per minute, per client IP and per email; 0 turns the limits off.
    public var rateLimitAuthPerMinute = 10
    /// Refreshes per minute per session family; 0 turns the limit off.
    public var rateLimitRefreshPerMinute = 30

    // Shared cache and limits.
    /// `redis://[:password@]host[:port][/db]`; unset: in-process cache and limits.
    public var redisURL: String?

    // Uploads.
    public var objectStore = "local"
    public var s3Endpoint: String?
    public var s3Region = "us-east-1"
    public var s3Bucket: String?
    public var s3AccessKeyID: String?
    public var s3SecretAccessKey: String?
    public var s3VirtualHostStyle = false

    // Sign-in providers.
    /// Google OAuth client ids whose ID tokens are accepted (comma-separated); empty turns Google sign-in off.
    public var googleClientIDs: [String] = []
    public var googleJWKSURL = "https://www.googleapis.com/oauth2/v3/certs"
    public var facebookAppID: String?
    public var facebookAppSecret: String?
    public var facebookGraphURL = "https://graph.facebook.com"
    public var facebookAPIVersion = "v19.0"

    // Payments.
    /// `sandbox` (local, no account: Stripe's test cards, its journal in the data directory), `stripe` or `paypal`.
    public var payments = "sandbox"
    public var stripeSecretKey: String?
    public var stripeBaseURL = "https://api.stripe.com"
    /// Where Connect transfers go; unset: `stripeBaseURL`.
    public var stripeConnectURL: String?
    /// The webhook endpoint's signing secret (`whsec_…`). With the sandbox, unset: a new one each start.
    public var stripeWebhookSecret: String?
    public var paypalClientID: String?
    public var paypalClientSecret: String?
    /// PayPal's sandbox unless set (`https://api-m.paypal.com` is live).
    public var paypalBaseURL = "https://api-m.sandbox.paypal.com"
    /// The webhook's id at PayPal, which its signature verification names.
    public var paypalWebhookID: String?

    public init() {}

    /// Problems with the environment, each naming the variable: Roost refuses to start on any.
    public struct Invalid: Error, CustomStringConvertible {
        public var variable: String
        public var value: String
        public var expected: String
        public var description: String { "\(variable)=\(value) is not valid: expected \(expected)" }
    }

    /// Reads the `ROOST_*` variables of `environment`; unset ones keep their defaults.
    public init(environment: [String: String]) throws {
        func read<T>(_ name: String, _ expected: String, _ parse: (String) -> T?) throws -> T? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = parse(text) else { throw Invalid(variable: name, value: text, expected: expected) }
            return value
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
            try read(name, "an integer in \(range.lowerBound)...\(range.upperBound)") { Int($0).flatMap { range.contains($0) ? $0 : nil } }
        }
        host = try read("ROOST_HOST", "a host name or address") { $0 } ?? host
        port = try integer("ROOST_PORT", in: 0...65535) ?? port
        dataDirectory = try read("ROOST_DATA_DIR", "a directory") { $0 } ?? dataDirectory
        logLevel = try read("ROOST_LOG_LEVEL", "trace|debug|info|notice|warning|error|critical") { Logger.Level(rawValue: $0) } ?? logLevel
        logFormat = try read("ROOST_LOG_FORMAT", "json|text") { ["json", "text"].contains($0) ? $0 : nil } ?? logFormat
        fsync = try read("ROOST_FSYNC", "always|off") { FsyncMode(rawValue: $0) } ?? fsync
        walSegmentBytes = try integer("ROOST_WAL_SEGMENT_BYTES", in: WALLimits.segmentBytesFloor...WALLimits.segmentBytesCeiling) ?? walSegmentBytes
        walPreallocate = try read("ROOST_WAL_PREALLOCATE", "true|false") { Bool($0) } ?? walPreallocate
        shardCount = try integer("ROOST_SHARDS", in: 1...1024) ?? shardCount
        snapshotsKept = try integer("ROOST_SNAPSHOTS_KEPT", in: 1...1000) ?? snapshotsKept
        snapshotIntervalSeconds = try integer("ROOST_SNAPSHOT_INTERVAL_SECONDS", in: 0...86_400 * 7) ?? snapshotIntervalSeconds

        func text(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        referenceDirectory = text("ROOST_REFERENCE_DIR")
        fxRatesURL = try read("ROOST_FX_RATES_URL", "an http(s) URL") { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil }
        fxRefreshSeconds = try integer("ROOST_FX_REFRESH_SECONDS", in: 0...86_400 * 7) ?? fxRefreshSeconds
        jwtKey = text("ROOST_JWT_KEY")
        jwtIssuer = text("ROOST_JWT_ISSUER") ?? jwtIssuer
        jwtAudience = text("ROOST_JWT_AUDIENCE") ?? jwtAudience
        accessTokenSeconds = try integer("ROOST_ACCESS_TOKEN_SECONDS", in: 30...86_400) ?? accessTokenSeconds
        refreshTokenDays = try integer("ROOST_REFRESH_TOKEN_DAYS", in: 1...365) ?? refreshTokenDays
        bcryptCost = try integer("ROOST_BCRYPT_COST", in: 4...31) ?? bcryptCost
        rateLimitAuthPerMinute = try integer("ROOST_RATE_LIMIT_AUTH_PER_MINUTE", in: 0...1_000_000) ?? rateLimitAuthPerMinute
        rateLimitRefreshPerMinute = try integer("ROOST_RATE_LIMIT_REFRESH_PER_MINUTE", in: 0...1_000_000) ?? rateLimitRefreshPerMinute
        redisURL = try read("ROOST_REDIS_URL", "redis://[:password@]host[:port][/db]") { $0.hasPrefix("redis://") ? $0 : nil }
        objectStore = try read("ROOST_OBJECT_STORE", "local|s3") { ["local", "s3"].contains($0) ? $0 : nil } ?? objectStore
        s3Endpoint = try read("ROOST_S3_ENDPOINT", "an http(s) URL") { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil }
        s3Region = text("ROOST_S3_REGION") ?? s3Region
        s3Bucket = text("ROOST_S3_BUCKET")
        s3AccessKeyID = text("ROOST_S3_ACCESS_KEY_ID")
        s3SecretAccessKey = text("ROOST_S3_SECRET_ACCESS_KEY")
        s3VirtualHostStyle = try read("ROOST_S3_ADDRESSING", "path|virtual") { ["path": false, "virtual": true][$0] } ?? s3VirtualHostStyle
        if objectStore == "s3" {
            for (name, value) in [("ROOST_S3_ENDPOINT", s3Endpoint), ("ROOST_S3_BUCKET", s3Bucket), ("ROOST_S3_ACCESS_KEY_ID", s3AccessKeyID), ("ROOST_S3_SECRET_ACCESS_KEY", s3SecretAccessKey)]
            where value == nil {
                throw Invalid(variable: name, value: "", expected: "a value when ROOST_OBJECT_STORE=s3")
            }
        }
        googleClientIDs = text("ROOST_GOOGLE_CLIENT_IDS").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
        googleJWKSURL = text("ROOST_GOOGLE_JWKS_URL") ?? googleJWKSURL
        facebookAppID = text("ROOST_FACEBOOK_APP_ID")
        facebookAppSecret = text("ROOST_FACEBOOK_APP_SECRET")
        facebookGraphURL = text("ROOST_FACEBOOK_GRAPH_URL") ?? facebookGraphURL
        facebookAPIVersion = environment["ROOST_FACEBOOK_API_VERSION"] ?? facebookAPIVersion
        payments = try read("ROOST_PAYMENTS", "sandbox|stripe|paypal") { ["sandbox", "stripe", "paypal"].contains($0) ? $0 : nil } ?? payments
        paypalClientID = text("ROOST_PAYPAL_CLIENT_ID")
        paypalClientSecret = text("ROOST_PAYPAL_CLIENT_SECRET")
        paypalBaseURL = try read("ROOST_PAYPAL_BASE_URL", "an http(s) URL") { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil } ?? paypalBaseURL
        paypalWebhookID = text("ROOST_PAYPAL_WEBHOOK_ID")
        if payments == "paypal" {
            for (name, value) in [("ROOST_PAYPAL_CLIENT_ID", paypalClientID), ("ROOST_PAYPAL_CLIENT_SECRET", paypalClientSecret), ("ROOST_PAYPAL_WEBHOOK_ID", paypalWebhookID)]
            where value == nil {
                throw Invalid(variable: name, value: "", expected: "a value when ROOST_PAYMENTS=paypal")
            }
        }
        stripeSecretKey = text("ROOST_STRIPE_SECRET_KEY")
        stripeBaseURL = try read("ROOST_STRIPE_BASE_URL", "an http(s) URL") { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil } ?? stripeBaseURL
        stripeConnectURL = try read("ROOST_STRIPE_CONNECT_URL", "an http(s) URL") { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil }
        stripeWebhookSecret = text("ROOST_STRIPE_WEBHOOK_SECRET")
        if payments == "stripe" {
            for (name, value) in [("ROOST_STRIPE_SECRET_KEY", stripeSecretKey), ("ROOST_STRIPE_WEBHOOK_SECRET", stripeWebhookSecret)] where value == nil {
                throw Invalid(variable: name, value: "", expected: "a value when ROOST_PAYMENTS=stripe")
            }
        }
    }

    /// The engine's options for this configuration.
    public func engineOptions(repair: Bool = false) -> EngineOptions {
        var limits = WALLimits.default
        limits.segmentBytes = walSegmentBytes
        return EngineOptions(
            dataDirectory: dataDirectory, shardCount: shardCount,
            wal: WALOptions(limits: limits, fsync: fsync, preallocate: walPreallocate),
            snapshotsKept: snapshotsKept, repair: repair
        )
    }
}
