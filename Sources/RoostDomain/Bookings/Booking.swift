/// A stay at a listing. Bookings live in their listing's `ListingShard`, beside its calendar: the
/// check that the nights are free and the hold that takes them are one decision of one actor.
///
/// Status moves only pending → confirmed → completed, pending → canceled and confirmed →
/// canceled (API.md). A pending booking holds its nights until it is confirmed, or its hold
/// expires, or it is canceled; a canceled booking holds none.
public enum BookingStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case pending = 1
    case confirmed = 2
    case canceled = 3
    case completed = 4

    public var description: String {
        switch self {
        case .pending: "pending"
        case .confirmed: "confirmed"
        case .canceled: "canceled"
        case .completed: "completed"
        }
    }

    /// Whether the booking holds its nights in the listing's calendar.
    public var holdsNights: Bool { self == .pending || self == .confirmed }
}

/// Who ended a booking.
public enum BookingParty: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case guest = 1
    case host = 2
    case admin = 3
    /// The engine: a hold that expired, a request the host let lapse, a declined payment.
    case system = 4

    public var description: String {
        switch self {
        case .guest: "guest"
        case .host: "host"
        case .admin: "admin"
        case .system: "system"
        }
    }
}

public struct BookingCancellation: Hashable, Sendable {
    public var by: BookingParty
    public var at: Timestamp
    public var reason: String
    /// Refunded to the guest, in the booking's (listing) currency.
    public var refund: Int64

    public init(by: BookingParty, at: Timestamp, reason: String, refund: Int64) {
        self.by = by
        self.at = at
        self.reason = reason
        self.refund = refund
    }
}

public struct BookingRecord: Hashable, Sendable {
    public var id: String
    public var listingID: String
    public var guestID: String
    public var hostID: String
    public var stay: Range<CalendarDay>
    public var guests: Int
    public var status: BookingStatus
    /// The price as quoted when booked, in the listing's currency (never recomputed).
    public var quote: PriceQuote
    /// What the guest pays: `quote` converted into the guest's currency (`quote` itself when the
    /// same), at `exchangeRate` units of the guest's currency per unit of the listing's.
    public var charge: PriceQuote
    public var exchangeRate: Double
    /// The cancellation policy in force when booked.
    public var policy: CancellationPolicy
    /// Whether the listing took instant bookings when booked (else the host accepts or declines).
    public var instantBook: Bool
    /// When a pending booking's hold lapses (its nights are released then).
    public var holdExpiresAt: Timestamp
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var cancellation: BookingCancellation?

    public init(
        id: String, listingID: String, guestID: String, hostID: String, stay: Range<CalendarDay>, guests: Int, quote: PriceQuote,
        policy: CancellationPolicy, instantBook: Bool, holdExpiresAt: Timestamp, createdAt: Timestamp
    ) {
        self.id = id
        self.listingID = listingID
        self.guestID = guestID
        self.hostID = hostID
        self.stay = stay
        self.guests = guests
        self.status = .pending
        self.quote = quote
        self.charge = quote
        self.exchangeRate = 1
        self.policy = policy
        self.instantBook = instantBook
        self.holdExpiresAt = holdExpiresAt
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.cancellation = nil
    }

    public var nights: Int { stay.count }
}
