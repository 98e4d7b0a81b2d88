import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading JSON request bodies the one way every write endpoint does it.
extension Request {
    /// Decodes the body as `T`: 415 unless the body is JSON, 413 past `limit` bytes (refused from
    /// `Content-Length` before reading, and never buffered past the limit without it), 400 for
    /// malformed JSON, 422 for well-formed JSON of the wrong shape.
    public func decodeJSON<T: Decodable>(as type: T.Type, limit: Int) async throws -> T {
        try JSONDecoder().decode(T.self, from: try await jsonBodyData(limit: limit))
    }

    /// The body's bytes after the media-type and size checks `decodeJSON` documents.
    func jsonBodyData(limit: Int) async throws -> Data {
        guard Self.isJSON(headers[.contentType]) else { throw Problem.unsupportedMediaType }
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytes > 0 else { throw Problem.malformed("The body is empty; send a JSON object.") }
        return Data(buffer.readableBytesView)
    }

    /// The whole body, refused with 413 from `Content-Length` or as soon as it passes `limit` bytes.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw Problem.payloadTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem.payloadTooLarge(limit: limit)
        }
    }

    /// `application/json` or any `application/…+json`, with or without parameters (charset).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}

/// A request body whose JSON object may carry only the fields it names: anything else is 422
/// (no mass assignment — `role` in a profile edit is refused, not ignored).
public protocol StrictJSONBody: Decodable {
    static var fields: Set<String> { get }
}

/// Any key of a JSON object.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Every key of a JSON object, whatever its value.
private struct ObjectKeys: Decodable {
    var keys: [String]
    init(from decoder: any Decoder) throws {
        keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
    }
}

extension Request {
    /// `decodeJSON`, then 422 naming every field the body type does not declare.
    public func decodeStrictJSON<T: StrictJSONBody>(as type: T.Type, limit: Int) async throws -> T {
        let data = try await jsonBodyData(limit: limit)
        let decoder = JSONDecoder()
        let keys: [String]
        do {
            keys = try decoder.decode(ObjectKeys.self, from: data).keys
        } catch DecodingError.typeMismatch {
            throw Problem.validation([.init(field: "", message: "must be a JSON object")])
        }
        let unknown = keys.filter { !T.fields.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw Problem.validation(unknown.map { .init(field: $0, message: "is not a field of this request") })
        }
        return try decoder.decode(T.self, from: data)
    }
}

/// A body for endpoints that take none (`POST /v1/auth/logout`, `/v1/users/me/host`).
private struct NoFields: StrictJSONBody {
    static let fields: Set<String> = []
}

extension Request {
    /// Accepts an empty body or `{}`; any field is 422 like every write endpoint's unknown fields.
    public func requireNoFields(limit: Int) async throws {
        let declaredEmpty = headers[.contentLength].flatMap(Int.init) == 0
        if declaredEmpty { return }
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytesView.contains(where: { !$0.isASCIIWhitespace }) else { return }
        let copy = Request(head: head, body: .init(buffer: buffer))
        _ = try await copy.decodeStrictJSON(as: NoFields.self, limit: limit)
    }
}

extension Request {
    /// `decodeStrictJSON` for bodies that may be left out: nil for an empty body.
    public func decodeOptionalStrictJSON<T: StrictJSONBody>(as type: T.Type, limit: Int) async throws -> T? {
        if headers[.contentLength].flatMap(Int.init) == 0 { return nil }
        let buffer = try await collectBody(limit: limit)
        guard buffer.readableBytesView.contains(where: { !$0.isASCIIWhitespace }) else { return nil }
        return try await Request(head: head, body: .init(buffer: buffer)).decodeStrictJSON(as: T.self, limit: limit)
    }
}

extension UInt8 {
    fileprivate var isASCIIWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
}
