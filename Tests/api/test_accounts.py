"""Accounts and access, end to end: sign-up, sign-in, tokens, refresh-token families, profiles,
photos, roles, admin user management, suspension, rate limits and restart durability."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import requests

from accounts_e2e import (ACCOUNTS_ENV, PASSWORD, bearer, forge, login, register, unique_email, unsigned)
from roost_e2e import assert_problem

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@pytest.fixture
def accounts(server_factory, data_dir):
    return server_factory(data_dir, env=ACCOUNTS_ENV, name="accounts").start()


@pytest.fixture
def admin_token(run_cli, server_factory, data_dir):
    """An admin made by the CLI before the server starts; returns (server, admin access token)."""
    created = run_cli("admin", "create", "--email", "Root@Example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV)
    assert created.returncode == 0, created.stderr
    server = server_factory(data_dir, env=ACCOUNTS_ENV, name="admin").start()
    response = login(server, "root@example.com")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    return server, response.json()["accessToken"]


# --- registration -------------------------------------------------------------------------------


def test_register_returns_user_and_tokens_and_normalises_the_email(accounts):
    body = register(accounts, email="  Ann.Lee@Example.COM ", role="host", name="  Ann Lee ")
    user = body["user"]
    assert user["email"] == "ann.lee@example.com"
    assert user["name"] == "Ann Lee"
    assert user["role"] == "host"
    assert user["phone"] is None and user["bio"] is None and user["photoUrl"] is None
    assert user["id"].startswith("usr_") and user["createdAt"].endswith("Z")
    assert body["accessToken"].count(".") == 2 and body["refreshToken"].startswith("rt1.")
    header = json.loads(base64.urlsafe_b64decode(body["accessToken"].split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "at+jwt"}
    me = accounts.get("/v1/users/me", headers=bearer(body["accessToken"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"] and me.json()["email"] == "ann.lee@example.com"


def test_duplicate_email_is_409_in_any_case(accounts):
    register(accounts, email="dup@example.com")
    for variant in ("dup@example.com", "DUP@Example.Com", " dup@example.com "):
        response = accounts.request("POST", "/v1/auth/register", json={"email": variant, "password": PASSWORD, "name": "X", "role": "guest"})
        assert_problem(response, 409, "email_taken")


def test_concurrent_registrations_of_one_email_create_one_account(accounts):
    statuses = []
    lock = threading.Lock()

    def attempt(index):
        response = accounts.request("POST", "/v1/auth/register", json={
            "email": "Race@Example.com" if index % 2 else "race@example.com", "password": PASSWORD, "name": f"R{index}", "role": "guest"})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 15


@pytest.mark.parametrize("change, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "two@@example.com"}, "email"),
    ({"password": "x" * 11}, "password"),
    ({"password": "x" * 129}, "password"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "n" * 101}, "name"),
    ({"role": "admin"}, "role"),
    ({"role": "superuser"}, "role"),
])
def test_register_validation_names_the_field(accounts, change, field):
    body = {"email": unique_email(), "password": PASSWORD, "name": "Valid", "role": "guest"}
    body.update(change)
    problem = assert_problem(accounts.request("POST", "/v1/auth/register", json=body), 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]]


def test_register_boundaries_are_accepted(accounts):
    register(accounts, password="x" * 12, name="n")
    register(accounts, password="y" * 128, name="n" * 100)


def test_register_refuses_unknown_fields_missing_fields_and_bad_bodies(accounts):
    base = {"email": unique_email(), "password": PASSWORD, "name": "Valid", "role": "guest"}
    problem = assert_problem(accounts.request("POST", "/v1/auth/register", json={**base, "suspended": False}), 422, "validation_failed")
    assert problem["errors"] == [{"field": "suspended", "message": "is not a field of this request"}]
    missing = dict(base)
    del missing["password"]
    assert_problem(accounts.request("POST", "/v1/auth/register", json=missing), 422, "validation_failed")
    assert_problem(accounts.request("POST", "/v1/auth/register", data="{", headers={"Content-Type": "application/json"}), 400)
    assert_problem(accounts.request("POST", "/v1/auth/register", data="email=x", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert_problem(accounts.request("POST", "/v1/auth/register", json=[base]), 422)
    null = assert_problem(accounts.request("POST", "/v1/auth/register", data="null", headers={"Content-Type": "application/json"}), 422)
    assert null["errors"][0]["message"] == "must be a JSON object"


def test_an_empty_media_type_is_415_and_the_server_stays_up(accounts):
    # The media-type check once trapped on an empty Content-Type, taking the whole process down.
    body = json.dumps({"email": unique_email(), "password": PASSWORD, "name": "Valid", "role": "guest"})
    for content_type in ["", ";", ";charset=utf-8"]:
        assert_problem(accounts.request("POST", "/v1/auth/register", data=body, headers={"Content-Type": content_type}), 415, "unsupported_media_type")
    assert accounts.request("GET", "/health/live").status_code == 200


# --- login ----------------------------------------------------------------------------------------


def test_login_answers_the_same_for_a_wrong_password_and_an_unknown_email(accounts):
    email = register(accounts)["user"]["email"]
    assert login(accounts, email.upper()).status_code == 200
    wrong = assert_problem(login(accounts, email, "wrong password here"), 401, "invalid_credentials")
    unknown = assert_problem(login(accounts, "nobody@example.com"), 401, "invalid_credentials")
    assert (wrong["title"], wrong["detail"]) == (unknown["title"], unknown["detail"])
    assert_problem(accounts.request("POST", "/v1/auth/login", json={"email": email, "password": PASSWORD, "role": "admin"}), 422)
    assert_problem(accounts.request("POST", "/v1/auth/login", json={"email": "", "password": ""}), 422)
    problem = assert_problem(login(accounts, "not-an-email" * 1000), 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == ["email"]


def test_every_byte_of_a_long_password_counts(accounts):
    email = unique_email()
    register(accounts, email=email, password="a" * 72 + "b" * 50)
    assert login(accounts, email, "a" * 72 + "b" * 50).status_code == 200
    assert_problem(login(accounts, email, "a" * 72 + "z" * 40), 401, "invalid_credentials")


# --- access tokens --------------------------------------------------------------------------------


def test_bad_access_tokens_are_401(accounts):
    body = register(accounts)
    user_id = body["user"]["id"]
    good = body["accessToken"]
    head, payload, signature = good.split(".")
    tampered_payload = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered_payload["sub"] = "usr_someoneelsesomeo"
    tampered = head + "." + base64.urlsafe_b64encode(json.dumps(tampered_payload).encode()).rstrip(b"=").decode() + "." + signature
    cases = {
        "no header": None,
        "not bearer": f"Basic {good}",
        "garbage": "Bearer not.a.jwt",
        "tampered payload": f"Bearer {tampered}",
        "flipped signature": "Bearer " + good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "alg none": "Bearer " + unsigned({"sub": user_id, "typ": "access", "iss": "roost", "aud": "roost-api", "iat": int(time.time()),
                                          "exp": int(time.time()) + 600, "jti": "at_x", "sid": "ses_forgedforgedfor"},
                                         {"alg": "none", "typ": "at+jwt"}),
        "other alg (HS512)": "Bearer " + forge(sub=user_id, algorithm="HS512"),
        "other key": "Bearer " + forge(sub=user_id, key=b"k" * 32),
        "expired": "Bearer " + forge({"exp": int(time.time()) - 5}, sub=user_id),
        "wrong issuer": "Bearer " + forge({"iss": "someone-else"}, sub=user_id),
        "wrong audience": "Bearer " + forge({"aud": "other-api"}, sub=user_id),
        "wrong typ claim": "Bearer " + forge({"typ": "refresh"}, sub=user_id),
        "wrong typ header": "Bearer " + forge(sub=user_id, headers={"typ": "JWT"}),
        "refresh token as bearer": "Bearer " + body["refreshToken"],
        "unknown user": "Bearer " + forge(sub="usr_doesnotexist000"),
    }
    details = {}
    for name, header in cases.items():
        headers = {"Authorization": header} if header else {}
        response = accounts.get("/v1/users/me", headers=headers)
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        details[name] = assert_problem(response, 401)["detail"]
    # The algorithm is refused for what it is, before claims are even read.
    assert details["alg none"] == "Tokens signed with none are not accepted."
    assert details["other alg (HS512)"] == "Tokens signed with HS512 are not accepted."
    assert details["expired"] == "The token has expired."
    assert details["wrong typ header"] == details["wrong typ claim"] == "This is not an access token."
    # A correctly forged token (the test knows the key) is accepted: the cases above fail for their one change.
    assert accounts.get("/v1/users/me", headers=bearer(forge(sub=user_id))).status_code == 200


# --- refresh-token families ----------------------------------------------------------------------


def refresh(server, token):
    return server.request("POST", "/v1/auth/refresh", json={"refreshToken": token})


def test_refresh_rotates_and_reuse_revokes_the_family(accounts):
    first = register(accounts)
    second = refresh(accounts, first["refreshToken"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refreshToken"] != first["refreshToken"] and pair["accessToken"]
    assert accounts.get("/v1/users/me", headers=bearer(pair["accessToken"])).status_code == 200
    third = refresh(accounts, pair["refreshToken"])
    assert third.status_code == 200
    # Replaying a rotated token revokes the whole family: the newest token dies with it.
    assert_problem(refresh(accounts, first["refreshToken"]), 401, "refresh_token_reused")
    assert_problem(refresh(accounts, third.json()["refreshToken"]), 401, "invalid_refresh_token")


def test_a_made_up_old_token_cannot_end_someone_elses_session(accounts):
    """The family id is in every access token; an old generation with a made-up secret is only refused."""
    import os
    first = register(accounts)
    current = refresh(accounts, first["refreshToken"]).json()["refreshToken"]
    _, user, family, _, _ = current.split(".")
    forged_secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    assert_problem(refresh(accounts, f"rt1.{user}.{family}.0.{forged_secret}"), 401, "invalid_refresh_token")
    assert refresh(accounts, current).status_code == 200, "the real session lives on"


def test_refresh_refuses_garbage_and_other_users_families(accounts):
    alice, bob = register(accounts), register(accounts)
    for token in ("", "nonsense", "rt1.a.b.c.d", alice["refreshToken"] + "x"):
        assert_problem(refresh(accounts, token), 401)
    # Bob's family id under Alice's user id (or Alice's secret on Bob's family) is not a token.
    _, alice_user, alice_family, generation, alice_secret = alice["refreshToken"].split(".")
    _, bob_user, bob_family, _, bob_secret = bob["refreshToken"].split(".")
    assert_problem(refresh(accounts, f"rt1.{alice_user}.{bob_family}.{generation}.{bob_secret}"), 401)
    assert_problem(refresh(accounts, f"rt1.{bob_user}.{bob_family}.{generation}.{alice_secret}"), 401)
    # Neither attempt harmed the real owners.
    assert refresh(accounts, alice["refreshToken"]).status_code == 200
    assert refresh(accounts, bob["refreshToken"]).status_code == 200


def test_logout_ends_only_that_session(accounts):
    email = unique_email()
    first = register(accounts, email=email)
    second = login(accounts, email).json()
    assert_problem(accounts.request("POST", "/v1/auth/logout"), 401)
    response = accounts.request("POST", "/v1/auth/logout", headers=bearer(first["accessToken"]))
    assert response.status_code == 204
    assert_problem(refresh(accounts, first["refreshToken"]), 401)
    assert refresh(accounts, second["refreshToken"]).status_code == 200


# --- profiles ---------------------------------------------------------------------------------------


def test_profile_edits_and_public_profile(accounts):
    body = register(accounts)
    token, user_id = body["accessToken"], body["user"]["id"]
    response = accounts.request("PATCH", "/v1/users/me", headers=bearer(token), json={"name": "New Name", "phone": "+6591234567", "bio": "Hello"})
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["phone"], response.json()["bio"]) == ("New Name", "+6591234567", "Hello")
    cleared = accounts.request("PATCH", "/v1/users/me", headers=bearer(token), json={"phone": None})
    assert cleared.json()["phone"] is None and cleared.json()["bio"] == "Hello"
    public = accounts.get(f"/v1/users/{user_id}")
    assert public.status_code == 200
    assert "email" not in public.json() and "phone" not in public.json()
    assert public.json()["name"] == "New Name"
    assert_problem(accounts.get("/v1/users/usr_doesnotexist000"), 404, "not_found")
    assert_problem(accounts.get("/v1/users/../../etc"), 404)


@pytest.mark.parametrize("patch, field", [
    ({"phone": "91234567"}, "phone"),
    ({"phone": "+0123"}, "phone"),
    ({"phone": "+12345678901234567"}, "phone"),
    ({"bio": "b" * 2001}, "bio"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"role": "admin"}, "role"),
    ({"email": "new@example.com"}, "email"),
    ({"isAdmin": True}, "isAdmin"),
])
def test_profile_validation_and_mass_assignment(accounts, patch, field):
    body = register(accounts)
    problem = assert_problem(accounts.request("PATCH", "/v1/users/me", headers=bearer(body["accessToken"]), json=patch), 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]]
    me = accounts.get("/v1/users/me", headers=bearer(body["accessToken"])).json()
    assert (me["role"], me["email"], me["name"]) == ("guest", body["user"]["email"], body["user"]["name"])


def test_a_guest_can_become_a_host(accounts):
    body = register(accounts)
    response = accounts.request("POST", "/v1/users/me/host", headers=bearer(body["accessToken"]))
    assert response.status_code == 200 and response.json()["role"] == "host"
    # The role is read per request: the same token now acts as a host, and hosts have nothing more to become.
    assert_problem(accounts.request("POST", "/v1/users/me/host", headers=bearer(body["accessToken"])), 403, "forbidden")


def test_endpoints_without_a_body_refuse_fields(accounts):
    body = register(accounts)
    problem = assert_problem(accounts.request("POST", "/v1/users/me/host", headers=bearer(body["accessToken"]), json={"role": "admin"}), 422)
    assert problem["errors"] == [{"field": "role", "message": "is not a field of this request"}]
    assert accounts.get("/v1/users/me", headers=bearer(body["accessToken"])).json()["role"] == "guest"
    assert_problem(accounts.request("POST", "/v1/auth/logout", headers=bearer(body["accessToken"]), json={"everywhere": True}), 422)
    assert accounts.request("POST", "/v1/users/me/host", headers=bearer(body["accessToken"]), json={}).status_code == 200


# --- photos ----------------------------------------------------------------------------------------


def put_photo(server, token, data, content_type):
    return server.request("PUT", "/v1/users/me/photo", headers={**bearer(token), "Content-Type": content_type}, data=data)


def test_photo_upload_serve_and_replace(accounts):
    token = register(accounts)["accessToken"]
    first = put_photo(accounts, token, PNG, "image/png")
    assert first.status_code == 200, first.text
    url = first.json()["photoUrl"]
    served = accounts.get(url)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert "max-age" in served.headers["Cache-Control"]
    assert accounts.get("/v1/users/me", headers=bearer(token)).json()["photoUrl"] == url
    second = put_photo(accounts, token, JPEG, "image/jpeg")
    assert second.status_code == 200
    assert accounts.get(second.json()["photoUrl"]).content == JPEG
    assert_problem(accounts.get(url), 404)  # the replaced object is deleted
    assert put_photo(accounts, token, WEBP, "image/webp").status_code == 200


def test_photo_refusals(accounts):
    token = register(accounts)["accessToken"]
    assert_problem(put_photo(accounts, token, b"hello", "text/plain"), 415)
    assert_problem(put_photo(accounts, token, PNG, "application/octet-stream"), 415)
    assert_problem(put_photo(accounts, token, PNG, "image/jpeg"), 422)  # declared JPEG, bytes are PNG
    assert_problem(put_photo(accounts, token, b"GIF89a" + b"\x00" * 30, "image/png"), 422)
    assert_problem(put_photo(accounts, token, b"", "image/png"), 422)
    assert_problem(put_photo(accounts, token, PNG + b"\x00" * (5 * 1024 * 1024), "image/png"), 413)

    def chunks():  # no Content-Length: refused once the stream passes 5 MB
        yield PNG
        for _ in range(6):
            yield b"\x00" * (1024 * 1024)
    assert_problem(put_photo(accounts, token, chunks(), "image/png"), 413)
    assert_problem(accounts.request("PUT", "/v1/users/me/photo", headers={"Content-Type": "image/png"}, data=PNG), 401)
    assert accounts.get("/v1/users/me", headers=bearer(token)).json()["photoUrl"] is None


# --- roles, admin, suspension ----------------------------------------------------------------------


def test_admin_routes_need_an_admin(accounts):
    guest = register(accounts)
    host = register(accounts, role="host")
    assert_problem(accounts.get("/v1/admin/users"), 401)
    assert_problem(accounts.get("/v1/admin/users", headers=bearer(guest["accessToken"])), 403, "forbidden")
    assert_problem(accounts.get("/v1/admin/users", headers=bearer(host["accessToken"])), 403, "forbidden")
    assert_problem(accounts.request("PATCH", f"/v1/admin/users/{guest['user']['id']}", json={"suspended": True},
                                    headers=bearer(host["accessToken"])), 403)


def test_admin_lists_users_with_filters_and_cursor(admin_token):
    server, token = admin_token
    made = [register(server, email=f"page{index}@example.com", role="host" if index % 3 == 0 else "guest") for index in range(7)]
    seen, cursor = [], None
    while True:
        response = server.get("/v1/admin/users", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8  # 7 users and the admin, none twice
    hosts = server.get("/v1/admin/users", params={"role": "host"}, headers=bearer(token)).json()["items"]
    assert sorted(item["id"] for item in hosts) == sorted(body["user"]["id"] for index, body in enumerate(made) if index % 3 == 0)
    prefixed = server.get("/v1/admin/users", params={"email": "PAGE1"}, headers=bearer(token)).json()["items"]
    assert [item["email"] for item in prefixed] == ["page1@example.com"]
    not_ours = base64.urlsafe_b64encode(b"no separator here").rstrip(b"=").decode()
    for params in ({"limit": 0}, {"limit": 101}, {"role": "owner"}, {"suspended": "maybe"}, {"cursor": "%%%"}, {"cursor": not_ours}):
        assert_problem(server.get("/v1/admin/users", params=params, headers=bearer(token)), 422)
    # A plus-address written raw: `+` is a space in a query string, and no address has one; %2B is a plus.
    problem = assert_problem(server.get("/v1/admin/users?email=page1+x@example.com", headers=bearer(token)), 422)
    assert [error["field"] for error in problem["errors"]] == ["email"]
    assert server.get("/v1/admin/users?email=page1%2Bx", headers=bearer(token)).json()["items"] == []
    # A parameter without a value is one left out, as a form's empty field is (search reads it so too).
    for query in ("limit=&cursor=&role=&email=&suspended=", "limit&role", "limit=&role=host"):
        response = server.get(f"/v1/admin/users?{query}", headers=bearer(token))
        assert response.status_code == 200, (query, response.text)
        expected = len(hosts) if "host" in query else 8
        assert len(response.json()["items"]) == min(expected, 20), query
    assert_problem(server.get("/v1/admin/users?limit=&limit=3", headers=bearer(token)), 422)


def test_suspension_blocks_sign_in_refresh_and_live_tokens(admin_token):
    server, admin = admin_token
    email = unique_email()
    user = register(server, email=email)
    user_id = user["user"]["id"]
    response = server.request("PATCH", f"/v1/admin/users/{user_id}", json={"suspended": True}, headers=bearer(admin))
    assert response.status_code == 200 and response.json()["suspended"] is True
    assert_problem(server.get("/v1/users/me", headers=bearer(user["accessToken"])), 401, "account_suspended")
    assert_problem(login(server, email), 403, "account_suspended")
    assert_problem(refresh(server, user["refreshToken"]), 401)
    suspended_only = server.get("/v1/admin/users", params={"suspended": "true"}, headers=bearer(admin)).json()["items"]
    assert [item["id"] for item in suspended_only] == [user_id]
    server.request("PATCH", f"/v1/admin/users/{user_id}", json={"suspended": False}, headers=bearer(admin))
    assert login(server, email).status_code == 200
    # Suspension revoked the old refresh family for good.
    assert_problem(refresh(server, user["refreshToken"]), 401)


def test_admin_patch_rules(admin_token, run_cli):
    server, admin = admin_token
    me = server.get("/v1/users/me", headers=bearer(admin)).json()["id"]
    assert_problem(server.request("PATCH", f"/v1/admin/users/{me}", json={"suspended": True}, headers=bearer(admin)), 422)
    assert_problem(server.request("PATCH", f"/v1/admin/users/{me}", json={"role": "guest"}, headers=bearer(admin)), 422)
    user_id = register(server)["user"]["id"]
    promoted = server.request("PATCH", f"/v1/admin/users/{user_id}", json={"role": "host"}, headers=bearer(admin))
    assert promoted.status_code == 200 and promoted.json()["role"] == "host"
    assert_problem(server.request("PATCH", f"/v1/admin/users/{user_id}", json={"role": "admin"}, headers=bearer(admin)), 422)
    assert_problem(server.request("PATCH", f"/v1/admin/users/{user_id}", json={"suspended": "yes"}, headers=bearer(admin)), 422)
    assert_problem(server.request("PATCH", f"/v1/admin/users/{user_id}", json={"email": "x@example.com"}, headers=bearer(admin)), 422)
    assert_problem(server.request("PATCH", "/v1/admin/users/usr_doesnotexist000", json={"suspended": True}, headers=bearer(admin)), 404)


# --- rate limits -------------------------------------------------------------------------------------


def test_sign_in_attempts_are_rate_limited(server_factory, data_dir):
    server = server_factory(data_dir, env={**ACCOUNTS_ENV, "ROOST_RATE_LIMIT_AUTH_PER_MINUTE": "3"}).start()
    email = unique_email()
    statuses = [login(server, email, "wrong password!!").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    limited = login(server, email)
    problem = assert_problem(limited, 429, "rate_limited")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60, problem


def test_the_client_ip_is_limited_across_emails(server_factory, data_dir):
    server = server_factory(data_dir, env={**ACCOUNTS_ENV, "ROOST_RATE_LIMIT_AUTH_PER_MINUTE": "3"}).start()
    statuses = [login(server, unique_email(), "wrong password!!").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429], "four different emails, one address"
    assert_problem(server.request("POST", "/v1/auth/register", json={"email": unique_email(), "password": PASSWORD, "name": "x", "role": "guest"}), 429)


# --- durability ----------------------------------------------------------------------------------------


def test_every_account_effect_survives_a_restart(run_cli, server_factory, data_dir):
    run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV)
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    admin = login(server, "root@example.com").json()["accessToken"]
    kept = register(server, email="kept@example.com", role="host")
    rotated_from = kept["refreshToken"]
    rotated = refresh(server, rotated_from).json()
    logged_out = login(server, "kept@example.com").json()
    server.request("POST", "/v1/auth/logout", headers=bearer(logged_out["accessToken"]))
    server.request("PATCH", "/v1/users/me", headers=bearer(rotated["accessToken"]), json={"bio": "still here", "phone": "+6590000000"})
    photo = put_photo(server, rotated["accessToken"], PNG, "image/png").json()["photoUrl"]
    victim = register(server, email="suspended@example.com")
    server.request("PATCH", f"/v1/admin/users/{victim['user']['id']}", json={"suspended": True}, headers=bearer(admin))
    became_host = register(server, email="became-host@example.com")
    assert server.request("POST", "/v1/users/me/host", headers=bearer(became_host["accessToken"])).status_code == 200
    demoted = register(server, email="demoted@example.com", role="host")
    server.request("PATCH", f"/v1/admin/users/{demoted['user']['id']}", json={"role": "guest"}, headers=bearer(admin))
    server.kill()  # no shutdown snapshot: everything must come back from the WAL
    server.start()

    me = server.get("/v1/users/me", headers=bearer(rotated["accessToken"]))
    assert me.status_code == 200
    assert (me.json()["bio"], me.json()["phone"], me.json()["photoUrl"]) == ("still here", "+6590000000", photo)
    assert server.get(photo).content == PNG
    assert_problem(refresh(server, logged_out["refreshToken"]), 401)
    assert_problem(login(server, "suspended@example.com"), 403, "account_suspended")
    assert_problem(server.request("POST", "/v1/auth/register", json={"email": "KEPT@example.com", "password": PASSWORD, "name": "x", "role": "guest"}), 409)
    next_pair = refresh(server, rotated["refreshToken"])
    assert next_pair.status_code == 200
    assert_problem(refresh(server, rotated_from), 401, "refresh_token_reused")
    assert_problem(refresh(server, next_pair.json()["refreshToken"]), 401)
    assert login(server, "root@example.com").json()["user"]["role"] == "admin"
    assert login(server, "became-host@example.com").json()["user"]["role"] == "host"
    demoted_token = login(server, "demoted@example.com").json()["accessToken"]
    assert server.get("/v1/users/me", headers=bearer(demoted_token)).json()["role"] == "guest"
    server.stop()
    server.start()  # and through the shutdown snapshot too
    assert login(server, "kept@example.com").status_code == 200
    assert_problem(login(server, "suspended@example.com"), 403)


def test_admin_create_refuses_while_a_server_holds_the_data_dir(run_cli, accounts, data_dir):
    result = run_cli("admin", "create", "--email", "late@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV, timeout=20)
    assert result.returncode != 0
    assert "in use by another process" in result.stderr
    assert login(accounts, "late@example.com").status_code == 401


def test_admin_create_validates_its_input(run_cli, data_dir):
    for args in (("--email", "nope", "--password", PASSWORD), ("--email", "ok@example.com", "--password", "short")):
        result = run_cli("admin", "create", *args, "--data-dir", data_dir, env=ACCOUNTS_ENV)
        assert result.returncode != 0 and result.stderr.strip()


# --- the contract ---------------------------------------------------------------------------------


ACCOUNT_OPERATIONS = [
    ("post", "/v1/auth/register"), ("post", "/v1/auth/login"), ("post", "/v1/auth/refresh"), ("post", "/v1/auth/logout"),
    ("post", "/v1/auth/oauth/{provider}"), ("get", "/v1/users/me"), ("patch", "/v1/users/me"), ("put", "/v1/users/me/photo"),
    ("post", "/v1/users/me/host"), ("get", "/v1/users/{id}"), ("get", "/v1/admin/users"), ("patch", "/v1/admin/users/{id}"),
]


def test_the_openapi_document_describes_the_account_operations_and_their_answers(accounts):
    import jsonschema

    document = accounts.get("/openapi.json").json()
    missing = [(method, path) for method, path in ACCOUNT_OPERATIONS if method not in document["paths"].get(path, {})]
    assert not missing

    def schema(name):  # resolve refs against the served document
        return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}

    body = register(accounts)
    jsonschema.validate(body, schema("Session"))
    public = accounts.get(f"/v1/users/{body['user']['id']}").json()
    jsonschema.validate(public, schema("PublicUser"))
    jsonschema.validate(accounts.get("/v1/users/me", headers=bearer(body["accessToken"])).json(), schema("User"))
