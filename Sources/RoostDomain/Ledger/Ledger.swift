import RoostBinary

/// The money of bookings, in double entry: every movement is a balanced transfer in one currency
/// with a unique id, immutable once posted (a correction is a new transfer).
///
/// Accounts, per currency:
/// - `guestPayments`: money received from guests through the payment provider (debited on capture);
/// - `guestFundsHeld`: what the platform holds for guests until their stay (guarded: never below 0);
/// - `hostPayable(host)`: earned by a host, not yet paid out (guarded);
/// - `platformRevenue`: service and host fees; `taxesPayable`: taxes collected;
/// - `refunds`, `payouts`: money sent back to guests, and to hosts;
/// - `fx`: the two sides of a conversion when a guest pays in another currency than the listing's.
///
/// The flow of one booking: authorize (no money moves) → capture (guestPayments → guestFundsHeld,
/// through `fx` when converted) or void → refunds (guestFundsHeld → refunds) → release at payout
/// time (guestFundsHeld → hostPayable + platformRevenue + taxesPayable) → payout (hostPayable →
/// payouts). The ledger is sharded by payment id (a booking's id): one booking's money is in one shard.
public enum Ledger: Aggregate {
    public enum Account: Hashable, Sendable, Comparable, CustomStringConvertible {
        case guestPayments
        case guestFundsHeld
        case hostPayable(host: String)
        case platformRevenue
        case taxesPayable
        case refunds
        case payouts
        case fx

        /// Accounts whose credit balance may never go below zero.
        var isGuarded: Bool {
            switch self {
            case .guestFundsHeld, .hostPayable: true
            default: false
            }
        }

        public var description: String {
            switch self {
            case .guestPayments: "guest_payments"
            case .guestFundsHeld: "guest_funds_held"
            case let .hostPayable(host): "host_payable:\(host)"
            case .platformRevenue: "platform_revenue"
            case .taxesPayable: "taxes_payable"
            case .refunds: "refunds"
            case .payouts: "payouts"
            case .fx: "fx"
            }
        }
    }

    public struct Line: Hashable, Sendable {
        public var account: Account
        /// Positive: a debit; negative: a credit.
        public var amount: Int64

        public static func debit(_ account: Account, _ amount: Int64) -> Line { Line(account: account, amount: amount) }
        public static func credit(_ account: Account, _ amount: Int64) -> Line { Line(account: account, amount: -amount) }
    }

    public enum Purpose: Hashable, Sendable {
        case capture
        case refund
        case release
        case payout
    }

    public struct Transfer: Hashable, Sendable {
        public var id: String
        public var payment: String
        public var purpose: Purpose
        public var currency: String
        public var lines: [Line]
        public var at: Timestamp

        public init(id: String, payment: String, purpose: Purpose, currency: String, lines: [Line], at: Timestamp) {
            self.id = id
            self.payment = payment
            self.purpose = purpose
            self.currency = currency
            self.lines = lines
            self.at = at
        }

        public var debits: Int64 { lines.reduce(0) { $0 + max(0, $1.amount) } }
        public var credits: Int64 { lines.reduce(0) { $0 + max(0, -$1.amount) } }
    }

    public enum PaymentStatus: UInt8, Sendable {
        case authorized = 1
        case captured = 2
        case voided = 3
    }

    public struct Payment: Hashable, Sendable {
        public var id: String
        /// What the guest pays in: the amount authorized and captured.
        public var currency: String
        public var amount: Int64
        public var status: PaymentStatus
        /// The listing's currency and the amount in it (equal to the above when not converted).
        public var settlementCurrency: String
        public var settlementAmount: Int64
        /// The provider's id of the payment.
        public var reference: String = ""
        /// When it was authorized.
        public var authorizedAt = Timestamp(millisecondsSinceEpoch: 0)
        /// Refunded so far, in the listing's currency (what left `guestFundsHeld`) and in the
        /// payment's (what the provider sent back to the guest).
        public var refunded: Int64 = 0
        public var refundedCharged: Int64 = 0
        /// Payout attempts the provider refused (or that found no account), the last reason, and
        /// when the scheduler may try again. Zero attempts: none failed.
        public var payoutAttempts = 0
        public var payoutError = ""
        public var payoutRetryAt = Timestamp(millisecondsSinceEpoch: 0)
        /// Where the first attempt that reached the provider sent the payout: every retry goes
        /// there too (its key is the same; a provider refuses, or after its key expires repeats, a
        /// payout with another destination). Empty: none reached the provider yet.
        public var payoutDestination = ""
        /// Payout attempts the provider refused outright with no attempt left unanswered before
        /// them: nothing was paid under their key, so the next attempt is a new payout (a new key,
        /// `payoutKey`, to the host's account as it is then).
        public var payoutRefusals = 0
        public var released = false
        public var paidOut = false
        /// Refunds recorded as owed before they are sent (an admin's), by refund id. Each leaves when
        /// its refund is recorded (`refunded`) or withdrawn. While any is left, what remains to refund
        /// is less by them, and nothing is released.
        public var requestedRefunds: [String: RequestedRefund] = [:]

