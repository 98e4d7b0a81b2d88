import Glibc
import Logging
import RoostBinary

// # Snapshots, on disk (format version 1)
//
// `snapshots/<lsn>.snapshot`, 20 decimal digits: the full state as of `lsn` (every record at or
// below it is in the snapshot; recovery replays the WAL from `lsn + 1`). A 36-byte header, then
// the body the engine encoded (storage never looks inside it):
//
//     0  magic        8 bytes  "ROOSTSNP"
//     8  version      u32      1
//    12  lsn          u64
//    20  bodyLength   u64
//    28  bodyCRC      u32      CRC-32C of the body
//    32  headerCRC    u32      CRC-32C of bytes 0..<32
//
// A snapshot is written to `<lsn>.snapshot.tmp`, fsynced, renamed into place, and the directory
// fsynced; only then is it a snapshot. A version newer than this build knows is refused.

/// Writes, lists, loads and prunes snapshot files.
public struct SnapshotStore: Sendable {
    public static let magic: [UInt8] = Array("ROOSTSNP".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 36
    /// The largest snapshot a reader will load.
    public static let bodyBytesMax = 16 << 30

    /// Stages of writing a snapshot, for tests that simulate a crash between them.
    public enum Stage: Sendable { case temporaryWritten, temporarySynced, renamed }

    public let directory: String
    let io: StorageIO
    let crashPoint: (@Sendable (Stage) throws -> Void)?

    public init(directory: String, io: StorageIO = .system, crashPoint: (@Sendable (Stage) throws -> Void)? = nil) {
        self.directory = directory
        self.io = io
        self.crashPoint = crashPoint
    }

    public static func fileName(lsn: UInt64) -> String {
        let digits = String(lsn)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snapshot"
    }

    /// Writes the snapshot durably. Returns its path.
    @discardableResult
    public func write(lsn: UInt64, body: [UInt8]) throws -> String {
        try FileSystem.createDirectory(directory)
        var header = ByteWriter(capacity: Self.headerBytes)
        header.writeRaw(Self.magic)
        header.write(Self.version)
        header.write(lsn)
        header.write(UInt64(body.count))
        header.write(CRC32C.checksum(body))
        header.write(CRC32C.checksum(header.bytes))
        let path = directory + "/" + Self.fileName(lsn: lsn)
        let temporaryPath = path + ".tmp"
        do {
            let file = try PosixFile(path: temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC, io: io)
            try file.write(header.bytes, at: 0)
            try file.write(body, at: Self.headerBytes)
            try crashPoint?(.temporaryWritten)
            try file.fullSync()
        }
        try crashPoint?(.temporarySynced)
        try FileSystem.rename(temporaryPath, to: path)
        try crashPoint?(.renamed)
        try FileSystem.syncDirectory(directory, io: io)
        return path
    }

    /// LSNs of the snapshot files present, oldest first.
    public func list() throws -> [UInt64] {
        guard FileSystem.exists(directory) else { return [] }
        return try FileSystem.list(directory).compactMap { name in
            guard name.hasSuffix(".snapshot"), name.count == 29 else { return nil }
            return UInt64(name.dropLast(9))
        }.sorted()
    }

    /// Reads and checks one snapshot; throws if it is damaged or of an unknown version.
    public func load(lsn: UInt64) throws -> [UInt8] {
        let path = directory + "/" + Self.fileName(lsn: lsn)
        let file = try PosixFile(path: path, flags: O_RDONLY)
        let header = try file.read(count: Self.headerBytes, at: 0)
        let bodyLength = try header.withUnsafeBytes { raw in try Self.checkHeader(raw, lsn: lsn, path: path) }
        guard bodyLength <= Self.bodyBytesMax, try file.size() == Self.headerBytes + Int(bodyLength) else {
            throw StorageError.damagedSnapshot(path: path, reason: "the file is not \(Self.headerBytes) + \(bodyLength) bytes long")
        }
        let body = try file.read(count: Int(bodyLength), at: Self.headerBytes)
        guard body.count == Int(bodyLength) else {
            throw StorageError.damagedSnapshot(path: path, reason: "body is \(body.count) bytes, header says \(bodyLength)")
        }
        guard CRC32C.checksum(body) == header.withUnsafeBytes({ $0.loadUnaligned(fromByteOffset: 28, as: UInt32.self).littleEndian }) else {
            throw StorageError.damagedSnapshot(path: path, reason: "body checksum mismatch")
        }
        return body
    }

    /// Checks a header's magic, checksum, version and LSN; returns the body length it declares.
    private static func checkHeader(_ raw: UnsafeRawBufferPointer, lsn: UInt64, path: String) throws -> UInt64 {
        guard raw.count >= headerBytes, raw.prefix(8).elementsEqual(magic) else {
            throw StorageError.damagedSnapshot(path: path, reason: "not a snapshot (bad magic or short header)")
        }
        var reader = ByteReader(raw, offset: 8)
        let version = try reader.readUInt32()
        let storedLSN = try reader.readUInt64()
        let bodyLength = try reader.readUInt64()
        _ = try reader.readUInt32()  // body CRC, checked once the body is read
        let headerCRC = try reader.readUInt32()
        guard headerCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<32])) else {
            throw StorageError.damagedSnapshot(path: path, reason: "header checksum mismatch")
        }
        guard version == Self.version else { throw StorageError.unsupportedVersion(path: path, version: version) }
        guard storedLSN == lsn else {
            throw StorageError.damagedSnapshot(path: path, reason: "header LSN \(storedLSN) does not match the file name")
        }
        return bodyLength
    }

    /// The newest snapshot that loads, falling back to older ones past damaged files (each logged).
    public func loadNewestValid(logger: Logger) throws -> (lsn: UInt64, body: [UInt8])? {
        for lsn in try list().reversed() {
            do {
                return (lsn, try load(lsn: lsn))
            } catch let error as StorageError {
                logger.error(
                    "snapshot unusable, falling back to an older one",
                    metadata: ["snapshot.lsn": "\(lsn)", "snapshot.error": "\(error)"]
                )
            }
        }
        return nil
    }

    /// Deletes all but the newest `keep` snapshots (and stale temporary files). Returns the oldest LSN kept.
    @discardableResult
    public func prune(keep: Int) throws -> UInt64? {
        precondition(keep >= 1, "at least one snapshot must be kept")
        let lsns = try list()
        for lsn in lsns.dropLast(keep) { try FileSystem.remove(directory + "/" + Self.fileName(lsn: lsn)) }
        for name in try FileSystem.list(directory) where name.hasSuffix(".snapshot.tmp") {
            try FileSystem.remove(directory + "/" + name)
        }
        try FileSystem.syncDirectory(directory, io: io)
        return lsns.suffix(keep).first
    }
}
