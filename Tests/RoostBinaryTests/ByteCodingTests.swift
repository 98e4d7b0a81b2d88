import Testing

@testable import RoostBinary

@Suite struct ByteCodingTests {
    @Test func everyWrittenValueReadsBack() throws {
        var writer = ByteWriter()
        writer.write(UInt8(7))
        writer.write(UInt16(0xBEEF))
        writer.write(UInt32(0xDEAD_BEEF))
        writer.write(UInt64.max)
        writer.write(Int64.min)
        writer.write(true)
        writer.writeVarint(UInt64(300))
        writer.writeVarint(UInt64.max)
        writer.writeString("Singapore · ★4.9 🏝")
        writer.writeBytes([1, 2, 3])
        let decoded = try writer.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let values = (
                try reader.readUInt8(), try reader.readUInt16(), try reader.readUInt32(), try reader.readUInt64(),
                try reader.readInt64(), try reader.readBool(), try reader.readVarint(), try reader.readVarint(),
                try reader.readString(), try reader.readBytes()
            )
            return (values, reader.isAtEnd)
        }
        let (values, atEnd) = decoded
        #expect(values.0 == 7 && values.1 == 0xBEEF && values.2 == 0xDEAD_BEEF && values.3 == .max && values.4 == .min)
        #expect(values.5 && values.6 == 300 && values.7 == .max)
        #expect(values.8 == "Singapore · ★4.9 🏝")
        #expect(values.9 == [1, 2, 3])
        #expect(atEnd)
    }

    @Test func integersAreLittleEndianOnDisk() {
        var writer = ByteWriter()
        writer.write(UInt32(0x0102_0304))
        #expect(writer.bytes == [4, 3, 2, 1])
    }

    @Test func readingPastTheEndIsAnErrorNotACrash() {
        [UInt8]([1, 2]).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.truncated(needed: 4, remaining: 2)) { try reader.readUInt32() }
        }
    }

    @Test func aLengthLongerThanTheBytesLeftIsRefusedBeforeAllocating() {
        var writer = ByteWriter()
        writer.writeVarint(UInt64(1) << 40)  // claims a terabyte
        writer.writeRaw([1, 2, 3])
        writer.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.self) { try reader.readBytes() }
        }
    }

    @Test func overlongVarintsAndBadUTF8AndBadBooleansAreRefused() {
        [UInt8](repeating: 0xFF, count: 11).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.self) { try reader.readVarint() }
        }
        [UInt8]([2, 0xC3, 0x28]).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.invalid("string is not UTF-8")) { try reader.readString() }
        }
        [UInt8]([2]).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(throws: DecodeError.invalid("boolean byte 2")) { try reader.readBool() }
        }
    }
}
