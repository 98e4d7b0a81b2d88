import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RoostBinary
import RoostData
import RoostDomain
import RoostEngine
import RoostIntegrations

/// The Listings, calendars and Search sections of API.md, and `/v1/admin/listings`.
struct ListingRoutes {
    let service: ListingService
    let accounts: AccountService
    let standing: HostStanding
    let reference: ReferenceData
    let bodyLimit: Int
    static let photoBytesMax = 5 << 20
    static let availabilityDaysMax = 731
    static let rangesMax = 200

    private func guarded(_ permission: Permission?) -> AccessGuard {
        AccessGuard(permission: permission, tokens: accounts.tokens, directory: accounts.directory, clock: accounts.clock)
    }

    func register(on router: Router<RoostRequestContext>) {
        // The catalogue never changes while the server runs: rendered once, not per request (its
        // JSONEncoder rendering served a third of the requests per second that search does).
        let amenities = Self.amenitiesJSON(reference.amenities.amenities)
        router.get("v1/amenities") { _, _ -> EncodedJSON in EncodedJSON(bytes: amenities) }
        // Supported currencies follow the FX table in force (which a provider may replace), so
        // they are rendered per request, straight into bytes.
        router.get("v1/currencies") { _, _ -> EncodedJSON in EncodedJSON(bytes: Self.currenciesJSON(reference.supportedCurrencies)) }
        router.get("v1/search/listings", use: search)
        // Anyone reads a listed listing, its calendar, reviews and quotes; one that is not listed (delisted, or its host
        // away) only its host and admins, signed in (the sign-in is optional here: `readable`).
        let reading = router.group("v1/listings/:id").add(middleware: guarded(nil))
        reading.get { _, context -> EncodedJSON in
            EncodedJSON(ListingJSON(try await readable(context), media: service.media))
        }
        reading.get("availability", use: availability)
        reading.get("reviews", use: reviews)
        reading.get("quote", use: quote)

        router.group("v1/listings").add(middleware: guarded(.hostListings)).post(use: create)
        let editing = router.group("v1/listings/:id").add(middleware: guarded(.editListings))
        editing.patch(use: update)
        editing.delete(use: delete)
        let hosting = router.group("v1/listings/:id").add(middleware: guarded(.hostListings))
        hosting.put("availability", use: changeAvailability)
        hosting.put("pricing", use: setPricing)
        hosting.post("photos", use: addPhoto)
        hosting.delete("photos/:photoId", use: removePhoto)
        router.group("v1/hosts/me/listings").add(middleware: guarded(.hostListings)).get(use: hostListings)

        let admin = router.group("v1/admin/listings").add(middleware: guarded(.administerListings))
        admin.get(use: adminListings)
        admin.patch(":id", use: adminSetStatus)
    }

    // MARK: Writes

    @Sendable func create(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let principal = try context.requirePrincipal()
        let body = try await request.decodeStrictJSON(as: ListingBody.self, limit: bodyLimit)
        let details = try ListingRules.details(from: body, over: nil, reference: reference).get()
        let listing = try await service.create(hostID: principal.userID, details: details)
        do {
            try await standing.check(listing)
        } catch {
            // The listing is made; if its host went away meanwhile and this could not record it, the next start does.
            context.logger.warning("could not check a new listing's host standing", metadata: ["listing": "\(listing.id)", "error": "\(error)"])
        }
        return EncodedJSON(ListingJSON(await service.listing(listing.id) ?? listing, media: service.media), status: .created)
    }

    /// How often an edit is worked out again when others keep landing first.
    static let editAttempts = 8
    /// The first retry's reach; each later one doubles it (the last waits up to 12.8 ms).
    static let editBackoffMicroseconds = 100

