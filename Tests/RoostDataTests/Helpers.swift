import Foundation
import RoostData

/// The repository root, found from this file's path (Tests/RoostDataTests/Helpers.swift).
let repositoryRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

let dataDirectory = repositoryRoot + "/data"
let singaporeDirectory = repositoryRoot + "/data/insideairbnb/singapore"

/// One parsed record, as plain values: fields and line, or the error.
enum Parsed: Equatable {
    case row([String], line: Int)
    case error(CSVRowError)
}

/// Parses `bytes` fed in chunks of `chunkSize`: the header and every record.
func parse(_ bytes: [UInt8], chunkSize: Int = 1 << 16, maxRecordBytes: Int = CSVLimits.maxRecordBytes) throws -> (header: [String], records: [Parsed]) {
    var reader = try CSVReader(ChunkedBytes(bytes, chunkSize: chunkSize), maxRecordBytes: maxRecordBytes)
    var records: [Parsed] = []
    try reader.forEachRecord { record in
        switch record {
        case let .success(row): records.append(.row(row.fields, line: row.line))
        case let .failure(error): records.append(.error(error))
        }
    }
    return (reader.header.names, records)
}

func parse(_ text: String, chunkSize: Int = 1 << 16) throws -> (header: [String], records: [Parsed]) {
    try parse(Array(text.utf8), chunkSize: chunkSize)
}

/// Every byte of a file, through `GzipOrPlainFileReader`.
func readAll(_ path: String, chunkSize: Int = 1 << 18) throws -> [UInt8] {
    let reader = try GzipOrPlainFileReader(path: path, chunkSize: chunkSize)
    var bytes: [UInt8] = []
    while let chunk = try reader.nextChunk() { bytes += chunk }
    return bytes
}

/// Runs `/usr/bin/gzip -c -n` on `input`, writing `output`.
func gzip(_ input: String, to output: String, extraArguments: [String] = []) throws {
    guard FileManager.default.createFile(atPath: output, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    guard let out = FileHandle(forWritingAtPath: output) else { throw CocoaError(.fileWriteUnknown) }
    defer { try? out.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    process.arguments = ["-c", "-n"] + extraArguments + [input]
    process.standardOutput = out
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
}

func write(_ bytes: [UInt8], to path: String) {
    let written = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    precondition(written, "could not write \(path)")
}

func contents(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}

let catalogues: (currencies: CurrencyTable, amenities: AmenityCatalogue)? = {
    guard let currencies = try? CurrencyTable.load(from: dataDirectory),
        let amenities = try? AmenityCatalogue.load(from: dataDirectory)
    else { return nil }
    return (currencies, amenities)
}()
