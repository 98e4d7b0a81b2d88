import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RoostDomain
import RoostEngine

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

/// `Idempotency-Key` on the POSTs it guards, with Stripe's semantics: the first request with a
/// key runs and its answer is kept (durably, 24 hours, per user); the same key with the same
/// request (method, path, body) gets that answer again, marked `Idempotent-Replayed: true`; with
/// another request, 422 `idempotency_key_reused`. Requests racing with one key run once: the
/// others wait for the first and replay it. Every answer is kept — a 500 too, as money may have
/// moved before it — except 503 and 429, which Roost answers only when it did nothing (a retry
/// then runs again), or for a booking whose payment it could not record, saying so (a retry finds
/// that booking: `BookingService.keyedBookingID`). Goes after the route's `AccessGuard` (it needs the user).
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = RoostRequestContext
    let store: IdempotencyStore
    let bodyLimit: Int

    static let keyLengthMax = 255

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else { return try await next(request, context) }
        guard (1...Self.keyLengthMax).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Problem.validation([.init(field: "Idempotency-Key", message: "must be 1 to \(Self.keyLengthMax) visible ASCII characters")])
        }
        let principal = try context.requirePrincipal()
        let body = try await request.collectBody(limit: bodyLimit)
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        hasher.update(data: Array(body.readableBytesView))
        let fingerprint = Array(hasher.finalize())
        let scope = "\(principal.userID)|\(key)"
        let answer: Idempotency.Answer
        var replayed = true
        switch try await store.begin(scope: scope, fingerprint: fingerprint) {
        case let .answered(kept):
            answer = kept
        case let .run(now):
            replayed = false
            let outcome: Result<Idempotency.Answer, any Error>
            var keyed = context
            keyed.idempotencyScope = scope
            do {
                let (status, contentType, bytes) = try await Self.capture(requestID: context.requestID) {
                    try await next(Request(head: request.head, body: .init(buffer: body)), keyed)
                }
                outcome = .success(Idempotency.Answer(scope: scope, fingerprint: fingerprint, status: status, contentType: contentType, body: bytes, savedAt: now))
            } catch {
                outcome = .failure(error)
            }
            answer = try await store.finish(scope: scope, outcome)
        }
        var headers: HTTPFields = [.contentType: answer.contentType]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// Runs the handler and keeps its answer as bytes (an error as the problem+json it becomes).
    static func capture(requestID: String, _ run: () async throws -> Response) async throws -> (status: Int, contentType: String, body: [UInt8]) {
        let response: Response
        do {
            response = try await run()
        } catch {
            guard let problem = Problem.from(error) else { throw error }
            response = ProblemMiddleware.response(for: problem, requestID: requestID)
        }
        let sink = Sink()
        try await response.body.write(Collector(sink: sink))
        return (response.status.code, response.headers[.contentType] ?? "application/json", sink.bytes)
    }

    /// Where `Collector` puts the bytes: written by one task, then read by it.
    private final class Sink: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    private struct Collector: ResponseBodyWriter {
        let sink: Sink
        mutating func write(_ buffer: ByteBuffer) async throws { sink.bytes += buffer.readableBytesView }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

/// The answers kept for idempotency keys, and the requests running now (one per key: the
/// others with that key wait for it).
actor IdempotencyStore {
    let group: ShardGroup<Idempotency>
    let clock: @Sendable () -> Date
    private var running: [String: (fingerprint: [UInt8], waiting: [CheckedContinuation<Idempotency.Answer, any Error>])] = [:]

    init(group: ShardGroup<Idempotency>, clock: @escaping @Sendable () -> Date) {
        self.group = group
        self.clock = clock
    }

    enum Start {
        /// Answer with this (kept, or the running request's).
        case answered(Idempotency.Answer)
        /// Run the request (saving at `now`), then call `finish`.
        case run(now: Timestamp)
    }

    func begin(scope: String, fingerprint: [UInt8]) async throws -> Start {
        if let answer = try await waitForRunning(scope, fingerprint) { return .answered(answer) }
        // Claimed before the first suspension: a request with this key arriving meanwhile waits.
        running[scope] = (fingerprint, [])
        let now = AccountService.timestamp(clock())
        if let kept = group.shard(for: scope).peek({ $0.answers[scope] }), kept.savedAt.millisecondsSinceEpoch + Idempotency.keptMilliseconds > now.millisecondsSinceEpoch {
            let result: Result<Idempotency.Answer, any Error> = kept.fingerprint == fingerprint ? .success(kept) : .failure(Self.reused)
            for continuation in running.removeValue(forKey: scope)?.waiting ?? [] { continuation.resume(with: result) }
            return .answered(try result.get())
        }
        return .run(now: now)
    }

    private func waitForRunning(_ scope: String, _ fingerprint: [UInt8]) async throws -> Idempotency.Answer? {
        guard let current = running[scope] else { return nil }
        guard current.fingerprint == fingerprint else { throw Self.reused }
        return try await withCheckedThrowingContinuation { continuation in running[scope]?.waiting.append(continuation) }
    }

    /// Keeps the answer (unless 503 or 429) and hands it to the requests that waited for it. An
    /// answer that could not be kept is still this request's answer (logged by the engine).
    func finish(scope: String, _ outcome: Result<Idempotency.Answer, any Error>) async throws -> Idempotency.Answer {
        if case let .success(answer) = outcome, answer.status != 503, answer.status != 429 {
            _ = try? await group.shard(for: scope).execute(.save(answer), now: answer.savedAt)
        }
        let waiting = running.removeValue(forKey: scope)?.waiting ?? []
        for continuation in waiting { continuation.resume(with: outcome) }
        return try outcome.get()
    }

    static let reused = Problem(
        .unprocessableContent, code: "idempotency_key_reused", title: "Idempotency key reused",
        detail: "This Idempotency-Key was used with a different request; use a new key for a new request."
    )

    /// Forgets answers older than 24 hours (the scheduler calls this).
    func forgetExpired() async {
        let now = AccountService.timestamp(clock())
        let cutoff = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - Idempotency.keptMilliseconds)
        for shard in group.shards { _ = try? await shard.execute(.forget(before: cutoff), now: now) }
    }
}
