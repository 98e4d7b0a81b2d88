import ArgumentParser
import Foundation
import RoostAPI
import RoostDomain
import RoostEngine
import RoostStorage

/// What an operator runs after a restore or a crash, and what the crash tests run after every
/// round: the engine's promises, checked offline over the recovered state.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the recovered state's invariants offline, changing nothing: no night held by two bookings, every ledger invariant, every payment's booking."
    )

    @OptionGroup var data: DataDirectoryOption

    func run() async throws {
        let (configuration, logger) = try loadConfiguration(dataDirectory: data.dataDirectory)
        try requireExistingState(configuration)
        let options = configuration.engineOptions()
        // A shared hold on the directory's lock while it is read: no server starts on it meanwhile.
        let hold: DataDirectoryLock?
        do {
            hold = try DataDirectoryLock.readerHold(directory: options.dataDirectory)
        } catch StorageError.locked(_, let pid) {
            throw OperationFailed("process \(pid) holds \(options.dataDirectory); stop it first (the check reads the state offline)")
        }
        defer { hold?.release() }
        // Read as start-up would recover it, changing nothing (a torn tail is read up to, not cut).
        let inspection = try Engine.inspect(options: options, aggregates: roostAggregates, logger: logger)
        var problems: [String] = []
        var bookings: [String: BookingRecord] = [:]
        for state in inspection.states(Listings.self) {
            for booking in state.bookings.values { bookings[booking.id] = booking }
            problems += Self.doubleBookings(state.bookings.values.filter { $0.status.holdsNights })
        }
        var payments = 0
        for state in inspection.states(Ledger.self) {
            problems += Ledger.violations(in: state)
            payments += state.payments.count
            for payment in state.payments.values {
                guard let booking = bookings[payment.id] else {
                    problems.append("payment \(payment.id) has no booking")
                    continue
                }
                if payment.status == .captured, booking.status == .pending { problems.append("booking \(booking.id) is pending with its payment captured") }
                if payment.amount != booking.charge.total { problems.append("payment \(payment.id) is \(payment.amount), its booking costs \(booking.charge.total)") }
            }
        }
        if let torn = inspection.tornTail {
            print("note: the WAL ends in a torn write (\(torn)); checked up to LSN \(inspection.lastLSN), and left as it is: the next start cuts it, keeping a .broken copy")
        }
        let summary = "\(bookings.count) bookings, \(payments) payments"
        guard problems.isEmpty else {
            for problem in problems.sorted() { print(problem) }
            throw OperationFailed("\(problems.count) problems in \(summary)")
        }
        print("ok: \(summary); no night held twice; the ledger's invariants hold")
    }

    /// Bookings of one listing that hold a night in common.
    static func doubleBookings(_ holding: [BookingRecord]) -> [String] {
        var problems: [String] = []
        for (_, stays) in Dictionary(grouping: holding, by: \.listingID) {
            let sorted = stays.sorted { $0.stay.lowerBound < $1.stay.lowerBound }
            for (earlier, later) in zip(sorted, sorted.dropFirst()) where earlier.stay.overlaps(later.stay) {
                problems.append("bookings \(earlier.id) and \(later.id) hold the same nights of \(earlier.listingID)")
            }
        }
        return problems
    }
}
