import Foundation
import HTTPTypes
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
