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
/// Only the values are kept, as JSON, each ended by a zero byte (JSON text never holds one:
/// control characters are escaped); the names, the same for every listing, are written as it is
/// served. A million listings' names would otherwise take some 130 MB.
public struct ListingSummary: Sendable, Equatable {
    /// The fields, in the order `values` holds them.
    static let names: [StaticString] = [
        "id", "title", "propertyType", "city", "country", "lat", "lng", "pricePerNight", "maxGuests", "bedrooms",
        "instantBook", "rating", "reviewCount",
    ]

    private let values: [UInt8]
    /// The listing's first photo, for the caller to turn into a URL.
    public let photoKey: String?

    /// An index slot's summary while no listing holds it.
    static let unset = ListingSummary(values: [], photoKey: nil)

    private init(values: [UInt8], photoKey: String?) {
        self.values = values
        self.photoKey = photoKey
    }

    public init(_ record: borrowing ListingRecord) {
        var values: [UInt8] = []
        values.reserveCapacity(160 + record.details.title.utf8.count)
        func end() { values.append(0) }
        JSONText.appendQuoted(record.id, to: &values); end()
        JSONText.appendQuoted(record.details.title, to: &values); end()
        JSONText.appendQuoted(record.details.propertyType, to: &values); end()
        JSONText.appendQuoted(record.details.location.city, to: &values); end()
        JSONText.appendQuoted(record.details.location.country, to: &values); end()
        JSONText.appendNumber(record.details.location.latitude, to: &values); end()
        JSONText.appendNumber(record.details.location.longitude, to: &values); end()
        JSONText.appendMoney(amount: record.details.pricePerNight, currency: record.details.currency, to: &values); end()
        values.append(contentsOf: String(record.details.maxGuests).utf8); end()
        values.append(contentsOf: String(record.details.bedrooms).utf8); end()
        values.append(contentsOf: (record.details.instantBook ? "true" : "false").utf8); end()
        JSONText.appendNumber(record.displayRating, to: &values); end()
        values.append(contentsOf: String(record.reviewCount).utf8); end()
        self.init(values: values, photoKey: record.photos.first?.key)
    }

    /// Whether this is a listing's summary (not `unset`).
    public var isRendered: Bool { !values.isEmpty }

    /// How many bytes the rendered values take.
    var byteCount: Int { values.count }

    /// Each field's name as it precedes its value (`"id":`, then `,"title":` and so on), one after
    /// another, and where each ends.
    private static let prefixes: (bytes: [UInt8], ends: [Int]) = names.enumerated().reduce(into: ([], [])) { prefixes, field in
        prefixes.bytes += "\(field.offset == 0 ? "" : ",")\"\(field.element.description)\":".utf8
        prefixes.ends.append(prefixes.bytes.count)
    }

    /// Appends the fields, name by name, as an object's members (`"id":…,…,"reviewCount":…`,
    /// without braces); nothing for `unset`, which no hit carries.
    ///
    /// One pass over the values, copying from buffers that are borrowed, not retained: a page
    /// writes twenty summaries, and finding each field's end with a call apiece cost more than
    /// the copying.
    public func appendFields(to bytes: inout [UInt8]) {
        assert(isRendered, "an unset summary has no fields")
        let (names, ends) = Self.prefixes
        bytes.reserveCapacity(bytes.count + values.count + names.count)
        names.withUnsafeBufferPointer { names in
            ends.withUnsafeBufferPointer { ends in
                values.withUnsafeBufferPointer { values in
                    var start = 0, field = 0, name = 0
                    for end in values.indices where values[end] == 0 {
                        guard field < ends.count else { return }
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: names[name..<ends[field]]))
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: values[start..<end]))
                        name = ends[field]
                        start = end + 1
                        field += 1
                    }
                }
            }
        }
    }
}
