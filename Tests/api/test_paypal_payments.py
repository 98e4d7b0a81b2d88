"""Bookings paid through the PayPal adapter (ROOST_PAYMENTS=paypal) against the PayPal stand-in
make test starts (Tests/fakes/paypal.py): vaulted payment methods charged through Orders v2,
declines releasing the nights, events verified by PayPal's signature check and deduplicated, and
PayPal payout receivers. Skipped when no stand-in runs."""

from __future__ import annotations

import os

import pytest
import requests

from accounts_e2e import ACCOUNTS_ENV, bearer, register
from roost_e2e import assert_problem
from test_bookings import book
from test_listings import create

PAYPAL = os.environ.get("ROOST_TEST_PAYPAL_URL")
pytestmark = pytest.mark.skipif(not PAYPAL, reason="ROOST_TEST_PAYPAL_URL is not set (make test starts the PayPal stand-in)")
CLIENT = "roost-e2e"
WEBHOOK = "WH-ROOST-E2E"


@pytest.fixture
def paypal_market(server_factory, data_dir):
    env = {**ACCOUNTS_ENV, "ROOST_PAYMENTS": "paypal", "ROOST_PAYPAL_CLIENT_ID": CLIENT, "ROOST_PAYPAL_CLIENT_SECRET": f"{CLIENT}-secret",
           "ROOST_PAYPAL_BASE_URL": PAYPAL, "ROOST_PAYPAL_WEBHOOK_ID": WEBHOOK}
    server = server_factory(data_dir, env=env, name="paypal").start()
    return server, register(server, role="host")["accessToken"], register(server)["accessToken"]


def delivery(event):
    sent = requests.post(f"{PAYPAL}/__webhooks/send", json={"client": CLIENT, "webhook_id": WEBHOOK, "event": event}, timeout=5).json()
    return sent["body"].encode(), {**sent["headers"], "Content-Type": "application/json"}


def test_a_booking_is_paid_through_paypal_orders(paypal_market):
    server, host, guest = paypal_market
    lid = create(server, host)["id"]
    booked = book(server, guest, lid, check_in=30, paymentMethod="card:vault_ok_1")
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["status"] == "confirmed" and booking["payment"]["status"] == "captured"
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()[0]
    calls = requests.get(f"{PAYPAL}/__calls", params={"client": CLIENT}, timeout=5).json()
    posts = [c for c in calls if c.get("method") == "POST" and booking["id"] in (c.get("request_id") or "")]
    assert [c["request_id"] for c in posts] == [f"auth:{booking['id']}", f"auth:{booking['id']}:capture"], posts
    assert posts[0]["body"]["purchase_units"][0]["custom_id"] == f"auth:{booking['id']}"
    assert posts[0]["body"]["purchase_units"][0]["amount"] == {"currency_code": "SGD", "value": f"{booking['price']['total']['amount'] / 100:.2f}"}
    assert payment["reference"], payment

    canceled = server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json()
    assert canceled["payment"]["refunded"] == booking["price"]["total"]


def test_a_declined_paypal_payment_releases_the_nights(paypal_market):
    server, host, guest = paypal_market
    lid = create(server, host)["id"]
    assert_problem(book(server, guest, lid, check_in=40, paymentMethod="card:declined_1"), 402)
    assert book(server, guest, lid, check_in=40, paymentMethod="card:vault_ok_2").status_code == 201


