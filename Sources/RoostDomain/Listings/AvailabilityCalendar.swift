/// Which nights of a listing are blocked by its host and which are held by bookings: two
/// bitsets over the same days, one bit a night.
///
/// Storage starts at `origin` (a multiple of 64 days, so words line up across listings) and
/// grows only where a bit is set: a night outside the stored words is free. A two-year calendar
/// costs 12 words per set (~200 bytes). Checking a 7-night stay is one or two word operations.
public struct AvailabilityCalendar: Hashable, Sendable {
    public private(set) var origin: CalendarDay
    private(set) var blocked: [UInt64]
    private(set) var booked: [UInt64]

    public init() {
        origin = CalendarDay(daysSinceEpoch: 0)
        blocked = []
        booked = []
    }

    /// Restores stored words (snapshots and events); `blocked` and `booked` have one length.
    init(origin: CalendarDay, blocked: [UInt64], booked: [UInt64]) {
        self.origin = origin
        self.blocked = blocked
        self.booked = booked
    }

    public enum Layer: Sendable { case blocked, booked }

    /// True when every night of `nights` is neither blocked nor booked.
    public func isFree(_ nights: Range<CalendarDay>) -> Bool {
        !anySet(in: blocked, nights) && !anySet(in: booked, nights)
    }

    public func isBlocked(_ night: CalendarDay) -> Bool { anySet(in: blocked, night..<night.advanced(by: 1)) }
    public func isBooked(_ night: CalendarDay) -> Bool { anySet(in: booked, night..<night.advanced(by: 1)) }

    /// True when any night of `nights` is set in `layer`.
    public func isAnySet(_ layer: Layer, in nights: Range<CalendarDay>) -> Bool {
        anySet(in: layer == .blocked ? blocked : booked, nights)
    }

    /// Sets or clears `nights` in `layer`.
    public mutating func set(_ layer: Layer, _ nights: Range<CalendarDay>, to value: Bool) {
        guard !nights.isEmpty else { return }
        if value { cover(nights) }
        let start = max(nights.lowerBound, origin), end = min(nights.upperBound, self.end)
        guard start < end else { return }
        var offset = origin.distance(to: start)
        let stop = origin.distance(to: end)
        while offset < stop {
            let word = offset >> 6, bit = offset & 63
            let count = min(64 - bit, stop - offset)
            let mask = count == 64 ? UInt64.max : ((UInt64(1) << UInt64(count)) - 1) << UInt64(bit)
            switch (layer, value) {
            case (.blocked, true): blocked[word] |= mask
            case (.blocked, false): blocked[word] &= ~mask
            case (.booked, true): booked[word] |= mask
            case (.booked, false): booked[word] &= ~mask
            }
            offset += count
        }
        trimTrailingZeros()
    }

    /// Forgets whole words that end before `day` (the past), keeping `origin` 64-aligned.
    public mutating func forget(before day: CalendarDay) {
        let words = origin.distance(to: day) >> 6
        guard words > 0, !blocked.isEmpty else { return }
        let drop = min(words, blocked.count)
        blocked.removeFirst(drop)
        booked.removeFirst(drop)
        origin = origin.advanced(by: drop * 64)
        if blocked.isEmpty { origin = CalendarDay(daysSinceEpoch: 0) }
    }

    /// The nights set in `layer` within `range`, in order.
    public func nights(_ layer: Layer, in range: Range<CalendarDay>) -> [CalendarDay] {
        range.filter { isAnySet(layer, in: $0..<$0.advanced(by: 1)) }
    }

    /// The nights taken (blocked or booked) as 64-night words, with each word's block number
    /// (block `b` holds days `64 b ..< 64 b + 64` since the epoch, bit 0 the first): only words with
    /// a night set.
    func takenWords() -> [(block: Int32, word: UInt64)] {
        let first = origin.daysSinceEpoch >> 6
        return blocked.indices.compactMap { w in
            let word = blocked[w] | booked[w]
            return word == 0 ? nil : (first + Int32(w), word)
        }
    }

    /// Words stored per layer (for memory accounting).
    public var wordCount: Int { blocked.count }

    // MARK: Storage

    private var end: CalendarDay { origin.advanced(by: blocked.count * 64) }

    private static func aligned(_ day: CalendarDay) -> CalendarDay {
        let days = Int(day.daysSinceEpoch)
        return CalendarDay(daysSinceEpoch: Int32(days - ((days % 64) + 64) % 64))
    }

    /// Grows the words so `nights` is stored.
    private mutating func cover(_ nights: Range<CalendarDay>) {
        if blocked.isEmpty { origin = Self.aligned(nights.lowerBound) }
        if nights.lowerBound < origin {
            let newOrigin = Self.aligned(nights.lowerBound)
            let prefix = newOrigin.distance(to: origin) >> 6
            blocked.insert(contentsOf: repeatElement(0, count: prefix), at: 0)
            booked.insert(contentsOf: repeatElement(0, count: prefix), at: 0)
            origin = newOrigin
        }
        let needed = (origin.distance(to: nights.upperBound) + 63) >> 6
        if needed > blocked.count {
            blocked.append(contentsOf: repeatElement(0, count: needed - blocked.count))
            booked.append(contentsOf: repeatElement(0, count: needed - booked.count))
        }
    }

    private mutating func trimTrailingZeros() {
        while let last = blocked.last, last == 0, booked.last == 0 {
            blocked.removeLast()
            booked.removeLast()
        }
        if blocked.isEmpty { origin = CalendarDay(daysSinceEpoch: 0) }
    }

    private func anySet(in words: [UInt64], _ nights: Range<CalendarDay>) -> Bool {
        let start = max(nights.lowerBound, origin), end = min(nights.upperBound, self.end)
        guard start < end else { return false }
        var offset = origin.distance(to: start)
        let stop = origin.distance(to: end)
        while offset < stop {
            let word = offset >> 6, bit = offset & 63
            let count = min(64 - bit, stop - offset)
            let mask = count == 64 ? UInt64.max : ((UInt64(1) << UInt64(count)) - 1) << UInt64(bit)
            if words[word] & mask != 0 { return true }
            offset += count
        }
        return false
    }
}
