import Foundation
import RoostData
import Testing

@testable import RoostAPI

/// `GET /v1/amenities` and `GET /v1/currencies` are written straight into bytes: each must read
/// back as exactly the catalogue, in order, whatever its text holds.
@Suite struct ReferenceRoutesTests {
    func objects(_ bytes: [UInt8]) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
    }

    @Test func amenitiesReadBackAsTheCatalogueInOrder() throws {
        let amenities = [
            Amenity(code: "wifi", name: "Wifi", category: "essentials", aliases: []),
            Amenity(code: "odd", name: "A \"quoted\" \\ name\nwith ünïcödé", category: "tab\there", aliases: ["ignored"]),
            Amenity(code: "pool", name: "Pool", category: "facilities", aliases: []),
        ]
        let read = try objects(ListingRoutes.amenitiesJSON(amenities))
        #expect(read.count == 3)
        for (object, amenity) in zip(read, amenities) {
            #expect(Set(object.keys) == ["code", "name", "category"])
            #expect(object["code"] as? String == amenity.code)
            #expect(object["name"] as? String == amenity.name)
            #expect(object["category"] as? String == amenity.category)
        }
        #expect(ListingRoutes.amenitiesJSON([]) == Array("[]".utf8))
    }

    @Test func currenciesReadBackWithTheirExponents() throws {
        let currencies = [
            Currency(code: "JPY", numeric: 392, name: "Yen", exponent: 0),
            Currency(code: "BHD", numeric: 48, name: "Bahraini \"Dinar\"", exponent: 3),
        ]
        let read = try objects(ListingRoutes.currenciesJSON(currencies))
        #expect(read.map { $0["code"] as? String } == ["JPY", "BHD"])
        #expect(read.map { $0["name"] as? String } == ["Yen", "Bahraini \"Dinar\""])
        #expect(read.map { $0["exponent"] as? Int } == [0, 3])
        #expect(read.allSatisfy { Set($0.keys) == ["code", "name", "exponent"] })
    }

    /// The shipped catalogue, rendered once at start-up, is the one `GET /v1/amenities` serves.
    @Test func theShippedCatalogueRendersWhole() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data").path
        let catalogue = try AmenityCatalogue.load(from: directory + "/amenities.json")
        let read = try objects(ListingRoutes.amenitiesJSON(catalogue.amenities))
        #expect(read.count == catalogue.amenities.count && read.count >= 40)
        #expect(read.map { $0["code"] as? String } == catalogue.amenities.map(\.code))
    }
}
