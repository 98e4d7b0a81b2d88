import RoostBinary

// The binary form of listings, shared by events and snapshots.

extension ByteWriter {
    mutating func write(_ value: Double) { write(value.bitPattern) }

    mutating func write(_ day: CalendarDay) { write(UInt32(bitPattern: day.daysSinceEpoch)) }

    mutating func write(_ nights: Range<CalendarDay>) {
        write(nights.lowerBound)
        write(nights.upperBound)
    }

    mutating func write(_ details: ListingDetails) {
        writeString(details.title)
        writeString(details.description)
        writeString(details.propertyType)
        writeString(details.location.address)
        writeString(details.location.city)
        writeString(details.location.country)
        write(details.location.latitude)
        write(details.location.longitude)
        writeString(details.location.timeZone)
        writeString(details.currency)
        write(details.pricePerNight)
        write(details.cleaningFee)
        writeVarint(details.maxGuests)
        writeVarint(details.bedrooms)
        writeVarint(details.beds)
        writeVarint(details.halfBathrooms)
        writeVarint(details.amenities.count)
        for code in details.amenities { writeString(code) }
        writeVarint(details.minNights)
        writeVarint(details.maxNights)
        write(details.instantBook)
        write(details.cancellationPolicy.rawValue)
    }

    mutating func write(_ pricing: ListingPricing) {
        write(pricing.weekendPrice != nil)
        if let price = pricing.weekendPrice { write(price) }
        writeVarint(pricing.weeklyDiscountBasisPoints)
        writeVarint(pricing.monthlyDiscountBasisPoints)
    }

    mutating func write(_ calendar: AvailabilityCalendar) {
        write(calendar.origin)
        writeVarint(calendar.blocked.count)
        for word in calendar.blocked { write(word) }
        for word in calendar.booked { write(word) }
    }

    mutating func write(_ photo: ListingPhoto) {
        writeString(photo.id)
        writeString(photo.key)
    }

    mutating func write(_ listing: ListingRecord) {
        writeString(listing.id)
        writeString(listing.hostID)
        write(listing.details)
        writeVarint(listing.photos.count)
        for photo in listing.photos { write(photo) }
        // The host's absence rides in the status byte's top bit (records from before it have it clear).
        write(listing.status.rawValue | (listing.hostAway ? ListingRecord.hostAwayBit : 0))
        write(listing.createdAt)
        write(listing.updatedAt)
        write(listing.calendar)
        writeVarint(listing.priceOverrides.count)
        for night in listing.priceOverrides.keys.sorted() {
            write(night)
            write(listing.priceOverrides[night]!)
        }
        write(listing.ratingTotal)
        write(UInt32(bitPattern: listing.reviewCount))
    }
}

extension ByteReader {
    mutating func readDouble() throws(DecodeError) -> Double { Double(bitPattern: try readUInt64()) }

    mutating func readCalendarDay() throws(DecodeError) -> CalendarDay {
        CalendarDay(daysSinceEpoch: Int32(bitPattern: try readUInt32()))
    }

    mutating func readNights() throws(DecodeError) -> Range<CalendarDay> {
        let lower = try readCalendarDay(), upper = try readCalendarDay()
        guard lower <= upper else { throw .invalid("night range \(lower)..<\(upper) is reversed") }
        return lower..<upper
    }

    mutating func readInt() throws(DecodeError) -> Int {
        let value = try readVarint()
        guard value <= UInt64(Int32.max) else { throw .invalid("count \(value) out of range") }
        return Int(value)
    }

    mutating func readListingDetails() throws(DecodeError) -> ListingDetails {
        let title = try readString(), description = try readString(), propertyType = try readString()
        let location = ListingLocation(
            address: try readString(), city: try readString(), country: try readString(), latitude: try readDouble(),
            longitude: try readDouble(), timeZone: try readString()
        )
        let currency = try readString(), price = try readInt64(), cleaning = try readInt64()
        let maxGuests = try readInt(), bedrooms = try readInt(), beds = try readInt(), halfBathrooms = try readInt()
        var amenities: [String] = []
        for _ in 0..<(try readCount(limit: remaining)) { amenities.append(try readString()) }
        let minNights = try readInt(), maxNights = try readInt(), instantBook = try readBool()
        let rawPolicy = try readUInt8()
        guard let policy = CancellationPolicy(rawValue: rawPolicy) else { throw .invalid("unknown cancellation policy \(rawPolicy)") }
        return ListingDetails(
            title: title, description: description, propertyType: propertyType, location: location, currency: currency,
            pricePerNight: price, cleaningFee: cleaning, maxGuests: maxGuests, bedrooms: bedrooms, beds: beds,
            halfBathrooms: halfBathrooms, amenities: amenities, minNights: minNights, maxNights: maxNights,
            instantBook: instantBook, cancellationPolicy: policy
        )
    }