        /// What is left to refund in the payment's currency, less the requested refunds other than `refund`.
        public func refundable(besides refund: String? = nil) -> Int64 {
            amount - refundedCharged - requestedRefunds.reduce(0) { $0 + ($1.key == refund ? 0 : $1.value.charged) }
        }

        /// The idempotency key of the next payout attempt: `payout:<payment>`, then
        /// `payout:<payment>:<n>` after `n` refusals (a provider replays a refused key's refusal).
        public var payoutKey: String { payoutRefusals == 0 ? "payout:\(id)" : "payout:\(id):\(payoutRefusals)" }
    }

    /// A refund owed and not yet recorded as made: its amount in the payment's currency, and when it was requested
    /// (after long enough the provider may have forgotten its key).
    public struct RequestedRefund: Hashable, Sendable {
        public var charged: Int64
        public var at: Timestamp

        public init(charged: Int64, at: Timestamp) {
            self.charged = charged
            self.at = at
        }
    }

    public struct State: Equatable, Sendable {
        /// By account and currency: debits minus credits.
        public internal(set) var balances: [BalanceKey: Int64] = [:]
        public internal(set) var transfers: [String: Transfer] = [:]
        public internal(set) var payments: [String: Payment] = [:]
        /// Hosts' connected accounts at the provider, by host id (kept in the host's shard).
        public internal(set) var payoutAccounts: [String: PayoutAccount] = [:]
        /// The payments with refunds requested and not yet made (`Payment.requestedRefunds`), so
        /// the scheduler finds them without a scan of every payment.
        public internal(set) var requestingRefunds: Set<String> = []

        public init() {}

        public func balance(_ account: Account, _ currency: String) -> Int64 { balances[BalanceKey(account: account, currency: currency)] ?? 0 }
    }

    public struct BalanceKey: Hashable, Sendable {
        public var account: Account
        public var currency: String
    }

    /// Where a host is paid: an account at the payment provider (Stripe Connect's `acct_…`).
    public struct PayoutAccount: Hashable, Sendable {
        public var account: String
        public var updatedAt: Timestamp

        public init(account: String, updatedAt: Timestamp) {
            self.account = account
            self.updatedAt = updatedAt
        }
    }

    public enum Command: Sendable {
        /// `settlement`: the amount in the listing's currency, when the guest pays in another.
        case authorize(payment: String, currency: String, amount: Int64, settlement: (currency: String, amount: Int64)?, reference: String)
        case capture(payment: String)
        /// Authorize and capture as one decision: a payment the provider charged at once (instant book).
        case charge(payment: String, currency: String, amount: Int64, settlement: (currency: String, amount: Int64)?, reference: String)
        case void(payment: String)
        /// `amount` leaves the guest's funds held (listing currency); `charged` is what the provider
        /// refunds in the payment's currency (the same number unless the guest paid in another, when
        /// `amount` is `Payment.refundShare(charged:)` and may be 0).
        case refund(payment: String, refund: String, amount: Int64, charged: Int64)
        /// Records that `charged` (the payment's currency) is owed back under `refund`'s id, before the
        /// provider is asked: a crash between the provider's refund and `refund` then leaves the debt
        /// on record, to be sent again under the same key and recorded (an admin's refund).
        case requestRefund(payment: String, refund: String, charged: Int64)
        /// Withdraws a requested refund the provider refused outright (nothing was sent under its key).
        case withdrawRefund(payment: String, refund: String)
        /// Moves what the guest paid (less refunds) to the host, the platform and the tax account.
        case release(payment: String, host: String, platformFees: Int64, taxes: Int64)
        /// Pays the host what the release gave them.
        case payout(payment: String, host: String)
        /// A payout that did not go through, to be tried again from `retryAt`.
        /// `destination`: where the attempt sent it (empty when it found no account). `refused`:
        /// the provider said no outright, and no attempt under the same key went unanswered before,
        /// so nothing was paid under it (see `Payment.payoutRefusals`).
        case payoutFailed(payment: String, reason: String, destination: String, retryAt: Timestamp, refused: Bool)
        /// Sets the account a host is paid to (routed by the host's id).
        case setPayoutAccount(host: String, account: String)
    }

