"""A local stand-in for PayPal's REST API, for PayPalGatewayTests.

It checks what PayPal checks and keeps the state PayPal keeps, for the calls Roost makes:

- OAuth2 client credentials: ``POST /v1/oauth2/token`` with HTTP Basic auth and
  ``grant_type=client_credentials``. Any client id is accepted whose secret is ``<client id>-secret``,
  so that every test can be its own PayPal account (its own tokens, calls and request ids).
  Tokens last ``--token-ttl`` seconds (PayPal: about 9 hours); ``POST /__tokens/expire?client=ID``
  kills a client's tokens early, as a revocation would. A missing, unknown or dead bearer token is
  a 401 ``invalid_token``.
- Orders v2 with intent AUTHORIZE: create (with a vaulted ``payment_source`` or waiting for the buyer),
  get, authorize. Payments v2: capture (partial, ``final_capture``), void, refund; Payouts v1; and
  ``POST /v1/notifications/verify-webhook-signature``.
- ``PayPal-Request-Id`` on every POST but the token and the signature check (400
  ``PAYPAL_REQUEST_ID_REQUIRED`` without it). The same id on the same path with the same JSON body
  answers the first call's result again (an order in its latest status); with another body it is
  refused, 422 ``PAYPAL_REQUEST_ID_PREVIOUSLY_USED`` on v2 paths and ``DUPLICATE_REQUEST_ID`` on v1.
  ``POST /__config?client=ID {"request_id_mismatch": "replay"}`` switches a client to answering
  any body with the first result, as PayPal's idempotency guide describes it. Only 2xx and 422
  answers are remembered; a 400 leaves the id unused. The id is checked before the body.
- Amounts: ``value`` must be a decimal string with exactly the currency's decimals (JPY, HUF, TWD 0;
  BHD, KWD, JOD, OMR, TND 3; others 2) — stricter than PayPal, which also takes "15" for USD.
- Vault tokens (``payment_source.{card,paypal,venmo}.vault_id``, ``^[0-9a-zA-Z_-]+$``) choose the
  outcome by what they contain: ``declined`` → 422 INSTRUMENT_DECLINED; ``denied`` → a COMPLETED
  order whose authorization is DENIED; ``3ds`` → PAYER_ACTION_REQUIRED; ``twostep`` → APPROVED,
  to be authorized with ``POST /v2/checkout/orders/{id}/authorize``; anything else → authorized.
- Errors are PayPal's body: ``{name, message, debug_id, details: [{issue, description, field}]}``.

Test controls (not PayPal's): ``GET /__health``, ``GET /__calls?client=ID`` (every call, with its
headers of interest, body, and whether its token was refused), ``POST /__approve/<order>`` (the buyer approves), ``POST
/__webhooks/send {"client", "webhook_id", "event", "transmission_time"?}`` (answers the headers and
exact body of a delivery whose signature this fake issued).

Run: ``python Tests/fakes/paypal.py --port N``.
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import itertools
import json
import re
import secrets
import string
import threading
import time
import urllib.parse

from flask import Flask, Response, request

app = Flask(__name__)
LOCK = threading.RLock()
TOKEN_TTL = 32400
SIGNING_KEY = secrets.token_bytes(32)
IDS = itertools.count(1)

tokens = {}  # token -> {"client", "expires"}
calls = []  # every call to PayPal's paths
configs = {}  # client -> {"request_id_mismatch": "reject" | "replay"}
idempotency = {}  # (client, path, request id) -> {"body", "status", "order", "answer"}
orders = {}  # (client, id) -> order
authorizations = {}  # (client, id) -> authorization
captures = {}  # (client, id) -> capture
refunds = {}  # (client, id) -> refund
payouts = {}  # (client, id) -> batch
sender_batches = {}  # (client, sender_batch_id) -> payout batch id
transmissions = {}  # transmission id -> issued delivery

DECIMALS = {"JPY": 0, "HUF": 0, "TWD": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
VAULT_ID = re.compile(r"^[0-9a-zA-Z_-]+$")
PAYPAL_ID = re.compile(r"^[A-Z0-9]{13}$")


class Failure(Exception):
    def __init__(self, status, name, issue=None, field=None, description=None):
        super().__init__(name)
        self.status, self.name, self.issue, self.field, self.description = status, name, issue, field, description

    def body(self):
        body = {"name": self.name, "message": self.description or self.name, "debug_id": new_id("")[:13].lower()}
        if self.issue:
            detail = {"issue": self.issue, "description": self.description or self.issue}
            if self.field:
                detail["field"] = self.field
            body["details"] = [detail]
        return body


def invalid(issue, field, description=None):
    return Failure(400, "INVALID_REQUEST", issue, field, description)


def unprocessable(issue, description=None):
    return Failure(422, "UNPROCESSABLE_ENTITY", issue, None, description)


def not_found(description="The specified resource does not exist."):
    return Failure(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", None, description)


def new_id(prefix):
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(17 - len(prefix)))


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_answer(status, body):
    return Response(json.dumps(body), status=status, mimetype="application/json")


def base_url():
    return request.host_url.rstrip("/")


def canonical(raw):
    if not raw:
        return ""
    try:
        return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return raw.decode("utf-8", "replace")


def record_call(client, refused=False):
    body = request.get_data()
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    authorization = request.headers.get("Authorization", "")
    calls.append({
        "client": client,
        "method": request.method,
        "path": request.path,
        "request_id": request.headers.get("PayPal-Request-Id"),
        "auth": authorization.split(" ", 1)[0] if authorization else None,
        "content_type": request.headers.get("Content-Type"),
        "prefer": request.headers.get("Prefer"),
        "body": parsed,
        "refused": refused,
    })


def bearer_client():
    """The client a bearer token was issued to (None for an unknown one), and whether it is alive."""
    authorization = request.headers.get("Authorization", "")
    token = tokens.get(authorization[len("Bearer "):]) if authorization.startswith("Bearer ") else None
    if token is None:
        return None, False
    return token["client"], token["expires"] > time.time()


def unauthorized():
    return json_answer(401, {"error": "invalid_token", "error_description": "Token signature verification failed"})


# MARK: - Amounts

def decimals(currency):
    return DECIMALS.get(currency, 2)


def parse_amount(money, field, currency_key="currency_code"):
    """Minor units of a money object, checked as PayPal checks it (stricter on decimals)."""
    if not isinstance(money, dict):
        raise invalid("MISSING_REQUIRED_PARAMETER", field)
    currency, value = money.get(currency_key), money.get("value")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise invalid("INVALID_CURRENCY_CODE" if currency else "MISSING_REQUIRED_PARAMETER", f"{field}/{currency_key}")
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,15}(\.\d+)?", value):
        raise invalid("INVALID_PARAMETER_SYNTAX", f"{field}/value", "value must be a decimal string")
    places = decimals(currency)
    fraction = value.split(".")[1] if "." in value else ""
    if len(fraction) > places:
        raise unprocessable("DECIMAL_PRECISION", f"{currency} takes {places} decimals")
    if len(fraction) != places:
        raise invalid("INVALID_PARAMETER_SYNTAX", f"{field}/value", f"{currency} amounts are written with {places} decimals")
    minor = int(value.replace(".", ""))
    return currency, minor


def format_amount(currency, minor):
    places = decimals(currency)
    if places == 0:
        return str(minor)
    return f"{minor // 10 ** places}.{minor % 10 ** places:0{places}d}"


def money(currency, minor):
    return {"currency_code": currency, "value": format_amount(currency, minor)}


# MARK: - Idempotency

def idempotent(client, handler, v1=False, required=True):
    """Runs `handler` once per PayPal-Request-Id; answers repeats from memory."""
    request_id = request.headers.get("PayPal-Request-Id")
    if not request_id:
        if required:
            raise Failure(400, "INVALID_REQUEST", "PAYPAL_REQUEST_ID_REQUIRED", None, "A PayPal-Request-Id is required")
        return handler()
    if len(request_id) > 108:
        raise invalid("INVALID_STRING_MAX_LENGTH", "PayPal-Request-Id")
    key = (client, request.path, request_id)
    body = canonical(request.get_data())
    earlier = idempotency.get(key)
    if earlier is not None:
        mode = configs.get(client, {}).get("request_id_mismatch", "reject")
        if earlier["body"] != body and mode != "replay":
            issue = "DUPLICATE_REQUEST_ID" if v1 else "PAYPAL_REQUEST_ID_PREVIOUSLY_USED"
            raise unprocessable(issue, "The PayPal-Request-Id has already been used for another request.")
        if earlier["order"] is not None:
            return json_answer(earlier["status"], order_view(client, orders[(client, earlier["order"])]))
        return json_answer(earlier["status"], earlier["answer"])
    try:
        status, answer, order = handler()
    except Failure as failure:
        if failure.status == 422:
            idempotency[key] = {"body": body, "status": 422, "order": None, "answer": failure.body()}
        raise
    idempotency[key] = {"body": body, "status": status, "order": order, "answer": answer}
    return json_answer(status, answer)


def json_body(optional=False):
    raw = request.get_data()
    if not raw:
        if optional:
            return {}
        raise invalid("MISSING_REQUEST_BODY", "/")
    if not (request.headers.get("Content-Type") or "").startswith("application/json"):
        raise Failure(415, "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", None, "Content-Type must be application/json")
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid("MALFORMED_REQUEST_JSON", "/")
    if not isinstance(body, dict):
        raise invalid("MALFORMED_REQUEST_JSON", "/")
    return body


# MARK: - Views

def link(rel, href, method="GET"):
    return {"href": href, "rel": rel, "method": method}


def authorization_view(client, authorization):
    href = f"{base_url()}/v2/payments/authorizations/{authorization['id']}"
    view = {
        "id": authorization["id"],
        "status": authorization["status"],
        "amount": money(authorization["currency"], authorization["amount"]),
        "custom_id": authorization["custom_id"],
        "expiration_time": authorization["expires"],
        "create_time": authorization["created"],
        "links": [link("self", href), link("capture", href + "/capture", "POST"), link("void", href + "/void", "POST"),
                  link("up", f"{base_url()}/v2/checkout/orders/{authorization['order']}")],
    }
    if authorization.get("reason"):
        view["status_details"] = {"reason": authorization["reason"]}
    return view


def capture_view(client, capture):
    href = f"{base_url()}/v2/payments/captures/{capture['id']}"
    return {
        "id": capture["id"],
        "status": capture["status"],
        "amount": money(capture["currency"], capture["amount"]),
        "final_capture": capture["final"],
        "custom_id": capture["custom_id"],
        "create_time": capture["created"],
        "links": [link("self", href), link("refund", href + "/refund", "POST"),
                  link("up", f"{base_url()}/v2/payments/authorizations/{capture['authorization']}")],
    }


def refund_view(client, refund):
    return {
        "id": refund["id"],
        "status": refund["status"],
        "amount": money(refund["currency"], refund["amount"]),
        "create_time": refund["created"],
        "links": [link("self", f"{base_url()}/v2/payments/refunds/{refund['id']}"),
                  link("up", f"{base_url()}/v2/payments/captures/{refund['capture']}")],
    }


def order_view(client, order):
    payments = {}
    if order["authorizations"]:
        payments["authorizations"] = [authorization_view(client, authorizations[(client, a)]) for a in order["authorizations"]]
        capture_ids = [c for a in order["authorizations"] for c in authorizations[(client, a)]["captures"]]
        if capture_ids:
            payments["captures"] = [capture_view(client, captures[(client, c)]) for c in capture_ids]
            refund_ids = [r for c in capture_ids for r in captures[(client, c)]["refunds"]]
            if refund_ids:
                payments["refunds"] = [refund_view(client, refunds[(client, r)]) for r in refund_ids]
    unit = {"reference_id": order["reference_id"], "custom_id": order["custom_id"], "amount": money(order["currency"], order["amount"])}
    if payments:
        unit["payments"] = payments
    links = [link("self", f"{base_url()}/v2/checkout/orders/{order['id']}")]
    if order["status"] == "CREATED":
        links.append(link("approve", f"{base_url()}/checkoutnow?token={order['id']}"))
    elif order["status"] == "PAYER_ACTION_REQUIRED":
        links.append(link("payer-action", f"{base_url()}/checkoutnow?token={order['id']}"))
    elif order["status"] == "APPROVED":
        links.append(link("authorize", f"{base_url()}/v2/checkout/orders/{order['id']}/authorize", "POST"))
    view = {"id": order["id"], "intent": order["intent"], "status": order["status"], "purchase_units": [unit],
            "create_time": order["created"], "links": links}
    if order.get("payment_source"):
        view["payment_source"] = order["payment_source"]
    return view


def authorize_order(client, order, reason=None):
    authorization = {
        "id": new_id(""), "order": order["id"], "status": "DENIED" if reason else "CREATED", "reason": reason,
        "amount": order["amount"], "currency": order["currency"], "custom_id": order["custom_id"],
        "created": now_iso(), "expires": (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "captures": [],
    }
    authorizations[(client, authorization["id"])] = authorization
    order["authorizations"].append(authorization["id"])
    order["status"] = "COMPLETED"


# MARK: - Routes

@app.errorhandler(Failure)
def failure_answer(failure):
    return json_answer(failure.status, failure.body())


@app.get("/__health")
def health():
    return {"ok": True}


@app.get("/__calls")
def list_calls():
    with LOCK:
        client = request.args.get("client")
        return json_answer(200, [c for c in calls if client is None or c["client"] == client])


@app.post("/__tokens/expire")
def expire_tokens():
    with LOCK:
        client = request.args.get("client")
        for token in tokens.values():
            if token["client"] == client:
                token["expires"] = 0
        return {"ok": True}


@app.post("/__config")
def configure():
    with LOCK:
        configs[request.args.get("client")] = request.get_json(force=True)
        return {"ok": True}


@app.post("/__approve/<order_id>")
def approve(order_id):
    with LOCK:
        order = orders.get((request.args.get("client"), order_id))
        if order is None:
            raise not_found()
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            order["status"] = "APPROVED"
        return {"status": order["status"]}


@app.post("/v1/oauth2/token")
def token():
    with LOCK:
        authorization = request.headers.get("Authorization", "")
        client = None
        if authorization.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(authorization[len("Basic "):], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id, secret = "", ""
            if client_id and secret == f"{client_id}-secret":
                client = client_id
        record_call(client)
        if client is None:
            return json_answer(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        form = urllib.parse.parse_qs(request.get_data().decode("utf-8", "replace"))
        if not (request.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded") \
                or form.get("grant_type") != ["client_credentials"]:
            return json_answer(400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
        value = "A21AA" + secrets.token_urlsafe(24)
        tokens[value] = {"client": client, "expires": time.time() + TOKEN_TTL}
        return json_answer(200, {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": value,
                                 "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": TOKEN_TTL,
                                 "nonce": now_iso() + secrets.token_hex(8)})


def authenticated(handler):
    """Checks the bearer token, records the call and runs `handler(client)` under the lock."""
    def wrapped(*args, **kwargs):
        with LOCK:
            client, alive = bearer_client()
            # A dead token's call is recorded as its client's (and refused), so tests see the retry.
            record_call(client, refused=not alive)
            if client is None or not alive:
                return unauthorized()
            return handler(client, *args, **kwargs)
    wrapped.__name__ = handler.__name__
    return wrapped


@app.post("/v2/checkout/orders")
@authenticated
def create_order(client):
    def handler():
        body = json_body()
        intent = body.get("intent")
        if intent is None:
            raise invalid("MISSING_REQUIRED_PARAMETER", "/intent")
        if intent not in ("AUTHORIZE", "CAPTURE"):
            raise invalid("INVALID_PARAMETER_VALUE", "/intent")
        if intent != "AUTHORIZE":
            raise unprocessable("UNSUPPORTED_INTENT", "this stand-in only authorizes")
        units = body.get("purchase_units")
        if not isinstance(units, list) or not units:
            raise invalid("INVALID_ARRAY_MIN_ITEMS" if isinstance(units, list) else "MISSING_REQUIRED_PARAMETER", "/purchase_units")
        if len(units) > 1:
            raise unprocessable("MULTIPLE_PURCHASE_UNITS_NOT_SUPPORTED")
        unit = units[0]
        currency, amount = parse_amount(unit.get("amount"), "/purchase_units/@reference_id=default/amount")
        if amount <= 0:
            raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE")
        custom_id = unit.get("custom_id")
        if custom_id is not None and (not isinstance(custom_id, str) or len(custom_id) > 127):
            raise invalid("INVALID_STRING_MAX_LENGTH", "/purchase_units/@reference_id=default/custom_id")
        source = body.get("payment_source")
        vault_id = None
        status = "CREATED"
        if source is not None:
            if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in ("card", "paypal", "venmo"):
                raise invalid("INVALID_PARAMETER_VALUE", "/payment_source")
            kind, details = next(iter(source.items()))
            if not isinstance(details, dict):
                raise invalid("INVALID_PARAMETER_VALUE", f"/payment_source/{kind}")
            if "vault_id" in details:
                vault_id = details["vault_id"]
                if not isinstance(vault_id, str) or not VAULT_ID.fullmatch(vault_id) or len(vault_id) > 255:
                    raise invalid("INVALID_PARAMETER_SYNTAX", f"/payment_source/{kind}/vault_id")
            elif kind == "paypal" and isinstance(details.get("experience_context"), dict):
                context = details["experience_context"]
                for name in ("return_url", "cancel_url"):
                    if not isinstance(context.get(name), str) or not context[name].startswith(("http://", "https://")):
                        raise invalid("INVALID_PARAMETER_SYNTAX", f"/payment_source/paypal/experience_context/{name}")
                status = "PAYER_ACTION_REQUIRED"
            else:
                raise invalid("MISSING_REQUIRED_PARAMETER", f"/payment_source/{kind}/vault_id")
        if vault_id is not None and "declined" in vault_id:
            raise unprocessable("INSTRUMENT_DECLINED", "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.")
        order = {
            "id": new_id(""), "intent": intent, "status": status, "amount": amount, "currency": currency,
            "reference_id": unit.get("reference_id", "default"), "custom_id": custom_id, "created": now_iso(),
            "authorizations": [], "payment_source": source if vault_id else None,
        }
        orders[(client, order["id"])] = order
        if vault_id is not None:
            if "3ds" in vault_id:
                order["status"] = "PAYER_ACTION_REQUIRED"
            elif "twostep" in vault_id:
                order["status"] = "APPROVED"
            else:
                authorize_order(client, order, reason="DECLINED_BY_RISK_FRAUD_FILTERS" if "denied" in vault_id else None)
        return 201, order_view(client, order), order["id"]
    return idempotent(client, handler)


@app.get("/v2/checkout/orders/<order_id>")
@authenticated
def get_order(client, order_id):
    order = orders.get((client, order_id))
    if order is None:
        raise not_found()
    return json_answer(200, order_view(client, order))


@app.post("/v2/checkout/orders/<order_id>/authorize")
@authenticated
def authorize(client, order_id):
    def handler():
        json_body(optional=True)
        order = orders.get((client, order_id))
        if order is None:
            raise not_found()
        if order["authorizations"]:
            raise unprocessable("ORDER_ALREADY_AUTHORIZED")
        if order["status"] != "APPROVED":
            raise unprocessable("ORDER_NOT_APPROVED", "The payer has not yet approved the Order for payment.")
        authorize_order(client, order)
        return 201, order_view(client, order), order["id"]
    return idempotent(client, handler)


def find(table, client, identifier):
    found = table.get((client, identifier))
    if found is None:
        raise not_found()
    return found


@app.get("/v2/payments/authorizations/<authorization_id>")
@authenticated
def get_authorization(client, authorization_id):
    return json_answer(200, authorization_view(client, find(authorizations, client, authorization_id)))


@app.post("/v2/payments/authorizations/<authorization_id>/capture")
@authenticated
def capture(client, authorization_id):
    def handler():
        body = json_body(optional=True)
        authorization = find(authorizations, client, authorization_id)
        taken = sum(captures[(client, c)]["amount"] for c in authorization["captures"])
        remaining = authorization["amount"] - taken
        if authorization["status"] == "VOIDED":
            raise unprocessable("AUTHORIZATION_VOIDED", "A voided authorization cannot be captured.")
        if authorization["status"] == "DENIED":
            raise unprocessable("AUTHORIZATION_DENIED")
        if authorization["status"] == "CAPTURED":
            raise unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has been previously captured and hence cannot be captured again.")
        amount = remaining
        if "amount" in body:
            currency, amount = parse_amount(body["amount"], "/amount")
            if currency != authorization["currency"]:
                raise unprocessable("CURRENCY_MISMATCH")
            if amount <= 0:
                raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE")
            if amount > remaining:
                raise unprocessable("MAX_CAPTURE_AMOUNT_EXCEEDED")
        final = body.get("final_capture", False)
        if not isinstance(final, bool):
            raise invalid("INVALID_PARAMETER_SYNTAX", "/final_capture")
        record = {"id": new_id(""), "authorization": authorization_id, "status": "COMPLETED", "amount": amount,
                  "currency": authorization["currency"], "final": final, "custom_id": authorization["custom_id"],
                  "created": now_iso(), "refunds": []}
        captures[(client, record["id"])] = record
        authorization["captures"].append(record["id"])
        authorization["status"] = "CAPTURED" if final or amount == remaining else "PARTIALLY_CAPTURED"
        return 201, capture_view(client, record), None
    return idempotent(client, handler)


@app.post("/v2/payments/authorizations/<authorization_id>/void")
@authenticated
def void(client, authorization_id):
    def handler():
        authorization = find(authorizations, client, authorization_id)
        if authorization["status"] in ("CAPTURED", "PARTIALLY_CAPTURED"):
            raise unprocessable("AUTHORIZATION_ALREADY_CAPTURED")
        if authorization["status"] == "VOIDED":
            raise unprocessable("PREVIOUSLY_VOIDED")
        if authorization["status"] == "DENIED":
            raise unprocessable("CANNOT_BE_VOIDED")
        authorization["status"] = "VOIDED"
        order = orders[(client, authorization["order"])]
        if all(authorizations[(client, a)]["status"] == "VOIDED" for a in order["authorizations"]):
            order["status"] = "VOIDED"
        if request.headers.get("Prefer") == "return=representation":
            return 200, authorization_view(client, authorization), None
        return 204, None, None
    answer = idempotent(client, handler)
    if answer.status_code == 204:
        return Response(status=204)
    return answer


@app.get("/v2/payments/captures/<capture_id>")
@authenticated
def get_capture(client, capture_id):
    return json_answer(200, capture_view(client, find(captures, client, capture_id)))


@app.post("/v2/payments/captures/<capture_id>/refund")
@authenticated
def refund(client, capture_id):
    def handler():
        body = json_body(optional=True)
        record = find(captures, client, capture_id)
        left = record["amount"] - sum(refunds[(client, r)]["amount"] for r in record["refunds"])
        if left == 0:
            raise unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
        amount = left
        if "amount" in body:
            currency, amount = parse_amount(body["amount"], "/amount")
            if currency != record["currency"]:
                raise unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH")
            if amount <= 0:
                raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE")
            if amount > left:
                raise unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")
        item = {"id": new_id(""), "capture": capture_id, "status": "COMPLETED", "amount": amount,
                "currency": record["currency"], "created": now_iso()}
        refunds[(client, item["id"])] = item
        record["refunds"].append(item["id"])
        record["status"] = "REFUNDED" if amount == left else "PARTIALLY_REFUNDED"
        return 201, refund_view(client, item), None
    return idempotent(client, handler)


@app.post("/v1/payments/payouts")
@authenticated
def create_payout(client):
    def handler():
        body = json_body()
        header = body.get("sender_batch_header")
        if not isinstance(header, dict):
            raise Failure(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "sender_batch_header")
        batch_id = header.get("sender_batch_id")
        if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 256:
            raise Failure(400, "VALIDATION_ERROR", "INVALID_PARAMETER_VALUE", "sender_batch_header.sender_batch_id")
        if (client, batch_id) in sender_batches:
            raise Failure(400, "USER_BUSINESS_ERROR", "SENDER_BATCH_ID_ALREADY_USED", None,
                          f"Batch with given sender_batch_id already exists: {sender_batches[(client, batch_id)]}")
        items = body.get("items")
        if not isinstance(items, list) or not items or len(items) > 15000:
            raise Failure(400, "VALIDATION_ERROR", "INVALID_ARRAY_LENGTH", "items")
        for index, item in enumerate(items):
            kind = item.get("recipient_type") or header.get("recipient_type")
            receiver = item.get("receiver")
            if kind not in ("EMAIL", "PHONE", "PAYPAL_ID"):
                raise Failure(400, "VALIDATION_ERROR", "INVALID_PARAMETER_VALUE", f"items[{index}].recipient_type")
            if not isinstance(receiver, str) or (kind == "EMAIL" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", receiver)) \
                    or (kind == "PAYPAL_ID" and not PAYPAL_ID.fullmatch(receiver)):
                raise Failure(400, "VALIDATION_ERROR", "INVALID_RECEIVER", f"items[{index}].receiver")
            currency, amount = parse_amount(item.get("amount"), f"items[{index}].amount", currency_key="currency")
            if amount <= 0:
                raise Failure(400, "VALIDATION_ERROR", "INVALID_AMOUNT", f"items[{index}].amount.value")
        batch = {"payout_batch_id": new_id(""), "batch_status": "PENDING", "sender_batch_header": header, "items": items}
        payouts[(client, batch["payout_batch_id"])] = batch
        sender_batches[(client, batch_id)] = batch["payout_batch_id"]
        answer = {"batch_header": {"payout_batch_id": batch["payout_batch_id"], "batch_status": "PENDING",
                                   "sender_batch_header": header},
                  "links": [link("self", f"{base_url()}/v1/payments/payouts/{batch['payout_batch_id']}")]}
        return 201, answer, None
    return idempotent(client, handler, v1=True)


@app.get("/v1/payments/payouts/<batch_id>")
@authenticated
def get_payout(client, batch_id):
    batch = find(payouts, client, batch_id)
    return json_answer(200, {"batch_header": {"payout_batch_id": batch_id, "batch_status": batch["batch_status"],
                                              "sender_batch_header": batch["sender_batch_header"]},
                             "items": batch["items"]})


# MARK: - Webhooks

def signature(transmission_id, transmission_time, webhook_id, body):
    crc = binascii.crc32(body) & 0xFFFFFFFF
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()
    return base64.b64encode(hmac.new(SIGNING_KEY, message, hashlib.sha256).digest()).decode()


@app.post("/__webhooks/send")
def send_webhook():
    with LOCK:
        spec = request.get_json(force=True)
        event = spec["event"]
        body = json.dumps(event, separators=(",", ":")).encode()
        transmission_id = f"{next(IDS):08d}-{secrets.token_hex(4)}"
        transmission_time = spec.get("transmission_time") or now_iso()
        headers = {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-stand-in",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-SIG": signature(transmission_id, transmission_time, spec["webhook_id"], body),
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
        }
        transmissions[transmission_id] = {"headers": headers, "webhook_id": spec["webhook_id"], "event": event}
        return {"headers": headers, "body": body.decode()}


@app.post("/v1/notifications/verify-webhook-signature")
@authenticated
def verify_webhook_signature(client):
    body = json_body()
    fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id")
    for field in fields + ("webhook_event",):
        if field not in body:
            raise Failure(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", field)
    if not isinstance(body["webhook_event"], dict):
        raise Failure(400, "VALIDATION_ERROR", "INVALID_PARAMETER_SYNTAX", "webhook_event")
    issued = transmissions.get(body["transmission_id"])
    ok = issued is not None and issued["webhook_id"] == body["webhook_id"] and issued["event"] == body["webhook_event"] \
        and all(issued["headers"]["PAYPAL-" + f.upper().replace("_", "-")] == body[f]
                for f in ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time"))
    return json_answer(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token-ttl", type=int, default=TOKEN_TTL)
    arguments = parser.parse_args()
    TOKEN_TTL = arguments.token_ttl
    app.run(host=arguments.host, port=arguments.port, threaded=True)
