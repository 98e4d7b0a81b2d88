import ArgumentParser
import Foundation
import RoostAPI
import RoostEngine
import RoostStorage

struct WAL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "Inspect the write-ahead log (read-only; safe while a server runs).",
        subcommands: [Verify.self, Dump.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record's checksum, the LSN sequence and the checksum chain, and every snapshot."
        )
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let (configuration, _) = try loadConfiguration(dataDirectory: data.dataDirectory)
            try requireExistingState(configuration)
            let options = configuration.engineOptions()
            let scanner = WALScanner(directory: options.walDirectory, limits: options.wal.limits)
            var scan = try scanner.scan { _ in }
            print("wal: \(scan.segments.count) segments, \(scan.recordsVisited) records, last LSN \(scan.lastLSN)")
            let store = SnapshotStore(directory: options.snapshotDirectory)
            var bad = 0, newestGood: UInt64?
            for lsn in try store.list() {
                do {
                    let body = try store.load(lsn: lsn)
                    print("snapshot \(lsn): ok (\(body.count) bytes)")
                    newestGood = lsn
                } catch {
                    bad += 1
                    print("snapshot \(lsn): DAMAGED: \(error)")
                }
            }
            // A gap in the LSNs that a good snapshot covers is what `serve --repair` leaves when it cuts below a
            // snapshot: start-up accepts it, and so does this, saying so.
            if let gap = scan.damage, gap.offset == 0, gap.reason.hasPrefix("expected first LSN"), let newestGood,
                let covered = try? scanner.scan(after: newestGood, visit: { _ in }), covered.damage == nil
            {
                print("wal: the LSNs missing before \(gap.segment) are covered by snapshot \(newestGood) (a gap a repair leaves)")
                scan = covered
            }
            if let damage = scan.damage {
                throw OperationFailed("wal: \(damage)")
            }
            if bad > 0 { throw OperationFailed("\(bad) damaged snapshot(s)") }
            print("ok")
        }
    }

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print records readably, one per line.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "First LSN to print.") var from: UInt64 = 1
        @Option(help: "Print at most this many records.") var limit: Int = .max

        func run() async throws {
            guard limit >= 0 else { throw OperationFailed("--limit must be 0 or more (got \(limit))") }
            let (configuration, _) = try loadConfiguration(dataDirectory: data.dataDirectory)
            try requireExistingState(configuration)
            let options = configuration.engineOptions()
            var printed = 0
            struct Enough: Error {}
            let scan: WALScanResult?
            do {
                // LSNs start at 1: `--from 0` is the start too.
                scan = try WALScanner(directory: options.walDirectory, limits: options.wal.limits).scan(after: max(from, 1) - 1) { record in
                    guard printed < limit else { throw Enough() }
                    print(Journal.describe(record, aggregates: roostAggregates))
                    printed += 1
                }
            } catch is Enough {
                scan = nil
            }
            if let damage = scan?.damage { throw OperationFailed("stopped at \(damage)") }
        }
    }
}
