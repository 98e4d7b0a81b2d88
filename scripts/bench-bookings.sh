#!/usr/bin/env bash
# make bench (bookings), or alone: Roost's durable bookings beside PostgreSQL 15 doing the same job, in one run
# (issue 5, "Tests and measures").
#
#   1. in-engine: `roost-bench bookings` (Benchmarks/Sources/RoostBenchKit/BookingWorkload.swift): holds through the
#      engine's API (no HTTP), WAL fsync on with group commit, stays drawn as the anchor draws them; low contention
#      (100,000 listings) and high contention (10 listings), with 8 requests in flight (pgbench's 8 clients) and
#      with 256; p50/p99 per request; 0 overlapping pairs checked at the end. Then decide + apply alone (durability
#      off) on one shard's state. Target: >= 500,000 decisions/s.
#   2. PostgreSQL 15 (scripts/bench-search-anchor.sh with PG_JOB=booking): the exclusion-constraint table through
#      pgbench -c 8, fsync on, low and high contention. Target: Roost >= 5x PostgreSQL at each.
# then a summary: metric | Roost | anchor | ratio | target | result.
#
# Env (defaults in brackets): BENCH_BOOKING_SECONDS [10]  BENCH_BOOKING_RUNS [3] (PostgreSQL runs; Roost runs once
#   per setting)  BENCH_BOOKING_CLIENTS [8,256]  BENCH_PG [1] (0: no PostgreSQL)  ROOST_BENCH_BIN (else built here)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds=${BENCH_BOOKING_SECONDS:-10}; runs=${BENCH_BOOKING_RUNS:-3}; clients=${BENCH_BOOKING_CLIENTS:-8,256}; run_pg=${BENCH_PG:-1}
[[ $seconds =~ ^[0-9]+$ && $runs =~ ^[0-9]+$ && $clients =~ ^[0-9,]+$ ]] || { echo "bench-bookings: bad settings" >&2; exit 1; }
log=$(mktemp); trap 'rm -f "$log"' EXIT

if [[ -n ${ROOST_BENCH_BIN:-} ]]; then
  bench_bin=$(realpath "$ROOST_BENCH_BIN")
else
  swift build --package-path Benchmarks -c release --product roost-bench >"$log" 2>&1 || { tail -40 "$log"; exit 1; }
  bench_bin="$repo/Benchmarks/.build/release/roost-bench"
fi

printf '\n== 1. in-engine durable bookings (%s s per setting, clients %s)\n' "$seconds" "$clients"
for listings in 100000 10; do
  "$bench_bin" bookings --listings "$listings" --clients "$clients" --seconds "$seconds" --warmup 2 | tee -a "$log"
done
if [[ $run_pg == 1 ]]; then
  printf '\n== 2. PostgreSQL 15 booking anchor\n'
  PG_JOB=booking BENCH_PG_RUNS="$runs" BENCH_PG_SECONDS="$seconds" bash scripts/bench-search-anchor.sh | tee -a "$log"
fi

# ------------------------------------------------------------------------------------------ summary
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
roost() { grep "^RESULT booking-engine listings=$1 clients=$2 " "$log" | tail -1; }
pg() { grep "^RESULT pg-booking kind=$1 " "$log" | tail -1; }
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
printf '| %-58s | %12s | %16s | %7s | %-10s | %-6s |\n' "decide + apply alone (durability off), 100,000 listings" "$(num "$rate")" "-" "-" ">= 500,000" \
  "$(awk -v a="$rate" 'BEGIN { print (a >= 500000) ? "PASS" : "FAIL" }')"
