import Foundation
import RoostBinary
import RoostStorage

/// A listing-sized state: what one listing holds (≈290 bytes encoded, its 49-byte calendar included).
public struct BenchListing: Sendable, Equatable {
    public var id: UUID
    public var hostID: UUID
    public var hostName: String
    public var title: String
    public var street: String
    public var postcode: String
    public var city: String
    public var neighbourhood: String
    public var country: String  // ISO 3166 alpha-2
    public var latitude: Double
    public var longitude: Double
    public var nightlyPrice: Int64  // minor units
    public var cleaningFee: Int64
    public var currency: String  // ISO 4217
    public var bedrooms: UInt8
    public var beds: UInt8
    public var bathroomHalves: UInt8
    public var maxGuests: UInt8
    public var minNights: UInt16
    public var maxNights: UInt16
    public var ratingHundredths: UInt16
    public var reviewCount: UInt32
    public var createdAtMillis: Int64
    public var updatedAtMillis: Int64
    public var amenities: UInt64  // bitmask
    public var instantBook: Bool
    public var status: UInt8
    public var propertyType: UInt8
    /// 365 nights from the calendar's start, one bit each (1 = booked or blocked): 6 words.
    public var calendar: [UInt64]

    public static let calendarWords = 6
    static let format: UInt8 = 1

    public func encode(into writer: inout ByteWriter) {
        writer.write(Self.format)
        withUnsafeBytes(of: id.uuid) { writer.writeRaw($0) }
        withUnsafeBytes(of: hostID.uuid) { writer.writeRaw($0) }
        writer.writeString(hostName)
        writer.writeString(title)
        writer.writeString(street)
        writer.writeString(postcode)
        writer.writeString(city)
        writer.writeString(neighbourhood)
        writer.writeString(country)
        writer.write(latitude.bitPattern)
        writer.write(longitude.bitPattern)
        writer.write(nightlyPrice)
        writer.write(cleaningFee)
        writer.writeString(currency)
        writer.write(bedrooms)
        writer.write(beds)
        writer.write(bathroomHalves)
        writer.write(maxGuests)
        writer.write(minNights)
        writer.write(maxNights)
        writer.write(ratingHundredths)
        writer.write(reviewCount)
        writer.write(createdAtMillis)
        writer.write(updatedAtMillis)
        writer.write(amenities)
        writer.write(instantBook)
        writer.write(status)
        writer.write(propertyType)
        writer.writeVarint(calendar.count)
        for word in calendar { writer.write(word) }
    }

    public static func decode(from reader: inout ByteReader) throws(DecodeError) -> BenchListing {
        let format = try reader.readUInt8()
        guard format == Self.format else { throw .invalid("listing format \(format)") }
        let id = UUID(uuid: try reader.readRaw(count: 16).loadUnaligned(as: uuid_t.self))
        let hostID = UUID(uuid: try reader.readRaw(count: 16).loadUnaligned(as: uuid_t.self))
        let hostName = try reader.readString()
        let title = try reader.readString()
        let street = try reader.readString()
        let postcode = try reader.readString()
        let city = try reader.readString()
        let neighbourhood = try reader.readString()
        let country = try reader.readString()
        let latitude = Double(bitPattern: try reader.readUInt64())
        let longitude = Double(bitPattern: try reader.readUInt64())
        let nightlyPrice = try reader.readInt64()
        let cleaningFee = try reader.readInt64()
        let currency = try reader.readString()
        let bedrooms = try reader.readUInt8()
        let beds = try reader.readUInt8()
        let bathroomHalves = try reader.readUInt8()
        let maxGuests = try reader.readUInt8()
        let minNights = try reader.readUInt16()
        let maxNights = try reader.readUInt16()
        let ratingHundredths = try reader.readUInt16()
        let reviewCount = try reader.readUInt32()
        let createdAtMillis = try reader.readInt64()
        let updatedAtMillis = try reader.readInt64()
        let amenities = try reader.readUInt64()
        let instantBook = try reader.readBool()
        let status = try reader.readUInt8()
        let propertyType = try reader.readUInt8()
        let words = try reader.readCount(limit: 64)
        var calendar: [UInt64] = []
        calendar.reserveCapacity(words)
        for _ in 0..<words { calendar.append(try reader.readUInt64()) }
        return BenchListing(
            id: id, hostID: hostID, hostName: hostName, title: title, street: street, postcode: postcode, city: city, neighbourhood: neighbourhood,
            country: country, latitude: latitude, longitude: longitude, nightlyPrice: nightlyPrice,
            cleaningFee: cleaningFee, currency: currency, bedrooms: bedrooms, beds: beds,
            bathroomHalves: bathroomHalves, maxGuests: maxGuests, minNights: minNights, maxNights: maxNights,
            ratingHundredths: ratingHundredths, reviewCount: reviewCount, createdAtMillis: createdAtMillis,
            updatedAtMillis: updatedAtMillis, amenities: amenities, instantBook: instantBook, status: status,
            propertyType: propertyType, calendar: calendar
        )
    }

