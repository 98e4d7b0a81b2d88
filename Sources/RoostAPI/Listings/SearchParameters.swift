import Foundation
import Hummingbird
import HummingbirdCore
import RoostData
import RoostDomain

/// `GET /v1/search/listings`'s query string → a `ListingQuery`, or 422 naming every bad field.
enum SearchParameters {
    static let radiusMaxKilometres = 500.0
    static let stayNightsMax = 365

    /// `text` without the spaces and tabs around it: what `trimmingCharacters(in: .whitespaces)`
    /// removes (Unicode's space separators, tab, and — in Foundation's set — zero width space),
    /// without bridging each part to `NSString`: that was a third of parsing a search.
    static func trimmed(_ text: Substring) -> Substring {
        // Nearly every value starts and ends with a printable ASCII byte: nothing to look up.
        if let first = text.utf8.first, let last = text.utf8.last, (0x21..<0x7F).contains(first), (0x21..<0x7F).contains(last) { return text }
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\t" || scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return Substring(scalars[first...last])
    }

    /// The parameters a search reads, found by name in one pass over the query string
    /// (`URI.forEachFormParameter`); a parameter without a value is not given (`URI.formParameters`
    /// leaves it out), and other names are not read. Kept in place, one slot a name: a dictionary
    /// of the query, and some thirty lookups in it (each name hashed again), cost a search about 2%
    /// of its CPU.
    struct Given {
        enum Name: Int, CaseIterable {
            case location, lat, lng, radiusKm, bbox, checkIn, checkOut, guests, minPrice, maxPrice, currency, amenities
            case propertyType, instantBook, sort, limit, cursor

            /// The name as a query gives it (and as a field error names it).
            var field: String { Self.fields[rawValue] }
            private static let fields = allCases.map { String(describing: $0) }
            private static let bytes = fields.map { Array($0.utf8) }

            /// The name `text` is, if it is one a search reads.
            init?(_ text: Substring) {
                let utf8 = text.utf8
                let count = utf8.count
                for (index, name) in Self.bytes.enumerated() where name.count == count && utf8.elementsEqual(name) {
                    self.init(rawValue: index)
                    return
                }
                return nil
            }
        }

        /// By `Name.rawValue`: one slot a name (the count is `Name.allCases.count`).
        private var values = InlineArray<17, Substring?>(repeating: nil)

        /// A name given twice keeps its last value (`QueryParameterMiddleware` refuses such a query
        /// before any route reads it).
        init(_ uri: URI) {
            assert(values.count == Name.allCases.count, "a slot for every name")
            var values = self.values
            uri.forEachFormParameter { name, value in
                if let known = Name(name) { values[known.rawValue] = value }
            }
            self.values = values
        }

        subscript(name: Name) -> Substring? { values[name.rawValue] }
    }

