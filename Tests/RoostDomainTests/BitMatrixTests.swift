@testable import RoostDomain
import RoostTestSupport
import Testing

/// The index's bit matrices against plain arrays of flags: inserting and removing positions
/// shifts the bits after them across word boundaries in every row, and the matrix grows exactly.
struct BitMatrixTests {
    func flags(_ matrix: BitMatrix, _ row: Int, _ count: Int) -> [Bool] { (0..<count).map { matrix.isSet(row, $0) } }

    @Test func randomInsertsRemovesAndSetsMatchArraysOfFlags() {
        var generator = SeededGenerator(seed: testSeed())
        var matrix = BitMatrix(), model: [[Bool]] = Array(repeating: [], count: 3), count = 0
        for step in 0..<12_000 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4:
                let position = Int.random(in: 0...count, using: &generator)
                matrix.insert(at: position, count: count)
                for row in model.indices { model[row].insert(false, at: position) }
                count += 1
            case 4..<6 where count > 0:
                let position = Int.random(in: 0..<count, using: &generator)
                matrix.remove(at: position, count: count)
                for row in model.indices { model[row].remove(at: position) }
                count -= 1
            default:
                guard count > 0 else { continue }
                let row = Int.random(in: 0..<3, using: &generator), position = Int.random(in: 0..<count, using: &generator)
                let value = Bool.random(using: &generator)
                matrix.set(row, position, value)
                model[row][position] = value
            }
            if step % 89 == 0 || count < 150 {
                for row in model.indices {
                    #expect(flags(matrix, row, count + 70) == model[row] + Array(repeating: false, count: 70), "step \(step) row \(row)")
                }
            }
        }
        #expect(count > 1_000, "the rows reached many words")
    }

    @Test func narrowingReadsClearBitsPastTheMatrix() {
        var matrix = BitMatrix()
        matrix.set(0, 0, true); matrix.set(0, 1, true); matrix.set(0, 3, true)  // word 0 = 0b1011
        matrix.set(1, 64 + 4, true)  // row 1, word 1 = 0x10
        var mask: [UInt64] = [.max, .max, .max]
        matrix.narrow(&mask, by: 0, from: 0)
        #expect(mask == [0b1011, 0, 0])
        mask = [.max, .max]
        matrix.narrow(&mask, by: 1, from: 1, inverted: true)
        #expect(mask == [~UInt64(0x10), .max])
        mask = [.max]
        matrix.narrow(&mask, by: 5, from: 0)  // no such row: clear
        #expect(mask == [0])
    }

    @Test func nightRowsGrowBothWaysAndClear() {
        var nights = NightRows()
        nights.set(20_000, 70, true)
        nights.set(19_990, 3, true)
        nights.set(20_010, 130, true)
        nights.set(19_000, 5, false)  // clearing outside the rows adds none
        #expect(nights.isSet(20_000, 70) && nights.isSet(19_990, 3) && nights.isSet(20_010, 130))
        #expect(!nights.isSet(20_000, 71) && !nights.isSet(19_999, 70) && nights.row(19_000) == nil && nights.row(20_011) == nil)
        nights.insert(at: 0, count: 131)
        #expect(nights.isSet(20_000, 71) && nights.isSet(19_990, 4) && nights.isSet(20_010, 131))
        nights.remove(at: 4, count: 132)
        #expect(!nights.isSet(19_990, 4) && !nights.isSet(19_990, 3) && nights.isSet(20_000, 70))
        nights.clear(70)
        #expect(!nights.isSet(20_000, 70) && nights.isSet(20_010, 130))
    }
}
