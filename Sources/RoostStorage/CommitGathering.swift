/// The WAL writer's rule for how long to hold a batch open before its `fdatasync`: group commit's commit delay,
/// sized from what the log has just seen rather than set by hand.
///
/// With N requests each waiting for its own record before sending the next, a writer that syncs whatever is queued
/// the moment the previous sync returns settles into alternating half batches: while one half's sync runs, the half
/// it just woke queues behind it, so every sync carries about N/2 records and each request waits for two syncs.
/// Holding the queue until the woken half is back lets one sync carry all N.
///
/// After a sync the writer expects as many records as were in flight around it: the batch it just made durable (their
/// senders are awake again) plus those queued during the sync. It takes the queue as soon as that many are there.
/// Before that it waits only while they keep coming: it looks again every `quietGap` and takes the queue once a look
/// finds it no longer than the last. And it never waits past `windowPercentOfSync` of the recent sync time (capped at
/// `windowMax`) counted from the sync's end. So a lone request (expecting 1) never waits, a stream that has gone quiet
/// costs one quiet gap, and with the defaults no batch is held past half a recent sync. These are the instants the
/// writer asks to be woken at; a timed wait can overshoot them by the kernel's timer slack (50 µs by default).
///
/// It pays only when the sync takes longer than the senders need to come back: half batches keep the disk busy, one
/// full batch leaves it idle while its senders turn round. Measured on this machine (8 holds in flight, in-engine),
/// the two are about equal (a sync ~130 µs, the turnaround ~100 µs), and so are the results: one session's A/B pairs
/// gained ~6% with less spread, a later run showed no difference at 8 in flight and 18% less throughput (with a lower
/// p99) at 256, and the run after that none at either (issue 5's closing notes have the runs).
public struct CommitGathering: Sendable {
    public struct Limits: Sendable, Equatable {
        /// The longest wait for the next expected record.
        public var quietGapNanoseconds: UInt64
        /// The longest hold after a sync, as a percentage of the recent sync time; 0 turns gathering off.
        public var windowPercentOfSync: UInt64
        public var windowMaxNanoseconds: UInt64

        public init(quietGapNanoseconds: UInt64, windowPercentOfSync: UInt64, windowMaxNanoseconds: UInt64) {
            self.quietGapNanoseconds = quietGapNanoseconds
            self.windowPercentOfSync = windowPercentOfSync
            self.windowMaxNanoseconds = windowMaxNanoseconds
        }

        public static let `default` = Limits(quietGapNanoseconds: 30_000, windowPercentOfSync: 50, windowMaxNanoseconds: 1_000_000)
        /// Sync whatever is queued at once.
        public static let off = Limits(quietGapNanoseconds: 0, windowPercentOfSync: 0, windowMaxNanoseconds: 0)
    }

    private let limits: Limits
    /// Records the writer expects in its next batch; 0 when it expects nothing more.
    private(set) var expected = 0
    /// No hold lasts past this instant (monotonic nanoseconds).
    private(set) var deadline: UInt64 = 0
    /// Recent sync time: an exponentially weighted average, 1/4 weight on the newest.
    private(set) var syncAverage: UInt64 = 0
    /// The queue length last seen, and when it was first seen that long.
    private var seen = 0
    private var seenSince: UInt64 = 0

    init(_ limits: Limits) {
        self.limits = limits
    }

    /// Records a batch of `records` made durable by a sync of `syncNanoseconds` that ended at `now`, with
    /// `pendingAfter` records queued by then.
    mutating func committed(records: Int, pendingAfter: Int, syncNanoseconds: UInt64, now: UInt64) {
        syncAverage = syncAverage == 0 ? syncNanoseconds : (syncAverage * 3 + syncNanoseconds) / 4
        expected = records + pendingAfter
        seen = pendingAfter
        seenSince = now
        let (window, overflow) = (syncAverage / 100).multipliedReportingOverflow(by: limits.windowPercentOfSync)
        deadline = now + (overflow ? limits.windowMaxNanoseconds : min(window, limits.windowMaxNanoseconds))
    }

    /// With `pending` records queued at `now`: nil to take them now, else the instant to look again. The writer is
    /// woken early when the queue reaches `expected`; it looks at the instant returned to see whether records still come.
    mutating func waitUntil(pending: Int, now: UInt64) -> UInt64? {
        guard pending < expected, now < deadline else { return nil }
        if pending != seen {
            seen = pending
            seenSince = now
        }
        let quietAt = seenSince + limits.quietGapNanoseconds
        guard now < quietAt else { return nil }
        return min(deadline, quietAt)
    }
}
