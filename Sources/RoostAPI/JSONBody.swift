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
        guard Self.isJSON(headers[.contentType]) else { throw Problem.unsupportedMediaType }
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw Problem.payloadTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem.payloadTooLarge(limit: limit)
        }
        guard buffer.readableBytes > 0 else { throw Problem.malformed("The body is empty; send a JSON object.") }
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }

    /// `application/json` or any `application/…+json`, with or without parameters (charset).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}
