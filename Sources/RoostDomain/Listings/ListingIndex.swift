import CRoostMemory

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One shard's search index over its active listings.
///
/// Every indexed listing has a slot and an entry in three posting lists: its city's, its
/// country's and its geographic cell's. A list keeps its entries **by ascending price**, so a
/// query's price band is one run of positions found by binary search, and beside the entries it
/// keeps bitmaps over those positions (64 to a word): one per amenity, and in a city list one per
/// night with anything taken (blocked or booked). A query ANDs the amenity bitmaps it needs and
/// clears the nights of its stay, a word at a time over the band, and only the positions left
/// (the few that can match) are read one by one for guests, stay length and place. So a city
/// query reads a few kilobytes of bitmaps and its survivors, not every listing of the city.
///
/// Common values of the other filters have bitmaps too (`Trait`: room for 2–16 guests, instant
/// book, stays of 1–28 nights allowed). When a query's filters are all bitmaps, its total is a
/// population count, and a price-sorted page reads only its own entries: the list is in price
/// order, so the scan stops at the first entry dearer than a full page's last.
///
/// Inserting or removing an entry shifts the entries and bitmaps after it by one position: edits
/// and new listings pay that (a few microseconds), searches and bookings do not. A booking
/// changes only the bits of its own nights.
///
/// Derived from the listings — rebuilt after a snapshot is loaded, kept current by
/// `Listings.apply` — never stored.
public struct ListingIndex: ~Copyable, Sendable {
    /// A listing in one posting list: the values tested per survivor, and its slot for the rest.
    /// (Coordinates as `Float` only pre-filter; distances and boxes are decided on the `Double`s.)
    struct Entry: Sendable {
        var price: Int64
        var latitude: Float
        var longitude: Float
        var slot: Int32
        var guests: UInt16
        var minNights: UInt16
        var maxNights: UInt16
    }

    /// One posting list: its entries by ascending price, and bitmaps over their positions.
    struct PostingList: Sendable {
        var entries: [Entry] = []
        /// The price of every 64th entry (`fences[b]` is entry `64 b`'s): a price band's ends are
        /// found by a binary search over these, a few cache lines, and then one within 64 entries,
        /// rather than one over the whole list, a cache miss a step on a shard-sized heap.
        var fences: [Int64] = []
        /// By amenity bit (`AmenitySet`'s): the positions whose listing has it.
        var amenities = BitMatrix()
        /// By night: the positions whose listing has it taken. Kept in city lists only; other
        /// lists reach a listing's nights through its city position.
        var nights = NightRows()
        /// By `Trait` row: the positions whose listing has that trait.
        var traits = BitMatrix()

        /// Brings `fences` up to date with `entries` from `position` on (entries there moved).
        mutating func refence(from position: Int) {
            let blocks = (entries.count + 63) >> 6
            if fences.count > blocks { fences.removeLast(fences.count - blocks) }
            if fences.count < blocks { fences.append(contentsOf: repeatElement(0, count: blocks - fences.count)) }
            entries.withUnsafeBufferPointer { entries in
                for block in (position >> 6)..<blocks { fences[block] = entries[block << 6].price }
            }
        }
    }

    /// The rows of a posting list's `traits`: filters common enough to earn a bitmap.
    enum Trait {
        /// Guest counts with a row of their own ("takes at least g guests"); 1 needs none.
        static let guests = 2...16
        /// Stay lengths with a row of their own ("takes stays of n nights": minimum ≤ n ≤ maximum).
        static let stayNights = 1...28
        static let instantBook = 0
        static func guests(_ count: Int) -> Int { 1 + count - guests.lowerBound }
        static func stay(_ nights: Int) -> Int { 1 + guests.count + nights - stayNights.lowerBound }
        static let rows = 1 + guests.count + stayNights.count
    }

    /// The three lists every listing is in.
    enum Membership: Int, CaseIterable {
        case city = 0, country, cell
    }

    /// Cells are `cellDegrees` on a side (about 55 km of latitude).
    static let cellDegrees = 0.5
    /// Past this many cells a geographic query scans the shard instead.
    static let cellsScannedMax = 256

    private var slotOf: [String: Int32] = [:]
    private var freeSlots: [Int32] = []
    // By slot (strings are interned to small numbers).
    private var ids: [String] = []
    /// The ids again, packed: a search orders ties and names its page by these, without reading
    /// (and retaining) each candidate's string — a cache miss and an atomic write apiece on
    /// memory both cores' searches touch.
    private var packedIDs: [PackedID] = []
    private var currencies: [Int32] = []
    private var amenityOverflow: [Int32: [String]] = [:]
    private var propertyTypes: [Int32] = []
    private var latitudes: [Double] = []
    private var longitudes: [Double] = []
    private var ratings: [Double] = []
    private var createdAts: [Int64] = []
    /// Each listing's time zone, interned (`zoneNames`): searches near the window's ends ask it.
    private var zones: [Int32] = []
    private var zoneNames: [String] = []
    private var zoneNumbers: [String: Int32] = [:]
    /// What a page shows of each listing (see `ListingSummary`), rendered whenever it changes.
    private var summaries: [ListingSummary] = []
    /// By slot × 3 + membership: which list holds the slot's entry, and where in it.
    private var listOf: [Int32] = []
    private var positionOf: [Int32] = []

    private var lists: [PostingList] = []
    private var cityLists: [String: Int32] = [:]
    private var countryLists: [String: Int32] = [:]
    private var cellLists: [Int64: Int32] = [:]

    private var currencyCodes: [String] = []
    private var currencyNumbers: [String: Int32] = [:]
    private var propertyTypeNumbers: [String: Int32] = [:]

    /// Tells this index's stamps from another's (a restart builds a new index, its stamps anew).
    private var generation = UInt64.random(in: 1...UInt64.max)
    /// The last `sortChangesKept` changes of listings' sort values, oldest first from
    /// `sortChangesHead`, each with the values it replaced (see `sortValues(asOf:)`).
    private var sortChanges: [SortChange] = []
    private var sortChangesHead = 0
    /// How many changes of sort values this index has recorded: its `SortMark`'s stamp.
    private var sortStamp: Int64 = 0
    public static let sortChangesKept = 1 << 16
    /// The most cache lines a list's scan prefetches before reading its rows (24 KB).
    static let prefetchLinesMax = 384

    public init() {}

    /// Another index like this one (sharing its arrays until either changes). The index is never
    /// copied implicitly: a shard's state is read in place, and a hidden copy would retain and
    /// release each of these arrays and tables on every search, on memory both cores touch.
    public func copy() -> ListingIndex {
        var copy = ListingIndex()
        copy.slotOf = slotOf
        copy.freeSlots = freeSlots
        copy.ids = ids
        copy.packedIDs = packedIDs
        copy.currencies = currencies
        copy.amenityOverflow = amenityOverflow
        copy.propertyTypes = propertyTypes
        copy.latitudes = latitudes
        copy.longitudes = longitudes
        copy.ratings = ratings
        copy.createdAts = createdAts
        copy.zones = zones
        copy.zoneNames = zoneNames
        copy.zoneNumbers = zoneNumbers
        copy.summaries = summaries
        copy.listOf = listOf
        copy.positionOf = positionOf
        copy.lists = lists
        copy.cityLists = cityLists
        copy.countryLists = countryLists
        copy.cellLists = cellLists
        copy.currencyCodes = currencyCodes
        copy.currencyNumbers = currencyNumbers
        copy.propertyTypeNumbers = propertyTypeNumbers
        copy.generation = generation
        copy.sortChanges = sortChanges
        copy.sortChangesHead = sortChangesHead
        copy.sortStamp = sortStamp
        return copy
    }

