import CRoostMemory
import RoostBinary

/// What a search page shows of a listing, rendered when the listing changes rather than when it
/// is found.
///
/// A search's winners are scattered over the shards' memory: reading a dozen fields of each
/// record (its id, title and property type each a separate string) costs some ten cache misses
/// a hit, and formatting them costs as much again. A summary is one block, read in one go. It is
/// the search hit of API.md less what depends on the request: the photo's URL (an S3 store signs
/// it) and the distance from the query's point.
///
/// Only the values are kept, as JSON, each after its length (one byte; 255 and four more bytes
/// for a value of 255 bytes or more, which no validated field reaches); the names, the same for
/// every listing, are written as it is served. A million listings' names would otherwise take
/// some 130 MB. The listing's first photo's key comes first, as one more value (empty when it
/// has none; read without walking the others), so that a summary is one buffer.
///
/// A search page does not share these buffers: it copies its hits' summaries out (`Copy`). A
/// shared summary was retained for the page and released after it, atomics on the lines of the
/// listings popular searches return, which every core's searches wrote in turn.
public struct ListingSummary: Sendable, Equatable {
    /// The fields, in the order `values` holds them.
    static let names: [StaticString] = [
        "id", "title", "propertyType", "city", "country", "lat", "lng", "pricePerNight", "maxGuests", "bedrooms",
        "instantBook", "rating", "reviewCount",
    ]

    private let values: [UInt8]

    /// An index slot's summary while no listing holds it.
    static let unset = ListingSummary(values: [])

    private init(values: [UInt8]) {
        self.values = values
    }

    public init(_ record: borrowing ListingRecord) {
        var values: [UInt8] = []
        values.reserveCapacity(160 + record.details.title.utf8.count)
        /// Appends one value after its length.
        func field(_ write: (inout [UInt8]) -> Void) {
            let mark = values.count
            values.append(0)
            write(&values)
            let length = values.count - mark - 1
            if length < Self.longValue {
                values[mark] = UInt8(length)
            } else {
                values[mark] = UInt8(Self.longValue)
                withUnsafeBytes(of: UInt32(length).littleEndian) { values.insert(contentsOf: $0, at: mark + 1) }
            }
        }
        field { $0.append(contentsOf: (record.photos.first?.key ?? "").utf8) }
        field { JSONText.appendQuoted(record.id, to: &$0) }
        field { JSONText.appendQuoted(record.details.title, to: &$0) }
        field { JSONText.appendQuoted(record.details.propertyType, to: &$0) }
        field { JSONText.appendQuoted(record.details.location.city, to: &$0) }
        field { JSONText.appendQuoted(record.details.location.country, to: &$0) }
        field { JSONText.appendNumber(record.details.location.latitude, to: &$0) }
        field { JSONText.appendNumber(record.details.location.longitude, to: &$0) }
        field { JSONText.appendMoney(amount: record.details.pricePerNight, currency: record.details.currency, to: &$0) }
        field { $0.append(contentsOf: String(record.details.maxGuests).utf8) }
        field { $0.append(contentsOf: String(record.details.bedrooms).utf8) }
        field { $0.append(contentsOf: (record.details.instantBook ? "true" : "false").utf8) }
        field { JSONText.appendNumber(record.displayRating, to: &$0) }
        field { $0.append(contentsOf: String(record.reviewCount).utf8) }
        self.init(values: values)
    }

    /// The length byte of a value whose length follows in four bytes.
    private static let longValue = 255

    /// Whether this is a listing's summary (not `unset`).
    public var isRendered: Bool { !values.isEmpty }

    /// Starts loading the cache lines of the summary at `summary` (`roost_prefetch`): a page's
    /// twenty summaries, each a few lines somewhere in a shard's memory, then arrive together
    /// rather than one after another as they are copied.
    ///
    /// The lines are asked for blind: the buffer's header line (its count, which the copy reads)
    /// and the first `prefetchedLines` of values, nearly every summary's all. Reading the length
    /// first waited for the very line being asked for, and the loop over it, its trip count
    /// unknown until then, kept the next summary's lines from being asked for meanwhile.
    static func prefetch(at summary: UnsafePointer<ListingSummary>) {
        prefetchLines(storage(at: summary), bytes: valuesOffset + 64 * prefetchedLines)
    }

    /// Lines of values `prefetch` asks for: 256 bytes, a summary with a title of up to some 90 bytes.
    static let prefetchedLines = 4

    /// Each field's name as it precedes its value (`"id":`, then `,"title":` and so on), one after
    /// another, and where each ends.
    private static let prefixes: (bytes: [UInt8], ends: [Int]) = names.enumerated().reduce(into: ([], [])) { prefixes, field in
        prefixes.bytes += "\(field.offset == 0 ? "" : ",")\"\(field.element.description)\":".utf8
        prefixes.ends.append(prefixes.bytes.count)
    }

    /// Appends the fields, name by name, as an object's members (`"id":…,…,"reviewCount":…`,
    /// without braces); nothing for `unset`, which no hit carries.
    public func appendFields(to bytes: inout [UInt8]) {
        assert(isRendered, "an unset summary has no fields")
        values.withUnsafeBufferPointer { Self.appendFields(of: $0, to: &bytes) }
    }

    /// The key of the listing's first photo, for the caller to turn into a URL.
    public var photoKey: String? { values.withUnsafeBufferPointer(Self.photoKey(in:)) }

