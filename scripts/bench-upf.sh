#!/usr/bin/env bash
# vigil-upf user plane benchmark: builds Vigil (Release, no sanitizers)
# into build-bench-upf/ and runs bench-upf (bench/bench-upf.c): PFCP
# session establishments per second through the PFCP node, then Mpps per
# core and cycles per packet for uplink decapsulation and downlink
# encapsulation of 64-byte inner packets over 100,000 sessions, next to the
# bare rx->tx loop on the same net_ring devices (the I/O ceiling). Prints
# how it measured, then one JSON line. Needs two CPUs; nothing else should
# run on them during the measurement.
#
#   scripts/bench-upf.sh                          100,000 sessions, 2 s runs
#   VIGIL_BENCH_SESSIONS=10000 scripts/bench-upf.sh
#   VIGIL_BENCH_SECONDS=5 scripts/bench-upf.sh
#   VIGIL_BENCH_BUILD=dir scripts/bench-upf.sh     another build directory
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_BENCH_BUILD:-build-bench-upf}
sessions=${VIGIL_BENCH_SESSIONS:-100000}
seconds=${VIGIL_BENCH_SECONDS:-2}

. scripts/lib.sh
vigil_release_build "$build" bench-upf
echo "==> Running bench-upf ($sessions sessions, $seconds s per run)"
exec "$build/bench/bench-upf" --sessions "$sessions" --seconds "$seconds"
