import Hummingbird
import Logging
import NIOCore
import RoostDomain

/// The per-request context every Roost route receives.
public struct RoostRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id: the client's `X-Request-ID` when it is sensible, otherwise one we made.
    public var requestID = ""
    /// The peer's IP address (rate limits key on it); empty when there is no socket (in-process tests).
    public let clientIP: String
    /// The signed-in user, set by `AccessGuard` on the routes that need one.
    public var principal: Principal?
    /// The user and `Idempotency-Key` this request runs under (`user|key`), set by
    /// `IdempotencyMiddleware` for the first request with a key: what a handler derives its new
    /// ids from, so that a retry whose answer was lost finds what the first attempt made.
    public var idempotencyScope: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientIP = source.channel.remoteAddress?.ipAddress ?? ""
    }

    /// Bodies are read through `JSONBody`, which applies Roost's own limit; this is the ceiling for any other reader.
    public var maxUploadSize: Int { 1 << 20 }

    /// The signed-in user; only called behind an `AccessGuard`, which guarantees one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw Problem.unauthorized("Sign in first: send `Authorization: Bearer <access token>`.") }
        return principal
    }
}

/// The user a request acts for.
public struct Principal: Sendable, Equatable {
    public var userID: String
    public var role: Role
    public var sessionID: String
}
