import Dispatch
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
    /// With `preallocate`: the next segment's file, being zero-filled off this thread.
    private var spare: SpareSegment?

    init(directory: String, options: WALOptions, logger: Logger) {
        self.directory = directory
        self.options = options
        self.logger = logger
        if options.preallocate { spare = SpareSegment(directory: directory, options: options) }
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

    /// Closes the segment, and waits for a spare being made and removes it.
    func close() {
        file = nil
        if let spare {
            _ = spare.take()
            try? FileSystem.remove(directory + "/" + SpareSegment.name)
            self.spare = nil
        }
    }

    /// Closes the current segment (after making it durable) and starts the next one: built under a
    /// temporary name, optionally zero-filled, synced, renamed, and the directory synced.
    ///
    /// With `preallocate`, the zero-filled file is the spare made meanwhile off this thread, so
    /// starting a segment costs its header, a sync and a rename, not writing (and syncing) the
    /// whole segment while every commit waits; the next spare is started once this one has its
    /// name. A spare that could not be made (its error is logged) leaves this thread to make the
    /// segment itself.
    private func roll(firstLSN: UInt64, chainSeed: UInt32) throws {
        if file != nil && options.fsync == .always { try sync() }
        let name = WALFormat.segmentName(firstLSN: firstLSN)
        let finalPath = directory + "/" + name
        var temporaryPath = finalPath + ".tmp"
        let made = spare?.take()
        if let failure = made?.failure {
            logger.warning("WAL spare segment could not be made; the writer makes the segment", metadata: ["wal.error": "\(failure)"])
        }
        let next: PosixFile
        if let made, let ready = made.file.take() {
            next = ready
            temporaryPath = made.path
        } else {
            next = try PosixFile(path: temporaryPath, flags: O_RDWR | O_CREAT | O_TRUNC, io: options.io)
            if options.preallocate { try SpareSegment.zeroFill(next, bytes: options.limits.segmentBytes) }
        }
        let header = SegmentHeader(epoch: options.epoch, firstLSN: firstLSN, chainSeed: chainSeed)
        try next.write(header.encoded(), at: 0)
        if options.fsync == .always { try next.fullSync() }
        try FileSystem.rename(temporaryPath, to: finalPath)
        if options.fsync == .always { try FileSystem.syncDirectory(directory, io: options.io) }
        file = consume next
        offset = WALFormat.segmentHeaderBytes
        unsynced = false
        // Only now: the next spare takes the same temporary name, which the old one has left.
        if options.preallocate { spare = SpareSegment(directory: directory, options: options) }
        logger.debug("WAL segment started", metadata: ["wal.segment": "\(name)", "wal.first_lsn": "\(firstLSN)"])
    }
}

/// The WAL's next segment made ready off the writer thread: a file of the segment's size under a
/// temporary name, zero-filled and (with fsync on) synced, for `SegmentCursor.roll` to give a
/// header and rename into place. A spare left behind by a crash ends in `.tmp`, and recovery
/// removes those.
final class SpareSegment: @unchecked Sendable {
    static let name = "next-segment.wal.tmp"

    /// What making the spare left: the file, or why there is none. Handed from the thread that
    /// makes it to the writer by `take`, which waits for it.
    final class Made: @unchecked Sendable {
        let path: String
        var file: PosixFile?
        var failure: (any Error)?

        init(path: String) { self.path = path }
    }

    private let made: Made
    private let ready = DispatchSemaphore(value: 0)

    init(directory: String, options: WALOptions) {
        made = Made(path: directory + "/" + Self.name)
        let made = made, ready = ready
        DispatchQueue.global(qos: .utility).async {
            do {
                let file = try PosixFile(path: made.path, flags: O_RDWR | O_CREAT | O_TRUNC, io: options.io)
                try Self.zeroFill(file, bytes: options.limits.segmentBytes)
                if options.fsync == .always { try file.fullSync() }
                made.file = consume file
            } catch {
                made.failure = error
            }
            ready.signal()
        }
    }

    /// Waits until the spare is made (or has failed), and hands it over.
    func take() -> Made {
        ready.wait()
        ready.signal()  // for a later `take`: the spare stays made
        return made
    }

    /// Writes `bytes` zeros from the start of `file`, a megabyte at a time.
    static func zeroFill(_ file: borrowing PosixFile, bytes: Int) throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var written = 0
        while written < bytes {
            let count = min(zeros.count, bytes - written)
            try zeros.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: written) }
            written += count
        }
    }
}
