/// Appends little-endian fixed-width integers, LEB128 varints and length-prefixed byte strings.
///
/// The one encoder behind every on-disk format (WAL frames, snapshots, event payloads).
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inlinable public mutating func write(_ value: UInt8) { appendLittleEndian(value) }
    @inlinable public mutating func write(_ value: UInt16) { appendLittleEndian(value) }
    @inlinable public mutating func write(_ value: UInt32) { appendLittleEndian(value) }
    @inlinable public mutating func write(_ value: UInt64) { appendLittleEndian(value) }
    @inlinable public mutating func write(_ value: Int64) { appendLittleEndian(UInt64(bitPattern: value)) }
    @inlinable public mutating func write(_ value: Bool) { appendLittleEndian(UInt8(value ? 1 : 0)) }

    @inlinable
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128: small numbers (counts, lengths) take one byte.
    public mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func writeVarint(_ value: Int) {
        precondition(value >= 0, "varints encode non-negative numbers")
        writeVarint(UInt64(value))
    }

    /// A varint length, then the bytes.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeVarint(value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeVarint(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Raw bytes with no length prefix (the caller knows the size).
    public mutating func writeRaw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    /// Overwrites a little-endian value already written at `offset` (for lengths known only later).
    public mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }

    public mutating func removeAll(keepingCapacity: Bool = true) { bytes.removeAll(keepingCapacity: keepingCapacity) }
}
