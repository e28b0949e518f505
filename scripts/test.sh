#!/usr/bin/env bash
# The whole fintra test suite: makes sure the real services the selected tests use are reachable
# (installing or starting them when needed, and saying which and why), then runs every test and
# doctest.
#
#   scripts/test.sh                          # everything: every service
#   scripts/test.sh -p fintra-core           # arguments replace the default --workspace scope;
#   scripts/test.sh -p fintra-store-postgres # only the services those packages need
#
# Tests that need a service fail with a clear message when it is missing; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

export FINTRA_DATABASE_URL="${FINTRA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export FINTRA_REDIS_URL="${FINTRA_REDIS_URL:-redis://127.0.0.1:6379}"
export FINTRA_KAFKA_BROKERS="${FINTRA_KAFKA_BROKERS:-127.0.0.1:9092}"

say() { printf 'test.sh: %s\n' "$*" >&2; }

wait_for() { # name, probe command...
  local name=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "$name is still unreachable after 30 s"
  return 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

ensure_postgres() {
  if ! command -v pg_isready >/dev/null; then
    say "PostgreSQL client tools (pg_isready) are not installed: install PostgreSQL 15+ (apt-get install postgresql)"
    return 1
  fi
  pg_up && return 0
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    say "PostgreSQL is down; starting the installed cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    wait_for PostgreSQL pg_up && return 0
  fi
  say "PostgreSQL is not reachable at 127.0.0.1:5432 and could not be started; the store tests need it"
  return 1
}

ensure_redis() {
  redis_up && return 0
  if command -v redis-server >/dev/null; then
    say "Redis is down; starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_for Redis redis_up && return 0
  fi
  say "Redis is not reachable at 127.0.0.1:6379 and could not be started; the projection tests need it"
  return 1
}

# Which services the selected packages need, and why (all of them for the whole workspace).
need_for() { # package -> services
  case "$1" in
    fintra-store-postgres) echo "postgres" ;;
    fintra-store-timescale) echo "postgres timescale s3" ;;
    fintra-store-parquet) echo "s3 pyarrow duckdb" ;;
    fintra-projections) echo "postgres redis kafka kafka-clients" ;;
    fintra-guard) echo "postgres redis kafka s3" ;;
    fintra-ml) echo "postgres onnxruntime" ;;
    fintra-http) echo "postgres redis schemathesis" ;;
    fintra-dashboard) echo "chromium" ;;
    examples) echo "duckdb" ;;
    *) echo "" ;;
  esac
}
why() {
  case "$1" in
    postgres) echo "the PostgreSQL stores, projections, the Brain's refinery and the torture suite" ;;
    redis) echo "the Redis read models" ;;
    kafka) echo "the Kafka publisher's tests" ;;
    s3) echo "Parquet archives on S3 (tiering and the archive tests)" ;;
    timescale) echo "the warm store's TimescaleDB layout (a PGlite test server)" ;;
    pyarrow) echo "the Parquet interoperability test" ;;
    duckdb) echo "the lake tests: DuckDB reads an archive folder after a crash, and computes the Views' monthly spend" ;;
    onnxruntime) echo "the Brain's ONNX parity test (onnxruntime against tract)" ;;
    kafka-clients) echo "the librdkafka consumer test (confluent-kafka) and the envelope's JSON Schema (jsonschema)" ;;
    schemathesis) echo "the OpenAPI conformance test of fintra-http (schemathesis)" ;;
    chromium) echo "the dashboard's browser test (headless Chromium and chromedriver, Debian packages)" ;;
  esac
}
packages=()
prev=""
for arg in "$@"; do
  if [ "$prev" = "-p" ] || [ "$prev" = "--package" ]; then packages+=("$arg"); fi
  case "$arg" in --package=*) packages+=("${arg#--package=}") ;; esac
  prev=$arg
done
services=""
if [ "${#packages[@]}" -eq 0 ]; then
  services="postgres redis kafka kafka-clients s3 timescale pyarrow duckdb onnxruntime schemathesis chromium"
else
  for package in "${packages[@]}"; do services="$services $(need_for "$package")"; done
fi
needs() { case " $services " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

for service in postgres redis kafka kafka-clients s3 timescale pyarrow duckdb onnxruntime schemathesis chromium; do
  needs "$service" && say "needs $service: $(why "$service")"
done
[ -n "${services// /}" ] || say "the selected packages need no service"

if needs postgres; then ensure_postgres; fi
if needs redis; then ensure_redis; fi
if needs kafka; then
  # The Kafka-protocol broker (tansu) is installed from crates.io into a cache once per machine.
  scripts/kafka.sh || { say "the Kafka-protocol broker could not be started; the publisher tests need it"; exit 1; }
fi
if needs s3; then
  # An S3-compatible server (moto, PyPI) for the archive tests.
  scripts/s3.sh || { say "the S3-compatible server could not be started; the archive tests need it"; exit 1; }
  export FINTRA_S3_ENDPOINT="${FINTRA_S3_ENDPOINT:-http://127.0.0.1:9000}"
fi
if needs timescale; then
  # The TimescaleDB test server (PGlite + TimescaleDB from npm, a test tool) for the warm store's
  # TimescaleDB layout.
  scripts/timescale.sh || { say "the TimescaleDB test server could not be started; the warm-store TimescaleDB test needs it"; exit 1; }
  export FINTRA_TIMESCALE_URL="${FINTRA_TIMESCALE_URL:-postgres://postgres@127.0.0.1:5440/postgres?sslmode=disable}"
fi
pip_module() { # service, python module, PyPI requirement...
  local service=$1 module=$2; shift 2
  needs "$service" || return 0
  python3 -c "import $module" >/dev/null 2>&1 && return 0
  say "installing $* from PyPI for $(why "$service")"
  python3 -m pip install --quiet "$@" >/dev/null 2>&1 || { say "pip install $* failed"; exit 1; }
}
pip_module pyarrow pyarrow pyarrow
pip_module duckdb duckdb duckdb
pip_module onnxruntime onnxruntime onnxruntime numpy
pip_module kafka-clients confluent_kafka confluent-kafka
pip_module kafka-clients jsonschema jsonschema
if needs schemathesis && ! command -v schemathesis >/dev/null; then
  say "installing schemathesis from PyPI for $(why schemathesis)"
  python3 -m pip install --quiet "schemathesis>=4,<5" >/dev/null 2>&1 || { say "pip install schemathesis failed"; exit 1; }
fi
if needs chromium && ! { command -v chromedriver >/dev/null && { command -v chromium >/dev/null || [ -x /usr/lib/chromium/chromium ]; }; }; then
  # Once per machine: Debian's Chromium and its WebDriver server.
  say "installing chromium and chromium-driver (apt) for $(why chromium)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium chromium-driver; } >/dev/null 2>&1 \
    || { say "apt-get install chromium chromium-driver failed"; exit 1; }
fi
[ -z "${services// /}" ] || say "ready:${services}"

# Run everything, keep the output, and close with one total line ("tests: N passed, N failed")
# so the suite's size is visible at a glance (and to CI) after the per-binary summaries.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
if [ "$#" -gt 0 ]; then scope=("$@"); else scope=(--workspace); fi
cargo test --all-features "${scope[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ {
       for (i = 2; i <= NF; i++) {
         if ($i ~ /^passed;?$/) passed += $(i - 1)
         if ($i ~ /^failed;?$/) failed += $(i - 1)
       }
     }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