    public enum Event: Sendable, Equatable {
        // Coding: LedgerCoding.swift
        case authorized(Payment, at: Timestamp)
        case voided(payment: String, at: Timestamp)
        /// Money moved: the transfer and what it does to its payment.
        case posted(Transfer)
        /// A refund: its transfer (listing currency) and what the guest got back in the payment's.
        case refunded(Transfer, charged: Int64)
        case payoutFailed(payment: String, reason: String, destination: String, at: Timestamp, retryAt: Timestamp, refused: Bool)
        case payoutAccountSet(host: String, PayoutAccount)
        case refundRequested(payment: String, refund: String, charged: Int64, at: Timestamp)
        case refundWithdrawn(payment: String, refund: String, at: Timestamp)
    }

    public enum Rejection: Error, Equatable, Sendable {
        case paymentExists
        case paymentNotFound
        case paymentIs(PaymentStatus)
        case invalidAmount
        case transferExists
        /// More than the guest's funds held for this payment: what is left, in the currency of the amount refused
        /// (the listing's for what leaves the funds held, the payment's for what the provider would send back).
        case insufficientFunds(available: Int64)
        case notReleased
        case alreadyReleased
        case alreadyPaidOut
        /// Refunds were requested and not yet made: the money stays held until they are.
        case refundsRequested
    }

