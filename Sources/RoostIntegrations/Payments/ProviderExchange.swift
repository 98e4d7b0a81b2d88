import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One request to a payment provider and its answer read whole, within `timeout` from connecting
/// to the last byte, the body bounded by `bytesMax`: the one transport of the Stripe and PayPal
/// adapters. Every failure to get an answer is `GatewayError.unavailable` (the outcome is
/// unknown: the caller retries with the same idempotency key), naming `what` was asked and how it
/// failed — never the request, whose headers carry keys and tokens.
enum ProviderExchange {
    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]
    }

    static func send(_ request: HTTPClientRequest, what: String, client: HTTPClient, timeout: Duration, bytesMax: Int) async throws(GatewayError) -> Answer {
        let deadline = TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        do {
            return try await withThrowingTaskGroup(of: Answer.self) { group in
                group.addTask {
                    let response = try await client.execute(request, timeout: deadline)
                    let body = try await response.body.collect(upTo: bytesMax)
                    return Answer(status: Int(response.status.code), body: Array(body.readableBytesView))
                }
                group.addTask {
                    // A little after the client's own deadline, so that a connection that kept
                    // failing until then reports why; this bounds reading the body too.
                    try await Task.sleep(for: timeout + .milliseconds(200))
                    throw TimedOut()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw TimedOut() }
                return first
            }
        } catch {
            // One untyped catch and a plain function: typed patterns caught in async functions
            // have crashed the release optimizer here.
            throw failure(error, what: what, timeout: timeout, bytesMax: bytesMax)
        }
    }

    static func failure(_ error: any Error, what: String, timeout: Duration, bytesMax: Int) -> GatewayError {
        if error is TimedOut { return .unavailable("\(what): no answer within \(timeout)") }
        if error is NIOTooManyBytesError { return .unavailable("\(what): answer over \(bytesMax) bytes") }
        if let error = error as? HTTPClientError {
            let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout]
            if timeouts.contains(error) { return .unavailable("\(what): no answer within \(timeout)") }
            return .unavailable("\(what): \(error.shortDescription)")
        }
        return .unavailable("\(what): \(String(String(describing: error).prefix(200)))")
    }

    private struct TimedOut: Error {}
}
