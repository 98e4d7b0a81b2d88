#!/usr/bin/env bash
# make bench (search), or alone: Roost's search beside its anchors, measured in one run (issue 4, "Tests and measures").
#
#   1. in-engine: `roost-bench search` loads BENCH_SEARCH_LISTINGS synthetic listings (drawn from the Singapore
#      distributions, 50 cities, the PostgreSQL anchor's bookings density; Benchmarks/Sources/RoostBenchKit/SearchWorkload.swift)
#      into an Engine (WAL fsync off for loading), reports resident bytes per listing, then times one query at a time
#      through ListingService.search (the HTTP route's gather over the shards): (a) the anchor's query, (b) 3 km radius +
#      2 amenities, (c) bbox + price sort, page 1 and page 10 (by cursor). Target p99 <= 5 ms.
#      It snapshots the data directory and keeps it for step 2.
#   2. HTTP: `roost serve` on that data directory (start-up recovery timed), then wrk -t2 -c64 with
#      Benchmarks/anchors/search.lua (random anchor queries) beside wrk on GET /health/live of the same server,
#      alternating, BENCH_SEARCH_RUNS runs of BENCH_SEARCH_SECONDS, medians. Target >= 0.5x /health/live.
#   3. PostgreSQL 15 on the same number of listings (scripts/bench-search-anchor.sh; BENCH_PG=0 skips it).
#      Target: Roost's HTTP searches/s >= 10x PostgreSQL's.
# then a summary: metric | Roost | anchor | ratio | target | result.
#
# Everything on disk happens in one temp dir under data/state/ (removed on every exit path, every process stopped).
# Env (defaults in brackets):
#   BENCH_SEARCH_LISTINGS [1000000]  BENCH_SEARCH_SECONDS [10]  BENCH_SEARCH_RUNS [3]  BENCH_SEARCH_WARMUP [3] (wrk, s)
#   BENCH_SEARCH_QUERIES [2000]      in-engine queries of each kind (after 100 untimed of each)
#   BENCH_SEARCH_SHARDS [2] (a new data directory's default)  BENCH_PG [1]  (0: no PostgreSQL anchor)
#   BENCH_PG_SECONDS [BENCH_SEARCH_SECONDS], BENCH_PG_RUNS [BENCH_SEARCH_RUNS]; other BENCH_PG_* go to the anchor script
#   ROOST_BIN, ROOST_BENCH_BIN       use these binaries instead of building them (release)
#   BENCH_DIR_PARENT [data/state]    BENCH_SEARCH_WAIT [1800]  seconds to wait for other heavy work to finish first
#   BENCH_STRICT [0]                 1: exit 1 when a target is missed
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/lib.sh

