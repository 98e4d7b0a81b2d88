"""Listings, calendars and search end to end: create/read/update/delete with their rules, the
availability calendar, photos, amenities, hosts' and admins' lists, and search with every
parameter, compared with a brute-force filter over the same listings."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import threading
from pathlib import Path

import pytest

from accounts_e2e import ACCOUNTS_ENV, PASSWORD, bearer, login, register, unique_email
from roost_e2e import assert_problem

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def listing_body(**overrides) -> dict:
    body = {
        "title": "Bright loft", "description": "Near the river.", "propertyType": "apartment",
        "location": {"address": "1 River Rd", "city": "Singapore", "country": "Singapore", "lat": 1.29, "lng": 103.85, "timezone": "Asia/Singapore"},
        "pricePerNight": {"amount": 15000, "currency": "SGD"}, "cleaningFee": {"amount": 3000, "currency": "SGD"},
        "maxGuests": 4, "bedrooms": 2, "beds": 2, "bathrooms": 1.5, "amenities": ["wifi", "kitchen"],
        "minNights": 1, "maxNights": 30, "instantBook": True, "cancellationPolicy": "moderate",
    }
    body.update(overrides)
    return body


@pytest.fixture
def market(server_factory, data_dir):
    server = server_factory(data_dir, env=ACCOUNTS_ENV, name="market").start()
    host = register(server, role="host")
    guest = register(server)
    return server, host["accessToken"], guest["accessToken"], host["user"]["id"]


def create(server, token, **overrides):
    response = server.request("POST", "/v1/listings", json=listing_body(**overrides), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_update_delete(market):
    server, host, guest, host_id = market
    listing = create(server, host)
    assert listing["hostId"] == host_id and listing["status"] == "active"
    assert listing["pricePerNight"] == {"amount": 15000, "currency": "SGD"} and listing["bathrooms"] == 1.5
    assert listing["rating"] is None and listing["reviewCount"] == 0 and listing["photos"] == []
    read = server.get(f"/v1/listings/{listing['id']}")
    assert read.status_code == 200 and read.json()["title"] == "Bright loft"
    patched = server.request("PATCH", f"/v1/listings/{listing['id']}", json={"title": "Loft", "location": {"city": "Singapura"}}, headers=bearer(host))
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Loft" and patched.json()["location"]["city"] == "Singapura"
    assert patched.json()["location"]["lat"] == 1.29, "a partial location keeps the rest"
    # null clears nothing and is not taken as "left out": 422 naming each such field, and nothing changes.
    nulled = server.request("PATCH", f"/v1/listings/{listing['id']}", json={"title": None, "maxGuests": None, "description": "x"}, headers=bearer(host))
    assert_problem(nulled, 422)
    assert sorted(e["field"] for e in nulled.json()["errors"]) == ["maxGuests", "title"]
    assert server.get(f"/v1/listings/{listing['id']}").json()["title"] == "Loft"
    assert server.request("DELETE", f"/v1/listings/{listing['id']}", headers=bearer(host)).status_code == 204
    assert_problem(server.get(f"/v1/listings/{listing['id']}"), 404)
    assert_problem(server.request("PATCH", f"/v1/listings/{listing['id']}", json={"title": "x"}, headers=bearer(host)), 404)


def test_who_may_do_what(market, run_cli):
    server, host, guest, _ = market
    assert_problem(server.request("POST", "/v1/listings", json=listing_body()), 401)
    assert_problem(server.request("POST", "/v1/listings", json=listing_body(), headers=bearer(guest)), 403)
    listing = create(server, host)
    other_host = register(server, role="host")["accessToken"]
    for method, path, body in (("PATCH", "", {"title": "mine now"}), ("DELETE", "", None), ("PUT", "/availability", {"blocked": []}),
                               ("POST", "/photos", None)):
        kwargs = {"json": body} if body is not None else {}
        response = server.request(method, f"/v1/listings/{listing['id']}{path}", headers=bearer(other_host), **kwargs)
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert server.request(method, f"/v1/listings/{listing['id']}{path}", headers=bearer(guest), **kwargs).status_code == 403
    assert server.get(f"/v1/listings/{listing['id']}").json()["title"] == "Bright loft"


@pytest.mark.parametrize("change, field", [
    ({"title": ""}, "title"), ({"title": "t" * 121}, "title"), ({"description": "d" * 5001}, "description"),
    ({"location": {"address": "", "city": "X", "country": "Y", "lat": 91, "lng": 0, "timezone": "UTC"}}, "location.lat"),
    ({"location": {"address": "", "city": "X", "country": "Y", "lat": 0, "lng": -181, "timezone": "UTC"}}, "location.lng"),
    ({"location": {"address": "", "city": "X", "country": "Y", "lat": 0, "lng": 0, "timezone": "Mars/Olympus"}}, "location.timezone"),
    ({"location": {"address": "", "city": "", "country": "Y", "lat": 0, "lng": 0, "timezone": "UTC"}}, "location.city"),
    ({"pricePerNight": {"amount": 0, "currency": "SGD"}}, "pricePerNight.amount"),
    ({"pricePerNight": {"amount": 100, "currency": "XXX"}}, "pricePerNight.currency"),
    ({"cleaningFee": {"amount": -1, "currency": "SGD"}}, "cleaningFee.amount"),
    ({"cleaningFee": {"amount": 100, "currency": "USD"}}, "cleaningFee.currency"),
    ({"maxGuests": 0}, "maxGuests"), ({"maxGuests": 51}, "maxGuests"),
    ({"minNights": 5, "maxNights": 4}, "minNights"),
    ({"amenities": ["wifi", "teleporter"]}, "amenities"),
    ({"cancellationPolicy": "lenient"}, "cancellationPolicy"),
    ({"bathrooms": 1.3}, "bathrooms"),
    ({"hostId": "usr_someoneelse00000"}, "hostId"),
    ({"location": {"address": "", "city": "X", "country": "Y", "lat": 0, "lng": 0, "timezone": "UTC", "floor": 3}}, "location.floor"),
])
def test_listing_validation(market, change, field):
    server, host, _, _ = market
    problem = assert_problem(server.request("POST", "/v1/listings", json=listing_body(**change), headers=bearer(host)), 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]], problem


def test_a_missing_field_is_one_error_and_out_of_range_prices_say_the_range(market):
    server, host, _, _ = market
    body = {k: v for k, v in listing_body().items() if k not in ("title", "propertyType")}
    problem = assert_problem(server.request("POST", "/v1/listings", json=body, headers=bearer(host)), 422)
    assert sorted((e["field"], e["message"]) for e in problem["errors"]) == [("propertyType", "is required"), ("title", "is required")]
    problem = assert_problem(server.request("POST", "/v1/listings", json=listing_body(pricePerNight={"amount": 10 ** 15, "currency": "SGD"}),
                                            headers=bearer(host)), 422)
    assert problem["errors"] == [{"field": "pricePerNight.amount", "message": "must be from 1 to 1,000,000,000,000 (minor units)"}]


def test_availability_calendar(market):
    server, host, _, _ = market
    listing = create(server, host)
    path = f"/v1/listings/{listing['id']}/availability"
    change = {"blocked": [{"from": day(10), "to": day(13)}], "prices": [{"from": day(20), "to": day(22), "amount": 25000}]}
    assert server.request("PUT", path, json=change, headers=bearer(host)).status_code == 200
    days = server.get(path, params={"from": day(9), "to": day(23)}).json()["days"]
    assert [d["date"] for d in days] == [day(offset) for offset in range(9, 23)]
    available = {d["date"]: d["available"] for d in days}
    assert [available[day(o)] for o in (9, 10, 11, 12, 13)] == [True, False, False, False, True]
    prices = {d["date"]: d["price"]["amount"] for d in days}
    assert (prices[day(19)], prices[day(20)], prices[day(21)], prices[day(22)]) == (15000, 25000, 25000, 15000)
    unblock = {"unblocked": [{"from": day(11), "to": day(12)}], "prices": [{"from": day(20), "to": day(21), "amount": None}]}
    assert server.request("PUT", path, json=unblock, headers=bearer(host)).status_code == 200
    days = {d["date"]: d for d in server.get(path, params={"from": day(10), "to": day(22)}).json()["days"]}
    assert (days[day(10)]["available"], days[day(11)]["available"], days[day(12)]["available"]) == (False, True, False)
    assert (days[day(20)]["price"]["amount"], days[day(21)]["price"]["amount"]) == (15000, 25000)
    for bad in ({"blocked": [{"from": day(5), "to": day(5)}]}, {"blocked": [{"from": day(-3), "to": day(1)}]},
                {"blocked": [{"from": day(1), "to": day(800)}]}, {"blocked": [{"from": "tomorrow", "to": day(2)}]},
                {"prices": [{"from": day(1), "to": day(2)}]}, {"prices": [{"from": day(1), "to": day(2), "amount": 0}]},
                {"closed": []}):
        assert_problem(server.request("PUT", path, json=bad, headers=bearer(host)), 422)
    for params in ({"from": "x"}, {"from": day(5), "to": day(4)}, {"from": day(0), "to": day(900)}):
        assert_problem(server.get(path, params=params), 422)
    # What a request cannot mean is refused, naming where, and nothing of it applied: an amount on a blocked range,
    # a night blocked and unblocked at once, a price past the cap.
    for bad, field in (({"blocked": [{"from": day(30), "to": day(32), "amount": 5}]}, "blocked[0].amount"),
                       ({"blocked": [{"from": day(30), "to": day(33)}], "unblocked": [{"from": day(40), "to": day(41)}, {"from": day(32), "to": day(34)}]}, "unblocked[1]"),
                       ({"prices": [{"from": day(30), "to": day(31), "amount": 10_000_000_000_000}]}, "prices[0].amount")):
        problem = assert_problem(server.request("PUT", path, json=bad, headers=bearer(host)), 422)
        assert [error["field"] for error in problem["errors"]] == [field], problem
    assert all(d["available"] for d in server.get(path, params={"from": day(30), "to": day(34)}).json()["days"])


def test_photos_are_ordered_and_removable(market):
    server, host, _, _ = market
    listing = create(server, host)
    path = f"/v1/listings/{listing['id']}/photos"
    ids = []
    for _ in range(3):
        response = server.request("POST", path, data=PNG, headers={**bearer(host), "Content-Type": "image/png"})
        assert response.status_code == 201, response.text
        assert server.get(response.json()["url"]).content == PNG
        ids.append(response.json()["id"])
    assert [p["id"] for p in server.get(f"/v1/listings/{listing['id']}").json()["photos"]] == ids
    url = server.get(f"/v1/listings/{listing['id']}").json()["photos"][1]["url"]
    assert server.request("DELETE", f"{path}/{ids[1]}", headers=bearer(host)).status_code == 204
    assert [p["id"] for p in server.get(f"/v1/listings/{listing['id']}").json()["photos"]] == [ids[0], ids[2]]
    assert_problem(server.get(url), 404)
    assert_problem(server.request("DELETE", f"{path}/{ids[1]}", headers=bearer(host)), 404)
    assert_problem(server.request("POST", path, data=b"GIF89a", headers={**bearer(host), "Content-Type": "image/png"}), 422)
    assert_problem(server.request("POST", path, data=PNG, headers={**bearer(host), "Content-Type": "text/plain"}), 415)


def test_amenities_and_currencies(market):
    server, _, _, _ = market
    amenities = server.get("/v1/amenities").json()
    assert len(amenities) >= 40 and {"code": "wifi"}.items() <= next(a for a in amenities if a["code"] == "wifi").items()
    currencies = {c["code"]: c["exponent"] for c in server.get("/v1/currencies").json()}
    assert (currencies["USD"], currencies["JPY"], currencies["BHD"]) == (2, 0, 3)
    # Supported means convertible: exactly the catalogue's currencies the shipped FX table has a rate for.
    data = Path(__file__).resolve().parents[2] / "data"
    fx = json.loads((data / "fx-rates.json").read_text())
    catalogue = json.loads((data / "currencies.json").read_text())
    catalogue = catalogue if isinstance(catalogue, list) else catalogue["currencies"]
    convertible = {c["code"] for c in catalogue if c["code"] in fx["rates"] or c["code"] == fx["base"]}
    assert set(currencies) == convertible and "AFN" not in currencies


def test_a_listing_cannot_be_priced_in_a_currency_that_cannot_be_converted(market):
    server, host, _, _ = market
    response = server.request("POST", "/v1/listings", json=listing_body(pricePerNight={"amount": 150_000, "currency": "AFN"},
                                                                        cleaningFee={"amount": 0, "currency": "AFN"}), headers=bearer(host))
    problem = assert_problem(response, 422, "validation_failed")
    assert "pricePerNight.currency" in [error["field"] for error in problem["errors"]], problem
    listing = create(server, host)
    response = server.request("PATCH", f"/v1/listings/{listing['id']}", json={"pricePerNight": {"amount": 150_000, "currency": "AFN"},
                                                                              "cleaningFee": {"amount": 0, "currency": "AFN"}}, headers=bearer(host))
    assert_problem(response, 422, "validation_failed")
    assert server.get(f"/v1/listings/{listing['id']}").json()["pricePerNight"] == {"amount": 15000, "currency": "SGD"}
    assert_problem(server.get("/v1/search/listings", params={"currency": "AFN"}), 422, "validation_failed")


def test_host_and_admin_lists(run_cli, server_factory, data_dir):
    assert run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV).returncode == 0
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    admin = login(server, "root@example.com").json()["accessToken"]
    host = register(server, role="host")["accessToken"]
    mine = [create(server, host, title=f"Mine {i}")["id"] for i in range(5)]
    create(server, register(server, role="host")["accessToken"], title="Theirs")
    seen, cursor = [], None
    while True:
        page = server.get("/v1/hosts/me/listings", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=bearer(host)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(mine)), "newest first, each once"
    assert_problem(server.get("/v1/admin/listings", headers=bearer(host)), 403)
    delisted = server.request("PATCH", f"/v1/admin/listings/{mine[0]}", json={"status": "inactive"}, headers=bearer(admin))
    assert delisted.status_code == 200 and delisted.json()["status"] == "inactive"
    assert_problem(server.get(f"/v1/listings/{mine[0]}"), 404)
    # Its host and admins still read it, signed in; anyone else does not see it; a bad token is refused, not ignored.
    for reader in (host, admin):
        seen = server.get(f"/v1/listings/{mine[0]}", headers=bearer(reader))
        assert seen.status_code == 200 and seen.json()["status"] == "inactive", seen.text
    assert_problem(server.get(f"/v1/listings/{mine[0]}", headers=bearer(register(server)["accessToken"])), 404)
    assert_problem(server.get(f"/v1/listings/{mine[1]}", headers=bearer("not-a-token")), 401)
    assert server.get(f"/v1/listings/{mine[1]}").status_code == 200, "an active listing needs no sign-in"
    assert mine[0] not in [i["id"] for i in server.get("/v1/search/listings", params={"limit": 100}).json()["items"]]
    inactive = server.get("/v1/admin/listings", params={"status": "inactive"}, headers=bearer(admin)).json()["items"]
    assert [i["id"] for i in inactive] == [mine[0]]
    assert_problem(server.request("PATCH", f"/v1/admin/listings/{mine[1]}", json={"status": "deleted"}, headers=bearer(admin)), 422)
    assert_problem(server.get("/v1/admin/listings", params={"status": "gone"}, headers=bearer(admin)), 422)


def test_a_suspended_or_demoted_hosts_listings_leave_search_and_bookings_until_the_host_is_back(run_cli, server_factory, data_dir):
    assert run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV).returncode == 0
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    admin = login(server, "root@example.com").json()["accessToken"]
    host = register(server, role="host")
    token, host_id = host["accessToken"], host["user"]["id"]
    shown = create(server, token, title="Shown")["id"]
    paused = create(server, token, title="Paused")["id"]
    assert server.request("PATCH", f"/v1/admin/listings/{paused}", json={"status": "inactive"}, headers=bearer(admin)).status_code == 200
    guest = register(server)["accessToken"]

    def found():
        return sorted(i["id"] for i in server.get("/v1/search/listings", params={"location": "Singapore", "limit": 100}).json()["items"])

    def book():
        return server.request("POST", "/v1/bookings", headers=bearer(guest),
                              json={"listingId": shown, "checkIn": day(5), "checkOut": day(7), "guests": 1, "paymentMethod": "pm_card_visa"})

    def admin_sets(**change):
        response = server.request("PATCH", f"/v1/admin/users/{host_id}", json=change, headers=bearer(admin))
        assert response.status_code == 200, response.text

    assert found() == [shown]
    for change, back in (({"suspended": True}, {"suspended": False}), ({"role": "guest"}, None)):
        admin_sets(**change)
        assert found() == [], change
        for part in ("", "/availability", "/reviews", f"/quote?checkIn={day(5)}&checkOut={day(7)}"):
            assert_problem(server.get(f"/v1/listings/{shown}{part}"), 404)
            assert_problem(server.get(f"/v1/listings/{shown}{part}", headers=bearer(guest)), 404)
            assert server.get(f"/v1/listings/{shown}{part}", headers=bearer(admin)).status_code == 200, part
        seen = server.get(f"/v1/listings/{shown}", headers=bearer(admin)).json()
        assert seen["status"] == "active" and seen["listed"] is False, seen
        assert_problem(book(), 404)
        if back:
            admin_sets(**back)
        else:  # switched back to a guest: signing in again and becoming a host lists them again
            again = login(server, host["user"]["email"]).json()["accessToken"]
            assert server.request("POST", "/v1/users/me/host", headers=bearer(again)).status_code == 200
        assert found() == [shown], "back as each was: the delisted one stays delisted"
        mine = server.get(f"/v1/listings/{paused}", headers=bearer(admin)).json()
        assert mine["status"] == "inactive" and mine["listed"] is False
    assert server.get(f"/v1/listings/{shown}").json()["listed"] is True
    # The delisted one kept its own status, and nothing else: relisted, it is found again.
    assert server.request("PATCH", f"/v1/admin/listings/{paused}", json={"status": "active"}, headers=bearer(admin)).status_code == 200
    assert found() == sorted([shown, paused])
    assert_problem(server.request("PATCH", f"/v1/admin/users/{host_id}", json={"suspended": None}, headers=bearer(admin)), 422)
    booked = book()
    assert booked.status_code == 201 and booked.json()["status"] == "confirmed", booked.text


# --- search -----------------------------------------------------------------------------------------

CITIES = [("Singapore", "Singapore", 1.29, 103.85, "Asia/Singapore"), ("São Paulo", "Brazil", -23.55, -46.63, "America/Sao_Paulo"),
          ("Zürich", "Switzerland", 47.37, 8.54, "Europe/Zurich")]
AMENITIES = ["wifi", "kitchen", "pool", "washer", "tv"]


def seed_market(server, token, count, rng):
    made = []
    for i in range(count):
        city, country, lat, lng, tz = rng.choice(CITIES)
        min_nights = rng.randint(1, 3)
        body = listing_body(
            title=f"L{i}", propertyType=rng.choice(["apartment", "house"]),
            location={"address": "", "city": city, "country": country, "lat": lat + rng.uniform(-0.2, 0.2), "lng": lng + rng.uniform(-0.2, 0.2), "timezone": tz},
            pricePerNight={"amount": rng.randint(50, 500) * 100, "currency": "SGD"}, cleaningFee={"amount": 0, "currency": "SGD"},
            maxGuests=rng.randint(1, 6), amenities=sorted(rng.sample(AMENITIES, rng.randint(0, 3))),
            minNights=min_nights, maxNights=min_nights + rng.randint(0, 10), instantBook=rng.random() < 0.5)
        listing = server.request("POST", "/v1/listings", json=body, headers=bearer(token)).json()
        blocked = []
        if rng.random() < 0.5:
            start = rng.randint(1, 40)
            blocked = [(start, start + rng.randint(1, 6))]
            server.request("PUT", f"/v1/listings/{listing['id']}/availability",
                           json={"blocked": [{"from": day(a), "to": day(b)} for a, b in blocked]}, headers=bearer(token))
        made.append((listing, blocked))
    return made


def matches(listing, blocked, params):
    if "location" in params and params["location"].lower() not in (listing["location"]["city"].lower().replace("ã", "a").replace("ü", "u"), listing["location"]["country"].lower()):
        return False
    if "guests" in params and listing["maxGuests"] < params["guests"]:
        return False
    price = listing["pricePerNight"]["amount"]
    if "minPrice" in params and price < params["minPrice"] or "maxPrice" in params and price > params["maxPrice"]:
        return False
    if "amenities" in params and not set(params["amenities"].split(",")) <= set(listing["amenities"]):
        return False
    if "propertyType" in params and listing["propertyType"] != params["propertyType"]:
        return False
    if "instantBook" in params and listing["instantBook"] != (params["instantBook"] == "true"):
        return False
    if "checkIn" in params:
        a, b = params["_stay"]
        nights = b - a
        if nights < listing["minNights"] or nights > listing["maxNights"]:
            return False
        if any(max(a, x) < min(b, y) for x, y in blocked):
            return False
    return True


def test_search_agrees_with_brute_force_and_pages_cleanly(market):
    server, host, _, _ = market
    rng = random.Random(20261125)
    made = seed_market(server, host, 60, rng)
    for _ in range(40):
        params = {}
        if rng.random() < 0.6:
            params["location"] = rng.choice(["SINGAPORE", "sao paulo", "Zurich", "brazil"])
        if rng.random() < 0.5:
            params["guests"] = rng.randint(1, 6)
        if rng.random() < 0.5:
            low = rng.randint(0, 400) * 100
            params["minPrice"], params["maxPrice"] = low, low + rng.randint(0, 300) * 100
        if rng.random() < 0.4:
            params["amenities"] = ",".join(rng.sample(AMENITIES, rng.randint(1, 2)))
        if rng.random() < 0.3:
            params["propertyType"] = rng.choice(["apartment", "house"])
        if rng.random() < 0.3:
            params["instantBook"] = rng.choice(["true", "false"])
        if rng.random() < 0.5:
            a = rng.randint(1, 40)
            b = a + rng.randint(1, 7)
            params["checkIn"], params["checkOut"], params["_stay"] = day(a), day(b), (a, b)
        sort = rng.choice(["price_asc", "price_desc", "newest"])
        expected = [l for l, blocked in made if matches(l, blocked, params)]
        expected.sort(key=lambda l: ({"price_asc": l["pricePerNight"]["amount"], "price_desc": -l["pricePerNight"]["amount"],
                                      "newest": 0}[sort], l["id"]))
        query = {k: v for k, v in params.items() if not k.startswith("_")}
        seen, cursor, total = [], None, None
        while True:
            response = server.get("/v1/search/listings", params={**query, "sort": sort, "limit": 7, **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, response.text
            page = response.json()
            total = page["total"] if total is None else total
            seen += [item["id"] for item in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert total == len(expected), (params, sort)
        if sort == "newest":
            assert sorted(seen) == sorted(l["id"] for l in expected)
        else:
            assert seen == [l["id"] for l in expected], (params, sort)


def test_concurrent_partial_edits_all_land(market):
    """Partial edits of different fields sent at once: every one of them is in the listing
    afterwards (none is worked out over details another has replaced)."""
    server, host, _, _ = market
    for round in range(4):
        listing = create(server, host)
        edits = [
            {"title": f"Edited {round}"}, {"description": f"Round {round}."}, {"maxGuests": 7}, {"bedrooms": 5},
            {"beds": 6}, {"bathrooms": 2.5}, {"minNights": 2}, {"maxNights": 20}, {"instantBook": False},
            {"cancellationPolicy": "strict"}, {"propertyType": "house"}, {"amenities": ["wifi", "kitchen", "pool"]},
        ]
        barrier = threading.Barrier(len(edits))
        statuses = []

        def send(edit):
            barrier.wait()
            statuses.append(server.request("PATCH", f"/v1/listings/{listing['id']}", json=edit, headers=bearer(host)).status_code)

        threads = [threading.Thread(target=send, args=(edit,)) for edit in edits]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * len(edits)
        final = server.get(f"/v1/listings/{listing['id']}").json()
        for edit in edits:
            for field, value in edit.items():
                got = sorted(final[field]) if field == "amenities" else final[field]
                assert got == (sorted(value) if field == "amenities" else value), f"round {round}: the edit {edit} was lost"


@pytest.mark.parametrize("sort", ["price_asc", "price_desc"])
def test_paging_through_a_search_while_hosts_change_prices_shows_every_listing_once(market, sort):
    """Every page sorts as of the first: a listing repriced between pages keeps its place in this
    search, so it is neither shown again nor skipped."""
    server, host, _, _ = market
    rng = random.Random(f"reprice-{sort}")
    location = {"address": "", "city": "Repriceville", "country": "Nowhere", "lat": 10.0, "lng": 10.0, "timezone": "UTC"}
    ids = [create(server, host, location=location, pricePerNight={"amount": 10_000 + 500 * i, "currency": "SGD"},
                  cleaningFee={"amount": 0, "currency": "SGD"})["id"] for i in range(24)]
    seen, cursor = [], None
    while True:
        page = server.get("/v1/search/listings", params={"location": "repriceville", "sort": sort, "limit": 5,
                                                          **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
        # Six hosts reprice between pages, some across the cursor either way.
        for lid in rng.sample(ids, 6):
            price = {"amount": rng.randint(5_000, 30_000), "currency": "SGD"}
            response = server.request("PATCH", f"/v1/listings/{lid}", json={"pricePerNight": price}, headers=bearer(host))
            assert response.status_code == 200, response.text
    assert len(seen) == len(set(seen)), "a listing shown twice"
    assert set(seen) == set(ids), f"skipped {set(ids) - set(seen)}"


def test_pagination_never_repeats_or_skips_while_listings_are_added(market):
    server, host, _, _ = market
    rng = random.Random(7)
    for listing, _ in seed_market(server, host, 30, rng):
        pass
    stop = threading.Event()

    def add_more():
        while not stop.is_set():
            create(server, host, title="late", pricePerNight={"amount": rng.randint(50, 500) * 100, "currency": "SGD"})

    writer = threading.Thread(target=add_more)
    writer.start()
    try:
        seen, cursor, pages = [], None, 0
        first_page_ids = None
        while True:
            page = server.get("/v1/search/listings", params={"sort": "newest", "limit": 5, **({"cursor": cursor} if cursor else {})}).json()
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["nextCursor"]
            if not cursor:
                break
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen)), "no listing twice"
    everything = set()
    cursor = None
    while True:
        page = server.get("/v1/search/listings", params={"sort": "newest", "limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        everything |= {item["id"] for item in page["items"]}
        cursor = page["nextCursor"]
        if not cursor:
            break
    # Every listing older than the first page's newest was seen: inserts land before the cursor.
    newest_first = seen[0]
    listing_times = {i: server.get(f"/v1/listings/{i}").json()["createdAt"] for i in everything}
    older = {i for i in everything if (listing_times[i], i) <= (listing_times[newest_first], newest_first)}
    assert older <= set(seen), "nothing older than where paging started was skipped"


@pytest.mark.parametrize("params, field", [
    ({"minPrice": 5, "maxPrice": 1}, "minPrice"), ({"checkIn": day(5), "checkOut": day(5)}, "checkOut"),
    ({"checkIn": day(5)}, "checkOut"), ({"radiusKm": 5}, "radiusKm"), ({"lat": 1.3}, "lng"), ({"sort": "distance"}, "sort"),
    ({"sort": "cheapest"}, "sort"), ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "0,10,1,5"}, "bbox"), ({"guests": 0}, "guests"),
    ({"amenities": "wifi,teleporter"}, "amenities"), ({"amenities": "wifi\n, kitchen"}, "amenities"),
    ({"currency": "XXX", "maxPrice": 10}, "currency"), ({"limit": 101}, "limit"),
    ({"cursor": "nonsense"}, "cursor"), ({"instantBook": "maybe"}, "instantBook"), ({"checkIn": "2020-01-01", "checkOut": "2020-01-03"}, "checkIn"),
    ({"lat": 1.3, "lng": 103.8, "radiusKm": 5, "bbox": "103,1,104,2"}, "bbox"),
    ({"checkIn": day(800), "checkOut": day(802)}, "checkOut"),
    ({"minPrice": 10 ** 13}, "minPrice"),
])
def test_search_refuses_bad_parameters(market, params, field):
    server, _, _, _ = market
    problem = assert_problem(server.get("/v1/search/listings", params=params), 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]], problem


def test_a_parameter_given_twice_is_refused_not_guessed(market):
    server, host, _, _ = market
    params = [("location", "Singapore"), ("guests", 2), ("guests", 3), ("sort", "price_asc"), ("sort", "price_asc")]
    problem = assert_problem(server.get("/v1/search/listings", params=params), 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == ["guests", "sort"], problem
    assert_problem(server.get("/v1/hosts/me/listings", params=[("limit", 1), ("limit", 2)], headers=bearer(host)), 422, "validation_failed")
    # One of each, and lists as one comma-separated value, are answered.
    assert server.get("/v1/search/listings", params={"location": "Singapore", "amenities": "wifi,kitchen"}).status_code == 200


def test_a_search_near_today_or_the_horizon_shows_a_listing_only_where_a_booking_would_be_taken(market):
    """Listings' todays differ by up to a day either side of UTC's: at either end of the bookable
    window, each listing's own today and horizon decide, as they do for its quote and booking."""
    server, host, _, _ = market
    zones = {"Pacific/Pago_Pago": (-14.28, -170.7), "Pacific/Kiritimati": (1.87, -157.4), "UTC": (0.0, 0.0)}
    listings = {}
    for zone, (lat, lng) in zones.items():
        location = {"address": "", "city": "Edgetown", "country": "Nowhere", "lat": lat, "lng": lng, "timezone": zone}
        listings[create(server, host, location=location)["id"]] = zone
    utc_today = dt.datetime.now(dt.timezone.utc).date()
    stays = [(utc_today + dt.timedelta(days=offset), 1) for offset in (-1, 0, 1, 2)]
    stays += [(utc_today + dt.timedelta(days=731 + offset - 2), 2) for offset in (-1, 0, 1)]
    seen_both = False
    for start, nights in stays:
        end = start + dt.timedelta(days=nights)
        params = {"location": "edgetown", "checkIn": start.isoformat(), "checkOut": end.isoformat()}
        found = server.get("/v1/search/listings", params=params)
        assert found.status_code == 200, found.text
        shown = {item["id"] for item in found.json()["items"]}
        bookable = set()
        for lid in listings:
            answer = server.get(f"/v1/listings/{lid}/quote", params={"checkIn": start.isoformat(), "checkOut": end.isoformat()})
            assert answer.status_code in (200, 422), answer.text
            if answer.status_code == 200 and answer.json()["available"]:
                bookable.add(lid)
        assert shown == bookable, (start.isoformat(), nights, {listings[i] for i in shown}, {listings[i] for i in bookable})
        seen_both = seen_both or (0 < len(shown) < len(listings))
    assert seen_both, "some stay at the edges is bookable in some zones and not others"


