import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RoostIntegrations

/// The image formats Roost accepts, recognised by their first bytes — never by the header alone.
enum ImageKind: String, CaseIterable {
    case jpeg, png, webp

    var contentType: String { "image/\(rawValue)" }
    var fileExtension: String { self == .jpeg ? "jpg" : rawValue }

    init?(magic bytes: some Collection<UInt8>) {
        let head = Array(bytes.prefix(12))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if head.count == 12, head[0..<4].elementsEqual("RIFF".utf8), head[8..<12].elementsEqual("WEBP".utf8) {
            self = .webp
        } else {
            return nil
        }
    }

    init?(contentType: String?) {
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        guard let kind = Self.allCases.first(where: { $0.contentType == media || (media == "image/jpg" && $0 == .jpeg) }) else { return nil }
        self = kind
    }
}

/// Reads an uploaded image: 415 unless the declared type is JPEG, PNG or WebP, 413 past `limit`
/// (from `Content-Length`, or as soon as the stream passes it — never buffered whole), 422 when
/// the bytes are empty or are not the declared format.
func readImageUpload(_ request: Request, limit: Int) async throws -> (bytes: [UInt8], kind: ImageKind) {
    guard let declared = ImageKind(contentType: request.headers[.contentType]) else {
        throw Problem(.unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type", detail: "Send image/jpeg, image/png or image/webp.")
    }
    let buffer = try await request.collectBody(limit: limit)
    let bytes = Array(buffer.readableBytesView)
    guard !bytes.isEmpty else { throw Problem.validation([.init(field: "body", message: "is empty")]) }
    guard let actual = ImageKind(magic: bytes) else {
        throw Problem.validation([.init(field: "body", message: "is not a JPEG, PNG or WebP image")])
    }
    guard actual == declared else {
        throw Problem.validation([.init(field: "body", message: "is \(actual.contentType), not the declared \(declared.contentType)")])
    }
    return (bytes, actual)
}

/// Where uploaded objects are stored, and the URL a client reads each from.
public struct MediaLibrary: Sendable {
    public let store: any ObjectStore

    public init(store: any ObjectStore) { self.store = store }

    static let routePrefix = "/v1/media/"
    /// How long a direct (presigned) URL in a response stays valid.
    static let directURLSeconds = 3600

    /// The store's direct URL for `key` (a presigned S3 GET), else Roost's own `/v1/media/…`.
    func url(for key: String?) -> String? {
        guard let key, let objectKey = ObjectKey(key) else { return nil }
        return store.directReadURL(for: objectKey, expiresIn: Self.directURLSeconds, now: Date()) ?? Self.routePrefix + key
    }

    /// `GET /v1/media/{key…}`: the stored bytes with their type; keys are random, so they are cacheable forever.
    func register(on router: Router<RoostRequestContext>) {
        router.get("v1/media/**") { _, context -> Response in
            guard let key = ObjectKey(context.parameters.getCatchAll().joined(separator: "/")),
                let object = try await store.get(key: key)
            else { throw Problem.notFound("No such media object.") }
            return Response(
                status: .ok,
                headers: [
                    .contentType: object.contentType, .cacheControl: "public, max-age=31536000, immutable",
                    HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: object.bytes))
            )
        }
    }
}
