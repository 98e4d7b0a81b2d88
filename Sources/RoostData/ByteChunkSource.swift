/// Bytes delivered in chunks, in order: what ``CSVReader`` parses.
public protocol ByteChunkSource {
    /// The next chunk of bytes (never empty), or nil once every byte has been delivered.
    mutating func nextChunk() throws -> [UInt8]?
}

/// Bytes already in memory, served in chunks of a fixed size: for parsing a string, and for tests
/// that need chunk boundaries at awkward places (`chunkSize: 1`).
public struct ChunkedBytes: ByteChunkSource, Sendable {
    private let bytes: [UInt8]
    private let chunkSize: Int
    private var offset = 0

    /// `chunkSize` below 1 is taken as 1.
    public init(_ bytes: [UInt8], chunkSize: Int = 1 << 16) {
        self.bytes = bytes
        self.chunkSize = max(1, chunkSize)
    }

    /// The UTF-8 bytes of `text`.
    public init(_ text: String, chunkSize: Int = 1 << 16) {
        self.init(Array(text.utf8), chunkSize: chunkSize)
    }

    public mutating func nextChunk() -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        let end = min(bytes.count, offset + chunkSize)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}
