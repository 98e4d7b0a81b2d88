/// What a canceled booking refunds, by the policy stored on it (README, "Cancellations").
///
/// Times are compared to the millisecond; "check-in" is an instant the caller derives from the
/// check-in day in the listing's time zone (it knows the zone). A host's or an admin's
/// cancellation always refunds everything.
///
/// - flexible: full refund until 24 h before check-in; none after.
/// - moderate: full refund until 5 days (120 h) before check-in; none after.
/// - strict: full refund within 48 h of booking when check-in is still at least 14 days away;
///   50% until 7 days before check-in; none after.
///
/// "Full" is the guest's total; 50% is half of it rounded half to even to a minor unit.
public enum CancellationRefund {
    public static let hour: Int64 = 3_600_000
    public static let day: Int64 = 24 * hour

    /// The refund in minor units of the booking's currency.
    public static func amount(
        total: Int64, policy: CancellationPolicy, by party: BookingParty, bookedAt: Timestamp, checkInAt: Timestamp, canceledAt: Timestamp
    ) -> Int64 {
        guard party == .guest else { return total }
        let untilCheckIn = checkInAt.millisecondsSinceEpoch - canceledAt.millisecondsSinceEpoch
        switch policy {
        case .flexible:
            return untilCheckIn >= day ? total : 0
        case .moderate:
            return untilCheckIn >= 5 * day ? total : 0
        case .strict:
            let sinceBooking = canceledAt.millisecondsSinceEpoch - bookedAt.millisecondsSinceEpoch
            if sinceBooking <= 48 * hour && untilCheckIn >= 14 * day { return total }
            if untilCheckIn >= 7 * day { return Money.percentage(total, basisPoints: 5_000) }
            return 0
        }
    }
}
