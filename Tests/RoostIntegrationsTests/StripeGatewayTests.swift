import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RoostTestSupport
import Synchronization
import Testing

@testable import RoostIntegrations

// StripeGateway: configuration checks; what goes on the wire and how Stripe's answers (real
// Stripe's documented error bodies) are mapped, against Hummingbird stand-ins; then a real
// localstripe (ROOST_TEST_STRIPE_URL) and the Connect fake, Tests/fakes/stripe_connect.py
// (ROOST_TEST_STRIPE_CONNECT_URL), when make test has started them.

private let testKey = "sk_test_roost_4eC39HqLyjWDarjtT1zdp7dc"

private func gateway(
    _ base: String, connect: String? = nil, key: String = testKey, timeout: Duration = .seconds(10), bytesMax: Int = 1 << 20
) throws -> StripeGateway {
    try StripeGateway(
        configuration: .init(secretKey: key, baseURL: base, connectBaseURL: connect, requestTimeout: timeout, responseBytesMax: bytesMax))
}

/// The error a call ended with, or `nil` when it succeeded. (Closures are not inferred to throw
/// `GatewayError` without an annotation, so this takes any error and insists on the type.)
private func failure<Value>(_ body: () async throws -> Value) async -> GatewayError? {
    do {
        _ = try await body()
        return nil
    } catch let error as GatewayError {
        return error
    } catch {
        Issue.record("not a GatewayError: \(error)")
        return .unavailable("not a GatewayError")
    }
}

private func isUnavailable(_ error: GatewayError?) -> Bool {
    if case .unavailable? = error { true } else { false }
}

private func message(_ error: GatewayError?) -> String {
    switch error {
    case .unavailable(let text)?, .invalidState(let text)?, .notFound(let text)?: text
    default: ""
    }
}

/// A request as a stand-in received it.
private struct Sent: Sendable {
    var method: String
    var path: String
    var query: String?
    /// Lower-cased names.
    var headers: [String: String]
    var body: String

    /// The form body (or the query, for a GET), decoded, in order.
    var form: [Pair] { Self.decode(method == "GET" ? query ?? "" : body) }

    static func decode(_ text: String) -> [Pair] {
        text.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "?"
            }
            return Pair(parts[0], parts.count > 1 ? parts[1] : "")
        }
    }
}

private struct Pair: Equatable, Sendable, CustomStringConvertible {
    var name: String
    var value: String
    init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
    var description: String { "\(name)=\(value)" }
}

private final class SentLog: Sendable {
    private let entries = Mutex<[Sent]>([])

    @discardableResult
    func record(_ request: Request) async throws -> Sent {
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let sent = Sent(method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers, body: String(buffer: body))
        entries.withLock { $0.append(sent) }
        return sent
    }

    var all: [Sent] { entries.withLock { $0 } }
}

/// A PaymentIntent as Stripe answers it (API 2024-06-20), `latest_charge` expanded.
private func intentJSON(
    id: String = "pi_standin_1", status: String, amount: Int64 = 5_000, currency: String = "sgd", received: Int64 = 0,
    refunded: Int64 = 0, captured: Bool = false, created: Int64 = 1_773_500_000, key: String = "k"
) -> String {
    """
    {"id":"\(id)","object":"payment_intent","status":"\(status)","amount":\(amount),"amount_capturable":0,"amount_received":\(received),\
    "currency":"\(currency)","capture_method":"manual","client_secret":"\(id)_secret_abc","created":\(created),\
    "latest_charge":{"id":"ch_1","object":"charge","amount":\(amount),"amount_captured":\(received),"amount_refunded":\(refunded),"captured":\(captured)},\
    "metadata":{"roost_idempotency_key":"\(key)"}}
    """
}

private func errorJSON(type: String, code: String? = nil, declineCode: String? = nil, param: String? = nil, message: String) -> String {
    var fields = ["\"type\":\"\(type)\"", "\"message\":\"\(message)\""]
    if let code { fields.append("\"code\":\"\(code)\"") }
    if let declineCode { fields.append("\"decline_code\":\"\(declineCode)\"") }
    if let param { fields.append("\"param\":\"\(param)\"") }
    return "{\"error\":{\(fields.joined(separator: ","))}}"
}

@Suite struct StripeGatewayConfigurationTests {
    @Test(arguments: ["", "pk_test_abc", "sk_", "sk_test_a b", "whsec_abc", "Bearer sk_test_abc"])
    func badKeysAreRefused(key: String) {
        #expect(throws: StripeConfigurationError.self) { try gateway("https://api.stripe.com", key: key) }
    }

