import Foundation
import RoostDomain
import RoostEngine

/// Reads that visit every shard of an aggregate: searches, lists, the scheduler's scans.
extension ShardGroup {
    /// How many tasks a scatter runs at once: one per core. Each visits its share of the shards in
    /// turn, so a query costs a few task switches rather than one task per shard.
    static var scatterWidth: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// `body` over every shard's state, answers in shard order.
    func scatter<T: Sendable>(_ body: @escaping @Sendable (A.State) -> T) async -> [T] {
        let shards = self.shards, width = min(Self.scatterWidth, shards.count)
        return await withTaskGroup(of: [(Int, T)].self) { tasks in
            for lane in 0..<width {
                tasks.addTask {
                    var answers: [(Int, T)] = []
                    for index in stride(from: lane, to: shards.count, by: width) {
                        answers.append((index, shards[index].peek(body)))
                    }
                    return answers
                }
            }
            var answers: [T?] = Array(repeating: nil, count: shards.count)
            for await part in tasks { for (index, answer) in part { answers[index] = answer } }
            return answers.map { $0! }
        }
    }

    /// One page, newest first (by `createdAt`, then id), of what `matching` picks from each
    /// shard's state with the filter it is given (the cursor's), and the next page's cursor.
    func newestFirst<Item: NewestFirst & Sendable>(
        after cursor: (Int64, String)?, limit: Int, _ matching: @escaping @Sendable (A.State, (Item) -> Bool) -> [Item]
    ) async -> (items: [Item], next: (Int64, String)?) {
        @Sendable func key(_ item: Item) -> (Int64, String) { (item.createdAt.millisecondsSinceEpoch, item.id) }
        let parts = await scatter { state in
            var matches = matching(state) { item in cursor.map { key(item) < $0 } ?? true }
            matches.sort { key($0) > key($1) }
            return Array(matches.prefix(limit + 1))
        }
        let all = parts.joined().sorted { key($0) > key($1) }
        let items = Array(all.prefix(limit))
        return (items, all.count > limit ? items.last.map(key) : nil)
    }
}

/// What lists show newest first.
protocol NewestFirst {
    var id: String { get }
    var createdAt: Timestamp { get }
}

extension ListingRecord: NewestFirst {}
extension BookingRecord: NewestFirst {}
extension Ledger.Payment: NewestFirst {
    var createdAt: Timestamp { authorizedAt }
}
