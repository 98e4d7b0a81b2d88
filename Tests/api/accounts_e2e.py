"""Helpers for the accounts end-to-end tests: a server with a known JWT key and cheap hashing,
users made through the API, and tokens signed the way an attacker (or a clock) would."""

from __future__ import annotations

import base64
import itertools
import time

import jwt  # PyJWT

# A fixed key so tests can forge tokens exactly as the server would sign them.
JWT_KEY_BYTES = bytes(range(32))
JWT_KEY = base64.b64encode(JWT_KEY_BYTES).decode()
PASSWORD = "correct horse battery staple"

# bcrypt cost 4 keeps registrations fast; the cost-12 default is checked by the Swift tests and the benchmark.
ACCOUNTS_ENV = {
    "ROOST_JWT_KEY": JWT_KEY,
    "ROOST_BCRYPT_COST": "4",
    "ROOST_RATE_LIMIT_AUTH_PER_MINUTE": "0",
}

_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}.{time.monotonic_ns()}@example.com"


def register(server, *, email: str | None = None, role: str = "guest", name: str = "Test User", password: str = PASSWORD):
    """Registers through the API and returns the 201 body."""
    response = server.request("POST", "/v1/auth/register", json={
        "email": email or unique_email(), "password": password, "name": name, "role": role,
    })
    assert response.status_code == 201, response.text
    return response.json()


def login(server, email: str, password: str = PASSWORD):
    return server.request("POST", "/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forge(claims_override: dict | None = None, *, sub: str = "usr_nobodynobodynob", headers: dict | None = None,
          key: bytes = JWT_KEY_BYTES, algorithm: str = "HS256") -> str:
    """An access token as the server makes them, with any claim or header changed."""
    now = int(time.time())
    claims = {
        "iss": "roost", "aud": "roost-api", "sub": sub, "iat": now, "exp": now + 600,
        "jti": "at_forged", "typ": "access", "sid": "ses_forgedforgedfor",
    }
    claims.update(claims_override or {})
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"typ": "at+jwt", **(headers or {})})


def unsigned(claims: dict, header: dict) -> str:
    """A token with `alg: none` (or any header) and no signature."""
    def part(value: dict) -> str:
        import json
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}."
