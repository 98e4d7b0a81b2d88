import Glibc
import Logging
import RoostBinary

/// The writer thread's view of the segment it appends to. Only that thread touches it.
final class SegmentCursor: @unchecked Sendable {
    private let directory: String
    private let options: WALOptions
    private let logger: Logger
    private var file: PosixFile?
    private var offset = 0
    private var unsynced = false

    init(directory: String, options: WALOptions, logger: Logger) {
        self.directory = directory
        self.options = options
        self.logger = logger
    }

    /// Continues an existing segment at `offset` (recovery has already cut anything after it).
    func reopen(name: String, at offset: Int) throws {
        file = try PosixFile(path: directory + "/" + name, flags: O_WRONLY, io: options.io)
        self.offset = offset
    }

    /// Writes framed records; `ends` are the frame end offsets in `bytes`, the first frame is `firstLSN`.
    /// Starts a new segment whenever the next frame would not fit in the current one.
    func write(_ bytes: [UInt8], ends: [Int], firstLSN: UInt64) throws {
        let segmentBytes = options.limits.segmentBytes
        var index = 0
        var start = 0
        while index < ends.count {
            if file == nil || offset + (ends[index] - start) > segmentBytes {
                let prevCRC = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start + 17, as: UInt32.self).littleEndian }
                try roll(firstLSN: firstLSN + UInt64(index), chainSeed: prevCRC)
            }
            var last = index
            while last + 1 < ends.count && offset + (ends[last + 1] - start) <= segmentBytes { last += 1 }
            let chunkEnd = ends[last]
            try bytes.withUnsafeBytes { (raw) in
                try file!.write(UnsafeRawBufferPointer(rebasing: raw[start..<chunkEnd]), at: offset)
            }
            offset += chunkEnd - start
            unsynced = true
            start = chunkEnd
            index = last + 1
        }
    }

    func sync() throws {
        guard unsynced else { return }
        try file!.dataSync()
        unsynced = false
    }

    func close() { file = nil }

    /// Closes the current segment (after making it durable) and starts the next one: built under a
    /// temporary name, optionally zero-filled, synced, renamed, and the directory synced.
    private func roll(firstLSN: UInt64, chainSeed: UInt32) throws {
        if file != nil && options.fsync == .always { try sync() }
        let name = WALFormat.segmentName(firstLSN: firstLSN)
        let finalPath = directory + "/" + name
        let temporaryPath = finalPath + ".tmp"
        let next = try PosixFile(path: temporaryPath, flags: O_RDWR | O_CREAT | O_TRUNC, io: options.io)
        if options.preallocate {
            let zeros = [UInt8](repeating: 0, count: 1 << 20)
            var written = 0
            while written < options.limits.segmentBytes {
                let count = min(zeros.count, options.limits.segmentBytes - written)
                try zeros.withUnsafeBytes { try next.write(UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: written) }
                written += count
            }
        }
        let header = SegmentHeader(epoch: options.epoch, firstLSN: firstLSN, chainSeed: chainSeed)
        try next.write(header.encoded(), at: 0)
        if options.fsync == .always { try next.fullSync() }
        try FileSystem.rename(temporaryPath, to: finalPath)
        if options.fsync == .always { try FileSystem.syncDirectory(directory, io: options.io) }
        file = consume next
        offset = WALFormat.segmentHeaderBytes
        unsynced = false
        logger.debug("WAL segment started", metadata: ["wal.segment": "\(name)", "wal.first_lsn": "\(firstLSN)"])
    }
}
