#!/usr/bin/env bash
# make bench (search anchor), or alone: PostgreSQL 15 answering Roost's search, the anchor for Roost's search numbers.
# With PG_JOB=booking, the same throwaway cluster does the booking anchor instead (see "booking job" below).
#
# Starts a throwaway PostgreSQL 15 cluster (initdb + pg_ctl; fsync and synchronous_commit on; 127.0.0.1 only, on a
# free port), loads SEARCH_LISTINGS listings over 50 cities with ~20.8 bookings each (deterministic data:
# Benchmarks/anchors/pg/search_schema.sql), checks that a sample search returns rows, then runs the search
# (Benchmarks/anchors/pg/search.sql: city + price band + guests + amenities + free for a 2-7 night window, cheapest 20)
# under pgbench -M prepared, BENCH_PG_CLIENTS clients on BENCH_PG_THREADS threads, BENCH_PG_RUNS runs of
# BENCH_PG_SECONDS after a BENCH_PG_WARMUP s warm-up. Prints the load time, each run's tps and average latency, then
#   RESULT pg-search listings=<n> tps=<median> latency_ms=<median>
# The server is stopped, and its directory deleted, on every exit path (success, failure, Ctrl-C, TERM).
#
# Booking job (PG_JOB=booking; scripts/bench-bookings.sh runs it): for each of low and high contention
# (Benchmarks/anchors/pg/booking_low.sql: 100,000 listings; booking_high.sql: 10), BENCH_PG_RUNS runs of a fresh
# bookings table with the exclusion constraint (booking_schema.sql), a CHECKPOINT, then pgbench -c BENCH_PG_CLIENTS
# -j BENCH_PG_THREADS --max-tries=10 for BENCH_PG_SECONDS, and booking_verify.sql (must find 0 overlapping pairs):
#   RESULT pg-booking kind=<low|high> tps=<median> latency_ms=<median> inserted=<median>
#
# Env (defaults in brackets):
#   PG_JOB [search]            search or booking
#   SEARCH_LISTINGS [1000000]  listings to load; the 1M load takes 8-12 minutes on 2 vCPUs (100000: ~1 minute)
#   BENCH_PG_RUNS [3]  BENCH_PG_SECONDS [20]  BENCH_PG_WARMUP [5]  BENCH_PG_CLIENTS [8]  BENCH_PG_THREADS [2]
#   BENCH_PG_KEEP_DATA [0]     1: keep the loaded cluster in <BENCH_DIR_PARENT>/.bench-pg-<listings>-<hash>, where
#                              <hash> covers search_schema.sql, the server settings below and the PostgreSQL version,
#                              and reuse it on the next run, skipping the load. The server is still stopped on exit;
#                              a load that fails or is interrupted is deleted; older caches for the same listings
#                              count (another hash) are deleted. Remove by hand: rm -rf data/state/.bench-pg-*
#                              (1M listings: ~7.6 GB). A cache in use by another run is left alone (a throwaway
#                              cluster is used instead).
#   BENCH_DIR_PARENT [data/state]  where the temp dir (and the cache) go: the data directory's filesystem, as in
#                              bench.sh; $TMPDIR or /tmp when the postgres user cannot write there
#   BENCH_PG_PLAN_CACHE_MODE [force_custom_plan]  plan_cache_mode of the pgbench sessions. With auto (PostgreSQL's
#                              default), -M prepared switches to a generic plan after 5 executions when it looks
#                              cheaper: at 100,000 listings it does (a bitmap scan of the whole price band + sort,
#                              ~6x slower), at 1,000,000 it does not (same tps either way). Forcing custom plans keeps
#                              quick runs measuring the same plan as the full one; auto reproduces the shared run_pg.sh.
#   PGBIN [/usr/lib/postgresql/15/bin]
# As root, initdb and pg_ctl run as the postgres OS user (runuser; PostgreSQL refuses to run as root) in a directory
# chowned to it; psql and pgbench connect over TCP to 127.0.0.1 as the database user postgres (trust, loopback only).
# Server settings beyond the initdb defaults are pg_cluster.sh's: shared_buffers 2GB (at most a quarter of RAM),
# maintenance_work_mem 1GB, max_wal_size 8GB (fewer checkpoints during the bulk load); no Unix socket.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/lib.sh

job=${PG_JOB:-search}
[[ $job == search || $job == booking ]] || { echo "bench-search-anchor: PG_JOB must be search or booking" >&2; exit 1; }
listings=${SEARCH_LISTINGS:-1000000}
runs=${BENCH_PG_RUNS:-3}; seconds=${BENCH_PG_SECONDS:-20}; warmup=${BENCH_PG_WARMUP:-5}
clients=${BENCH_PG_CLIENTS:-8}; threads=${BENCH_PG_THREADS:-2}
keep=${BENCH_PG_KEEP_DATA:-0}; plan_cache_mode=${BENCH_PG_PLAN_CACHE_MODE:-force_custom_plan}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
anchor="$repo/Benchmarks/anchors/pg"