def test_a_cursor_whose_key_is_not_a_finite_number_is_refused(market):
    server, host, _, _ = market
    for _ in range(3):
        create(server, host)
    cursor = server.get("/v1/search/listings", params={"sort": "price_asc", "limit": 1}).json()["nextCursor"]
    parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")  # version|sort|key bits|id|...
    for bits in (0x7FF8000000000000, 0x7FF0000000000000, 0xFFF0000000000000):  # NaN, +inf, -inf
        parts[2] = str(bits)
        forged = base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")
        problem = assert_problem(server.get("/v1/search/listings", params={"sort": "price_asc", "limit": 1, "cursor": forged}), 422, "validation_failed")
        assert [error["field"] for error in problem["errors"]] == ["cursor"], problem
    # The first page's marks (one per shard): unreadable ones are refused too.
    parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
    def with_marks(marks):
        return base64.urlsafe_b64encode("|".join(parts[:4] + [marks]).encode()).decode().rstrip("=")
    assert server.get("/v1/search/listings", params={"sort": "price_asc", "limit": 1, "cursor": with_marks(parts[4])}).status_code == 200
    for marks in ("zz:1", "1:-4", "1", "1:2:3"):
        forged = with_marks(marks)
        assert_problem(server.get("/v1/search/listings", params={"sort": "price_asc", "limit": 1, "cursor": forged}), 422, "validation_failed")


