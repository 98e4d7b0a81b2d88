/// What reading one dataset file did: rows read, imported and skipped (by reason), values adjusted,
/// and labels not recognised. `rowsRead == rowsImported + rowsSkipped` always.
public struct ImportReport: Equatable, Sendable, CustomStringConvertible {
    /// A skipped row: where it starts and why.
    public struct SkippedRow: Equatable, Sendable {
        public let line: Int
        public let reason: String
    }

    /// How many skipped rows are kept in ``firstSkipped``.
    public static let skippedRowsKept = 20

    /// The file read.
    public let file: String
    /// Data records read (not counting the header), malformed ones included.
    public internal(set) var rowsRead = 0
    /// Records that became values.
    public internal(set) var rowsImported = 0
    /// Reason → how many records were skipped for it (`"price missing"`, `"row has 5 fields, header has 7"`).
    public internal(set) var skipped: [String: Int] = [:]
    /// The first ``skippedRowsKept`` skipped rows, with their line numbers.
    public internal(set) var firstSkipped: [SkippedRow] = []
    /// Imported rows where a value was clamped, defaulted or taken from elsewhere: what → how many.
    public internal(set) var adjusted: [String: Int] = [:]
    /// Amenity labels not in the catalogue → on how many listings (listings files only).
    public internal(set) var unknownAmenities: [String: Int] = [:]

    public init(file: String) { self.file = file }

    public var rowsSkipped: Int { skipped.values.reduce(0, +) }

    /// The `limit` most frequent unknown amenity labels, most frequent first (ties by label).
    public func topUnknownAmenities(_ limit: Int = 10) -> [(label: String, count: Int)] {
        unknownAmenities.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(limit).map { (label: $0.key, count: $0.value) }
    }

    public var description: String {
        var lines = ["\(file): \(rowsRead) rows read, \(rowsImported) imported, \(rowsSkipped) skipped"]
        for (reason, count) in skipped.sorted(by: { $0.key < $1.key }) { lines.append("  skipped \(count): \(reason)") }
        for (what, count) in adjusted.sorted(by: { $0.key < $1.key }) { lines.append("  adjusted \(count): \(what)") }
        if !unknownAmenities.isEmpty {
            let top = topUnknownAmenities(5).map { "\($0.label) (\($0.count))" }.joined(separator: ", ")
            lines.append("  \(unknownAmenities.count) unknown amenity labels, most frequent: \(top)")
        }
        return lines.joined(separator: "\n")
    }

    mutating func skip(line: Int, _ reason: String) {
        skipped[reason, default: 0] += 1
        if firstSkipped.count < Self.skippedRowsKept { firstSkipped.append(SkippedRow(line: line, reason: reason)) }
    }

    mutating func adjust(_ what: String) { adjusted[what, default: 0] += 1 }
}

/// The values read from one file, and the report of reading it.
public struct ImportResult<Value: Sendable>: Sendable {
    public let values: [Value]
    public let report: ImportReport
}
