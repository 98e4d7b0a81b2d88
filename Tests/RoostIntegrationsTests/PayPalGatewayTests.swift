import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import RoostIntegrations

// PayPalGateway and PayPalWebhookVerifier: amounts and configuration on their own, then
// everything on the wire against the PayPal stand-in (Tests/fakes/paypal.py) when
// ROOST_TEST_PAYPAL_URL is set.

// MARK: - Without a server

@Suite struct PayPalAmountTests {
    @Test(arguments: [
        (Int64(1500), 0, "1500"), (1500, 2, "15.00"), (1500, 3, "1.500"), (5, 2, "0.05"), (0, 2, "0.00"),
        (1_000_001, 3, "1000.001"), (7, 3, "0.007"), (123_456_789_012, 2, "1234567890.12"), (1, 4, "0.0001"),
    ])
    func formatsMinorUnitsExactly(minor: Int64, exponent: Int, text: String) {
        #expect(PayPalAmount.format(minor, exponent: exponent) == text)
        #expect(PayPalAmount.parse(text, exponent: exponent) == minor)
    }

    @Test func wholeUnitCurrenciesRefuseFractions() {
        #expect(PayPalAmount.format(150_000, exponent: 2, wholeUnits: true) == "1500")
        #expect(PayPalAmount.format(150_050, exponent: 2, wholeUnits: true) == nil)
        #expect(PayPalAmount.format(-1, exponent: 2) == nil)
    }

    @Test(arguments: ["", ".5", "5.", "-1.00", "+1.00", "1e3", "1.001", " 1.00", "1,00", "99999999999999999999.00"])
    func parsingRefusesWhatIsNotADecimalOfTheCurrency(text: String) {
        #expect(PayPalAmount.parse(text, exponent: 2) == nil)
    }

    @Test func shorterFractionsAreScaled() {
        #expect(PayPalAmount.parse("15", exponent: 2) == 1500)
        #expect(PayPalAmount.parse("15.5", exponent: 2) == 1550)
        #expect(PayPalAmount.parse("1.5", exponent: 3) == 1500)
    }

    @Test func exponentsAreISOsUnlessOverridden() {
        #expect(PayPalAmount.exponent(of: "JPY", overrides: [:]) == 0)
        #expect(PayPalAmount.exponent(of: "USD", overrides: [:]) == 2)
        for code in ["BHD", "KWD", "JOD", "OMR", "TND"] { #expect(PayPalAmount.exponent(of: code, overrides: [:]) == 3) }
        #expect(PayPalAmount.exponent(of: "XYZ", overrides: ["XYZ": 0]) == 0)
        #expect(PayPalAmount.exponent(of: "usd", overrides: [:]) == nil)
        #expect(PayPalAmount.exponent(of: "US", overrides: [:]) == nil)
    }

    @Test func gatewayMoneyRefusesWhatPayPalCannotTake() throws {
        let gateway = try PayPalGateway(configuration: .init(clientID: "id", clientSecret: "secret"))
        #expect(try gateway.money(150_000, "HUF") == PayPalMoney(currencyCode: "HUF", value: "1500"))
        #expect(throws: GatewayError.self) { try gateway.money(150_050, "HUF") }
        #expect(throws: GatewayError.self) { try gateway.money(100, "DOLLARS") }
        #expect(try gateway.money(1500, "usd") == PayPalMoney(currencyCode: "USD", value: "15.00"))
    }
}

@Suite struct PayPalConfigurationTests {
    @Test func theDescriptionHidesTheSecret() {
        let text = PayPalGateway.Configuration(clientID: "client-id", clientSecret: "very-secret-value").description
        #expect(text.contains("client-id"))
        #expect(!text.contains("very-secret-value"))
    }

    @Test(arguments: ["ftp://api-m.paypal.com", "api-m.paypal.com", "https://api-m.paypal.com/v2", "https://api-m.paypal.com?x=1"])
    func badBaseURLsAreRefused(base: String) {
        #expect(throws: PayPalConfigurationError.self) {
            try PayPalGateway(configuration: .init(clientID: "id", clientSecret: "secret", baseURL: base))
        }
    }

    @Test func emptyCredentialsAreRefused() {
        #expect(throws: PayPalConfigurationError.self) { try PayPalGateway(configuration: .init(clientID: "", clientSecret: "secret")) }
        #expect(throws: PayPalConfigurationError.self) { try PayPalGateway(configuration: .init(clientID: "id", clientSecret: "")) }
        #expect(throws: PayPalConfigurationError.self) { try PayPalGateway(configuration: .init(clientID: "a:b", clientSecret: "secret")) }
    }

