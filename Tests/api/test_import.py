"""`roost import insideairbnb` on the real Singapore files (Inside Airbnb, CC BY 4.0): every
listing is searchable afterwards with the same answers a plain script over the CSV gives."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from accounts_e2e import ACCOUNTS_ENV

CITY = Path(__file__).resolve().parents[2] / "data" / "insideairbnb" / "singapore"
NIGHTS_MAX = 365  # Roost's listing rule; the importer clamps Inside Airbnb's larger limits to it


def rows(name: str):
    with gzip.open(CITY / f"{name}.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


@pytest.fixture(scope="module")
def truth():
    """The CSV as a script reads it: listings and, after the date shift, their unavailable nights."""
    listings = {}
    for row in rows("listings"):
        price = int(round(float(row["price"].replace("$", "").replace(",", "")) * 100))
        min_nights = min(int(row["minimum_nights"]), NIGHTS_MAX)
        max_nights = max(min_nights, min(int(row["maximum_nights"]), NIGHTS_MAX))
        listings[row["id"]] = {"price": price, "guests": max(1, min(50, int(row["accommodates"]))), "lat": float(row["latitude"]),
                               "lng": float(row["longitude"]), "min": min_nights, "max": max_nights}
    blocked = {}
    first = None
    for row in rows("calendar"):
        date = dt.date.fromisoformat(row["date"])
        first = date if first is None or date < first else first
        if row["available"] == "f":
            blocked.setdefault(row["listing_id"], set()).add(date)
    today = dt.datetime.now(ZoneInfo("Asia/Singapore")).date()
    shift = today - first
    shifted = {listing: {d + shift for d in days} for listing, days in blocked.items()}
    return listings, shifted, today


@pytest.fixture(scope="module")
def imported(tmp_path_factory, roost_bin):
    import subprocess
    from roost_e2e import roost_env
    data_dir = tmp_path_factory.mktemp("import") / "data"
    result = subprocess.run([roost_bin, "import", "insideairbnb", "--dir", str(CITY), "--currency", "SGD", "--shift-dates", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=300, env=roost_env(ACCOUNTS_ENV))
    assert result.returncode == 0, result.stderr + result.stdout
    return data_dir, result.stdout


def test_the_import_reports_what_it_did(imported):
    _, output = imported
    assert "3483 rows read, 3483 imported, 0 skipped" in output
    assert "1271274 rows read" in output and "35698 rows read" in output
    assert "3483 listings (0 already there)" in output
    assert "35698 reviews attached to their listings (marked imported)" in output
    assert "Inside Airbnb" in output and "CC BY 4.0" in output


def search_total(server, **params):
    response = server.get("/v1/search/listings", params={**params, "limit": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def test_every_listing_is_searchable_with_the_scripts_answers(imported, truth, server_factory):
    data_dir, _ = imported
    listings, blocked, today = truth
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    assert search_total(server, location="singapore") == len(listings) == 3483
    rng = random.Random(3483)
    for _ in range(25):
        low = rng.randint(0, 400) * 100
        high = low + rng.randint(0, 300) * 100
        expected = sum(1 for l in listings.values() if low <= l["price"] <= high)
        assert search_total(server, location="Singapore", minPrice=low, maxPrice=high) == expected, (low, high)
    for guests in (1, 2, 4, 8, 16):
        assert search_total(server, guests=guests) == sum(1 for l in listings.values() if l["guests"] >= guests)
    for _ in range(10):
        lat, lng = rng.uniform(1.25, 1.45), rng.uniform(103.65, 103.95)
        box = (lng, lat, lng + rng.uniform(0.01, 0.1), lat + rng.uniform(0.01, 0.1))
        expected = sum(1 for l in listings.values() if box[1] <= l["lat"] <= box[3] and box[0] <= l["lng"] <= box[2])
        assert search_total(server, bbox=",".join(map(str, box))) == expected, box
    for _ in range(15):
        start = today + dt.timedelta(days=rng.randint(0, 300))
        nights = rng.randint(1, 7)
        stay = {start + dt.timedelta(days=i) for i in range(nights)}
        expected = sum(1 for id_, l in listings.items()
                       if l["min"] <= nights <= l["max"] and not (stay & blocked.get(id_, set())))
        total = search_total(server, checkIn=start.isoformat(), checkOut=(start + dt.timedelta(days=nights)).isoformat())
        assert total == expected, (start, nights)


def test_imported_hosts_cannot_sign_in(imported, server_factory):
    data_dir, _ = imported
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    one = server.get("/v1/search/listings", params={"limit": 1}).json()["items"][0]
    host_id = server.get(f"/v1/listings/{one['id']}").json()["hostId"]
    profile = server.get(f"/v1/users/{host_id}")
    assert profile.status_code == 200 and profile.json()["role"] == "host"


def test_a_directory_without_the_files_fails_with_a_reason(run_cli, tmp_path):
    result = run_cli("import", "insideairbnb", "--dir", tmp_path, "--data-dir", tmp_path / "data", env=ACCOUNTS_ENV)
    assert result.returncode != 0 and "listings.csv" in result.stderr


def test_reviews_are_attached_to_their_listings_marked_imported(imported, server_factory):
    data_dir, _ = imported
    expected = [row for row in rows("reviews") if row["listing_id"] == "71609"]
    server = server_factory(data_dir, env=ACCOUNTS_ENV).start()
    seen, cursor = [], None
    while True:
        page = server.get("/v1/listings/lst_ia_71609/reviews", params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == len(expected) > 0
    assert all(review["imported"] and review["rating"] is None and review["listingId"] == "lst_ia_71609" for review in seen)
    dates = [review["createdAt"][:10] for review in seen]
    assert dates == sorted(dates, reverse=True), "newest first"
    assert {review["id"] for review in seen} == {f"rev_ia_{row['id']}" for row in expected}
    assert server.get("/v1/listings/lst_ia_71609").json()["reviewCount"] == len(expected)


def test_reviews_and_calendars_of_listings_not_imported_are_counted_apart(run_cli, tmp_path):
    """A copy with one listing's row made bad: its reviews and calendar were counted as imported and
    attached where nothing would ever show them."""
    city = tmp_path / "city"
    city.mkdir()
    listings = list(rows("listings"))[:3]
    kept, dropped = listings[:2], listings[2]
    broken = dict(dropped, price="")  # a row with no price is skipped
    ids = {row["id"] for row in listings}

    def write(name, header_rows):
        fields = list(header_rows[0].keys()) if header_rows else []
        with gzip.open(city / f"{name}.csv.gz", "wt", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(header_rows)

    write("listings", kept + [broken])
    write("calendar", [row for row in rows("calendar") if row["listing_id"] in ids])
    reviews = [row for row in rows("reviews") if row["listing_id"] in ids]
    write("reviews", reviews)
    result = run_cli("import", "insideairbnb", "--dir", city, "--currency", "SGD", "--data-dir", tmp_path / "data", env=ACCOUNTS_ENV, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    of_kept = sum(1 for row in reviews if row["listing_id"] != dropped["id"])
    assert f"{of_kept} reviews attached to their listings" in result.stdout, result.stdout
    assert f"left out, for listings this import has not: {len(reviews) - of_kept} reviews, the calendars of 1 listings" in result.stdout, result.stdout