listings=${BENCH_SEARCH_LISTINGS:-1000000}; seconds=${BENCH_SEARCH_SECONDS:-10}; runs=${BENCH_SEARCH_RUNS:-3}
wrk_warmup=${BENCH_SEARCH_WARMUP:-3}; queries=${BENCH_SEARCH_QUERIES:-2000}; shards=${BENCH_SEARCH_SHARDS:-2}
run_pg=${BENCH_PG:-1}; max_wait=${BENCH_SEARCH_WAIT:-1800}; strict=${BENCH_STRICT:-0}
for v in listings seconds runs wrk_warmup queries shards max_wait; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench-search: $v must be a whole number (got '${!v}')" >&2; exit 1; }
done
((listings >= 50 && runs >= 1 && seconds >= 1 && queries >= 1)) || { echo "bench-search: need listings >= 50, runs, seconds, queries >= 1" >&2; exit 1; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-search: $tool is not installed (make deps installs wrk)" >&2; exit 1; }
done

parent=${BENCH_DIR_PARENT:-$repo/data/state}
mkdir -p "$parent"; parent=$(realpath "$parent")
work=$(mktemp -d "$parent/.bench-search.XXXXXX")

section() { printf '\n== %s\n' "$*"; }
note() { printf '# %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.2f", t1 - t0 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rss_of() { awk '/^VmRSS:/ { printf "%.0f\n", $2 * 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_seconds() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"; }  # user+sys, USER_HZ=100
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Other heavy work on this machine (builds, load generators, PostgreSQL doing something): a measurement beside it is skewed.
heavy() {
  { pgrep -fa 'swift-build|swift-frontend|pgbench|(^|/)wrk |(^|/)psql ' || true
    pgrep -fa '^postgres: .*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|VACUUM|COPY|CHECKPOINT)' || true; } |
    grep -v -e "^$$ " | cut -c1-140
}
wait_quiet() { # what is about to be measured
  local waited=0 busy
  while busy=$(heavy) && [[ -n $busy ]]; do
    if ((waited == 0)); then note "other heavy work is running; waiting (up to ${max_wait} s) before $1:"; sed 's/^/#   /' <<<"$busy"; fi
    if ((waited >= max_wait)); then note "WARNING: still busy after ${max_wait} s; measuring $1 anyway: expect noisy numbers"; return 0; fi
    sleep 15; waited=$((waited + 15))
  done
  ((waited > 0)) && note "quiet after ${waited} s"
  note "load average before $1: $(load)"
}

# Runs a command in the background and shows its output as it comes; `wait` (unlike a foreground command) returns
# at once when a signal arrives, so the cleanup runs then and stops the command.
# With group=1 the command gets a process group of its own, and the cleanup signals the whole group (the PostgreSQL
# anchor runs psql and pgbench in the foreground: its own trap would wait for them).
groups=()
forget() { # pid: no longer ours to stop (exact matches only)
  local kept=() p
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  pids=("${kept[@]}")
  kept=()
  for p in "${groups[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  groups=("${kept[@]}")
}
on_exit() {
  local status=$?
  set +e
  for g in "${groups[@]}"; do [[ -n $g ]] && kill -TERM -- "-$g" 2>/dev/null || true; done
  (exit "$status"); cleanup # lib.sh: stops $pids, removes $work
}
trap on_exit EXIT INT TERM
run_logged() { # log command...
  local log=$1; shift
  if [[ ${group:-0} == 1 ]]; then setsid "$@" >"$log" 2>&1 & else "$@" >"$log" 2>&1 & fi
  local pid=$!
  pids+=("$pid")
  [[ ${group:-0} == 1 ]] && groups+=("$pid")
  tail -n +1 -f --pid="$pid" "$log" 2>/dev/null &
  local tailer=$!
  pids+=("$tailer")
  local status=0
  wait "$pid" || status=$?
  wait "$tailer" 2>/dev/null || true
  forget "$pid"; forget "$tailer"
  return "$status"
}

# ---------------------------------------------------------------------------------------------- builds
section "builds (release)"
build() { "$@" >"$work/build.log" 2>&1 || { tail -60 "$work/build.log"; echo "bench-search: build failed: $*" >&2; exit 1; }; tail -1 "$work/build.log"; }
if [[ -n ${ROOST_BIN:-} ]]; then
  roost_bin=$(realpath "$ROOST_BIN"); note "roost: ROOST_BIN=$roost_bin (not built here)"
else
  t0=$(now); build swift build -c release --product roost; roost_bin="$repo/.build/release/roost"; note "roost: $(since "$t0") s"
fi
if [[ -n ${ROOST_BENCH_BIN:-} ]]; then
  bench_bin=$(realpath "$ROOST_BENCH_BIN"); note "roost-bench: ROOST_BENCH_BIN=$bench_bin (not built here)"
else
  t0=$(now); build swift build --package-path Benchmarks -c release --product roost-bench
  bench_bin="$repo/Benchmarks/.build/release/roost-bench"; note "roost-bench: $(since "$t0") s"
fi

section "machine"
note "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average now: $(load)"
note "bench dir: $work ($(df -T "$work" | awk 'NR == 2 { print $2 }'), $(df -h "$work" | awk 'NR == 2 { print $4 }') free)"

# The calendars' first day: the anchor's 2027-01-01, or the next 1 January once that is past (searches refuse past dates).
start=2027-01-01
[[ $(date -u +%F) > 2026-12-31 ]] && start="$(($(date -u +%Y) + 1))-01-01"
note "calendars and queries start on $start"

results="$work/results.txt"; : >"$results"
put() { echo "$1 $2" >>"$results"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$results"; }
# "RESULT kind k=v ..." -> "kind[.query].k v"
ingest() {
  awk '$1 == "RESULT" {
         prefix = $2; delete kv
         for (i = 3; i <= NF; i++) { j = index($i, "="); kv[substr($i, 1, j - 1)] = substr($i, j + 1) }
         if ("query" in kv) prefix = prefix "." kv["query"]
         for (k in kv) print prefix "." k, kv[k]
       }' "$1" >>"$results"
}

# ---------------------------------------------------------------------------------------------- 1. in-engine
section "1. in-engine search: $listings listings, $shards shards, $queries queries of each kind, one at a time"
data="$work/data"
wait_quiet "the in-engine search"
run_logged "$work/search.out" "$bench_bin" search --listings "$listings" --shards "$shards" --queries "$queries" \
  --data-dir "$data" --start "$start" --keep --breakdown
ingest "$work/search.out"
note "load average after: $(load)"

# ---------------------------------------------------------------------------------------------- 2. HTTP
section "2. HTTP: roost serve on those listings; search (anchor queries) beside GET /health/live, wrk -t2 -c64, $runs × ${seconds} s, alternating"
port=$(free_port)
base="http://127.0.0.1:$port"
t0=$(now)
env ROOST_LOG_LEVEL=info ROOST_RATE_LIMIT_AUTH_PER_MINUTE=0 ROOST_HOST=127.0.0.1 ROOST_SHARDS="$shards" \
  ROOST_SNAPSHOT_INTERVAL_SECONDS=0 "$roost_bin" serve --port "$port" --data-dir "$data" >"$work/roost.log" 2>&1 &
server=$!; pids+=("$server")
up=0
for _ in $(seq 1 6000); do # up to 10 minutes
  if curl -fsS "$base/health/live" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
((up == 1)) || { echo "bench-search: roost serve did not start; its log:" >&2; tail -20 "$work/roost.log" >&2; exit 1; }
startup_s=$(since "$t0")
recovery_s=$(grep -m1 'engine recovered' "$work/roost.log" | grep -o '"recovery.seconds":"[0-9.e+-]*"' | grep -o '[0-9][0-9.e+-]*' |
  awk '{ printf "%.2f", $1 }' || true)
server_rss=$(rss_of "$server")
put server.startup_s "$startup_s"; put server.recovery_s "$recovery_s"; put server.rss_bytes "$server_rss"
note "roost serve (pid $server, $base): answering after $startup_s s; engine recovery (snapshot load + decode + index) ${recovery_s:-?} s;" \
  "RSS $((server_rss / 1048576)) MiB = $(awk -v r="$server_rss" -v n="$listings" 'BEGIN { printf "%.0f", r / n }') B/listing (whole process)"

sample="$base/v1/search/listings?location=city7&minPrice=30000&maxPrice=60000&guests=4&amenities=kitchen,wifi&checkIn=${start:0:4}-03-01&checkOut=${start:0:4}-03-06&sort=price_asc&limit=20"
body=$(curl -fsS "$sample") || { echo "bench-search: the sample search failed: $(curl -sS "$sample" | head -c 500)" >&2; exit 1; }
note "sample search (city7, 300-600, 4+ guests, wifi+kitchen, ${start:0:4}-03-01 +5 nights): $(python3 -c '
import json, sys
b = json.load(sys.stdin)
print("%d items of %d matches, cheapest %s" % (len(b["items"]), b["total"], [i["pricePerNight"]["amount"] for i in b["items"][:5]]))' <<<"$body")"

wrk_run() { # name url [script]: one run -> "rps p50 p99 non2xx errors cpu_us_per_request"
  local name=$1 url=$2 script=${3:-} out cpu0 cpu1
  cpu0=$(cpu_seconds "$server")
  out=$(SEARCH_START=$start wrk -t2 -c64 -d"${seconds}s" --latency ${script:+-s "$script"} "$url")
  cpu1=$(cpu_seconds "$server")
  local rps n p50 p99 non2xx errors cpu
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out"); n=$(awk '/requests in/ { print $1 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out"); p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out"); errors=$(grep 'Socket errors' <<<"$out" | tr -s ' ' || true)
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "-" }')
  printf '%-7s run=%s req/s=%-10s p50=%-9s p99=%-9s server_cpu_us/req=%-6s non2xx=%s %s\n' "$name" "$run" "$rps" "$p50" "$p99" "$cpu" "${non2xx:-0}" "${errors:+[$errors]}"
  echo "$rps $p50 $p99 ${non2xx:-0} $cpu" >>"$work/wrk.$name"
}
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0; else if (v ~ /s$/) printf "%.3f", v * 1000; else print "" }'; }
wait_quiet "the HTTP runs"
wrk -t2 -c64 -d"${wrk_warmup}s" "$base/health/live" >/dev/null
SEARCH_START=$start wrk -t2 -c64 -d"${wrk_warmup}s" -s Benchmarks/anchors/search.lua "$base/v1/search/listings" >/dev/null
log_before=$(wc -l <"$work/roost.log")
for run in $(seq 1 "$runs"); do
  wrk_run health "$base/health/live"
  wrk_run search "$base/v1/search/listings" Benchmarks/anchors/search.lua