    @Test func unavailableWhenNothingListens() async throws {
        let base = try await closedPortURL()
        let gateway = try PayPalGateway(configuration: .init(clientID: "id", clientSecret: "top-secret", baseURL: base, requestTimeout: .seconds(1)))
        let result = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:nothing")
        }
        guard case let .failure(.unavailable(reason)) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(!reason.contains("top-secret"))
        #expect(!reason.contains(base))
    }

    @Test func theWebhookVerifierRefusesBadDeliveriesBeforeAskingPayPal() async throws {
        // Nothing listens here: a delivery refused locally never needs PayPal.
        let base = try await closedPortURL()
        let verifier = try PayPalWebhookVerifier(
            configuration: .init(clientID: "id", clientSecret: "secret", baseURL: base, requestTimeout: .seconds(1)), webhookID: "WH-1"
        )
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        var headers = [
            "paypal-auth-algo": "SHA256withRSA", "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1",
            "PAYPAL-TRANSMISSION-ID": "t-1", "PAYPAL-TRANSMISSION-SIG": "c2ln", "PAYPAL-TRANSMISSION-TIME": "2025-06-15T15:06:40Z",
        ]
        let body = Array(#"{"id":"WH-EV-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1"}}"#.utf8)
        headers["PAYPAL-TRANSMISSION-TIME"] = "2025-06-15T14:56:39Z"  // 601 s before `now`
        #expect(await webhookOutcome(verifier, body, headers, now) == .failure(.outsideTolerance(seconds: 601)))
        headers["PAYPAL-TRANSMISSION-TIME"] = "yesterday"
        #expect(await webhookOutcome(verifier, body, headers, now) == .failure(.invalidTransmissionTime("yesterday")))
        headers["PAYPAL-TRANSMISSION-TIME"] = nil
        #expect(await webhookOutcome(verifier, body, headers, now) == .failure(.missingHeader("PAYPAL-TRANSMISSION-TIME")))
        headers["PAYPAL-TRANSMISSION-TIME"] = "2025-06-15T15:06:40Z"
        #expect(await webhookOutcome(verifier, Array("[]".utf8), headers, now) == .failure(.malformedEvent("not a JSON event")))
        let unreachable = await webhookOutcome(verifier, body, headers, now)
        guard case .failure(.unavailable) = unreachable else {
            Issue.record("expected unavailable, got \(unreachable)")
            return
        }
    }
}

// MARK: - Against the stand-in

private let paypalURL = ProcessInfo.processInfo.environment["ROOST_TEST_PAYPAL_URL"]

@Suite(.enabled(if: paypalURL != nil, "set ROOST_TEST_PAYPAL_URL to the PayPal stand-in (make test starts Tests/fakes/paypal.py)"))
struct PayPalGatewayServerTests {
    let account = PayPalTestAccount(base: paypalURL ?? "")

    // MARK: Tokens

