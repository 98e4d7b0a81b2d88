import RoostBinary
import Testing

@testable import RoostDomain

@Suite struct EventHeaderTests {
    @Test func theHeaderIsATwoByteTagAndAVersionByte() throws {
        var writer = ByteWriter()
        EventHeader(tag: 0x0102, version: 3).write(into: &writer)
        #expect(writer.bytes == [0x02, 0x01, 3])
        let header = try writer.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return try EventHeader.read(from: &reader)
        }
        #expect(header == EventHeader(tag: 0x0102, version: 3))
    }

    @Test func anUnknownTagNamesTheTypeTagAndVersion() {
        let error = EventHeader(tag: 77, version: 2).unknown(in: Int.self)
        #expect(error == .invalid("Int has no tag 77 at version 2"))
    }

    @Test func timestampsOrderByTime() {
        #expect(Timestamp(millisecondsSinceEpoch: 1) < Timestamp(millisecondsSinceEpoch: 2))
    }
}