    /// Synthetic but realistic listings, the same for the same seed.
    public static func generate(count: Int, seed: UInt64 = 0x526F_6F73_74) -> [BenchListing] {
        var random = SplitMix64(seed: seed)
        let adjectives = ["Sunny", "Cosy", "Bright", "Quiet", "Spacious", "Charming", "Modern", "Rustic", "Elegant", "Airy"]
        let kinds = ["apartment", "loft", "studio", "cottage", "townhouse", "flat", "villa", "cabin", "bungalow", "suite"]
        let features = [
            "with balcony and river view", "near the old town and markets", "steps from the beach and cafes",
            "with garden, fast wifi and parking", "in a leafy street close to the metro", "with rooftop terrace and skyline view",
        ]
        let cities: [(String, String, String, Double, Double)] = [
            ("Lisbon", "PT", "EUR", 38.72, -9.14), ("Amsterdam", "NL", "EUR", 52.37, 4.90), ("Barcelona", "ES", "EUR", 41.39, 2.17),
            ("London", "GB", "GBP", 51.51, -0.13), ("New York", "US", "USD", 40.71, -74.01), ("Mexico City", "MX", "MXN", 19.43, -99.13),
            ("Tokyo", "JP", "JPY", 35.68, 139.69), ("Cape Town", "ZA", "ZAR", -33.92, 18.42), ("Sydney", "AU", "AUD", -33.87, 151.21),
            ("Copenhagen", "DK", "DKK", 55.68, 12.57),
        ]
        let neighbourhoods = ["Old Town", "Riverside", "Harbour District", "University Quarter", "Market Hill", "Northside", "Canal Belt"]
        let streets = ["Rua das Flores", "Keizersgracht", "Carrer de Mallorca", "Baker Street", "Bleecker Street", "Calle Durango"]
        let firstNames = ["Maria", "João", "Sanne", "Jordi", "Olivia", "Diego", "Yuki", "Thandiwe", "Liam", "Freja"]
        let lastNames = ["Fernandes", "de Vries", "Puig", "Thompson", "García", "Tanaka", "Nkosi", "Murphy", "Jensen"]
        var listings: [BenchListing] = []
        listings.reserveCapacity(count)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func uuid() -> UUID {
            let high = random.next()
            let low = random.next()
            return withUnsafeBytes(of: (high, low)) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
        }
        for index in 0..<count {
            let (city, country, currency, lat, lng) = pick(cities)
            let bedrooms = UInt8(1 + random.next() % 4)
            let title = "\(pick(adjectives)) \(bedrooms)-bedroom \(pick(kinds)) \(pick(features))"
            var calendar = [UInt64](repeating: 0, count: calendarWords)
            for word in 0..<calendarWords { calendar[word] = random.next() & random.next() }
            calendar[calendarWords - 1] &= (1 << (365 - 64 * (calendarWords - 1))) - 1
            listings.append(
                BenchListing(
                    id: uuid(), hostID: uuid(), hostName: "\(pick(firstNames)) \(pick(lastNames))", title: title,
                    street: "\(pick(streets)) \(1 + random.next() % 300)", postcode: String(10_000 + random.next() % 89_999),
                    city: city, neighbourhood: pick(neighbourhoods), country: country,
                    latitude: lat + Double(Int64(random.next() % 20_000) - 10_000) / 100_000,
                    longitude: lng + Double(Int64(random.next() % 20_000) - 10_000) / 100_000,
                    nightlyPrice: Int64(4_000 + random.next() % 60_000), cleaningFee: Int64(random.next() % 8_000),
                    currency: currency, bedrooms: bedrooms, beds: bedrooms + UInt8(random.next() % 2),
                    bathroomHalves: UInt8(2 + random.next() % 4), maxGuests: bedrooms * 2, minNights: UInt16(1 + random.next() % 5),
                    maxNights: 365, ratingHundredths: UInt16(350 + random.next() % 150), reviewCount: UInt32(random.next() % 900),
                    createdAtMillis: 1_600_000_000_000 + Int64(index) * 1_000, updatedAtMillis: 1_764_000_000_000 + Int64(index),
                    amenities: random.next() & random.next(), instantBook: random.next() % 2 == 0, status: 1,
                    propertyType: UInt8(random.next() % 12), calendar: calendar
                ))
        }
        return listings
    }
}

/// Snapshot write and load of `count` listings: encoded with `ByteWriter` into one body, written
/// durably by `SnapshotStore.write`, loaded (checksums checked) by `SnapshotStore.load` and decoded.
public enum SnapshotWorkload {
    public struct Result: Sendable {
        public var listings: Int
        public var bodyBytes: Int
        public var encodeSeconds: Double
        public var writeSeconds: Double
        public var loadColdSeconds: Double
        public var decodeColdSeconds: Double
        public var loadWarmSeconds: Double
        public var decodeWarmSeconds: Double
        /// Anchors: the same number of bytes written with pwrite + fsync + rename + directory fsync,
        /// and read back whole with pread after dropping it from the page cache.
        public var rawWriteSeconds: Double
        public var rawReadColdSeconds: Double

