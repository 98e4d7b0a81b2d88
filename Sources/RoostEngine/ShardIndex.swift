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
        let checksum = key.withContiguousStorageIfAvailable { CRC32C.checksum(UnsafeRawBufferPointer($0)) } ?? CRC32C.checksum(Array(key))
        value = Int(checksum % UInt32(count))
    }

    /// Read from the string's own bytes: every request routes at least one id.
    public init(key: String, count: Int) {
        var key = key
        self = key.withUTF8 { ShardIndex(key: $0, count: count) }
    }

    /// A shard number read back from disk; nil when it is out of range.
    public init?(validating value: Int, count: Int) {
        guard value >= 0 && value < count else { return nil }
        self.value = value
    }

    public var description: String { "shard \(value)" }
}
