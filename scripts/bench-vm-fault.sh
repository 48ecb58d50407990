#!/usr/bin/env bash
# VM fault -> VNFM webhook benchmark: builds Vigil (Release, no sanitizers)
# into build/ and runs bench-vm-fault for N faults against a private
# libvirtd and the real daemons (scripts/vigil_bench.py).
#
#   scripts/bench-vm-fault.sh                    1,000 faults
#   VIGIL_BENCH_COUNT=100 scripts/bench-vm-fault.sh
#   VIGIL_BENCH_BUILD=dir scripts/bench-vm-fault.sh   another build directory
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_BENCH_BUILD:-build}
count=${VIGIL_BENCH_COUNT:-1000}

. scripts/lib.sh
vigil_release_build "$build" vigil-monitor vigil-inspector vigil-notifier \
  bench-vm-fault
echo "==> Running bench-vm-fault ($count faults)"
/usr/bin/python3 scripts/vigil_bench.py --build-dir "$build" --count "$count"
