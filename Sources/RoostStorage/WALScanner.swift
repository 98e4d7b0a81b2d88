import Glibc
import RoostBinary

/// Where a scan found damage, and whether it is a torn tail (safe to cut) or corruption (not).
public struct WALDamage: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// An incomplete or bad record at the very end of the last segment, nothing valid after it.
        case tornTail
        /// Damage with valid records after it, or in a segment that is not the last.
        case corruption
    }

    public var kind: Kind
    public var segment: String
    public var offset: Int
    public var reason: String
    /// Non-zero bytes from `offset` to the end of the segment (what a truncation throws away).
    public var bytesDropped: Int
    /// Segments after the damaged one (what a repair moves aside).
    public var laterSegments: [String]

    public var description: String {
        "\(kind == .tornTail ? "torn tail" : "corruption") in \(segment) at offset \(offset): \(reason) "
            + "(\(bytesDropped) bytes after it\(laterSegments.isEmpty ? "" : ", \(laterSegments.count) later segments"))"
    }
}

/// What a scan learned: where the log ends and what it found wrong.
public struct WALScanResult: Sendable {
    /// The last valid record's LSN and CRC (the chain continues from them), 0 if none.
    public var lastLSN: UInt64 = 0
    public var lastCRC: UInt32 = 0
    /// Segment names in order, and the byte offset just past the last valid record of the last one.
    public var segments: [String] = []
    public var endOffset: Int = 0
    public var recordsVisited: Int = 0
    public var damage: WALDamage?
}

/// Reads a WAL directory front to back, checking every frame, the LSN sequence and the CRC chain.
public struct WALScanner {
    public let directory: String
    public let limits: WALLimits

    public init(directory: String, limits: WALLimits = .default) {
        self.directory = directory
        self.limits = limits
    }

    public func segmentNames() throws -> [String] {
        guard FileSystem.exists(directory) else { return [] }
        return try FileSystem.list(directory).filter { WALFormat.firstLSN(ofSegmentNamed: $0) != nil }
    }

    /// Calls `visit` for every valid record with an LSN above `after`, in order, until the end or the
    /// first damage. Segments wholly at or below `after` are not read.
    public func scan(
        after: UInt64 = 0,
        visit: (WALRecord) throws -> Void
    ) throws -> WALScanResult {
        var result = WALScanResult()
        let names = try segmentNames()
        result.segments = names
        let firstLSNs = names.map { WALFormat.firstLSN(ofSegmentNamed: $0)! }
        var chainKnown = false
        for (index, name) in names.enumerated() {
            let isLast = index == names.count - 1
            if !isLast && firstLSNs[index + 1] <= after + 1 { continue }  // wholly covered by the snapshot
            let file = try PosixFile(path: directory + "/" + name, flags: O_RDONLY)
            let bytes = try file.readAll(limit: WALLimits.segmentBytesCeiling)
            let later = Array(names[(index + 1)...])
            let damage = try bytes.withUnsafeBytes { buffer in
                try scanSegment(
                    name: name, buffer: buffer, isLast: isLast, later: later, after: after,
                    chainKnown: chainKnown, result: &result, visit: visit
                )
            }
            if let damage {
                result.damage = damage
                return result
            }
            chainKnown = true
        }
        return result
    }

