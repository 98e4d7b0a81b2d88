import Foundation

/// The OpenAPI 3.1 description of the served API, kept beside the routes it describes.
/// Every feature adds its paths here; the end-to-end suite checks it against the running server.
enum OpenAPIDocument {
    /// The served document: the base below, with every feature's operations and schemas merged in.
    static let json: String = {
        guard var document = (try? JSONSerialization.jsonObject(with: Data(base.utf8))) as? [String: Any] else {
            preconditionFailure("the base OpenAPI document is not JSON")
        }
        for section in sections { section.merge(into: &document) }
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }()

    /// Each feature's part of the document.
    static let sections: [OpenAPISection] = [AccountsOpenAPI.section, ListingsOpenAPI.section, BookingsOpenAPI.section]

    static let base = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Roost",
        "version": "0.1.0",
        "description": "The HTTP API of Roost, a short-term rental marketplace. Errors are application/problem+json (RFC 9457); every response carries X-Request-ID."
      },
      "servers": [{ "url": "/" }],
      "paths": {
        "/health/live": {
          "get": {
            "operationId": "healthLive",
            "summary": "200 while the process runs",
            "responses": {
              "200": { "description": "Alive", "headers": { "X-Request-ID": { "$ref": "#/components/headers/RequestID" } },
                       "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } }
            }
          }
        },
        "/health/ready": {
          "get": {
            "operationId": "healthReady",
            "summary": "200 when recovered and accepting writes, else 503",
            "responses": {
              "200": { "description": "Ready", "headers": { "X-Request-ID": { "$ref": "#/components/headers/RequestID" } },
                       "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } },
              "503": { "$ref": "#/components/responses/Problem" }
            }
          }
        },
        "/metrics": {
          "get": {
            "operationId": "metrics",
            "summary": "Prometheus text exposition",
            "responses": {
              "200": { "description": "Metrics", "headers": { "X-Request-ID": { "$ref": "#/components/headers/RequestID" } },
                       "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
          }
        },
        "/openapi.json": {
          "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
              "200": { "description": "OpenAPI 3.1 document", "headers": { "X-Request-ID": { "$ref": "#/components/headers/RequestID" } },
                       "content": { "application/json": { "schema": { "type": "object" } } } }
            }
          }
        }
      },
      "components": {
        "headers": {
          "RequestID": { "description": "The request's id: the client's X-Request-ID when it is 1-128 characters of [A-Za-z0-9._:-], otherwise generated.", "schema": { "type": "string" } },
          "RetryAfter": { "description": "Seconds to wait before retrying.", "schema": { "type": "integer" } },
          "IdempotentReplayed": { "description": "true when this is the stored answer to an earlier request with the same Idempotency-Key.", "schema": { "type": "string" } }
        },
        "responses": {
          "Problem": {
            "description": "An error, as RFC 9457 problem details",
            "headers": { "X-Request-ID": { "$ref": "#/components/headers/RequestID" }, "Retry-After": { "$ref": "#/components/headers/RetryAfter" } },
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
          }
        },
        "schemas": {
          "Status": {
            "type": "object",
            "required": ["status"],
            "properties": { "status": { "type": "string" } }
          },
          "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail", "code", "requestId"],
            "properties": {
              "type": { "type": "string", "format": "uri" },
              "title": { "type": "string" },
              "status": { "type": "integer", "minimum": 400, "maximum": 599 },
              "detail": { "type": "string" },
              "code": { "type": "string", "pattern": "^[a-z][a-z0-9_]*$" },
              "requestId": { "type": "string" },
              "errors": {
                "type": "array",
                "items": {
                  "type": "object",
                  "required": ["field", "message"],
                  "properties": { "field": { "type": "string" }, "message": { "type": "string" } }
                }
              }
            }
          }
        }
      }
    }
    """#
}

/// One feature's operations and component schemas.
struct OpenAPISection {
    var operations: [OpenAPIOperation]
    /// A JSON object of component schemas.
    var schemas: String

    func merge(into document: inout [String: Any]) {
        var paths = document["paths"] as? [String: Any] ?? [:]
        for operation in operations {
            var item = paths[operation.path] as? [String: Any] ?? [:]
            item[operation.method] = operation.object
            paths[operation.path] = item
        }
        document["paths"] = paths
        var components = document["components"] as? [String: Any] ?? [:]
        var allSchemas = components["schemas"] as? [String: Any] ?? [:]
        if let extra = (try? JSONSerialization.jsonObject(with: Data(schemas.utf8))) as? [String: Any] {
            allSchemas.merge(extra) { _, new in new }
        }
        components["schemas"] = allSchemas
        var schemes = components["securitySchemes"] as? [String: Any] ?? [:]
        schemes["bearer"] = ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]
        components["securitySchemes"] = schemes
        document["components"] = components
    }
}

/// One operation, described by what varies between Roost's operations.
struct OpenAPIOperation {
    var method: String
    var path: String
    var operationId: String
    var summary: String
    var signedIn = false
    /// `(media type, schema name or nil for binary)`.
    var body: (mediaType: String, schema: String?)?
    var parameters: [(name: String, location: String, type: String)] = []
    /// Success status and its JSON schema name (nil: no body).
    var success: (status: Int, schema: String?)
    var problems: [Int]
    /// Query parameters the operation cannot do without.
    var requiredQuery: Set<String> = []
    /// Whether it takes an `Idempotency-Key` (`IdempotencyMiddleware`): a repeat replays the first answer.
    var idempotent = false

    var object: [String: Any] {
        var object: [String: Any] = ["operationId": operationId, "summary": summary]
        if signedIn { object["security"] = [["bearer": [String]()]] }
        var responses: [String: Any] = [:]
        var headers: [String: Any] = ["X-Request-ID": ["$ref": "#/components/headers/RequestID"]]
        if idempotent { headers["Idempotent-Replayed"] = ["$ref": "#/components/headers/IdempotentReplayed"] }
        var ok: [String: Any] = ["description": summary, "headers": headers]
        if let schema = success.schema {
            ok["content"] = ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]]
        }
        responses[String(success.status)] = ok
        // A query parameter given twice is 422 on every route (`QueryParameterMiddleware`), and so is a bad or reused
        // Idempotency-Key.
        for status in Set(problems + [422]) { responses[String(status)] = ["$ref": "#/components/responses/Problem"] }
        object["responses"] = responses
        if let body {
            let schema: [String: Any] = body.schema.map { ["$ref": "#/components/schemas/\($0)"] } ?? ["type": "string", "format": "binary"]
            object["requestBody"] = ["required": true, "content": [body.mediaType: ["schema": schema]]]
        }
        let pathParameters = path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
        var all = pathParameters.map { ($0, "path", "string") } + parameters
        if idempotent { all.append(("Idempotency-Key", "header", "string")) }
        if !all.isEmpty {
            object["parameters"] = all.map { name, location, type -> [String: Any] in
                ["name": name, "in": location, "required": location == "path" || requiredQuery.contains(name), "schema": ["type": type]]
            }
        }
        return object
    }
}
