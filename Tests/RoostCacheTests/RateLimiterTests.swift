import Testing

@testable import RoostCache

@Suite struct InProcessRateLimiterTests {
    @Test func allowsTheLimitThenDeniesUntilTheWindowEnds() async {
        let clock = ManualClock()
        let limiter = InProcessRateLimiter(now: { clock.now })
        for expectedRemaining in [2, 1, 0] {
            #expect(await limiter.attempt("login:a", limit: 3, window: .seconds(60)) == .init(allowed: true, remaining: expectedRemaining, retryAfterSeconds: 0))
        }
        #expect(await limiter.attempt("login:a", limit: 3, window: .seconds(60)) == .init(allowed: false, remaining: 0, retryAfterSeconds: 60))
        #expect(await limiter.attempt("login:b", limit: 3, window: .seconds(60)).allowed, "keys are counted apart")

        clock.advance(seconds: 59)
        let late = await limiter.attempt("login:a", limit: 3, window: .seconds(60))
        #expect(late == .init(allowed: false, remaining: 0, retryAfterSeconds: 1), "denied attempts do not extend the window")

        clock.advance(seconds: 1)
        #expect(await limiter.attempt("login:a", limit: 3, window: .seconds(60)) == .init(allowed: true, remaining: 2, retryAfterSeconds: 0))
    }

    @Test func retryAfterRoundsUpSubSecondWindows() async {
        let clock = ManualClock()
        let limiter = InProcessRateLimiter(now: { clock.now })
        _ = await limiter.attempt("k", limit: 1, window: .milliseconds(1500))
        let denied = await limiter.attempt("k", limit: 1, window: .milliseconds(1500))
        #expect(!denied.allowed && denied.retryAfterSeconds == 2)
        clock.advance(by: .milliseconds(700))
        let later = await limiter.attempt("k", limit: 1, window: .milliseconds(1500))
        #expect(!later.allowed && later.retryAfterSeconds == 1, "0.8 s left rounds up to 1")
        let zero = await limiter.attempt("z", limit: 0, window: .milliseconds(10))
        #expect(!zero.allowed && zero.retryAfterSeconds == 1, "a zero limit denies everything, with Retry-After at least 1")
    }

    @Test func expiredWindowsArePurged() async {
        let clock = ManualClock()
        let limiter = InProcessRateLimiter(now: { clock.now })
        for index in 0..<500 { _ = await limiter.attempt("ip:\(index)", limit: 5, window: .seconds(10)) }
        #expect(limiter.count == 500)
        clock.advance(seconds: 10)
        limiter.purgeExpired()
        #expect(limiter.count == 0)

        for index in 0..<500 { _ = await limiter.attempt("ip:\(index)", limit: 5, window: .seconds(10)) }
        clock.advance(seconds: 61)
        _ = await limiter.attempt("fresh", limit: 5, window: .seconds(10))
        #expect(limiter.count == 1, "a minute after the last sweep the next attempt sweeps")
    }

    @Test func aFloodOfKeysStaysWithinTheBound() async {
        let clock = ManualClock()
        let limiter = InProcessRateLimiter(entriesMax: 100, now: { clock.now })
        for index in 0..<1000 {
            clock.advance(by: .milliseconds(10))
            _ = await limiter.attempt("ip:\(index)", limit: 5, window: .seconds(600))
        }
        #expect(limiter.count <= 100)
        #expect(await limiter.attempt("ip:999", limit: 1, window: .seconds(600)).allowed == false, "the newest windows are kept")
    }
}

@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now
    let breaker = CircuitBreaker(policy: .init(failureThreshold: 3, cooldown: .seconds(1), maxCooldown: .seconds(3)))

    @Test func opensAfterConsecutiveFailuresAndFailsFast() {
        #expect(breaker.recordFailure(at: start) == nil)
        #expect(breaker.recordFailure(at: start) == nil)
        #expect(breaker.recordSuccess() == nil, "a success resets the count")
        #expect(breaker.recordFailure(at: start) == nil)
        #expect(breaker.recordFailure(at: start) == nil)
        #expect(breaker.current == .closed)
        let generation = breaker.generation
        #expect(breaker.recordFailure(at: start) == .opened(cooldown: .seconds(1)))
        #expect(breaker.current == .open)
        #expect(breaker.generation == generation + 1, "connections made before the opening are dropped")
        #expect(breaker.rejects(at: start + .milliseconds(999)))
        #expect(!breaker.admit(at: start + .milliseconds(999)))
    }

    @Test func halfOpenLetsOneProbeThroughAndBacksOff() {
        for _ in 0..<3 { _ = breaker.recordFailure(at: start) }
        let afterCooldown = start + .seconds(1)
        #expect(!breaker.rejects(at: afterCooldown))
        #expect(breaker.admit(at: afterCooldown), "the first call after the cool-down is the probe")
        #expect(breaker.current == .halfOpen)
        #expect(!breaker.admit(at: afterCooldown), "only one probe at a time")
        #expect(breaker.rejects(at: afterCooldown))

        #expect(breaker.recordFailure(at: afterCooldown) == .reopened(cooldown: .seconds(2)))
        #expect(breaker.admit(at: afterCooldown + .seconds(2)))
        #expect(breaker.recordFailure(at: afterCooldown + .seconds(2)) == .reopened(cooldown: .seconds(3)), "capped")
        #expect(breaker.admit(at: afterCooldown + .seconds(5)))
        #expect(breaker.recordSuccess() == .closed)
        #expect(breaker.current == .closed)
        #expect(breaker.admit(at: afterCooldown + .seconds(5)))
    }
}
