/// The Bookings and Payments operations of the OpenAPI document.
enum BookingsOpenAPI {
    static let section = OpenAPISection(
        operations: [
            OpenAPIOperation(
                method: "post", path: "/v1/bookings", operationId: "createBooking",
                summary: "Book nights and pay (instant book: confirmed; request to book: pending, authorized); 409 dates_unavailable, 402 payment_failed",
                signedIn: true, body: ("application/json", "BookingInput"), success: (201, "Booking"), problems: [400, 401, 402, 403, 404, 409, 415, 422, 502, 503],
                idempotent: true
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/bookings/{id}", operationId: "getBooking", summary: "A booking (its guest, its host, an admin; 404 for anyone else)",
                signedIn: true, success: (200, "Booking"), problems: [401, 404]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/bookings/{id}/payments", operationId: "bookingPayments", summary: "A booking's payments", signedIn: true,
                success: (200, "Payments"), problems: [401, 404]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/bookings/{id}/cancel", operationId: "cancelBooking",
                summary: "Cancel (guest, host or admin); the refund follows the booking's policy, in full when the host or an admin cancels",
                signedIn: true, body: ("application/json", "CancelInput"), success: (200, "Booking"), problems: [400, 401, 404, 409, 415, 422], idempotent: true
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/bookings/{id}/accept", operationId: "acceptBooking", summary: "Accept a request to book (its host): captures the payment",
                signedIn: true, success: (200, "Booking"), problems: [401, 402, 403, 404, 409, 422, 503], idempotent: true
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/bookings/{id}/decline", operationId: "declineBooking", summary: "Decline a request to book (its host): voids the payment",
                signedIn: true, success: (200, "Booking"), problems: [401, 403, 404, 409, 422, 503], idempotent: true
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/users/me/bookings", operationId: "myBookings", summary: "The signed-in user's bookings as a guest, newest first",
                signedIn: true, parameters: [("status", "query", "string"), ("limit", "query", "integer"), ("cursor", "query", "string")],
                success: (200, "BookingPage"), problems: [401, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/hosts/me/bookings", operationId: "hostBookings", summary: "Bookings of the signed-in host's listings, newest first",
                signedIn: true, parameters: [("status", "query", "string"), ("limit", "query", "integer"), ("cursor", "query", "string")],
                success: (200, "BookingPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/hosts/me/payouts", operationId: "hostPayouts",
                summary: "The signed-in host's payouts, newest first (made 24 hours after each check-in)", signedIn: true,
                parameters: [("limit", "query", "integer"), ("cursor", "query", "string")], success: (200, "PayoutPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/hosts/me/payout-account", operationId: "hostPayoutAccount",
                summary: "The connected account the signed-in host is paid to (404 until set)", signedIn: true,
                success: (200, "PayoutAccount"), problems: [401, 403, 404]
            ),
            OpenAPIOperation(
                method: "put", path: "/v1/hosts/me/payout-account", operationId: "setHostPayoutAccount",
                summary: "Set the connected account (acct_…) the signed-in host is paid to; stays waiting for one are paid on the next run",
                signedIn: true, body: ("application/json", "PayoutAccountInput"), success: (200, "PayoutAccount"), problems: [400, 401, 403, 415, 422]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/payments/webhooks/stripe", operationId: "stripeWebhook",
                summary: "Stripe's events (Stripe-Signature checked): the payment's booking is reconciled with Stripe's current state; deduplicated by event id",
                body: ("application/json", nil), success: (200, "WebhookReceived"), problems: [400, 413, 503]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/payments/webhooks/paypal", operationId: "paypalWebhook",
                summary: "PayPal's events (verified by PayPal; ROOST_PAYMENTS=paypal), as Stripe's", body: ("application/json", nil),
                success: (200, "WebhookReceived"), problems: [400, 404, 413, 503]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/payments/sandbox/payment_intents/{id}/confirm", operationId: "sandboxConfirm",
                summary: "The sandbox's stand-in for Stripe.js: confirm a waiting payment with its client secret (no token); the webhook completes the booking",
                body: ("application/json", "SandboxConfirmInput"), success: (200, "SandboxConfirmed"), problems: [400, 402, 404, 409, 415, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/admin/bookings", operationId: "adminBookings", summary: "Every booking, newest first (admins)", signedIn: true,
                parameters: [("status", "query", "string"), ("listingId", "query", "string"), ("guestId", "query", "string"), ("hostId", "query", "string"),
                             ("limit", "query", "integer"), ("cursor", "query", "string")],
                success: (200, "BookingPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/admin/payments", operationId: "adminPayments", summary: "Every payment, newest first (admins)", signedIn: true,
                parameters: [("status", "query", "string"), ("currency", "query", "string"), ("paidOut", "query", "boolean"), ("payout", "query", "string"),
                             ("limit", "query", "integer"), ("cursor", "query", "string")],
                success: (200, "PaymentPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/admin/payments/{id}/refund", operationId: "adminRefund",
                summary: "Refund part (amount) or all of what is left of a captured payment, before the host's payout (admins; Idempotency-Key)",
                signedIn: true, body: ("application/json", "RefundInput"), success: (200, "Payment"), problems: [400, 401, 403, 404, 409, 415, 422, 502, 503],
                idempotent: true
            ),
        ],
        schemas: #"""
        {
          "BookingInput": { "type": "object", "required": ["listingId", "checkIn", "checkOut", "guests"], "additionalProperties": false,
            "properties": { "listingId": { "type": "string" }, "checkIn": { "type": "string", "format": "date" }, "checkOut": { "type": "string", "format": "date" },
                            "guests": { "type": "integer", "minimum": 1 }, "currency": { "type": "string", "pattern": "^[A-Z]{3}$" },
                            "paymentMethod": { "type": "string", "description": "a provider payment method; the sandbox takes Stripe's test ones (pm_card_visa, pm_card_chargeDeclined, …)" } } },
          "CancelInput": { "type": "object", "additionalProperties": false, "properties": { "reason": { "type": "string", "maxLength": 1000 } } },
          "BookingPrice": { "type": "object", "required": ["nightly", "cleaningFee", "serviceFee", "taxes", "total"],
            "properties": { "nightly": { "$ref": "#/components/schemas/Money" }, "discount": { "$ref": "#/components/schemas/Money" },
                            "cleaningFee": { "$ref": "#/components/schemas/Money" }, "serviceFee": { "$ref": "#/components/schemas/Money" },
                            "taxes": { "$ref": "#/components/schemas/Money" }, "total": { "$ref": "#/components/schemas/Money" } } },
          "Booking": { "type": "object",
            "required": ["id", "listingId", "guestId", "hostId", "checkIn", "checkOut", "nights", "guests", "status", "price", "payment", "cancellationPolicy",
                         "instantBook", "holdExpiresAt", "createdAt", "updatedAt"],
            "properties": { "id": { "type": "string" }, "listingId": { "type": "string" }, "guestId": { "type": "string" }, "hostId": { "type": "string" },
                            "checkIn": { "type": "string", "format": "date" }, "checkOut": { "type": "string", "format": "date" },
                            "nights": { "type": "integer" }, "guests": { "type": "integer" },
                            "status": { "enum": ["pending", "confirmed", "canceled", "completed"] },
                            "price": { "$ref": "#/components/schemas/BookingPrice" }, "listingPrice": { "$ref": "#/components/schemas/BookingPrice" },
                            "exchangeRate": { "type": "number" },
                            "payment": { "type": "object", "required": ["status"],
                              "properties": { "status": { "enum": ["none", "requires_payment_method", "authorized", "captured", "refunded", "voided"] },
                                              "captured": { "$ref": "#/components/schemas/Money" }, "refunded": { "$ref": "#/components/schemas/Money" },
                                              "clientSecret": { "type": "string", "description": "to its guest, while the payment waits for them" } } },
                            "cancellation": { "type": "object", "required": ["by", "at", "reason", "refund"],
                              "properties": { "by": { "enum": ["guest", "host", "admin", "system"] }, "at": { "type": "string", "format": "date-time" },
                                              "reason": { "type": "string" }, "refund": { "$ref": "#/components/schemas/Money" } } },
                            "refund": { "$ref": "#/components/schemas/Money", "description": "a canceled booking's refund (its cancellation's)" },
                            "cancellationPolicy": { "enum": ["flexible", "moderate", "strict"] }, "instantBook": { "type": "boolean" },
                            "holdExpiresAt": { "type": ["string", "null"], "format": "date-time" },
                            "createdAt": { "type": "string", "format": "date-time" }, "updatedAt": { "type": "string", "format": "date-time" } } },
          "BookingPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Booking" } }, "nextCursor": { "type": ["string", "null"] } } },
          "PayoutPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "type": "array", "items": { "type": "object", "required": ["id", "bookingId", "amount", "paidAt"],
              "properties": { "id": { "type": "string" }, "bookingId": { "type": "string" }, "amount": { "$ref": "#/components/schemas/Money" },
                              "paidAt": { "type": "string", "format": "date-time" } } } },
                            "nextCursor": { "type": ["string", "null"] } } },
          "WebhookReceived": { "type": "object", "required": ["received", "outcome"],
            "properties": { "received": { "type": "boolean" }, "outcome": { "enum": ["handled", "duplicate", "ignored"] } } },
          "SandboxConfirmInput": { "type": "object", "required": ["clientSecret", "paymentMethod"], "additionalProperties": false,
            "properties": { "clientSecret": { "type": "string" }, "paymentMethod": { "type": "string" } } },
          "SandboxConfirmed": { "type": "object", "required": ["id", "status"], "properties": { "id": { "type": "string" }, "status": { "type": "string" } } },
          "PayoutAccount": { "type": "object", "required": ["account", "updatedAt"],
            "properties": { "account": { "type": "string" }, "updatedAt": { "type": "string", "format": "date-time" } } },
          "PayoutAccountInput": { "type": "object", "required": ["account"], "additionalProperties": false,
            "properties": { "account": { "type": "string", "pattern": "^acct_[A-Za-z0-9]{1,64}$" } } },
          "Payment": { "type": "object", "required": ["id", "bookingId", "status", "amount", "refunded", "paidOut", "payout", "reference", "createdAt"],
            "properties": { "id": { "type": "string" }, "bookingId": { "type": "string" }, "status": { "enum": ["authorized", "captured", "refunded", "voided"] },
                            "amount": { "$ref": "#/components/schemas/Money" }, "refunded": { "$ref": "#/components/schemas/Money" },
                            "settlement": { "$ref": "#/components/schemas/Money", "description": "the listing-currency side, when the guest paid in another" },
                            "paidOut": { "type": "boolean" },
                            "payout": { "type": "object", "required": ["status", "attempts"],
                              "properties": { "status": { "enum": ["none", "pending", "failed", "paid"] }, "attempts": { "type": "integer" },
                                              "lastError": { "type": "string" }, "nextAttemptAt": { "type": "string", "format": "date-time" } } },
                            "reference": { "type": "string", "description": "the provider's id" },
                            "createdAt": { "type": "string", "format": "date-time" } } },
          "Payments": { "type": "array", "items": { "$ref": "#/components/schemas/Payment" } },
          "PaymentPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "$ref": "#/components/schemas/Payments" }, "nextCursor": { "type": ["string", "null"] } } },
          "RefundInput": { "type": "object", "additionalProperties": false,
            "properties": { "amount": { "$ref": "#/components/schemas/Money", "description": "in the currency the guest paid; absent: all that is left" } } }
        }
        """#
    )
}
