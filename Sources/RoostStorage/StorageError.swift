import Glibc

/// Everything that can go wrong below the engine, with a stable machine `code`.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed. `operation` names it (`fdatasync`, `pwrite`, …), `path` the file.
    case io(operation: String, path: String, errno: Int32)
    /// Another process owns the data directory.
    case locked(path: String, ownerPID: String)
    /// A record's payload is larger than `WALLimits.recordBytesMax`.
    case recordTooLarge(bytes: Int, limit: Int)
    /// More bytes are waiting for the disk than `WALLimits.pendingBytesMax`: the caller should shed load.
    case overloaded(pendingBytes: Int)
    /// An earlier write or fsync failed, or the log was closed: no more writes until a restart recovers.
    case writesDisabled(reason: String)
    /// Damage that is not a torn tail: valid records follow it. Start-up stops unless `--repair` is given.
    case corruption(segment: String, offset: Int, reason: String)
    /// A snapshot file that fails its checks (the store falls back to an older one).
    case damagedSnapshot(path: String, reason: String)
    /// A file is of a format version this build does not know.
    case unsupportedVersion(path: String, version: UInt32)
    /// No snapshot or WAL position matches what was asked for.
    case notFound(String)

    public var code: String {
        switch self {
        case .io: "io_error"
        case .locked: "data_dir_locked"
        case .recordTooLarge: "record_too_large"
        case .overloaded: "overloaded"
        case .writesDisabled: "writes_disabled"
        case .corruption: "corruption"
        case .damagedSnapshot: "damaged_snapshot"
        case .unsupportedVersion: "unsupported_version"
        case .notFound: "not_found"
        }
    }

    public var description: String {
        switch self {
        case let .io(operation, path, errno):
            "\(operation) failed on \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case let .locked(path, pid):
            "data directory \(path) is in use by another process (pid \(pid)); stop it or pick another --data-dir"
        case let .recordTooLarge(bytes, limit):
            "record of \(bytes) bytes exceeds the \(limit)-byte limit"
        case let .overloaded(pending):
            "\(pending) bytes are already waiting for the disk"
        case let .writesDisabled(reason):
            "writes are disabled until a restart recovers from disk: \(reason)"
        case let .corruption(segment, offset, reason):
            "WAL corruption in \(segment) at offset \(offset): \(reason). Valid records follow the damage, so this "
                + "is not a torn write. Restore from a snapshot or backup, or start once with `roost serve --repair` to truncate "
                + "the log at this point (the damaged files are kept as .broken)"
        case let .damagedSnapshot(path, reason):
            "snapshot \(path) is damaged: \(reason)"
        case let .unsupportedVersion(path, version):
            "\(path) has format version \(version), newer than this build understands"
        case let .notFound(what):
            what
        }
    }
}

