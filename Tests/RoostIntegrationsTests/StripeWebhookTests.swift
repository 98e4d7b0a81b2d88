import Foundation
import RoostIntegrations
import Testing

// StripeWebhookVerifier against signatures computed independently, with the PyPI `stripe`
// package (16.1.0) and Python's hmac, which agreed:
//
//     import hmac, hashlib, stripe
//     t, payload = 1773500966, '<webhookPayload below>'
//     stripe.WebhookSignature._compute_signature("%d.%s" % (t, payload), secret)
//     hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
//
// and `stripe.WebhookSignature.verify_header(payload, header, secret, 300)` accepts the header
// at t + 300 and refuses it at t + 301 ("Timestamp outside the tolerance zone").

private let webhookSecret = "whsec_roost_test_4eC39HqLyjWDarjtT1zdp7dc"
private let oldWebhookSecret = "whsec_roost_old_secret"
private let signedAt: Int64 = 1_773_500_966  // 2026-03-14T15:09:26Z
/// 352 bytes; "café ✓" is sent as UTF-8, and the signature covers those bytes.
private let webhookPayload = Array(
    #"{"id":"evt_1RoostTest0001","object":"event","type":"payment_intent.amount_capturable_updated","created":1773500966,"livemode":false,"data":{"object":{"id":"pi_3RoostTest0001","object":"payment_intent","status":"requires_capture","amount":45000,"amount_received":0,"currency":"sgd","metadata":{"roost_idempotency_key":"auth:bk_42","note":"café ✓"}}}}"#
        .utf8)
/// HMAC-SHA256 of "1773500966.<payload>" keyed with `webhookSecret`.
private let signatureWithSecret = "8784ca51e8d682184d55a75a6a91a30c0790d5420ace3a99eb40725a505ccd2a"
/// The same, keyed with `oldWebhookSecret`.
private let signatureWithOldSecret = "e9fc7d4590003d11fe5134b364eb1730c2466a41fe6bd9f11b4d59628e59a06f"

private func at(_ offset: TimeInterval) -> Date { Date(timeIntervalSince1970: TimeInterval(signedAt) + offset) }

private func outcome(_ verifier: StripeWebhookVerifier, payload: [UInt8] = webhookPayload, header: String?, now: Date = at(0)) -> Result<StripeEvent, StripeWebhookError> {
    do throws(StripeWebhookError) {
        return .success(try verifier.verify(payload: payload, signatureHeader: header, now: now))
    } catch {
        return .failure(error)
    }
}

private func failure(_ result: Result<StripeEvent, StripeWebhookError>) -> StripeWebhookError? {
    if case let .failure(error) = result { error } else { nil }
}

struct StripeWebhookVerifierTests {
    let verifier = StripeWebhookVerifier(endpointSecret: webhookSecret)

    @Test func aReferenceSignatureVerifiesAndTheEventIsRead() throws {
        let event = try outcome(verifier, header: "t=\(signedAt),v1=\(signatureWithSecret)").get()
        #expect(event.id == "evt_1RoostTest0001")
        #expect(event.type == "payment_intent.amount_capturable_updated")
        #expect(event.created == 1_773_500_966)
        #expect(event.livemode == false)
        #expect(event.object.id == "pi_3RoostTest0001")
        #expect(event.object.kind == "payment_intent")
        #expect(event.object.status == "requires_capture" && event.object.paymentStatus == .requiresCapture)
        #expect(event.object.amount == 45_000 && event.object.amountReceived == 0)
        #expect(event.object.metadata == ["roost_idempotency_key": "auth:bk_42", "note": "café ✓"])
        #expect(event.object.idempotencyKey == "auth:bk_42")
    }

