import Foundation
import RoostData
import RoostDomain

extension Decoder {
    /// Throws (→ 422 naming the field) when the object here has a key outside `allowed`.
    func rejectUnknownKeys(_ allowed: Set<String>) throws {
        let container = try container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyCodingKey(stringValue: unknown)], debugDescription: "is not a field of this request"))
        }
    }
}

struct MoneyBody: Codable, Sendable {
    var amount: Int64
    var currency: String

    init(amount: Int64, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["amount", "currency"])
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amount = try container.decode(Int64.self, forKey: .amount)
        currency = try container.decode(String.self, forKey: .currency)
    }
}

struct LocationBody: Codable, Sendable {
    var address: String?
    var city: String?
    var country: String?
    var lat: Double?
    var lng: Double?
    var timezone: String?

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["address", "city", "country", "lat", "lng", "timezone"])
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decodeIfPresent(String.self, forKey: .address)
        city = try container.decodeIfPresent(String.self, forKey: .city)
        country = try container.decodeIfPresent(String.self, forKey: .country)
        lat = try container.decodeIfPresent(Double.self, forKey: .lat)
        lng = try container.decodeIfPresent(Double.self, forKey: .lng)
        timezone = try container.decodeIfPresent(String.self, forKey: .timezone)
    }
}

/// `POST /v1/listings` and `PATCH /v1/listings/{id}`: on a patch every field is optional and
/// `location` may be partial; the merged result is checked by the same rules.
struct ListingBody: StrictJSONBody {
    static let fields: Set<String> = [
        "title", "description", "propertyType", "location", "pricePerNight", "cleaningFee", "maxGuests", "bedrooms", "beds",
        "bathrooms", "amenities", "minNights", "maxNights", "instantBook", "cancellationPolicy",
    ]
    /// None: a field left out keeps its value on a patch, and none can be cleared with `null`.
    static let nullableFields: Set<String>? = []
    var title: String?
    var description: String?
    var propertyType: String?
    var location: LocationBody?
    var pricePerNight: MoneyBody?
    var cleaningFee: MoneyBody?
    var maxGuests: Int?
    var bedrooms: Int?
    var beds: Int?
    var bathrooms: Double?
    var amenities: [String]?
    var minNights: Int?
    var maxNights: Int?
    var instantBook: Bool?
    var cancellationPolicy: String?
}

/// Listing field rules, one place for create and patch.
public enum ListingRules {
    static let titleLength = 1...120
    static let descriptionMax = 5_000
    static let guests = 1...50
    static let rooms = 0...50
    public static let nights = 1...365
    static let propertyTypeLength = 1...40
    static let textMax = 200
    static let priceMax: Int64 = InsideAirbnb.priceMaxMinor
    static let priceRange = "must be from 1 to 1,000,000,000,000 (minor units)"

    /// Builds details from a create body (`base == nil`) or a patch over `base`, or the field errors.
    static func details(from body: ListingBody, over base: ListingDetails?, reference: ReferenceData) -> Result<ListingDetails, Problem> {
        var errors: [Problem.FieldError] = []
        func required<T>(_ value: T?, _ fallback: T?, _ field: String) -> T? {
            if let value = value ?? fallback { return value }
            errors.append(.init(field: field, message: "is required"))
            return nil
        }
        let title = required(body.title.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }, base?.title, "title")
        if let title, !titleLength.contains(title.count) { errors.append(.init(field: "title", message: "must be 1–120 characters")) }
        let description = body.description ?? base?.description ?? ""
        if description.count > descriptionMax { errors.append(.init(field: "description", message: "must be at most 5,000 characters")) }
        let propertyType = required(body.propertyType.map { $0.trimmingCharacters(in: .whitespaces) }, base?.propertyType, "propertyType")
        if let propertyType, !propertyTypeLength.contains(propertyType.count) { errors.append(.init(field: "propertyType", message: "must be 1–40 characters")) }

