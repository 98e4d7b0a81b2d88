import Foundation
import Testing

@testable import RoostIntegrations

@Suite struct LocalObjectStoreTests {
    @Test func putGetReplaceDelete() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("roost-objects-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try LocalObjectStore(root: root)
        let key = try #require(ObjectKey("users/u1/photo.jpg"))
        try await store.put(key: key, bytes: [0xFF, 0xD8, 0xFF], contentType: "image/jpeg")
        #expect(try await store.get(key: key) == StoredObject(bytes: [0xFF, 0xD8, 0xFF], contentType: "image/jpeg"))
        try await store.put(key: key, bytes: [0x89, 0x50], contentType: "image/png")
        #expect(try await store.get(key: key) == StoredObject(bytes: [0x89, 0x50], contentType: "image/png"))
        // The store's own files are not objects: the content-type sidecar (it was served at /v1/media/…) and temporaries.
        #expect(try await store.get(key: try #require(ObjectKey("users/u1/photo.jpg.content-type"))) == nil)
        FileManager.default.createFile(atPath: root + "/users/u1/.photo.jpg.tmp", contents: Data([1]))
        #expect(try await store.get(key: try #require(ObjectKey("users/u1/.photo.jpg.tmp"))) == nil)
        try FileManager.default.removeItem(atPath: root + "/users/u1/.photo.jpg.tmp")
        try await store.delete(key: key)
        #expect(try await store.get(key: key) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/users/u1").isEmpty, "no temporaries left behind")
    }

    @Test(arguments: ["", "../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", "spaces here", String(repeating: "a", count: 513)])
    func keysThatCouldEscapeTheStoreAreRejected(key: String) {
        #expect(ObjectKey(key) == nil)
    }
}
