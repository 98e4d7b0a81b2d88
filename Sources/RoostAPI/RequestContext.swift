import Hummingbird
import Logging

/// The per-request context every Roost route receives.
public struct RoostRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id: the client's `X-Request-ID` when it is sensible, otherwise one we made.
    public var requestID = ""

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Bodies are read through `JSONBody`, which applies Roost's own limit; this is the ceiling for any other reader.
    public var maxUploadSize: Int { 1 << 20 }
}
