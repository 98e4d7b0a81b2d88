import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import RoostEngine
import RoostStorage

/// Health, metrics and the OpenAPI document: the routes outside `/v1`.
struct OperationsRoutes {
    let engine: Engine
    let metrics: PrometheusCollectorRegistry

    struct Status: ResponseEncodable {
        var status: String
        var detail: String?
    }

    func register(on router: Router<RoostRequestContext>) {
        router.get("health/live") { _, _ in Status(status: "ok") }
        router.get("health/ready") { _, _ -> Response in
            guard engine.isAcceptingWrites else {
                throw Problem.unavailable("Not accepting writes: \(engine.journal.failure?.description ?? "the journal is stopped").")
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#))
            )
        }
        router.get("metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            metrics.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        router.get("openapi.json") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json))
            )
        }
    }
}
