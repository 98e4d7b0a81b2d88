import Foundation
import RoostIntegrations
import RoostTestSupport
import Testing

/// The local payment provider: Stripe's test payment methods, manual capture, voids, refunds,
/// payouts, and idempotency keys as Stripe keeps them.
struct SandboxGatewayTests {
    @Test func testCardsAuthorizeOrDeclineAsStripesDo() async throws {
        let gateway = SandboxGateway()
        for method in SandboxGateway.approved.sorted() {
            let payment = try await gateway.authorize(amount: 5_000, currency: "SGD", paymentMethod: method, idempotencyKey: "k-\(method)")
            #expect(payment.status == .requiresCapture && payment.amount == 5_000 && payment.clientSecret == nil, "\(method)")
        }
        for (method, code) in SandboxGateway.declines {
            await #expect(throws: GatewayError.declined(code: code)) {
                try await gateway.authorize(amount: 5_000, currency: "SGD", paymentMethod: method, idempotencyKey: "k-\(method)")
            }
            #expect(await gateway.payment(forIdempotencyKey: "k-\(method)")?.status == .requiresPaymentMethod, "a decline leaves nothing authorized")
        }
        await #expect(throws: GatewayError.invalidPaymentMethod("pm_card_bogus")) {
            try await gateway.authorize(amount: 5_000, currency: "SGD", paymentMethod: "pm_card_bogus", idempotencyKey: "k-bogus")
        }
        let waiting = try await gateway.authorize(amount: 5_000, currency: "SGD", paymentMethod: nil, idempotencyKey: "k-client")
        #expect(waiting.status == .requiresPaymentMethod && waiting.clientSecret?.hasPrefix(waiting.id + "_secret_") == true)
    }

    @Test func captureVoidAndRefundFollowThePaymentsState() async throws {
        let gateway = SandboxGateway()
        let payment = try await gateway.authorize(amount: 10_000, currency: "JPY", paymentMethod: "pm_card_visa", idempotencyKey: "a1")
        await #expect(throws: GatewayError.self) { try await gateway.refund(payment.id, amount: 1, idempotencyKey: "r0") }
        await #expect(throws: GatewayError.self) { try await gateway.capture(payment.id, amount: 10_001, idempotencyKey: "c0") }
        let captured = try await gateway.capture(payment.id, amount: nil, idempotencyKey: "c1")
        #expect(captured.status == .succeeded && captured.amountCaptured == 10_000)
        await #expect(throws: GatewayError.self) { try await gateway.void(payment.id, idempotencyKey: "v1") }
        await #expect(throws: GatewayError.self) { try await gateway.capture(payment.id, amount: nil, idempotencyKey: "c2") }
        let first = try await gateway.refund(payment.id, amount: 4_000, idempotencyKey: "r1")
        _ = try await gateway.refund(payment.id, amount: 6_000, idempotencyKey: "r2")
        await #expect(throws: GatewayError.self) { try await gateway.refund(payment.id, amount: 1, idempotencyKey: "r3") }
        #expect(first.amount == 4_000 && first.payment == payment.id)

        let other = try await gateway.authorize(amount: 700, currency: "JPY", paymentMethod: "pm_card_amex", idempotencyKey: "a2")
        #expect(try await gateway.void(other.id, idempotencyKey: "v2").status == .canceled)
        await #expect(throws: GatewayError.self) { try await gateway.capture(other.id, amount: nil, idempotencyKey: "c3") }
        await #expect(throws: GatewayError.notFound("pi_nope")) { try await gateway.capture("pi_nope", amount: nil, idempotencyKey: "c4") }
    }

    /// A retry with the same key answers the first call again, success or failure, and moves no
    /// more money; the same key with other parameters is refused.
    @Test func idempotencyKeysReplayTheFirstAnswer() async throws {
        let gateway = SandboxGateway()
        let first = try await gateway.authorize(amount: 1_000, currency: "USD", paymentMethod: "pm_card_visa", idempotencyKey: "book-1")
        let again = try await gateway.authorize(amount: 1_000, currency: "USD", paymentMethod: "pm_card_visa", idempotencyKey: "book-1")
        #expect(first == again)
        await #expect(throws: GatewayError.idempotencyKeyReused("book-1")) {
            try await gateway.authorize(amount: 2_000, currency: "USD", paymentMethod: "pm_card_visa", idempotencyKey: "book-1")
        }
        #expect(try await gateway.capture(first.id, amount: nil, idempotencyKey: "cap-1") == gateway.capture(first.id, amount: nil, idempotencyKey: "cap-1"))
        let refund = try await gateway.refund(first.id, amount: 300, idempotencyKey: "ref-1")
        #expect(try await gateway.refund(first.id, amount: 300, idempotencyKey: "ref-1") == refund, "no second refund")
        _ = try await gateway.refund(first.id, amount: 700, idempotencyKey: "ref-2")
        for _ in 0..<2 {
            await #expect(throws: GatewayError.declined(code: "card_declined")) {
                try await gateway.authorize(amount: 1_000, currency: "USD", paymentMethod: "pm_card_chargeDeclined", idempotencyKey: "book-2")
            }
        }
        #expect(await gateway.payment(forIdempotencyKey: "book-1")?.amountRefunded == 1_000)
        #expect(await gateway.payment(forIdempotencyKey: "never") == nil)
    }

    @Test func payoutsGoToConnectedAccountsOnce() async throws {
        let gateway = SandboxGateway()
        let payout = try await gateway.payout(amount: 45_000, currency: "SGD", destination: "acct_host1", idempotencyKey: "pay-1")
        #expect(try await gateway.payout(amount: 45_000, currency: "SGD", destination: "acct_host1", idempotencyKey: "pay-1") == payout)
        await #expect(throws: GatewayError.self) { try await gateway.payout(amount: 1, currency: "SGD", destination: "host1", idempotencyKey: "pay-2") }
        await #expect(throws: GatewayError.self) { try await gateway.payout(amount: 0, currency: "SGD", destination: "acct_host1", idempotencyKey: "pay-3") }
        #expect(await gateway.allPayouts == [payout])
    }

    /// Concurrent retries of one capture (a client retrying, a webhook, a reconciler): one capture.
    @Test func concurrentRetriesCaptureOnce() async throws {
        let gateway = SandboxGateway()
        let payment = try await gateway.authorize(amount: 9_999, currency: "BHD", paymentMethod: "pm_card_visa", idempotencyKey: "a")
        let answers = await withTaskGroup(of: (String, GatewayPayment?).self) { group in
            for i in 0..<50 {
                let key = i % 2 == 0 ? "cap" : "cap-\(i)"
                group.addTask { (key, try? await gateway.capture(payment.id, amount: nil, idempotencyKey: key)) }
            }
            return await group.reduce(into: [(String, GatewayPayment?)]()) { $0.append($1) }
        }
        // Exactly one key captured: all its retries got the same answer; every other key was refused.
        let winners = Set(answers.filter { $0.1 != nil }.map(\.0))
        #expect(winners.count == 1)
        #expect(Set(answers.compactMap(\.1)).count == 1)
        #expect(answers.filter { winners.contains($0.0) }.allSatisfy { $0.1 != nil })
        #expect(await gateway.payment(forIdempotencyKey: "a")?.amountCaptured == 9_999)
    }

    /// A provider remembers across our restarts: a reopened sandbox has the same payments, answers
    /// repeated keys the same way, and goes on counting ids where it stopped.
    @Test func theJournalRebuildsEverythingOnReopen() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/sandbox-payments.log"
        var gateway = try await SandboxGateway.open(journal: path)
        let payment = try await gateway.authorize(amount: 8_000, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:b1")
        _ = try await gateway.capture(payment.id, amount: nil, idempotencyKey: "cap:b1")
        let refund = try await gateway.refund(payment.id, amount: 500, idempotencyKey: "ref:b1")
        await #expect(throws: GatewayError.declined(code: "card_declined")) {
            try await gateway.authorize(amount: 1, currency: "SGD", paymentMethod: "pm_card_chargeDeclined", idempotencyKey: "auth:b2")
        }
        let before = try await gateway.payment(forIdempotencyKey: "auth:b1")
        gateway = try await SandboxGateway.open(journal: path)
        #expect(try await gateway.payment(forIdempotencyKey: "auth:b1") == before)
        #expect(try await gateway.refund(payment.id, amount: 500, idempotencyKey: "ref:b1") == refund, "the same key, the same answer")
        await #expect(throws: GatewayError.declined(code: "card_declined")) {
            try await gateway.authorize(amount: 1, currency: "SGD", paymentMethod: "pm_card_chargeDeclined", idempotencyKey: "auth:b2")
        }
        let next = try await gateway.authorize(amount: 1, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:b3")
        #expect(next.id != payment.id && next.id.hasPrefix("pi_sandbox_"))
        // A crash mid-append leaves a line without its newline: that call never answered, so it is dropped.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"["authorize","auth:torn","1","SGD","pm_ca"#.utf8))
        try handle.close()
        gateway = try await SandboxGateway.open(journal: path)
        #expect(try await gateway.payment(forIdempotencyKey: "auth:torn") == nil)
        #expect(try await gateway.payment(forIdempotencyKey: "auth:b3") == next, "the lines before it still count")
        let after = try await gateway.authorize(amount: 2, currency: "SGD", paymentMethod: nil, idempotencyKey: "auth:b4")
        // Keys can carry a client's text: every character a JSON string escapes survives the line.
        let oddKey = "auth:\"quoted\" \\ back\nnew\tline\u{1} é 😀"
        let odd = try await gateway.authorize(amount: 3, currency: "SGD", paymentMethod: "pm_card_visa", idempotencyKey: oddKey)
        gateway = try await SandboxGateway.open(journal: path)
        #expect(try await gateway.payment(forIdempotencyKey: "auth:b4") == after, "appended after the cut, replayed whole")
        #expect(try await gateway.payment(forIdempotencyKey: oddKey) == odd)
        try "not json\n".write(toFile: path, atomically: false, encoding: .utf8)
        await #expect(throws: SandboxGateway.JournalError.self) { try await SandboxGateway.open(journal: path) }
    }

    /// Calls made at once share the journal's fsyncs, and every one answered is there on reopen,
    /// in an order that replays to the same ids.
    @Test func concurrentCallsAreAllJournaledBeforeTheyAnswer() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/sandbox-payments.log"
        let gateway = try await SandboxGateway.open(journal: path)
        let made = try await withThrowingTaskGroup(of: GatewayPayment.self) { tasks in
            for index in 0..<200 {
                tasks.addTask {
                    let payment = try await gateway.authorize(amount: Int64(100 + index), currency: "USD", paymentMethod: "pm_card_visa", idempotencyKey: "auth:\(index)")
                    let written = try String(contentsOfFile: path, encoding: .utf8)
                    #expect(written.contains("\"auth:\(index)\""), "answered before its line reached the file")
                    return payment
                }
            }
            return try await tasks.reduce(into: [GatewayPayment]()) { $0.append($1) }
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 200, "each answered call is on disk before its answer")
        let reopened = try await SandboxGateway.open(journal: path)
        for payment in made {
            #expect(await reopened.payment(forIdempotencyKey: "auth:\(payment.amount - 100)") == payment)
        }
    }

    /// Instant book's one-call charge: captured at once, declined like an authorization, replayed
    /// for its key, and rebuilt from the journal.
    @Test func aChargeCapturesInOneCall() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/sandbox-payments.log"
        let gateway = try await SandboxGateway.open(journal: path)
        let charged = try await gateway.charge(amount: 5_000, currency: "JPY", paymentMethod: "pm_card_visa", idempotencyKey: "auth:c1")
        #expect(charged.status == .succeeded && charged.amountCaptured == 5_000)
        #expect(try await gateway.charge(amount: 5_000, currency: "JPY", paymentMethod: "pm_card_visa", idempotencyKey: "auth:c1") == charged)
        await #expect(throws: GatewayError.idempotencyKeyReused("auth:c1")) {
            try await gateway.charge(amount: 5_001, currency: "JPY", paymentMethod: "pm_card_visa", idempotencyKey: "auth:c1")
        }
        await #expect(throws: GatewayError.declined(code: "insufficient_funds")) {
            try await gateway.charge(amount: 5_000, currency: "JPY", paymentMethod: "pm_card_chargeDeclinedInsufficientFunds", idempotencyKey: "auth:c2")
        }
        await #expect(throws: GatewayError.invalidPaymentMethod("pm_nope")) {
            try await gateway.charge(amount: 5_000, currency: "JPY", paymentMethod: "pm_nope", idempotencyKey: "auth:c3")
        }
        await #expect(throws: GatewayError.self) { try await gateway.capture(charged.id, amount: nil, idempotencyKey: "cap:c1") }
        _ = try await gateway.refund(charged.id, amount: 2_000, idempotencyKey: "ref:c1")
        let reopened = try await SandboxGateway.open(journal: path)
        #expect(try await reopened.payment(forIdempotencyKey: "auth:c1")?.amountRefunded == 2_000)
    }
}
