import AsyncHTTPClient
import Crypto
import Foundation
import Logging

/// Verifies a Facebook user access token (what "Log in with Facebook" hands the client) by asking
/// the Graph API, as Facebook documents for server-side checks:
///
/// 1. `GET {graph}/debug_token?input_token=<token>&access_token=<appID>|<appSecret>` must say
///    `is_valid: true`, `app_id` equal to Roost's app id and, when given, `type: USER`. The user id
///    is taken from its `user_id` — never from anything the client sends.
/// 2. `GET {graph}/{user_id}?fields=id,name,email&access_token=<token>&appsecret_proof=<proof>`,
///    where the proof is the hex HMAC-SHA256 of the token keyed with the app secret, gives the
///    name and email; its `id` must be that same user id.
///
/// Facebook documents no verification guarantee for the `email` field, so a returned email is
/// reported with `emailVerified == false`: Roost keeps it for a new account but never links an
/// existing account through it. An account without one (or a user who declined the `email`
/// permission) gives `email == nil`.
///
/// Errors: a token Facebook calls invalid or expired, one issued to another app, or refused when
/// reading the profile is `.invalidToken`. Transport failures, timeouts, 5xx, Facebook's transient
/// and throttling errors, and a refused `debug_token` call (Facebook rejecting Roost's own app
/// credentials: the user's token was never judged) are `.unavailable`.
/// Tokens and the app secret never appear in errors or logs.
public struct FacebookTokenVerifier: IdentityVerifier {
    public struct Configuration: Sendable {
        public var appID: String
        public var appSecret: String
        /// Graph API root, without the version.
        public var graphBaseURL: String
        /// The Graph API version path segment, such as `v19.0`; empty for none.
        public var apiVersion: String
        /// Each Graph call (connect, answer, body) must finish within this.
        public var timeout: Duration

        public init(
            appID: String,
            appSecret: String,
            graphBaseURL: String = "https://graph.facebook.com",
            apiVersion: String = "v19.0",
            timeout: Duration = .seconds(5)
        ) {
            self.appID = appID
            self.appSecret = appSecret
            self.graphBaseURL = graphBaseURL
            self.apiVersion = apiVersion
            self.timeout = timeout
        }
    }

    /// Tokens longer than this are refused unsent (Facebook's are a few hundred bytes).
    public static let tokenBytesMax = 4 * 1024

    public let configuration: Configuration
    private let client: HTTPClient
    private let logger: Logger

    /// - Parameter httpClient: the client for Graph calls; it must outlive the verifier.
    public init(
        configuration: Configuration,
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "roost.identity.facebook")
    ) {
        self.configuration = configuration
        self.client = httpClient
        self.logger = logger
    }

    public func verify(_ token: String) async throws(IdentityError) -> VerifiedIdentity {
        do throws(IdentityError) {
            return try await verifyToken(token)
        } catch {
            switch error {
            case .invalidToken(let reason): logger.debug("Facebook token refused", metadata: ["reason": "\(reason)"])
            case .unavailable(let reason): logger.warning("Facebook Graph API unavailable", metadata: ["reason": "\(reason)"])
            }
            throw error
        }
    }

    private func verifyToken(_ token: String) async throws(IdentityError) -> VerifiedIdentity {
        guard !token.isEmpty, token.utf8.count <= Self.tokenBytesMax else { throw .invalidToken("malformed token") }

        let debug = try await graph(
            "debug_token",
            query: [("input_token", token), ("access_token", "\(configuration.appID)|\(configuration.appSecret)")],
            as: DebugTokenAnswer.self,
            refusal: { .unavailable("debug_token: Facebook refused the call (code \($0)); check the app id and secret") }
        ).data
        guard debug.isValid == true else { throw .invalidToken("Facebook says the token is not valid") }
        guard debug.appID?.value == configuration.appID else { throw .invalidToken("token issued to another app") }
        guard debug.type == nil || debug.type == "USER" else { throw .invalidToken("not a user token") }
        guard let userID = debug.userID?.value, Self.isUserID(userID) else { throw .invalidToken("token names no user") }

        let proof = Self.appSecretProof(token: token, appSecret: configuration.appSecret)
        let profile = try await graph(
            userID,
            query: [("fields", "id,name,email"), ("access_token", token), ("appsecret_proof", proof)],
            as: Profile.self,
            refusal: { .invalidToken("Facebook refused the profile read (code \($0))") }
        )
        guard profile.id.value == userID else { throw .invalidToken("profile does not belong to the token's user") }
        let email = profile.email.flatMap { $0.isEmpty ? nil : $0 }
        return VerifiedIdentity(provider: .facebook, subject: userID, email: email, emailVerified: false, name: profile.name)
    }

    /// `appsecret_proof`: the lowercase hex HMAC-SHA256 of the access token, keyed with the app secret.
    static func appSecretProof(token: String, appSecret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: SymmetricKey(data: Data(appSecret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// App-scoped Facebook user ids are decimal numbers; anything else must not reach a URL path.
    private static func isUserID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// One Graph GET. `refusal` turns a non-transient 4xx (given Facebook's error code) into this call's error.
    private func graph<Answer: Decodable>(
        _ path: String,
        query: [(String, String)],
        as _: Answer.Type,
        refusal: (Int) -> IdentityError
    ) async throws(IdentityError) -> Answer {
        let what = path == "debug_token" ? "debug_token" : "profile"
        let response = try await ProviderHTTP.get(url(path, query), what: what, client: client, timeout: configuration.timeout)
        switch response.status {
        case 200:
            guard let answer = response.decode(Answer.self) else { throw .unavailable("\(what): unexpected answer") }
            return answer
        case 400..<500 where response.status != 429:
            let error = response.decode(GraphErrorAnswer.self)?.error
            if let error, error.isTransient { throw .unavailable("\(what): Facebook is throttling or busy (code \(error.code ?? 0))") }
            throw refusal(error?.code ?? 0)
        default:
            throw .unavailable("\(what): HTTP \(response.status)")
        }
    }

    private func url(_ path: String, _ query: [(String, String)]) -> String {
        var root = configuration.graphBaseURL
        while root.hasSuffix("/") { root.removeLast() }
        let version = configuration.apiVersion.isEmpty ? "" : "/" + configuration.apiVersion
        let items = query.map { "\($0)=\(Self.percentEncoded($1))" }.joined(separator: "&")
        return "\(root)\(version)/\(path)?\(items)"
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private struct DebugTokenAnswer: Decodable {
        var data: TokenInfo

        struct TokenInfo: Decodable {
            var isValid: Bool?
            var appID: LenientString?
            var userID: LenientString?
            var type: String?

            enum CodingKeys: String, CodingKey {
                case isValid = "is_valid"
                case appID = "app_id"
                case userID = "user_id"
                case type
            }
        }
    }

    private struct Profile: Decodable {
        var id: LenientString
        var name: String?
        var email: String?
    }

    private struct GraphErrorAnswer: Decodable {
        var error: GraphError

        struct GraphError: Decodable {
            var code: Int?
            var transient: Bool?

            enum CodingKeys: String, CodingKey {
                case code
                case transient = "is_transient"
            }

            /// Facebook's documented "try again later" codes: unknown/service errors and rate limits.
            var isTransient: Bool {
                transient == true || [1, 2, 4, 17, 32, 341, 613].contains(code ?? 0)
            }
        }
    }

    /// An id Facebook documents as a string but that is safer read as either a string or a number.
    private struct LenientString: Decodable {
        var value: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                value = text
            } else {
                value = String(try container.decode(UInt64.self))
            }
        }
    }
}
