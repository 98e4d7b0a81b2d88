#!/usr/bin/env bash
# make bench: Roost's numbers beside their anchors, measured in one run on this machine, as ratios.
#
#   1. disk ceiling   raw 4 KiB write+fdatasync/s, append and preallocated-overwrite (Benchmarks/anchors/fsync_probe.c)
#   2. WAL            durable appends/s and append→durable p50/p99, 1/16/256/1,024 appenders, 256 B, fsync=always,
#                     segments growing and preallocated                                  (Benchmarks: roost-bench wal)
#   3. replay         WALRecovery.recover of 1,000,000 records, and Engine.open replaying them (roost-bench replay)
#   4. snapshot       1,000,000 listing states: encode+write (durable), load+decode          (roost-bench snapshot)
#   5. HTTP           GET /health/live, Roost (request logging on) beside a bare Hummingbird server (anchors/http);
#                     also Roost with logging off, as a diagnostic, and each server's CPU time per request
#   6. the ordo-one/benchmark suite (swift package benchmark) over the same workloads, shorter
#   7. accounts: authenticated GET /v1/users/me beside GET /health/live, sign-ins/s beside raw bcrypt
#      (scripts/bench-accounts.sh; BENCH_ACCOUNTS=0 skips it)
#   8. search: 1M synthetic listings in-engine (p50/p99), HTTP search beside /health/live, memory per listing,
#      and PostgreSQL 15 on the same query (scripts/bench-search.sh, scripts/bench-search-anchor.sh; BENCH_SEARCH=0 skips it)
#   9. durable bookings in-engine beside PostgreSQL 15's exclusion constraint, low and high contention, decisions
#      with durability off, and POST /v1/bookings over HTTP beside /health/live (scripts/bench-bookings.sh;
#      BENCH_BOOKINGS=0 skips it)
# then a summary: metric | Roost | anchor | ratio | target | result. A ratio is Roost's speed as a fraction
# (or multiple) of the anchor's: rates are Roost/anchor, durations anchor/Roost.
#
# Everything on disk happens in one temp dir under data/state/ (the data directory's filesystem), removed on exit.
# Env (defaults in brackets):
#   ROOST_BIN            use this roost binary instead of building `swift build -c release --product roost`
#   BENCH_DIR_PARENT     where the temp dir goes [data/state]
#   BENCH_FSYNC_RUNS [3] BENCH_FSYNC_SECONDS [2]
#   BENCH_WAL_SECONDS [3] BENCH_WAL_WARMUP [1] BENCH_WAL_APPENDERS [1,16,256,1024]
#   BENCH_REPLAY_RECORDS [1000000] BENCH_SNAPSHOT_LISTINGS [1000000]
#   BENCH_HTTP_RUNS [3] BENCH_HTTP_SECONDS [10] BENCH_HTTP_WARMUP [3] BENCH_HTTP_CONNECTIONS ["64 256"]
#   BENCH_ORDO [1]       0 skips step 6
#   BENCH_STRICT [0]     1 exits 1 when a target is missed
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

fsync_runs=${BENCH_FSYNC_RUNS:-3}; fsync_seconds=${BENCH_FSYNC_SECONDS:-2}
wal_seconds=${BENCH_WAL_SECONDS:-3}; wal_warmup=${BENCH_WAL_WARMUP:-1}; wal_appenders=${BENCH_WAL_APPENDERS:-1,16,256,1024}
replay_records=${BENCH_REPLAY_RECORDS:-1000000}; snapshot_listings=${BENCH_SNAPSHOT_LISTINGS:-1000000}
http_runs=${BENCH_HTTP_RUNS:-3}; http_seconds=${BENCH_HTTP_SECONDS:-10}; http_warmup=${BENCH_HTTP_WARMUP:-3}
http_connections=${BENCH_HTTP_CONNECTIONS:-64 256}
run_ordo=${BENCH_ORDO:-1}; strict=${BENCH_STRICT:-0}

for tool in cc wrk curl python3 swift; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (make deps installs wrk)" >&2; exit 1; }
done

