import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RoostCache
import RoostDomain
import RoostIntegrations

/// `/v1/auth/*`, `/v1/users/*` and `/v1/admin/users*`: the Accounts and Admin sections of API.md.
struct AccountRoutes {
    let service: AccountService
    let standing: HostStanding
    let limiter: any RateLimiter
    let authLimitPerMinute: Int
    let refreshLimitPerMinute: Int
    let media: MediaLibrary
    let verifiers: [IdentityProvider: any IdentityVerifier]
    let bodyLimit: Int
    static let photoBytesMax = 5 << 20

    private func guarded(_ permission: Permission) -> AccessGuard {
        AccessGuard(permission: permission, tokens: service.tokens, directory: service.directory, clock: service.clock)
    }

    func register(on router: Router<RoostRequestContext>) {
        let auth = router.group("v1/auth")
        auth.post("register", use: registerUser)
        auth.post("login", use: login)
        auth.post("refresh", use: refresh)
        auth.post("oauth/:provider", use: oauth)
        auth.group("logout").add(middleware: guarded(.ownAccount)).post { request, context -> Response in
            let principal = try context.requirePrincipal()
            try await request.requireNoFields(limit: bodyLimit)
            try await service.logout(userID: principal.userID, sessionID: principal.sessionID)
            return Response(status: .noContent)
        }

        let me = router.group("v1/users/me").add(middleware: guarded(.ownAccount))
        me.get { _, context -> Response in
            let userID = try context.requirePrincipal().userID
            guard let user = await service.user(userID) else { throw Problem.notFound("No such user.") }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: PrivateUser.json(user, photoURL: media.url(for: user.photoKey))))
            )
        }
        me.patch(use: updateProfile)
        me.put("photo", use: putPhoto)
        router.group("v1/users/me/host").add(middleware: guarded(.becomeHost)).post { request, context -> EncodedJSON in
            let userID = try context.requirePrincipal().userID
            try await request.requireNoFields(limit: bodyLimit)
            try await service.execute(.becomeHost(userID: userID), for: userID)
            try await standing.follow(hostID: userID)  // a host an admin switched back to a guest: their listings are back
            return try await privateUser(userID)
        }
        router.get("v1/users/:id") { _, context -> EncodedJSON in
            guard let user = await service.user(try context.parameters.require("id")) else { throw Problem.notFound("No such user.") }
            return EncodedJSON(PublicUser(user, photoURL: media.url(for: user.photoKey)))
        }

        let admin = router.group("v1/admin/users").add(middleware: guarded(.administerUsers))
        admin.get(use: listUsers)
        admin.patch(":id", use: adminUpdate)
        media.register(on: router)
    }

    // MARK: Sign-up and sign-in

    @Sendable func registerUser(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.decodeStrictJSON(as: RegisterRequest.self, limit: bodyLimit)
        var errors: [Problem.FieldError] = []
        let email = EmailAddress.normalise(body.email)
        if !EmailAddress.isValid(email) { errors.append(.init(field: "email", message: "is not a valid email address")) }
        AccountRules.checkPassword(body.password, into: &errors)
        let name = AccountRules.checkName(body.name, into: &errors)
        let role = Role(name: body.role).flatMap { $0 == .admin ? nil : $0 }
        if role == nil { errors.append(.init(field: "role", message: "must be guest or host")) }
        guard errors.isEmpty, let role else { throw Problem.validation(errors) }
        try await limitAuthAttempts(email: email, context: context)
        guard let grant = try await service.register(email: email, password: body.password, name: name, role: role) else {
            throw Problem.invalidCredentials
        }
        return sessionBody(grant, status: .created)
    }

    @Sendable func login(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.decodeStrictJSON(as: LoginRequest.self, limit: bodyLimit)
        let email = EmailAddress.normalise(body.email)
        // No account can have a malformed email, so saying so leaks nothing; it also keeps
        // attacker-sized strings out of the rate limiter's keys.
        var errors: [Problem.FieldError] = []
        if !EmailAddress.isValid(email) { errors.append(.init(field: "email", message: "is not a valid email address")) }
        if body.password.isEmpty || body.password.utf8.count > 1_024 {
            errors.append(.init(field: "password", message: "is required (at most 1,024 bytes)"))
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        try await limitAuthAttempts(email: email, context: context)
        return sessionBody(try await service.login(email: email, password: body.password), status: .ok)
    }

    @Sendable func refresh(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let body = try await request.decodeStrictJSON(as: RefreshRequest.self, limit: bodyLimit)
        if refreshLimitPerMinute > 0 {
            // Per client IP first (ten sessions' worth), so made-up family ids cannot flood the
            // limiter; then per session family.
            try await check(limiter.attempt("refresh:ip:\(context.clientIP)", limit: refreshLimitPerMinute * 10, window: .seconds(60)))
            if let token = RefreshToken(parsing: body.refreshToken) {
                try await check(limiter.attempt("refresh:\(token.familyID)", limit: refreshLimitPerMinute, window: .seconds(60)))
            }
        }
        return sessionBody(try await service.refresh(body.refreshToken), status: .ok)
    }

    @Sendable func oauth(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let providerName = try context.parameters.require("provider")
        guard let provider = IdentityProvider(rawValue: providerName) else { throw Problem.notFound("No sign-in provider named \(providerName).") }
        guard let verifier = verifiers[provider] else {
            throw Problem(
                .serviceUnavailable, code: "identity_provider_unavailable", title: "Service unavailable",
                detail: "Sign-in with \(provider.rawValue) is not configured on this server."
            )
        }
        let body = try await request.decodeStrictJSON(as: OAuthRequest.self, limit: bodyLimit)
        let field = provider == .google ? "idToken" : "accessToken"
        guard let token = provider == .google ? body.idToken : body.accessToken, !token.isEmpty else {
            throw Problem.validation([.init(field: field, message: "is required for \(provider.rawValue)")])
        }
        try await limitAuthAttempts(email: nil, context: context)
        let identity: VerifiedIdentity
        do {
            identity = try await verifier.verify(token)
        } catch let error {
            switch error {
            case let .invalidToken(reason): throw Problem(.unauthorized, code: error.code, title: "Unauthorized", detail: reason)
            case let .unavailable(reason): throw Problem(.serviceUnavailable, code: error.code, title: "Service unavailable", detail: reason, retryAfter: 5)
            }
        }
        if provider == .google, !identity.emailVerified {
            throw Problem(.unauthorized, code: "email_not_verified", title: "Unauthorized", detail: "Google has not verified this account's email.")
        }
        let (grant, created) = try await service.signIn(with: identity)
        return sessionBody(grant, status: created ? .created : .ok)
    }

    /// 429 once a client IP or an email has used its sign-in attempts for the minute.
    private func limitAuthAttempts(email: String?, context: RoostRequestContext) async throws {
        guard authLimitPerMinute > 0 else { return }
        try await check(limiter.attempt("auth:ip:\(context.clientIP)", limit: authLimitPerMinute, window: .seconds(60)))
        if let email { try await check(limiter.attempt("auth:email:\(email)", limit: authLimitPerMinute, window: .seconds(60))) }
    }

    private func check(_ decision: RateLimitDecision) throws {
        guard decision.allowed else {
            throw Problem(
                .tooManyRequests, code: "rate_limited", title: "Too many requests",
                detail: "Too many attempts; retry in \(decision.retryAfterSeconds) s.", retryAfter: decision.retryAfterSeconds
            )
        }
    }

    private func sessionBody(_ grant: SessionGrant, status: HTTPResponse.Status) -> EncodedJSON {
        let expiresIn = Int(grant.accessTokenExpiresAt.timeIntervalSince(service.clock()).rounded())
        let body = SessionBody(
            user: PrivateUser(grant.user, photoURL: media.url(for: grant.user.photoKey)), accessToken: grant.accessToken,
            refreshToken: grant.refreshToken, expiresIn: max(0, expiresIn)
        )
        return EncodedJSON(body, status: status)
    }

    // MARK: Profile

    private func privateUser(_ userID: String) async throws -> EncodedJSON {
        guard let user = await service.user(userID) else { throw Problem.notFound("No such user.") }
        return EncodedJSON(PrivateUser(user, photoURL: media.url(for: user.photoKey)))
    }

    @Sendable func updateProfile(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let userID = try context.requirePrincipal().userID
        let patch = try await request.decodeStrictJSON(as: ProfilePatch.self, limit: bodyLimit)
        var errors: [Problem.FieldError] = []
        var change = ProfileChange()
        if let name = patch.name { change.name = AccountRules.checkName(name, into: &errors) }
        if let phone = patch.phone {
            if let phone, !AccountRules.isE164(phone) { errors.append(.init(field: "phone", message: "must be E.164, e.g. +6591234567")) }
            change.phone = .some(phone)
        }
        if let bio = patch.bio {
            if let bio, bio.count > AccountRules.bioLengthMax { errors.append(.init(field: "bio", message: "must be at most \(AccountRules.bioLengthMax) characters")) }
            change.bio = .some(bio)
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        try await service.execute(.updateProfile(userID: userID, change), for: userID)
        return try await privateUser(userID)
    }

    /// Stores the new photo, records it, then deletes the one it replaced.
    @Sendable func putPhoto(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let userID = try context.requirePrincipal().userID
        let (bytes, kind) = try await readImageUpload(request, limit: Self.photoBytesMax)
        guard let key = ObjectKey("users/\(userID)/\(Identifiers.make("photo")).\(kind.fileExtension)") else {
            throw Problem.notFound("No such user.")
        }
        try await media.store.put(key: key, bytes: bytes, contentType: kind.contentType)
        let events: [Accounts.Event]
        do {
            events = try await service.execute(.setPhoto(userID: userID, key: key.value), for: userID)
        } catch {
            try? await media.store.delete(key: key)
            throw error
        }
        for case let .photoChanged(_, previous?, _, _) in events {
            if let old = ObjectKey(previous) {
                do { try await media.store.delete(key: old) } catch {
                    context.logger.warning("old profile photo not deleted", metadata: ["object.key": "\(previous)", "error": "\(error)"])
                }
            }
        }
        return EncodedJSON(["photoUrl": media.url(for: key.value)])
    }

    // MARK: Admin

    @Sendable func listUsers(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let query = request.uri.formParameters
        var errors: [Problem.FieldError] = []
        let page = PageRequest(query: query, errors: &errors)
        let role = query["role"].map { String($0) }
        if let role, Role(name: role) == nil { errors.append(.init(field: "role", message: "must be guest, host or admin")) }
        let suspended = query["suspended"].map { String($0) }
        if let suspended, Bool(suspended) == nil { errors.append(.init(field: "suspended", message: "must be true or false")) }
        if let email = query["email"], email.contains(" ") {
            // No address has a space: a `+` written raw arrived as one (`+` is a space in a query string).
            errors.append(.init(field: "email", message: "cannot contain spaces (write + as %2B)"))
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let filter = UserFilter(
            role: role.flatMap(Role.init(name:)), emailPrefix: query["email"].map { EmailAddress.normalise(String($0)) },
            suspended: suspended.flatMap(Bool.init)
        )
        let (users, next) = try await service.listUsers(filter: filter, after: page.cursor, limit: page.limit)
        return EncodedJSON(Page(items: users.map { PrivateUser($0, photoURL: media.url(for: $0.photoKey)) }, nextCursor: next))
    }

    @Sendable func adminUpdate(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let patch = try await request.decodeStrictJSON(as: AdminUserPatch.self, limit: bodyLimit)
        var role: Role?
        if let name = patch.role {
            role = Role(name: name)
            if role == nil || role == .admin { throw Problem.validation([.init(field: "role", message: "must be guest or host (admins are made by the command line)")]) }
        }
        guard Identifiers.isValid(id), await service.user(id) != nil else { throw Problem.notFound("No such user.") }
        if id == context.principal?.userID, patch.suspended == true {
            throw Problem.validation([.init(field: "suspended", message: "admins cannot suspend themselves")])
        }
        try await service.execute(.adminUpdate(userID: id, suspended: patch.suspended, role: role), for: id)
        // Also when nothing changed: a retry reaches the listings an interrupted request did not.
        try await standing.follow(hostID: id)
        return try await privateUser(id)
    }
}
