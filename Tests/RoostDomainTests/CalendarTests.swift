import RoostDomain
import RoostTestSupport
import Testing

struct CalendarDayTests {
    @Test func civilDatesRoundTrip() {
        #expect(CalendarDay(iso: "1970-01-01")?.daysSinceEpoch == 0)
        #expect(CalendarDay(iso: "2000-03-01")?.daysSinceEpoch == 11_017)
        #expect(CalendarDay(iso: "2024-02-29")?.description == "2024-02-29")
        for text in ["2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "24-01-01", "2024/01/01", "2024-1-01", "", "abcd-ef-gh"] {
            #expect(CalendarDay(iso: text) == nil, "\(text)")
        }
        var day = CalendarDay(iso: "1999-12-25")!
        for _ in 0..<5_000 {
            #expect(CalendarDay(iso: day.description) == day)
            day = day.advanced(by: 1)
        }
        #expect(CalendarDay(iso: "2026-11-25")?.weekday == 2, "a Wednesday")
        #expect(CalendarDay(iso: "1969-12-31")?.weekday == 2, "before the epoch too")
    }
}

/// The calendar against a plain set of nights, through seeded random operations.
struct AvailabilityCalendarTests {
    let base = CalendarDay(iso: "2027-01-01")!

    @Test func matchesASetOfNightsUnderRandomEdits() {
        var generator = SeededGenerator(seed: testSeed())
        var calendar = AvailabilityCalendar()
        var blocked = Set<Int32>(), booked = Set<Int32>()
        for _ in 0..<3_000 {
            let start = base.advanced(by: Int.random(in: -100...800, using: &generator))
            let nights = start..<start.advanced(by: Int.random(in: 0...90, using: &generator))
            let value = Bool.random(using: &generator)
            let layer: AvailabilityCalendar.Layer = Bool.random(using: &generator) ? .blocked : .booked
            calendar.set(layer, nights, to: value)
            for night in nights {
                if layer == .blocked {
                    if value { blocked.insert(night.daysSinceEpoch) } else { blocked.remove(night.daysSinceEpoch) }
                } else if value { booked.insert(night.daysSinceEpoch) } else { booked.remove(night.daysSinceEpoch) }
            }
            let probe = base.advanced(by: Int.random(in: -120...900, using: &generator))
            let stay = probe..<probe.advanced(by: Int.random(in: 1...30, using: &generator))
            let expected = stay.allSatisfy { !blocked.contains($0.daysSinceEpoch) && !booked.contains($0.daysSinceEpoch) }
            #expect(calendar.isFree(stay) == expected)
        }
        let window = base.advanced(by: -120)..<base.advanced(by: 900)
        #expect(Set(calendar.nights(.blocked, in: window).map(\.daysSinceEpoch)) == blocked)
        #expect(Set(calendar.nights(.booked, in: window).map(\.daysSinceEpoch)) == booked)
    }

    @Test func storageGrowsOnlyWhereBitsAreAndShrinksBack() {
        var calendar = AvailabilityCalendar()
        #expect(calendar.wordCount == 0 && calendar.isFree(base..<base.advanced(by: 10_000)))
        let twoYears = base..<base.advanced(by: 730)
        calendar.set(.blocked, twoYears, to: true)
        #expect(calendar.wordCount <= 13)
        #expect(!calendar.isFree(base.advanced(by: 729)..<base.advanced(by: 730)))
        #expect(calendar.isFree(base.advanced(by: 730)..<base.advanced(by: 735)))
        calendar.set(.blocked, twoYears, to: false)
        #expect(calendar.wordCount == 0)
    }

    @Test func forgettingThePastKeepsTheFuture() {
        var calendar = AvailabilityCalendar()
        calendar.set(.booked, base..<base.advanced(by: 400), to: true)
        let today = base.advanced(by: 200)
        calendar.forget(before: today)
        #expect(!calendar.isFree(today..<today.advanced(by: 1)))
        #expect(calendar.isAnySet(.booked, in: base.advanced(by: 399)..<base.advanced(by: 400)))
        #expect(calendar.wordCount < 7)
    }
}
