import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Objects in a bucket of an S3-compatible service, over HTTP with requests signed by
/// ``SigV4Signer`` (payloads signed: PUT bodies are covered by their SHA-256).
///
/// `get` answers `nil` for a missing key and `delete` succeeds for one; a missing bucket, a
/// refused signature or any other unexpected answer is an ``S3Error``.
public struct S3ObjectStore: ObjectStore {
    public let configuration: S3Configuration
    private let httpClient: HTTPClient
    private let endpoint: S3Endpoint
    private let signer: SigV4Signer
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - httpClient: the client to send with; the caller owns it (and shuts it down).
    ///   - now: the clock requests are signed at.
    public init(
        configuration: S3Configuration,
        httpClient: HTTPClient = .shared,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(S3Error) {
        let endpoint = try S3Endpoint(configuration.endpoint)
        guard Self.isValidBucketName(configuration.bucket) else {
            throw .invalidConfiguration("bucket name \(configuration.bucket) is not 3–63 characters of a-z 0-9 . -")
        }
        if configuration.addressingStyle == .virtualHost && endpoint.isIPAddress {
            throw .invalidConfiguration("virtual-host addressing needs a DNS name endpoint, not \(endpoint.host)")
        }
        guard !configuration.region.isEmpty, !configuration.accessKeyID.isEmpty, !configuration.secretAccessKey.isEmpty else {
            throw .invalidConfiguration("region, access key id and secret access key must not be empty")
        }
        self.configuration = configuration
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        self.now = now
    }

    public func put(key: ObjectKey, bytes: [UInt8], contentType: String) async throws {
        let response = try await send(putRequest(key: key.value, bytes: bytes, contentType: contentType, now: now()), .putObject)
        guard response.status == 200 else { throw response.error(.putObject) }
    }

    public func get(key: ObjectKey) async throws -> StoredObject? {
        let response = try await send(getRequest(key: key.value, now: now()), .getObject)
        switch response.status {
        case 200:
            return StoredObject(bytes: response.body, contentType: response.contentType ?? "application/octet-stream")
        case 404 where response.errorCode != "NoSuchBucket":
            return nil
        default:
            throw response.error(.getObject)
        }
    }

    public func delete(key: ObjectKey) async throws {
        let response = try await send(deleteRequest(key: key.value, now: now()), .deleteObject)
        switch response.status {
        case 200, 204: return
        case 404 where response.errorCode != "NoSuchBucket": return
        default: throw response.error(.deleteObject)
        }
    }

    /// Creates the bucket unless this account already owns it: for start-up and tests.
    public func createBucketIfMissing() async throws {
        let response = try await send(createBucketRequest(now: now()), .createBucket)
        switch response.status {
        case 200: return
        case 409 where response.errorCode == "BucketAlreadyOwnedByYou": return
        default: throw response.error(.createBucket)
        }
    }

    /// A URL anyone can GET the object with, without credentials, for `expiresIn` seconds
    /// after `now` (1 … 604800).
    public func presignedGetURL(key: ObjectKey, expiresIn: Int, now: Date) throws(S3Error) -> String {
        do {
            return try presignedURL(method: "GET", key: key.value, expiresIn: expiresIn, now: now)
        } catch {
            throw .invalidArgument(error.description)
        }
    }

    /// A presigned GET URL, its lifetime clamped to 1 … 604800 seconds.
    public func directReadURL(for key: ObjectKey, expiresIn seconds: Int, now: Date) -> String? {
        let clamped = min(max(seconds, 1), SigV4Signer.presignedExpiryMax)
        return try? presignedURL(method: "GET", key: key.value, expiresIn: clamped, now: now)
    }

    private static func isValidBucketName(_ name: String) -> Bool {
        (3...63).contains(name.utf8.count)
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
            && name.first != "." && name.first != "-" && name.last != "." && name.last != "-"
    }
}

// MARK: - Requests

/// A signed request, ready to send.
struct S3Request: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]?
}

extension S3ObjectStore {
    /// The Host header (and URL authority) of every request.
    var host: String {
        configuration.addressingStyle == .virtualHost ? endpoint.authority(prefix: configuration.bucket) : endpoint.authority()
    }

    /// The unencoded path of `key`: `/bucket/key` or, virtual-host style, `/key`.
    func objectPath(_ key: String) -> String {
        configuration.addressingStyle == .virtualHost ? "/\(key)" : "/\(configuration.bucket)/\(key)"
    }

    /// The unencoded path of the bucket itself.
    var bucketPath: String {
        configuration.addressingStyle == .virtualHost ? "/" : "/\(configuration.bucket)"
    }

