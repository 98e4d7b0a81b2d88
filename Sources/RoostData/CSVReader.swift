/// Limits of the CSV reader.
public enum CSVLimits {
    /// The default largest record, in bytes (16 MiB): far above any real record, and a bound on the
    /// memory an unterminated quote can take before the reader gives up.
    public static let maxRecordBytes = 16 << 20
}

/// A streaming RFC 4180 CSV parser: reads the header row, then yields one record at a time.
///
/// - Fields are separated by `,`; records end with LF, CRLF or a lone CR (a chunk boundary may
///   fall anywhere, between a CR and its LF too). A line break after the last record is optional.
/// - A field in double quotes may hold commas, line breaks and `""` (one `"`). A `"` inside an
///   unquoted field is kept as it is.
/// - A UTF-8 byte order mark at the very start is skipped. Blank lines between records are skipped.
/// - A malformed record (unterminated quote, text after a closing quote, a field count unlike
///   the header's) is returned as a ``CSVRowError`` carrying its line number, and reading goes on.
///   Only I/O errors, damaged gzip data and a record over `maxRecordBytes` are thrown.
///
/// Parsing works on bytes: a field becomes a `String` only when it is asked for. A copy of a reader
/// over a file shares that file's ``GzipOrPlainFileReader``: read from one copy only.
public struct CSVReader<Source: ByteChunkSource> {
    /// The header row.
    public private(set) var header: CSVHeader
    /// The file's name, for errors.
    public let name: String
    /// The largest record accepted, in bytes.
    public let maxRecordBytes: Int

    private var source: Source
    private var chunk: [UInt8] = []
    private var position = 0
    private var exhausted = false
    private var tokenizer = CSVTokenizer()

    /// Reads the header row from `source`; `name` names the source in errors.
    public init(_ source: Source, name: String = "<memory>", maxRecordBytes: Int = CSVLimits.maxRecordBytes) throws {
        self.source = source
        self.name = name
        self.maxRecordBytes = maxRecordBytes
        self.header = CSVHeader([])
        // Gather at least three bytes to look for a byte order mark.
        var start: [UInt8] = []
        while start.count < 3 {
            guard let next = try self.source.nextChunk() else {
                exhausted = true
                break
            }
            start += next
        }
        chunk = start
        position = start.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard try readRecord() else { throw RoostDataError.missingHeader(path: name) }
        if let error = tokenizer.error {
            throw RoostDataError.malformedHeader(path: name, reason: CSVRowError(line: tokenizer.recordLine, kind: error).reason)
        }
        header = CSVHeader(tokenizer.fields.map { String(decoding: $0, as: UTF8.self) })
    }

    /// The next record, a malformed record's error, or nil at the end of the data.
    public mutating func next() throws -> Result<CSVRow, CSVRowError>? {
        guard try readRecord() else { return nil }
        let line = tokenizer.recordLine
        if let error = tokenizer.error { return .failure(CSVRowError(line: line, kind: error)) }
        guard tokenizer.ends.count == header.count else {
            return .failure(CSVRowError(line: line, kind: .fieldCount(found: tokenizer.ends.count, expected: header.count)))
        }
        return .success(CSVRow(line: line, header: header, storage: tokenizer.bytes, ends: tokenizer.ends))
    }

    /// Calls `body` with every remaining record (or its error), in order.
    public mutating func forEachRecord(_ body: (Result<CSVRow, CSVRowError>) throws -> Void) throws {
        while let record = try next() { try body(record) }
    }

    /// Parses one record into the tokenizer's buffers. False at the end of the data.
    private mutating func readRecord() throws -> Bool {
        tokenizer.beginRecord()
        while true {
            if position == chunk.count {
                if exhausted { return tokenizer.finish() }
                if let next = try source.nextChunk() {
                    chunk = next
                    position = 0
                } else {
                    exhausted = true
                }
                continue
            }
            let current = chunk
            let start = position
            let (next, complete) = current.withUnsafeBufferPointer { tokenizer.feed($0, from: start) }
            position = next
            if tokenizer.bytes.count > maxRecordBytes {
                throw RoostDataError.recordTooLarge(path: name, line: tokenizer.recordLine, limit: maxRecordBytes)
            }
            if complete { return true }
        }
    }
}

