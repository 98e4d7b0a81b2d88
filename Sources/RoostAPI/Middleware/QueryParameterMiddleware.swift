import Hummingbird

/// Refuses a query string that gives a parameter more than once (422, one field error per name):
/// which of `?guests=2&guests=3` a client meant is not the server's to guess, and the first value
/// silently winning hid the client's bug. Lists are one parameter, comma-separated
/// (`amenities=wifi,pool`), everywhere in the API.
///
/// Names are compared as they arrive (not percent-decoded), from one pass over the raw query: every
/// request pays this, and a search's query string is parsed again only by its route.
struct QueryParameterMiddleware: RouterMiddleware {
    typealias Context = RoostRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let query = request.uri.query, !query.isEmpty {
            let repeated = Self.repeatedNames(in: query)
            if !repeated.isEmpty {
                throw Problem.validation(repeated.map { .init(field: $0, message: "is given more than once; give it once (lists are comma-separated)") })
            }
        }
        return try await next(request, context)
    }

    /// The names given more than once in `query` (`a=1&b&a=2` → `["a"]`), in order of first repeat.
    /// Bytes, not `Character`s: every request pays this, and splitting its query string into grapheme
    /// clusters (as a `Substring` split does) cost a search measurably more server CPU.
    static func repeatedNames(in query: String) -> [String] {
        var seen: [Substring.UTF8View] = []
        var repeated: [String] = []
        for pair in Substring(query).utf8.split(separator: UInt8(ascii: "&")) {
            let name = pair.prefix { $0 != UInt8(ascii: "=") }
            if seen.contains(where: { $0.elementsEqual(name) }) {
                let text = String(decoding: name, as: UTF8.self)
                if !repeated.contains(text) { repeated.append(text) }
            } else {
                seen.append(name)
            }
        }
        return repeated
    }
}
