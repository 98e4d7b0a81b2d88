// roost-bench: runs Roost's storage workloads once and prints exact numbers, one `RESULT key=value…`
// line per measurement (scripts/bench.sh reads them). The ordo-one suite runs the same workloads.
//
//   roost-bench wal      [--appenders 1,16,256,1024] [--preallocate false,true] [--seconds 3] [--warmup 1]
//                        [--payload 256] [--segment-bytes 67108864]
//   roost-bench replay   [--records 1000000] [--engine true|false] [--shards 4]
//   roost-bench snapshot [--listings 1000000]
//   roost-bench all      (all three, defaults)
//   roost-bench search   [--listings 1000000] [--shards 4] [--queries 2000] [--warmup 100] [--data-dir D] [--keep]
//                        [--start YYYY-MM-DD] [--seed 42] [--breakdown] [--ids-file F] [--free-calendars]
//                        synthetic listings (SearchWorkload.swift) loaded into an Engine, then the search queries through
//                        ListingService.search; --keep snapshots and keeps D (default <dir>/search-data) for `roost serve`;
//                        --breakdown first measures the records alone (no engine); --ids-file writes the listings'
//                        ids, one per line (scripts/bench-bookings.sh books them over HTTP).
//                        Not part of `all`.
//   roost-bench bookings [--listings 100000] [--clients 8,256] [--shards 4] [--seconds 10] [--warmup 2] [--seed 42]
//                        [--gathering true,false] [--preallocate false,true]
//                        durable holds through the engine (BookingWorkload.swift), each client count in turn (with the
//                        WAL's commit gathering on and segments not zero-filled, as `roost serve` runs, or each
//                        setting given), then
//                        decide + apply alone (durability off) for --seconds. Not part of `all`.
// Every command takes --dir DIR (default: ROOST_BENCH_DIR, else $TMPDIR/roost-bench); its files are removed.
import Foundation
import RoostBenchKit
import RoostDomain
import RoostEngine
import RoostStorage

/// Unbuffered, so lines appear as each measurement finishes even when piped.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

struct Options {
    var command: String
    var values: [String: String] = [:]

    init(_ arguments: [String]) throws {
        guard let command = arguments.first else { throw BenchError("usage: roost-bench wal|replay|snapshot|all|search|bookings [--option value]...") }
        self.command = command
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            if Self.switches.contains(flag) {  // no value
                values[String(flag.dropFirst(2))] = "true"
                continue
            }
            guard flag.hasPrefix("--"), let value = rest.popFirst() else { throw BenchError("expected --option value, got \(flag)") }
            values[String(flag.dropFirst(2))] = value
        }
    }

    /// Flags that take no value.
    static let switches: Set<String> = ["--keep", "--breakdown", "--free-calendars"]

    func string(_ name: String, _ fallback: String) -> String { values[name] ?? fallback }
    func int(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else { throw BenchError("--\(name) \(text): not an integer") }
        return value
    }
    func double(_ name: String, _ fallback: Double) throws -> Double {
        guard let text = values[name] else { return fallback }
        guard let value = Double(text) else { throw BenchError("--\(name) \(text): not a number") }
        return value
    }
    func ints(_ name: String, _ fallback: [Int]) throws -> [Int] {
        guard let text = values[name] else { return fallback }
        return try text.split(separator: ",").map { part in
            guard let value = Int(part) else { throw BenchError("--\(name) \(text): not a list of integers") }
            return value
        }
    }
    func bools(_ name: String, _ fallback: [Bool]) throws -> [Bool] {
        guard let text = values[name] else { return fallback }
        return try text.split(separator: ",").map { part in
            guard let value = Bool(String(part)) else { throw BenchError("--\(name) \(text): not a list of true/false") }
            return value
        }
    }
}

func report(_ line: String) { say("RESULT " + line) }

func runWAL(_ options: Options, root: String) async throws {
    let appenders = try options.ints("appenders", [1, 16, 256, 1024])
    let preallocate = try options.bools("preallocate", [false, true])
    let seconds = try options.double("seconds", 3)
    let warmup = try options.double("warmup", 1)
    let payload = try options.int("payload", 256)
    let segmentBytes = try options.int("segment-bytes", WALLimits.default.segmentBytes)
    for prealloc in preallocate {
        for count in appenders {
            let config = WALAppendConfig(
                appenders: count, preallocate: prealloc, payloadBytes: payload, warmupSeconds: warmup, seconds: seconds,
                segmentBytes: segmentBytes
            )
            let result = try await WALAppendWorkload.run(directory: root + "/wal-append", config: config)
            report(result.line)
        }
    }
}

