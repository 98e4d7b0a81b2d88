import Synchronization

/// A listing's amenity codes as bits over one process-wide table of the codes seen so far. A
/// listing carries some 20 of the catalogue's 90 codes: two words here instead of an array of 20
/// strings (about 550 bytes a listing). Codes past the 128th distinct one (the catalogue has fewer)
/// are kept as strings, so any set of codes stays exact.
///
/// The bit of a code is this process's alone: sets are stored and sent as code strings.
public struct AmenitySet: Hashable, Sendable {
    private(set) var low: UInt64 = 0
    private(set) var high: UInt64 = 0
    /// Codes without a bit, sorted.
    private(set) var overflow: [String] = []

    public init() {}

    public init<Codes: Sequence<String>>(_ codes: Codes) {
        for code in codes { insert(code) }
    }

    public mutating func insert(_ code: String) {
        guard let bit = Self.bit(for: code, assigning: true) else {
            let at = overflow.firstIndex { $0 >= code } ?? overflow.endIndex
            if at == overflow.endIndex || overflow[at] != code { overflow.insert(code, at: at) }
            return
        }
        if bit < 64 { low |= 1 << UInt64(bit) } else { high |= 1 << UInt64(bit - 64) }
    }

    public func contains(_ code: String) -> Bool {
        guard let bit = Self.bit(for: code, assigning: false) else { return overflow.contains(code) }
        return bit < 64 ? low & (1 << UInt64(bit)) != 0 : high & (1 << UInt64(bit - 64)) != 0
    }

    /// True when every code of `other` is here.
    public func isSuperset(of other: AmenitySet) -> Bool {
        low & other.low == other.low && high & other.high == other.high && other.overflow.allSatisfy(overflow.contains)
    }

    public var isEmpty: Bool { low == 0 && high == 0 && overflow.isEmpty }
    public var count: Int { low.nonzeroBitCount + high.nonzeroBitCount + overflow.count }

    /// The codes, sorted.
    public var codes: [String] {
        var codes = overflow
        codes.reserveCapacity(count)
        Self.table.withLock { table in
            var offset = 0
            for word in [low, high] {
                var bits = word
                while bits != 0 {
                    let bit = bits.trailingZeroBitCount
                    codes.append(table.codes[offset + bit])
                    bits &= bits - 1
                }
                offset += 64
            }
        }
        return codes.sorted()
    }

    /// The set of `codes` when every one of them could be held by some listing: nil when one has
    /// never been seen (so no listing has it). Assigns no bits: queries cannot fill the table.
    public static func existing<Codes: Sequence<String>>(_ codes: Codes) -> AmenitySet? {
        var set = AmenitySet()
        for code in codes {
            if let bit = bit(for: code, assigning: false) {
                if bit < 64 { set.low |= 1 << UInt64(bit) } else { set.high |= 1 << UInt64(bit - 64) }
            } else if table.withLock({ $0.codes.count < bitsMax }) {
                return nil
            } else if !set.overflow.contains(code) {
                set.overflow.append(code)
            }
        }
        set.overflow.sort()
        return set
    }

    /// The two words of bits (for indexes that test many sets against one).
    public var words: (low: UInt64, high: UInt64) { (low, high) }
    /// The codes without a bit (empty unless more than 128 distinct codes were ever seen).
    public var codesWithoutBits: [String] { overflow }

    // MARK: The table

    private struct Table {
        var bits: [String: Int] = [:]
        var codes: [String] = []
    }

    private static let table = Mutex(Table())
    static let bitsMax = 128

    /// The bit of `code`, assigning the next one when `assigning` and any are left.
    private static func bit(for code: String, assigning: Bool) -> Int? {
        table.withLock { table in
            if let bit = table.bits[code] { return bit }
            guard assigning, table.codes.count < bitsMax else { return nil }
            table.bits[code] = table.codes.count
            table.codes.append(code)
            return table.codes.count - 1
        }
    }
}
