import Foundation
import RoostStorage

/// The shard count a data directory was made with, kept in `<data>/shards` as `shards=N`.
///
/// A WAL record names its shard by index, and a key's shard is its checksum modulo the count, so the count must
/// never change under a directory. A log written with 4 shards and replayed into 16 would leave each listing in a
/// shard routing never looks in, and the nights of its bookings could be sold again. A snapshot records its count and
/// refuses another, but a directory with only a log had nothing to say: this file says it.
enum ShardLayout {
    static func path(in dataDirectory: String) -> String { dataDirectory + "/shards" }

    /// Throws if the directory records a different count. A directory without the file passes (it is new, or older
    /// than the file; a snapshot, if there is one, still checks its own count).
    static func verify(_ options: EngineOptions) throws {
        let path = path(in: options.dataDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EngineError.unreadableState("\(path) could not be read")
        }
        let recorded = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard recorded.hasPrefix("shards="), let count = Int(recorded.dropFirst("shards=".count)), count >= 1 else {
            throw EngineError.unreadableState("\(path) should hold 'shards=N', not \(recorded.debugDescription)")
        }
        guard count == options.shardCount else {
            throw EngineError.shardCountMismatch(directory: count, configured: options.shardCount)
        }
    }

    /// Writes the file if the directory has none yet. Called once the directory's state has loaded with this count.
    static func record(_ options: EngineOptions) throws {
        let path = path(in: options.dataDirectory)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        do {
            try DurableFile.replace(path, with: Array("shards=\(options.shardCount)\n".utf8), io: options.wal.io)
        } catch let error as StorageError {
            throw EngineError.from(error)
        }
    }
}
