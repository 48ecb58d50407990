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

if ! command -v cmake >/dev/null 2>&1 || ! command -v virsh >/dev/null 2>&1 ||
   ! pkg-config --exists libevent libcurl jansson libvirt sqlite3 2>/dev/null; then
  scripts/install-deps.sh
fi

echo "==> Building Vigil (Release) into $build/"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIGIL_SANITIZE=OFF &&
       cmake --build "$build" -j"$(nproc)" --target vigil-monitor \
         vigil-inspector vigil-notifier bench-vm-fault; } >"$log" 2>&1; then
  cat "$log"
  echo "bench: the build failed" >&2
  exit 1
fi
echo "==> Running bench-vm-fault ($count faults)"
/usr/bin/python3 scripts/vigil_bench.py --build-dir "$build" --count "$count"
