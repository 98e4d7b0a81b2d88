import Foundation
import RoostData
import RoostTestSupport
import Testing

/// `data/amenities.json` and `data/currencies.json`.
struct CatalogueTests {
    @Test func amenitiesLoadFromTheDirectoryOrTheFile() throws {
        let fromDirectory = try AmenityCatalogue.load(from: dataDirectory)
        let fromFile = try AmenityCatalogue.load(from: dataDirectory + "/amenities.json")
        #expect(fromDirectory.amenities.count == 90)
        #expect(fromDirectory.amenities == fromFile.amenities)
        #expect(fromDirectory.amenity(code: "wifi")?.category == "essentials")
        #expect(fromDirectory.amenity(code: "no_such_code") == nil)
    }

    @Test func insideAirbnbLabelsMapToCodes() throws {
        let catalogue = try AmenityCatalogue.load(from: dataDirectory)
        #expect(catalogue.code(forName: "Wifi") == "wifi")
        #expect(catalogue.code(forName: "  WIFI \n") == "wifi")
        #expect(catalogue.code(forName: "Fast wifi – 112 Mbps") == "wifi")
        #expect(catalogue.code(forName: "Air conditioning") == "air_conditioning")
        #expect(catalogue.code(forName: "Washer –\u{00A0}In unit") == "washer")
        #expect(catalogue.code(forName: "Shared pool - ") == "pool")
        #expect(catalogue.code(forName: "Keypad") == "self_check_in")
        // A display name matches too, even with no alias (the accessibility codes have none).
        #expect(catalogue.code(forName: "disabled parking spot") == "accessible_parking")
        // Left unmapped on purpose (data/README.md).
        #expect(catalogue.code(forName: "Freezer") == nil)
        #expect(catalogue.code(forName: "Pocket wifi") == nil)
    }

    @Test func currencyExponents() throws {
        let table = try CurrencyTable.load(from: dataDirectory)
        #expect(table.currencies.count == 165)
        #expect(table.asOf == "2026-01-01")
        #expect(table.exponent(of: "SGD") == 2)
        #expect(table.exponent(of: "JPY") == 0)
        #expect(table.exponent(of: "BHD") == 3)
        #expect(table.exponent(of: "CLF") == 4)
        #expect(table.exponent(of: "XAU") == nil)
        #expect(table.currency("SGD")?.numeric == 702)
        #expect(try CurrencyTable.load(from: dataDirectory + "/currencies.json").currencies.count == 165)
    }

    @Test func badCataloguesAreClearErrors() throws {
        let directory = TemporaryDirectory()
        let missing = directory.path + "/nothing.json"
        #expect(throws: RoostDataError.io(operation: "open", path: missing, errno: ENOENT)) { try CurrencyTable.load(from: missing) }
        // A directory without the file.
        #expect(throws: RoostDataError.io(operation: "open", path: directory.path + "/amenities.json", errno: ENOENT)) {
            try AmenityCatalogue.load(from: directory.path)
        }

        let broken = directory.path + "/currencies.json"
        write(Array(#"{"currencies": [{"code": "SGD", "numeric": 702, "name": "Singapore Dollar"}]}"#.utf8), to: broken)
        let error = #expect(throws: RoostDataError.self) { try CurrencyTable.load(from: directory.path) }
        guard case let .invalidCatalogue(path, reason) = error else {
            Issue.record("expected invalidCatalogue, got \(String(describing: error))")
            return
        }
        #expect(path == broken)
        #expect(reason.hasPrefix("not the expected JSON: missing \"exponent\" at .currencies[0]"))
        write(Array("[{".utf8), to: broken)
        #expect(throws: RoostDataError.self) { try CurrencyTable.load(from: broken) }

        #expect(throws: RoostDataError.invalidCatalogue(path: "<memory>", reason: "currency code \"sgd\" is not three letters A–Z")) {
            try CurrencyTable([Currency(code: "sgd", numeric: 702, name: "x", exponent: 2)])
        }
        #expect(throws: RoostDataError.invalidCatalogue(path: "<memory>", reason: "amenity code wifi appears twice")) {
            try AmenityCatalogue([
                Amenity(code: "wifi", name: "Wifi", category: "essentials", aliases: []),
                Amenity(code: "wifi", name: "Wi-Fi", category: "essentials", aliases: []),
            ])
        }
        #expect(throws: RoostDataError.invalidCatalogue(path: "<memory>", reason: "the label \"WIFI \" belongs to both wifi and internet")) {
            try AmenityCatalogue([
                Amenity(code: "wifi", name: "Wifi", category: "essentials", aliases: []),
                Amenity(code: "internet", name: "Internet", category: "essentials", aliases: ["WIFI "]),
            ])
        }
    }
}
