@testable import RoostDomain
import RoostTestSupport
import Testing

/// Packed ids order as their strings do, come back unchanged, and an id that cannot be packed
/// says so (its holders then compare strings).
struct PackedIDTests {
    @Test func aPackedIDIsThirtyTwoBytes() {
        #expect(MemoryLayout<PackedID>.stride == 32)
    }

    @Test func packedIdsOrderAsTheirStringsAndComeBack() {
        var generator = SeededGenerator(seed: testSeed())
        // Short alphabets and short lengths make shared prefixes, equal ids and prefixes of one
        // another common; the lengths reach the last packed byte.
        let alphabet = Array("ab_9Z".utf8)
        func id() -> String {
            let length = Int.random(in: 0...PackedID.capacity, using: &generator)
            return String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
        }
        var ids = ["lst_ia_1234567890123456789", "lst_ia_123456789012345678", "lst_abcdefghijkmnpqr", "lst_abcdefghijkmnpqs"]
        for _ in 0..<400 { ids.append(id()) }
        for a in ids {
            let packedA = PackedID(a)
            #expect(packedA.isPacked)
            #expect(packedA.string == a)
            for b in ids.prefix(80) {
                #expect(PackedID.precedes(packedA, PackedID(b)) == (a < b), "\(a) against \(b)")
            }
        }
    }

    /// The edges a random draw rarely reaches: the last packed byte, prefixes at the full length,
    /// the lowest and highest ASCII bytes.
    @Test func edgeIdsOrderAsTheirStrings() {
        let full = String(repeating: "x", count: PackedID.capacity)
        let pairs = [
            (full, String(full.dropLast())), (String(full.dropLast()) + "w", full), ("", "\u{1}"), ("a\u{7F}", "a~"),
            ("\u{7F}", "\u{1}"), ("lst_a", "lst_a"),
        ]
        for (a, b) in pairs {
            #expect(PackedID(a).string == a)
            #expect(PackedID.precedes(PackedID(a), PackedID(b)) == (a < b), "\(a) against \(b)")
            #expect(PackedID.precedes(PackedID(b), PackedID(a)) == (b < a), "\(b) against \(a)")
        }
    }

    @Test func idsThatDoNotFitAreNotPacked() {
        let long = String(repeating: "x", count: PackedID.capacity + 1)
        for id in [long, "lst_é", "lst_\u{0}a"] {
            let packed = PackedID(id)
            #expect(!packed.isPacked, "\(id)")
            #expect(packed.string == nil)
            #expect(PackedID.precedes(packed, PackedID("lst_a")) == nil)
            #expect(PackedID.precedes(PackedID("lst_a"), packed) == nil)
        }
        #expect(PackedID(String(repeating: "x", count: PackedID.capacity)).isPacked)
    }
}