    @Test func theTokenIsFetchedOnceAndReused() async throws {
        let gateway = try account.gateway()
        let payment = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:reuse")
        _ = try await gateway.capture(payment.id, amount: nil, idempotencyKey: "cap:reuse")
        _ = try await gateway.retrieve(payment.id)
        let calls = try await account.calls()
        #expect(calls.filter { $0.path == "/v1/oauth2/token" }.count == 1)
        #expect(calls.first?.auth == "Basic")
        #expect(calls.dropFirst().allSatisfy { $0.auth == "Bearer" })
        // The token, the create, the GET and POST of the capture, the GET.
        #expect(calls.map(\.path) == ["/v1/oauth2/token", "/v2/checkout/orders", "/v2/checkout/orders/\(payment.id)",
                                       calls.count > 3 ? calls[3].path : "", "/v2/checkout/orders/\(payment.id)"])
        #expect(calls.count > 3 && calls[3].path.hasSuffix("/capture"))
    }

    @Test func concurrentCallsShareOneTokenFetch() async throws {
        let gateway = try account.gateway()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask { _ = try await gateway.authorize(amount: 100, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:c\(index)") }
            }
            try await group.waitForAll()
        }
        #expect(try await account.calls().filter { $0.path == "/v1/oauth2/token" }.count == 1)
    }

    @Test func theTokenIsReplacedShortlyBeforeItExpires() async throws {
        let clock = IdentityTestClock()
        let gateway = try account.gateway(now: clock.read)
        let payment = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:expiry")
        clock.advance(32400 - 301)  // the stand-in's tokens last 32400 s; replaced 300 s early
        _ = try await gateway.retrieve(payment.id)
        #expect(try await account.calls().filter { $0.path == "/v1/oauth2/token" }.count == 1)
        clock.advance(2)
        _ = try await gateway.retrieve(payment.id)
        #expect(try await account.calls().filter { $0.path == "/v1/oauth2/token" }.count == 2)
    }

    @Test func aRefusedTokenIsReplacedOnceAndTheCallRepeated() async throws {
        let gateway = try account.gateway()
        let payment = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:401")
        try await account.post("/__tokens/expire")
        let captured = try await gateway.capture(payment.id, amount: nil, idempotencyKey: "cap:401")
        #expect(captured.status == .succeeded)
        let calls = try await account.calls()
        #expect(calls.filter { $0.path == "/v1/oauth2/token" }.count == 2)
        // The GET that was refused, then the same GET with the new token.
        let reads = calls.filter { $0.path == "/v2/checkout/orders/\(payment.id)" && $0.method == "GET" }
        #expect(reads.map(\.refused) == [true, false])
        #expect(calls.filter(\.refused).count == 1)
    }

    @Test func wrongCredentialsAreUnavailableWithoutTheSecret() async throws {
        let gateway = try PayPalGateway(configuration: .init(clientID: account.client, clientSecret: "not-the-secret", baseURL: account.base))
        let result = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:bad")
        }
        guard case let .failure(.unavailable(reason)) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(reason.contains("401"))
        #expect(!reason.contains("not-the-secret"))
    }

    // MARK: Payments

    @Test func authorizeThenCapture() async throws {
        let gateway = try account.gateway()
        let authorized = try await gateway.authorize(amount: 12_345, currency: "USD", paymentMethod: "paypal:vault-tok-1", idempotencyKey: "auth:bkg_1")
        #expect(authorized.status == .requiresCapture)
        #expect(authorized.amount == 12_345 && authorized.currency == "USD" && authorized.amountCaptured == 0 && authorized.clientSecret == nil)
        let create = try #require(try await account.calls().first { $0.path == "/v2/checkout/orders" })
        #expect(create.json("intent") as? String == "AUTHORIZE")
        #expect(create.json("purchase_units", 0, "custom_id") as? String == "auth:bkg_1")
        #expect(create.json("purchase_units", 0, "amount", "value") as? String == "123.45")
        #expect(create.json("purchase_units", 0, "amount", "currency_code") as? String == "USD")
        #expect(create.json("payment_source", "paypal", "vault_id") as? String == "vault-tok-1")
        #expect(create.prefer == "return=representation")

        let captured = try await gateway.capture(authorized.id, amount: nil, idempotencyKey: "cap:bkg_1")
        #expect(captured == GatewayPayment(id: authorized.id, status: .succeeded, amount: 12_345, currency: "USD", amountCaptured: 12_345))
        #expect(try await gateway.retrieve(authorized.id) == captured)
        let again = await paypalOutcome { () async throws(GatewayError) in try await gateway.capture(authorized.id, amount: nil, idempotencyKey: "cap:bkg_1:again") }
        #expect(again == .failure(.invalidState("PayPal capture: AUTHORIZATION_ALREADY_CAPTURED")))
    }

    @Test func authorizeThenVoid() async throws {
        let gateway = try account.gateway()
        let authorized = try await gateway.authorize(amount: 5000, currency: "EUR", paymentMethod: "card:card-tok", idempotencyKey: "auth:v")
        let voided = try await gateway.void(authorized.id, idempotencyKey: "void:v")
        #expect(voided.status == .canceled && voided.amountCaptured == 0)
        #expect(try await gateway.retrieve(authorized.id).status == .canceled)
        // Repeated with its key: the first answer; with another key: PayPal says it is voided.
        #expect(try await gateway.void(authorized.id, idempotencyKey: "void:v").status == .canceled)
        let capture = await paypalOutcome { () async throws(GatewayError) in try await gateway.capture(authorized.id, amount: nil, idempotencyKey: "cap:v") }
        #expect(capture == .failure(.invalidState("PayPal capture: AUTHORIZATION_VOIDED")))
        let create = try #require(try await account.calls().first { $0.path == "/v2/checkout/orders" })
        #expect(create.json("payment_source", "card", "vault_id") as? String == "card-tok")
    }

    @Test func aPartialCaptureIsFinal() async throws {
        let gateway = try account.gateway()
        let authorized = try await gateway.authorize(amount: 10_000, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:p")
        let captured = try await gateway.capture(authorized.id, amount: 4000, idempotencyKey: "cap:p")
        #expect(captured.status == .succeeded && captured.amount == 10_000 && captured.amountCaptured == 4000)
        let capture = try #require(try await account.calls().first { $0.path.hasSuffix("/capture") })
        #expect(capture.json("amount", "value") as? String == "40.00")
        #expect(capture.json("final_capture") as? Bool == true)
        let more = await paypalOutcome { () async throws(GatewayError) in try await gateway.capture(authorized.id, amount: 1000, idempotencyKey: "cap:p2") }
        #expect(more == .failure(.invalidState("PayPal capture: AUTHORIZATION_ALREADY_CAPTURED")))
    }

    @Test func refundsPartialFullAndBeyond() async throws {
        let gateway = try account.gateway()
        let authorized = try await gateway.authorize(amount: 10_000, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:r")
        let early = await paypalOutcome { () async throws(GatewayError) in try await gateway.refund(authorized.id, amount: 100, idempotencyKey: "refund:r0") }
        guard case .failure(.invalidState) = early else {
            Issue.record("a refund before the capture: \(early)")
            return
        }
        _ = try await gateway.capture(authorized.id, amount: nil, idempotencyKey: "cap:r")
        let beyond = await paypalOutcome { () async throws(GatewayError) in try await gateway.refund(authorized.id, amount: 10_001, idempotencyKey: "refund:r1") }
        #expect(beyond == .failure(.invalidState("PayPal refund: REFUND_AMOUNT_EXCEEDED")))
        let partial = try await gateway.refund(authorized.id, amount: 2550, idempotencyKey: "refund:r2")
        #expect(partial.payment == authorized.id && partial.amount == 2550)
        #expect(try await gateway.refund(authorized.id, amount: 2550, idempotencyKey: "refund:r2") == partial)
        #expect(try await gateway.retrieve(authorized.id).amountRefunded == 2550)
        let rest = try await gateway.refund(authorized.id, amount: 7450, idempotencyKey: "refund:r3")
        #expect(rest.amount == 7450 && rest.id != partial.id)
        let after = try await gateway.retrieve(authorized.id)
        #expect(after.amountCaptured == 10_000 && after.amountRefunded == 10_000 && after.status == .succeeded)
        let more = await paypalOutcome { () async throws(GatewayError) in try await gateway.refund(authorized.id, amount: 1, idempotencyKey: "refund:r4") }
        #expect(more == .failure(.invalidState("PayPal refund: CAPTURE_FULLY_REFUNDED")))
        let bodies = try await account.calls().filter { $0.path.hasSuffix("/refund") }.compactMap { $0.json("amount", "value") as? String }
        #expect(bodies == ["100.01", "25.50", "25.50", "74.50", "0.01"])
    }

    @Test func declinesAndPaymentMethodsPayPalRefuses() async throws {
        let gateway = try account.gateway()
        let declined = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "card:tok-declined", idempotencyKey: "auth:d1")
        }
        #expect(declined == .failure(.declined(code: "INSTRUMENT_DECLINED")))
        // The same key again: PayPal answers the same decline.
        let again = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "card:tok-declined", idempotencyKey: "auth:d1")
        }
        #expect(again == declined)
        let denied = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok-denied", idempotencyKey: "auth:d2")
        }
        #expect(denied == .failure(.declined(code: "DECLINED_BY_RISK_FRAUD_FILTERS")))
        let malformed = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "not a token!", idempotencyKey: "auth:d3")
        }
        #expect(malformed == .failure(.invalidPaymentMethod("not a token!")))
        let empty = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "card:", idempotencyKey: "auth:d4")
        }
        #expect(empty == .failure(.invalidPaymentMethod("card:")))
        // A card that needs its holder (3-D Secure) is not an authorization.
        let challenged = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "card:tok-3ds", idempotencyKey: "auth:d5")
        #expect(challenged.status == .requiresPaymentMethod)
        #expect(challenged.clientSecret?.contains("checkoutnow?token=\(challenged.id)") == true)
    }

    @Test func anOrderPayPalLeavesApprovedIsAuthorizedByTheGateway() async throws {
        let gateway = try account.gateway()
        let payment = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok-twostep", idempotencyKey: "auth:two")
        #expect(payment.status == .requiresCapture)
        let step = try #require(try await account.calls().first { $0.path == "/v2/checkout/orders/\(payment.id)/authorize" })
        #expect(step.requestID == "auth:two:authorize")
    }

    @Test func withoutAPaymentMethodTheBuyerApprovesAtTheLink() async throws {
        let gateway = try account.gateway()
        let waiting = try await gateway.authorize(amount: 2000, currency: "GBP", paymentMethod: nil, idempotencyKey: "auth:buyer")
        #expect(waiting.status == .requiresPaymentMethod)
        #expect(waiting.clientSecret == "\(account.base)/checkoutnow?token=\(waiting.id)")
        let void = await paypalOutcome { () async throws(GatewayError) in try await gateway.void(waiting.id, idempotencyKey: "void:buyer") }
        guard case .failure(.invalidState) = void else {
            Issue.record("voiding an order that waits for its buyer: \(void)")
            return
        }
        let early = await paypalOutcome { () async throws(GatewayError) in try await gateway.authorizeApproved(waiting.id, idempotencyKey: "approve:buyer:0") }
        #expect(early == .failure(.invalidState("PayPal authorize order: ORDER_NOT_APPROVED")))
        try await account.post("/__approve/\(waiting.id)")
        #expect(try await gateway.retrieve(waiting.id).status == .requiresAuthorization)
        #expect(try await gateway.payment(forIdempotencyKey: "auth:buyer")?.status == .requiresAuthorization)
        let authorized = try await gateway.authorizeApproved(waiting.id, idempotencyKey: "approve:buyer")
        #expect(authorized.status == .requiresCapture && authorized.clientSecret == nil)
        #expect(try await gateway.capture(waiting.id, amount: nil, idempotencyKey: "cap:buyer").amountCaptured == 2000)
    }

    @Test func withReturnURLsTheBuyerGetsPayPalsPayerActionLink() async throws {
        var configuration = account.configuration
        configuration.returnURL = "https://roost.example/paypal/return"
        configuration.cancelURL = "https://roost.example/paypal/cancel"
        let gateway = try PayPalGateway(configuration: configuration)
        let waiting = try await gateway.authorize(amount: 2000, currency: "GBP", paymentMethod: nil, idempotencyKey: "auth:ctx")
        #expect(waiting.status == .requiresPaymentMethod && waiting.clientSecret?.contains(waiting.id) == true)
        let create = try #require(try await account.calls().first { $0.path == "/v2/checkout/orders" })
        #expect(create.json("payment_source", "paypal", "experience_context", "return_url") as? String == "https://roost.example/paypal/return")
    }

    // MARK: Idempotency

    @Test func everyPOSTCarriesItsKeyAndAReplayAnswersTheSameOrder() async throws {
        let gateway = try account.gateway()
        let first = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:idem")
        let replay = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:idem")
        #expect(replay == first)
        _ = try await gateway.capture(first.id, amount: nil, idempotencyKey: "cap:idem")
        // PayPal answers a repeated request id with the order as it is now.
        let later = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:idem")
        #expect(later.id == first.id && later.status == .succeeded)
        _ = try await gateway.refund(first.id, amount: 500, idempotencyKey: "refund:idem")
        _ = try await gateway.payout(amount: 700, currency: "USD", destination: "host@example.com", idempotencyKey: "payout:idem")
        let reused = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 1600, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:idem")
        }
        #expect(reused == .failure(.idempotencyKeyReused("auth:idem")))

        let posts = try await account.calls().filter { $0.method == "POST" && $0.path != "/v1/oauth2/token" }
        #expect(posts.count == 7)
        #expect(posts.allSatisfy { $0.requestID != nil })
        #expect(posts.map { $0.requestID ?? "" } == ["auth:idem", "auth:idem", "cap:idem", "auth:idem", "refund:idem", "payout:idem", "auth:idem"])
        #expect(posts.allSatisfy { $0.contentType == "application/json" })
        #expect(Set(try await account.calls().filter { $0.path == "/v2/checkout/orders" }.compactMap { $0.json("purchase_units", 0, "custom_id") as? String }) == ["auth:idem"])
    }

    @Test func amountsAreWrittenWithTheCurrencysDecimals() async throws {
        let gateway = try account.gateway()
        for (currency, text) in [("JPY", "1500"), ("USD", "15.00"), ("BHD", "1.500"), ("KWD", "1.500"), ("TND", "1.500")] {
            let payment = try await gateway.authorize(amount: 1500, currency: currency, paymentMethod: "tok", idempotencyKey: "auth:amount:\(currency)")
            #expect(payment.amount == 1500 && payment.currency == currency)
            let captured = try await gateway.capture(payment.id, amount: 1000, idempotencyKey: "cap:amount:\(currency)")
            #expect(captured.amountCaptured == 1000)
            let create = try #require(try await account.calls().last { $0.path == "/v2/checkout/orders" })
            #expect(create.json("purchase_units", 0, "amount", "value") as? String == text)
        }
        let fraction = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.authorize(amount: 150_050, currency: "HUF", paymentMethod: "tok", idempotencyKey: "auth:huf")
        }
        guard case .failure(.invalidState) = fraction else {
            Issue.record("HUF with a fraction: \(fraction)")
            return
        }
        #expect(try await account.calls().filter { $0.path == "/v2/checkout/orders" }.count == 5)
    }

    // MARK: Payouts

    @Test func payoutsToAnEmailOrAPayPalID() async throws {
        let gateway = try account.gateway()
        let payout = try await gateway.payout(amount: 2500, currency: "EUR", destination: "host@example.com", idempotencyKey: "payout:bkg_9")
        #expect(payout.amount == 2500 && payout.currency == "EUR" && payout.destination == "host@example.com" && !payout.id.isEmpty)
        #expect(try await gateway.payout(amount: 2500, currency: "EUR", destination: "host@example.com", idempotencyKey: "payout:bkg_9") == payout)
        let call = try #require(try await account.calls().first { $0.path == "/v1/payments/payouts" })
        #expect(call.json("sender_batch_header", "sender_batch_id") as? String == "payout:bkg_9")
        #expect(call.json("sender_batch_header", "email_subject") as? String == "You have a payout from Roost")
        #expect(call.json("items", 0, "recipient_type") as? String == "EMAIL")
        #expect(call.json("items", 0, "receiver") as? String == "host@example.com")
        #expect(call.json("items", 0, "amount", "value") as? String == "25.00")
        #expect(call.json("items", 0, "amount", "currency") as? String == "EUR")
        #expect(call.json("items", 0, "sender_item_id") as? String == "payout:bkg_9")

        _ = try await gateway.payout(amount: 300, currency: "JPY", destination: "ABCDEFGHJK234", idempotencyKey: "payout:id")
        let byID = try #require(try await account.calls().last { $0.path == "/v1/payments/payouts" })
        #expect(byID.json("items", 0, "recipient_type") as? String == "PAYPAL_ID")
        #expect(byID.json("items", 0, "amount", "value") as? String == "300")

        let stripeStyle = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.payout(amount: 100, currency: "USD", destination: "acct_host1", idempotencyKey: "payout:acct")
        }
        guard case .failure(.invalidState) = stripeStyle else {
            Issue.record("a Stripe account as a PayPal receiver: \(stripeStyle)")
            return
        }
        let reused = await paypalOutcome { () async throws(GatewayError) in
            try await gateway.payout(amount: 2600, currency: "EUR", destination: "host@example.com", idempotencyKey: "payout:bkg_9")
        }
        #expect(reused == .failure(.idempotencyKeyReused("payout:bkg_9")))
    }

    // MARK: Finding a payment by key

    @Test func theSameProcessFindsItsOrderByKey() async throws {
        let gateway = try account.gateway()
        let payment = try await gateway.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:find")
        #expect(try await gateway.payment(forIdempotencyKey: "auth:find") == payment)
        #expect(try await account.calls().filter { $0.path == "/v2/checkout/orders" }.count == 1)
    }

    @Test func afterARestartAProbeFindsTheOrderOrNothing() async throws {
        let first = try account.gateway()
        let payment = try await first.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:restart")
        _ = try await first.capture(payment.id, amount: nil, idempotencyKey: "cap:restart")
        try await account.post("/__config", json: #"{"request_id_mismatch":"replay"}"#)
        let restarted = try account.gateway()
        let found = try #require(try await restarted.payment(forIdempotencyKey: "auth:restart"))
        #expect(found.id == payment.id && found.status == .succeeded && found.amountCaptured == 1500)
        #expect(try await restarted.payment(forIdempotencyKey: "auth:never") == nil)
        // The probe created nothing.
        let creates = try await account.calls().filter { $0.path == "/v2/checkout/orders" }
        #expect(creates.count == 3)
        #expect(creates.dropFirst().allSatisfy { ($0.json("purchase_units") as? [Any])?.isEmpty == true })
    }

    @Test func aPayPalThatComparesBodiesCannotBeProbed() async throws {
        let first = try account.gateway()
        let payment = try await first.authorize(amount: 1500, currency: "USD", paymentMethod: "tok", idempotencyKey: "auth:strict")
        let restarted = try account.gateway()
        let result = await paypalOutcome { () async throws(GatewayError) in try await restarted.payment(forIdempotencyKey: "auth:strict") }
        guard case .failure(.unavailable) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(try await restarted.payment(forIdempotencyKey: "auth:none") == nil)
        #expect(try await restarted.retrieve(payment.id).status == .requiresCapture)
    }

    @Test func unknownOrdersAreNotFound() async throws {
        let gateway = try account.gateway()
        let result = await paypalOutcome { () async throws(GatewayError) in try await gateway.capture("NOSUCHORDER123", amount: nil, idempotencyKey: "cap:none") }
        #expect(result == .failure(.notFound("NOSUCHORDER123")))
        let odd = await paypalOutcome { () async throws(GatewayError) in try await gateway.retrieve("../v1/oauth2/token") }
        #expect(odd == .failure(.notFound("../v1/oauth2/token")))
    }

    // MARK: Webhooks

    @Test func webhookDeliveriesPayPalSentAreAccepted() async throws {
        let gateway = try account.gateway()
        let verifier = try PayPalWebhookVerifier(gateway: gateway, webhookID: "WH-ROOST-1")
        let event = #"{"id":"WH-58D329510W468432D-8HN650336L201105X","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2025-06-15T15:06:40.123Z","resource":{"id":"7NW873794T343360M","status":"COMPLETED","custom_id":"auth:bkg_1","amount":{"currency_code":"BHD","value":"1.500"}}}"#
        let delivery = try await account.sendWebhook(webhookID: "WH-ROOST-1", event: event)
        let sentAt = try #require(delivery.headers["PAYPAL-TRANSMISSION-TIME"])
        let now = try #require(PayPalWebhookVerifier.date(sentAt))
        let verified = try await verifier.verify(body: delivery.body, headers: delivery.headers, now: now.addingTimeInterval(30))
        #expect(verified.id == "WH-58D329510W468432D-8HN650336L201105X")
        #expect(verified.eventType == "PAYMENT.CAPTURE.COMPLETED")
        #expect(verified.resourceID == "7NW873794T343360M" && verified.resourceStatus == "COMPLETED" && verified.customID == "auth:bkg_1")
        #expect(verified.amount == 1500 && verified.currency == "BHD")
        #expect(abs((verified.createTime?.timeIntervalSince1970 ?? 0) - 1_750_000_000.123) < 0.001)
        let check = try #require(try await account.calls().first { $0.path == "/v1/notifications/verify-webhook-signature" })
        #expect(check.json("webhook_id") as? String == "WH-ROOST-1")
        #expect(check.json("transmission_sig") as? String == delivery.headers["PAYPAL-TRANSMISSION-SIG"])
        #expect(check.json("webhook_event", "resource", "custom_id") as? String == "auth:bkg_1")
    }

    /// An order's event carries its `custom_id` in its purchase unit, not beside its status.
    @Test func anOrderEventNamesItsPaymentByThePurchaseUnitsCustomID() async throws {
        let gateway = try account.gateway()
        let verifier = try PayPalWebhookVerifier(gateway: gateway, webhookID: "WH-ROOST-2")
        let event = #"{"id":"WH-ORDER-APPROVED-1","event_type":"CHECKOUT.ORDER.APPROVED","create_time":"2025-06-15T15:06:40Z","resource":{"id":"5O190127TN364715T","status":"APPROVED","intent":"AUTHORIZE","purchase_units":[{"reference_id":"auth:bkg_2","custom_id":"auth:bkg_2","amount":{"currency_code":"USD","value":"15.00"}}]}}"#
        let delivery = try await account.sendWebhook(webhookID: "WH-ROOST-2", event: event)
        let sentAt = try #require(delivery.headers["PAYPAL-TRANSMISSION-TIME"])
        let now = try #require(PayPalWebhookVerifier.date(sentAt))
        let verified = try await verifier.verify(body: delivery.body, headers: delivery.headers, now: now)
        #expect(verified.eventType == "CHECKOUT.ORDER.APPROVED" && verified.resourceStatus == "APPROVED" && verified.customID == "auth:bkg_2")
    }

    @Test func webhookDeliveriesPayPalDidNotSendAreRefused() async throws {
        let verifier = try PayPalWebhookVerifier(configuration: account.configuration, webhookID: "WH-ROOST-2")
        let event = #"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1","status":"COMPLETED"}}"#
        let delivery = try await account.sendWebhook(webhookID: "WH-ROOST-2", event: event)
        let sentAt = try #require(delivery.headers["PAYPAL-TRANSMISSION-TIME"])
        let now = try #require(PayPalWebhookVerifier.date(sentAt))
        // Another body under the same headers.
        let forged = Array(event.replacingOccurrences(of: "R1", with: "R2").utf8)
        #expect(await webhookOutcome(verifier, forged, delivery.headers, now) == .failure(.signatureRejected))
        // Another signature.
        var headers = delivery.headers
        headers["PAYPAL-TRANSMISSION-SIG"] = "Zm9yZ2Vk"
        #expect(await webhookOutcome(verifier, delivery.body, headers, now) == .failure(.signatureRejected))
        // Sent to another webhook.
        let other = try PayPalWebhookVerifier(configuration: account.configuration, webhookID: "WH-OTHER")
        #expect(await webhookOutcome(other, delivery.body, delivery.headers, now) == .failure(.signatureRejected))
        #expect(try await account.calls().filter { $0.path == "/v1/notifications/verify-webhook-signature" }.count == 3)
    }

    @Test func webhookDeliveriesMissingHeadersOrTooOldNeverReachPayPal() async throws {
        let verifier = try PayPalWebhookVerifier(configuration: account.configuration, webhookID: "WH-ROOST-3")
        let event = #"{"id":"WH-2","event_type":"PAYMENT.AUTHORIZATION.VOIDED","resource":{"id":"A1","status":"VOIDED"}}"#
        let delivery = try await account.sendWebhook(webhookID: "WH-ROOST-3", event: event, transmissionTime: "2025-06-15T15:06:40Z")
        let sent = Date(timeIntervalSince1970: 1_750_000_000)
        for name in ["PAYPAL-AUTH-ALGO", "PAYPAL-CERT-URL", "PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-TRANSMISSION-TIME"] {
            var headers = delivery.headers
            headers[name] = nil
            #expect(await webhookOutcome(verifier, delivery.body, headers, sent) == .failure(.missingHeader(name)))
        }
        #expect(await webhookOutcome(verifier, delivery.body, delivery.headers, sent.addingTimeInterval(301)) == .failure(.outsideTolerance(seconds: 301)))
        #expect(await webhookOutcome(verifier, delivery.body, delivery.headers, sent.addingTimeInterval(-301)) == .failure(.outsideTolerance(seconds: 301)))
        #expect(try await account.calls().isEmpty)
        // Within the tolerance it is checked, and accepted.
        #expect(try await verifier.verify(body: delivery.body, headers: delivery.headers, now: sent.addingTimeInterval(299)).resourceStatus == "VOIDED")
    }
}

