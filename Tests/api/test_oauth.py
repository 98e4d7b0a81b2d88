"""Sign-in with Google and Facebook, end to end, against local stand-ins the test starts: a
JWKS endpoint serving a key made here (tokens are signed here) and a fake Graph API that checks
the app token and appsecret_proof as Facebook does."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import jwt  # PyJWT
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from accounts_e2e import ACCOUNTS_ENV, bearer, login, register
from roost_e2e import assert_problem, free_port

CLIENT_ID = "roost-web.apps.googleusercontent.com"
FB_APP_ID = "1234567890"
FB_APP_SECRET = "fb-app-secret-for-tests"


class StandIn:
    """A tiny HTTP server on a free loopback port, answering with `handler(request)`."""

    def __init__(self, handler):
        self.port = free_port()
        self.calls: list[Request] = []

        @Request.application
        def app(request):
            self.calls.append(request)
            return handler(request)

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()


class Google:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "test-key-1", "alg": "RS256", "use": "sig"})
        self.jwks = {"keys": [jwk]}
        self.standin = StandIn(lambda request: Response(json.dumps(self.jwks), content_type="application/json",
                                                        headers={"Cache-Control": "public, max-age=3600"}))

    def token(self, **overrides) -> str:
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "google-sub-1", "email": "gina@example.com",
                  "email_verified": True, "name": "Gina", "iat": now, "exp": now + 600}
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "test-key-1"})


class Facebook:
    def __init__(self):
        self.users = {"fb-user-token": {"id": "100042", "name": "Fay", "email": "fay@example.com"}}
        self.standin = StandIn(self.handle)

    def handle(self, request):
        path = request.path.split("/", 2)[-1]  # drop the version segment
        if path == "debug_token":
            if request.args.get("access_token") != f"{FB_APP_ID}|{FB_APP_SECRET}":
                return Response(json.dumps({"error": {"message": "bad app token"}}), status=400, content_type="application/json")
            token = request.args.get("input_token")
            user = self.users.get(token)
            data = {"is_valid": user is not None, "app_id": FB_APP_ID}
            if user:
                data["user_id"] = user["id"]
            return Response(json.dumps({"data": data}), content_type="application/json")
        token = request.args.get("access_token", "")
        proof = hmac.new(FB_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if request.args.get("appsecret_proof") != proof:
            return Response(json.dumps({"error": {"message": "bad proof"}}), status=400, content_type="application/json")
        user = next((user for user in self.users.values() if user["id"] == path), None)
        if user is None:
            return Response("{}", status=404, content_type="application/json")
        return Response(json.dumps(user), content_type="application/json")


@pytest.fixture
def providers():
    google, facebook = Google(), Facebook()
    yield google, facebook
    google.standin.stop()
    facebook.standin.stop()


@pytest.fixture
def oauth_server(server_factory, data_dir, providers):
    google, facebook = providers
    env = {**ACCOUNTS_ENV, "ROOST_GOOGLE_CLIENT_IDS": f"other-client,{CLIENT_ID}", "ROOST_GOOGLE_JWKS_URL": google.standin.url + "/certs",
           "ROOST_FACEBOOK_APP_ID": FB_APP_ID, "ROOST_FACEBOOK_APP_SECRET": FB_APP_SECRET,
           "ROOST_FACEBOOK_GRAPH_URL": facebook.standin.url}
    return server_factory(data_dir, env=env, name="oauth").start()


def google_sign_in(server, token):
    return server.request("POST", "/v1/auth/oauth/google", json={"idToken": token})


def test_google_sign_in_creates_then_finds_the_account(oauth_server, providers):
    google, _ = providers
    first = google_sign_in(oauth_server, google.token())
    assert first.status_code == 201, first.text
    user = first.json()["user"]
    assert (user["email"], user["role"], user["name"]) == ("gina@example.com", "guest", "Gina")
    again = google_sign_in(oauth_server, google.token())
    assert again.status_code == 200 and again.json()["user"]["id"] == user["id"]
    assert oauth_server.get("/v1/users/me", headers=bearer(again.json()["accessToken"])).status_code == 200
    # A password can't be guessed for a provider-only account.
    assert_problem(login(oauth_server, "gina@example.com"), 401)


def test_google_links_an_existing_account_with_the_same_verified_email(oauth_server, providers):
    google, _ = providers
    existing = register(oauth_server, email="Linda@Example.com", role="host")
    linked = google_sign_in(oauth_server, google.token(sub="google-sub-linda", email="linda@example.com"))
    assert linked.status_code == 200, linked.text
    assert linked.json()["user"]["id"] == existing["user"]["id"] and linked.json()["user"]["role"] == "host"
    assert login(oauth_server, "linda@example.com").status_code == 200  # the password still works


@pytest.mark.parametrize("overrides, code", [
    ({"aud": "someone-else"}, "identity_token_invalid"),
    ({"iss": "https://evil.example.com"}, "identity_token_invalid"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "identity_token_invalid"),
    ({"email_verified": False, "email": "unverified@example.com"}, "email_not_verified"),
])
def test_google_refusals(oauth_server, providers, overrides, code):
    google, _ = providers
    assert_problem(google_sign_in(oauth_server, google.token(**overrides)), 401, code)


def test_google_tokens_signed_by_another_key_or_with_hs256_are_refused(oauth_server, providers):
    google, _ = providers
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "x", "email": "x@example.com",
                         "email_verified": True, "exp": int(time.time()) + 600}, stranger, algorithm="RS256", headers={"kid": "test-key-1"})
    assert_problem(google_sign_in(oauth_server, forged), 401)
    hs = jwt.encode({"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "x", "exp": int(time.time()) + 600},
                    "secret", algorithm="HS256", headers={"kid": "test-key-1"})
    assert_problem(google_sign_in(oauth_server, hs), 401)
    assert_problem(oauth_server.request("POST", "/v1/auth/oauth/google", json={}), 422)
    assert_problem(oauth_server.request("POST", "/v1/auth/oauth/google", json={"idToken": "x", "role": "admin"}), 422)
    assert_problem(oauth_server.request("POST", "/v1/auth/oauth/twitter", json={"idToken": "x"}), 404)


def test_google_down_is_503_never_a_sign_in(server_factory, data_dir):
    dead = f"http://127.0.0.1:{free_port()}/certs"
    env = {**ACCOUNTS_ENV, "ROOST_GOOGLE_CLIENT_IDS": CLIENT_ID, "ROOST_GOOGLE_JWKS_URL": dead}
    server = server_factory(data_dir, env=env).start()
    google = Google()
    try:
        response = google_sign_in(server, google.token())
        assert_problem(response, 503, "identity_provider_unavailable")
        assert "Retry-After" in response.headers
    finally:
        google.standin.stop()


def test_facebook_sign_in_takes_the_user_from_debug_token(oauth_server, providers):
    _, facebook = providers
    first = oauth_server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "fb-user-token"})
    assert first.status_code == 201, first.text
    assert first.json()["user"]["email"] == "fay@example.com"
    again = oauth_server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "fb-user-token"})
    assert again.status_code == 200 and again.json()["user"]["id"] == first.json()["user"]["id"]
    assert_problem(oauth_server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "not-a-facebook-token"}), 401)
    assert_problem(oauth_server.request("POST", "/v1/auth/oauth/facebook", json={"idToken": "fb-user-token"}), 422)
    # Every Graph call carried the app token or the appsecret_proof the fake checks.
    assert any(call.path.endswith("/debug_token") for call in facebook.standin.calls)


def test_unconfigured_providers_are_503(server_factory, data_dir):
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    assert_problem(server.request("POST", "/v1/auth/oauth/google", json={"idToken": "x"}), 503, "unavailable")
    assert_problem(server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "x"}), 503, "unavailable")