def test_paypal_events_are_verified_and_deduplicated(paypal_market):
    server, host, guest = paypal_market
    booking = book(server, guest, create(server, host)["id"], check_in=50, paymentMethod="card:vault_ok_3").json()
    event = {"id": "WH-EVT-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "create_time": "2026-11-25T10:00:00Z",
             "resource": {"id": "CAP-1", "status": "COMPLETED", "custom_id": f"auth:{booking['id']}"}}
    body, headers = delivery(event)
    first = server.request("POST", "/v1/payments/webhooks/paypal", data=body, headers=headers)
    assert first.status_code == 200 and first.json()["outcome"] == "handled", first.text
    assert server.request("POST", "/v1/payments/webhooks/paypal", data=body, headers=headers).json()["outcome"] == "duplicate"
    assert server.get(f"/v1/bookings/{booking['id']}", headers=bearer(guest)).json()["status"] == "confirmed"
    tampered = body.replace(b"COMPLETED", b"REVERSED")
    assert_problem(server.request("POST", "/v1/payments/webhooks/paypal", data=tampered, headers=headers), 400)
    missing = {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"}
    assert_problem(server.request("POST", "/v1/payments/webhooks/paypal", data=body, headers=missing), 400)


def test_hosts_are_paid_to_paypal_receivers(paypal_market):
    server, host, _ = paypal_market
    assert_problem(server.request("PUT", "/v1/hosts/me/payout-account", json={"account": "acct_1"}, headers=bearer(host)), 422)
    put = server.request("PUT", "/v1/hosts/me/payout-account", json={"account": "host@example.com"}, headers=bearer(host))
    assert put.status_code == 200 and put.json()["account"] == "host@example.com"


def order_approved(booking_id, order_id, event_id):
    return {"id": event_id, "event_type": "CHECKOUT.ORDER.APPROVED", "create_time": "2026-11-25T10:00:00Z",
            "resource": {"id": order_id, "status": "APPROVED", "intent": "AUTHORIZE",
                         "purchase_units": [{"reference_id": f"auth:{booking_id}", "custom_id": f"auth:{booking_id}"}]}}


def pay_in_the_browser(server, guest, listing_id, check_in):
    """Books without a payment method: the booking waits, its client secret the order's approval link."""
    booked = book(server, guest, listing_id, check_in=check_in, paymentMethod=None)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["status"] == "pending" and booking["payment"] is not None
    link = booking["payment"]["clientSecret"]
    assert link.startswith(f"{PAYPAL}/checkoutnow?token="), link
    return booking, link.split("token=", 1)[1]


def deliver(server, event):
    body, headers = delivery(event)
    answer = server.request("POST", "/v1/payments/webhooks/paypal", data=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def test_a_guest_pays_with_paypal_in_the_browser(paypal_market):
    """The buyer approves the order at PayPal; the approval event makes Roost authorize it (PayPal
    leaves that to the server), then capture and confirm an instant booking."""
    server, host, guest = paypal_market
    booking, order = pay_in_the_browser(server, guest, create(server, host)["id"], check_in=70)
    # An approval event before the buyer approved (a forgery PayPal would not sign, or a replay of
    # another order's) changes nothing: Roost asks PayPal what the order is now.
    assert deliver(server, order_approved(booking["id"], order, "WH-APPROVED-EARLY")) == "handled"
    assert server.get(f"/v1/bookings/{booking['id']}", headers=bearer(guest)).json()["status"] == "pending"

    requests.post(f"{PAYPAL}/__approve/{order}", params={"client": CLIENT}, timeout=5).raise_for_status()
    assert deliver(server, order_approved(booking["id"], order, "WH-APPROVED-1")) == "handled"
    paid = server.get(f"/v1/bookings/{booking['id']}", headers=bearer(guest)).json()
    assert paid["status"] == "confirmed" and paid["payment"]["status"] == "captured", paid
    assert paid["payment"]["captured"] == booking["price"]["total"]
    calls = requests.get(f"{PAYPAL}/__calls", params={"client": CLIENT}, timeout=5).json()
    steps = [c["request_id"] for c in calls if c.get("method") == "POST" and booking["id"] in (c.get("request_id") or "")]
    assert steps == [f"auth:{booking['id']}", f"auth:{booking['id']}:authorize", f"cap:{booking['id']}"], steps


def test_a_request_to_book_paid_with_paypal_waits_for_its_host(paypal_market):
    server, host, guest = paypal_market
    booking, order = pay_in_the_browser(server, guest, create(server, host, instantBook=False)["id"], check_in=80)
    requests.post(f"{PAYPAL}/__approve/{order}", params={"client": CLIENT}, timeout=5).raise_for_status()
    assert deliver(server, order_approved(booking["id"], order, "WH-APPROVED-2")) == "handled"
    waiting = server.get(f"/v1/bookings/{booking['id']}", headers=bearer(host)).json()
    assert waiting["status"] == "pending" and waiting["payment"]["status"] == "authorized", waiting
    accepted = server.request("POST", f"/v1/bookings/{booking['id']}/accept", headers=bearer(host))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed" and accepted.json()["payment"]["status"] == "captured"