done
note "roost wrote $(($(wc -l <"$work/roost.log") - log_before)) log lines during the runs (request logging on); load average after: $(load)"
for name in health search; do
  put "http.$name.rps" "$(median $(awk '{ print $1 }' "$work/wrk.$name"))"
  put "http.$name.p50_ms" "$(median $(while read -r _ p50 _; do to_ms "$p50"; echo; done <"$work/wrk.$name"))"
  put "http.$name.p99_ms" "$(median $(while read -r _ _ p99 _; do to_ms "$p99"; echo; done <"$work/wrk.$name"))"
  put "http.$name.non2xx" "$(awk '{ s += $4 } END { print s + 0 }' "$work/wrk.$name")"
  put "http.$name.cpu_us" "$(median $(awk '{ print $5 }' "$work/wrk.$name"))"
done
# The data is throwaway: no shutdown snapshot of it (SIGKILL), and its directory goes now to free the disk for PostgreSQL.
kill -KILL "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
forget "$server"
rm -rf "$data"

# ---------------------------------------------------------------------------------------------- 3. PostgreSQL
if [[ $run_pg == 1 ]]; then
  section "3. PostgreSQL 15 anchor on $listings listings (scripts/bench-search-anchor.sh)"
  if [[ -f scripts/bench-search-anchor.sh ]]; then
    wait_quiet "the PostgreSQL anchor"
    pg_status=0
    group=1 run_logged "$work/pg.out" env SEARCH_LISTINGS="$listings" BENCH_PG_RUNS="${BENCH_PG_RUNS:-$runs}" \
      BENCH_PG_SECONDS="${BENCH_PG_SECONDS:-$seconds}" BENCH_DIR_PARENT="$parent" bash scripts/bench-search-anchor.sh || pg_status=$?
    ((pg_status == 0)) || note "the PostgreSQL anchor failed (exit status $pg_status): no ratio against it"
    ingest "$work/pg.out"
    note "load average after: $(load)"
  else
    note "SKIPPED: scripts/bench-search-anchor.sh does not exist yet: no PostgreSQL anchor in this run"
  fi
