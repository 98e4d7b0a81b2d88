import Crypto
import Foundation

/// Verifies a Stripe webhook delivery and reads the event out of it, as Stripe's own libraries do:
///
/// - `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes such as `v0` are
///   ignored); several `v1` appear while an endpoint secret is being rolled, and any may match.
/// - Each `v1` is HMAC-SHA256, keyed with the endpoint secret (`whsec_…`), of `"<t>.<raw body>"`,
///   compared in constant time. The body must be the bytes as received: re-encoded JSON fails.
/// - The signature is checked first, then the age: `t` more than ``tolerance`` seconds before
///   `now` is ``StripeWebhookError/tooOld`` (a replayed delivery). Exactly `tolerance` is still
///   accepted. A `t` in the future is accepted, as Stripe's libraries do: only Stripe can sign.
///
/// Deduplicating by event id and refusing to move a booking backwards are the caller's: Stripe
/// delivers at least once and in no particular order, so ``StripeEvent/created`` and the
/// object's status are exposed for that.
public struct StripeWebhookVerifier: Sendable {
    public static let defaultTolerance: TimeInterval = 300
    /// Headers longer than this are refused unread: Stripe's carry two or three signatures.
    public static let headerBytesMax = 4096

    public let tolerance: TimeInterval
    private let key: SymmetricKey

    /// - Parameter endpointSecret: the endpoint's signing secret, `whsec_…`, used as is (its
    ///   bytes are the HMAC key, as in Stripe's libraries).
    public init(endpointSecret: String, tolerance: TimeInterval = Self.defaultTolerance) {
        self.key = SymmetricKey(data: Array(endpointSecret.utf8))
        self.tolerance = tolerance
    }

    /// The event in `payload`, if `signatureHeader` (the `Stripe-Signature` header; `nil` when
    /// absent) proves Stripe sent it within ``tolerance`` of `now`.
    public func verify(payload: [UInt8], signatureHeader: String?, now: Date) throws(StripeWebhookError) -> StripeEvent {
        guard let signatureHeader, !signatureHeader.isEmpty else { throw .missingHeader }
        let header = try Self.parse(signatureHeader)
        let expected = Array(HMAC<SHA256>.authenticationCode(for: Self.signedPayload(timestamp: header.timestamp, payload: payload), using: key))
        // Every candidate is compared, whatever an earlier one did.
        var matched = false
        for candidate in header.signatures where Self.constantTimeEqual(candidate, expected) { matched = true }
        guard matched else { throw .badSignature }
        guard Double(header.timestamp) >= now.timeIntervalSince1970 - tolerance else { throw .tooOld }
        guard let event = StripeEvent(json: payload) else { throw .malformedEvent }
        return event
    }

