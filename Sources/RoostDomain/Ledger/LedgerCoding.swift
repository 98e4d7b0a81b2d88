import RoostBinary

// The binary form of the ledger: events and snapshots.

extension ByteWriter {
    mutating func write(_ account: Ledger.Account) {
        switch account {
        case .guestPayments: write(UInt8(1))
        case .guestFundsHeld: write(UInt8(2))
        case let .hostPayable(host):
            write(UInt8(3))
            writeString(host)
        case .platformRevenue: write(UInt8(4))
        case .taxesPayable: write(UInt8(5))
        case .refunds: write(UInt8(6))
        case .payouts: write(UInt8(7))
        case .fx: write(UInt8(8))
        }
    }

    mutating func write(_ transfer: Ledger.Transfer) {
        writeString(transfer.id)
        writeString(transfer.payment)
        let purpose: UInt8 = switch transfer.purpose {
        case .capture: 1
        case .refund: 2
        case .release: 3
        case .payout: 4
        }
        write(purpose)
        writeString(transfer.currency)
        writeVarint(transfer.lines.count)
        for line in transfer.lines {
            write(line.account)
            write(line.amount)
        }
        write(transfer.at)
    }

    mutating func write(_ payment: Ledger.Payment) {
        writeString(payment.id)
        writeString(payment.currency)
        write(payment.amount)
        write(payment.status.rawValue)
        writeString(payment.settlementCurrency)
        write(payment.settlementAmount)
        writeString(payment.reference)
        write(payment.refunded)
        write(payment.released)
        write(payment.paidOut)
    }
}

extension ByteReader {
    mutating func readLedgerAccount() throws(DecodeError) -> Ledger.Account {
        switch try readUInt8() {
        case 1: .guestPayments
        case 2: .guestFundsHeld
        case 3: .hostPayable(host: try readString())
        case 4: .platformRevenue
        case 5: .taxesPayable
        case 6: .refunds
        case 7: .payouts
        case 8: .fx
        case let other: throw .invalid("unknown ledger account \(other)")
        }
    }

    mutating func readTransfer() throws(DecodeError) -> Ledger.Transfer {
        let id = try readString(), payment = try readString()
        let purpose: Ledger.Purpose = switch try readUInt8() {
        case 1: .capture
        case 2: .refund
        case 3: .release
        case 4: .payout
        case let other: throw .invalid("unknown transfer purpose \(other)")
        }
        let currency = try readString()
        var lines: [Ledger.Line] = []
        for _ in 0..<(try readCount(limit: remaining / 9)) { lines.append(Ledger.Line(account: try readLedgerAccount(), amount: try readInt64())) }
        let transfer = Ledger.Transfer(id: id, payment: payment, purpose: purpose, currency: currency, lines: lines, at: try readTimestamp())
        guard transfer.debits == transfer.credits else { throw .invalid("transfer \(id) is unbalanced") }
        return transfer
    }

    mutating func readPayment() throws(DecodeError) -> Ledger.Payment {
        let id = try readString(), currency = try readString(), amount = try readInt64()
        let raw = try readUInt8()
        guard let status = Ledger.PaymentStatus(rawValue: raw) else { throw .invalid("unknown payment status \(raw)") }
        var payment = Ledger.Payment(
            id: id, currency: currency, amount: amount, status: status, settlementCurrency: try readString(), settlementAmount: try readInt64()
        )
        payment.reference = try readString()
        payment.refunded = try readInt64()
        payment.released = try readBool()
        payment.paidOut = try readBool()
        return payment
    }
}

/// The frozen on-disk tags of `Ledger.Event`. Never renumber.
extension Ledger.Event: EventCoding {
    private enum Tag: UInt16 {
        case authorized = 1
        case voided = 2
        case posted = 3
        case refunded = 4
        case payoutFailed = 5
        case payoutAccountSet = 6
        case refundRequested = 7
        case refundWithdrawn = 8
    }

