import RoostBinary

// # The write-ahead log, on disk (format version 1)
//
// The log is a directory of segment files named by the LSN of their first record,
// `00000000000000000001.wal`, 20 decimal digits so names sort in log order. Every LSN is one
// more than the one before it, across segments, from 1 on; a gap is corruption.
//
// A segment starts with a 40-byte header (all integers little-endian):
//
//     0  magic         8 bytes  "ROOSTWAL"
//     8  version       u32      1
//    12  epoch         u64      the leader epoch that wrote the segment (1 on a single node)
//    20  firstLSN      u64      the LSN of the first record in the segment
//    28  chainSeed     u32      the CRC of the record before firstLSN (0 before the very first record)
//    32  reserved      u32      0
//    36  headerCRC     u32      CRC-32C of bytes 0..<36
//
// Records follow back to back, each a 21-byte frame header and its payload:
//
//     0  length        u32      payload bytes, at most `WALLimits.recordBytesMax`
//     4  crc           u32      CRC-32C of the frame with this field left out (bytes 0..<4, 8..<21, payload)
//     8  type          u8       1...255; 0 is reserved: a zero byte here means preallocated, never-written space
//     9  lsn           u64
//    17  prevCRC       u32      the `crc` of the record before this one (the segment's chainSeed for its first)
//    21  payload       `length` bytes
//
// `prevCRC` chains the checksums: a record copied from another log, or from another place in this
// one, fails to match its neighbour even when its own checksum is right, and each record can still
// be checked on its own (which is how recovery tells a torn tail from damage with valid records after it).
//
// Reading a frame has three outcomes, like any decoder: a record, the end of the written data
// (zeroed space or end of file), or damage. Recovery's policy for damage is:
//
//     where                        valid records after it?   what happens
//     last segment                 no                        torn tail: keep a .broken copy, truncate, log, start
//     last segment                 yes                       corruption: refuse to start (unless --repair)
//     any earlier segment          either                    corruption: refuse to start (unless --repair)
//     a segment header             last segment, shorter than a header or all zero: torn creation, removed
//
// Segments are written only by appending; a segment is closed (and the next one created, its file
// and directory fsynced) only between group-commit batches, after the batch before is durable, so
// damage in any segment but the last cannot come from a crash.

/// Named bounds for the log. Their relations are checked when a log is opened.
public struct WALLimits: Sendable, Equatable {
    /// A segment is closed once the next record would take it past this size.
    public var segmentBytes: Int
    /// The largest payload a record may carry.
    public var recordBytesMax: Int
    /// Bytes accepted but not yet written; beyond this appends fail with `.overloaded`.
    public var pendingBytesMax: Int

    public static let `default` = WALLimits(segmentBytes: 64 << 20, recordBytesMax: 4 << 20, pendingBytesMax: 256 << 20)

    public init(segmentBytes: Int, recordBytesMax: Int, pendingBytesMax: Int) {
        self.segmentBytes = segmentBytes
        self.recordBytesMax = recordBytesMax
        self.pendingBytesMax = pendingBytesMax
    }

    /// A segment never grows past this, whatever the configuration: the bound on what a reader loads.
    public static let segmentBytesCeiling = 1 << 30
    /// The smallest segment a configuration may ask for: a record of the default `recordBytesMax`
    /// (4 MiB) must fit in an empty segment, with room to spare.
    public static let segmentBytesFloor = 8 << 20

    func validate() {
        precondition(recordBytesMax > 0 && segmentBytes <= Self.segmentBytesCeiling, "WAL limits out of range")
        precondition(
            WALFormat.segmentHeaderBytes + WALFormat.frameHeaderBytes + recordBytesMax <= segmentBytes,
            "a record of recordBytesMax must fit in an empty segment"
        )
        precondition(pendingBytesMax >= recordBytesMax + WALFormat.frameHeaderBytes, "a record must fit in the queue")
    }
}

enum WALFormat {
    static let magic: [UInt8] = Array("ROOSTWAL".utf8)
    static let version: UInt32 = 1
    static let segmentHeaderBytes = 40
    static let frameHeaderBytes = 21
    static let zeroType: UInt8 = 0

    static func segmentName(firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".wal"
    }

    /// The first LSN encoded in a segment's file name, or nil if the name is not a segment's.
    static func firstLSN(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasSuffix(".wal"), name.count == 24 else { return nil }
        return UInt64(name.dropLast(4))
    }
}