def test_search_by_radius_bbox_distance_and_currency(market):
    server, host, _, _ = market
    near = create(server, host, location={"address": "", "city": "Singapore", "country": "Singapore", "lat": 1.300, "lng": 103.850, "timezone": "Asia/Singapore"})
    far = create(server, host, location={"address": "", "city": "Singapore", "country": "Singapore", "lat": 1.400, "lng": 103.950, "timezone": "Asia/Singapore"},
                 pricePerNight={"amount": 40000, "currency": "SGD"})
    around = server.get("/v1/search/listings", params={"lat": 1.3, "lng": 103.85, "radiusKm": 5}).json()
    assert [i["id"] for i in around["items"]] == [near["id"]] and around["items"][0]["distanceKm"] < 0.01
    both = server.get("/v1/search/listings", params={"lat": 1.3, "lng": 103.85, "sort": "distance"}).json()["items"]
    assert [i["id"] for i in both] == [near["id"], far["id"]] and both[1]["distanceKm"] > 14
    boxed = server.get("/v1/search/listings", params={"bbox": "103.9,1.35,104.0,1.45"}).json()["items"]
    assert [i["id"] for i in boxed] == [far["id"]]
    # Spaces and tabs around the parts of a list are ignored (percent-encoded here: `+` is a space only in `location`).
    spaced = server.get("/v1/search/listings?bbox=%20103.9,%201.35%20,104.0,%091.45&amenities=%20wifi%20,%09kitchen%20")
    assert [i["id"] for i in spaced.json()["items"]] == [far["id"]], spaced.text
    # 150 SGD is about 115 USD: within 100-120 USD, 400 SGD is not.
    usd = server.get("/v1/search/listings", params={"currency": "USD", "minPrice": 10000, "maxPrice": 12000}).json()["items"]
    assert [i["id"] for i in usd] == [near["id"]]
    # Prices past 2^31 minor units (IDR, VND) are searchable, with or without an upper bound.
    rich = create(server, host, pricePerNight={"amount": 5_000_000_000, "currency": "SGD"})
    assert [i["id"] for i in server.get("/v1/search/listings", params={"minPrice": 3_000_000_000}).json()["items"]] == [rich["id"]]
    assert server.get("/v1/search/listings", params={"maxPrice": 5_000_000_000}).json()["total"] == 3