    public var count: Int { slotOf.count }

    // MARK: Maintenance

    /// Indexes `listing` as it now is (removing it when it is gone, not active, or its host away).
    public mutating func update(_ listing: ListingRecord) {
        var sortedBefore: SortValues?
        if let slot = slotOf[listing.id] { sortedBefore = sortValues(slot) }
        place(listing)
        if let sortedBefore, let slot = slotOf[listing.id], sortValues(slot) != sortedBefore { recordSortChange(listing.id, before: sortedBefore) }
    }

    /// `update`'s work, without the sort history.
    private mutating func place(_ listing: ListingRecord) {
        guard listing.isListed else { return remove(listing.id) }
        let details = listing.details
        let amenities = details.amenitySet
        let targets = (
            Self.list(TextKey.make(details.location.city), in: &cityLists, lists: &lists),
            Self.list(TextKey.make(details.location.country), in: &countryLists, lists: &lists),
            Self.list(Self.cell(latitude: details.location.latitude, longitude: details.location.longitude), in: &cellLists, lists: &lists)
        )
        var entry = Entry(
            price: details.pricePerNight, latitude: Float(details.location.latitude), longitude: Float(details.location.longitude),
            slot: 0, guests: UInt16(clamping: details.maxGuests), minNights: UInt16(clamping: details.minNights),
            maxNights: UInt16(clamping: details.maxNights)
        )
        if let known = slotOf[listing.id] {
            entry.slot = known
            let base = Int(known) * 3
            let city = Int(listOf[base])
            if (listOf[base], listOf[base + 1], listOf[base + 2]) == targets,
                lists[city].entries[Int(positionOf[base])].price == entry.price
            {
                // Same lists, same price: the same positions, rewritten in place.
                for k in 0..<3 { rewrite(k, of: known, entry, amenities, instantBook: details.instantBook) }
                lists[city].nights.clear(Int(positionOf[base]))
            } else {
                unlink(known)
                link(entry, amenities, instantBook: details.instantBook, lists: targets)
            }
        } else {
            entry.slot = allocateSlot()
            slotOf[listing.id] = entry.slot
            link(entry, amenities, instantBook: details.instantBook, lists: targets)
        }
        let slot = entry.slot, i = Int(slot)
        ids[i] = listing.id
        packedIDs[i] = PackedID(listing.id)
        currencies[i] = Self.number(details.currency, in: &currencyNumbers, names: &currencyCodes)
        amenityOverflow[slot] = amenities.codesWithoutBits.isEmpty ? nil : amenities.codesWithoutBits
        var unusedNames: [String] = []
        propertyTypes[i] = Self.number(TextKey.make(details.propertyType), in: &propertyTypeNumbers, names: &unusedNames)
        latitudes[i] = details.location.latitude
        longitudes[i] = details.location.longitude
        ratings[i] = listing.rating
        createdAts[i] = listing.createdAt.millisecondsSinceEpoch
        zones[i] = Self.number(details.location.timeZone, in: &zoneNumbers, names: &zoneNames)
        summaries[i] = ListingSummary(listing)
        let city = Int(listOf[i * 3]), position = Int(positionOf[i * 3])
        for (block, word) in listing.calendar.takenWords() {
            var bits = word
            while bits != 0 {
                lists[city].nights.set(block << 6 + Int32(bits.trailingZeroBitCount), position, true)
                bits &= bits - 1
            }
        }
    }

    /// Refreshes a listing's taken nights within `nights` (its other fields unchanged): what a
    /// booking's hold or cancellation changes. A listing not in the index (inactive) stays out.
    public mutating func updateNights(_ listing: ListingRecord, in nights: Range<CalendarDay>) {
        guard let slot = slotOf[listing.id] else { return }
        let city = Int(listOf[Int(slot) * 3]), position = Int(positionOf[Int(slot) * 3])
        for night in nights {
            lists[city].nights.set(night.daysSinceEpoch, position, !listing.calendar.isFree(night..<night.advanced(by: 1)))
        }
    }

    public mutating func remove(_ id: String) {
        guard let slot = slotOf[id] else { return }
        // Leaving the index is a change too: relisted with other values, it sorts as it did.
        recordSortChange(id, before: sortValues(slot))
        slotOf[id] = nil
        unlink(slot)
        ids[Int(slot)] = ""
        packedIDs[Int(slot)] = PackedID("")
        amenityOverflow[slot] = nil
        summaries[Int(slot)] = .unset
        freeSlots.append(slot)
    }

    // MARK: Sort history

    /// What orders a listing on a page: its nightly price (in its currency, interned), its place
    /// and its rating. (Its creation time never changes.)
    struct SortValues: Equatable, Sendable {
        var price: Int64
        var currency: Int32
        var latitude: Double
        var longitude: Double
        var rating: Double
    }

    struct SortChange: Sendable {
        var stamp: Int64
        var id: String
        var before: SortValues
    }

    /// Where this index's sort history stands: a first page's cursor keeps it, and later pages
    /// sort listings changed since by their values then (`sortValues(asOf:)`).
    public var sortMark: SortMark { SortMark(generation: generation, stamp: sortStamp) }

    private func sortValues(_ slot: Int32) -> SortValues {
        let i = Int(slot)
        return SortValues(
            price: lists[Int(listOf[i * 3])].entries[Int(positionOf[i * 3])].price, currency: currencies[i],
            latitude: latitudes[i], longitude: longitudes[i], rating: ratings[i]
        )
    }

    private mutating func recordSortChange(_ id: String, before: SortValues) {
        sortStamp += 1
        sortChanges.append(SortChange(stamp: sortStamp, id: id, before: before))
        if sortChanges.count - sortChangesHead > Self.sortChangesKept { sortChangesHead += 1 }
        if sortChangesHead >= 4_096, sortChangesHead * 2 >= sortChanges.count {
            sortChanges.removeFirst(sortChangesHead)
            sortChangesHead = 0
        }
    }

    /// Whether this index can sort as of `mark`: the mark is its own (not from before a restart)
    /// and no change since has been forgotten.
    public func remembersSorts(since mark: SortMark) -> Bool {
        guard mark.generation == generation, mark.stamp <= sortStamp else { return false }
        return sortChangesHead == sortChanges.count ? mark.stamp == sortStamp : sortChanges[sortChangesHead].stamp <= mark.stamp + 1
    }

    /// The listings (by slot) whose sort values changed after `mark`, each with its values as of
    /// `mark` (what its first change since replaced). Empty for a mark of another index (before a
    /// restart); a mark older than the changes kept gets what is kept (`remembersSorts` says so).
    func sortValues(asOf mark: SortMark) -> [Int32: SortValues] {
        guard mark.generation == generation, mark.stamp < sortStamp else { return [:] }
        var asOf: [Int32: SortValues] = [:]
        // Newest first, so each listing ends with its earliest change after the mark.
        var k = sortChanges.count - 1
        while k >= sortChangesHead, sortChanges[k].stamp > mark.stamp {
            if let slot = slotOf[sortChanges[k].id] { asOf[slot] = sortChanges[k].before }
            k -= 1
        }
        return asOf
    }

