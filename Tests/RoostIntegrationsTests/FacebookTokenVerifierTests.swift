import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostIntegrations

/// The two Graph API calls Facebook's server-side check uses, checked the way Facebook checks them:
/// `debug_token` wants the app token `<app id>|<app secret>`; reading a user wants a token of that
/// user and the matching `appsecret_proof`.
final class GraphStandIn: Sendable {
    static let appID = "1234567890"
    static let appSecret = "app-secret-do-not-log"

    struct Token {
        var appID = GraphStandIn.appID
        var userID: String
        var isValid = true
        var type = "USER"
    }

    struct User {
        var name: String?
        var email: String?
        /// What the profile answer claims as `id`, when a test wants it to lie.
        var answeredID: String?
    }

    struct State {
        var tokens: [String: Token] = [:]
        var users: [String: User] = [:]
        /// Answer every call with this status, when set.
        var failure: HTTPResponse.Status?
        /// Answer profile reads with this status, when set.
        var profileFailure: (HTTPResponse.Status, String)?
        /// Paths asked for, in order.
        var paths: [String] = []
        /// Profile reads refused for a wrong `appsecret_proof`.
        var badProofs = 0
    }

    private let state = Mutex(State())

    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }
    var paths: [String] { state.withLock { $0.paths } }
    var badProofs: Int { state.withLock { $0.badProofs } }

    static func proof(_ token: String, secret: String = appSecret) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    static func graphError(_ code: Int, _ message: String, transient: Bool = false) -> String {
        #"{"error":{"message":"\#(message)","type":"OAuthException","code":\#(code),"is_transient":\#(transient),"fbtrace_id":"AbC"}}"#
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("v19.0/debug_token") { request, _ in
            let state = self.state.withLock { state in
                state.paths.append(request.uri.path)
                return state
            }
            if let failure = state.failure { return jsonResponse("{}", status: failure) }
            let query = request.uri.queryParameters
            guard query.get("access_token") == "\(Self.appID)|\(Self.appSecret)" else {
                return jsonResponse(Self.graphError(190, "Invalid OAuth access token signature."), status: .badRequest)
            }
            guard let input = query.get("input_token"), let token = state.tokens[input] else {
                return jsonResponse(#"{"data":{"error":{"code":190,"message":"Invalid OAuth access token."},"is_valid":false,"scopes":[]}}"#)
            }
            return jsonResponse(
                #"{"data":{"app_id":"\#(token.appID)","type":"\#(token.type)","application":"Roost","expires_at":1999999999,"is_valid":\#(token.isValid),"scopes":["email","public_profile"],"user_id":"\#(token.userID)"}}"#
            )
        }
        router.get("v19.0/:user") { request, context in
            let state = self.state.withLock { state in
                state.paths.append(request.uri.path)
                return state
            }
            if let failure = state.failure { return jsonResponse("{}", status: failure) }
            if let failure = state.profileFailure { return jsonResponse(failure.1, status: failure.0) }
            let query = request.uri.queryParameters
            let userID = try context.parameters.require("user")
            guard let accessToken = query.get("access_token"), let token = state.tokens[accessToken], token.isValid,
                token.userID == userID, let user = state.users[userID]
            else {
                return jsonResponse(Self.graphError(190, "Invalid OAuth access token."), status: .badRequest)
            }
            guard query.get("appsecret_proof") == Self.proof(accessToken) else {
                self.update { $0.badProofs += 1 }
                return jsonResponse(Self.graphError(100, "Invalid appsecret_proof provided in the API argument"), status: .badRequest)
            }
            var fields = ["id": user.answeredID ?? userID]
            for field in (query.get("fields") ?? "").split(separator: ",") {
                switch field {
                case "name": fields["name"] = user.name
                case "email": fields["email"] = user.email
                default: break
                }
            }
            return jsonResponse(String(decoding: try JSONEncoder().encode(fields), as: UTF8.self))
        }
        return router
    }
}

@Suite struct FacebookTokenVerifierTests {
    static let token = "EAAGm0PX4ZCpsBAKvalid+token/with=odd&chars"

    /// A Graph stand-in that knows `token` as user 10150000000000001's.
    func graph() -> GraphStandIn {
        let graph = GraphStandIn()
        graph.update {
            $0.tokens[Self.token] = .init(userID: "10150000000000001")
            $0.users["10150000000000001"] = .init(name: "Grace Hopper", email: "grace@example.com")
        }
        return graph
    }

    func withVerifier(
        _ graph: GraphStandIn,
        appSecret: String = GraphStandIn.appSecret,
        logger: Logger = quietLogger,
        _ body: (FacebookTokenVerifier) async throws -> Void
    ) async throws {
        try await withStandIn(graph.router) { base in
            let configuration = FacebookTokenVerifier.Configuration(
                appID: GraphStandIn.appID, appSecret: appSecret, graphBaseURL: base + "/", apiVersion: "v19.0", timeout: .seconds(15))
            try await body(FacebookTokenVerifier(configuration: configuration, logger: logger))
        }
    }

