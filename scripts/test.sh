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

echo "== shipped data (data/tools/validate_data.py)"
python3 data/tools/validate_data.py

echo "== swift tests"
swift build --build-tests
swift test --skip-build

echo "== end-to-end (pytest, release binary)"
swift build -c release --product roost
python3 -m venv .venv-test
.venv-test/bin/pip install -q --disable-pip-version-check -r Tests/api/requirements.txt
ROOST_BIN="$PWD/.build/release/roost" .venv-test/bin/python -m pytest -q Tests/api
