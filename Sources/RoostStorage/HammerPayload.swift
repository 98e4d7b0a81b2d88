import RoostBinary

/// The self-describing payload the crash tests write: an appender id and a sequence number,
/// repeated to 96 bytes, so any record read back can be told from invented or shifted bytes.
public struct HammerPayload: Equatable, Sendable {
    public static let byteCount = 96
    public var appender: UInt32
    public var sequence: UInt64

    public init(appender: UInt32, sequence: UInt64) {
        self.appender = appender
        self.sequence = sequence
    }

    public var bytes: [UInt8] {
        var writer = ByteWriter(capacity: Self.byteCount)
        while writer.count < Self.byteCount {
            writer.write(appender)
            writer.write(sequence)
        }
        return Array(writer.bytes.prefix(Self.byteCount))
    }

    /// Decodes a payload, or nil if the bytes are not exactly what `bytes` would have written.
    public init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count == Self.byteCount else { return nil }
        var reader = ByteReader(raw)
        guard let appender = try? reader.readUInt32(), let sequence = try? reader.readUInt64() else { return nil }
        self.init(appender: appender, sequence: sequence)
        guard bytes.elementsEqual(raw) else { return nil }
    }
}