    public func encode(into writer: inout ByteWriter) {
        func header(_ tag: Tag, version: UInt8 = 1) { EventHeader(tag: tag.rawValue, version: version).write(into: &writer) }
        switch self {
        case let .authorized(payment, at):
            header(.authorized)
            writer.write(payment)
            writer.write(at)
        case let .voided(payment, at):
            header(.voided)
            writer.writeString(payment)
            writer.write(at)
        case let .posted(transfer):
            header(.posted)
            writer.write(transfer)
        case let .refunded(transfer, charged):
            header(.refunded)
            writer.write(transfer)
            writer.write(charged)
        case let .payoutFailed(payment, reason, destination, at, retryAt, refused):
            // Version 2 adds `refused`, written only when set: a log without refusals stays
            // readable by a build from before them.
            header(.payoutFailed, version: refused ? 2 : 1)
            writer.writeString(payment)
            writer.writeString(reason)
            writer.writeString(destination)
            writer.write(at)
            writer.write(retryAt)
            if refused { writer.write(true) }
        case let .payoutAccountSet(host, account):
            header(.payoutAccountSet)
            writer.writeString(host)
            writer.writeString(account.account)
            writer.write(account.updatedAt)
        case let .refundRequested(payment, refund, charged, at):
            header(.refundRequested)
            writer.writeString(payment)
            writer.writeString(refund)
            writer.write(charged)
            writer.write(at)
        case let .refundWithdrawn(payment, refund, at):
            header(.refundWithdrawn)
            writer.writeString(payment)
            writer.writeString(refund)
            writer.write(at)
        }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self {
        let header = try EventHeader.read(from: &reader)
        guard let tag = Tag(rawValue: header.tag), header.version == 1 || (tag == .payoutFailed && header.version == 2) else {
            throw header.unknown(in: Self.self)
        }
        switch tag {
        case .authorized: return .authorized(try reader.readPayment(), at: try reader.readTimestamp())
        case .voided: return .voided(payment: try reader.readString(), at: try reader.readTimestamp())
        case .posted: return .posted(try reader.readTransfer())
        case .refunded:
            let transfer = try reader.readTransfer()
            guard transfer.purpose == .refund else { throw .invalid("refund event with a \(transfer.purpose) transfer") }
            return .refunded(transfer, charged: try reader.readInt64())
        case .payoutFailed:
            return .payoutFailed(
                payment: try reader.readString(), reason: try reader.readString(), destination: try reader.readString(),
                at: try reader.readTimestamp(), retryAt: try reader.readTimestamp(), refused: header.version == 2 ? try reader.readBool() : false
            )
        case .payoutAccountSet:
            return .payoutAccountSet(host: try reader.readString(), Ledger.PayoutAccount(account: try reader.readString(), updatedAt: try reader.readTimestamp()))
        case .refundRequested:
            return .refundRequested(payment: try reader.readString(), refund: try reader.readString(), charged: try reader.readInt64(), at: try reader.readTimestamp())
        case .refundWithdrawn:
            return .refundWithdrawn(payment: try reader.readString(), refund: try reader.readString(), at: try reader.readTimestamp())
        }
    }
}

extension Ledger {
    // The snapshot: payments, then transfers (balances are their sum, rebuilt on load), then
    // sections added later, each absent from older snapshots (which load with zeros): when each
    // payment was authorized and what it refunded in its own currency; then each payment's payout
    // failures and the hosts' payout accounts; then, when any was refused or any refund is requested,
    // each payment's payout refusals; then, when any refund is requested, those payments' requests.
    public static func encode(state: State, into writer: inout ByteWriter) {
        let ids = state.payments.keys.sorted()
        writer.writeVarint(state.payments.count)
        for id in ids { writer.write(state.payments[id]!) }
        writer.writeVarint(state.transfers.count)
        for id in state.transfers.keys.sorted() { writer.write(state.transfers[id]!) }
        for id in ids {
            writer.write(state.payments[id]!.authorizedAt)
            writer.write(state.payments[id]!.refundedCharged)
        }
        for id in ids {
            let payment = state.payments[id]!
            writer.writeVarint(payment.payoutAttempts)
            writer.writeString(payment.payoutError)
            writer.write(payment.payoutRetryAt)
            writer.writeString(payment.payoutDestination)
        }
        writer.writeVarint(state.payoutAccounts.count)
        for host in state.payoutAccounts.keys.sorted() {
            writer.writeString(host)
            writer.writeString(state.payoutAccounts[host]!.account)
            writer.write(state.payoutAccounts[host]!.updatedAt)
        }
        // Only when some payout was refused (or a later section follows): a snapshot without stays readable by a
        // build from before refusals. The same for requested refunds.
        let requesting = state.requestingRefunds.sorted()
        if !requesting.isEmpty || ids.contains(where: { state.payments[$0]!.payoutRefusals > 0 }) {
            for id in ids { writer.writeVarint(state.payments[id]!.payoutRefusals) }
        }
        if !requesting.isEmpty {
            writer.writeVarint(requesting.count)
            for id in requesting {
                let requested = state.payments[id]!.requestedRefunds
                writer.writeString(id)
                writer.writeVarint(requested.count)
                for refund in requested.keys.sorted() {
                    writer.writeString(refund)
                    writer.write(requested[refund]!.charged)
                    writer.write(requested[refund]!.at)
                }
            }
        }
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        var ids: [String] = []
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let payment = try reader.readPayment()
            state.payments[payment.id] = payment
            ids.append(payment.id)
        }
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let transfer = try reader.readTransfer()
            state.transfers[transfer.id] = transfer
            for line in transfer.lines { state.balances[BalanceKey(account: line.account, currency: transfer.currency), default: 0] += line.amount }
        }
        if reader.remaining > 0 {
            for id in ids {
                state.payments[id]?.authorizedAt = try reader.readTimestamp()
                state.payments[id]?.refundedCharged = try reader.readInt64()
            }
        } else {
            // Older: refunds were counted in the listing's currency alone, the same number when one currency.
            for id in ids {
                guard let payment = state.payments[id], payment.currency == payment.settlementCurrency else { continue }
                state.payments[id]?.refundedCharged = payment.refunded
            }
        }
        if reader.remaining > 0 {
            for id in ids {
                state.payments[id]?.payoutAttempts = try reader.readCount(limit: Int(Int32.max))
                state.payments[id]?.payoutError = try reader.readString()
                state.payments[id]?.payoutRetryAt = try reader.readTimestamp()
                state.payments[id]?.payoutDestination = try reader.readString()
            }
            for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
                let host = try reader.readString()
                state.payoutAccounts[host] = Ledger.PayoutAccount(account: try reader.readString(), updatedAt: try reader.readTimestamp())
            }
        }
        if reader.remaining > 0 {
            for id in ids { state.payments[id]?.payoutRefusals = try reader.readCount(limit: Int(Int32.max)) }
        }
        if reader.remaining > 0 {
            for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
                let id = try reader.readString()
                guard state.payments[id] != nil else { throw .invalid("refunds requested for an unknown payment \(id)") }
                state.requestingRefunds.insert(id)
                for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
                    let refund = try reader.readString()
                    state.payments[id]?.requestedRefunds[refund] = Ledger.RequestedRefund(charged: try reader.readInt64(), at: try reader.readTimestamp())
                }
            }
        }
        return state
    }
}
