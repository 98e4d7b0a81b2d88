/// The Listings, calendars and Search operations of the OpenAPI document.
enum ListingsOpenAPI {
    static let section = OpenAPISection(
        operations: [
            OpenAPIOperation(
                method: "post", path: "/v1/listings", operationId: "createListing", summary: "List a home (hosts)", signedIn: true,
                body: ("application/json", "ListingInput"), success: (201, "Listing"), problems: [400, 401, 403, 413, 415, 422]
            ),
            OpenAPIOperation(method: "get", path: "/v1/listings/{id}", operationId: "getListing", summary: "A listing, with rating and reviewCount (one not listed — inactive, or its host suspended or demoted — only to its host or an admin, signed in: the bearer token is optional; so are its availability, reviews and quote)", success: (200, "Listing"), problems: [401, 404]),
            OpenAPIOperation(
                method: "patch", path: "/v1/listings/{id}", operationId: "updateListing", summary: "Edit a listing (its host or an admin); location may be partial; 409 edit_conflict when other edits keep landing first",
                signedIn: true, body: ("application/json", "ListingInput"), success: (200, "Listing"), problems: [400, 401, 403, 404, 409, 415, 422]
            ),
            OpenAPIOperation(
                method: "delete", path: "/v1/listings/{id}", operationId: "deleteListing", summary: "Soft delete; 409 has_upcoming_bookings while stays lie ahead",
                signedIn: true, success: (204, nil), problems: [401, 403, 404, 409]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/listings/{id}/availability", operationId: "getAvailability", summary: "Nights from..to (exclusive, ≤ 731 days): available and price",
                parameters: [("from", "query", "string"), ("to", "query", "string")], success: (200, "Availability"), problems: [401, 404, 422]
            ),
            OpenAPIOperation(
                method: "put", path: "/v1/listings/{id}/availability", operationId: "changeAvailability",
                summary: "Block, unblock and price nights (its host); nights from today to two years ahead", signedIn: true,
                body: ("application/json", "AvailabilityChange"), success: (200, "Availability"), problems: [400, 401, 403, 404, 409, 415, 422]
            ),
            OpenAPIOperation(
                method: "put", path: "/v1/listings/{id}/pricing", operationId: "setListingPricing",
                summary: "Weekend price and weekly (≥ 7 nights) / monthly (≥ 28 nights) discounts (its host); replaces the rules", signedIn: true,
                body: ("application/json", "Pricing"), success: (200, "Pricing"), problems: [400, 401, 403, 404, 415, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/listings/{id}/quote", operationId: "quoteStay",
                summary: "The price of a stay, line by line (banker's rounding), in the listing's or the given currency, and whether the nights are free",
                parameters: [("checkIn", "query", "string"), ("checkOut", "query", "string"), ("guests", "query", "integer"), ("currency", "query", "string")],
                success: (200, "Quote"), problems: [401, 404, 422], requiredQuery: ["checkIn", "checkOut"]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/listings/{id}/photos", operationId: "addListingPhoto", summary: "Add a photo (JPEG, PNG or WebP, ≤ 5 MB; ≤ 50 per listing)",
                signedIn: true, body: ("image/*", nil), success: (201, "ListingPhoto"), problems: [401, 403, 404, 409, 413, 415, 422]
            ),
            OpenAPIOperation(
                method: "delete", path: "/v1/listings/{id}/photos/{photoId}", operationId: "removeListingPhoto", summary: "Remove a photo (its host)",
                signedIn: true, success: (204, nil), problems: [401, 403, 404]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/hosts/me/listings", operationId: "myListings", summary: "The signed-in host's listings, newest first", signedIn: true,
                parameters: [("limit", "query", "integer"), ("cursor", "query", "string")], success: (200, "ListingPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/listings/{id}/reviews", operationId: "listingReviews", summary: "A listing's reviews, newest first",
                parameters: [("limit", "query", "integer"), ("cursor", "query", "string")], success: (200, "ReviewPage"), problems: [401, 404, 422]
            ),
            OpenAPIOperation(method: "get", path: "/v1/amenities", operationId: "amenities", summary: "The amenity catalogue", success: (200, "Amenities"), problems: []),
            OpenAPIOperation(method: "get", path: "/v1/currencies", operationId: "currencies", summary: "Supported currencies with their minor-unit exponents", success: (200, "Currencies"), problems: []),
            OpenAPIOperation(
                method: "get", path: "/v1/search/listings", operationId: "searchListings", summary: "Search listed listings (active, their hosts in good standing); every filter combinable",
                parameters: [
                    ("location", "query", "string"), ("lat", "query", "number"), ("lng", "query", "number"), ("radiusKm", "query", "number"),
                    ("bbox", "query", "string"), ("checkIn", "query", "string"), ("checkOut", "query", "string"), ("guests", "query", "integer"),
                    ("minPrice", "query", "integer"), ("maxPrice", "query", "integer"), ("currency", "query", "string"), ("amenities", "query", "string"),
                    ("propertyType", "query", "string"), ("instantBook", "query", "boolean"), ("sort", "query", "string"),
                    ("limit", "query", "integer"), ("cursor", "query", "string"),
                ],
                success: (200, "SearchPage"), problems: [422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/admin/listings", operationId: "adminListListings", summary: "Listings, newest first (admin)", signedIn: true,
                parameters: [("status", "query", "string"), ("hostId", "query", "string"), ("city", "query", "string"), ("limit", "query", "integer"), ("cursor", "query", "string")],
                success: (200, "ListingPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "patch", path: "/v1/admin/listings/{id}", operationId: "adminSetListingStatus", summary: "Delist (inactive) or relist (active) (admin)",
                signedIn: true, body: ("application/json", "ListingStatusPatch"), success: (200, "Listing"), problems: [400, 401, 403, 404, 415, 422]
            ),
        ],
        schemas: #"""
        {
          "Money": { "type": "object", "required": ["amount", "currency"], "additionalProperties": false,
            "properties": { "amount": { "type": "integer", "description": "minor units" }, "currency": { "type": "string", "pattern": "^[A-Z]{3}$" } } },
          "Location": { "type": "object", "additionalProperties": false,
            "properties": { "address": { "type": "string" }, "city": { "type": "string" }, "country": { "type": "string" },
                            "lat": { "type": "number", "minimum": -90, "maximum": 90 }, "lng": { "type": "number", "minimum": -180, "maximum": 180 },
                            "timezone": { "type": "string" } } },
          "ListingInput": { "type": "object", "additionalProperties": false,
            "properties": { "title": { "type": "string", "minLength": 1, "maxLength": 120 }, "description": { "type": "string", "maxLength": 5000 },
                            "propertyType": { "type": "string" }, "location": { "$ref": "#/components/schemas/Location" },
                            "pricePerNight": { "$ref": "#/components/schemas/Money" }, "cleaningFee": { "$ref": "#/components/schemas/Money" },
                            "maxGuests": { "type": "integer", "minimum": 1, "maximum": 50 }, "bedrooms": { "type": "integer" }, "beds": { "type": "integer" },
                            "bathrooms": { "type": "number", "multipleOf": 0.5 }, "amenities": { "type": "array", "items": { "type": "string" } },
                            "minNights": { "type": "integer", "minimum": 1, "maximum": 365 }, "maxNights": { "type": "integer", "minimum": 1, "maximum": 365 },
                            "instantBook": { "type": "boolean" }, "cancellationPolicy": { "enum": ["flexible", "moderate", "strict"] } } },
          "Listing": { "type": "object",
            "required": ["id", "hostId", "title", "description", "propertyType", "location", "pricePerNight", "cleaningFee", "maxGuests", "bedrooms", "beds",
                         "bathrooms", "amenities", "photos", "minNights", "maxNights", "instantBook", "cancellationPolicy", "status", "listed", "rating", "reviewCount", "createdAt", "updatedAt"],
            "properties": { "id": { "type": "string" }, "hostId": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
                            "propertyType": { "type": "string" }, "location": { "$ref": "#/components/schemas/Location" },
                            "pricePerNight": { "$ref": "#/components/schemas/Money" }, "cleaningFee": { "$ref": "#/components/schemas/Money" },
                            "maxGuests": { "type": "integer" }, "bedrooms": { "type": "integer" }, "beds": { "type": "integer" }, "bathrooms": { "type": "number" },
                            "amenities": { "type": "array", "items": { "type": "string" } },
                            "photos": { "type": "array", "items": { "$ref": "#/components/schemas/ListingPhoto" } },
                            "minNights": { "type": "integer" }, "maxNights": { "type": "integer" }, "instantBook": { "type": "boolean" },
                            "cancellationPolicy": { "enum": ["flexible", "moderate", "strict"] }, "status": { "enum": ["active", "inactive", "deleted"] }, "listed": { "type": "boolean", "description": "active, and its host neither suspended nor demoted: found by search and bookable" },
                            "rating": { "type": ["number", "null"] }, "reviewCount": { "type": "integer" },
                            "pricing": { "$ref": "#/components/schemas/Pricing" },
                            "createdAt": { "type": "string", "format": "date-time" }, "updatedAt": { "type": "string", "format": "date-time" } } },
          "Pricing": { "type": "object", "additionalProperties": false,
            "properties": { "weekendPrice": { "oneOf": [{ "$ref": "#/components/schemas/Money" }, { "type": "null" }], "description": "Friday and Saturday nights" },
                            "weeklyDiscountPercent": { "type": "number", "minimum": 0, "maximum": 90, "multipleOf": 0.01 },
                            "monthlyDiscountPercent": { "type": "number", "minimum": 0, "maximum": 90, "multipleOf": 0.01 } } },
          "Quote": { "type": "object", "required": ["listingId", "checkIn", "checkOut", "nights", "guests", "available", "price", "nightlyPrices"],
            "properties": { "listingId": { "type": "string" }, "checkIn": { "type": "string", "format": "date" }, "checkOut": { "type": "string", "format": "date" },
                            "nights": { "type": "integer" }, "guests": { "type": "integer" }, "available": { "type": "boolean" },
                            "price": { "type": "object", "required": ["nightly", "discount", "cleaningFee", "serviceFee", "taxes", "total"],
                              "properties": { "nightly": { "$ref": "#/components/schemas/Money" }, "discount": { "$ref": "#/components/schemas/Money" },
                                              "cleaningFee": { "$ref": "#/components/schemas/Money" }, "serviceFee": { "$ref": "#/components/schemas/Money" },
                                              "taxes": { "$ref": "#/components/schemas/Money" }, "total": { "$ref": "#/components/schemas/Money" } } },
                            "nightlyPrices": { "type": "array", "items": { "type": "object", "required": ["date", "price"],
                              "properties": { "date": { "type": "string", "format": "date" }, "price": { "$ref": "#/components/schemas/Money" } } } },
                            "exchange": { "type": "object", "properties": { "from": { "type": "string" }, "to": { "type": "string" },
                              "rate": { "type": "number" }, "date": { "type": "string", "format": "date" } } } } },
          "ListingPhoto": { "type": "object", "required": ["id", "url"], "properties": { "id": { "type": "string" }, "url": { "type": "string" } } },
          "ListingPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Listing" } }, "nextCursor": { "type": ["string", "null"] } } },
          "NightRange": { "type": "object", "required": ["from", "to"], "additionalProperties": false,
            "properties": { "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" }, "amount": { "type": ["integer", "null"] } } },
          "AvailabilityChange": { "type": "object", "additionalProperties": false,
            "properties": { "blocked": { "type": "array", "items": { "$ref": "#/components/schemas/NightRange" } },
                            "unblocked": { "type": "array", "items": { "$ref": "#/components/schemas/NightRange" } },
                            "prices": { "type": "array", "items": { "$ref": "#/components/schemas/NightRange" } } } },
          "Availability": { "type": "object", "required": ["days"],
            "properties": { "listingId": { "type": "string" }, "days": { "type": "array", "items": { "type": "object", "required": ["date", "available", "price"],
              "properties": { "date": { "type": "string", "format": "date" }, "available": { "type": "boolean" }, "price": { "$ref": "#/components/schemas/Money" } } } } } },
          "Amenities": { "type": "array", "items": { "type": "object", "required": ["code", "name"],
            "properties": { "code": { "type": "string" }, "name": { "type": "string" }, "category": { "type": "string" } } } },
          "Currencies": { "type": "array", "items": { "type": "object", "required": ["code", "exponent"],
            "properties": { "code": { "type": "string" }, "name": { "type": "string" }, "exponent": { "type": "integer" } } } },
          "ListingSummary": { "type": "object", "required": ["id", "title", "pricePerNight", "maxGuests", "rating", "reviewCount"],
            "properties": { "id": { "type": "string" }, "title": { "type": "string" }, "propertyType": { "type": "string" }, "city": { "type": "string" },
                            "country": { "type": "string" }, "lat": { "type": "number" }, "lng": { "type": "number" },
                            "pricePerNight": { "$ref": "#/components/schemas/Money" }, "maxGuests": { "type": "integer" }, "bedrooms": { "type": "integer" },
                            "instantBook": { "type": "boolean" }, "rating": { "type": ["number", "null"] }, "reviewCount": { "type": "integer" },
                            "photoUrl": { "type": ["string", "null"] }, "distanceKm": { "type": "number" } } },
          "SearchPage": { "type": "object", "required": ["items", "nextCursor", "total"],
            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/ListingSummary" } },
                            "nextCursor": { "type": ["string", "null"] }, "total": { "type": "integer" } } },
          "ReviewPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "type": "array", "items": { "type": "object", "required": ["id", "listingId", "author", "rating", "comment", "createdAt", "imported"],
              "properties": { "id": { "type": "string" }, "listingId": { "type": "string" },
                              "author": { "type": "object", "properties": { "id": { "type": "string" }, "name": { "type": "string" } } },
                              "rating": { "type": ["integer", "null"] }, "comment": { "type": "string" },
                              "createdAt": { "type": "string", "format": "date-time" }, "imported": { "type": "boolean" } } } },
                            "nextCursor": { "type": ["string", "null"] } } },
          "ListingStatusPatch": { "type": "object", "required": ["status"], "additionalProperties": false,
            "properties": { "status": { "enum": ["active", "inactive"] } } }
        }
        """#
    )
}
