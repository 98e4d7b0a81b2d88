import Foundation
import Glibc
import RoostTestSupport

@testable import RoostCache

/// The shared test server `make test` starts (`redis://127.0.0.1:<port>`), if any.
let sharedRedisURL = ProcessInfo.processInfo.environment["ROOST_TEST_REDIS_URL"]
let redisAvailable = sharedRedisURL != nil

/// A key prefix no other test (or earlier run) uses.
func uniqueNamespace() -> String { "roost-test-\(UInt64.random(in: 0...UInt64.max)):" }

/// A client for the shared test server, with short timeouts.
func sharedClient(connections: Int = 4) throws -> RedisClient {
    var configuration = try RedisConfiguration(url: sharedRedisURL ?? "")
    configuration.connections = connections
    configuration.commandTimeout = .seconds(2)
    return RedisClient(configuration: configuration, logger: quietLogger)
}

/// A loopback TCP port nothing listens on right now (bound to port 0, read back, released).
func freeLoopbackPort() -> Int {
    let socket = LoopbackSocket()
    return socket.port
}

/// A listening loopback socket that never accepts: connects succeed (the kernel's backlog takes
/// them) but nothing is ever answered, which is how a hung server looks to a client.
final class LoopbackSocket {
    let descriptor: Int32
    let port: Int

    init(listening: Bool = false) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) } }
        if listening { _ = listen(descriptor, 16) }
        var length = size
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return result == 0
}

/// A throwaway redis-server of the test's own, on a port of its choosing, that the test may kill.
final class PrivateRedis {
    enum Failure: Error { case notFound, didNotStart }

    let port: Int
    private let extraArguments: [String]
    private var process: Process?

    init(port: Int = freeLoopbackPort(), arguments: [String] = []) throws {
        self.port = port
        extraArguments = arguments
        try start()
    }

    deinit { kill() }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts redis-server on `port` and waits until it accepts connections.
    func start() throws {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
            .split(separator: ":")
            .map { "\($0)/redis-server" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw Failure.notFound }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", FileManager.default.temporaryDirectory.path,
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(5)
        while !isListening(port: port) {
            guard ContinuousClock.now < deadline, process.isRunning else { throw Failure.didNotStart }
            usleep(5_000)
        }
    }

    /// SIGKILLs the server (no goodbye to clients) and waits for it to exit.
    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }
}
