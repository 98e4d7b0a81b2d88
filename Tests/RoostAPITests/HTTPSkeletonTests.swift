import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RoostStorage
import RoostTestSupport
import Testing

@testable import RoostAPI
@testable import RoostEngine

/// A probe route that reads JSON the way every write endpoint does.
struct Greeting: Codable, ResponseEncodable {
    var name: String
    var count: Int
}

extension Greeting: StrictJSONBody {
    static let fields: Set<String> = ["name", "count"]
}

func withApp(
    io: StorageIO = .system, configure: (inout RoostConfiguration) -> Void = { _ in },
    clock: @escaping @Sendable () -> Date = { Date() },
    _ body: @Sendable (any TestClientProtocol, Engine) async throws -> Void
) async throws {
    let directory = TemporaryDirectory()
    var configuration = RoostConfiguration()
    configuration.dataDirectory = directory.path
    configuration.port = 0
    configuration.bcryptCost = 4
    configure(&configuration)
    var options = configuration.engineOptions()
    options.wal.io = io
    _ = roostMetrics  // as `roost serve` does: before the engine makes its counters
    let engine = try Engine.open(options: options, aggregates: roostAggregates, logger: quietLogger)
    defer { engine.close() }
    let services = try await RoostServices.start(configuration: configuration, engine: engine, logger: quietLogger, clock: clock)
    let limit = configuration.jsonBodyBytesMax
    let app = buildApplication(configuration: configuration, engine: engine, services: services, logger: quietLogger) { router in
        router.post("test/greetings") { request, _ in try await request.decodeJSON(as: Greeting.self, limit: limit) }
        router.post("test/strict-greetings") { request, _ in try await request.decodeStrictJSON(as: Greeting.self, limit: limit) }
    }
    do {
        try await app.test(.live) { client in try await body(client, engine) }
    } catch {
        await services.shutdown()
        throw error
    }
    await services.shutdown()
}

/// Generated ids are Hummingbird's: a per-process hex prefix and a 16-digit hex counter.
func isGeneratedID(_ id: String?) -> Bool {
    guard let id, (17...32).contains(id.count) else { return false }
    return id.allSatisfy(\.isHexDigit)
}

func problem(_ response: TestResponse) throws -> [String: Any] {
    #expect(response.headers[.contentType] == "application/problem+json")
    return try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as! [String: Any]
}

