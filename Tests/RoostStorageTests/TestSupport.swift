import Foundation
import Logging
import Logging
import RoostStorage
import RoostTestSupport
import Testing


/// Small segments so tests cross segment boundaries quickly.
let smallLimits = WALLimits(segmentBytes: 8 << 10, recordBytesMax: 1024, pendingBytesMax: 1 << 20)

func payload(for lsn: UInt64, size: Int = 40) -> [UInt8] {
    (0..<size).map { UInt8(truncatingIfNeeded: lsn &* 31 &+ UInt64($0)) }
}

/// Writes `count` records (payload derived from the LSN) and closes the log.
func writeRecords(
    _ count: Int, to directory: String, limits: WALLimits = smallLimits, sizes: (UInt64) -> Int = { _ in 40 }
) async throws {
    let tail = try WALRecovery.recover(directory: directory, limits: limits, logger: quietLogger) { _ in }
    let log = try WriteAheadLog(directory: directory, tail: tail, options: WALOptions(limits: limits), logger: quietLogger)
    var last: UInt64 = 0
    for _ in 0..<count {
        let next = log.lastAppendedLSN + 1
        last = try log.append(type: 7, payload: payload(for: next, size: sizes(next)))
    }
    try await log.waitDurable(last)
    log.close()
}

struct Recovered {
    var lsns: [UInt64] = []
    var payloads: [UInt64: [UInt8]] = [:]
    var tail: WALTail
}

func recover(
    _ directory: String, limits: WALLimits = smallLimits, repair: Bool = false, logger: Logger = quietLogger
) throws -> Recovered {
    var lsns: [UInt64] = []
    var payloads: [UInt64: [UInt8]] = [:]
    let tail = try WALRecovery.recover(directory: directory, limits: limits, repair: repair, logger: logger) { record in
        lsns.append(record.lsn)
        payloads[record.lsn] = Array(record.payload)
    }
    return Recovered(lsns: lsns, payloads: payloads, tail: tail)
}

func segmentPaths(_ directory: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: directory))?
        .filter { $0.hasSuffix(".wal") }.sorted().map { directory + "/" + $0 } ?? []
}

func readFile(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path)!) }
func writeFile(_ path: String, _ bytes: [UInt8]) { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

/// Offsets where each record frame starts in a segment file (parsing lengths from the frames).
func frameOffsets(in bytes: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    var offset = 40
    while offset + 21 <= bytes.count {
        let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
        if bytes[offset + 8] == 0 { break }
        offsets.append(offset)
        offset += 21 + length
    }
    return offsets
}

