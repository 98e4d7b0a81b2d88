#!/usr/bin/env bash
# The whole test suite: Swift tests, then the end-to-end pytest suite against the release binary,
# with throwaway services on free loopback ports, stopped on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/roost-test.XXXXXX")

# Redis, for the cache and rate limiter tests.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start"; cat "$work/redis.log"; exit 1; }
export ROOST_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"

# Python for the stand-ins and the end-to-end suite.
python3 -m venv .venv-test
.venv-test/bin/pip install -q --disable-pip-version-check -r Tests/api/requirements.txt

# An S3-compatible server (moto) for the object store tests. It does not check signatures:
# the SigV4 signer is also proven against AWS's vectors and botocore's signer.
s3_port=$(free_port)
.venv-test/bin/moto_server -H 127.0.0.1 -p "$s3_port" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$s3_port/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$s3_port/" >/dev/null || { echo "moto_server did not start"; cat "$work/moto.log"; exit 1; }
export ROOST_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"

# Stripe stand-ins for the payment gateway tests: localstripe (payments and refunds; it has no
# Connect, no Search API and ignores idempotency keys) and a Connect fake for transfers that
# keeps Stripe's idempotency-key rules (Tests/fakes/stripe_connect.py).
stripe_port=$(free_port)
.venv-test/bin/localstripe --port "$stripe_port" --from-scratch >"$work/localstripe.log" 2>&1 &
pids+=($!)
stripe_connect_port=$(free_port)
.venv-test/bin/python Tests/fakes/stripe_connect.py --port "$stripe_connect_port" >"$work/stripe_connect.log" 2>&1 &
pids+=($!)
stripe_ready() { curl -fs -H "Authorization: Bearer sk_test_ready" "http://127.0.0.1:$stripe_port/v1/balance" >/dev/null 2>&1; }
connect_ready() { curl -fs "http://127.0.0.1:$stripe_connect_port/_calls" >/dev/null 2>&1; }
for _ in $(seq 1 100); do stripe_ready && connect_ready && break; sleep 0.1; done
stripe_ready || { echo "localstripe did not start"; cat "$work/localstripe.log"; exit 1; }
connect_ready || { echo "the Stripe Connect fake did not start"; cat "$work/stripe_connect.log"; exit 1; }
export ROOST_TEST_STRIPE_URL="http://127.0.0.1:$stripe_port"
export ROOST_TEST_STRIPE_CONNECT_URL="http://127.0.0.1:$stripe_connect_port"

# A PayPal stand-in (Tests/fakes/paypal.py, Flask) for the PayPal gateway tests.
paypal_port=$(free_port)
.venv-test/bin/python Tests/fakes/paypal.py --port "$paypal_port" >"$work/paypal.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$paypal_port/__health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$paypal_port/__health" >/dev/null || { echo "the PayPal stand-in did not start"; cat "$work/paypal.log"; exit 1; }
export ROOST_TEST_PAYPAL_URL="http://127.0.0.1:$paypal_port"

echo "== shipped data (data/tools/validate_data.py)"
python3 data/tools/validate_data.py

echo "== swift tests"
swift build --build-tests
# Suites that compute for seconds on the test runner's few threads (the real dataset, the search
# brute force) or keep the disk and both cores busy for seconds (the WAL crash rounds: 32 fsyncing
# appenders per round) run on their own afterwards, so they cannot starve the suites that time I/O.
heavy='SingaporeDatasetTests|ListingSearchTests|CrashTests'
# Suites that assert wall-clock windows (a 5 s rate-limit window between two calls) run alone too:
# on two cores, ~70 suites in parallel can hold a call up for seconds.
timed='RedisRateLimiterTests'
swift test --skip-build --skip "$heavy|$timed"
swift test --skip-build --filter "$heavy"
swift test --skip-build --filter "$timed"

echo "== end-to-end (pytest, release binary)"
swift build -c release --product roost
ROOST_BIN="$PWD/.build/release/roost" .venv-test/bin/python -m pytest -q Tests/api
