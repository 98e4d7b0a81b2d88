/// Who signed in with a third-party identity provider, as that provider vouches for it.
///
/// `subject` is the provider's stable id for the person (Google's `sub`, Facebook's app-scoped
/// user id); pair it with `provider` to find the account. `email` is a hint, not an identity:
/// link an email to an existing account only when `emailVerified` is true.
public struct VerifiedIdentity: Sendable, Equatable {
    public var provider: IdentityProvider
    public var subject: String
    public var email: String?
    public var emailVerified: Bool
    public var name: String?

    public init(provider: IdentityProvider, subject: String, email: String?, emailVerified: Bool, name: String?) {
        self.provider = provider
        self.subject = subject
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
    }
}

/// The third parties Roost accepts sign-ins from.
public enum IdentityProvider: String, Sendable {
    case google
    case facebook
}

/// Why a provider token did not become a `VerifiedIdentity`. Messages never contain tokens or secrets.
public enum IdentityError: Error, Sendable, Equatable {
    /// The token is not a valid sign-in for this app (forged, expired, for another app, …): answer 401.
    case invalidToken(String)
    /// The provider could not be asked (down, slow, answering nonsense): answer 503. Never a sign-in.
    case unavailable(String)

    /// A stable machine code for the API's problem+json.
    public var code: String {
        switch self {
        case .invalidToken: "identity_token_invalid"
        case .unavailable: "identity_provider_unavailable"
        }
    }
}

/// Turns a token a client obtained from a provider into the identity it proves, by asking the
/// provider (or its published keys) — never by trusting what the client says about itself.
public protocol IdentityVerifier: Sendable {
    func verify(_ token: String) async throws(IdentityError) -> VerifiedIdentity
}