    @Sendable func update(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let body = try await request.decodeStrictJSON(as: ListingBody.self, limit: bodyLimit)
        let principal = try context.requirePrincipal()
        // A partial edit over the details as read; when another edit lands in between, the
        // shard refuses it and it is worked out again over the new details.
        for attempt in 1...Self.editAttempts {
            let listing = try await service.managed(id, by: principal)
            let details = try ListingRules.details(from: body, over: listing.details, reference: reference).get()
            let today = ListingService.today(in: listing.details.location.timeZone, now: service.clock())
            do {
                try await service.execute(.update(id: id, details, over: listing.details, today: today), on: id)
                break
            } catch let problem as Problem where problem.code == "edit_conflict" && attempt < Self.editAttempts {
                // Someone else's edit landed first (so edits as a whole progress). Wait a random
                // moment, doubling in reach each time, so editors racing in step fall out of step.
                try await Task.sleep(for: .microseconds(Int.random(in: 0..<(Self.editBackoffMicroseconds << attempt))))
            }
        }
        guard let updated = await service.listing(id) else { throw Problem.notFound("No such listing.") }
        return EncodedJSON(ListingJSON(updated, media: service.media))
    }

    @Sendable func delete(_ request: Request, context: RoostRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let listing = try await service.managed(id, by: try context.requirePrincipal())
        let today = ListingService.today(in: listing.details.location.timeZone, now: service.clock())
        try await service.execute(.delete(id: id, today: today), on: id)
        return Response(status: .noContent)
    }

    /// Only the listing's own host (admins moderate, they do not run calendars or albums).
    func hosted(_ id: String, by principal: Principal) async throws -> ListingRecord {
        let listing = try await service.managed(id, by: principal)
        guard listing.hostID == principal.userID else { throw Problem.forbidden("Only the listing's host may do this.") }
        return listing
    }

