/// A JSON object written straight into bytes, for the hottest responses (`GET /v1/users/me`
/// answers at the rate of `/health/live`; JSONEncoder would cost more than the rest of the request)
/// and for what is rendered once and served many times (a listing's search summary).
public struct JSONObjectWriter: Sendable {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    /// Field names are literals of plain ASCII (checked in debug builds), written as they are.
    private mutating func key(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        let name = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        assert(name.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        bytes.append(contentsOf: name)
        bytes.append(contentsOf: #"":"#.utf8)
    }

    public mutating func string(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { JSONText.appendQuoted(value, to: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func integer(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A finite number (`null` for nil), in Swift's shortest round-trip form.
    public mutating func number(_ name: StaticString, _ value: Double?) {
        key(name)
        JSONText.appendNumber(value, to: &bytes)
    }

    /// `{"amount": …, "currency": …}`.
    public mutating func money(_ name: StaticString, amount: Int64, currency: String) {
        key(name)
        JSONText.appendMoney(amount: amount, currency: currency, to: &bytes)
    }

    /// A value written elsewhere (an object or an array, already JSON).
    public mutating func raw(_ name: StaticString, _ json: [UInt8]) {
        key(name)
        bytes.append(contentsOf: json)
    }

    /// A value `write` appends to the object's bytes itself (valid JSON, written in place).
    public mutating func value(_ name: StaticString, _ write: (inout [UInt8]) -> Void) {
        key(name)
        write(&bytes)
    }

    public consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
