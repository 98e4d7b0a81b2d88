import Foundation
import HTTPTypes
import HummingbirdCore
import HummingbirdTesting
import Testing

@testable import RoostAPI

/// A query parameter given twice is a 422 naming it, on every route, before the route reads any.
@Suite struct QueryParameterTests {
    @Test func namesGivenMoreThanOnceAreFoundOnceEach() {
        #expect(QueryParameterMiddleware.repeatedNames(in: "a=1&b=2&c") == [])
        #expect(QueryParameterMiddleware.repeatedNames(in: "a=1&b&a=2&a=3&b=") == ["a", "b"])
        #expect(QueryParameterMiddleware.repeatedNames(in: "guests=2&&guests=2") == ["guests"], "even with the same value")
        #expect(QueryParameterMiddleware.repeatedNames(in: "amenities=wifi,pool&x=a=b") == [])
        #expect(QueryParameterMiddleware.repeatedNames(in: "=1&=2") == [""])
        #expect(QueryParameterMiddleware.repeatedNames(in: "guests=2&guest=3&g") == [], "a name that begins another is another name")
        #expect(QueryParameterMiddleware.repeatedNames(in: "guest=3&guests=2&guest") == ["guest"])
    }

    @Test func namesAndValuesAreDecodedAsAFormEncodesThem() {
        let decoded = FormQuery.parameters("guest%73=2&location=Kuala+Lumpur&q=a%2Bb&bad=%zz+x&flag&e=&=v")
        #expect(decoded.map { "\($0.key)|\($0.value)" } == ["guests|2", "location|Kuala Lumpur", "q|a+b", "bad|%zz x", "flag|", "e|", "|v"])
        #expect(FormQuery.parameters("").isEmpty)
        #expect(FormQuery.decoded("S%C3%A3o+Paulo") == "São Paulo")
        #expect(FormQuery.decoded("%C3") == "%C3", "not UTF-8: left as written")
        #expect(FormQuery.parameters("a=1+2&b%3D=%3D=").map { "\($0.key)|\($0.value)" } == ["a|1 2", "b=|=="])
    }

