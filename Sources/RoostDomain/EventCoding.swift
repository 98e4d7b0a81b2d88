import RoostBinary

/// The binary form of an event: a frozen 16-bit tag, a version byte, then the body.
///
/// Tags are on-disk numbers, separate from Swift enum cases: renaming a case changes nothing on
/// disk, and a retired tag is never reused. Decoding a tag or a version this build does not
/// know is a `DecodeError`, never a crash.
public protocol EventCoding {
    /// Writes the tag, the version and the body.
    func encode(into writer: inout ByteWriter)
    /// Reads what `encode` wrote.
    static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self
}

/// The tag-and-version prefix every encoded event starts with.
public struct EventHeader: Equatable, Sendable {
    public var tag: UInt16
    public var version: UInt8

    public init(tag: UInt16, version: UInt8) {
        self.tag = tag
        self.version = version
    }

    public func write(into writer: inout ByteWriter) {
        writer.write(tag)
        writer.write(version)
    }

    public static func read(from reader: inout ByteReader) throws(DecodeError) -> EventHeader {
        EventHeader(tag: try reader.readUInt16(), version: try reader.readUInt8())
    }

    /// The error for a header no case of `eventType` knows.
    public func unknown(in eventType: Any.Type) -> DecodeError {
        .invalid("\(eventType) has no tag \(tag) at version \(version)")
    }
}
