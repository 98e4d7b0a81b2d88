"""Bookings end to end with the sandbox payment provider: instant book and request to book, the
hold's rules, declined cards releasing nights, races for the same nights, cancellations with
refunds by policy, who may see what, lists, and restarts."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt

import pytest

from accounts_e2e import ACCOUNTS_ENV, PASSWORD, bearer, login, register
from roost_e2e import assert_problem
from test_listings import create, day

VISA = "pm_card_visa"


@pytest.fixture
def stays(server_factory, data_dir, run_cli):
    run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV)
    server = server_factory(data_dir, env=ACCOUNTS_ENV, name="stays").start()
    host = register(server, role="host")
    guest = register(server)
    admin = login(server, "root@example.com").json()["accessToken"]
    return server, host["accessToken"], guest["accessToken"], admin, host["user"]["id"], guest["user"]["id"]


def book(server, token, listing_id, check_in=20, nights=3, **extra):
    body = {"listingId": listing_id, "checkIn": day(check_in), "checkOut": day(check_in + nights), "guests": 2, "paymentMethod": VISA}
    body.update(extra)
    return server.request("POST", "/v1/bookings", json={k: v for k, v in body.items() if v is not None}, headers=bearer(token))


def quote(server, listing_id, check_in=20, nights=3, **params):
    return server.get(f"/v1/listings/{listing_id}/quote", params={"checkIn": day(check_in), "checkOut": day(check_in + nights), **params}).json()


def test_an_instant_booking_is_paid_and_confirmed_at_the_quoted_price(stays):
    server, host, guest, admin, host_id, guest_id = stays
    listing = create(server, host)
    expected = quote(server, listing["id"], guests=2)
    response = book(server, guest, listing["id"])
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["guestId"] == guest_id and booking["hostId"] == host_id
    assert booking["checkIn"] == day(20) and booking["checkOut"] == day(23) and booking["nights"] == 3 and booking["guests"] == 2
    assert {k: booking["price"][k] for k in expected["price"]} == expected["price"], "the booking keeps the quote's price"
    assert booking["payment"]["status"] == "captured" and booking["payment"]["captured"] == expected["price"]["total"]
    assert booking["cancellationPolicy"] == "moderate" and booking["holdExpiresAt"] is None
    assert quote(server, listing["id"])["available"] is False
    payments = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()
    assert [p["status"] for p in payments] == ["captured"] and payments[0]["amount"] == expected["price"]["total"]
    # A later price change never touches the booking.
    server.request("PATCH", f"/v1/listings/{listing['id']}", json={"pricePerNight": {"amount": 99_000, "currency": "SGD"}}, headers=bearer(host))
    assert server.get(f"/v1/bookings/{booking['id']}", headers=bearer(guest)).json()["price"] == booking["price"]


def test_only_its_guest_its_host_and_admins_see_a_booking(stays):
    server, host, guest, admin, _, _ = stays
    booking = book(server, guest, create(server, host)["id"]).json()
    stranger = register(server)["accessToken"]
    other_host = register(server, role="host")["accessToken"]
    for token, status in ((guest, 200), (host, 200), (admin, 200), (stranger, 404), (other_host, 404)):
        assert server.get(f"/v1/bookings/{booking['id']}", headers=bearer(token)).status_code == status
        assert server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(token)).status_code == status
    assert_problem(server.get(f"/v1/bookings/{booking['id']}"), 401)
    assert_problem(server.get("/v1/bookings/bkg_doesnotexist000", headers=bearer(guest)), 404)
    assert_problem(server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(stranger)), 404)


def test_the_hold_rules(stays):
    server, host, guest, _, _, _ = stays
    listing = create(server, host, minNights=2, maxNights=10, maxGuests=3)
    lid = listing["id"]
    assert book(server, guest, lid, check_in=30, nights=3).status_code == 201
    assert_problem(book(server, guest, lid, check_in=31, nights=3), 409)
    assert book(server, guest, lid, check_in=31, nights=3).json()["code"] == "dates_unavailable"
    assert book(server, guest, lid, check_in=33, nights=2).status_code == 201, "check-out day is the next check-in"
    assert book(server, guest, lid, check_in=28, nights=2).status_code == 201, "check-out on the next stay's check-in day"
    cases = [
        ({"checkIn": day(-3), "checkOut": day(-1)}, "checkIn"),
        ({"checkIn": day(50), "checkOut": day(51)}, "checkOut"),   # min 2 nights
        ({"checkIn": day(50), "checkOut": day(61)}, "checkOut"),   # max 10 nights
        ({"checkIn": day(50), "checkOut": day(50)}, "checkOut"),
        ({"guests": 4}, "guests"), ({"guests": 0}, "guests"), ({"guests": None}, "guests"),
        ({"paymentMethod": ""}, "paymentMethod"),
        ({"currency": "XXX"}, "currency"),
        ({"checkIn": "2027-02-30"}, "checkIn"),
    ]
    for change, field in cases:
        body = {"listingId": lid, "checkIn": day(50), "checkOut": day(53), "guests": 2, "paymentMethod": VISA, **change}
        response = server.request("POST", "/v1/bookings", json={k: v for k, v in body.items() if v is not None}, headers=bearer(guest))
        assert_problem(response, 422)
        assert field in [e["field"] for e in response.json()["errors"]], (change, response.text)
    assert_problem(server.request("POST", "/v1/bookings", json={"listingId": lid, "checkIn": day(50), "checkOut": day(53), "paymentMethod": VISA,
                                                                "coupon": "FREE"}, headers=bearer(guest)), 422)
    assert_problem(book(server, guest, "lst_nothingatall000"), 404)
    assert_problem(book(server, host, lid, check_in=70), 403)
    assert_problem(server.request("POST", "/v1/bookings", json={"listingId": lid}), 401)


def test_a_declined_card_releases_the_nights(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    # Only the provider knows its payment methods: an unknown one fails like a declined card (the nights were held).
    for method in ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds", "pm_card_bogus"):
        response = book(server, guest, lid, paymentMethod=method)
        assert_problem(response, 402)
        assert response.json()["code"] == "payment_failed"
        assert method != "pm_card_bogus" or "paymentMethod" in response.json()["detail"]
        assert quote(server, lid)["available"] is True, f"{method}: the nights are free again"
    assert book(server, guest, lid).status_code == 201
    failed = server.get("/v1/users/me/bookings", params={"status": "canceled"}, headers=bearer(guest)).json()["items"]
    assert len(failed) == 3 and {b["cancellation"]["by"] for b in failed} == {"system"} and {b["payment"]["status"] for b in failed} == {"none"}


def test_forty_guests_racing_for_the_same_nights_make_one_booking(stays):
    server, host, _, _, _, _ = stays
    lid = create(server, host)["id"]
    guests = [register(server)["accessToken"] for _ in range(8)]
    with cf.ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda i: book(server, guests[i % 8], lid, check_in=40, nights=4).status_code, range(40)))
    assert statuses.count(201) == 1 and statuses.count(409) == 39, statuses
    held = server.get("/v1/hosts/me/bookings", params={"status": "confirmed"}, headers=bearer(host)).json()["items"]
    assert len(held) == 1


def test_a_request_to_book_waits_for_the_host(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host, instantBook=False)["id"]
    pending = book(server, guest, lid).json()
    assert pending["status"] == "pending" and pending["payment"]["status"] == "authorized" and pending["holdExpiresAt"] is not None
    assert quote(server, lid)["available"] is False, "a pending request holds its nights"
    assert_problem(server.request("POST", f"/v1/bookings/{pending['id']}/accept", headers=bearer(guest)), 403)
    accepted = server.request("POST", f"/v1/bookings/{pending['id']}/accept", headers=bearer(host))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed" and accepted.json()["payment"]["status"] == "captured"
    assert_problem(server.request("POST", f"/v1/bookings/{pending['id']}/accept", headers=bearer(host)), 409)

    second = book(server, guest, lid, check_in=40).json()
    declined = server.request("POST", f"/v1/bookings/{second['id']}/decline", headers=bearer(host)).json()
    assert declined["status"] == "canceled" and declined["cancellation"]["by"] == "host" and declined["payment"]["status"] == "voided"
    assert quote(server, lid, check_in=40)["available"] is True
    assert_problem(server.request("POST", f"/v1/bookings/{second['id']}/decline", headers=bearer(host)), 409)
    instant = book(server, guest, create(server, host)["id"]).json()
    assert_problem(server.request("POST", f"/v1/bookings/{instant['id']}/accept", headers=bearer(host)), 409)


def test_blocks_over_booked_nights_are_the_hosts_own(stays):
    """A host blocks a month that holds a stay, then unblocks it: both are taken (unblocking was 409 while
    the block was not), the stay keeps its nights throughout, and once it is canceled they are free again."""
    server, host, guest, _, _, _ = stays
    listing = create(server, host, cancellationPolicy="flexible")["id"]
    stay = book(server, guest, listing, check_in=20, nights=3).json()
    path = f"/v1/listings/{listing}/availability"

    def free(*offsets):
        days = {d["date"]: d["available"] for d in server.get(path, params={"from": day(18), "to": day(26)}, headers=bearer(host)).json()["days"]}
        return [days[day(offset)] for offset in offsets]

    month = [{"from": day(18), "to": day(26)}]
    assert server.request("PUT", path, json={"blocked": month}, headers=bearer(host)).status_code == 200
    assert free(18, 20, 25) == [False, False, False]
    response = server.request("PUT", path, json={"unblocked": month}, headers=bearer(host))
    assert response.status_code == 200, response.text
    assert free(18, 19, 20, 21, 22, 23, 25) == [True, True, False, False, False, True, True], "the stay keeps its nights"
    assert book(server, guest, listing, check_in=21, nights=1).status_code == 409
    assert server.request("POST", f"/v1/bookings/{stay['id']}/cancel", headers=bearer(guest)).status_code == 200
    assert free(20, 21, 22) == [True, True, True]


def test_cancellations_refund_by_policy_and_release_the_nights(stays):
    server, host, guest, admin, _, _ = stays
    moderate = create(server, host, cancellationPolicy="moderate")["id"]
    strict = create(server, host, cancellationPolicy="strict")["id"]
    far = book(server, guest, moderate, check_in=30).json()
    canceled = server.request("POST", f"/v1/bookings/{far['id']}/cancel", json={"reason": "plans changed"}, headers=bearer(guest))
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "canceled" and body["cancellation"]["by"] == "guest" and body["cancellation"]["reason"] == "plans changed"
    assert body["cancellation"]["refund"] == far["price"]["total"], "moderate, 30 days ahead: full refund"
    assert body["payment"]["status"] == "refunded"
    assert quote(server, moderate, check_in=30)["available"] is True
    assert_problem(server.request("POST", f"/v1/bookings/{far['id']}/cancel", headers=bearer(guest)), 409)

    near = book(server, guest, moderate, check_in=2).json()
    assert server.request("POST", f"/v1/bookings/{near['id']}/cancel", headers=bearer(guest)).json()["cancellation"]["refund"]["amount"] == 0, \
        "moderate, 2 days ahead: nothing back"
    # strict, booked 30 days ahead and canceled at once: inside the 48 h grace window.
    graced = book(server, guest, strict, check_in=30).json()
    assert server.request("POST", f"/v1/bookings/{graced['id']}/cancel", headers=bearer(guest)).json()["cancellation"]["refund"] == graced["price"]["total"]
    # strict, 10 days ahead: no grace (less than 14 days' notice), half back.
    half = book(server, guest, strict, check_in=10).json()
    refund = server.request("POST", f"/v1/bookings/{half['id']}/cancel", headers=bearer(guest)).json()["cancellation"]["refund"]["amount"]
    total = half["price"]["total"]["amount"]
    assert refund in (total // 2, (total + 1) // 2)
    # The host canceling refunds everything, whatever the policy; so does an admin.
    for token, by in ((host, "host"), (admin, "admin")):
        stay = book(server, guest, strict, check_in=3).json()
        body = server.request("POST", f"/v1/bookings/{stay['id']}/cancel", headers=bearer(token)).json()
        assert body["cancellation"]["by"] == by and body["cancellation"]["refund"] == stay["price"]["total"]
    assert_problem(server.request("POST", f"/v1/bookings/{far['id']}/cancel", json={"why": "x"}, headers=bearer(guest)), 422)


def test_paying_in_another_currency_keeps_both_prices(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    booking = book(server, guest, lid, currency="JPY").json()
    assert booking["price"]["total"]["currency"] == "JPY" and booking["listingPrice"]["total"]["currency"] == "SGD"
    assert booking["exchangeRate"] > 50
    assert booking["price"]["total"]["amount"] == pytest.approx(booking["listingPrice"]["total"]["amount"] / 100 * booking["exchangeRate"], rel=0.001)
    assert booking["payment"]["captured"]["currency"] == "JPY"


def test_lists_page_newest_first_and_filter_by_status(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    made = [book(server, guest, lid, check_in=10 + 4 * i).json()["id"] for i in range(5)]
    server.request("POST", f"/v1/bookings/{made[0]}/cancel", headers=bearer(guest))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = server.get("/v1/users/me/bookings", params=params, headers=bearer(guest)).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    confirmed = server.get("/v1/hosts/me/bookings", params={"status": "confirmed"}, headers=bearer(host)).json()["items"]
    assert {b["id"] for b in confirmed} == set(made[1:])
    assert server.get("/v1/users/me/bookings", headers=bearer(host)).json()["items"] == [], "the host booked nothing as a guest"
    assert_problem(server.get("/v1/users/me/bookings", params={"status": "lost"}, headers=bearer(guest)), 422)
    assert_problem(server.get("/v1/users/me/bookings", params={"cursor": "!!"}, headers=bearer(guest)), 422)
    assert_problem(server.get("/v1/hosts/me/bookings", headers=bearer(guest)), 403)


def test_bookings_survive_a_restart(stays, server_factory, data_dir):
    server, host, guest, _, _, _ = stays
    lid = create(server, host, instantBook=False)["id"]
    confirmed = book(server, guest, create(server, host)["id"]).json()
    pending = book(server, guest, lid).json()
    server.stop()
    again = server_factory(data_dir, env=ACCOUNTS_ENV, name="stays-again").start()
    assert again.get(f"/v1/bookings/{confirmed['id']}", headers=bearer(guest)).json() == confirmed
    assert again.get(f"/v1/bookings/{pending['id']}", headers=bearer(guest)).json()["status"] == "pending"
    assert quote(again, lid)["available"] is False
    accepted = again.request("POST", f"/v1/bookings/{pending['id']}/accept", headers=bearer(host)).json()
    assert accepted["status"] == "confirmed" and accepted["payment"]["status"] == "captured"


def test_the_openapi_document_describes_bookings_and_their_answers(stays):
    import jsonschema
    server, host, guest, admin, _, _ = stays
    document = server.get("/openapi.json").json()
    for method, path in (("post", "/v1/bookings"), ("get", "/v1/bookings/{id}"), ("get", "/v1/bookings/{id}/payments"), ("post", "/v1/bookings/{id}/cancel"),
                         ("post", "/v1/bookings/{id}/accept"), ("post", "/v1/bookings/{id}/decline"), ("get", "/v1/users/me/bookings"),
                         ("get", "/v1/hosts/me/bookings"), ("get", "/v1/admin/bookings"), ("get", "/v1/admin/payments"),
                         ("post", "/v1/admin/payments/{id}/refund")):
        assert method in document["paths"].get(path, {}), (method, path)

    def schema(name):
        return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}

    booking = book(server, guest, create(server, host)["id"], currency="JPY").json()
    jsonschema.validate(booking, schema("Booking"))
    jsonschema.validate(server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json(), schema("Booking"))
    jsonschema.validate(server.get("/v1/users/me/bookings", headers=bearer(guest)).json(), schema("BookingPage"))
    jsonschema.validate(server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json(), schema("Payments"))
    jsonschema.validate(server.get("/v1/admin/bookings", headers=bearer(admin)).json(), schema("BookingPage"))
    jsonschema.validate(server.get("/v1/admin/payments", headers=bearer(admin)).json(), schema("PaymentPage"))
    waiting = book(server, guest, create(server, host)["id"], paymentMethod=None).json()
    jsonschema.validate(waiting, schema("Booking"))
    for method, path in (("post", "/v1/payments/webhooks/stripe"), ("post", "/v1/payments/webhooks/paypal"),
                         ("post", "/v1/payments/sandbox/payment_intents/{id}/confirm"), ("put", "/v1/hosts/me/payout-account")):
        assert method in document["paths"].get(path, {}), (method, path)


def keyed(token: str, key: str) -> dict[str, str]:
    return {**bearer(token), "Idempotency-Key": key}


def test_an_idempotency_key_replays_the_first_answer(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    body = {"listingId": lid, "checkIn": day(20), "checkOut": day(23), "guests": 2, "paymentMethod": VISA}
    first = server.request("POST", "/v1/bookings", json=body, headers=keyed(guest, "book-once"))
    again = server.request("POST", "/v1/bookings", json=body, headers=keyed(guest, "book-once"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert len(server.get("/v1/users/me/bookings", headers=bearer(guest)).json()["items"]) == 1, "it ran once"
    changed = server.request("POST", "/v1/bookings", json={**body, "guests": 1}, headers=keyed(guest, "book-once"))
    assert_problem(changed, 422)
    assert changed.json()["code"] == "idempotency_key_reused"
    # Keys are per user: another guest's same key is another request.
    other = register(server)["accessToken"]
    theirs = server.request("POST", "/v1/bookings", json={**body, "checkIn": day(30), "checkOut": day(32)}, headers=keyed(other, "book-once"))
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # A refusal is an answer too: replayed even once the nights are free again.
    refused = server.request("POST", "/v1/bookings", json=body, headers=keyed(other, "late"))
    assert_problem(refused, 409)
    server.request("POST", f"/v1/bookings/{first.json()['id']}/cancel", headers=bearer(guest))
    assert server.request("POST", "/v1/bookings", json=body, headers=keyed(other, "late")).status_code == 409
    assert server.request("POST", "/v1/bookings", json=body, headers=keyed(other, "later")).status_code == 201
    for bad in ("two words", "x" * 256):
        response = server.request("POST", "/v1/bookings", json=body, headers=keyed(guest, bad))
        assert_problem(response, 422)
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_hundred_requests_with_one_key_run_once(stays):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    body = {"listingId": lid, "checkIn": day(60), "checkOut": day(62), "guests": 1, "paymentMethod": VISA}
    with cf.ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda _: server.request("POST", "/v1/bookings", json=body, headers=keyed(guest, "storm")), range(100)))
    assert {a.status_code for a in answers} == {201}, {a.status_code for a in answers}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
    assert len(server.get("/v1/users/me/bookings", headers=bearer(guest)).json()["items"]) == 1


def test_idempotency_keys_survive_a_restart(stays, server_factory, data_dir):
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    body = {"listingId": lid, "checkIn": day(20), "checkOut": day(21), "guests": 1, "paymentMethod": VISA}
    first = server.request("POST", "/v1/bookings", json=body, headers=keyed(guest, "durable")).json()
    cancel = server.request("POST", f"/v1/bookings/{first['id']}/cancel", headers=keyed(guest, "cancel-1")).json()
    server.stop()
    again = server_factory(data_dir, env=ACCOUNTS_ENV, name="stays-keys").start()
    replay = again.request("POST", "/v1/bookings", json=body, headers=keyed(guest, "durable"))
    assert replay.json() == first and replay.headers.get("Idempotent-Replayed") == "true"
    assert again.request("POST", f"/v1/bookings/{first['id']}/cancel", headers=keyed(guest, "cancel-1")).json() == cancel


def test_payouts_are_the_hosts_alone(stays):
    """Payouts come 24 hours after check-in (the scheduler; Swift tests move its clock): here the
    list is empty, and only hosts may ask for theirs."""
    server, host, guest, _, _, _ = stays
    book(server, guest, create(server, host)["id"])
    assert server.get("/v1/hosts/me/payouts", headers=bearer(host)).json() == {"items": [], "nextCursor": None}
    assert_problem(server.get("/v1/hosts/me/payouts", headers=bearer(guest)), 403)
    assert_problem(server.get("/v1/hosts/me/payouts", params={"cursor": "bm9wZQ"}, headers=bearer(host)), 422)


def test_hosts_set_the_account_they_are_paid_to(stays):
    server, host, guest, admin, _, _ = stays
    assert_problem(server.get("/v1/hosts/me/payout-account", headers=bearer(host)), 404)
    for bad in ("acct_", "acct_with space", "ba_123", "acct_" + "x" * 65, 42):
        response = server.request("PUT", "/v1/hosts/me/payout-account", json={"account": bad}, headers=bearer(host))
        assert_problem(response, 422)
    assert_problem(server.request("PUT", "/v1/hosts/me/payout-account", json={"account": "acct_1", "bank": "x"}, headers=bearer(host)), 422)
    put = server.request("PUT", "/v1/hosts/me/payout-account", json={"account": "acct_1Hx9"}, headers=bearer(host))
    assert put.status_code == 200 and put.json()["account"] == "acct_1Hx9"
    assert server.get("/v1/hosts/me/payout-account", headers=bearer(host)).json() == put.json()
    assert_problem(server.request("PUT", "/v1/hosts/me/payout-account", json={"account": "acct_2"}, headers=bearer(guest)), 403)
    booking = book(server, guest, create(server, host)["id"]).json()
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(host)).json()[0]
    assert payment["payout"] == {"status": "pending", "attempts": 0}
    pending = server.get("/v1/admin/payments", params={"payout": "pending"}, headers=bearer(admin)).json()["items"]
    assert [p["bookingId"] for p in pending] == [booking["id"]]
    assert server.get("/v1/admin/payments", params={"payout": "failed"}, headers=bearer(admin)).json()["items"] == []
    assert_problem(server.get("/v1/admin/payments", params={"payout": "late"}, headers=bearer(admin)), 422)


def admin_refund(server, token, payment_id, amount=None, key=None):
    body = None if amount is None else {"amount": amount}
    headers = keyed(token, key) if key else bearer(token)
    return server.request("POST", f"/v1/admin/payments/{payment_id}/refund", json=body, headers=headers)


def test_admins_see_every_booking_and_payment(stays):
    server, host, guest, admin, host_id, guest_id = stays
    lid = create(server, host, instantBook=False)["id"]
    other = create(server, host)["id"]
    pending = book(server, guest, lid).json()
    confirmed = book(server, guest, other, check_in=40).json()
    in_yen = book(server, guest, other, check_in=50, currency="JPY").json()
    everything = server.get("/v1/admin/bookings", headers=bearer(admin)).json()
    assert [b["id"] for b in everything["items"]] == [in_yen["id"], confirmed["id"], pending["id"]], "newest first"
    assert [b["id"] for b in server.get("/v1/admin/bookings", params={"status": "pending"}, headers=bearer(admin)).json()["items"]] == [pending["id"]]
    assert [b["id"] for b in server.get("/v1/admin/bookings", params={"listingId": other, "limit": 1}, headers=bearer(admin)).json()["items"]] == [in_yen["id"]]
    assert server.get("/v1/admin/bookings", params={"guestId": host_id}, headers=bearer(admin)).json()["items"] == []
    assert_problem(server.get("/v1/admin/bookings", params={"status": "lost"}, headers=bearer(admin)), 422)

    payments = server.get("/v1/admin/payments", headers=bearer(admin)).json()["items"]
    assert [p["bookingId"] for p in payments] == [in_yen["id"], confirmed["id"], pending["id"]]
    assert [p["status"] for p in payments] == ["captured", "captured", "authorized"]
    assert payments[0]["amount"]["currency"] == "JPY" and payments[0]["settlement"]["currency"] == "SGD"
    assert payments[1].get("settlement") is None and payments[1]["paidOut"] is False and payments[1]["refunded"]["amount"] == 0
    first = server.get("/v1/admin/payments", params={"limit": 2}, headers=bearer(admin)).json()
    rest = server.get("/v1/admin/payments", params={"limit": 2, "cursor": first["nextCursor"]}, headers=bearer(admin)).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == [p["id"] for p in payments] and rest["nextCursor"] is None
    assert [p["bookingId"] for p in server.get("/v1/admin/payments", params={"currency": "jpy"}, headers=bearer(admin)).json()["items"]] == [in_yen["id"]]
    assert [p["bookingId"] for p in server.get("/v1/admin/payments", params={"status": "authorized"}, headers=bearer(admin)).json()["items"]] == [pending["id"]]
    for params in ({"status": "paid"}, {"paidOut": "maybe"}, {"cursor": "bm9wZQ"}, {"currency": "XQQ"}, {"currency": "US"}):
        problem = assert_problem(server.get("/v1/admin/payments", params=params, headers=bearer(admin)), 422)
        assert [error["field"] for error in problem["errors"]] == list(params), problem
    for token in (guest, host):
        assert_problem(server.get("/v1/admin/bookings", headers=bearer(token)), 403)
        assert_problem(server.get("/v1/admin/payments", headers=bearer(token)), 403)
        assert_problem(admin_refund(server, token, payments[1]["id"]), 403)
    assert_problem(server.get("/v1/admin/payments"), 401)


def test_admin_refunds_are_partial_or_full_and_never_exceed_the_payment(stays):
    server, host, guest, admin, _, _ = stays
    lid = create(server, host)["id"]
    booking = book(server, guest, lid, check_in=30).json()
    total = booking["price"]["total"]
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()[0]
    part = admin_refund(server, admin, payment["id"], {"amount": 1_000, "currency": total["currency"]}, key="goodwill-1")
    assert part.status_code == 200, part.text
    assert part.json()["refunded"] == {"amount": 1_000, "currency": total["currency"]}
    again = admin_refund(server, admin, payment["id"], {"amount": 1_000, "currency": total["currency"]}, key="goodwill-1")
    assert again.json() == part.json() and again.headers.get("Idempotent-Replayed") == "true", "the same key refunds once"
    seen = server.get(f"/v1/bookings/{booking['id']}", headers=bearer(guest)).json()
    assert seen["status"] == "confirmed" and seen["payment"]["refunded"]["amount"] == 1_000, "a refund is not a cancellation"

    too_much = admin_refund(server, admin, payment["id"], {"amount": total["amount"], "currency": total["currency"]})
    assert_problem(too_much, 422)
    assert too_much.json()["errors"][0]["field"] == "amount"
    wrong_currency = admin_refund(server, admin, payment["id"], {"amount": 10, "currency": "JPY"})
    assert_problem(wrong_currency, 422)
    assert_problem(admin_refund(server, admin, payment["id"], {"amount": 0, "currency": total["currency"]}), 422)
    assert_problem(admin_refund(server, admin, payment["id"], {"amount": "all", "currency": total["currency"]}), 422)
    fraction = assert_problem(admin_refund(server, admin, payment["id"], {"amount": 10.5, "currency": total["currency"]}), 422)
    assert [error["field"] for error in fraction["errors"]] == ["amount.amount"], fraction
    # `null` is not "everything" (leaving the amount out is): a client that failed to fill it in refunds nothing.
    nulled = server.request("POST", f"/v1/admin/payments/{payment['id']}/refund", json={"amount": None}, headers=bearer(admin))
    assert [error["field"] for error in assert_problem(nulled, 422)["errors"]] == ["amount"]
    assert server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()[0]["refunded"]["amount"] == 1_000

    full = admin_refund(server, admin, payment["id"])
    assert full.status_code == 200 and full.json()["refunded"] == total
    assert admin_refund(server, admin, payment["id"]).json() == full.json(), "refunding everything twice is refunding everything"
    assert_problem(admin_refund(server, admin, payment["id"], {"amount": 1, "currency": total["currency"]}), 422)
    # A guest who cancels afterwards gets nothing more: it was all given back already.
    canceled = server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json()
    assert canceled["cancellation"]["refund"]["amount"] == 0 and canceled["payment"]["refunded"] == total

    assert_problem(admin_refund(server, admin, "pay_doesnotexist00000"), 404)
    assert_problem(admin_refund(server, admin, "not a payment"), 404)
    pending = book(server, guest, create(server, host, instantBook=False)["id"]).json()
    pending_payment = server.get(f"/v1/bookings/{pending['id']}/payments", headers=bearer(guest)).json()[0]
    assert_problem(admin_refund(server, admin, pending_payment["id"]), 409)


def test_an_admin_refund_after_a_partial_cancellation_refund_gives_back_the_rest(stays):
    server, host, guest, admin, _, _ = stays
    strict = create(server, host, cancellationPolicy="strict")["id"]
    booking = book(server, guest, strict, check_in=10).json()
    total = booking["price"]["total"]
    canceled = server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json()
    half = canceled["cancellation"]["refund"]["amount"]
    assert 0 < half < total["amount"]
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(admin)).json()[0]
    assert payment["refunded"]["amount"] == half
    rest = admin_refund(server, admin, payment["id"]).json()
    assert rest["refunded"] == total
    assert [p["bookingId"] for p in server.get("/v1/admin/payments", params={"status": "refunded"}, headers=bearer(admin)).json()["items"]] == [booking["id"]]


@pytest.mark.parametrize("currency, price, cleaning", [("JPY", 12_345, 3_001), ("BHD", 45_123, 7_001)])
def test_refunds_in_zero_and_three_decimal_currencies(stays, currency, price, cleaning):
    """A listing priced in yen (no minor unit) or dinars (three decimals): strict's half refund is
    half the total rounded half to even in that currency's own minor units, and the admin refund
    of the rest leaves the whole total given back, to the unit."""
    server, host, guest, admin, _, _ = stays
    lid = create(server, host, cancellationPolicy="strict", pricePerNight={"amount": price, "currency": currency},
                 cleaningFee={"amount": cleaning, "currency": currency})["id"]
    booking = book(server, guest, lid, check_in=10, nights=3).json()
    total = booking["price"]["total"]
    assert total["currency"] == currency and total["amount"] > 0
    refund = server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json()["cancellation"]["refund"]
    half, odd = divmod(total["amount"], 2)
    expected = half + (1 if odd and half % 2 == 1 else 0)  # x.5 rounds to the even neighbour
    assert refund == {"amount": expected, "currency": currency}
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()[0]
    assert payment["refunded"] == refund and payment["amount"] == total
    rest = admin_refund(server, admin, payment["id"]).json()
    assert rest["refunded"] == total


def test_paying_in_the_browser_with_the_client_secret(stays):
    """No paymentMethod: the booking waits, holding its nights, with the payment's client secret;
    the guest confirms with the provider (the sandbox's stand-in for Stripe.js), whose signed
    event completes the booking."""
    server, host, guest, _, _, _ = stays
    lid = create(server, host)["id"]
    waiting = book(server, guest, lid, paymentMethod=None)
    assert waiting.status_code == 201, waiting.text
    body = waiting.json()
    assert body["status"] == "pending" and body["payment"]["status"] == "requires_payment_method"
    secret = body["payment"]["clientSecret"]
    intent = secret.split("_secret_")[0]
    assert server.get(f"/v1/bookings/{body['id']}", headers=bearer(guest)).json()["payment"]["clientSecret"] == secret
    assert "clientSecret" not in server.get(f"/v1/bookings/{body['id']}", headers=bearer(host)).json()["payment"], "the guest's alone"
    assert_problem(book(server, guest, lid, paymentMethod=None), 409)  # its nights are held meanwhile
    confirm = f"/v1/payments/sandbox/payment_intents/{intent}/confirm"
    assert_problem(server.request("POST", confirm, json={"clientSecret": "nope", "paymentMethod": VISA}), 404)
    assert_problem(server.request("POST", confirm, json={"clientSecret": secret, "paymentMethod": "pm_card_chargeDeclined"}), 402)
    assert_problem(server.request("POST", confirm, json={"clientSecret": secret}), 422)
    done = server.request("POST", confirm, json={"clientSecret": secret, "paymentMethod": VISA})
    assert done.status_code == 200 and done.json()["status"] == "requires_capture"
    after = server.get(f"/v1/bookings/{body['id']}", headers=bearer(guest)).json()
    assert after["status"] == "confirmed" and after["payment"]["status"] == "captured"
    # A booking canceled while its payment waited: confirming that payment is a conflict, said in words.
    other = book(server, guest, lid, check_in=60, paymentMethod=None).json()
    assert server.request("POST", f"/v1/bookings/{other['id']}/cancel", headers=bearer(guest)).status_code == 200
    late = server.request("POST", f"/v1/payments/sandbox/payment_intents/{other['payment']['clientSecret'].split('_secret_')[0]}/confirm",
                          json={"clientSecret": other["payment"]["clientSecret"], "paymentMethod": VISA})
    problem = assert_problem(late, 409, "payment_conflict")
    assert problem["detail"].startswith("The payment cannot be confirmed: ") and "invalidState" not in problem["detail"], problem


def test_the_webhook_refuses_what_the_provider_did_not_sign(stays):
    server, _, _, _, _, _ = stays
    event = b'{"id":"evt_x","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_x"}}}'
    for headers in ({}, {"Stripe-Signature": "t=1,v1=00"}, {"Stripe-Signature": "garbage"}):
        response = server.request("POST", "/v1/payments/webhooks/stripe", data=event, headers={"Content-Type": "application/json", **headers})
        assert_problem(response, 400)
        assert response.json()["code"] == "invalid_signature"