    mutating func readCalendar() throws(DecodeError) -> AvailabilityCalendar {
        let origin = try readCalendarDay()
        let words = try readCount(limit: remaining / 16)
        var blocked: [UInt64] = [], booked: [UInt64] = []
        blocked.reserveCapacity(words)
        booked.reserveCapacity(words)
        for _ in 0..<words { blocked.append(try readUInt64()) }
        for _ in 0..<words { booked.append(try readUInt64()) }
        return AvailabilityCalendar(origin: origin, blocked: blocked, booked: booked)
    }

    mutating func readListingPricing() throws(DecodeError) -> ListingPricing {
        let weekendPrice = try readBool() ? try readInt64() : nil
        let weekly = try readInt(), monthly = try readInt()
        guard weekly <= ListingPricing.discountMaxBasisPoints, monthly <= ListingPricing.discountMaxBasisPoints else {
            throw .invalid("discount \(max(weekly, monthly)) basis points is over the limit")
        }
        return ListingPricing(weekendPrice: weekendPrice, weeklyDiscountBasisPoints: weekly, monthlyDiscountBasisPoints: monthly)
    }

    mutating func readListingPhoto() throws(DecodeError) -> ListingPhoto {
        ListingPhoto(id: try readString(), key: try readString())
    }

    mutating func readListingStatus() throws(DecodeError) -> ListingStatus {
        let raw = try readUInt8()
        guard let status = ListingStatus(rawValue: raw) else { throw .invalid("unknown listing status \(raw)") }
        return status
    }

    mutating func readListingRecord() throws(DecodeError) -> ListingRecord {
        var listing = ListingRecord(
            id: try readString(), hostID: try readString(), details: try readListingDetails(),
            createdAt: Timestamp(millisecondsSinceEpoch: 0)
        )
        for _ in 0..<(try readCount(limit: remaining)) { listing.photos.append(try readListingPhoto()) }
        let status = try readUInt8()
        guard let known = ListingStatus(rawValue: status & ~ListingRecord.hostAwayBit) else { throw .invalid("unknown listing status \(status)") }
        listing.status = known
        listing.hostAway = status & ListingRecord.hostAwayBit != 0
        listing.createdAt = try readTimestamp()
        listing.updatedAt = try readTimestamp()
        listing.calendar = try readCalendar()
        let overrides = try readCount(limit: remaining / 12)
        for _ in 0..<overrides { listing.priceOverrides[try readCalendarDay()] = try readInt64() }
        listing.ratingTotal = try readInt64()
        listing.reviewCount = Int32(bitPattern: try readUInt32())
        return listing
    }
}

extension ListingRecord {
    /// The status byte's bit that says the host is away (`hostAway`).
    static let hostAwayBit: UInt8 = 0x80
}

/// The frozen on-disk tags of `Listings.Event`. Never renumber; retire a tag by leaving it unused.
extension Listings.Event {
    private enum Tag: UInt16 {
        case created = 1
        case updated = 2
        case statusChanged = 3
        case nightsChanged = 4
        case photoAdded = 5
        case photoRemoved = 6
        case pricingChanged = 7
        case bookingHeld = 8
        case bookingConfirmed = 9
        case bookingCanceled = 10
        case bookingCompleted = 11
        case bookingHoldExtended = 12
        case bookingSettled = 13
        case hostAwayChanged = 14
    }

