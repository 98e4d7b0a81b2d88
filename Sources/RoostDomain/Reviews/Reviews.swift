import RoostBinary

/// A review of a stay, kept with the listing it is about.
public struct ReviewRecord: Hashable, Sendable {
    public var id: String
    public var listingID: String
    /// The reviewer's user id, or for an imported review the source's reviewer id.
    public var authorID: String
    public var authorName: String
    /// 1–5 stars; nil for imported reviews (the source has per-listing scores only).
    public var rating: Int?
    public var comment: String
    public var createdAt: Timestamp
    /// The booking it reviews; nil for imported reviews, which have none.
    public var bookingID: String?
    /// Came from a dataset import (Inside Airbnb), not from a stay on Roost.
    public var imported: Bool

    public init(
        id: String, listingID: String, authorID: String, authorName: String, rating: Int?, comment: String, createdAt: Timestamp,
        bookingID: String?, imported: Bool
    ) {
        self.id = id
        self.listingID = listingID
        self.authorID = authorID
        self.authorName = authorName
        self.rating = rating
        self.comment = comment
        self.createdAt = createdAt
        self.bookingID = bookingID
        self.imported = imported
    }
}

/// Reviews, sharded by listing id (so a listing's reviews live together). Reviews of stays on
/// Roost arrive with bookings; today this holds the reviews imported with a city.
public enum Reviews: Aggregate {
    public struct State: Equatable, Sendable {
        /// Per listing, oldest first.
        public var byListing: [String: [ReviewRecord]] = [:]
        public var ids: Set<String> = []
        public init() {}
    }

    public enum Command: Sendable {
        /// Records reviews imported from a dataset; ones already present (same id) are skipped.
        case importReviews([ReviewRecord])
    }

    public enum Event: EventCoding, Sendable, Equatable {
        case imported([ReviewRecord])
    }

    public enum Rejection: Error, Equatable, Sendable {
        case notImported
    }

    public static let kind: UInt16 = 3

    public static func initialState() -> State { State() }

    public static func decide(_ command: Command, state: State, context: DecisionContext) -> Result<[Event], Rejection> {
        switch command {
        case let .importReviews(reviews):
            guard reviews.allSatisfy(\.imported) else { return .failure(.notImported) }
            var seen = Set<String>()
            let fresh = reviews.filter { !state.ids.contains($0.id) && seen.insert($0.id).inserted }
            return .success(fresh.isEmpty ? [] : [.imported(fresh)])
        }
    }

    public static func apply(_ event: Event, to state: inout State) {
        switch event {
        case let .imported(reviews):
            for review in reviews {
                state.byListing[review.listingID, default: []].append(review)
                state.ids.insert(review.id)
            }
        }
    }

    public static func encode(state: State, into writer: inout ByteWriter) {
        let listings = state.byListing.keys.sorted()
        writer.writeVarint(listings.count)
        for listing in listings {
            let reviews = state.byListing[listing]!
            writer.writeVarint(reviews.count)
            for review in reviews { writer.write(review) }
        }
    }

    public static func decodeState(from reader: inout ByteReader) throws(DecodeError) -> State {
        var state = State()
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
            let count = try reader.readCount(limit: reader.remaining)
            for _ in 0..<count {
                let review = try reader.readReview()
                state.byListing[review.listingID, default: []].append(review)
                state.ids.insert(review.id)
            }
        }
        return state
    }
}

extension Reviews.Event {
    public func encode(into writer: inout ByteWriter) {
        switch self {
        case let .imported(reviews):
            EventHeader(tag: 1, version: 1).write(into: &writer)
            writer.writeVarint(reviews.count)
            for review in reviews { writer.write(review) }
        }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self {
        let header = try EventHeader.read(from: &reader)
        guard header.tag == 1, header.version == 1 else { throw header.unknown(in: Self.self) }
        var reviews: [ReviewRecord] = []
        for _ in 0..<(try reader.readCount(limit: reader.remaining)) { reviews.append(try reader.readReview()) }
        return .imported(reviews)
    }
}

extension ByteWriter {
    mutating func write(_ review: ReviewRecord) {
        writeString(review.id)
        writeString(review.listingID)
        writeString(review.authorID)
        writeString(review.authorName)
        write(UInt8(review.rating ?? 0))
        writeString(review.comment)
        write(review.createdAt)
        writeOptionalString(review.bookingID)
        write(review.imported)
    }
}

extension ByteReader {
    mutating func readReview() throws(DecodeError) -> ReviewRecord {
        let id = try readString(), listingID = try readString(), authorID = try readString(), authorName = try readString()
        let rating = try readUInt8()
        guard rating <= 5 else { throw .invalid("review rating \(rating)") }
        return ReviewRecord(
            id: id, listingID: listingID, authorID: authorID, authorName: authorName, rating: rating == 0 ? nil : Int(rating),
            comment: try readString(), createdAt: try readTimestamp(), bookingID: try readOptionalString(), imported: try readBool()
        )
    }
}
