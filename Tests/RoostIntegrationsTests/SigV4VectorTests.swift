import Crypto
import Foundation
import Testing

@testable import RoostIntegrations

// SigV4Signer against AWS's own published vectors: the SigV4 test suite (header and query
// signing) and the worked examples of the S3 documentation. See Vectors/README.md.

/// Where the vector files live, found from this file's path.
enum SigV4Vectors {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")
    static let suite = directory.appendingPathComponent("aws-signing-test-suite/v4")

    static func text(_ url: URL) throws -> String {
        String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    /// The suite's case folders holding a file named `file`.
    static func suiteCases(with file: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: suite.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: suite.appendingPathComponent("\($0)/\(file)").path) }.sorted()
    }

    /// `yyyyMMdd'T'HHmmss'Z'` to an instant.
    static func date(amz text: String) throws -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return try #require(formatter.date(from: text))
    }
}

/// A request as the suite writes it: `METHOD target HTTP/1.1`, `Name:value` lines, a blank
/// line, the body. The target may hold spaces and raw UTF-8; its query is percent-decoded.
struct SuiteRequest {
    var method: String
    var path: String
    var query: [(name: String, value: String)]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(_ text: String) throws {
        let (head, body) =
            text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = try #require(requestLine.split(separator: " ").first)
        let target = try #require(requestLine.dropFirst(method.count + 1).components(separatedBy: " HTTP/1.1").first)
        self.method = String(method)
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        self.path = path
        self.query = try query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            return (try #require(parts[0].removingPercentEncoding), try #require((parts.count > 1 ? parts[1] : "").removingPercentEncoding))
        }
        headers = try lines.filter { !$0.isEmpty }.map { line in
            let colon = try #require(line.firstIndex(of: ":"))
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        self.body = Array(body.utf8)
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

@Suite struct SigV4TestSuiteTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let headerCases = SigV4Vectors.suiteCases(with: "header-signed-request.txt")
    static let queryCases = SigV4Vectors.suiteCases(with: "query-signed-request.txt")

    @Test func theVectorsAreThere() {
        #expect(Self.headerCases.count == 23, "\(Self.headerCases)")
        #expect(Self.queryCases.count == 19, "\(Self.queryCases)")
        for name in ["get-vanilla-query", "get-vanilla-query-order-key-case", "get-header-value-trim", "post-x-www-form-urlencoded", "get-utf8", "get-space-unnormalized", "get-slash-unnormalized", "get-slashes-unnormalized"] {
            #expect(Self.headerCases.contains(name), "\(name)")
        }
    }

    /// The `Authorization` header of every request equals the suite's, byte for byte.
    @Test(arguments: headerCases)
    func headerSignature(name: String) throws {
        let request = try SuiteRequest(SigV4Vectors.text(SigV4Vectors.suite.appendingPathComponent("\(name)/header-signed-request.txt")))
        let expected = try #require(request.header("Authorization"))
        let signedNames = try #require(expected.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first)
            .split(separator: ";").map(String.init)
        let addedBySigner: Set = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
        var credentials = Self.credentials
        credentials.sessionToken = request.header("X-Amz-Security-Token")
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let signed = signer.sign(
            SigV4Signer.Request(
                method: request.method, path: request.path, query: request.query,
                headers: request.headers.filter { !addedBySigner.contains($0.name.lowercased()) }
            ),
            payload: .bytes(request.body),
            now: try SigV4Vectors.date(amz: try #require(request.header("X-Amz-Date"))),
            addContentSHA256Header: signedNames.contains("x-amz-content-sha256")
        )
        #expect(signed.authorization == expected)
        #expect(signed.headers.first { $0.name == "X-Amz-Date" }?.value == request.header("X-Amz-Date"))
        if signedNames.contains("x-amz-content-sha256") {
            #expect(signed.headers.first { $0.name == "X-Amz-Content-SHA256" }?.value == request.header("x-amz-content-sha256"))
        }
    }

    /// The presigned form: the same `X-Amz-Signature`, signed headers and credential scope.
    @Test(arguments: queryCases)
    func querySignature(name: String) throws {
        let request = try SuiteRequest(SigV4Vectors.text(SigV4Vectors.suite.appendingPathComponent("\(name)/query-signed-request.txt")))
        let authentication = Set(["Algorithm", "Credential", "Date", "Expires", "SignedHeaders", "Security-Token", "Signature"].map { "X-Amz-\($0)" })
        func parameter(_ name: String) throws -> String { try #require(request.query.first { $0.name == name }?.value) }
        let signedNames = Set(try parameter("X-Amz-SignedHeaders").split(separator: ";").map(String.init))
        var credentials = Self.credentials
        credentials.sessionToken = request.query.first { $0.name == "X-Amz-Security-Token" }?.value
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let signed = try signer.presign(
            SigV4Signer.Request(
                method: request.method, path: request.path,
                query: request.query.filter { !authentication.contains($0.name) },
                headers: request.headers.filter { signedNames.contains($0.name.lowercased()) }
            ),
            expiresIn: try #require(Int(try parameter("X-Amz-Expires"))),
            now: try SigV4Vectors.date(amz: try parameter("X-Amz-Date")),
            payload: .bytes(request.body)
        )
        #expect(signed.signature == (try parameter("X-Amz-Signature")))
        let ours = try SuiteRequest("GET /?\(signed.encodedQuery) HTTP/1.1\n")
        for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] {
            #expect(ours.query.first { $0.name == name }?.value == (try parameter(name)), "\(name)")
        }
    }

    @Test func theSignatureChangesWithEveryInput() throws {
        let request = SigV4Signer.Request(method: "GET", path: "/a", query: [("x", "1")], headers: [("Host", "example.amazonaws.com")])
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let now = Date(timeIntervalSince1970: 1_440_938_160)
        let base = signer.sign(request, payload: .bytes([]), now: now).signature
        var changed = request
        changed.path = "/b"
        #expect(signer.sign(changed, payload: .bytes([]), now: now).signature != base)
        changed = request
        changed.query = [("x", "2")]
        #expect(signer.sign(changed, payload: .bytes([]), now: now).signature != base)
        #expect(signer.sign(request, payload: .bytes([1]), now: now).signature != base)
        #expect(signer.sign(request, payload: .bytes([]), now: now + 1).signature != base)
        var otherRegion = signer
        otherRegion.region = "eu-west-1"
        #expect(otherRegion.sign(request, payload: .bytes([]), now: now).signature != base)
    }
}

/// The S3 documentation's examples, as transcribed in Vectors/aws-s3-docs-examples.json.
struct S3DocsExamples: Decodable {
    struct HeaderExample: Decodable {
        var name, method, path, body, canonicalRequest, stringToSign, signature, authorization: String
        var query, headers: [[String]]
    }
    struct PresignedExample: Decodable {
        var method, path, canonicalRequest, stringToSign, signature, url: String
        var headers: [[String]]
        var expires: Int
    }
    var accessKeyID, secretAccessKey, region, service, now: String
    var headerExamples: [HeaderExample]
    var presignedExample: PresignedExample

    static func load() throws -> S3DocsExamples {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: SigV4Vectors.directory.appendingPathComponent("aws-s3-docs-examples.json")))
    }

    var signer: SigV4Signer {
        SigV4Signer(credentials: AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey), region: region, service: service)
    }