        public var encodeWriteSeconds: Double { encodeSeconds + writeSeconds }
        public var loadDecodeColdSeconds: Double { loadColdSeconds + decodeColdSeconds }
        public var loadDecodeWarmSeconds: Double { loadWarmSeconds + decodeWarmSeconds }

        public var line: String {
            "snapshot listings=\(listings) body_bytes=\(bodyBytes) bytes_per_listing=\(format(Double(bodyBytes) / Double(max(1, listings)), 1)) "
                + "encode_s=\(format(encodeSeconds)) write_s=\(format(writeSeconds)) encode_write_s=\(format(encodeWriteSeconds)) "
                + "load_cold_s=\(format(loadColdSeconds)) decode_cold_s=\(format(decodeColdSeconds)) load_decode_cold_s=\(format(loadDecodeColdSeconds)) "
                + "load_warm_s=\(format(loadWarmSeconds)) decode_warm_s=\(format(decodeWarmSeconds)) load_decode_warm_s=\(format(loadDecodeWarmSeconds)) "
                + "raw_write_fsync_s=\(format(rawWriteSeconds)) raw_read_cold_s=\(format(rawReadColdSeconds))"
        }
    }

    public static func encode(_ listings: [BenchListing]) -> [UInt8] {
        var writer = ByteWriter(capacity: listings.count * 320 + 16)
        writer.write(UInt8(1))
        writer.writeVarint(listings.count)
        for listing in listings { listing.encode(into: &writer) }
        return writer.bytes
    }

    public static func decode(_ body: [UInt8]) throws -> [BenchListing] {
        try body.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard try reader.readUInt8() == 1 else { throw BenchError("snapshot body format") }
            let count = try reader.readCount(limit: raw.count / 32)
            var listings: [BenchListing] = []
            listings.reserveCapacity(count)
            for _ in 0..<count { listings.append(try BenchListing.decode(from: &reader)) }
            guard reader.isAtEnd else { throw BenchError("\(reader.remaining) bytes after the last listing") }
            return listings
        }
    }

    /// Encodes `listings` into one body and writes it durably as the snapshot at `lsn`. Returns the body's size.
    @discardableResult
    public static func encodeAndWrite(_ listings: [BenchListing], store: SnapshotStore, lsn: UInt64) throws -> Int {
        let body = encode(listings)
        try store.write(lsn: lsn, body: body)
        return body.count
    }

    /// Loads (checksums checked) and decodes the snapshot at `lsn`.
    public static func loadAndDecode(store: SnapshotStore, lsn: UInt64) throws -> [BenchListing] {
        try decode(try store.load(lsn: lsn))
    }

    public static func snapshotPath(store: SnapshotStore, lsn: UInt64) -> String {
        store.directory + "/" + SnapshotStore.fileName(lsn: lsn)
    }

    /// Encode + write, then load + decode cold and warm, then the raw anchors, in a fresh `directory`.
    public static func run(directory: String, listings: [BenchListing]) throws -> Result {
        try BenchFiles.freshDirectory(directory)
        defer { BenchFiles.remove(directory) }
        let store = SnapshotStore(directory: directory + "/snapshots")
        let lsn = UInt64(listings.count)

        let (encodeSeconds, body) = BenchClock.time { encode(listings) }
        let (writeSeconds, path) = try BenchClock.time { try store.write(lsn: lsn, body: body) }

        BenchFiles.dropFromPageCache([path])
        let (loadColdSeconds, loadedCold) = try BenchClock.time { try store.load(lsn: lsn) }
        let (decodeColdSeconds, decodedCold) = try BenchClock.time { try decode(loadedCold) }
        guard decodedCold == listings else { throw BenchError("decoded listings differ from the written ones") }

        let (loadWarmSeconds, loadedWarm) = try BenchClock.time { try store.load(lsn: lsn) }
        let (decodeWarmSeconds, decodedWarm) = try BenchClock.time { try decode(loadedWarm) }
        guard decodedWarm.count == listings.count else { throw BenchError("warm decode count") }

        let (rawWriteSeconds, _) = try BenchClock.time { try BenchFiles.rawDurableWrite(body, directory: directory, name: "raw.bin") }
        BenchFiles.dropFromPageCache([directory + "/raw.bin"])
        let (rawReadColdSeconds, _) = try BenchClock.time { try BenchFiles.rawRead([directory + "/raw.bin"]) }

        return Result(
            listings: listings.count, bodyBytes: body.count, encodeSeconds: encodeSeconds, writeSeconds: writeSeconds,
            loadColdSeconds: loadColdSeconds, decodeColdSeconds: decodeColdSeconds, loadWarmSeconds: loadWarmSeconds,
            decodeWarmSeconds: decodeWarmSeconds, rawWriteSeconds: rawWriteSeconds, rawReadColdSeconds: rawReadColdSeconds
        )
    }
}
