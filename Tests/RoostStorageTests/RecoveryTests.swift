import Foundation
import Logging
import RoostTestSupport
import Testing

@testable import RoostStorage

/// Damage at the end of the log is a torn write to cut; damage with valid records after it is corruption.
@Suite struct RecoveryTests {
    @Test func truncatingTheLastSegmentAnywhereInItsLastThreeRecordsKeepsExactlyTheRecordsBefore() async throws {
        let original = TemporaryDirectory()
        try await writeRecords(200, to: original.path)
        let last = segmentPaths(original.path).last!
        let bytes = readFile(last)
        let frames = frameOffsets(in: bytes)
        let firstLSNOfSegment = try recover(original.path).lsns.last! - UInt64(frames.count) + 1
        let damagedFrom = frames.count - 3
        for cut in frames[damagedFrom]..<bytes.count {
            let copy = TemporaryDirectory()
            try FileManager.default.removeItem(atPath: copy.path)
            try FileManager.default.copyItem(atPath: original.path, toPath: copy.path)
            let segment = copy.path + "/" + (last as NSString).lastPathComponent
            writeFile(segment, Array(bytes[..<cut]))
            let completeFrames = frames.filter { $0 < cut }.count - (frames.contains(cut) ? 0 : 1)
            let expectedLast = firstLSNOfSegment + UInt64(completeFrames) - 1
            let logs = CapturedLogs()
            let recovered = try recover(copy.path, logger: logs.logger)
            #expect(recovered.lsns == Array(1...expectedLast), "cut at \(cut)")
            if frames.contains(cut) {
                #expect(logs.entries.isEmpty, "a cut at a frame boundary is a clean end (cut at \(cut))")
            } else {
                let warning = logs.entries.first { $0.level == .warning }
                #expect(warning?.metadata["wal.offset"] == "\(frames.last { $0 < cut }!)", "cut at \(cut)")
                #expect(FileManager.default.fileExists(atPath: segment + ".broken"))
                #expect(readFile(segment).count == frames.last { $0 < cut }!)
            }
            // The log continues after the cut.
            try await writeRecords(1, to: copy.path)
            #expect(try recover(copy.path).lsns == Array(1...(expectedLast + 1)))
        }
    }

