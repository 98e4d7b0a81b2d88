import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RoostBinary

/// A JSON response with a status, encoded once with Roost's settings.
struct EncodedJSON: ResponseGenerator {
    private enum Body {
        case value(any Encodable & Sendable)
        /// Already JSON (see `JSONObjectWriter`).
        case bytes([UInt8])
    }

    private let body: Body
    let status: HTTPResponse.Status

    init(_ body: some Encodable & Sendable, status: HTTPResponse.Status = .ok) {
        self.body = .value(body)
        self.status = status
    }

    init(bytes: [UInt8], status: HTTPResponse.Status = .ok) {
        self.body = .bytes(bytes)
        self.status = status
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let buffer = switch body {
        case let .value(value): ByteBuffer(bytes: try Self.encoder.encode(value))
        case let .bytes(bytes): ByteBuffer(bytes: bytes)
        }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

/// `{items, nextCursor}` as every paged endpoint answers.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var nextCursor: String?

    private enum CodingKeys: String, CodingKey { case items, nextCursor }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// `?limit=` (default 20, 1–100) and `?cursor=` (opaque: base64url of the last item's sort key).
struct PageRequest {
    static let limitDefault = 20
    static let limitMax = 100
    var limit = limitDefault
    var cursor: String?

    init(query: Hummingbird.Parameters, errors: inout [Problem.FieldError]) {
        if let text = query["limit"] {
            if let value = Int(text), (1...Self.limitMax).contains(value) { limit = value } else {
                errors.append(.init(field: "limit", message: "must be an integer in 1...\(Self.limitMax)"))
            }
        }
        if let text = query["cursor"] {
            if let bytes = Base64URL.decode(text), let decoded = String(bytes: bytes, encoding: .utf8) { cursor = decoded } else {
                errors.append(.init(field: "cursor", message: "is not a cursor this API returned"))
            }
        }
    }

    static func encode(cursor: String) -> String { Base64URL.encode(Array(cursor.utf8)) }

    /// The cursor of a list newest first: `createdAt|id` of its last item (hosts', guests' and
    /// admins' lists); 422 on `errors` when it is not one.
    func createdCursor(errors: inout [Problem.FieldError]) -> (Int64, String)? {
        guard let text = cursor else { return nil }
        let parts = text.split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]), Identifiers.isValid(parts[1]) else {
            errors.append(.init(field: "cursor", message: "is not a cursor this API returned"))
            return nil
        }
        return (millis, String(parts[1]))
    }

    static func encode(createdCursor cursor: (Int64, String)) -> String { encode(cursor: "\(cursor.0)|\(cursor.1)") }
}
