import ArgumentParser
import Foundation
import Logging
import NIOCore
import RoostAPI
import RoostEngine
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover state from the data directory, then serve the HTTP API until SIGTERM or SIGINT."
    )

    @Option(help: "Address to listen on (default: ROOST_HOST, else 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default: ROOST_PORT, else 8080).") var port: Int?
    @OptionGroup var data: DataDirectoryOption
    @Flag(help: "Truncate the WAL at mid-log corruption instead of refusing to start (keeps .broken copies).")
    var repair = false

    func run() async throws {
        let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory) { configuration in
            if let host { configuration.host = host }
            if let port { configuration.port = port }
        }
        _ = roostMetrics  // bootstrapped before the engine makes its WAL's counters, or they count into nothing
        let engine = try Engine.open(options: configuration.engineOptions(repair: repair), aggregates: roostAggregates, logger: logger)
        let services = try await RoostServices.start(configuration: configuration, engine: engine, logger: logger)
        defer { Task { await services.shutdown() } }
        let application = buildApplication(configuration: configuration, engine: engine, services: services, logger: logger)
        let interval = configuration.snapshotIntervalSeconds > 0 ? Duration.seconds(configuration.snapshotIntervalSeconds) : nil
        let engineService = EngineService(engine: engine, interval: interval, snapshotSignal: .sigusr1, logger: logger)
        // Services stop in reverse order: the HTTP server drains first, then the engine snapshots and closes the journal.
        var background: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: engineService), .init(service: services.scheduler(logger: logger))]
        if let refresher = services.fxRefresher(configuration: configuration, logger: logger) { background.append(.init(service: refresher)) }
        let group = ServiceGroup(
            configuration: .init(
                services: background + [.init(service: application)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        // Hummingbird logs "Server started and listening" once the port is bound.
        logger.info(
            "roost starting",
            metadata: ["http.address": "\(configuration.host):\(configuration.port)", "data.dir": "\(configuration.dataDirectory)"]
        )
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw OperationFailed("cannot listen on \(configuration.host):\(configuration.port): another process is using that address (set --port or ROOST_PORT)")
        }
    }
}
