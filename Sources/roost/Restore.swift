import ArgumentParser
import Foundation
import RoostAPI
import RoostEngine

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the state at a snapshot, or at a point in time by replaying the WAL up to an LSN or a timestamp.",
        discussion: """
            The server must be stopped (the data directory's lock is taken). The current wal/ and snapshots/ are \
            moved to pre-restore-<time>/ in the data directory, never deleted.
            """
    )

    @Option(help: "A snapshot's LSN (or its file name) to restore exactly.") var snapshot: String?
    @Option(help: "Replay up to this LSN (a number) or time (RFC 3339, e.g. 2026-11-25T10:00:00Z).") var until: String?
    @OptionGroup var data: DataDirectoryOption

    func validate() throws {
        guard (snapshot == nil) != (until == nil) else { throw ValidationError("pass exactly one of --snapshot and --until") }
        _ = try target()
    }

    func target() throws -> RestoreTarget {
        if let snapshot {
            let digits = snapshot.split(separator: "/").last.map { String($0.prefix { $0.isNumber }) } ?? ""
            guard let lsn = UInt64(digits) else { throw ValidationError("--snapshot takes an LSN or a snapshot file name, not \(snapshot)") }
            return .snapshot(lsn)
        }
        let text = until ?? ""
        if let lsn = UInt64(text) { return .lsn(lsn) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let time = ISO8601DateFormatter().date(from: text) ?? formatter.date(from: text) { return .time(time) }
        throw ValidationError("--until takes an LSN or an RFC 3339 time, not \(text)")
    }

    func run() async throws {
        let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory)
        try requireExistingState(configuration)
        let report = try Engine.restore(
            options: configuration.engineOptions(), aggregates: roostAggregates, target: try target(), logger: logger
        )
        print("restored through LSN \(report.restoredLSN) (snapshot \(report.snapshotUsed.map(String.init) ?? "none") + \(report.recordsReplayed) WAL records)")
        print("previous state kept in \(report.previousStateDirectory)")
        if let damage = report.stoppedAt { print("note: replay stopped early at \(damage)") }
    }
}
