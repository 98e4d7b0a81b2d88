import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A provider's answer, read whole.
struct ProviderResponse: Sendable {
    var status: UInt
    var headers: HTTPHeaders
    var body: ByteBuffer

    /// The body decoded as JSON, or `nil` when it is not that shape.
    func decode<Value: Decodable>(_: Value.Type) -> Value? {
        try? JSONDecoder().decode(Value.self, from: body)
    }
}

/// The one way identity verifiers talk to providers: a GET whose whole exchange (connect, head,
/// body) must finish within a timeout and whose body is bounded. Every failure is `.unavailable`
/// and its message names `what` was asked and how it failed — never the URL, which may carry
/// tokens or secrets in its query.
enum ProviderHTTP {
    /// The largest body read from a provider: JWKS and Graph answers are a few KiB.
    static let bodyBytesMax = 1 << 20

    static func get(
        _ url: String,
        what: String,
        client: HTTPClient,
        timeout: Duration
    ) async throws(IdentityError) -> ProviderResponse {
        do {
            return try await withThrowingTaskGroup(of: ProviderResponse.self) { group in
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.headers.add(name: "Accept", value: "application/json")
                    let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
                    let body = try await response.body.collect(upTo: bodyBytesMax)
                    return ProviderResponse(status: response.status.code, headers: response.headers, body: body)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw TimedOut()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw TimedOut() }
                return first
            }
        } catch is TimedOut {
            throw .unavailable("\(what): no answer within \(timeout)")
        } catch let error as HTTPClientError {
            throw .unavailable("\(what): \(error.shortDescription)")
        } catch {
            throw .unavailable("\(what): \(type(of: error))")
        }
    }

    private struct TimedOut: Error {}
}

/// Base64url (RFC 4648 §5) without padding, as JOSE uses it.
enum Base64URL {
    static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
