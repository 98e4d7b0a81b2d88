/// A shard's listings by id: the records in one dense array, and a dictionary from id to
/// position. A dictionary of records would keep empty buckets as wide as a record (some 340
/// bytes) — at a million listings, more memory than the records' own fields. Listings are never
/// removed (deletion is a status), so positions only grow; `remove` is there for completeness
/// (a linear search, then the last record moves into the gap).
public struct ListingTable: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    private var positions: [String: Int32] = [:]
    private var records: [ListingRecord?] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, ListingRecord)...) {
        for (id, record) in elements { self[id] = record }
    }

    public var count: Int { positions.count }
    public var isEmpty: Bool { positions.isEmpty }
    public var keys: Dictionary<String, Int32>.Keys { positions.keys }

    /// Every record, in no particular order.
    public var values: some Collection<ListingRecord> { records.lazy.compactMap { $0 } }

    public mutating func reserveCapacity(_ capacity: Int) {
        positions.reserveCapacity(capacity)
        records.reserveCapacity(capacity)
    }

    public subscript(id: String) -> ListingRecord? {
        get { positions[id].flatMap { records[Int($0)] } }
        set {
            if let newValue { insert(newValue, as: id) } else { remove(id) }
        }
        // In place: the record moves out while it is changed, so its arrays are not copied.
        _modify {
            guard let position = positions[id].map(Int.init) else {
                var added: ListingRecord?
                yield &added
                if let added { insert(added, as: id) }
                return
            }
            var record = records[position].take()
            defer {
                if let record { records[position] = record } else { records[position] = nil; remove(id) }
            }
            yield &record
        }
    }

    /// `body` over the record of `id` where it lies, nil when there is none: for reads of a few
    /// fields on a hot path. The pointer is good only while `body` runs, and only for reading.
    ///
    /// Not a `borrowing` record: the optimizer still copied it for the call, as it cannot prove
    /// that `body` leaves the table alone. A copy retains and releases each of the record's
    /// strings and arrays (some eighteen, mostly cold memory) when the caller reads one or two;
    /// through the pointer, a read touches only the fields it names.
    public func reading<T>(_ id: String, _ body: (UnsafePointer<ListingRecord>) -> T) -> T? {
        guard let position = positions[id].map(Int.init) else { return nil }
        return records.withUnsafeBufferPointer { records in
            // Every id in `positions` has its record (only `_modify` empties a slot, and only while
            // it runs; asking the Optional costs a runtime call per read). A present Optional holds
            // its record at its own address (a single-payload enum's payload comes first).
            assert(records[position] != nil)
            return (records.baseAddress! + position).withMemoryRebound(to: ListingRecord.self, capacity: 1) { body($0) }
        }
    }

    private mutating func insert(_ record: ListingRecord, as id: String) {
        if let position = positions[id] {
            records[Int(position)] = record
        } else {
            positions[id] = Int32(records.count)
            records.append(record)
        }
    }

    private mutating func remove(_ id: String) {
        guard let position = positions.removeValue(forKey: id).map(Int.init) else { return }
        let lastPosition = Int32(records.count - 1)
        let last = records.removeLast()
        guard position < records.count, let movedID = positions.first(where: { $0.value == lastPosition })?.key else { return }
        records[position] = last
        positions[movedID] = Int32(position)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.count == rhs.count && lhs.positions.keys.allSatisfy { lhs[$0] == rhs[$0] }
    }
}
