#!/usr/bin/env bash
# Reservation benchmark: builds vigil-reservation and bench-reservation
# (Release, no sanitizers) into build/ and runs bench-reservation: an
# SQLite file with 1,000,000 reservations, the index rebuild, availability
# checks and bookings in process, then durable bookings/s from concurrent
# keep-alive HTTP clients against the real daemon, and its RSS. It prints
# the figures and how they were measured, and ends with one JSON line.
#
#   scripts/bench-reservation.sh                   1,000,000 reservations
#   VIGIL_BENCH_COUNT=100000 scripts/bench-reservation.sh
#   VIGIL_BENCH_CLIENTS=64 VIGIL_BENCH_SECONDS=10 scripts/bench-reservation.sh
#   VIGIL_BENCH_BUILD=dir scripts/bench-reservation.sh   another build directory
#   VIGIL_BENCH_DB=/path/file.db scripts/bench-reservation.sh
#                          keep the generated file there (default: a
#                          temporary directory, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_BENCH_BUILD:-build}
count=${VIGIL_BENCH_COUNT:-1000000}
clients=${VIGIL_BENCH_CLIENTS:-64}
seconds=${VIGIL_BENCH_SECONDS:-10}

. scripts/lib.sh
vigil_release_build "$build" vigil-reservation bench-reservation
if [ -n "${VIGIL_BENCH_DB:-}" ]; then
  db=$VIGIL_BENCH_DB
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  db=$dir/reservation.db
fi
echo "==> Running bench-reservation ($count reservations, $clients clients, ${seconds}s)"
"$build/bench/bench-reservation" --daemon "$build/reservation/vigil-reservation" \
  --db "$db" --count "$count" --clients "$clients" --seconds "$seconds"
