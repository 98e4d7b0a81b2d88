import RoostDomain
import Testing

/// Amenity codes as bits over the process-wide table, and as strings once the table is full.
struct AmenitySetTests {
    @Test func codesComeBackSortedAndUniqueWhateverTheOrderIn() {
        let set = AmenitySet(["wifi", "kitchen", "pool", "wifi", "air_conditioning"])
        #expect(set.codes == ["air_conditioning", "kitchen", "pool", "wifi"])
        #expect(set.count == 4)
        #expect(set == AmenitySet(["pool", "air_conditioning", "kitchen", "wifi"]))
        #expect(set.contains("pool") && !set.contains("sauna"))
        #expect(set.isSuperset(of: AmenitySet(["wifi", "pool"])) && !set.isSuperset(of: AmenitySet(["wifi", "gym"])))
        #expect(AmenitySet().isEmpty && AmenitySet().codes.isEmpty)
    }

    @Test func queriesNeverAssignBits() {
        let unseen = "never_listed_\(UInt64.random(in: 0...UInt64.max))"
        let wifi = AmenitySet(["wifi"])
        #expect(AmenitySet.existing(["wifi"]) == wifi)
        let answer = AmenitySet.existing([unseen, "wifi"])
        // While the table has room, a code no listing ever had means no listing can match;
        // once it is full, the code is carried as a string (and still matches nothing here).
        // ("wifi" too may be a string, if another test filled the table before it got a bit.)
        if let answer { #expect(answer.codesWithoutBits.contains(unseen) && Set(answer.codesWithoutBits).isSubset(of: [unseen, "wifi"])) }
        #expect(!AmenitySet(["wifi"]).isSuperset(of: answer ?? AmenitySet([unseen])))
    }

    /// More distinct codes than there are bits: the rest are kept as strings, and every set
    /// operation stays exact (other tests in this process then run with the table full).
    @Test func pastTheLastBitCodesAreKeptAsStrings() {
        let many = (0..<300).map { "code_\(String(1_000 + $0))" }
        let set = AmenitySet(many.reversed())
        #expect(set.codes == many)
        #expect(!set.codesWithoutBits.isEmpty)
        #expect(set.count == 300)
        let some = AmenitySet([many[0], many[299], many[150]])
        #expect(set.isSuperset(of: some) && !some.isSuperset(of: set))
        #expect(some.codes == [many[0], many[150], many[299]])
        #expect(AmenitySet.existing([many[299]]) == AmenitySet([many[299]]))
        #expect(AmenitySet(["wifi", many[299]]).contains(many[299]))
    }
}
