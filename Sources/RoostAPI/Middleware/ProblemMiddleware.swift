import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let retryAfter = HTTPField.Name("Retry-After")!
}

/// The outermost middleware: gives every request an id, echoes it on every response, and turns
/// every error into `application/problem+json` in one place.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = RoostRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id: String
        if let offered = request.headers[.requestID], RequestID.isAcceptable(offered) {
            id = offered
            context.logger[metadataKey: "request.id"] = .string(offered)
        } else {
            // Hummingbird already gave the request an id (logged as `request.id`, see JSONLogHandler).
            id = context.id
        }
        context.requestID = id
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = id
            return response
        } catch {
            let problem = Problem.from(error) ?? {
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
                return Problem(.internalServerError, code: "internal_error", title: "Internal error", detail: "Something went wrong on our side.")
            }()
            return Self.response(for: problem, requestID: id)
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response(for problem: Problem, requestID: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json", .requestID: requestID]
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: encodedBody(problem, requestID: requestID)))
    }

    static func encodedBody(_ problem: Problem, requestID: String) -> ByteBuffer {
        let body = (try? encoder.encode(ProblemBody(problem, requestID: requestID))) ?? Data("{}".utf8)
        return ByteBuffer(bytes: body)
    }
}

/// Request ids: the client's own when it is 1-128 characters of `[A-Za-z0-9._:-]`; otherwise
/// Hummingbird's per-request id (hex, unique per process) is used.
enum RequestID {
    static let lengthMax = 128

    static func isAcceptable(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= lengthMax else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        }
    }

    /// An id for a response produced below the router (where Hummingbird has not made one).
    static func make() -> String { Hummingbird.RequestID().description }
}
