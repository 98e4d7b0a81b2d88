"""A host's pricing rules and the price of a stay before booking, end to end: weekend price,
per-night overrides, weekly and monthly discounts, the service fee, the country's tax, banker's
rounding, conversion into the guest's currency, and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts_e2e import bearer, register
from roost_e2e import assert_problem
from test_listings import create, day, market  # noqa: F401  (market is a fixture)

SERVICE_BP, HOST_BP, SINGAPORE_TAX_BP = 1400, 300, 900


def percentage(amount: int, basis_points: int) -> int:
    """amount × bp / 10,000 rounded half to even, in integers (no floats)."""
    quotient, remainder = divmod(amount * basis_points, 10_000)
    if remainder * 2 > 10_000 or (remainder * 2 == 10_000 and quotient % 2 == 1):
        quotient += 1
    return quotient


def expected_quote(nights: list[int], cleaning: int, weekly_bp: int, monthly_bp: int, tax_bp: int) -> dict:
    total_nights = sum(nights)
    rate = monthly_bp if len(nights) >= 28 and monthly_bp else weekly_bp if len(nights) >= 7 else 0
    discount = percentage(total_nights, rate)
    base = total_nights - discount + cleaning
    service = percentage(base, SERVICE_BP)
    taxes = percentage(base + service, tax_bp)
    return {"nightly": total_nights - discount, "discount": discount, "cleaningFee": cleaning, "serviceFee": service,
            "taxes": taxes, "total": base + service + taxes}


def quote(server, listing_id: str, **params):
    return server.get(f"/v1/listings/{listing_id}/quote", params=params)


def test_pricing_rules_are_set_by_the_host_and_shown_on_the_listing(market):
    server, host, guest, _ = market
    listing = create(server, host)
    assert listing["pricing"] == {"weekendPrice": None, "weeklyDiscountPercent": 0, "monthlyDiscountPercent": 0}
    body = {"weekendPrice": {"amount": 18000, "currency": "SGD"}, "weeklyDiscountPercent": 10, "monthlyDiscountPercent": 22.5}
    response = server.request("PUT", f"/v1/listings/{listing['id']}/pricing", json=body, headers=bearer(host))
    assert response.status_code == 200, response.text
    assert response.json() == {"weekendPrice": {"amount": 18000, "currency": "SGD"}, "weeklyDiscountPercent": 10, "monthlyDiscountPercent": 22.5}
    assert server.get(f"/v1/listings/{listing['id']}").json()["pricing"] == response.json()
    # PUT replaces: what is left out is none.
    response = server.request("PUT", f"/v1/listings/{listing['id']}/pricing", json={"weeklyDiscountPercent": 5}, headers=bearer(host))
    assert response.json() == {"weekendPrice": None, "weeklyDiscountPercent": 5, "monthlyDiscountPercent": 0}

    other_host = register(server, role="host")["accessToken"]
    for token, status in ((guest, 403), (other_host, 403), (None, 401)):
        headers = bearer(token) if token else {}
        response = server.request("PUT", f"/v1/listings/{listing['id']}/pricing", json=body, headers=headers)
        assert response.status_code == status, response.text
    assert server.get(f"/v1/listings/{listing['id']}").json()["pricing"]["weeklyDiscountPercent"] == 5, "refused changes left nothing behind"


@pytest.mark.parametrize("body, field", [
    ({"weekendPrice": {"amount": 18000, "currency": "USD"}}, "weekendPrice.currency"),
    ({"weekendPrice": {"amount": 0, "currency": "SGD"}}, "weekendPrice.amount"),
    ({"weeklyDiscountPercent": 95}, "weeklyDiscountPercent"),
    ({"monthlyDiscountPercent": -1}, "monthlyDiscountPercent"),
    ({"weeklyDiscountPercent": 12.345}, "weeklyDiscountPercent"),
])
def test_bad_pricing_is_refused_field_by_field(market, body, field):
    server, host, _, _ = market
    listing = create(server, host)
    response = server.request("PUT", f"/v1/listings/{listing['id']}/pricing", json=body, headers=bearer(host))
    assert_problem(response, 422)
    assert field in [error["field"] for error in response.json()["errors"]], response.text


def test_unknown_pricing_fields_are_refused(market):
    server, host, _, _ = market
    listing = create(server, host)
    response = server.request("PUT", f"/v1/listings/{listing['id']}/pricing", json={"weekendDiscount": 5}, headers=bearer(host))
    assert_problem(response, 422)


def test_the_currency_cannot_change_under_prices_set_in_the_old_one(market):
    server, host, _, _ = market
    lid = create(server, host)["id"]
    usd = {"pricePerNight": {"amount": 11_000, "currency": "USD"}, "cleaningFee": {"amount": 2_000, "currency": "USD"}}
    night = dt.date.today() + dt.timedelta(days=30)
    per_night = {"prices": [{"from": night.isoformat(), "to": (night + dt.timedelta(days=2)).isoformat(), "amount": 25_000}]}
    weekend = {"weekendPrice": {"amount": 19_000, "currency": "SGD"}}

    for name, set_prices, clear in (
        ("weekend price", ("PUT", "pricing", weekend), ("PUT", "pricing", {})),
        ("per-night prices", ("PUT", "availability", per_night), ("PUT", "availability", {"prices": [{**per_night["prices"][0], "amount": None}]})),
    ):
        method, path, body = set_prices
        assert server.request(method, f"/v1/listings/{lid}/{path}", json=body, headers=bearer(host)).status_code == 200, name
        refused = server.request("PATCH", f"/v1/listings/{lid}", json=usd, headers=bearer(host))
        problem = assert_problem(refused, 422, "validation_failed")
        assert [error["field"] for error in problem["errors"]] == ["pricePerNight.currency"], (name, problem)
        assert server.get(f"/v1/listings/{lid}").json()["pricePerNight"] == {"amount": 15_000, "currency": "SGD"}, "nothing changed"
        method, path, body = clear
        assert server.request(method, f"/v1/listings/{lid}/{path}", json=body, headers=bearer(host)).status_code == 200, name

    # With neither left, it changes; a weekend price in the old currency is then refused as such.
    changed = server.request("PATCH", f"/v1/listings/{lid}", json=usd, headers=bearer(host))
    assert changed.status_code == 200, changed.text
    assert changed.json()["pricePerNight"] == {"amount": 11_000, "currency": "USD"}
    assert_problem(server.request("PUT", f"/v1/listings/{lid}/pricing", json=weekend, headers=bearer(host)), 422)


def test_a_quote_prices_every_line(market):
    server, host, _, _ = market
    listing = create(server, host, pricePerNight={"amount": 15_001, "currency": "SGD"}, cleaningFee={"amount": 3_333, "currency": "SGD"})
    lid = listing["id"]
    assert server.request("PUT", f"/v1/listings/{lid}/pricing", json={"weekendPrice": {"amount": 19_999, "currency": "SGD"}, "weeklyDiscountPercent": 12.5},
                          headers=bearer(host)).status_code == 200
    start = dt.date.today() + dt.timedelta(days=20)
    override = start + dt.timedelta(days=3)
    response = server.request("PUT", f"/v1/listings/{lid}/availability",
                              json={"prices": [{"from": override.isoformat(), "to": (override + dt.timedelta(days=1)).isoformat(), "amount": 25_000}]},
                              headers=bearer(host))
    assert response.status_code == 200, response.text

    for length in (6, 7):
        nights = []
        for i in range(length):
            night = start + dt.timedelta(days=i)
            nights.append(25_000 if night == override else 19_999 if night.weekday() in (4, 5) else 15_001)
        response = quote(server, lid, checkIn=start.isoformat(), checkOut=(start + dt.timedelta(days=length)).isoformat(), guests=2)
        assert response.status_code == 200, response.text
        body = response.json()
        expected = expected_quote(nights, 3_333, 1250, 0, SINGAPORE_TAX_BP)
        assert {key: money["amount"] for key, money in body["price"].items()} == expected, f"{length} nights"
        assert {money["currency"] for money in body["price"].values()} == {"SGD"}
        assert [night["price"]["amount"] for night in body["nightlyPrices"]] == nights
        assert [night["date"] for night in body["nightlyPrices"]][0] == start.isoformat()
        assert body["nights"] == length and body["guests"] == 2 and body["available"] is True and "exchange" not in body
        assert (body["price"]["discount"]["amount"] > 0) == (length >= 7), "the weekly discount starts at 7 nights"

    # The calendar shows each night at the price a quote charges for it (weekend price included).
    response = server.get(f"/v1/listings/{lid}/availability", params={"from": start.isoformat(), "to": (start + dt.timedelta(days=7)).isoformat()})
    assert response.status_code == 200, response.text
    assert [day["price"]["amount"] for day in response.json()["days"]] == nights


def test_a_quote_in_another_currency_still_adds_up(market):
    server, host, _, _ = market
    lid = create(server, host)["id"]
    for currency in ("JPY", "BHD", "USD"):
        response = quote(server, lid, checkIn=day(30), checkOut=day(33), currency=currency)
        assert response.status_code == 200, response.text
        body = response.json()
        price = {key: money["amount"] for key, money in body["price"].items()}
        assert {money["currency"] for money in body["price"].values()} == {currency}
        assert price["total"] == price["nightly"] + price["cleaningFee"] + price["serviceFee"] + price["taxes"]
        assert body["exchange"]["from"] == "SGD" and body["exchange"]["to"] == currency and body["exchange"]["rate"] > 0
        # 150.00 SGD a night, converted at the shipped rate, into the currency's own minor units.
        exponent = {"JPY": 0, "BHD": 3, "USD": 2}[currency]
        assert price["nightly"] == pytest.approx(3 * 150 * body["exchange"]["rate"] * 10 ** exponent, rel=0.001)


def test_a_quote_says_when_nights_are_taken(market):
    server, host, _, _ = market
    lid = create(server, host)["id"]
    response = server.request("PUT", f"/v1/listings/{lid}/availability", json={"blocked": [{"from": day(41), "to": day(42)}]}, headers=bearer(host))
    assert response.status_code == 200, response.text
    assert quote(server, lid, checkIn=day(40), checkOut=day(43)).json()["available"] is False
    assert quote(server, lid, checkIn=day(42), checkOut=day(45)).json()["available"] is True, "the blocked night is the day before check-in"
    assert quote(server, lid, checkIn=day(38), checkOut=day(41)).json()["available"] is True, "check-out on the blocked day is fine"


@pytest.mark.parametrize("params, field", [
    ({"checkOut": day(12)}, "checkIn"),
    ({"checkIn": day(10)}, "checkOut"),
    ({"checkIn": "2027-02-30", "checkOut": day(12)}, "checkIn"),
    ({"checkIn": day(-2), "checkOut": day(2)}, "checkIn"),
    ({"checkIn": day(12), "checkOut": day(12)}, "checkOut"),
    ({"checkIn": day(10), "checkOut": day(41)}, "checkOut"),        # maxNights 30
    ({"checkIn": day(10), "checkOut": day(800)}, "checkOut"),       # past the two-year horizon
    ({"checkIn": day(10), "checkOut": day(12), "guests": 5}, "guests"),  # maxGuests 4
    ({"checkIn": day(10), "checkOut": day(12), "guests": 0}, "guests"),
    ({"checkIn": day(10), "checkOut": day(12), "currency": "XXX"}, "currency"),
])
def test_bad_quotes_are_refused_field_by_field(market, params, field):
    server, host, _, _ = market
    lid = create(server, host)["id"]
    response = quote(server, lid, **params)
    assert_problem(response, 422)
    assert field in [error["field"] for error in response.json()["errors"]], response.text


def test_a_stay_may_end_on_the_same_date_two_years_ahead(market):
    server, host, _, _ = market
    lid = create(server, host)["id"]  # in Singapore: its today is UTC+8's
    today = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()
    try:
        two_years = today.replace(year=today.year + 2)
    except ValueError:  # 29 February
        two_years = dt.date(today.year + 2, 3, 1)
    response = quote(server, lid, checkIn=(two_years - dt.timedelta(days=3)).isoformat(), checkOut=two_years.isoformat())
    assert response.status_code == 200, response.text
    assert response.json()["available"] is True
    past = today + dt.timedelta(days=732)
    assert_problem(quote(server, lid, checkIn=(past - dt.timedelta(days=3)).isoformat(), checkOut=past.isoformat()), 422)


def test_min_nights_and_unknown_listings(market):
    server, host, _, _ = market
    lid = create(server, host, minNights=3)["id"]
    assert_problem(quote(server, lid, checkIn=day(10), checkOut=day(12)), 422)
    assert quote(server, lid, checkIn=day(10), checkOut=day(13)).status_code == 200
    assert_problem(quote(server, "lst_nope", checkIn=day(10), checkOut=day(13)), 404)
    assert server.request("DELETE", f"/v1/listings/{lid}", headers=bearer(host)).status_code == 204
    assert_problem(quote(server, lid, checkIn=day(10), checkOut=day(13)), 404)


def test_the_dearest_stay_in_a_currency_of_small_units_is_refused_not_a_crash(market):
    """A year at the top nightly price, quoted or booked in rupiah, is past what Int64 minor units hold once
    converted: it crashed the server (arithmetic overflow). It is a 422 naming the currency, and the server
    answers on."""
    server, host, guest, _ = market
    dear = create(server, host, pricePerNight={"amount": 1_000_000_000_000, "currency": "GBP"}, cleaningFee={"amount": 0, "currency": "GBP"},
                  maxNights=365, location={"address": "1 Strand", "city": "London", "country": "United Kingdom", "lat": 51.5, "lng": -0.12,
                                           "timezone": "Europe/London"})["id"]
    stay = {"checkIn": day(3), "checkOut": day(368)}
    problem = assert_problem(server.get(f"/v1/listings/{dear}/quote", params={**stay, "currency": "IDR"}), 422)
    assert [error["field"] for error in problem["errors"]] == ["currency"], problem
    booking = server.request("POST", "/v1/bookings", headers=bearer(guest),
                             json={"listingId": dear, **stay, "guests": 1, "currency": "IDR", "paymentMethod": "pm_card_visa"})
    assert [error["field"] for error in assert_problem(booking, 422)["errors"]] == ["currency"]
    assert server.get("/health/live").status_code == 200
    assert server.get(f"/v1/listings/{dear}/quote", params={**stay, "currency": "EUR"}).status_code == 200
