import Foundation
import RoostData
import RoostTestSupport
import Testing

/// Plain and gzip files through `GzipOrPlainFileReader`, against `/usr/bin/gzip`, and damaged gzip data.
struct GzipReaderTests {
    /// ~400 KB of CSV text: several output chunks, several input buffers.
    static let sample: [UInt8] = {
        var text = "id,name,note\n"
        for i in 0..<8_000 { text += "\(i),\"name \(i), ★\",\"line\nbreak \(i * 7919 % 1000)\"\r\n" }
        return Array(text.utf8)
    }()

    @Test(arguments: [1, 4_096, 1 << 18])
    func roundTripThroughGzip(chunkSize: Int) throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv", packed = directory.path + "/sample.csv.gz"
        write(Self.sample, to: plain)
        try gzip(plain, to: packed)
        #expect(contents(packed).count < Self.sample.count / 2)
        #expect(try readAll(packed, chunkSize: chunkSize) == Self.sample)
        #expect(try readAll(plain, chunkSize: chunkSize) == Self.sample)
        #expect(try GzipOrPlainFileReader(path: packed).isGzip)
        #expect(try !GzipOrPlainFileReader(path: plain).isGzip)
    }

    @Test func gzipIsRecognisedByItsMagicBytesWhateverTheName() throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv", packed = directory.path + "/sample.csv.gz", renamed = directory.path + "/sample.dat"
        write(Self.sample, to: plain)
        try gzip(plain, to: packed, extraArguments: ["-1"])
        try FileManager.default.moveItem(atPath: packed, toPath: renamed)
        #expect(try readAll(renamed) == Self.sample)
    }

    @Test func concatenatedMembersAreReadLikeZcat() throws {
        let directory = TemporaryDirectory()
        let a = directory.path + "/a", b = directory.path + "/b"
        write(Array("first,part\n".utf8), to: a)
        write(Array("1,2\n".utf8), to: b)
        try gzip(a, to: a + ".gz")
        try gzip(b, to: b + ".gz")
        write(contents(a + ".gz") + contents(b + ".gz"), to: directory.path + "/both.csv.gz")
        #expect(try readAll(directory.path + "/both.csv.gz", chunkSize: 3) == Array("first,part\n1,2\n".utf8))
    }

    @Test func theCSVReaderReadsGzipFiles() throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv"
        write(Self.sample, to: plain)
        try gzip(plain, to: plain + ".gz")
        var reader = try CSVReader(path: plain + ".gz")
        var rows = 0
        var last: [String] = []
        try reader.forEachRecord { record in
            rows += 1
            last = (try? record.get().fields) ?? []
        }
        #expect(reader.header.names == ["id", "name", "note"])
        #expect(rows == 8_000)
        #expect(last == ["7999", "name 7999, ★", "line\nbreak \(7999 * 7919 % 1000)"])
    }

    @Test(arguments: [1, 2, 10, 100, 1_000, 10_000])
    func aTruncatedFileIsReportedAsTruncated(keptBytes: Int) throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv", packed = directory.path + "/sample.csv.gz"
        write(Self.sample, to: plain)
        try gzip(plain, to: packed)
        let whole = contents(packed)
        write(Array(whole.prefix(keptBytes)), to: packed)
        #expect(throws: RoostDataError.truncatedGzip(path: packed)) { try readAll(packed) }
        // Everything but the last byte of the length trailer.
        write(Array(whole.dropLast()), to: packed)
        #expect(throws: RoostDataError.truncatedGzip(path: packed)) { try readAll(packed) }
    }

    @Test func aDamagedChecksumIsReported() throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv", packed = directory.path + "/sample.csv.gz"
        write(Self.sample, to: plain)
        try gzip(plain, to: packed)
        var bytes = contents(packed)
        bytes[bytes.count - 8] ^= 0xFF  // the CRC-32 of the trailer
        write(bytes, to: packed)
        #expect(throws: RoostDataError.corruptGzip(path: packed, reason: "incorrect data check")) { try readAll(packed) }
    }

    @Test func damagedDataIsReported() throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/sample.csv", packed = directory.path + "/sample.csv.gz"
        write(Self.sample, to: plain)
        try gzip(plain, to: packed)
        var bytes = contents(packed)
        bytes[2] = 7  // compression method: only 8 (deflate) exists
        write(bytes, to: packed)
        #expect(throws: RoostDataError.corruptGzip(path: packed, reason: "unknown compression method")) { try readAll(packed) }
        // Garbage in the middle of the deflate data: whatever zlib trips on first, it is an error.
        bytes = contents(packed)
        bytes[2] = 8
        for i in stride(from: 200, to: 260, by: 1) { bytes[i] = 0xFF }
        write(bytes, to: packed)
        #expect(throws: RoostDataError.self) { try readAll(packed) }
    }

    @Test func dataAfterTheStreamIsReported() throws {
        let directory = TemporaryDirectory()
        let plain = directory.path + "/a.csv", packed = directory.path + "/a.csv.gz"
        write(Array("a,b\n".utf8), to: plain)
        try gzip(plain, to: packed)
        write(contents(packed) + Array("junk".utf8), to: packed)
        #expect(throws: RoostDataError.corruptGzip(path: packed, reason: "data after the end of the gzip stream")) { try readAll(packed) }
    }

    @Test func aPlainFileNamedGzIsNotGzip() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/plain.csv.gz"
        write(Array("a,b\n1,2\n".utf8), to: path)
        #expect(throws: RoostDataError.notGzip(path: path)) { try GzipOrPlainFileReader(path: path) }
        write([], to: path)
        #expect(throws: RoostDataError.truncatedGzip(path: path)) { try GzipOrPlainFileReader(path: path) }
    }

    @Test func aMissingFileIsAnIOError() throws {
        let path = TemporaryDirectory().path + "/nothing.csv"
        #expect(throws: RoostDataError.io(operation: "open", path: path, errno: ENOENT)) { try GzipOrPlainFileReader(path: path) }
        #expect(RoostDataError.io(operation: "open", path: path, errno: ENOENT).code == "io_error")
    }

    @Test func anEmptyPlainFileHasNoChunks() throws {
        let directory = TemporaryDirectory()
        write([], to: directory.path + "/empty.csv")
        #expect(try readAll(directory.path + "/empty.csv") == [])
    }
}
