#!/usr/bin/env python3
"""Writes botocore-sigv4.json: what botocore's own S3 client sends, at a frozen clock.

The client builds the URLs (path or virtual-host addressing) and signs with
botocore.auth.S3SigV4Auth (Authorization header) and S3SigV4QueryAuth (presigned URLs); the
clock they read, botocore.auth.get_current_datetime, is frozen.

The Swift tests (S3BotocoreVectorTests) build the same requests with S3ObjectStore and
SigV4Signer and must produce the same URL, headers and signature. Nothing here talks to the
network: every request is captured just before botocore would send it.

    python3 Tests/RoostIntegrationsTests/Vectors/make_botocore_vectors.py [OUTPUT]

Needs botocore (the pinned version is in Tests/api/requirements.txt). Tests/api/
test_sigv4_botocore.py regenerates the file and fails when it differs from the committed one.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
from pathlib import Path

import botocore
import botocore.auth
import botocore.session
from botocore.config import Config

# The clock every signature is made at (botocore reads it through botocore.auth).
FROZEN = datetime.datetime(2026, 3, 14, 15, 9, 26, tzinfo=datetime.timezone.utc)

# AWS's documented example credentials: not a real account.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FQoGZXIvYXdzEXAMPLE//session+token/with=padding=="

# Headers botocore signs or that carry the signature; the rest (User-Agent, Expect,
# amz-sdk-*, Content-Length) are botocore's own and are not signed.
RECORDED_HEADERS = (
    "authorization",
    "content-type",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
)

# Each case: the store configuration, the operation and its input.
CASES = [
    {
        "name": "put-path-style-binary",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path"},
        "operation": "PutObject",
        "input": {"key": "listings/l-42/photo-1.jpg", "contentType": "image/jpeg", "body": bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01])},
    },
    {
        "name": "put-virtual-host-space-in-key",
        "config": {"endpoint": "https://s3.eu-west-1.amazonaws.com", "region": "eu-west-1", "bucket": "roost-media", "addressing": "virtualHost"},
        "operation": "PutObject",
        "input": {"key": "users/u 7/avatar final.png", "contentType": "image/png", "body": b"\x89PNG\r\n\x1a\n"},
    },
    {
        "name": "put-virtual-host-session-token-empty-body",
        "config": {"endpoint": "http://localhost:5123", "region": "us-west-2", "bucket": "roost-media", "addressing": "virtualHost", "sessionToken": SESSION_TOKEN},
        "operation": "PutObject",
        "input": {"key": "empty.bin", "contentType": "application/octet-stream", "body": b""},
    },
    {
        "name": "put-unsigned-payload-session-token",
        "config": {"endpoint": "https://s3.eu-central-1.amazonaws.com", "region": "eu-central-1", "bucket": "roost-media", "addressing": "virtualHost", "sessionToken": SESSION_TOKEN},
        "operation": "PutObject",
        "input": {"key": "raw/upload.dat", "contentType": "application/octet-stream", "body": b"not hashed", "unsignedPayload": True},
    },
    {
        "name": "get-path-style-unicode-key",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path"},
        "operation": "GetObject",
        "input": {"key": "users/ü/ファイル.jpg"},
    },
    {
        "name": "get-virtual-host-special-characters",
        "config": {"endpoint": "http://localhost:5123", "region": "eu-west-1", "bucket": "roost-media", "addressing": "virtualHost"},
        "operation": "GetObject",
        "input": {"key": "a+b=c&d;e,f:g@h$i!j'k(l)m*n~o%p#q[r]s.txt"},
    },
    {
        "name": "get-path-style-double-slash-and-dots",
        "config": {"endpoint": "https://storage.example.test:9443", "region": "auto", "bucket": "roost-media", "addressing": "path"},
        "operation": "GetObject",
        "input": {"key": "a//b/./c/../d"},
    },
    {
        "name": "delete-path-style-session-token",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path", "sessionToken": SESSION_TOKEN},
        "operation": "DeleteObject",
        "input": {"key": "listings/l-42/photo-1.jpg"},
    },
    {
        "name": "create-bucket-us-east-1-path-style",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path"},
        "operation": "CreateBucket",
        "input": {},
    },
    {
        "name": "create-bucket-eu-west-1-virtual-host",
        "config": {"endpoint": "http://localhost:5123", "region": "eu-west-1", "bucket": "roost-media", "addressing": "virtualHost"},
        "operation": "CreateBucket",
        "input": {},
    },
    {
        "name": "list-objects-query-string",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path"},
        "operation": "ListObjectsV2",
        "input": {"prefix": "users/ü a+b/", "maxKeys": 5, "startAfter": "users/ü a+b/x=y&z"},
    },
    {
        "name": "presign-path-style",
        "config": {"endpoint": "http://127.0.0.1:5123", "region": "us-east-1", "bucket": "roost-media", "addressing": "path"},
        "operation": "PresignGetObject",
        "input": {"key": "listings/l-42/photo-1.jpg", "expires": 900},
    },
    {
        "name": "presign-virtual-host-week-unicode",
        "config": {"endpoint": "https://s3.eu-west-1.amazonaws.com", "region": "eu-west-1", "bucket": "roost-media", "addressing": "virtualHost"},
        "operation": "PresignGetObject",
        "input": {"key": "a b/ü+(1).jpg", "expires": 604800},
    },
    {
        "name": "presign-session-token-custom-port",
        "config": {"endpoint": "http://localhost:5123", "region": "us-west-2", "bucket": "roost-media", "addressing": "virtualHost", "sessionToken": SESSION_TOKEN},
        "operation": "PresignGetObject",
        "input": {"key": "users/u1/photo.jpg", "expires": 3600},
    },
]


class _Captured(Exception):
    """Raised by the before-send hook so that nothing reaches the network."""

    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def _client(config: dict, *, unsigned_payload: bool = False):
    s3_config = {"addressing_style": "virtual" if config["addressing"] == "virtualHost" else "path"}
    if unsigned_payload:
        s3_config["payload_signing_enabled"] = False
    return botocore.session.Session().create_client(
        "s3",
        region_name=config["region"],
        endpoint_url=config["endpoint"],
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        aws_session_token=config.get("sessionToken"),
        config=Config(
            signature_version="s3v4",
            s3=s3_config,
            # No CRC checksum headers: the store sends none.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )


def _capture(client, call) -> dict:
    def before_send(request, **_):
        raise _Captured(request)

    client.meta.events.register_first("before-send.s3", before_send)
    try:
        call()
    except _Captured as captured:
        request = captured.request
    else:
        raise AssertionError("the request was not captured")
    headers = {}
    for name, value in request.headers.items():
        if name.lower() in RECORDED_HEADERS:
            headers[name.lower()] = value.decode() if isinstance(value, bytes) else value
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    return {"method": request.method, "url": request.url, "headers": dict(sorted(headers.items())), "body": _b64(body or b"")}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _run(case: dict) -> dict:
    config, given = case["config"], case["input"]
    bucket = config["bucket"]
    if case["operation"] == "PutObject":
        client = _client(config, unsigned_payload=given.get("unsignedPayload", False))
        expected = _capture(client, lambda: client.put_object(Bucket=bucket, Key=given["key"], Body=given["body"], ContentType=given["contentType"]))
    elif case["operation"] == "GetObject":
        client = _client(config)
        expected = _capture(client, lambda: client.get_object(Bucket=bucket, Key=given["key"]))
    elif case["operation"] == "DeleteObject":
        client = _client(config)
        expected = _capture(client, lambda: client.delete_object(Bucket=bucket, Key=given["key"]))
    elif case["operation"] == "CreateBucket":
        client = _client(config)
        arguments = {"Bucket": bucket}
        if config["region"] != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": config["region"]}
        expected = _capture(client, lambda: client.create_bucket(**arguments))
    elif case["operation"] == "ListObjectsV2":
        client = _client(config)
        expected = _capture(
            client,
            lambda: client.list_objects_v2(Bucket=bucket, Prefix=given["prefix"], MaxKeys=given["maxKeys"], StartAfter=given["startAfter"]),
        )
    elif case["operation"] == "PresignGetObject":
        client = _client(config)
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": given["key"]}, ExpiresIn=given["expires"])
        expected = {"method": "GET", "url": url}
    else:
        raise ValueError(case["operation"])
    recorded_input = {k: (_b64(v) if k == "body" else v) for k, v in given.items()}
    if "body" in recorded_input:
        recorded_input["bodyBase64"] = recorded_input.pop("body")
    return {
        "name": case["name"],
        "operation": case["operation"],
        "config": {"sessionToken": None, **config},
        "input": recorded_input,
        "expected": expected,
    }


def build() -> dict:
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: FROZEN
    try:
        cases = [_run(case) for case in CASES]
    finally:
        botocore.auth.get_current_datetime = original
    return {
        "about": "Requests botocore's S3 client signs (SigV4, s3v4) at a frozen clock; made by make_botocore_vectors.py",
        "botocore": botocore.__version__,
        "now": FROZEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accessKeyID": ACCESS_KEY_ID,
        "secretAccessKey": SECRET_ACCESS_KEY,
        "cases": cases,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "botocore-sigv4.json"
    output.write_text(render(), encoding="utf-8")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
