#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading data: the catalogues shipped in `data/` (amenities, currencies) and public datasets
/// (Inside Airbnb) through a streaming CSV reader over plain or gzip files. Knows nothing of the engine.
///
/// The layers, bottom up:
/// - ``ByteChunkSource``: bytes in chunks. ``GzipOrPlainFileReader`` reads a file, inflating it
///   with zlib when it is gzip; ``ChunkedBytes`` serves bytes already in memory.
/// - ``CSVReader``: an RFC 4180 parser over any chunk source, yielding one ``CSVRow`` at a time,
///   or a ``CSVRowError`` (with its line number) for a malformed record.
/// - ``AmenityCatalogue`` and ``CurrencyTable``: `data/amenities.json` and `data/currencies.json`.
/// - ``InsideAirbnb``: a city's `listings`, `calendar` and `reviews` files as plain values, each
///   with an ``ImportReport`` of what was read, imported and skipped.
public enum RoostData {}

/// What can stop a read as a whole, with a stable machine `code`. A single bad CSV record is not one
/// of these: it is a ``CSVRowError`` and reading goes on.
public enum RoostDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed on `path`.
    case io(operation: String, path: String, errno: Int32)
    /// The file is named `.gz` but does not start with the gzip magic bytes `1f 8b`.
    case notGzip(path: String)
    /// The gzip data is damaged: zlib's own words (`invalid distance too far back`, `incorrect data check`, …).
    case corruptGzip(path: String, reason: String)
    /// The gzip data ends before its end-of-stream marker and checksum: a partial download or copy.
    case truncatedGzip(path: String)
    /// A CSV file has no header row (it is empty, or holds only blank lines).
    case missingHeader(path: String)
    /// The header row itself is malformed.
    case malformedHeader(path: String, reason: String)
    /// One CSV record is longer than the reader's `maxRecordBytes`; the reader cannot resynchronise.
    case recordTooLarge(path: String, line: Int, limit: Int)
    /// A column the mapping needs is not in the header.
    case missingColumn(path: String, column: String)
    /// A catalogue file (`amenities.json`, `currencies.json`) cannot be used.
    case invalidCatalogue(path: String, reason: String)
    /// A currency code that is not in the ``CurrencyTable``.
    case unknownCurrency(String)

    public var code: String {
        switch self {
        case .io: "io_error"
        case .notGzip: "not_gzip"
        case .corruptGzip: "corrupt_gzip"
        case .truncatedGzip: "truncated_gzip"
        case .missingHeader: "missing_header"
        case .malformedHeader: "malformed_header"
        case .recordTooLarge: "record_too_large"
        case .missingColumn: "missing_column"
        case .invalidCatalogue: "invalid_catalogue"
        case .unknownCurrency: "unknown_currency"
        }
    }

    public var description: String {
        switch self {
        case let .io(operation, path, errno):
            "\(operation) failed on \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case let .notGzip(path):
            "\(path) is named .gz but is not gzip data (no 1f 8b magic bytes)"
        case let .corruptGzip(path, reason):
            "\(path) is corrupt gzip data: \(reason)"
        case let .truncatedGzip(path):
            "\(path) is truncated: the gzip stream ends before its end marker and checksum"
        case let .missingHeader(path):
            "\(path) has no CSV header row"
        case let .malformedHeader(path, reason):
            "\(path): the CSV header row is malformed: \(reason)"
        case let .recordTooLarge(path, line, limit):
            "\(path): the CSV record starting at line \(line) is longer than \(limit) bytes"
                + " (an unterminated quote, or not CSV at all)"
        case let .missingColumn(path, column):
            "\(path) has no column \"\(column)\""
        case let .invalidCatalogue(path, reason):
            "\(path): \(reason)"
        case let .unknownCurrency(code):
            "currency \(code) is not in the currency table"
        }
    }
}