    /// A parameter without a value is one left out: only a query with a value for every name (and
    /// nothing to decode) is taken as Hummingbird parses it.
    @Test func parametersWithoutAValueAreLeftOut() {
        for plain in ["a=1", "a=1&b=2", "a==", "x=a=b&y=c"] { #expect(FormQuery.isPlainWithValues(plain[...]), "\(plain)") }
        for other in ["", "a", "a=", "a=&b=1", "a=1&b", "a=1&&b=2", "a=1&", "a=%20", "a=b+c"] {
            #expect(!FormQuery.isPlainWithValues(other[...]), "\(other)")
        }
        func parameters(_ query: String) -> [String] {
            URI("/p?\(query)").formParameters.map { "\($0.key)=\($0.value)" }
        }
        #expect(parameters("limit=&role=host&cursor") == ["role=host"])
        #expect(parameters("limit=5&q=a+b&e=") == ["limit=5", "q=a b"])
        #expect(parameters("limit=5&role=host") == ["limit=5", "role=host"])
        #expect(parameters("a=&b").isEmpty)
        // The parameters one by one, as the search route reads them: the same, split in place when plain.
        for query in [
            "limit=&role=host&cursor", "limit=5&q=a+b&e=", "limit=5&role=host", "a=&b", "x=a=b&y=c", "a==", "a=1&a=2",
            "location=S%C3%A3o+Paulo&guests=2", "location=Montr%C3%A9al&amenities=kitchen,wifi&sort=price_asc", "é=ü&b=1", "",
        ] {
            let uri = URI("/p?\(query)")
            var given: [String] = []
            uri.forEachFormParameter { name, value in given.append("\(name)=\(value)") }
            #expect(given == uri.formParameters.map { "\($0.key)=\($0.value)" }, "\(query)")
        }
        var pairs: [String] = []
        URI("/p?location=city12&limit=20&%C3%A9=%C3%BC").forEachFormParameter { pairs.append("\($0)=\($1)") }
        #expect(pairs == ["location=city12", "limit=20", "é=ü"])
    }

    /// The search's parameters are found by name, each in its own place; other names are not read.
    @Test func searchReadsItsParametersByName() {
        typealias Name = SearchParameters.Given.Name
        #expect(Name.allCases.map(\.field) == [
            "location", "lat", "lng", "radiusKm", "bbox", "checkIn", "checkOut", "guests", "minPrice", "maxPrice", "currency", "amenities",
            "propertyType", "instantBook", "sort", "limit", "cursor",
        ])
        for name in Name.allCases {
            #expect(Name(Substring(name.field)) == name)
            #expect(Name(Substring(name.field.uppercased())) == nil, "names are matched exactly")
            #expect(Name(Substring(name.field.dropLast())) == nil)
            #expect(Name(Substring(name.field + "s")) == nil)
        }
        let given = SearchParameters.Given(URI("/v1/search/listings?maxPrice=900&minPrice=100&lng=103.8&lat=1.3&radius=5&limit=&sort=price_desc&x=1&check%49n=2027-01-02"))
        #expect(given[.minPrice] == "100")
        #expect(given[.maxPrice] == "900")
        #expect(given[.lat] == "1.3")
        #expect(given[.lng] == "103.8")
        #expect(given[.sort] == "price_desc")
        #expect(given[.checkIn] == "2027-01-02", "a name is read decoded")
        #expect(given[.radiusKm] == nil, "radius is not radiusKm")
        #expect(given[.limit] == nil, "a name without a value is not given")
        #expect(given[.location] == nil)
        #expect(Name.allCases.filter { given[$0] != nil }.count == 6)
    }

    @Test func aNameRepeatedUnderAnEncodingIsStillRepeated() {
        #expect(QueryParameterMiddleware.repeatedNames(in: "guests=2&guest%73=3") == ["guests"])
        #expect(QueryParameterMiddleware.repeatedNames(in: "a+b=1&a%20b=2&c=%2B") == ["a b"])
        #expect(QueryParameterMiddleware.repeatedNames(in: "guests=2&location=Kuala+Lumpur") == [])
    }

    @Test func routesReadEncodedNamesAndFormSpaces() async throws {
        try await withApp { client, _ in
            // An encoded name is the parameter it names: `guest%73=0` is `guests=0`, out of range.
            try await client.execute(uri: "/v1/search/listings?guest%73=0", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try #require(try problem(response)["errors"] as? [[String: Any]])
                #expect(errors.map { $0["field"] as? String } == ["guests"])
            }
            try await client.execute(uri: "/v1/search/listings?guests=2&guest%73=2", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try #require(try problem(response)["errors"] as? [[String: Any]])
                #expect(errors.map { $0["field"] as? String } == ["guests"])
            }
            // `+` is a space in a value of any parameter, not only in `location`.
            try await client.execute(uri: "/v1/search/listings?amenities=wifi,hot+tub", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try #require(try problem(response)["errors"] as? [[String: Any]])
                #expect(errors.map { $0["field"] as? String } == ["amenities"])
                #expect(errors.first?["message"] as? String == "hot tub is not in the catalogue", "the value is read with its space")
            }
        }
    }

    @Test func aRepeatedParameterIs422OnEveryRouteAndASingleOneIsNot() async throws {
        try await withApp { client, _ in
            try await client.execute(uri: "/v1/search/listings?location=Paris&guests=2&guests=3", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                let body = try problem(response)
                let errors = try #require(body["errors"] as? [[String: Any]])
                #expect(errors.map { $0["field"] as? String } == ["guests"])
            }
            try await client.execute(uri: "/v1/amenities?limit=1&limit=2&x=1&x=2", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                let errors = try #require(try problem(response)["errors"] as? [[String: Any]])
                #expect(errors.map { $0["field"] as? String } == ["limit", "x"])
            }
            try await client.execute(uri: "/v1/search/listings?location=Paris&guests=2", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health/live?", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
