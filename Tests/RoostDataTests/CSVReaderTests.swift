import Foundation
import RoostData
import RoostTestSupport
import Testing

/// The RFC 4180 parser: quoting, line breaks, BOM, malformed records, and chunk boundaries anywhere.
struct CSVReaderTests {
    /// Chunk sizes that put boundaries inside quoted fields, between `""`, and between CR and LF.
    static let chunkSizes = [1, 2, 3, 5, 7, 1 << 16]

    static let tricky = "id,name,note\n1,\"a, b\",\"say \"\"hi\"\"\"\n2,,\"line1\nline2\"\r\n3,\"x\r\ny\",\n4,\"\",\"\"\"\"\n"

    @Test(arguments: chunkSizes)
    func quotedFieldsEscapesAndEmbeddedLineBreaks(chunkSize: Int) throws {
        let (header, records) = try parse(Self.tricky, chunkSize: chunkSize)
        #expect(header == ["id", "name", "note"])
        #expect(records == [
            .row(["1", "a, b", "say \"hi\""], line: 2),
            .row(["2", "", "line1\nline2"], line: 3),
            .row(["3", "x\r\ny", ""], line: 5),
            .row(["4", "", "\""], line: 7),
        ])
    }

    @Test func everyChunkSizeGivesTheSameRecords() throws {
        let text = "a,b\r\n\"1\r\n\",\"2\"\"\"\r\n\r\n3,\"\"\r4,5"
        let expected = try parse(text, chunkSize: 1 << 16)
        #expect(expected.records == [.row(["1\r\n", "2\""], line: 2), .row(["3", ""], line: 5), .row(["4", "5"], line: 6)])
        for size in 1...text.utf8.count {
            let result = try parse(text, chunkSize: size)
            #expect(result.header == expected.header && result.records == expected.records, "chunk size \(size)")
        }
    }

    @Test(arguments: chunkSizes)
    func byteOrderMarkIsSkipped(chunkSize: Int) throws {
        let (header, records) = try parse("\u{FEFF}a,b\n1,2\n", chunkSize: chunkSize)
        #expect(header == ["a", "b"])
        #expect(records == [.row(["1", "2"], line: 2)])
    }

    @Test func theLastLineBreakIsOptional() throws {
        #expect(try parse("a,b\n1,2").records == [.row(["1", "2"], line: 2)])
        #expect(try parse("a,b\n1,2\n").records == [.row(["1", "2"], line: 2)])
        #expect(try parse("a,b\n1,").records == [.row(["1", ""], line: 2)])
        #expect(try parse("a,b\n1,\"\"").records == [.row(["1", ""], line: 2)])
        #expect(try parse("a,b").records == [])
    }

    @Test(arguments: chunkSizes)
    func crlfLoneCRAndBlankLines(chunkSize: Int) throws {
        #expect(try parse("a,b\r\n1,2\r\n3,4\r\n", chunkSize: chunkSize).records == [.row(["1", "2"], line: 2), .row(["3", "4"], line: 3)])
        #expect(try parse("a,b\r1,2\r3,4", chunkSize: chunkSize).records == [.row(["1", "2"], line: 2), .row(["3", "4"], line: 3)])
        // Blank lines between records are skipped, and still counted as lines.
        #expect(try parse("a,b\n\n1,2\n\r\n3,4\n\n", chunkSize: chunkSize).records == [.row(["1", "2"], line: 3), .row(["3", "4"], line: 5)])
    }

    @Test func emptyFieldsAndSpacesAreKept() throws {
        #expect(try parse("a,b,c,d\n,, x ,\n").records == [.row(["", "", " x ", ""], line: 2)])
    }

    @Test func aQuoteInsideAnUnquotedFieldIsKept() throws {
        #expect(try parse("a,b\n55\" TV,2\n").records == [.row(["55\" TV", "2"], line: 2)])
    }

    @Test(arguments: chunkSizes)
    func anUnterminatedQuoteIsARowErrorWithItsLine(chunkSize: Int) throws {
        let records = try parse("a,b\n1,2\n3,\"oops\n4,5\n", chunkSize: chunkSize).records
        #expect(records == [.row(["1", "2"], line: 2), .error(CSVRowError(line: 3, kind: .unterminatedQuote))])
        #expect(CSVRowError(line: 3, kind: .unterminatedQuote).description == "line 3: unterminated quoted field")
    }

    @Test func wrongFieldCountsAreRowErrorsAndReadingGoesOn() throws {
        let records = try parse("a,b,c\n1,2\n1,2,3\n\"x\ny\",2,3,4\n5,6,7\n").records
        #expect(records == [
            .error(CSVRowError(line: 2, kind: .fieldCount(found: 2, expected: 3))),
            .row(["1", "2", "3"], line: 3),
            .error(CSVRowError(line: 4, kind: .fieldCount(found: 4, expected: 3))),
            .row(["5", "6", "7"], line: 6),
        ])
        #expect(CSVRowError(line: 2, kind: .fieldCount(found: 2, expected: 3)).reason == "row has 2 fields, header has 3")
    }

    @Test func textAfterAClosingQuoteIsARowError() throws {
        let records = try parse("a,b\n\"x\"y,2\n3,4\n").records
        #expect(records == [.error(CSVRowError(line: 2, kind: .textAfterClosingQuote)), .row(["3", "4"], line: 3)])
    }

    /// Invalid UTF-8 is not an error: `String` fields hold U+FFFD, and `bytes(at:)` the raw bytes.
    @Test(arguments: chunkSizes)
    func invalidUTF8BecomesTheReplacementCharacter(chunkSize: Int) throws {
        let bytes = Array("a,b\n".utf8) + [0x31, 0xFF, 0x32, 0x2C, 0xC3] + Array("\n".utf8)
        var reader = try CSVReader(ChunkedBytes(bytes, chunkSize: chunkSize))
        let row = try #require(try reader.next()?.get())
        #expect(row[0] == "1\u{FFFD}2")
        #expect(row[1] == "\u{FFFD}")
        #expect(Array(row.bytes(at: 0)) == [0x31, 0xFF, 0x32])
        #expect(try reader.next().map { _ in true } == nil)
    }

    @Test func fieldsByColumnName() throws {
        var reader = try CSVReader(ChunkedBytes("id,name,id\n7,Ann,8\n"))
        let row = try #require(try reader.next()?.get())
        #expect(row["name"] == "Ann")
        #expect(row["id"] == "7")  // the first of two columns with one name
        #expect(row["missing"] == nil)
        #expect(reader.header.index(of: "name") == 1)
        #expect(row.count == 3 && row.line == 2)
    }

    @Test func noHeaderIsAnError() throws {
        #expect(throws: RoostDataError.missingHeader(path: "<memory>")) { try CSVReader(ChunkedBytes("")) }
        #expect(throws: RoostDataError.missingHeader(path: "<memory>")) { try CSVReader(ChunkedBytes("\u{FEFF}\n\r\n")) }
        #expect(throws: RoostDataError.malformedHeader(path: "<memory>", reason: "unterminated quoted field")) {
            try CSVReader(ChunkedBytes("a,\"b\n1,2\n"))
        }
    }

    @Test func aRecordOverTheLimitStopsTheRead() throws {
        let text = "a,b\n1,2\n3,\"" + String(repeating: "x", count: 100) + "\n"
        #expect(throws: RoostDataError.recordTooLarge(path: "<memory>", line: 3, limit: 50)) {
            _ = try parse(Array(text.utf8), chunkSize: 7, maxRecordBytes: 50)
        }
    }

    /// Random fields (commas, quotes, CR, LF, non-ASCII), written the RFC 4180 way, read back whole
    /// at random chunk sizes.
    @Test func randomRecordsRoundTrip() throws {
        let seed = testSeed()
        var random = SeededGenerator(seed: seed)
        let alphabet: [String] = ["a", "b", ",", "\"", "\n", "\r", "\r\n", " ", "é", "★", "0"]
        for _ in 0..<200 {
            let columns = Int.random(in: 1...5, using: &random)
            let rows = (0..<Int.random(in: 0...6, using: &random)).map { _ in
                (0..<columns).map { _ in
                    (0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random) ?? "" }.joined()
                }
            }
            func encode(_ field: String) -> String {
                field.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) }) || field.isEmpty
                    ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }
            let header = (0..<columns).map { "c\($0)" }
            let text = ([header] + rows).map { $0.map(encode).joined(separator: ",") }.joined(separator: "\r\n")
            let chunkSize = Int.random(in: 1...16, using: &random)
            let parsed = try parse(text, chunkSize: chunkSize)
            let fields = parsed.records.map { record -> [String]? in
                if case let .row(fields, _) = record { return fields }
                return nil
            }
            #expect(parsed.header == header && fields == rows, "seed \(seed), chunk size \(chunkSize)")
        }
    }
}
