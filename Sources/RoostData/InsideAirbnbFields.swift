/// Parsing Inside Airbnb's field formats: prices, bathrooms, HTML-ish text, ids.
extension InsideAirbnb {
    /// Parses a price such as `"$1,600.00"` into minor units of a currency with `exponent` decimals:
    /// `("$1,600.00", 2)` → 160000, `("$1,600", 0)` → 1600, `("$12.5", 3)` → 12500.
    ///
    /// Accepted: optional spaces, an optional currency symbol made of letters, `$` or non-ASCII
    /// characters (`$`, `S$`, `€`, `SGD `), digits with optional `,` thousands separators in groups of
    /// three, and an optional `.` fraction. `"$0.00"` is 0 (callers decide what a zero price means).
    /// Nil for an empty or malformed string, a negative amount, a fraction finer than the currency's
    /// minor unit (`"$1.50"` in yen; `"$1.50"` → 150 with exponent 2, `"$1.500"` too), or an overflow.
    public static func parsePrice(_ text: String, exponent: Int) -> Int64? {
        parsePrice(Array(text.utf8)[...], exponent: exponent)
    }

    static func parsePrice(_ bytes: ArraySlice<UInt8>, exponent: Int) -> Int64? {
        guard (0...18).contains(exponent) else { return nil }
        var i = bytes.startIndex
        var end = bytes.endIndex
        while i < end, bytes[i] == space { i += 1 }
        while end > i, bytes[end - 1] == space { end -= 1 }
        // The currency symbol, then optional spaces.
        while i < end, isSymbolByte(bytes[i]) { i += 1 }
        while i < end, bytes[i] == space { i += 1 }

        var minor: Int64 = 0
        var digits = 0
        var groupLength = 0
        var grouped = false
        while i < end {
            let byte = bytes[i]
            if let digit = digitValue(byte) {
                guard let next = times10(minor, plus: digit) else { return nil }
                minor = next
                digits += 1
                groupLength += 1
            } else if byte == comma {
                guard digits > 0, grouped ? groupLength == 3 : groupLength <= 3 else { return nil }
                grouped = true
                groupLength = 0
            } else {
                break
            }
            i += 1
        }
        if grouped, groupLength != 3 { return nil }
        for _ in 0..<exponent {
            guard let next = times10(minor, plus: 0) else { return nil }
            minor = next
        }
        if i < end, bytes[i] == dot {
            i += 1
            var place: Int64 = 1
            for _ in 0..<exponent { place *= 10 }
            while i < end, let digit = digitValue(bytes[i]) {
                digits += 1
                place /= 10
                if place == 0 {
                    guard digit == 0 else { return nil }  // finer than the minor unit
                } else {
                    let (sum, overflow) = minor.addingReportingOverflow(digit * place)
                    guard !overflow else { return nil }
                    minor = sum
                }
                i += 1
            }
        }
        guard i == end, digits > 0 else { return nil }
        return minor
    }

    /// Bathrooms: the `bathrooms` number when there is one (older files), else the count at the
    /// start of `bathrooms_text` (`"1.5 shared baths"` → 1.5, `"0 baths"` → 0); any half-bath
    /// (`"Half-bath"`, `"Shared half-bath"`, `"Private half-bath"`) is 0.5. Nil when neither says.
    public static func parseBathrooms(number: String, text: String) -> Double? {
        if let value = Double(number.trimmedWhitespace), value.isFinite, value >= 0 { return value }
        let words = text.trimmedWhitespace.lowercased()
        if words.contains("half-bath") { return 0.5 }
        let count = words.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !count.isEmpty, let value = Double(count), value.isFinite else { return nil }
        return value
    }

    /// Bedrooms and beds as Inside Airbnb's generated `name` states them
    /// (`"Villa in Singapore · ★4.44 · 2 bedrooms · 3 beds · 1 private bath"`); `Studio` is 0 bedrooms.
    static func roomsFromName(_ name: String) -> (bedrooms: Int?, beds: Int?) {
        var bedrooms: Int?
        var beds: Int?
        for part in name.split(separator: "·") {
            let words = part.split(separator: " ")
            if words.count == 1, words[0] == "Studio" { bedrooms = 0 }
            guard words.count == 2, let count = Int(words[0]), count >= 0 else { continue }
            switch words[1] {
            case "bedroom", "bedrooms": bedrooms = count
            case "bed", "beds": beds = count
            default: break
            }
        }
        return (bedrooms, beds)
    }

