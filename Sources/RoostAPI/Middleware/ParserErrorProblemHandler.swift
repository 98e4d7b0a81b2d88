import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Gives requests too malformed to reach the router (bad bytes in the path or a header, a bad
/// `Content-Length`, an oversized head) the same answer as every other error: problem+json with
/// an `X-Request-ID`.
///
/// Hummingbird answers an HTTP parser error with a bare `400` (`Connection: close`,
/// `Content-Length: 0`) from below the middleware. This channel handler sits on the outbound path
/// and rewrites exactly that response; the application's own 400s always carry a request id and
/// pass through untouched.
final class ParserErrorProblemHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case let .head(head) = unwrapOutboundIn(data), Self.isBareParserError(head) else {
            context.write(data, promise: promise)
            return
        }
        let id = RequestID.make()
        let bytes = ProblemMiddleware.encodedBody(Problem.malformed("The request is not valid HTTP/1.1."), requestID: id)
        var rewritten = head
        rewritten.headerFields[.contentType] = "application/problem+json"
        rewritten.headerFields[.contentLength] = String(bytes.readableBytes)
        rewritten.headerFields[.requestID] = id
        context.write(wrapOutboundOut(.head(rewritten)), promise: nil)
        context.write(wrapOutboundOut(.body(bytes)), promise: promise)
    }

    static func isBareParserError(_ head: HTTPResponse) -> Bool {
        head.status == .badRequest && head.headerFields[.requestID] == nil && head.headerFields[.contentLength] == "0"
    }
}
