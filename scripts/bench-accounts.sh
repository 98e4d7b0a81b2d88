#!/usr/bin/env bash
# make bench (step 7), or alone: accounts beside their anchors, measured in one run.
#
#   a. authenticated GET /v1/users/me (JWT verify + directory check + shard read + JSON) beside
#      GET /health/live on the same server, alternating, wrk -t2 -c64; target ratio >= 0.7
#   b. sign-ins/s: POST /v1/auth/login at bcrypt cost 12, wrk -t2 -c16, beside raw bcrypt cost-12
#      verifications/s on every core (Benchmarks/anchors/bcrypt_rate.py, PyPI bcrypt)
#   c. login latency for a wrong password and for an unknown email (they should match)
# Env: ROOST_BIN (else builds release), BENCH_ACCOUNTS_SECONDS [10], BENCH_ACCOUNTS_RUNS [3]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/lib.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/roost-bench-accounts.XXXXXX")
seconds=${BENCH_ACCOUNTS_SECONDS:-10}; runs=${BENCH_ACCOUNTS_RUNS:-3}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

roost_bin=${ROOST_BIN:-}
if [[ -z $roost_bin ]]; then
  swift build -c release --product roost >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
  roost_bin="$repo/.build/release/roost"
fi
python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q --disable-pip-version-check bcrypt==4.2.1 requests==2.34.2

port=$(free_port)
ROOST_LOG_LEVEL=info ROOST_RATE_LIMIT_AUTH_PER_MINUTE=0 ROOST_BCRYPT_COST=12 ROOST_HOST=127.0.0.1 \
  "$roost_bin" serve --port "$port" --data-dir "$work/data" >"$work/roost.log" 2>&1 &
server=$!; pids+=("$server")
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do curl -fsS "$base/health/live" >/dev/null 2>&1 && break; sleep 0.1; done

export EMAIL="bench@example.com" PASSWORD="correct horse battery staple"
token=$(curl -fsS -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"name\":\"Bench\",\"role\":\"guest\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')

echo "== a. GET /v1/users/me (Bearer) beside GET /health/live, same server, wrk -t2 -c64 -d${seconds}s × $runs"
wrk -t2 -c64 -d3s "$base/health/live" >/dev/null; wrk -t2 -c64 -d3s -H "Authorization: Bearer $token" "$base/v1/users/me" >/dev/null
live=(); me=()
for run in $(seq 1 "$runs"); do
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency "$base/health/live"); r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out"); live+=("$r")
  printf 'health/live run=%s req/s=%s p99=%s\n' "$run" "$r" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  out=$(wrk -t2 -c64 -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base/v1/users/me")
  r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out"); me+=("$r")
  printf 'users/me    run=%s req/s=%s p99=%s %s\n' "$run" "$r" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" "$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' || true)"
done
live_m=$(median "${live[@]}"); me_m=$(median "${me[@]}")

echo "== b. sign-ins: POST /v1/auth/login, bcrypt cost 12, wrk -t2 -c16 -d${seconds}s; anchor: raw bcrypt cost 12 on $(nproc) processes"
anchor=$("$work/venv/bin/python" Benchmarks/anchors/bcrypt_rate.py 12 "$(nproc)" "$seconds" | awk '{ split($5, p, "="); print p[2] }')
out=$(wrk -t2 -c16 -d"${seconds}s" --timeout 30s --latency -s Benchmarks/anchors/login.lua "$base/v1/auth/login")
logins=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
printf 'login req/s=%s p50=%s p99=%s %s\n' "$logins" "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" "$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' || true)"
printf 'raw bcrypt cost 12 verifies/s (all cores)=%s\n' "$anchor"
# While the login storm runs, how fast does an unrelated read answer? (hashing is off the event loops)
( wrk -t1 -c8 -d"${seconds}s" -s Benchmarks/anchors/login.lua "$base/v1/auth/login" >/dev/null ) &
storm=$!
sleep 1
during=$(wrk -t1 -c8 -d3s --latency "$base/health/live" | awk '$1 == "99%" { print $2 }')
wait "$storm"
printf 'GET /health/live p99 during a login storm: %s\n' "$during"

echo "== c. login latency: wrong password vs unknown email (sequential, 30 each)"
"$work/venv/bin/python" - "$base" <<'PY'
import statistics, sys, time, requests
base = sys.argv[1]
def timed(email, password):
    samples = []
    for _ in range(30):
        start = time.perf_counter()
        status = requests.post(f"{base}/v1/auth/login", json={"email": email, "password": password}).status_code
        samples.append((time.perf_counter() - start) * 1000)
        assert status == 401, status
    return statistics.median(samples)
wrong = timed("bench@example.com", "wrong password!!")
unknown = timed("nobody@example.com", "wrong password!!")
print(f"median ms: wrong password {wrong:.1f}, unknown email {unknown:.1f}, ratio {unknown / wrong:.2f}")
PY

echo
echo "| metric | Roost | anchor | ratio | target |"
echo "|---|---|---|---|---|"
echo "| GET /v1/users/me req/s (Bearer JWT) | $me_m | $live_m GET /health/live, same server | $(ratio "$me_m" "$live_m") | >= 0.70 |"
echo "| sign-ins/s, bcrypt cost 12 | $logins | $anchor raw bcrypt verifies/s | $(ratio "$logins" "$anchor") | - |"
