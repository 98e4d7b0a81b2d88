import RoostBinary
import RoostDomain
import RoostTestSupport
import Testing

/// The ledger's flows and refusals, with its invariants checked after every step.
struct LedgerTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    /// Decides and applies each command, checking the invariants after each; returns the outcomes.
    @discardableResult
    func run(_ commands: [Ledger.Command], on state: inout Ledger.State) -> [Ledger.Rejection?] {
        commands.map { command in
            switch Ledger.decide(command, state: state, context: DecisionContext(now: t0)) {
            case let .success(events):
                for event in events { Ledger.apply(event, to: &state) }
                #expect(Ledger.violations(in: state) == [], "after \(command)")
                return nil
            case let .failure(rejection):
                return rejection
            }
        }
    }

    /// The state and events of `commands`, each of which must be accepted.
    func accepted(_ commands: [Ledger.Command]) throws -> (Ledger.State, [Ledger.Event]) {
        var state = Ledger.initialState()
        var events: [Ledger.Event] = []
        for command in commands {
            guard case let .success(decided) = Ledger.decide(command, state: state, context: DecisionContext(now: t0)) else {
                throw Refused(command: "\(command)")
            }
            for event in decided { Ledger.apply(event, to: &state) }
            events += decided
        }
        return (state, events)
    }

    struct Refused: Error { var command: String }

    @Test func aPaidStayFromCaptureToPayout() {
        var state = Ledger.initialState()
        let outcomes = run([
            .authorize(payment: "bkg_1", currency: "SGD", amount: 59_024, settlement: nil, reference: "pi_test"),
            .capture(payment: "bkg_1"),
            .refund(payment: "bkg_1", refund: "r1", amount: 1_024, charged: 1_024),
            .release(payment: "bkg_1", host: "usr_h", platformFees: 6_650 + 1_425, taxes: 4_874),
            .payout(payment: "bkg_1", host: "usr_h"),
        ], on: &state)
        #expect(outcomes == [nil, nil, nil, nil, nil])
        #expect(state.balance(.guestPayments, "SGD") == 59_024)
        #expect(state.balance(.guestFundsHeld, "SGD") == 0)
        #expect(state.balance(.refunds, "SGD") == -1_024)
        #expect(state.balance(.platformRevenue, "SGD") == -8_075)
        #expect(state.balance(.taxesPayable, "SGD") == -4_874)
        #expect(state.balance(.hostPayable(host: "usr_h"), "SGD") == 0)
        #expect(state.balance(.payouts, "SGD") == -(58_000 - 8_075 - 4_874))
        #expect(state.payments["bkg_1"]?.paidOut == true && state.transfers.count == 4)
    }

    @Test func eachPaymentIsCapturedOrVoidedAtMostOnce() {
        var state = Ledger.initialState()
        let outcomes = run([
            .authorize(payment: "a", currency: "USD", amount: 100, settlement: nil, reference: "pi_test"),
            .authorize(payment: "a", currency: "USD", amount: 100, settlement: nil, reference: "pi_test"),
            .capture(payment: "a"), .capture(payment: "a"), .void(payment: "a"),
            .authorize(payment: "b", currency: "USD", amount: 100, settlement: nil, reference: "pi_test"),
            .void(payment: "b"), .void(payment: "b"), .capture(payment: "b"),
            .capture(payment: "nope"), .authorize(payment: "c", currency: "USD", amount: 0, settlement: nil, reference: "pi_test"),
        ], on: &state)
        #expect(outcomes == [nil, .paymentExists, nil, .paymentIs(.captured), .paymentIs(.captured), nil, nil, .paymentIs(.voided), .paymentIs(.voided),
                             .paymentNotFound, .invalidAmount])
        #expect(state.balance(.guestPayments, "USD") == 100, "one capture's money, once")
    }

    @Test func refundsReleasesAndPayoutsAreRefusedOutOfTurn() {
        var state = Ledger.initialState()
        run([.authorize(payment: "p", currency: "JPY", amount: 30_000, settlement: nil, reference: "pi_test")], on: &state)
        #expect(run([.refund(payment: "p", refund: "r", amount: 1, charged: 1), .release(payment: "p", host: "h", platformFees: 0, taxes: 0)], on: &state)
            == [.paymentIs(.authorized), .paymentIs(.authorized)])
        run([.capture(payment: "p")], on: &state)
        #expect(run([
            .payout(payment: "p", host: "h"), .refund(payment: "p", refund: "r", amount: 30_001, charged: 30_001), .refund(payment: "p", refund: "r", amount: 0, charged: 0),
            .refund(payment: "p", refund: "r", amount: 10_000, charged: 10_000), .refund(payment: "p", refund: "r", amount: 10_000, charged: 10_000),
            .refund(payment: "p", refund: "r2", amount: 20_001, charged: 20_001),
        ], on: &state) == [.notReleased, .insufficientFunds(available: 30_000), .invalidAmount, nil, .transferExists, .insufficientFunds(available: 20_000)])
        #expect(run([
            .release(payment: "p", host: "h", platformFees: 3_000, taxes: 1_000), .release(payment: "p", host: "h", platformFees: 0, taxes: 0),
            .refund(payment: "p", refund: "r3", amount: 1, charged: 1), .payout(payment: "p", host: "h"), .payout(payment: "p", host: "h"),
        ], on: &state) == [nil, .alreadyReleased, .alreadyReleased, nil, .alreadyPaidOut])
        #expect(state.balance(.payouts, "JPY") == -16_000)
    }

    /// Refunds take the platform's and the taxes' share first when little is left.
    @Test func aReleaseAfterLargeRefundsLeavesTheHostWhatRemains() {
        var state = Ledger.initialState()
        run([.authorize(payment: "p", currency: "BHD", amount: 10_000, settlement: nil, reference: "pi_test"), .capture(payment: "p"),
             .refund(payment: "p", refund: "r", amount: 9_500, charged: 9_500), .release(payment: "p", host: "h", platformFees: 1_000, taxes: 300)], on: &state)
        #expect(state.balance(.taxesPayable, "BHD") == -300 && state.balance(.platformRevenue, "BHD") == -200)
        #expect(state.balance(.hostPayable(host: "h"), "BHD") == 0)
        #expect(run([.payout(payment: "p", host: "h")], on: &state) == [.insufficientFunds(available: 0)], "nothing to pay out")
    }

    @Test func aGuestPayingInAnotherCurrencyGoesThroughFX() {
        var state = Ledger.initialState()
        #expect(run([.authorize(payment: "p", currency: "EUR", amount: 10_000, settlement: (currency: "SGD", amount: 14_500), reference: "pi_test"), .capture(payment: "p")], on: &state)
            == [nil, nil])
        #expect(state.balance(.guestPayments, "EUR") == 10_000 && state.balance(.fx, "EUR") == -10_000)
        #expect(state.balance(.fx, "SGD") == 14_500 && state.balance(.guestFundsHeld, "SGD") == -14_500)
        run([.release(payment: "p", host: "h", platformFees: 2_000, taxes: 0), .payout(payment: "p", host: "h")], on: &state)
        #expect(state.balance(.payouts, "SGD") == -12_500)
    }

    /// A charge is an authorization and its capture in one decision: the same state as the two.
    @Test func aChargeIsAnAuthorizationAndItsCapture() {
        var charged = Ledger.initialState(), stepwise = Ledger.initialState()
        #expect(run([.charge(payment: "p", currency: "EUR", amount: 10_000, settlement: (currency: "SGD", amount: 14_500), reference: "pi_test")], on: &charged) == [nil])
        run([.authorize(payment: "p", currency: "EUR", amount: 10_000, settlement: (currency: "SGD", amount: 14_500), reference: "pi_test"), .capture(payment: "p")], on: &stepwise)
        #expect(charged == stepwise)
        #expect(run([.charge(payment: "p", currency: "EUR", amount: 1, settlement: nil, reference: "pi_test"),
                     .charge(payment: "q", currency: "EUR", amount: 0, settlement: nil, reference: "pi_test")], on: &charged)
            == [.paymentExists, .invalidAmount])
        #expect(charged.payments["q"] == nil, "a refused charge leaves nothing behind")
    }

    /// A converted payment's refunds are counted in both currencies, and neither side may exceed
    /// what was taken; an unconverted one must refund the same number on both.
    @Test func refundsAreTrackedInThePaymentsCurrencyToo() {
        var state = Ledger.initialState()
        run([.authorize(payment: "p", currency: "EUR", amount: 10_000, settlement: (currency: "SGD", amount: 14_500), reference: "pi_test"), .capture(payment: "p"),
             .authorize(payment: "q", currency: "USD", amount: 800, settlement: nil, reference: "pi_test"), .capture(payment: "q")], on: &state)
        #expect(state.payments["p"]?.authorizedAt == t0)
        #expect(run([
            .refund(payment: "p", refund: "a", amount: 1_450, charged: 1_000),
            .refund(payment: "p", refund: "b", amount: 1, charged: 9_001),
            .refund(payment: "p", refund: "b", amount: 13_051, charged: 1),
            .refund(payment: "p", refund: "c", amount: 13_050, charged: 9_000),
            .refund(payment: "q", refund: "a", amount: 100, charged: 99),
            .refund(payment: "q", refund: "a", amount: 100, charged: 0),
        ], on: &state) == [nil, .insufficientFunds(available: 9_000), .insufficientFunds(available: 13_050), nil, .invalidAmount, .invalidAmount])
        #expect(state.payments["p"]?.refunded == 14_500 && state.payments["p"]?.refundedCharged == 10_000)
        #expect(state.payments["q"]?.refundedCharged == 0)
        #expect(state.balance(.refunds, "SGD") == -14_500 && state.balance(.guestFundsHeld, "SGD") == 0)
    }

    /// A converted payment refunded in many small pieces: each piece takes its running share of the
    /// settlement, a piece too small to move one of its minor units takes nothing (a transfer with no
    /// lines), every piece is accepted, and the pieces add up to the settlement exactly. (Rounding each
    /// piece on its own, up to at least 1, took the settlement twice as fast here and refused the
    /// second half of the refunds, after the provider had made them.)
    @Test func aConvertedPaymentRefundedInPiecesTakesItsSettlementExactly() throws {
        let seed = testSeed()
        var random = SeededGenerator(seed: seed)
        for (amount, settlement) in [(100_000 as Int64, 48_000 as Int64), (48_000, 100_000), (7, 3), (1_000_000, 1)] {
            var state = Ledger.initialState()
            run([.charge(payment: "p", currency: "KWD", amount: amount, settlement: (currency: "JPY", amount: settlement), reference: "pi_test")], on: &state)
            var pieces = 0, empty = 0
            // Bounded, so a refused piece (which leaves the state as it was) fails the test rather than looping.
            for _ in 0..<20_000 {
                let payment = try #require(state.payments["p"])
                guard payment.refundedCharged < payment.amount else { break }
                // The first piece is one unit: below half a unit of the settlement, it takes nothing.
                let charged = pieces == 0 ? 1 : min(Int64.random(in: 1...max(1, amount / 500), using: &random), payment.amount - payment.refundedCharged)
                let share = payment.refundShare(charged: charged)
                #expect(run([.refund(payment: "p", refund: "r\(pieces)", amount: share, charged: charged)], on: &state) == [nil], "piece \(pieces), seed \(seed)")
                let after = try #require(state.payments["p"])
                #expect(after.refunded == Money.proportion(settlement, after.refundedCharged, of: amount), "the running share, piece \(pieces), seed \(seed)")
                if share == 0 {
                    empty += 1
                    #expect(state.transfers["ref:p:r\(pieces)"]?.lines == [], "nothing moved, nothing posted")
                }
                pieces += 1
            }
            let payment = try #require(state.payments["p"])
            #expect(payment.refunded == settlement && payment.refundedCharged == amount, "seed \(seed)")
            #expect(state.balance(.guestFundsHeld, "JPY") == 0 && state.balance(.refunds, "JPY") == -settlement)
            if amount > settlement * 2 { #expect(empty > 0, "the first piece, at least, was too small to move a yen") }
            let decoded = try roundTrip({ Ledger.encode(state: state, into: &$0) }, { reader throws(DecodeError) in try Ledger.decodeState(from: &reader) })
            #expect(decoded == state, "a snapshot keeps the empty transfers")
        }
    }

    /// A converted payment refunded by an older build (the refund counted in the listing's currency
    /// alone): the running total in the payment's currency is taken back from the settlement side,
    /// so the rest still takes its share and the last refund takes all that is held.
    @Test func aRefundRecordedBeforeRefundsWereCountedInThePaymentsCurrencyStillTakesItsShare() {
        var state = Ledger.initialState()
        run([.charge(payment: "p", currency: "JPY", amount: 100_000, settlement: (currency: "SGD", amount: 1_000), reference: "pi_test")], on: &state)
        let halfBack = Ledger.Transfer(
            id: "ref:p:cancel", payment: "p", purpose: .refund, currency: "SGD", lines: [.debit(.guestFundsHeld, 500), .credit(.refunds, 500)], at: t0)
        Ledger.apply(.posted(halfBack), to: &state)
        let payment = state.payments["p"]
        #expect(payment?.refunded == 500 && payment?.refundedCharged == 0)
        #expect(payment?.refundShare(charged: 25_000) == 250)
        #expect(payment?.refundShare(charged: 50_000) == 500, "the rest takes all that is held")
    }

    /// Only a converted payment's refund may take nothing of the settlement.
    @Test func anUnconvertedRefundOfNothingIsRefused() {
        var state = Ledger.initialState()
        run([.charge(payment: "q", currency: "USD", amount: 800, settlement: nil, reference: "pi_test")], on: &state)
        #expect(run([.refund(payment: "q", refund: "a", amount: 0, charged: 5), .refund(payment: "q", refund: "a", amount: 0, charged: 0)], on: &state)
            == [.invalidAmount, .invalidAmount])
        #expect(state.payments["q"]?.refundShare(charged: 5) == 5 && state.payments["q"]?.refundShare(charged: 800) == 800)
    }

    /// Snapshots written before the later sections (when authorized and refunded in the payment's
    /// currency; payout failures and payout accounts) still load, with zeros for what they lack.
    @Test func snapshotsWithoutTheLaterSectionsLoad() throws {
        var state = Ledger.initialState()
        run([.authorize(payment: "p", currency: "USD", amount: 500, settlement: nil, reference: "pi_test"), .capture(payment: "p"),
             .refund(payment: "p", refund: "r", amount: 100, charged: 100)], on: &state)
        var full = ByteWriter()
        Ledger.encode(state: state, into: &full)
        let payoutSection = 1 + 1 + 8 + 1 + 1  // attempts, empty reason, retry time, empty destination; no payout accounts
        let firstSection = 8 + 8  // when authorized, refunded in the payment's currency
        // (No refusals: that section is not written, and its absence reads as none.)
        for (cut, authorizedAt) in [(0, t0), (payoutSection, t0), (payoutSection + firstSection, Timestamp(millisecondsSinceEpoch: 0))] {
            let old = try roundTrip({ $0.writeRaw(full.bytes.dropLast(cut)) }, { reader throws(DecodeError) in try Ledger.decodeState(from: &reader) })
            #expect(old.payments["p"]?.status == .captured && old.payments["p"]?.authorizedAt == authorizedAt)
            #expect(old.balances == state.balances && old.payoutAccounts.isEmpty)
            #expect(old.payments["p"]?.refundedCharged == 100, "one currency: refunded the same in both")
        }
        // A refund event from before: `.posted` alone counts in the payment's currency too.
        var legacy = Ledger.initialState()
        run([.charge(payment: "p", currency: "USD", amount: 500, settlement: nil, reference: "pi_test")], on: &legacy)
        Ledger.apply(.posted(Ledger.Transfer(id: "ref:p:r", payment: "p", purpose: .refund, currency: "USD",
                                              lines: [.debit(.guestFundsHeld, 40), .credit(.refunds, 40)], at: t0)), to: &legacy)
        #expect(legacy.payments["p"]?.refundedCharged == 40 && legacy.payments["p"]?.refunded == 40)
    }

    /// A payout that fails is recorded with its reason and when to try again, only while one is
    /// due; hosts' payout accounts are set (a repeat of the same account changes nothing).
    @Test func payoutFailuresAndAccountsAreRecorded() throws {
        var state = Ledger.initialState()
        let later = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 60_000)
        run([.charge(payment: "p", currency: "USD", amount: 1_000, settlement: nil, reference: "pi_test"),
             .authorize(payment: "q", currency: "USD", amount: 1_000, settlement: nil, reference: "pi_test")], on: &state)
        #expect(run([.payoutFailed(payment: "q", reason: "x", destination: "", retryAt: later, refused: false)], on: &state) == [.paymentIs(.authorized)], "nothing taken, nothing to pay")
        run([.release(payment: "p", host: "h", platformFees: 100, taxes: 0)], on: &state)
        #expect(run([.payoutFailed(payment: "p", reason: "no payout account", destination: "", retryAt: later, refused: false),
                     .payoutFailed(payment: "p", reason: "provider down", destination: "acct_1", retryAt: later, refused: false),
                     .setPayoutAccount(host: "h", account: "acct_1"), .setPayoutAccount(host: "h", account: "acct_1")], on: &state) == [nil, nil, nil, nil])
        #expect(state.payments["p"]?.payoutAttempts == 2 && state.payments["p"]?.payoutError == "provider down" && state.payments["p"]?.payoutRetryAt == later)
        #expect(state.payments["p"]?.payoutDestination == "acct_1", "the first attempt that reached the provider")
        #expect(state.payoutAccounts["h"] == Ledger.PayoutAccount(account: "acct_1", updatedAt: t0))
        run([.payout(payment: "p", host: "h")], on: &state)
        #expect(run([.payoutFailed(payment: "p", reason: "late", destination: "acct_1", retryAt: later, refused: false)], on: &state) == [.alreadyPaidOut])
        #expect(try roundTrip(state: state, of: Ledger.self) == state)
        for event: Ledger.Event in [.payoutFailed(payment: "p", reason: "é", destination: "acct_é", at: t0, retryAt: later, refused: false),
                                  .payoutFailed(payment: "p", reason: "no", destination: "acct_é", at: t0, retryAt: later, refused: true), .payoutAccountSet(host: "h", .init(account: "acct_2", updatedAt: t0))] {
            #expect(try roundTrip(event) == event)
        }
    }

    /// A refused payout attempt paid nothing under its key: the next one gets a new key and goes to
    /// the host's account as it is then. An attempt left unanswered pins the key and destination.
    @Test func aRefusedPayoutMovesToANewKeyAndAnUnansweredOneDoesNot() throws {
        var state = Ledger.initialState()
        let later = Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + 60_000)
        run([.charge(payment: "p", currency: "USD", amount: 1_000, settlement: nil, reference: "pi_test"),
             .release(payment: "p", host: "h", platformFees: 100, taxes: 0)], on: &state)
        #expect(state.payments["p"]?.payoutKey == "payout:p")
        run([.payoutFailed(payment: "p", reason: "account closed", destination: "acct_old", retryAt: later, refused: true)], on: &state)
        #expect(state.payments["p"]?.payoutKey == "payout:p:1" && state.payments["p"]?.payoutDestination == "")
        run([.payoutFailed(payment: "p", reason: "timeout", destination: "acct_new", retryAt: later, refused: false)], on: &state)
        #expect(state.payments["p"]?.payoutKey == "payout:p:1" && state.payments["p"]?.payoutDestination == "acct_new")
        #expect(state.payments["p"]?.payoutAttempts == 2 && state.payments["p"]?.payoutRefusals == 1)
        #expect(try roundTrip(state: state, of: Ledger.self) == state)

        // A refusal is written at version 2; a failure without one stays at version 1, as before.
        func header(_ event: Ledger.Event) -> EventHeader? {
            var writer = ByteWriter()
            event.encode(into: &writer)
            return writer.bytes.withUnsafeBytes { buffer in
                var reader = ByteReader(buffer)
                return try? EventHeader.read(from: &reader)
            }
        }
        #expect(header(.payoutFailed(payment: "p", reason: "x", destination: "", at: t0, retryAt: later, refused: false))?.version == 1)
        #expect(header(.payoutFailed(payment: "p", reason: "x", destination: "", at: t0, retryAt: later, refused: true))?.version == 2)
    }

    /// The checker finds what `decide` never lets through, when it is forced in by hand.
    @Test func theInvariantCheckerCatchesBrokenLedgers() {
        var state = Ledger.initialState()
        run([.authorize(payment: "p", currency: "USD", amount: 500, settlement: nil, reference: "pi_test"), .capture(payment: "p")], on: &state)
        var doubled = state
        Ledger.apply(.posted(Ledger.Transfer(id: "cap:again", payment: "p", purpose: .capture, currency: "USD",
                                              lines: [.debit(.guestPayments, 500), .credit(.guestFundsHeld, 500)], at: t0)), to: &doubled)
        #expect(Ledger.violations(in: doubled).contains("payment p captured 2 times"))
        var unbalanced = state
        Ledger.apply(.posted(Ledger.Transfer(id: "x", payment: "p", purpose: .refund, currency: "USD", lines: [.debit(.guestFundsHeld, 5)], at: t0)), to: &unbalanced)
        #expect(Ledger.violations(in: unbalanced).contains { $0.contains("unbalanced") })
        #expect(Ledger.violations(in: unbalanced).contains("USD: debits and credits differ by 5"))
        var overdrawn = state
        Ledger.apply(.posted(Ledger.Transfer(id: "y", payment: "p", purpose: .refund, currency: "USD",
                                              lines: [.debit(.guestFundsHeld, 600), .credit(.refunds, 600)], at: t0)), to: &overdrawn)
        #expect(Ledger.violations(in: overdrawn).contains { $0.contains("guest_funds_held USD is overdrawn by 100") })
    }

    /// Random commands over many payments: no sequence breaks an invariant.
    @Test func randomTrafficKeepsEveryInvariant() {
        var generator = SeededGenerator(seed: testSeed())
        var state = Ledger.initialState()
        let currencies = ["USD", "JPY", "BHD"]
        for step in 0..<1_500 {
            let payment = "p\(Int.random(in: 0..<40, using: &generator))"
            let amount = Int64.random(in: 1...20_000, using: &generator)
            let command: Ledger.Command = switch Int.random(in: 0..<7, using: &generator) {
            case 0: .authorize(payment: payment, currency: currencies.randomElement(using: &generator)!, amount: amount,
                               settlement: Bool.random(using: &generator) ? nil : (currency: "SGD", amount: amount * 2), reference: "pi_test")
            case 1: .capture(payment: payment)
            case 2: .void(payment: payment)
            case 3: .refund(payment: payment, refund: "r\(step % 5)", amount: amount / 4, charged: step % 2 == 0 ? amount / 4 : max(1, amount / 8))
            case 4: .release(payment: payment, host: "h\(step % 3)", platformFees: amount / 10, taxes: amount / 20)
            default: .payout(payment: payment, host: "h\(step % 3)")
            }
            run([command], on: &state)
        }
        #expect(state.payments.values.contains { $0.paidOut } && state.payments.values.contains { $0.status == .voided })
        #expect(Ledger.violations(in: state) == [])
    }

    @Test func aRequestedRefundIsOwedUntilItIsMadeOrWithdrawn() throws {
        var state = Ledger.initialState()
        let payment = "bkg_1", host = "usr_h"
        #expect(run([.authorize(payment: payment, currency: "SGD", amount: 10_000, settlement: nil, reference: "pi_1"), .capture(payment: payment)], on: &state) == [nil, nil])
        let outcomes = run([
            .requestRefund(payment: payment, refund: "rfd_a", charged: 3_000),
            .requestRefund(payment: payment, refund: "rfd_a", charged: 3_000),  // again: nothing new
            .requestRefund(payment: payment, refund: "rfd_a", charged: 2_000),  // the same id, another amount
            .requestRefund(payment: payment, refund: "rfd_b", charged: 7_001),  // more than is left besides rfd_a
            .refund(payment: payment, refund: "cancel", amount: 7_001, charged: 7_001),  // nor may any other refund take it
            .release(payment: payment, host: host, platformFees: 1_000, taxes: 0),  // held until the requests are done
            .refund(payment: payment, refund: "rfd_a", amount: 2_999, charged: 2_999),  // made as requested, or not at all
        ], on: &state)
        #expect(outcomes == [nil, nil, .invalidAmount, .insufficientFunds(available: 7_000), .insufficientFunds(available: 7_000), .refundsRequested, .invalidAmount])
        #expect(state.payments[payment]?.requestedRefunds == ["rfd_a": .init(charged: 3_000, at: t0)] && state.requestingRefunds == [payment])
        #expect(state.payments[payment]?.refundable() == 7_000 && state.payments[payment]?.refundable(besides: "rfd_a") == 10_000)

        #expect(run([.refund(payment: payment, refund: "rfd_a", amount: 3_000, charged: 3_000)], on: &state) == [nil])
        #expect(state.payments[payment]?.requestedRefunds == [:] && state.requestingRefunds.isEmpty)
        #expect(state.payments[payment]?.refundedCharged == 3_000)
        #expect(run([.requestRefund(payment: payment, refund: "rfd_a", charged: 3_000)], on: &state) == [.transferExists], "made: not owed again")

        #expect(run([.requestRefund(payment: payment, refund: "rfd_c", charged: 1_000), .withdrawRefund(payment: payment, refund: "rfd_c")], on: &state) == [nil, nil])
        #expect(state.payments[payment]?.requestedRefunds == [:] && state.requestingRefunds.isEmpty)
        #expect(run([.withdrawRefund(payment: payment, refund: "rfd_c")], on: &state) == [nil], "nothing to withdraw: nothing happens")
        #expect(run([.release(payment: payment, host: host, platformFees: 1_000, taxes: 0)], on: &state) == [nil])
        #expect(state.balance(.hostPayable(host: host), "SGD") == -(10_000 - 3_000 - 1_000))
        #expect(run([.requestRefund(payment: payment, refund: "rfd_d", charged: 1)], on: &state) == [.alreadyReleased])
    }

    @Test func requestedRefundsSurviveSnapshotsAndTheCheckerSeesTheirBreaches() throws {
        let (state, events) = try accepted([
            .authorize(payment: "p", currency: "SGD", amount: 10_000, settlement: nil, reference: "pi_1"), .capture(payment: "p"),
            .authorize(payment: "q", currency: "SGD", amount: 500, settlement: nil, reference: "pi_2"), .capture(payment: "q"),
            .requestRefund(payment: "p", refund: "rfd_1", charged: 100), .requestRefund(payment: "p", refund: "rfd_2", charged: 200),
            .requestRefund(payment: "q", refund: "rfd_3", charged: 500), .withdrawRefund(payment: "p", refund: "rfd_2"),
            // With a refused payout too: its section comes before the owed refunds', and both come back.
            .payoutFailed(payment: "p", reason: "account closed", destination: "acct_x", retryAt: t0, refused: true),
        ])
        for event in events { #expect(try roundTrip(event) == event) }
        let decoded = try roundTrip(state: state, of: Ledger.self)
        #expect(decoded == state)
        #expect(decoded.payments["p"]?.requestedRefunds == ["rfd_1": .init(charged: 100, at: t0)] && decoded.requestingRefunds == ["p", "q"])
        #expect(decoded.payments["p"]?.payoutRefusals == 1)

        // Events no decision would make: the checker catches what they do.
        #expect(Ledger.violations(in: state) == [])
        var overdrawn = state
        Ledger.apply(.refundRequested(payment: "q", refund: "rfd_4", charged: 1, at: t0), to: &overdrawn)
        #expect(Ledger.violations(in: overdrawn).contains { $0.contains("more refunds requested than it has left") })
        var released = state
        Ledger.apply(.posted(Ledger.Transfer(id: "rel:p", payment: "p", purpose: .release, currency: "SGD",
                                              lines: [.debit(.guestFundsHeld, 100), .credit(.platformRevenue, 100)], at: t0)), to: &released)
        #expect(Ledger.violations(in: released).contains { $0.contains("released with refunds requested") })
    }

    @Test func eventsAndStateSurviveTheBinaryRoundTrip() throws {
        let (state, events) = try accepted([
            .authorize(payment: "p", currency: "EUR", amount: 10_000, settlement: (currency: "SGD", amount: 14_500), reference: "pi_test"), .capture(payment: "p"),
            .refund(payment: "p", refund: "r", amount: 500, charged: 345), .release(payment: "p", host: "usr_ü", platformFees: 2_000, taxes: 100),
            .payout(payment: "p", host: "usr_ü"), .authorize(payment: "q", currency: "USD", amount: 1, settlement: nil, reference: "pi_test"), .void(payment: "q"),
        ])
        for event in events { #expect(try roundTrip(event) == event) }
        let decoded = try roundTrip(state: state, of: Ledger.self)
        #expect(decoded == state)
        #expect(Ledger.violations(in: decoded) == [])
    }
}
