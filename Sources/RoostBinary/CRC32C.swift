import CRoostChecksum

/// CRC-32C (Castagnoli). Every checksum Roost writes to disk is one of these.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 starts a new checksum).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return roost_crc32c_extend(crc, base, bytes.count)
    }

    @inlinable
    public static func checksum(_ bytes: some ContiguousBytes, extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, extending: crc) }
    }

    /// The table implementation alone (tests compare it with the hardware path).
    public static func portableChecksum(_ bytes: [UInt8], extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { roost_crc32c_extend_portable(crc, $0.baseAddress, $0.count) }
    }
}

/// `ContiguousBytes` without Foundation: the byte containers Roost checksums.
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
