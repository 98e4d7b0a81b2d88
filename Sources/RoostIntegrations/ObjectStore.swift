import Foundation

/// Where uploaded bytes (profile and listing photos) live. Local disk by default; S3-compatible
/// storage (`S3ObjectStore`) is the other implementation.
public protocol ObjectStore: Sendable {
    /// Stores `bytes` under `key`, replacing what was there, durably.
    func put(key: ObjectKey, bytes: [UInt8], contentType: String) async throws
    func get(key: ObjectKey) async throws -> StoredObject?
    func delete(key: ObjectKey) async throws
    /// A URL clients can read `key` from directly for about `seconds` after `now` (an S3
    /// presigned GET), or `nil` when the store has none and the API serves the bytes itself.
    func directReadURL(for key: ObjectKey, expiresIn seconds: Int, now: Date) -> String?
}

public struct StoredObject: Sendable, Equatable {
    public var bytes: [UInt8]
    public var contentType: String
    public init(bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }
}

/// A validated object key: 1–512 bytes of `[A-Za-z0-9._-]` segments joined by `/`, no `.` or `..`
/// segment, so a key can never name a path outside the store.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let bytesMax = 512

    public init?(_ value: String) {
        guard !value.isEmpty, value.utf8.count <= Self.bytesMax else { return nil }
        let segments = value.split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            guard !segment.isEmpty, segment != ".", segment != "..",
                segment.utf8.allSatisfy({ byte in
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                        || byte == 0x2E || byte == 0x5F || byte == 0x2D
                })
            else { return nil }
        }
        self.value = value
    }

    public var description: String { value }
}