    @Test func ourOwnSignerMatchesTheReference() {
        #expect(StripeWebhookVerifier.signatureHeader(payload: webhookPayload, endpointSecret: webhookSecret, timestamp: signedAt)
            == "t=\(signedAt),v1=\(signatureWithSecret)")
        #expect(StripeWebhookVerifier.signatureHeader(payload: webhookPayload, endpointSecret: oldWebhookSecret, timestamp: signedAt)
            == "t=\(signedAt),v1=\(signatureWithOldSecret)")
    }

    /// While a secret is rolled Stripe signs with both; any `v1` may be the one, in any position,
    /// and other schemes (`v0`) and unreadable candidates are ignored.
    @Test(arguments: [
        "t=\(signedAt),v1=\(signatureWithOldSecret),v1=\(signatureWithSecret)",
        "t=\(signedAt),v1=\(signatureWithSecret),v1=\(signatureWithOldSecret)",
        "v1=\(signatureWithSecret),t=\(signedAt)",
        "t=\(signedAt),v0=\(signatureWithOldSecret),v1=nothex,v1=\(signatureWithSecret.uppercased())",
        "t=\(signedAt), v1=\(signatureWithSecret)",
    ])
    func anyOfSeveralV1SignaturesMayMatch(header: String) {
        #expect(throws: Never.self) { try outcome(verifier, header: header).get() }
    }

    @Test func theOldSecretAloneVerifiesWithTheOldVerifierOnly() {
        let header = "t=\(signedAt),v1=\(signatureWithOldSecret)"
        #expect(failure(outcome(verifier, header: header)) == .badSignature)
        #expect(throws: Never.self) { try outcome(StripeWebhookVerifier(endpointSecret: oldWebhookSecret), header: header).get() }
    }

    /// Stripe's rule: refused when `t < now - tolerance`. Signed 300 s ago is in, 301 s is out;
    /// a timestamp ahead of our clock is not refused.
    @Test func toleranceBoundary() {
        let header = "t=\(signedAt),v1=\(signatureWithSecret)"
        #expect(throws: Never.self) { try outcome(verifier, header: header, now: at(300)).get() }
        #expect(failure(outcome(verifier, header: header, now: at(300.5))) == .tooOld)
        #expect(failure(outcome(verifier, header: header, now: at(301))) == .tooOld)
        #expect(failure(outcome(verifier, header: header, now: at(86_400))) == .tooOld)
        #expect(throws: Never.self) { try outcome(verifier, header: header, now: at(-600)).get() }
        let strict = StripeWebhookVerifier(endpointSecret: webhookSecret, tolerance: 10)
        #expect(failure(outcome(strict, header: header, now: at(11))) == .tooOld)
    }

    /// An old delivery with a bad signature is reported as the bad signature: the signature is
    /// checked first, so "too old" is only said of events Stripe really sent.
    @Test func theSignatureIsCheckedBeforeTheAge() {
        #expect(failure(outcome(verifier, header: "t=\(signedAt),v1=\(signatureWithOldSecret)", now: at(10_000))) == .badSignature)
    }

    @Test func aTamperedBodyOrTimestampFails() throws {
        let header = "t=\(signedAt),v1=\(signatureWithSecret)"
        var tampered = webhookPayload
        let amount = Array("45000".utf8)
        let start = try #require(tampered.indices.first { tampered[$0..<min($0 + 5, tampered.count)].elementsEqual(amount) })
        tampered[start + 4] = UInt8(ascii: "1")
        #expect(failure(outcome(verifier, payload: tampered, header: header)) == .badSignature)
        #expect(failure(outcome(verifier, payload: webhookPayload + [0x0A], header: header)) == .badSignature, "a trailing newline is another body")
        // The body re-encoded (here: the é escaped) is not the body that was signed.
        let reencoded = Array(String(decoding: webhookPayload, as: UTF8.self).replacingOccurrences(of: "é", with: "\\u00e9").utf8)
        #expect(failure(outcome(verifier, payload: reencoded, header: header)) == .badSignature)
        #expect(failure(outcome(verifier, header: "t=\(signedAt + 1),v1=\(signatureWithSecret)", now: at(1))) == .badSignature)
    }

    @Test func theWrongSecretFails() {
        let header = "t=\(signedAt),v1=\(signatureWithSecret)"
        #expect(failure(outcome(StripeWebhookVerifier(endpointSecret: "whsec_someone_else"), header: header)) == .badSignature)
        #expect(failure(outcome(StripeWebhookVerifier(endpointSecret: ""), header: header)) == .badSignature)
    }

    @Test func aMissingHeaderIsMissing() {
        #expect(failure(outcome(verifier, header: nil)) == .missingHeader)
        #expect(failure(outcome(verifier, header: "")) == .missingHeader)
    }

    @Test(arguments: [
        "garbage",
        "v1=\(signatureWithSecret)",  // no t
        "t=\(signedAt)",  // no v1
        "t=\(signedAt),v0=\(signatureWithSecret)",  // no v1 either
        "t=,v1=\(signatureWithSecret)",
        "t=-5,v1=\(signatureWithSecret)",
        "t=1773500966.5,v1=\(signatureWithSecret)",
        "t=abc,v1=\(signatureWithSecret)",
        "t=\(signedAt),t=\(signedAt),v1=\(signatureWithSecret)",
        "t=99999999999999999999999,v1=\(signatureWithSecret)",
        "t=\(signedAt),v1",
        "t=\(signedAt)," + String(repeating: "v1=\(signatureWithSecret),", count: 100),
    ])
    func malformedHeadersAreMalformed(header: String) {
        #expect(failure(outcome(verifier, header: header)) == .malformedHeader)
    }

    /// A `v1` that is not 64 hex digits cannot match, and is no reason to stop looking.
    @Test func unreadableSignaturesAreBadNotMalformed() {
        #expect(failure(outcome(verifier, header: "t=\(signedAt),v1=zz")) == .badSignature)
        #expect(failure(outcome(verifier, header: "t=\(signedAt),v1=\(signatureWithSecret.dropLast(2))")) == .badSignature)
        #expect(failure(outcome(verifier, header: "t=\(signedAt),v1=")) == .badSignature)
    }

    @Test func aSignedBodyThatIsNoEventIsMalformedEvent() {
        for body in [#"{"id":"evt_1","type":"x"}"#, "[]", "not json", #"{"id":"evt_1","type":"x","created":1,"data":{}}"#] {
            let payload = Array(body.utf8)
            let header = StripeWebhookVerifier.signatureHeader(payload: payload, endpointSecret: webhookSecret, timestamp: signedAt)
            #expect(failure(outcome(verifier, payload: payload, header: header)) == .malformedEvent, "\(body)")
        }
    }

    /// Objects other than PaymentIntents decode too, and have no payment status.
    @Test func otherObjectsAndOddMetadata() throws {
        let payload = Array(
            #"{"id":"evt_2","type":"charge.refunded","created":1773500000,"data":{"object":{"id":"ch_1","object":"charge","status":"succeeded","amount":500,"metadata":{"a":"b","n":5}}}}"#
                .utf8)
        let header = StripeWebhookVerifier.signatureHeader(payload: payload, endpointSecret: webhookSecret, timestamp: signedAt)
        let event = try outcome(verifier, payload: payload, header: header).get()
        #expect(event.object.kind == "charge" && event.object.status == "succeeded" && event.object.paymentStatus == nil)
        #expect(event.object.amountReceived == nil && event.object.metadata == ["a": "b"] && event.livemode == false)
    }
}
