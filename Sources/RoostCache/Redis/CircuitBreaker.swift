import Synchronization

/// The state of a `RedisClient`'s circuit breaker.
public enum CircuitState: Sendable, Equatable {
    /// Calls go to Redis.
    case closed
    /// Calls fail at once with `RedisError.circuitOpen` until the cool-down ends.
    case open
    /// The cool-down has ended and one probe call is on its way; the others still fail fast.
    case halfOpen
}

/// Counts consecutive transport failures; after `failureThreshold` of them it opens for a
/// cool-down, then lets a single probe through. A failed probe reopens it for twice as long
/// (up to `maxCooldown`), which is the client's reconnect backoff; any success closes it.
///
/// Time is passed in, so the state machine is tested without sleeping.
final class CircuitBreaker: Sendable {
    struct Policy: Sendable {
        var failureThreshold: Int
        var cooldown: Duration
        var maxCooldown: Duration
    }

    /// A change worth logging.
    enum Transition: Equatable {
        /// Opened after consecutive failures while closed.
        case opened(cooldown: Duration)
        /// The half-open probe failed: open again, for longer.
        case reopened(cooldown: Duration)
        case closed
    }

    private enum Phase {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant, cooldown: Duration)
        case halfOpen(cooldown: Duration)
    }

    private struct State {
        var phase = Phase.closed(failures: 0)
        var generation: UInt64 = 0
    }

    private let policy: Policy
    private let state = Mutex(State())

    init(policy: Policy) {
        self.policy = Policy(
            failureThreshold: max(1, policy.failureThreshold),
            cooldown: max(.milliseconds(1), policy.cooldown),
            maxCooldown: max(policy.cooldown, policy.maxCooldown)
        )
    }

    var current: CircuitState {
        state.withLock { state in
            switch state.phase {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .halfOpen
            }
        }
    }

    /// Increases each time the breaker opens. Connections opened in an earlier generation are
    /// dropped before use, so after an outage every worker reconnects instead of finding out
    /// one failed call at a time that its socket is dead.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether a call should fail without even being queued (open and still cooling down, or a probe is out).
    func rejects(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            switch state.phase {
            case .closed: false
            case .open(let until, _): now < until
            case .halfOpen: true
            }
        }
    }

    /// Asks to run a call now. Once the cool-down is over, the first caller becomes the probe.
    func admit(at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            switch state.phase {
            case .closed:
                return true
            case .open(let until, let cooldown):
                guard now >= until else { return false }
                state.phase = .halfOpen(cooldown: cooldown)
                return true
            case .halfOpen:
                return false
            }
        }
    }

    /// Redis answered (even with an error reply): the breaker closes.
    func recordSuccess() -> Transition? {
        state.withLock { state in
            if case .closed = state.phase {
                state.phase = .closed(failures: 0)
                return nil
            }
            state.phase = .closed(failures: 0)
            return .closed
        }
    }

    /// A transport failure: counts towards opening, or reopens after a failed probe.
    func recordFailure(at now: ContinuousClock.Instant) -> Transition? {
        state.withLock { state in
            switch state.phase {
            case .closed(let failures):
                guard failures + 1 >= policy.failureThreshold else {
                    state.phase = .closed(failures: failures + 1)
                    return nil
                }
                Self.open(&state, now: now, cooldown: policy.cooldown)
                return .opened(cooldown: policy.cooldown)
            case .halfOpen(let cooldown):
                let longer = min(cooldown * 2, policy.maxCooldown)
                Self.open(&state, now: now, cooldown: longer)
                return .reopened(cooldown: longer)
            case .open:
                return nil  // a call admitted before the breaker opened; already counted
            }
        }
    }

    private static func open(_ state: inout State, now: ContinuousClock.Instant, cooldown: Duration) {
        state.phase = .open(until: now + cooldown, cooldown: cooldown)
        state.generation &+= 1
    }
}
