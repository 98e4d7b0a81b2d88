import Foundation
import NIOConcurrencyHelpers
@testable import RoostAPI
import RoostDomain
import Testing

/// Tokens, credentials and the access policy, below HTTP.
struct AccessTests {
    let key = [UInt8](repeating: 7, count: 32)

    @Test func accessTokensVerifyUntilTheyExpireOnTheInjectedClock() async throws {
        let tokens = await AccessTokens(key: key, issuer: "roost", audience: "roost-api", lifetime: 900)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let (token, expiresAt) = try await tokens.issue(userID: "usr_ann", sessionID: "ses_1", now: now)
        #expect(expiresAt == now.addingTimeInterval(900))
        let identity = try await tokens.verify(token, now: now.addingTimeInterval(899))
        #expect(identity == AccessIdentity(userID: "usr_ann", sessionID: "ses_1", expiresAt: expiresAt))
        await #expect(throws: AccessTokens.Failure.expired) { try await tokens.verify(token, now: now.addingTimeInterval(900)) }
    }

    @Test func tokensFromAnotherKeyIssuerOrAudienceAreRefused() async throws {
        let now = Date()
        let ours = await AccessTokens(key: key, issuer: "roost", audience: "roost-api", lifetime: 900)
        let otherKey = await AccessTokens(key: [UInt8](repeating: 8, count: 32), issuer: "roost", audience: "roost-api", lifetime: 900)
        let otherAudience = await AccessTokens(key: key, issuer: "roost", audience: "admin-api", lifetime: 900)
        let otherIssuer = await AccessTokens(key: key, issuer: "elsewhere", audience: "roost-api", lifetime: 900)
        await #expect(throws: AccessTokens.Failure.badSignature) {
            try await ours.verify(try await otherKey.issue(userID: "u", sessionID: "s", now: now).token, now: now)
        }
        await #expect(throws: AccessTokens.Failure.wrongIssuerOrAudience) {
            try await ours.verify(try await otherAudience.issue(userID: "u", sessionID: "s", now: now).token, now: now)
        }
        await #expect(throws: AccessTokens.Failure.wrongIssuerOrAudience) {
            try await ours.verify(try await otherIssuer.issue(userID: "u", sessionID: "s", now: now).token, now: now)
        }
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"at+jwt"}"#.utf8))
        await #expect(throws: AccessTokens.Failure.algorithmRefused("none")) { try await ours.verify(header + ".e30.", now: now) }
        await #expect(throws: AccessTokens.Failure.malformed) { try await ours.verify("not-a-token", now: now) }
    }

    @Test func refreshTokensRoundTripAndOnlyOurShapeParses() {
        let token = RefreshToken.issue(userID: "usr_ann", familyID: "ses_abc", generation: 7)
        #expect(token.secret.count == 32)
        #expect(RefreshToken(parsing: token.encoded) == token)
        #expect(token.secretHash.count == 32 && token.secretHash != token.secret)
        for bad in ["", "rt1", "rt2.usr_ann.ses_abc.7.AAAA", "rt1.USR.ses_abc.7.\(Base64URL.encode(token.secret))",
                    "rt1.usr_ann.ses_abc.-1.\(Base64URL.encode(token.secret))", "rt1.usr_ann.ses_abc.7.AAAA",
                    token.encoded + ".extra"] {
            #expect(RefreshToken(parsing: bad) == nil, "\(bad)")
        }
        #expect(RefreshToken.issue(userID: "usr_a", familyID: "ses_a", generation: 0).secret != RefreshToken.issue(userID: "usr_a", familyID: "ses_a", generation: 0).secret)
    }

    @Test func emailsAreNormalisedAndChecked() {
        #expect(EmailAddress.normalise("  Ann.Lee@Example.COM\n") == "ann.lee@example.com")
        for good in ["a@b.co", "first.last+tag@sub.example.org", "x_y-z@a-b.io"] { #expect(EmailAddress.isValid(good), "\(good)") }
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a@b..co", "a b@c.co", "a@b.co.", ".a@b.co", "a..b@c.co", "a@-b.co", "a@b_c.co",
                    String(repeating: "a", count: 65) + "@b.co", "a@" + String(repeating: "b", count: 250) + ".co"] {
            #expect(!EmailAddress.isValid(bad), "\(bad)")
        }
    }

    @Test func thePolicyDeniesByDefault() {
        #expect(AccessPolicy.allows(.guest, .ownAccount) && AccessPolicy.allows(.guest, .becomeHost) && AccessPolicy.allows(.guest, .book))
        #expect(!AccessPolicy.allows(.guest, .hostListings) && !AccessPolicy.allows(.guest, .administerUsers))
        #expect(AccessPolicy.allows(.host, .hostListings) && AccessPolicy.allows(.host, .book) && !AccessPolicy.allows(.host, .becomeHost))
        #expect(!AccessPolicy.allows(.host, .administerUsers))
        #expect(AccessPolicy.allows(.admin, .administerUsers) && !AccessPolicy.allows(.admin, .book))
        // Every permission is granted to someone, so none is dead.
        for permission in Permission.allCases { #expect(Role.allCases.contains { AccessPolicy.allows($0, permission) }, "\(permission)") }
    }

    @Test func passwordsAreHashedAtTheConfiguredCostAndTheDummyPathSaysNo() async throws {
        let hasher = PasswordHasher(cost: 12, threads: 2)
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$2b$12$"))
        #expect(try await hasher.verify("correct horse battery staple", against: hash))
        #expect(try await !hasher.verify("correct horse battery stapl", against: hash))
        #expect(try await !hasher.verify("correct horse battery staple", against: nil))
        try await hasher.shutdown()
    }
}