die() { echo "bench-search-anchor: $*" >&2; exit 1; }
note() { printf '# %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.0f", t1 - t0 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
num() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'; }

for v in listings runs seconds warmup clients threads; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[[ $plan_cache_mode =~ ^(auto|force_custom_plan|force_generic_plan)$ ]] || die "BENCH_PG_PLAN_CACHE_MODE: auto, force_custom_plan or force_generic_plan"
((listings >= 50 && runs >= 1 && seconds >= 1 && clients >= 1 && threads >= 1)) ||
  die "need SEARCH_LISTINGS >= 50 and BENCH_PG_RUNS, BENCH_PG_SECONDS, BENCH_PG_CLIENTS, BENCH_PG_THREADS >= 1"
for tool in initdb pg_ctl postgres psql pgbench; do
  [[ -x $PGBIN/$tool ]] || die "$PGBIN/$tool not found (PostgreSQL 15 is needed: apt-get install postgresql-15)"
done
for f in search.sql search_schema.sql booking_schema.sql booking_low.sql booking_high.sql booking_verify.sql; do
  [[ -r $anchor/$f ]] || die "$anchor/$f is missing"
done
[[ $job == booking ]] && keep=0  # nothing worth caching: every run starts from an empty table

# The server side as the postgres OS user when we are root (cd / so that no tool trips over an unreadable cwd).
if [[ $(id -u) == 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root, and there is no 'postgres' user to run PostgreSQL as"
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
  give() { chown postgres: "$@"; }
else
  as_pg() { "$@"; }
  give() { :; }
fi

# ------------------------------------------------------------------------------------------ cleanup on every exit
started=0; cached=0; pgroot=""; datadir=""
stop_cluster() {
  ((started == 1)) || return 0
  started=0
  as_pg "$PGBIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    as_pg "$PGBIN/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  if [[ -f $datadir/postmaster.pid ]]; then # still there: kill the postmaster (its backends exit when it dies)
    local pid; pid=$(head -1 "$datadir/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
  fi
}
on_exit() {
  local status=${1:-$?}
  set +e
  stop_cluster
  # an incomplete cache (failed or interrupted load) is worthless: delete it (a throwaway cluster lives in $work)
  [[ $cached == 1 && -n $pgroot && ! -f $pgroot/loaded ]] && rm -rf "$pgroot"
  (exit "$status"); cleanup # lib.sh: stops $pids, removes $work, exits with $status
}
trap on_exit EXIT
trap 'on_exit 130' INT
trap 'on_exit 143' TERM

# The long commands (the load, pgbench) run in the background and are waited for: bash runs a trap only once the
# foreground command returns, while a signal interrupts `wait` at once.
bg_wait() { # log command...: runs the command with its output in log; returns its status
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  local pid=$! rc=0
  pids+=("$pid")
  wait "$pid" || rc=$?
  unset 'pids[-1]'
  return "$rc"
}

# ------------------------------------------------------------------------------------------ directories
parent=${BENCH_DIR_PARENT:-$repo/data/state}
mkdir -p "$parent" 2>/dev/null || true; parent=$(realpath -m "$parent")
work=$(mktemp -d "$parent/.bench-pg-$job.XXXXXX" 2>/dev/null) || work=""
[[ -n $work ]] && give "$work"
if [[ -z $work ]] || ! as_pg test -w "$work" -a -x "$work"; then
  note "$([[ $(id -u) == 0 ]] && echo "the postgres user" || echo "$(id -un)") cannot write in $parent; using ${TMPDIR:-/tmp} instead"
  [[ -n $work ]] && rm -rf "$work"; work=""
  parent=$(realpath "${TMPDIR:-/tmp}")
  work=$(mktemp -d "$parent/roost-bench-pg-$job.XXXXXX"); give "$work"
  as_pg test -w "$work" || die "the postgres user cannot write in $work either"
fi

mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
shared_buffers_mb=$((mem_mb / 4 < 2048 ? mem_mb / 4 : 2048))
conf="listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = ${shared_buffers_mb}MB
maintenance_work_mem = 1GB
max_wal_size = 8GB"
pg_version=$("$PGBIN/postgres" --version)

pgroot="$work/pg"
if [[ $keep == 1 ]]; then
  hash=$({ cat "$anchor/search_schema.sql"; echo "$conf"; echo "$pg_version"; } | sha256sum | cut -c1-12)
  cache="$parent/.bench-pg-$listings-$hash"
  mkdir -p "$cache"; give "$cache"
  exec {lock_fd}<"$cache"
  if flock -n "$lock_fd"; then
    pgroot=$cache; cached=1
    for old in "$parent/.bench-pg-$listings-"*; do # stale caches: another schema, settings or version
      [[ -d $old && $old != "$cache" ]] || continue
      if (exec {old_fd}<"$old" && flock -n "$old_fd") && [[ ! -f $old/data/postmaster.pid ]]; then
        note "deleting a stale cache (another schema, settings or PostgreSQL version): $old"
        rm -rf "$old"
      fi
    done
  else
    exec {lock_fd}<&-
    note "the cache $cache is in use by another run: using a throwaway cluster"
  fi
fi
datadir="$pgroot/data"

# ------------------------------------------------------------------------------------------ cluster
t_all=$(now)
if [[ $job == booking ]]; then
  echo "== PostgreSQL booking anchor: pgbench -c $clients -j $threads --max-tries=10, low (100,000 listings) and high (10 listings) contention, $runs × ${seconds} s each"
else
echo "== PostgreSQL search anchor: $(num "$listings") listings, pgbench -M prepared -c $clients -j $threads (plan_cache_mode=$plan_cache_mode), $runs × ${seconds} s after a ${warmup} s warm-up"
fi
note "$pg_version; $(nproc) cores; cluster in $pgroot$([[ $cached == 1 ]] && echo " (BENCH_PG_KEEP_DATA=1: kept)")"
if [[ -f $pgroot/loaded ]]; then
  # a run killed with SIGKILL (no trap) may have left its server running: stop it first
  if as_pg "$PGBIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
    note "a server left running in the cache by an earlier run: stopping it"
    as_pg "$PGBIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
else
  find "$pgroot" -mindepth 1 -delete 2>/dev/null || true
  mkdir -p "$pgroot"; give "$pgroot"
  as_pg "$PGBIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 ||
    { tail -20 "$work/initdb.log" >&2; die "initdb failed"; }
  printf '%s\n' "$conf" >>"$datadir/postgresql.conf"
fi

port=""
for attempt in 1 2 3; do # free_port can lose a race for its port: try another
  port=$(free_port)
  started=1
  if as_pg "$PGBIN/pg_ctl" -D "$datadir" -l "$work/server.log" -o "-p $port" -w -t 120 start >/dev/null 2>&1; then break; fi
  stop_cluster
  ((attempt == 3)) && { tail -20 "$work/server.log" >&2 || true; rm -f "$pgroot/loaded"; die "PostgreSQL did not start"; }
done
psql_args=(-X -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
psql_() { "$PGBIN/psql" "${psql_args[@]}" "$@"; }
note "server on 127.0.0.1:$port: $(psql_ -d postgres -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
  WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_wal_size', 'wal_sync_method')")"

# ------------------------------------------------------------------------------------------ booking job
if [[ $job == booking ]]; then
  psql_ -d postgres -c 'CREATE DATABASE bench_booking'
  for kind in low high; do
    tps_all=(); lat_all=(); ins_all=()
    for run in $(seq 1 "$runs"); do
      psql_ -d bench_booking -f "$anchor/booking_schema.sql" >/dev/null 2>&1 || die "loading booking_schema.sql failed"
      psql_ -d bench_booking -c CHECKPOINT
      bg_wait "$work/pgbench.out" "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -c "$clients" -j "$threads" -T "$seconds" \
        --max-tries=10 -f "$anchor/booking_$kind.sql" bench_booking || { cat "$work/pgbench.out" >&2; die "pgbench failed"; }
      out=$(<"$work/pgbench.out")
      tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
      lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
      tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
      inserted=$(psql_ -d bench_booking -c 'SELECT count(*) FROM bookings')
      overlapping=$(psql_ -d bench_booking -f "$anchor/booking_verify.sql")
      [[ -n $tps && ${tx:-0} -gt 0 ]] || { echo "$out" >&2; die "pgbench booking_$kind run $run: no result"; }
      [[ $overlapping == 0 ]] || die "booking_$kind run $run: $overlapping overlapping pairs"
      printf 'pg-booking kind=%s run=%s tps=%s latency_ms=%s tx=%s inserted=%s overlapping_pairs=%s\n' "$kind" "$run" "$tps" "$lat" "$tx" "$inserted" "$overlapping"
      tps_all+=("$tps"); lat_all+=("$lat"); ins_all+=("$inserted")
    done
    echo "RESULT pg-booking kind=$kind tps=$(median "${tps_all[@]}") latency_ms=$(median "${lat_all[@]}") inserted=$(median "${ins_all[@]}")"
  done
  note "PostgreSQL booking anchor done in $(since "$t_all") s"
  exit 0
fi

# ------------------------------------------------------------------------------------------ data
if [[ -f $pgroot/loaded ]]; then
  have=$(psql_ -d bench_search -c 'SELECT count(*) FROM listings' 2>/dev/null || echo 0)
  [[ $have == "$listings" ]] || { rm -f "$pgroot/loaded"; die "the cached cluster has $have listings, not $listings: deleted it, run again"; }
  note "load: skipped, reusing the cached cluster ($(cat "$pgroot/loaded"))"
else
  t0=$(now)
  psql_ -d postgres -c 'CREATE DATABASE bench_search'
  bg_wait "$work/load.log" "$PGBIN/psql" "${psql_args[@]}" -d bench_search -v listings="$listings" -f "$anchor/search_schema.sql" ||
    { tail -30 "$work/load.log" >&2; die "loading the search data failed"; }
  load_s=$(since "$t0")
  steps=$(awk '/^step: / { if (name != "") { printf "%s%s %.0f s", sep, name, t / 1000; sep = ", " } name = substr($0, 7); t = 0; next }
               /^Time: / { t += $2 }
               END { if (name != "") printf "%s%s %.0f s", sep, name, t / 1000 }' "$work/load.log")
  counts=$(psql_ -d bench_search -c "SELECT (SELECT count(*) FROM listings) || ' listings, ' || (SELECT count(*) FROM bookings) || ' bookings, '
                                          || pg_size_pretty(pg_database_size(current_database()))")
  note "load: $counts in ${load_s} s ($steps)"
  [[ $cached == 1 ]] && echo "$counts, loaded $(date -u +%FT%TZ) in ${load_s} s" >"$pgroot/loaded"
fi

# ------------------------------------------------------------------------------------------ sanity check
# One fixed sample (the one run_pg.sh explains) must find rows; a mix of 200 searches drawn like search.sql's is shown.
search_sql() { # city pmin guests day nights -> the search, as in search.sql
  echo "SELECT l.id, l.price FROM listings l
        WHERE l.city = 'city' || $1 AND l.price BETWEEN $2 AND $2 + 300 AND l.guests >= $3
          AND l.amenities @> ARRAY['wifi', 'kitchen']
          AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.listing_id = l.id AND b.status <> 'canceled'
                            AND b.stay && daterange(date '2027-01-01' + $4, date '2027-01-01' + $4 + $5, '[)'))
        ORDER BY l.price LIMIT 20"
}
sample=$(search_sql 7 300 4 59 5) # city7, 300-600, 4+ guests, 2027-03-01 for 5 nights
rows=$(psql_ -d bench_search -c "SELECT count(*) FROM ($sample) s")
((rows > 0)) || die "sanity check failed: the sample search (city7, price 300-600, 4+ guests, wifi+kitchen, 2027-03-01 +5 nights) found no listing"
mix=$(psql_ -d bench_search -c "SELECT setseed(0.42)" -c "
  SELECT count(*) FILTER (WHERE hits > 0) || '/' || count(*) || ' found rows, ' || round(avg(hits), 1) || ' rows on average'
  FROM (SELECT 1 + floor(random() * 50)::int AS c, 30 + floor(random() * 571)::int AS pmin, 1 + floor(random() * 6)::int AS g,
               floor(random() * 351)::int AS d, 2 + floor(random() * 6)::int AS n
        FROM generate_series(1, 200)) p
  CROSS JOIN LATERAL (SELECT count(*) AS hits FROM ($(search_sql p.c p.pmin p.g p.d p.n)) q) h" | tail -1)
plan_ms=$(psql_ -d bench_search -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $sample" | sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p')
note "sanity: the sample search found $rows rows (${plan_ms} ms, EXPLAIN ANALYZE); random searches: $mix"

# ------------------------------------------------------------------------------------------ pgbench
pgb() { # seconds: pgbench's output in $work/pgbench.out, and in $out
  bg_wait "$work/pgbench.out" env PGOPTIONS="-c plan_cache_mode=$plan_cache_mode" "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres \
    -n -M prepared -c "$clients" -j "$threads" -T "$1" -f "$anchor/search.sql" bench_search || { cat "$work/pgbench.out" >&2; die "pgbench failed"; }
  out=$(<"$work/pgbench.out")
}
((warmup > 0)) && pgb "$warmup"
tps_all=(); lat_all=()
for run in $(seq 1 "$runs"); do
  pgb "$seconds"
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  [[ -n $tps && -n $lat && ${tx:-0} -gt 0 && ${failed:-0} == 0 ]] || { echo "$out" >&2; die "pgbench run $run: no result or failed transactions"; }
  printf 'pg-search run=%s tps=%s latency_ms=%s tx=%s failed=%s\n' "$run" "$tps" "$lat" "$tx" "${failed:-0}"
  tps_all+=("$tps"); lat_all+=("$lat")
done
note "PostgreSQL search anchor done in $(since "$t_all") s"
echo "RESULT pg-search listings=$listings tps=$(median "${tps_all[@]}") latency_ms=$(median "${lat_all[@]}")"
