import RoostBinary
import RoostDomain
import Testing

/// The account aggregate's rules, and its events and state surviving the binary round trip.
struct AccountsTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
    let day: Int64 = 86_400_000

    func at(_ offset: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + offset) }

    func family(_ id: String, generation: UInt32 = 0, hash: UInt8 = 1, created: Int64 = 0, lifetime: Int64 = 30 * 86_400_000) -> SessionFamily {
        SessionFamily(id: id, generation: generation, secretHash: [UInt8](repeating: hash, count: 32), createdAt: at(created), expiresAt: at(created + lifetime))
    }

    /// Runs commands through decide + apply, as a shard does; returns the state and each outcome.
    func run(_ commands: [(Accounts.Command, Timestamp)], from start: Accounts.State = Accounts.initialState())
        -> (Accounts.State, [Result<[Accounts.Event], Accounts.Rejection>])
    {
        var state = start
        var outcomes: [Result<[Accounts.Event], Accounts.Rejection>] = []
        for (command, now) in commands {
            let outcome = Accounts.decide(command, state: state, context: DecisionContext(now: now))
            if case let .success(events) = outcome { for event in events { Accounts.apply(event, to: &state) } }
            outcomes.append(outcome)
        }
        return (state, outcomes)
    }

    func ann() -> UserRecord {
        UserRecord(id: "usr_ann", email: "ann@example.com", name: "Ann", role: .guest, passwordHash: "$2b$04$hash", createdAt: t0)
    }

    @Test func registerRecordsTheUserAndItsFirstSession() {
        let (state, outcomes) = run([(.register(ann(), session: family("ses_1")), t0), (.register(ann(), session: nil), t0)])
        #expect(state.users["usr_ann"]?.sessions.keys.sorted() == ["ses_1"])
        #expect(outcomes[1] == .failure(.userExists))
    }

    @Test func rotationAdvancesTheGenerationAndReuseRevokesTheFamily() {
        let rotate = { (generation: UInt32, hash: UInt8, next: UInt8, now: Timestamp) in
            Accounts.Command.rotateSession(
                userID: "usr_ann", familyID: "ses_1", generation: generation, secretHash: [UInt8](repeating: hash, count: 32),
                nextSecretHash: [UInt8](repeating: next, count: 32), nextExpiresAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 30 * 86_400_000)
            )
        }
        let (state, outcomes) = run([
            (.register(ann(), session: family("ses_1")), t0),
            (rotate(0, 1, 2, at(1000)), at(1000)),  // good
            (rotate(1, 9, 3, at(2000)), at(2000)),  // right generation, wrong secret: refused, family kept
            (rotate(1, 2, 3, at(3000)), at(3000)),  // good again
            (rotate(0, 7, 4, at(3500)), at(3500)),  // an old generation with a secret never issued: refused, nothing revoked
            (rotate(1, 2, 4, at(4000)), at(4000)),  // generation 1 (secret 2) was really issued and rotated away: reuse
        ])
        #expect(outcomes[1] == .success([.sessionRotated(userID: "usr_ann", familyID: "ses_1", generation: 1, secretHash: [UInt8](repeating: 2, count: 32), expiresAt: at(1000 + 30 * day))]))
        #expect(outcomes[2] == .failure(.sessionInvalid))
        #expect((try? outcomes[3].get())?.count == 1)
        #expect(outcomes[4] == .failure(.sessionInvalid), "knowing the family id is not enough to end the session")
        #expect(outcomes[5] == .success([.sessionRevoked(userID: "usr_ann", familyID: "ses_1", reason: .reuse)]))
        #expect(state.users["usr_ann"]?.sessions.isEmpty == true)
    }

    @Test func expiredOrUnknownFamiliesAndUsersAreInvalid() {
        let presented = Accounts.Command.rotateSession(
            userID: "usr_ann", familyID: "ses_1", generation: 0, secretHash: [UInt8](repeating: 1, count: 32),
            nextSecretHash: [UInt8](repeating: 2, count: 32), nextExpiresAt: at(99 * day)
        )
        let (_, outcomes) = run([
            (.register(ann(), session: family("ses_1", lifetime: day)), t0),
            (presented, at(day)),  // expired exactly now
            (.rotateSession(userID: "usr_bob", familyID: "ses_1", generation: 0, secretHash: [], nextSecretHash: [], nextExpiresAt: t0), t0),
            (.rotateSession(userID: "usr_ann", familyID: "ses_x", generation: 0, secretHash: [], nextSecretHash: [], nextExpiresAt: t0), t0),
        ])
        #expect(outcomes[1] == .failure(.sessionInvalid))
        #expect(outcomes[2] == .failure(.sessionInvalid))
        #expect(outcomes[3] == .failure(.sessionInvalid))
    }

    @Test func suspensionRevokesSessionsAndRefusesNewOnes() {
        let (state, outcomes) = run([
            (.register(ann(), session: family("ses_1")), t0),
            (.adminUpdate(userID: "usr_ann", suspended: true, role: nil), at(1)),
            (.startSession(userID: "usr_ann", family: family("ses_2", created: 2)), at(2)),
            (.adminUpdate(userID: "usr_ann", suspended: true, role: nil), at(3)),
        ])
        #expect(state.users["usr_ann"]?.suspended == true)
        #expect(state.users["usr_ann"]?.sessions.isEmpty == true)
        #expect(outcomes[2] == .failure(.suspended))
        #expect(outcomes[3] == .success([]), "suspending twice changes nothing")
    }

    @Test func adminRolesAreNeverAssignedOrRemovedHere() {
        var admin = ann()
        admin.id = "usr_root"
        admin.role = .admin
        let (state, outcomes) = run([
            (.register(ann(), session: nil), t0), (.register(admin, session: nil), t0),
            (.adminUpdate(userID: "usr_ann", suspended: nil, role: .admin), t0),
            (.adminUpdate(userID: "usr_root", suspended: nil, role: .guest), t0),
            (.adminUpdate(userID: "usr_ann", suspended: nil, role: .host), t0),
            (.becomeHost(userID: "usr_root"), t0),
        ])
        #expect(outcomes[2] == .failure(.roleNotAssignable(.admin)))
        #expect(outcomes[3] == .failure(.roleNotAssignable(.guest)))
        #expect(state.users["usr_ann"]?.role == .host)
        #expect(state.users["usr_root"]?.role == .admin)
        #expect(outcomes[5] == .success([]))
    }

    @Test func sessionsAreCappedAndExpiredOnesPruned() {
        var commands: [(Accounts.Command, Timestamp)] = [(.register(ann(), session: family("ses_short", lifetime: 10)), t0)]
        for index in 0..<(Accounts.sessionsPerUserMax + 5) {
            commands.append((.startSession(userID: "usr_ann", family: family("ses_\(100 + index)", created: Int64(100 + index))), at(Int64(100 + index))))
        }
        let (state, _) = run(commands)
        let sessions = state.users["usr_ann"]?.sessions ?? [:]
        #expect(sessions.count == Accounts.sessionsPerUserMax)
        #expect(sessions["ses_short"] == nil)
        #expect(sessions["ses_100"] == nil, "the oldest is dropped first")
        #expect(sessions["ses_124"] != nil)
    }

    @Test func profilePhotoAndIdentityChanges() {
        let (state, outcomes) = run([
            (.register(ann(), session: nil), t0),
            (.updateProfile(userID: "usr_ann", ProfileChange(name: "Ann B", phone: .some("+6591234567"), bio: .some("hi"))), at(1)),
            (.updateProfile(userID: "usr_ann", ProfileChange(phone: .some(nil))), at(2)),
            (.setPhoto(userID: "usr_ann", key: "users/usr_ann/a.png"), at(3)),
            (.setPhoto(userID: "usr_ann", key: "users/usr_ann/b.png"), at(4)),
            (.linkIdentity(userID: "usr_ann", LinkedIdentity(provider: "google", subject: "123"), emailVerifiedByProvider: false), at(5)),
            (.linkIdentity(userID: "usr_ann", LinkedIdentity(provider: "google", subject: "123"), emailVerifiedByProvider: true), at(6)),
            (.updateProfile(userID: "usr_nobody", ProfileChange(name: "x")), at(7)),
        ])
        let user = state.users["usr_ann"]
        #expect(user?.name == "Ann B" && user?.phone == nil && user?.bio == "hi")
        #expect(outcomes[4] == .success([.photoChanged(userID: "usr_ann", previous: "users/usr_ann/a.png", current: "users/usr_ann/b.png", at: at(4))]))
        #expect(user?.identities == [LinkedIdentity(provider: "google", subject: "123")])
        #expect(outcomes[6] == .success([]))
        #expect(outcomes[7] == .failure(.userNotFound))
        #expect(user?.updatedAt == at(5))
    }

    @Test func aProviderProvingAnUnconfirmedEmailTakesTheAccountOver() {
        let google = LinkedIdentity(provider: "google", subject: "g-1")
        let (state, _) = run([
            (.register(ann(), session: family("ses_1")), t0),
            (.linkIdentity(userID: "usr_ann", google, emailVerifiedByProvider: true), at(1)),
        ])
        let user = state.users["usr_ann"]
        #expect(user?.passwordHash == nil && user?.sessions.isEmpty == true, "whoever set the password may not own the email")
        #expect(user?.emailVerified == true && user?.identities == [google])

        var confirmed = ann()
        confirmed.emailVerified = true
        let (kept, _) = run([
            (.register(confirmed, session: family("ses_1")), t0),
            (.linkIdentity(userID: "usr_ann", google, emailVerifiedByProvider: true), at(1)),
        ])
        #expect(kept.users["usr_ann"]?.passwordHash != nil && kept.users["usr_ann"]?.sessions.count == 1, "a confirmed account keeps its password")
    }

    @Test func everyEventCountsAsARevision() {
        let (state, outcomes) = run([
            (.register(ann(), session: family("ses_1")), t0),
            (.becomeHost(userID: "usr_ann"), at(1)),
            (.becomeHost(userID: "usr_ann"), at(2)),
            (.adminUpdate(userID: "usr_ann", suspended: true, role: nil), at(3)),
        ])
        #expect(outcomes[2] == .success([]))
        #expect(state.users["usr_ann"]?.revision == 4, "registered, session started, role changed, suspended")
    }

    @Test func everyEventSurvivesTheBinaryRoundTrip() throws {
        var user = ann()
        user.identities = [LinkedIdentity(provider: "facebook", subject: "42")]
        let events: [Accounts.Event] = [
            .registered(user),
            .sessionStarted(userID: "usr_ann", family: family("ses_1", generation: 3)),
            .sessionRotated(userID: "usr_ann", familyID: "ses_1", generation: 4, secretHash: [9, 9], expiresAt: at(5)),
            .sessionRevoked(userID: "usr_ann", familyID: "ses_1", reason: .reuse),
            .profileUpdated(userID: "usr_ann", ProfileChange(name: "N", phone: .some(nil), bio: .some("b")), at: at(1)),
            .profileUpdated(userID: "usr_ann", ProfileChange(), at: at(1)),
            .photoChanged(userID: "usr_ann", previous: nil, current: "k", at: at(2)),
            .roleChanged(userID: "usr_ann", role: .host, at: at(3)),
            .suspensionChanged(userID: "usr_ann", suspended: true, at: at(4)),
            .identityLinked(userID: "usr_ann", LinkedIdentity(provider: "google", subject: "s"), provesEmail: true, at: at(5)),
        ]
        for event in events {
            var writer = ByteWriter()
            event.encode(into: &writer)
            let decoded = try writer.bytes.withUnsafeBytes { buffer in
                var reader = ByteReader(buffer)
                let value = try Accounts.Event.decode(from: &reader)
                let atEnd = reader.isAtEnd
                #expect(atEnd)
                return value
            }
            #expect(decoded == event)
        }
    }

    @Test func stateSurvivesTheSnapshotRoundTripAndUnknownTagsAreRefused() throws {
        var user = ann()
        user.phone = "+6591234567"
        user.photoKey = "users/usr_ann/p.png"
        let (state, _) = run([
            (.register(user, session: family("ses_1")), t0),
            (.startSession(userID: "usr_ann", family: family("ses_2", created: 5)), at(5)),
        ])
        var writer = ByteWriter()
        Accounts.encode(state: state, into: &writer)
        let decoded = try writer.bytes.withUnsafeBytes { buffer in
            var reader = ByteReader(buffer)
            return try Accounts.decodeState(from: &reader)
        }
        #expect(decoded == state)

        var unknown = ByteWriter()
        EventHeader(tag: 999, version: 1).write(into: &unknown)
        #expect(throws: DecodeError.self) {
            try unknown.bytes.withUnsafeBytes { buffer in
                var reader = ByteReader(buffer)
                _ = try Accounts.Event.decode(from: &reader)
            }
        }
    }
}