def test_the_openapi_document_describes_listings_and_their_answers(market):
    import jsonschema
    server, host, _, _ = market
    document = server.get("/openapi.json").json()
    for method, path in (("post", "/v1/listings"), ("get", "/v1/listings/{id}"), ("patch", "/v1/listings/{id}"), ("delete", "/v1/listings/{id}"),
                         ("get", "/v1/listings/{id}/availability"), ("put", "/v1/listings/{id}/availability"), ("post", "/v1/listings/{id}/photos"),
                         ("delete", "/v1/listings/{id}/photos/{photoId}"), ("get", "/v1/hosts/me/listings"), ("get", "/v1/amenities"),
                         ("get", "/v1/search/listings"), ("get", "/v1/admin/listings"), ("patch", "/v1/admin/listings/{id}"), ("get", "/v1/currencies")):
        assert method in document["paths"].get(path, {}), (method, path)
    # A query parameter given twice is 422 everywhere: every operation that takes one says so.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
                assert "422" in operation["responses"], (method, path)

    def schema(name):
        return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}

    listing = create(server, host)
    jsonschema.validate(listing, schema("Listing"))
    jsonschema.validate(server.get("/v1/search/listings").json(), schema("SearchPage"))
    jsonschema.validate(server.get(f"/v1/listings/{listing['id']}/availability").json(), schema("Availability"))
    jsonschema.validate(server.get("/v1/amenities").json(), schema("Amenities"))


