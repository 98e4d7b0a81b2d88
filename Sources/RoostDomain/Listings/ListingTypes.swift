import RoostBinary

public enum CancellationPolicy: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case flexible = 1
    case moderate = 2
    case strict = 3

    public init?(name: String) {
        guard let policy = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = policy
    }

    public var description: String {
        switch self {
        case .flexible: "flexible"
        case .moderate: "moderate"
        case .strict: "strict"
        }
    }
}

/// `active` listings are searchable and bookable; `inactive` ones (a host's pause, or an
/// admin's delisting) are not; `deleted` is the soft delete, kept for bookings' history.
public enum ListingStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case active = 1
    case inactive = 2
    case deleted = 3

    public var description: String {
        switch self {
        case .active: "active"
        case .inactive: "inactive"
        case .deleted: "deleted"
        }
    }
}

public struct ListingLocation: Hashable, Sendable {
    public var address: String
    public var city: String
    public var country: String
    public var latitude: Double
    public var longitude: Double
    /// An IANA time zone name: the listing's calendar days are this zone's days.
    public var timeZone: String

    public init(address: String, city: String, country: String, latitude: Double, longitude: Double, timeZone: String) {
        self.address = address
        self.city = city
        self.country = country
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
    }
}

/// What a host describes and may edit. Money is in the currency's minor units.
public struct ListingDetails: Hashable, Sendable {
    public var title: String
    public var description: String
    public var propertyType: String
    public var location: ListingLocation
    public var currency: String
    public var pricePerNight: Int64
    public var cleaningFee: Int64
    public var maxGuests: Int
    public var bedrooms: Int
    public var beds: Int
    /// In half-bathroom steps: 3 means 1.5 bathrooms.
    public var halfBathrooms: Int
    /// Catalogue codes, compactly.
    public var amenitySet: AmenitySet
    /// Catalogue codes, sorted and unique.
    public var amenities: [String] {
        get { amenitySet.codes }
        set { amenitySet = AmenitySet(newValue) }
    }
    public var minNights: Int
    public var maxNights: Int
    public var instantBook: Bool
    public var cancellationPolicy: CancellationPolicy

    public init(
        title: String, description: String, propertyType: String, location: ListingLocation, currency: String,
        pricePerNight: Int64, cleaningFee: Int64, maxGuests: Int, bedrooms: Int, beds: Int, halfBathrooms: Int,
        amenities: [String], minNights: Int, maxNights: Int, instantBook: Bool, cancellationPolicy: CancellationPolicy
    ) {
        self.title = title
        self.description = description
        self.propertyType = propertyType
        self.location = location
        self.currency = currency
        self.pricePerNight = pricePerNight
        self.cleaningFee = cleaningFee
        self.maxGuests = maxGuests
        self.bedrooms = bedrooms
        self.beds = beds
        self.halfBathrooms = halfBathrooms
        self.amenitySet = AmenitySet(amenities)
        self.minNights = minNights
        self.maxNights = maxNights
        self.instantBook = instantBook
        self.cancellationPolicy = cancellationPolicy
    }
}

public struct ListingPhoto: Hashable, Sendable {
    public var id: String
    /// The object-store key.
    public var key: String

    public init(id: String, key: String) {
        self.id = id
        self.key = key
    }
}

/// A listing as its `ListingShard` keeps it.
public struct ListingRecord: Hashable, Sendable {
    public var id: String
    public var hostID: String
    public var details: ListingDetails
    public var photos: [ListingPhoto]
    public var status: ListingStatus
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var calendar: AvailabilityCalendar
    /// Per-night prices that replace `pricePerNight` (weekends, seasons), in minor units.
    public var priceOverrides: [CalendarDay: Int64]
    /// The sum of review ratings, in hundredths of a star (a 4.5 is 450).
    public var ratingTotal: Int64
    public var reviewCount: Int32
    /// Weekend price and length-of-stay discounts (`PriceQuote` applies them).
    public var pricing: ListingPricing
    /// Whether its host is away: suspended, or no longer a host. The listing keeps its own
    /// status, to be listed again as it was when the host is back.
    public var hostAway: Bool

    public init(id: String, hostID: String, details: ListingDetails, createdAt: Timestamp) {
        self.id = id
        self.hostID = hostID
        self.details = details
        self.photos = []
        self.status = .active
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.calendar = AvailabilityCalendar()
        self.priceOverrides = [:]
        self.ratingTotal = 0
        self.reviewCount = 0
        self.pricing = .none
        self.hostAway = false
    }

    /// Whether guests find it, read it and book it: active, and its host in good standing.
    public var isListed: Bool { status == .active && !hostAway }

    /// Whether amounts in the listing's currency are set for any night from `day` on: a weekend
    /// price (it applies to every weekend ahead) or a per-night price.
    public func hasPrices(from day: CalendarDay) -> Bool {
        pricing.weekendPrice != nil || priceOverrides.keys.contains { $0 >= day }
    }

    /// The price of one night: its override, else the weekend price on Friday and Saturday nights
    /// when one is set, else the nightly price. The one rule for quotes and the calendar.
    public func price(of night: CalendarDay) -> Int64 {
        priceOverrides[night] ?? (night.isWeekendNight ? pricing.weekendPrice : nil) ?? details.pricePerNight
    }
}
