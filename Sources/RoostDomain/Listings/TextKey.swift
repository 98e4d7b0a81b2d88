/// Search keys for place names: lower-cased, accents removed, whitespace collapsed, so
/// "  São   Paulo", "sao paulo" and "SÃO PAULO" are one key. Accents are removed by a table over
/// Latin-1 Supplement and Latin Extended-A (the letters of European place names); other
/// scripts are kept as they are, lower-cased.
public enum TextKey {
    public static func make(_ text: String) -> String {
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
        if (0x0300...0x036F).contains(value) { return "" }  // combining marks (decomposed input)
        guard (0xC0...0x17F).contains(value) else { return nil }
        return table[Int(value - 0xC0)].flatMap { $0 == " " ? nil : String($0) }
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