    @Test(arguments: ["ftp://api.stripe.com", "api.stripe.com", "https://api.stripe.com/v1", "https://api.stripe.com?x=1", "https://u:p@api.stripe.com", "http://"])
    func badURLsAreRefused(url: String) {
        #expect(throws: StripeConfigurationError.self) { try gateway(url) }
        #expect(throws: StripeConfigurationError.self) { try gateway("https://api.stripe.com", connect: url) }
    }

    @Test func goodConfigurations() throws {
        _ = try gateway("https://api.stripe.com/")
        _ = try gateway("http://127.0.0.1:12111", connect: "http://[::1]:12112")
        _ = try gateway("https://api.stripe.com", key: "rk_live_abc")
        #expect(StripeGateway.Configuration(secretKey: testKey).baseURL == "https://api.stripe.com")
    }

    @Test func theDescriptionAndErrorsHideTheKey() {
        let text = StripeGateway.Configuration(secretKey: testKey).description
        #expect(!text.contains(testKey) && text.contains("sk_test_…"))
        let error = StripeFailure.map(
            StripeResponse(status: 400, body: Array(errorJSON(type: "invalid_request_error", message: "bad key \(testKey)").utf8)),
            .search, key: "k", secretKey: testKey)
        #expect(error == .invalidState("bad key sk_test_…"))
    }

    @Test func formsAndPathsAreEncoded() {
        #expect(StripeWire.formEncode([("metadata[roost_idempotency_key]", "auth:bk 1/ü&x=y"), ("expand[]", "latest_charge")])
            == "metadata%5Broost_idempotency_key%5D=auth%3Abk%201%2F%C3%BC%26x%3Dy&expand%5B%5D=latest_charge")
        #expect(StripeWire.pathSegment("../refunds") == "..%2Frefunds")
        #expect(StripeWire.pathSegment("pi_3MtwBwLkdIwHu7ix28a3tqPa") == "pi_3MtwBwLkdIwHu7ix28a3tqPa")
        #expect(StripeWire.searchQuoted(#"it's a\b"#) == #"it\'s a\\b"#)
    }

    /// Arguments Stripe would refuse are refused before anything is sent.
    @Test func localChecksNeedNoNetwork() async throws {
        let stripe = try gateway(try await closedPortURL())
        #expect(await failure { try await stripe.authorize(amount: 0, currency: "SGD", paymentMethod: nil, idempotencyKey: "k") } == .invalidState("amount must be positive"))
        #expect(await failure { try await stripe.refund("pi_1", amount: -1, idempotencyKey: "k") } == .invalidState("refund amount must be positive"))
        #expect(await failure { try await stripe.payout(amount: 1, currency: "SGD", destination: "host1", idempotencyKey: "k") } == .invalidState("host1 is not a connected account"))
        #expect(await failure { try await stripe.payout(amount: 0, currency: "SGD", destination: "acct_1", idempotencyKey: "k") } == .invalidState("amount must be positive"))
    }
}

// MARK: - Against stand-ins