/// A segment's header.
struct SegmentHeader: Equatable {
    var epoch: UInt64
    var firstLSN: UInt64
    var chainSeed: UInt32

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: WALFormat.segmentHeaderBytes)
        writer.writeRaw(WALFormat.magic)
        writer.write(WALFormat.version)
        writer.write(epoch)
        writer.write(firstLSN)
        writer.write(chainSeed)
        writer.write(UInt32(0))
        writer.write(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    enum DecodeFailure: Error, Equatable {
        case short
        case zeroed
        case badMagic
        case badChecksum
        case unsupportedVersion(UInt32)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<SegmentHeader, DecodeFailure> {
        let size = WALFormat.segmentHeaderBytes
        guard bytes.count >= size else { return .failure(.short) }
        let header = UnsafeRawBufferPointer(rebasing: bytes[0..<size])
        if header.allSatisfy({ $0 == 0 }) { return .failure(.zeroed) }
        guard header.prefix(8).elementsEqual(WALFormat.magic) else { return .failure(.badMagic) }
        var reader = ByteReader(header, offset: 8)
        do {
            let version = try reader.readUInt32()
            let epoch = try reader.readUInt64()
            let firstLSN = try reader.readUInt64()
            let chainSeed = try reader.readUInt32()
            _ = try reader.readUInt32()
            let storedCRC = try reader.readUInt32()
            guard storedCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[0..<36])) else {
                return .failure(.badChecksum)
            }
            guard version == WALFormat.version else { return .failure(.unsupportedVersion(version)) }
            return .success(SegmentHeader(epoch: epoch, firstLSN: firstLSN, chainSeed: chainSeed))
        } catch {
            return .failure(.short)
        }
    }
}

/// One record as read back from the log. `payload` points into the reader's buffer.
public struct WALRecord {
    public let lsn: UInt64
    public let type: UInt8
    public let crc: UInt32
    /// The `crc` of the record before this one, as this record names it.
    public let prevCRC: UInt32
    public let payload: UnsafeRawBufferPointer
}

enum Frame {
    /// Appends the frame for one record to `writer`; returns its CRC (the next record's `prevCRC`).
    static func encode(
        type: UInt8, lsn: UInt64, prevCRC: UInt32, payload: UnsafeRawBufferPointer, into writer: inout ByteWriter
    ) -> UInt32 {
        precondition(type != WALFormat.zeroType, "record type 0 is reserved for zeroed space")
        let start = writer.count
        writer.write(UInt32(payload.count))
        writer.write(UInt32(0))  // crc, patched below
        writer.write(type)
        writer.write(lsn)
        writer.write(prevCRC)
        writer.writeRaw(payload)
        let crc = writer.bytes.withUnsafeBytes { raw in
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + 4)]))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 8)...]), extending: lengthCRC)
        }
        writer.patch(crc, at: start + 4)
        return crc
    }

    enum Outcome {
        case record(WALRecord, next: Int)
        /// Zeroed space or the end of the buffer at exactly a frame boundary.
        case end
        /// A frame that cannot be right; `reason` says why.
        case damaged(reason: String)
    }

    /// Reads the frame at `offset`. Lengths are checked against the bytes left before anything is read.
    static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int, recordBytesMax: Int) -> Outcome {
        let left = buffer.count - offset
        if left == 0 { return .end }
        let headerBytes = WALFormat.frameHeaderBytes
        if left < headerBytes {
            let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
            return rest.allSatisfy { $0 == 0 } ? .end : .damaged(reason: "truncated frame header (\(left) bytes)")
        }
        let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let storedCRC = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
        let type = buffer[offset + 8]
        if type == WALFormat.zeroType {
            let header = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + headerBytes)])
            return header.allSatisfy { $0 == 0 } ? .end : .damaged(reason: "record type 0 with a non-zero header")
        }
        guard length <= recordBytesMax else { return .damaged(reason: "length \(length) exceeds the record limit") }
        guard length <= left - headerBytes else {
            return .damaged(reason: "length \(length) runs past the end of the segment (\(left - headerBytes) bytes left)")
        }
        let end = offset + headerBytes + length
        let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + 4)]))
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[(offset + 8)..<end]), extending: lengthCRC)
        guard crc == storedCRC else { return .damaged(reason: "checksum mismatch") }
        let lsn = buffer.loadUnaligned(fromByteOffset: offset + 9, as: UInt64.self).littleEndian
        let prevCRC = buffer.loadUnaligned(fromByteOffset: offset + 17, as: UInt32.self).littleEndian
        let record = WALRecord(
            lsn: lsn, type: type, crc: crc, prevCRC: prevCRC,
            payload: UnsafeRawBufferPointer(rebasing: buffer[(offset + headerBytes)..<end])
        )
        return .record(record, next: end)
    }
}
