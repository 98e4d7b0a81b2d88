import Foundation
import Glibc
import Histogram
import Logging
import RoostStorage
import Synchronization

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC, the clock every workload here is timed with).
public enum BenchClock {
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Seconds taken by `body`, and what it returned.
    public static func time<T>(_ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
        let start = nanoseconds()
        let value = try body()
        return (Double(nanoseconds() - start) / 1e9, value)
    }
}

/// A logger for the code under measurement: errors only, so logging costs nothing in the loops.
public func benchLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// Where workloads put their files: `ROOST_BENCH_DIR` (scripts/bench.sh sets it to a temp dir on the data
/// directory's filesystem), else `$TMPDIR`, else /tmp.
public func benchRootDirectory() -> String {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment["ROOST_BENCH_DIR"], !dir.isEmpty { return dir }
    return (environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp") + "/roost-bench"
}

public enum BenchFiles {
    /// Removes `path` if it exists and creates it (and its parents) empty.
    public static func freshDirectory(_ path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Regular files directly in `directory`, sorted by name.
    public static func files(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { directory + "/" + $0 }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    public static func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Makes `paths` durable and asks the kernel to drop their pages from the page cache, so the next
    /// read comes from the disk (a "cold" read) without touching anything else on the machine.
    public static func dropFromPageCache(_ paths: [String]) {
        for path in paths {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            _ = fsync(fd)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
            close(fd)
        }
    }

    /// The anchor for reading: `pread` each file whole into one buffer, nothing else. Returns the bytes read.
    public static func rawRead(_ paths: [String]) throws -> Int {
        var total = 0
        for path in paths {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw BenchError("open \(path): errno \(errno)") }
            defer { close(fd) }
            let count = size(path)
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(done)) }
                guard got > 0 else { throw BenchError("pread \(path): errno \(errno)") }
                done += got
            }
            total += done
        }
        return total
    }

    /// The anchor for durable writing: `pwrite` `bytes` to a new file, `fsync` it, rename it into place and
    /// `fsync` the directory (what `SnapshotStore.write` does, minus the header and checksum).
    public static func rawDurableWrite(_ bytes: [UInt8], directory: String, name: String) throws {
        let path = directory + "/" + name
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("open \(path).tmp: errno \(errno)") }
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(done)) }
            guard wrote > 0 else { close(fd); throw BenchError("pwrite: errno \(errno)") }
            done += wrote
        }
        guard fsync(fd) == 0 else { close(fd); throw BenchError("fsync: errno \(errno)") }
        close(fd)
        guard rename(path + ".tmp", path) == 0 else { throw BenchError("rename: errno \(errno)") }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Counts the log's `fdatasync`/`fsync` calls (through the `StorageIO` seam), to show how many
/// records each group commit carried.
public final class SyncCounter: Sendable {
    let dataSyncs = Atomic<Int>(0)
    let fullSyncs = Atomic<Int>(0)

    public init() {}

    public var dataSyncCount: Int { dataSyncs.load(ordering: .relaxed) }
    public var fullSyncCount: Int { fullSyncs.load(ordering: .relaxed) }

    /// The system calls, counted.
    public var io: StorageIO {
        let system = StorageIO.system
        return StorageIO(
            write: system.write,
            fdatasync: { [self] fd in
                dataSyncs.add(1, ordering: .relaxed)
                return system.fdatasync(fd)
            },
            fsync: { [self] fd in
                fullSyncs.add(1, ordering: .relaxed)
                return system.fsync(fd)
            }
        )
    }
}

/// Latency percentiles from nanosecond samples, through an HdrHistogram (3 significant digits).
public struct LatencySummary: Sendable {
    public var count: Int
    public var p50Micros: Double
    public var p90Micros: Double
    public var p99Micros: Double
    public var p999Micros: Double
    public var maxMicros: Double
    public var meanMicros: Double

    public init<S: Sequence>(nanoseconds samples: S) where S.Element == [UInt64] {
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
        for batch in samples {
            for value in batch { _ = histogram.record(max(1, value)) }
        }
        count = Int(histogram.totalCount)
        func micros(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
        p50Micros = micros(50)
        p90Micros = micros(90)
        p99Micros = micros(99)
        p999Micros = micros(99.9)
        maxMicros = Double(histogram.max) / 1000
        meanMicros = histogram.mean / 1000
    }
}

/// A fast deterministic generator (SplitMix64) for synthetic data: the same seed, the same data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