    var date: Date { get throws { try #require(ISO8601DateFormatter().date(from: now)) } }
}

@Suite struct SigV4S3DocsExampleTests {
    static let examples = (try? S3DocsExamples.load().headerExamples.map(\.name)) ?? []

    @Test func theExamplesAreThere() throws {
        #expect(Self.examples == ["GET Object", "PUT Object", "GET Bucket Lifecycle", "Get Bucket (List Objects)"])
    }

    /// Every step of the documented calculation: canonical request, string to sign, signature.
    @Test(arguments: examples)
    func authorizationHeader(name: String) throws {
        let examples = try S3DocsExamples.load()
        let example = try #require(examples.headerExamples.first { $0.name == name })
        let signed = examples.signer.sign(
            SigV4Signer.Request(
                method: example.method, path: example.path,
                query: example.query.map { ($0[0], $0[1]) }, headers: example.headers.map { ($0[0], $0[1]) }
            ),
            payload: .bytes(Array(example.body.utf8)),
            now: try examples.date
        )
        #expect(signed.canonicalRequest == example.canonicalRequest)
        #expect(signed.stringToSign == example.stringToSign)
        #expect(signed.signature == example.signature)
        // The documentation prints the header without spaces after the commas.
        #expect(signed.authorization.replacingOccurrences(of: ", ", with: ",") == example.authorization)
    }

    @Test func presignedURL() throws {
        let examples = try S3DocsExamples.load()
        let example = examples.presignedExample
        let request = SigV4Signer.Request(method: example.method, path: example.path, headers: example.headers.map { ($0[0], $0[1]) })
        let signed = try examples.signer.presign(request, expiresIn: example.expires, now: try examples.date)
        #expect(signed.canonicalRequest == example.canonicalRequest)
        #expect(signed.stringToSign == example.stringToSign)
        #expect(signed.signature == example.signature)
        #expect("https://\(example.headers[0][1])\(request.encodedPath)?\(signed.encodedQuery)" == example.url)
    }

    /// The same URL through the store, virtual-host style: what `directReadURL` hands out.
    @Test func presignedURLThroughTheStore() throws {
        let examples = try S3DocsExamples.load()
        let store = try S3ObjectStore(
            configuration: S3Configuration(
                endpoint: "https://s3.amazonaws.com", region: examples.region, bucket: "examplebucket",
                accessKeyID: examples.accessKeyID, secretAccessKey: examples.secretAccessKey, addressingStyle: .virtualHost
            )
        )
        let key = try #require(ObjectKey("test.txt"))
        #expect(try store.presignedGetURL(key: key, expiresIn: 86400, now: try examples.date) == examples.presignedExample.url)
        #expect(store.directReadURL(for: key, expiresIn: 86400, now: try examples.date) == examples.presignedExample.url)
    }

    @Test func signingKeyMatchesTheDocumentedDerivation() throws {
        struct Document: Decodable {
            struct Example: Decodable { var secretAccessKey, date, region, service, signingKey: String }
            var signingKeyExample: Example
        }
        let url = SigV4Vectors.directory.appendingPathComponent("aws-s3-docs-examples.json")
        let example = try JSONDecoder().decode(Document.self, from: Data(contentsOf: url)).signingKeyExample
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "unused", secretAccessKey: example.secretAccessKey),
            region: example.region, service: example.service
        )
        let key = signer.signingKey(date: example.date).withUnsafeBytes { Array($0) }
        #expect(SigV4Signer.hex(key) == example.signingKey)
    }
}