@Suite struct StripeGatewayStandInTests {
    /// Every call's method, path, headers and form, with the arguments and key it was given.
    @Test func whatGoesOnTheWire() async throws {
        let main = SentLog()
        let connect = SentLog()
        let router = Router()
        router.post("/v1/payment_intents") { request, _ -> Response in
            let form = try await main.record(request).form
            let method = form.first { $0.name == "payment_method" }
            let amount = Int64(form.first { $0.name == "amount" }?.value ?? "") ?? 0
            return jsonResponse(intentJSON(status: method == nil ? "requires_payment_method" : "requires_capture", amount: amount))
        }
        router.post("/v1/payment_intents/:id/capture") { request, _ -> Response in
            try await main.record(request)
            return jsonResponse(intentJSON(status: "succeeded", received: 3_000, captured: true))
        }
        router.post("/v1/payment_intents/:id/cancel") { request, _ -> Response in
            try await main.record(request)
            return jsonResponse(intentJSON(status: "canceled"))
        }
        router.post("/v1/refunds") { request, _ -> Response in
            try await main.record(request)
            return jsonResponse(#"{"id":"re_1","object":"refund","amount":1000,"payment_intent":"pi_standin_1","status":"succeeded","currency":"sgd"}"#)
        }
        router.get("/v1/payment_intents/:id") { request, _ -> Response in
            try await main.record(request)
            return jsonResponse(intentJSON(status: "succeeded", received: 3_000, refunded: 1_000, captured: true))
        }
        let connectRouter = Router()
        connectRouter.post("/v1/transfers") { request, _ -> Response in
            try await connect.record(request)
            return jsonResponse(#"{"id":"tr_1","object":"transfer","amount":45000,"currency":"sgd","destination":"acct_host1","metadata":{}}"#)
        }
        try await withStandIn(router) { base in
            try await withStandIn(connectRouter) { connectBase in
                let stripe = try gateway(base, connect: connectBase)
                let key = "auth:bk 1/ü"
                let waiting = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: nil, idempotencyKey: "auth:bk0")
                #expect(waiting.status == .requiresPaymentMethod && waiting.clientSecret == "pi_standin_1_secret_abc")
                let authorized = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: key)
                #expect(authorized == GatewayPayment(id: "pi_standin_1", status: .requiresCapture, amount: 5_000, currency: "SGD"))
                let captured = try await stripe.capture("pi_standin_1", amount: 3_000, idempotencyKey: "cap:1")
                #expect(captured.status == .succeeded && captured.amountCaptured == 3_000)
                _ = try await stripe.capture("pi_standin_1", amount: nil, idempotencyKey: "cap:2")
                #expect(try await stripe.void("pi_standin_1", idempotencyKey: "void:1").status == .canceled)
                #expect(try await stripe.refund("pi_standin_1", amount: 1_000, idempotencyKey: "ref:1") == GatewayRefund(id: "re_1", payment: "pi_standin_1", amount: 1_000))
                #expect(try await stripe.payout(amount: 45_000, currency: "SGD", destination: "acct_host1", idempotencyKey: "pay:1")
                    == GatewayPayout(id: "tr_1", amount: 45_000, currency: "SGD", destination: "acct_host1"))
                let now = try await stripe.retrieve("pi_standin_1")
                #expect(now.amountCaptured == 3_000 && now.amountRefunded == 1_000 && now.clientSecret == nil)

                let sent = main.all
                #expect(sent.map { "\($0.method) \($0.path)" } == [
                    "POST /v1/payment_intents", "POST /v1/payment_intents",
                    "POST /v1/payment_intents/pi_standin_1/capture", "POST /v1/payment_intents/pi_standin_1/capture",
                    "POST /v1/payment_intents/pi_standin_1/cancel", "POST /v1/refunds", "GET /v1/payment_intents/pi_standin_1",
                ])
                #expect(sent[0].form == [
                    Pair("amount", "5000"), Pair("currency", "sgd"), Pair("capture_method", "manual"), Pair("payment_method_types[]", "card"),
                    Pair("metadata[roost_idempotency_key]", "auth:bk0"), Pair("expand[]", "latest_charge"),
                ])
                #expect(sent[1].form == [
                    Pair("amount", "5000"), Pair("currency", "sgd"), Pair("capture_method", "manual"), Pair("payment_method_types[]", "card"),
                    Pair("metadata[roost_idempotency_key]", key), Pair("payment_method", "pm_card_visa"), Pair("confirm", "true"),
                    Pair("expand[]", "latest_charge"),
                ])
                #expect(sent[1].body.contains("metadata%5Broost_idempotency_key%5D=auth%3Abk%201%2F%C3%BC&"))
                #expect(sent[2].form == [Pair("amount_to_capture", "3000"), Pair("expand[]", "latest_charge")])
                #expect(sent[3].form == [Pair("expand[]", "latest_charge")])
                #expect(sent[4].form == [Pair("expand[]", "latest_charge")])
                #expect(sent[5].form == [Pair("payment_intent", "pi_standin_1"), Pair("amount", "1000"), Pair("metadata[roost_idempotency_key]", "ref:1")])
                #expect(sent[6].form == [Pair("expand[]", "latest_charge")] && sent[6].body.isEmpty)
                let transfers = connect.all
                #expect(transfers.count == 1 && transfers.first?.path == "/v1/transfers")
                #expect(transfers.first?.form == [
                    Pair("amount", "45000"), Pair("currency", "sgd"), Pair("destination", "acct_host1"), Pair("metadata[roost_idempotency_key]", "pay:1"),
                ])

                let keys = ["auth:bk0", key, "cap:1", "cap:2", "void:1", "ref:1"]
                for (request, expected) in zip(sent.filter { $0.method == "POST" } + transfers, keys + ["pay:1"]) {
                    #expect(request.headers["idempotency-key"] == expected, "\(request.path)")
                    #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
                }
                for request in sent + transfers {
                    #expect(request.headers["authorization"] == "Bearer \(testKey)")
                    #expect(request.headers["stripe-version"] == StripeGateway.Configuration.pinnedAPIVersion)
                }
                #expect(sent[6].headers["idempotency-key"] == nil, "a GET carries no key")
            }
        }
    }

    /// Stripe compares a replay's parameters with the first call's: the same arguments must make
    /// the same request, and other arguments another.
    @Test func theSameArgumentsMakeTheSameRequest() async throws {
        let log = SentLog()
        let router = Router()
        router.post("/v1/payment_intents") { request, _ -> Response in
            try await log.record(request)
            return jsonResponse(intentJSON(status: "requires_capture"))
        }
        try await withStandIn(router) { base in
            let stripe = try gateway(base)
            for amount: Int64 in [5_000, 5_000, 5_001] {
                _ = try await stripe.authorize(amount: amount, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:bk7")
            }
            let sent = log.all
            #expect(sent.count == 3)
            #expect(sent[0].body == sent[1].body && sent[0].headers["idempotency-key"] == sent[1].headers["idempotency-key"])
            #expect(sent[0].body != sent[2].body)
        }
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        enum Call: Sendable { case authorize, capture, payout }
        var name: String
        var call: Call
        var status: Int
        var body: String
        var expected: GatewayError
        var testDescription: String { name }
    }

    /// Stripe's documented error bodies (and localstripe's), mapped to ``GatewayError``.
    @Test(arguments: [
        ErrorCase(name: "generic decline", call: .authorize, status: 402,
                  body: errorJSON(type: "card_error", code: "card_declined", declineCode: "generic_decline", message: "Your card was declined."),
                  expected: .declined(code: "card_declined")),
        ErrorCase(name: "insufficient funds", call: .authorize, status: 402,
                  body: errorJSON(type: "card_error", code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds."),
                  expected: .declined(code: "insufficient_funds")),
        ErrorCase(name: "expired card", call: .authorize, status: 402,
                  body: errorJSON(type: "card_error", code: "expired_card", param: "exp_month", message: "Your card has expired."),
                  expected: .declined(code: "expired_card")),
        ErrorCase(name: "localstripe decline", call: .authorize, status: 402,
                  body: errorJSON(type: "invalid_request_error", code: "card_declined", message: "Your card was declined."),
                  expected: .declined(code: "card_declined")),
        ErrorCase(name: "unknown payment method", call: .authorize, status: 400,
                  body: errorJSON(type: "invalid_request_error", code: "resource_missing", param: "payment_method", message: "No such PaymentMethod: 'pm_nope'"),
                  expected: .invalidPaymentMethod("pm_nope")),
        ErrorCase(name: "localstripe unknown payment method", call: .authorize, status: 404,
                  body: errorJSON(type: "invalid_request_error", message: "Not Found"), expected: .invalidPaymentMethod("pm_nope")),
        ErrorCase(name: "idempotency key reused", call: .authorize, status: 400,
                  body: errorJSON(type: "idempotency_error", message: "Keys for idempotent requests can only be used with the same parameters they were first used with."),
                  expected: .idempotencyKeyReused("key-1")),
        ErrorCase(name: "unexpected state", call: .capture, status: 400,
                  body: errorJSON(type: "invalid_request_error", code: "payment_intent_unexpected_state", message: "This PaymentIntent could not be captured because it has a status of canceled."),
                  expected: .invalidState("This PaymentIntent could not be captured because it has a status of canceled.")),
        ErrorCase(name: "capture too much", call: .capture, status: 400,
                  body: errorJSON(type: "invalid_request_error", code: "amount_too_large", param: "amount_to_capture", message: "Amount to capture is too large."),
                  expected: .invalidState("Amount to capture is too large.")),
        ErrorCase(name: "no such payment", call: .capture, status: 404,
                  body: errorJSON(type: "invalid_request_error", code: "resource_missing", param: "intent", message: "No such payment_intent: 'pi_x'"),
                  expected: .notFound("pi_x")),
        ErrorCase(name: "no such destination", call: .payout, status: 400,
                  body: errorJSON(type: "invalid_request_error", code: "resource_missing", param: "destination", message: "No such destination: 'acct_nope'"),
                  expected: .notFound("acct_nope")),
        ErrorCase(name: "same key in flight", call: .capture, status: 409,
                  body: errorJSON(type: "invalid_request_error", code: "idempotency_key_in_use", message: "There is currently another in-progress request using this Idempotent Key."),
                  expected: .unavailable("")),
        ErrorCase(name: "rate limited", call: .authorize, status: 429,
                  body: errorJSON(type: "invalid_request_error", code: "rate_limit", message: "Too many requests"), expected: .unavailable("")),
        ErrorCase(name: "stripe error", call: .capture, status: 500, body: errorJSON(type: "api_error", message: "An unknown error occurred"), expected: .unavailable("")),
        ErrorCase(name: "html from a proxy", call: .payout, status: 502, body: "<html>Bad Gateway</html>", expected: .unavailable("")),
        ErrorCase(name: "refused key", call: .authorize, status: 401,
                  body: errorJSON(type: "invalid_request_error", message: "Invalid API Key provided: \(testKey)"), expected: .unavailable("")),
        ErrorCase(name: "a 200 that is no payment", call: .capture, status: 200, body: "{}", expected: .unavailable("")),
        ErrorCase(name: "a payment still processing", call: .capture, status: 200, body: intentJSON(status: "processing"), expected: .unavailable("")),
    ])
    func errorsAreMapped(_ errorCase: ErrorCase) async throws {
        let router = Router()
        let answer: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            jsonResponse(errorCase.body, status: HTTPResponse.Status(code: errorCase.status))
        }
        router.post("/v1/payment_intents", use: answer)
        router.post("/v1/payment_intents/:id/capture", use: answer)
        router.post("/v1/transfers", use: answer)
        try await withStandIn(router) { base in
            let stripe = try gateway(base)
            let error: GatewayError? =
                switch errorCase.call {
                case .authorize: await failure { try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_nope", idempotencyKey: "key-1") }
                case .capture: await failure { try await stripe.capture("pi_x", amount: nil, idempotencyKey: "key-1") }
                case .payout: await failure { try await stripe.payout(amount: 5_000, currency: "SGD", destination: "acct_nope", idempotencyKey: "key-1") }
                }
            if case .unavailable = errorCase.expected {
                #expect(isUnavailable(error), "\(String(describing: error))")
            } else {
                #expect(error == errorCase.expected)
            }
            #expect(!message(error).contains(testKey), "the key never leaves in a message")
        }
    }

    /// The Search API with the key quoted, the newest matching payment, and `nil` for none.
    @Test func paymentForIdempotencyKeySearches() async throws {
        let log = SentLog()
        let router = Router()
        router.get("/v1/payment_intents/search") { request, _ -> Response in
            let query = try await log.record(request).form.first { $0.name == "query" }?.value ?? ""
            guard query.contains("it\\'s") else { return jsonResponse(#"{"object":"search_result","data":[],"has_more":false}"#) }
            let key = "auth:it's"
            return jsonResponse(
                #"{"object":"search_result","has_more":false,"data":["#
                    + [
                        intentJSON(id: "pi_old", status: "canceled", created: 100, key: key),
                        intentJSON(id: "pi_new", status: "requires_capture", created: 200, key: key),
                        intentJSON(id: "pi_other", status: "succeeded", created: 300, key: "auth:someone-else"),
                    ].joined(separator: ",") + "]}")
        }
        try await withStandIn(router) { base in
            let stripe = try gateway(base)
            let found = try await stripe.payment(forIdempotencyKey: "auth:it's")
            #expect(found?.id == "pi_new" && found?.status == .requiresCapture)
            #expect(try await stripe.payment(forIdempotencyKey: "auth:never") == nil)
            let first = try #require(log.all.first)
            #expect(first.form == [
                Pair("query", #"metadata['roost_idempotency_key']:'auth:it\'s'"#), Pair("limit", "10"), Pair("expand[]", "data.latest_charge"),
            ])
            #expect(first.headers["idempotency-key"] == nil && first.headers["authorization"] == "Bearer \(testKey)")
        }
        // A provider without search (localstripe) cannot say "none": unavailable, not nil.
        try await withStandIn(Router()) { base in
            let error = await failure { try await gateway(base).payment(forIdempotencyKey: "auth:1") }
            #expect(error == .unavailable("payment search: the provider has no search API (HTTP 404)"))
        }
    }

    /// Amounts from `amount_received` and the expanded charge; stand-ins' shapes too.
    @Test func amountsAreReadFromTheIntentAndItsCharge() throws {
        func read(_ json: String) throws -> GatewayPayment {
            try StripeWire.payment(StripeResponse(status: 200, body: Array(json.utf8)), what: "test")
        }
        let stripe = try read(intentJSON(status: "succeeded", received: 3_000, refunded: 500, captured: true))
        #expect(stripe.amountCaptured == 3_000 && stripe.amountRefunded == 500 && stripe.currency == "SGD")
        let unexpanded = try read(#"{"id":"pi_1","status":"succeeded","amount":10,"currency":"usd","amount_received":10,"latest_charge":"ch_1"}"#)
        #expect(unexpanded.amountCaptured == 10 && unexpanded.amountRefunded == 0)
        // localstripe: no amount_received or amount_captured; a partial capture shows as a refund of the rest.
        let local = try read(
            #"{"id":"pi_1","status":"succeeded","amount":5000,"currency":"sgd","latest_charge":{"id":"ch_1","amount":5000,"amount_refunded":2000,"captured":true}}"#)
        #expect(local.amountCaptured - local.amountRefunded == 3_000)
        for (status, expected) in [("requires_action", GatewayPayment.Status.requiresPaymentMethod), ("requires_confirmation", .requiresPaymentMethod)] {
            let payment = try read(intentJSON(status: status))
            #expect(payment.status == expected && payment.clientSecret == "pi_standin_1_secret_abc", "the client must finish it")
        }
    }

    @Test func aSlowProviderIsUnavailable() async throws {
        let router = Router()
        router.post("/v1/payment_intents") { _, _ -> Response in
            try? await Task.sleep(for: .seconds(30))
            return jsonResponse(intentJSON(status: "requires_capture"))
        }
        try await withStandIn(router) { base in
            let stripe = try gateway(base, timeout: .milliseconds(300))
            // Timed out, not answered: the server would answer after 30 s. (No bound on the wall
            // clock: on two busy cores the 300 ms timer itself can fire seconds late.)
            let error = await failure { try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "slow") }
            #expect(isUnavailable(error) && message(error).contains("no answer within"), "\(String(describing: error))")
        }
    }

    @Test func nothingListeningIsUnavailable() async throws {
        let stripe = try gateway(try await closedPortURL(), timeout: .seconds(2))
        let error = await failure { try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "closed") }
        #expect(isUnavailable(error), "\(String(describing: error))")
        #expect(isUnavailable(await failure { try await stripe.payout(amount: 5, currency: "SGD", destination: "acct_1", idempotencyKey: "closed-2") }))
        #expect(!message(error).contains(testKey))
    }

    @Test func oversizedAnswersAreUnavailable() async throws {
        let router = Router()
        router.post("/v1/payment_intents") { _, _ in jsonResponse("{\"pad\":\"" + String(repeating: "x", count: 4096) + "\"}") }
        try await withStandIn(router) { base in
            let stripe = try gateway(base, bytesMax: 1024)
            let error = await failure { try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: nil, idempotencyKey: "big") }
            #expect(error == .unavailable("POST /v1/payment_intents: answer over 1024 bytes"))
        }
    }
}

// MARK: - Against localstripe and the Connect fake

private let localstripeURL = ProcessInfo.processInfo.environment["ROOST_TEST_STRIPE_URL"]
private let connectFakeURL = ProcessInfo.processInfo.environment["ROOST_TEST_STRIPE_CONNECT_URL"]

private func uniqueKey(_ prefix: String) -> String { "\(prefix):\(UUID().uuidString.lowercased())" }

/// localstripe 1.15.10 honours three test payment methods: `pm_card_visa` (authorizes),
/// `pm_card_chargeCustomerFail` (declined when charged) and `pm_card_visa_chargeDeclined`
/// (declined only when attached to a customer: a charge succeeds). Stripe's other `pm_card_*`
/// ids are unknown to it (404).
@Suite(.enabled(if: localstripeURL != nil, "set ROOST_TEST_STRIPE_URL to a localstripe server (make test starts one)"))
struct StripeGatewayLocalstripeTests {
    let stripe: StripeGateway

    init() throws { stripe = try gateway(localstripeURL ?? "") }

    @Test func authorizeThenCapture() async throws {
        let authorized = try await stripe.authorize(amount: 12_500, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: uniqueKey("auth"))
        #expect(authorized.status == .requiresCapture && authorized.amount == 12_500 && authorized.currency == "SGD")
        #expect(authorized.id.hasPrefix("pi_") && authorized.clientSecret == nil && authorized.amountCaptured == 0)
        let captured = try await stripe.capture(authorized.id, amount: nil, idempotencyKey: uniqueKey("cap"))
        #expect(captured.status == .succeeded && captured.amountCaptured == 12_500 && captured.amountRefunded == 0)
        await #expect(throws: GatewayError.self) { try await stripe.capture(authorized.id, amount: nil, idempotencyKey: uniqueKey("cap")) }
        #expect(try await stripe.retrieve(authorized.id) == captured)
    }

    @Test func authorizeThenVoid() async throws {
        let authorized = try await stripe.authorize(amount: 7_000, currency: "JPY", paymentMethod: "pm_card_visa", idempotencyKey: uniqueKey("auth"))
        let voided = try await stripe.void(authorized.id, idempotencyKey: uniqueKey("void"))
        #expect(voided.status == .canceled && voided.id == authorized.id && voided.amountCaptured == 0)
        let again = await failure { try await stripe.void(authorized.id, idempotencyKey: uniqueKey("void")) }
        guard case .invalidState? = again else {
            Issue.record("a second void: \(String(describing: again))")
            return
        }
    }

    @Test func withoutAPaymentMethodItWaitsForTheClient() async throws {
        let waiting = try await stripe.authorize(amount: 5_000, currency: "USD", paymentMethod: nil, idempotencyKey: uniqueKey("auth"))
        #expect(waiting.status == .requiresPaymentMethod && waiting.clientSecret?.hasPrefix(waiting.id + "_secret_") == true)
        #expect(try await stripe.void(waiting.id, idempotencyKey: uniqueKey("void")).status == .canceled)
    }

    @Test func aDeclinedCardIsDeclined() async throws {
        await #expect(throws: GatewayError.declined(code: "card_declined")) {
            try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_chargeCustomerFail", idempotencyKey: uniqueKey("auth"))
        }
    }

    @Test func anUnknownPaymentMethodIsInvalid() async throws {
        await #expect(throws: GatewayError.invalidPaymentMethod("pm_card_roost_unknown")) {
            try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_roost_unknown", idempotencyKey: uniqueKey("auth"))
        }
    }

    @Test func unknownPaymentsAreNotFound() async throws {
        await #expect(throws: GatewayError.notFound("pi_roostMissing1")) { try await stripe.capture("pi_roostMissing1", amount: nil, idempotencyKey: uniqueKey("cap")) }
        await #expect(throws: GatewayError.notFound("pi_roostMissing1")) { try await stripe.refund("pi_roostMissing1", amount: 1, idempotencyKey: uniqueKey("ref")) }
        await #expect(throws: GatewayError.notFound("pi_roostMissing1")) { try await stripe.retrieve("pi_roostMissing1") }
    }

    /// Stripe shows a partial capture as `amount_received`; localstripe, which has no such field,
    /// as a full capture with the rest refunded. Either way the money kept is the captured amount.
    @Test func partialCapture() async throws {
        let authorized = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: uniqueKey("auth"))
        let captured = try await stripe.capture(authorized.id, amount: 3_000, idempotencyKey: uniqueKey("cap"))
        #expect(captured.status == .succeeded)
        #expect(captured.amountCaptured - captured.amountRefunded == 3_000)
    }

    @Test func partialThenFullRefund() async throws {
        let authorized = try await stripe.authorize(amount: 10_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: uniqueKey("auth"))
        _ = try await stripe.capture(authorized.id, amount: nil, idempotencyKey: uniqueKey("cap"))
        let first = try await stripe.refund(authorized.id, amount: 4_000, idempotencyKey: uniqueKey("ref"))
        #expect(first.id.hasPrefix("re_") && first.payment == authorized.id && first.amount == 4_000)
        #expect(try await stripe.retrieve(authorized.id).amountRefunded == 4_000)
        let rest = try await stripe.refund(authorized.id, amount: 6_000, idempotencyKey: uniqueKey("ref"))
        #expect(rest.amount == 6_000 && rest.id != first.id)
        let refunded = try await stripe.retrieve(authorized.id)
        #expect(refunded.amountCaptured == 10_000 && refunded.amountRefunded == 10_000)
    }

    /// localstripe 1.15.10 ignores `Idempotency-Key` altogether (its source never reads the
    /// header): a replay creates a second payment. What the gateway owes a replay — the same key
    /// and a byte-identical request — is proven against a stand-in, and Stripe's replay rules
    /// against the Connect fake. Should localstripe learn keys, this known issue stops recurring
    /// and the test fails, to be turned into a plain expectation.
    @Test func aReplayedAuthorizeReturnsTheSameIntent() async throws {
        let key = uniqueKey("auth")
        let first = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: key)
        let again = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: key)
        withKnownIssue("localstripe ignores Idempotency-Key") {
            #expect(again.id == first.id)
        }
    }

    /// localstripe has no Search API, so the lookup cannot answer: unavailable, never a false nil.
    @Test func paymentForIdempotencyKeyNeedsTheSearchAPI() async throws {
        let key = uniqueKey("auth")
        _ = try await stripe.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: key)
        let error = await failure { try await stripe.payment(forIdempotencyKey: key) }
        #expect(error == .unavailable("payment search: the provider has no search API (HTTP 404)"))
    }

    @Test func aRefusedKeyIsUnavailable() async throws {
        let refused = try gateway(localstripeURL ?? "", key: "rk_test_roost_secret_value")
        let error = await failure { try await refused.authorize(amount: 5_000, currency: "SGD", paymentMethod: nil, idempotencyKey: uniqueKey("auth")) }
        #expect(error == .unavailable("Stripe refused the API key (HTTP 401)"))
    }
}

