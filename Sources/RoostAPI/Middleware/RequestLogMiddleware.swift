import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// One structured log line per request: method, path, status, duration, request id (from the context's logger).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = RoostRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, status: response.status.code, started: started, context: context)
            return response
        } catch {
            log(request, status: Problem.from(error)?.status.code ?? 500, started: started, context: context)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, started: ContinuousClock.Instant, context: Context) {
        guard context.logger.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        context.logger.info(
            "request",
            metadata: [
                "http.method": .string(request.method.rawValue),
                "http.path": .string(request.uri.path),
                "http.status": .stringConvertible(status),
                "http.duration_us": .stringConvertible(micros),
            ]
        )
    }
}
