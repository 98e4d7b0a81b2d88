import RoostBinary
import RoostDomain
import Testing

/// Kept answers: one per scope for a day, then forgotten; through the binary round trip.
struct IdempotencyTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    func answer(_ scope: String, at: Timestamp) -> Idempotency.Answer {
        Idempotency.Answer(scope: scope, fingerprint: [1, 2, 3], status: 201, contentType: "application/json", body: Array(#"{"id":"bkg_1"}"#.utf8), savedAt: at)
    }

    func decide(_ command: Idempotency.Command, _ state: Idempotency.State, at: Timestamp) -> Result<[Idempotency.Event], Idempotency.Rejection> {
        Idempotency.decide(command, state: state, context: DecisionContext(now: at))
    }

    @Test func oneAnswerPerScopeForADay() throws {
        var state = Idempotency.initialState()
        for event in try decide(.save(answer("usr_a|k", at: t0)), state, at: t0).get() { Idempotency.apply(event, to: &state) }
        #expect(decide(.save(answer("usr_a|k", at: t0)), state, at: t0) == .failure(.answered))
        let nextDay = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + Idempotency.keptMilliseconds)
        #expect((try? decide(.save(answer("usr_a|k", at: nextDay)), state, at: nextDay).get()) != nil, "a day later the key is free again")
        #expect((try? decide(.save(answer("usr_b|k", at: t0)), state, at: t0).get()) != nil, "another user's key")
        let forgotten = try decide(.forget(before: nextDay), state, at: nextDay).get()
        #expect(forgotten == [.forgotten(["usr_a|k"])])
        #expect(try decide(.forget(before: t0), state, at: nextDay).get() == [], "nothing older")
    }

    @Test func answersSurviveTheBinaryRoundTrip() throws {
        var state = Idempotency.initialState()
        Idempotency.apply(.saved(answer("usr_a|k1", at: t0)), to: &state)
        Idempotency.apply(.saved(answer("usr_a|k2", at: t0)), to: &state)
        for event: Idempotency.Event in [.saved(answer("usr_ü|clé", at: t0)), .forgotten(["a", "b"])] {
            #expect(try roundTrip(event) == event)
        }
        #expect(try roundTrip(state: state, of: Idempotency.self) == state)
    }
}
