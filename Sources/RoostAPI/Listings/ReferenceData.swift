import Foundation
import RoostData
import RoostDomain
import Synchronization

/// The catalogues shipped in `data/`: amenities, currencies with their minor units, the dated
/// FX table search and quotes convert with, and the tax rate of each country.
public struct ReferenceData: Sendable {
    public let amenities: AmenityCatalogue
    public let currencies: CurrencyTable
    public let taxes: TaxTable
    /// The FX table in force: the shipped one, or the configured provider's latest.
    public let exchange: ExchangeRates

    /// The FX table as it is now. Read it once per request: a refresh may replace it between two reads.
    public var fx: FXTable { exchange.table }
    /// Units of each currency per one unit of `fxBase` (of the table in force).
    public var fxRates: [String: Double] { fx.rates }
    public var fxBase: String { fx.base }
    public var fxDate: String { fx.date }

    /// Loads from `directory` (the repository's `data/`).
    public static func load(from directory: String) throws -> ReferenceData {
        let amenities = try AmenityCatalogue.load(from: directory + "/amenities.json")
        let currencies = try CurrencyTable.load(from: directory + "/currencies.json")
        let path = directory + "/fx-rates.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw Missing(path: path) }
        let fx = try fxTable(data, source: path)
        let taxes = try TaxTable.load(from: directory + "/taxes.json")
        return ReferenceData(amenities: amenities, currencies: currencies, taxes: taxes, exchange: ExchangeRates(fx))
    }

    /// Puts the FX table in `data` (the shipped file's shape, from a configured rates provider) in
    /// force: refused whole, the table in force kept, unless every rate is a positive number, the
    /// base and the dates are well-formed, and every currency the table in force converts is still there.
    @discardableResult
    public func replaceFX(with data: Data, source: String) throws -> FXTable {
        let fresh = try Self.fxTable(data, source: source)
        if let missing = fxRates.keys.sorted().first(where: { fresh.rates[$0] == nil }) {
            throw Invalid(path: source, reason: "no rate for \(missing)")
        }
        exchange.replace(with: fresh)
        return fresh
    }

    /// `{base, date, rates: {CODE: "decimal"}}`: units of each currency per one unit of `base`.
    static func fxTable(_ data: Data, source: String) throws -> FXTable {
        struct FX: Decodable {
            var base: String
            var date: String
            var rates: [String: String]
        }
        guard let fx = try? JSONDecoder().decode(FX.self, from: data) else { throw Invalid(path: source, reason: "not {base, date, rates}") }
        func isCode(_ text: String) -> Bool { text.utf8.count == 3 && text.utf8.allSatisfy { $0 >= 0x41 && $0 <= 0x5A } }
        guard isCode(fx.base) else { throw Invalid(path: source, reason: "base \(fx.base) is not a currency code") }
        guard CivilDate(iso: fx.date) != nil else { throw Invalid(path: source, reason: "date \(fx.date) is not YYYY-MM-DD") }
        var rates: [String: Double] = [:]
        for (code, text) in fx.rates {
            guard isCode(code), let rate = Double(text), rate.isFinite, rate > 0 else { throw Invalid(path: source, reason: "rate \(code)=\(text)") }
            rates[code] = rate
        }
        rates[fx.base] = 1
        return FXTable(rates: rates, base: fx.base, date: fx.date)
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
    public func priceFactors(into target: String) -> [String: Double]? { fx.priceFactors(into: target, currencies: currencies) }

    /// Whether listings may be priced, and guests pay, in `code`: a catalogue currency (its minor
    /// units known) the FX table converts. Anything else could not be searched with `currency=`
    /// or paid for in another currency. (A new FX table keeps every rate of the one before, so
    /// the set only grows.)
    public func isSupported(_ code: String) -> Bool { currencies.exponent(of: code) != nil && fx.rates[code] != nil }

    /// The supported currencies (`isSupported`), in the catalogue's order.
    public var supportedCurrencies: [Currency] {
        let rates = fx.rates
        return currencies.currencies.filter { rates[$0.code] != nil }
    }
}

/// One dated FX table: units of each currency per one unit of `base`.
public struct FXTable: Sendable, Equatable {
    public let rates: [String: Double]
    public let base: String
    public let date: String

    /// Factors converting one minor unit of each currency into minor units of `target`.
    public func priceFactors(into target: String, currencies: CurrencyTable) -> [String: Double]? {
        guard let targetRate = rates[target], let targetExponent = currencies.exponent(of: target) else { return nil }
        var factors: [String: Double] = [:]
        for (code, rate) in rates where rate > 0 {
            guard let exponent = currencies.exponent(of: code) else { continue }
            factors[code] = targetRate / rate * pow(10, Double(targetExponent - exponent))
        }
        return factors
    }
}

/// The FX table in force, replaced whole when the configured provider has a newer one.
public final class ExchangeRates: Sendable {
    private let current: Mutex<FXTable>

    init(_ table: FXTable) { current = Mutex(table) }

    public var table: FXTable { current.withLock { $0 } }

    func replace(with table: FXTable) { current.withLock { $0 = table } }
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
