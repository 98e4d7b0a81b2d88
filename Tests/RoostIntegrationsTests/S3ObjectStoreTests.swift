import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostIntegrations

// S3ObjectStore: configuration checks, what goes on the wire (against a Hummingbird stand-in
// that re-derives the signature from what it received), error mapping, timeouts, and a real
// S3-compatible server (moto) when ROOST_TEST_S3_ENDPOINT is set.

private let testNow = Date(timeIntervalSince1970: 1_773_500_966)  // 2026-03-14T15:09:26Z

private func configuration(
    endpoint: String, bucket: String = "roost-test", style: S3Configuration.AddressingStyle = .path,
    sessionToken: String? = nil, timeout: Duration = .seconds(10), bytesMax: Int = 64 << 20
) -> S3Configuration {
    S3Configuration(
        endpoint: endpoint, region: "us-east-1", bucket: bucket, accessKeyID: "AKIDROOSTTEST",
        secretAccessKey: "roost/test+secret", sessionToken: sessionToken, addressingStyle: style,
        requestTimeout: timeout, objectBytesMax: bytesMax
    )
}

private func key(_ text: String) throws -> ObjectKey { try #require(ObjectKey(text)) }

/// What an ``S3Error`` was, for `#expect(throws:)` with a predicate.
private func isUnexpected(_ error: any Error, _ operation: S3Operation, status: Int, code: String?) -> Bool {
    guard case .unexpectedResponse(operation, status, code, _)? = error as? S3Error else { return false }
    return true
}

@Suite struct S3ConfigurationTests {
    @Test(arguments: ["ftp://s3.example.com", "s3.example.com", "http://", "https://s3.example.com/prefix", "https://s3.example.com?x=1", "https://u:p@s3.example.com"])
    func badEndpointsAreRefused(endpoint: String) {
        #expect(throws: S3Error.self) { try S3ObjectStore(configuration: configuration(endpoint: endpoint)) }
    }

    @Test(arguments: ["ab", "Roost", "roost_media", "-roost", "roost-", String(repeating: "a", count: 64), "roost media"])
    func badBucketNamesAreRefused(bucket: String) {
        #expect(throws: S3Error.self) { try S3ObjectStore(configuration: configuration(endpoint: "https://s3.example.com", bucket: bucket)) }
    }

    @Test func virtualHostNeedsADNSName() throws {
        #expect(throws: S3Error.self) { try S3ObjectStore(configuration: configuration(endpoint: "http://127.0.0.1:9000", style: .virtualHost)) }
        #expect(throws: S3Error.self) { try S3ObjectStore(configuration: configuration(endpoint: "http://[::1]:9000", style: .virtualHost)) }
        _ = try S3ObjectStore(configuration: configuration(endpoint: "http://127.0.0.1:9000", style: .path))
        _ = try S3ObjectStore(configuration: configuration(endpoint: "https://s3.eu-west-1.amazonaws.com", style: .virtualHost))
    }

    @Test func urlsForBothAddressingStyles() throws {
        let path = try S3ObjectStore(configuration: configuration(endpoint: "https://S3.Example.com:443"))
        #expect(path.getRequest(key: "a b/c.jpg", now: testNow).url == "https://s3.example.com/roost-test/a%20b/c.jpg")
        #expect(path.host == "s3.example.com")
        let virtual = try S3ObjectStore(configuration: configuration(endpoint: "http://minio.local:9000", style: .virtualHost))
        #expect(virtual.getRequest(key: "a b/c.jpg", now: testNow).url == "http://roost-test.minio.local:9000/a%20b/c.jpg")
        #expect(virtual.createBucketRequest(now: testNow).url == "http://roost-test.minio.local:9000/")
        #expect(virtual.host == "roost-test.minio.local:9000")
    }

    @Test func theDescriptionHidesTheSecretAndToken() {
        let text = configuration(endpoint: "https://s3.example.com", sessionToken: "token-value").description
        #expect(!text.contains("roost/test+secret"))
        #expect(!text.contains("token-value"))
        #expect(text.contains("AKIDROOSTTEST"))
    }

    @Test func sessionTokensAreSentAndSigned() throws {
        let store = try S3ObjectStore(configuration: configuration(endpoint: "https://s3.example.com", sessionToken: "tok/en+"))
        let request = store.putRequest(key: "k", bytes: [1], contentType: "image/png", now: testNow)
        #expect(request.headers.first { $0.name == "X-Amz-Security-Token" }?.value == "tok/en+")
        let authorization = try #require(request.headers.first { $0.name == "Authorization" }?.value)
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        let url = try store.presignedGetURL(key: key("k"), expiresIn: 60, now: testNow)
        #expect(url.contains("&X-Amz-Security-Token=tok%2Fen%2B&X-Amz-Signature="))
    }

    @Test func presignedExpiryIsCheckedAndDirectReadURLClampsIt() throws {
        let store = try S3ObjectStore(configuration: configuration(endpoint: "https://s3.example.com"))
        let photo = try key("listings/l1/p.jpg")
        #expect(throws: S3Error.self) { try store.presignedGetURL(key: photo, expiresIn: 604_801, now: testNow) }
        #expect(throws: S3Error.self) { try store.presignedGetURL(key: photo, expiresIn: 0, now: testNow) }
        #expect(try store.presignedGetURL(key: photo, expiresIn: 604_800, now: testNow).contains("X-Amz-Expires=604800&"))
        #expect(store.directReadURL(for: photo, expiresIn: 10_000_000, now: testNow)?.contains("X-Amz-Expires=604800&") == true)
        #expect(store.directReadURL(for: photo, expiresIn: -5, now: testNow)?.contains("X-Amz-Expires=1&") == true)
        let url = try #require(store.directReadURL(for: photo, expiresIn: 300, now: testNow))
        #expect(url.hasPrefix("https://s3.example.com/roost-test/listings/l1/p.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(url.contains("X-Amz-Date=20260314T150926Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature="))
    }

    @Test func theLocalStoreHasNoDirectURL() throws {
        let directory = TemporaryDirectory()
        let store: any ObjectStore = try LocalObjectStore(root: directory.path)
        #expect(store.directReadURL(for: try key("a.jpg"), expiresIn: 300, now: testNow) == nil)
    }

    @Test func errorBodiesAreRead() {
        let body = Array("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>No &amp; &lt;never&gt;</Message></Error>".utf8)
        let response = S3Response(status: 403, contentType: "application/xml", body: body)
        #expect(response.error(.putObject) == .unexpectedResponse(operation: .putObject, status: 403, code: "AccessDenied", message: "No & <never>"))
        #expect(S3Response(status: 500, contentType: nil, body: []).error(.getObject) == .unexpectedResponse(operation: .getObject, status: 500, code: nil, message: nil))
    }
}

// MARK: - Against a stand-in

/// What the stand-in received.
private struct Received: Sendable {
    var method: String
    var path: String
    var query: String?
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}

private final class ReceivedLog: Sendable {
    private let entries = Mutex<[Received]>([])
    func append(_ request: Request) async throws {
        let body = try await request.body.collect(upTo: 1 << 20)
        let received = Received(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
            // HTTPTypes keeps the Host header apart, as the request's authority.
            headers: [("Host", request.head.authority ?? "")] + request.headers.map { ($0.name.rawName, $0.value) },
            body: Array(body.readableBytesView)
        )
        entries.withLock { $0.append(received) }
    }
    var all: [Received] { entries.withLock { $0 } }
}


private func xml(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
    Response(
        status: status, headers: [.contentType: "application/xml"],
        body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message></Error>"))
    )
}

@Suite struct S3ObjectStoreStandInTests {
    /// The request as it arrived is the request that was signed: the stand-in re-derives the
    /// signature from the method, path, headers and body it received.
    @Test func whatArrivesIsWhatWasSigned() async throws {
        let log = ReceivedLog()
        let router = Router()
        router.put("/roost-test/listings/l1/photo.jpg") { request, _ -> Response in
            try await log.append(request)
            return Response(status: .ok)
        }
        router.get("/roost-test/listings/l1/photo.jpg") { request, _ -> Response in
            try await log.append(request)
            return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: [0xFF, 0xD8])))
        }
        router.delete("/roost-test/listings/l1/photo.jpg") { request, _ -> Response in
            try await log.append(request)
            return Response(status: .noContent)
        }
        let bytes: [UInt8] = (0...255).map { UInt8($0) }
        try await withStandIn(router) { base in
            let store = try S3ObjectStore(configuration: configuration(endpoint: base, sessionToken: "session/token"), now: { testNow })
            try await store.put(key: key("listings/l1/photo.jpg"), bytes: bytes, contentType: "image/jpeg")
            #expect(try await store.get(key: key("listings/l1/photo.jpg")) == StoredObject(bytes: [0xFF, 0xD8], contentType: "image/jpeg"))
            try await store.delete(key: key("listings/l1/photo.jpg"))
            let received = log.all
            #expect(received.map(\.method) == ["PUT", "GET", "DELETE"])
            let put = try #require(received.first)
            #expect(put.body == bytes)
            #expect(put.header("Content-Type") == "image/jpeg")
            #expect(put.header("x-amz-content-sha256") == SigV4Signer.hex(SHA256.hash(data: bytes)))
            #expect(put.header("Host") == base.replacingOccurrences(of: "http://", with: ""))
            for request in received {
                let authorization = try #require(request.header("Authorization"))
                let signedNames = try #require(authorization.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first)
                    .split(separator: ";").map(String.init)
                let signer = SigV4Signer(credentials: configuration(endpoint: base, sessionToken: "session/token").credentials, region: "us-east-1")
                let resigned = signer.sign(
                    SigV4Signer.Request(
                        method: request.method, path: try #require(request.path.removingPercentEncoding),
                        headers: request.headers.filter {
                            signedNames.contains($0.name.lowercased()) && !$0.name.lowercased().hasPrefix("x-amz-")
                        }
                    ),
                    payload: .sha256(try #require(request.header("x-amz-content-sha256"))),
                    now: testNow
                )
                #expect(resigned.authorization == authorization, "\(request.method)")
                #expect(request.header("x-amz-date") == "20260314T150926Z")
                #expect(request.header("x-amz-security-token") == "session/token")
            }
        }
    }

    @Test func statusesAndS3ErrorCodesAreMapped() async throws {
        let router = Router()
        router.put("/roost-test/denied") { _, _ in xml(.forbidden, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match") }
        router.get("/roost-test/missing") { _, _ in xml(.notFound, code: "NoSuchKey", message: "The specified key does not exist.") }
        router.get("/roost-test/no-bucket") { _, _ in xml(.notFound, code: "NoSuchBucket", message: "The specified bucket does not exist") }
        router.delete("/roost-test/missing") { _, _ in xml(.notFound, code: "NoSuchKey", message: "The specified key does not exist.") }
        router.delete("/roost-test/no-bucket") { _, _ in xml(.notFound, code: "NoSuchBucket", message: "The specified bucket does not exist") }
        router.get("/roost-test/broken") { _, _ in Response(status: .internalServerError) }
        router.put("/roost-test") { _, _ in xml(.conflict, code: "BucketAlreadyOwnedByYou", message: "Your previous request to create the named bucket succeeded") }
        router.put("/roost-taken") { _, _ in xml(.conflict, code: "BucketAlreadyExists", message: "The requested bucket name is not available") }
        try await withStandIn(router) { base in
            let store = try S3ObjectStore(configuration: configuration(endpoint: base))
            await #expect {
                try await store.put(key: key("denied"), bytes: [1], contentType: "text/plain")
            } throws: { error in
                error as? S3Error == .unexpectedResponse(
                    operation: .putObject, status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match")
            }
            #expect(try await store.get(key: key("missing")) == nil)
            await #expect { try await store.get(key: key("no-bucket")) } throws: { isUnexpected($0, .getObject, status: 404, code: "NoSuchBucket") }
            try await store.delete(key: key("missing"))
            await #expect { try await store.delete(key: key("no-bucket")) } throws: { isUnexpected($0, .deleteObject, status: 404, code: "NoSuchBucket") }
            await #expect { try await store.get(key: key("broken")) } throws: { isUnexpected($0, .getObject, status: 500, code: nil) }
            try await store.createBucketIfMissing()
            let taken = try S3ObjectStore(configuration: configuration(endpoint: base, bucket: "roost-taken"))
            await #expect { try await taken.createBucketIfMissing() } throws: { isUnexpected($0, .createBucket, status: 409, code: "BucketAlreadyExists") }
        }
    }

    @Test func aSlowServerTimesOut() async throws {
        let router = Router()
        router.get("/roost-test/slow") { _, _ -> Response in
            try? await Task.sleep(for: .seconds(30))
            return Response(status: .ok)
        }
        try await withStandIn(router) { base in
            let store = try S3ObjectStore(configuration: configuration(endpoint: base, timeout: .milliseconds(300)))
            // Timed out, not answered: the server would answer after 30 s. (No bound on the wall
            // clock: on two busy cores the 300 ms timer itself can fire seconds late.)
            await #expect(throws: S3Error.timedOut(operation: .getObject, after: .milliseconds(300))) {
                try await store.get(key: key("slow"))
            }
        }
    }

    @Test func aClosedPortIsATransportError() async throws {
        let base = try await withStandIn(Router()) { $0 }
        // The HTTP client retries a refused connection until its deadline and then reports why; the store's own timer
        // fires 200 ms after that. At 500 ms a starved event loop once let the timer win (a full test run beside other
        // work, 20 s for this test): 10 s leaves the client's report seconds of slack.
        let store = try S3ObjectStore(configuration: configuration(endpoint: base, timeout: .seconds(10)))
        await #expect {
            try await store.put(key: key("a"), bytes: [1], contentType: "text/plain")
        } throws: { error in
            guard case .transport(.putObject, _)? = error as? S3Error else { return false }
            return true
        }
    }

    @Test func objectsOverTheLimitAreRefused() async throws {
        let router = Router()
        router.get("/roost-test/big") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 7, count: 2048)))
        }
        try await withStandIn(router) { base in
            let store = try S3ObjectStore(configuration: configuration(endpoint: base, bytesMax: 1024))
            await #expect(throws: S3Error.responseTooLarge(operation: .getObject, bytesMax: 1024)) { try await store.get(key: key("big")) }
        }
    }
}