    /// Any request to this store's host, signed with an `Authorization` header. Keys are
    /// plain strings here so that tests can use keys ``ObjectKey`` would refuse.
    func request(
        method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = [],
        body: [UInt8]?, payload: SigV4Signer.Payload, now: Date
    ) -> S3Request {
        let toSign = SigV4Signer.Request(method: method, path: path, query: query, headers: [("Host", host)] + headers)
        let signature = signer.sign(toSign, payload: payload, now: now)
        var url = "\(endpoint.scheme)://\(host)\(toSign.encodedPath)"
        if !query.isEmpty { url += "?" + SigV4Signer.encodeQuery(query) }
        return S3Request(method: method, url: url, headers: toSign.headers + signature.headers, body: body)
    }

    func putRequest(key: String, bytes: [UInt8], contentType: String, now: Date) -> S3Request {
        request(method: "PUT", path: objectPath(key), headers: [("Content-Type", contentType)], body: bytes, payload: .bytes(bytes), now: now)
    }

    func getRequest(key: String, now: Date) -> S3Request {
        request(method: "GET", path: objectPath(key), body: nil, payload: .bytes([]), now: now)
    }

    func deleteRequest(key: String, now: Date) -> S3Request {
        request(method: "DELETE", path: objectPath(key), body: nil, payload: .bytes([]), now: now)
    }

    /// `PUT` of the bucket; outside us-east-1 it names the region, as S3 requires.
    func createBucketRequest(now: Date) -> S3Request {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>").utf8
            )
        }
        return request(method: "PUT", path: bucketPath, body: body, payload: .bytes(body), now: now)
    }

    /// A presigned URL for `method` on `key`, signing only the Host header.
    func presignedURL(method: String, key: String, expiresIn: Int, now: Date) throws(SigV4Error) -> String {
        let toSign = SigV4Signer.Request(method: method, path: objectPath(key), headers: [("Host", host)])
        let signature = try signer.presign(toSign, expiresIn: expiresIn, now: now)
        return "\(endpoint.scheme)://\(host)\(toSign.encodedPath)?\(signature.encodedQuery)"
    }
}

// MARK: - Sending

/// An answer read whole (bounded).
struct S3Response: Sendable {
    var status: Int
    var contentType: String?
    var body: [UInt8]

    /// `<Code>` of an XML error body.
    var errorCode: String? { Self.element("Code", in: body) }

    func error(_ operation: S3Operation) -> S3Error {
        .unexpectedResponse(operation: operation, status: status, code: errorCode, message: Self.element("Message", in: body))
    }

    /// The text of the first `<name>…</name>` in `body`, entities decoded.
    static func element(_ name: String, in body: [UInt8]) -> String? {
        let text = String(decoding: body.prefix(64 << 10), as: UTF8.self)
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

extension S3ObjectStore {
    /// Sends `request` and reads the answer whole, all within ``S3Configuration/requestTimeout``.
    func send(_ request: S3Request, _ operation: S3Operation) async throws(S3Error) -> S3Response {
        let timeout = configuration.requestTimeout
        // Error bodies are small; only a 200 GET carries an object.
        let bytesMax = operation == .getObject ? configuration.objectBytesMax : 1 << 20
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let client = httpClient
        let prepared = outgoing
        do {
            return try await withThrowingTaskGroup(of: S3Response.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, timeout: TimeAmount(timeout))
                    let body = try await response.body.collect(upTo: bytesMax)
                    return S3Response(
                        status: Int(response.status.code),
                        contentType: response.headers.first(name: "Content-Type"),
                        body: Array(body.readableBytesView)
                    )
                }
                group.addTask {
                    // A little after the client's own deadline, so that a connection that kept
                    // failing until then reports why; this bounds reading the body too.
                    try await Task.sleep(for: timeout + .milliseconds(200))
                    throw S3TimedOut()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw S3TimedOut() }
                return first
            }
        } catch is S3TimedOut {
            throw .timedOut(operation: operation, after: timeout)
        } catch let error as HTTPClientError {
            let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout]
            if timeouts.contains(error) { throw .timedOut(operation: operation, after: timeout) }
            throw .transport(operation: operation, reason: error.shortDescription)
        } catch is NIOTooManyBytesError {
            throw .responseTooLarge(operation: operation, bytesMax: bytesMax)
        } catch {
            throw .transport(operation: operation, reason: String(describing: error))
        }
    }
}

private struct S3TimedOut: Error {}

extension TimeAmount {
    fileprivate init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
