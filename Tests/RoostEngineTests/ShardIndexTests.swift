import RoostBinary
import Testing

@testable import RoostEngine

/// A key's shard is fixed on disk: it must never depend on how the key's bytes are read.
@Suite struct ShardIndexTests {
    @Test func aKeyLandsOnItsChecksumsShardHoweverItsBytesAreRead() {
        // Known answers: CRC-32C of each key (RFC 3720's check value for "123456789" is E3069283).
        #expect(CRC32C.portableChecksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(ShardIndex(key: "123456789", count: 1_000).value == Int(0xE306_9283 % 1_000))
        for key in ["lst_aaa4gexcdabkrzdn", "bkg_", "", "usr_ümlaut-é", String(repeating: "x", count: 300)] {
            let bytes = Array(key.utf8)
            for count in [1, 4, 16, 97] {
                let expected = Int(CRC32C.portableChecksum(bytes) % UInt32(count))
                #expect(ShardIndex(key: key, count: count).value == expected, "\(key) of \(count)")
                #expect(ShardIndex(key: bytes, count: count).value == expected)
                // A collection without contiguous storage takes the copying path.
                #expect(ShardIndex(key: bytes.lazy.map { $0 }, count: count).value == expected)
            }
        }
    }
}
