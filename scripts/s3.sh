#!/usr/bin/env bash
# Makes sure an S3-compatible server (moto's server mode, from PyPI) listens on 127.0.0.1:9000
# with the bucket the tests use. Installs moto into the current Python when missing.
#
#   scripts/s3.sh
set -euo pipefail

cache="${FINTRA_CACHE:-/var/tmp/fintra-cache}"
bucket="${FINTRA_S3_BUCKET:-fintra-test}"
say() { printf 's3.sh: %s\n' "$*" >&2; }
up() { curl -s -o /dev/null http://127.0.0.1:9000/ 2>/dev/null; }

if ! up; then
  if ! command -v moto_server >/dev/null 2>&1; then
    say "installing moto[server] from PyPI"
    python3 -m pip install --quiet "moto[server]" >/dev/null 2>&1 || { say "pip install moto[server] failed"; exit 1; }
  fi
  mkdir -p "$cache"
  say "starting moto_server on 127.0.0.1:9000"
  nohup moto_server -H 127.0.0.1 -p 9000 >"$cache/moto.log" 2>&1 &
  for _ in $(seq 1 30); do
    if up; then break; fi
    sleep 1
  done
  up || { say "moto_server did not start in 30 s; see $cache/moto.log"; exit 1; }
fi
# Creating an existing bucket is harmless.
curl -s -o /dev/null -X PUT "http://127.0.0.1:9000/$bucket" || { say "could not create bucket $bucket"; exit 1; }
