"""Profile photos in an S3-compatible bucket (moto's server, started by `make test`): stored
through our SigV4-signed adapter, read back through presigned URLs, replaced objects deleted."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest
import requests

from accounts_e2e import ACCOUNTS_ENV, bearer, register

S3_ENDPOINT = os.environ.get("ROOST_TEST_S3_ENDPOINT")
pytestmark = pytest.mark.skipif(not S3_ENDPOINT, reason="ROOST_TEST_S3_ENDPOINT is not set (make test starts moto and sets it)")

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(256)
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(256)


def test_photos_live_in_the_bucket_and_replacing_deletes_the_old_object(server_factory, data_dir):
    bucket = f"roost-test-{uuid.uuid4().hex[:12]}"
    env = {**ACCOUNTS_ENV, "ROOST_OBJECT_STORE": "s3", "ROOST_S3_ENDPOINT": S3_ENDPOINT, "ROOST_S3_BUCKET": bucket,
           "ROOST_S3_ACCESS_KEY_ID": "testing", "ROOST_S3_SECRET_ACCESS_KEY": "testing", "ROOST_S3_REGION": "us-east-1"}
    server = server_factory(data_dir, env=env).start()
    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")

    token = register(server)["accessToken"]
    first = server.request("PUT", "/v1/users/me/photo", headers={**bearer(token), "Content-Type": "image/png"}, data=PNG)
    assert first.status_code == 200, first.text
    url = first.json()["photoUrl"]
    assert url.startswith(S3_ENDPOINT + "/" + bucket + "/") and "X-Amz-Signature=" in url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == PNG
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == 1
    assert s3.get_object(Bucket=bucket, Key=keys[0])["ContentType"] == "image/png"

    second = server.request("PUT", "/v1/users/me/photo", headers={**bearer(token), "Content-Type": "image/jpeg"}, data=JPEG)
    assert second.status_code == 200
    remaining = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(remaining) == 1 and remaining != keys, "the replaced photo was deleted from the bucket"
    assert requests.get(second.json()["photoUrl"], timeout=10).content == JPEG


def test_a_listing_photo_in_the_bucket_is_shown_by_search_through_a_presigned_url(server_factory, data_dir):
    bucket = f"roost-test-{uuid.uuid4().hex[:12]}"
    env = {**ACCOUNTS_ENV, "ROOST_OBJECT_STORE": "s3", "ROOST_S3_ENDPOINT": S3_ENDPOINT, "ROOST_S3_BUCKET": bucket,
           "ROOST_S3_ACCESS_KEY_ID": "testing", "ROOST_S3_SECRET_ACCESS_KEY": "testing", "ROOST_S3_REGION": "us-east-1"}
    server = server_factory(data_dir, env=env).start()
    host = register(server, role="host")["accessToken"]
    city = f"Bucketon {uuid.uuid4().hex[:8]}"
    body = {"title": "Loft", "description": "", "propertyType": "apartment",
            "location": {"address": "1 Rd", "city": city, "country": "Singapore", "lat": 1.3, "lng": 103.8, "timezone": "Asia/Singapore"},
            "pricePerNight": {"amount": 15000, "currency": "SGD"}, "cleaningFee": {"amount": 0, "currency": "SGD"},
            "maxGuests": 2, "bedrooms": 1, "beds": 1, "bathrooms": 1, "amenities": [], "minNights": 1, "maxNights": 30,
            "instantBook": True, "cancellationPolicy": "flexible"}
    listing = server.request("POST", "/v1/listings", json=body, headers=bearer(host))
    assert listing.status_code == 201, listing.text
    photo = server.request("POST", f"/v1/listings/{listing.json()['id']}/photos", data=PNG, headers={**bearer(host), "Content-Type": "image/png"})
    assert photo.status_code == 201, photo.text
    [item] = server.get("/v1/search/listings", params={"location": city}).json()["items"]
    url = item["photoUrl"]
    assert url.startswith(S3_ENDPOINT + "/" + bucket + "/") and "X-Amz-Signature=" in url
    assert requests.get(url, timeout=10).content == PNG


def test_s3_configuration_is_checked_at_start(run_cli, server_factory, data_dir):
    env = {**ACCOUNTS_ENV, "ROOST_OBJECT_STORE": "s3", "ROOST_S3_ENDPOINT": S3_ENDPOINT}
    server = server_factory(data_dir, env=env)
    with pytest.raises(AssertionError, match="ROOST_S3_BUCKET"):
        server.start(timeout=10)