    /// Appends the buffer of the summary at `summary` to `bytes`, as it is (a page's copy, `Copy`,
    /// reads it there).
    static func copyValues(at summary: UnsafePointer<ListingSummary>, to bytes: inout [UInt8]) {
        let storage = storage(at: summary)
        let count = storage.load(fromByteOffset: countOffset, as: Int.self)
        assert(count == summary.pointee.values.count, "an array's count is not where it was laid out")
        bytes.append(contentsOf: UnsafeBufferPointer(start: (storage + valuesOffset).assumingMemoryBound(to: UInt8.self), count: count))
    }

    /// The storage of the buffer of the summary at `summary`, read as the array lays it out.
    ///
    /// Read through `values` (its count, its elements' address), the buffer is retained first
    /// and released after: atomic writes to its header, on the line every core's searches that
    /// return this listing read, and for `prefetch` the very line being asked for, waited for
    /// then and there. An array is one reference to its storage: an object header (16 bytes),
    /// the count, the capacity, then the elements. The caller keeps the summary alive (a shard's
    /// index, read under its lock).
    @inline(__always)
    private static func storage(at summary: UnsafePointer<ListingSummary>) -> UnsafeRawPointer {
        UnsafeRawPointer(summary).load(as: UnsafeRawPointer.self)
    }

    private static let countOffset = 16
    private static let valuesOffset = 32

    /// `appendFields` over a summary's buffer, wherever it lies.
    ///
    /// Each value's length is read, not searched for: the output is sized once and each name and
    /// value copied in place, a word at a time. A page writes twenty summaries, 26 pieces each of
    /// a few bytes: scanning for the fields' ends, appending piece by piece, or a call to `memmove`
    /// a piece, each cost more than the copying.
    fileprivate static func appendFields(of values: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        let (names, ends) = Self.prefixes
        let start = bytes.count, room = names.count + values.count  // the length bytes are not written
        bytes.append(contentsOf: repeatElement(0, count: room))
        let written = bytes.withUnsafeMutableBufferPointer { out in
            names.withUnsafeBufferPointer { names in
                ends.withUnsafeBufferPointer { ends in
                    // The output has room to spare past every piece (the length bytes are not
                    // written), so a word copied whole never lands past the end of `out`.
                    guard !values.isEmpty else { return 0 }
                    var o = start, v = 0, name = 0
                    let photoKey = Self.length(at: &v, in: values)
                    v += photoKey  // past the photo key: the fields follow it
                    for end in ends {
                        guard v < values.count else { break }
                        Self.copy(end - name, from: names.baseAddress! + name, readable: names.count - name, to: out.baseAddress! + o)
                        o += end - name
                        name = end
                        let length = Self.length(at: &v, in: values)
                        Self.copy(length, from: values.baseAddress! + v, readable: values.count - v, to: out.baseAddress! + o)
                        o += length
                        v += length
                    }
                    return o - start
                }
            }
        }
        bytes.removeLast(room - written)
    }

    /// The photo key in a summary's buffer (its first value), nil when it is empty.
    fileprivate static func photoKey(in values: UnsafeBufferPointer<UInt8>) -> String? {
        guard !values.isEmpty else { return nil }
        var v = 0
        let length = length(at: &v, in: values)
        return length == 0 ? nil : String(decoding: UnsafeBufferPointer(rebasing: values[v..<v + length]), as: UTF8.self)
    }

    /// The length of the value at `v`, which moves past it to the value's first byte.
    @inline(__always)
    private static func length(at v: inout Int, in values: UnsafeBufferPointer<UInt8>) -> Int {
        var length = Int(values[v])
        v += 1
        if length == longValue {
            length = Int(values[v]) | Int(values[v + 1]) << 8 | Int(values[v + 2]) << 16 | Int(values[v + 3]) << 24
            v += 4
        }
        return length
    }

    /// Copies `count` bytes a word at a time while `source` has a whole word left to read
    /// (`readable` bytes from it), the rest byte by byte. `target` must have room for a word past
    /// `count`: the last word may be written whole.
    @inline(__always)
    private static func copy(_ count: Int, from source: UnsafePointer<UInt8>, readable: Int, to target: UnsafeMutablePointer<UInt8>) {
        var i = 0
        while i < count, i + 8 <= readable {
            UnsafeMutableRawPointer(target + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: UInt64.self), as: UInt64.self)
            i += 8
        }
        while i < count {
            target[i] = source[i]
            i += 1
        }
    }
}

extension ListingSummary {
    /// A summary as a search page holds it: the summary's buffer copied out of the index into one
    /// that the page's hits share (`SearchPage.Draft`), read as the summary would be.
    public struct Copy: Sendable, Equatable {
        let values: ArraySlice<UInt8>

        /// `ListingSummary.isRendered`.
        public var isRendered: Bool { !values.isEmpty }

        /// `ListingSummary.appendFields`.
        public func appendFields(to bytes: inout [UInt8]) {
            values.withUnsafeBufferPointer { ListingSummary.appendFields(of: $0, to: &bytes) }
        }

        /// `ListingSummary.photoKey`.
        public var photoKey: String? { values.withUnsafeBufferPointer(ListingSummary.photoKey(in:)) }
    }

    /// This summary as a page holds it.
    public var copied: Copy { Copy(values: values[...]) }
}
