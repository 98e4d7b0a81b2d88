import RoostDomain
import Testing

/// Each policy at its boundaries, to the millisecond.
struct CancellationRefundTests {
    let total: Int64 = 100_001
    let checkIn = Timestamp(millisecondsSinceEpoch: 1_900_000_000_000)
    let hour = CancellationRefund.hour, day = CancellationRefund.day

    func at(_ millisecondsBeforeCheckIn: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: checkIn.millisecondsSinceEpoch - millisecondsBeforeCheckIn) }

    func refund(_ policy: CancellationPolicy, booked: Timestamp? = nil, canceled: Timestamp, by party: BookingParty = .guest) -> Int64 {
        CancellationRefund.amount(total: total, policy: policy, by: party, bookedAt: booked ?? at(60 * day), checkInAt: checkIn, canceledAt: canceled)
    }

    @Test func flexibleIsFullUntilADayBefore() {
        #expect(refund(.flexible, canceled: at(day)) == total, "exactly 24 h before")
        #expect(refund(.flexible, canceled: at(day - 1)) == 0, "a millisecond later")
        #expect(refund(.flexible, canceled: at(30 * day)) == total)
        #expect(refund(.flexible, canceled: at(-hour)) == 0, "after check-in")
    }

    @Test func moderateIsFullUntilFiveDaysBefore() {
        #expect(refund(.moderate, canceled: at(5 * day)) == total)
        #expect(refund(.moderate, canceled: at(5 * day - 1)) == 0)
        #expect(refund(.moderate, canceled: at(2 * day)) == 0)
    }

    @Test func strictIsFullInTheGraceWindowThenHalfThenNothing() {
        let early = at(20 * day)  // booked 20 days ahead: the 48 h grace applies
        #expect(refund(.strict, booked: early, canceled: Timestamp(millisecondsSinceEpoch: early.millisecondsSinceEpoch + 48 * hour)) == total)
        #expect(refund(.strict, booked: early, canceled: Timestamp(millisecondsSinceEpoch: early.millisecondsSinceEpoch + 48 * hour + 1)) == 50_000,
                "half of 1,000.01 is 500.005: half to even gives 500.00")
        let late = at(14 * day - 1)  // less than 14 days ahead: no grace, even a minute after booking
        #expect(refund(.strict, booked: late, canceled: Timestamp(millisecondsSinceEpoch: late.millisecondsSinceEpoch + 60_000)) == 50_000)
        #expect(refund(.strict, booked: at(15 * day), canceled: at(14 * day)) == total, "still exactly 14 days ahead, a day after booking")
        #expect(refund(.strict, booked: at(15 * day), canceled: at(14 * day - 1)) == 50_000, "the grace needs 14 days' notice when canceling")
        #expect(refund(.strict, canceled: at(7 * day)) == 50_000, "exactly 7 days before")
        #expect(refund(.strict, canceled: at(7 * day - 1)) == 0)
    }

    @Test func hostsAndAdminsAlwaysRefundEverything() {
        for policy in CancellationPolicy.allCases {
            #expect(refund(policy, canceled: at(-day), by: .host) == total)
            #expect(refund(policy, canceled: at(0), by: .admin) == total)
        }
    }
}
