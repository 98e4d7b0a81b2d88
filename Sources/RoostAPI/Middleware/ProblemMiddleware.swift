import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

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
        let id = RequestID.accepting(request.headers[.requestID])
        context.requestID = id
        context.logger[metadataKey: "request.id"] = .string(id)
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

/// Request ids: the client's own when it is short and plain, otherwise 32 hex digits: a random
/// per-process prefix and a counter. Unique without a system call per request (ids need to be
/// distinct, not secret).
enum RequestID {
    static let lengthMax = 128
    private static let prefix = hex(UInt64.random(in: .min ... .max))
    private static let counter = Atomic<UInt64>(0)

    static func accepting(_ offered: String?) -> String {
        if let offered, isAcceptable(offered) { return offered }
        return make()
    }

    static func isAcceptable(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= lengthMax else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        }
    }

    static func make() -> String {
        prefix + hex(counter.add(1, ordering: .relaxed).newValue)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
