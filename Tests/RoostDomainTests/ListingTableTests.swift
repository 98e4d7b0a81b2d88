import RoostDomain
import RoostTestSupport
import Testing

/// The dense listing table behaves as a dictionary of records.
struct ListingTableTests {
    func record(_ id: String, price: Int64 = 100) -> ListingRecord {
        let details = ListingDetails(
            title: id, description: "", propertyType: "house",
            location: ListingLocation(address: "", city: "C", country: "K", latitude: 0, longitude: 0, timeZone: "UTC"),
            currency: "USD", pricePerNight: price, cleaningFee: 0, maxGuests: 2, bedrooms: 1, beds: 1, halfBathrooms: 2,
            amenities: ["wifi"], minNights: 1, maxNights: 30, instantBook: false, cancellationPolicy: .flexible
        )
        return ListingRecord(id: id, hostID: "usr_h", details: details, createdAt: Timestamp(millisecondsSinceEpoch: 0))
    }

    @Test func randomEditsAgreeWithADictionary() {
        var generator = SeededGenerator(seed: 7)
        var table = ListingTable()
        var model: [String: ListingRecord] = [:]
        for step in 0..<3_000 {
            let id = "lst_\(Int.random(in: 0..<60, using: &generator))"
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:
                let value = record(id, price: Int64(step))
                table[id] = value
                model[id] = value
            case 2:
                table[id]?.details.pricePerNight += 1
                model[id]?.details.pricePerNight += 1
            case 3:
                table[id] = nil
                model[id] = nil
            default:
                #expect(table[id] == model[id])
                // Reading in place sees the same record (and nothing for an absent id).
                #expect(table.reading(id) { $0.pointee } == model[id])
                #expect(table.reading(id) { $0.pointee.details.pricePerNight } == model[id]?.details.pricePerNight)
            }
            #expect(table.count == model.count, "step \(step)")
        }
        #expect(Set(table.keys) == Set(model.keys))
        #expect(table.values.map(\.id).sorted() == model.keys.sorted())
        for (id, value) in model { #expect(table[id] == value) }
    }

    @Test func changingAFieldInPlaceLeavesOtherCopiesAlone() {
        var table: ListingTable = ["lst_a": record("lst_a")]
        let copy = table
        table["lst_a"]?.calendar.set(.blocked, CalendarDay(iso: "2027-01-01")!..<CalendarDay(iso: "2027-01-03")!, to: true)
        #expect(table["lst_a"]!.calendar.isBlocked(CalendarDay(iso: "2027-01-02")!))
        #expect(!copy["lst_a"]!.calendar.isBlocked(CalendarDay(iso: "2027-01-02")!))
        #expect(table != copy)
    }
}
