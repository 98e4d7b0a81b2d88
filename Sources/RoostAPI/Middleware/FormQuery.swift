import Foundation
import Hummingbird
import HummingbirdCore

/// Query strings as clients write them: `application/x-www-form-urlencoded` (HTML forms,
/// `URLSearchParams`, Python's `urlencode`), where `+` is a space and names are percent-encoded
/// like values.
///
/// Hummingbird's `URI.queryParameters` percent-decodes values only and keeps `+`: a client that
/// encoded a name (`guest%73=2`) or wrote a space as `+` (`location=Kuala+Lumpur`) would be misread.
enum FormQuery {
    /// Whether `query` needs decoding at all: without `%` or `+`, every name and value is as written.
    static func isPlain(_ query: Substring) -> Bool {
        !query.utf8.contains { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }
    }

    /// One name or value decoded: `+` is a space, then `%XX` is the byte XX. A malformed escape
    /// (`%`, `%zz`, or bytes that are not UTF-8) leaves the part as written, `+` still a space,
    /// which is what Hummingbird does with a value it cannot decode: the route's checks then name it.
    static func decoded(_ part: Substring) -> Substring {
        guard !isPlain(part) else { return part }
        let spaced = String(decoding: part.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        return Substring(spaced.removingPercentEncoding ?? spaced)
    }

    /// `query`'s parameters in order, names and values decoded (`a=1&b&c=` → a: 1, b: "", c: "").
    static func parameters(_ query: String) -> [(key: Substring, value: Substring)] {
        query.split(separator: "&").map { pair in
            let name = pair.firstIndex(of: "=").map { pair[..<$0] } ?? pair
            let value = name.endIndex < pair.endIndex ? pair[pair.index(after: name.endIndex)...] : ""
            return (key: decoded(name), value: decoded(value))
        }
    }
}

extension FormQuery {
    /// Whether Hummingbird's own parse of `query` is `URI.formParameters`' answer: nothing to
    /// decode (`isPlain`) and no parameter without a value to leave out (`a=1&b&c=` has two).
    static func isPlainWithValues(_ query: Substring) -> Bool {
        var inValue = false, valueBytes = 0
        for byte in query.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "+"): return false
            case UInt8(ascii: "&"):
                guard inValue, valueBytes > 0 else { return false }
                inValue = false
            case UInt8(ascii: "=") where !inValue:
                inValue = true
                valueBytes = 0
            default:
                valueBytes += 1
            }
        }
        return inValue && valueBytes > 0
    }
}

extension URI {
    /// The query's parameters, decoded as a form is (see `FormQuery`), those without a value left
    /// out: `limit=` is no limit given, as a form's empty field is, on every route alike. A query
    /// with no `%` or `+` and a value for each name (nearly every one) is Hummingbird's own parse,
    /// which is then the same.
    var formParameters: Parameters {
        guard let query, !FormQuery.isPlainWithValues(query[...]) else { return queryParameters }
        return Parameters(FormQuery.parameters(query).filter { !$0.value.isEmpty })
    }

    /// `formParameters` one by one, in order, for a route that reads many. A plain query, nothing
    /// to decode and a value for each name, is split where it lies, byte by byte: Hummingbird's
    /// parse (and then a copy into a dictionary) cost a search some 2% of its CPU.
    func forEachFormParameter(_ body: (_ name: Substring, _ value: Substring) -> Void) {
        guard let query, !query.isEmpty else { return }
        guard FormQuery.isPlainWithValues(query[...]) else {
            for (name, value) in formParameters { body(name, value) }
            return
        }
        // Every `&` and `=` is ASCII, so the indices around them are the string's own.
        let bytes = query.utf8
        var start = bytes.startIndex, equals: String.Index?
        var position = start
        while true {
            let atEnd = position == bytes.endIndex
            if atEnd || bytes[position] == UInt8(ascii: "&") {
                // `isPlainWithValues`: every parameter has `=` and a value.
                if let equals { body(query[start..<equals], query[bytes.index(after: equals)..<position]) }
                if atEnd { break }
                start = bytes.index(after: position)
                equals = nil
            } else if equals == nil, bytes[position] == UInt8(ascii: "=") {
                equals = position
            }
            position = bytes.index(after: position)
        }
    }
}