@Suite struct HTTPSkeletonTests {
    @Test func liveIsAlwaysOKAndEveryResponseCarriesARequestID() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
                #expect(isGeneratedID(response.headers[.requestID]))
            }
            try await client.execute(uri: "/health/live", method: .get, headers: [.requestID: "client-chosen.id:42"]) { response in
                #expect(response.headers[.requestID] == "client-chosen.id:42")
            }
            try await client.execute(uri: "/health/live", method: .get, headers: [.requestID: "bad id\twith spaces"]) { response in
                #expect(response.headers[.requestID] != "bad id\twith spaces")
                #expect(isGeneratedID(response.headers[.requestID]))
            }
        }
    }

    @Test func headIsAnsweredWhereverGetIsWithNoBody() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/health/live", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.requestID] != nil)
                #expect(response.headers[.contentLength] == String(#"{"status":"ok"}"#.utf8.count), "the GET's length, not the empty body's")
            }
            try await client.execute(uri: "/nowhere", method: .head) { #expect($0.status == .notFound) }
        }
    }

    @Test func anUnknownRouteIsAProblem404WithTheRequestID() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/v1/nothing-here", method: .get, headers: [.requestID: "abc"]) { response in
                #expect(response.status == .notFound)
                let body = try problem(response)
                #expect(body["code"] as? String == "not_found")
                #expect(body["status"] as? Int == 404)
                #expect(body["requestId"] as? String == "abc")
                #expect(body["title"] != nil && body["type"] != nil && body["detail"] != nil)
            }
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await withApp { client, _ in
            try await client.execute(
                uri: "/test/greetings", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name": "ada", "count": "#)
            ) { response in
                #expect(response.status == .badRequest)
                try #expect(problem(response)["code"] as? String == "malformed_request")
            }
        }
    }

    @Test func wellFormedJSONOfTheWrongShapeIs422WithTheField() async throws {
        try await withApp { client, _ in
            try await client.execute(
                uri: "/test/greetings", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name": "ada", "count": "three"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                let body = try problem(response)
                #expect(body["code"] as? String == "validation_failed")
                let errors = body["errors"] as? [[String: String]]
                #expect(errors?.first?["field"] == "count")
            }
            try await client.execute(
                uri: "/test/greetings", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"count": 3}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try problem(response)["errors"] as? [[String: String]]
                #expect(errors?.first?["field"] == "name")
            }
            // Valid JSON whose value is of another kind: 422 naming the field in JSON's words (not a Swift type's name).
            // A number that is not an integer, or too large for one: 422 too, not a 400, naming the field (the
            // decoder does not say which; it is found by trying).
            let misfit = "must be a whole number up to 9223372036854775807 where an integer goes"
            let cases = [("1.5", "count", misfit), ("1e30", "count", misfit), (#"{"n": 1}"#, "count", "must be an integer"), ("[1]", "count", "must be an integer")]
            for (count, field, message) in cases {
                for path in ["/test/greetings", "/test/strict-greetings"] {
                    try await client.execute(
                        uri: path, method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"name": "ada", "count": \#(count)}"#)
                    ) { response in
                        #expect(response.status == .unprocessableContent, "\(path) \(count)")
                        let errors = try problem(response)["errors"] as? [[String: String]]
                        #expect(errors?.first?["field"] == field && errors?.first?["message"] == message, "\(path) \(count): \(String(describing: errors))")
                    }
                }
            }
        }
    }

    /// Which number a decoder refused, found by trying: nested, in arrays, and only the integer fields, not
    /// doubles that fit where they are.
    @Test func aNumberThatDoesNotFitIsNamedWhereverItIs() throws {
        struct Money: Decodable { var amount: Int64; var currency: String }
        struct Range: Decodable { var from: String; var amount: Int64? }
        struct Body: Decodable { var lat: Double; var price: Money; var prices: [Range] }
        func misfits(_ json: String) -> [String]? {
            let data = Data(json.utf8)
            guard (try? JSONDecoder().decode(Body.self, from: data)) == nil else { return nil }
            let problem = Request.numberMisfit(in: data) { _ = try JSONDecoder().decode(Body.self, from: $0) }
            return problem?.errors.map(\.field)
        }
        let ok = #"{"lat": 1.29, "price": {"amount": 100, "currency": "SGD"}, "prices": [{"from": "x", "amount": 5}]}"#
        #expect(misfits(ok) == nil)
        #expect(misfits(#"{"lat": 1.29, "price": {"amount": 10.5, "currency": "SGD"}, "prices": []}"#) == ["price.amount"])
        #expect(misfits(#"{"lat": 1.29, "price": {"amount": 1, "currency": "SGD"}, "prices": [{"from": "x"}, {"from": "y", "amount": 1e30}]}"#) == ["prices[1].amount"])
        #expect(misfits(#"{"lat": 1.5, "price": {"amount": 2.5, "currency": "SGD"}, "prices": [{"from": "x", "amount": 0.5}]}"#) == ["price.amount", "prices[0].amount"])
        #expect(JSONMisfits.name([.key("prices"), .index(3), .key("amount")]) == "prices[3].amount")
    }

    @Test func aBodyThatIsNotJSONIs415() async throws {
        try await withApp { client, _ in
            // An empty or parameter-only media type is 415 too (the old check trapped on it).
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "", ";", " ; charset=utf-8"] {
                try await client.execute(
                    uri: "/test/greetings", method: .post, headers: [.contentType: contentType],
                    body: ByteBuffer(string: #"{"name": "ada", "count": 3}"#)
                ) { response in
                    #expect(response.status == .unsupportedMediaType)
                    try #expect(problem(response)["code"] as? String == "unsupported_media_type")
                }
            }
            try await client.execute(
                uri: "/test/greetings", method: .post, headers: [.contentType: "application/json; charset=utf-8"],
                body: ByteBuffer(string: #"{"name": "ada", "count": 3}"#)
            ) { response in
                #expect(response.status == .ok)
                try #expect(JSONDecoder().decode(Greeting.self, from: Data(response.body.readableBytesView)).count == 3)
            }
        }
    }

    @Test func mediaTypesReadAsJSON() {
        for json in ["application/json", "Application/JSON", " application/json\t", "application/json; charset=utf-8", "application/json;", "application/problem+json", "APPLICATION/MERGE-PATCH+JSON ; x=y"] {
            #expect(Request.isJSON(json), "\(json)")
        }
        for other in [nil, "", " ", ";", "; application/json", "text/plain", "application/jsonx", "application/json-seq", "text/+json", "application/x-www-form-urlencoded", "application/ json"] {
            #expect(!Request.isJSON(other), "\(other ?? "nil")")
        }
    }

    /// A strict body is read in one parse: unknown keys are named (sorted) before the declared
    /// fields' own checks, a body that is not an object is 422, malformed JSON still 400.
    @Test func aStrictBodyNamesEveryUnknownFieldBeforeItsOwnChecks() async throws {
        try await withApp { client, _ in
            func post(_ body: String, _ check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
                try await client.execute(uri: "/test/strict-greetings", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) { try check($0) }
            }
            try await post(#"{"name": "ada", "count": 3}"#) { response in
                #expect(response.status == .ok)
                try #expect(JSONDecoder().decode(Greeting.self, from: Data(response.body.readableBytesView)).name == "ada")
            }
            try await post(#"{"zeta": 1, "name": "ada", "count": "three", "alpha": null}"#) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try problem(response)["errors"] as? [[String: String]]
                #expect(errors?.map { $0["field"] } == ["alpha", "zeta"])
                #expect(errors?.allSatisfy { $0["message"] == "is not a field of this request" } == true)
            }
            try await post(#"{"name": "ada", "count": "three"}"#) { response in
                #expect(response.status == .unprocessableContent)
                try #expect((problem(response)["errors"] as? [[String: String]])?.first?["field"] == "count")
            }
            for notAnObject in ["[1, 2]", "\"ada\"", "3", "null"] {
                try await post(notAnObject) { response in
                    let body = try problem(response)
                    #expect(response.status == .unprocessableContent, "\(notAnObject)")
                    #expect((body["errors"] as? [[String: String]])?.first?["message"] == "must be a JSON object", "\(notAnObject): \(body)")
                }
            }
            try await post(#"{"name": "ada", "#) { response in
                #expect(response.status == .badRequest)
                try #expect(problem(response)["code"] as? String == "malformed_request")
            }
        }
    }

    @Test func aJSONBodyOverOneMebibyteIs413() async throws {
        try await withApp { client, _ in
            let big = #"{"name": ""# + String(repeating: "x", count: (1 << 20) + 10) + #"", "count": 1}"#
            try await client.execute(
                uri: "/test/greetings", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: big)
            ) { response in
                #expect(response.status == .contentTooLarge)
                try #expect(problem(response)["code"] as? String == "payload_too_large")
            }
        }
    }

    @Test func metricsArePrometheusTextAndCountRequestsAndWALBatches() async throws {
        try await withApp { client, engine in
            try await client.execute(uri: "/health/live", method: .get) { _ in }
            try await engine.journal.waitDurable(try engine.journal.log.append(type: 1, payload: [1]))
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE roost_http_requests_total counter"))
                #expect(text.contains(#"roost_http_requests_total{route="/health/live",method="GET",status="200"}"#))
                #expect(text.contains(#"roost_http_request_duration_seconds_count{route="/health/live",method="GET"}"#))
                #expect(text.contains("# TYPE roost_wal_records counter"))
                #expect(text.contains("# TYPE roost_wal_fdatasync_seconds"))
            }
        }
    }

    @Test func theOpenAPIDocumentIsValidJSONOfVersion3Point1() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                let document = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(document?["openapi"] as? String == "3.1.0")
                let paths = document?["paths"] as? [String: Any]
                let names = Set(paths.map { Array($0.keys) } ?? [])
                #expect(names.isSuperset(of: ["/health/live", "/health/ready", "/metrics", "/openapi.json"]))
            }
        }
    }

    @Test func readinessFailsOnceTheJournalStopsTakingWrites() async throws {
        let fail = FaultSwitch()
        var io = StorageIO.system
        io.fdatasync = { fd in fail.isOn ? { errno = EIO; return -1 }() : Glibc.fdatasync(fd) }
        try await withApp(io: io) { client, engine in
            try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }
            fail.turnOn()
            let lsn = try engine.journal.log.append(type: 1, payload: [1, 2, 3])
            await #expect(throws: (any Error).self) { try await engine.journal.waitDurable(lsn) }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                try #expect(problem(response)["code"] as? String == "unavailable")
            }
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
        }
    }
}