        let location = body.location
        if base == nil && location == nil { errors.append(.init(field: "location", message: "is required")) }
        let city = (location?.city ?? base?.location.city ?? "").trimmingCharacters(in: .whitespaces)
        let country = (location?.country ?? base?.location.country ?? "").trimmingCharacters(in: .whitespaces)
        let address = location?.address ?? base?.location.address ?? ""
        let latitude = location?.lat ?? base?.location.latitude
        let longitude = location?.lng ?? base?.location.longitude
        let timeZone = location?.timezone ?? base?.location.timeZone ?? ""
        if base != nil || location != nil {
            if !(1...textMax).contains(city.count) { errors.append(.init(field: "location.city", message: "is required (at most 200 characters)")) }
            if !(1...textMax).contains(country.count) { errors.append(.init(field: "location.country", message: "is required (at most 200 characters)")) }
            if address.count > textMax { errors.append(.init(field: "location.address", message: "must be at most 200 characters")) }
            if latitude.map({ !(-90...90).contains($0) }) ?? true { errors.append(.init(field: "location.lat", message: "must be a latitude in -90…90")) }
            if longitude.map({ !(-180...180).contains($0) }) ?? true { errors.append(.init(field: "location.lng", message: "must be a longitude in -180…180")) }
            if TimeZone(identifier: timeZone) == nil || !timeZone.contains("/") && timeZone != "UTC" {
                errors.append(.init(field: "location.timezone", message: "must be an IANA time zone such as Asia/Singapore"))
            }
        }

        let price = required(body.pricePerNight, base.map { MoneyBody(amount: $0.pricePerNight, currency: $0.currency) }, "pricePerNight")
        let currency = price?.currency ?? ""
        if price != nil {
            // A listing in a currency from before the rule (imported, or priced under an older catalogue)
            // may still be edited, its price too; it cannot move to another unsupported currency.
            if !reference.isSupported(currency), currency != base?.currency {
                errors.append(.init(field: "pricePerNight.currency", message: "is not a supported currency (GET /v1/currencies)"))
            }
            if let amount = price?.amount, !(1...priceMax).contains(amount) { errors.append(.init(field: "pricePerNight.amount", message: ListingRules.priceRange)) }
        }
        let cleaning = body.cleaningFee ?? base.map { MoneyBody(amount: $0.cleaningFee, currency: $0.currency) } ?? MoneyBody(amount: 0, currency: currency)
        if cleaning.currency != currency { errors.append(.init(field: "cleaningFee.currency", message: "must be the nightly price's currency")) }
        if !(0...priceMax).contains(cleaning.amount) { errors.append(.init(field: "cleaningFee.amount", message: "must be from 0 to 1,000,000,000,000 (minor units)")) }

        let maxGuests = required(body.maxGuests, base?.maxGuests, "maxGuests") ?? 0
        if !guests.contains(maxGuests) { errors.append(.init(field: "maxGuests", message: "must be 1–50")) }
        let bedrooms = body.bedrooms ?? base?.bedrooms ?? 0
        let beds = body.beds ?? base?.beds ?? 1
        if !rooms.contains(bedrooms) { errors.append(.init(field: "bedrooms", message: "must be 0–50")) }
        if !rooms.contains(beds) { errors.append(.init(field: "beds", message: "must be 0–50")) }
        let bathrooms = body.bathrooms ?? base.map { Double($0.halfBathrooms) / 2 } ?? 1
        if !(0...50).contains(bathrooms) || (bathrooms * 2).rounded() != bathrooms * 2 {
            errors.append(.init(field: "bathrooms", message: "must be 0–50 in steps of 0.5"))
        }
        let amenities = Array(Set(body.amenities ?? base?.amenities ?? [])).sorted()
        for code in amenities where reference.amenities.amenity(code: code) == nil {
            errors.append(.init(field: "amenities", message: "\(code) is not in the catalogue (GET /v1/amenities)"))
        }
        let minNights = body.minNights ?? base?.minNights ?? 1
        let maxNights = body.maxNights ?? base?.maxNights ?? 365
        if !nights.contains(minNights) { errors.append(.init(field: "minNights", message: "must be 1–365")) }
        if !nights.contains(maxNights) { errors.append(.init(field: "maxNights", message: "must be 1–365")) }
        if minNights > maxNights { errors.append(.init(field: "minNights", message: "must not exceed maxNights")) }
        let policyName = body.cancellationPolicy ?? base?.cancellationPolicy.description ?? "moderate"
        let policy = CancellationPolicy(name: policyName)
        if policy == nil { errors.append(.init(field: "cancellationPolicy", message: "must be flexible, moderate or strict")) }