/// The hand-written user JSON and timestamps say exactly what JSONEncoder and Foundation would.
struct DirectJSONTests {
    @Test func theDirectUserJSONMatchesJSONEncoder() throws {
        var user = UserRecord(
            id: "usr_abc", email: "ann@example.com", name: "Ann \"the\" \\ Lee\n\u{1}ü😀", role: .host, passwordHash: nil,
            createdAt: Timestamp(millisecondsSinceEpoch: 1_795_623_719_964)
        )
        user.bio = "tab\there"
        for photo in [nil, "/v1/media/users/usr_abc/p.png"] {
            let direct = try JSONSerialization.jsonObject(with: Data(PrivateUser.json(user, photoURL: photo))) as? NSDictionary
            let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(PrivateUser(user, photoURL: photo))) as? NSDictionary
            #expect(direct != nil && direct == encoded)
        }
    }

    /// Single bookings are answered through `BookingJSON.json`, lists through `Encodable`: every
    /// shape a booking can take reads the same both ways (optional parts left out, `holdExpiresAt`
    /// null or a time).
    @Test func theDirectBookingJSONMatchesJSONEncoder() throws {
        let quote = PriceQuote(currency: "KWD", nights: [12_345, 12_345, 20_000], discount: 1_234, cleaningFee: 5_000, serviceFee: 6_543, taxes: 789, hostFee: 1_111)
        let day = try #require(CalendarDay(year: 2027, month: 3, day: 1))
        let record = BookingRecord(
            id: "bkg_abc", listingID: "lst_def", guestID: "usr_guest", hostID: "usr_host", stay: day..<day.advanced(by: 3), guests: 2,
            quote: quote, policy: .strict, instantBook: true, holdExpiresAt: Timestamp(millisecondsSinceEpoch: 1_795_623_719_964),
            createdAt: Timestamp(millisecondsSinceEpoch: 1_795_623_000_001)
        )
        let base = BookingJSON(BookingService.Booked(booking: record, payment: nil, clientSecret: "pi_1_secret_\"x\"/y"))
        var variants = [base]
        var converted = base
        converted.listingPrice = PriceJSON(PriceQuote(currency: "JPY", nights: [9_000], discount: 0, cleaningFee: 0, serviceFee: 1_260, taxes: 0, hostFee: 270))
        converted.exchangeRate = 0.002_049_5
        variants.append(converted)
        for payment in [
            BookingJSON.Payment(status: "authorized"),
            BookingJSON.Payment(status: "captured", captured: MoneyBody(amount: 50_000, currency: "KWD")),
            BookingJSON.Payment(status: "refunded", captured: MoneyBody(amount: 50_000, currency: "KWD"), refunded: MoneyBody(amount: 1, currency: "KWD")),
            BookingJSON.Payment(status: "none"),
        ] {
            var variant = converted
            variant.payment = payment
            variant.holdExpiresAt = .some(nil)
            variants.append(variant)
        }
        var canceled = base
        canceled.status = "canceled"
        canceled.cancellation = .init(by: "host", at: "2027-02-01T10:00:00.000Z", reason: "Pipes burst — sorry\n\u{1}", refund: MoneyBody(amount: 0, currency: "KWD"))
        variants.append(canceled)
        for variant in variants {
            let encodedBytes = try EncodedJSON.encoder.encode(variant)
            let direct = try JSONSerialization.jsonObject(with: Data(variant.json)) as? NSDictionary
            let encoded = try JSONSerialization.jsonObject(with: encodedBytes) as? NSDictionary
            #expect(direct != nil && direct == encoded, "\(String(decoding: variant.json, as: UTF8.self))")
            // NSNumber equates true with 1, so the literals are compared as written. (Not the keys'
            // order: JSONEncoder here writes an object's keys in no fixed order; `json` writes them
            // in declaration order.)
            #expect(Self.keysAndLiterals(variant.json).sorted() == Self.keysAndLiterals([UInt8](encodedBytes)).sorted())
        }
    }

    /// Every object key and every `true`/`false`/`null` of a JSON text.
    static func keysAndLiterals(_ json: [UInt8]) -> [String] {
        var found: [String] = [], i = 0, expectingKey = false
        var inObject: [Bool] = []  // the open containers: object or array
        while i < json.count {
            switch json[i] {
            case UInt8(ascii: "{"): inObject.append(true); expectingKey = true
            case UInt8(ascii: "["): inObject.append(false); expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = inObject.popLast()
            case UInt8(ascii: ","): expectingKey = inObject.last == true
            case UInt8(ascii: ":"): expectingKey = false
            case UInt8(ascii: "\""):
                var end = i + 1
                while json[end] != UInt8(ascii: "\"") { end += json[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if expectingKey { found.append(String(decoding: json[(i + 1)..<end], as: UTF8.self)) }
                i = end
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let word = json[i...].prefix { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
                found.append(String(decoding: word, as: UTF8.self))
                i += word.count - 1
            default: break
            }
            i += 1
        }
        return found
    }

    @Test func timestampsAreRFC3339WithMilliseconds() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for millis: Int64 in [0, 1, 999, 1_000, 951_782_400_123, 1_795_623_719_964, 4_102_444_799_999, -1, -1_001] {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
            #expect(RFC3339.string(Timestamp(millisecondsSinceEpoch: millis)) == expected, "\(millis)")
        }
    }
}

struct PasswordHasherTests {
    @Test func everyByteOfALongPasswordCounts() async throws {
        let hasher = PasswordHasher(cost: 4, threads: 1)
        let long = String(repeating: "a", count: 72) + String(repeating: "b", count: 50)
        let hash = try await hasher.hash(long)
        #expect(try await hasher.verify(long, against: hash))
        #expect(try await !hasher.verify(String(repeating: "a", count: 72) + String(repeating: "z", count: 40), against: hash), "bcrypt alone would stop at 72 bytes")
        try await hasher.shutdown()
    }

    @Test func anUnknownUserStillCostsAVerification() async throws {
        let hasher = PasswordHasher(cost: 4, threads: 1)
        let before = hasher.verificationCount
        #expect(try await !hasher.verify("whatever password", against: nil))
        #expect(hasher.verificationCount == before + 1)
        try await hasher.shutdown()
    }

    @Test func aFullQueueRefusesInsteadOfGrowing() async throws {
        let hasher = PasswordHasher(cost: 10, threads: 1, queueMax: 2)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 { group.addTask { (try? await hasher.hash("correct horse battery staple")) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count >= 2 && outcomes.contains(false), "\(outcomes)")
        try await hasher.shutdown()
    }
}

struct AccountDirectoryTests {
    @Test func anOlderStatusNeverReplacesANewerOne() {
        let directory = AccountDirectory(stripeCount: 4)
        var user = UserRecord(id: "usr_ann", email: "ann@example.com", name: "Ann", role: .host, passwordHash: nil, createdAt: Timestamp(millisecondsSinceEpoch: 0))
        user.revision = 5
        user.suspended = true
        directory.publishStatus(of: user)
        var stale = user
        stale.revision = 4
        stale.suspended = false
        stale.role = .guest
        directory.publishStatus(of: stale)  // finished later, but read earlier
        #expect(directory.status(of: "usr_ann") == .init(role: .host, suspended: true, revision: 5))
    }

    @Test func oneReservationWinsAndAReleaseFreesIt() async {
        let directory = AccountDirectory(stripeCount: 4)
        let winners = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 { group.addTask { directory.reserve("email:race@example.com") } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
        #expect(directory.owner(of: "email:race@example.com") == nil, "a reservation owns nothing yet")
        directory.release("email:race@example.com")
        #expect(directory.reserve("email:race@example.com"))
        directory.commit("email:race@example.com", to: "usr_x")
        directory.release("email:race@example.com")
        #expect(directory.owner(of: "email:race@example.com") == "usr_x", "release never drops an owned claim")
    }
}