@Suite struct ConfigurationTests {
    @Test func defaultsHoldWhenNothingIsSet() throws {
        let configuration = try RoostConfiguration(environment: [:])
        #expect(configuration == RoostConfiguration())
        #expect(configuration.port == 8080 && configuration.fsync == .always && configuration.dataDirectory == "data/state")
    }

    @Test func variablesAreReadAndBadValuesAreRefusedByName() throws {
        let configuration = try RoostConfiguration(environment: ["ROOST_PORT": "9000", "ROOST_FSYNC": "off", "ROOST_DATA_DIR": "/tmp/x"])
        #expect(configuration.port == 9000 && configuration.fsync == .off && configuration.dataDirectory == "/tmp/x")
        #expect(throws: RoostConfiguration.Invalid.self) { try RoostConfiguration(environment: ["ROOST_PORT": "70000"]) }
        #expect(throws: RoostConfiguration.Invalid.self) { try RoostConfiguration(environment: ["ROOST_FSYNC": "sometimes"]) }
    }

    /// A segment too small for the largest record was accepted and then crashed every command on a
    /// precondition; it is refused by name, and the smallest accepted one opens an engine.
    @Test func aWALSegmentTooSmallForARecordIsRefusedAndTheSmallestAcceptedOneWorks() throws {
        #expect(throws: RoostConfiguration.Invalid.self) { try RoostConfiguration(environment: ["ROOST_WAL_SEGMENT_BYTES": "1048576"]) }
        let directory = TemporaryDirectory()
        var configuration = try RoostConfiguration(environment: ["ROOST_WAL_SEGMENT_BYTES": "\(8 << 20)"])
        configuration.dataDirectory = directory.path
        let engine = try Engine.open(options: configuration.engineOptions(), aggregates: roostAggregates, logger: quietLogger)
        engine.close()
    }
}
