import Foundation
import Logging
import RoostStorage

/// The shard count a data directory was made with, kept in `<data>/shards` as `shards=N`.
///
/// A WAL record names its shard by index, and a key's shard is its checksum modulo the count, so the count must
/// never change under a directory. A log written with 4 shards and replayed into 16 would leave each listing in a
/// shard routing never looks in, and the nights of its bookings could be sold again. A snapshot records its count and
/// refuses another, but a directory with only a log had nothing to say: this file says it.
enum ShardLayout {
    static func path(in dataDirectory: String) -> String { dataDirectory + "/shards" }

    /// Where a resolved count came from.
    enum Source: Equatable {
        /// `<data>/shards`.
        case recorded
        /// `options.shardCount`, for a directory without a record.
        case configured
        /// The default, for a new directory.
        case newDirectory
        /// 16, assumed for a directory holding state from before the record and given no count.
        case assumedLegacy
    }

    /// The count to open `options.dataDirectory` with: the one it records (a different `options.shardCount` is
    /// refused); else `options.shardCount` if given; else 16 for a directory holding state from before the record
    /// (16 was the only default then); else, for a new directory, `EngineOptions.defaultShardCount`.
    static func resolve(_ options: EngineOptions) throws -> (count: Int, source: Source) {
        if let recorded = try recorded(in: options.dataDirectory) {
            if let requested = options.shardCount, requested != recorded {
                throw EngineError.shardCountMismatch(directory: recorded, configured: requested)
            }
            return (recorded, .recorded)
        }
        if let requested = options.shardCount { return (requested, .configured) }
        return try holdsState(options) ? (EngineOptions.legacyShardCount, .assumedLegacy) : (EngineOptions.defaultShardCount, .newDirectory)
    }

    /// Records a resolved count unless it is only an assumption: an assumed 16 is recorded once a snapshot, which
    /// carries its own count, has loaded with it. A directory with only a log and no count given stays unrecorded
    /// (with a warning), as every directory was before the record, rather than have a guess made permanent.
    static func recordIfConfirmed(_ count: Int, source: Source, snapshotLoaded: Bool, options: EngineOptions, logger: Logger) throws {
        switch source {
        case .recorded: return
        case .configured, .newDirectory: try record(count, options: options)
        case .assumedLegacy:
            if snapshotLoaded {
                try record(count, options: options)
            } else {
                logger.warning(
                    "this data directory does not record its shard count and has no snapshot: opened with \(count), the default before the record; set ROOST_SHARDS to the count it was made with to record it",
                    metadata: ["engine.shards": "\(count)"])
            }
        }
    }

    /// The count the directory records, nil if it has no record.
    static func recorded(in dataDirectory: String) throws -> Int? {
        let path = path(in: dataDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EngineError.unreadableState("\(path) could not be read")
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("shards="), let count = Int(line.dropFirst("shards=".count)), (1...1024).contains(count) else {
            throw EngineError.unreadableState("\(path) should hold 'shards=N' (N in 1...1024), not \(line.debugDescription)")
        }
        return count
    }

    /// Writes the record if the directory has none yet.
    private static func record(_ count: Int, options: EngineOptions) throws {
        let path = path(in: options.dataDirectory)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        do {
            try DurableFile.replace(path, with: Array("shards=\(count)\n".utf8), io: options.wal.io)
        } catch let error as StorageError {
            throw EngineError.from(error)
        }
    }

    /// Whether the directory has a WAL segment or a snapshot.
    private static func holdsState(_ options: EngineOptions) throws -> Bool {
        do {
            return try !WALScanner(directory: options.walDirectory, limits: options.wal.limits).segmentNames().isEmpty
                || !SnapshotStore(directory: options.snapshotDirectory, io: options.wal.io).list().isEmpty
        } catch let error as StorageError {
            throw EngineError.from(error)
        }
    }
}