parent=${BENCH_DIR_PARENT:-$repo/data/state}
mkdir -p "$parent"
source "$repo/scripts/lib.sh"
work=$(mktemp -d "$parent/.bench.XXXXXX")

section() { printf '\n== %s\n' "$*"; }
note() { printf '# %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.0f", t1 - t0 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Waits (up to 20 minutes) while another SwiftPM build runs in this repository: it holds .build's lock,
# and a build running beside a measurement skews it.
wait_for_builds_in() {
  local dir=$1 waited=0 busy
  while :; do
    busy=""
    for pid in $(pgrep -f swift-build || true); do
      [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$dir" ]] && busy+=" $pid"
    done
    [[ -z $busy ]] && return 0
    ((waited == 0)) && note "another swift build is running in $dir (pid$busy); waiting for it"
    ((waited >= 1200)) && { note "still running after 20 minutes; going ahead (SwiftPM's lock serialises the builds)"; return 0; }
    sleep 10; waited=$((waited + 10))
  done
}

# ---------------------------------------------------------------------------------------------- builds
section "builds (release)"
build() { # command...: its output goes to a log, shown only if it fails
  "$@" >"$work/build.log" 2>&1 || { tail -60 "$work/build.log"; echo "bench: build failed: $*" >&2; exit 1; }
  tail -1 "$work/build.log"
}
t0=$(now)
build swift build --package-path Benchmarks -c release
bench_bin="$repo/Benchmarks/.build/release/roost-bench"
note "Benchmarks package (roost-bench + ordo-one suite): $(since "$t0") s"

t0=$(now)
build swift build --package-path Benchmarks/anchors/http --scratch-path Benchmarks/.build-anchor-http -c release --product HealthServer
bare_bin="$repo/Benchmarks/.build-anchor-http/release/HealthServer"
note "anchor HealthServer (bare Hummingbird): $(since "$t0") s"

if [[ -n ${ROOST_BIN:-} ]]; then
  roost_bin=$(realpath "$ROOST_BIN")
  note "roost: using ROOST_BIN=$roost_bin (not built here)"
else
  wait_for_builds_in "$repo"
  t0=$(now)
  build swift build -c release --product roost
  roost_bin="$repo/.build/release/roost"
  note "roost release: $(since "$t0") s"
fi

mkdir -p "$work/bin"
cc -O2 -Wall -o "$work/bin/fsync_probe" Benchmarks/anchors/fsync_probe.c

section "machine"
note "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
note "bench dir: $work (under ${BENCH_DIR_PARENT:+BENCH_DIR_PARENT=}$parent)"
note "its filesystem: $(df -T "$work" | awk 'NR == 2 { print $1, $2, "mounted on", $7 }'); data/state's: $(df -T "$parent" | awk 'NR == 2 { print $1, $2 }')"
others=$(pgrep -c -f 'swift-frontend|swift-build' || true)
[[ $others -gt 0 ]] && note "WARNING: $others swift-build/swift-frontend processes are running: expect noisy numbers"

results="$work/results.txt"; : >"$results"
put() { echo "$1 $2" >>"$results"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "" : v) }' "$results"; }
# RESULT lines of roost-bench: "RESULT kind k=v ..." -> "kind.<mode>.<k> v" (mode from preallocate/appenders/mode keys)
ingest() {
  awk '$1 == "RESULT" {
         kind = $2; prefix = kind; delete kv
         for (i = 3; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
         if (kind == "wal") prefix = "wal." (kv["preallocate"] == "true" ? "prealloc" : "grow") "." kv["appenders"]
         else if ("mode" in kv) prefix = kind "." kv["mode"]
         for (k in kv) print prefix "." k, kv[k]
       }' >>"$results"
}

# ---------------------------------------------------------------------------------------------- 1. fsync
section "1. disk ceiling: raw 4 KiB write+fdatasync, $fsync_runs × ${fsync_seconds} s per mode (fsync_probe, in the bench dir)"
for mode in append overwrite; do
  values=(); p50s=(); p99s=()
  for _ in $(seq 1 "$fsync_runs"); do
    line=$("$work/bin/fsync_probe" "$work/fsync_probe.dat" 4096 "$fsync_seconds" "$mode" fdatasync)
    echo "$line"
    field() { tr ' ' '\n' <<<"$line" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
    values+=("$(field syncs_per_s)"); p50s+=("$(field p50_us)"); p99s+=("$(field p99_us)")
  done
  put "fsync.$mode" "$(median "${values[@]}")"
  put "fsync.$mode.p50_us" "$(median "${p50s[@]}")"
  put "fsync.$mode.p99_us" "$(median "${p99s[@]}")"
done
note "median fdatasync/s: append $(get fsync.append), overwrite $(get fsync.overwrite)"

# ---------------------------------------------------------------------------------------------- 2. WAL
section "2. WAL durable appends: ${wal_warmup} s warm-up + ${wal_seconds} s per configuration, 256 B payloads, fsync=always"
"$bench_bin" wal --dir "$work" --appenders "$wal_appenders" --preallocate false,true --seconds "$wal_seconds" --warmup "$wal_warmup" |
  tee "$work/wal.out"
ingest <"$work/wal.out"

# ---------------------------------------------------------------------------------------------- 3. replay
section "3. replay of $replay_records records (256 B payloads)"
"$bench_bin" replay --dir "$work" --records "$replay_records" | tee "$work/replay.out"
ingest <"$work/replay.out"

# ---------------------------------------------------------------------------------------------- 4. snapshot
section "4. snapshot of $snapshot_listings listing states"
"$bench_bin" snapshot --dir "$work" --listings "$snapshot_listings" | tee "$work/snapshot.out"
ingest <"$work/snapshot.out"

# ---------------------------------------------------------------------------------------------- 5. HTTP
section "5. HTTP GET /health/live: wrk -t2 -c{${http_connections// /,}} -d${http_seconds}s after a ${http_warmup} s warm-up, $http_runs runs each, servers alternating (roost, nolog, bare)"
wait_up() { # url pid log
  for _ in $(seq 1 300); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "server for $1 did not start; its log:" >&2; tail -20 "$3" >&2; exit 1
}
# roost: request logging on (the target); nolog: the same binary at ROOST_LOG_LEVEL=warning (a diagnostic:
# what the request log costs); bare: the minimal Hummingbird server. Each gets its own data dir and port.
declare -A url pid_of
start_server() { # name port log command... (env execs the server, so $! is the server's pid)
  local name=$1 port=$2 log=$3; shift 3
  "$@" >"$log" 2>&1 &
  pid_of[$name]=$!; pids+=("$!")
  url[$name]="http://127.0.0.1:$port/health/live"
}
port=$(free_port)
start_server roost "$port" "$work/roost.log" env ROOST_LOG_LEVEL=info ROOST_HOST=127.0.0.1 "$roost_bin" serve --port "$port" --data-dir "$work/roost-data"
port=$(free_port)
start_server nolog "$port" "$work/nolog.log" env ROOST_LOG_LEVEL=warning ROOST_HOST=127.0.0.1 "$roost_bin" serve --port "$port" --data-dir "$work/nolog-data"
port=$(free_port)
start_server bare "$port" "$work/bare.log" env HOST=127.0.0.1 PORT="$port" "$bare_bin"
servers=(roost nolog bare)
for server in "${servers[@]}"; do wait_up "${url[$server]}" "${pid_of[$server]}" "$work/$server.log"; done
note "roost: $roost_bin serve (pid ${pid_of[roost]}, ${url[roost]}, ROOST_LOG_LEVEL=info, stdout -> a file in the bench dir)"
note "nolog: the same at ROOST_LOG_LEVEL=warning (diagnostic only) (pid ${pid_of[nolog]}, ${url[nolog]})"
note "bare:  $bare_bin (pid ${pid_of[bare]}, ${url[bare]})"
note "bodies: roost $(curl -fsS "${url[roost]}"), bare $(curl -fsS "${url[bare]}")"
cpu_seconds() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat"; }  # user+sys, USER_HZ=100
for server in "${servers[@]}"; do wrk -t2 -c64 -d"${http_warmup}s" "${url[$server]}" >/dev/null; done
log_lines_before=$(wc -l <"$work/roost.log")
for c in $http_connections; do
  declare -A rps=([roost]="" [nolog]="" [bare]="")
  for run in $(seq 1 "$http_runs"); do
    for server in "${servers[@]}"; do
      cpu0=$(cpu_seconds "${pid_of[$server]}")
      out=$(wrk -t2 -c"$c" -d"${http_seconds}s" --latency "${url[$server]}")
      cpu1=$(cpu_seconds "${pid_of[$server]}")
      r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
      n=$(awk '/requests in/ { print $1 }' <<<"$out")
      p50=$(awk '$1 == "50%" { print $2 }' <<<"$out"); p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
      cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "-" }')
      errors=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' | paste -sd';' || true)
      printf '%-5s c=%-4s run=%s req/s=%-10s p50=%-9s p99=%-9s server_cpu_us/req=%-6s %s\n' \
        "$server" "$c" "$run" "$r" "$p50" "$p99" "$cpu" "${errors:+errors=[$errors]}"
      rps[$server]+=" $r"
      echo "$cpu" >>"$work/cpu.$server.$c"
    done
  done
  for server in "${servers[@]}"; do
    # shellcheck disable=SC2086
    put "http.$server.$c" "$(median ${rps[$server]})"
    # shellcheck disable=SC2046
    put "http.$server.$c.cpu_us" "$(median $(cat "$work/cpu.$server.$c"))"
  done
done
note "roost wrote $(($(wc -l <"$work/roost.log") - log_lines_before)) log lines during the runs (one per request: request logging was on)"
for server in "${servers[@]}"; do kill "${pid_of[$server]}" 2>/dev/null || true; wait "${pid_of[$server]}" 2>/dev/null || true; done
pids=()

# ---------------------------------------------------------------------------------------------- 6. ordo-one
if [[ $run_ordo == 1 ]]; then
  section "6. ordo-one/benchmark suite (swift package benchmark; WAL 1 × 2 s per configuration, replay 5 ×, snapshot 3 ×)"
  t0=$(now)
  ordo_status=0
  ROOST_BENCH_DIR="$work/ordo" ROOST_BENCH_WAL_SECONDS=2 ROOST_BENCH_WAL_WARMUP=0.5 ROOST_BENCH_WAL_ITERATIONS=1 \
    ROOST_BENCH_REPLAY_RECORDS="$replay_records" ROOST_BENCH_SNAPSHOT_LISTINGS="$snapshot_listings" \
    swift package --package-path Benchmarks benchmark --no-progress >"$work/ordo.out" 2>&1 || ordo_status=$?
  grep -v -E 'CMakeLists.txt|unhandled; explicitly declare' "$work/ordo.out" || true
  note "ordo-one suite: $(since "$t0") s, exit status $ordo_status"
fi

# ---------------------------------------------------------------------------------------------- summary
num() { awk -v v="$1" 'BEGIN { if (v == "") { print "-"; exit } s = sprintf("%.0f", v); n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'; }
sec() { [[ -z $1 ]] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { printf "%.2f s", v }'; }
us() { [[ -z $1 ]] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { printf "%.0f us", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else if (a / b >= 10) printf "%.0fx", a / b; else printf "%.2fx", a / b }'; }
fa=$(get fsync.append); fo=$(get fsync.overwrite)

section "WAL detail (anchor: raw fdatasync of the same layout: growing = append, preallocated = overwrite)"
printf '| %-13s | %9s | %12s | %9s | %10s | %10s | %10s | %12s | %12s |\n' "segments" "appenders" "records/s" "x fsync/s" "p50" "p99" "p99.9" "records/sync" "fdatasyncs/s"
printf '| %-13s | %9s | %12s | %9s | %10s | %10s | %10s | %12s | %12s |\n' "-------------" "---------" "------------" "---------" "----------" "----------" "----------" "------------" "------------"
for layout in grow prealloc; do
  anchor=$fa; mode=append; [[ $layout == prealloc ]] && { anchor=$fo; mode=overwrite; }
  printf '| %-13s | %9s | %12s | %9s | %10s | %10s | %10s | %12s | %12s |\n' "raw $mode" "-" "-" "-" \
    "$(us "$(get "fsync.$mode.p50_us")")" "$(us "$(get "fsync.$mode.p99_us")")" "-" "1" "$(num "$anchor")"
  for n in ${wal_appenders//,/ }; do
    k="wal.$layout.$n"
    printf '| %-13s | %9s | %12s | %9s | %10s | %10s | %10s | %12s | %12s |\n' "$([[ $layout == grow ]] && echo growing || echo preallocated)" "$n" \
      "$(num "$(get "$k.records_per_s")")" "$(ratio "$(get "$k.records_per_s")" "$anchor")" "$(us "$(get "$k.p50_us")")" \
      "$(us "$(get "$k.p99_us")")" "$(us "$(get "$k.p999_us")")" "$(get "$k.records_per_sync")" "$(num "$(get "$k.fdatasyncs_per_s")")"
  done
done

section "summary (ratio: Roost's speed relative to the anchor; rates Roost/anchor, durations anchor/Roost)"
fails=0; passes=0
row() { printf '| %-58s | %14s | %26s | %7s | %-24s | %-6s |\n' "$@"; }
judge() { # an awk condition (true = PASS); sets $verdict (no subshell, so the counts add up)
  if awk "BEGIN { exit !($1) }" 2>/dev/null; then passes=$((passes + 1)); verdict=PASS; else fails=$((fails + 1)); verdict=FAIL; fi
}
row "metric" "Roost" "anchor" "ratio" "target" "result"
row "$(printf '%058d' 0 | tr 0 -)" "$(printf '%014d' 0 | tr 0 -)" "$(printf '%026d' 0 | tr 0 -)" "-------" "$(printf '%024d' 0 | tr 0 -)" "------"
row "raw fdatasync/s, 4 KiB append (disk ceiling)" "-" "$(num "$fa")" "-" "anchor" "-"
row "raw fdatasync/s, 4 KiB overwrite of preallocated file" "-" "$(num "$fo")" "-" "anchor" "-"
for layout in grow prealloc; do
  anchor=$fa; anchor_name="fdatasync append"; label="growing segments"
  [[ $layout == prealloc ]] && { anchor=$fo; anchor_name="fdatasync overwrite"; label="preallocated"; }
  for n in ${wal_appenders//,/ }; do
    r=$(get "wal.$layout.$n.records_per_s")
    target="-"; result="info"
    if [[ $n == 1024 ]]; then
      target=">=50x & >=200,000/s"
      judge "$r >= 50 * $anchor && $r >= 200000"; result=$verdict
    fi
    row "WAL durable records/s, $label, $n appender$([[ $n == 1 ]] || echo s)" "$(num "$r")" "$(num "$anchor") $anchor_name" "$(ratio "$r" "$anchor")" "$target" "$result"
  done
  k="wal.$layout.1024"
  row "  p50 / p99 append->durable, 1024 appenders" "$(us "$(get "$k.p50_us")")" "$(us "$(get "$k.p99_us")") (p99)" "-" "-" "info"
done
rw=$(get replay.warm.records_per_s); rc=$(get replay.cold.records_per_s)
aw=$(get replay.raw-read-warm.records_per_s); ac=$(get replay.raw-read-cold.records_per_s)
judge "$rw >= 1000000"
row "replay WALRecovery.recover, $(num "$replay_records") records, warm cache" "$(num "$rw")/s" "$(num "$aw")/s raw read" "$(ratio "$rw" "$aw")" ">=1,000,000/s" "$verdict"
row "replay WALRecovery.recover, $(num "$replay_records") records, cold cache" "$(num "$rc")/s" "$(num "$ac")/s raw read" "$(ratio "$rc" "$ac")" "- (disk-bound)" "info"
ew=$(get engine-replay.warm.records_per_s); ec=$(get engine-replay.cold.records_per_s)
judge "$ew >= 1000000"
row "replay Engine.open (test aggregate), warm cache" "$(num "$ew")/s" "$(num "$aw")/s raw read" "$(ratio "$ew" "$aw")" ">=1,000,000/s (optional)" "$verdict"
row "replay Engine.open (test aggregate), cold cache" "$(num "$ec")/s" "$(num "$ac")/s raw read" "$(ratio "$ec" "$ac")" "-" "info"
sw=$(get snapshot.encode_write_s); sl=$(get snapshot.load_decode_cold_s); slw=$(get snapshot.load_decode_warm_s)
judge "$sw <= 3"
row "snapshot encode+write (durable), $(num "$snapshot_listings") listings" "$(sec "$sw")" "$(sec "$(get snapshot.raw_write_fsync_s)") raw write" "$(ratio "$(get snapshot.raw_write_fsync_s)" "$sw")" "<=3 s" "$verdict"
row "  encode | write+fsync" "$(sec "$(get snapshot.encode_s)")" "$(sec "$(get snapshot.write_s)")" "-" "-" "info"
judge "$sl <= 3"
row "snapshot load+decode, cold cache" "$(sec "$sl")" "$(sec "$(get snapshot.raw_read_cold_s)") raw read" "$(ratio "$(get snapshot.raw_read_cold_s)" "$sl")" "<=3 s" "$verdict"
row "  load | decode (cold)" "$(sec "$(get snapshot.load_cold_s)")" "$(sec "$(get snapshot.decode_cold_s)")" "-" "-" "info"
row "snapshot load+decode, warm cache" "$(sec "$slw")" "-" "-" "-" "info"
row "snapshot body size" "$(num "$(get snapshot.body_bytes)") B" "-" "-" "$(get snapshot.bytes_per_listing) B/listing" "info"
for c in $http_connections; do
  hr=$(get "http.roost.$c"); hb=$(get "http.bare.$c"); hn=$(get "http.nolog.$c")
  judge "$hr >= 0.8 * $hb"
  row "HTTP GET /health/live req/s, $c connections, median" "$(num "$hr")" "$(num "$hb") bare Hummingbird" "$(ratio "$hr" "$hb")" ">=0.8x bare" "$verdict"
  row "  server CPU per request: roost | bare" "$(us "$(get "http.roost.$c.cpu_us")")" "$(us "$(get "http.bare.$c.cpu_us")")" "-" "-" "info"
  row "  diagnostic: roost with request logging off" "$(num "$hn")" "$(num "$hb") bare Hummingbird" "$(ratio "$hn" "$hb")" "- ($(us "$(get "http.nolog.$c.cpu_us")")/request)" "info"
done

# ---------------------------------------------------------------------------------------------- 7. accounts
if [[ ${BENCH_ACCOUNTS:-1} == 1 ]]; then
  section "7. accounts (scripts/bench-accounts.sh): GET /v1/users/me beside /health/live; sign-ins beside raw bcrypt"
  ROOST_BIN="$roost_bin" bash "$repo/scripts/bench-accounts.sh"
fi
# ---------------------------------------------------------------------------------------------- 8. search
if [[ ${BENCH_SEARCH:-1} == 1 ]]; then
  section "8. search (scripts/bench-search.sh): in-engine over 1M listings, HTTP beside /health/live, PostgreSQL 15 (BENCH_SEARCH=0 skips it)"
  ROOST_BIN="$roost_bin" ROOST_BENCH_BIN="$bench_bin" BENCH_DIR_PARENT="$parent" bash "$repo/scripts/bench-search.sh"
fi
# ---------------------------------------------------------------------------------------------- 9. bookings
if [[ ${BENCH_BOOKINGS:-1} == 1 ]]; then
  section "9. bookings (scripts/bench-bookings.sh): durable holds in-engine beside PostgreSQL 15's exclusion constraint (BENCH_BOOKINGS=0 skips it)"
  ROOST_BIN="$roost_bin" ROOST_BENCH_BIN="$bench_bin" BENCH_DIR_PARENT="$parent" bash "$repo/scripts/bench-bookings.sh"
fi
echo
note "$passes targets met, $fails missed (steps 1-6). Roost binary: $roost_bin"
[[ $roost_bin == *debug* ]] && note "WARNING: a debug roost binary: its HTTP numbers are not meaningful"
[[ $strict == 1 && $fails -gt 0 ]] && exit 1
exit 0