    struct NightRange: Decodable {
        var from: String
        var to: String
        var amount: Int64??

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(["from", "to", "amount"])
            let container = try decoder.container(keyedBy: CodingKeys.self)
            from = try container.decode(String.self, forKey: .from)
            to = try container.decode(String.self, forKey: .to)
            amount = container.contains(.amount) ? .some(try container.decodeIfPresent(Int64.self, forKey: .amount)) : nil
        }
        private enum CodingKeys: String, CodingKey { case from, to, amount }
    }

    struct AvailabilityChange: StrictJSONBody {
        static let fields: Set<String> = ["blocked", "unblocked", "prices"]
        var blocked: [NightRange]?
        var unblocked: [NightRange]?
        var prices: [NightRange]?
    }

    /// `PUT …/availability` `{blocked: [{from, to}], unblocked: [{from, to}], prices: [{from, to, amount|null}]}`:
    /// `to` is exclusive; nights from today (listing time) to two years ahead; `amount` null clears an override.
    @Sendable func changeAvailability(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let body = try await request.decodeStrictJSON(as: AvailabilityChange.self, limit: bodyLimit)
        let listing = try await hosted(id, by: try context.requirePrincipal())
        let today = ListingService.today(in: listing.details.location.timeZone, now: service.clock())
        let horizon = today.advanced(by: ListingService.horizonDays)
        var errors: [Problem.FieldError] = []
        var changes: [Listings.NightChange] = []
        /// A range's change, or what is wrong with its `amount`.
        enum Made { case change(Listings.NightChange), badAmount(String) }
        /// The ranges' nights, each checked, and each range's change from `make`.
        func ranges(_ list: [NightRange]?, _ field: String, _ make: (Range<CalendarDay>, NightRange) -> Made)
            -> [(path: String, nights: Range<CalendarDay>)]
        {
            guard let list else { return [] }
            if list.count > Self.rangesMax { errors.append(.init(field: field, message: "at most \(Self.rangesMax) ranges")) }
            var taken: [(path: String, nights: Range<CalendarDay>)] = []
            for (index, range) in list.enumerated() {
                let path = "\(field)[\(index)]"
                guard let from = CalendarDay(iso: range.from), let to = CalendarDay(iso: range.to) else {
                    errors.append(.init(field: path, message: "from and to must be dates YYYY-MM-DD"))
                    continue
                }
                guard from < to else { errors.append(.init(field: path + ".to", message: "must be after from")); continue }
                guard from >= today, to <= horizon else {
                    errors.append(.init(field: path, message: "nights must lie between today (\(today)) and \(horizon)"))
                    continue
                }
                switch make(from..<to, range) {
                case let .change(change): changes.append(change)
                case let .badAmount(message): errors.append(.init(field: path + ".amount", message: message))
                }
                taken.append((path, from..<to))
            }
            return taken
        }
        /// Blocking and unblocking take no amount (a price is set in `prices`).
        func noAmount(_ range: NightRange, _ change: Listings.NightChange) -> Made {
            range.amount == nil ? .change(change) : .badAmount("belongs in prices; blocked and unblocked ranges take none")
        }
        let blocked = ranges(body.blocked, "blocked") { nights, range in noAmount(range, .block(nights)) }
        let unblocked = ranges(body.unblocked, "unblocked") { nights, range in noAmount(range, .unblock(nights)) }
        _ = ranges(body.prices, "prices") { nights, range in
            guard let amount = range.amount else { return .badAmount("is required: minor units > 0, or null to clear") }
            if let value = amount, value <= 0 || value > ListingRules.priceMax { return .badAmount(ListingRules.priceRange) }
            return .change(.price(nights, amount))
        }
        // A night both blocked and unblocked by one request: which was meant is not the server's to guess.
        for (path, nights) in unblocked {
            if let clash = blocked.first(where: { $0.nights.overlaps(nights) }) {
                errors.append(.init(field: path, message: "overlaps \(clash.path): a night cannot be blocked and unblocked at once"))
            }
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        try await service.execute(.changeNights(id: id, changes, currency: listing.details.currency), on: id)
        return try await availabilityBody(id: id, from: today, to: today.advanced(by: 60))
    }

    @Sendable func addPhoto(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        _ = try await hosted(id, by: try context.requirePrincipal())
        let (bytes, kind) = try await readImageUpload(request, limit: Self.photoBytesMax)
        let photoID = Identifiers.make("pho")
        guard let key = ObjectKey("listings/\(id)/\(photoID).\(kind.fileExtension)") else { throw Problem.notFound("No such listing.") }
        try await service.media.store.put(key: key, bytes: bytes, contentType: kind.contentType)
        do {
            try await service.execute(.addPhoto(id: id, ListingPhoto(id: photoID, key: key.value)), on: id)
        } catch {
            try? await service.media.store.delete(key: key)
            throw error
        }
        return EncodedJSON(["id": photoID, "url": service.media.url(for: key.value) ?? ""], status: .created)
    }

    @Sendable func removePhoto(_ request: Request, context: RoostRequestContext) async throws -> Response {
        let id = try context.parameters.require("id"), photoID = try context.parameters.require("photoId")
        let listing = try await hosted(id, by: try context.requirePrincipal())
        guard let photo = listing.photos.first(where: { $0.id == photoID }) else { throw Problem.notFound("No such photo.") }
        try await service.execute(.removePhoto(id: id, photoID: photoID), on: id)
        if let key = ObjectKey(photo.key) {
            do { try await service.media.store.delete(key: key) } catch {
                context.logger.warning("listing photo object not deleted", metadata: ["object.key": "\(photo.key)", "error": "\(error)"])
            }
        }
        return Response(status: .noContent)
    }

    // MARK: Reads

    /// The route's listing, if the caller may read it: anyone a listed one, only its host and admins one that is not
    /// (404 for anyone else, as if it did not exist).
    func readable(_ context: RoostRequestContext) async throws -> ListingRecord {
        guard let listing = await service.listing(try context.parameters.require("id")),
            listing.isListed || context.principal.map({ $0.role == .admin || $0.userID == listing.hostID }) == true
        else { throw Problem.notFound("No such listing.") }
        return listing
    }

    @Sendable func availability(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let listing = try await readable(context), id = listing.id
        let query = request.uri.formParameters
        let today = ListingService.today(in: listing.details.location.timeZone, now: service.clock())
        var errors: [Problem.FieldError] = []
        let from = query["from"].map { CalendarDay(iso: $0) } ?? today
        let to = query["to"].map { CalendarDay(iso: $0) } ?? from.map { $0.advanced(by: 30) }
        if from == nil { errors.append(.init(field: "from", message: "must be a date YYYY-MM-DD")) }
        if to == nil { errors.append(.init(field: "to", message: "must be a date YYYY-MM-DD")) }
        if let from, let to {
            if to <= from { errors.append(.init(field: "to", message: "must be after from")) }
            if from.distance(to: to) > Self.availabilityDaysMax { errors.append(.init(field: "to", message: "at most \(Self.availabilityDaysMax) days at once")) }
        }
        guard errors.isEmpty, let from, let to else { throw Problem.validation(errors) }
        return try await availabilityBody(id: id, from: from, to: to)
    }

    private func availabilityBody(id: String, from: CalendarDay, to: CalendarDay) async throws -> EncodedJSON {
        guard let listing = await service.listing(id) else { throw Problem.notFound("No such listing.") }
        struct Day: Encodable, Sendable { var date: String; var available: Bool; var price: MoneyBody }
        struct Body: Encodable, Sendable { var listingId: String; var days: [Day] }
        let today = ListingService.today(in: listing.details.location.timeZone, now: service.clock())
        let horizon = today.advanced(by: ListingService.horizonDays)
        let days = (from..<to).map { night in
            Day(
                date: night.description,
                available: night >= today && night < horizon && listing.calendar.isFree(night..<night.advanced(by: 1)),
                price: MoneyBody(amount: listing.price(of: night), currency: listing.details.currency)
            )
        }
        return EncodedJSON(Body(listingId: id, days: days))
    }

    struct ReviewJSON: Encodable, Sendable {
        struct Author: Encodable, Sendable { var id: String; var name: String }
        var id: String
        var listingId: String
        var author: Author
        var rating: Int??
        var comment: String
        var createdAt: String
        var imported: Bool
    }

    /// `GET /v1/listings/{id}/reviews`: newest first, keyset pages on (createdAt, id).
    @Sendable func reviews(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try await readable(context).id
        var errors: [Problem.FieldError] = []
        let (page, cursor) = pageCursor(request.uri.formParameters, errors: &errors)
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let all = service.reviews?.shard(for: id).peek { $0.byListing[id] ?? [] } ?? []
        let ordered = all.sorted { ($0.createdAt.millisecondsSinceEpoch, $0.id) > ($1.createdAt.millisecondsSinceEpoch, $1.id) }
        let after = ordered.filter { review in cursor.map { (review.createdAt.millisecondsSinceEpoch, review.id) < $0 } ?? true }
        let items = Array(after.prefix(page.limit))
        let next = after.count > page.limit ? items.last.map { PageRequest.encode(cursor: "\($0.createdAt.millisecondsSinceEpoch)|\($0.id)") } : nil
        return EncodedJSON(Page(items: items.map { review in
            ReviewJSON(
                id: review.id, listingId: review.listingID, author: .init(id: review.authorID, name: review.authorName), rating: .some(review.rating),
                comment: review.comment, createdAt: RFC3339.string(review.createdAt), imported: review.imported
            )
        }, nextCursor: next))
    }

    @Sendable func search(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let query = try SearchParameters.parse(.init(request.uri), reference: reference, now: service.clock())
        // Each hit's summary was rendered when its listing last changed; the photo's URL (which an
        // S3 store signs) and the distance are added here.
        let (page, marks, expired) = service.searchMarking(query)
        if expired {
            throw Problem.validation([.init(field: "cursor", message: "has expired: too many listings changed since its first page; start again from the first page")])
        }
        var body = JSONObjectWriter(capacity: page.hits.count * 448 + 256)
        body.value("items") { bytes in
            bytes.append(UInt8(ascii: "["))
            // By index: each hit is lent where it lies (`enumerated()` copied each, retaining the page's buffer).
            for index in page.hits.indices {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.appendSummary(page.hits[index], media: service.media, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        // Later pages keep the first page's marks (`searchMarking`), so every page sorts as of the first.
        let next = page.hits.count == query.limit ? page.hits.last.map { SearchCursor.encode($0.key, sort: query.sort, marks: marks) } : nil
        body.string("nextCursor", next)
        body.integer("total", Int64(page.total))
        return EncodedJSON(bytes: body.finish())
    }

    /// A search hit: `{id, title, propertyType, city, country, lat, lng, pricePerNight, maxGuests,
    /// bedrooms, instantBook, rating, reviewCount, photoUrl, distanceKm?}`, appended to `bytes`.
    static func appendSummary(_ hit: SearchHit, media: MediaLibrary, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "{"))
        hit.summary.appendFields(to: &bytes)
        bytes += #","photoUrl":"#.utf8
        if let url = media.url(for: hit.summary.photoKey) { JSONText.appendQuoted(url, to: &bytes) } else { bytes += "null".utf8 }
        if let distance = hit.distanceKilometres {
            bytes += #","distanceKm":"#.utf8
            JSONText.appendNumber((distance * 1000).rounded() / 1000, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// `GET /v1/amenities`: `[{code, name, category}]`, in the catalogue's order.
    static func amenitiesJSON(_ amenities: [Amenity]) -> [UInt8] {
        array(amenities) { amenity in
            var json = JSONObjectWriter(capacity: 96)
            json.string("code", amenity.code)
            json.string("name", amenity.name)
            json.string("category", amenity.category)
            return json.finish()
        }
    }

    /// `GET /v1/currencies`: `[{code, name, exponent}]`, in the catalogue's order.
    static func currenciesJSON(_ currencies: [Currency]) -> [UInt8] {
        array(currencies) { currency in
            var json = JSONObjectWriter(capacity: 80)
            json.string("code", currency.code)
            json.string("name", currency.name)
            json.integer("exponent", Int64(currency.exponent))
            return json.finish()
        }
    }

    /// A JSON array of what `render` writes for each element.
    private static func array<Element>(_ elements: [Element], _ render: (Element) -> [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for element in elements {
            if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
            bytes += render(element)
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }

    private func pageCursor(_ query: Hummingbird.Parameters, errors: inout [Problem.FieldError]) -> (PageRequest, (Int64, String)?) {
        let page = PageRequest(query: query, errors: &errors)
        return (page, page.createdCursor(errors: &errors))
    }

    @Sendable func hostListings(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let hostID = try context.requirePrincipal().userID
        var errors: [Problem.FieldError] = []
        let (page, cursor) = pageCursor(request.uri.formParameters, errors: &errors)
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let (items, next) = await service.page(after: cursor, limit: page.limit) { $0.hostID == hostID && $0.status != .deleted }
        return EncodedJSON(Page(items: items.map { ListingJSON($0, media: service.media) }, nextCursor: next.map(PageRequest.encode(createdCursor:))))
    }

    @Sendable func adminListings(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let query = request.uri.formParameters
        var errors: [Problem.FieldError] = []
        let (page, cursor) = pageCursor(query, errors: &errors)
        let status = query["status"].map { String($0) }
        let wanted = status.flatMap { name in ListingStatus.allCases.first { $0.description == name } }
        if status != nil && wanted == nil { errors.append(.init(field: "status", message: "must be active, inactive or deleted")) }
        let hostID = query["hostId"].map { String($0) }
        let city = query["city"].map { TextKey.make(String($0)) }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        let (items, next) = await service.page(after: cursor, limit: page.limit) { listing in
            (wanted == nil || listing.status == wanted) && (hostID == nil || listing.hostID == hostID)
                && (city == nil || TextKey.make(listing.details.location.city) == city)
        }
        return EncodedJSON(Page(items: items.map { ListingJSON($0, media: service.media) }, nextCursor: next.map(PageRequest.encode(createdCursor:))))
    }

    struct StatusPatch: StrictJSONBody {
        static let fields: Set<String> = ["status"]
        var status: String
    }

    /// Admins delist (`inactive`) or relist (`active`) a listing.
    @Sendable func adminSetStatus(_ request: Request, context: RoostRequestContext) async throws -> EncodedJSON {
        let id = try context.parameters.require("id")
        let body = try await request.decodeStrictJSON(as: StatusPatch.self, limit: bodyLimit)
        guard let status = [ListingStatus.active, .inactive].first(where: { $0.description == body.status }) else {
            throw Problem.validation([.init(field: "status", message: "must be active or inactive")])
        }
        try await service.execute(.setStatus(id: id, status), on: id)
        guard let listing = await service.listing(id) else { throw Problem.notFound("No such listing.") }
        return EncodedJSON(ListingJSON(listing, media: service.media))
    }
}
