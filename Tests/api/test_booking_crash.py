"""kill -9 during a booking storm, over HTTP with payments (the sandbox provider): after each
restart every acknowledged booking is there with its status and price, no night is held twice,
no payment is captured twice and the ledger's invariants hold (`roost check`, offline). Every request
carries an `Idempotency-Key`; the ones the kill cut off are retried with theirs after the restart, and
then every booking that holds nights is one some client was answered with (a retry finds the booking
its first attempt made, and finishes its payment, rather than being refused its own nights). A few
rounds here; `make crash-test` runs hundreds (ROOST_BOOKING_CRASH_ROUNDS)."""

from __future__ import annotations

import os
import random
import re
import threading
import time

from accounts_e2e import ACCOUNTS_ENV, PASSWORD, bearer, login, register
from test_bookings import VISA
from test_listings import create, day

ROUNDS = int(os.environ.get("ROOST_BOOKING_CRASH_ROUNDS", "3"))


def storm(server, guests, listings, seconds, seed):
    """Guests book random stays on a few listings from 8 threads, each request with its own
    `Idempotency-Key`, until `seconds` pass or the server dies. Returns the threads, the
    acknowledged (201) bookings, and the requests cut off (token, key, body) to retry."""
    acknowledged, cut_off, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index):
        rng = random.Random(seed * 100 + index)
        sent = 0
        while time.monotonic() < deadline:
            start = rng.randint(5, 300)
            body = {"listingId": rng.choice(listings), "checkIn": day(start), "checkOut": day(start + rng.randint(1, 4)), "guests": 1, "paymentMethod": VISA}
            token, key = rng.choice(guests), f"storm-{seed}-{index}-{sent}"
            sent += 1
            try:
                response = server.request("POST", "/v1/bookings", json=body, headers={**bearer(token), "Idempotency-Key": key}, timeout=5)
            except Exception:
                with lock:
                    cut_off.append((token, key, body))  # killed mid-request: never answered
                return
            if response.status_code == 201:
                with lock:
                    acknowledged.append(response.json())
            elif response.status_code == 503:
                with lock:
                    cut_off.append((token, key, body))  # not recorded yet (the server was stopping): retried with its key
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    return threads, acknowledged, cut_off


def test_acknowledged_bookings_survive_kill_9_with_their_money(server_factory, data_dir, run_cli):
    run_cli("admin", "create", "--email", "root@example.com", "--password", PASSWORD, "--data-dir", data_dir, env=ACCOUNTS_ENV)
    server = server_factory(data_dir, env=ACCOUNTS_ENV, name="crash-0").start()
    host = register(server, role="host")["accessToken"]
    guests = [register(server)["accessToken"] for _ in range(4)]
    listings = [create(server, host, instantBook=True)["id"] for _ in range(10)]
    rng = random.Random(int(os.environ.get("ROOST_TEST_SEED", "7")))
    kept: dict[str, dict] = {}
    for round_ in range(ROUNDS):
        threads, acknowledged, cut_off = storm(server, guests, listings, seconds=4, seed=rng.randrange(1 << 30))
        time.sleep(rng.uniform(0.3, 1.5))
        server.kill()
        for thread in threads:
            thread.join()
        kept.update({booking["id"]: booking for booking in acknowledged})
        server = server_factory(data_dir, env=ACCOUNTS_ENV, name=f"crash-{round_ + 1}").start()
        admin = login(server, "root@example.com").json()["accessToken"]
        for booking_id, booking in kept.items():
            seen = server.get(f"/v1/bookings/{booking_id}", headers=bearer(admin))
            assert seen.status_code == 200, f"round {round_}: acknowledged booking {booking_id} lost"
            body = seen.json()
            assert body["status"] == "confirmed" and body["price"] == booking["price"], (round_, body, booking)
            assert body["payment"]["status"] == "captured"
        # Reconciliation at start finishes what the kill interrupted: no paid booking stays pending.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            captured = every_page(server, "/v1/admin/payments", admin, status="captured")
            stuck = [p for p in captured if server.get(f"/v1/bookings/{p['bookingId']}", headers=bearer(admin)).json()["status"] == "pending"]
            if not stuck:
                break
            time.sleep(0.2)
        assert not stuck, f"round {round_}: paid bookings left pending: {stuck}"
        # The requests the kill cut off, again with their keys: each gets the booking its first attempt made (paid for
        # now if it was not yet), a new one, or a refusal for nights someone else's booking holds. Then no booking
        # holds nights that no client was told about.
        for token, key, body in cut_off:
            retried = server.request("POST", "/v1/bookings", json=body, headers={**bearer(token), "Idempotency-Key": key})
            assert retried.status_code in (201, 409), (round_, retried.status_code, retried.text)
            if retried.status_code == 201:
                booking = retried.json()
                assert booking["status"] == "confirmed" and booking["payment"]["status"] == "captured", (round_, booking)
                kept[booking["id"]] = booking
        holding = [b for status in ("pending", "confirmed") for b in every_page(server, "/v1/admin/bookings", admin, status=status)]
        unknown = [b["id"] for b in holding if b["id"] not in kept]
        assert not unknown, f"round {round_}: bookings holding nights that no answer named: {unknown}"
    assert kept, "the storms acknowledged no booking at all"
    server.stop()
    checked = run_cli("check", "--data-dir", data_dir, env=ACCOUNTS_ENV)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    counted = re.search(r"ok: (\d+) bookings", checked.stdout)
    assert counted and int(counted.group(1)) >= len(kept) and "no night held twice" in checked.stdout, checked.stdout


def every_page(server, path, token, **params):
    items, cursor = [], None
    while True:
        page = server.get(path, params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})}, headers=bearer(token)).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items
