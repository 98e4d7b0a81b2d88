"""A stand-in for Stripe Connect's transfers, which localstripe does not have.

    python Tests/fakes/stripe_connect.py --port 8421

Serves `POST /v1/transfers` and `GET /v1/transfers/<id>` and checks what Stripe checks:

- `Authorization: Bearer sk_…` (or `rk_…`); anything else is 401.
- A form-encoded body (`application/x-www-form-urlencoded`, nested keys as `metadata[name]`);
  another content type is 400.
- `amount` (a positive integer), `currency` (three letters) and `destination` are required;
  unknown parameters are refused (`parameter_unknown`), as Stripe does. A destination that is
  not an `acct_` id is `resource_missing` on `destination`.
- `Idempotency-Key`: the first successful answer is kept per API key and idempotency key; the
  same key with the same method, path and parameters answers it again (with
  `Idempotent-Replayed: true`), with anything else it is 400 `idempotency_error`. As on Stripe,
  requests that fail validation are not kept.

Every request to `/v1/` is recorded; `GET /_calls` (no auth; `?idempotency_key=` filters) lists
them, for tests to check what was sent.
"""

from __future__ import annotations

import argparse
import logging
import re
import secrets
import threading
import time

from flask import Flask, jsonify, request

app = Flask(__name__)
lock = threading.Lock()
transfers: dict[str, dict] = {}
# (api key, idempotency key) -> (method, path, parameters, status, body)
idempotent: dict[tuple[str, str], tuple[str, str, tuple, int, dict]] = {}
calls: list[dict] = []

TRANSFER_PARAMS = {"amount", "currency", "destination", "description", "transfer_group", "source_transaction"}


def error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None):
    body = {"error": {"type": type_, "message": message}}
    if code:
        body["error"]["code"] = code
    if param:
        body["error"]["param"] = param
    return status, body


def api_key() -> str | None:
    parts = request.headers.get("Authorization", "").split(" ")
    if len(parts) == 2 and parts[0] == "Bearer" and re.fullmatch(r"(sk|rk)_[A-Za-z0-9_]+", parts[1]):
        return parts[1]
    return None


def parse_form() -> tuple[dict, dict, list[tuple[str, str]]]:
    """Top-level parameters, `metadata[…]`, and every raw pair (for idempotency comparison)."""
    params: dict[str, str] = {}
    metadata: dict[str, str] = {}
    pairs = sorted(request.form.items(multi=True))
    for name, value in pairs:
        nested = re.fullmatch(r"metadata\[([^\[\]]+)\]", name)
        if nested:
            metadata[nested.group(1)] = value
        elif name in ("expand[]",):
            continue
        else:
            params[name] = value
    return params, metadata, pairs


def create_transfer(params: dict, metadata: dict):
    unknown = sorted(set(params) - TRANSFER_PARAMS)
    if unknown:
        return error(400, f"Received unknown parameter: {unknown[0]}", code="parameter_unknown", param=unknown[0])
    for name in ("amount", "currency", "destination"):
        if not params.get(name):
            return error(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
    if not re.fullmatch(r"[0-9]+", params["amount"]) or int(params["amount"]) <= 0:
        return error(400, "This value must be greater than or equal to 1.", code="parameter_invalid_integer", param="amount")
    if not re.fullmatch(r"[A-Za-z]{3}", params["currency"]):
        return error(400, f"Invalid currency: {params['currency']}.", code="parameter_invalid_string", param="currency")
    destination = params["destination"]
    if not re.fullmatch(r"acct_[A-Za-z0-9]+", destination):
        return error(400, f"No such destination: '{destination}'", code="resource_missing", param="destination")
    transfer = {
        "id": "tr_" + secrets.token_hex(12),
        "object": "transfer",
        "amount": int(params["amount"]),
        "amount_reversed": 0,
        "currency": params["currency"].lower(),
        "destination": destination,
        "description": params.get("description"),
        "transfer_group": params.get("transfer_group"),
        "metadata": metadata,
        "created": int(time.time()),
        "livemode": False,
        "reversed": False,
    }
    transfers[transfer["id"]] = transfer
    return 200, transfer


def handle(action):
    """Auth, idempotency and recording around one API call."""
    with lock:
        key = request.headers.get("Idempotency-Key")
        record = {
            "method": request.method,
            "path": request.path,
            "content_type": request.content_type,
            "idempotency_key": key,
            "stripe_version": request.headers.get("Stripe-Version"),
            "authorized": False,
            "params": {},
            "replayed": False,
        }
        calls.append(record)
        secret = api_key()
        if secret is None:
            status, body = error(401, "Invalid API Key provided.")
            record["status"] = status
            return jsonify(body), status
        record["authorized"] = True
        pairs: list[tuple[str, str]] = []
        if request.method == "POST":
            if request.mimetype != "application/x-www-form-urlencoded":
                status, body = error(400, "Content-Type must be application/x-www-form-urlencoded.")
                record["status"] = status
                return jsonify(body), status
            params, metadata, pairs = parse_form()
            record["params"] = dict(pairs)
            if key is not None and len(key) > 255:
                status, body = error(400, "Idempotency-Key is longer than 255 characters.")
                record["status"] = status
                return jsonify(body), status
            earlier = idempotent.get((secret, key)) if key is not None else None
            if earlier is not None:
                method, path, earlier_pairs, status, body = earlier
                if (method, path, earlier_pairs) != (request.method, request.path, tuple(pairs)):
                    status, body = error(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                        f"Try using a key other than '{key}' if you meant to execute a different request.",
                        type_="idempotency_error",
                        code="idempotency_error",
                    )
                    record["status"] = status
                    return jsonify(body), status
                record["status"] = status
                record["replayed"] = True
                response = jsonify(body)
                response.headers["Idempotent-Replayed"] = "true"
                return response, status
            status, body = action(params, metadata)
            if key is not None and status == 200:
                idempotent[(secret, key)] = (request.method, request.path, tuple(pairs), status, body)
        else:
            status, body = action()
        record["status"] = status
        return jsonify(body), status


@app.post("/v1/transfers")
def post_transfer():
    return handle(create_transfer)


@app.get("/v1/transfers/<transfer_id>")
def get_transfer(transfer_id: str):
    def retrieve():
        transfer = transfers.get(transfer_id)
        if transfer is None:
            return error(404, f"No such transfer: '{transfer_id}'", code="resource_missing", param="id")
        return 200, transfer

    return handle(retrieve)


@app.get("/_calls")
def list_calls():
    wanted = request.args.get("idempotency_key")
    with lock:
        selected = [c for c in calls if wanted is None or c["idempotency_key"] == wanted]
        return jsonify({"calls": selected})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