    private mutating func allocateSlot() -> Int32 {
        if let free = freeSlots.popLast() { return free }
        ids.append(""); packedIDs.append(PackedID("")); currencies.append(0); propertyTypes.append(0)
        latitudes.append(0); longitudes.append(0); ratings.append(0); createdAts.append(0); zones.append(0); summaries.append(.unset)
        listOf.append(contentsOf: [-1, -1, -1]); positionOf.append(contentsOf: [-1, -1, -1])
        return Int32(ids.count - 1)
    }

    /// Inserts the entry into its three lists, after the entries of its price (its nights all free).
    private mutating func link(_ entry: Entry, _ amenities: AmenitySet, instantBook: Bool, lists targets: (Int32, Int32, Int32)) {
        let base = Int(entry.slot) * 3
        for (k, target) in [targets.0, targets.1, targets.2].enumerated() {
            let list = Int(target)
            let position = Self.firstPosition(in: lists[list].entries) { $0 > entry.price }
            let count = lists[list].entries.count
            lists[list].entries.insert(entry, at: position)
            lists[list].refence(from: position)
            lists[list].amenities.insert(at: position, count: count)
            lists[list].nights.insert(at: position, count: count)
            lists[list].traits.insert(at: position, count: count)
            listOf[base + k] = target
            renumber(list, k, from: position)
            rewrite(k, of: entry.slot, entry, amenities, instantBook: instantBook)
        }
    }

    /// Takes the slot's entries out of their lists; the entries after each move up by one.
    private mutating func unlink(_ slot: Int32) {
        let base = Int(slot) * 3
        for k in 0..<3 {
            let list = Int(listOf[base + k]), position = Int(positionOf[base + k])
            let count = lists[list].entries.count
            lists[list].entries.remove(at: position)
            lists[list].refence(from: position)
            lists[list].amenities.remove(at: position, count: count)
            lists[list].nights.remove(at: position, count: count)
            lists[list].traits.remove(at: position, count: count)
            renumber(list, k, from: position)
            listOf[base + k] = -1
            positionOf[base + k] = -1
        }
    }

    /// Records the positions of list `list`'s entries from `position` on (membership `k`).
    private mutating func renumber(_ list: Int, _ k: Int, from position: Int) {
        lists[list].entries.withUnsafeBufferPointer { entries in
            for p in position..<entries.count { positionOf[Int(entries[p].slot) * 3 + k] = Int32(p) }
        }
    }

    /// Writes the slot's entry, amenity and trait bits at its position in membership `k`'s list.
    private mutating func rewrite(_ k: Int, of slot: Int32, _ entry: Entry, _ amenities: AmenitySet, instantBook: Bool) {
        let list = Int(listOf[Int(slot) * 3 + k]), position = Int(positionOf[Int(slot) * 3 + k])
        lists[list].entries[position] = entry
        let words = amenities.words
        let highest = words.high != 0 ? 127 - words.high.leadingZeroBitCount : 63 - words.low.leadingZeroBitCount
        lists[list].amenities.reserve(rows: highest + 1, positions: lists[list].entries.count)
        for row in 0..<lists[list].amenities.rows {
            let has = row < 64 ? words.low >> UInt64(row) & 1 != 0 : words.high >> UInt64(row - 64) & 1 != 0
            lists[list].amenities.set(row, position, has)
        }
        lists[list].traits.reserve(rows: Trait.rows, positions: lists[list].entries.count)
        lists[list].traits.set(Trait.instantBook, position, instantBook)
        for count in Trait.guests { lists[list].traits.set(Trait.guests(count), position, Int(entry.guests) >= count) }
        for nights in Trait.stayNights {
            lists[list].traits.set(Trait.stay(nights), position, Int(entry.minNights) <= nights && nights <= Int(entry.maxNights))
        }
    }

