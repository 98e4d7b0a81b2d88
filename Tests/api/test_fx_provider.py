"""A configured FX rates provider (ROOST_FX_RATES_URL) replaces the shipped table at start; one
that is unreachable or serves an incomplete table leaves the shipped one in use."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from accounts_e2e import ACCOUNTS_ENV, register
from roost_e2e import free_port
from test_listings import create, day

SHIPPED = json.loads((Path(__file__).resolve().parents[2] / "data" / "fx-rates.json").read_text())


@pytest.fixture
def provider():
    """Serves whatever `tables[path]` holds, as JSON."""
    tables: dict[str, object] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(tables.get(self.path, {})).encode()
            self.send_response(200 if self.path in tables else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}", tables
    server.shutdown()


def yen_total(server_factory, tmp_path, name, url=None):
    env = {**ACCOUNTS_ENV, **({"ROOST_FX_RATES_URL": url} if url else {})}
    server = server_factory(tmp_path / name, env=env, name=name).start()
    lid = create(server, register(server, role="host")["accessToken"])["id"]
    quote = server.get(f"/v1/listings/{lid}/quote", params={"checkIn": day(20), "checkOut": day(23), "currency": "JPY"}).json()
    server.stop()
    return quote["price"]["total"]["amount"], server.log_text()


def test_the_configured_provider_replaces_the_shipped_rates(server_factory, tmp_path, provider):
    url, tables = provider
    tables["/fresh.json"] = {**SHIPPED, "date": "2026-11-25", "rates": {**SHIPPED["rates"], "JPY": str(float(SHIPPED["rates"]["JPY"]) * 2)}}
    incomplete = {**SHIPPED, "rates": {k: v for k, v in SHIPPED["rates"].items() if k != "SGD"}}
    tables["/incomplete.json"] = incomplete
    tables["/negative.json"] = {**SHIPPED, "rates": {**SHIPPED["rates"], "EUR": "-1"}}
    shipped, _ = yen_total(server_factory, tmp_path, "shipped")
    fresh, log = yen_total(server_factory, tmp_path, "fresh", f"{url}/fresh.json")
    assert fresh == pytest.approx(shipped * 2, rel=0.001), "JPY per SGD doubled"
    assert "FX rates from the configured provider" in log
    for name in ("incomplete.json", "negative.json", "missing.json"):
        total, log = yen_total(server_factory, tmp_path, name.split(".")[0], f"{url}/{name}")
        assert total == shipped and "the shipped table is used" in log, name
    unreachable, log = yen_total(server_factory, tmp_path, "unreachable", f"http://127.0.0.1:{free_port()}/rates.json")
    assert unreachable == shipped and "the shipped table is used" in log


def test_the_provider_is_asked_again_while_serving(server_factory, tmp_path, provider):
    """With ROOST_FX_REFRESH_SECONDS, a running server puts the provider's newer table in force;
    a table it refuses later keeps the one in force."""
    url, tables = provider
    tables["/rates.json"] = {**SHIPPED, "date": "2026-11-24"}
    env = {**ACCOUNTS_ENV, "ROOST_FX_RATES_URL": f"{url}/rates.json", "ROOST_FX_REFRESH_SECONDS": "1"}
    server = server_factory(tmp_path / "refresh", env=env, name="refresh").start()
    lid = create(server, register(server, role="host")["accessToken"])["id"]

    def yen():
        quote = server.get(f"/v1/listings/{lid}/quote", params={"checkIn": day(20), "checkOut": day(23), "currency": "JPY"}).json()
        return quote["price"]["total"]["amount"], quote["exchange"]["date"]

    before, date = yen()
    assert date == "2026-11-24"
    tables["/rates.json"] = {**SHIPPED, "date": "2026-11-25", "rates": {**SHIPPED["rates"], "JPY": str(float(SHIPPED["rates"]["JPY"]) * 2)}}
    deadline = time.monotonic() + 15
    while yen()[1] != "2026-11-25" and time.monotonic() < deadline:
        time.sleep(0.2)
    after, date = yen()
    assert date == "2026-11-25" and after == pytest.approx(before * 2, rel=0.001)
    tables["/rates.json"] = {**SHIPPED, "date": "2026-11-26", "rates": {k: v for k, v in SHIPPED["rates"].items() if k != "SGD"}}
    time.sleep(3)
    assert yen() == (after, "2026-11-25"), "a refused table leaves the one in force"
    server.stop()
    assert "the table in force is kept" in server.log_text()
