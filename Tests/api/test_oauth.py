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

from accounts_e2e import ACCOUNTS_ENV, PASSWORD, bearer, login, register
from roost_e2e import assert_problem, free_port

CLIENT_ID = "roost-web.apps.googleusercontent.com"
FB_APP_ID = "1234567890"
FB_APP_SECRET = "fb-app-secret-for-tests"


def _hs256(claims: dict, key: bytes) -> str:
    """An HS256 JWT made by hand (PyJWT refuses to use a PEM public key as an HMAC secret)."""
    import base64
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "test-key-1"}).encode()) + "." + part(json.dumps(claims).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + part(signature)


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


def oauth_env(google, facebook) -> dict:
    return {**ACCOUNTS_ENV, "ROOST_GOOGLE_CLIENT_IDS": f"other-client,{CLIENT_ID}", "ROOST_GOOGLE_JWKS_URL": google.standin.url + "/certs",
            "ROOST_FACEBOOK_APP_ID": FB_APP_ID, "ROOST_FACEBOOK_APP_SECRET": FB_APP_SECRET,
            "ROOST_FACEBOOK_GRAPH_URL": facebook.standin.url}


@pytest.fixture
def oauth_server(server_factory, data_dir, providers):
    google, facebook = providers
    return server_factory(data_dir, env=oauth_env(google, facebook), name="oauth").start()


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


def test_google_takes_over_an_unconfirmed_account_with_its_email(oauth_server, providers):
    """Someone registered linda@example.com with a password before Linda ever came: Google proves
    the address is Linda's, so she gets the account, and the squatter's password and sessions die."""
    google, _ = providers
    squatter = register(oauth_server, email="Linda@Example.com", role="host")
    linked = google_sign_in(oauth_server, google.token(sub="google-sub-linda", email="linda@example.com"))
    assert linked.status_code == 200, linked.text
    assert linked.json()["user"]["id"] == squatter["user"]["id"] and linked.json()["user"]["role"] == "host"
    assert_problem(login(oauth_server, "linda@example.com"), 401, "invalid_credentials")
    assert_problem(oauth_server.request("POST", "/v1/auth/refresh", json={"refreshToken": squatter["refreshToken"]}), 401)
    again = google_sign_in(oauth_server, google.token(sub="google-sub-linda", email="linda@example.com"))
    assert again.status_code == 200 and again.json()["user"]["id"] == squatter["user"]["id"]


def test_a_suspended_account_cannot_sign_in_through_a_provider(server_factory, data_dir, providers, run_cli):
    google, facebook = providers
    created = run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV)
    assert created.returncode == 0, created.stderr
    server = server_factory(data_dir, env=oauth_env(google, facebook)).start()
    admin = login(server, "root@example.com").json()["accessToken"]
    first = google_sign_in(server, google.token(sub="google-sub-sus", email="sus@example.com"))
    assert first.status_code == 201
    suspended = server.request("PATCH", f"/v1/admin/users/{first.json()['user']['id']}", json={"suspended": True}, headers=bearer(admin))
    assert suspended.status_code == 200
    assert_problem(google_sign_in(server, google.token(sub="google-sub-sus", email="sus@example.com")), 403, "account_suspended")
    # Nor through linking: a new identity with the suspended account's verified email.
    assert_problem(google_sign_in(server, google.token(sub="google-sub-other", email="sus@example.com")), 403, "account_suspended")


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
    # Key confusion: HS256 keyed with the published RSA public key, every claim otherwise valid.
    from cryptography.hazmat.primitives import serialization
    public_pem = google.key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "x", "email": "x@example.com",
                 "email_verified": True, "iat": int(time.time()), "exp": int(time.time()) + 600}
    hs = _hs256(hs_claims, public_pem)
    assert_problem(google_sign_in(oauth_server, hs), 401, "identity_token_invalid")
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


def test_facebook_emails_never_link_to_an_existing_account(oauth_server, providers):
    _, facebook = providers
    existing = register(oauth_server, email="fay@example.com")
    signed_in = oauth_server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "fb-user-token"})
    assert signed_in.status_code == 201, signed_in.text
    user = signed_in.json()["user"]
    assert user["id"] != existing["user"]["id"], "Facebook does not vouch for emails: no link"
    assert user["email"] is None, "the address belongs to someone else here"
    assert login(oauth_server, "fay@example.com").status_code == 200


def test_facebook_down_is_503(server_factory, data_dir):
    env = {**ACCOUNTS_ENV, "ROOST_FACEBOOK_APP_ID": FB_APP_ID, "ROOST_FACEBOOK_APP_SECRET": FB_APP_SECRET,
           "ROOST_FACEBOOK_GRAPH_URL": f"http://127.0.0.1:{free_port()}"}
    server = server_factory(data_dir, env=env).start()
    assert_problem(server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "fb-user-token"}), 503, "identity_provider_unavailable")


def test_unconfigured_providers_are_503(server_factory, data_dir):
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    assert_problem(server.request("POST", "/v1/auth/oauth/google", json={"idToken": "x"}), 503, "identity_provider_unavailable")
    assert_problem(server.request("POST", "/v1/auth/oauth/facebook", json={"accessToken": "x"}), 503, "identity_provider_unavailable")