    public func encode(into writer: inout ByteWriter) {
        func header(_ tag: Tag) { EventHeader(tag: tag.rawValue, version: 1).write(into: &writer) }
        switch self {
        case let .created(record):
            header(.created)
            writer.write(record)
        case let .updated(id, details, at):
            header(.updated)
            writer.writeString(id)
            writer.write(details)
            writer.write(at)
        case let .statusChanged(id, status, at):
            header(.statusChanged)
            writer.writeString(id)
            writer.write(status.rawValue)
            writer.write(at)
        case let .nightsChanged(id, changes, at):
            header(.nightsChanged)
            writer.writeString(id)
            writer.writeVarint(changes.count)
            for change in changes {
                switch change {
                case let .block(nights):
                    writer.write(UInt8(1))
                    writer.write(nights)
                case let .unblock(nights):
                    writer.write(UInt8(2))
                    writer.write(nights)
                case let .price(nights, amount):
                    writer.write(UInt8(3))
                    writer.write(nights)
                    writer.write(amount != nil)
                    if let amount { writer.write(amount) }
                }
            }
            writer.write(at)
        case let .photoAdded(id, photo, at):
            header(.photoAdded)
            writer.writeString(id)
            writer.write(photo)
            writer.write(at)
        case let .photoRemoved(id, photoID, at):
            header(.photoRemoved)
            writer.writeString(id)
            writer.writeString(photoID)
            writer.write(at)
        case let .pricingChanged(id, pricing, at):
            header(.pricingChanged)
            writer.writeString(id)
            writer.write(pricing)
            writer.write(at)
        case let .bookingHeld(booking):
            header(.bookingHeld)
            writer.write(booking)
        case let .bookingConfirmed(id, at):
            header(.bookingConfirmed)
            writer.writeString(id)
            writer.write(at)
        case let .bookingCanceled(id, cancellation):
            header(.bookingCanceled)
            writer.writeString(id)
            writer.write(cancellation)
        case let .bookingCompleted(id, at):
            header(.bookingCompleted)
            writer.writeString(id)
            writer.write(at)
        case let .bookingHoldExtended(id, until, at):
            header(.bookingHoldExtended)
            writer.writeString(id)
            writer.write(until)
            writer.write(at)
        case let .bookingSettled(id, at):
            header(.bookingSettled)
            writer.writeString(id)
            writer.write(at)
        case let .hostAwayChanged(id, away, at):
            header(.hostAwayChanged)
            writer.writeString(id)
            writer.write(away)
            writer.write(at)
        }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> Self {
        let header = try EventHeader.read(from: &reader)
        guard header.version == 1, let tag = Tag(rawValue: header.tag) else { throw header.unknown(in: Self.self) }
        switch tag {
        case .created:
            return .created(try reader.readListingRecord())
        case .updated:
            return .updated(id: try reader.readString(), try reader.readListingDetails(), at: try reader.readTimestamp())
        case .statusChanged:
            return .statusChanged(id: try reader.readString(), try reader.readListingStatus(), at: try reader.readTimestamp())
        case .nightsChanged:
            let id = try reader.readString()
            var changes: [Listings.NightChange] = []
            for _ in 0..<(try reader.readCount(limit: reader.remaining)) {
                let kind = try reader.readUInt8()
                let nights = try reader.readNights()
                switch kind {
                case 1: changes.append(.block(nights))
                case 2: changes.append(.unblock(nights))
                case 3: changes.append(.price(nights, try reader.readBool() ? try reader.readInt64() : nil))
                default: throw .invalid("unknown night change \(kind)")
                }
            }
            return .nightsChanged(id: id, changes, at: try reader.readTimestamp())
        case .photoAdded:
            return .photoAdded(id: try reader.readString(), try reader.readListingPhoto(), at: try reader.readTimestamp())
        case .photoRemoved:
            return .photoRemoved(id: try reader.readString(), photoID: try reader.readString(), at: try reader.readTimestamp())
        case .pricingChanged:
            return .pricingChanged(id: try reader.readString(), try reader.readListingPricing(), at: try reader.readTimestamp())
        case .bookingHeld:
            return .bookingHeld(try reader.readBookingRecord())
        case .bookingConfirmed:
            return .bookingConfirmed(id: try reader.readString(), at: try reader.readTimestamp())
        case .bookingCanceled:
            return .bookingCanceled(id: try reader.readString(), try reader.readBookingCancellation())
        case .bookingCompleted:
            return .bookingCompleted(id: try reader.readString(), at: try reader.readTimestamp())
        case .bookingHoldExtended:
            return .bookingHoldExtended(id: try reader.readString(), until: try reader.readTimestamp(), at: try reader.readTimestamp())
        case .bookingSettled:
            return .bookingSettled(id: try reader.readString(), at: try reader.readTimestamp())
        case .hostAwayChanged:
            return .hostAwayChanged(id: try reader.readString(), try reader.readBool(), at: try reader.readTimestamp())
        }
    }
}
