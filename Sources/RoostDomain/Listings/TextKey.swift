/// Search keys for place names: lower-cased, accents removed, whitespace collapsed, so
/// "  São   Paulo", "sao paulo" and "SÃO PAULO" are one key. Accents are removed by a table over
/// Latin-1 Supplement and Latin Extended-A (the letters of European place names), and beyond
/// them in the Latin blocks ("Timișoara", "Đà Nẵng", "Hạ Long") from the letter's Unicode name
/// ("LATIN SMALL LETTER A WITH BREVE AND TILDE" is an a). Combining diacritical marks (decomposed
/// input) are dropped; other scripts are kept as they are, lower-cased, their own vowel signs and
/// marks included.
public enum TextKey {
    public static func make(_ text: String) -> String {
        // Printable ASCII without spaces (nearly every query's place): only upper case to lower.
        if text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            guard text.utf8.contains(where: { (0x41...0x5A).contains($0) }) else { return text }
            return String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.lowercased().unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace {
                result.append(" ")
                pendingSpace = false
            }
            if let folded = fold(scalar) { result.append(folded) } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }

    private static func fold(_ scalar: Unicode.Scalar) -> String? {
        let value = scalar.value
        guard value >= 0xC0 else { return nil }
        if combiningDiacritics.contains(where: { $0.contains(value) }) { return "" }
        if value <= 0x17F { return table[Int(value - 0xC0)].flatMap { $0 == " " ? nil : String($0) } }
        guard latinBeyond.contains(where: { $0.contains(value) }) else { return nil }
        return baseLetter(named: scalar.properties.name)
    }

    /// The blocks of combining diacritical marks: the marks themselves, their extended and
    /// supplementary blocks, the marks for symbols, and the half marks.
    private static let combiningDiacritics: [ClosedRange<UInt32>] = [0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F]
    /// Latin Extended-B and Latin Extended Additional: letters with diacritics (Romanian,
    /// Vietnamese, Pinyin, African orthographies) whose names say their base letter.
    private static let latinBeyond: [ClosedRange<UInt32>] = [0x0180...0x024F, 0x1E00...0x1EFF]

    /// "LATIN SMALL LETTER S WITH COMMA BELOW" → "s"; nil (kept as it is) for a name that is no
    /// single letter with marks ("LATIN SMALL LETTER EZH", "LATIN LETTER GLOTTAL STOP").
    private static func baseLetter(named name: String?) -> String? {
        guard let name else { return nil }
        let prefix = "LATIN SMALL LETTER "
        guard name.hasPrefix(prefix) else { return nil }
        let letter = name.dropFirst(prefix.count).prefix { $0 != " " }
        guard letter.count == 1, let first = letter.first, first.isASCII, first.isLetter else { return nil }
        return first.lowercased()
    }

    /// U+00C0 … U+017F, lower-case letters' base forms (" " means: keep the character).
    private static let table: [Character?] = {
        let latin1 = Array("aaaaaaaceeeeiiii" + "dnooooo ouuuuyts" + "aaaaaaaceeeeiiii" + "dnooooo ouuuuyty")
        let extendedA = Array(
            "aaaaaaccccccccdd" + "ddeeeeeeeeeegggg" + "gggghhhhiiiiiiii" + "iijjjjkkklllllll"
                + "lllnnnnnnnnnoooo" + "oooorrrrrrssssss" + "ssttttttuuuuuuuu" + "uuuuwwyyyzzzzzzs"
        )
        var table = (latin1 + extendedA).map { Character?($0) }
        table[0xD7 - 0xC0] = nil  // ×
        table[0xF7 - 0xC0] = nil  // ÷
        return table
    }()
}
