import Logging
import RoostEngine
import RoostStorage

/// Everything Roost reads from its environment, read once at start-up. Nothing else reads the
/// environment. Flags on the command line override the variables.
public struct RoostConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "data/state"
    public var logLevel: Logger.Level = .info
    /// `json` (default: one JSON object per line) or `text`.
    public var logFormat = "json"
    public var fsync: FsyncMode = .always
    public var walSegmentBytes = WALLimits.default.segmentBytes
    public var walPreallocate = false
    public var shardCount = 16
    public var snapshotsKept = 3
    /// Seconds between automatic snapshots (taken only when something changed); 0 turns them off.
    public var snapshotIntervalSeconds = 300
    /// JSON request bodies larger than this are refused with 413 before they are read whole.
    public var jsonBodyBytesMax = 1 << 20

    public init() {}

    /// Problems with the environment, each naming the variable: Roost refuses to start on any.
    public struct Invalid: Error, CustomStringConvertible {
        public var variable: String
        public var value: String
        public var expected: String
        public var description: String { "\(variable)=\(value) is not valid: expected \(expected)" }
    }

    /// Reads the `ROOST_*` variables of `environment`; unset ones keep their defaults.
    public init(environment: [String: String]) throws {
        func read<T>(_ name: String, _ expected: String, _ parse: (String) -> T?) throws -> T? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = parse(text) else { throw Invalid(variable: name, value: text, expected: expected) }
            return value
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
            try read(name, "an integer in \(range.lowerBound)...\(range.upperBound)") { Int($0).flatMap { range.contains($0) ? $0 : nil } }
        }
        host = try read("ROOST_HOST", "a host name or address") { $0 } ?? host
        port = try integer("ROOST_PORT", in: 0...65535) ?? port
        dataDirectory = try read("ROOST_DATA_DIR", "a directory") { $0 } ?? dataDirectory
        logLevel = try read("ROOST_LOG_LEVEL", "trace|debug|info|notice|warning|error|critical") { Logger.Level(rawValue: $0) } ?? logLevel
        logFormat = try read("ROOST_LOG_FORMAT", "json|text") { ["json", "text"].contains($0) ? $0 : nil } ?? logFormat
        fsync = try read("ROOST_FSYNC", "always|off") { FsyncMode(rawValue: $0) } ?? fsync
        walSegmentBytes = try integer("ROOST_WAL_SEGMENT_BYTES", in: (1 << 20)...WALLimits.segmentBytesCeiling) ?? walSegmentBytes
        walPreallocate = try read("ROOST_WAL_PREALLOCATE", "true|false") { Bool($0) } ?? walPreallocate
        shardCount = try integer("ROOST_SHARDS", in: 1...1024) ?? shardCount
        snapshotsKept = try integer("ROOST_SNAPSHOTS_KEPT", in: 1...1000) ?? snapshotsKept
        snapshotIntervalSeconds = try integer("ROOST_SNAPSHOT_INTERVAL_SECONDS", in: 0...86_400 * 7) ?? snapshotIntervalSeconds
    }

    /// The engine's options for this configuration.
    public func engineOptions(repair: Bool = false) -> EngineOptions {
        var limits = WALLimits.default
        limits.segmentBytes = walSegmentBytes
        return EngineOptions(
            dataDirectory: dataDirectory, shardCount: shardCount,
            wal: WALOptions(limits: limits, fsync: fsync, preallocate: walPreallocate),
            snapshotsKept: snapshotsKept, repair: repair
        )
    }
}
