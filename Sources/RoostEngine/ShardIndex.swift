import RoostBinary

/// Which shard of an aggregate owns a key: CRC-32C of the key's bytes modulo the shard count.
///
/// Never `hashValue`, which Swift seeds differently in every process: a key must land on the
/// same shard before and after a restart, or replay would apply its events to the wrong state.
public struct ShardIndex: Hashable, Sendable, CustomStringConvertible {
    public let value: Int

    /// The shard for `key` among `count` shards.
    public init(key: some Collection<UInt8>, count: Int) {
        precondition(count > 0 && count <= Int(UInt16.max), "shard count out of range")
        value = Int(CRC32C.checksum(Array(key)) % UInt32(count))
    }

    public init(key: String, count: Int) { self.init(key: Array(key.utf8), count: count) }

    /// A shard number read back from disk; nil when it is out of range.
    public init?(validating value: Int, count: Int) {
        guard value >= 0 && value < count else { return nil }
        self.value = value
    }

    public var description: String { "shard \(value)" }
}
