import RoostBinary
import RoostStorage

/// Operating conditions of the engine, each with a stable machine `code`.
public enum EngineError: Error, Sendable, CustomStringConvertible {
    /// The journal stopped taking writes (a failed write or fsync) or is shut down.
    case notAcceptingWrites(String)
    /// Too much is waiting for the disk; try again shortly.
    case overloaded
    /// State on disk that this build cannot read: a corrupt or foreign record or snapshot.
    case unreadableState(String)
    /// A snapshot is already being written.
    case snapshotInProgress
    /// The data directory was made with another shard count (`ShardLayout`).
    case shardCountMismatch(directory: Int, configured: Int)
    case storage(StorageError)

    public var code: String {
        switch self {
        case .notAcceptingWrites: "unavailable"
        case .overloaded: "overloaded"
        case .unreadableState: "unreadable_state"
        case .snapshotInProgress: "snapshot_in_progress"
        case .shardCountMismatch: "shard_count_mismatch"
        case let .storage(error): error.code
        }
    }

    public var description: String {
        switch self {
        case let .notAcceptingWrites(reason): "the engine is not accepting writes: \(reason)"
        case .overloaded: "the engine is overloaded; retry shortly"
        case let .unreadableState(reason): "unreadable state on disk: \(reason)"
        case .snapshotInProgress: "a snapshot is already being written"
        case let .shardCountMismatch(directory, configured):
            "this data directory was made with \(directory) shards per aggregate and the engine is configured with \(configured); "
                + "the count is fixed for the life of a data directory (a log replayed into another count would put entities where no lookup finds them)"
        case let .storage(error): error.description
        }
    }

    /// Storage failures as the engine reports them to callers.
    static func from(_ error: StorageError) -> EngineError {
        switch error {
        case .writesDisabled(let reason): .notAcceptingWrites(reason)
        case .overloaded: .overloaded
        default: .storage(error)
        }
    }
}
