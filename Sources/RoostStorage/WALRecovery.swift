import Glibc
import Logging

/// Where the log continues after recovery.
public struct WALTail: Sendable, Equatable {
    public var lastLSN: UInt64
    public var lastCRC: UInt32
    /// The last segment and the offset where its valid records end (nil when the log is empty).
    public var segment: String?
    public var endOffset: Int
}

/// Applies the recovery policy of `WALFormat.swift` to a scan: cut torn tails, refuse (or, with
/// `repair`, cut) corruption, and keep everything cut as `.broken` files beside the log.
public enum WALRecovery {
    public static func recover(
        directory: String,
        limits: WALLimits = .default,
        after: UInt64 = 0,
        repair: Bool = false,
        logger: Logger,
        visit: (WALRecord) throws -> Void
    ) throws -> WALTail {
        try FileSystem.createDirectory(directory)
        try removeTemporaryFiles(in: directory)
        let scan = try WALScanner(directory: directory, limits: limits).scan(after: after, visit: visit)
        guard let damage = scan.damage else {
            return WALTail(lastLSN: scan.lastLSN, lastCRC: scan.lastCRC, segment: scan.segments.last, endOffset: scan.endOffset)
        }
        var metadata: Logger.Metadata = [
            "wal.segment": "\(damage.segment)", "wal.offset": "\(damage.offset)",
            "wal.bytes_dropped": "\(damage.bytesDropped)", "wal.reason": "\(damage.reason)",
            "wal.last_good_lsn": "\(scan.lastLSN)",
        ]
        switch damage.kind {
        case .tornTail:
            logger.warning("WAL ends in a torn write; truncating it (the original is kept as .broken)", metadata: metadata)
        case .corruption where repair:
            metadata["wal.later_segments_dropped"] = "\(damage.laterSegments.joined(separator: ","))"
            logger.error("WAL corruption: --repair truncates the log here and drops everything after it", metadata: metadata)
        case .corruption:
            throw StorageError.corruption(segment: directory + "/" + damage.segment, offset: damage.offset, reason: damage.reason)
        }
        try cut(directory: directory, at: damage)
        let keptSegment: String? = damage.offset == 0 ? scan.segments.last(where: { $0 < damage.segment }) : damage.segment
        return WALTail(
            lastLSN: scan.lastLSN, lastCRC: scan.lastCRC, segment: keptSegment,
            endOffset: damage.offset == 0 ? scan.endOffset : damage.offset
        )
    }

    /// Keeps a `.broken` copy of the damaged segment, truncates it at the damage (removes it when the
    /// damage is in its header) and moves every later segment aside.
    static func cut(directory: String, at damage: WALDamage) throws {
        let path = directory + "/" + damage.segment
        try FileSystem.copy(path, to: freeBrokenName(for: path))
        if damage.offset == 0 {
            try FileSystem.remove(path)
        } else {
            let file = try PosixFile(path: path, flags: O_WRONLY)
            try file.truncate(to: damage.offset)
            try file.fullSync()
        }
        for later in damage.laterSegments {
            let laterPath = directory + "/" + later
            try FileSystem.rename(laterPath, to: freeBrokenName(for: laterPath))
        }
        try FileSystem.syncDirectory(directory)
    }

    static func freeBrokenName(for path: String) -> String {
        var candidate = path + ".broken"
        var counter = 1
        while FileSystem.exists(candidate) {
            candidate = path + ".broken.\(counter)"
            counter += 1
        }
        return candidate
    }

    static func removeTemporaryFiles(in directory: String) throws {
        for name in try FileSystem.list(directory) where name.hasSuffix(".tmp") {
            try FileSystem.remove(directory + "/" + name)
        }
    }
}