extension CSVReader where Source == GzipOrPlainFileReader {
    /// Reads the CSV file at `path`, plain or gzip (see ``GzipOrPlainFileReader``).
    public init(path: String, maxRecordBytes: Int = CSVLimits.maxRecordBytes) throws {
        try self.init(GzipOrPlainFileReader(path: path), name: path, maxRecordBytes: maxRecordBytes)
    }
}

/// The byte-level state machine under ``CSVReader``: fed chunks, it fills one record's field bytes.
struct CSVTokenizer {
    private static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    private enum State { case recordStart, fieldStart, unquoted, quoted, quoteInQuoted }

    /// The record's field bytes, back to back; `ends[i]` is where field `i` ends.
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []
    /// What is wrong with the record, if anything.
    private(set) var error: CSVRowError.Kind?
    /// The line on which the record starts.
    private(set) var recordLine = 1
    /// The line of the next byte.
    private var line = 1
    /// The last byte consumed was a CR: an LF now completes a CRLF and is not a new line.
    private var lastWasCR = false
    private var state = State.recordStart

    var fields: [ArraySlice<UInt8>] {
        ends.indices.map { bytes[($0 == 0 ? 0 : ends[$0 - 1])..<ends[$0]] }
    }

    mutating func beginRecord() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        error = nil
        state = .recordStart
    }

    /// Consumes bytes from `start` until the record ends or the chunk does. Returns the index of the
    /// first unconsumed byte and whether the record is complete.
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, from start: Int) -> (next: Int, complete: Bool) {
        var i = start
        let n = chunk.count
        while i < n {
            let byte = chunk[i]
            switch state {
            case .recordStart:
                if byte == Self.lf || byte == Self.cr {
                    lineBreak(byte)  // a blank line, or the LF of a CRLF
                    i += 1
                } else {
                    lastWasCR = false
                    recordLine = line
                    state = .fieldStart
                }
            case .fieldStart:
                switch byte {
                case Self.quote:
                    state = .quoted
                    i += 1
                case Self.comma:
                    ends.append(bytes.count)
                    i += 1
                case Self.lf, Self.cr:
                    return endRecord(byte, at: i)
                default:
                    state = .unquoted
                }
            case .unquoted:
                var j = i
                while j < n {
                    let c = chunk[j]
                    if c == Self.comma || c == Self.lf || c == Self.cr { break }
                    j += 1
                }
                if j > i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[i..<j])) }
                i = j
                if j < n {
                    if chunk[j] == Self.comma {
                        ends.append(bytes.count)
                        state = .fieldStart
                        i += 1
                    } else {
                        return endRecord(chunk[j], at: j)
                    }
                }
            case .quoted:
                var j = i
                while j < n {
                    let c = chunk[j]
                    if c == Self.quote || c == Self.lf || c == Self.cr { break }
                    j += 1
                }
                if j > i {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[i..<j]))
                    lastWasCR = false
                }
                i = j
                if j < n {
                    let c = chunk[j]
                    if c == Self.quote {
                        lastWasCR = false
                        state = .quoteInQuoted
                    } else {
                        bytes.append(c)
                        lineBreak(c)
                    }
                    i += 1
                }
            case .quoteInQuoted:
                switch byte {
                case Self.quote:
                    bytes.append(Self.quote)
                    state = .quoted
                    i += 1
                case Self.comma:
                    ends.append(bytes.count)
                    state = .fieldStart
                    i += 1
                case Self.lf, Self.cr:
                    return endRecord(byte, at: i)
                default:
                    if error == nil { error = .textAfterClosingQuote }
                    state = .unquoted
                }
            }
        }
        return (i, false)
    }

    /// The data has ended: completes the record in progress. False when there was none.
    mutating func finish() -> Bool {
        switch state {
        case .recordStart:
            return false
        case .quoted:
            error = .unterminatedQuote
        case .fieldStart, .unquoted, .quoteInQuoted:
            break
        }
        ends.append(bytes.count)
        state = .recordStart
        return true
    }

    private mutating func endRecord(_ byte: UInt8, at index: Int) -> (next: Int, complete: Bool) {
        ends.append(bytes.count)
        lineBreak(byte)
        state = .recordStart
        return (index + 1, true)
    }

    private mutating func lineBreak(_ byte: UInt8) {
        if byte == Self.cr {
            line += 1
            lastWasCR = true
        } else {
            if !lastWasCR { line += 1 }
            lastWasCR = false
        }
    }
}
