#!/usr/bin/env bash
# Makes sure a Kafka-protocol broker (tansu, from crates.io) listens on 127.0.0.1:9092.
# The binary is built once per machine into a cache outside the repository (≈ 10 min cold) and
# reused; the broker keeps topics in memory and runs until the machine stops.
#
#   scripts/kafka.sh            # install if missing, start if down
#   FINTRA_CACHE=/some/dir scripts/kafka.sh
set -euo pipefail

cache="${FINTRA_CACHE:-/var/tmp/fintra-cache}"
root="$cache/tansu"
bin="$root/bin/tansu"
say() { printf 'kafka.sh: %s\n' "$*" >&2; }

up() { (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; }

if up; then exit 0; fi
if [ ! -x "$bin" ]; then
  say "installing the tansu broker into $root (once per machine, about 10 minutes)"
  mkdir -p "$cache"
  cargo install tansu --version 0.6.0 --locked --features dynostore,postgres --root "$root" >"$cache/tansu-install.log" 2>&1 \
    || { say "cargo install tansu failed; see $cache/tansu-install.log"; exit 1; }
fi
say "starting tansu on 127.0.0.1:9092"
nohup "$bin" broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
  --storage-engine memory://tansu/ >"$cache/tansu.log" 2>&1 &
for _ in $(seq 1 30); do
  if up; then exit 0; fi
  sleep 1
done
say "tansu did not start listening in 30 s; see $cache/tansu.log"
exit 1