/// One recorded call of the Connect fake.
private struct FakeCall: Decodable {
    var method: String
    var path: String
    var content_type: String?
    var idempotency_key: String?
    var stripe_version: String?
    var authorized: Bool
    var params: [String: String]
    var replayed: Bool
    var status: Int
}

private func fakeCalls(_ base: String, key: String) async throws -> [FakeCall] {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/_calls?idempotency_key=\(StripeWire.percentEncoded(key))"), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 1 << 20)
    struct Calls: Decodable { var calls: [FakeCall] }
    return try JSONDecoder().decode(Calls.self, from: Data(body.readableBytesView)).calls
}

@Suite(.enabled(if: connectFakeURL != nil, "set ROOST_TEST_STRIPE_CONNECT_URL to Tests/fakes/stripe_connect.py (make test starts it)"))
struct StripeGatewayConnectTests {
    let base = connectFakeURL ?? ""

    /// Payouts go to the Connect base URL, and the main one is never asked.
    private func stripe(key: String = testKey) async throws -> StripeGateway {
        try gateway(try await closedPortURL(), connect: base, key: key)
    }

    @Test func aPayoutIsATransferSentOnce() async throws {
        let stripe = try await stripe()
        let key = uniqueKey("payout")
        let payout = try await stripe.payout(amount: 45_000, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: key)
        #expect(payout.id.hasPrefix("tr_") && payout.amount == 45_000 && payout.currency == "SGD" && payout.destination == "acct_1RoostHost")
        #expect(try await stripe.payout(amount: 45_000, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: key) == payout)
        let calls = try await fakeCalls(base, key: key)
        #expect(calls.map(\.replayed) == [false, true])
        for call in calls {
            #expect(call.method == "POST" && call.path == "/v1/transfers" && call.authorized && call.status == 200)
            #expect(call.content_type == "application/x-www-form-urlencoded")
            #expect(call.stripe_version == StripeGateway.Configuration.pinnedAPIVersion)
            #expect(call.params == ["amount": "45000", "currency": "sgd", "destination": "acct_1RoostHost", "metadata[roost_idempotency_key]": key])
        }
    }