    static func parse(_ given: Given, reference: ReferenceData, now: Date) throws -> ListingQuery {
        var errors: [Problem.FieldError] = []
        var result = ListingQuery()
        func text(_ name: Given.Name) -> String? { given[name].map { String($0) } }
        // Numbers around spaces are read (a `+1.29` written raw arrives as " 1.29": `+` is a space in a query).
        func number(_ name: Given.Name, _ range: ClosedRange<Double>) -> Double? {
            guard let raw = given[name] else { return nil }
            guard let value = Double(trimmed(raw)), value.isFinite, range.contains(value) else {
                errors.append(.init(field: name.field, message: "must be a number in \(range.lowerBound)…\(range.upperBound)"))
                return nil
            }
            return value
        }
        func integer(_ name: Given.Name, _ range: ClosedRange<Int>) -> Int? {
            guard let raw = given[name] else { return nil }
            guard let value = Int(trimmed(raw)), range.contains(value) else {
                errors.append(.init(field: name.field, message: "must be an integer in \(range.lowerBound)…\(range.upperBound)"))
                return nil
            }
            return value
        }
        func boolean(_ name: Given.Name) -> Bool? {
            guard let raw = given[name] else { return nil }
            guard let value = Bool(String(raw)) else {
                errors.append(.init(field: name.field, message: "must be true or false"))
                return nil
            }
            return value
        }

        if let location = text(.location) {
            let key = TextKey.make(location)
            if key.isEmpty || location.count > 200 { errors.append(.init(field: "location", message: "must be a city or country name")) }
            result.place = key
        }
        let lat = number(.lat, -90...90), lng = number(.lng, -180...180)
        let radius = number(.radiusKm, 0.001...radiusMaxKilometres)
        let point = lat.flatMap { lat in lng.map { (latitude: lat, longitude: $0) } }
        if (given[.lat] == nil) != (given[.lng] == nil) { errors.append(.init(field: given[.lat] == nil ? "lat" : "lng", message: "lat and lng come together")) }
        if given[.radiusKm] != nil, given[.lat] == nil || given[.lng] == nil { errors.append(.init(field: "radiusKm", message: "needs a point (lat and lng)")) }
        if let radius, let point { result.area = .radius(latitude: point.latitude, longitude: point.longitude, kilometres: radius) }
        result.origin = point
        if let bbox = text(.bbox) {
            let parts = bbox.split(separator: ",", omittingEmptySubsequences: false).map { Double(trimmed($0)) }
            if parts.count == 4, let minLng = parts[0], let minLat = parts[1], let maxLng = parts[2], let maxLat = parts[3],
                (-180...180).contains(minLng), (-180...180).contains(maxLng), (-90...90).contains(minLat), (-90...90).contains(maxLat), minLat <= maxLat
            {
                if result.area != nil { errors.append(.init(field: "bbox", message: "give a radius or a bbox, not both")) }
                result.area = .box(minLongitude: minLng, minLatitude: minLat, maxLongitude: maxLng, maxLatitude: maxLat)
            } else {
                errors.append(.init(field: "bbox", message: "must be minLng,minLat,maxLng,maxLat with minLat ≤ maxLat"))
            }
        }

        let checkIn = text(.checkIn), checkOut = text(.checkOut)
        if (checkIn == nil) != (checkOut == nil) { errors.append(.init(field: checkIn == nil ? "checkIn" : "checkOut", message: "checkIn and checkOut come together")) }
        if let checkIn, let checkOut {
            let start = CalendarDay(iso: checkIn), end = CalendarDay(iso: checkOut)
            if start == nil { errors.append(.init(field: "checkIn", message: "must be a date YYYY-MM-DD")) }
            if end == nil { errors.append(.init(field: "checkOut", message: "must be a date YYYY-MM-DD")) }
            if let start, let end {
                // Yesterday in UTC is today somewhere: the listing's own "today" is checked at booking.
                let todayInUTC = ListingService.today(in: "UTC", now: now)
                let earliest = todayInUTC.advanced(by: -1)
                if end <= start { errors.append(.init(field: "checkOut", message: "must be after checkIn")) }
                else if start.distance(to: end) > stayNightsMax { errors.append(.init(field: "checkOut", message: "a stay is at most \(stayNightsMax) nights")) }
                if start < earliest { errors.append(.init(field: "checkIn", message: "must not be in the past")) }
                // Calendars reach two years ahead (tomorrow in UTC is today somewhere).
                let horizon = todayInUTC.advanced(by: 1 + ListingService.horizonDays)
                if end > horizon { errors.append(.init(field: "checkOut", message: "must be within two years (\(horizon))")) }
                if end > start, start >= earliest, end <= horizon {
                    result.stay = start..<end
                    // Listings' todays lie from UTC's yesterday to its tomorrow: near either end,
                    // each listing's own today and horizon decide (as a booking's would).
                    let days = ListingService.horizonDays
                    if start < todayInUTC.advanced(by: 1) || end > todayInUTC.advanced(by: days - 1) {
                        result.window = BookableWindow(horizonDays: days) { zone in ListingService.today(in: zone, now: now) }
                    }
                }
            }
        }
        result.guests = integer(.guests, 1...50)
        let priceBounds = 0...Int(ListingRules.priceMax)
        let minPrice = integer(.minPrice, priceBounds), maxPrice = integer(.maxPrice, priceBounds)
        if let minPrice, let maxPrice, minPrice > maxPrice { errors.append(.init(field: "minPrice", message: "must not exceed maxPrice")) }
        if minPrice != nil || maxPrice != nil { result.priceRange = Int64(minPrice ?? 0)...Int64(max(minPrice ?? 0, maxPrice ?? Int(Int64.max))) }
        if let currency = text(.currency) {
            if let factors = reference.priceFactors(into: currency) { result.priceFactors = factors } else {
                errors.append(.init(field: "currency", message: "is not a supported currency"))
            }
        }
        if let amenities = text(.amenities) {
            let codes = amenities.split(separator: ",").map { String(trimmed($0)) }.filter { !$0.isEmpty }
            for code in codes where reference.amenities.amenity(code: code) == nil {
                errors.append(.init(field: "amenities", message: "\(code) is not in the catalogue"))
            }
            result.amenities = Array(Set(codes)).sorted()
        }
        result.propertyType = text(.propertyType)
        result.instantBook = boolean(.instantBook)
        if let sort = text(.sort) {
            if let value = ListingQuery.Sort(rawValue: sort) { result.sort = value } else {
                errors.append(.init(field: "sort", message: "must be price_asc, price_desc, rating, distance or newest"))
            }
        }
        if result.sort == .distance, point == nil { errors.append(.init(field: "sort", message: "distance needs a point (lat and lng)")) }
        result.limit = integer(.limit, 1...PageRequest.limitMax) ?? PageRequest.limitDefault
        if let cursor = text(.cursor) {
            if let (key, marks) = SearchCursor.decode(cursor, sort: result.sort) {
                result.after = key
                result.sortedAsOf = marks
            } else {
                errors.append(.init(field: "cursor", message: "is not a cursor of this search"))
            }
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        return result
    }
}

/// Search cursors, base64url: `s2|sort|key bits|id|marks`, the sort they belong to, the last hit's
/// key, and each shard's sort mark (`generation:stamp`, hex and decimal, comma-separated) when the
/// search's first page was made. `s1` cursors (no marks) are still read.
enum SearchCursor {
    /// Written as bytes, digits and all: every full page writes one.
    static func encode(_ key: SearchKey, sort: ListingQuery.Sort, marks: [SortMark]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(48 + key.id.utf8.count + 38 * marks.count)
        text += "s2|".utf8
        text += sort.rawValue.utf8
        text.append(UInt8(ascii: "|"))
        appendDecimal(key.primary.bitPattern, to: &text)
        text.append(UInt8(ascii: "|"))
        text += key.id.utf8
        text.append(UInt8(ascii: "|"))
        for (index, mark) in marks.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            appendHex(mark.generation, to: &text)
            text.append(UInt8(ascii: ":"))
            if mark.stamp < 0 { text.append(UInt8(ascii: "-")) }
            appendDecimal(mark.stamp.magnitude, to: &text)
        }
        return Base64URL.encode(text)
    }