def test_search_results_carry_any_text_exactly(market):
    """Summaries are written without JSONEncoder: quotes, backslashes, controls and emoji survive."""
    server, host, _, _ = market
    title = 'Say "hi"\\n\n\t✓ 🏠 \\ </script> \u0001'
    listing = create(server, host, title=title, location={"address": "1 Rd", "city": "Zürich \"Old\" Town", "country": "Switzerland",
                                                          "lat": 47.37, "lng": 8.54, "timezone": "Europe/Zurich"})
    response = server.get("/v1/search/listings", params={"location": 'zürich "old" town', "lat": 47.37, "lng": 8.54, "sort": "distance"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["total"] == 1 and body["nextCursor"] is None
    item = body["items"][0]
    assert item["id"] == listing["id"] and item["title"] == title and item["city"] == 'Zürich "Old" Town'
    assert item["rating"] is None and item["photoUrl"] is None and item["distanceKm"] == 0
    assert item["pricePerNight"] == {"amount": 15000, "currency": "SGD"} and item["lat"] == 47.37 and item["lng"] == 8.54
    assert set(item) == {"id", "title", "propertyType", "city", "country", "lat", "lng", "pricePerNight", "maxGuests", "bedrooms",
                         "instantBook", "rating", "reviewCount", "photoUrl", "distanceKm"}


def test_search_summaries_follow_every_change_of_their_listing(market):
    """Search shows every change of a listing in the very next search: an edit, a photo added or
    removed, blocked nights; and a distance is each query's own."""
    server, host, _, _ = market
    city = f"Revisia {random.randrange(10**9)}"
    listing = create(server, host, title="First", location={"address": "1 Rd", "city": city, "country": "Singapore",
                                                            "lat": 1.3, "lng": 103.8, "timezone": "Asia/Singapore"})
    path = f"/v1/listings/{listing['id']}"

    def shown(**params) -> list[dict]:
        response = server.get("/v1/search/listings", params={"location": city, **params})
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert [item["title"] for item in shown()] == ["First"]
    assert shown() == shown(), "a repeated search answers alike"
    assert server.request("PATCH", path, json={"title": "Second", "pricePerNight": {"amount": 17000, "currency": "SGD"}},
                          headers=bearer(host)).status_code == 200
    [item] = shown()
    assert item["title"] == "Second" and item["pricePerNight"] == {"amount": 17000, "currency": "SGD"}
    photo = server.request("POST", f"{path}/photos", data=PNG, headers={**bearer(host), "Content-Type": "image/png"})
    assert photo.status_code == 201, photo.text
    assert shown()[0]["photoUrl"] == photo.json()["url"]
    assert server.request("DELETE", f"{path}/photos/{photo.json()['id']}", headers=bearer(host)).status_code == 204
    assert shown()[0]["photoUrl"] is None
    assert server.request("PUT", f"{path}/availability", json={"blocked": [{"from": day(40), "to": day(42)}]},
                          headers=bearer(host)).status_code == 200
    assert shown(checkIn=day(40), checkOut=day(41)) == []
    assert shown(checkIn=day(42), checkOut=day(43))[0]["title"] == "Second"
    # Distances differ per query on the same rendered summary.
    assert shown(lat=1.3, lng=103.8, sort="distance")[0]["distanceKm"] == 0
    assert shown(lat=1.3, lng=103.9, sort="distance")[0]["distanceKm"] > 10
    assert "distanceKm" not in shown()[0]
    assert server.request("PATCH", path, json={"title": "Third"}, headers=bearer(host)).status_code == 200
    assert [item["title"] for item in shown()] == ["Third"]
