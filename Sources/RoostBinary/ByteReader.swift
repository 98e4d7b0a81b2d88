/// Why a byte sequence could not be decoded. Decoding never traps on bad input.
public enum DecodeError: Error, Equatable, Sendable {
    /// Fewer bytes remain than the value needs.
    case truncated(needed: Int, remaining: Int)
    /// A value that cannot be right: an overlong varint, a length past the end, bad UTF-8, an unknown tag.
    case invalid(String)
}

/// Reads what `ByteWriter` wrote, checking every length against the bytes left before using it.
public struct ByteReader: ~Copyable {
    @usableFromInline let buffer: UnsafeRawBufferPointer
    public var offset: Int

    /// The buffer must outlive the reader (use it inside `withUnsafeBytes`).
    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset == buffer.count }

    @inline(__always)
    mutating func require(_ count: Int) throws(DecodeError) {
        guard count <= remaining else { throw .truncated(needed: count, remaining: remaining) }
    }

    @inlinable
    public mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws(DecodeError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= buffer.count - offset else {
            throw .truncated(needed: size, remaining: buffer.count - offset)
        }
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    public mutating func readUInt8() throws(DecodeError) -> UInt8 { try readLittleEndian() }
    public mutating func readUInt16() throws(DecodeError) -> UInt16 { try readLittleEndian() }
    public mutating func readUInt32() throws(DecodeError) -> UInt32 { try readLittleEndian() }
    public mutating func readUInt64() throws(DecodeError) -> UInt64 { try readLittleEndian() }
    public mutating func readInt64() throws(DecodeError) -> Int64 { Int64(bitPattern: try readLittleEndian(UInt64.self)) }

    public mutating func readBool() throws(DecodeError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw .invalid("boolean byte \(other)")
        }
    }

    public mutating func readVarint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            guard shift < 64, shift < 63 || byte <= 1 else { throw .invalid("varint longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A varint that must fit in `0...limit`: lengths and counts are checked before anything is allocated.
    public mutating func readCount(limit: Int) throws(DecodeError) -> Int {
        let value = try readVarint()
        guard value <= UInt64(limit) else { throw .invalid("count \(value) exceeds limit \(limit)") }
        return Int(value)
    }

    /// A slice of the next `count` bytes, without copying.
    public mutating func readRaw(count: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        try require(count)
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return slice
    }

    public mutating func readBytes() throws(DecodeError) -> [UInt8] {
        let count = try readCount(limit: remaining)
        return Array(try readRaw(count: count))
    }

    public mutating func readString() throws(DecodeError) -> String {
        let count = try readCount(limit: remaining)
        let raw = try readRaw(count: count)
        guard let string = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw .invalid("string is not UTF-8")
        }
        return string
    }

    public mutating func skip(_ count: Int) throws(DecodeError) {
        try require(count)
        offset += count
    }
}