    /// A `Stripe-Signature` header for `payload` signed at `timestamp`: for tests and local
    /// stand-ins that deliver events to Roost.
    public static func signatureHeader(payload: [UInt8], endpointSecret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: signedPayload(timestamp: timestamp, payload: payload), using: SymmetricKey(data: Array(endpointSecret.utf8)))
        return "t=\(timestamp),v1=\(hex(Array(mac)))"
    }

    // MARK: - Parts

    struct Header: Equatable {
        var timestamp: Int64
        /// The `v1` signatures that are well-formed hex; others cannot match and are dropped.
        var signatures: [[UInt8]]
    }

    /// `t=…,v1=…`: pairs split at the first `=`. `t` must appear once, as decimal digits; at
    /// least one `v1` must be present.
    static func parse(_ text: String) throws(StripeWebhookError) -> Header {
        guard text.utf8.count <= headerBytesMax else { throw .malformedHeader }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        var sawV1 = false
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { throw .malformedHeader }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch name {
            case "t":
                guard timestamp == nil, !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let seconds = Int64(value)
                else { throw .malformedHeader }
                timestamp = seconds
            case "v1":
                sawV1 = true
                if let bytes = unhex(value), bytes.count == SHA256.byteCount { signatures.append(bytes) }
            default:
                continue
            }
        }
        guard let timestamp, sawV1 else { throw .malformedHeader }
        return Header(timestamp: timestamp, signatures: signatures)
    }

    static func signedPayload(timestamp: Int64, payload: [UInt8]) -> [UInt8] {
        Array("\(timestamp).".utf8) + payload
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = ""
        for byte in bytes {
            text.unicodeScalars.append(digits[Int(byte >> 4)])
            text.unicodeScalars.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// Lower- or upper-case hex, or `nil`.
    static func unhex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

/// Why a webhook delivery was refused; every case is the sender's fault (answer 400), and none
/// says more than which check failed.
public enum StripeWebhookError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `Stripe-Signature` header.
    case missingHeader
    /// The header is not `t=<digits>,v1=…`.
    case malformedHeader
    /// No `v1` signature matches the body with this endpoint's secret.
    case badSignature
    /// Correctly signed, but longer ago than the tolerance: a replay.
    case tooOld
    /// Correctly signed, but not an event Roost can read.
    case malformedEvent

    public var description: String {
        switch self {
        case .missingHeader: "no Stripe-Signature header"
        case .malformedHeader: "malformed Stripe-Signature header"
        case .badSignature: "no signature matches"
        case .tooOld: "signature timestamp outside the tolerance"
        case .malformedEvent: "the event cannot be read"
        }
    }
}

/// The parts of a Stripe event Roost acts on.
public struct StripeEvent: Sendable, Equatable {
    /// `evt_…`: the same event may be delivered more than once.
    public var id: String
    /// `payment_intent.succeeded`, `charge.refunded`, …
    public var type: String
    /// When Stripe created the event, Unix seconds. Deliveries arrive in no particular order, and
    /// events of the same second cannot be ordered by this alone.
    public var created: Int64
    public var livemode: Bool
    /// `data.object`.
    public var object: Object

    public struct Object: Sendable, Equatable {
        public var id: String
        /// Stripe's `object`: `payment_intent`, `charge`, `refund`, `transfer`, …
        public var kind: String?
        /// As Stripe writes it; its meaning depends on ``kind``.
        public var status: String?
        public var amount: Int64?
        /// A PaymentIntent's collected (for manual capture, captured) amount.
        public var amountReceived: Int64?
        public var metadata: [String: String]

        public init(id: String, kind: String?, status: String?, amount: Int64?, amountReceived: Int64?, metadata: [String: String]) {
            self.id = id
            self.kind = kind
            self.status = status
            self.amount = amount
            self.amountReceived = amountReceived
            self.metadata = metadata
        }

        /// A PaymentIntent's status as ``GatewayPayment/Status``: `nil` for other objects and for
        /// statuses that are not one of those (`processing`, `requires_action` …).
        public var paymentStatus: GatewayPayment.Status? {
            guard kind == "payment_intent" else { return nil }
            return status.flatMap(GatewayPayment.Status.init(rawValue:))
        }

        /// The idempotency key ``StripeGateway`` stored on the payment, refund or transfer.
        public var idempotencyKey: String? { metadata[StripeGateway.idempotencyMetadataKey] }
    }

    public init(id: String, type: String, created: Int64, livemode: Bool, object: Object) {
        self.id = id
        self.type = type
        self.created = created
        self.livemode = livemode
        self.object = object
    }

    /// Decodes an event, or `nil` when required fields (`id`, `type`, `created`, `data.object.id`)
    /// are missing. Metadata values that are not strings are dropped (Stripe's never are).
    init?(json: [UInt8]) {
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(json)) else { return nil }
        let object = wire.data.object
        self.init(
            id: wire.id, type: wire.type, created: wire.created, livemode: wire.livemode ?? false,
            object: Object(
                id: object.id, kind: object.object, status: object.status, amount: object.amount,
                amountReceived: object.amount_received, metadata: object.metadata?.values ?? [:]
            )
        )
    }

    private struct Wire: Decodable {
        var id: String
        var type: String
        var created: Int64
        var livemode: Bool?
        var data: DataBody

        struct DataBody: Decodable {
            var object: ObjectBody
        }

        struct ObjectBody: Decodable {
            var id: String
            var object: String?
            var status: String?
            var amount: Int64?
            var amount_received: Int64?
            var metadata: StringMetadata?
        }
    }

    /// A JSON object whose string values are kept.
    private struct StringMetadata: Decodable {
        var values: [String: String] = [:]

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if let value = try? container.decode(String.self, forKey: key) { values[key.stringValue] = value }
            }
        }
    }
}
