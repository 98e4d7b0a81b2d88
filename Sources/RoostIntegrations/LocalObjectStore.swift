import Foundation

/// Objects as files under a directory (`data/state/uploads` by default): each written to a
/// temporary name, fsynced and renamed, with its content type in a sidecar file written first.
public struct LocalObjectStore: ObjectStore {
    public let root: URL

    public init(root: String) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true)
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    private func url(_ key: ObjectKey) -> URL { root.appendingPathComponent(key.value) }
    private func typeURL(_ key: ObjectKey) -> URL { root.appendingPathComponent(key.value + ".content-type") }

    public func put(key: ObjectKey, bytes: [UInt8], contentType: String) async throws {
        let target = url(key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Self.writeDurably(Array(contentType.utf8), to: typeURL(key))
        try Self.writeDurably(bytes, to: target)
    }

    public func get(key: ObjectKey) async throws -> StoredObject? {
        guard !Self.isBookkeeping(key), let data = FileManager.default.contents(atPath: url(key).path) else { return nil }
        let type = FileManager.default.contents(atPath: typeURL(key).path).map { String(decoding: $0, as: UTF8.self) }
        return StoredObject(bytes: [UInt8](data), contentType: type ?? "application/octet-stream")
    }

    public func delete(key: ObjectKey) async throws {
        for file in [url(key), typeURL(key)] where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
    }

    /// The store's own files, not objects: a content-type sidecar, or a temporary file mid-write
    /// (hidden, dot-first). They are never read back as objects (they were served as media).
    static func isBookkeeping(_ key: ObjectKey) -> Bool {
        key.value.hasSuffix(".content-type") || key.value.split(separator: "/").last?.first == "."
    }

    /// Always `nil`: local files have no URL of their own, so the API serves the bytes.
    public func directReadURL(for key: ObjectKey, expiresIn seconds: Int, now: Date) -> String? { nil }

    private static func writeDurably(_ bytes: [UInt8], to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