// MARK: - Helpers

/// One PayPal account at the stand-in: its own client id, so its tokens, calls and request ids
/// are its own even while other tests run.
struct PayPalTestAccount: Sendable {
    let base: String
    let client = "roost-\(UUID().uuidString.prefix(12).lowercased())"

    var configuration: PayPalGateway.Configuration {
        .init(clientID: client, clientSecret: "\(client)-secret", baseURL: base, requestTimeout: .seconds(10))
    }

    func gateway(now: @escaping @Sendable () -> Date = { Date() }) throws -> PayPalGateway {
        try PayPalGateway(configuration: configuration, now: now)
    }

    /// A call the stand-in received.
    struct Call: @unchecked Sendable {
        var method: String
        var path: String
        var requestID: String?
        var auth: String?
        var contentType: String?
        var prefer: String?
        var body: Any?
        /// Sent with a token the stand-in no longer accepts (answered 401).
        var refused: Bool

        /// The value at `path` in the JSON body (keys and array indices).
        func json(_ path: Any...) -> Any? {
            var value = body
            for step in path {
                if let key = step as? String, let object = value as? [String: Any] {
                    value = object[key]
                } else if let index = step as? Int, let array = value as? [Any], array.indices.contains(index) {
                    value = array[index]
                } else {
                    return nil
                }
            }
            return value
        }
    }

