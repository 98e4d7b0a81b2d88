import Foundation

/// One amenity of Roost's catalogue (`data/amenities.json`).
public struct Amenity: Codable, Equatable, Sendable {
    /// The stable id (`wifi`, `air_conditioning`): what listings store.
    public let code: String
    /// The English display name.
    public let name: String
    /// `essentials`, `features`, `location`, `safety`, `accessibility`, `family`, `parking` or `services`.
    public let category: String
    /// Inside Airbnb's raw labels for this amenity, exactly as they appear in the data.
    public let aliases: [String]

    public init(code: String, name: String, category: String, aliases: [String]) {
        self.code = code
        self.name = name
        self.category = category
        self.aliases = aliases
    }
}

/// Roost's amenity catalogue, and the lookup of a dataset's amenity labels to its codes.
public struct AmenityCatalogue: Sendable {
    /// Every amenity, in file order (sorted by code).
    public let amenities: [Amenity]
    private let byCode: [String: Int]
    /// Normalised alias or display name → code.
    private let byLabel: [String: String]

    /// Checks that codes are unique and well-formed (`^[a-z][a-z0-9_]*$`) and that no label (alias or
    /// display name, compared as ``normalised(_:)``) belongs to two codes. `path` names the source in errors.
    public init(_ amenities: [Amenity], path: String = "<memory>") throws {
        var byCode: [String: Int] = [:]
        var byLabel: [String: String] = [:]
        for (index, amenity) in amenities.enumerated() {
            guard Self.isValidCode(amenity.code) else {
                throw RoostDataError.invalidCatalogue(path: path, reason: "amenity code \"\(amenity.code)\" is not of the form [a-z][a-z0-9_]*")
            }
            guard byCode.updateValue(index, forKey: amenity.code) == nil else {
                throw RoostDataError.invalidCatalogue(path: path, reason: "amenity code \(amenity.code) appears twice")
            }
            for label in [amenity.name] + amenity.aliases {
                let key = Self.normalised(label)
                if let other = byLabel[key], other != amenity.code {
                    throw RoostDataError.invalidCatalogue(path: path, reason: "the label \"\(label)\" belongs to both \(other) and \(amenity.code)")
                }
                byLabel[key] = amenity.code
            }
        }
        self.amenities = amenities
        self.byCode = byCode
        self.byLabel = byLabel
    }

    /// Loads `amenities.json` from `path`, a file or a directory that holds it (such as `data/`).
    public static func load(from path: String) throws -> AmenityCatalogue {
        let file = catalogueFile(path, defaultName: "amenities.json")
        return try AmenityCatalogue(decodeCatalogue([Amenity].self, from: file), path: file)
    }

    /// The amenity with code `code`.
    public func amenity(code: String) -> Amenity? { byCode[code].map { amenities[$0] } }

    /// The code of a dataset's amenity label: an alias or the display name, compared trimmed and
    /// case-insensitively (`"  WIFI "` → `wifi`). Nil for a label the catalogue does not know.
    public func code(forName label: String) -> String? { byLabel[Self.normalised(label)] }

    /// How labels are compared: leading and trailing white space (no-break spaces too) trimmed, lower-cased.
    /// Inner white space is kept as it is, since the aliases keep it.
    public static func normalised(_ label: String) -> String {
        label.trimmedWhitespace.lowercased()
    }

    private static func isValidCode(_ code: String) -> Bool {
        guard let first = code.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return code.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
    }
}

/// One currency of `data/currencies.json` (ISO 4217 List One).
public struct Currency: Codable, Equatable, Sendable {
    /// The ISO alphabetic code (`SGD`).
    public let code: String
    /// The ISO numeric code (`702`).
    public let numeric: Int
    /// The ISO English name.
    public let name: String
    /// The minor-unit exponent: an amount in minor units is `amount × 10^exponent` (SGD 2, JPY 0, BHD 3).
    public let exponent: Int

    public init(code: String, numeric: Int, name: String, exponent: Int) {
        self.code = code
        self.numeric = numeric
        self.name = name
        self.exponent = exponent
    }
}

/// ISO 4217 codes and their minor-unit exponents.
public struct CurrencyTable: Sendable {
    /// The largest exponent accepted (ISO's largest is 4, for CLF and UYW).
    public static let maxExponent = 9

    /// Every currency, in file order (sorted by code).
    public let currencies: [Currency]
    /// The file's `asOf` date, when it has one.
    public let asOf: String?
    private let byCode: [String: Currency]

    /// Checks that codes are three upper-case ASCII letters and unique, and exponents 0…``maxExponent``.
    public init(_ currencies: [Currency], asOf: String? = nil, path: String = "<memory>") throws {
        var byCode: [String: Currency] = [:]
        for currency in currencies {
            guard currency.code.utf8.count == 3, currency.code.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
                throw RoostDataError.invalidCatalogue(path: path, reason: "currency code \"\(currency.code)\" is not three letters A–Z")
            }
            guard (0...Self.maxExponent).contains(currency.exponent) else {
                throw RoostDataError.invalidCatalogue(path: path, reason: "currency \(currency.code) has exponent \(currency.exponent), outside 0…\(Self.maxExponent)")
            }
            guard byCode.updateValue(currency, forKey: currency.code) == nil else {
                throw RoostDataError.invalidCatalogue(path: path, reason: "currency \(currency.code) appears twice")
            }
        }
        self.currencies = currencies
        self.asOf = asOf
        self.byCode = byCode
    }

    /// Loads `currencies.json` (`{"asOf": …, "currencies": [{code, numeric, name, exponent}]}`) from
    /// `path`, a file or a directory that holds it (such as `data/`).
    public static func load(from path: String) throws -> CurrencyTable {
        struct File: Decodable {
            let asOf: String?
            let currencies: [Currency]
        }
        let file = catalogueFile(path, defaultName: "currencies.json")
        let decoded = try decodeCatalogue(File.self, from: file)
        return try CurrencyTable(decoded.currencies, asOf: decoded.asOf, path: file)
    }

    /// The currency with code `code` (upper case, as ISO writes it).
    public func currency(_ code: String) -> Currency? { byCode[code] }

    /// The minor-unit exponent of `code`, or nil for a code not in the table.
    public func exponent(of code: String) -> Int? { byCode[code]?.exponent }
}

/// `path` itself, or `path/defaultName` when `path` is a directory.
private func catalogueFile(_ path: String, defaultName: String) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
    return (path.hasSuffix("/") ? path : path + "/") + defaultName
}

/// Reads the whole file (plain or gzip) and decodes it as JSON, with errors that name the file.
private func decodeCatalogue<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    let reader = try GzipOrPlainFileReader(path: path)
    var bytes: [UInt8] = []
    while let chunk = try reader.nextChunk() { bytes += chunk }
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch let error as DecodingError {
        throw RoostDataError.invalidCatalogue(path: path, reason: "not the expected JSON: \(describe(error))")
    }
}

private func describe(_ error: DecodingError) -> String {
    func at(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? context.debugDescription : "at \(path): \(context.debugDescription)"
    }
    switch error {
    case let .keyNotFound(key, context): return "missing \"\(key.stringValue)\" " + at(context)
    case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context): return at(context)
    @unknown default: return String(describing: error)
    }
}
