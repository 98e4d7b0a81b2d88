import Foundation
import HTTPTypes
import Logging
import Hummingbird
import RoostDomain

/// What a route lets its caller do. Every guarded route names exactly one.
public enum Permission: String, Sendable, CaseIterable {
    /// Read and edit one's own profile, photo and sessions; sign out.
    case ownAccount
    /// Turn one's own guest account into a host account.
    case becomeHost
    /// Create listings and manage one's own (photos, calendar).
    case hostListings
    /// Edit or delete a listing: its host, or an admin (the handler checks which listing).
    case editListings
    /// `/v1/admin/listings`: list and delist.
    case administerListings
    /// Book stays (hosts can too).
    case book
    /// `/v1/admin/users`: list, suspend, change roles.
    case administerUsers
    /// `/v1/admin/bookings` and `/v1/admin/payments`: see every booking and payment, refund.
    case administerBookings
}

/// Role-based access control in one table. Anything not listed is denied.
public enum AccessPolicy {
    public static let table: [Role: Set<Permission>] = [
        .guest: [.ownAccount, .becomeHost, .book],
        .host: [.ownAccount, .hostListings, .editListings, .book],
        .admin: [.ownAccount, .editListings, .administerUsers, .administerListings, .administerBookings],
    ]

    public static func allows(_ role: Role, _ permission: Permission) -> Bool {
        table[role]?.contains(permission) ?? false
    }
}

/// The one place a bearer token becomes a `Principal` and a permission is checked: 401 without a
/// valid token (or for a suspended user), 403 when the role lacks the permission. Object-level
/// checks (whose booking, whose listing) stay in the handlers. Without a permission (`nil`), signing
/// in is optional: a request without a token goes on anonymously, one with a token must be valid.
struct AccessGuard: RouterMiddleware {
    typealias Context = RoostRequestContext
    let permission: Permission?
    let tokens: AccessTokens
    let directory: AccountDirectory
    let clock: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if permission == nil, request.headers[.authorization] == nil { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { throw Problem.unauthorized("Sign in first: send `Authorization: Bearer <access token>`.") }
        let identity: AccessIdentity
        do {
            identity = try await tokens.verify(String(header.dropFirst(7)), now: clock())
        } catch {
            throw Problem(.unauthorized, code: "invalid_token", title: "Unauthorized", detail: error.description)
        }
        guard let status = directory.status(of: identity.userID) else { throw Problem.unauthorized("The token's user no longer exists.") }
        guard !status.suspended else { throw Problem(.unauthorized, code: "account_suspended", title: "Unauthorized", detail: "This account is suspended.") }
        if let permission, !AccessPolicy.allows(status.role, permission) {
            throw Problem.forbidden("\(status.role == .admin ? "An" : "A") \(status.role) account may not do this.")
        }
        var context = context
        context.principal = Principal(userID: identity.userID, role: status.role, sessionID: identity.sessionID)
        context.logger[metadataKey: "user.id"] = .string(identity.userID)
        return try await next(request, context)
    }
}