    func calls() async throws -> [Call] {
        let bytes = try await request("GET", "/__calls?client=\(client)", json: nil)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        return list.map {
            Call(
                method: $0["method"] as? String ?? "", path: $0["path"] as? String ?? "", requestID: $0["request_id"] as? String,
                auth: $0["auth"] as? String, contentType: $0["content_type"] as? String, prefer: $0["prefer"] as? String,
                body: $0["body"].flatMap { $0 is NSNull ? nil : $0 }, refused: $0["refused"] as? Bool ?? false
            )
        }
    }

    func post(_ path: String, json: String? = nil) async throws {
        let separator = path.contains("?") ? "&" : "?"
        _ = try await request("POST", "\(path)\(separator)client=\(client)", json: json)
    }

    /// A delivery whose signature the stand-in issued: its headers and exact body.
    func sendWebhook(webhookID: String, event: String, transmissionTime: String? = nil) async throws -> (headers: [String: String], body: [UInt8]) {
        let time = transmissionTime.map { #","transmission_time":"\#($0)""# } ?? ""
        let bytes = try await request("POST", "/__webhooks/send", json: #"{"webhook_id":"\#(webhookID)","event":\#(event)\#(time)}"#)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let headers = try #require(answer["headers"] as? [String: String])
        let body = try #require(answer["body"] as? String)
        return (headers, Array(body.utf8))
    }

    private func request(_ method: String, _ path: String, json: String?) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: base + path)
        request.method = .RAW(value: method)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        try #require(response.status.code == 200, "\(method) \(path): \(response.status)")
        return Array(body.readableBytesView)
    }
}

/// What a gateway call came to, as a comparable value.
func paypalOutcome<Value: Sendable>(_ call: () async throws(GatewayError) -> Value) async -> Result<Value, GatewayError> {
    do {
        return .success(try await call())
    } catch {
        return .failure(error)
    }
}

func webhookOutcome(_ verifier: PayPalWebhookVerifier, _ body: [UInt8], _ headers: [String: String], _ now: Date) async -> Result<PayPalWebhookEvent, PayPalWebhookError> {
    do {
        return .success(try await verifier.verify(body: body, headers: headers, now: now))
    } catch {
        return .failure(error)
    }
}
