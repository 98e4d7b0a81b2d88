import HTTPTypes
import Hummingbird

/// Answers `HEAD` wherever `GET` is answered (RFC 9110 §9.3.2): the same status and headers, no body.
///
/// A responder around the whole router rather than a middleware, because the router picks the
/// route (by method) before its middleware runs.
struct HeadResponder<Wrapped: HTTPResponder>: HTTPResponder {
    typealias Context = Wrapped.Context
    let wrapped: Wrapped

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await wrapped.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await wrapped.respond(to: Request(head: head, body: request.body), context: context)
        // The GET's Content-Length stays (RFC 9110 §9.3.2: the headers a GET would send); an empty body would set it to 0.
        let length = response.headers[.contentLength]
        response.body = ResponseBody()
        response.headers[.contentLength] = length
        return response
    }
}