else
  note "BENCH_PG=0: PostgreSQL anchor skipped"
fi

# ---------------------------------------------------------------------------------------------- summary
section "summary (ratio: Roost's rate relative to the anchor's)"
num() { [[ -z $1 ]] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'; }
us() { [[ -z $1 ]] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { printf "%.0f us", v }'; }
ms() { [[ -z $1 ]] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { printf "%.2f ms", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else if (a / b >= 10) printf "%.0fx", a / b; else printf "%.2fx", a / b }'; }
passes=0; fails=0
judge() { # awk condition -> verdict
  if awk "BEGIN { exit !($1) }" 2>/dev/null; then passes=$((passes + 1)); verdict=PASS; else fails=$((fails + 1)); verdict=FAIL; fi
}
row() { printf '| %-68s | %16s | %32s | %7s | %-22s | %-6s |\n' "$@"; }
row "metric" "Roost" "anchor" "ratio" "target" "result"
row "$(printf '%068d' 0 | tr 0 -)" "$(printf '%016d' 0 | tr 0 -)" "$(printf '%032d' 0 | tr 0 -)" "-------" "$(printf '%022d' 0 | tr 0 -)" "------"
pg_tps=$(get pg-search.tps); pg_lat=$(get pg-search.latency_ms)
for q in a b c1 c10; do
  case $q in
    a) label="(a) the anchor's query (city, price, guests, amenities, dates)" ;;
    b) label="(b) radius 3 km + 2 amenities" ;;
    c1) label="(c) bbox + price sort, page 1" ;;
    c10) label="(c) bbox + price sort, page 10 (by cursor)" ;;
  esac
  p99=$(get "search-engine.$q.p99_us")
  judge "$p99 != \"\" && $p99 <= 5000"
  anchor="-"; [[ $q == a && -n $pg_lat ]] && anchor="$(ms "$pg_lat") PG mean, 8 clients"
  row "in-engine p99, $label" "$(us "$p99")" "$anchor" "-" "<= 5 ms" "$verdict"
  row "  p50 | p99.9" "$(us "$(get "search-engine.$q.p50_us")")" "$(us "$(get "search-engine.$q.p999_us")") p99.9" "-" "-" "info"