    private func scanSegment(
        name: String, buffer: UnsafeRawBufferPointer, isLast: Bool, later: [String], after: UInt64,
        chainKnown: Bool, result: inout WALScanResult, visit: (WALRecord) throws -> Void
    ) throws -> WALDamage? {
        func damage(at offset: Int, _ reason: String, torn: Bool) -> WALDamage {
            let dropped = UnsafeRawBufferPointer(rebasing: buffer[min(offset, buffer.count)...]).count { $0 != 0 }
            return WALDamage(
                kind: torn ? .tornTail : .corruption, segment: name, offset: offset, reason: reason,
                bytesDropped: dropped, laterSegments: later
            )
        }
        let header: SegmentHeader
        switch SegmentHeader.decode(buffer) {
        case let .success(decoded): header = decoded
        case let .failure(failure):
            // Segments are created under a temporary name and renamed, so a bad header is never a torn write,
            // except for an empty or all-zero last segment, which holds no record anyone was told about.
            let empty = buffer.allSatisfy { $0 == 0 }
            return damage(at: 0, "segment header: \(failure)", torn: isLast && empty)
        }
        guard header.firstLSN == WALFormat.firstLSN(ofSegmentNamed: name) else {
            return damage(at: 0, "header says first LSN \(header.firstLSN), the file name disagrees", torn: false)
        }
        if chainKnown && header.firstLSN != result.lastLSN + 1 {
            // A gap is corruption unless a snapshot covers every missing record: the log then
            // restarted above it on purpose (after a repair that cut below the snapshot).
            guard header.firstLSN > result.lastLSN + 1, header.firstLSN <= after + 1 else {
                return damage(at: 0, "expected first LSN \(result.lastLSN + 1), found \(header.firstLSN)", torn: false)
            }
        } else if chainKnown {
            guard header.chainSeed == result.lastCRC else {
                return damage(at: 0, "chain seed does not match the previous segment's last record", torn: false)
            }
        }
        var expectedLSN = header.firstLSN
        var prevCRC = header.chainSeed
        var offset = WALFormat.segmentHeaderBytes
        while true {
            switch Frame.decode(buffer, at: offset, recordBytesMax: limits.recordBytesMax) {
            case let .record(record, next):
                guard record.lsn == expectedLSN else {
                    return classify(damage(at: offset, "expected LSN \(expectedLSN), found \(record.lsn)", torn: false), buffer, isLast, expectedLSN - 1)
                }
                guard record.prevCRC == prevCRC else {
                    return classify(damage(at: offset, "chain broken: record names a different predecessor", torn: false), buffer, isLast, expectedLSN - 1)
                }
                if record.lsn > after {
                    try visit(record)
                    result.recordsVisited += 1
                }
                result.lastLSN = record.lsn
                result.lastCRC = record.crc
                result.endOffset = next
                expectedLSN += 1
                prevCRC = record.crc
                offset = next
            case .end:
                if !isLast || offset == buffer.count || buffer.count == limits.segmentBytes {
                    // Zeroed space: the rest of a preallocated (or closed) segment, unless records hide in it.
                    if findRecord(in: buffer, from: offset, after: expectedLSN - 1) != nil {
                        return damage(at: offset, "zeroed bytes with valid records after them", torn: false)
                    }
                    if expectedLSN == header.firstLSN && isLast == false {
                        return damage(at: offset, "segment holds no records but is not the last", torn: false)
                    }
                    result.lastLSN = expectedLSN - 1
                    result.lastCRC = prevCRC
                    result.endOffset = offset
                    return nil
                }
                // A last segment that was not preallocated ends in zeros: the tail was lost.
                return damage(at: offset, "zeroed tail", torn: true)
            case let .damaged(reason):
                return classify(damage(at: offset, reason, torn: false), buffer, isLast, expectedLSN - 1)
            }
        }
    }

    /// Damage in the last segment with nothing valid after it is a torn tail; anything else is corruption.
    private func classify(_ found: WALDamage, _ buffer: UnsafeRawBufferPointer, _ isLast: Bool, _ lastGood: UInt64) -> WALDamage {
        var found = found
        let validAfter = findRecord(in: buffer, from: found.offset + 1, after: lastGood)
        found.kind = isLast && validAfter == nil ? .tornTail : .corruption
        if let validAfter { found.reason += "; a valid record follows at offset \(validAfter)" }
        return found
    }

    /// The offset of the first frame at or after `start` that checks out on its own and carries a later LSN.
    func findRecord(in buffer: UnsafeRawBufferPointer, from start: Int, after lastLSN: UInt64) -> Int? {
        let headerBytes = WALFormat.frameHeaderBytes
        var offset = start
        while offset + headerBytes <= buffer.count {
            defer { offset += 1 }
            guard buffer[offset + 8] != WALFormat.zeroType else { continue }
            let lsn = buffer.loadUnaligned(fromByteOffset: offset + 9, as: UInt64.self).littleEndian
            guard lsn > lastLSN, lsn - lastLSN <= UInt64(UInt32.max) else { continue }
            if case .record = Frame.decode(buffer, at: offset, recordBytesMax: limits.recordBytesMax) { return offset }
        }
        return nil
    }
}