    public static let kind: UInt16 = 4

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        let now = context.now
        func payment(_ id: String) -> Result<Payment, Rejection> {
            state.payments[id].map { .success($0) } ?? .failure(.paymentNotFound)
        }
        func post(_ transfer: Transfer) -> Result<[Event], Rejection> {
            state.transfers[transfer.id] == nil ? .success([.posted(transfer)]) : .failure(.transferExists)
        }
        switch command {
        case let .authorize(id, currency, amount, settlement, reference):
            guard state.payments[id] == nil else { return .failure(.paymentExists) }
            guard amount > 0, (settlement?.amount ?? 1) > 0 else { return .failure(.invalidAmount) }
            var record = Payment(
                id: id, currency: currency, amount: amount, status: .authorized,
                settlementCurrency: settlement?.currency ?? currency, settlementAmount: settlement?.amount ?? amount
            )
            record.reference = reference
            return .success([.authorized(record, at: now)])
        case let .capture(id):
            return payment(id).flatMap { payment in
                guard payment.status == .authorized else { return .failure(.paymentIs(payment.status)) }
                return .success(captured(payment, at: now))
            }
        case let .charge(id, currency, amount, settlement, reference):
            // The authorization's event, then the capture of the payment it records (built from the
            // record, not from a copy of the state with it applied: that copy would cost the shard).
            return decide(.authorize(payment: id, currency: currency, amount: amount, settlement: settlement, reference: reference), state: state, context: context)
                .map { authorized in
                    guard case let .authorized(payment, _)? = authorized.first else { return authorized }
                    return authorized + captured(payment, at: now)
                }
        case let .void(id):
            return payment(id).flatMap { payment in
                payment.status == .authorized ? .success([.voided(payment: id, at: now)]) : .failure(.paymentIs(payment.status))
            }
        case let .refund(id, refundID, amount, charged):
            return payment(id).flatMap { payment in
                guard payment.status == .captured else { return .failure(.paymentIs(payment.status)) }
                guard !payment.released else { return .failure(.alreadyReleased) }
                // A converted payment's refund may take nothing of the settlement: a piece too small to move
                // one of its minor units (`refundShare`). Unconverted, both sides are the same number.
                guard amount >= 0, charged > 0, payment.currency != payment.settlementCurrency || charged == amount else { return .failure(.invalidAmount) }
                let held = payment.settlementAmount - payment.refunded
                guard amount <= held else { return .failure(.insufficientFunds(available: held)) }
                let refundable = payment.refundable(besides: refundID)
                guard charged <= refundable else { return .failure(.insufficientFunds(available: refundable)) }
                // A requested refund is made as requested.
                if let requested = payment.requestedRefunds[refundID], requested.charged != charged { return .failure(.invalidAmount) }
                let transfer = Transfer(
                    id: "ref:\(id):\(refundID)", payment: id, purpose: .refund, currency: payment.settlementCurrency,
                    lines: amount > 0 ? [.debit(.guestFundsHeld, amount), .credit(.refunds, amount)] : [], at: now)
                return state.transfers[transfer.id] == nil ? .success([.refunded(transfer, charged: charged)]) : .failure(.transferExists)
            }
        case let .requestRefund(id, refundID, charged):
            return payment(id).flatMap { payment in
                guard payment.status == .captured else { return .failure(.paymentIs(payment.status)) }
                guard !payment.released else { return .failure(.alreadyReleased) }
                guard state.transfers["ref:\(id):\(refundID)"] == nil else { return .failure(.transferExists) }
                if let requested = payment.requestedRefunds[refundID] { return requested.charged == charged ? .success([]) : .failure(.invalidAmount) }
                guard charged > 0 else { return .failure(.invalidAmount) }
                let left = payment.refundable()
                guard charged <= left else { return .failure(.insufficientFunds(available: left)) }
                return .success([.refundRequested(payment: id, refund: refundID, charged: charged, at: now)])
            }
        case let .withdrawRefund(id, refundID):
            return payment(id).flatMap { payment in
                payment.requestedRefunds[refundID] == nil ? .success([]) : .success([.refundWithdrawn(payment: id, refund: refundID, at: now)])
            }
        case let .release(id, host, platformFees, taxes):
            return payment(id).flatMap { payment in
                guard payment.status == .captured else { return .failure(.paymentIs(payment.status)) }
                guard !payment.released else { return .failure(.alreadyReleased) }
                guard payment.requestedRefunds.isEmpty else { return .failure(.refundsRequested) }
                let held = payment.settlementAmount - payment.refunded
                guard platformFees >= 0, taxes >= 0 else { return .failure(.invalidAmount) }
                guard held > 0 else { return .failure(.insufficientFunds(available: 0)) }
                // The platform's fees and the taxes are taken first (in full while enough is held); the host gets
                // the rest, so refunds come out of the host's share.
                let fees = min(platformFees + taxes, held)
                let toTaxes = min(taxes, fees), toPlatform = fees - toTaxes
                let toHost = held - fees
                var lines: [Line] = [.debit(.guestFundsHeld, held)]
                if toHost > 0 { lines.append(.credit(.hostPayable(host: host), toHost)) }
                if toPlatform > 0 { lines.append(.credit(.platformRevenue, toPlatform)) }
                if toTaxes > 0 { lines.append(.credit(.taxesPayable, toTaxes)) }
                return post(Transfer(id: "rel:\(id)", payment: id, purpose: .release, currency: payment.settlementCurrency, lines: lines, at: now))
            }
        case let .payout(id, host):
            return payment(id).flatMap { payment in
                guard payment.released else { return .failure(.notReleased) }
                guard !payment.paidOut else { return .failure(.alreadyPaidOut) }
                let earned = state.transfers["rel:\(id)"]?.lines.first { $0.account == .hostPayable(host: host) }.map { -$0.amount } ?? 0
                guard earned > 0 else { return .failure(.insufficientFunds(available: 0)) }
                return post(Transfer(
                    id: "pay:\(id)", payment: id, purpose: .payout, currency: payment.settlementCurrency,
                    lines: [.debit(.hostPayable(host: host), earned), .credit(.payouts, earned)], at: now))
            }
        case let .payoutFailed(id, reason, destination, retryAt, refused):
            return payment(id).flatMap { payment in
                guard payment.status == .captured else { return .failure(.paymentIs(payment.status)) }
                guard !payment.paidOut else { return .failure(.alreadyPaidOut) }
                return .success([.payoutFailed(payment: id, reason: reason, destination: destination, at: now, retryAt: retryAt, refused: refused)])
            }
        case let .setPayoutAccount(host, account):
            guard state.payoutAccounts[host]?.account != account else { return .success([]) }
            return .success([.payoutAccountSet(host: host, PayoutAccount(account: account, updatedAt: now))])
        }
    }

    /// A capture's transfers: the guest's money into funds held, through `fx` when converted.
    private static func captured(_ payment: Payment, at now: Timestamp) -> [Event] {
        let id = payment.id
        var lines: [Line] = [.debit(.guestPayments, payment.amount)]
        var transfers: [Transfer] = []
        if payment.settlementCurrency == payment.currency {
            lines.append(.credit(.guestFundsHeld, payment.amount))
        } else {
            lines.append(.credit(.fx, payment.amount))
            transfers.append(Transfer(
                id: "cap:\(id):fx", payment: id, purpose: .capture, currency: payment.settlementCurrency,
                lines: [.debit(.fx, payment.settlementAmount), .credit(.guestFundsHeld, payment.settlementAmount)], at: now))
        }
        transfers.insert(Transfer(id: "cap:\(id)", payment: id, purpose: .capture, currency: payment.currency, lines: lines, at: now), at: 0)
        return transfers.map { .posted($0) }
    }

    public static func apply(_ event: Event, to state: inout State) {
        switch event {
        case let .authorized(payment, at):
            state.payments[payment.id] = payment
            state.payments[payment.id]?.authorizedAt = at
        case let .voided(id, _):
            state.payments[id]?.status = .voided
        case let .payoutFailed(id, reason, destination, _, retryAt, refused):
            state.payments[id]?.payoutAttempts += 1
            if refused {
                // Nothing paid under the key: the next attempt is a new payout, wherever the host is paid then.
                state.payments[id]?.payoutRefusals += 1
            } else if state.payments[id]?.payoutDestination.isEmpty == true {
                state.payments[id]?.payoutDestination = destination
            }
            state.payments[id]?.payoutError = reason
            state.payments[id]?.payoutRetryAt = retryAt
        case let .payoutAccountSet(host, account):
            state.payoutAccounts[host] = account
        case let .refunded(transfer, charged):
            post(transfer, to: &state)
            state.payments[transfer.payment]?.refundedCharged += charged
            settleRequest(String(transfer.id.dropFirst("ref:\(transfer.payment):".count)), of: transfer.payment, in: &state)
        case let .refundRequested(id, refundID, charged, at):
            state.payments[id]?.requestedRefunds[refundID] = RequestedRefund(charged: charged, at: at)
            state.requestingRefunds.insert(id)
        case let .refundWithdrawn(id, refundID, _):
            settleRequest(refundID, of: id, in: &state)
        case let .posted(transfer):
            post(transfer, to: &state)
            // A refund written before refunds were also counted in the payment's currency: the
            // same number when the guest paid in the listing's currency.
            if transfer.purpose == .refund, let payment = state.payments[transfer.payment], payment.currency == payment.settlementCurrency {
                state.payments[transfer.payment]?.refundedCharged += transfer.debits
            }
        }
    }

    /// A requested refund made or withdrawn.
    private static func settleRequest(_ refund: String, of payment: String, in state: inout State) {
        guard state.payments[payment]?.requestedRefunds.removeValue(forKey: refund) != nil else { return }
        if state.payments[payment]?.requestedRefunds.isEmpty == true { state.requestingRefunds.remove(payment) }
    }

    private static func post(_ transfer: Transfer, to state: inout State) {
        state.transfers[transfer.id] = transfer
        for line in transfer.lines { state.balances[BalanceKey(account: line.account, currency: transfer.currency), default: 0] += line.amount }
        switch transfer.purpose {
        case .capture: state.payments[transfer.payment]?.status = .captured
        case .refund: state.payments[transfer.payment]?.refunded += transfer.debits
        case .release: state.payments[transfer.payment]?.released = true
        case .payout: state.payments[transfer.payment]?.paidOut = true
        }
    }

    /// Every invariant the ledger promises, checked from its transfers (tests call this after every
    /// scenario): each transfer balanced, with no zero line (a converted payment's refund too small to
    /// move a minor unit has no lines at all) and in one currency; balances equal to the sum of
    /// the transfers; no guarded account below zero; each payment captured or voided at most once
    /// (never both); each payout made once, after its release. Empty when all hold.
    public static func violations(in state: State) -> [String] {
        var problems: [String] = []
        var recomputed: [BalanceKey: Int64] = [:]
        var byPayment: [String: [Transfer]] = [:]
        for transfer in state.transfers.values {
            if transfer.debits != transfer.credits { problems.append("transfer \(transfer.id) is unbalanced: \(transfer.debits) ≠ \(transfer.credits)") }
            if transfer.lines.contains(where: { $0.amount == 0 }) { problems.append("transfer \(transfer.id) has a zero line") }
            for line in transfer.lines { recomputed[BalanceKey(account: line.account, currency: transfer.currency), default: 0] += line.amount }
            byPayment[transfer.payment, default: []].append(transfer)
        }
        var perCurrency: [String: Int64] = [:]
        for (key, value) in state.balances where value != 0 { perCurrency[key.currency, default: 0] += value }
        for (currency, sum) in perCurrency where sum != 0 { problems.append("\(currency): debits and credits differ by \(sum)") }
        for key in Set(recomputed.keys).union(state.balances.keys) where (recomputed[key] ?? 0) != (state.balances[key] ?? 0) {
            problems.append("\(key.account) \(key.currency): balance \(state.balances[key] ?? 0), transfers say \(recomputed[key] ?? 0)")
        }
        for (key, value) in state.balances where key.account.isGuarded && value > 0 {
            problems.append("\(key.account) \(key.currency) is overdrawn by \(value)")
        }
        for payment in state.payments.values {
            let transfers = byPayment[payment.id] ?? []
            let captures = transfers.filter { $0.purpose == .capture && $0.currency == payment.currency }.count
            if payment.status == .captured, captures != 1 { problems.append("payment \(payment.id) captured \(captures) times") }
            if payment.status != .captured, captures != 0 { problems.append("payment \(payment.id) is \(payment.status) with a capture") }
            let payouts = transfers.filter { $0.purpose == .payout }.count
            if payouts > 1 || (payouts == 1 && !payment.released) { problems.append("payment \(payment.id) paid out \(payouts) times") }
            if payment.refunded > payment.settlementAmount || payment.refundedCharged > payment.amount {
                problems.append("payment \(payment.id) refunded more than it took")
            }
            if payment.refundable() < 0 { problems.append("payment \(payment.id) has more refunds requested than it has left") }
            if payment.released, !payment.requestedRefunds.isEmpty { problems.append("payment \(payment.id) was released with refunds requested") }
        }
        return problems.sorted()
    }
}

extension Ledger.Payment {
    /// What a refund of `charged` (in the payment's currency) takes from the settlement (the listing's currency): the
    /// refunds' running total converted at the payment's own ratio (`settlementAmount / amount`, rounded once, half
    /// to even), less what earlier refunds took. However a payment is refunded — in one piece or in many — the pieces
    /// add up to the settlement exactly; a small piece takes 0 or 1 unit, as the running total crosses a rounding
    /// boundary or not (rounding each piece on its own, or up to 1, would drift, and could leave nothing held for the
    /// last refund). When `charged` is all that is left, it takes all that is held. Unconverted, it is `charged` itself.
    public func refundShare(charged: Int64) -> Int64 {
        let held = settlementAmount - refunded
        // Refunds written before they were counted in the payment's currency too (logs and snapshots from before
        // ledger event 4) left `refundedCharged` at 0: their running total is taken back from the settlement side.
        let counted = refundedCharged == 0 && refunded > 0 ? Money.proportion(amount, refunded, of: max(1, settlementAmount)) : refundedCharged
        let after = counted + charged
        guard after < amount, amount > 0 else { return held }
        return min(held, max(0, Money.proportion(settlementAmount, after, of: amount) - refunded))
    }
}
