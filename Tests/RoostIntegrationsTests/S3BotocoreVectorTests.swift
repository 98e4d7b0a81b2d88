import Foundation
import Testing

@testable import RoostIntegrations

// S3ObjectStore's requests against botocore's (Vectors/botocore-sigv4.json, made by
// make_botocore_vectors.py): same URL, same signed headers, same Authorization, same presigned
// URL — for both addressing styles. moto does not check signatures; these vectors do.

struct BotocoreVectors: Decodable {
    struct Case: Decodable {
        struct Config: Decodable {
            var endpoint, region, bucket, addressing: String
            var sessionToken: String?
        }
        struct Input: Decodable {
            var key, contentType, bodyBase64: String?
            var unsignedPayload: Bool?
            var expires: Int?
        }
        struct Expected: Decodable {
            var method, url: String
            var headers: [String: String]?
            var body: String?
        }
        var name, operation: String
        var config: Config
        var input: Input
        var expected: Expected
    }
    var botocore, now, accessKeyID, secretAccessKey: String
    var cases: [Case]

    static func load() throws -> BotocoreVectors {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: SigV4Vectors.directory.appendingPathComponent("botocore-sigv4.json")))
    }
}

@Suite struct S3BotocoreVectorTests {
    static let names = (try? BotocoreVectors.load().cases.map(\.name)) ?? []

    @Test func theVectorsAreThere() throws {
        let vectors = try BotocoreVectors.load()
        #expect(vectors.botocore == "1.43.11")
        #expect(vectors.cases.count >= 12)
        let operations = Set(vectors.cases.map(\.operation))
        #expect(operations == ["PutObject", "GetObject", "DeleteObject", "CreateBucket", "ListObjectsV2", "PresignGetObject"])
        #expect(Set(vectors.cases.map(\.config.addressing)) == ["path", "virtualHost"])
    }

    @Test(arguments: names)
    func sameRequestAsBotocore(name: String) throws {
        let vectors = try BotocoreVectors.load()
        let vector = try #require(vectors.cases.first { $0.name == name })
        let now = try #require(ISO8601DateFormatter().date(from: vectors.now))
        let store = try S3ObjectStore(
            configuration: S3Configuration(
                endpoint: vector.config.endpoint, region: vector.config.region, bucket: vector.config.bucket,
                accessKeyID: vectors.accessKeyID, secretAccessKey: vectors.secretAccessKey, sessionToken: vector.config.sessionToken,
                addressingStyle: try #require(S3Configuration.AddressingStyle(rawValue: vector.config.addressing))
            )
        )
        let input = vector.input
        let body = try #require(Data(base64Encoded: input.bodyBase64 ?? "")).map { $0 }

        let request: S3Request
        switch vector.operation {
        case "PutObject" where input.unsignedPayload == true:
            request = store.request(
                method: "PUT", path: store.objectPath(try #require(input.key)),
                headers: [("Content-Type", try #require(input.contentType))], body: body, payload: .unsigned, now: now
            )
        case "PutObject":
            request = store.putRequest(key: try #require(input.key), bytes: body, contentType: try #require(input.contentType), now: now)
        case "GetObject":
            request = store.getRequest(key: try #require(input.key), now: now)
        case "DeleteObject":
            request = store.deleteRequest(key: try #require(input.key), now: now)
        case "CreateBucket":
            request = store.createBucketRequest(now: now)
        case "ListObjectsV2":
            // The query as botocore sent it (it adds list-type and encoding-type), decoded.
            let query = try #require(URLComponents(string: vector.expected.url)?.percentEncodedQueryItems).map {
                (name: try #require($0.name.removingPercentEncoding), value: try #require($0.value?.removingPercentEncoding))
            }
            request = store.request(method: "GET", path: store.bucketPath, query: query, body: nil, payload: .bytes([]), now: now)
        case "PresignGetObject":
            let url = try store.presignedURL(method: "GET", key: try #require(input.key), expiresIn: try #require(input.expires), now: now)
            #expect(url == vector.expected.url)
            return
        default:
            Issue.record("unknown operation \(vector.operation)")
            return
        }

        #expect(request.method == vector.expected.method)
        #expect(request.url == vector.expected.url)
        let expectedHeaders = try #require(vector.expected.headers)
        for (name, value) in expectedHeaders {
            #expect(request.headers.first { $0.name.lowercased() == name }?.value == value, "\(name)")
        }
        // Nothing signed that botocore did not sign: the Host header is the only other one.
        let ours = Set(request.headers.map { $0.name.lowercased() })
        #expect(ours == Set(expectedHeaders.keys).union(["host"]))
        #expect(Data(request.body ?? []).base64EncodedString() == (vector.expected.body ?? ""))
    }
}