    @Test func aValidTokenIsTheUserDebugTokenNames() async throws {
        let graph = graph()
        try await withVerifier(graph) { verifier in
            #expect(
                await outcome(verifier, Self.token)
                    == .success(VerifiedIdentity(provider: .facebook, subject: "10150000000000001", email: "grace@example.com", emailVerified: false, name: "Grace Hopper"))
            )
        }
        // The profile read went to the id debug_token gave, and only passed with the right proof.
        #expect(graph.paths == ["/v19.0/debug_token", "/v19.0/10150000000000001"])
        #expect(graph.badProofs == 0)
    }

    @Test func theAppSecretProofIsHexHMACSHA256OfTheTokenKeyedWithTheSecret() {
        // echo -n token | openssl dgst -sha256 -hmac s3cret
        #expect(FacebookTokenVerifier.appSecretProof(token: "token", appSecret: "s3cret") == "115dc49a2bd4eaf3ace9d48bffe3479f871ecd032d1aca57d1034634546a686f")
    }

    @Test func anInvalidOrUnknownTokenIsRefusedWithoutReadingAProfile() async throws {
        let graph = graph()
        graph.update { $0.tokens["expired"] = .init(userID: "10150000000000001", isValid: false) }
        try await withVerifier(graph) { verifier in
            #expect(await outcome(verifier, "expired") == .failure(.invalidToken("Facebook says the token is not valid")))
            #expect(await outcome(verifier, "never-issued") == .failure(.invalidToken("Facebook says the token is not valid")))
            #expect(await outcome(verifier, "").isInvalidToken)
        }
        #expect(graph.paths == ["/v19.0/debug_token", "/v19.0/debug_token"])
    }

    @Test func aTokenIssuedToAnotherAppIsRefused() async throws {
        let graph = graph()
        graph.update {
            $0.tokens["other-app"] = .init(appID: "999", userID: "10150000000000001")
            $0.tokens["page-token"] = .init(userID: "10150000000000001", type: "PAGE")
        }
        try await withVerifier(graph) { verifier in
            #expect(await outcome(verifier, "other-app") == .failure(.invalidToken("token issued to another app")))
            #expect(await outcome(verifier, "page-token") == .failure(.invalidToken("not a user token")))
        }
        #expect(graph.paths.allSatisfy { $0 == "/v19.0/debug_token" })
    }

    @Test func theUserIDComesFromDebugTokenAndTheProfileMustAgree() async throws {
        let graph = graph()
        graph.update {
            // A token of user 2 whose profile read would claim to be user 1.
            $0.tokens["user-2"] = .init(userID: "10150000000000002")
            $0.users["10150000000000002"] = .init(name: "Mallory", email: "m@example.com", answeredID: "10150000000000001")
            // A debug_token answer naming something that is not a user id.
            $0.tokens["odd-id"] = .init(userID: "1/../../me")
        }
        try await withVerifier(graph) { verifier in
            #expect(await outcome(verifier, "user-2") == .failure(.invalidToken("profile does not belong to the token's user")))
            #expect(await outcome(verifier, "odd-id") == .failure(.invalidToken("token names no user")))
        }
        #expect(graph.paths == ["/v19.0/debug_token", "/v19.0/10150000000000002", "/v19.0/debug_token"])
    }

    @Test func aUserWithoutAnEmailHasNone() async throws {
        let graph = graph()
        graph.update { $0.users["10150000000000001"]?.email = nil }
        try await withVerifier(graph) { verifier in
            #expect(
                await outcome(verifier, Self.token)
                    == .success(VerifiedIdentity(provider: .facebook, subject: "10150000000000001", email: nil, emailVerified: false, name: "Grace Hopper"))
            )
        }
    }

    @Test func wrongAppCredentialsAreUnavailableNotTheUsersFault() async throws {
        let graph = graph()
        try await withVerifier(graph, appSecret: "wrong-secret") { verifier in
            #expect(await outcome(verifier, Self.token).isUnavailable)
        }
    }

    @Test func graphDownIsUnavailable() async throws {
        let graph = graph()
        try await withVerifier(graph) { verifier in
            graph.update { $0.failure = .internalServerError }
            #expect(await outcome(verifier, Self.token).isUnavailable)
            graph.update {
                $0.failure = nil
                $0.profileFailure = (.serviceUnavailable, "{}")
            }
            #expect(await outcome(verifier, Self.token).isUnavailable, "profile read failing")
            graph.update { $0.profileFailure = (.badRequest, GraphStandIn.graphError(4, "Application request limit reached", transient: true)) }
            #expect(await outcome(verifier, Self.token).isUnavailable, "throttled")
            graph.update { $0.profileFailure = (.badRequest, GraphStandIn.graphError(190, "Error validating access token: Session has expired")) }
            #expect(await outcome(verifier, Self.token).isInvalidToken, "expired between the two calls")
            graph.update { $0.profileFailure = (.ok, "not json") }
            #expect(await outcome(verifier, Self.token).isUnavailable, "nonsense")
        }
        let nowhere = try await closedPortURL()
        let verifier = FacebookTokenVerifier(
            configuration: .init(appID: GraphStandIn.appID, appSecret: GraphStandIn.appSecret, graphBaseURL: nowhere, timeout: .milliseconds(300)),
            logger: quietLogger)
        #expect(await outcome(verifier, Self.token).isUnavailable, "connection refused")
    }

    @Test func tokensAndTheSecretNeverReachLogsOrErrors() async throws {
        let graph = graph()
        let logs = CapturedLogs()
        var errors: [IdentityError] = []
        try await withVerifier(graph, logger: logs.logger) { verifier in
            graph.update { $0.tokens[Self.token]?.isValid = false }
            if case .failure(let error) = await outcome(verifier, Self.token) { errors.append(error) }
            graph.update { $0.failure = .badGateway }
            if case .failure(let error) = await outcome(verifier, Self.token) { errors.append(error) }
        }
        #expect(errors.count == 2)
        #expect(logs.entries.count == 2)
        let written = logs.entries.map { "\($0.message) \($0.metadata)" } + errors.map { "\($0)" }
        for text in written {
            #expect(!text.contains("EAAGm0PX4ZCps"))
            #expect(!text.contains(GraphStandIn.appSecret))
        }
    }
}