func runReplay(_ options: Options, root: String) async throws {
    let records = try options.int("records", 1_000_000)
    let payload = try options.int("payload", 256)
    let prepared = try await ReplayWorkload.prepare(directory: root + "/replay-wal", records: records, payloadBytes: payload)
    defer { BenchFiles.remove(prepared.directory) }
    say(
        "# replay: \(records) records of \(payload) B in \(prepared.segments) segments, \(prepared.bytes) bytes, "
            + "written in \(String(format: "%.2f", prepared.writeSeconds)) s")
    report(try ReplayWorkload.recover(prepared, cold: false).line)  // the first read after writing: pages still cached
    report(try ReplayWorkload.recover(prepared, cold: false).line)
    report(try ReplayWorkload.recover(prepared, cold: true).line)
    report(try ReplayWorkload.rawRead(prepared, cold: false).line)
    report(try ReplayWorkload.rawRead(prepared, cold: true).line)

    if options.string("engine", "true") == "true" {
        let shards = try options.int("shards", EngineOptions.defaultShardCount)
        let dataDirectory = root + "/replay-engine"
        defer { BenchFiles.remove(dataDirectory) }
        _ = try await EngineReplayWorkload.prepare(dataDirectory: dataDirectory, records: records, shardCount: shards, payloadBytes: payload)
        report(try await EngineReplayWorkload.open(dataDirectory: dataDirectory, records: records, shardCount: shards, cold: false).line)
        report(try await EngineReplayWorkload.open(dataDirectory: dataDirectory, records: records, shardCount: shards, cold: true).line)
    }
}

func runSnapshot(_ options: Options, root: String) throws {
    let count = try options.int("listings", 1_000_000)
    let (seconds, listings) = BenchClock.time { BenchListing.generate(count: count) }
    say("# snapshot: generated \(count) listings in \(String(format: "%.2f", seconds)) s")
    report(try SnapshotWorkload.run(directory: root + "/snapshot", listings: listings).line)
}

func runBookings(_ options: Options, root: String) async throws {
    let listings = try options.int("listings", 100_000), seconds = try options.double("seconds", 10), seed = UInt64(try options.int("seed", 42))
    for clients in try options.ints("clients", [8, 256]) {
        for gathering in try options.bools("gathering", [true]) {
            for preallocate in try options.bools("preallocate", [false]) {
                try await BookingWorkload.runDurable(
                    BookingWorkload.Config(
                        listings: listings, shards: try options.int("shards", EngineOptions.defaultShardCount), clients: clients, seconds: seconds,
                        warmup: try options.double("warmup", 2), dataDirectory: root + "/bookings-data", seed: seed, gathering: gathering,
                        preallocate: preallocate
                    ), say: say)
            }
        }
    }
    BookingWorkload.runDecisions(listings: listings, seconds: seconds, seed: seed, say: say)
}

func runSearch(_ options: Options, root: String) async throws {
    let start: CalendarDay
    if let text = options.values["start"] {
        guard let day = CalendarDay(iso: text) else { throw BenchError("--start \(text): not a date YYYY-MM-DD") }
        start = day
    } else {
        start = SearchData.anchorStart
    }
    var config = SearchWorkload.Config(
        listings: try options.int("listings", 1_000_000), shards: try options.int("shards", EngineOptions.defaultShardCount),
        queries: try options.int("queries", 2000), warmup: try options.int("warmup", 100),
        dataDirectory: options.string("data-dir", root + "/search-data"), keep: options.string("keep", "false") == "true",
        start: start, seed: UInt64(try options.int("seed", 42))
    )
    config.breakdown = options.string("breakdown", "false") == "true"
    config.freeCalendars = options.string("free-calendars", "false") == "true"
    try await SearchWorkload.run(config, say: say)
    // The listings' ids, one per line, for load generators that book them over HTTP.
    if let path = options.values["ids-file"] {
        let ids = (0..<config.listings).map { SearchData.listingID($0) + "\n" }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(ids.utf8)) else { throw BenchError("cannot write --ids-file \(path)") }
    }
}

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let root = options.string("dir", benchRootDirectory())
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    say("# roost-bench \(options.command) in \(root)")
    switch options.command {
    case "wal": try await runWAL(options, root: root)
    case "replay": try await runReplay(options, root: root)
    case "snapshot": try runSnapshot(options, root: root)
    case "all":
        try await runWAL(options, root: root)
        try await runReplay(options, root: root)
        try runSnapshot(options, root: root)
    case "search": try await runSearch(options, root: root)
    case "bookings": try await runBookings(options, root: root)
    default: throw BenchError("unknown command \(options.command): wal|replay|snapshot|all|search|bookings")
    }
} catch {
    FileHandle.standardError.write(Data("roost-bench: \(error)\n".utf8))
    exit(1)
}
