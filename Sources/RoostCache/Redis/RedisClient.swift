import Foundation
import Logging
import Metrics

/// A Redis client over hiredis's blocking API.
///
/// `configuration.connections` dedicated threads (not the Swift concurrency pool, not NIO event
/// loops) each own one connection and take commands from a shared queue; the caller awaits a
/// continuation the worker resumes. Connections open lazily, carry a connect and a command
/// timeout, and are freed on any transport failure so the next command reconnects.
///
/// A circuit breaker guards the pool: after `failureThreshold` consecutive transport failures
/// calls fail at once with `RedisError.circuitOpen` for `cooldown`, then one probe goes
/// through; each failed probe doubles the cool-down (up to `maxCooldown`). Opening is logged
/// once as a warning and recovery once as a notice.
///
/// Metrics: `roost_redis_commands_total{result}` (`ok`, `server_error`, `timeout`,
/// `connection`, `protocol`, `circuit_open`) and the gauge `roost_redis_circuit_open` (0 or 1).
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let shared: Shared

    /// Starts the worker threads; no connection is made until the first command.
    public init(configuration: RedisConfiguration, logger: Logger) {
        var configuration = configuration
        configuration.connections = max(1, configuration.connections)
        self.configuration = configuration
        shared = Shared(configuration: configuration, logger: logger)
        for index in 0..<configuration.connections {
            let shared = shared
            let thread = Thread { shared.work() }
            thread.name = "roost-redis-\(index)"
            thread.start()
        }
    }

    deinit { shared.close() }

    /// Runs one command, its arguments as raw bytes (binary safe).
    public func command(_ arguments: [[UInt8]]) async throws(RedisError) -> RedisReply {
        if shared.breaker.rejects(at: .now) {
            shared.metrics.count(.failure(.circuitOpen))
            throw .circuitOpen
        }
        let result = await withCheckedContinuation { continuation in
            shared.submit(Job(arguments: arguments, continuation: continuation))
        }
        return try result.get()
    }

    /// Runs one command given as strings, as in `command("SET", key, value)`.
    public func command(_ arguments: String...) async throws(RedisError) -> RedisReply {
        try await command(arguments.map { Array($0.utf8) })
    }

    /// `PING`: succeeds when Redis answers.
    public func ping() async throws(RedisError) {
        _ = try await command("PING")
    }

    /// The breaker's state now: `.open` means calls are failing fast.
    public var circuitState: CircuitState { shared.breaker.current }

    /// Stops the worker threads and frees their connections. Queued commands fail with
    /// `.shutdown`; a command already running finishes first (at most the command timeout).
    /// Blocks until the threads have exited. Later calls fail with `.shutdown`.
    public func shutdown() {
        shared.close()
        shared.waitForWorkers()
    }
}

private struct Job: Sendable {
    let arguments: [[UInt8]]
    let continuation: CheckedContinuation<Result<RedisReply, RedisError>, Never>
}

/// What the client and its workers share: the queue, the breaker, logging and metrics.
private final class Shared: @unchecked Sendable {
    let configuration: RedisConfiguration
    let breaker: CircuitBreaker
    let metrics = RedisMetrics()
    let logger: Logger

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false
    private var running: Int

    init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        running = configuration.connections
        breaker = CircuitBreaker(
            policy: .init(
                failureThreshold: configuration.failureThreshold,
                cooldown: configuration.cooldown,
                maxCooldown: configuration.maxCooldown
            )
        )
        metrics.circuitOpen.record(0)
    }

    func submit(_ job: Job) {
        condition.lock()
        guard !closed else {
            condition.unlock()
            job.continuation.resume(returning: .failure(.shutdown))
            return
        }
        jobs.append(job)
        condition.broadcast()
        condition.unlock()
    }

    /// The next job, or nil once closed.
    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !closed { condition.wait() }
        guard !closed, head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    func close() {
        condition.lock()
        let pending = closed ? [] : Array(jobs[head...])
        closed = true
        jobs.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
        for job in pending { job.continuation.resume(returning: .failure(.shutdown)) }
    }

    func waitForWorkers() {
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    /// A worker thread's whole life.
    func work() {
        let connection = RedisConnection(configuration: configuration)
        while let job = next() {
            job.continuation.resume(returning: perform(job.arguments, on: connection))
        }
        connection.close()
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func perform(_ arguments: [[UInt8]], on connection: RedisConnection) -> Result<RedisReply, RedisError> {
        guard breaker.admit(at: .now) else {
            metrics.count(.failure(.circuitOpen))
            return .failure(.circuitOpen)
        }
        let result = connection.execute(arguments, generation: breaker.generation)
        metrics.count(result)
        let transition: CircuitBreaker.Transition? =
            switch result {
            case .failure(let error) where error.isTransportFailure: breaker.recordFailure(at: .now)
            default: breaker.recordSuccess()
            }
        if let transition { report(transition, cause: result) }
        return result
    }

    private func report(_ transition: CircuitBreaker.Transition, cause: Result<RedisReply, RedisError>) {
        var metadata: Logger.Metadata = ["redis.server": "\(configuration.redactedDescription)"]
        if case .failure(let error) = cause { metadata["error"] = "\(error)" }
        switch transition {
        case .opened(let cooldown):
            metrics.circuitOpen.record(1)
            metadata["redis.cooldown"] = "\(cooldown)"
            logger.warning("Redis unavailable: circuit breaker open, cache degraded and rate limits kept in process", metadata: metadata)
        case .reopened(let cooldown):
            metadata["redis.cooldown"] = "\(cooldown)"
            logger.debug("Redis still unavailable: circuit breaker open again", metadata: metadata)
        case .closed:
            metrics.circuitOpen.record(0)
            logger.notice("Redis reachable again: circuit breaker closed", metadata: metadata)
        }
    }
}

private struct RedisMetrics: Sendable {
    let ok = Counter(label: "roost_redis_commands_total", dimensions: [("result", "ok")])
    let serverError = Counter(label: "roost_redis_commands_total", dimensions: [("result", "server_error")])
    let timeout = Counter(label: "roost_redis_commands_total", dimensions: [("result", "timeout")])
    let connection = Counter(label: "roost_redis_commands_total", dimensions: [("result", "connection")])
    let protocolError = Counter(label: "roost_redis_commands_total", dimensions: [("result", "protocol")])
    let circuitOpenCalls = Counter(label: "roost_redis_commands_total", dimensions: [("result", "circuit_open")])
    let circuitOpen = Gauge(label: "roost_redis_circuit_open")

    func count(_ result: Result<RedisReply, RedisError>) {
        switch result {
        case .success: ok.increment()
        case .failure(.server): serverError.increment()
        case .failure(.timeout): timeout.increment()
        case .failure(.connection): connection.increment()
        case .failure(.protocolError): protocolError.increment()
        case .failure(.circuitOpen): circuitOpenCalls.increment()
        case .failure(.shutdown): break
        }
    }
}
