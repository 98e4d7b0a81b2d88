/// The OpenAPI 3.1 description of the served API, kept beside the routes it describes.
/// Every feature adds its paths here; the end-to-end suite checks it against the running server.
enum OpenAPIDocument {
    static let json = #"""
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
          "RetryAfter": { "description": "Seconds to wait before retrying.", "schema": { "type": "integer" } }
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
