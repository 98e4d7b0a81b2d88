import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a file's bytes in chunks, inflating it with zlib when it is gzip.
///
/// A file is gzip when it starts with the magic bytes `1f 8b`; a file named `.gz` that does not is
/// an error (``RoostDataError/notGzip(path:)``), so a mislabelled file is never parsed as text.
/// Concatenated gzip members are read one after another, as `zcat` does. Damage is reported, never
/// skipped: ``RoostDataError/corruptGzip(path:reason:)`` for bad data or a failed CRC-32/length
/// check, ``RoostDataError/truncatedGzip(path:)`` when the file ends inside the stream, and
/// ``RoostDataError/corruptGzip(path:reason:)`` for bytes after the last member.
///
/// Not thread-safe: one reader, one consumer.
public final class GzipOrPlainFileReader: ByteChunkSource {
    /// The file being read.
    public let path: String
    /// True when the file is gzip data.
    public let isGzip: Bool
    /// Bytes read from the file so far (compressed bytes, for a gzip file): for progress reports.
    public private(set) var fileBytesRead: Int

    private let chunkSize: Int
    private let fd: Int32
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity: Int
    /// Plain files: the bytes read while sniffing, not yet handed out.
    private var sniffed: Int
    /// Gzip files: zlib's state. It must not move while in use, hence the heap.
    private let stream: UnsafeMutablePointer<z_stream>?
    private var fileEnded = false
    /// Gzip files: the last member has ended (its checksum verified).
    private var streamEnded = false
    private var finished = false

    /// Opens `path`. `chunkSize` is the size of the chunks handed out (the last may be shorter).
    public init(path: String, chunkSize: Int = 1 << 18) throws {
        let inputCapacity = 1 << 16
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RoostDataError.io(operation: "open", path: path, errno: errno) }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: inputCapacity)
        var filled = 0
        var ended = false
        do {
            // Read at least the two magic bytes, unless the file is shorter.
            while filled < 2 {
                let count = try Self.readSome(fd, input + filled, inputCapacity - filled, path: path)
                if count == 0 { ended = true; break }
                filled += count
            }
        } catch {
            input.deallocate()
            close(fd)
            throw error
        }
        let gzip = filled >= 2 && input[0] == 0x1F && input[1] == 0x8B
        if !gzip && path.hasSuffix(".gz") {
            input.deallocate()
            close(fd)
            throw filled < 2 ? RoostDataError.truncatedGzip(path: path) : RoostDataError.notGzip(path: path)
        }
        var stream: UnsafeMutablePointer<z_stream>?
        if gzip {
            let zs = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            zs.initialize(to: z_stream())
            // 15 + 32: the largest window, and detect a gzip or zlib header by itself.
            let status = inflateInit2_(zs, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                zs.deinitialize(count: 1)
                zs.deallocate()
                input.deallocate()
                close(fd)
                throw RoostDataError.corruptGzip(path: path, reason: "zlib could not start (status \(status))")
            }
            zs.pointee.next_in = input
            zs.pointee.avail_in = UInt32(filled)
            stream = zs
        }
        self.path = path
        self.isGzip = gzip
        self.fileBytesRead = filled
        self.chunkSize = max(1, chunkSize)
        self.fd = fd
        self.input = input
        self.inputCapacity = inputCapacity
        self.sniffed = gzip ? 0 : filled
        self.stream = stream
        self.fileEnded = ended
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        input.deallocate()
        close(fd)
    }

    public func nextChunk() throws -> [UInt8]? {
        guard !finished else { return nil }
        let chunk = try stream.map { try inflateChunk($0) } ?? readPlainChunk()
        if chunk.isEmpty {
            finished = true
            return nil
        }
        return chunk
    }

    private func readPlainChunk() throws -> [UInt8] {
        if sniffed > 0 {
            defer { sniffed = 0 }
            return Array(UnsafeBufferPointer(start: input, count: sniffed))
        }
        guard !fileEnded else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            while count < chunkSize {
                let read = try Self.readSome(fd, base + count, chunkSize - count, path: path)
                if read == 0 { fileEnded = true; break }
                count += read
                fileBytesRead += read
            }
        }
    }

    /// Inflates up to `chunkSize` bytes; fewer only at the end of the data.
    private func inflateChunk(_ zs: UnsafeMutablePointer<z_stream>) throws -> [UInt8] {
        guard !streamEnded else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
            count = 0
            zs.pointee.next_out = buffer.baseAddress
            zs.pointee.avail_out = UInt32(buffer.count)
            inflating: while zs.pointee.avail_out > 0 {
                if zs.pointee.avail_in == 0, try !refill(zs) {
                    throw RoostDataError.truncatedGzip(path: path)
                }
                let status = inflate(zs, Z_NO_FLUSH)
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // One member is complete and its CRC-32 and length checked. Another may follow.
                    guard try anotherMemberFollows(zs) else {
                        streamEnded = true
                        break inflating
                    }
                    inflateReset(zs)
                case Z_BUF_ERROR:
                    // No progress possible with input left and room for output: should not happen.
                    throw RoostDataError.corruptGzip(path: path, reason: "zlib could not make progress")
                default:
                    throw RoostDataError.corruptGzip(path: path, reason: zlibMessage(zs, status))
                }
            }
            count = buffer.count - Int(zs.pointee.avail_out)
        }
    }

    /// After the end of a member: true when another gzip member follows, false at the end of the
    /// file; anything else is trailing garbage.
    private func anotherMemberFollows(_ zs: UnsafeMutablePointer<z_stream>) throws -> Bool {
        while zs.pointee.avail_in < 2, try refill(zs) {}
        let left = Int(zs.pointee.avail_in)
        if left == 0 { return false }
        if left >= 2, zs.pointee.next_in[0] == 0x1F, zs.pointee.next_in[1] == 0x8B { return true }
        throw RoostDataError.corruptGzip(path: path, reason: "\(left < 2 ? "a stray byte" : "data") after the end of the gzip stream")
    }

    /// Moves the unread input to the front and reads more after it. False at the end of the file.
    private func refill(_ zs: UnsafeMutablePointer<z_stream>) throws -> Bool {
        guard !fileEnded else { return false }
        let keep = Int(zs.pointee.avail_in)
        if keep > 0, let next = zs.pointee.next_in, next != input {
            memmove(input, next, keep)
        }
        let read = try Self.readSome(fd, input + keep, inputCapacity - keep, path: path)
        if read == 0 { fileEnded = true }
        fileBytesRead += read
        zs.pointee.next_in = input
        zs.pointee.avail_in = UInt32(keep + read)
        return read > 0
    }

    private func zlibMessage(_ zs: UnsafeMutablePointer<z_stream>, _ status: Int32) -> String {
        if let message = zs.pointee.msg { return String(cString: message) }
        return status == Z_NEED_DICT ? "needs a preset dictionary" : "zlib status \(status)"
    }

    private static func readSome(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int, path: String) throws -> Int {
        while true {
            let result = read(fd, buffer, count)
            if result >= 0 { return result }
            if errno != EINTR { throw RoostDataError.io(operation: "read", path: path, errno: errno) }
        }
    }
}
