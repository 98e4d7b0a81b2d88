import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization

/// Observes every request once: one structured log line (method, path, status, duration, request
/// id) and the Prometheus series `roost_http_requests_total{route,method,status}` and
/// `roost_http_request_duration_seconds{route,method}`.
///
/// One middleware, one clock read at each end, and metric handles cached per series: this runs on
/// every request, and Hummingbird's general-purpose metrics middleware cost a fifth of the
/// throughput of `GET /health/live` (see the issue notes).
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = RoostRequestContext

    private let series = SeriesCache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            observe(request, status: response.status.code, started: started, context: context)
            return response
        } catch {
            observe(request, status: Problem.from(error)?.status.code ?? 500, started: started, context: context)
            throw error
        }
    }

    private func observe(_ request: Request, status: Int, started: ContinuousClock.Instant, context: Context) {
        let elapsed = ContinuousClock.now - started
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        // Unmatched paths share one series, so junk URLs cannot grow the metrics without bound.
        let route = context.endpointPath ?? "unmatched"
        series.record(route: route, method: request.method, status: status, nanoseconds: nanoseconds)
        guard context.logger.logLevel <= .info else { return }
        context.logger.info(
            "request",
            metadata: [
                "http.method": .string(request.method.rawValue),
                "http.path": .string(request.uri.path),
                "http.status": .stringConvertible(status),
                "http.duration_us": .stringConvertible(nanoseconds / 1000),
            ]
        )
    }
}

/// Metric handles per (route, method, status), created on first use.
private final class SeriesCache: Sendable {
    private struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    private struct Handles {
        var requests: Counter
        var duration: Timer
    }

    private let handles = Mutex<[Key: Handles]>([:])

    func record(route: String, method: HTTPRequest.Method, status: Int, nanoseconds: Int64) {
        let key = Key(route: route, method: method, status: status)
        let found = handles.withLock { handles in
            if let found = handles[key] { return found }
            let created = Handles(
                requests: Counter(
                    label: "roost_http_requests_total",
                    dimensions: [("route", route), ("method", method.rawValue), ("status", String(status))]
                ),
                duration: Timer(label: "roost_http_request_duration_seconds", dimensions: [("route", route), ("method", method.rawValue)])
            )
            handles[key] = created
            return created
        }
        found.requests.increment()
        found.duration.recordNanoseconds(nanoseconds)
    }
}
