#!/usr/bin/env bash
# make bench (bookings), or alone: Roost's durable bookings beside PostgreSQL 15 doing the same job, in one run
# (issue 5, "Tests and measures").
#
#   1. in-engine: `roost-bench bookings` (Benchmarks/Sources/RoostBenchKit/BookingWorkload.swift): holds through the
#      engine's API (no HTTP), WAL fsync on with group commit, stays drawn as the anchor draws them; low contention
#      (100,000 listings) and high contention (10 listings), with 8 requests in flight (pgbench's 8 clients) and
#      with 256; p50/p99 per request; 0 overlapping pairs checked at the end. Each setting runs with the WAL's commit
#      gathering on (as `roost serve` runs; the summary's figure) and off, for the comparison. Then decide + apply alone (durability
#      off) on one shard's state. Target: >= 500,000 decisions/s. (Zero-filled segments, ROOST_WAL_PREALLOCATE, are
#      not part of this run: `roost-bench bookings --preallocate false,true` compares them by hand.)
#   2. PostgreSQL 15 (scripts/bench-search-anchor.sh with PG_JOB=booking): the exclusion-constraint table through
#      pgbench -c 8, fsync on, low and high contention. Target: Roost >= 5x PostgreSQL at each.
#   3. HTTP: `roost serve` (release, WAL fsync on, the sandbox gateway with its fsynced journal) on 100,000 synthetic
#      listings (roost-bench search --keep), one signed-in guest; wrk -t2 -c64 POSTs random bookings shaped like the
#      anchor's low-contention job (Benchmarks/anchors/book.lua: a random listing, 1-7 nights in the year, paid with
#      pm_card_visa) beside GET /health/live of the same server, alternating, BENCH_BOOKING_RUNS x seconds. Targets:
#      >= 0.5x /health/live; the ratio to PostgreSQL's low-contention rate is reported.
# then a summary: metric | Roost | anchor | ratio | target | result.
#
# Env (defaults in brackets): BENCH_BOOKING_SECONDS [10]  BENCH_BOOKING_RUNS [3] (PostgreSQL and HTTP runs; the engine
#   runs once per setting)  BENCH_BOOKING_CLIENTS [8,256]  BENCH_PG [1] (0: no PostgreSQL)  BENCH_HTTP [1] (0: no HTTP)
#   BENCH_BOOKING_GATHERING [true,false]  ROOST_BENCH_BIN, ROOST_BIN (else built here)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds=${BENCH_BOOKING_SECONDS:-10}; runs=${BENCH_BOOKING_RUNS:-3}; clients=${BENCH_BOOKING_CLIENTS:-8,256}; run_pg=${BENCH_PG:-1}
[[ $seconds =~ ^[0-9]+$ && $runs =~ ^[0-9]+$ && $clients =~ ^[0-9,]+$ ]] || { echo "bench-bookings: bad settings" >&2; exit 1; }
run_http=${BENCH_HTTP:-1}
gathering=${BENCH_BOOKING_GATHERING:-true,false}
[[ $gathering =~ ^(true|false)(,(true|false))*$ ]] || { echo "bench-bookings: BENCH_BOOKING_GATHERING is true, false or both" >&2; exit 1; }
source scripts/lib.sh
work=$(mktemp -d "${BENCH_DIR_PARENT:-${TMPDIR:-/tmp}}/roost-bench-bookings.XXXXXX")
log="$work/log"

if [[ -n ${ROOST_BENCH_BIN:-} ]]; then
  bench_bin=$(realpath "$ROOST_BENCH_BIN")
else
  swift build --package-path Benchmarks -c release --product roost-bench >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
  bench_bin="$repo/Benchmarks/.build/release/roost-bench"
fi
if [[ $run_http == 1 ]]; then
  if [[ -n ${ROOST_BIN:-} ]]; then roost_bin=$(realpath "$ROOST_BIN"); else
    swift build -c release --product roost >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
    roost_bin="$repo/.build/release/roost"
  fi
fi

printf '\n== 1. in-engine durable bookings (%s s per setting, clients %s)\n' "$seconds" "$clients"
for listings in 100000 10; do
  "$bench_bin" bookings --listings "$listings" --clients "$clients" --gathering "$gathering" --seconds "$seconds" --warmup 2 | tee -a "$log"
done
if [[ $run_pg == 1 ]]; then
  printf '\n== 2. PostgreSQL 15 booking anchor\n'
  PG_JOB=booking BENCH_PG_RUNS="$runs" BENCH_PG_SECONDS="$seconds" bash scripts/bench-search-anchor.sh | tee -a "$log"
fi

