import RoostEngine
import Testing

@testable import RoostAPI

@Suite struct IdentifiersTests {
    @Test func idsHaveTheirShapeAndDoNotRepeat() {
        let ids = (0..<20_000).map { _ in Identifiers.make("bkg") }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("bkg_") && $0.count == 20 && Identifiers.isValid($0) })
        // Every letter of the alphabet turns up in every position: all 5 bits of each draw are used.
        for position in 4..<20 {
            #expect(Set(ids.map { Array($0.utf8)[position] }).count == 32, "position \(position)")
        }
    }

    @Test func routedIdsLandInTheirShard() {
        for shard in 0..<16 {
            let ids = (0..<200).map { _ in Identifiers.make("bkg") { ShardIndex(key: $0, count: 16).value == shard } }
            #expect(ids.allSatisfy { ShardIndex(key: $0, count: 16).value == shard && Identifiers.isValid($0) && $0.count == 20 })
            #expect(Set(ids).count == ids.count)
        }
    }
}
