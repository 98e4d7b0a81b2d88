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
        let data = try await jsonBodyData(limit: limit)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw Self.numberMisfit(in: data, decoding: { _ = try JSONDecoder().decode(T.self, from: $0) }) ?? DecodingError.dataCorrupted(context)
        }
    }

    /// Foundation's decoder reports a number that does not fit its field (1.5 or 1e30 where an integer goes) as
    /// "not valid JSON", with no field: when the body does parse, that is what happened, and it is a 422, not a 400.
    /// The field is found by trying: each number that is not a whole number within Int64 is a suspect, and a suspect
    /// is the misfit when the body still fails with every other suspect set to 0 (`decoding` is the failed decode).
    /// Past `misfitSuspectsMax` suspects the error names no field.
    static func numberMisfit(in data: Data, decoding: (Data) throws -> Void) -> Problem? {
        guard let body = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        let message = "must be a whole number up to 9223372036854775807 where an integer goes"
        let suspects = JSONMisfits.suspects(in: body)
        guard !suspects.isEmpty, suspects.count <= misfitSuspectsMax else { return Problem.validation([.init(field: "", message: message)]) }
        let misfits = suspects.filter { suspect in
            let others = JSONMisfits.replacing(suspects.filter { $0 != suspect }, in: body, with: 0)
            guard let trial = try? JSONSerialization.data(withJSONObject: others, options: [.fragmentsAllowed]) else { return false }
            do {
                try decoding(trial)
                return false
            } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
                return true
            } catch {
                return false
            }
        }
        return Problem.validation(misfits.isEmpty ? [.init(field: "", message: message)] : misfits.map { .init(field: JSONMisfits.name($0), message: message) })
    }

    static let misfitSuspectsMax = 16

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
        // The media type: before any parameter, without the spaces and tabs around it (HTTP's
        // optional whitespace), any case. Bytes, not Foundation's character sets: every write pays this.
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return false }
        let mediaType = String(decoding: bytes[first...last], as: UTF8.self).lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}

/// A request body whose JSON object may carry only the fields it names: anything else is 422
/// (no mass assignment — `role` in a profile edit is refused, not ignored).
public protocol StrictJSONBody: Decodable {
    static var fields: Set<String> { get }
    /// The fields that may be `null`, when no other may be (422 "cannot be null" for the rest); nil, the
    /// default: the type's own decoding decides what a `null` means (a profile edit's clears the field).
    static var nullableFields: Set<String>? { get }
}

extension StrictJSONBody {
    public static var nullableFields: Set<String>? { nil }
}

/// Any key of a JSON object.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A strict body and the check of its object's keys, from one parse of the body: 422 naming every
/// key `T` does not declare, before `T`'s own checks.
private struct StrictlyDecoded<T: StrictJSONBody>: Decodable {
    struct NotAnObject: Error {}
    struct UnknownFields: Error { var names: [String] }
    struct NullFields: Error { var names: [String] }

    var value: T

    init(from decoder: any Decoder) throws {
        let keys: [String]
        do {
            keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        } catch DecodingError.typeMismatch, DecodingError.valueNotFound {
            // An array, a string, a number, or `null`, where the object should be.
            throw NotAnObject()
        }
        let unknown = keys.filter { !T.fields.contains($0) }.sorted()
        guard unknown.isEmpty else { throw UnknownFields(names: unknown) }
        if let nullable = T.nullableFields {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            let nulls = try keys.filter { try !nullable.contains($0) && container.decodeNil(forKey: AnyCodingKey(stringValue: $0)) }.sorted()
            guard nulls.isEmpty else { throw NullFields(names: nulls) }
        }
        value = try T(from: decoder)
    }
}

extension Request {
    /// `decodeJSON`, then 422 naming every field the body type does not declare.
    public func decodeStrictJSON<T: StrictJSONBody>(as type: T.Type, limit: Int) async throws -> T {
        let data = try await jsonBodyData(limit: limit)
        do {
            return try JSONDecoder().decode(StrictlyDecoded<T>.self, from: data).value
        } catch is StrictlyDecoded<T>.NotAnObject {
            throw Problem.validation([.init(field: "", message: "must be a JSON object")])
        } catch let unknown as StrictlyDecoded<T>.UnknownFields {
            throw Problem.validation(unknown.names.map { .init(field: $0, message: "is not a field of this request") })
        } catch let nulls as StrictlyDecoded<T>.NullFields {
            throw Problem.validation(nulls.names.map { .init(field: $0, message: "cannot be null") })
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw Self.numberMisfit(in: data, decoding: { _ = try JSONDecoder().decode(T.self, from: $0) }) ?? DecodingError.dataCorrupted(context)
        }
    }
}

/// The numbers of a parsed JSON body that an integer field could refuse, by path.
enum JSONMisfits {
    /// A step into an object (by key) or an array (by index).
    enum Step: Equatable { case key(String), index(Int) }

    /// Paths of the numbers that are not whole numbers within Int64.
    static func suspects(in value: Any, at path: [Step] = []) -> [[Step]] {
        switch value {
        case let object as [String: Any]:
            return object.keys.sorted().flatMap { suspects(in: object[$0]!, at: path + [.key($0)]) }
        case let array as [Any]:
            return array.enumerated().flatMap { suspects(in: $0.element, at: path + [.index($0.offset)]) }
        case let number as NSNumber:
            // A whole number within Int64 reads back the same both ways; 1.5 and 1e30 do not (true and false are 1 and 0).
            let double = number.doubleValue
            return double.rounded() == double && abs(double) < 9.2e18 && Double(number.int64Value) == double ? [] : [path]
        default:
            return []
        }
    }

    /// `value` with the number at each of `paths` replaced.
    static func replacing(_ paths: [[Step]], in value: Any, with replacement: Any) -> Any {
        paths.reduce(value) { value, path in replacing(path[...], in: value, with: replacement) }
    }

    private static func replacing(_ path: ArraySlice<Step>, in value: Any, with replacement: Any) -> Any {
        guard let step = path.first else { return replacement }
        switch (step, value) {
        case let (.key(key), object as [String: Any]):
            var object = object
            if let inner = object[key] { object[key] = replacing(path.dropFirst(), in: inner, with: replacement) }
            return object
        case let (.index(index), array as [Any]) where array.indices.contains(index):
            var array = array
            array[index] = replacing(path.dropFirst(), in: array[index], with: replacement)
            return array
        default:
            return value
        }
    }

    /// The path as field errors name fields: `prices[0].amount`.
    static func name(_ path: [Step]) -> String {
        path.enumerated().map { offset, step in
            switch step {
            case let .key(key): offset == 0 ? key : "." + key
            case let .index(index): "[\(index)]"
            }
        }.joined()
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