// MARK: - Against a real S3-compatible server

private let s3Endpoint = ProcessInfo.processInfo.environment["ROOST_TEST_S3_ENDPOINT"]

private func uniqueBucket() -> String { "roost-\(UUID().uuidString.lowercased().prefix(13))" }

@Suite(.enabled(if: s3Endpoint != nil, "set ROOST_TEST_S3_ENDPOINT to an S3-compatible server (make test starts moto)"))
struct S3ObjectStoreServerTests {
    let endpoint = s3Endpoint ?? ""

    @Test func roundTripReplaceDeleteAndMissing() async throws {
        let store = try S3ObjectStore(configuration: configuration(endpoint: endpoint, bucket: uniqueBucket()))
        try await store.createBucketIfMissing()
        try await store.createBucketIfMissing()
        let photo = try key("listings/l-42/photo-1.jpg")
        let bytes: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try await store.get(key: photo) == nil)
        try await store.put(key: photo, bytes: bytes, contentType: "image/jpeg")
        #expect(try await store.get(key: photo) == StoredObject(bytes: bytes, contentType: "image/jpeg"))
        try await store.put(key: photo, bytes: [0x89, 0x50, 0x4E, 0x47], contentType: "image/png")
        #expect(try await store.get(key: photo) == StoredObject(bytes: [0x89, 0x50, 0x4E, 0x47], contentType: "image/png"))
        try await store.put(key: try key("empty.bin"), bytes: [], contentType: "application/octet-stream")
        #expect(try await store.get(key: try key("empty.bin")) == StoredObject(bytes: [], contentType: "application/octet-stream"))
        try await store.delete(key: photo)
        #expect(try await store.get(key: photo) == nil)
        try await store.delete(key: photo)
        try await store.delete(key: try key("never/there.jpg"))
    }

    @Test func aPresignedURLServesTheBytesToAPlainGET() async throws {
        let store = try S3ObjectStore(configuration: configuration(endpoint: endpoint, bucket: uniqueBucket()))
        try await store.createBucketIfMissing()
        let photo = try key("users/u1/avatar.png")
        let bytes: [UInt8] = (0...255).map { UInt8($0) }
        try await store.put(key: photo, bytes: bytes, contentType: "image/png")
        let url = try #require(store.directReadURL(for: photo, expiresIn: 300, now: Date()))
        #expect(url.hasPrefix(endpoint + "/"))
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        #expect(response.status.code == 200)
        #expect(response.headers.first(name: "Content-Type") == "image/png")
        #expect(Array(try await response.body.collect(upTo: 1 << 20).readableBytesView) == bytes)
    }

    @Test func aMissingBucketIsAnError() async throws {
        let store = try S3ObjectStore(configuration: configuration(endpoint: endpoint, bucket: uniqueBucket()))
        let photo = try key("a.jpg")
        await #expect { try await store.get(key: photo) } throws: { isUnexpected($0, .getObject, status: 404, code: "NoSuchBucket") }
        await #expect { try await store.put(key: photo, bytes: [1], contentType: "image/jpeg") } throws: {
            isUnexpected($0, .putObject, status: 404, code: "NoSuchBucket")
        }
        await #expect { try await store.delete(key: photo) } throws: { isUnexpected($0, .deleteObject, status: 404, code: "NoSuchBucket") }
    }

    /// Virtual-host style for real: `bucket.localhost:port` is sent as the host (and signed),
    /// and the HTTP client's DNS override connects it to the server's loopback address.
    @Test func virtualHostAddressing() async throws {
        let server = try #require(URLComponents(string: endpoint))
        let bucket = uniqueBucket()
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.dnsOverride = ["\(bucket).localhost": try #require(server.host)]
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        var failure: (any Error)?
        do {
            let virtual = try S3ObjectStore(
                configuration: configuration(endpoint: "http://localhost:\(try #require(server.port))", bucket: bucket, style: .virtualHost),
                httpClient: client
            )
            #expect(virtual.host == "\(bucket).localhost:\(try #require(server.port))")
            try await virtual.createBucketIfMissing()
            let photo = try key("vh/photo.jpg")
            try await virtual.put(key: photo, bytes: [1, 2, 3], contentType: "image/jpeg")
            #expect(try await virtual.get(key: photo) == StoredObject(bytes: [1, 2, 3], contentType: "image/jpeg"))
            // The same object, path style: the virtual-host requests reached that bucket.
            let path = try S3ObjectStore(configuration: configuration(endpoint: endpoint, bucket: bucket))
            #expect(try await path.get(key: photo) == StoredObject(bytes: [1, 2, 3], contentType: "image/jpeg"))
            try await virtual.delete(key: photo)
            #expect(try await path.get(key: photo) == nil)
        } catch {
            failure = error
        }
        try await client.shutdown()
        if let failure { throw failure }
    }
}
