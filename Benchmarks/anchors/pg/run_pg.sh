#!/usr/bin/env bash
# PostgreSQL anchor for Roost: copied from /work/shared/anchors/pg/run_pg.sh, 2026-11-25; unchanged except
# the paths in the usage lines (see Benchmarks/anchors/pg/README.md). make bench uses scripts/bench-search-anchor.sh
# for the search anchor instead; this script stays for the booking anchor (a later issue) and manual runs.
# PostgreSQL booking + search baselines. Run from the repository root:
#   bash Benchmarks/anchors/pg/pg_cluster.sh up                      # throwaway cluster on 127.0.0.1:5440 (see that script)
#   bash Benchmarks/anchors/pg/run_pg.sh [booking|search|all] [runs=3] [seconds=20]
#   bash Benchmarks/anchors/pg/pg_cluster.sh down
# Env: PGHOST=127.0.0.1 PGPORT=5440 PGUSER=postgres; CLIENTS=8 (pgbench -c);
#      SEARCH_LISTINGS=100000 (listings generated for search; ~20.8 bookings each);
#      SKIP_LOAD=1 (reuse the loaded search data); SEARCH_MODES='simple prepared' (pgbench -M); LABEL=... (prefix for each result line);
#      PGOPTIONS='-c synchronous_commit=off' for the non-durable comparison run.
# Needs PostgreSQL 15 with btree_gist (Debian: postgresql-15 ships it).
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-all}; runs=${2:-3}; secs=${3:-20}
: "${PGHOST:=127.0.0.1}" "${PGPORT:=5440}" "${PGUSER:=postgres}" "${CLIENTS:=8}" "${SEARCH_LISTINGS:=100000}"
export PGHOST PGPORT PGUSER
label=${LABEL:+$LABEL }
psql -qAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname='bench_booking'" | grep -q 1 || createdb bench_booking
psql -qAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname='bench_search'"  | grep -q 1 || createdb bench_search
echo "# ${label}synchronous_commit=$(psql -qAt -d postgres -c 'SHOW synchronous_commit') fsync=$(psql -qAt -d postgres -c 'SHOW fsync') clients=$CLIENTS seconds=$secs"

results=$(mktemp); trap 'rm -f "$results"' EXIT
pgb() { # $1=db $2=script, rest = extra args; prints "tps lat_ms tx failed retried"
  # --max-tries: deadlocks between concurrent exclusion-constraint checks (high contention) are
  # retried by pgbench, as an application would; failures left after the tries are reported.
  local out
  if ! out=$(pgbench -n -c "$CLIENTS" -j 2 -T "$secs" --max-tries=10 "${@:3}" -f "$2" "$1" 2>&1); then
    echo "pgbench failed:" >&2; echo "$out" >&2; return 1
  fi
  local tps lat tx failed retried
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' <<<"$out")
  echo "${tps:-?} ${lat:-?} ${tx:-0} ${failed:-0} ${retried:-0}"
}
record() { echo "$1" | tee -a "$results"; }

if [[ $what == booking || $what == all ]]; then
  for kind in low high; do
    for r in $(seq 1 "$runs"); do
      psql -q -v ON_ERROR_STOP=1 -d bench_booking -f booking_schema.sql >/dev/null 2>&1
      psql -q -d bench_booking -c CHECKPOINT
      out=$(pgb bench_booking "booking_$kind.sql"); read -r tps lat tx failed retried <<<"$out"
      ins=$(psql -qAt -d bench_booking -c "SELECT count(*) FROM bookings")
      ovl=$(psql -qAt -d bench_booking -f booking_verify.sql)
      record "${label}booking_$kind run=$r tps=$tps lat_ms=$lat tx=$tx inserted=$ins rejected=$((tx - ins)) deadlock_retried=$retried failed=$failed overlapping_pairs=$ovl"
    done
  done
fi

if [[ $what == search || $what == all ]]; then
  if [[ ${SKIP_LOAD:-0} != 1 ]]; then
    start=$(date +%s)
    psql -q -v ON_ERROR_STOP=1 -v listings="$SEARCH_LISTINGS" -d bench_search -f search_schema.sql 2>&1 |
      grep -E '^(step|Time)' | paste -sd' ' | sed 's/ step:/\n  step:/g; s/^/  /'
    echo "search data loaded in $(( $(date +%s) - start ))s: listings=$(psql -qAt -d bench_search -c 'SELECT count(*) FROM listings') bookings=$(psql -qAt -d bench_search -c 'SELECT count(*) FROM bookings') size=$(psql -qAt -d bench_search -c 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
  fi
  echo "# search plan (one sample):"
  psql -qAt -d bench_search -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON)
    SELECT l.id, l.price FROM listings l
    WHERE l.city = 'city7' AND l.price BETWEEN 300 AND 600 AND l.guests >= 4
      AND l.amenities @> ARRAY['wifi','kitchen']
      AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.listing_id = l.id AND b.status <> 'canceled'
                      AND b.stay && daterange(date '2027-03-01', date '2027-03-06', '[)'))
    ORDER BY l.price LIMIT 20" | sed 's/^/  /'
  for mode in ${SEARCH_MODES:-simple prepared}; do
    for r in $(seq 1 "$runs"); do
      out=$(pgb bench_search search.sql -M "$mode"); read -r tps lat tx failed retried <<<"$out"
      record "${label}search_$mode run=$r tps=$tps lat_ms=$lat tx=$tx failed=$failed"
    done
  done
fi

echo "# summary: name  tps min/median/max  lat_ms min/median/max"
awk '{ name = $1; tps = ""; lat = "";
       for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "tps") tps = kv[2]; if (kv[1] == "lat_ms") lat = kv[2] }
       if (!(name ~ /^(booking|search)/)) name = $1 " " $2
       print name "\t" tps "\t" lat }' "$results" |
  awk -F'\t' '{ t[$1] = t[$1] " " $2; l[$1] = l[$1] " " $3 }
    function mmm(s,   x, m, i, j, tmp) { m = split(substr(s, 2), x, " ");
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] + 0 < x[i] + 0) { tmp = x[i]; x[i] = x[j]; x[j] = tmp }
      return x[1] "/" x[int((m + 1) / 2)] "/" x[m] }
    END { for (k in t) printf "  %-28s tps %s  lat_ms %s\n", k, mmm(t[k]), mmm(l[k]) }' | sort
