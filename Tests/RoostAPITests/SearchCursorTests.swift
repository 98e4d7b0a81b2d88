import Foundation
import RoostDomain
import RoostTestSupport
import Testing

@testable import RoostAPI

/// Search cursors (`s2|sort|key bits|id|marks`, base64url) are written byte by byte.
@Suite struct SearchCursorTests {
    /// What `SearchCursor.encode` writes is what the plain string formula writes (the text a cursor
    /// has always held), and it decodes back to the key and marks, for random keys and marks:
    /// negative and fractional primaries, 0, generations with their top bit set or of one or two
    /// hex digits (0 too), stamps of 0.
    @Test func cursorsReadBackAndMatchTheirTextForm() {
        var generator = SeededGenerator(seed: testSeed())
        let sorts: [ListingQuery.Sort] = [.priceAscending, .priceDescending, .rating, .distance, .newest]
        for round in 0..<500 {
            let primary = [0, -0.5, 1e300, Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 7][round % 4]
            let key = SearchKey(primary: primary, id: "lst_" + String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36))
            let marks = (0..<Int.random(in: 0...5, using: &generator)).map { index in
                SortMark(
                    generation: [UInt64.max, 0, 0xA, 0x10][safe: index] ?? UInt64.random(in: 0...UInt64.max, using: &generator),
                    stamp: index == 1 ? 0 : Int64.random(in: 0...Int64.max, using: &generator)
                )
            }
            let sort = sorts[round % sorts.count]
            let cursor = SearchCursor.encode(key, sort: sort, marks: marks)
            let text = "s2|\(sort.rawValue)|\(key.primary.bitPattern)|\(key.id)|"
                + marks.map { "\(String($0.generation, radix: 16)):\($0.stamp)" }.joined(separator: ",")
            #expect(cursor == PageRequest.encode(cursor: text), "round \(round)")
            let decoded = SearchCursor.decode(cursor, sort: sort)
            #expect(decoded?.0 == key)
            #expect(decoded?.1 ?? [] == marks)
        }
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
