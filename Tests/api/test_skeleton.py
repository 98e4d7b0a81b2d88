"""The HTTP contract every Roost endpoint honours (API.md): request ids, problem+json errors,
health, metrics and the OpenAPI document, checked against a running `roost serve`."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from roost_e2e import (
    GENERATED_REQUEST_ID,
    assert_problem,
    assert_request_id_header,
    media_type,
)

BASE_PATHS = ("/health/live", "/health/ready", "/metrics", "/openapi.json")

# --- health -----------------------------------------------------------------------------------


def test_health_live_answers_200_status_ok(server):
    response = server.get("/health/live")
    assert response.status_code == 200
    assert media_type(response.headers.get("Content-Type")) == "application/json"
    assert response.json() == {"status": "ok"}


def test_health_ready_answers_200_status_ready_once_recovered(server):
    response = server.get("/health/ready")
    assert response.status_code == 200, response.text
    assert media_type(response.headers.get("Content-Type")) == "application/json"
    assert response.json() == {"status": "ready"}


# --- request ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*BASE_PATHS, "/no/such/route"])
def test_every_response_carries_a_generated_request_id_when_the_client_sends_none(server, path):
    first = server.get(path)
    second = server.get(path)
    for response in (first, second):
        value = response.headers.get("X-Request-ID")
        assert value is not None, f"GET {path} -> {response.status_code} without X-Request-ID"
        assert GENERATED_REQUEST_ID.match(value), f"generated id {value!r} is not 17-32 hex characters"
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"], "generated ids repeat"


@pytest.mark.parametrize(
    "offered",
    ["abc", "ok-id_1.2:3", "0", "A" * 128, "trace:2026-11-25T10:00:00.000Z", "550e8400-e29b-41d4-a716-446655440000"],
    ids=["short", "all-punctuation", "one-char", "exactly-128", "colons-and-dots", "uuid"],
)
@pytest.mark.parametrize("path", ["/health/live", "/no/such/route"], ids=["ok", "error"])
def test_client_request_id_matching_the_pattern_is_echoed_back(server, path, offered):
    response = server.get(path, headers={"X-Request-ID": offered})
    assert response.headers.get("X-Request-ID") == offered
    if response.status_code >= 400:
        assert response.json()["requestId"] == offered


@pytest.mark.parametrize(
    "offered",
    [
        b"",
        b"A" * 129,
        b"has space",
        b"a/b",
        b"semi;colon",
        b"quote\"d",
        b"plus+sign",
        "\u00fcn\u00ef\u2713".encode("utf-8"),
        b"x" * 65536,
    ],
    ids=["empty", "129-chars", "space", "slash", "semicolon", "quote", "plus", "non-ascii", "huge-64KiB"],
)
def test_client_request_id_outside_the_pattern_is_replaced_by_a_generated_one(server, offered):
    for path in ("/health/live", "/no/such/route"):
        response = server.get(path, headers={"X-Request-ID": offered})
        assert response.status_code < 500
        value = response.headers.get("X-Request-ID")
        assert value is not None, f"GET {path}: no X-Request-ID"
        assert GENERATED_REQUEST_ID.match(value), f"GET {path}: offered {offered[:40]!r}, got back {value[:60]!r}"
        if response.status_code >= 400:
            assert assert_problem(response)["requestId"] == value


# --- problem+json -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/no/such/route", "/", "/v1", "/health", "/HEALTH/LIVE", "/metrics.txt"])
def test_unknown_route_is_a_problem_json_404_not_found(server, path):
    response = server.get(path)
    body = assert_problem(response, status=404, code="not_found")
    assert body["title"] and body["detail"] and body["type"]


def test_problem_request_id_is_the_one_the_client_sent(server):
    response = server.get("/no/such/route", headers={"X-Request-ID": "client-chosen.id:42"})
    body = assert_problem(response, status=404, code="not_found")
    assert body["requestId"] == "client-chosen.id:42"


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/health/live"),
        ("POST", "/health/live"),
        ("PUT", "/health/ready"),
        ("PATCH", "/metrics"),
        ("POST", "/openapi.json"),
        ("OPTIONS", "/health/live"),
    ],
)
def test_wrong_method_on_an_existing_path_is_a_problem_json_404_or_405_never_5xx(server, method, path):
    response = server.request(method, path, headers={"X-Request-ID": "wrong-method"})
    assert response.status_code in (404, 405), f"{method} {path} -> {response.status_code} {response.text[:200]}"
    body = assert_problem(response)
    assert body["code"] in ("not_found", "method_not_allowed")
    assert body["requestId"] == "wrong-method"


# --- metrics ----------------------------------------------------------------------------------

SAMPLE_LINE = re.compile(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?([0-9.eE+-]+|Inf|NaN)( -?[0-9]+)?$"
)


def test_metrics_is_prometheus_text_counting_requests_by_route(server):
    for _ in range(3):
        assert server.get("/health/live").status_code == 200
    response = server.get("/metrics")
    assert response.status_code == 200
    assert media_type(response.headers.get("Content-Type")) == "text/plain"
    assert_request_id_header(response.headers)
    lines = response.text.splitlines()
    assert "# TYPE roost_http_requests_total counter" in lines, response.text[:2000]
    live = [line for line in lines if line.startswith("roost_http_requests_total{") and 'route="/health/live"' in line]
    assert live, "no roost_http_requests_total line for /health/live:\n" + "\n".join(l for l in lines if "roost_http" in l)
    assert sum(float(line.rsplit(" ", 1)[1]) for line in live) >= 3
    # The engine's own: the log's records and syncs (a registration writes some).
    assert server.request("POST", "/v1/auth/register", json={"email": "metrics@example.com", "password": "correct horse battery staple",
                                                             "name": "M", "role": "guest"}).status_code == 201
    lines = server.get("/metrics").text.splitlines()
    records = [line for line in lines if line.startswith("roost_wal_records")]
    assert records and float(records[0].rsplit(" ", 1)[1]) >= 1, "no WAL records counted:\n" + "\n".join(l for l in lines if "wal" in l)
    assert any(line.startswith("# TYPE roost_wal_fdatasync_seconds ") for line in lines)
    malformed = [line for line in lines if line and not line.startswith("#") and not SAMPLE_LINE.match(line)]
    assert not malformed, f"lines that are not Prometheus samples: {malformed[:5]}"


# --- OpenAPI ----------------------------------------------------------------------------------


@pytest.fixture
def openapi(server) -> dict:
    response = server.get("/openapi.json")
    assert response.status_code == 200
    assert media_type(response.headers.get("Content-Type")) == "application/json"
    return response.json()


def test_openapi_document_is_a_valid_openapi_3_1_document(openapi):
    assert str(openapi.get("openapi", "")).startswith("3.1"), openapi.get("openapi")
    validate(openapi, cls=OpenAPIV31SpecValidator)


def test_openapi_document_describes_the_operational_endpoints(openapi):
    missing = [path for path in BASE_PATHS if "get" not in openapi["paths"].get(path, {})]
    assert not missing, f"GET operations missing from the OpenAPI document: {missing}"


def _resolve(document: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"external $ref {reference}"
        node = document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _documented(status: int, responses: dict) -> str | None:
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            return key
    return None


def _content_type_matches(actual: str, documented: list[str]) -> bool:
    for candidate in documented:
        kind = media_type(candidate)
        if kind in ("*/*", actual) or (kind.endswith("/*") and actual.startswith(kind[:-1])):
            return True
    return False


def test_every_path_in_the_openapi_document_answers_get_with_a_documented_status(server, openapi):
    """Each path is fetched from the running server: a GET operation's answer must have a status
    its `responses` list and (when they say) one of their media types; a path without a GET
    operation must refuse GET cleanly (problem+json 404/405)."""
    failures = []
    for template, item in openapi["paths"].items():
        path = re.sub(r"\{[^}]+\}", "e2e-placeholder", template)
        response = server.get(path)
        actual_type = media_type(response.headers.get("Content-Type"))
        outcome = f"GET {path} -> {response.status_code} {actual_type}"
        if response.status_code >= 500:
            failures.append(f"{outcome}: server error")
            continue
        if "X-Request-ID" not in response.headers:
            failures.append(f"{outcome}: no X-Request-ID")
        operation = item.get("get")
        if operation is None:
            if response.status_code not in (404, 405) or actual_type != "application/problem+json":
                failures.append(f"{outcome}: a path without GET should refuse GET as problem+json 404/405")
            continue
        responses = operation.get("responses", {})
        key = _documented(response.status_code, responses)
        if key is None:
            failures.append(f"{outcome}: status not among documented {sorted(responses)}")
            continue
        content = _resolve(openapi, responses[key]).get("content")
        if content and not _content_type_matches(actual_type, list(content)):
            failures.append(f"{outcome}: media type not among documented {sorted(content)}")
    assert not failures, "\n".join(failures)


# --- junk never yields a 5xx ------------------------------------------------------------------


def _get(target: bytes, headers: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n"


# Requests the router sees (well-formed HTTP, odd content): each must be a non-5xx with an
# X-Request-ID, and an error must be problem+json.
ODD_REQUESTS = {
    "path-8KiB": _get(b"/" + b"a" * 8192),
    "path-8KiB-under-a-route": _get(b"/health/" + b"b" * 8192),
    "path-encoded-nul": _get(b"/%00"),
    "route-then-encoded-nul": _get(b"/health/live%00"),
    "path-encoded-unicode": _get(b"/h%C3%A9llo/%E2%9C%93"),
    "path-invalid-utf8-escape": _get(b"/%ff%fe%fd"),
    "path-bad-percent-escape": _get(b"/%zz/%"),
    "path-dot-segments": _get(b"/../../etc/passwd"),
    "path-encoded-traversal": _get(b"/..%2f..%2fetc%2fpasswd"),
    "path-double-slashes": _get(b"//health//live//"),
    "query-junk": _get(b"/health/live?%00=%ff&&=&a=%zz"),
    "asterisk-target": _get(b"*"),
    "absolute-form-target": _get(b"http://elsewhere.example/health/live"),
    "request-id-huge-64KiB": _get(b"/health/live", b"X-Request-ID: " + b"r" * 65536 + b"\r\n"),
    "request-id-utf8": _get(b"/health/live", "X-Request-ID: \u00fcn\u00ef\u2713\r\n".encode()),
    "request-id-twice": _get(b"/health/live", b"X-Request-ID: one\r\nX-Request-ID: two\r\n"),
    "many-headers": _get(b"/health/live", b"".join(b"X-Junk-%d: v\r\n" % i for i in range(500))),
    "odd-accept-and-content-type": _get(b"/health/live", b"Accept: */*;q=bogus\r\nContent-Type: nonsense\r\n"),
    "get-with-body": _get(b"/health/ready", b"Content-Length: 5\r\n") + b"hello",
    "get-with-chunked-body": _get(b"/metrics", b"Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n",
    "post-json-to-a-get-route": b"POST /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\":[1}",
}


@pytest.mark.parametrize("name", list(ODD_REQUESTS))
def test_odd_requests_get_a_non_5xx_answer_with_request_id(server, name):
    response = server.raw(ODD_REQUESTS[name])
    assert response.status < 500, response
    assert_request_id_header(response)
    if response.status >= 400:
        assert_problem(response)
    assert server.get("/health/live").status_code == 200


def test_odd_paths_and_headers_through_a_client_library_never_get_a_5xx(server):
    attempts = [
        ("GET", "/" + "p" * 8192, {}),
        ("GET", "/%00", {}),
        ("GET", "/caf\u00e9/\u2713/\U0001F3E0", {}),
        ("GET", "/health/live", {"X-Request-ID": "h" * 70000}),
        ("DELETE", "/" + "q" * 8192, {"X-Request-ID": "\u00e9" * 300}),
        ("PUT", "/health/live%00", {"Content-Type": "application/json"}),
    ]
    for method, path, headers in attempts:
        response = server.request(method, path, headers=headers)
        assert response.status_code < 500, f"{method} {path[:60]} -> {response.status_code} {response.text[:200]}"
        assert "X-Request-ID" in response.headers, f"{method} {path[:60]} -> no X-Request-ID"
    assert server.get("/health/ready").status_code == 200


# Requests the HTTP parser rejects before any route or middleware runs.
UNPARSEABLE_REQUESTS = {
    "raw-utf8-in-path": _get("/h\u00e9llo/\u2713".encode()),
    "raw-nul-in-path": _get(b"/a\x00b"),
    "control-char-in-header": _get(b"/health/live", b"X-Request-ID: a\x01b\r\n"),
    "non-numeric-content-length": _get(b"/health/live", b"Content-Length: abc\r\n"),
    "invalid-method-token": b"G@T /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "header-section-over-80KiB": _get(b"/health/live", b"X-Request-ID: " + b"r" * 100_000 + b"\r\n"),
    "path-over-80KiB": _get(b"/" + b"a" * 100_000),
}


def test_unparseable_requests_never_get_a_5xx_and_the_server_keeps_serving(server):
    for name, request in UNPARSEABLE_REQUESTS.items():
        response = server.raw(request)
        assert response.status < 500, f"{name}: {response}"
        assert 400 <= response.status < 500, f"{name}: malformed HTTP accepted: {response}"
    assert server.get("/health/live").status_code == 200


def test_requests_rejected_by_the_http_parser_still_carry_a_request_id_and_problem_json(server):
    """API.md: *every* response carries X-Request-ID and errors are application/problem+json.
    That includes the 400s for requests too malformed for the router to see."""
    failures = []
    for name, request in UNPARSEABLE_REQUESTS.items():
        response = server.raw(request)
        if response.header("X-Request-ID") is None:
            failures.append(f"{name}: {response.status} without X-Request-ID")
        if response.status >= 400 and media_type(response.header("Content-Type")) != "application/problem+json":
            failures.append(f"{name}: {response.status} with Content-Type {response.header('Content-Type')!r}, body {response.body[:60]!r}")
    assert not failures, "\n".join(failures)
