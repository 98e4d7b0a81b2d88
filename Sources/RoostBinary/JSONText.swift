/// JSON strings written straight into bytes: for logs, hot responses and journal lines, where an
/// encoder would cost more than the rest of the work.
public enum JSONText {
    /// `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as
    /// it is (UTF-8 passes through).
    public static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Native strings are contiguous UTF-8: runs with nothing to escape are copied whole.
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { text in
            var run = 0
            for i in text.indices where needsEscape(text[i]) {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i]))
                appendEscaped(text[i], to: &bytes)
                run = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[run...]))
        }
        if copied == nil {
            for byte in text.utf8 {
                if needsEscape(byte) { appendEscaped(byte, to: &bytes) } else { bytes.append(byte) }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A finite number in Swift's shortest round-trip form; `null` for nil, infinities and NaN.
    public static func appendNumber(_ value: Double?, to bytes: inout [UInt8]) {
        if let value, value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { bytes.append(contentsOf: "null".utf8) }
    }

    /// `{"amount":…,"currency":…}`: an amount in minor units and its currency, as on the wire.
    public static func appendMoney(amount: Int64, currency: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: #"{"amount":"#.utf8)
        bytes.append(contentsOf: String(amount).utf8)
        bytes.append(contentsOf: #","currency":"#.utf8)
        appendQuoted(currency, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    @inline(__always) private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private static func appendEscaped(_ byte: UInt8, to bytes: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
        default:
            let hex: StaticString = "0123456789abcdef"
            bytes.append(contentsOf: #"\u00"#.utf8)
            bytes.append(hex.utf8Start[Int(byte >> 4)])
            bytes.append(hex.utf8Start[Int(byte & 0xF)])
        }
    }
}