    @Test func zeroingTheLast512BytesIsATornTail() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(100, to: directory.path)
        let last = segmentPaths(directory.path).last!
        var bytes = readFile(last)
        let frames = frameOffsets(in: bytes)
        let firstLSN = WALFormat.firstLSN(ofSegmentNamed: (last as NSString).lastPathComponent)!
        let zeroFrom = bytes.count - 512
        let intact = zip(frames, frames.dropFirst() + [bytes.count]).filter { $0.1 <= zeroFrom }.count
        for index in zeroFrom..<bytes.count { bytes[index] = 0 }
        writeFile(last, bytes)
        let logs = CapturedLogs()
        let recovered = try recover(directory.path, logger: logs.logger)
        #expect(recovered.lsns == Array(1...(firstLSN + UInt64(intact) - 1)))
        #expect(recovered.lsns.count < 100)
        #expect(logs.entries.contains { $0.level == .warning && $0.metadata["wal.offset"] == "\(frames[intact])" })
    }

    @Test func anEmptyLastSegmentIsATornCreation() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(10, to: directory.path)
        writeFile(directory.path + "/" + WALFormat.segmentName(firstLSN: 11), [])
        #expect(try recover(directory.path).lsns == Array(1...10))
        try await writeRecords(2, to: directory.path)
        #expect(try recover(directory.path).lsns == Array(1...12))
    }

    @Test func randomSingleBitFlipsInTheMiddleAreAllDetectedAsCorruption() async throws {
        let seed = testSeed()
        var generator = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        try await writeRecords(120, to: directory.path)
        let segments = segmentPaths(directory.path)
        let originals = segments.map(readFile)
        for flip in 0..<1000 {
            // Any byte of any segment except the last record of the last segment (damage there is a torn tail).
            let which = Int.random(in: 0..<segments.count, using: &generator)
            var bytes = originals[which]
            let end = which == segments.count - 1 ? frameOffsets(in: bytes).last! : bytes.count
            let offset = Int.random(in: 0..<end, using: &generator)
            bytes[offset] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            writeFile(segments[which], bytes)
            defer { writeFile(segments[which], originals[which]) }
            do {
                let recovered = try recover(directory.path)
                Issue.record("flip \(flip) at \(segments[which]):\(offset) went undetected (seed \(seed)); recovered \(recovered.lsns.count)")
            } catch let error as StorageError {
                guard case .corruption = error else {
                    Issue.record("flip \(flip): unexpected \(error) (seed \(seed))")
                    continue
                }
            }
            #expect(!FileManager.default.fileExists(atPath: segments[which] + ".broken"), "nothing is cut without --repair")
        }
    }

    @Test func aCorruptedLengthWordMidSegmentStopsStartUpAndRepairCutsThereKeepingEvidence() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(120, to: directory.path)
        let segments = segmentPaths(directory.path)
        let target = segments[segments.count / 2]
        var bytes = readFile(target)
        let frames = frameOffsets(in: bytes)
        let victim = frames[frames.count / 2]
        bytes[victim + 3] = 0x7F  // a length of ~2 GiB
        writeFile(target, bytes)
        let expectedLast = try lastLSNBefore(frame: victim, in: target, directory: directory.path)
        do {
            _ = try recover(directory.path)
            Issue.record("corruption went undetected")
        } catch let StorageError.corruption(segment, offset, _) {
            #expect(segment.hasSuffix((target as NSString).lastPathComponent))
            #expect(offset == victim)
        }
        let logs = CapturedLogs()
        let repaired = try recover(directory.path, repair: true, logger: logs.logger)
        #expect(repaired.lsns == Array(1...expectedLast))
        #expect(FileManager.default.fileExists(atPath: target + ".broken"))
        #expect(segmentPaths(directory.path).last == target, "later segments are moved aside")
        #expect(logs.entries.contains { $0.level == .error && $0.metadata["wal.offset"] == "\(victim)" })
        try await writeRecords(3, to: directory.path)
        #expect(try recover(directory.path).lsns == Array(1...(expectedLast + 3)))
    }

    @Test func aRecordOfReservedTypeZeroWithANonZeroHeaderIsDamage() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(40, to: directory.path)
        let first = segmentPaths(directory.path)[0]
        var bytes = readFile(first)
        bytes[frameOffsets(in: bytes)[2] + 8] = 0
        writeFile(first, bytes)
        #expect(throws: StorageError.self) { try recover(directory.path) }
    }

    @Test func aMissingSegmentIsAGap() async throws {
        let directory = TemporaryDirectory()
        try await writeRecords(400, to: directory.path)
        let segments = segmentPaths(directory.path)
        try FileManager.default.removeItem(atPath: segments[1])
        #expect {
            try recover(directory.path)
        } throws: { error in
            guard case let StorageError.corruption(_, _, reason) = error else { return false }
            return reason.contains("expected first LSN")
        }
    }

    @Test func aTruncatedHeaderOrPayloadInTheLastRecordIsTorn() async throws {
        for keep in [5, 21 + 3] {  // inside the frame header, inside the payload
            let directory = TemporaryDirectory()
            try await writeRecords(10, to: directory.path)
            let last = segmentPaths(directory.path).last!
            let bytes = readFile(last)
            let lastFrame = frameOffsets(in: bytes).last!
            writeFile(last, Array(bytes[..<(lastFrame + keep)]))
            #expect(try recover(directory.path).lsns == Array(1...9))
        }
    }

    private func lastLSNBefore(frame: Int, in segment: String, directory: String) throws -> UInt64 {
        let first = WALFormat.firstLSN(ofSegmentNamed: (segment as NSString).lastPathComponent)!
        return first + UInt64(frameOffsets(in: readFile(segment)).firstIndex(of: frame)!) - 1
    }
}