    /// The first position whose entry is `after` (entries by ascending price).
    private static func firstPosition<Entries: RandomAccessCollection<Entry>>(in entries: Entries, where after: (Int64) -> Bool) -> Int
    where Entries.Index == Int {
        var low = entries.startIndex, high = entries.endIndex
        while low < high {
            let middle = (low + high) / 2
            if after(entries[middle].price) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// `firstPosition` over a list's entries through its `fences`: the first block whose first
    /// entry is `after`, then the entries of the block before it.
    fileprivate static func firstPosition(in entries: UnsafeBufferPointer<Entry>, fences: UnsafeBufferPointer<Int64>, where after: (Int64) -> Bool) -> Int {
        let block = block(in: entries, fences: fences, where: after)
        return firstPosition(in: entries[block], where: after)
    }

    /// The entries `firstPosition` searches past the fences: those after the last fence that is
    /// not `after`, up to the first that is (entry 64 b is fence b).
    private static func block(in entries: UnsafeBufferPointer<Entry>, fences: UnsafeBufferPointer<Int64>, where after: (Int64) -> Bool) -> Range<Int> {
        var low = 0, high = fences.count
        while low < high {
            let middle = (low + high) / 2
            if after(fences[middle]) { high = middle } else { low = middle + 1 }
        }
        // Entry 64 (low - 1) is not `after`, entry 64 low (if any) is.
        return low > 0 ? ((low - 1) << 6 + 1)..<min(low << 6, entries.count) : 0..<0
    }

    /// The positions whose price lies in `range`: `firstPosition` for both ends, with every line
    /// each binary search will read asked for before it starts (`roost_prefetch`). The fences of
    /// a list of some thousands and the two blocks of 64 entries are a few dozen lines somewhere in
    /// a shard's memory, and a binary search waits for each line it reads in turn: some ten waits
    /// a band, where these take two.
    fileprivate static func positions(in entries: UnsafeBufferPointer<Entry>, fences: UnsafeBufferPointer<Int64>, pricedIn range: ClosedRange<Int64>) -> Range<Int> {
        guard let first = fences.baseAddress, let entriesStart = entries.baseAddress else { return 0..<0 }
        if fences.count <= fencesPrefetchedMax { prefetchLines(first, bytes: fences.count * MemoryLayout<Int64>.stride) }
        let low = block(in: entries, fences: fences) { $0 >= range.lowerBound }
        let high = block(in: entries, fences: fences) { $0 > range.upperBound }
        prefetchLines(entriesStart + low.lowerBound, bytes: low.count * MemoryLayout<Entry>.stride)
        prefetchLines(entriesStart + high.lowerBound, bytes: high.count * MemoryLayout<Entry>.stride)
        let start = firstPosition(in: entries[low], where: { $0 >= range.lowerBound })
        let end = firstPosition(in: entries[high], where: { $0 > range.upperBound })
        return start..<max(start, end)
    }

    /// The longest fences `positions` asks for whole (32 lines, for a list of 16,384 entries).
    static let fencesPrefetchedMax = 256

    /// The number of `key`'s list in `table`, a new empty list if it has none yet.
    private static func list<Key: Hashable>(_ key: Key, in table: inout [Key: Int32], lists: inout [PostingList]) -> Int32 {
        if let known = table[key] { return known }
        lists.append(PostingList())
        table[key] = Int32(lists.count - 1)
        return Int32(lists.count - 1)
    }

    private static func number(_ name: String, in numbers: inout [String: Int32], names: inout [String]) -> Int32 {
        if let known = numbers[name] { return known }
        let next = Int32(numbers.count)
        numbers[name] = next
        names.append(name)
        return next
    }

    static let rows = Int64(180 / cellDegrees), columns = Int64(360 / cellDegrees)

    /// The cell of a point; the poles' and the antimeridian's edges fall in the last row and column.
    static func cell(latitude: Double, longitude: Double) -> Int64 {
        let row = min(rows - 1, max(0, Int64((latitude + 90) / cellDegrees)))
        let column = min(columns - 1, max(0, Int64((longitude + 180) / cellDegrees)))
        return row * 1_000 + column
    }

    // MARK: Search

    /// The matches of `query` among this shard's listings: how many in all, and the first
    /// `query.limit` after the cursor.
    /// With `asOf` (this index's mark when the search's first page was made), listings whose sort
    /// values changed since sort by their values then, so later pages neither repeat nor skip
    /// them; which listings match is decided by their values now.
    public func search(_ query: ListingQuery, asOf: SortMark? = nil) -> SearchPage {
        var winners = SearchWinners(limit: query.limit)
        let total = offerMatches(query, asOf: asOf, shard: 0, to: &winners)
        var draft = SearchPage.Draft(winners)
        // Read from the state just scanned, so every winner is there (were one not, the page would be empty).
        let read = readHits(of: winners, shard: 0, into: &draft)
        assert(read, "a scan's winners left the index it was reading")
        return draft.page(of: winners, total: total) ?? SearchPage(total: total, hits: [])
    }

    /// `search` in two steps, for a search over many shards: first each shard offers its matches
    /// to the search's `winners` as `shard` (where each sorts and lies, nothing read) and answers
    /// how many it has in all; then, once every shard has, each reads the hits of its own winners
    /// (`readHits`). Of all the matches the shards offer for a page of twenty, only the twenty are
    /// read: the reading, cache misses on the listing's summary, costs more than the scan.
    public func offerMatches(_ query: ListingQuery, asOf: SortMark? = nil, shard: Int, to winners: inout SearchWinners) -> Int {
        guard var scan = Scan(query, self, asOf: asOf, shard: shard) else { return 0 }
        // The scan keeps the winners while it runs (moved in and out, never copied).
        swap(&scan.winners, &winners)
        defer { swap(&scan.winners, &winners) }
        if let place = query.place {
            let city = cityLists[place]
            if let city { scan.run(city, self, nightsInList: true) }
            // A listing whose city and country fold to the same text is in both lists: counted once.
            if let country = countryLists[place] { scan.run(country, self, skippingCityList: city) }
        } else if let area = query.area, let cells = cells(covering: area) {
            for cell in cells { if let list = cellLists[cell] { scan.run(list, self) } }
        } else {
            for list in cellLists.values { scan.run(list, self) }
        }
        return scan.total
    }

    /// Copies the summaries of this shard's winners (those offered as `shard`) into the page's
    /// draft, each as its listing is now. False when a slot no longer holds its winner's listing
    /// (it left the index, or left and another took its slot, since it was offered).
    public func readHits(of winners: SearchWinners, shard: Int, into draft: inout SearchPage.Draft) -> Bool {
        let shard = Int32(shard)
        // Each winner's packed id and summary are asked for in one loop first: the loads, cache (and
        // TLB) misses on shard-sized arrays, have nothing between them and overlap, where in the loop
        // below each would wait for the one before it. In two rounds: every winner's entries in the
        // slot arrays first, all at once, then (those arrived) the summaries' bytes they point to,
        // for the copying; one round waited for each entry in turn.
        summaries.withUnsafeBufferPointer { summaries in
            packedIDs.withUnsafeBufferPointer { packedIDs in
                for winner in winners.items where winner.shard == shard && Int(winner.slot) < summaries.count {
                    roost_prefetch(summaries.baseAddress! + Int(winner.slot))
                    roost_prefetch(packedIDs.baseAddress! + Int(winner.slot))
                }
            }
        }
        return summaries.withUnsafeBufferPointer { summaries in
            let first = summaries.baseAddress!
            for winner in winners.items where winner.shard == shard && Int(winner.slot) < summaries.count {
                ListingSummary.prefetch(at: first + Int(winner.slot))
            }
            for (position, winner) in winners.items.enumerated() where winner.shard == shard {
                let i = Int(winner.slot)
                guard i < summaries.count, summaries[i].isRendered, packedIDs[i] == winner.packed else { return false }
                if !winner.packed.isPacked, ids[i] != winners.id(winner) { return false }
                draft.read(first + i, at: position)
            }
            return true
        }
    }

    /// Whether any of `nights` is taken for the listing in `slot` (read beside its city entry).
    private func isTaken(_ slot: Int32, _ nights: Range<Int32>) -> Bool {
        let city = Int(listOf[Int(slot) * 3]), position = Int(positionOf[Int(slot) * 3])
        return nights.contains { lists[city].nights.isSet($0, position) }
    }

    /// One query's pass over posting lists: the filters resolved against this shard's numbering,
    /// the running total, and the search's winners while it runs (its matches are offered there).
    private struct Scan {
        struct Candidate {
            var primary: Double
            var slot: Int32
            var distance: Double?
        }

        let query: ListingQuery
        /// The amenity bits every match has (as `AmenitySet.words`), the highest of them (-1: none),
        /// and the codes past the bits.
        var amenityWords: (low: UInt64, high: UInt64)
        var highestAmenity = -1
        var overflow: [String] = []
        var propertyType: Int32?
        /// Price factors by interned currency number (nil: that currency is not convertible).
        var factors: [Double?]?
        /// The stay's nights (days since the epoch), and how many.
        var stay: Range<Int32>?
        var nights: UInt16 = 0
        /// With a window: by interned zone, whether its listings take the stay (0 not known yet, 1 yes, 2 no).
        var zoneAdmits: [UInt8] = []
        /// Listings whose sort values changed since the first page, by slot, with their values
        /// then: they sort by those (`ListingQuery.sortedAsOf`).
        var frozen: [Int32: SortValues] = [:]
        /// The frozen listings' positions, by the list they are in (each is in three).
        var frozenByList: [Int32: [Int32]] = [:]
        /// The area's bounding box, widened a little, for the `Float` coordinates to pre-filter on.
        var box: (minLat: Float, maxLat: Float, minLng: Float, maxLng: Float)?
        var wantedGuests: UInt16
        /// The trait rows the query needs: instant book's (the value wanted), the guests' and the stay's.
        var instantBook: Bool?
        var guestsRow: Int?
        var stayRow: Int?
        /// Whether the amenity, trait and night bitmaps and the price band decide a match alone
        /// (nothing is left to read per position), in lists that hold their listings' nights.
        var decidedByBitmaps = false
        var total = 0
        /// The search's winners, lent to this scan (`offerMatches`), and the shard its matches are offered as.
        var winners = SearchWinners(limit: 0)
        let shard: Int32
        /// The cursor's and the bound's ids, packed to compare with matches'.
        let afterID: PackedID?, beforeID: PackedID?

        /// Nil when nothing here can match (an amenity or property type no listing has).
        init?(_ query: ListingQuery, _ index: borrowing ListingIndex, asOf: SortMark?, shard: Int) {
            self.query = query
            self.shard = Int32(shard)
            if let asOf { frozen = index.sortValues(asOf: asOf) }
            afterID = query.after.map { PackedID($0.id) }
            beforeID = query.before.map { PackedID($0.id) }
            guard let amenities = query.amenityBits ?? AmenitySet.existing(query.amenities) else { return nil }
            amenityWords = amenities.words
            if amenityWords.high != 0 { highestAmenity = 127 - amenityWords.high.leadingZeroBitCount }
            else if amenityWords.low != 0 { highestAmenity = 63 - amenityWords.low.leadingZeroBitCount }
            overflow = amenities.codesWithoutBits
            if let wanted = query.propertyType {
                guard let known = index.propertyTypeNumbers[TextKey.make(wanted)] else { return nil }
                propertyType = known
            }
            factors = query.priceFactors.map { table in index.currencyCodes.map { table[$0] } }
            if let range = query.stay {
                stay = range.lowerBound.daysSinceEpoch..<range.upperBound.daysSinceEpoch
                nights = UInt16(clamping: range.lowerBound.distance(to: range.upperBound))
            }
            if let area = query.area, let bounds = ListingIndex.bounds(of: area) {
                let margin = 1e-3
                box = (Float(bounds.minLat - margin), Float(bounds.maxLat + margin), Float(bounds.minLng - margin), Float(bounds.maxLng + margin))
            }
            wantedGuests = UInt16(clamping: query.guests ?? 0)
            // Instant book is decided by its row alone (either value), in every list.
            instantBook = query.instantBook
            let guests = Int(wantedGuests)
            if Trait.guests.contains(guests) { guestsRow = Trait.guests(guests) }
            if stay != nil, Trait.stayNights.contains(Int(nights)) { stayRow = Trait.stay(Int(nights)) }
            if query.window != nil, stay != nil { zoneAdmits = Array(repeating: 0, count: index.zoneNames.count) }
            decidedByBitmaps = overflow.isEmpty && propertyType == nil && factors == nil && query.area == nil && zoneAdmits.isEmpty
                && guests <= Trait.guests.upperBound && (stay == nil || Trait.stayNights.contains(Int(nights)))
            // Only the bitmap-only walk (`collect`) offers frozen listings by list.
            if decidedByBitmaps {
                for slot in frozen.keys {
                    for k in 0..<3 { frozenByList[index.listOf[Int(slot) * 3 + k], default: []].append(index.positionOf[Int(slot) * 3 + k]) }
                }
            }
        }

        /// Scans list number `number`: the price band's positions, narrowed a word at a time by the
        /// amenity bitmaps (and, with `nightsInList`, the stay's night bitmaps), then each position
        /// left. With `city`, listings whose city list is that one are skipped (already scanned).
        mutating func run(_ number: Int32, _ index: borrowing ListingIndex, nightsInList: Bool = false, skippingCityList city: Int32? = nil) {
            // Read where it lies: a copy of the list would retain (and then release) each of its arrays, on memory
            // that every core's searches touch.
            index.lists.withUnsafeBufferPointer { lists in
                let list = lists.baseAddress! + Int(number)
                list.pointee.entries.withUnsafeBufferPointer { entries in
                    list.pointee.fences.withUnsafeBufferPointer { fences in
                        run(number, list, entries, fences, index, nightsInList: nightsInList, skippingCityList: city)
                    }
                }
            }
        }

        private mutating func run(
            _ number: Int32, _ list: UnsafePointer<PostingList>, _ entries: UnsafeBufferPointer<Entry>, _ fences: UnsafeBufferPointer<Int64>,
            _ index: borrowing ListingIndex, nightsInList: Bool, skippingCityList city: Int32?
        ) {
            // Without conversion the price bounds are a run of positions; with it, every position is
            // converted and checked one by one.
            var start = 0, end = entries.count
            if factors == nil, let range = query.priceRange {
                let band = ListingIndex.positions(in: entries, fences: fences, pricedIn: range)
                (start, end) = (band.lowerBound, band.upperBound)
            }
            guard start < end else { return }
            let firstWord = start >> 6, words = ((end - 1) >> 6) - firstWord + 1
            // The band's words as the bitmaps leave them: on the stack where they fit (a heap block per list before).
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { mask in
                mask.initialize(repeating: .max)
                mask[0] &= UInt64.max << UInt64(start & 63)
                if end & 63 != 0 { mask[words - 1] &= UInt64.max >> UInt64(64 - end & 63) }
                let nightRows = list.pointee.nights.rows(nightsInList ? stay ?? 0..<0 : 0..<0)
                guard narrow(mask, from: firstWord, list, nightRows: nightRows) else { return }
                if decidedByBitmaps, city == nil, nightsInList || stay == nil {
                    return collect(UnsafeBufferPointer(mask), from: firstWord, in: entries, fences: fences, list: number, index)
                }
                examine(UnsafeBufferPointer(mask), from: firstWord, in: entries, index, nightsInList: nightsInList, skippingCityList: city)
            }
        }

        /// Each set bit of `amenityWords`, lowest first.
        private func forEachAmenity(_ body: (Int) -> Void) {
            var low = amenityWords.low, high = amenityWords.high
            while low != 0 {
                body(low.trailingZeroBitCount)
                low &= low - 1
            }
            while high != 0 {
                body(64 + high.trailingZeroBitCount)
                high &= high - 1
            }
        }

        /// ANDs into `mask` (the band's words, from the list's word `firstWord`) the amenity and trait
        /// rows the query needs and the inverse of `nightRows`; false when some amenity has no row
        /// here (no listing of the list has it).
        private func narrow(_ mask: UnsafeMutableBufferPointer<UInt64>, from firstWord: Int, _ list: UnsafePointer<PostingList>, nightRows: Range<Int>) -> Bool {
            // Each matrix's words are borrowed once for all its rows: a borrow per row retained and
            // released the list's buffer each time, an atomic on a line every core's searches touch.
            list.pointee.amenities.withRows { amenities in
                list.pointee.traits.withRows { traits in
                    list.pointee.nights.matrix.withRows { nights in
                        guard highestAmenity < amenities.rows else { return false }
                        // Every row's band is asked for before any is read: the rows lie apart in a
                        // heap of gigabytes, and a row read on its own waits for each of its lines in turn.
                        // Up to half of a core's L1 data cache: past that, lines asked for first would be
                        // gone before they are read (a long stay over a big city's band), and a long row
                        // is a stream the hardware prefetcher follows by itself.
                        let words = mask.count
                        let traitRows = (instantBook == nil ? 0 : 1) + (guestsRow == nil ? 0 : 1) + (stayRow == nil ? 0 : 1)
                        let rows = amenityWords.low.nonzeroBitCount + amenityWords.high.nonzeroBitCount + traitRows + nightRows.count
                        if rows * ((words + 7) / 8) <= ListingIndex.prefetchLinesMax {
                            forEachAmenity { amenities.prefetch($0, from: firstWord, count: words) }
                            if instantBook != nil { traits.prefetch(Trait.instantBook, from: firstWord, count: words) }
                            if let guestsRow { traits.prefetch(guestsRow, from: firstWord, count: words) }
                            if let stayRow { traits.prefetch(stayRow, from: firstWord, count: words) }
                            for row in nightRows { nights.prefetch(row, from: firstWord, count: words) }
                        }
                        forEachAmenity { amenities.narrow(mask, by: $0, from: firstWord) }
                        if let instantBook { traits.narrow(mask, by: Trait.instantBook, from: firstWord, inverted: !instantBook) }
                        if let guestsRow { traits.narrow(mask, by: guestsRow, from: firstWord) }
                        if let stayRow { traits.narrow(mask, by: stayRow, from: firstWord) }
                        for row in nightRows { nights.narrow(mask, by: row, from: firstWord, inverted: true) }
                        return true
                    }
                }
            }
        }

        /// Reads each position `mask` leaves for the filters the bitmaps do not decide, and offers the matches.
        /// With `city`, listings whose city list is that one are skipped (already scanned).
        private mutating func examine(
            _ mask: UnsafeBufferPointer<UInt64>, from firstWord: Int, in entries: UnsafeBufferPointer<Entry>, _ index: borrowing ListingIndex,
            nightsInList: Bool, skippingCityList city: Int32?
        ) {
            let guests = wantedGuests, nights = nights, box = box, checkStay = stay != nil, checkNights = !nightsInList && stay != nil
            for w in mask.indices {
                var bits = mask[w]
                while bits != 0 {
                    let position = (firstWord + w) << 6 + bits.trailingZeroBitCount
                    bits &= bits - 1
                    let entry = entries[position]
                    guard entry.guests >= guests else { continue }
                    if checkStay, nights < entry.minNights || nights > entry.maxNights { continue }
                    if let box, entry.latitude < box.minLat || entry.latitude > box.maxLat
                        || entry.longitude < box.minLng || entry.longitude > box.maxLng { continue }
                    if let city, index.listOf[Int(entry.slot) * 3] == city { continue }
                    if checkNights, let stay, index.isTaken(entry.slot, stay) { continue }
                    if !zoneAdmits.isEmpty, !admits(entry.slot, index) { continue }
                    consider(entry, index)
                }
            }
        }

        /// Whether the listing in `slot` takes the stay in its own time zone (`ListingQuery.window`).
        private mutating func admits(_ slot: Int32, _ index: borrowing ListingIndex) -> Bool {
            let zone = Int(index.zones[Int(slot)])
            if zoneAdmits[zone] == 0, let window = query.window, let stay {
                zoneAdmits[zone] = window.admits(stay, timeZone: index.zoneNames[zone]) ? 1 : 2
            }
            return zoneAdmits[zone] == 1
        }

        /// Takes the matches `mask` leaves (every one a match, `decidedByBitmaps`): counts them,
        /// and reads entries only for the page. Sorted by price, that is a walk in list order from
        /// the cursor on that stops at the first entry dearer than a full page's last.
        private mutating func collect(
            _ mask: UnsafeBufferPointer<UInt64>, from firstWord: Int, in entries: UnsafeBufferPointer<Entry>, fences: UnsafeBufferPointer<Int64>, list number: Int32,
            _ index: borrowing ListingIndex
        ) {
            for word in mask { total += word.nonzeroBitCount }
            // Listings sorting by their values as of the first page are not where the walks below
            // expect them: each that matches (its bit left in the mask) is offered on its own.
            let frozen = frozen
            for position in frozenByList[number] ?? [] {
                let position = Int(position), w = (position >> 6) - firstWord
                guard w >= 0, w < mask.count, (mask[w] >> UInt64(position & 63)) & 1 != 0 else { continue }
                if let candidate = candidate(entries[position], index) { offer(candidate, index) }
            }
            let sort = query.sort, after = query.after
            // The price past which nothing more can go on the page: the bound's, or a full page's last.
            func beyond(_ primary: Double) -> Bool {
                if let before = query.before, primary > before.primary { return true }
                return winners.lastPrimary.map { primary > $0 } ?? false
            }
            // Entries below the cursor's price come before it (ascending), or above it (descending:
            // primaries are negated prices).
            let from = sort == .priceAscending ? after.map { cursor in ListingIndex.firstPosition(in: entries, fences: fences) { Double($0) >= cursor.primary } } ?? 0 : 0
            let end = sort == .priceDescending
                ? after.map { cursor in ListingIndex.firstPosition(in: entries, fences: fences) { -Double($0) < cursor.primary } } ?? entries.count : entries.count
            switch sort {
            case .priceAscending, .priceDescending:
                let ascending = sort == .priceAscending
                /// Each match from the cursor on, in the sort's order, until `body` answers false.
                func walk(_ body: (Entry) -> Bool) {
                    if ascending {
                        for w in min(mask.count, max(0, (from >> 6) - firstWord))..<mask.count {
                            var bits = mask[w]
                            while bits != 0 {
                                let position = (firstWord + w) << 6 + bits.trailingZeroBitCount
                                bits &= bits - 1
                                if position >= from, !body(entries[position]) { return }
                            }
                        }
                    } else {
                        for w in (0..<mask.count).reversed() where (firstWord + w) << 6 < end {
                            var bits = mask[w]
                            while bits != 0 {
                                let bit = 63 - bits.leadingZeroBitCount
                                bits &= ~(UInt64(1) << UInt64(bit))
                                let position = (firstWord + w) << 6 + bit
                                if position < end, !body(entries[position]) { return }
                            }
                        }
                    }
                }
                func primary(_ entry: Entry) -> Double { ascending ? Double(entry.price) : -Double(entry.price) }
                // The packed ids of the first page's worth the walk can offer are asked for before it
                // starts: each is a cache miss on a shard-sized array, and asked for together they
                // arrive together (offered one by one, each waited for the one before).
                index.packedIDs.withUnsafeBufferPointer { packedIDs in
                    var asked = 0
                    walk { entry in
                        guard asked < query.limit, !beyond(primary(entry)) else { return false }
                        roost_prefetch(packedIDs.baseAddress! + Int(entry.slot))
                        asked += 1
                        return true
                    }
                }
                walk { entry in
                    if !frozen.isEmpty, frozen[entry.slot] != nil { return true }
                    if beyond(primary(entry)) { return false }
                    if let candidate = candidate(entry, index) { offer(candidate, index) }
                    return true
                }
            case .rating, .distance, .newest:
                for w in 0..<mask.count {
                    var bits = mask[w]
                    while bits != 0 {
                        let position = (firstWord + w) << 6 + bits.trailingZeroBitCount
                        bits &= bits - 1
                        if !frozen.isEmpty, frozen[entries[position].slot] != nil { continue }
                        if let candidate = candidate(entries[position], index) { offer(candidate, index) }
                    }
                }
            }
        }

        /// The rest of the filters, for an entry that passed the cheap ones.
        private mutating func consider(_ entry: Entry, _ index: borrowing ListingIndex) {
            guard let candidate = candidate(entry, index) else { return }
            total += 1
            offer(candidate, index)
        }

        /// The point distances are measured from: the radius's centre, else the query's origin.
        var sortCentre: (latitude: Double, longitude: Double)? {
            if case let .radius(latitude, longitude, _)? = query.area { return (latitude, longitude) }
            return query.origin
        }

        /// The entry's sort key and distance, or nil when a filter the bitmaps leave refuses it.
        private func candidate(_ entry: Entry, _ index: borrowing ListingIndex) -> Candidate? {
            let slot = entry.slot, i = Int(slot)
            if !overflow.isEmpty, !overflow.allSatisfy((index.amenityOverflow[slot] ?? []).contains) { return nil }
            if let propertyType, index.propertyTypes[i] != propertyType { return nil }
            var price = Double(entry.price)
            if let factors {
                guard let factor = factors[Int(index.currencies[i])] else { return nil }
                price = (price * factor).rounded()
                if let range = query.priceRange, price < Double(range.lowerBound) || price > Double(range.upperBound) { return nil }
            }
            var distance: Double?
            if let area = query.area {
                let lat = index.latitudes[i], lng = index.longitudes[i]
                switch area {
                case let .radius(latitude, longitude, kilometres):
                    let d = Geo.distanceKilometres(latitude, longitude, lat, lng)
                    if d > kilometres { return nil }
                    distance = d
                case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
                    guard lat >= minLatitude, lat <= maxLatitude else { return nil }
                    let inside = minLongitude <= maxLongitude ? (lng >= minLongitude && lng <= maxLongitude) : (lng >= minLongitude || lng <= maxLongitude)
                    if !inside { return nil }
                }
            }
            if distance == nil, let origin = query.origin {
                distance = Geo.distanceKilometres(origin.latitude, origin.longitude, index.latitudes[i], index.longitudes[i])
            }
            // Read only what the sort needs: each read is a cache miss on a shard-sized array.
            var rating = query.sort == .rating ? index.ratings[i] : 0, sortDistance = distance
            if !frozen.isEmpty, let then = frozen[slot] {
                // Matched on its values now; sorted on its values as of the first page.
                if let factors {
                    // A currency no longer convertible cannot have been (the FX table only grows); kept as now if so.
                    if let factor = factors[Int(then.currency)] { price = (Double(then.price) * factor).rounded() }
                } else {
                    price = Double(then.price)
                }
                rating = then.rating
                if let centre = sortCentre { sortDistance = Geo.distanceKilometres(centre.latitude, centre.longitude, then.latitude, then.longitude) }
            }
            let primary: Double
            switch query.sort {
            case .priceAscending: primary = price
            case .priceDescending: primary = -price
            case .rating: primary = -rating
            case .distance: primary = sortDistance ?? 0
            case .newest: primary = -Double(index.createdAts[i])
            }
            return Candidate(primary: primary, slot: slot, distance: distance)
        }

        /// Keeps a match for the page unless it sorts at or before the cursor, or at or after the bound.
        private mutating func offer(_ candidate: Candidate, _ index: borrowing ListingIndex) {
            let slot = Int(candidate.slot)
            if let after = query.after, let afterID, candidate.primary < after.primary
                || (candidate.primary == after.primary && !Self.idLess(afterID, after.id, index.packedIDs[slot], index.ids[slot])) { return }
            if let before = query.before, let beforeID, candidate.primary > before.primary
                || (candidate.primary == before.primary && !Self.idLess(index.packedIDs[slot], index.ids[slot], beforeID, before.id)) { return }
            keep(candidate, index)
        }

        /// Whether id `a` sorts before id `b`: by their packed forms, or (when either is not packed)
        /// by their strings, which are read only then.
        private static func idLess(_ a: PackedID, _ aString: @autoclosure () -> String, _ b: PackedID, _ bString: @autoclosure () -> String) -> Bool {
            PackedID.precedes(a, b) ?? (aString() < bString())
        }

        /// Offers `candidate` to the search's winners. Its packed id is read only when it can win
        /// (a cache miss on a shard-sized array): when the page has room, or it sorts no later than its last.
        private mutating func keep(_ candidate: Candidate, _ index: borrowing ListingIndex) {
            if let last = winners.lastPrimary, candidate.primary > last { return }
            let slot = Int(candidate.slot)
            winners.offer(
                primary: candidate.primary, packed: index.packedIDs[slot], unpackedID: index.ids[slot], distance: candidate.distance,
                slot: candidate.slot, shard: shard
            )
        }
    }

    /// The area's bounding box in degrees, or nil when it is no simple box (it reaches a pole or
    /// half the globe, or crosses the antimeridian).
    static func bounds(of area: ListingQuery.Area) -> (minLat: Double, maxLat: Double, minLng: Double, maxLng: Double)? {
        let bounds: (minLat: Double, maxLat: Double, minLng: Double, maxLng: Double)
        switch area {
        case let .radius(latitude, longitude, kilometres):
            // The circle's exact reach on the sphere distances are measured on (plus 1% to spare):
            // north-south d/R; east-west asin(sin(d/R) / cos(lat)) — wider than d/R away from the equator.
            let angle = kilometres / Geo.earthRadiusKilometres
            let latSpan = angle * 180 / .pi * 1.01
            let reach = sin(min(angle, .pi / 2)) / max(1e-9, cos(latitude * .pi / 180))
            guard reach < 1, angle < .pi / 2 else { return nil }
            let lngSpan = asin(reach) * 180 / .pi * 1.01
            guard lngSpan < 180 else { return nil }
            bounds = (max(-90, latitude - latSpan), min(90, latitude + latSpan), longitude - lngSpan, longitude + lngSpan)
        case let .box(minLongitude, minLatitude, maxLongitude, maxLatitude):
            guard minLongitude <= maxLongitude else { return nil }
            bounds = (minLatitude, maxLatitude, minLongitude, maxLongitude)
        }
        guard bounds.minLng >= -180, bounds.maxLng <= 180 else { return nil }
        return bounds
    }

    /// The cells to read for `area`, or nil to scan the shard.
    private func cells(covering area: ListingQuery.Area) -> [Int64]? {
        guard let bounds = Self.bounds(of: area) else { return nil }
        let rows = Self.cell(latitude: bounds.minLat, longitude: 0) / 1_000...Self.cell(latitude: bounds.maxLat, longitude: 0) / 1_000
        let columns = Self.cell(latitude: 0, longitude: bounds.minLng) % 1_000...Self.cell(latitude: 0, longitude: bounds.maxLng) % 1_000
        guard rows.count * columns.count <= Self.cellsScannedMax else { return nil }
        return rows.flatMap { row in columns.map { row * 1_000 + $0 } }
    }
}

extension ListingRecord {
    /// The average review rating in stars (0 when there is none).
    public var rating: Double { reviewCount > 0 ? Double(ratingTotal) / Double(reviewCount) / 100 : 0 }

    /// The rating as the API shows it: stars to two decimals, nil before the first review.
    public var displayRating: Double? { reviewCount > 0 ? (rating * 100).rounded() / 100 : nil }
}


/// Starts loading (`roost_prefetch`) every cache line of the `bytes` bytes at `start`, the last
/// included however `start` is aligned: one request a line, from the first to the last.
func prefetchLines(_ start: UnsafeRawPointer, bytes: Int) {
    guard bytes > 0 else { return }
    let last = start + (bytes - 1)
    var line = start
    while line < last {
        roost_prefetch(line)
        line += 64
    }
    roost_prefetch(last)
}

/// Rows of bits over a list's positions (bit `p % 64` of word `p / 64` is position `p`), stored
/// row after row in one buffer: shifting every row for an inserted position streams through one
/// block of memory, and a query's rows (consecutive nights) sit side by side.
struct BitMatrix: Sendable {
    private(set) var words: [UInt64] = []
    /// Words per row.
    private(set) var stride = 0
    private(set) var rows = 0

    func isSet(_ row: Int, _ position: Int) -> Bool {
        let word = position >> 6
        return row < rows && word < stride && words[row * stride + word] >> UInt64(position & 63) & 1 != 0
    }

    mutating func set(_ row: Int, _ position: Int, _ value: Bool) {
        if row >= rows || position >> 6 >= stride {
            guard value else { return }
            reserve(rows: row + 1, positions: position + 1)
        }
        let bit = UInt64(1) << UInt64(position & 63), i = row * stride + position >> 6
        if value { words[i] |= bit } else { words[i] &= ~bit }
    }

    /// Room for `rows` rows of `positions` positions (new bits clear).
    mutating func reserve(rows wanted: Int, positions: Int) {
        let needed = (positions + 63) >> 6
        if needed > stride {
            let wider = max(needed, stride * 2)
            var grown = [UInt64](repeating: 0, count: rows * wider)
            for row in 0..<rows {
                for w in 0..<stride { grown[row * wider + w] = words[row * stride + w] }
            }
            words = grown
            stride = wider
        }
        if wanted > rows {
            words.append(contentsOf: repeatElement(0, count: (wanted - rows) * stride))
            rows = wanted
        }
    }

    /// Adds `count` clear rows before the first.
    mutating func prependRows(_ count: Int) {
        words.insert(contentsOf: repeatElement(0, count: count * stride), at: 0)
        rows += count
    }

    /// Opens a clear position at `position` in every row, of a list that had `count` positions:
    /// the bits from there to `count` move up by one (past `count` every bit is clear, so an
    /// append shifts nothing).
    mutating func insert(at position: Int, count: Int) {
        reserve(rows: rows, positions: count + 1)
        guard position < count else { return }
        let first = position >> 6, last = count >> 6, stride = stride, rows = rows
        let low = (UInt64(1) << UInt64(position & 63)) &- 1
        words.withUnsafeMutableBufferPointer { words in
            for base in Swift.stride(from: 0, to: rows * stride, by: stride) {
                var carry = words[base + first] >> 63
                words[base + first] = (words[base + first] & low) | ((words[base + first] & ~low) << 1)
                guard first < last else { continue }
                for w in (base + first + 1)...(base + last) {
                    let next = words[w] >> 63
                    words[w] = words[w] << 1 | carry
                    carry = next
                }
            }
        }
    }

    /// Closes `position` in every row of a list that had `count` positions: the bits after it
    /// move down by one.
    mutating func remove(at position: Int, count: Int) {
        guard position < count, position >> 6 < stride else { return }
        let first = position >> 6, last = min(stride, (count + 63) >> 6) - 1, stride = stride, rows = rows
        let low = (UInt64(1) << UInt64(position & 63)) &- 1
        words.withUnsafeMutableBufferPointer { words in
            for base in Swift.stride(from: 0, to: rows * stride, by: stride) {
                let at = base + first, end = base + last
                words[at] = (words[at] & low) | ((words[at] >> 1) & ~low) | (at < end ? words[at + 1] << 63 : 0)
                guard at < end else { continue }
                for w in (at + 1)...end { words[w] = words[w] >> 1 | (w < end ? words[w + 1] << 63 : 0) }
            }
        }
    }

    /// Clears `position` in every row.
    mutating func clear(_ position: Int) {
        let word = position >> 6
        guard word < stride else { return }
        let keep = ~(UInt64(1) << UInt64(position & 63))
        for row in 0..<rows { words[row * stride + word] &= keep }
    }

    /// `mask[w] &= row[first + w]` (or `&= ~row[first + w]` with `inverted`); bits past the
    /// matrix are clear.
    func narrow(_ mask: inout [UInt64], by row: Int, from first: Int, inverted: Bool = false) {
        mask.withUnsafeMutableBufferPointer { mask in
            withRows { $0.narrow(mask, by: row, from: first, inverted: inverted) }
        }
    }

    /// `body` over the matrix's words, borrowed: for many rows' narrowing at the price of one borrow.
    func withRows<T>(_ body: (Rows) throws -> T) rethrows -> T {
        try words.withUnsafeBufferPointer { try body(Rows(words: $0, stride: stride, rows: rows)) }
    }

    /// A matrix's words, borrowed (`withRows`).
    struct Rows {
        let words: UnsafeBufferPointer<UInt64>
        let stride: Int
        let rows: Int

        /// Starts loading the cache lines of `row`'s words `first..<first + count` (`roost_prefetch`).
        func prefetch(_ row: Int, from first: Int, count: Int) {
            guard row < rows, first < stride, let base = words.baseAddress else { return }
            prefetchLines(base + row * stride + first, bytes: (min(first + count, stride) - first) * MemoryLayout<UInt64>.stride)
        }

        /// `BitMatrix.narrow`, on a borrowed mask.
        func narrow(_ mask: UnsafeMutableBufferPointer<UInt64>, by row: Int, from first: Int, inverted: Bool = false) {
            // The words the row has (past them every bit is clear), then the rest.
            let present = row < rows ? max(0, min(mask.count, stride - first)) : 0
            if present > 0 {
                let words = words.baseAddress! + row * stride + first
                if inverted {
                    for w in 0..<present { mask[w] &= ~words[w] }
                } else {
                    for w in 0..<present { mask[w] &= words[w] }
                }
            }
            if !inverted { for w in present..<mask.count { mask[w] = 0 } }
        }
    }
}

/// A city list's taken nights: one row of its bit matrix per night (days since the epoch), from
/// the earliest night anything was taken to the latest.
struct NightRows: Sendable {
    private var first: Int32 = 0
    private(set) var matrix = BitMatrix()

    /// The row of `night`, nil when no row holds it (nothing taken that night).
    func row(_ night: Int32) -> Int? {
        let i = Int(night) - Int(first)
        return i >= 0 && i < matrix.rows ? i : nil
    }

    /// The rows of `nights` that exist (a night past them has nothing taken).
    func rows(_ nights: Range<Int32>) -> Range<Int> {
        let lower = max(0, Int(nights.lowerBound) - Int(first)), upper = min(matrix.rows, Int(nights.upperBound) - Int(first))
        return lower < upper ? lower..<upper : 0..<0
    }

    func isSet(_ night: Int32, _ position: Int) -> Bool { row(night).map { matrix.isSet($0, position) } ?? false }

    mutating func set(_ night: Int32, _ position: Int, _ value: Bool) {
        if matrix.rows == 0 {
            guard value else { return }
            first = night
        } else if night < first {
            guard value else { return }
            matrix.prependRows(Int(first) - Int(night))
            first = night
        }
        matrix.set(Int(night) - Int(first), position, value)
    }

    mutating func clear(_ position: Int) { matrix.clear(position) }
    mutating func insert(at position: Int, count: Int) { matrix.insert(at: position, count: count) }
    mutating func remove(at position: Int, count: Int) { matrix.remove(at: position, count: count) }
}
