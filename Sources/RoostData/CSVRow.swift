/// The names of a CSV file's columns, from its header row.
public final class CSVHeader: Sendable {
    /// The column names, in file order.
    public let names: [String]
    private let positions: [String: Int]

    /// When a name appears twice, ``index(of:)`` finds the first.
    public init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
        self.positions = positions
    }

    public var count: Int { names.count }

    /// The position of the column named exactly `name`, or nil when there is none.
    public func index(of name: String) -> Int? { positions[name] }
}

/// One well-formed CSV record: exactly as many fields as the header has names.
///
/// Fields are kept as the raw bytes between the separators, quotes removed and `""` unescaped.
/// Reading a field as a `String` decodes it as UTF-8, and **bytes that are not valid UTF-8 become
/// U+FFFD (the replacement character)**: a record is never rejected for its encoding. Use
/// ``bytes(at:)`` to see the raw bytes, or to parse a field without making a `String` at all.
public struct CSVRow: Sendable {
    /// The physical line of the file on which this record starts (1-based; the header is line 1).
    /// LF, CRLF and a lone CR each end a line, inside quoted fields too.
    public let line: Int
    /// The file's header.
    public let header: CSVHeader
    private let storage: [UInt8]
    private let ends: [Int]

    init(line: Int, header: CSVHeader, storage: [UInt8], ends: [Int]) {
        self.line = line
        self.header = header
        self.storage = storage
        self.ends = ends
    }

    /// The number of fields (always the header's count).
    public var count: Int { ends.count }

    /// The raw bytes of field `index` (0 ≤ index < count).
    public func bytes(at index: Int) -> ArraySlice<UInt8> {
        storage[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
    }

    /// Field `index` (0 ≤ index < count) as text.
    public subscript(index: Int) -> String { String(decoding: bytes(at: index), as: UTF8.self) }

    /// The field of the column named `column`, or nil when the header has no such column.
    public subscript(column: String) -> String? { header.index(of: column).map { self[$0] } }

    /// Every field, as text.
    public var fields: [String] { (0..<count).map { self[$0] } }
}

/// A malformed CSV record. The reader reports it and goes on with the next record.
public struct CSVRowError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The record does not have as many fields as the header.
        case fieldCount(found: Int, expected: Int)
        /// A quoted field is still open at the end of the file: it swallowed every line after `line`.
        case unterminatedQuote
        /// Something other than a comma or a line break follows a field's closing quote (`"ab"c`).
        case textAfterClosingQuote
    }

    /// The physical line on which the record starts.
    public let line: Int
    public let kind: Kind

    public init(line: Int, kind: Kind) {
        self.line = line
        self.kind = kind
    }

    /// The problem, without the line: what an ``ImportReport`` counts rows by.
    public var reason: String {
        switch kind {
        case let .fieldCount(found, expected): "row has \(found) field\(found == 1 ? "" : "s"), header has \(expected)"
        case .unterminatedQuote: "unterminated quoted field"
        case .textAfterClosingQuote: "text after a closing quote"
        }
    }

    public var description: String { "line \(line): \(reason)" }
}