    /// `value` in decimal, as `String(value)` writes it. (Each radix has its own function: with
    /// the radix a constant, a digit is a multiplication and a shift, where a division by a
    /// variable radix cost a cursor some hundred divisions.)
    static func appendDecimal(_ value: UInt64, to text: inout [UInt8]) {
        let start = text.count
        var rest = value
        repeat {
            text.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        text[start...].reverse()
    }

    /// `value` in lowercase hexadecimal, as `String(value, radix: 16)` writes it.
    static func appendHex(_ value: UInt64, to text: inout [UInt8]) {
        let digits = max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        for k in (0..<digits).reversed() {
            let digit = UInt8(value >> UInt64(4 * k) & 0xF)
            text.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        }
    }

    static func decode(_ text: String, sort: ListingQuery.Sort) -> (SearchKey, [SortMark]?)? {
        guard let bytes = Base64URL.decode(text), let decoded = String(bytes: bytes, encoding: .utf8) else { return nil }
        var parts = decoded.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        var marks: [SortMark]?
        switch parts.first {
        case "s1"?:
            guard parts.count == 4 else { return nil }
        case "s2"?:
            guard parts.count == 5 else { return nil }
            var read: [SortMark] = []
            for mark in parts.removeLast().split(separator: ",") {
                let halves = mark.split(separator: ":", omittingEmptySubsequences: false)
                guard halves.count == 2, let generation = UInt64(halves[0], radix: 16), let stamp = Int64(halves[1]), stamp >= 0 else { return nil }
                read.append(SortMark(generation: generation, stamp: stamp))
            }
            marks = read
        default:
            return nil
        }
        guard parts[1] == sort.rawValue, let bits = UInt64(parts[2]), Identifiers.isValid(parts[3]) else { return nil }
        // We only write finite keys; a NaN would compare false both ways and restart the listing.
        let primary = Double(bitPattern: bits)
        guard primary.isFinite else { return nil }
        return (SearchKey(primary: primary, id: String(parts[3])), marks)
    }
}