        guard errors.isEmpty, let title, let propertyType, let latitude, let longitude, let policy, let price else { return .failure(.validation(errors)) }
        return .success(
            ListingDetails(
                title: title, description: description, propertyType: propertyType,
                location: ListingLocation(address: address, city: city, country: country, latitude: latitude, longitude: longitude, timeZone: timeZone),
                currency: currency, pricePerNight: price.amount, cleaningFee: cleaning.amount, maxGuests: maxGuests, bedrooms: bedrooms,
                beds: beds, halfBathrooms: Int((bathrooms * 2).rounded()), amenities: amenities, minNights: minNights, maxNights: maxNights,
                instantBook: body.instantBook ?? base?.instantBook ?? false, cancellationPolicy: policy
            )
        )
    }
}

/// A listing on the wire (API.md's shape).
struct ListingJSON: Encodable, Sendable {
    struct Location: Encodable, Sendable {
        var address: String
        var city: String
        var country: String
        var lat: Double
        var lng: Double
        var timezone: String
    }
    struct Photo: Encodable, Sendable {
        var id: String
        var url: String
    }
    var id: String
    var hostId: String
    var title: String
    var description: String
    var propertyType: String
    var location: Location
    var pricePerNight: MoneyBody
    var cleaningFee: MoneyBody
    var pricing: PricingJSON
    var maxGuests: Int
    var bedrooms: Int
    var beds: Int
    var bathrooms: Double
    var amenities: [String]
    var photos: [Photo]
    var minNights: Int
    var maxNights: Int
    var instantBook: Bool
    var cancellationPolicy: String
    var status: String
    /// Whether guests find it and book it: active, and its host neither suspended nor demoted.
    var listed: Bool
    var rating: Double??  // always present: null until the first review
    var reviewCount: Int
    var createdAt: String
    var updatedAt: String

    init(_ listing: ListingRecord, media: MediaLibrary) {
        let d = listing.details
        id = listing.id
        hostId = listing.hostID
        title = d.title
        description = d.description
        propertyType = d.propertyType
        location = Location(address: d.location.address, city: d.location.city, country: d.location.country, lat: d.location.latitude, lng: d.location.longitude, timezone: d.location.timeZone)
        pricePerNight = MoneyBody(amount: d.pricePerNight, currency: d.currency)
        cleaningFee = MoneyBody(amount: d.cleaningFee, currency: d.currency)
        pricing = PricingJSON(listing)
        maxGuests = d.maxGuests
        bedrooms = d.bedrooms
        beds = d.beds
        bathrooms = Double(d.halfBathrooms) / 2
        amenities = d.amenities
        photos = listing.photos.map { Photo(id: $0.id, url: media.url(for: $0.key) ?? "") }
        minNights = d.minNights
        maxNights = d.maxNights
        instantBook = d.instantBook
        cancellationPolicy = d.cancellationPolicy.description
        status = listing.status.description
        listed = listing.isListed
        rating = .some(listing.displayRating)
        reviewCount = Int(listing.reviewCount)
        createdAt = RFC3339.string(listing.createdAt)
        updatedAt = RFC3339.string(listing.updatedAt)
    }
}