done
hs=$(get http.search.rps); hh=$(get http.health.rps); bad=$(get http.search.non2xx)
judge "$hs != \"\" && $hh != \"\" && $hs >= 0.5 * $hh && $bad == 0"
row "HTTP search req/s (anchor query), median" "$(num "$hs")" "$(num "$hh") GET /health/live" "$(ratio "$hs" "$hh")" ">= 0.5x /health/live" "$verdict"
row "  p50 | p99 (wrk), non-2xx" "$(ms "$(get http.search.p50_ms)")" "$(ms "$(get http.search.p99_ms)") p99; non-2xx $bad" "-" "-" "info"
row "  server CPU per request: search | health" "$(us "$(get http.search.cpu_us)")" "$(us "$(get http.health.cpu_us)")" "-" "-" "info"
if [[ -n $pg_tps ]]; then
  judge "$hs != \"\" && $hs >= 10 * $pg_tps"
  row "HTTP search req/s vs PostgreSQL 15 searches/s" "$(num "$hs")" "$(num "$pg_tps") PostgreSQL (pgbench -c8)" "$(ratio "$hs" "$pg_tps")" ">= 10x PostgreSQL" "$verdict"
else
  row "HTTP search req/s vs PostgreSQL 15 searches/s" "$(num "$hs")" "- (not run)" "-" ">= 10x PostgreSQL" "-"
fi
bx=$(get search-load.bytes_per_listing_excl_text)
judge "$bx != \"\" && $bx <= 2048"
row "resident bytes per listing, excluding text" "$(num "$bx") B" "-" "-" "<= 2 KiB" "$verdict"
row "  all | host text (title, description, address)" "$(num "$(get search-load.bytes_per_listing)") B" "$(num "$(get search-load.text_bytes_per_listing)") B text" "-" "-" "info"
ro=$(get search-memory.records_only_bytes_per_listing)
row "  the records alone (an array, no engine) | shards' maps + index" "$(num "$ro") B" "$(num "$(awk -v a="$(get search-load.bytes_per_listing)" -v b="$ro" 'BEGIN { if (b != "") print a - b }')") B maps + index" "-" "-" "info"
row "  roost serve RSS per listing after start-up" "$(num "$(awk -v r="$(get server.rss_bytes)" -v n="$listings" 'BEGIN { print r / n }')") B" "(whole process)" "-" "-" "info"
row "load $listings listings (engine, WAL fsync off)" "$(get search-load.seconds) s" "-" "-" "-" "info"
row "snapshot (kept for the server)" "$(get search-snapshot.seconds) s" "$(num "$(get search-snapshot.snapshot_bytes)") B" "-" "-" "info"
row "roost serve start-up: until /health/live answers" "${startup_s} s" "recovery ${recovery_s:-?} s" "-" "-" "info"
echo
note "$passes targets met, $fails missed. roost: $roost_bin; roost-bench: $bench_bin; load average now: $(load)"
[[ $strict == 1 && $fails -gt 0 ]] && exit 1
exit 0
