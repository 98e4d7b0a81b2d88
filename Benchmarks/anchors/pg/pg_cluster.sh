#!/usr/bin/env bash
# PostgreSQL anchor for Roost: copied from /work/shared/anchors/pg/pg_cluster.sh, 2026-11-25; unchanged except
# the paths in the usage lines (see Benchmarks/anchors/pg/README.md). make bench uses scripts/bench-search-anchor.sh
# for the search anchor instead; this script stays for the booking anchor (a later issue) and manual runs.
# Throwaway PostgreSQL 15 cluster for the baselines (durable defaults: fsync=on, synchronous_commit=on).
#   bash Benchmarks/anchors/pg/pg_cluster.sh up     # initdb (if needed) + start on 127.0.0.1:$PGPORT
#   bash Benchmarks/anchors/pg/pg_cluster.sh down   # stop (fast) -- always run this when done
#   bash Benchmarks/anchors/pg/pg_cluster.sh purge  # stop + delete the data directory
# Env: PGDIR=${TMPDIR:-/tmp}/roost-anchors/pg  PGPORT=5440  PGBIN=/usr/lib/postgresql/15/bin
# Runs the server as the 'postgres' OS user (PostgreSQL refuses to run as root). Trust auth on loopback only.
# Non-durability-related settings: shared_buffers=2GB, maintenance_work_mem=1GB, max_wal_size=8GB
# (fewer checkpoints during the bulk load and the runs); everything else is the initdb default.
set -euo pipefail
PGDIR=${PGDIR:-${TMPDIR:-/tmp}/roost-anchors/pg}; PGPORT=${PGPORT:-5440}; PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case ${1:-up} in
  up)
    if [[ ! -f $PGDIR/data/PG_VERSION ]]; then
      mkdir -p "$PGDIR"; [[ $(id -u) == 0 ]] && chown postgres: "$PGDIR"
      as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >>"$PGDIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDIR'
shared_buffers = 2GB
maintenance_work_mem = 1GB
max_wal_size = 8GB
CONF
    fi
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w start >/dev/null
    as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -d postgres \
      -c "SELECT 'up: ' || version()" \
      -c "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('fsync','synchronous_commit','wal_sync_method','full_page_writes','shared_buffers','max_wal_size') ORDER BY 1"
    ;;
  down)
    [[ -f $PGDIR/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null && echo down || echo "not running"
    ;;
  purge)
    "$0" down; rm -rf "$PGDIR"; echo purged
    ;;
  *) echo "usage: $0 up|down|purge" >&2; exit 2 ;;
esac
