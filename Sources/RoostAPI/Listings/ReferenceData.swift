import Foundation
import RoostData
import RoostDomain

/// The catalogues shipped in `data/`: amenities, currencies with their minor units, the dated
/// FX table search and quotes convert with, and the tax rate of each country.
public struct ReferenceData: Sendable {
    public let amenities: AmenityCatalogue
    public let currencies: CurrencyTable
    public let taxes: TaxTable
    /// Units of each currency per one unit of `fxBase`.
    public let fxRates: [String: Double]
    public let fxBase: String
    public let fxDate: String

    /// Loads from `directory` (the repository's `data/`).
    public static func load(from directory: String) throws -> ReferenceData {
        let amenities = try AmenityCatalogue.load(from: directory + "/amenities.json")
        let currencies = try CurrencyTable.load(from: directory + "/currencies.json")
        struct FX: Decodable {
            var base: String
            var date: String
            var rates: [String: String]
        }
        let path = directory + "/fx-rates.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw Missing(path: path) }
        let fx = try JSONDecoder().decode(FX.self, from: data)
        var rates = fx.rates.compactMapValues(Double.init)
        rates[fx.base] = 1
        let taxes = try TaxTable.load(from: directory + "/taxes.json")
        return ReferenceData(amenities: amenities, currencies: currencies, taxes: taxes, fxRates: rates, fxBase: fx.base, fxDate: fx.date)
    }

    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "reference data not found: \(path)" }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "reference data \(path) is invalid: \(reason)" }
    }

    /// `ROOST_REFERENCE_DIR` when set; otherwise the first `data/` holding `amenities.json` found
    /// walking up from the working directory, then from the executable's directory (a build under
    /// `.build/` finds the repository's `data/`).
    public static func locate(configured: String?) throws -> String {
        if let configured { return configured }
        let starts = [FileManager.default.currentDirectoryPath, URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path]
        for start in starts {
            var directory = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                let candidate = directory.appendingPathComponent("data")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("amenities.json").path) { return candidate.path }
                directory.deleteLastPathComponent()
            }
        }
        throw Missing(path: "data/amenities.json (set ROOST_REFERENCE_DIR to the directory holding it)")
    }

    /// Factors converting one minor unit of each currency into minor units of `target`.
    public func priceFactors(into target: String) -> [String: Double]? {
        guard let targetRate = fxRates[target], let targetExponent = currencies.exponent(of: target) else { return nil }
        var factors: [String: Double] = [:]
        for (code, rate) in fxRates where rate > 0 {
            guard let exponent = currencies.exponent(of: code) else { continue }
            factors[code] = targetRate / rate * pow(10, Double(targetExponent - exponent))
        }
        return factors
    }
}

/// `data/taxes.json`: one rate per country (by name, as listings give it), in basis points.
public struct TaxTable: Sendable {
    public let date: String
    public let defaultBasisPoints: Int
    /// By `TextKey` of the country name.
    let rates: [String: Int]

    public static func load(from path: String) throws -> TaxTable {
        struct File: Decodable {
            var date: String
            var defaultBasisPoints: Int
            var countries: [String: Int]
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ReferenceData.Missing(path: path) }
        let file = try JSONDecoder().decode(File.self, from: data)
        let valid = 0...10_000
        guard valid.contains(file.defaultBasisPoints), file.countries.values.allSatisfy(valid.contains) else {
            throw ReferenceData.Invalid(path: path, reason: "tax rates are basis points in 0…10,000")
        }
        return TaxTable(date: file.date, defaultBasisPoints: file.defaultBasisPoints, rates: Dictionary(file.countries.map { (TextKey.make($0.key), $0.value) }) { first, _ in first })
    }

    /// The rate for a listing in `country` (case- and accent-insensitive), else the default.
    public func basisPoints(country: String) -> Int { rates[TextKey.make(country)] ?? defaultBasisPoints }
}