if [[ $run_http == 1 ]]; then
  printf '\n== 3. HTTP: POST /v1/bookings (sandbox gateway) beside GET /health/live, 100,000 listings, wrk -t2 -c64, %s x %s s\n' "$runs" "$seconds"
  start=2027-01-01
  [[ $(date -u +%F) > 2026-12-31 ]] && start="$(($(date -u +%Y) + 1))-01-01"
  "$bench_bin" search --listings 100000 --queries 10 --warmup 1 --data-dir "$work/data" --start "$start" --keep --ids-file "$work/ids.txt" --free-calendars \
    >"$work/seed.log" 2>&1 || { tail -20 "$work/seed.log"; exit 1; }
  port=$(free_port); base="http://127.0.0.1:$port"
  env ROOST_RATE_LIMIT_AUTH_PER_MINUTE=0 ROOST_HOST=127.0.0.1 ROOST_SNAPSHOT_INTERVAL_SECONDS=0 \
    "$roost_bin" serve --port "$port" --data-dir "$work/data" >"$work/roost.log" 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 1 600); do curl -fsS "$base/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$base/health/ready" >/dev/null || { echo "bench-bookings: roost serve did not start"; tail -20 "$work/roost.log"; exit 1; }
  token=$(curl -fsS -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"bench-guest@example.com","password":"correct horse battery staple","name":"Bench","role":"guest"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')
  export BOOK_TOKEN=$token BOOK_IDS="$work/ids.txt" BOOK_START=$start
  cpu_seconds() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"; }
  wrk_run() { # name url [script]
    local name=$1 url=$2 script=${3:-} out cpu0 cpu1 n
    cpu0=$(cpu_seconds "$server")
    out=$(wrk -t2 -c64 -d"${seconds}s" --latency ${script:+-s "$script"} "$url")
    cpu1=$(cpu_seconds "$server")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    printf 'RESULT http-%s run=%s requests_per_s=%s p50=%s p99=%s server_cpu_us_per_request=%s non2xx=%s %s\n' "$name" "$run" \
      "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
      "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / n; else print "-" }')" \
      "$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")" "$(grep -o 'BOOK refused_409=[0-9]*' <<<"$out" | tr ' ' '_' || true)" | tee -a "$log"
  }
  wrk -t2 -c64 -d3s "$base/health/live" >/dev/null
  BOOK_SEED=1 wrk -t2 -c64 -d3s -s Benchmarks/anchors/book.lua "$base/v1/bookings" >/dev/null
  for run in $(seq 1 "$runs"); do
    wrk_run live "$base/health/live"
    BOOK_SEED=$((run + 1)) wrk_run book "$base/v1/bookings" Benchmarks/anchors/book.lua
  done
  kill "$server"; wait "$server" 2>/dev/null || true
fi

# ------------------------------------------------------------------------------------------ summary
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
roost() { # the run as served (gathering on, no zero-filled segments), else the last one
  { grep -E "^RESULT booking-engine listings=$1 clients=$2 shards=[0-9]+ gathering=true preallocate=false " "$log" ||
    grep "^RESULT booking-engine listings=$1 clients=$2 " "$log"; } | tail -1 || true; }
pg() { grep "^RESULT pg-booking kind=$1 " "$log" | tail -1 || true; }
num() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'; }
printf '\n== summary (ratio: Roost relative to PostgreSQL)\n'
printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' metric Roost anchor ratio target result
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..8})"
for kind in low high; do
  listings=$([[ $kind == low ]] && echo 100000 || echo 10)
  anchor=$(pg "$kind"); pg_tps=$(field tps "$anchor")
  for c in ${clients//,/ }; do
    line=$(roost "$listings" "$c"); [[ -n $line ]] || continue
    rate=$(field requests_per_s "$line")
    ratio="-"; result="info"
    if [[ -n $pg_tps ]]; then
      ratio=$(awk -v a="$rate" -v b="$pg_tps" 'BEGIN { printf "%.2fx", a / b }')
      result=$(awk -v a="$rate" -v b="$pg_tps" 'BEGIN { print (a >= 5 * b) ? "PASS" : "FAIL" }')
    fi
    printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "durable bookings/s, $kind contention ($listings listings), $c in flight" "$(num "$rate")" \
      "$([[ -n $pg_tps ]] && echo "$(num "$pg_tps") PG -c8" || echo "-")" "$ratio" ">= 5x PG" "$result"
    printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "  p50 | p99; booked | rejected" "$(field p50_us "$line") us" "$(field p99_us "$line") us p99" "-" \
      "$(field booked "$line") | $(field rejected "$line")" "info"
  done
done
high=$(roost 10 "${clients%%,*}")
if [[ -n $high && $(field booked "$high") == 0 ]]; then
  printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "  high contention: the 10 calendars fill during the warm-up;" "-" \
    "PG inserted $(field inserted "$(pg high)")" "-" "-" "info"
  printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "  then every request is a refusal, answered from memory" "-" "PG commits each" "-" "-" "info"
fi
decisions=$(grep "^RESULT booking-decisions listings=100000 " "$log" | tail -1)
rate=$(field decisions_per_s "$decisions")
if [[ $run_http == 1 ]]; then
  median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  live=$(grep '^RESULT http-live ' "$log" | sed 's/.*requests_per_s=\([^ ]*\).*/\1/' | median)
  book=$(grep '^RESULT http-book ' "$log" | sed 's/.*requests_per_s=\([^ ]*\).*/\1/' | median)
  p99=$(grep '^RESULT http-book ' "$log" | tail -1 | sed 's/.*p99=\([^ ]*\).*/\1/')
  pg_low=$(field tps "$(pg low)")
  printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "HTTP POST /v1/bookings/s (sandbox), median of $runs" "$(num "$book")" "$(num "$live") /health/live" \
    "$(awk -v a="$book" -v b="$live" 'BEGIN { printf "%.2fx", a / b }')" ">= 0.5x" "$(awk -v a="$book" -v b="$live" 'BEGIN { print (a >= 0.5 * b) ? "PASS" : "FAIL" }')"
  if [[ -n $pg_low ]]; then
    printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "  the same, beside PostgreSQL (low contention, -c8); p99 $p99" "$(num "$book")" "$(num "$pg_low") PG -c8" \
      "$(awk -v a="$book" -v b="$pg_low" 'BEGIN { printf "%.2fx", a / b }')" "-" "info"
  fi
fi
printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "decide + apply alone (durability off), 100,000 listings" "$(num "$rate")" "-" "-" ">= 500,000" \
  "$(awk -v a="$rate" 'BEGIN { print (a >= 500000) ? "PASS" : "FAIL" }')"