    @Test func theSameKeyWithOtherArgumentsIsRefused() async throws {
        let stripe = try await stripe()
        let key = uniqueKey("payout")
        _ = try await stripe.payout(amount: 45_000, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: key)
        await #expect(throws: GatewayError.idempotencyKeyReused(key)) {
            try await stripe.payout(amount: 45_001, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: key)
        }
        await #expect(throws: GatewayError.idempotencyKeyReused(key)) {
            try await stripe.payout(amount: 45_000, currency: "SGD", destination: "acct_2OtherHost", idempotencyKey: key)
        }
    }

    @Test func anUnknownDestinationIsNotFound() async throws {
        await #expect(throws: GatewayError.notFound("acct_no-such")) {
            try await stripe().payout(amount: 100, currency: "SGD", destination: "acct_no-such", idempotencyKey: uniqueKey("payout"))
        }
    }

    @Test func aRefusedKeyIsUnavailableWithoutTheKey() async throws {
        let stripe = try await stripe(key: "sk_test_not-a-valid-key")
        let key = uniqueKey("payout")
        let error = await failure { try await stripe.payout(amount: 100, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: key) }
        #expect(error == .unavailable("Stripe refused the API key (HTTP 401)"))
        #expect(try await fakeCalls(base, key: key).map(\.authorized) == [false])
    }

    /// A booking's money from end to end: authorize and capture on localstripe, pay the host
    /// through the Connect fake, refund part of it.
    @Test(.enabled(if: localstripeURL != nil, "needs ROOST_TEST_STRIPE_URL too"))
    func aBookingsMoney() async throws {
        let stripe = try gateway(localstripeURL ?? "", connect: base)
        let booking = UUID().uuidString.lowercased()
        let payment = try await stripe.authorize(amount: 60_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:\(booking)")
        _ = try await stripe.capture(payment.id, amount: nil, idempotencyKey: "capture:\(booking)")
        let payout = try await stripe.payout(amount: 51_000, currency: "SGD", destination: "acct_1RoostHost", idempotencyKey: "payout:\(booking)")
        #expect(payout.amount == 51_000)
        let refund = try await stripe.refund(payment.id, amount: 9_000, idempotencyKey: "refund:\(booking)")
        #expect(refund.payment == payment.id)
        #expect(try await fakeCalls(base, key: "payout:\(booking)").count == 1)
    }
}
