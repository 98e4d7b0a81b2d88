import RoostBinary

// The binary form of bookings, shared by events and snapshots.

extension ByteWriter {
    mutating func write(_ quote: PriceQuote) {
        writeString(quote.currency)
        writeVarint(quote.nights.count)
        for night in quote.nights { write(night) }
        write(quote.discount)
        write(quote.cleaningFee)
        write(quote.serviceFee)
        write(quote.taxes)
        write(quote.hostFee)
    }

    mutating func write(_ cancellation: BookingCancellation) {
        write(cancellation.by.rawValue)
        write(cancellation.at)
        writeString(cancellation.reason)
        write(cancellation.refund)
    }

    mutating func write(_ booking: BookingRecord) {
        writeString(booking.id)
        writeString(booking.listingID)
        writeString(booking.guestID)
        writeString(booking.hostID)
        write(booking.stay)
        writeVarint(booking.guests)
        write(booking.status.rawValue)
        write(booking.quote)
        write(booking.charge)
        write(booking.exchangeRate.bitPattern)
        write(booking.policy.rawValue)
        write(booking.instantBook)
        write(booking.holdExpiresAt)
        write(booking.createdAt)
        write(booking.updatedAt)
        write(booking.cancellation != nil)
        if let cancellation = booking.cancellation { write(cancellation) }
    }
}

extension ByteReader {
    mutating func readPriceQuote() throws(DecodeError) -> PriceQuote {
        let currency = try readString()
        var nights: [Int64] = []
        for _ in 0..<(try readCount(limit: remaining / 8)) { nights.append(try readInt64()) }
        return PriceQuote(
            currency: currency, nights: nights, discount: try readInt64(), cleaningFee: try readInt64(), serviceFee: try readInt64(),
            taxes: try readInt64(), hostFee: try readInt64()
        )
    }

    mutating func readBookingCancellation() throws(DecodeError) -> BookingCancellation {
        let raw = try readUInt8()
        guard let by = BookingParty(rawValue: raw) else { throw .invalid("unknown booking party \(raw)") }
        return BookingCancellation(by: by, at: try readTimestamp(), reason: try readString(), refund: try readInt64())
    }

    mutating func readBookingRecord() throws(DecodeError) -> BookingRecord {
        let id = try readString(), listingID = try readString(), guestID = try readString(), hostID = try readString()
        let stay = try readNights()
        let guests = try readInt()
        let rawStatus = try readUInt8()
        guard let status = BookingStatus(rawValue: rawStatus) else { throw .invalid("unknown booking status \(rawStatus)") }
        let quote = try readPriceQuote(), charge = try readPriceQuote()
        let exchangeRate = Double(bitPattern: try readUInt64())
        guard exchangeRate.isFinite, exchangeRate > 0 else { throw .invalid("exchange rate \(exchangeRate)") }
        let rawPolicy = try readUInt8()
        guard let policy = CancellationPolicy(rawValue: rawPolicy) else { throw .invalid("unknown cancellation policy \(rawPolicy)") }
        let instantBook = try readBool()
        var booking = BookingRecord(
            id: id, listingID: listingID, guestID: guestID, hostID: hostID, stay: stay, guests: guests, quote: quote, policy: policy,
            instantBook: instantBook, holdExpiresAt: try readTimestamp(), createdAt: try readTimestamp()
        )
        booking.status = status
        booking.charge = charge
        booking.exchangeRate = exchangeRate
        booking.updatedAt = try readTimestamp()
        if try readBool() { booking.cancellation = try readBookingCancellation() }
        return booking
    }
}
