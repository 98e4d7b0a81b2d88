/// A listing id packed into four big-endian words, zero-padded, kept by the search index beside
/// its string. Compared word by word it sorts as the id's `String` does, so a search orders its
/// matches (and finds the page's ids) without reading each match's string: a cache miss,
/// and an atomic retain on memory that both cores' searches touch.
///
/// Ids of at most 31 ASCII bytes, none of them zero, are packed — every id Roost makes or imports
/// (`lst_` and 16 letters; `lst_ia_` and Inside Airbnb's decimal id). Any other id is not
/// (`isPacked` is false) and its holders compare it as a string. The last byte holds the length
/// (0xFF: not packed); it never decides an order, since two different packed ids differ in an
/// earlier byte.
struct PackedID: Sendable, Equatable {
    static let capacity = 31
    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// The length byte of an id that did not fit.
    private static let unpacked: UInt64 = 0xFF

    init(_ id: String) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        for byte in id.utf8 {
            // ASCII compares as its bytes do (a String compares by Unicode scalar, which for ASCII is
            // the byte); a zero byte would be indistinguishable from the padding.
            guard count < Self.capacity, byte != 0, byte < 0x80 else {
                self.words = (0, 0, 0, Self.unpacked)
                return
            }
            let bits = UInt64(byte) << UInt64(56 - 8 * (count & 7))
            switch count >> 3 {
            case 0: words.0 |= bits
            case 1: words.1 |= bits
            case 2: words.2 |= bits
            default: words.3 |= bits
            }
            count += 1
        }
        words.3 |= UInt64(count)
        self.words = words
    }

    var isPacked: Bool { words.3 & 0xFF != Self.unpacked }

    /// Whether `a` sorts before `b`, as their strings would; nil when either is not packed.
    static func precedes(_ a: PackedID, _ b: PackedID) -> Bool? {
        guard a.isPacked, b.isPacked else { return nil }
        if a.words.0 != b.words.0 { return a.words.0 < b.words.0 }
        if a.words.1 != b.words.1 { return a.words.1 < b.words.1 }
        if a.words.2 != b.words.2 { return a.words.2 < b.words.2 }
        return a.words.3 < b.words.3
    }

    static func == (a: PackedID, b: PackedID) -> Bool { a.words == b.words }

    /// The id again, when it is packed (a string of its own, sharing no storage with the record's).
    var string: String? {
        guard isPacked else { return nil }
        var bytes = (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian)
        return withUnsafeBytes(of: &bytes) { String(decoding: $0.prefix(Int(words.3 & 0xFF)), as: UTF8.self) }
    }
}
