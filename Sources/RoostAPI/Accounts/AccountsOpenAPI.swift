/// The Accounts and admin-user operations of the OpenAPI document.
enum AccountsOpenAPI {
    static let section = OpenAPISection(
        operations: [
            OpenAPIOperation(
                method: "post", path: "/v1/auth/register", operationId: "register", summary: "Create a guest or host account and sign in",
                body: ("application/json", "RegisterRequest"), success: (201, "Session"), problems: [400, 409, 413, 415, 422, 429]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/auth/login", operationId: "login", summary: "Sign in with email and password",
                body: ("application/json", "LoginRequest"), success: (200, "Session"), problems: [400, 401, 403, 415, 422, 429]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/auth/refresh", operationId: "refresh", summary: "Rotate a refresh token for a new pair",
                body: ("application/json", "RefreshRequest"), success: (200, "Session"), problems: [400, 401, 415, 422, 429]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/auth/logout", operationId: "logout", summary: "End this session: its refresh tokens stop working",
                signedIn: true, success: (204, nil), problems: [401]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/auth/oauth/{provider}", operationId: "oauthSignIn",
                summary: "Sign in with Google (idToken) or Facebook (accessToken); 201 when the account is new",
                body: ("application/json", "OAuthRequest"), success: (200, "Session"), problems: [400, 401, 403, 404, 409, 415, 422, 429, 503]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/users/me", operationId: "getMe", summary: "The signed-in user", signedIn: true,
                success: (200, "User"), problems: [401]
            ),
            OpenAPIOperation(
                method: "patch", path: "/v1/users/me", operationId: "updateMe", summary: "Edit name, phone (E.164) or bio; null clears",
                signedIn: true, body: ("application/json", "ProfilePatch"), success: (200, "User"), problems: [400, 401, 415, 422]
            ),
            OpenAPIOperation(
                method: "put", path: "/v1/users/me/photo", operationId: "putMyPhoto", summary: "Replace the profile photo (JPEG, PNG or WebP, ≤ 5 MB)",
                signedIn: true, body: ("image/*", nil), success: (200, "PhotoURL"), problems: [401, 413, 415, 422]
            ),
            OpenAPIOperation(
                method: "post", path: "/v1/users/me/host", operationId: "becomeHost", summary: "Turn a guest account into a host account",
                signedIn: true, success: (200, "User"), problems: [401, 403]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/users/{id}", operationId: "getUser", summary: "A public profile (no email, no phone)",
                success: (200, "PublicUser"), problems: [404]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/media/{key}", operationId: "getMedia", summary: "An uploaded image (locally stored media)",
                success: (200, nil), problems: [404]
            ),
            OpenAPIOperation(
                method: "get", path: "/v1/admin/users", operationId: "adminListUsers", summary: "Users, newest first (admin)", signedIn: true,
                parameters: [
                    ("role", "query", "string"), ("email", "query", "string"), ("suspended", "query", "boolean"),
                    ("limit", "query", "integer"), ("cursor", "query", "string"),
                ],
                success: (200, "UserPage"), problems: [401, 403, 422]
            ),
            OpenAPIOperation(
                method: "patch", path: "/v1/admin/users/{id}", operationId: "adminUpdateUser", summary: "Suspend, reinstate or change role (admin)",
                signedIn: true, body: ("application/json", "AdminUserPatch"), success: (200, "User"), problems: [400, 401, 403, 404, 415, 422]
            ),
        ],
        schemas: #"""
        {
          "RegisterRequest": { "type": "object", "additionalProperties": false, "required": ["email", "password", "name", "role"],
            "properties": { "email": { "type": "string", "format": "email" }, "password": { "type": "string", "minLength": 12, "maxLength": 128 },
                            "name": { "type": "string", "minLength": 1, "maxLength": 100 }, "role": { "enum": ["guest", "host"] } } },
          "LoginRequest": { "type": "object", "additionalProperties": false, "required": ["email", "password"],
            "properties": { "email": { "type": "string" }, "password": { "type": "string" } } },
          "RefreshRequest": { "type": "object", "additionalProperties": false, "required": ["refreshToken"],
            "properties": { "refreshToken": { "type": "string" } } },
          "OAuthRequest": { "type": "object", "additionalProperties": false,
            "properties": { "idToken": { "type": "string" }, "accessToken": { "type": "string" } } },
          "ProfilePatch": { "type": "object", "additionalProperties": false,
            "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                            "phone": { "type": ["string", "null"], "pattern": "^\\+[1-9][0-9]{1,14}$" },
                            "bio": { "type": ["string", "null"], "maxLength": 2000 } } },
          "AdminUserPatch": { "type": "object", "additionalProperties": false,
            "properties": { "suspended": { "type": "boolean" }, "role": { "enum": ["guest", "host"] } } },
          "User": { "type": "object", "required": ["id", "email", "name", "role", "phone", "bio", "photoUrl", "createdAt"],
            "properties": { "id": { "type": "string" }, "email": { "type": ["string", "null"] }, "name": { "type": "string" },
                            "role": { "enum": ["guest", "host", "admin"] }, "phone": { "type": ["string", "null"] }, "bio": { "type": ["string", "null"] },
                            "photoUrl": { "type": ["string", "null"] }, "createdAt": { "type": "string", "format": "date-time" },
                            "updatedAt": { "type": "string", "format": "date-time" }, "suspended": { "type": "boolean" } } },
          "PublicUser": { "type": "object", "required": ["id", "name", "role", "bio", "photoUrl", "createdAt"],
            "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "role": { "enum": ["guest", "host"] },
                            "bio": { "type": ["string", "null"] }, "photoUrl": { "type": ["string", "null"] }, "createdAt": { "type": "string", "format": "date-time" } } },
          "Session": { "type": "object", "required": ["user", "accessToken", "refreshToken", "tokenType", "expiresIn"],
            "properties": { "user": { "$ref": "#/components/schemas/User" }, "accessToken": { "type": "string" }, "refreshToken": { "type": "string" },
                            "tokenType": { "const": "Bearer" }, "expiresIn": { "type": "integer" } } },
          "PhotoURL": { "type": "object", "required": ["photoUrl"], "properties": { "photoUrl": { "type": "string" } } },
          "UserPage": { "type": "object", "required": ["items", "nextCursor"],
            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/User" } }, "nextCursor": { "type": ["string", "null"] } } }
        }
        """#
    )
}