@Suite struct SigV4EncodingTests {
    @Test(arguments: [
        ("/", "/"),
        ("", "/"),
        ("/a b/c", "/a%20b/c"),
        ("/test$file.text", "/test%24file.text"),
        ("/a//b/./c/../d", "/a//b/./c/../d"),
        ("/-._~AZaz09", "/-._~AZaz09"),
        ("/ü/ሴ", "/%C3%BC/%E1%88%B4"),
        ("/a+b=c&d%e", "/a%2Bb%3Dc%26d%25e"),
    ])
    func pathsAreEncodedOnceAndNotNormalised(path: String, encoded: String) {
        #expect(SigV4Signer.encodePath(path) == encoded)
    }

    @Test func queryIsEncodedAndSortedByNameThenValue() {
        let query = SigV4Signer.canonicalQuery([("b", "2"), ("a", "y"), ("a", "x x"), ("a/b", "c/d"), ("A", "+"), ("c", "")])
        #expect(query == "A=%2B&a=x%20x&a=y&a%2Fb=c%2Fd&b=2&c=")
    }

    @Test func headersAreLowerCasedSortedTrimmedCollapsedAndJoined() {
        let headers = SigV4Signer.canonicalHeaders([("X-B", "  two   words \t here "), ("a", "1"), ("X-b", "again")])
        #expect(headers.block == "a:1\nx-b:two words here,again\n")
        #expect(headers.signed == "a;x-b")
    }

    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (951_782_400, "20000229T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (4_102_444_799.9, "20991231T235959Z"),
        (4_107_542_399, "21000228T235959Z"),
        (253_402_300_799, "99991231T235959Z"),
    ])
    func amzDates(seconds: Double, expected: String) {
        let time = SigV4Time(Date(timeIntervalSince1970: seconds))
        #expect(time.dateTime == expected)
        #expect(time.date == String(expected.prefix(8)))
    }

    @Test func presignedExpiryIsBounded() throws {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "a", secretAccessKey: "b"), region: "us-east-1")
        let request = SigV4Signer.Request(method: "GET", path: "/k", headers: [("Host", "h")])
        #expect(throws: SigV4Error.expiryOutOfRange(0)) { try signer.presign(request, expiresIn: 0, now: Date()) }
        #expect(throws: SigV4Error.expiryOutOfRange(604_801)) { try signer.presign(request, expiresIn: 604_801, now: Date()) }
        #expect(try signer.presign(request, expiresIn: 604_800, now: Date()).encodedQuery.contains("X-Amz-Expires=604800&"))
    }
}
