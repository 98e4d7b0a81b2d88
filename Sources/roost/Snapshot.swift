import ArgumentParser
import Foundation
import Glibc
import RoostAPI
import RoostEngine
import RoostStorage

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a snapshot: through the running server that owns the data directory, or offline if none does."
    )

    @OptionGroup var data: DataDirectoryOption
    @Option(help: "Seconds to wait for a running server's snapshot.") var timeout = 120

    func run() async throws {
        let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory)
        try requireExistingState(configuration)
        let options = configuration.engineOptions()
        if let pid = DataDirectoryLock.owner(of: options.dataDirectory) {
            try await requestOnline(pid: pid, options: options)
            return
        }
        let engine = try Engine.open(options: options, aggregates: roostAggregates, logger: logger)
        defer { engine.close() }
        let lsn = try await engine.snapshot()
        print("snapshot written offline: \(options.snapshotDirectory)/\(SnapshotStore.fileName(lsn: lsn))")
    }

    /// Signals the server (SIGUSR1) and waits for a snapshot file newer than any there now.
    private func requestOnline(pid: Int32, options: EngineOptions) async throws {
        let before = snapshotFiles(options.snapshotDirectory)
        guard kill(pid, SIGUSR1) == 0 else {
            throw OperationFailed("process \(pid) holds \(options.dataDirectory) but cannot be signalled: \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let after = snapshotFiles(options.snapshotDirectory)
            if let fresh = after.first(where: { name, modified in (before[name] ?? .distantPast) < modified }) {
                print("snapshot written by the running server (pid \(pid)): \(options.snapshotDirectory)/\(fresh.key)")
                return
            }
        }
        throw OperationFailed("the server (pid \(pid)) wrote no snapshot within \(timeout) s; see its log")
    }

    private func snapshotFiles(_ directory: String) -> [String: Date] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var files: [String: Date] = [:]
        for name in names where name.hasSuffix(".snapshot") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            files[name] = attributes?[.modificationDate] as? Date ?? .distantPast
        }
        return files
    }
}
