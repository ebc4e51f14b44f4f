#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for the tests and for trying `serve`:
#   tests/pg/cluster.sh start DIR PORT   # initdb DIR if new (user `insiders`, trust on
#                                        # loopback), start on 127.0.0.1:PORT, database `insiders`
#   tests/pg/cluster.sh stop DIR         # fast shutdown
# Then: --db postgresql://insiders@127.0.0.1:PORT/insiders
# Needs Debian's `postgresql` package (its binaries are in /usr/lib/postgresql/N/bin). The
# server refuses to run as root: as root, DIR is given to the `postgres` user and the server
# runs as that user (runuser); DIR's parent must be traversable by it.
set -euo pipefail
usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$bin" ]; then PATH="$bin:$PATH"; fi
command -v initdb >/dev/null || { echo "initdb not found: apt-get install -y postgresql" >&2; exit 3; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
      as_owner initdb -D "$dir" -U insiders -A trust -E UTF8 --no-sync >/dev/null
    fi
    as_owner pg_ctl -D "$dir" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    if ! psql -h 127.0.0.1 -p "$port" -U insiders -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'insiders'" | grep -q 1; then
      createdb -h 127.0.0.1 -p "$port" -U insiders insiders
    fi
    echo "postgresql://insiders@127.0.0.1:$port/insiders"
    ;;
  stop)
    as_owner pg_ctl -D "$dir" -m fast -w stop >/dev/null
    ;;
  *) usage ;;
esac
