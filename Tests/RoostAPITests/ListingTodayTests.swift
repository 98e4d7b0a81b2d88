import Foundation
import RoostDomain
import RoostTestSupport
import Testing

@testable import RoostAPI

/// "Today" decides what can be booked and searched: by arithmetic on the zone's offset, it must
/// be the day a Gregorian calendar in that zone gives, at every instant, across DST changes.
@Suite struct ListingTodayTests {
    @Test func todayIsTheCalendarsDayInEveryZone() {
        var generator = SeededGenerator(seed: testSeed())
        let zones = [
            "UTC", "Asia/Singapore", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu",
            "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns", "Pacific/Chatham", "Africa/Casablanca", "Not/AZone",
        ]
        for zone in zones {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: zone) ?? TimeZone(secondsFromGMT: 0)!
            // Random instants from 1970 to 2100, and every quarter hour for two days either side of
            // each of the zone's next six offset changes (30 minutes at Lord Howe, 45 at Chatham).
            var instants = (0..<300).map { _ in Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator)) }
            var change = calendar.timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: 1_790_000_000))
            for _ in 0..<6 {
                guard let at = change?.timeIntervalSince1970 else { break }
                instants += stride(from: at - 2 * 86_400, through: at + 2 * 86_400, by: 900).map { Date(timeIntervalSince1970: $0) }
                change = calendar.timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: at + 1))
            }
            for instant in instants {
                let parts = calendar.dateComponents([.year, .month, .day], from: instant)
                let expected = CalendarDay(year: parts.year!, month: parts.month!, day: parts.day!)
                #expect(ListingService.today(in: zone, now: instant) == expected, "\(zone) at \(instant.timeIntervalSince1970)")
            }
        }
    }
}
