import Hummingbird

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Refuses a query string that gives a parameter more than once (422, one field error per name):
/// which of `?guests=2&guests=3` a client meant is not the server's to guess, and the first value
/// silently winning hid the client's bug. Lists are one parameter, comma-separated
/// (`amenities=wifi,pool`), everywhere in the API.
///
/// Names are compared as they arrive, from one pass over the raw query: every request pays this,
/// and a search's query string is parsed again only by its route. A query with `%` or `+` in it
/// compares its names decoded (`FormQuery`), as the routes will read them.
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
    /// One pass over the bytes, names compared where they lie: every request pays this. (Splitting
    /// the query into grapheme clusters, as a `Substring` split does, and comparing names as
    /// collections each cost a search measurably more server CPU.)
    static func repeatedNames(in query: String) -> [String] {
        guard FormQuery.isPlain(query[...]) else {
            var seen = Set<Substring>(), repeated: [String] = []
            for (name, _) in FormQuery.parameters(query) where !seen.insert(name).inserted && !repeated.contains(String(name)) {
                repeated.append(String(name))
            }
            return repeated
        }
        var query = query
        return query.withUTF8 { bytes in
            var names: [Range<Int>] = []
            names.reserveCapacity(16)
            var repeated: [String] = []
            var start = 0
            while start < bytes.count {
                var end = start, nameEnd = -1
                while end < bytes.count, bytes[end] != UInt8(ascii: "&") {
                    if nameEnd < 0, bytes[end] == UInt8(ascii: "=") { nameEnd = end }
                    end += 1
                }
                defer { start = end + 1 }
                guard end > start else { continue }  // `&&`: no parameter
                let name = start..<(nameEnd < 0 ? end : nameEnd)
                func same(_ other: Range<Int>) -> Bool {
                    other.count == name.count && memcmp(bytes.baseAddress! + other.lowerBound, bytes.baseAddress! + name.lowerBound, name.count) == 0
                }
                if names.contains(where: same) {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self)
                    if !repeated.contains(text) { repeated.append(text) }
                } else {
                    names.append(name)
                }
            }
            return repeated
        }
    }
}