    /// Inside Airbnb's HTML-ish text as plain text: `<br />`, `<br/>` and `<br>` (any case) become a
    /// line break, and so do LF, CRLF and a lone CR, except right before such a tag (reviews write
    /// `\r<br/>` for one break). With `dropBold` (descriptions), `<b>` and `</b>` go, and so does a tag
    /// cut off at the very end (`…dryer<br /`). Any other `<…>` is kept: reviewers write `<all in>` as text.
    /// Leading and trailing spaces, tabs and line breaks are trimmed.
    static func plainText(_ bytes: ArraySlice<UInt8>, dropBold: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "<"), let length = lineBreakTagLength(bytes, at: i) {
                out.append(lf)
                i += length
            } else if byte == UInt8(ascii: "<"), dropBold, let length = boldTagLength(bytes, at: i) {
                i += length
            } else if byte == UInt8(ascii: "<"), dropBold, isCutTag(bytes[i...]) {
                break  // the text was cut inside a tag
            } else if byte == cr || byte == lf {
                let length = byte == cr && i + 1 < end && bytes[i + 1] == lf ? 2 : 1
                // Reviews write one break as CR + <br/>: the tag stands for both.
                if i + length >= end || bytes[i + length] != UInt8(ascii: "<") || lineBreakTagLength(bytes, at: i + length) == nil {
                    out.append(lf)
                }
                i += length
            } else {
                out.append(byte)
                i += 1
            }
        }
        let isSpace = { (byte: UInt8) in byte == space || byte == lf || byte == UInt8(ascii: "\t") }
        guard let first = out.firstIndex(where: { !isSpace($0) }), let last = out.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: out[first...last], as: UTF8.self)
    }

    /// The length of `<br>`, `<br/>` or `<br />` (any case, any spaces before `/`) at `start`.
    private static func lineBreakTagLength(_ bytes: ArraySlice<UInt8>, at start: Int) -> Int? {
        var i = start + 1
        guard i + 1 < bytes.endIndex, bytes[i] | 0x20 == UInt8(ascii: "b"), bytes[i + 1] | 0x20 == UInt8(ascii: "r") else { return nil }
        i += 2
        while i < bytes.endIndex, bytes[i] == space { i += 1 }
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "/") { i += 1 }
        guard i < bytes.endIndex, bytes[i] == UInt8(ascii: ">") else { return nil }
        return i + 1 - start
    }

    /// Inside Airbnb cuts descriptions at 1,000 characters, sometimes inside a tag: true when `tail`
    /// is a strict beginning of `<br />`, `<br/>`, `<b>` or `</b>`.
    private static func isCutTag(_ tail: ArraySlice<UInt8>) -> Bool {
        guard tail.count < 6 else { return false }
        let lowered = tail.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        return ["<br />", "<br/>", "<b>", "</b>"].contains { tag in lowered.count < tag.utf8.count && tag.utf8.starts(with: lowered) }
    }

    /// The length of `<b>` or `</b>` (any case) at `start`.
    private static func boldTagLength(_ bytes: ArraySlice<UInt8>, at start: Int) -> Int? {
        var i = start + 1
        if i < bytes.endIndex, bytes[i] == UInt8(ascii: "/") { i += 1 }
        guard i + 1 < bytes.endIndex, bytes[i] | 0x20 == UInt8(ascii: "b"), bytes[i + 1] == UInt8(ascii: ">") else { return nil }
        return i + 2 - start
    }

    /// Inside Airbnb's ids are decimal numbers of up to 18 digits (above 2^53: keep them as text).
    static func isSourceID(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.count <= 20 && bytes.allSatisfy { digitValue($0) != nil }
    }

    /// `text` trimmed and cut to at most `limit` characters (grapheme clusters).
    static func trimmed(_ text: String, limit: Int) -> String {
        let text = text.trimmedWhitespace
        guard text.count > limit else { return text }
        return text.prefix(limit).trimmedWhitespace
    }

    private static let space = UInt8(ascii: " "), comma = UInt8(ascii: ","), dot = UInt8(ascii: ".")
    private static let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    private static func digitValue(_ byte: UInt8) -> Int64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int64(byte - UInt8(ascii: "0")) : nil
    }

    private static func isSymbolByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "$") || byte >= 0x80 || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    private static func times10(_ value: Int64, plus digit: Int64) -> Int64? {
        let (product, overflow) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = product.addingReportingOverflow(digit)
        return overflow || overflow2 ? nil : sum
    }
}
